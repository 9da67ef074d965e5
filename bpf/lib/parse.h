/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bounds-checked cursor parsers (after xdp-tools' parsing_helpers.h): each
 * checks against data_end, advances the cursor and returns the next
 * protocol, or a negated enum hl_reason when the packet ends here.
 *
 * Policy for packets that are not plain TCP/UDP over IPv4/IPv6. No packet in
 * any of these classes is ever forwarded to a backend, and each verdict
 * bumps its `reasons` counter:
 *
 *  class                                      verdict  reason
 *  -----------------------------------------  -------  ---------------------
 *  frame shorter than Ethernet, or than its   DROP     dropped-malformed-eth
 *    VLAN tag
 *  ethertype not IPv4/IPv6 after at most one  PASS     passed-not-ip
 *    802.1Q/802.1ad tag (ARP, LLDP, QinQ...)
 *  IPv4 header truncated, version != 4,       DROP     dropped-malformed-ip
 *    IHL < 5, options beyond the frame
 *  IPv6 header truncated, version != 6,       DROP     dropped-malformed-ip
 *    extension header beyond the frame
 *  IPv4 tot_len < IHL*4 or beyond the frame;  DROP     dropped-bad-length
 *    IPv6 40 + payload_len beyond the frame
 *  IPv4 MF or fragment offset set; IPv6       PASS     passed-fragment
 *    fragment header in the chain
 *  IPv6: more than HL_IPV6_EXT_MAX (6)        DROP     dropped-ipv6-exthdr-chain
 *    extension headers (hop-by-hop, routing,
 *    destination options, AH, fragment)
 *  L4 not TCP/UDP (ICMP, ESP, SCTP...)        PASS     passed-not-service
 *  TCP header < 20 bytes or doff < 5; TCP     DROP     dropped-malformed-l4
 *    options or UDP header beyond the frame
 *    or beyond the IP length
 *  well-formed, no service for (VIP, port,    PASS     passed-not-service
 *    protocol): byte for byte untouched
 *
 * Why: the drops are packets the kernel's own receive path would drop as
 * well (ip_rcv_core, ipv6_rcv, tcp_v4_rcv, udp_rcv), so dropping them early,
 * service or not, changes nothing for the host but saves work; the one
 * exception is an IPv6 chain longer than the bound, which we cannot see
 * through and will not guess at. Fragments are passed: only the first
 * carries ports, so no fragment could be sent to the right node; the kernel
 * treats them as it would without us (they are not load-balanced: a
 * documented limit, DF is the norm for TCP). Ethernet padding after the IP length is allowed and ignored. The
 * IPv4 header checksum is not verified here: the backend's kernel checks the
 * inner header it receives, and verifying costs every packet.
 */
#ifndef HELIOS_BPF_PARSE_H
#define HELIOS_BPF_PARSE_H

#include "common.h"

struct hdr_cursor {
	void *pos;
};

/* Ethernet and at most one 802.1Q/802.1ad tag. */
static __always_inline int parse_ethhdr(struct hdr_cursor *c, void *data_end,
					struct hl_pkt *pkt)
{
	struct ethhdr *eth = c->pos;
	struct hl_vlan_hdr *vh;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return -HL_REASON_DROP_MALFORMED_ETH;
	c->pos = eth + 1;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		vh = c->pos;
		if ((void *)(vh + 1) > data_end)
			return -HL_REASON_DROP_MALFORMED_ETH;
		c->pos = vh + 1;
		pkt->vlan = 1;
		proto = vh->proto;
	}
	return proto;
}

static __always_inline int parse_ipv4(struct hdr_cursor *c, void *data_end,
				      struct hl_pkt *pkt)
{
	struct iphdr *iph = c->pos;
	__u32 hlen, tot_len, avail;

	if ((void *)(iph + 1) > data_end)
		return -HL_REASON_DROP_MALFORMED_IP;
	if (iph->version != 4 || iph->ihl < 5)
		return -HL_REASON_DROP_MALFORMED_IP;
	hlen = iph->ihl * 4;
	avail = data_end - c->pos;
	if (hlen > avail)
		return -HL_REASON_DROP_MALFORMED_IP;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < hlen || tot_len > avail)
		return -HL_REASON_DROP_BAD_LENGTH;
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return -HL_REASON_PASS_FRAGMENT;

	pkt->key.src[0] = iph->saddr;
	pkt->key.dst[0] = iph->daddr;
	pkt->key.family = HL_AF_INET;
	pkt->ip_len = tot_len;
	pkt->ihl = hlen;
	pkt->tos = iph->tos;
	pkt->df = !!(iph->frag_off & bpf_htons(IP_DF));
	c->pos += hlen;
	return iph->protocol;
}

static __always_inline int parse_ipv6(struct hdr_cursor *c, void *data_end,
				      struct hl_pkt *pkt)
{
	struct ipv6hdr *ip6h = c->pos;
	struct ipv6_opt_hdr *opt;
	__u32 plen, len, avail;
	__u8 nexthdr;

	if ((void *)(ip6h + 1) > data_end)
		return -HL_REASON_DROP_MALFORMED_IP;
	if (ip6h->version != 6)
		return -HL_REASON_DROP_MALFORMED_IP;
	plen = bpf_ntohs(ip6h->payload_len);
	if (sizeof(*ip6h) + plen > (__u32)(data_end - c->pos))
		return -HL_REASON_DROP_BAD_LENGTH;

	__builtin_memcpy(pkt->key.src, &ip6h->saddr, 16);
	__builtin_memcpy(pkt->key.dst, &ip6h->daddr, 16);
	pkt->key.family = HL_AF_INET6;
	pkt->ip_len = sizeof(*ip6h) + plen;
	pkt->tos = (ip6h->priority << 4) | (ip6h->flow_lbl[0] >> 4);
	nexthdr = ip6h->nexthdr;
	c->pos = ip6h + 1;

#pragma unroll
	for (int i = 0; i < HL_IPV6_EXT_MAX; i++) {
		switch (nexthdr) {
		case HL_NEXTHDR_HOP:
		case HL_NEXTHDR_ROUTING:
		case HL_NEXTHDR_DEST:
		case HL_NEXTHDR_AUTH:
			break;
		case HL_NEXTHDR_FRAGMENT:
			return -HL_REASON_PASS_FRAGMENT;
		default:
			return nexthdr;
		}
		opt = c->pos;
		if ((void *)(opt + 1) > data_end)
			return -HL_REASON_DROP_MALFORMED_IP;
		if (nexthdr == HL_NEXTHDR_AUTH)
			len = (opt->hdrlen + 2) * 4;
		else
			len = (opt->hdrlen + 1) * 8;
		avail = data_end - c->pos;
		if (len > avail)
			return -HL_REASON_DROP_MALFORMED_IP;
		nexthdr = opt->nexthdr;
		c->pos += len;
	}

	switch (nexthdr) {
	case HL_NEXTHDR_HOP:
	case HL_NEXTHDR_ROUTING:
	case HL_NEXTHDR_DEST:
	case HL_NEXTHDR_AUTH:
	case HL_NEXTHDR_FRAGMENT:
		return -HL_REASON_DROP_EXTHDR_CHAIN;
	}
	return nexthdr;
}

/* TCP/UDP ports. `ip_end` is the offset where the IP length says the packet
 * ends; an L4 header beyond it is as malformed as one beyond the frame. */
static __always_inline int parse_l4(struct hdr_cursor *c, void *data,
				    void *data_end, struct hl_pkt *pkt,
				    int proto)
{
	__u32 off = c->pos - data, ip_end = pkt->l3_off + pkt->ip_len;
	struct tcphdr *th;
	struct udphdr *uh;
	__u32 hlen;

	if (proto == IPPROTO_TCP) {
		th = c->pos;
		if ((void *)(th + 1) > data_end)
			return -HL_REASON_DROP_MALFORMED_L4;
		hlen = th->doff * 4;
		if (hlen < sizeof(*th) || hlen > (__u32)(data_end - c->pos) ||
		    off + hlen > ip_end)
			return -HL_REASON_DROP_MALFORMED_L4;
		pkt->key.sport = th->source;
		pkt->key.dport = th->dest;
		pkt->tcp_flags = ((__u8 *)th)[13];
		pkt->tcp_ack = th->ack_seq;
		pkt->tcp_payload = ip_end - off - hlen;
	} else {
		uh = c->pos;
		if ((void *)(uh + 1) > data_end ||
		    off + sizeof(*uh) > ip_end)
			return -HL_REASON_DROP_MALFORMED_L4;
		pkt->key.sport = uh->source;
		pkt->key.dport = uh->dest;
	}
	pkt->key.proto = proto;
	return proto;
}

/*
 * Fill `pkt` from the frame. Returns HL_CONTINUE for a TCP/UDP packet that
 * may belong to a service, else the reason of the verdict to give it.
 */
static __always_inline int hl_parse(void *data, void *data_end,
				    struct hl_pkt *pkt)
{
	struct hdr_cursor c = { .pos = data };
	int proto;

	pkt->frame_len = data_end - data;
	proto = parse_ethhdr(&c, data_end, pkt);
	if (proto < 0)
		return -proto;
	pkt->l3_off = c.pos - data;
	if (proto == bpf_htons(ETH_P_IP))
		proto = parse_ipv4(&c, data_end, pkt);
	else if (proto == bpf_htons(ETH_P_IPV6))
		proto = parse_ipv6(&c, data_end, pkt);
	else
		return HL_REASON_PASS_NOT_IP;
	if (proto < 0)
		return -proto;
	/* kept for every L4 protocol: the NAT stages read ICMP errors */
	pkt->l4_off = c.pos - data;
	pkt->key.proto = proto;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return HL_REASON_PASS_NOT_SERVICE;
	proto = parse_l4(&c, data, data_end, pkt, proto);
	if (proto < 0)
		return -proto;
	return HL_CONTINUE;
}

/* Which action a reason from hl_parse() stands for. */
static __always_inline int hl_parse_action(int reason)
{
	switch (reason) {
	case HL_REASON_PASS_NOT_IP:
	case HL_REASON_PASS_NOT_SERVICE:
	case HL_REASON_PASS_FRAGMENT:
		return XDP_PASS;
	default:
		return XDP_DROP;
	}
}

#endif /* HELIOS_BPF_PARSE_H */
