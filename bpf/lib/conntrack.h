/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connection table: client 5-tuple -> node. It keeps a flow on its node
 * while the Maglev table changes under it (weights, nodes added, drains).
 */
#ifndef HELIOS_BPF_CONNTRACK_H
#define HELIOS_BPF_CONNTRACK_H

#include "maps.h"

/* The key's shard (abi.h), NULL until user space has created it. */
static __always_inline void *ct_shard(const struct hl_flow_key *key)
{
	__u32 shard = hl_ct_shard(key);

	return bpf_map_lookup_elem(&conntrack, &shard);
}

static __always_inline struct hl_flow *ct_lookup(const struct hl_flow_key *key)
{
	void *shard = ct_shard(key);

	return shard ? bpf_map_lookup_elem(shard, key) : NULL;
}

static __always_inline void ct_delete(const struct hl_flow_key *key)
{
	void *shard = ct_shard(key);

	if (shard)
		bpf_map_delete_elem(shard, key);
}

/* A counted flow of `key` joins (+1) or leaves (-1) its shard's count of
 * the node; the caller changes node_active alike (sweep.h). */
static __always_inline void ct_count_add(const struct hl_flow_key *key,
					 __u32 node_id, __s32 d)
{
	__u32 k = hl_ct_count_key(hl_ct_shard(key), node_id);
	__s32 *c = bpf_map_lookup_elem(&ct_counts, &k);

	if (c)
		__sync_fetch_and_add(c, d);
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

	void *shard = ct_shard(key);

	if (!shard)
		return -1;
	return bpf_map_update_elem(shard, key, &flow, BPF_ANY);
}

#endif /* HELIOS_BPF_CONNTRACK_H */
