// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lib/ct.h"
#include "lib/log.h"

int ct_shards_create(int ct_fd, __u32 entries, __u32 value_size)
{
	__u32 shard, id;
	int fd, err;

	for (shard = 0; shard < HL_CT_SHARDS; shard++) {
		if (!bpf_map_lookup_elem(ct_fd, &shard, &id))
			continue;
		fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "ct_shard",
				    sizeof(struct hl_flow_key), value_size,
				    entries, NULL);
		if (fd < 0) {
			err = -errno;
			hl_err("cannot create connection-table shard %u: %s",
			       shard, strerror(errno));
			return err;
		}
		err = bpf_map_update_elem(ct_fd, &shard, &fd, BPF_ANY) ?
		      -errno : 0;
		close(fd);	/* `conntrack` holds it now */
		if (err) {
			hl_err("cannot insert connection-table shard %u: %s",
			       shard, strerror(-err));
			return err;
		}
	}
	return 0;
}

int ct_shard_fd(int ct_fd, __u32 shard)
{
	__u32 id;
	int fd;

	if (bpf_map_lookup_elem(ct_fd, &shard, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

int ct_get(int ct_fd, const struct hl_flow_key *key, void *flow)
{
	int fd = ct_shard_fd(ct_fd, hl_ct_shard(key)), err;

	if (fd < 0)
		return fd;
	err = bpf_map_lookup_elem(fd, key, flow) ? -errno : 0;
	close(fd);
	return err;
}

int ct_put(int ct_fd, const struct hl_flow_key *key, const void *flow,
	   __u64 flags)
{
	int fd = ct_shard_fd(ct_fd, hl_ct_shard(key)), err;

	if (fd < 0)
		return fd;
	err = bpf_map_update_elem(fd, key, flow, flags) ? -errno : 0;
	close(fd);
	return err;
}

int ct_del(int ct_fd, const struct hl_flow_key *key)
{
	int fd = ct_shard_fd(ct_fd, hl_ct_shard(key)), err;

	if (fd < 0)
		return fd;
	err = bpf_map_delete_elem(fd, key) ? -errno : 0;
	close(fd);
	return err;
}

int ct_for_each(int ct_fd, __u32 value_size, map_entry_fn fn, void *data)
{
	__u32 shard;
	int fd, err = 0;

	for (shard = 0; !err && shard < HL_CT_SHARDS; shard++) {
		fd = ct_shard_fd(ct_fd, shard);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return fd;
		err = map_for_each(fd, sizeof(struct hl_flow_key), value_size,
				   fn, data);
		close(fd);
	}
	return err;
}

int ct_counts_zero(int counts_fd, __u32 node_id)
{
	__u32 keys[HL_CT_SHARDS], count = HL_CT_SHARDS, shard;
	__s32 zeros[HL_CT_SHARDS] = {};

	for (shard = 0; shard < HL_CT_SHARDS; shard++)
		keys[shard] = hl_ct_count_key(shard, node_id);
	return bpf_map_update_batch(counts_fd, keys, zeros, &count, NULL) ?
	       -errno : 0;
}
