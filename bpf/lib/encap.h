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

static __always_inline void write_eth(struct ethhdr *eth,
				      const struct hl_nexthop *nh,
				      __u16 proto)
{
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	eth->h_proto = bpf_htons(proto);
}

/*
 * Outer IPv4: TTL 64, TOS and DF copied from the inner header so that PMTU
 * discovery and QoS behave as without us; id 0 (DF packets need none).
 */
static __always_inline int encap_ipv4(struct xdp_md *ctx,
				      const struct hl_pkt *pkt,
				      const struct hl_node *node,
				      const struct hl_nexthop *nh)
{
	struct iphdr outer = {};
	struct ethhdr *eth;
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, (int)pkt->l3_off -
				(ETH_HLEN + HL_IPV4_HLEN)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + HL_IPV4_HLEN > data_end)
		return -1;

	outer.version = 4;
	outer.ihl = HL_IPV4_HLEN / 4;
	outer.tos = pkt->tos;
	outer.tot_len = bpf_htons(pkt->ip_len + HL_IPV4_HLEN);
	outer.frag_off = pkt->df ? bpf_htons(IP_DF) : 0;
	outer.ttl = HL_OUTER_TTL;
	outer.protocol = IPPROTO_IPIP;
	outer.saddr = nh->src[0];
	outer.daddr = node->addr[0];
	if (!hl_skip(HL_AB_CSUM))
		outer.check = csum_fold64(csum_words(&outer, HL_IPV4_HLEN / 4));

	eth = data;
	write_eth(eth, nh, ETH_P_IP);
	__builtin_memcpy(data + ETH_HLEN, &outer, HL_IPV4_HLEN);
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
	__be32 outer[HL_IPV6_HLEN / 4];
	struct ethhdr *eth;
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, (int)pkt->l3_off -
				(ETH_HLEN + HL_IPV6_HLEN)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + HL_IPV6_HLEN > data_end)
		return -1;

	/* version 6 | traffic class | flow label */
	outer[0] = bpf_htonl((6u << 28) | ((__u32)pkt->tos << 20) |
			     (hash & 0xfffff));
	/* payload length | next header 41 | hop limit */
	outer[1] = bpf_htonl(((__u32)pkt->ip_len << 16) |
			     (IPPROTO_IPV6 << 8) | HL_OUTER_TTL);
	__builtin_memcpy(&outer[2], nh->src, 16);
	__builtin_memcpy(&outer[6], node->addr, 16);

	eth = data;
	write_eth(eth, nh, ETH_P_IPV6);
	__builtin_memcpy(data + ETH_HLEN, outer, HL_IPV6_HLEN);
	return 0;
}

#endif /* HELIOS_BPF_ENCAP_H */
