/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Nodes: the only code that writes the nodes and nexthops maps. Operators
 * write the admin fields (weight, role, zone), the agent the effective
 * ones (health flags, effective scale and role); neither overwrites the
 * other. st->nodes is a snapshot of the whole array (nodes_load()).
 */
#ifndef HELIOS_LIB_NODES_H
#define HELIOS_LIB_NODES_H

#include <stdbool.h>
#include <helios/abi.h>

#include "lib/options.h"
#include "lib/parse.h"
#include "lib/store.h"

/* The node flags the agent owns. */
#define HL_NODE_F_EFFECTIVE	(HL_NODE_F_DEGRADED | HL_NODE_F_TRANSITIONING | \
				 HL_NODE_F_UNHEALTHY | HL_NODE_F_AGENT)

/* weight, role, zone: the admin fields operators set, over struct hl_node. */
extern const struct opt node_admin_opts[];

int nodes_load(struct store *st);
int node_find(struct store *st, __u32 svc_id, const struct ip_addr *addr);
/* Node `addr`:`port` of the service whose id and port are `svc_id` and
 * `svc_port`; a port 0 (given, or the node's) is the service's. Returns
 * the id, or -ENOENT. */
int node_find_port(struct store *st, __u32 svc_id, __be16 svc_port,
		   const struct ip_addr *addr, __be16 port);
/* How many nodes of the service are at `addr`, whatever their port; the
 * first one's id in *first (-ENOENT when none). */
unsigned int node_count_at(struct store *st, __u32 svc_id,
			   const struct ip_addr *addr, int *first);
unsigned int node_count(struct store *st, __u32 svc_id);

/* Add `node` (address, port, admin fields) to the service; without
 * `rebuild` the caller rebuilds once after many adds (svc_rebuild).
 * Returns the new node's id. A port of its own only on a nat service; on
 * a nat service a source address for it (svc_nat_sources_check). */
int node_add(struct store *st, const struct hl_svc_key *key,
	     const struct hl_node *node, bool rebuild);
/* Admin: weight, role and zone of node `id` from `admin`; rebuilds. */
int node_set_admin(struct store *st, __u32 id, const struct hl_node *admin);
int node_del(struct store *st, __u32 id);

/* The agent's verdict on one node. */
struct node_effective {
	__u32 id;
	__u32 flags;		/* within HL_NODE_F_EFFECTIVE */
	__u16 scale;		/* per-mille of the admin weight */
	__u8 role;		/* enum hl_role the probes found */
	__u8 pool;		/* enum hl_pool: sync_state on the primary */
};

/* Effective: write the verdicts for service `svc_id`'s nodes (ids of other
 * services or gone nodes are skipped), rebuild its tables once when any
 * changed. Returns how many nodes changed, or -errno. */
int nodes_set_effective(struct store *st, __u32 svc_id,
			const struct node_effective *eff, unsigned int count);

/*
 * Effective: how far node `id` of service `svc_id` had replayed
 * (hl_node.synced_ms), for read-your-writes. Written on every probe, so
 * it touches nothing else and rebuilds nothing. 0, -ENOENT when the node
 * is not the service's, or -errno.
 */
int nodes_set_synced(struct store *st, __u32 svc_id, __u32 id,
		     __u32 synced_ms);

/* Resolve node `id`'s next hop again (route or neighbour changed). */
int node_nexthop_refresh(struct store *st, __u32 id);

const char *node_state(const struct hl_node *node);

#endif /* HELIOS_LIB_NODES_H */
