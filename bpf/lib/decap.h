/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backend side of the tunnel, at TC ingress: strip the outer header of an
 * IPIP (4-in-4) or IPv6-in-IPv6 packet whose inner destination is one of our
 * VIPs, so the inner packet reaches the socket bound to the VIP on lo. This
 * replaces the ipip/ip6_tunnel modules, which the lab kernel lacks, and
 * decapsulates nothing it was not told to (a transit tunnel stays intact).
 */
#ifndef HELIOS_BPF_DECAP_H
#define HELIOS_BPF_DECAP_H

#include "maps.h"

#ifndef HL_MAPS_DECAP
#error "decap.h is the TC decap program's: define HL_MAPS_DECAP (see maps.h)"
#endif

/* Bytes we need in the linear area: Ethernet + outer + inner header. */
#define HL_DECAP_PULL		(ETH_HLEN + HL_IPV6_HLEN + HL_IPV6_HLEN)

/* Strip `len` outer bytes if the inner destination is one of our VIPs. */
static __always_inline void decap_to_vip(struct __sk_buff *skb,
					 struct hl_vip_key *key, int len,
					 __u64 flags)
{
	__u64 *cnt = bpf_map_lookup_elem(&decap_vips, key);

	if (cnt && !bpf_skb_adjust_room(skb, -len, BPF_ADJ_ROOM_MAC, flags))
		__sync_fetch_and_add(cnt, 1);
}

static __always_inline int hl_decap(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct hl_vip_key key = {};
	struct ethhdr *eth = data;
	struct ipv6hdr *o6, *i6;
	struct iphdr *o4, *i4;
	__u32 need;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		need = ETH_HLEN + 2 * HL_IPV4_HLEN;
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		need = ETH_HLEN + 2 * HL_IPV6_HLEN;
	else
		return TC_ACT_OK;

	/* Headers may sit in paged data on a real device. */
	if (data + need > data_end) {
		if (skb->len < need || bpf_skb_pull_data(skb, need))
			return TC_ACT_OK;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		eth = data;
		if ((void *)(eth + 1) > data_end)
			return TC_ACT_OK;
	}

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		o4 = (void *)(eth + 1);
		i4 = (void *)(o4 + 1);
		if ((void *)(i4 + 1) > data_end)
			return TC_ACT_OK;
		/* adjust_room(-20) removes exactly 20 bytes: no outer options;
		 * an outer fragment is not ours to reassemble. */
		if (o4->version != 4 || o4->ihl != 5 ||
		    o4->protocol != IPPROTO_IPIP ||
		    (o4->frag_off & bpf_htons(IP_MF | IP_OFFSET)) ||
		    i4->version != 4)
			return TC_ACT_OK;
		key.addr[0] = i4->daddr;
		key.family = HL_AF_INET;
		decap_to_vip(skb, &key, HL_IPV4_HLEN,
			     BPF_F_ADJ_ROOM_DECAP_L3_IPV4);
		return TC_ACT_OK;
	}

	o6 = (void *)(eth + 1);
	i6 = (void *)(o6 + 1);
	if ((void *)(i6 + 1) > data_end)
		return TC_ACT_OK;
	if (o6->version != 6 || o6->nexthdr != IPPROTO_IPV6 ||
	    i6->version != 6)
		return TC_ACT_OK;
	__builtin_memcpy(key.addr, &i6->daddr, 16);
	key.family = HL_AF_INET6;
	decap_to_vip(skb, &key, HL_IPV6_HLEN, BPF_F_ADJ_ROOM_DECAP_L3_IPV6);
	return TC_ACT_OK;
}

#endif /* HELIOS_BPF_DECAP_H */
