/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one ABI shared by the BPF programs and helios-agent: map keys and
 * values, flags and verdict reasons. Fixed-size fields, explicit padding;
 * each field says its byte order. Compiled by clang -target bpf and by cc,
 * both of which run the _Static_asserts at the end.
 *
 * Addresses are stored as four __be32 words: IPv4 uses word 0 and leaves the
 * other three zero, so one key type serves both families.
 */
#ifndef HELIOS_ABI_H
#define HELIOS_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Capacities; the BPF maps and user space size themselves from these. */
#ifndef HL_MAX_SERVICES
#define HL_MAX_SERVICES		1024
#endif
#ifndef HL_MAX_NODES
#define HL_MAX_NODES		16384	/* node ids are global across services */
#endif
#ifndef HL_CT_ENTRIES
#define HL_CT_ENTRIES		1048576	/* connection table (LRU) */
#endif
#define HL_RING_DEFAULT		65537	/* Maglev slots per service, prime */
#define HL_RING_MAX		16777213	/* largest prime below 2^24 */
#define HL_RING_MIN_PER_NODE	100	/* slots per node, at least */
#define HL_WEIGHT_DEFAULT	100
#define HL_WEIGHT_MAX		65535
#define HL_ZONE_LEN		16
#define HL_NODE_NONE		0xffffffffu	/* empty Maglev slot */

/* Address family as stored in keys (not AF_*: those differ by libc). */
enum hl_family {
	HL_AF_INET	= 4,
	HL_AF_INET6	= 6,
};

/* Key of the services hash map: (VIP, port, protocol). */
struct hl_svc_key {
	__be32 vip[4];		/* network order */
	__be16 port;		/* network order */
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;		/* enum hl_family */
};

/* Service flags: effective state, written by the health agent. */
#define HL_SVC_F_HOLD		(1u << 0)	/* no single primary: hold new flows */
#define HL_SVC_F_RESET		(1u << 1)	/* RST flows whose node went down */

struct hl_service {
	__u32 id;		/* index into the per-service arrays */
	__u32 ring_size;	/* slots in this service's Maglev table */
	__u32 flags;		/* HL_SVC_F_*, host order */
	__u32 pad;
};

/* Node flags: HL_NODE_F_EXISTS is admin state; the rest is effective state,
 * written only by the health agent. */
#define HL_NODE_F_EXISTS	(1u << 0)
#define HL_NODE_F_DEGRADED	(1u << 1)	/* reads at reduced weight, no writes */
#define HL_NODE_F_TRANSITIONING	(1u << 2)	/* no new flows, existing ones stay */
#define HL_NODE_F_UNHEALTHY	(1u << 3)	/* nothing, not even existing flows */
#define HL_NODE_F_AGENT		(1u << 4)	/* eff_scale is set by the agent */

enum hl_role {
	HL_ROLE_ANY	= 0,
	HL_ROLE_PRIMARY	= 1,
	HL_ROLE_STANDBY	= 2,
	HL_ROLE_REPLICA	= 3,
};

/* Value of the nodes array, indexed by node id. */
struct hl_node {
	__be32 addr[4];		/* network order */
	__u32 svc_id;		/* owning service */
	__u32 flags;		/* HL_NODE_F_*, host order */
	__u16 weight;		/* admin: configured weight, 0 = drain */
	__u16 eff_scale;	/* effective: per-mille of weight, if F_AGENT */
	__u8 family;		/* enum hl_family */
	__u8 role;		/* admin: enum hl_role hint */
	__u8 eff_role;		/* effective: role the probes found */
	__u8 pad;
	char zone[HL_ZONE_LEN];	/* admin: NUL-terminated zone name */
};

/* Cached next hop per node, indexed by node id. User space resolves it at
 * `node add`; the data path refreshes it from the FIB at most once per
 * HL_NH_REFRESH_NS, on the new-flow path only. */
#define HL_NH_F_VALID		(1u << 0)
#define HL_NH_REFRESH_NS	1000000000ull

struct hl_nexthop {
	__be32 src[4];		/* outer source address, network order */
	__u8 dmac[6];
	__u8 smac[6];
	__u32 ifindex;		/* egress device */
	__u32 mtu;		/* egress device MTU, host order */
	__u32 flags;		/* HL_NH_F_*, host order */
	__u64 updated_ns;	/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
};

/* Connection table key: the client's 5-tuple as received. */
struct hl_flow_key {
	__be32 src[4];		/* client address, network order */
	__be32 dst[4];		/* VIP, network order */
	__be16 sport;		/* network order */
	__be16 dport;		/* network order */
	__u8 proto;
	__u8 family;		/* enum hl_family */
	__u16 pad;
};

struct hl_flow {
	__u32 node_id;
	__u32 hash;		/* flow hash, kept for the IPv6 outer flow label */
};

/* Health as the agent last judged it: the map `health`, indexed by node id,
 * written only by the agent (which also resumes from it after a restart)
 * and read by `helios-agent health`. Not used by the data path. */
enum hl_health_state {
	HL_HEALTH_HEALTHY	= 0,
	HL_HEALTH_DEGRADED	= 1,
	HL_HEALTH_TRANSITIONING	= 2,
	HL_HEALTH_UNHEALTHY	= 3,
};

enum hl_breaker_state {
	HL_BREAKER_CLOSED	= 0,
	HL_BREAKER_OPEN		= 1,
	HL_BREAKER_HALF_OPEN	= 2,
};

#define HL_HEALTH_F_VALID	(1u << 0)	/* probed at least once */
#define HL_HEALTH_F_LAST_OK	(1u << 1)	/* the last probe succeeded */
#define HL_HEALTH_F_INELIGIBLE	(1u << 2)	/* healthy, wrong role for the service */
#define HL_HEALTH_F_HAS_LAG	(1u << 3)

struct hl_health {
	__u8 state;		/* enum hl_health_state */
	__u8 breaker;		/* enum hl_breaker_state */
	__u8 role;		/* enum hl_role the probe found */
	__u8 pad;
	__u32 flags;		/* HL_HEALTH_F_* */
	__u32 rtt_us;		/* last probe */
	__u32 ema_us;		/* latency moving average */
	__u32 lag_ms;		/* replication lag, time */
	__u32 scale;		/* effective weight, per-mille */
	__u64 lag_bytes;	/* replication lag, bytes */
	__u64 state_since_ns;	/* CLOCK_MONOTONIC */
	__u64 last_probe_ns;	/* CLOCK_MONOTONIC */
};

/* Per-CPU counters, per service and per node. */
struct hl_counters {
	__u64 packets;
	__u64 bytes;		/* frame bytes as received */
	__u64 flows;		/* new flows (connection-table inserts) */
	__u64 syn_retrans;	/* SYNs again on a known flow: node silent */
	__u64 rsts;		/* RSTs the clients sent on known flows */
};

/* Key of the backends' decap_vips hash: a VIP whose IPIP packets the TC
 * program decapsulates. Value: __u64 packets decapsulated. */
struct hl_vip_key {
	__be32 addr[4];		/* network order */
	__u8 family;		/* enum hl_family */
	__u8 pad[3];
};

/* Director-wide settings written at attach: the map `settings`, an array of
 * one (not "config": vmlinux.h has a typedef of that name). */
struct hl_settings {
	__be32 src4;		/* outer IPv4 source, 0 = egress address */
	__be32 src6[4];		/* outer IPv6 source, 0 = egress address */
	__u32 pad[3];
};

/*
 * Every verdict has a reason and every reason a per-CPU counter. Numbers are
 * fixed and never reused; the name is what the CLI prints.
 */
#define HL_REASONS(X)							\
	X(FORWARDED,		0,  "forwarded")			\
	X(PASS_NOT_IP,		1,  "passed-not-ip")			\
	X(PASS_NOT_SERVICE,	2,  "passed-not-service")		\
	X(PASS_FRAGMENT,	3,  "passed-fragment")			\
	X(DROP_MALFORMED_ETH,	4,  "dropped-malformed-eth")		\
	X(DROP_MALFORMED_IP,	5,  "dropped-malformed-ip")		\
	X(DROP_BAD_LENGTH,	6,  "dropped-bad-length")		\
	X(DROP_MALFORMED_L4,	7,  "dropped-malformed-l4")		\
	X(DROP_EXTHDR_CHAIN,	8,  "dropped-ipv6-exthdr-chain")	\
	X(DROP_NO_BACKEND,	9,  "dropped-no-backend")		\
	X(TOO_BIG,		10, "too-big")				\
	X(DROP_NO_ROUTE,	11, "dropped-no-route")			\
	X(DROP_ENCAP,		12, "dropped-encap-failed")		\
	X(HELD,			13, "held-no-primary")			\
	X(RESET_NODE_DOWN,	14, "reset-node-down")

enum hl_reason {
#define HL_REASON_ENUM(name, nr, str) HL_REASON_##name = nr,
	HL_REASONS(HL_REASON_ENUM)
#undef HL_REASON_ENUM
	HL_REASON_MAX
};

/* Layout checks, run by both compilers. */
_Static_assert(sizeof(struct hl_svc_key) == 20, "hl_svc_key");
_Static_assert(sizeof(struct hl_service) == 16, "hl_service");
_Static_assert(sizeof(struct hl_node) == 48, "hl_node");
_Static_assert(__builtin_offsetof(struct hl_node, zone) == 32, "hl_node.zone");
_Static_assert(sizeof(struct hl_nexthop) == 48, "hl_nexthop");
_Static_assert(__builtin_offsetof(struct hl_nexthop, updated_ns) == 40,
	       "hl_nexthop.updated_ns");
_Static_assert(sizeof(struct hl_flow_key) == 40, "hl_flow_key");
_Static_assert(sizeof(struct hl_flow) == 8, "hl_flow");
_Static_assert(sizeof(struct hl_counters) == 40, "hl_counters");
_Static_assert(sizeof(struct hl_vip_key) == 20, "hl_vip_key");
_Static_assert(sizeof(struct hl_health) == 48, "hl_health");
_Static_assert(sizeof(struct hl_settings) == 32, "hl_settings");

#endif /* HELIOS_ABI_H */
