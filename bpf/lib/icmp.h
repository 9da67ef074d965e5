/* SPDX-License-Identifier: GPL-2.0 */
/*
 * "Too big" answers. A packet that would not fit the path to the node once
 * encapsulated is answered, never silently dropped: the client learns the
 * MTU and resends smaller (TCP MSS/PMTU), which it could not do if the
 * encapsulated packet died later on the way. The reply comes from the VIP,
 * goes back out the ingress device (XDP_TX) with the MACs swapped and the
 * VLAN tag kept, and quotes the start of the packet:
 *   IPv4: ICMP 3/4 "fragmentation needed", next-hop MTU = mtu - 20, quoting
 *         the IP header with options + 8 bytes of L4 (RFC 792);
 *   IPv6: ICMPv6 2 "packet too big", MTU = max(mtu - 40, 1280), quoting the
 *         first 48 bytes (IPv6 header + 8).
 * IPv4 packets without DF get the same answer: XDP cannot fragment, and a
 * fragmenting hop after us would only move the loss out of sight.
 * The frame is rewritten in place: the tail is cut after the quote and the
 * head moves back by the new IP + ICMP headers, so the quoted bytes never
 * move.
 */
#ifndef HELIOS_BPF_ICMP_H
#define HELIOS_BPF_ICMP_H

#include "common.h"
#include "csum.h"

#define HL_ICMP4_QUOTE_MAX	(60 + 8)
#define HL_ICMP6_QUOTE		48

struct hl_l2 {
	__u8 dst[ETH_ALEN];
	__u8 src[ETH_ALEN];
	__be16 tpid;		/* 802.1Q or 802.1ad, when tagged */
	__be16 tci;
};

/* Remember the frame's L2 header, then cut it to l3_off + quote bytes. */
static __always_inline int icmp_trim(struct xdp_md *ctx,
				     const struct hl_pkt *pkt, __u32 quote,
				     struct hl_l2 *l2)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct hl_vlan_hdr *vh = data + ETH_HLEN;

	if ((void *)(vh + 1) > data_end)
		return -1;
	__builtin_memcpy(l2->dst, eth->h_source, ETH_ALEN);
	__builtin_memcpy(l2->src, eth->h_dest, ETH_ALEN);
	l2->tpid = eth->h_proto;
	l2->tci = vh->tci;
	return bpf_xdp_adjust_tail(ctx, (int)(pkt->l3_off + quote) -
				   (int)pkt->frame_len);
}

/* Write MACs (and the VLAN tag) for the reply; returns where L3 starts. */
static __always_inline void *icmp_write_l2(void *data, const struct hl_l2 *l2,
					   const struct hl_pkt *pkt,
					   __u16 proto)
{
	struct ethhdr *eth = data;
	struct hl_vlan_hdr *vh = data + ETH_HLEN;

	__builtin_memcpy(eth->h_dest, l2->dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, l2->src, ETH_ALEN);
	if (pkt->vlan) {
		eth->h_proto = l2->tpid;
		vh->tci = l2->tci;
		vh->proto = bpf_htons(proto);
		return vh + 1;
	}
	eth->h_proto = bpf_htons(proto);
	return eth + 1;
}

static __always_inline int icmp4_too_big(struct xdp_md *ctx,
					 const struct hl_pkt *pkt, __u32 mtu)
{
	struct {
		struct iphdr ip;
		struct icmphdr icmp;
	} hdr = {};
	__u32 quote = pkt->ihl + 8, words;
	struct hl_l2 l2;
	void *data, *data_end, *l3;
	__u32 *q;
	__u64 sum;

	if (quote > HL_ICMP4_QUOTE_MAX || icmp_trim(ctx, pkt, quote, &l2))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(hdr)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + 4 + sizeof(hdr) > data_end)
		return -1;

	hdr.ip.version = 4;
	hdr.ip.ihl = 5;
	hdr.ip.tot_len = bpf_htons(sizeof(hdr) + quote);
	hdr.ip.ttl = HL_OUTER_TTL;
	hdr.ip.protocol = IPPROTO_ICMP;
	hdr.ip.saddr = pkt->key.dst[0];
	hdr.ip.daddr = pkt->key.src[0];
	hdr.ip.check = csum_fold64(csum_words(&hdr.ip, 5));
	hdr.icmp.type = ICMP_DEST_UNREACH;
	hdr.icmp.code = ICMP_FRAG_NEEDED;
	hdr.icmp.un.frag.mtu = bpf_htons(mtu - HL_IPV4_HLEN);

	/* ICMP checksum: its header plus the quote, which sits right after
	 * the new headers; quote is a multiple of 4 (IHL words + 8). */
	l3 = data + (pkt->vlan ? ETH_HLEN + 4 : ETH_HLEN);
	q = l3 + sizeof(hdr);
	sum = csum_words(&hdr.icmp, 2);
	words = quote / 4;
	for (__u32 i = 0; i < HL_ICMP4_QUOTE_MAX / 4; i++) {
		__u32 *w = q + i;

		if (i >= words)
			break;
		/* keep clang from folding the bound into data_end + x,
		 * which the verifier refuses */
		barrier_var(w);
		if ((void *)(w + 1) > data_end)
			return -1;
		sum += *w;
	}
	hdr.icmp.checksum = csum_fold64(sum);

	l3 = icmp_write_l2(data, &l2, pkt, ETH_P_IP);
	if (l3 + sizeof(hdr) > data_end)
		return -1;
	__builtin_memcpy(l3, &hdr, sizeof(hdr));
	return 0;
}

static __always_inline int icmp6_too_big(struct xdp_md *ctx,
					 const struct hl_pkt *pkt, __u32 mtu)
{
	struct {
		__be32 ip6[HL_IPV6_HLEN / 4];
		struct icmp6hdr icmp;
	} hdr = {};
	__u32 plen = sizeof(hdr.icmp) + HL_ICMP6_QUOTE;
	struct hl_l2 l2;
	void *data, *data_end, *l3;
	__u32 *q;
	__u64 sum;

	if (icmp_trim(ctx, pkt, HL_ICMP6_QUOTE, &l2))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(hdr)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + 4 + sizeof(hdr) > data_end)
		return -1;

	mtu = mtu > IPV6_MIN_MTU + HL_IPV6_HLEN ? mtu - HL_IPV6_HLEN :
						  IPV6_MIN_MTU;
	hdr.ip6[0] = bpf_htonl(6u << 28);
	hdr.ip6[1] = bpf_htonl((plen << 16) | (HL_NEXTHDR_ICMPV6 << 8) |
			       HL_OUTER_TTL);
	__builtin_memcpy(&hdr.ip6[2], pkt->key.dst, 16);
	__builtin_memcpy(&hdr.ip6[6], pkt->key.src, 16);
	hdr.icmp.icmp6_type = ICMPV6_PKT_TOOBIG;
	hdr.icmp.icmp6_dataun.un_data32[0] = bpf_htonl(mtu);

	l3 = data + (pkt->vlan ? ETH_HLEN + 4 : ETH_HLEN);
	q = l3 + sizeof(hdr);
	if ((void *)(q + HL_ICMP6_QUOTE / 4) > data_end)
		return -1;
	/* pseudo header: addresses, upper-layer length, next header */
	sum = csum_words(&hdr.ip6[2], 8);
	sum += bpf_htonl(plen) + bpf_htonl(HL_NEXTHDR_ICMPV6);
	sum += csum_words(&hdr.icmp, 2);
	sum += csum_words(q, HL_ICMP6_QUOTE / 4);
	hdr.icmp.icmp6_cksum = csum_fold64(sum);

	l3 = icmp_write_l2(data, &l2, pkt, ETH_P_IPV6);
	if (l3 + sizeof(hdr) > data_end)
		return -1;
	__builtin_memcpy(l3, &hdr, sizeof(hdr));
	return 0;
}

#endif /* HELIOS_BPF_ICMP_H */
