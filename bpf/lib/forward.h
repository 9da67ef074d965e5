/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage "forward": the packet goes to t->node. Its next hop (nexthop.h),
 * the too-big answer when it would not fit the path once encapsulated
 * (icmp.h), the encapsulation (encap.h), then XDP_TX when the node is out
 * the device the packet came in on, else a redirect. A service in mode l2
 * leaves after the next hop: forward_l2() (l2.h) only rewrites the MACs.
 */
#ifndef HELIOS_BPF_FORWARD_H
#define HELIOS_BPF_FORWARD_H

#include "maps.h"
#include "nexthop.h"
#include "icmp.h"
#include "encap.h"
#include "l2.h"
#include "stats.h"

/* Always a verdict: its reason, the action in t->action. */
static __always_inline int stage_forward(struct xdp_md *ctx,
					 const struct hl_pkt *pkt,
					 struct hl_target *t)
{
	__u32 node_id = t->node_id, outer;
	struct hl_nexthop *nh;
	int err;

	nh = bpf_map_lookup_elem(&nexthops, &node_id);
	if (!nh || !nh_resolve(ctx, nh, t->node,
			       t->new_flow && !hl_skip(HL_AB_TIME)))
		return HL_REASON_DROP_NO_ROUTE;
	if (t->svc->fwd == HL_FWD_L2)
		return forward_l2(ctx, pkt, t, nh);

	outer = pkt->key.family == HL_AF_INET6 ? HL_IPV6_HLEN : HL_IPV4_HLEN;
	if (unlikely(nh->mtu && pkt->ip_len + outer > nh->mtu)) {
		if (reply_too_big(ctx, pkt, nh->mtu))
			return HL_REASON_DROP_REPLY;
		t->action = XDP_TX;
		return HL_REASON_TOO_BIG;
	}

	if (pkt->key.family == HL_AF_INET6)
		err = encap_ipv6(ctx, pkt, t->node, nh, t->hash);
	else
		err = encap_ipv4(ctx, pkt, t->node, nh);
	if (err)
		return HL_REASON_DROP_ENCAP;

	if (!hl_skip(HL_AB_COUNTERS))
		hl_count_packet(t->svc->id, node_id, pkt->frame_len);
	if (nh->ifindex == ctx->ingress_ifindex)
		t->action = XDP_TX;
	else
		t->action = bpf_redirect(nh->ifindex, 0);
	return t->fwd_reason;
}

#endif /* HELIOS_BPF_FORWARD_H */
