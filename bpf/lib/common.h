/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Includes, protocol constants and the per-packet state shared by the
 * bpf/lib headers. vmlinux.h carries the kernel's types and enums but not
 * its #defines, so the few constants we need are spelled out here.
 */
#ifndef HELIOS_BPF_COMMON_H
#define HELIOS_BPF_COMMON_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <helios/abi.h>

#ifndef ETH_ALEN
#define ETH_ALEN		6
#endif
#define ETH_HLEN		14
#define ETH_P_IP		0x0800
#define ETH_P_IPV6		0x86DD
#define ETH_P_8021Q		0x8100
#define ETH_P_8021AD		0x88A8

#define AF_INET			2
#define AF_INET6		10

#define IP_MF			0x2000
#define IP_DF			0x4000
#define IP_OFFSET		0x1FFF

/* IPv6 next-header values without an enum in vmlinux.h. */
#define HL_NEXTHDR_HOP		0
#define HL_NEXTHDR_ROUTING	43
#define HL_NEXTHDR_FRAGMENT	44
#define HL_NEXTHDR_AUTH		51
#define HL_NEXTHDR_DEST		60
#define HL_NEXTHDR_ICMPV6	58

#define ICMP_DEST_UNREACH	3
#define ICMP_FRAG_NEEDED	4
#define ICMPV6_PKT_TOOBIG	2
#define IPV6_MIN_MTU		1280

#define TC_ACT_OK		0
#define CLOCK_MONOTONIC		1

#define HL_TCP_FIN		0x01
#define HL_TCP_SYN		0x02
#define HL_TCP_RST		0x04
#define HL_TCP_ACK		0x10

#define HL_IPV4_HLEN		20
#define HL_IPV6_HLEN		40
#define HL_OUTER_TTL		64

/* Extension headers walked before giving up on an IPv6 packet. */
#ifndef HL_IPV6_EXT_MAX
#define HL_IPV6_EXT_MAX		6
#endif

/* Fixed seed of the flow hash: every director must pick the same slot for
 * a flow, so that a restarted or second director agrees with the first. */
#ifndef HL_HASH_SEED
#define HL_HASH_SEED		0x48454c53u	/* "HELS" */
#endif

#ifndef likely
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#endif

/* Hide a value from the optimiser (libbpf's barrier_var). */
#ifndef barrier_var
#define barrier_var(var)	asm volatile("" : "+r"(var))
#endif

/*
 * Ethernet addresses into a frame, three words: `macs` is a destination
 * and a source MAC side by side, 4-aligned (the next-hop entries). clang
 * turns a memcpy to a packet pointer, whose alignment it cannot know, into
 * one store per byte; the verifier takes unaligned packet access where the
 * JIT's architecture does it well (x86-64, arm64), so word stores it is.
 */
static __always_inline void eth_write_macs(void *eth, const __u8 *macs)
{
	const __u32 *m = (const __u32 *)macs;
	__u32 *w = eth;

	w[0] = m[0];
	w[1] = m[1];
	w[2] = m[2];
}

#define HL_MACS_WORDS(type)						\
	_Static_assert(__builtin_offsetof(type, smac) ==		\
		       __builtin_offsetof(type, dmac) + ETH_ALEN &&	\
		       __builtin_offsetof(type, dmac) % 4 == 0,		\
		       #type ": dmac|smac must be 4-aligned words")
HL_MACS_WORDS(struct hl_nexthop);
HL_MACS_WORDS(struct hl_nat_nh);

/* Bench-only ablation (enum hl_ablate, abi.h): 0 in every real build. */
#ifdef HL_BENCH_ABLATE
const volatile __u32 hl_ablate = 0;
#define hl_skip(bit)		(hl_ablate & (bit))
#else
#define hl_skip(bit)		0
#endif

/* 802.1Q / 802.1ad tag as it follows the Ethernet addresses. */
struct hl_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/*
 * What the parser learnt about a packet. Offsets are from ctx->data as
 * received; the encapsulation and ICMP code use them after the head moved.
 */
struct hl_pkt {
	struct hl_flow_key key;	/* client 5-tuple; also the service key parts */
	__u32 frame_len;	/* bytes as received, for the counters */
	__u16 l3_off;		/* ETH_HLEN, or ETH_HLEN + 4 with a VLAN tag */
	__u16 ip_len;		/* IP total length (v6: header + payload) */
	__u16 ihl;		/* IPv4 header bytes (options included) */
	__u8 tos;		/* IPv4 TOS or IPv6 traffic class */
	__u8 df;		/* IPv4 DF bit set */
	__u8 tcp_flags;		/* byte 13 of the TCP header, 0 for UDP */
	__u8 vlan;		/* one VLAN tag present */
	__u16 l4_off;		/* where the L4 header starts (NAT rewrites) */
	__be32 tcp_ack;		/* TCP acknowledgment number, for resets */
	__u16 tcp_payload;	/* TCP payload bytes (read-your-writes) */
};

/* What a stage of helios_xdp() returns to say "no verdict yet, go on";
 * anything else is the reason of the packet's verdict. */
#define HL_CONTINUE		(-1)

/*
 * What the stages decide for a packet of a service, each filling in its
 * part. A stage that ends the packet leaves the verdict's action here.
 */
struct hl_target {
	const struct hl_service *svc;
	struct hl_node *node;	/* NULL: no node holds the flow (yet) */
	__u32 node_id;
	__u32 hash;		/* flow hash: table slot, IPv6 flow label */
	__u32 fwd_reason;	/* forwarded, or forwarded-syn-retry */
	int action;		/* XDP_* of the verdict */
	bool new_flow;		/* picked now: may refresh the next hop */
};

#endif /* HELIOS_BPF_COMMON_H */
