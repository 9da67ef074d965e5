/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Services: the only code that writes the services map and the maps kept
 * per service (limits, counters, tables). Admin state (strategy, hash,
 * bounded load, options, limits) comes from operators through the CLI or
 * the configuration file; effective state (the HL_SVC_F_* flags) from the
 * agent. Each writer takes the lock, writes, and rebuilds the service's
 * tables only when what it wrote changes them.
 */
#ifndef HELIOS_LIB_SERVICES_H
#define HELIOS_LIB_SERVICES_H

#include <stdbool.h>
#include <helios/abi.h>

#include "lib/options.h"
#include "lib/parse.h"
#include "lib/store.h"

/*
 * A service's admin settings as operators give them (`service add/set`,
 * the configuration file): svc_admin_opts is their option table.
 */
struct svc_admin {
	struct hl_service svc;	/* ring_size, strategy, hash, bounded_load, fwd */
	__u8 fallback;		/* enum svc_fallback */
	char ryw_of[SVC_STRLEN + 1];	/* read-your-writes: the write service */
	__u32 ryw_window_ms;	/* 0 = off */
	bool scaleout;		/* HL_SVC_O_SCALEOUT */
	bool announce;		/* not HL_SVC_O_NO_ANNOUNCE */
};

enum svc_fallback { SVC_FALLBACK_NONE, SVC_FALLBACK_PRIMARY };

extern const struct opt svc_admin_opts[];

/* "ipip", "nat", "l2": the name of an enum hl_fwd. */
const char *svc_fwd_name(__u8 fwd);

/*
 * Apply the options `seen` in `in` to `svc` and check the result as a
 * whole (bounded-load needs a hashed strategy, fallback the replica one);
 * the opts bits that follow from the strategy are set here.
 */
int svc_admin_apply(const struct svc_admin *in, opt_seen_t seen,
		    struct hl_service *svc);
/* The reverse: the admin options a pinned service has (config dump). */
void svc_admin_read(struct store *st, const struct hl_service *svc,
		    struct svc_admin *out);

/*
 * Why `svc` cannot keep a flow on its node when the flow moves to another
 * director (ECMP rehash): its pick depends on per-director state (a
 * cursor, random draws, active counts) or on the director's zone. NULL
 * for the strategies that depend on the flow and the node set alone.
 */
const char *svc_scaleout_problem(const struct hl_service *svc);

int svc_find(struct store *st, const struct hl_svc_key *key,
	     struct hl_service *svc);
/* Write every service's copy by id (`svc_by_id`) again: after an upgrade
 * created that map. 0 or -errno. */
int svc_copies_sync(struct store *st);
int svc_find_id(struct store *st, __u32 id, struct hl_svc_key *key,
		struct hl_service *svc);

typedef int (*svc_iter_fn)(struct store *st, const struct hl_svc_key *key,
			   const struct hl_service *svc, void *data);
/* Call fn for every service, in map order; stops at fn's first error. */
int svc_for_each(struct store *st, svc_iter_fn fn, void *data);

/* Add a service: `tpl` gives ring_size and the admin fields; the id is
 * chosen here. -EEXIST when it exists. */
int svc_add(struct store *st, const struct hl_svc_key *key,
	    const struct hl_service *tpl);
/* Admin: strategy, hash, bounded_load, fwd and opts from `admin`; rebuilds.
 * A change of fwd is refused while the service has live flows (-EBUSY),
 * to ipip or l2 while a node has a port of its own, to nat while a node
 * has no source address (svc_nat_sources_check). */
int svc_set_admin(struct store *st, const struct hl_svc_key *key,
		  const struct hl_service *admin);
/*
 * Admin: the service's SNAT addresses (snat_addrs), count 0 for none (the
 * egress address of each node's next hop). At most HL_SNAT_MAX, of the
 * service's family, none twice; a nat service then needs a source for
 * every node (svc_nat_sources_check).
 */
int svc_set_snat(struct store *st, const struct hl_svc_key *key,
		 const struct hl_snat *snat);
int svc_snat_get(struct store *st, __u32 id, struct hl_snat *snat);
/*
 * A nat service needs a source address for each node (of node `only`, or
 * of all when it is -1): `snat`'s addresses, or when it has none the
 * source of the node's next hop. 0, or -EADDRNOTAVAIL naming the first
 * node without one.
 */
int svc_nat_sources_check(struct store *st, const struct hl_svc_key *key,
			  const struct hl_service *svc,
			  const struct hl_snat *snat, int only);

/* Admin: the service's limits (rate, client-rate, syn-retry); the opts
 * bits that switch them on in the data path follow from `lim`. */
int svc_set_limits(struct store *st, const struct hl_svc_key *key,
		   const struct hl_limits *lim);
/*
 * Admin: read-your-writes of read service `key` (struct hl_ryw): `src` its
 * write service, window_ms 0 = off. The read service gets HL_SVC_O_RYW,
 * every write service some read service names HL_SVC_O_RYW_SRC. `src`
 * must exist, be TCP, of the same family and not `key` itself.
 */
int svc_set_ryw(struct store *st, const struct hl_svc_key *key,
		const struct hl_svc_key *src, __u32 window_ms);
/* Read-your-writes settings of service `id` (zeroes when none). */
int svc_ryw_get(struct store *st, __u32 id, struct hl_ryw *r);
/* The options `seen` of `in` (ryw-of, ryw-window) over the service's
 * current settings, then svc_set_ryw(). */
int svc_apply_ryw(struct store *st, const struct hl_svc_key *key,
		  const struct svc_admin *in, opt_seen_t seen);

/* Effective: the fencing generation of a write service, the primary
 * node and timeline it stands for, and since when (CLOCK_MONOTONIC_COARSE,
 * 0 for the first generation): hl_service.gen, gen_node, gen_tli, gen_ns. */
int svc_set_gen(struct store *st, const struct hl_svc_key *key, __u32 gen,
		__u32 node_id, __u32 tli, __u64 gen_ns);
/* Effective: the HL_SVC_F_* bits of `mask` become those of `flags`. */
int svc_set_flags(struct store *st, const struct hl_svc_key *key,
		  __u32 mask, __u32 flags);
int svc_del(struct store *st, const struct hl_svc_key *key);

/*
 * A planned switchover's hold (struct hl_switchover): until `until_ns`
 * (CLOCK_MONOTONIC) the service's new flows wait; `flags` HL_SWO_F_*.
 * Written by `helios-agent switchover` only, which renews the lease while
 * it runs. svc_switchover_end() lifts it. The agent's svc_set_flags()
 * never touches HL_SVC_F_SWITCHOVER.
 */
int svc_switchover_set(struct store *st, const struct hl_svc_key *key,
		       __u64 until_ns, __u32 flags);
int svc_switchover_end(struct store *st, const struct hl_svc_key *key);
/* Admin: HL_SVC_O_POOLS on exactly when some class names a pool for the
 * service (class_pools, written by `class pool`); the pool lists rebuilt. */
int svc_set_pools(struct store *st, const struct hl_svc_key *key);
int svc_switchover_get(struct store *st, const struct hl_service *svc,
		       struct hl_switchover *so);

/* Rebuild the tables of service `id` from the node snapshot and swap them
 * in (nodes.c after node changes). */
int svc_rebuild(struct store *st, __u32 id);

/* Rewrite free_ports and free_vips from the services map (every port and
 * address bucket but theirs), and nat_ports (ports of NAT services only). */
int svc_ports_sync(struct store *st);

#endif /* HELIOS_LIB_SERVICES_H */
