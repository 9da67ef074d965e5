/* SPDX-License-Identifier: GPL-2.0 */
/*
 * On-down reset: a flow pinned to a node that went down (Unhealthy, or no
 * longer the primary of a write service) is answered with a TCP RST from the
 * VIP when its service asks for it, so the client reconnects at once instead
 * of waiting out TCP timeouts against a dead or demoted server. Only for
 * segments that carry an ACK (RFC 793: the reset then takes SEQ = SEG.ACK and
 * no ACK flag), never for a SYN (that is a new flow) or an RST.
 * The frame becomes a reply (reply.h): same L2 (MACs swapped, VLAN kept), a
 * fresh IP header and a bare TCP header, the tail cut after them.
 */
#ifndef HELIOS_BPF_RESET_H
#define HELIOS_BPF_RESET_H

#include "maps.h"
#include "conntrack.h"
#include "csum.h"
#include "reply.h"

/* A TCP segment that may be answered with an RST (it carries an ACK). */
static __always_inline bool reset_possible(const struct hl_pkt *pkt)
{
	return pkt->key.proto == IPPROTO_TCP &&
	       (pkt->tcp_flags & (HL_TCP_ACK | HL_TCP_SYN | HL_TCP_RST)) ==
		       HL_TCP_ACK;
}

static __always_inline bool reset_wanted(const struct hl_service *svc,
					 const struct hl_pkt *pkt)
{
	return (svc->flags & HL_SVC_F_RESET) && reset_possible(pkt);
}

/* Answer `pkt` with a bare RST; 0 when the frame now holds it. */
static __always_inline int reply_reset(struct xdp_md *ctx,
				       const struct hl_pkt *pkt)
{
	bool v6 = pkt->key.family == HL_AF_INET6;
	struct {
		struct iphdr ip;
		struct tcphdr th;
	} h4 = {};
	struct {
		__be32 ip6[HL_IPV6_HLEN / 4];
		struct tcphdr th;
	} h6 = {};
	struct tcphdr th = {};
	struct hl_l2 l2;
	__u64 sum;

	if (reply_trim(ctx, pkt, v6 ? sizeof(h6) : sizeof(h4), &l2))
		return -1;
	th.source = pkt->key.dport;
	th.dest = pkt->key.sport;
	th.seq = pkt->tcp_ack;
	th.doff = sizeof(th) / 4;
	th.rst = 1;
	/*
	 * One pseudo-header sum serves both families: the addresses (an IPv4
	 * one is word 0 of four, the rest zero), then protocol and length,
	 * which IPv4 packs in one word and IPv6 spreads over two; in one's
	 * complement 16-bit sums both come to the same.
	 */
	sum = csum_words(pkt->key.src, 4) + csum_words(pkt->key.dst, 4);
	sum += bpf_htonl(IPPROTO_TCP << 16 | sizeof(th));
	sum += csum_words(&th, sizeof(th) / 4);
	th.check = csum_fold64(sum);

	if (v6) {
		reply_ip6(h6.ip6, pkt, IPPROTO_TCP, sizeof(th));
		h6.th = th;
		return reply_write(ctx, pkt, &l2, ETH_P_IPV6, &h6, sizeof(h6));
	}
	reply_ip4(&h4.ip, pkt, IPPROTO_TCP, sizeof(h4));
	h4.th = th;
	return reply_write(ctx, pkt, &l2, ETH_P_IP, &h4, sizeof(h4));
}

/* The flow is over: forget it, so that a later SYN on the same tuple starts
 * afresh, and answer the packet with the RST, counted as `reason`. */
static __always_inline int reset_flow_as(struct xdp_md *ctx,
					 const struct hl_pkt *pkt,
					 struct hl_target *t, int reason)
{
	ct_delete(&pkt->key);
	if (reply_reset(ctx, pkt))
		return HL_REASON_DROP_REPLY;
	t->action = XDP_TX;
	return reason;
}

static __always_inline int reset_flow(struct xdp_md *ctx,
				      const struct hl_pkt *pkt,
				      struct hl_target *t)
{
	return reset_flow_as(ctx, pkt, t, HL_REASON_RESET_NODE_DOWN);
}

#endif /* HELIOS_BPF_RESET_H */
