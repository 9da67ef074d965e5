/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pinned state under --bpffs DIR: the XDP program and every map of its
 * skeleton, opened (and created and pinned on first use) with the writers'
 * lock held. Reading and writing the state is for services.h, nodes.h,
 * tables.h and counters.h; this file only opens and closes.
 */
#ifndef HELIOS_LIB_STORE_H
#define HELIOS_LIB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <helios/abi.h>

/*
 * The maps user space opens, by their names in bpf/lib/maps.h. The names
 * are checked against the skeleton when lib/store.c is compiled, so a map
 * renamed on one side only breaks the build.
 */
#define HL_STORE_MAPS(X)		\
	X(SERVICES,	services)	\
	X(NODES,	nodes)		\
	X(NEXTHOPS,	nexthops)	\
	X(SLOTS,	slots)		\
	X(CONNTRACK,	conntrack)	\
	X(SVC_STATS,	svc_stats)	\
	X(NODE_STATS,	node_stats)	\
	X(REASONS,	reasons)	\
	X(SETTINGS,	settings)	\
	X(NODE_LISTS,	node_lists)	\
	X(NODE_ACTIVE,	node_active)	\
	X(SVC_ACTIVE,	svc_active)	\
	X(LIMITS,	limits)		\
	X(CLASS_PREFIXES, class_prefixes) \
	X(CLASSES,	classes)	\
	X(LIMIT_STATS,	limit_stats)	\
	X(CLASS_STATS,	class_stats)	\
	X(FREE_PORTS,	free_ports)	\
	X(HEALTH,	health)		\
	X(NAT,		nat)		\
	X(SNAT_ADDRS,	snat_addrs)	\
	X(RYW,		ryw)		\
	X(RYW_CLIENTS,	ryw_clients)	\
	X(SVC_REASONS,	svc_reasons)	\
	X(EVENTS,	events)		\
	X(MONITOR,	monitor)	\
	X(MON_CPU,	mon_cpu)	\
	X(SWITCHOVER,	switchover)	\
	X(CLASS_POOLS,	class_pools)	\
	X(POOL_LISTS,	pool_lists)	\
	X(NODE_REASONS,	node_reasons)	\
	X(SVC_BY_ID,	svc_by_id)	\
	X(FREE_VIPS,	free_vips)	\
	X(NAT_PORTS,	nat_ports)	\
	X(CT_COUNTS,	ct_counts)

enum store_map {
#define STORE_MAP_ENUM(id, name) MAP_##id,
	HL_STORE_MAPS(STORE_MAP_ENUM)
#undef STORE_MAP_ENUM
	MAP_COUNT
};

extern const char *const store_map_names[MAP_COUNT];

struct store {
	char dir[4096];
	int dir_fd;		/* flock()ed: one writer at a time */
	int lock_depth;		/* store_lock() nests */
	bool lock_excl;
	int fds[MAP_COUNT];
	int prog_fd;		/* the XDP program */
	int meta_fd;		/* the map `layout` (upgrade.h), or -1 */
	struct hl_node *nodes;	/* snapshot of the nodes array (nodes_load) */
	/* when this process last flipped each service's table (tables.c) */
	__u64 table_flipped_ns[HL_MAX_SERVICES];
};

#define PROG_PIN	"xdp_prog"

/*
 * Open the pinned state in `dir`; with `create`, mount bpffs and load/pin
 * the program and maps if they are not there yet. Takes the lock
 * (exclusive with create, shared otherwise) and keeps it until
 * store_close() or store_unlock(). -ENOENT: nothing pinned, no create.
 */
int store_open(struct store *st, const char *dir, bool create);
void store_close(struct store *st);
/* store_open(create) without the check that the pinned maps have this
 * build's layouts: for attach and upgrade, which bring them to it. */
int store_open_any(struct store *st, const char *dir);
/* Open every pin again (after an upgrade replaced some). */
int store_reopen(struct store *st);
struct helios_xdp;
/* Run the program's nat_sweep_setup (bpf/lib/nat_sweep.h); warns. */
void store_nat_sweep_setup(struct helios_xdp *skel);
/* Every writer locks around its work; the locks nest, so a CLI command
 * that opened with create holds one lock from check to write, and the
 * agent, which unlocks after opening, locks per commit. */
int store_lock(struct store *st, bool exclusive);
void store_unlock(struct store *st);

int store_pin_path(const struct store *st, const char *name, char *buf,
		   size_t len);

#endif /* HELIOS_LIB_STORE_H */
