/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IPv4-in-IPv4 and IPv6-in-IPv6 encapsulation towards a node. The head
 * moves back by the outer header, minus a VLAN tag that the input carried:
 * the output is plain Ethernet on the egress device, and the inner IP
 * packet stays where it is in memory.
 */
#ifndef HELIOS_BPF_ENCAP_H
#define HELIOS_BPF_ENCAP_H

#include "common.h"
#include "csum.h"

static __always_inline void write_eth(void *data, const struct hl_nexthop *nh,
				      __u16 proto)
{
	eth_write_macs(data, nh->dmac);
	((struct ethhdr *)data)->h_proto = bpf_htons(proto);
}

/*
 * Outer IPv4: TTL 64, TOS and DF copied from the inner header so that PMTU
 * discovery and QoS behave as without us; id 0 (DF packets need none).
 * Written as words from registers, the checksum summed from them: a header
 * built on the stack and copied would be stored bytewise (common.h) and
 * read back for the sum.
 */
static __always_inline int encap_ipv4(struct xdp_md *ctx,
				      const struct hl_pkt *pkt,
				      const struct hl_node *node,
				      const struct hl_nexthop *nh)
{
	__u32 w0, w1, w2, *ip;
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, (int)pkt->l3_off -
				(ETH_HLEN + HL_IPV4_HLEN)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + HL_IPV4_HLEN > data_end)
		return -1;

	/* version 4, ihl 5 | tos | total length */
	w0 = bpf_htonl(0x45u << 24 | (__u32)pkt->tos << 16 |
		       (pkt->ip_len + HL_IPV4_HLEN));
	w1 = pkt->df ? bpf_htonl(IP_DF) : 0;	/* id 0 | flags, offset */
	/* ttl | protocol | checksum 0 (filled below) */
	w2 = bpf_htonl(HL_OUTER_TTL << 24 | IPPROTO_IPIP << 16);

	write_eth(data, nh, ETH_P_IP);
	ip = data + ETH_HLEN;
	ip[0] = w0;
	ip[1] = w1;
	ip[2] = w2;
	ip[3] = nh->src[0];
	ip[4] = node->addr[0];
	if (!hl_skip(HL_AB_CSUM))
		((struct iphdr *)ip)->check =
			csum_fold64((__u64)w0 + w1 + w2 + nh->src[0] +
				    node->addr[0]);
	return 0;
}

/*
 * Outer IPv6: hop limit 64, traffic class copied, and the flow label taken
 * from the flow hash so that ECMP between us and the node spreads flows
 * (every outer packet has the same addresses).
 */
static __always_inline int encap_ipv6(struct xdp_md *ctx,
				      const struct hl_pkt *pkt,
				      const struct hl_node *node,
				      const struct hl_nexthop *nh,
				      __u32 hash)
{
	void *data, *data_end;
	__u32 *ip;

	if (bpf_xdp_adjust_head(ctx, (int)pkt->l3_off -
				(ETH_HLEN + HL_IPV6_HLEN)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + HL_IPV6_HLEN > data_end)
		return -1;

	write_eth(data, nh, ETH_P_IPV6);
	ip = data + ETH_HLEN;
	/* version 6 | traffic class | flow label */
	ip[0] = bpf_htonl((6u << 28) | ((__u32)pkt->tos << 20) |
			  (hash & 0xfffff));
	/* payload length | next header 41 | hop limit */
	ip[1] = bpf_htonl(((__u32)pkt->ip_len << 16) |
			  (IPPROTO_IPV6 << 8) | HL_OUTER_TTL);
#pragma unroll
	for (int i = 0; i < 4; i++) {
		ip[2 + i] = nh->src[i];
		ip[6 + i] = node->addr[i];
	}
	return 0;
}

#endif /* HELIOS_BPF_ENCAP_H */
