/* SPDX-License-Identifier: GPL-2.0 */
/*
 * On-down reset: a flow pinned to a node that went down (Unhealthy, or no
 * longer the primary of a write service) is answered with a TCP RST from the
 * VIP when its service asks for it, so the client reconnects at once instead
 * of waiting out TCP timeouts against a dead or demoted server. Only for
 * segments that carry an ACK (RFC 793: the reset then takes SEQ = SEG.ACK and
 * no ACK flag), never for a SYN (that is a new flow) or an RST.
 * The frame is rewritten in place: same L2 (MACs swapped, VLAN kept), a
 * fresh IP header and a bare TCP header, the tail cut after them.
 */
#ifndef HELIOS_BPF_RESET_H
#define HELIOS_BPF_RESET_H

#include "maps.h"
#include "csum.h"
#include "icmp.h"

static __always_inline bool reset_wanted(const struct hl_service *svc,
					 const struct hl_pkt *pkt)
{
	return (svc->flags & HL_SVC_F_RESET) && pkt->key.proto == IPPROTO_TCP &&
	       (pkt->tcp_flags & (HL_TCP_ACK | HL_TCP_SYN | HL_TCP_RST)) ==
		       HL_TCP_ACK;
}

static __always_inline void reset_tcp(struct tcphdr *th,
				      const struct hl_pkt *pkt)
{
	__builtin_memset(th, 0, sizeof(*th));
	th->source = pkt->key.dport;
	th->dest = pkt->key.sport;
	th->seq = pkt->tcp_ack;
	th->doff = sizeof(*th) / 4;
	th->rst = 1;
}

static __always_inline int tcp_reset4(struct xdp_md *ctx,
				      const struct hl_pkt *pkt)
{
	struct {
		__be32 saddr, daddr, proto_len;	/* pseudo header */
		struct tcphdr th;
	} ph;
	struct {
		struct iphdr ip;
		struct tcphdr th;
	} hdr = {};
	void *data, *data_end, *l3;
	struct hl_l2 l2;

	if (icmp_trim(ctx, pkt, sizeof(hdr), &l2))
		return -1;
	hdr.ip.version = 4;
	hdr.ip.ihl = 5;
	hdr.ip.tot_len = bpf_htons(sizeof(hdr));
	hdr.ip.ttl = HL_OUTER_TTL;
	hdr.ip.protocol = IPPROTO_TCP;
	hdr.ip.saddr = pkt->key.dst[0];
	hdr.ip.daddr = pkt->key.src[0];
	hdr.ip.check = csum_fold64(csum_words(&hdr.ip, 5));
	reset_tcp(&hdr.th, pkt);
	ph.saddr = hdr.ip.saddr;
	ph.daddr = hdr.ip.daddr;
	ph.proto_len = bpf_htonl(IPPROTO_TCP << 16 | sizeof(struct tcphdr));
	ph.th = hdr.th;
	hdr.th.check = csum_fold64(csum_words(&ph, sizeof(ph) / 4));

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + 4 > data_end)
		return -1;
	l3 = icmp_write_l2(data, &l2, pkt, ETH_P_IP);
	if (l3 + sizeof(hdr) > data_end)
		return -1;
	__builtin_memcpy(l3, &hdr, sizeof(hdr));
	return 0;
}

static __always_inline int tcp_reset6(struct xdp_md *ctx,
				      const struct hl_pkt *pkt)
{
	struct {
		__be32 saddr[4], daddr[4], len, nexthdr;	/* pseudo header */
		struct tcphdr th;
	} ph;
	struct {
		struct ipv6hdr ip6;
		struct tcphdr th;
	} hdr = {};
	void *data, *data_end, *l3;
	struct hl_l2 l2;

	if (icmp_trim(ctx, pkt, sizeof(hdr), &l2))
		return -1;
	hdr.ip6.version = 6;
	hdr.ip6.payload_len = bpf_htons(sizeof(struct tcphdr));
	hdr.ip6.nexthdr = IPPROTO_TCP;
	hdr.ip6.hop_limit = HL_OUTER_TTL;
	__builtin_memcpy(&hdr.ip6.saddr, pkt->key.dst, 16);
	__builtin_memcpy(&hdr.ip6.daddr, pkt->key.src, 16);
	reset_tcp(&hdr.th, pkt);
	__builtin_memcpy(ph.saddr, pkt->key.dst, 16);
	__builtin_memcpy(ph.daddr, pkt->key.src, 16);
	ph.len = bpf_htonl(sizeof(struct tcphdr));
	ph.nexthdr = bpf_htonl(IPPROTO_TCP);
	ph.th = hdr.th;
	hdr.th.check = csum_fold64(csum_words(&ph, sizeof(ph) / 4));

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + 4 > data_end)
		return -1;
	l3 = icmp_write_l2(data, &l2, pkt, ETH_P_IPV6);
	if (l3 + sizeof(hdr) > data_end)
		return -1;
	__builtin_memcpy(l3, &hdr, sizeof(hdr));
	return 0;
}

/* The flow is over: forget it, so that a later SYN on the same tuple starts
 * afresh, and answer the packet with the RST. */
static __always_inline int reset_flow(struct xdp_md *ctx,
				      const struct hl_pkt *pkt,
				      struct hl_target *t)
{
	int err;

	bpf_map_delete_elem(&conntrack, &pkt->key);
	if (pkt->key.family == HL_AF_INET6)
		err = tcp_reset6(ctx, pkt);
	else
		err = tcp_reset4(ctx, pkt);
	if (err)
		return HL_REASON_DROP_ENCAP;
	t->action = XDP_TX;
	return HL_REASON_RESET_NODE_DOWN;
}

#endif /* HELIOS_BPF_RESET_H */
