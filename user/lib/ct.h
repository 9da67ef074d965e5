/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection table from user space: HL_CT_SHARDS LRU hashes in the
 * array of maps `conntrack` (include/helios/abi.h), a flow in the shard
 * hl_ct_shard() names. Whoever creates `conntrack` creates its shards
 * (ct_shards_create); a shard missing is a miss for the data path.
 */
#ifndef HELIOS_LIB_CT_H
#define HELIOS_LIB_CT_H

#include <helios/abi.h>

#include "lib/conns.h"

/* Create and insert every missing shard: LRU hashes of `entries` flows,
 * of `value_size` bytes each (struct hl_flow of the program's build). */
int ct_shards_create(int ct_fd, __u32 entries, __u32 value_size);
/* A new fd of shard `shard`, or -errno (-ENOENT: none). */
int ct_shard_fd(int ct_fd, __u32 shard);
/* The entry of `key` (0), or -errno (-ENOENT: none). */
int ct_get(int ct_fd, const struct hl_flow_key *key, void *flow);
int ct_put(int ct_fd, const struct hl_flow_key *key, const void *flow,
	   __u64 flags);
int ct_del(int ct_fd, const struct hl_flow_key *key);
/* Node `node_id` counted in no shard (a new node on a freed id). */
int ct_counts_zero(int counts_fd, __u32 node_id);
/* fn over every entry of every shard, values of `value_size` bytes. */
int ct_for_each(int ct_fd, __u32 value_size, map_entry_fn fn, void *data);

#endif /* HELIOS_LIB_CT_H */
