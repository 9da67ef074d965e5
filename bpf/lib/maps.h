/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map of the BPF programs. User space opens them by these names from
 * their pins, so names and types are part of the ABI (include/helios/abi.h).
 *
 * Two programs share these headers, and each must create only its own
 * maps: libbpf creates every map an object defines, used or not. The TC
 * decap program runs on every backend; with the director's maps it would
 * allocate a preallocated 1M-entry connection table there for nothing, and
 * the director would pin a decap_vips of its own under the name that
 * `decap attach` pins the backend's. So the file is in two sections, and
 * an entry file that is not the director defines the macro of its section
 * before any include:
 *   (default)       the XDP director (helios_xdp.bpf.c)
 *   HL_MAPS_DECAP   the backend's TC decap program (helios_decap.bpf.c)
 */
#ifndef HELIOS_BPF_MAPS_H
#define HELIOS_BPF_MAPS_H

#include "common.h"

#ifdef HL_MAPS_DECAP

/* ======== backend: TC decap ======== */

#ifndef HL_DECAP_VIPS
#define HL_DECAP_VIPS		256
#endif

/* VIP -> packets decapsulated (shared across CPUs: atomic adds). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct hl_vip_key);
	__type(value, __u64);
	__uint(max_entries, HL_DECAP_VIPS);
} decap_vips SEC(".maps");

#else /* !HL_MAPS_DECAP */

/* ======== director: XDP ======== */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct hl_svc_key);
	__type(value, struct hl_service);
	__uint(max_entries, HL_MAX_SERVICES);
} services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_node);
	__uint(max_entries, HL_MAX_NODES);
} nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_nexthop);
	__uint(max_entries, HL_MAX_NODES);
} nexthops SEC(".maps");

/*
 * Per-service slot table: slot -> node id, for every strategy (a Maglev
 * ring, the smooth-WRR sequence, the weighted slots random and p2c draw
 * from). BPF_F_INNER_MAP lets inner maps of any max_entries (each
 * service's ring_size or sequence length) sit in the outer map. Two per
 * service (hl_slots_key): user space writes the one not in use and then
 * flips the service's `table`, so the data path never sees a half-written
 * table. The template's size only matters to libbpf while creating the
 * outer map.
 */
struct slot_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, HL_SLOTS_INNER_FLAGS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, HL_MAX_SERVICES * HL_SLOTS_TABLES);
	__array(values, struct slot_table);
} slots SEC(".maps");

/* LRU: a director under a flow flood forgets the oldest flows, which the
 * Maglev table then routes to the same node anyway while it is unchanged.
 * Sizes, not BTF types: this clang leaves struct hl_flow a forward
 * declaration in an inner map's definition, which libbpf cannot size. */
struct ct_shard {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(key_size, sizeof(struct hl_flow_key));
	__uint(value_size, sizeof(struct hl_flow));
	__uint(max_entries, HL_CT_SHARD_ENTRIES);
};

/* Sharded (abi.h, HL_CT_SHARDS): user space creates the shards when it
 * creates this map (user/lib/ct.c); a missing one is a miss. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, HL_CT_SHARDS);
	__array(values, struct ct_shard);
} conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_counters);
	__uint(max_entries, HL_MAX_SERVICES);
} svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_counters);
	__uint(max_entries, HL_MAX_NODES);
} node_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, HL_REASON_MAX);
} reasons SEC(".maps");

/* SYN second-chance budget windows, per service and CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_retry_window);
	__uint(max_entries, HL_MAX_SERVICES);
} retry_window SEC(".maps");

/* One bit per port that no service uses (bit port % 64 of word port / 64,
 * port in host order): traffic to those ports is passed without the
 * services hash lookup. A clear bit only means "look it up", so a map that
 * was never filled costs speed, never correctness. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 65536 / 64);
} free_ports SEC(".maps");

/* Destination-address buckets no VIP falls in (hl_vip_bucket(), abi.h):
 * passed like free ports; a clear bit only means "look it up". */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, HL_VIP_BUCKETS / 64);
} free_vips SEC(".maps");

/* Ports of NAT services only (abi.h): no connection-table lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 65536 / 64);
} nat_ports SEC(".maps");

/* Written and read by user space only; defined here so that it is created
 * and pinned with the other maps. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_settings);
	__uint(max_entries, 1);
} settings SEC(".maps");

/* The agent's last judgement per node (struct hl_health, by node id):
 * written and read by user space only, so that `health` and a restarted
 * agent see it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_health);
	__uint(max_entries, HL_MAX_NODES);
} health SEC(".maps");

/* ---- selection strategies ---- */

/* Usable nodes per service (rendezvous, lc, bounded-load), by service id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_node_list);
	__uint(max_entries, HL_MAX_SERVICES);
} node_lists SEC(".maps");

/* Active flows per node and per service (lc, p2c, bounded-load): +1 on a
 * connection-table insert, -1 when a FIN or RST of the flow is first seen.
 * Shared by all CPUs: atomic adds. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, HL_MAX_NODES);
} node_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, HL_MAX_SERVICES);
} svc_active SEC(".maps");

/* Smooth-WRR cursor per service and CPU: each CPU walks the sequence. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, HL_MAX_SERVICES);
} wrr_cursor SEC(".maps");

/* ---- rate limits ---- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_limits);
	__uint(max_entries, HL_MAX_SERVICES);
} limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct hl_client_key);
	__type(value, __u64);
	__uint(max_entries, HL_CLIENT_ENTRIES);
} clients SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct hl_class_key);
	__type(value, __u32);
	__uint(max_entries, HL_MAX_CLASSES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} class_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_class);
	__uint(max_entries, HL_MAX_CLASSES);
} classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_limit_stats);
	__uint(max_entries, HL_MAX_SERVICES);
} limit_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_limit_stats);
	__uint(max_entries, HL_MAX_CLASSES);
} class_stats SEC(".maps");

/* ---- read-your-writes (ryw.h) ---- */

/* Per read service (struct hl_ryw), by service id: written by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_ryw);
	__uint(max_entries, HL_MAX_SERVICES);
} ryw SEC(".maps");

/* Client (and write service) -> the coarse time of its last data packet
 * to the write service. LRU: a forgotten client is one that wrote long
 * ago, whose reads need no care. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct hl_client_key);
	__type(value, __u64);
	__uint(max_entries, HL_RYW_CLIENTS);
} ryw_clients SEC(".maps");

/* ---- active-flow recount (sweep.h) ---- */

struct hl_sweeper {
	struct bpf_timer timer;
	__u32 armed;
	__u32 shard;		/* the next tick's */
};

/* The timer, armed by the first counted flow. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_sweeper);
	__uint(max_entries, 1);
} sweeper SEC(".maps");

/* One shard's recount tally per node (sweep.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, HL_MAX_NODES);
} sweep_counts SEC(".maps");

/* Counted flows of each shard per node, hl_ct_count_key(): what
 * node_active holds of that shard, set right at each recount of it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s32);
	__uint(max_entries, HL_CT_SHARDS * HL_MAX_NODES);
} ct_counts SEC(".maps");

/* ---- full NAT (nat.h, nat_icmp.h, nat_sweep.h) ---- */

/*
 * The NAT table (struct hl_nat, abi.h): two entries a flow. A plain hash,
 * not an LRU: an LRU would evict established flows under a flood, and a
 * lost entry is a broken connection; full, it refuses new flows
 * (dropped-nat-table-full). Preallocated, so an insert on the packet
 * path takes a free element and never allocates.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct hl_flow_key);
	__type(value, struct hl_nat);
	__uint(max_entries, 2 * HL_NAT_FLOWS);
} nat SEC(".maps");

/* SNAT addresses per service (struct hl_snat), by service id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_snat);
	__uint(max_entries, HL_MAX_SERVICES);
} snat_addrs SEC(".maps");

/* The reply stage's first test (struct hl_nat_dsts, abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_nat_dsts);
	__uint(max_entries, 1);
} nat_dsts SEC(".maps");

/* Next hops towards NAT clients (struct hl_nat_nh, abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_nat_nh);
	__uint(max_entries, HL_NAT_NH_SLOTS);
} nat_nexthops SEC(".maps");

/* NAT flows per node, exact (+1 at the insert, -1 at the close or the
 * expiry): the active-flow recount (sweep.h) adds them to the flows it
 * counts in the connection table, where NAT flows are not. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, HL_MAX_NODES);
} nat_active SEC(".maps");

/* A new NAT flow's two entries are built here, not on the stack: with
 * them there the program's stack and select_node()'s passed the 512
 * bytes a program may use. */
struct hl_nat_scratch {
	struct hl_flow_key rkey;
	struct hl_nat rep;
	struct hl_nat fwd;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_nat_scratch);
	__uint(max_entries, 1);
} nat_scratch SEC(".maps");

struct hl_nat_sweeper {
	struct bpf_timer timer;
	struct bpf_wq wq;	/* the walk in process context */
	__u32 armed;		/* the timer runs */
	__u32 wq_ready;		/* nat_sweep_setup gave wq its callback */
};

/* The expiry timer and work item (nat_sweep.h); the timer is armed by
 * the first NAT flow. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_nat_sweeper);
	__uint(max_entries, 1);
} nat_sweeper SEC(".maps");

/* ---- events for `helios-agent monitor` and per-service reasons (events.h) ---- */

/* Verdict reasons per service (not forwarded/passed ones: those are the
 * service's packets), key svc_id * HL_REASON_MAX + reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, HL_MAX_SERVICES * HL_REASON_MAX);
} svc_reasons SEC(".maps");

/* Sampled data-path events (struct hl_event) while a monitor runs. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, HL_EVENT_RING_BYTES);
} events SEC(".maps");

/* The monitor's switch and sampling (struct hl_monitor). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_monitor);
	__uint(max_entries, 1);
} monitor SEC(".maps");

/* The emitter's per-CPU state and counts (struct hl_mon_cpu). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_mon_cpu);
	__uint(max_entries, 1);
} mon_cpu SEC(".maps");

/* Planned switchover holds, by service id (struct hl_switchover, abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_switchover);
	__uint(max_entries, HL_MAX_SERVICES);
} switchover SEC(".maps");

/* Workload pools (abi.h): a class's pool per service, and the pools'
 * usable nodes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct hl_class_pool_key);
	__type(value, __u8);
	__uint(max_entries, HL_MAX_CLASSES * 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} class_pools SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_node_list);
	__uint(max_entries, HL_MAX_SERVICES * HL_POOL_LISTS);
} pool_lists SEC(".maps");

/* Verdict reasons per node (struct hl_node_reasons, events.h): 8 bytes a
 * reason, node and CPU, written only on the verdicts events.h counts. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_node_reasons);
	__uint(max_entries, HL_MAX_NODES);
} node_reasons SEC(".maps");

/* Each service by its id, with its key: a known flow's way to its service
 * (struct hl_svc_slot, abi.h; service.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_svc_slot);
	__uint(max_entries, HL_MAX_SERVICES);
} svc_by_id SEC(".maps");

#endif /* HL_MAPS_DECAP */

#endif /* HELIOS_BPF_MAPS_H */
