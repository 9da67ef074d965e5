// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lib/counters.h"
#include "lib/ct.h"
#include "lib/l2.h"
#include "lib/log.h"
#include "lib/nexthop.h"
#include "lib/nodes.h"
#include "lib/services.h"

const struct opt node_admin_opts[] = {
	{ .name = "weight", .type = OPT_UINT, .where = OPT_BOTH, .arg = "N",
	  OPT_FIELD(struct hl_node, weight), .min = 0, .max = HL_WEIGHT_MAX,
	  .def = OPT_STR(HL_WEIGHT_DEFAULT),
	  .help = "share of new flows; 0 drains (no new flows, existing ones stay)" },
	{ .name = "role", .type = OPT_ENUM, .where = OPT_BOTH, .arg = "ROLE",
	  OPT_FIELD(struct hl_node, role), .choices = role_choices,
	  .help = "database role hint, until the probes find the real one" },
	{ .name = "zone", .type = OPT_STRING, .where = OPT_BOTH, .arg = "NAME",
	  OPT_FIELD(struct hl_node, zone), .check = zone_check,
	  .help = "failure zone, for prefer-zone" },
	{ NULL }
};

int nodes_load(struct store *st)
{
	__u32 *keys, out_batch, count = HL_MAX_NODES;
	int err = 0;

	if (!st->nodes) {
		st->nodes = calloc(HL_MAX_NODES, sizeof(*st->nodes));
		if (!st->nodes)
			return -ENOMEM;
	}
	keys = calloc(HL_MAX_NODES, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	/* One syscall for the whole array instead of 16k lookups. */
	if (bpf_map_lookup_batch(st->fds[MAP_NODES], NULL, &out_batch, keys,
				 st->nodes, &count, NULL) && errno != ENOENT)
		err = -errno;
	else if (count != HL_MAX_NODES)
		err = -EIO;
	if (err)
		hl_err("cannot read the nodes map: %s", strerror(-err));
	free(keys);
	return err;
}

int node_find(struct store *st, __u32 svc_id, const struct ip_addr *addr)
{
	__u32 i;

	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];

		if ((n->flags & HL_NODE_F_EXISTS) && n->svc_id == svc_id &&
		    n->family == addr->family &&
		    !memcmp(n->addr, addr->w, sizeof(n->addr)))
			return i;
	}
	return -ENOENT;
}

int node_find_port(struct store *st, __u32 svc_id, __be16 svc_port,
		   const struct ip_addr *addr, __be16 port)
{
	__u32 i;

	if (!port)
		port = svc_port;
	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];

		if ((n->flags & HL_NODE_F_EXISTS) && n->svc_id == svc_id &&
		    n->family == addr->family &&
		    !memcmp(n->addr, addr->w, sizeof(n->addr)) &&
		    (n->port ? n->port : svc_port) == port)
			return i;
	}
	return -ENOENT;
}

unsigned int node_count_at(struct store *st, __u32 svc_id,
			   const struct ip_addr *addr, int *first)
{
	unsigned int count = 0;
	__u32 i;

	*first = -ENOENT;
	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc_id ||
		    n->family != addr->family ||
		    memcmp(n->addr, addr->w, sizeof(n->addr)))
			continue;
		if (!count++)
			*first = i;
	}
	return count;
}

unsigned int node_count(struct store *st, __u32 svc_id)
{
	unsigned int i, count = 0;

	for (i = 0; i < HL_MAX_NODES; i++)
		if ((st->nodes[i].flags & HL_NODE_F_EXISTS) &&
		    st->nodes[i].svc_id == svc_id)
			count++;
	return count;
}

int node_nexthop_refresh(struct store *st, __u32 id)
{
	const struct hl_node *n = &st->nodes[id];
	struct hl_settings cfg = {};
	struct hl_nexthop nh = {};
	struct ip_addr dst = { .family = n->family };
	__u32 zero = 0;
	int err;

	memcpy(dst.w, n->addr, sizeof(dst.w));
	bpf_map_lookup_elem(st->fds[MAP_SETTINGS], &zero, &cfg);
	err = nexthop_resolve(&dst, &cfg, &nh);
	/* Even unresolved, the entry carries the source: the data path
	 * completes it from the FIB once the neighbour answers. */
	if (bpf_map_update_elem(st->fds[MAP_NEXTHOPS], &id, &nh, BPF_ANY))
		return -errno;
	return err;
}

static int node_add_locked(struct store *st, const struct hl_svc_key *key,
			   const struct hl_node *node, bool rebuild)
{
	struct hl_service svc;
	struct hl_node n = *node;
	char addr[ADDR_PORT_STRLEN];
	__u32 id;
	int err, nh_err;

	err = svc_find(st, key, &svc);
	if (err)
		return err;
	if (n.port == key->port)
		n.port = 0;	/* the service's: the same thing */
	if (n.port && svc.fwd != HL_FWD_NAT) {
		char name[SVC_STRLEN];

		hl_err("node %s has a port of its own, but only fwd nat translates ports: service %s forwards by %s, its nodes receive the VIP's port",
		       format_addr_port(n.family, n.addr, n.port, addr, sizeof(addr)),
		       format_svc(key, name, sizeof(name)), svc_fwd_name(svc.fwd));
		return -EINVAL;
	}
	if (svc.fwd == HL_FWD_L2) {
		err = l2_node_check(&n);
		if (err)
			return err;
	}
	if (!st->nodes) {
		err = nodes_load(st);
		if (err)
			return err;
	}
	for (id = 0; id < HL_MAX_NODES; id++)
		if (!(st->nodes[id].flags & HL_NODE_F_EXISTS))
			break;
	if (id == HL_MAX_NODES) {
		hl_err("too many nodes (at most %d)", HL_MAX_NODES);
		return -ENOSPC;
	}
	n.svc_id = svc.id;
	n.flags = HL_NODE_F_EXISTS;
	n.eff_scale = 0;
	n.eff_role = 0;
	n.synced_ms = 0;
	err = percpu_zero(st->fds[MAP_NODE_STATS], id, sizeof(struct hl_counters),
			  true);
	/* the shards' counts, then node_active, their sum (bpf/lib/sweep.h) */
	if (!err)
		err = ct_counts_zero(st->fds[MAP_CT_COUNTS], id);
	if (!err)
		err = percpu_zero(st->fds[MAP_NODE_REASONS], id,
				  sizeof(struct hl_node_reasons), true);
	if (!err)
		err = percpu_zero(st->fds[MAP_NODE_ACTIVE], id, sizeof(__s64),
				  false);
	if (err)
		return err;
	st->nodes[id] = n;
	nh_err = node_nexthop_refresh(st, id);
	if (nh_err && nh_err != -EHOSTUNREACH && nh_err != -ENETUNREACH) {
		err = nh_err;
		goto fail;
	}
	if (svc.fwd == HL_FWD_NAT) {
		struct hl_snat snat;

		/* Its packets need a source address: an SNAT one, or the
		 * next hop's. */
		svc_snat_get(st, svc.id, &snat);
		err = svc_nat_sources_check(st, key, &svc, &snat, id);
		if (err) {
			memset(&st->nodes[id], 0, sizeof(st->nodes[id]));
			return err;
		}
	}
	if (nh_err)	/* not an error: the data path resolves it later */
		hl_warn("next hop of %s not resolved yet: %s",
			format_addr(n.family, n.addr, addr, sizeof(addr)),
			strerror(-nh_err));
	if (bpf_map_update_elem(st->fds[MAP_NODES], &id, &n, BPF_ANY)) {
		err = -errno;
		goto fail;
	}
	err = rebuild ? svc_rebuild(st, svc.id) : 0;
	if (!err)
		return id;
	st->nodes[id].flags = 0;
	bpf_map_update_elem(st->fds[MAP_NODES], &id, &st->nodes[id], BPF_ANY);
fail:
	memset(&st->nodes[id], 0, sizeof(st->nodes[id]));
	hl_err("cannot add the node: %s", strerror(-err));
	return err;
}

int node_add(struct store *st, const struct hl_svc_key *key,
	     const struct hl_node *node, bool rebuild)
{
	int err = store_lock(st, true);

	if (err)
		return err;
	err = node_add_locked(st, key, node, rebuild);
	store_unlock(st);
	return err;
}

/* Write node `id` as `next` and rebuild its service; undone on failure. */
static int node_write(struct store *st, __u32 id, const struct hl_node *next)
{
	struct hl_node old = st->nodes[id];
	int err;

	if (bpf_map_update_elem(st->fds[MAP_NODES], &id, next, BPF_ANY))
		return -errno;
	st->nodes[id] = *next;
	err = svc_rebuild(st, next->svc_id);
	if (err) {
		st->nodes[id] = old;
		bpf_map_update_elem(st->fds[MAP_NODES], &id, &old, BPF_ANY);
	}
	return err;
}

int node_set_admin(struct store *st, __u32 id, const struct hl_node *admin)
{
	struct hl_node next;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = st->nodes ? 0 : nodes_load(st);
	if (!err && !(st->nodes[id].flags & HL_NODE_F_EXISTS))
		err = -ENOENT;
	if (!err) {
		next = st->nodes[id];
		next.weight = admin->weight;
		next.role = admin->role;
		memcpy(next.zone, admin->zone, sizeof(next.zone));
		err = node_write(st, id, &next);
	}
	store_unlock(st);
	return err;
}

int node_del(struct store *st, __u32 id)
{
	struct hl_node gone = {};
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = st->nodes ? 0 : nodes_load(st);
	if (err)
		goto out;
	/* Take it out of the table first, then out of existence: its flows
	 * are then re-selected among the remaining nodes. */
	st->nodes[id].flags &= ~HL_NODE_F_EXISTS;
	err = svc_rebuild(st, st->nodes[id].svc_id);
	if (err) {
		st->nodes[id].flags |= HL_NODE_F_EXISTS;
		goto out;
	}
	st->nodes[id] = gone;
	if (bpf_map_update_elem(st->fds[MAP_NODES], &id, &gone, BPF_ANY))
		err = -errno;
out:
	store_unlock(st);
	return err;
}

int nodes_set_effective(struct store *st, __u32 svc_id,
			const struct node_effective *eff, unsigned int count)
{
	unsigned int i, changed = 0;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	/* Fresh: operators may have written since the caller last looked. */
	err = nodes_load(st);
	for (i = 0; !err && i < count; i++) {
		__u32 flags = eff[i].flags & HL_NODE_F_EFFECTIVE;
		struct hl_node *n;

		if (eff[i].id >= HL_MAX_NODES)
			continue;
		n = &st->nodes[eff[i].id];
		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc_id)
			continue;
		if ((n->flags & HL_NODE_F_EFFECTIVE) == flags &&
		    n->eff_scale == eff[i].scale && n->eff_role == eff[i].role &&
		    n->eff_pool == eff[i].pool)
			continue;
		n->flags = (n->flags & ~HL_NODE_F_EFFECTIVE) | flags;
		n->eff_scale = eff[i].scale;
		n->eff_role = eff[i].role;
		n->eff_pool = eff[i].pool;
		if (bpf_map_update_elem(st->fds[MAP_NODES], &eff[i].id, n, BPF_ANY))
			err = -errno;
		changed++;
	}
	if (!err && changed)
		err = svc_rebuild(st, svc_id);
	store_unlock(st);
	return err ? err : (int)changed;
}

int nodes_set_synced(struct store *st, __u32 svc_id, __u32 id,
		     __u32 synced_ms)
{
	struct hl_node n;
	int err;

	if (id >= HL_MAX_NODES)
		return -ENOENT;
	err = store_lock(st, true);
	if (err)
		return err;
	/* This one entry, fresh: no snapshot of the whole array per probe. */
	if (bpf_map_lookup_elem(st->fds[MAP_NODES], &id, &n))
		err = -errno;
	else if (!(n.flags & HL_NODE_F_EXISTS) || n.svc_id != svc_id)
		err = -ENOENT;
	else if (n.synced_ms != synced_ms) {
		n.synced_ms = synced_ms;
		if (bpf_map_update_elem(st->fds[MAP_NODES], &id, &n, BPF_ANY))
			err = -errno;
		else if (st->nodes)
			st->nodes[id].synced_ms = synced_ms;
	}
	store_unlock(st);
	return err;
}

const char *node_state(const struct hl_node *node)
{
	if (node->flags & HL_NODE_F_UNHEALTHY)
		return "unhealthy";
	if (node->flags & HL_NODE_F_TRANSITIONING)
		return "transitioning";
	if (!node->weight)
		return "draining";
	if (node->flags & HL_NODE_F_DEGRADED)
		return "degraded";
	return "active";
}
