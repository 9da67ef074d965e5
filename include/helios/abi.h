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
#ifndef HL_NAT_FLOWS
#define HL_NAT_FLOWS		262144	/* NAT flows; the nat map holds two
					 * entries a flow (one per direction) */
#endif
#define HL_SNAT_MAX		8	/* SNAT addresses per service */
/* SNAT ports are allocated in [MIN, MAX], host order: below Linux's
 * ephemeral ports (net.ipv4.ip_local_port_range, 32768-60999 by default),
 * so that the director host's own connections to a node (health probes)
 * never get an answer meant for a NAT flow of the same address. */
#define HL_SNAT_PORT_MIN	1024
#define HL_SNAT_PORT_MAX	32767

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

/* Service flags: effective state, written by the health agent
 * (HL_SVC_F_SWITCHOVER: by the switchover command, svc_switchover_set()). */
#define HL_SVC_F_HOLD		(1u << 0)	/* no single primary: hold new flows */
#define HL_SVC_F_RESET		(1u << 1)	/* RST flows whose node went down */
#define HL_SVC_F_SWITCHOVER	(1u << 2)	/* planned switchover: see
						 * struct hl_switchover */
/* BGP announcement (the agent's `bgp` group), for `health`; no data-path use */
#define HL_SVC_F_BGP		(1u << 3)	/* the agent manages its announcement */
#define HL_SVC_F_ANNOUNCED	(1u << 4)	/* its VIP is in BIRD's routes */
#define HL_SVC_F_BGP_DOWN	(1u << 5)	/* BIRD or every BGP session down */

/* How a service's packets reach its node: `service add SVC fwd MODE`.
 * Numbers are stored in maps; never reuse one. */
enum hl_fwd {
	HL_FWD_IPIP	= 0,	/* IP-in-IP; the node's decap program strips it,
				 * the node answers the client directly (DSR) */
	HL_FWD_NAT	= 1,	/* full NAT: SNAT address and port -> node
				 * address and port; replies come back through
				 * the director and are translated back */
	HL_FWD_L2	= 2,	/* the node's MAC as destination, nothing else
				 * changed: one L2 segment, VIP on the node's
				 * lo, the node answers directly (DSR) */
};

struct hl_service {
	__u32 id;		/* index into the per-service arrays */
	__u32 ring_size;	/* slots of this service's Maglev table */
	__u32 flags;		/* HL_SVC_F_*, host order: effective */
	__u8 strategy;		/* admin: enum hl_strategy */
	__u8 hash;		/* admin: enum hl_hash_mode */
	__u16 bounded_load;	/* admin: per-cent of the average load, 0 = off */
	__u32 slots;		/* entries of the current table (ring_size, or
				 * the smooth-WRR sequence's length) */
	__u32 opts;		/* admin: HL_SVC_O_*, host order */
	__u8 fwd;		/* admin: enum hl_fwd */
	__u8 table;		/* which of the service's two tables is
				 * current (hl_slots_key) */
	__u8 pad[2];
	/* Fencing (write services): the generation of the primary, which
	 * changes when another node becomes primary or its timeline advances;
	 * a flow created under an older one is reset. 0 = no fencing.
	 * Effective state, written by the agent with what it stands for. */
	__u32 gen;
	__u32 gen_node;		/* node id of the generation's primary */
	__u32 gen_tli;		/* and its PostgreSQL timeline */
	__u64 gen_ns;		/* CLOCK_MONOTONIC_COARSE when the generation
				 * took over from another (0: the first):
				 * NAT flows created up to then are fenced
				 * (hl_nat.created_ns, same clock) */
};

/*
 * The map `free_vips`: one bit per bucket of destination addresses that no
 * service's VIP falls in (bit b % 64 of word b / 64, b = hl_vip_bucket()),
 * like free_ports for ports: a packet to such an address is passed before
 * the connection-table and services lookups. A clear bit only means "look
 * it up": a map never filled costs speed, never correctness. Written with
 * free_ports (svc_ports_sync(), user/lib/services.c).
 */
#define HL_VIP_BUCKETS		65536

/*
 * The map `nat_ports`: one bit per port (as free_ports) whose services all
 * forward by NAT, whose packets have no connection-table entry to look up
 * (NAT flows live in `nat`). A clear bit means "look it up": user space
 * clears a port's bit before a service of another mode appears on it
 * (svc_put()) and sets bits only in svc_ports_sync().
 */

static inline __u32 hl_vip_bucket(const __be32 a[4])
{
	__u32 x = a[0] ^ a[1] ^ a[2] ^ a[3];

	x ^= x >> 16;
	return x & (HL_VIP_BUCKETS - 1);
}

/*
 * The map `svc_by_id` (array, by hl_service.id): a copy of each service's
 * entry with its key, written by user/lib/services.c with every write of
 * `services` (a zeroed slot: no service). A packet of a known flow reaches
 * its service through the flow's node (hl_node.svc_id) and this slot, an
 * array load instead of the hash lookup, when the slot's key is the
 * packet's; else the data path falls back to `services`.
 */
struct hl_svc_slot {
	struct hl_service svc;
	struct hl_svc_key key;
	__u32 pad;
};

/*
 * Each service has two slot tables in `slots`: the current one and the one
 * the next rebuild writes (mmap'd, so a table of 100k slots is one memcpy)
 * before flipping `table` in the service entry: no map-in-map update, and
 * so no RCU grace period, on a rebuild of unchanged size.
 */
#define HL_SLOTS_TABLES		2
#define HL_SLOTS_INNER_FLAGS	(BPF_F_INNER_MAP | BPF_F_MMAPABLE)

static inline __u32 hl_slots_key(__u32 svc_id, __u8 table)
{
	return svc_id * HL_SLOTS_TABLES + (table & 1);
}

/* ---- selection strategies (issue 4) ---- */

#ifndef HL_SEL_MAX
#define HL_SEL_MAX		64	/* nodes of a rendezvous / lc service */
#endif
#define HL_WRR_SLOTS_MAX	65536	/* longest smooth-WRR sequence */
#define HL_BOUNDED_PROBES	8	/* bounded-load: slots tried after the first */

/* How a service picks the node of a new flow: `service add SVC strategy
 * NAME`. Numbers are stored in maps; never reuse one. */
#define HL_STRATEGIES(X)						\
	X(MAGLEV,	0, "maglev")	/* weighted consistent hashing */	\
	X(RENDEZVOUS,	1, "rendezvous") /* weighted highest random weight */ \
	X(WRR,		2, "wrr")	/* smooth weighted round-robin */	\
	X(RANDOM,	3, "random")	/* weighted random */		\
	X(LC,		4, "lc")	/* weighted least connections */	\
	X(P2C,		5, "p2c")	/* power of two (weighted) choices */	\
	X(SRCHASH,	6, "srchash")	/* maglev keyed by the source */	\
	X(PRIMARY,	7, "primary")	/* maglev over the primary */	\
	X(REPLICA,	8, "replica")	/* maglev over replicas/standbys */ \
	X(PREFER_ZONE,	9, "prefer-zone") /* maglev over the director's zone */

enum hl_strategy {
#define HL_STRAT_ENUM(name, nr, str) HL_STRAT_##name = (nr),
	HL_STRATEGIES(HL_STRAT_ENUM)
#undef HL_STRAT_ENUM
	HL_STRAT_MAX
};

/* What the flow hash covers: `hash 5tuple|src|src-dport`. */
enum hl_hash_mode {
	HL_HASH_5TUPLE		= 0,
	HL_HASH_SRC		= 1,	/* client address: session affinity */
	HL_HASH_SRC_DPORT	= 2,	/* client address and service port */
};

/* Service options: admin state, written by `service add|set` (the agent
 * writes `flags`, never these). */
#define HL_SVC_O_COUNT_ACTIVE	(1u << 0)	/* lc, p2c, bounded-load */
#define HL_SVC_O_LIMIT_CONN	(1u << 1)	/* conn, client or class limits */
#define HL_SVC_O_LIMIT_TRAFFIC	(1u << 2)	/* pkt or bytes: every packet */
#define HL_SVC_O_FALLBACK_PRIMARY (1u << 3)	/* replica: primary if none */
#define HL_SVC_O_SYN_RETRY	(1u << 4)	/* SYN second chance */
#define HL_SVC_O_RYW		(1u << 5)	/* read-your-writes: `ryw` entry */
#define HL_SVC_O_RYW_SRC	(1u << 6)	/* some read service's write
						 * source: note its clients' writes */
#define HL_SVC_O_POOLS		(1u << 7)	/* a class names a pool here */
#define HL_SVC_O_SCALEOUT	(1u << 8)	/* several directors (ECMP) */
#define HL_SVC_O_NO_ANNOUNCE	(1u << 9)	/* agent: withdraw its BGP route */

/*
 * Read-your-writes: the map `ryw`, indexed by the read service's id. A new
 * flow of a client whose last data packet to the write service `src_id`
 * (the LRU hash `ryw_clients`: struct hl_client_key with svc_id = src_id,
 * value the __u64 bpf_ktime_get_coarse_ns() of that packet) is less than
 * window_ms old goes to a standby that had replayed past that time (its
 * hl_node.synced_ms, by at least HL_RYW_MARGIN), else to primary_id.
 * Written by user space (services.c: options and the primary).
 */
struct hl_ryw {
	__u32 src_id;		/* the write service's id */
	__u32 window_ms;	/* 0 = off */
	__u32 primary_id;	/* the read service's node of the primary,
				 * HL_NODE_NONE when none is usable */
	__u32 pad;
};

#ifndef HL_RYW_CLIENTS
#define HL_RYW_CLIENTS		65536	/* clients remembered (LRU) */
#endif
/* Units of hl_node.synced_ms (ns >> 20, ~1.05 ms) a standby must have
 * replayed past a write: covers the coarse clock's tick, the time from
 * the client's packet to its commit and the WAL's way to the standby. */
#define HL_RYW_MARGIN		20

/* The usable nodes of a service, for the strategies that look at each:
 * the map `node_lists`, indexed by service id. Built by user space. */
struct hl_node_list {
	__u32 count;			/* entries below, <= HL_SEL_MAX */
	__u32 usable;			/* all usable nodes (bounded-load) */
	__u32 ids[HL_SEL_MAX];		/* node ids */
	__u32 weights[HL_SEL_MAX];	/* table weights, > 0 */
	__u32 seeds[HL_SEL_MAX];	/* rendezvous: hash of the address */
};

/* ---- rate limits ---- */

/*
 * A bucket is a GCRA (virtual scheduling) cell: `tat`, the theoretical
 * arrival time, moves on by `cost` per unit (connection, packet, byte); a
 * unit conforms when tat would stay within `tolerance` (= burst * cost) of
 * now. Times are CLOCK_MONOTONIC ns << HL_TB_SHIFT, compared by signed
 * difference, so wrapping is harmless. One 64-bit word per bucket is
 * updated with compare-and-swap: exact on any number of CPUs.
 */
#define HL_TB_SHIFT		10
#define HL_TB_NS		(1000000000ull << HL_TB_SHIFT)

struct hl_bucket {
	__u64 tat;		/* data path: theoretical arrival time */
	__u64 cost;		/* per unit; 0 = no limit */
	__u64 tolerance;	/* burst * cost */
};

enum hl_limit {
	HL_LIMIT_CONN	= 0,	/* new connections per second, service */
	HL_LIMIT_PKT	= 1,	/* packets per second, service */
	HL_LIMIT_BYTES	= 2,	/* bytes per second, service */
	HL_LIMIT_CLIENT	= 3,	/* new connections per client prefix */
	HL_LIMIT_CLASS	= 4,	/* new connections of a priority class */
	HL_LIMIT_MAX
};

/* The map `limits`, indexed by service id. */
struct hl_limits {
	struct hl_bucket conn, pkt, bytes;
	__u64 client_cost;	/* per-client bucket, template */
	__u64 client_tolerance;
	__u8 client_plen4;	/* client prefix length, IPv4 */
	__u8 client_plen6;	/* and IPv6 */
	/* SYN second chance (HL_SVC_O_SYN_RETRY): a SYN again on a flow at
	 * least retry_delay_ms old goes once to another node, within a budget
	 * of retry_pct % of the new flows per second, at least retry_min. */
	__u16 retry_delay_ms;
	__u8 retry_pct;
	__u8 retry_min;
	__u8 pad[2];
};

/* Key of the per-client LRU hash `clients`; value: __u64 tat. */
struct hl_client_key {
	__be32 addr[4];		/* client prefix, network order */
	__u32 svc_id;
	__u8 family;
	__u8 pad[3];
};

/* Per-CPU admitted/dropped counts per limit: `limit_stats`, by service. */
struct hl_limit_stats {
	__u64 admitted[HL_LIMIT_MAX];
	__u64 dropped[HL_LIMIT_MAX];
};

/* Priority classes: an LPM trie `class_prefixes` of client prefixes to a
 * class id, and the array `classes` of their buckets (director-wide). A
 * new connection from a class's prefix is admitted by the class's bucket
 * instead of the service's: bulk clients are shed first. A class with a
 * shed order (1..HL_SHED_ORDER_MAX) is admitted by its own bucket and then
 * by the service's `rate conn` bucket, from which it may take a token only
 * while the bucket keeps shed_order / HL_SHED_LEVELS of its burst (beyond
 * the token) in reserve: under overload the highest order is refused first.
 * Clients of no class take it down to empty (order 0). */
#ifndef HL_MAX_CLASSES
#define HL_MAX_CLASSES		64
#endif
#define HL_CLASS_NAME_LEN	16

struct hl_class_key {
	__u32 prefixlen;	/* 32 (family + pad) + the prefix length */
	__u8 family;
	__u8 pad[3];
	__be32 addr[4];		/* network order */
};

struct hl_class {
	struct hl_bucket conn;
	char name[HL_CLASS_NAME_LEN];
	__u32 flags;		/* HL_CLASS_F_USED */
	__u8 shed_order;	/* 0: its own lane; else shed before lower orders */
	__u8 pad[3];
};
#define HL_CLASS_F_USED		(1u << 0)
#define HL_SHED_LEVELS		8
#define HL_SHED_ORDER_MAX	(HL_SHED_LEVELS - 1)

#ifndef HL_CLIENT_ENTRIES
#define HL_CLIENT_ENTRIES	262144	/* per-client buckets (LRU) */
#endif

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
	__u8 eff_pool;		/* effective: enum hl_pool, a standby's
				 * sync_state on the primary */
	char zone[HL_ZONE_LEN];	/* admin: NUL-terminated zone name */
	__be16 port;		/* network order: the node's port (NAT);
				 * 0 = the service's port */
	__u16 pad2;
	/* effective: CLOCK_MONOTONIC ns >> 20 up to which this node had
	 * replayed its primary's commits (probe start - replay lag), for
	 * read-your-writes; 0 = unknown (counts as lagging) */
	__u32 synced_ms;
};

/*
 * The weight a node is picked with: the admin weight, scaled by the agent's
 * effective per-mille when the agent judges it; a scaled-down node keeps at
 * least 1. One definition for both sides: user space builds the tables
 * with it (times usability), BPF's p2c/lc/rendezvous picks weigh with it.
 */
static inline __u32 hl_node_weight(const struct hl_node *n)
{
	__u32 w = n->weight;

	if (n->flags & HL_NODE_F_AGENT) {
		w = w * n->eff_scale / 1000;
		if (!w && n->weight && n->eff_scale)
			w = 1;
	}
	return w;
}

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
	__u64 updated_ns;	/* CLOCK_MONOTONIC (the data path: coarse) */
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

#define HL_FLOW_F_COUNTED	(1u << 0)	/* in the node's active count */
#define HL_FLOW_F_CLOSED	(1u << 1)	/* FIN or RST seen: uncounted */
#define HL_FLOW_F_RETRIED	(1u << 2)	/* had its SYN second chance */

struct hl_flow {
	__u32 node_id;
	__u32 hash;		/* flow hash, kept for the IPv6 outer flow label */
	__u32 flags;		/* HL_FLOW_F_*, host order */
	__u32 created_ms;	/* bpf_ktime_get_ns() / 2^20, SYN retry only */
	__u32 gen;		/* the service's hl_service.gen at creation */
#ifdef HL_FLOW_TEST_LAYOUT
	__u32 migrated;		/* a test layout (tests/e2e/96-upgrade.bats):
				 * 1 in entries copied from the default one */
#endif
};

/*
 * The connection table is HL_CT_SHARDS LRU hashes (`conntrack`, an array
 * of maps) of HL_CT_SHARD_ENTRIES each, a flow in the shard of its
 * 5-tuple: the active-flow recount (bpf/lib/sweep.h) then walks one shard
 * a tick, about 4096 entries, where a walk of one 1M-entry table held a
 * softirq for 200-300 ms. `ct_counts` holds each shard's counted flows
 * per node (key hl_ct_count_key()).
 */
#define HL_CT_SHARDS		(HL_CT_ENTRIES >= 4096 * 256 ? 256 :	\
				 HL_CT_ENTRIES >= 4096 * 2 ?		\
				 HL_CT_ENTRIES / 4096 : 1)
/* A sixteenth more a shard: an LRU hash keeps up to 128 free entries a CPU
 * aside (the kernel's LOCAL_FREE_TARGET), so 4096-entry shards would start
 * evicting at 3968 each, 32768 short of HL_CT_ENTRIES in all. */
#define HL_CT_SHARD_ENTRIES	(HL_CT_ENTRIES / HL_CT_SHARDS +		\
				 HL_CT_ENTRIES / HL_CT_SHARDS / 16)

/* Multiply-xorshift mixes of the words that vary between flows, the
 * address before the ports (so that address and port bits do not cancel),
 * reduced by multiply-shift: a few instructions beside the lookup. */
static inline __u32 hl_ct_shard(const struct hl_flow_key *k)
{
	__u32 h = (k->src[0] ^ k->src[1] ^ k->src[2] ^ k->src[3]) * 0x9e3779b1u;

	h ^= h >> 16;
	h ^= k->dst[0] ^ ((__u32)k->sport << 16 | k->dport);
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return (__u32)(((__u64)h * HL_CT_SHARDS) >> 32);
}

static inline __u32 hl_ct_count_key(__u32 shard, __u32 node_id)
{
	return shard * HL_MAX_NODES + node_id;
}

/* Per-CPU SYN second-chance budget window of a service: `retry_window`. */
struct hl_retry_window {
	__u64 start_ns;
	__u32 flows;		/* new flows in this window */
	__u32 prev_flows;	/* and in the one before */
	__u32 retries;		/* second chances given in this window */
	__u32 denied;		/* refused by the budget */
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
#define HL_HEALTH_F_FOREIGN	(1u << 4)	/* another cluster's system
						 * identifier: never used */
#define HL_HEALTH_F_NO_READS	(1u << 5)	/* Patroni: noloadbalance / 503 */
#define HL_HEALTH_F_PATRONI_PRIMARY (1u << 6)	/* Patroni names it primary */
#define HL_HEALTH_F_PATRONI_OTHER (1u << 7)	/* Patroni: running, not primary */
#define HL_HEALTH_F_DISAGREE	(1u << 8)	/* its write service holds:
						 * postgres and Patroni name
						 * different primaries */

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
	__u32 timeline;		/* PostgreSQL timeline, 0 = unknown */
	__u32 pad2;
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
	char zone[HL_ZONE_LEN];	/* the director's zone (prefer-zone), or "" */
	__u32 nat_timeout_s[5];	/* by enum hl_nat_state; 0 = HL_NAT_*_NS */
	__u32 pad2;
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
	X(RESET_NODE_DOWN,	14, "reset-node-down")			\
	X(DROP_RATE_CONN,	15, "dropped-rate-conn")		\
	X(DROP_RATE_PKT,	16, "dropped-rate-pkt")			\
	X(DROP_RATE_BYTES,	17, "dropped-rate-bytes")		\
	X(DROP_RATE_CLIENT,	18, "dropped-rate-client")		\
	X(DROP_RATE_CLASS,	19, "dropped-rate-class")		\
	X(SYN_RETRY,		20, "forwarded-syn-retry")		\
	X(DROP_REPLY,		21, "dropped-reply-failed")		\
	X(FWD_NAT_REPLY,	22, "forwarded-nat-reply")		\
	X(DROP_NAT_FULL,	23, "dropped-nat-table-full")		\
	X(DROP_NAT_PORTS,	24, "dropped-nat-no-port")		\
	X(DROP_NAT_NO_SNAT,	25, "dropped-nat-no-snat-addr")		\
	X(DROP_NAT_MALFORMED,	26, "dropped-nat-reply-malformed")	\
	X(FWD_NAT_ICMP,		27, "forwarded-nat-icmp")		\
	X(DROP_NAT_STALE,	28, "dropped-nat-reply-stale")		\
	X(RESET_FENCED,		29, "reset-fenced")			\
	X(FWD_RYW,		30, "forwarded-ryw-primary")		\
	X(HELD_SWITCHOVER,	31, "held-switchover")			\
	X(RESET_SWITCHOVER,	32, "reset-switchover")

enum hl_reason {
#define HL_REASON_ENUM(name, nr, str) HL_REASON_##name = (nr),
	HL_REASONS(HL_REASON_ENUM)
#undef HL_REASON_ENUM
	HL_REASON_MAX
};

/* ---- full NAT (HL_FWD_NAT) ---- */

/* SNAT addresses of a NAT service, by service id (`snat_addrs`): the
 * source the node sees. count 0: the egress device's address, resolved
 * by user space into the node's next hop (hl_nexthop.src). */
struct hl_snat {
	__u32 count;
	__u32 pad;
	__be32 addrs[HL_SNAT_MAX][4];	/* network order */
};

/*
 * NAT state, the `nat` hash map: two entries a flow, both keyed by the
 * 5-tuple as it arrives (struct hl_flow_key, src = sender):
 *   forward, client -> VIP:port:   rewritten to SNAT addr:port -> node:port
 *   reply,   node:port -> SNAT addr:port: rewritten to VIP:port -> client
 * Not an LRU: a lost entry is a broken connection. Entries are created by
 * the forward path (reply entry first: it reserves the SNAT port) and
 * removed by the expiry sweep, by TCP state: HL_NAT_*_NS timeouts; the
 * forward path also ends a flow whose node is gone, or a closed flow
 * whose client starts again with a SYN on the same 5-tuple.
 */
enum hl_nat_dir {
	HL_NAT_FORWARD	= 0,
	HL_NAT_REPLY	= 1,
};

/* TCP flags this direction has seen (hl_nat.seen). */
#define HL_NAT_SEEN_SYN		(1u << 0)
#define HL_NAT_SEEN_ACK		(1u << 1)
#define HL_NAT_SEEN_FIN		(1u << 2)
#define HL_NAT_SEEN_RST		(1u << 3)

/* A flow's state, from both directions' `seen`: what `conn list` shows
 * and what the sweep times out by. */
enum hl_nat_state {
	HL_NAT_SYN_SENT		= 0,	/* client SYN, no answer yet */
	HL_NAT_ESTABLISHED	= 1,	/* the node answered */
	HL_NAT_FIN		= 2,	/* one side closed */
	HL_NAT_CLOSED		= 3,	/* both closed, or a RST */
	HL_NAT_UDP		= 4,
};

/* Default timeouts (ns); hl_settings.nat_timeout_s overrides them. */
#define HL_NAT_SYN_SENT_NS	(30ull * 1000000000)
#define HL_NAT_ESTABLISHED_NS	(7200ull * 1000000000)	/* 2 h idle */
#define HL_NAT_FIN_NS		(60ull * 1000000000)
#define HL_NAT_CLOSED_NS	(10ull * 1000000000)
#define HL_NAT_UDP_NS		(120ull * 1000000000)

struct hl_nat {
	__be32 addr[4];		/* new destination: forward the node, reply
				 * the client; network order */
	__be32 from[4];		/* new source: forward the SNAT address,
				 * reply the VIP; network order */
	__be16 port;		/* new destination port, network order */
	__be16 from_port;	/* new source port, network order */
	__u8 dir;		/* enum hl_nat_dir */
	__u8 seen;		/* HL_NAT_SEEN_* of this direction */
	__u16 flags;		/* HL_NAT_F_*, host order (was padding:
				 * the other direction's FIN/RST must be
				 * recorded where one atomic OR decides a
				 * flow's close; see below) */
	__u32 node_id;
	__u32 svc_id;
	__u64 created_ns;	/* CLOCK_MONOTONIC, coarse: the data path
				 * reads bpf_ktime_get_coarse_ns() (a tick's
				 * resolution; the precise clock cost 20-70 ns
				 * a packet here) */
	__u64 last_ns;		/* this direction's last packet, the same */
	__u64 packets;		/* this direction; a flow stays on one CPU */
	__u64 bytes;
};

/*
 * hl_nat.flags: what the other direction of the flow saw, written into
 * this entry by that direction's packets, and the data path's own
 * bookkeeping. A flow's two directions may be handled by two CPUs at
 * once, so dir, seen and flags (one 32-bit word) change only by atomic
 * ORs, and the forward entry's word alone decides when a flow closes
 * (its active count is taken off exactly once) and what its state is.
 */
#define HL_NAT_F_PEER_FIN	(1u << 0)	/* the other direction sent a FIN */
#define HL_NAT_F_PEER_RST	(1u << 1)	/* the other direction sent an RST */
#define HL_NAT_F_REPLIED	(1u << 2)	/* forward: the node has answered */
#define HL_NAT_F_UNCOUNTED	(1u << 3)	/* forward: taken out of the
						 * active count by the sweep */

/* A flow's state from its forward entry (what `conn list` shows and what
 * the sweep times out by): RST either side or FIN both -> CLOSED, FIN one
 * side -> FIN, the node answered -> ESTABLISHED, else SYN_SENT. */
static inline __u8 hl_nat_state(const struct hl_nat *fwd, __u8 proto)
{
	__u8 seen = fwd->seen;
	__u16 f = fwd->flags;

	if (proto != 6)		/* IPPROTO_TCP */
		return HL_NAT_UDP;
	if ((seen & HL_NAT_SEEN_RST) || (f & HL_NAT_F_PEER_RST) ||
	    ((seen & HL_NAT_SEEN_FIN) && (f & HL_NAT_F_PEER_FIN)))
		return HL_NAT_CLOSED;
	if ((seen & HL_NAT_SEEN_FIN) || (f & HL_NAT_F_PEER_FIN))
		return HL_NAT_FIN;
	if (f & HL_NAT_F_REPLIED)
		return HL_NAT_ESTABLISHED;
	return HL_NAT_SYN_SENT;
}

/*
 * SNAT ports. A new flow tries HL_SNAT_PROBES ports for its (SNAT address,
 * node, node port, protocol), each by inserting the reply entry that would
 * own it: the i-th try is hl_snat_port(hash, i), hash = the jhash of the
 * client's 5-tuple (the flow hash). Double hashing, so that two flows
 * that start on one port part after the first try.
 */
#define HL_SNAT_PROBES		16

static inline __u16 hl_snat_port(__u32 hash, __u32 i)
{
	const __u32 range = HL_SNAT_PORT_MAX - HL_SNAT_PORT_MIN + 1;

	return HL_SNAT_PORT_MIN + (hash + i * ((hash >> 16) | 1)) % range;
}

/*
 * Next hops towards NAT clients, cached by the reply path in the array
 * `nat_nexthops`: bpf_fib_lookup() for every reply would cost ~110 ns. Two
 * ways: a client's entry is in slot hl_nat_nh_slot() or the one after it.
 * An entry is looked up in the FIB again at most once per
 * HL_NH_REFRESH_NS; a failed lookup keeps a valid entry in use.
 */
#define HL_NAT_NH_SET_BITS	12
#define HL_NAT_NH_SLOTS		(2u << HL_NAT_NH_SET_BITS)

struct hl_nat_nh {
	__be32 addr[4];		/* the client it is for, network order */
	__u8 dmac[6];
	__u8 smac[6];
	__u32 ifindex;		/* egress device */
	__u8 family;		/* enum hl_family */
	__u8 flags;		/* HL_NH_F_VALID */
	__u16 pad;
	__u32 pad2;
	__u64 updated_ns;	/* CLOCK_MONOTONIC of the last FIB lookup */
};

static inline __u32 hl_nat_nh_slot(const __be32 addr[4])
{
	__u32 x = addr[0] ^ addr[1] ^ addr[2] ^ addr[3];

	return ((x * 0x9e3779b1u) >> (32 - HL_NAT_NH_SET_BITS)) * 2;
}

/*
 * The addresses NAT replies are sent to (the SNAT addresses in use), the
 * one-entry array `nat_dsts`: the reply stage's first test, so that a
 * packet to any other address costs a few compares, and nothing at all on
 * a director without NAT flows. The data path adds an address with its
 * first flow and never removes one (an address out of use costs a table
 * lookup per packet to it). n4/n6 above HL_NAT_DSTS: overflow, every
 * packet of the family is looked up.
 */
#define HL_NAT_DSTS		16

struct hl_nat_dsts {
	__u32 n4;		/* addresses in addr4 (claimed slots) */
	__u32 n6;
	__be32 addr4[HL_NAT_DSTS];	/* network order */
	__be32 addr6[HL_NAT_DSTS][4];
};

/* ---- events for `helios-agent monitor` (bpf/lib/events.h) ---- */

/*
 * The monitor's switch and sampling, the one-entry array `monitor`,
 * written by `helios-agent monitor` only. The data path emits an event
 * only while bpf_ktime_get_coarse_ns() < until_ns: a monitor renews the
 * lease every second, so one that dies without clearing it stops the
 * events within a few seconds. 0 (the map's initial value): off.
 */
struct hl_monitor {
	__u64 until_ns;		/* CLOCK_MONOTONIC lease end, 0 = off */
	__u32 sample;		/* emit one event in `sample`, 0 or 1 = all */
	__u32 budget;		/* events per second and CPU, 0 = no limit */
};

/* Per-CPU state and counts of the emitter: the array `mon_cpu`. */
struct hl_mon_cpu {
	__u64 seen;		/* events that passed the switch */
	__u64 emitted;		/* written to the ring buffer */
	__u64 lost;		/* ring buffer full: bpf_ringbuf_reserve failed */
	__u64 sampled_out;	/* skipped by 1-in-N sampling */
	__u64 over_budget;	/* skipped by the per-second budget */
	__u64 window_ns;	/* start of the budget's second */
	__u64 in_window;	/* events emitted in it */
};

/* One record of the ring buffer `events`: a verdict worth seeing (a drop,
 * a rate-limit trip, a held SYN, a reset sent, a SYN second chance). */
struct hl_event {
	__u64 ts_ns;		/* bpf_ktime_get_coarse_ns() */
	__u32 reason;		/* enum hl_reason */
	__u32 svc_id;		/* HL_EVENT_NONE: not a service's packet */
	__u32 node_id;		/* HL_EVENT_NONE: no node chosen */
	__u32 frame_len;
	struct hl_flow_key key;	/* as parsed; zero where parsing stopped */
	__u8 tcp_flags;
	__u8 pad[7];
};
#define HL_EVENT_NONE		0xffffffffu
#ifndef HL_EVENT_RING_BYTES
#define HL_EVENT_RING_BYTES	(256 * 1024)	/* power of two, >= page */
#endif

/* Every reason but plain forwarding and passing is an event (and a
 * per-service reason count), forwarded-syn-retry included (a SYN second
 * chance is worth seeing): bit r set = reason r. */
#define HL_EVENT_REASONS						\
	(~((1ull << HL_REASON_FORWARDED) | (1ull << HL_REASON_PASS_NOT_IP) | \
	   (1ull << HL_REASON_PASS_NOT_SERVICE) |			\
	   (1ull << HL_REASON_PASS_FRAGMENT) |				\
	   (1ull << HL_REASON_FWD_NAT_REPLY) |				\
	   (1ull << HL_REASON_FWD_NAT_ICMP) |				\
	   (1ull << HL_REASON_FWD_RYW)))

_Static_assert(HL_REASON_MAX <= 64, "HL_EVENT_REASONS is one 64-bit mask");
_Static_assert(sizeof(struct hl_monitor) == 16, "hl_monitor");
_Static_assert(sizeof(struct hl_mon_cpu) == 56, "hl_mon_cpu");
_Static_assert(sizeof(struct hl_event) == 72, "hl_event");

/* ---- planned switchover (issue 14) ---- */

/*
 * `helios-agent switchover SVC to ADDR`: while a service has
 * HL_SVC_F_SWITCHOVER and now is before until_ns, its new flows are held
 * (counted as held-switchover) while user space counts the flows still
 * open (the clients' FINs and RSTs, noted for every service); with
 * HL_SWO_F_RESET its established flows get an RST (reset-switchover). The deadline is a lease the command renews
 * while it runs: a command that dies leaves a hold that ends by itself.
 * The array `switchover`, by service id; written by user/lib/services.c.
 */
#define HL_SWO_F_RESET		(1u << 0)	/* drain time over: RST flows */

struct hl_switchover {
	__u64 until_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 flags;		/* HL_SWO_F_* */
	__u32 pad;
};

/* ---- workload pools (issue 14) ---- */

/*
 * A standby's pool, from pg_stat_replication.sync_state on its primary
 * (hl_node.eff_pool, written by the agent). A client class can name a pool
 * per read service (`class pool NAME SVC sync|async`): the hash map
 * `class_pools`, (service id, class id) -> __u8 enum hl_pool. The array
 * `pool_lists` holds, at svc_id * HL_POOL_LISTS + pool - 1, the usable
 * nodes of each pool, and at + HL_POOL_LISTS - 1 the service's primary
 * (`fallback primary` for a class whose pool is empty); built by user
 * space (tables.c) for services with HL_SVC_O_POOLS only.
 */
enum hl_pool {
	HL_POOL_ANY	= 0,	/* no pool: the service's own pick */
	HL_POOL_SYNC	= 1,	/* sync (or quorum) standbys */
	HL_POOL_ASYNC	= 2,	/* async (or potential) standbys */
};
#define HL_POOL_LISTS		3	/* sync, async, the primary */

struct hl_class_pool_key {
	__u32 svc_id;
	__u32 class_id;
};

/* Layout checks, run by both compilers. */
_Static_assert(sizeof(struct hl_svc_key) == 20, "hl_svc_key");
_Static_assert(sizeof(struct hl_service) == 48, "hl_service");
_Static_assert(sizeof(struct hl_snat) == 8 + 16 * HL_SNAT_MAX, "hl_snat");
_Static_assert(sizeof(struct hl_nat) == 80, "hl_nat");
_Static_assert(__builtin_offsetof(struct hl_nat, dir) % 4 == 0,
	       "hl_nat: dir, seen, flags must be one aligned 32-bit word");
_Static_assert(sizeof(struct hl_nat_nh) == 48, "hl_nat_nh");
_Static_assert(sizeof(struct hl_nat_dsts) == 8 + 20 * HL_NAT_DSTS,
	       "hl_nat_dsts");
_Static_assert(__builtin_offsetof(struct hl_service, strategy) == 12,
	       "hl_service.strategy");
_Static_assert(sizeof(struct hl_node) == 56, "hl_node");
_Static_assert(sizeof(struct hl_ryw) == 16, "hl_ryw");
_Static_assert(__builtin_offsetof(struct hl_node, zone) == 32, "hl_node.zone");
_Static_assert(sizeof(struct hl_nexthop) == 48, "hl_nexthop");
_Static_assert(__builtin_offsetof(struct hl_nexthop, updated_ns) == 40,
	       "hl_nexthop.updated_ns");
_Static_assert(sizeof(struct hl_flow_key) == 40, "hl_flow_key");
#ifdef HL_FLOW_TEST_LAYOUT
_Static_assert(sizeof(struct hl_flow) == 24, "hl_flow");
#else
_Static_assert(sizeof(struct hl_flow) == 20, "hl_flow");
#endif
_Static_assert(sizeof(struct hl_svc_slot) == 72, "hl_svc_slot");
_Static_assert(sizeof(struct hl_retry_window) == 24, "hl_retry_window");
_Static_assert(sizeof(struct hl_counters) == 40, "hl_counters");
_Static_assert(sizeof(struct hl_vip_key) == 20, "hl_vip_key");
_Static_assert(sizeof(struct hl_health) == 56, "hl_health");
_Static_assert(sizeof(struct hl_settings) == 72, "hl_settings");
_Static_assert(sizeof(struct hl_node_list) == 8 + 12 * HL_SEL_MAX,
	       "hl_node_list");
_Static_assert(sizeof(struct hl_bucket) == 24, "hl_bucket");
_Static_assert(sizeof(struct hl_limits) == 96, "hl_limits");
_Static_assert(__builtin_offsetof(struct hl_limits, client_plen4) == 88,
	       "hl_limits.client_plen4");
_Static_assert(sizeof(struct hl_client_key) == 24, "hl_client_key");
_Static_assert(sizeof(struct hl_limit_stats) == 16 * HL_LIMIT_MAX,
	       "hl_limit_stats");
_Static_assert(sizeof(struct hl_class_key) == 24, "hl_class_key");
_Static_assert(sizeof(struct hl_class) == 48, "hl_class");
_Static_assert(__builtin_offsetof(struct hl_class, shed_order) == 44,
	       "hl_class.shed_order (was padding: 0 keeps the old meaning)");
_Static_assert(sizeof(struct hl_switchover) == 16, "hl_switchover");
_Static_assert(sizeof(struct hl_class_pool_key) == 8, "hl_class_pool_key");
_Static_assert(__builtin_offsetof(struct hl_node, eff_pool) == 31, "hl_node.eff_pool");

/* ---- drops by reason per node (issue 11) ---- */

/* Per-CPU verdict counts of each node (`node_reasons`, by node id): the
 * HL_EVENT_REASONS verdicts of packets whose node was known (a drop after
 * the pick: no route, encapsulation, too-big, NAT; a SYN second chance;
 * the reset of a flow its node, still there, no longer keeps). Indexed by
 * reason, so a new reason changes its size: bump its layout. */
struct hl_node_reasons {
	__u64 count[HL_REASON_MAX];
};

/*
 * Layout version of every pinned map of the director. A change to a map's
 * type, key, value or size bumps its number here; `helios-agent upgrade`
 * reuses a pinned map only at the same number, migrates it when
 * user/lib/upgrade.c has a migration between the two numbers, and refuses
 * otherwise. The numbers of the maps in use are pinned with them, in the
 * map `layout` (HACKING.md, "Upgrades"). Never reuse a number.
 */
/* Layout 2: services, nodes and health grew (fencing, read-your-writes),
 * slots holds two tables a service (hl_slots_key), conntrack entries carry
 * the generation. No migrations from 1 (HACKING.md, "Upgrades"). */
/* Layout 3: conntrack is sharded (HL_CT_SHARDS); user/lib/upgrade.c
 * migrates layout 2's one table into the shards. */
#ifdef HL_FLOW_TEST_LAYOUT
#define HL_LAYOUT_CONNTRACK	4	/* test build: struct hl_flow grew */
#else
#define HL_LAYOUT_CONNTRACK	3
#endif

#define HL_LAYOUTS(X)					\
	X(services, 2)	X(nodes, 2)	X(nexthops, 1)		\
	X(slots, 2)	X(conntrack, HL_LAYOUT_CONNTRACK)	\
	X(svc_stats, 1)	X(node_stats, 1) X(reasons, 1)		\
	X(retry_window, 1) X(free_ports, 1) X(settings, 1)	\
	X(health, 2)	X(node_lists, 1) X(node_active, 1)	\
	X(svc_active, 1) X(wrr_cursor, 1) X(limits, 1)		\
	X(clients, 1)	X(class_prefixes, 1) X(classes, 1)	\
	X(limit_stats, 1) X(class_stats, 1) X(sweeper, 1)	\
	X(sweep_counts, 1) X(nat, 1)	X(snat_addrs, 1)	\
	X(nat_dsts, 1)	X(nat_nexthops, 1) X(nat_active, 1)	\
	X(nat_scratch, 1) X(nat_sweeper, 1) X(ryw, 1)	\
	X(ryw_clients, 1) X(svc_reasons, 1) X(events, 1)	\
	X(monitor, 1)	X(mon_cpu, 1)	X(switchover, 1)	\
	X(class_pools, 1) X(pool_lists, 1) X(node_reasons, 1)	\
	X(svc_by_id, 1) X(free_vips, 1) X(nat_ports, 1) X(ct_counts, 1)

/* The map `layout`: map name (NUL-padded) -> its layout number; the key
 * HL_LAYOUT_BUILD holds a hash of the BPF object the program came from,
 * HL_LAYOUT_DIRTY the writers' journal (user/lib/store.c). */
#define HL_LAYOUT_NAME_LEN	16	/* BPF_OBJ_NAME_LEN */
#define HL_LAYOUT_BUILD		"@build"
#define HL_LAYOUT_DIRTY		"@dirty"	/* a writer holds, or died holding, the lock */
#define HL_LAYOUT_MAX		64

/*
 * Per-stage ablation, for bench/pktcost's breakdown only: a director built
 * with -DHL_BENCH_ABLATE (never installed) has hl_ablate in .rodata, and
 * each bit set there skips one piece of per-packet work. Production
 * builds compile every test out (bpf/lib/common.h, hl_skip()).
 */
enum hl_ablate {
	HL_AB_REPLY	= 1u << 0,	/* NAT reply stage (nat_dsts test) */
	HL_AB_RYW	= 1u << 1,	/* read-your-writes note */
	HL_AB_FLOW	= 1u << 2,	/* established: closed-SYN, fencing,
					 * FIN/RST, TCP trouble, SYN retry */
	HL_AB_COUNTERS	= 1u << 3,	/* service/node packet and flow counters */
	HL_AB_VERDICT	= 1u << 4,	/* reason counter and monitor events */
	HL_AB_CSUM	= 1u << 5,	/* outer IPv4 header checksum */
	HL_AB_ADMIT	= 1u << 6,	/* new flow: hold, limits, pools, ryw */
	HL_AB_STRATEGY	= 1u << 7,	/* new flow: strategy pick (node 0) */
	HL_AB_TIME	= 1u << 8,	/* new flow: next-hop age (clock read) */
	HL_AB_INSERT	= 1u << 9,	/* new flow: connection-table insert */
};

#endif /* HELIOS_ABI_H */
