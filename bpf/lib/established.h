/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage "established": a packet of a flow in the connection table stays on
 * the flow's node while that node keeps it (node_keeps_flow()), and may
 * have its SYN second chance there. A flow whose node no longer keeps it
 * is answered with an RST when its service asks for that; otherwise it
 * goes on as a new flow. A flow of an older fencing generation (fence.h)
 * is answered with an RST always.
 */
#ifndef HELIOS_BPF_ESTABLISHED_H
#define HELIOS_BPF_ESTABLISHED_H

#include "maps.h"
#include "conntrack.h"
#include "select.h"
#include "stats.h"
#include "strategy.h"
#include "reset.h"
#include "retry.h"
#include "fence.h"
#include "switchover.h"

/* `flow`: the packet's connection-table entry (NULL: none). HL_CONTINUE
 * with t->node set (stay) or NULL (no entry, or its node is gone: a new
 * flow), else the verdict's reason. */
static __always_inline int stage_established(struct xdp_md *ctx,
					     const struct hl_pkt *pkt,
					     struct hl_flow *flow,
					     struct hl_target *t)
{
	const struct hl_service *svc = t->svc;
	struct hl_node *node;
	__u32 node_id;

	if (!flow)
		return HL_CONTINUE;
	if (hl_skip(HL_AB_FLOW))
		goto node;
	/* A SYN on a flow its client closed is a new connection on a reused
	 * tuple (pgbench -C, poolers): it is picked afresh (hold, limits,
	 * strategy) and is no retransmission of the old one. */
	if (unlikely((flow->flags & HL_FLOW_F_CLOSED) &&
		     (pkt->tcp_flags & (HL_TCP_SYN | HL_TCP_ACK)) == HL_TCP_SYN))
		return HL_CONTINUE;
	if (unlikely(svc->gen)) {
		if (flow_fenced(svc, flow)) {
			/* Made under another primary or timeline: ended
			 * (a SYN on the tuple starts a new flow). */
			active_close(svc, &pkt->key, flow, HL_TCP_RST);
			if (reset_possible(pkt))
				return reset_flow_as(ctx, pkt, t,
						     HL_REASON_RESET_FENCED);
			return HL_CONTINUE;
		}
		if (!flow->gen)
			flow->gen = svc->gen;	/* adopted, once */
	}
node:
	node_id = flow->node_id;
	node = bpf_map_lookup_elem(&nodes, &node_id);
	if (!node || !node_keeps_flow(node, svc, pkt->key.family)) {
		/* Its old node no longer holds it. */
		active_close(svc, &pkt->key, flow, HL_TCP_RST);
		if (reset_wanted(svc, pkt)) {
			if (node) {	/* the reset counts for it (events.h) */
				t->node = node;
				t->node_id = node_id;
			}
			return reset_flow(ctx, pkt, t);
		}
		return HL_CONTINUE;
	}
	t->node = node;
	t->node_id = node_id;
	t->hash = flow->hash;
	if (hl_skip(HL_AB_FLOW))
		return HL_CONTINUE;
	hl_count_tcp_trouble(node_id, pkt->tcp_flags);
	if (unlikely(svc->flags & HL_SVC_F_SWITCHOVER)) {
		int reason = stage_switchover(ctx, pkt, t, flow);

		if (reason != HL_CONTINUE)
			return reason;
	}
	/* Every service notes its clients' FINs and RSTs: the active counts
	 * (lc, p2c, bounded-load) and the flows still open (a switchover's
	 * drain, `conn list`) follow from them. Rare packets, one test. */
	if (unlikely(pkt->tcp_flags & (HL_TCP_FIN | HL_TCP_RST)))
		active_close(svc, &pkt->key, flow, pkt->tcp_flags);
	if (unlikely(svc->opts & HL_SVC_O_SYN_RETRY))
		return syn_retry_retarget(flow, pkt, t);
	return HL_CONTINUE;
}

#endif /* HELIOS_BPF_ESTABLISHED_H */
