/* SPDX-License-Identifier: GPL-2.0 */
/*
 * "Too big" answers. A packet that would not fit the path to the node once
 * encapsulated is answered, never silently dropped: the client learns the
 * MTU and resends smaller (TCP MSS/PMTU), which it could not do if the
 * encapsulated packet died later on the way. The answer is a reply from
 * the VIP (reply.h) that quotes the start of the packet:
 *   IPv4: ICMP 3/4 "fragmentation needed", next-hop MTU = mtu - 20, quoting
 *         the IP header with options + 8 bytes of L4 (RFC 792);
 *   IPv6: ICMPv6 2 "packet too big", MTU = max(mtu - 40, 1280), quoting the
 *         first 48 bytes (IPv6 header + 8).
 * IPv4 packets without DF get the same answer: XDP cannot fragment, and a
 * fragmenting hop after us would only move the loss out of sight.
 * The tail is cut after the quote and the head moves back by the new IP +
 * ICMP headers, so the quoted bytes never move.
 */
#ifndef HELIOS_BPF_ICMP_H
#define HELIOS_BPF_ICMP_H

#include "common.h"
#include "csum.h"
#include "reply.h"

#define HL_ICMP4_QUOTE_MAX	(60 + 8)
#define HL_ICMP6_QUOTE		48

/*
 * Answer `pkt` with a too-big for `mtu` (the path's, outer headers
 * included); 0 when the frame now holds the answer. One writer for both
 * families: their headers differ (built by family below), the trim, the
 * checksum over the quote and the tail are the same.
 */
static __always_inline int reply_too_big(struct xdp_md *ctx,
					 const struct hl_pkt *pkt, __u32 mtu)
{
	bool v6 = pkt->key.family == HL_AF_INET6;
	struct {
		struct iphdr ip;
		struct icmphdr icmp;
	} h4 = {};
	struct {
		__be32 ip6[HL_IPV6_HLEN / 4];
		struct icmp6hdr icmp;
	} h6 = {};
	__u32 quote = v6 ? HL_ICMP6_QUOTE : pkt->ihl + 8, words;
	__u32 hlen = v6 ? sizeof(h6) : sizeof(h4);
	void *data, *data_end, *icmp;
	struct hl_l2 l2;
	__u32 *q;
	__u64 sum;

	if (quote > HL_ICMP4_QUOTE_MAX || reply_trim(ctx, pkt, quote, &l2))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)hlen))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	if (v6) {
		/* ICMPv6 2/0; its checksum covers a pseudo header (RFC 4443):
		 * addresses, upper-layer length, next header */
		mtu = mtu > IPV6_MIN_MTU + HL_IPV6_HLEN ? mtu - HL_IPV6_HLEN :
							  IPV6_MIN_MTU;
		reply_ip6(h6.ip6, pkt, HL_NEXTHDR_ICMPV6,
			  sizeof(h6.icmp) + HL_ICMP6_QUOTE);
		h6.icmp.icmp6_type = ICMPV6_PKT_TOOBIG;
		h6.icmp.icmp6_dataun.un_data32[0] = bpf_htonl(mtu);
		sum = csum_words(&h6.ip6[2], 8);
		sum += bpf_htonl(sizeof(h6.icmp) + HL_ICMP6_QUOTE);
		sum += bpf_htonl(HL_NEXTHDR_ICMPV6);
		icmp = &h6.icmp;
	} else {
		/* ICMP 3/4; its checksum covers the message alone */
		reply_ip4(&h4.ip, pkt, IPPROTO_ICMP, sizeof(h4) + quote);
		h4.icmp.type = ICMP_DEST_UNREACH;
		h4.icmp.code = ICMP_FRAG_NEEDED;
		h4.icmp.un.frag.mtu = bpf_htons(mtu - HL_IPV4_HLEN);
		sum = 0;
		icmp = &h4.icmp;
	}

	/* Then the ICMP header and the quote, which sits right after the new
	 * headers; quote is a multiple of 4 (IHL words + 8, or 48). */
	sum += csum_words(icmp, 2);
	q = data + (pkt->vlan ? ETH_HLEN + 4 : ETH_HLEN) + hlen;
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

	if (v6) {
		h6.icmp.icmp6_cksum = csum_fold64(sum);
		return reply_write(ctx, pkt, &l2, ETH_P_IPV6, &h6, sizeof(h6));
	}
	h4.icmp.checksum = csum_fold64(sum);
	return reply_write(ctx, pkt, &l2, ETH_P_IP, &h4, sizeof(h4));
}

/*
 * A packet forwarded as it is, without an outer header (fwd l2, fwd nat),
 * larger than the egress `mtu`: answered with a too-big (*action XDP_TX).
 * HL_CONTINUE when it fits. reply_too_big() takes the MTU with the outer
 * header it assumes, so that header is added back here.
 */
static __always_inline int too_big_bare(struct xdp_md *ctx,
					const struct hl_pkt *pkt, __u32 mtu,
					int *action)
{
	if (likely(!mtu || pkt->ip_len <= mtu))
		return HL_CONTINUE;
	if (reply_too_big(ctx, pkt, mtu + (pkt->key.family == HL_AF_INET6 ?
					   HL_IPV6_HLEN : HL_IPV4_HLEN)))
		return HL_REASON_DROP_REPLY;
	*action = XDP_TX;
	return HL_REASON_TOO_BIG;
}

#endif /* HELIOS_BPF_ICMP_H */
