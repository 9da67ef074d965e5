/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forwarding mode l2 (HL_FWD_L2): direct server return on one L2 segment.
 * The packet goes to the node as it came; only the Ethernet addresses
 * change: the node's MAC (the cached next hop's dmac) as destination, the
 * egress device's (smac) as source. No header is added, so the too-big
 * check is against the packet itself. The node holds the VIP on its `lo`
 * and answers the client directly; nothing comes back through us.
 *
 * A VLAN tag the input carried is removed, as encap.h does: the next hop
 * describes the egress device, which sends plain Ethernet. Untagged, the
 * frame leaves byte for byte as it came but for the twelve MAC bytes.
 */
#ifndef HELIOS_BPF_L2_H
#define HELIOS_BPF_L2_H

#include "common.h"
#include "icmp.h"
#include "stats.h"

/* The verdict of an l2 service's packet to t->node over `nh`: its reason,
 * the action in t->action (a part of stage_forward()). */
static __always_inline int forward_l2(struct xdp_md *ctx,
				      const struct hl_pkt *pkt,
				      struct hl_target *t,
				      const struct hl_nexthop *nh)
{
	void *data, *data_end;
	struct ethhdr *eth;
	int reason;

	reason = too_big_bare(ctx, pkt, nh->mtu, &t->action);
	if (reason != HL_CONTINUE)
		return reason;

	/* The tag's inner ethertype becomes the frame's: it sits right
	 * before L3, where the new header's h_proto will be. A failure is
	 * counted as this mode's encapsulation failing. */
	if (pkt->vlan && bpf_xdp_adjust_head(ctx, (int)pkt->l3_off - ETH_HLEN))
		return HL_REASON_DROP_ENCAP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return HL_REASON_DROP_ENCAP;
	eth_write_macs(eth, nh->dmac);

	hl_count_packet(t->svc->id, t->node_id, pkt->frame_len);
	if (nh->ifindex == ctx->ingress_ifindex)
		t->action = XDP_TX;
	else
		t->action = bpf_redirect(nh->ifindex, 0);
	return t->fwd_reason;
}

#endif /* HELIOS_BPF_L2_H */
