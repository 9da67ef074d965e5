/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Turning the packet into the director's own reply to its sender: the ICMP
 * too-big answer (icmp.h) and the on-down TCP RST (reset.h). A reply comes
 * from the VIP to the client and goes back out the ingress device (XDP_TX)
 * with the MACs swapped and the VLAN tag kept. The frame is rewritten in
 * place: cut after the bytes the reply keeps (reply_trim()), then the new
 * L2 and IP headers are written in front of those (reply_write()).
 */
#ifndef HELIOS_BPF_REPLY_H
#define HELIOS_BPF_REPLY_H

#include "common.h"
#include "csum.h"

struct hl_l2 {
	__u8 dst[ETH_ALEN];
	__u8 src[ETH_ALEN];
	__be16 tpid;		/* 802.1Q or 802.1ad, when tagged */
	__be16 tci;
};

/* Remember the frame's L2 header, then cut it to l3_off + keep bytes. */
static __always_inline int reply_trim(struct xdp_md *ctx,
				      const struct hl_pkt *pkt, __u32 keep,
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
	return bpf_xdp_adjust_tail(ctx, (int)(pkt->l3_off + keep) -
				   (int)pkt->frame_len);
}

/* Write MACs (and the VLAN tag) for the reply; returns where L3 starts. */
static __always_inline void *reply_write_l2(void *data, const struct hl_l2 *l2,
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

/* The IPv4 header of a reply, into a zeroed `ip`: no options, id 0. */
static __always_inline void reply_ip4(struct iphdr *ip,
				      const struct hl_pkt *pkt, __u8 proto,
				      __u16 tot_len)
{
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = bpf_htons(tot_len);
	ip->ttl = HL_OUTER_TTL;
	ip->protocol = proto;
	ip->saddr = pkt->key.dst[0];
	ip->daddr = pkt->key.src[0];
	ip->check = csum_fold64(csum_words(ip, 5));
}

/* The IPv6 header of a reply, no extension headers. Written by words, as
 * encap.h does: filled through struct ipv6hdr's bitfields instead, clang
 * 14's code took the program past the verifier's budget of 1M processed
 * instructions (about 587k as written). */
static __always_inline void reply_ip6(__be32 ip6[HL_IPV6_HLEN / 4],
				      const struct hl_pkt *pkt, __u8 nexthdr,
				      __u16 payload_len)
{
	/* version 6 | traffic class 0 | flow label 0 */
	ip6[0] = bpf_htonl(6u << 28);
	/* payload length | next header | hop limit */
	ip6[1] = bpf_htonl((__u32)payload_len << 16 | (__u32)nexthdr << 8 |
			   HL_OUTER_TTL);
	__builtin_memcpy(&ip6[2], pkt->key.dst, 16);
	__builtin_memcpy(&ip6[6], pkt->key.src, 16);
}

/*
 * The tail every reply shares: the L2 header, then `len` bytes of IP and
 * L4 headers from `hdr`, in front of what reply_trim() kept. `len` must be
 * a constant at each (inlined) call: the copy is unrolled.
 */
static __always_inline int reply_write(struct xdp_md *ctx,
				       const struct hl_pkt *pkt,
				       const struct hl_l2 *l2, __u16 proto,
				       const void *hdr, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *l3;

	if (data + ETH_HLEN + 4 > data_end)
		return -1;
	l3 = reply_write_l2(data, l2, pkt, proto);
	if (l3 + len > data_end)
		return -1;
	__builtin_memcpy(l3, hdr, len);
	return 0;
}

#endif /* HELIOS_BPF_REPLY_H */
