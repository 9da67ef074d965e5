/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage "new flow": a packet without a node (no connection-table entry, or
 * its node is gone). Any TCP packet, not only a SYN, goes by the service's
 * table, so a restarted director (empty connection table) sends an
 * established connection where the old one did. In order: hold, connection
 * limits, the strategy's pick (read-your-writes may overrule it: ryw.h),
 * the connection-table insert.
 */
#ifndef HELIOS_BPF_NEW_FLOW_H
#define HELIOS_BPF_NEW_FLOW_H

#include "maps.h"
#include "conntrack.h"
#include "ratelimit.h"
#include "select.h"
#include "stats.h"
#include "strategy.h"
#include "retry.h"
#include "sweep.h"
#include "ryw.h"
#include "switchover.h"
#include "pool.h"

/*
 * Hold, connection limits and the strategy's pick, for both forwarding
 * modes (IPIP below, NAT in nat.h). HL_CONTINUE with t->node, t->node_id
 * and t->hash set, else the verdict's reason (a drop).
 */
static __always_inline int new_flow_pick(const struct hl_pkt *pkt,
					 struct hl_target *t)
{
	const struct hl_service *svc = t->svc;
	struct hl_node *node;
	__u32 node_id, hash;
	int reason;

	if (hl_skip(HL_AB_ADMIT))
		goto pick;
	/* Hold (the agent sees no single primary): existing flows stay, new
	 * ones wait; the client retransmits its SYN. */
	if (svc->flags & HL_SVC_F_HOLD)
		return HL_REASON_HELD;
	if (unlikely(svc->flags & HL_SVC_F_SWITCHOVER) && switchover_holds(svc))
		return HL_REASON_HELD_SWITCHOVER;
	/* Connection limits: new connections only, never a packet of an
	 * established flow (even one whose entry was lost). */
	if (unlikely(svc->opts & HL_SVC_O_LIMIT_CONN) && rl_conn_start(pkt)) {
		reason = rl_conn(svc, pkt);
		if (reason != HL_REASON_FORWARDED)
			return reason;
	}
pick:
	hash = hl_select_hash(&pkt->key, svc->hash);
	reason = HL_CONTINUE;
	if (!hl_skip(HL_AB_ADMIT) && unlikely(svc->opts & HL_SVC_O_POOLS)) {
		reason = pool_pick(svc, pkt, hash, &node_id);
		if (reason != HL_CONTINUE && reason != HL_REASON_FORWARDED)
			return reason;
	}
	if (reason == HL_CONTINUE)
		node_id = hl_skip(HL_AB_STRATEGY) ? 0 : select_node(svc, hash);
	if (!hl_skip(HL_AB_ADMIT) && unlikely(svc->opts & HL_SVC_O_RYW))
		node_id = ryw_pick(svc, pkt, node_id, t);
	node = bpf_map_lookup_elem(&nodes, &node_id);
	if (!node || !node_takes_flow(node, svc, pkt->key.family))
		return HL_REASON_DROP_NO_BACKEND;
	t->node = node;
	t->node_id = node_id;
	t->hash = hash;
	t->new_flow = true;
	return HL_CONTINUE;
}

/* HL_CONTINUE with t->node set, else the verdict's reason (a drop). */
static __always_inline int stage_new_flow(const struct hl_pkt *pkt,
					  struct hl_target *t)
{
	const struct hl_service *svc = t->svc;
	__u32 fflags, created = 0;
	int reason;

	reason = new_flow_pick(pkt, t);
	if (reason != HL_CONTINUE)
		return reason;
	/* An RST starts nothing: forwarded by the table, not remembered (the
	 * client's answers to a reset or fenced flow's server would else
	 * become a flow whose further RSTs count against the new node). */
	if (pkt->key.proto == IPPROTO_TCP && (pkt->tcp_flags & HL_TCP_RST))
		return HL_CONTINUE;
	fflags = svc->opts & HL_SVC_O_COUNT_ACTIVE ? HL_FLOW_F_COUNTED : 0;
	if (unlikely(svc->opts & HL_SVC_O_SYN_RETRY)) {
		created = retry_now_ms();
		retry_note_flow(svc->id);
	}
	if (hl_skip(HL_AB_INSERT))
		return HL_CONTINUE;
	if (!ct_insert(&pkt->key, t->node_id, t->hash, fflags, created,
		       svc->gen)) {
		if (!hl_skip(HL_AB_COUNTERS))
			hl_count_flow(svc->id, t->node_id);
		if (fflags) {
			flow_active_add(&pkt->key, svc->id, t->node_id, 1);
			sweep_arm();
		}
	}
	return HL_CONTINUE;
}

#endif /* HELIOS_BPF_NEW_FLOW_H */
