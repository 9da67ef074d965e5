/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Access to the pinned maps under --bpffs DIR: opening (and creating on first
 * use), the writers' lock, and the service/node operations that keep the
 * Maglev tables in step with the nodes.
 */
#ifndef HELIOS_STORE_H
#define HELIOS_STORE_H

#include <stdbool.h>
#include <helios/abi.h>

#include "parse.h"

enum store_map {
	MAP_SERVICES,
	MAP_NODES,
	MAP_NEXTHOPS,
	MAP_MAGLEV,
	MAP_CONNTRACK,
	MAP_SVC_STATS,
	MAP_NODE_STATS,
	MAP_REASONS,
	MAP_SETTINGS,
	MAP_SEL,
	MAP_NODE_ACTIVE,
	MAP_SVC_ACTIVE,
	MAP_LIMITS,
	MAP_CLASS_PREFIXES,
	MAP_CLASSES,
	MAP_LIMIT_STATS,
	MAP_CLASS_STATS,
	MAP_FREE_PORTS,
	MAP_COUNT
};

extern const char *const store_map_names[MAP_COUNT];

struct store {
	char dir[4096];
	int dir_fd;		/* flock()ed: one writer at a time */
	int fds[MAP_COUNT];
	int prog_fd;		/* the XDP program, -1 until needed */
	struct hl_node *nodes;	/* snapshot of the nodes array */
};

#define PROG_PIN	"xdp_prog"

/* Open the pinned state; with `create`, mount bpffs and load/pin the program
 * and maps if they are not there yet. Takes the lock (exclusive for writers).
 * Returns -ENOENT when nothing is pinned and create is false. */
int store_open(struct store *st, bool create);
void store_close(struct store *st);

int bpffs_prepare(const char *dir);
int store_pin_path(const struct store *st, const char *name, char *buf,
		   size_t len);

/* Services. */
int store_ports_sync(struct store *st);
int store_service_find(struct store *st, const struct hl_svc_key *key,
		       struct hl_service *svc);
int store_service_add(struct store *st, const struct hl_svc_key *key,
		      __u32 ring_size);
/* `tpl` gives ring_size and the admin fields (strategy, hash,
 * bounded_load, opts); the id is chosen here. */
int store_service_add_cfg(struct store *st, const struct hl_svc_key *key,
			  const struct hl_service *tpl);
/* Write a service's admin fields (keeping the agent's flags), rebuild. */
int store_service_update(struct store *st, const struct hl_svc_key *key,
			 const struct hl_service *svc);
int store_service_del(struct store *st, const struct hl_svc_key *key);

/* Nodes; the snapshot in st->nodes is refreshed by store_nodes_load(). */
int store_nodes_load(struct store *st);
int store_node_find(struct store *st, __u32 svc_id, const struct ip_addr *addr);
unsigned int store_node_count(struct store *st, __u32 svc_id);
/* Without `rebuild` the caller rebuilds the table once after many adds. */
int store_node_add(struct store *st, const struct hl_svc_key *key,
		   const struct hl_node *node, bool rebuild);
int store_node_update(struct store *st, __u32 id, const struct hl_node *node);
int store_node_del(struct store *st, __u32 id);
int store_nexthop_refresh(struct store *st, __u32 id);

/* Rebuild a service's table off to the side and swap it in. */
int store_rebuild(struct store *st, const struct hl_service *svc);

/* Per-CPU admitted/dropped per limit, summed (limit_stats/class_stats). */
int store_limit_stats(struct store *st, enum store_map map, __u32 id,
		      struct hl_limit_stats *sum);

/* Per-CPU counters summed over CPUs. */
int store_counters(struct store *st, enum store_map map, __u32 id,
		   struct hl_counters *sum);
int store_reasons(struct store *st, __u64 counts[HL_REASON_MAX]);

const char *node_state(const struct hl_node *node);
bool node_usable_for_new(const struct hl_node *node);
/* The weight a node's slots are built with: admin weight, scaled by the
 * agent's effective scale, 0 when not usable for new flows. */
__u32 node_table_weight(const struct hl_node *node);

#endif /* HELIOS_STORE_H */
