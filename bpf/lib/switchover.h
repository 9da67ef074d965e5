/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage "switchover": a planned change of a write service's primary
 * (`helios-agent switchover`). While the service's hold lease runs, new
 * flows wait (their SYNs are dropped and counted; clients retransmit),
 * user space counts the flows still open (the established stage notes
 * every client's FIN and RST), and once the drain time is over
 * (HL_SWO_F_RESET) a packet of an open flow gets an RST. Services without
 * the flag pay one test of a word they have already loaded.
 */
#ifndef HELIOS_BPF_SWITCHOVER_H
#define HELIOS_BPF_SWITCHOVER_H

#include "maps.h"
#include "reset.h"
#include "strategy.h"

/* The service's switchover while its lease runs, else NULL. */
static __always_inline const struct hl_switchover *
switchover_get(const struct hl_service *svc)
{
	const struct hl_switchover *so;
	__u32 id = svc->id;

	if (likely(!(svc->flags & HL_SVC_F_SWITCHOVER)))
		return NULL;
	so = bpf_map_lookup_elem(&switchover, &id);
	/* A lease past its deadline holds nothing: a command that died
	 * cannot hold a service for ever. */
	if (!so || (__s64)(bpf_ktime_get_ns() - so->until_ns) >= 0)
		return NULL;
	return so;
}

/* New flows of a service in switchover wait. */
static __always_inline bool switchover_holds(const struct hl_service *svc)
{
	return switchover_get(svc) != NULL;
}

/* The drain time is over and `pkt`, of a flow still open, may be
 * answered with an RST: conntrack flows (below) and NAT ones (nat.h). */
static __always_inline bool switchover_resets(const struct hl_service *svc,
					      const struct hl_pkt *pkt)
{
	const struct hl_switchover *so = switchover_get(svc);

	return so && (so->flags & HL_SWO_F_RESET) && reset_possible(pkt);
}

/* A packet of an established flow: an RST once the drain time is over. */
static __always_inline int stage_switchover(struct xdp_md *ctx,
					    const struct hl_pkt *pkt,
					    struct hl_target *t,
					    struct hl_flow *flow)
{
	if (!switchover_resets(t->svc, pkt))
		return HL_CONTINUE;
	active_close(t->svc, &pkt->key, flow, HL_TCP_RST);
	return reset_flow_as(ctx, pkt, t, HL_REASON_RESET_SWITCHOVER);
}

#endif /* HELIOS_BPF_SWITCHOVER_H */
