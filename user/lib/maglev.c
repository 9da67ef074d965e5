// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/maglev.h"

struct mg_state {
	const struct maglev_node *node;
	__u64 pos, skip;	/* permutation: offset, offset + skip, ... mod M */
	__u64 quota, count;
};

/* 64-bit finaliser (splitmix64): a strong mix of the address words. */
static __u64 mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static __u64 addr_hash(const struct maglev_node *n, __u64 seed)
{
	__u64 h = seed ^ n->family;
	int i;

	for (i = 0; i < 4; i++)
		h = mix64(h ^ n->addr[i]);
	/* Nodes sharing an address (fwd nat, ports of their own) need
	 * permutations of their own; without a port the hash is as before. */
	return n->port ? mix64(h ^ n->port) : h;
}

__u32 maglev_node_seed(const struct maglev_node *n)
{
	return (__u32)addr_hash(n, 0x72656e64657a76ull);	/* "rendezv" */
}

int maglev_node_cmp(const struct maglev_node *x, const struct maglev_node *y)
{
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (!c)
		c = (int)x->family - (int)y->family;
	return c ? c : memcmp(&x->port, &y->port, sizeof(x->port));
}

static int addr_cmp(const void *a, const void *b)
{
	return maglev_node_cmp(*(const struct maglev_node *const *)a,
			       *(const struct maglev_node *const *)b);
}

/* Earlier turn first: node a's next claim is due at (count+1)/weight. */
static int turn_before(const struct mg_state *a, const struct mg_state *b)
{
	__u64 l = (a->count + 1) * b->node->weight;
	__u64 r = (b->count + 1) * a->node->weight;

	return l != r ? l < r : a < b;
}

static void heap_down(struct mg_state **h, unsigned int n, unsigned int i)
{
	for (;;) {
		unsigned int l = 2 * i + 1, r = l + 1, m = i;
		struct mg_state *t;

		if (l < n && turn_before(h[l], h[m]))
			m = l;
		if (r < n && turn_before(h[r], h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i], h[i] = h[m], h[m] = t;
		i = m;
	}
}

/* Largest-remainder rounding of ring * w / W, ties to the earlier node. */
static void set_quotas(struct mg_state *st, unsigned int n, __u64 ring)
{
	__u64 total = 0, given = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		total += st[i].node->weight;
	for (i = 0; i < n; i++) {
		st[i].quota = ring * st[i].node->weight / total;
		given += st[i].quota;
	}
	while (given < ring) {
		unsigned int best = 0;
		__u64 best_rem = 0;

		for (i = 0; i < n; i++) {
			__u64 rem = ring * st[i].node->weight % total;

			/* one extra slot each, at most */
			if (st[i].quota > ring * st[i].node->weight / total)
				continue;
			if (rem > best_rem) {
				best_rem = rem;
				best = i;
			}
		}
		st[best].quota++;
		given++;
	}
}

/* The node's next preferred free slot is its. Walk the permutation by
 * adding, not multiplying and dividing: the walk is most of the build.
 * The position stays in a register during the walk: `taken` may alias
 * s->pos for the compiler, which would otherwise store and reload it at
 * every step. */
static void claim(struct mg_state *s, __u32 *table, __u64 *taken,
		  __u32 ring_size)
{
	__u64 pos = s->pos, skip = s->skip, slot;

	do {
		slot = pos;
		pos += skip;
		if (pos >= ring_size)
			pos -= ring_size;
	} while (taken[slot / 64] & (1ull << (slot % 64)));
	s->pos = pos;
	taken[slot / 64] |= 1ull << (slot % 64);
	table[slot] = s->node->id;
	s->count++;
}

int maglev_build(const struct maglev_node *nodes, unsigned int count,
		 __u32 ring_size, __u32 *table)
{
	const struct maglev_node **sorted = NULL;
	struct mg_state *st = NULL, **heap = NULL;
	unsigned int n = 0, i, live;
	__u64 filled = 0, *taken;
	bool uniform;
	int err = -ENOMEM;

	/* The permutations divide by ring_size and ring_size - 1. */
	if (ring_size < 2) {
		hl_err("a Maglev ring of %u slots: it must be a prime", ring_size);
		return -EINVAL;
	}
	for (i = 0; i < ring_size; i++)
		table[i] = HL_NODE_NONE;
	/* sorted and heap are arrays of pointers: sizeof(*p) is meant. */
	/* NOLINTBEGIN(bugprone-sizeof-expression) */
	sorted = calloc(count ? count : 1, sizeof(*sorted));
	st = calloc(count ? count : 1, sizeof(*st));
	heap = calloc(count ? count : 1, sizeof(*heap));
	/* NOLINTEND(bugprone-sizeof-expression) */
	/* Slots taken, as bits: the walk probes it at random, and 8 KiB per
	 * 65537 slots stays in the L1 cache where the table would not. */
	taken = calloc(ring_size / 64 + 1, sizeof(*taken));
	if (!sorted || !st || !heap || !taken)
		goto out;

	for (i = 0; i < count; i++)
		if (nodes[i].weight)
			sorted[n++] = &nodes[i];
	err = 0;
	if (!n)
		goto out;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers, as above */
	qsort(sorted, n, sizeof(*sorted), addr_cmp);

	for (i = 0; i < n; i++) {
		st[i].node = sorted[i];
		st[i].pos = addr_hash(sorted[i], 0x68656c696f73ull) % ring_size;
		st[i].skip = addr_hash(sorted[i], 0x6d61676c6576ull) %
			     (ring_size - 1) + 1;
	}
	set_quotas(st, n, ring_size);
	for (i = 0, live = 0; i < n; i++)
		if (st[i].quota)
			heap[live++] = &st[i];
	for (i = live; i-- > 0;)
		heap_down(heap, live, i);

	/* Equal weights (the common case) turn in index order, which is the
	 * order the heap yields for them too: the same table, without the
	 * heap's cost per slot. */
	for (i = 1, uniform = true; i < n && uniform; i++)
		uniform = st[i].node->weight == st[0].node->weight;
	while (uniform && filled < ring_size) {
		for (i = 0; i < n && filled < ring_size; i++) {
			if (st[i].count < st[i].quota) {
				claim(&st[i], table, taken, ring_size);
				filled++;
			}
		}
	}
	while (filled < ring_size && live) {
		struct mg_state *s = heap[0];

		claim(s, table, taken, ring_size);
		filled++;
		if (s->count == s->quota)
			heap[0] = heap[--live];
		heap_down(heap, live, 0);
	}
out:
	free(taken);
	free(heap);
	free(st);
	free(sorted);
	return err;
}
