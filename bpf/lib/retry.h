/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SYN second chance: a client that sends the SYN of a known flow again,
 * after the service's retry delay, got no answer from the node the flow
 * went to. That SYN goes once to another usable node, so one silent node
 * costs the client one retransmission instead of a failed connection.
 * A budget keeps a dead node from turning into a retry storm: per second
 * at most retry_pct % of the service's new flows, but at least retry_min.
 * The windows are per CPU (no atomics on this path): retry_min holds per
 * CPU, the percentage counts each CPU's own new flows.
 */
#ifndef HELIOS_BPF_RETRY_H
#define HELIOS_BPF_RETRY_H

#include "maps.h"
#include "select.h"
#include "strategy.h"

#define HL_RETRY_WINDOW_NS	1000000000ull
#define HL_RETRY_PICKS		4	/* table picks after the strategy's */

static __always_inline __u32 retry_now_ms(void)
{
	return bpf_ktime_get_ns() >> 20;	/* ~1.05 ms units */
}

static __always_inline struct hl_retry_window *retry_window_of(__u32 svc_id,
								__u64 now)
{
	struct hl_retry_window *w = bpf_map_lookup_elem(&retry_window, &svc_id);

	if (w && now - w->start_ns >= HL_RETRY_WINDOW_NS) {
		w->prev_flows = now - w->start_ns < 2 * HL_RETRY_WINDOW_NS ?
				w->flows : 0;
		w->flows = 0;
		w->retries = 0;
		w->start_ns = now;
	}
	return w;
}

/* A new flow of a service with second chances: its share of the budget. */
static __always_inline void retry_note_flow(__u32 svc_id)
{
	struct hl_retry_window *w = retry_window_of(svc_id, bpf_ktime_get_ns());

	if (w)
		w->flows++;
}

static __always_inline bool retry_budget(__u32 svc_id,
					 const struct hl_limits *lim)
{
	struct hl_retry_window *w = retry_window_of(svc_id, bpf_ktime_get_ns());
	__u32 flows, allowed;

	if (!w)
		return false;
	flows = w->flows > w->prev_flows ? w->flows : w->prev_flows;
	allowed = flows * lim->retry_pct / 100;
	if (allowed < lim->retry_min)
		allowed = lim->retry_min;
	if (w->retries >= allowed) {
		w->denied++;
		return false;
	}
	w->retries++;
	return true;
}

/*
 * Another usable node for a flow whose SYN came again, or HL_NODE_NONE
 * when it is not due (not a bare SYN, already retried, too young), the
 * budget is spent or no other node takes it.
 */
static __always_inline __u32 syn_second_chance(const struct hl_service *svc,
					       const struct hl_flow *flow,
					       const struct hl_pkt *pkt,
					       __u32 family)
{
	struct hl_limits *lim;
	__u32 svc_id = svc->id, id;
	struct hl_node *node;

	if ((pkt->tcp_flags & (HL_TCP_SYN | HL_TCP_ACK)) != HL_TCP_SYN ||
	    (flow->flags & HL_FLOW_F_RETRIED))
		return HL_NODE_NONE;
	lim = bpf_map_lookup_elem(&limits, &svc_id);
	if (!lim || retry_now_ms() - flow->created_ms < lim->retry_delay_ms)
		return HL_NODE_NONE;
	/* Picks by rehashes of the flow (golden ratio): first through the
	 * service's strategy, then along its table, a few slots at most.
	 * One strategy pick only: each inlined copy of the strategies costs
	 * the verifier much more than a table lookup. */
	id = select_node(svc, flow->hash * 0x9e3779b1u + 1);
	for (int i = 2; i <= HL_RETRY_PICKS + 1; i++) {
		if (id != flow->node_id && id != HL_NODE_NONE) {
			node = bpf_map_lookup_elem(&nodes, &id);
			if (node && node_takes_flow(node, svc, family))
				return retry_budget(svc_id, lim) ? id : HL_NODE_NONE;
		}
		id = maglev_pick(svc, flow->hash * 0x9e3779b1u + i);
	}
	return HL_NODE_NONE;
}

/*
 * An established flow of a service with second chances: when its SYN came
 * again and a second chance is due, move the flow to the other node (the
 * active counts follow it) and send this packet there, counted as
 * forwarded-syn-retry. HL_CONTINUE, or the drop reason when the other node
 * vanished from under us.
 */
static __always_inline int syn_retry_retarget(struct hl_flow *flow,
					      const struct hl_pkt *pkt,
					      struct hl_target *t)
{
	const struct hl_service *svc = t->svc;
	struct hl_node *node;
	__u32 other;

	other = syn_second_chance(svc, flow, pkt, pkt->key.family);
	if (other == HL_NODE_NONE)
		return HL_CONTINUE;
	node = bpf_map_lookup_elem(&nodes, &other);
	if (!node)
		return HL_REASON_DROP_NO_BACKEND;
	if (flow->flags & HL_FLOW_F_COUNTED) {
		flow_active_add(&pkt->key, svc->id, t->node_id, -1);
		flow_active_add(&pkt->key, svc->id, other, 1);
	}
	flow->node_id = other;
	flow->flags |= HL_FLOW_F_RETRIED;
	t->node = node;
	t->node_id = other;
	t->fwd_reason = HL_REASON_SYN_RETRY;
	return HL_CONTINUE;
}

#endif /* HELIOS_BPF_RETRY_H */
