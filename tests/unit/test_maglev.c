// SPDX-License-Identifier: GPL-2.0
/* Weighted Maglev: shares, disruption on removal, determinism. */
#include <math.h>
#include <string.h>
#include <arpa/inet.h>

#include "lib/maglev.h"
#include "unit.h"

#define MAX_N 1000

static struct maglev_node nodes[MAX_N];
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
	return unit_done();
}
