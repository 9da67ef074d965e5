/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connection table: client 5-tuple -> node. It keeps a flow on its node
 * while the Maglev table changes under it (weights, nodes added, drains).
 */
#ifndef HELIOS_BPF_CONNTRACK_H
#define HELIOS_BPF_CONNTRACK_H

#include "maps.h"

static __always_inline struct hl_flow *ct_lookup(const struct hl_flow_key *key)
{
	return bpf_map_lookup_elem(&conntrack, key);
}

/*
 * `gen`: the service's fencing generation (fence.h), 0 when it has none.
 * BPF_ANY: a stale entry (its node gone or unhealthy) is overwritten in
 * place. Returns 0 when the entry was written. An LRU map that cannot
 * allocate fails here; the packet still goes out, routed by the table.
 */
static __always_inline int ct_insert(const struct hl_flow_key *key,
				     __u32 node_id, __u32 hash, __u32 flags,
				     __u32 created_ms, __u32 gen)
{
	struct hl_flow flow = { .node_id = node_id, .hash = hash,
				.flags = flags, .created_ms = created_ms,
				.gen = gen };

	return bpf_map_update_elem(&conntrack, key, &flow, BPF_ANY);
}

#endif /* HELIOS_BPF_CONNTRACK_H */
