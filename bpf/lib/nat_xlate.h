/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NAT translation of a packet in place: new addresses and ports with the
 * checksums updated incrementally (RFC 1624), a new Ethernet header, out.
 *
 * Checksums are never computed from scratch: an incremental update keeps
 * whatever the sender's checksum was, so a packet that arrived corrupt
 * still fails at the receiver (we do not verify, and must not launder).
 * IPv4: header checksum and the TCP/UDP pseudo-header; IPv6: the
 * pseudo-header only. A UDP checksum of 0 ("none", IPv4; invalid on IPv6)
 * is left 0; an updated UDP checksum that comes to 0 is sent as 0xffff
 * (RFC 768). Sums are of raw 16/32-bit words, so byte order cancels out.
 *
 * One limit: a packet whose checksum the sender left to the hardware
 * (CHECKSUM_PARTIAL, e.g. from a veth, LAB.md) carries only the
 * pseudo-header sum in its checksum field; XDP cannot tell, and the
 * update leaves it wrong. Senders into a NAT director must complete their
 * checksums (`ethtool -K DEV tx off` on such a veth).
 */
#ifndef HELIOS_BPF_NAT_XLATE_H
#define HELIOS_BPF_NAT_XLATE_H

#include "common.h"
#include "csum.h"
#include "nexthop.h"

/* L4 offsets beyond this are not rewritten (XDP frames are one page). */
#define NAT_L4_OFF_MAX		4095

/* An offset the caller has checked against `max` (a power of two minus
 * one), masked again where clang cannot drop it: clang tests a copy and
 * adds the unchecked register to the packet pointer, which the verifier
 * then refuses. */
#define nat_off(off, max)	({ __u32 __o = (off); barrier_var(__o); __o & (max); })

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). Start from ~HC, add each changed
 * word's complement and its new value, fold with csum_fold64(). */
static __always_inline __u64 csum_upd32(__u64 sum, __u32 old, __u32 new)
{
	return sum + (__u32)~old + new;
}

static __always_inline __u64 csum_upd16(__u64 sum, __u16 old, __u16 new)
{
	return sum + (__u16)~old + new;
}

static __always_inline bool addr_eq(const __be32 *a, const __be32 *b)
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
		 (a[3] ^ b[3]));
}

/*
 * Rewrite the packet parsed into `pkt` to src:sport -> dst:dport (IPv4
 * uses word 0 of the addresses). 0, or -1 when a header is not where the
 * parser found it (which hl_parse() rules out).
 */
static __always_inline int nat_rewrite(struct xdp_md *ctx,
				       const struct hl_pkt *pkt,
				       const __be32 *src, const __be32 *dst,
				       __be16 sport, __be16 dport)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3 = pkt->l3_off, l4 = pkt->l4_off;
	__u64 sum = 0;	/* the pseudo-header's part of the L4 update */
	struct tcphdr *th;
	__u16 *check, c;
	bool udp = pkt->key.proto == IPPROTO_UDP;

	if (l3 > ETH_HLEN + 4 || l4 > NAT_L4_OFF_MAX)
		return -1;
	l3 = nat_off(l3, 31);
	l4 = nat_off(l4, NAT_L4_OFF_MAX);
	if (pkt->key.family == HL_AF_INET6) {
		struct ipv6hdr *ip6 = data + l3;
		__be32 *a;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		a = (__be32 *)&ip6->saddr;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			sum = csum_upd32(sum, a[i], src[i]);
			a[i] = src[i];
		}
		a = (__be32 *)&ip6->daddr;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			sum = csum_upd32(sum, a[i], dst[i]);
			a[i] = dst[i];
		}
	} else {
		struct iphdr *ip = data + l3;
		__u64 ipsum;

		if ((void *)(ip + 1) > data_end)
			return -1;
		sum = csum_upd32(sum, ip->saddr, src[0]);
		sum = csum_upd32(sum, ip->daddr, dst[0]);
		ipsum = (__u16)~ip->check + sum;
		ip->check = csum_fold64(ipsum);
		ip->saddr = src[0];
		ip->daddr = dst[0];
	}

	/* sport/dport sit at the same place in TCP and UDP */
	th = data + l4;
	if (udp) {
		if ((void *)th + sizeof(struct udphdr) > data_end)
			return -1;
		check = &((struct udphdr *)th)->check;
	} else {
		if ((void *)(th + 1) > data_end)
			return -1;
		check = &th->check;
	}
	sum = csum_upd16(sum, th->source, sport);
	sum = csum_upd16(sum, th->dest, dport);
	th->source = sport;
	th->dest = dport;
	c = *check;
	if (udp && !c)
		return 0;
	c = csum_fold64((__u16)~c + sum);
	if (udp && !c)
		c = 0xffff;
	*check = c;
	return 0;
}

/*
 * Send the rewritten packet to `macs` (dmac, smac) out of `ifindex`: a fresh Ethernet
 * header, an input VLAN tag removed (the output is plain Ethernet on the
 * egress device, as with IPIP); XDP_TX when that is the device it came
 * in on, else a redirect. -1 when the head cannot move.
 */
static __always_inline int nat_xmit(struct xdp_md *ctx,
				    const struct hl_pkt *pkt, const __u8 *macs,
				    __u32 ifindex, int *action)
{
	void *data, *data_end;
	struct ethhdr *eth;

	if (pkt->vlan && bpf_xdp_adjust_head(ctx, 4))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	eth_write_macs(eth, macs);
	eth->h_proto = bpf_htons(pkt->key.family == HL_AF_INET6 ? ETH_P_IPV6 :
								  ETH_P_IP);
	if (ifindex == ctx->ingress_ifindex)
		*action = XDP_TX;
	else
		*action = bpf_redirect(ifindex, 0);
	return 0;
}

/* ---- next hops towards clients (nat_nexthops, abi.h) ---- */

static __always_inline bool nat_nh_for(const struct hl_nat_nh *c,
				       const __be32 *client, __u8 family)
{
	return (c->flags & HL_NH_F_VALID) && c->family == family &&
	       addr_eq(c->addr, client);
}

/* Look `client` up in the FIB (from `from`, the VIP) into `c`. A failed
 * lookup leaves `c` as it was and returns the FIB's code. */
static __always_inline int nat_nh_fib(struct xdp_md *ctx, struct hl_nat_nh *c,
				      const __be32 *client, const __be32 *from,
				      __u8 family, __u64 now)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.ifindex = ctx->ingress_ifindex;
	if (family == HL_AF_INET6) {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_dst, client, 16);
		__builtin_memcpy(fib.ipv6_src, from, 16);
	} else {
		fib.family = AF_INET;
		fib.ipv4_dst = client[0];
		fib.ipv4_src = from[0];
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return rc;
	__builtin_memcpy(c->addr, client, 16);
	__builtin_memcpy(c->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(c->smac, fib.smac, ETH_ALEN);
	c->ifindex = fib.ifindex;
	c->family = family;
	c->updated_ns = now;
	c->flags = HL_NH_F_VALID;
	return rc;
}

/*
 * The next hop towards `client`, or NULL with the FIB's code in *rc. A
 * hit costs two array reads; an entry older than HL_NH_REFRESH_NS is
 * looked up again (a failure keeps it in use, and it is retried a second
 * later, not on every packet); a miss is looked up into the way that is
 * free, else the staler one.
 */
static __always_inline struct hl_nat_nh *
nat_client_nh(struct xdp_md *ctx, const __be32 *client, const __be32 *from,
	      __u8 family, __u64 now, int *rc)
{
	__u32 slot = hl_nat_nh_slot(client), other = slot + 1;
	struct hl_nat_nh *c, *c2, *victim;

	*rc = BPF_FIB_LKUP_RET_SUCCESS;
	c = bpf_map_lookup_elem(&nat_nexthops, &slot);
	if (!c)
		return NULL;
	if (likely(nat_nh_for(c, client, family)))
		goto hit;
	c2 = bpf_map_lookup_elem(&nat_nexthops, &other);
	if (!c2)
		return NULL;
	if (nat_nh_for(c2, client, family)) {
		c = c2;
		goto hit;
	}
	victim = c;
	if ((c->flags & HL_NH_F_VALID) &&
	    (!(c2->flags & HL_NH_F_VALID) || c2->updated_ns < c->updated_ns))
		victim = c2;
	*rc = nat_nh_fib(ctx, victim, client, from, family, now);
	return *rc == BPF_FIB_LKUP_RET_SUCCESS ? victim : NULL;
hit:
	if (unlikely(now - c->updated_ns > HL_NH_REFRESH_NS) &&
	    nat_nh_fib(ctx, c, client, from, family, now))
		c->updated_ns = now;
	return c;
}

#endif /* HELIOS_BPF_NAT_XLATE_H */
