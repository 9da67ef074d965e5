/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Active-flow counts (lc, p2c, bounded-load) kept right with nothing else
 * watching. The data path adds one per counted insert and takes one off at
 * the first FIN/RST, but a flow can also end without either: a UDP flow, or
 * an entry the LRU evicts (no callback tells us). A BPF timer, armed by the
 * first counted flow, recounts one shard of the connection table a tick
 * (abi.h, HL_CT_SHARDS), all of them every hl_sweep_ns: its entries
 * counted and not closed, per node. ct_counts holds what node_active holds
 * of each shard (the data path moves both alike, flow_active_add()); the
 * tick swaps the fresh count in and moves node_active and svc_active by
 * the difference. So each tick walks about 4096 entries and the nodes
 * once, where a walk of the whole table held a softirq for 200-300 ms;
 * an update racing with a tick is set right at that shard's next one.
 * NAT flows are not in the table: the NAT path counts them exactly
 * (nat_state.h). Once a round, svc_active is recounted from node_active
 * over the nodes that exist (a deleted node's flows leave its service).
 */
#ifndef HELIOS_BPF_SWEEP_H
#define HELIOS_BPF_SWEEP_H

#include "maps.h"

/* A whole round: HL_CT_SHARDS ticks. */
const volatile __u64 hl_sweep_ns = 5000000000ull;

static long sweep_zero_svc(__u32 i, void *ctx)
{
	__s64 *c = bpf_map_lookup_elem(&svc_active, &i);

	if (c)
		*c = 0;
	return 0;
}

static long sweep_count(void *map, struct hl_flow_key *key, struct hl_flow *flow,
			void *ctx)
{
	__u32 id = flow->node_id;
	__s64 *c;

	if ((flow->flags & (HL_FLOW_F_COUNTED | HL_FLOW_F_CLOSED)) !=
	    HL_FLOW_F_COUNTED)
		return 0;
	c = bpf_map_lookup_elem(&sweep_counts, &id);
	if (c)
		*c += 1;	/* the timer runs on one CPU at a time */
	return 0;
}

static __always_inline void sweep_svc_add(__u32 node_id, __s64 d)
{
	struct hl_node *n = bpf_map_lookup_elem(&nodes, &node_id);
	__u32 svc_id;
	__s64 *a;

	if (!n || !(n->flags & HL_NODE_F_EXISTS))
		return;
	svc_id = n->svc_id;
	a = bpf_map_lookup_elem(&svc_active, &svc_id);
	if (a)
		__sync_fetch_and_add(a, d);
}

/* Node i: the shard's fresh count in, the difference onto the totals. */
static long sweep_apply(__u32 i, __u32 *shard)
{
	__u32 k = hl_ct_count_key(*shard, i);
	__s64 *fresh = bpf_map_lookup_elem(&sweep_counts, &i), *a, d;
	__s32 *have = bpf_map_lookup_elem(&ct_counts, &k);

	if (!fresh || !have)
		return 1;
	if (!*fresh && !*have)
		return 0;
	d = *fresh - __sync_lock_test_and_set(have, (__s32)*fresh);
	*fresh = 0;
	if (!d)
		return 0;
	a = bpf_map_lookup_elem(&node_active, &i);
	if (a)
		__sync_fetch_and_add(a, d);
	sweep_svc_add(i, d);
	return 0;
}

static long sweep_svc_total(__u32 i, void *ctx)
{
	__s64 *a = bpf_map_lookup_elem(&node_active, &i);

	if (a && *a)
		sweep_svc_add(i, *a);
	return 0;
}

/* One tick: the recount of one shard. */
static __always_inline void sweep_shard(__u32 shard)
{
	void *m = bpf_map_lookup_elem(&conntrack, &shard);

	if (m)
		bpf_for_each_map_elem(m, sweep_count, NULL, 0);
	bpf_loop(HL_MAX_NODES, sweep_apply, &shard, 0);
	if (shard == HL_CT_SHARDS - 1) {
		bpf_loop(HL_MAX_SERVICES, sweep_zero_svc, NULL, 0);
		bpf_loop(HL_MAX_NODES, sweep_svc_total, NULL, 0);
	}
}

static long sweep_round_one(__u32 i, void *ctx)
{
	sweep_shard(i);
	return 0;
}

/* A whole round at once (tests, benchmarks). */
static __always_inline void sweep_walk(void)
{
	bpf_loop(HL_CT_SHARDS, sweep_round_one, NULL, 0);
}

static int sweep(void *map, __u32 *key, struct hl_sweeper *s)
{
	__u32 shard = s->shard < HL_CT_SHARDS ? s->shard : 0;

	s->shard = shard + 1 < HL_CT_SHARDS ? shard + 1 : 0;
	sweep_shard(shard);
	bpf_timer_start(&s->timer, hl_sweep_ns / HL_CT_SHARDS, 0);
	return 0;
}

static long sweep_reset_node(__u32 i, void *ctx)
{
	__s64 *a = bpf_map_lookup_elem(&node_active, &i);
	__s64 *nat_n = bpf_map_lookup_elem(&nat_active, &i);

	if (a)
		*a = nat_n ? *nat_n : 0;
	return 0;
}

static long sweep_reset_count(__u32 i, void *ctx)
{
	__s32 *c = bpf_map_lookup_elem(&ct_counts, &i);

	if (c && *c)
		*c = 0;
	return 0;
}

/* Counts that no longer match the shards' (an upgrade made conntrack or
 * ct_counts anew): node_active back to its NAT flows, no shard counted,
 * then a whole round counts the table in. */
static __always_inline void sweep_reset(void)
{
	bpf_loop(HL_MAX_NODES, sweep_reset_node, NULL, 0);
	bpf_loop(HL_CT_SHARDS * HL_MAX_NODES, sweep_reset_count, NULL, 0);
	sweep_walk();
}

/* Called for counted new flows: the first one starts the sweeps. */
static __always_inline void sweep_arm(void)
{
	__u32 zero = 0;
	struct hl_sweeper *s = bpf_map_lookup_elem(&sweeper, &zero);

	if (!s || s->armed || __sync_lock_test_and_set(&s->armed, 1))
		return;
	if (bpf_timer_init(&s->timer, &sweeper, CLOCK_MONOTONIC) ||
	    bpf_timer_set_callback(&s->timer, sweep) ||
	    bpf_timer_start(&s->timer, hl_sweep_ns / HL_CT_SHARDS, 0))
		s->armed = 0;	/* try again on the next counted flow */
}

#endif /* HELIOS_BPF_SWEEP_H */
