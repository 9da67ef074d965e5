/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ICMP errors about NAT flows, both ways. An error quotes the packet it
 * is about; when that packet is one of a NAT flow's, as its sender sent
 * it, the error is translated like the flow and sent on:
 *
 *   from the node side: quoted SNAT:sport -> node:nport (our forwarded
 *     packet), outer to the SNAT address. Becomes an error from the VIP
 *     to the client quoting client:cport -> VIP:vport; out to the client.
 *   from the client side: quoted VIP:vport -> client:cport (our reply),
 *     outer to the VIP. Becomes an error from the SNAT address to the
 *     node quoting node:nport -> SNAT:sport; out to the node.
 *
 * Both are one rule: the quoted packet reversed is the key of an entry E;
 * outer src:dst := E.from:E.addr, quoted src := E.addr:E.port, quoted
 * dst := E.from:E.from_port. The outer source is rewritten even when a
 * router (not the end host) sent the error: the other side must not see
 * addresses of the inside, and would often drop them (rp_filter).
 *
 * Types: IPv4 destination unreachable (fragmentation needed included) and
 * time exceeded; IPv6 destination unreachable, packet too big and time
 * exceeded. The MTU of a too-big is passed on as it is: NAT adds no
 * header. Checksums, all incremental: the outer IPv4 header; the quoted
 * IPv4 header; the quoted UDP checksum, and the quoted TCP one when the
 * error quotes that far; the ICMP checksum over all of those changes,
 * and for ICMPv6 its pseudo-header's addresses.
 * Not translated (passed to the stack as before): quoted IPv6 packets
 * with extension headers, quoted fragments other than the first.
 */
#ifndef HELIOS_BPF_NAT_ICMP_H
#define HELIOS_BPF_NAT_ICMP_H

#include "nat.h"

#define ICMP_TIME_EXCEEDED	11
#define ICMPV6_DEST_UNREACH	1
#define ICMPV6_TIME_EXCEED	3

static __always_inline bool nat_in_use(void)
{
	struct hl_nat_dsts *d;
	__u32 zero = 0;

	d = bpf_map_lookup_elem(&nat_dsts, &zero);
	return d && (d->n4 | d->n6);
}

static __always_inline bool nat_icmp_error(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED;
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED;
}

/*
 * A packet hl_parse() passed as no TCP/UDP: HL_CONTINUE (pass it as
 * parsed) unless it is an ICMP error about a NAT flow, which is
 * translated: forwarded-nat-icmp, or a drop's reason.
 */
static __always_inline int stage_nat_icmp(struct xdp_md *ctx,
					  const struct hl_pkt *pkt,
					  struct hl_target *t)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	bool v6 = pkt->key.family == HL_AF_INET6;
	__u32 off = pkt->l4_off, l3, qhl, node_id;
	__be32 *osrc, *odst, *qsrc, *qdst;
	struct hl_flow_key k = {};
	struct hl_nexthop *nh;
	struct hl_node *node;
	struct hl_nat_nh *c;
	struct icmphdr *icmp;
	struct tcphdr *qth;
	struct hl_nat *e;
	__u16 *qcheck = NULL, old16, new16;
	__u64 qsum = 0, osum = 0, isum = 0, sum;
	int rc;

	if ((pkt->key.proto != IPPROTO_ICMP &&
	     pkt->key.proto != HL_NEXTHDR_ICMPV6) || !nat_in_use())
		return HL_CONTINUE;
	if (off > NAT_L4_OFF_MAX || pkt->l3_off > ETH_HLEN + 4)
		return HL_CONTINUE;
	l3 = nat_off(pkt->l3_off, 31);
	icmp = data + nat_off(off, NAT_L4_OFF_MAX);
	if ((void *)(icmp + 1) > data_end ||
	    !nat_icmp_error(pkt->key.proto, icmp->type))
		return HL_CONTINUE;

	/* the quoted packet: addresses, then the first 8 bytes of L4 */
	if (v6) {
		struct ipv6hdr *q6 = (void *)(icmp + 1);

		if ((void *)(q6 + 1) > data_end || q6->version != 6)
			return HL_CONTINUE;
		k.proto = q6->nexthdr;
		qsrc = (__be32 *)&q6->saddr;
		qdst = (__be32 *)&q6->daddr;
		qhl = sizeof(*q6);
		k.family = HL_AF_INET6;
	} else {
		struct iphdr *q4 = (void *)(icmp + 1);

		if ((void *)(q4 + 1) > data_end || q4->version != 4 ||
		    q4->ihl < 5 || (q4->frag_off & bpf_htons(IP_OFFSET)))
			return HL_CONTINUE;
		k.proto = q4->protocol;
		qsrc = &q4->saddr;
		qdst = &q4->daddr;
		qhl = q4->ihl * 4;
		k.family = HL_AF_INET;
	}
	if (k.proto != IPPROTO_TCP && k.proto != IPPROTO_UDP)
		return HL_CONTINUE;
	qth = (void *)(icmp + 1) + qhl;
	if ((void *)qth + 8 > data_end)
		return HL_CONTINUE;
	/* the quoted packet reversed: the key of its flow's entry */
	if (v6) {
		__builtin_memcpy(k.src, qdst, 16);
		__builtin_memcpy(k.dst, qsrc, 16);
	} else {
		k.src[0] = qdst[0];
		k.dst[0] = qsrc[0];
	}
	k.sport = qth->dest;
	k.dport = qth->source;
	/* an error goes back to the quoted packet's sender */
	if (!addr_eq(k.dst, pkt->key.dst))
		return HL_CONTINUE;
	e = bpf_map_lookup_elem(&nat, &k);
	if (!e)
		return HL_CONTINUE;

	/* quoted packet: addresses (and its IPv4 header checksum), ports,
	 * its L4 checksum if quoted; qsum gathers every change the ICMP
	 * checksum must follow */
	if (v6) {
#pragma unroll
		for (int i = 0; i < 4; i++) {
			qsum = csum_upd32(qsum, qsrc[i], e->addr[i]);
			qsum = csum_upd32(qsum, qdst[i], e->from[i]);
			qsrc[i] = e->addr[i];
			qdst[i] = e->from[i];
		}
	} else {
		struct iphdr *q4 = (void *)(icmp + 1);

		if ((void *)(q4 + 1) > data_end)
			return HL_CONTINUE;
		qsum = csum_upd32(qsum, q4->saddr, e->addr[0]);
		qsum = csum_upd32(qsum, q4->daddr, e->from[0]);
		q4->saddr = e->addr[0];
		q4->daddr = e->from[0];
		old16 = q4->check;
		new16 = csum_fold64((__u16)~old16 + qsum);
		q4->check = new16;
		isum = csum_upd16(0, old16, new16);
	}
	/* the ports, then the L4 checksum: it covers the pseudo-header
	 * (qsum so far, addresses only) and the ports */
	sum = csum_upd16(0, qth->source, e->port);
	sum = csum_upd16(sum, qth->dest, e->from_port);
	qth->source = e->port;
	qth->dest = e->from_port;
	if (k.proto == IPPROTO_UDP)
		qcheck = &((struct udphdr *)qth)->check;
	else if ((void *)(qth + 1) <= data_end)
		qcheck = &qth->check;
	isum += sum;
	if (qcheck && (k.proto == IPPROTO_TCP || *qcheck)) {
		old16 = *qcheck;
		new16 = csum_fold64((__u16)~old16 + qsum + sum);
		if (k.proto == IPPROTO_UDP && !new16)
			new16 = 0xffff;
		*qcheck = new16;
		isum = csum_upd16(isum, old16, new16);
	}
	qsum += isum;

	/* outer header: from E.from to E.addr */
	if (v6) {
		struct ipv6hdr *ip6 = data + l3;

		if ((void *)(ip6 + 1) > data_end)
			return HL_REASON_DROP_NAT_MALFORMED;
		osrc = (__be32 *)&ip6->saddr;
		odst = (__be32 *)&ip6->daddr;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			osum = csum_upd32(osum, osrc[i], e->from[i]);
			osum = csum_upd32(osum, odst[i], e->addr[i]);
			osrc[i] = e->from[i];
			odst[i] = e->addr[i];
		}
		/* ICMPv6's checksum covers its pseudo-header */
		qsum += osum;
	} else {
		struct iphdr *ip = data + l3;

		if ((void *)(ip + 1) > data_end)
			return HL_REASON_DROP_NAT_MALFORMED;
		osum = csum_upd32(osum, ip->saddr, e->from[0]);
		osum = csum_upd32(osum, ip->daddr, e->addr[0]);
		ip->saddr = e->from[0];
		ip->daddr = e->addr[0];
		ip->check = csum_fold64((__u16)~ip->check + osum);
	}
	icmp->checksum = csum_fold64((__u16)~icmp->checksum + qsum);

	/* out: a node's error to the client, a client's to the node */
	t->action = XDP_DROP;
	if (e->dir == HL_NAT_REPLY) {
		c = nat_client_nh(ctx, e->addr, e->from, k.family,
				  bpf_ktime_get_coarse_ns(), &rc);
		if (!c) {
			if (rc != BPF_FIB_LKUP_RET_NO_NEIGH)
				return HL_REASON_DROP_NO_ROUTE;
			t->action = XDP_PASS;
			return HL_REASON_FWD_NAT_ICMP;
		}
		if (nat_xmit(ctx, pkt, c->dmac, c->ifindex, &t->action))
			return HL_REASON_DROP_ENCAP;
		return HL_REASON_FWD_NAT_ICMP;
	}
	node_id = e->node_id;
	node = bpf_map_lookup_elem(&nodes, &node_id);
	nh = bpf_map_lookup_elem(&nexthops, &node_id);
	if (!node || !nh || !nh_resolve(ctx, nh, node, false))
		return HL_REASON_DROP_NO_ROUTE;
	if (nat_xmit(ctx, pkt, nh->dmac, nh->ifindex, &t->action))
		return HL_REASON_DROP_ENCAP;
	return HL_REASON_FWD_NAT_ICMP;
}

#endif /* HELIOS_BPF_NAT_ICMP_H */
