/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strategy-specific picks of a new flow's node (user/strategy.h builds the
 * tables). Every pick returns a node id or HL_NODE_NONE; the caller checks
 * node_takes_flow() as for Maglev. Costs, new flows only:
 *   maglev/srchash/primary/replica/prefer-zone: one table lookup
 *   random: one table lookup at a random slot (the Maglev table's slot
 *	     shares are the weight shares)
 *   wrr: a per-CPU cursor + one table lookup
 *   p2c: two random slots + two active counts
 *   rendezvous: a loop over <= HL_SEL_MAX nodes (hash + fixed-point log)
 *   lc: a loop over <= HL_SEL_MAX nodes reading their active counts
 *   bounded-load: <= HL_BOUNDED_PROBES further slots while over the bound
 */
#ifndef HELIOS_BPF_STRATEGY_H
#define HELIOS_BPF_STRATEGY_H

#include "maps.h"
#include "conntrack.h"
#include "jhash.h"
#include "log2.h"
#include "select.h"

/* The hash a service's table is indexed by: `hash 5tuple|src|src-dport`. */
static __always_inline __u32 hl_select_hash(const struct hl_flow_key *key,
					    __u8 mode)
{
	__u32 k[5];

	if (likely(mode == HL_HASH_5TUPLE))
		return hl_flow_hash(key);
	__builtin_memcpy(k, key->src, sizeof(key->src));
	k[4] = (__u32)key->family << 16 |
	       (mode == HL_HASH_SRC_DPORT ? key->dport : 0);
	return jhash2(k, 5, HL_HASH_SEED);
}

static __always_inline __s64 node_load(__u32 node_id)
{
	__s64 *a = bpf_map_lookup_elem(&node_active, &node_id);

	/* A count can dip below zero (a FIN of a flow counted before a
	 * reconcile); it weighs as zero. */
	return a && *a > 0 ? *a : 0;
}

/* Smooth WRR: this CPU's cursor walks the sequence user space computed;
 * slots = its length. */
static __always_inline __u32 wrr_pick(const struct hl_service *svc)
{
	__u32 svc_id = svc->id, *cur, slot;

	if (!svc->slots)
		return HL_NODE_NONE;
	cur = bpf_map_lookup_elem(&wrr_cursor, &svc_id);
	if (!cur)
		return HL_NODE_NONE;
	slot = *cur;
	if (slot >= svc->slots)
		slot = 0;	/* the sequence got shorter */
	*cur = slot + 1;
	return table_slot(svc, slot);
}

static __always_inline __u32 random_pick(const struct hl_service *svc)
{
	if (!svc->slots)
		return HL_NODE_NONE;
	return table_slot(svc, bpf_get_prandom_u32() % svc->slots);
}

/* Is a's load per weight below b's? (la + 1) / wa < (lb + 1) / wb: the +1
 * makes empty nodes fill in proportion to their weights. */
static __always_inline bool less_loaded(__s64 la, __u32 wa, __s64 lb, __u32 wb)
{
	return (__u64)(la + 1) * wb < (__u64)(lb + 1) * wa;
}

/* Power of two choices: two weighted-random candidates (random slots of
 * the Maglev table), the one with fewer active flows per weight wins. */
static __always_inline __u32 p2c_pick(const struct hl_service *svc)
{
	__u32 a, b, wa, wb;
	struct hl_node *na, *nb;

	if (!svc->slots)
		return HL_NODE_NONE;
	a = table_slot(svc, bpf_get_prandom_u32() % svc->slots);
	b = table_slot(svc, bpf_get_prandom_u32() % svc->slots);
	if (a == b)
		return a;
	na = bpf_map_lookup_elem(&nodes, &a);
	nb = bpf_map_lookup_elem(&nodes, &b);
	if (!na || !nb)
		return na ? a : b;
	wa = hl_node_weight(na);	/* the weight user space builds with */
	wb = hl_node_weight(nb);
	if (!wa || !wb)
		return wa ? a : b;
	return less_loaded(node_load(b), wb, node_load(a), wa) ? b : a;
}

/* Weighted least connections over the usable nodes. */
static __always_inline __u32 lc_pick(const struct hl_service *svc)
{
	__u32 svc_id = svc->id, best = HL_NODE_NONE, best_w = 0, i;
	__s64 best_l = 0;
	struct hl_node_list *s;

	s = bpf_map_lookup_elem(&node_lists, &svc_id);
	if (!s)
		return HL_NODE_NONE;
	for (i = 0; i < HL_SEL_MAX; i++) {
		__u32 id, w;
		__s64 l;

		if (i >= s->count)
			break;
		id = s->ids[i];
		w = s->weights[i];
		l = node_load(id);
		if (best == HL_NODE_NONE || less_loaded(l, w, best_l, best_w)) {
			best = id;
			best_w = w;
			best_l = l;
		}
	}
	return best;
}

/* murmur3's finaliser: a full avalanche of the flow hash and node seed. */
static __always_inline __u32 fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	return h ^ (h >> 16);
}

/*
 * Weighted rendezvous (highest random weight): node i scores
 * w_i / -ln(u_i) with u_i a hash of (flow, node); the highest wins, which
 * gives node i a share w_i / sum(w) and moves only the flows of a node
 * that leaves. Compared as -log2(u_i) / w_i, smallest first, in Q24.
 */
static __always_inline __u32 rendezvous_pick(const struct hl_service *svc,
					     __u32 hash)
{
	__u32 svc_id = svc->id, best = HL_NODE_NONE, best_w = 1, i;
	__u64 best_l = ~0ull;
	struct hl_node_list *s;

	s = bpf_map_lookup_elem(&node_lists, &svc_id);
	if (!s)
		return HL_NODE_NONE;
	for (i = 0; i < HL_SEL_MAX; i++) {
		__u64 l;
		__u32 w;

		if (i >= s->count)
			break;
		w = s->weights[i];
		l = hl_neglog2_q24(fmix32(hash ^ s->seeds[i]));
		if (l * best_w < best_l * w) {
			best = s->ids[i];
			best_w = w;
			best_l = l;
		}
	}
	return best;
}

/*
 * Consistent hashing with bounded loads: a node that already holds more
 * than bounded_load% of the average active flows (of the usable nodes,
 * counting this one) passes the flow on to the next slots of the table,
 * up to HL_BOUNDED_PROBES of them; if all are full, the least loaded of
 * those seen takes it.
 */
static __always_inline __u32 bounded_pick(const struct hl_service *svc,
					  __u32 hash, __u32 first)
{
	__u32 svc_id = svc->id, slot, best = first, i;
	__s64 *total, best_l, cap;
	struct hl_node_list *s;
	__u64 n;

	s = bpf_map_lookup_elem(&node_lists, &svc_id);
	total = bpf_map_lookup_elem(&svc_active, &svc_id);
	if (!s || !total || !s->usable || first == HL_NODE_NONE)
		return first;
	n = s->usable;
	cap = ((__u64)(*total > 0 ? *total : 0) + 1) * svc->bounded_load;
	cap = (cap + 100 * n - 1) / (100 * n);
	best_l = node_load(first);
	if (best_l < cap)
		return first;
	slot = hash % svc->slots;
	for (i = 0; i < HL_BOUNDED_PROBES; i++) {
		__u32 id;
		__s64 l;

		if (++slot >= svc->slots)
			slot = 0;
		id = table_slot(svc, slot);
		if (id == HL_NODE_NONE)
			continue;
		l = node_load(id);
		if (l < cap)
			return id;
		if (l < best_l) {
			best = id;
			best_l = l;
		}
	}
	return best;
}

/*
 * The node for a new flow of `svc`. A global function, so the verifier
 * checks it once, on its own: inlined, the strategies' loops were explored
 * again for every caller and every state reaching it, 570k of the
 * program's 587k processed instructions (limit 1M), leaving no room for
 * another forwarding mode. The call costs a few ns, on new flows only.
 */
__attribute__((noinline)) __u32 select_node(const struct hl_service *svc,
					    __u32 hash)
{
	__u32 id;

	/* a global function's pointer argument may be NULL */
	if (!svc)
		return HL_NODE_NONE;
	switch (svc->strategy) {
	case HL_STRAT_WRR:
		return wrr_pick(svc);
	case HL_STRAT_RANDOM:
		return random_pick(svc);
	case HL_STRAT_P2C:
		return p2c_pick(svc);
	case HL_STRAT_LC:
		return lc_pick(svc);
	case HL_STRAT_RENDEZVOUS:
		return rendezvous_pick(svc, hash);
	}
	id = maglev_pick(svc, hash);
	if (svc->bounded_load)
		id = bounded_pick(svc, hash, id);
	return id;
}

/* Active-flow accounting (lc, p2c, bounded-load). */
static __always_inline void active_add(__u32 svc_id, __u32 node_id, __s64 d)
{
	__s64 *a;

	a = bpf_map_lookup_elem(&node_active, &node_id);
	if (a)
		__sync_fetch_and_add(a, d);
	a = bpf_map_lookup_elem(&svc_active, &svc_id);
	if (a)
		__sync_fetch_and_add(a, d);
}

/* A connection-table flow of `key` joins or leaves the counts: the node's
 * and service's, and its shard's (sweep.h). */
static __always_inline void flow_active_add(const struct hl_flow_key *key,
					    __u32 svc_id, __u32 node_id,
					    __s64 d)
{
	active_add(svc_id, node_id, d);
	ct_count_add(key, node_id, (__s32)d);
}

/* A FIN or RST ends the flow's count, once: the entry remembers it. */
static __always_inline void active_close(const struct hl_service *svc,
					 const struct hl_flow_key *key,
					 struct hl_flow *flow, __u8 tcp_flags)
{
	__u32 old;

	if (!(tcp_flags & (HL_TCP_FIN | HL_TCP_RST)) ||
	    (flow->flags & HL_FLOW_F_CLOSED))
		return;
	/* Two CPUs may see the client's FIN and RST at once. */
	old = __sync_fetch_and_or(&flow->flags, HL_FLOW_F_CLOSED);
	if ((old & (HL_FLOW_F_CLOSED | HL_FLOW_F_COUNTED)) == HL_FLOW_F_COUNTED)
		flow_active_add(key, svc->id, flow->node_id, -1);
}

#endif /* HELIOS_BPF_STRATEGY_H */
