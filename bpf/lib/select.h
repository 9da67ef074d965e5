/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backend choice: which node may keep a flow, which may take a new one, and
 * the Maglev lookup for new flows.
 */
#ifndef HELIOS_BPF_SELECT_H
#define HELIOS_BPF_SELECT_H

#include "maps.h"

/*
 * A flow stays on its node while the node exists, still belongs to the
 * service (node ids are reused) and is not unhealthy. Degraded and
 * transitioning nodes keep their flows: that is what draining means.
 * The family must match: we only do 4-in-4 and 6-in-6.
 */
static __always_inline bool node_keeps_flow(const struct hl_node *node,
					    const struct hl_service *svc,
					    __u8 family)
{
	return (node->flags & (HL_NODE_F_EXISTS | HL_NODE_F_UNHEALTHY)) ==
		       HL_NODE_F_EXISTS &&
	       node->svc_id == svc->id && node->family == family;
}

/* New flows also avoid transitioning nodes (e.g. a primary being demoted).
 * Degraded nodes still take new flows; user space lowers their weight. */
static __always_inline bool node_takes_flow(const struct hl_node *node,
					    const struct hl_service *svc,
					    __u8 family)
{
	return (node->flags & (HL_NODE_F_EXISTS | HL_NODE_F_TRANSITIONING |
			       HL_NODE_F_UNHEALTHY)) == HL_NODE_F_EXISTS &&
	       node->svc_id == svc->id && node->family == family;
}

/* Slot `slot` of the service's current table (no modulo: the caller's). */
static __always_inline __u32 table_slot(const struct hl_service *svc,
					__u32 slot)
{
	__u32 key = hl_slots_key(svc->id, svc->table), *node_id;
	void *table;

	table = bpf_map_lookup_elem(&slots, &key);
	if (!table)
		return HL_NODE_NONE;
	node_id = bpf_map_lookup_elem(table, &slot);
	return node_id ? *node_id : HL_NODE_NONE;
}

/* Maglev: slot = hash % ring_size of the service's current table. Returns
 * HL_NODE_NONE when the service has no table or the slot is empty. */
static __always_inline __u32 maglev_pick(const struct hl_service *svc,
					 __u32 hash)
{
	if (!svc->ring_size)
		return HL_NODE_NONE;
	return table_slot(svc, hash % svc->ring_size);
}

#endif /* HELIOS_BPF_SELECT_H */
