/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps of the XDP director. User space opens them by these names from their
 * pins, so names and types are part of the ABI (include/helios/abi.h).
 */
#ifndef HELIOS_BPF_MAPS_H
#define HELIOS_BPF_MAPS_H

#include "common.h"

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
 * Per-service Maglev table: slot -> node id. BPF_F_INNER_MAP lets inner maps
 * of any max_entries (each service's ring_size) sit in the outer map; user
 * space builds a new table off to the side and swaps it in with a single
 * update of `maglev`, so the data path never sees a half-written table.
 * The template's size only matters to libbpf while creating the outer map.
 */
struct maglev_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, HL_MAX_SERVICES);
	__array(values, struct maglev_ring);
} maglev SEC(".maps");

/* LRU: a director under a flow flood forgets the oldest flows, which the
 * Maglev table then routes to the same node anyway while it is unchanged. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct hl_flow_key);
	__type(value, struct hl_flow);
	__uint(max_entries, HL_CT_ENTRIES);
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

/* Written and read by user space only; defined here so that it is created
 * and pinned with the other maps. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_settings);
	__uint(max_entries, 1);
} settings SEC(".maps");

#endif /* HELIOS_BPF_MAPS_H */
