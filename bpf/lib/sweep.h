/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Active-flow counts (lc, p2c, bounded-load) kept right with nothing else
 * watching. The data path adds one per counted insert and takes one off at
 * the first FIN/RST, but a flow can also end without either: a UDP flow, or
 * an entry the LRU evicts (no callback tells us). A BPF timer, armed by the
 * first counted flow, recounts node_active and svc_active from the
 * connection table every hl_sweep_ns: entries counted and not closed.
 * Updates racing with a sweep can be off by a few until the next one.
 */
#ifndef HELIOS_BPF_SWEEP_H
#define HELIOS_BPF_SWEEP_H

#include "maps.h"

/* Between recounts; a sweep walks the whole table (about 30 ns an entry). */
const volatile __u64 hl_sweep_ns = 5000000000ull;

static long sweep_zero_node(__u32 i, void *ctx)
{
	__s64 *c = bpf_map_lookup_elem(&sweep_counts, &i);

	if (c)
		*c = 0;
	return 0;
}

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

/* A node's count: its flows in the connection table, plus its NAT flows,
 * which the NAT path counts exactly in nat_active (nat_state.h). */
static long sweep_publish(__u32 i, void *ctx)
{
	__s64 *c = bpf_map_lookup_elem(&sweep_counts, &i), *a, total;
	__s64 *nat_n = bpf_map_lookup_elem(&nat_active, &i);
	struct hl_node *n;
	__u32 svc_id;

	if (!c)
		return 0;
	total = *c + (nat_n ? *nat_n : 0);
	a = bpf_map_lookup_elem(&node_active, &i);
	if (a)
		*a = total;
	n = bpf_map_lookup_elem(&nodes, &i);
	if (!n || !total || !(n->flags & HL_NODE_F_EXISTS))
		return 0;
	svc_id = n->svc_id;
	a = bpf_map_lookup_elem(&svc_active, &svc_id);
	if (a)
		*a += total;
	return 0;
}

static __always_inline void sweep_walk(void)
{
	bpf_loop(HL_MAX_NODES, sweep_zero_node, NULL, 0);
	bpf_for_each_map_elem(&conntrack, sweep_count, NULL, 0);
	bpf_loop(HL_MAX_SERVICES, sweep_zero_svc, NULL, 0);
	bpf_loop(HL_MAX_NODES, sweep_publish, NULL, 0);
}

static int sweep(void *map, __u32 *key, struct hl_sweeper *s)
{
	sweep_walk();
	bpf_timer_start(&s->timer, hl_sweep_ns, 0);
	return 0;
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
	    bpf_timer_start(&s->timer, hl_sweep_ns, 0))
		s->armed = 0;	/* try again on the next counted flow */
}

#endif /* HELIOS_BPF_SWEEP_H */
