// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/maglev.h"

/* A node's part in the build, copied from its maglev_node: a claim reads
 * a random node's state, one cache line and no pointer to follow. */
struct mg_state {
	__u32 id, weight;
	__u32 pos, skip;	/* permutation: offset, offset + skip, ... mod M */
	__u32 quota, count;
	__u32 inv;		/* skip^-1 mod M for the tail, 0 until needed */
};

struct mg_ring {
	__u32 *table;
	__u64 *taken;		/* slots taken, as bits */
	__u32 size, left;	/* slots, slots still free */
	__u32 tail;		/* free slots at which the tail starts */
	__u32 *free, nfree;	/* in the tail: the free slots, in no order */
	__u64 barrett;		/* 2^64 / size, for mod_size() */
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

/* Earlier turn first: turn k of a node of weight w is due at k / w, and
 * ties go to the earlier node. Exact: k < 2^24, so k * w < 2^56. */
static bool turn_before(__u64 ka, const struct mg_state *a,
			__u64 kb, const struct mg_state *b)
{
	__u64 l = ka * b->weight, r = kb * a->weight;

	return l != r ? l < r : a < b;
}

/* Nodes whose last turn is all that is left, in turn order. */
static int last_turn_cmp(const void *a, const void *b)
{
	const struct mg_state *x = *(struct mg_state *const *)a;
	const struct mg_state *y = *(struct mg_state *const *)b;

	if (turn_before(x->quota, x, y->quota, y))
		return -1;
	return turn_before(y->quota, y, x->quota, x);
}

struct mg_rem {
	__u64 rem;
	__u32 idx;
};

/* Larger remainder first, ties to the earlier node. */
static int rem_cmp(const void *a, const void *b)
{
	const struct mg_rem *x = a, *y = b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Largest-remainder rounding of ring * w / W: the slots left after
 * rounding down go one each to the largest remainders. One sort, not a
 * scan of every node per slot left (a thousand nodes leave ~500). */
static int set_quotas(struct mg_state *st, unsigned int n, __u64 ring)
{
	__u64 total = 0, given = 0;
	struct mg_rem *rems;
	unsigned int i;

	rems = calloc(n, sizeof(*rems));
	if (!rems)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		total += st[i].weight;
	for (i = 0; i < n; i++) {
		st[i].quota = ring * st[i].weight / total;
		given += st[i].quota;
		rems[i].rem = ring * st[i].weight % total;
		rems[i].idx = i;
	}
	qsort(rems, n, sizeof(*rems), rem_cmp);
	for (i = 0; given < ring; i++, given++)
		st[rems[i].idx].quota++;
	free(rems);
	return 0;
}

/* x mod size for x < 2^64, by Barrett reduction: no division per slot. */
static __u64 mod_size(const struct mg_ring *r, __u64 x)
{
	__u64 q = (__u64)(((unsigned __int128)x * r->barrett) >> 64);

	x -= q * r->size;
	return x >= r->size ? x - r->size : x;
}

/* skip^-1 mod size (extended Euclid), 0 if there is none: a ring that
 * is not prime. */
static __u32 mod_inverse(__u32 skip, __u32 size)
{
	__s64 t = 0, nt = 1, q, tmp;
	__u64 m = size, a = skip;

	while (a) {
		q = m / a;
		tmp = t - q * nt;
		t = nt;
		nt = tmp;
		tmp = m - q * a;
		m = a;
		a = tmp;
	}
	if (m != 1)
		return 0;
	return t < 0 ? t + size : t;
}

/* The node's next preferred free slot, walking its permutation by adding,
 * not multiplying and dividing: the walk is most of the build. Out of
 * line: inlined into claim(), the compiler works out the claim's bit
 * address at every probe (13 instructions a probe, not 10). */
static __attribute__((noinline)) __u32 walk(const struct mg_ring *r,
					    const struct mg_state *s)
{
	__u32 pos = s->pos, skip = s->skip, size = r->size;

	while (r->taken[pos / 64] & (1ull << (pos % 64))) {
		pos += skip;
		if (pos >= size)
			pos -= size;
	}
	return pos;
}

/*
 * The same slot when few are free: a walk expects size / free probes, so
 * the last slots would cost most of the build. Slot f comes after
 * (f - pos) * skip^-1 mod size steps of the node's walk: the free slot
 * with the fewest steps is the one the walk would stop at. Out of line,
 * like walk(), so that claim() stays small enough to inline.
 */
static __attribute__((noinline)) __u32 tail_pick(struct mg_ring *r,
						 const struct mg_state *s)
{
	__u64 steps, best_steps = ~0ull;
	__u32 i, best = 0, slot;

	for (i = 0; i < r->nfree; i++) {
		steps = r->free[i] + r->size - s->pos;
		steps = mod_size(r, steps * s->inv);
		if (steps < best_steps) {
			best_steps = steps;
			best = i;
		}
	}
	slot = r->free[best];
	r->free[best] = r->free[--r->nfree];
	return slot;
}

/* The tail starts: the free slots, collected once. */
static void tail_start(struct mg_ring *r)
{
	__u32 slot;

	r->free = malloc(r->left * sizeof(*r->free));
	if (!r->free)
		return;		/* the walk does the same, slower */
	for (slot = 0; slot < r->size; slot++)
		if (!(r->taken[slot / 64] & (1ull << (slot % 64))))
			r->free[r->nfree++] = slot;
}

/* The node's next slot is its. On a ring that is not prime a skip may
 * have no inverse: then the tail ends for good and the walk goes on.
 * Inlined into the fill loops: a call per slot was ~10% of the build's
 * instructions. */
static inline __attribute__((always_inline)) void claim(struct mg_ring *r,
							struct mg_state *s)
{
	__u32 slot;

	if (r->nfree && !s->inv)
		s->inv = mod_inverse(s->skip, r->size);
	if (r->nfree && !s->inv) {
		free(r->free);
		r->free = NULL;
		r->nfree = 0;
		r->tail = 0;
	}
	slot = r->nfree ? tail_pick(r, s) : walk(r, s);
	s->pos = slot + s->skip >= r->size ? slot + s->skip - r->size :
					     slot + s->skip;
	r->taken[slot / 64] |= 1ull << (slot % 64);
	r->table[slot] = s->id;
	s->count++;
	if (--r->left == r->tail && r->left)
		tail_start(r);
}

/* Free slots when the tail starts: about where a walk's expected probes
 * (size / free) exceed the tail's work per claim (free). */
static __u32 tail_size(__u32 size)
{
	__u32 t = 1;

	while (t * t < size)
		t++;
	return t;
}

/* Equal weights: a node's turn k ties with every other node's turn k, so
 * the turn order is index order, round by round, with no sort at all. */
static void fill_equal(struct mg_ring *r, struct mg_state *st, unsigned int n)
{
	unsigned int i;

	while (r->left)
		for (i = 0; i < n && r->left; i++)
			if (st[i].count < st[i].quota)
				claim(r, &st[i]);
}

/*
 * Node i's turn k is due at k / w_i. With W the total weight, W turns fall
 * due per unit of time, so bucket ceil(k * W / w_i) - 1 of `size` holds
 * one turn on average and each bucket's turns are due before the next
 * one's. Only a node's last turn, its slot from rounding up, can fall past
 * the last bucket. `turns` NULL: count the turns into start[1..size].
 */
static void turns_bucket(const struct mg_state *st, unsigned int n,
			 __u64 total, __u32 size, __u32 *start, __u32 *turns)
{
	unsigned int i, k;

	for (i = 0; i < n; i++) {
		__u64 w = st[i].weight, a = total / w, b = total % w;
		__u64 q = 0, rem = 0, carry, s;	/* k * W = q * w + rem */

		for (k = 0; k < st[i].quota; k++) {
			rem += b;
			carry = rem >= w;	/* no branch: it is random */
			rem -= w & -carry;
			q += a + carry;
			s = q + !!rem;
			if (s > size)
				break;
			if (turns)
				turns[start[s - 1]++] = i;
			else
				start[s]++;
		}
	}
}

/* Bucket b's turns, in index order, into turn order: the turn of node i
 * in bucket b is floor(b * w_i / W) + 1. Worked out here, not stored with
 * each turn: the divisions cost less than the memory. */
static void turns_sort(const struct mg_state *st, __u64 total, __u32 b,
		       __u32 *t, __u32 m)
{
	__u32 i, j, x;
	__u64 k;

	for (i = 1; i < m; i++) {
		x = t[i];
		k = (__u64)b * st[x].weight / total + 1;
		for (j = i; j; j--) {
			const struct mg_state *y = &st[t[j - 1]];

			if (!turn_before(k, &st[x],
					 (__u64)b * y->weight / total + 1, y))
				break;
			t[j] = t[j - 1];
		}
		t[j] = x;
	}
}

/*
 * Unequal weights: every slot is claimed in turn order, the order a heap
 * of next turns would yield, sorted by counting into buckets instead
 * (a heap costs ~20 comparisons a slot for 1000 nodes). It takes 10 bytes
 * a slot while it runs, next to the table's 4 and the slot map's 8.
 */
static int fill_weighted(struct mg_ring *r, struct mg_state *st,
			 unsigned int n)
{
	__u32 *start, *crowded, b, j, nc = 0, size = r->size;
	__u32 *turns;
	struct mg_state **last;
	__u64 total = 0;
	unsigned int i, m = 0;
	int err = -ENOMEM;

	start = calloc((size_t)size + 1, sizeof(*start));
	turns = calloc(size, sizeof(*turns));
	/* Buckets of two turns or more: at most size / 2. */
	crowded = calloc(size / 2 + 1, sizeof(*crowded));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
	last = malloc(n * sizeof(*last));
	if (!start || !turns || !crowded || !last)
		goto out;
	for (i = 0; i < n; i++)
		total += st[i].weight;
	turns_bucket(st, n, total, size, start, NULL);
	/* Noted without a branch: a bucket's size is random. */
	for (b = 1; b <= size; b++) {
		crowded[nc] = b - 1;
		nc += start[b] > 1;
		start[b] += start[b - 1];
	}
	turns_bucket(st, n, total, size, start, turns);
	/* Now bucket b ends at start[b]; sorting apart keeps the claims'
	 * loop free of branches on bucket sizes. */
	for (i = 0; i < nc; i++) {
		b = crowded[i];
		j = b ? start[b - 1] : 0;
		turns_sort(st, total, b, &turns[j], start[b] - j);
	}
	for (j = 0; j < start[size - 1]; j++)
		claim(r, &st[turns[j]]);
	for (i = 0; i < n; i++)
		if (st[i].count < st[i].quota)
			last[m++] = &st[i];
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
	qsort(last, m, sizeof(*last), last_turn_cmp);
	for (i = 0; i < m; i++)
		claim(r, last[i]);
	err = 0;
out:
	free(last);
	free(crowded);
	free(turns);
	free(start);
	return err;
}

int maglev_build(const struct maglev_node *nodes, unsigned int count,
		 __u32 ring_size, __u32 *table)
{
	const struct maglev_node **sorted = NULL;
	struct mg_ring ring = { .table = table, .size = ring_size };
	struct mg_state *st = NULL;
	unsigned int n = 0, i;
	bool uniform;
	int err = -ENOMEM;

	/* The permutations divide by ring_size and ring_size - 1. */
	if (ring_size < 2 || ring_size > HL_RING_MAX) {
		hl_err("a Maglev ring of %u slots: it must be a prime up to %u",
		       ring_size, HL_RING_MAX);
		return -EINVAL;
	}
	/* sorted is an array of pointers: sizeof(*p) is meant. */
	/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
	sorted = calloc(count ? count : 1, sizeof(*sorted));
	st = calloc(count ? count : 1, sizeof(*st));
	/* Slots taken, as bits: the walk probes it at random, and 8 KiB per
	 * 65537 slots stays in the L1 cache where the table would not. */
	ring.taken = calloc(ring_size / 64 + 1, sizeof(*ring.taken));
	if (!sorted || !st || !ring.taken)
		goto out;

	for (i = 0; i < count; i++)
		if (nodes[i].weight)
			sorted[n++] = &nodes[i];
	err = 0;
	if (!n) {
		for (i = 0; i < ring_size; i++)
			table[i] = HL_NODE_NONE;
		goto out;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers, as above */
	qsort(sorted, n, sizeof(*sorted), addr_cmp);

	for (i = 0; i < n; i++) {
		st[i].id = sorted[i]->id;
		st[i].weight = sorted[i]->weight;
		st[i].pos = addr_hash(sorted[i], 0x68656c696f73ull) % ring_size;
		st[i].skip = addr_hash(sorted[i], 0x6d61676c6576ull) %
			     (ring_size - 1) + 1;
	}
	err = set_quotas(st, n, ring_size);
	if (err)
		goto out;
	/* The quotas add up to the ring: every slot is claimed below. */
	ring.left = ring_size;
	ring.tail = tail_size(ring_size);
	ring.barrett = ~0ull / ring_size;

	for (i = 1, uniform = true; i < n && uniform; i++)
		uniform = st[i].weight == st[0].weight;
	if (uniform)
		fill_equal(&ring, st, n);
	else
		err = fill_weighted(&ring, st, n);
out:
	free(ring.free);
	free(ring.taken);
	free(st);
	free(sorted);
	return err;
}
