// SPDX-License-Identifier: GPL-2.0
/* Weighted Maglev: shares, disruption on removal, determinism. */
#include <math.h>
#include <string.h>
#include <arpa/inet.h>

#include "lib/maglev.h"
#include "unit.h"

#define MAX_N 1000

static struct maglev_node nodes[MAX_N], nodes_big[4096];
static __u32 table_a[200003], table_b[200003];

static __u32 rng_state = 12345;
static __u32 rng(void)
{
	rng_state = rng_state * 1103515245 + 12345;
	return rng_state >> 8;
}

/* n nodes 198.18.x.y with weights from 1 to 1000, ids shuffled. */
static void make_nodes(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		memset(&nodes[i], 0, sizeof(nodes[i]));
		nodes[i].id = n - 1 - i;
		nodes[i].weight = 1 + rng() % 1000;
		nodes[i].family = HL_AF_INET;
		nodes[i].addr[0] = htonl(0xc6120000 | (i + 1));
	}
}

static void count_slots(const __u32 *table, __u32 ring, __u32 *slots)
{
	__u32 i;

	memset(slots, 0, MAX_N * sizeof(*slots));
	for (i = 0; i < ring; i++)
		if (table[i] < MAX_N)
			slots[table[i]]++;
}

/* Each node's share within 1% of its weight share; slots are integers, so
 * a node whose exact share is fractional may be off by one slot. */
static void check_shares(unsigned int n, __u32 ring)
{
	static __u32 slots[MAX_N];
	double total = 0, worst = 0;
	unsigned int i, empty = 0;

	make_nodes(n);
	CHECK(maglev_build(nodes, n, ring, table_a) == 0, "build");
	for (i = 0; i < ring; i++)
		empty += table_a[i] == HL_NODE_NONE;
	CHECK(empty == 0, "%u empty slots", empty);
	count_slots(table_a, ring, slots);
	for (i = 0; i < n; i++)
		total += nodes[i].weight;
	for (i = 0; i < n; i++) {
		double want = ring * nodes[i].weight / total;
		double err = fabs(slots[nodes[i].id] - want);

		CHECK(err <= fmax(0.01 * want, 1.0),
		      "n=%u node %u weight %u: %u slots, want %.1f", n, i,
		      nodes[i].weight, slots[nodes[i].id], want);
		if (err > worst)
			worst = err;
	}
	printf("#   n=%u ring=%u: largest share error %.2f slots\n", n, ring,
	       worst);
}

static void test_shares_3(void) { check_shares(3, 65537); }
static void test_shares_10(void) { check_shares(10, 65537); }
static void test_shares_100(void) { check_shares(100, 65537); }
static void test_shares_1000(void) { check_shares(1000, 100003); }

/* Removing one of n nodes re-maps at most ~1/n + 2% of the others' slots. */
static void check_removal(unsigned int n, __u32 ring)
{
	unsigned int i, victim, moved = 0, others = 0;

	make_nodes(n);
	victim = n / 2;
	CHECK(maglev_build(nodes, n, ring, table_a) == 0, "build");
	nodes[victim].weight = 0;
	CHECK(maglev_build(nodes, n, ring, table_b) == 0, "rebuild");
	for (i = 0; i < ring; i++) {
		if (table_a[i] == nodes[victim].id) {
			CHECK(table_b[i] != nodes[victim].id, "slot %u kept", i);
			continue;
		}
		others++;
		moved += table_a[i] != table_b[i];
	}
	printf("#   n=%u: %.3f%% of the other nodes' slots moved (bound %.3f%%)\n",
	       n, 100.0 * moved / others, 100.0 / n + 2);
	CHECK((double)moved / others <= 1.0 / n + 0.02, "moved %u of %u", moved,
	      others);
}

static void test_removal_3(void) { check_removal(3, 65537); }
static void test_removal_10(void) { check_removal(10, 65537); }
static void test_removal_100(void) { check_removal(100, 65537); }
static void test_removal_1000(void) { check_removal(1000, 100003); }

/* Same (address, weight) set in another order with other ids: same owner
 * address for every slot. A restarted or second director agrees. */
static void test_deterministic(void)
{
	static struct maglev_node rev[10];
	unsigned int i, j, n = 10;
	__be32 addr_of[2][10];

	make_nodes(n);
	for (i = 0; i < n; i++) {
		rev[i] = nodes[n - 1 - i];
		rev[i].id = i;
	}
	CHECK(maglev_build(nodes, n, 65537, table_a) == 0, "build");
	CHECK(maglev_build(rev, n, 65537, table_b) == 0, "build");
	for (i = 0; i < n; i++) {
		addr_of[0][nodes[i].id] = nodes[i].addr[0];
		addr_of[1][rev[i].id] = rev[i].addr[0];
	}
	for (i = 0, j = 0; i < 65537; i++)
		j += addr_of[0][table_a[i]] != addr_of[1][table_b[i]];
	CHECK(j == 0, "%u slots differ", j);
}

static void test_drain_and_empty(void)
{
	unsigned int i, hits = 0;

	make_nodes(3);
	nodes[1].weight = 0;
	CHECK(maglev_build(nodes, 3, 1009, table_a) == 0, "build");
	for (i = 0; i < 1009; i++)
		hits += table_a[i] == nodes[1].id;
	CHECK(hits == 0, "drained node holds %u slots", hits);

	nodes[0].weight = nodes[2].weight = 0;
	CHECK(maglev_build(nodes, 3, 1009, table_a) == 0, "build");
	for (i = 0, hits = 0; i < 1009; i++)
		hits += table_a[i] != HL_NODE_NONE;
	CHECK(hits == 0, "%u slots filled with no weight", hits);
	CHECK(maglev_build(nodes, 0, 1009, table_a) == 0, "build of none");
}

/*
 * Byte-identical tables: directors that run different versions of the
 * builder must agree on every slot, so a faster builder may not change
 * one. Each case builds from nodes drawn from its seed (v4 and v6, some
 * with ports, weights by `mode`) and compares the table's FNV-1a hash with
 * the one the original builder (commit 9c725bd, its heap of turns)
 * produced.
 */
enum wmode { W_EQUAL, W_RANDOM, W_ZEROS, W_TIES, W_BIG, W_HUGE, W_SKEW, W_POW2 };

struct golden {
	__u32 seed, n, ring;
	enum wmode mode;
	__u64 hash;
};

static const struct golden goldens[] = {
	{ 1, 1, 13, W_EQUAL, 0x5c569877000ae3b5ull },
	{ 2, 3, 13, W_EQUAL, 0x0a1ddba7167556c5ull },
	{ 3, 20, 13, W_EQUAL, 0x1946cad782f0f10full },
	{ 4, 10, 1009, W_EQUAL, 0x634fd21d831d35c7ull },
	{ 5, 100, 65537, W_EQUAL, 0x520c4e05bc98bd34ull },
	{ 6, 1000, 100003, W_EQUAL, 0x18a4fd39556bdd03ull },
	{ 7, 4096, 409609, W_EQUAL, 0x800648f9675cda0aull },
	{ 11, 1, 13, W_RANDOM, 0x5c569877000ae3b5ull },
	{ 12, 3, 13, W_RANDOM, 0x45d9a8d1d4937754ull },
	{ 13, 20, 13, W_RANDOM, 0xf0ed84733f2e335eull },
	{ 14, 10, 1009, W_RANDOM, 0x9429bbad3f1e33a6ull },
	{ 15, 100, 65537, W_RANDOM, 0x98ed4ce4a452eca0ull },
	{ 16, 1000, 100003, W_RANDOM, 0xdc13c007ed4b83b3ull },
	{ 17, 4096, 409609, W_RANDOM, 0xd6def8795a3c9fd6ull },
	{ 21, 10, 251, W_ZEROS, 0xd62c2499036af6b7ull },
	{ 22, 100, 10007, W_ZEROS, 0x8d056f2542f09c4dull },
	{ 23, 1000, 100003, W_ZEROS, 0xec2070b08c165b66ull },
	{ 31, 7, 1009, W_TIES, 0x1943c556bd344bd7ull },
	{ 32, 500, 65537, W_TIES, 0x5cdba495aa117083ull },
	{ 33, 1000, 100003, W_TIES, 0x1fb55682507c4777ull },
	{ 41, 100, 65537, W_BIG, 0xd8f4a2768122760full },
	{ 42, 1000, 100003, W_BIG, 0x03db53bf0a939351ull },
	{ 51, 50, 10007, W_HUGE, 0x5c5890a5cb753057ull },
	{ 52, 1000, 100003, W_HUGE, 0xfe0b3c7897130947ull },
	{ 61, 37, 10007, W_RANDOM, 0x4f7c4f518623b034ull },
	{ 62, 37, 10007, W_RANDOM, 0xaf883a94ea9ce362ull },
	{ 63, 37, 10007, W_EQUAL, 0x61e0ca0094eccf16ull },
	{ 64, 37, 10007, W_ZEROS, 0x536038e2ca495413ull },
	{ 65, 256, 25601, W_RANDOM, 0x3e50717297ff1cfeull },
	{ 66, 256, 25601, W_TIES, 0x40ea2b26ada527ebull },
	{ 67, 2, 2, W_RANDOM, 0x29c7dd317360ac35ull },
	{ 68, 5, 3, W_EQUAL, 0xcdc018564c2174c2ull },
	{ 71, 50, 13, W_RANDOM, 0x5e006336ae0cb793ull },
	{ 72, 300, 251, W_HUGE, 0x084ad77afcc8d63dull },
	{ 73, 100, 10007, W_SKEW, 0x539a18e7c3e063bcull },
	{ 74, 1000, 100003, W_SKEW, 0xdc5628e9c4978887ull },
	{ 75, 200, 10007, W_POW2, 0x50ecc4aa15ea962dull },
	{ 76, 1000, 100003, W_POW2, 0xde82a1fe1cc8f531ull },
	{ 77, 4096, 409609, W_TIES, 0xa4dc45019e2799a9ull },
};

static __u32 golden_table[409609];

static __u32 xorshift(__u32 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static __u32 golden_weight(enum wmode mode, __u32 r)
{
	switch (mode) {
	case W_EQUAL:
		return HL_WEIGHT_DEFAULT;
	case W_RANDOM:
		return 1 + r % 1000;
	case W_ZEROS:		/* a tenth drained */
		return r % 10;
	case W_TIES:		/* many equal turns */
		return 1 + r % 3;
	case W_BIG:
		return 1 + r % HL_WEIGHT_MAX;
	case W_HUGE:		/* beyond the CLI's range */
		return r | 1;
	case W_SKEW:		/* the extremes side by side */
		return r % 2 ? 1 : 0xffffffffu;
	case W_POW2:		/* equal turns across weights */
		return 1u << (r % 17);
	}
	return 0;
}

/* Unique addresses (an odd stride through the low 17 bits), ids shuffled. */
static void golden_nodes(const struct golden *g)
{
	__u32 s = g->seed * 2654435761u + 1, i, j, t;

	for (i = 0; i < g->n; i++) {
		struct maglev_node *m = &nodes_big[i];
		__u32 r = xorshift(&s), low = (i * 7919 + g->seed) & 0x1ffff;

		memset(m, 0, sizeof(*m));
		m->id = i;
		if (r % 4) {
			m->family = HL_AF_INET;
			m->addr[0] = htonl(0xc6120000 | low);
		} else {
			m->family = HL_AF_INET6;
			m->addr[0] = htonl(0xfd000000);
			m->addr[3] = htonl(low);
		}
		if (r % 8 == 1)
			m->port = htons(1024 + (r >> 16) % 60000);
		r = xorshift(&s);
		m->weight = golden_weight(g->mode, r);
	}
	for (i = g->n; i > 1; i--) {
		j = xorshift(&s) % i;
		t = nodes_big[i - 1].id;
		nodes_big[i - 1].id = nodes_big[j].id;
		nodes_big[j].id = t;
	}
}

/* FNV-1a over the table, continuing from h. */
static __u64 golden_hash(__u64 h, __u32 ring)
{
	const unsigned char *p = (const unsigned char *)golden_table;
	size_t i;

	for (i = 0; i < ring * sizeof(*golden_table); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void test_golden(void)
{
	unsigned int c;
	__u64 h;

	for (c = 0; c < sizeof(goldens) / sizeof(goldens[0]); c++) {
		const struct golden *g = &goldens[c];

		golden_nodes(g);
		CHECK(maglev_build(nodes_big, g->n, g->ring, golden_table) == 0,
		      "build");
		h = golden_hash(0xcbf29ce484222325ull, g->ring);
		CHECK(h == g->hash,
		      "seed %u, %u nodes, ring %u, mode %d: hash 0x%016llxull",
		      g->seed, g->n, g->ring, g->mode, (unsigned long long)h);
	}
}

/* Many small random sets (1..300 nodes, every weight mode, rings from 2
 * to 10007, more nodes than slots too), all in one hash. */
static void test_golden_many(void)
{
	static const __u32 rings[] = { 2, 3, 13, 251, 1009, 10007 };
	__u64 h = 0xcbf29ce484222325ull;
	__u32 s = 99991, c;

	for (c = 0; c < 600; c++) {
		struct golden g = { .seed = 1000 + c, .mode = c % (W_POW2 + 1) };

		g.n = 1 + xorshift(&s) % 300;
		g.ring = rings[xorshift(&s) % 6];
		golden_nodes(&g);
		CHECK(maglev_build(nodes_big, g.n, g.ring, golden_table) == 0,
		      "build");
		h = golden_hash(h, g.ring);
	}
	CHECK(h == 0x74a4e7ee74dc2ac8ull, "hash 0x%016llxull",
	      (unsigned long long)h);
}

int main(void)
{
	RUN(test_shares_3);
	RUN(test_shares_10);
	RUN(test_shares_100);
	RUN(test_shares_1000);
	RUN(test_removal_3);
	RUN(test_removal_10);
	RUN(test_removal_100);
	RUN(test_removal_1000);
	RUN(test_deterministic);
	RUN(test_drain_and_empty);
	RUN(test_golden);
	RUN(test_golden_many);
	return unit_done();
}
