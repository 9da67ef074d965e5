// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "helios_xdp.skel.h"
#include "maglev.h"
#include "nexthop.h"
#include "store.h"
#include "strategy.h"

const char *const store_map_names[MAP_COUNT] = {
	[MAP_SERVICES]		= "services",
	[MAP_NODES]		= "nodes",
	[MAP_NEXTHOPS]		= "nexthops",
	[MAP_MAGLEV]		= "slots",
	[MAP_CONNTRACK]		= "conntrack",
	[MAP_SVC_STATS]		= "svc_stats",
	[MAP_NODE_STATS]	= "node_stats",
	[MAP_REASONS]		= "reasons",
	[MAP_SETTINGS]		= "settings",
	[MAP_SEL]		= "node_lists",
	[MAP_NODE_ACTIVE]	= "node_active",
	[MAP_SVC_ACTIVE]	= "svc_active",
	[MAP_LIMITS]		= "limits",
	[MAP_CLASS_PREFIXES]	= "class_prefixes",
	[MAP_CLASSES]		= "classes",
	[MAP_LIMIT_STATS]	= "limit_stats",
	[MAP_CLASS_STATS]	= "class_stats",
	[MAP_FREE_PORTS]	= "free_ports",
};

int store_pin_path(const struct store *st, const char *name, char *buf,
		   size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", st->dir, name) >= len) {
		p_err("--bpffs path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * Load the program and create (or reuse) every map at its pin path. We set
 * each pin path ourselves: libbpf's pin_root_path turns every '.' of the
 * whole path into '_', which breaks a --bpffs DIR with dots in it.
 */
static int store_load(struct store *st)
{
	struct helios_xdp *skel;
	struct bpf_map *map;
	char path[4200];
	int err;

	skel = helios_xdp__open();
	if (!skel) {
		err = -errno;
		p_err("cannot open the BPF object: %s", strerror(errno));
		return err;
	}
	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		err = store_pin_path(st, bpf_map__name(map), path, sizeof(path));
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (err)
			goto out;
	}
	err = helios_xdp__load(skel);
	if (err) {
		p_err("cannot load the XDP program: %s%s", strerror(-err),
		      err == -EPERM ? " (run as root: needs CAP_BPF and CAP_NET_ADMIN)" :
		      verbose ? "" : " (-v shows the verifier log)");
		goto out;
	}
	err = store_pin_path(st, PROG_PIN, path, sizeof(path));
	if (!err && access(path, F_OK))
		err = bpf_program__pin(skel->progs.helios_xdp, path);
	if (err)
		p_err("cannot pin the XDP program at %s: %s", path, strerror(-err));
out:
	helios_xdp__destroy(skel);
	return err;
}

static void store_close_fds(struct store *st)
{
	int i;

	for (i = 0; i < MAP_COUNT; i++) {
		if (st->fds[i] >= 0)
			close(st->fds[i]);
		st->fds[i] = -1;
	}
	if (st->prog_fd >= 0)
		close(st->prog_fd);
	st->prog_fd = -1;
}

static int store_open_pins(struct store *st)
{
	char path[4200];
	int i;

	for (i = 0; i < MAP_COUNT; i++) {
		store_pin_path(st, store_map_names[i], path, sizeof(path));
		st->fds[i] = bpf_obj_get(path);
		if (st->fds[i] < 0)
			return -errno;
	}
	store_pin_path(st, PROG_PIN, path, sizeof(path));
	st->prog_fd = bpf_obj_get(path);
	return st->prog_fd < 0 ? -errno : 0;
}

int store_open(struct store *st, bool create)
{
	int i, err;

	memset(st, 0, sizeof(*st));
	st->dir_fd = -1;
	st->prog_fd = -1;
	for (i = 0; i < MAP_COUNT; i++)
		st->fds[i] = -1;
	if (strlen(bpffs_dir) >= sizeof(st->dir)) {
		p_err("--bpffs path too long");
		return -ENAMETOOLONG;
	}
	strcpy(st->dir, bpffs_dir);

	if (create) {
		err = bpffs_prepare(st->dir);
		if (err)
			return err;
	}
	st->dir_fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dir_fd < 0)
		return -ENOENT;
	if (flock(st->dir_fd, create ? LOCK_EX : LOCK_SH)) {
		err = -errno;
		p_err("cannot lock %s: %s", st->dir, strerror(errno));
		return err;
	}

	err = store_open_pins(st);
	if (err && create) {
		store_close_fds(st);
		err = store_load(st);
		if (!err)
			err = store_open_pins(st);
		if (!err)
			err = store_ports_sync(st);	/* a new map, old services */
	}
	if (err == -EACCES || err == -EPERM)
		p_err("cannot open Helios maps in %s: permission denied (run as root)",
		      st->dir);
	return err;
}

void store_close(struct store *st)
{
	store_close_fds(st);
	if (st->dir_fd >= 0)
		close(st->dir_fd);	/* drops the lock */
	free(st->nodes);
	st->nodes = NULL;
}

/* ---- services ---------------------------------------------------------- */

static int rebuild(struct store *st, const struct hl_service *want,
		   bool admin, __u32 *slots);

int store_service_find(struct store *st, const struct hl_svc_key *key,
		       struct hl_service *svc)
{
	return bpf_map_lookup_elem(st->fds[MAP_SERVICES], key, svc) ? -ENOENT : 0;
}

static int zero_counters(struct store *st, enum store_map map, __u32 id)
{
	int ncpus = libbpf_num_possible_cpus();
	struct hl_counters *zero;
	int err;

	zero = calloc(ncpus, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	err = bpf_map_update_elem(st->fds[map], &id, zero, BPF_ANY) ? -errno : 0;
	free(zero);
	return err;
}

static int zero_value(struct store *st, enum store_map map, __u32 id,
		      size_t size, bool percpu)
{
	size_t n = percpu ? libbpf_num_possible_cpus() : 1;
	void *zero = calloc(n, size);
	int err;

	if (!zero)
		return -ENOMEM;
	err = bpf_map_update_elem(st->fds[map], &id, zero, BPF_ANY) ? -errno : 0;
	free(zero);
	return err;
}

/* Rewrite free_ports from the services map: every port but theirs. */
int store_ports_sync(struct store *st)
{
	static __u64 bits[65536 / 64];
	__u32 keys[65536 / 64], count = 65536 / 64, i;
	struct hl_svc_key k, *prev = NULL;

	memset(bits, 0xff, sizeof(bits));
	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		__u16 port = ntohs(k.port);

		bits[port / 64] &= ~(1ull << (port % 64));
		prev = &k;
	}
	for (i = 0; i < count; i++)
		keys[i] = i;
	return bpf_map_update_batch(st->fds[MAP_FREE_PORTS], keys, bits, &count,
				    NULL) ? -errno : 0;
}

int store_service_add(struct store *st, const struct hl_svc_key *key,
		      __u32 ring_size)
{
	struct hl_service tpl = { .ring_size = ring_size };

	return store_service_add_cfg(st, key, &tpl);
}

int store_service_add_cfg(struct store *st, const struct hl_svc_key *key,
			  const struct hl_service *tpl)
{
	bool used[HL_MAX_SERVICES] = { false };
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc = *tpl;
	int err;

	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		struct hl_service s;

		if (!bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &s) &&
		    s.id < HL_MAX_SERVICES)
			used[s.id] = true;
		prev = &k;
	}
	svc.id = 0;
	svc.flags = 0;
	while (svc.id < HL_MAX_SERVICES && used[svc.id])
		svc.id++;
	if (svc.id == HL_MAX_SERVICES) {
		p_err("too many services (at most %d)", HL_MAX_SERVICES);
		return -ENOSPC;
	}

	/* Counters, limits and tables first: the service appears last. */
	err = zero_counters(st, MAP_SVC_STATS, svc.id);
	if (!err)
		err = zero_value(st, MAP_LIMIT_STATS, svc.id,
				 sizeof(struct hl_limit_stats), true);
	if (!err)
		err = zero_value(st, MAP_LIMITS, svc.id,
				 sizeof(struct hl_limits), false);
	if (!err)
		err = zero_value(st, MAP_SVC_ACTIVE, svc.id, sizeof(__s64),
				 false);
	if (!err)
		err = rebuild(st, &svc, true, &svc.slots);
	if (!err && bpf_map_update_elem(st->fds[MAP_SERVICES], key, &svc,
					BPF_NOEXIST))
		err = -errno;
	if (!err)
		err = store_ports_sync(st);
	if (err)
		p_err("cannot add the service: %s", strerror(-err));
	return err;
}

int store_service_update(struct store *st, const struct hl_svc_key *key,
			 const struct hl_service *svc)
{
	struct hl_service cur, next;
	int err;

	err = store_service_find(st, key, &cur);
	if (err)
		return err;
	next = cur;
	next.strategy = svc->strategy;
	next.hash = svc->hash;
	next.bounded_load = svc->bounded_load;
	next.opts = svc->opts;
	if (!st->nodes) {
		err = store_nodes_load(st);
		if (err)
			return err;
	}
	return rebuild(st, &next, true, NULL);
}

int store_service_del(struct store *st, const struct hl_svc_key *key)
{
	struct hl_service svc;
	int err;
	__u32 i;

	err = store_service_find(st, key, &svc);
	if (err)
		return err;
	/* Stop matching first, then free the nodes and the table. */
	if (bpf_map_delete_elem(st->fds[MAP_SERVICES], key))
		return -errno;
	store_ports_sync(st);
	err = store_nodes_load(st);
	if (err)
		return err;
	for (i = 0; i < HL_MAX_NODES; i++) {
		struct hl_node *n = &st->nodes[i];

		if ((n->flags & HL_NODE_F_EXISTS) && n->svc_id == svc.id) {
			memset(n, 0, sizeof(*n));
			bpf_map_update_elem(st->fds[MAP_NODES], &i, n, BPF_ANY);
		}
	}
	bpf_map_delete_elem(st->fds[MAP_MAGLEV], &svc.id);
	return 0;
}

/* ---- nodes ------------------------------------------------------------- */

int store_nodes_load(struct store *st)
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
		p_err("cannot read the nodes map: %s", strerror(-err));
	free(keys);
	return err;
}

int store_node_find(struct store *st, __u32 svc_id, const struct ip_addr *addr)
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

unsigned int store_node_count(struct store *st, __u32 svc_id)
{
	unsigned int i, count = 0;

	for (i = 0; i < HL_MAX_NODES; i++)
		if ((st->nodes[i].flags & HL_NODE_F_EXISTS) &&
		    st->nodes[i].svc_id == svc_id)
			count++;
	return count;
}

static int service_by_id(struct store *st, __u32 id, struct hl_service *svc)
{
	struct hl_svc_key k, *prev = NULL;

	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		if (!bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, svc) &&
		    svc->id == id)
			return 0;
		prev = &k;
	}
	return -ENOENT;
}

int store_nexthop_refresh(struct store *st, __u32 id)
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

int store_node_add(struct store *st, const struct hl_svc_key *key,
		   const struct hl_node *node, bool rebuild)
{
	struct hl_service svc;
	struct hl_node n = *node;
	char addr[ADDR_STRLEN];
	__u32 id;
	int err;

	err = store_service_find(st, key, &svc);
	if (err)
		return err;
	for (id = 0; id < HL_MAX_NODES; id++)
		if (!(st->nodes[id].flags & HL_NODE_F_EXISTS))
			break;
	if (id == HL_MAX_NODES) {
		p_err("too many nodes (at most %d)", HL_MAX_NODES);
		return -ENOSPC;
	}
	n.svc_id = svc.id;
	n.flags |= HL_NODE_F_EXISTS;
	err = zero_counters(st, MAP_NODE_STATS, id);
	if (!err)
		err = zero_value(st, MAP_NODE_ACTIVE, id, sizeof(__s64), false);
	if (err)
		return err;
	st->nodes[id] = n;
	err = store_nexthop_refresh(st, id);
	if (err == -EHOSTUNREACH || err == -ENETUNREACH)
		fprintf(stderr, "Warning: next hop of %s not resolved yet: %s\n",
			format_addr(n.family, n.addr, addr, sizeof(addr)),
			strerror(-err));
	else if (err)
		goto fail;
	if (bpf_map_update_elem(st->fds[MAP_NODES], &id, &n, BPF_ANY)) {
		err = -errno;
		goto fail;
	}
	err = rebuild ? store_rebuild(st, &svc) : 0;
	if (!err)
		return 0;
	st->nodes[id].flags = 0;
	bpf_map_update_elem(st->fds[MAP_NODES], &id, &st->nodes[id], BPF_ANY);
fail:
	memset(&st->nodes[id], 0, sizeof(st->nodes[id]));
	p_err("cannot add the node: %s", strerror(-err));
	return err;
}

int store_node_update(struct store *st, __u32 id, const struct hl_node *node)
{
	struct hl_service svc;
	struct hl_node old = st->nodes[id];
	int err;

	err = service_by_id(st, node->svc_id, &svc);
	if (err)
		return err;
	if (bpf_map_update_elem(st->fds[MAP_NODES], &id, node, BPF_ANY))
		return -errno;
	st->nodes[id] = *node;
	err = store_rebuild(st, &svc);
	if (err) {
		st->nodes[id] = old;
		bpf_map_update_elem(st->fds[MAP_NODES], &id, &old, BPF_ANY);
	}
	return err;
}

int store_node_del(struct store *st, __u32 id)
{
	struct hl_node gone = {};
	struct hl_service svc;
	int err;

	err = service_by_id(st, st->nodes[id].svc_id, &svc);
	if (err)
		return err;
	/* Take it out of the table first, then out of existence: its flows
	 * are then re-selected among the remaining nodes. */
	st->nodes[id].flags &= ~HL_NODE_F_EXISTS;
	err = store_rebuild(st, &svc);
	if (err) {
		st->nodes[id].flags |= HL_NODE_F_EXISTS;
		return err;
	}
	st->nodes[id] = gone;
	return bpf_map_update_elem(st->fds[MAP_NODES], &id, &gone, BPF_ANY) ?
		-errno : 0;
}

bool node_usable_for_new(const struct hl_node *node)
{
	return (node->flags & HL_NODE_F_EXISTS) &&
	       !(node->flags & (HL_NODE_F_TRANSITIONING | HL_NODE_F_UNHEALTHY));
}

__u32 node_table_weight(const struct hl_node *node)
{
	__u32 w;

	if (!node_usable_for_new(node))
		return 0;
	if (!(node->flags & HL_NODE_F_AGENT))
		return node->weight;
	/* Scaled by the agent; a scaled-down node keeps at least weight 1. */
	w = (__u32)node->weight * node->eff_scale / 1000;
	return !w && node->weight && node->eff_scale ? 1 : w;
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

/* ---- tables ------------------------------------------------------------ */

static int table_swap(struct store *st, __u32 svc_id, const __u32 *table,
		      __u32 ring_size)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	__u32 *keys, count = ring_size, i;
	int fd, err = 0;

	keys = malloc(ring_size * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < ring_size; i++)
		keys[i] = i;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "hl_ring", sizeof(__u32),
			    sizeof(__u32), ring_size, &opts);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (bpf_map_update_batch(fd, keys, table, &count, NULL) ||
	    bpf_map_update_elem(st->fds[MAP_MAGLEV], &svc_id, &fd, BPF_ANY))
		err = -errno;
	close(fd);
out:
	free(keys);
	return err;
}

/* The service's key, by id: store_rebuild() writes the service back. */
static int service_key_by_id(struct store *st, __u32 id, struct hl_svc_key *key)
{
	struct hl_svc_key *prev = NULL;
	struct hl_service s;

	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, key)) {
		if (!bpf_map_lookup_elem(st->fds[MAP_SERVICES], key, &s) &&
		    s.id == id)
			return 0;
		prev = key;
	}
	return -ENOENT;
}

/*
 * Build the tables of the service's strategy (user/strategy.h) and swap
 * them in: the node list first, then the slot table, then the service's
 * slot count. Between the table swap and the service write a packet may
 * index the new table with the old count: it reads a node of the new
 * table, or no slot (HL_NODE_NONE, dropped like an empty table), nothing
 * else. With `admin`, `want` carries new admin fields (service set);
 * otherwise they are read back from the map, never from a caller's
 * possibly stale copy. A service not in the map yet (being added) gets
 * its slot count in *slots.
 */
static int rebuild(struct store *st, const struct hl_service *want,
		   bool admin, __u32 *slots)
{
	struct hl_settings cfg = {};
	struct hl_service svc = *want, cur;
	struct strat_tables t;
	struct hl_svc_key key;
	__u32 zero = 0, id = want->id;
	char zone[HL_ZONE_LEN + 1] = "";
	bool exists;
	int err;

	if (!st->nodes) {
		err = store_nodes_load(st);
		if (err)
			return err;
	}
	exists = !service_key_by_id(st, id, &key) &&
		 !bpf_map_lookup_elem(st->fds[MAP_SERVICES], &key, &cur);
	if (exists && !admin)
		svc = cur;
	if (!bpf_map_lookup_elem(st->fds[MAP_SETTINGS], &zero, &cfg))
		memcpy(zone, cfg.zone, HL_ZONE_LEN);
	err = strategy_build(&svc, st->nodes, zone, &t);
	if (err)
		return err;
	if (bpf_map_update_elem(st->fds[MAP_SEL], &id, &t.sel, BPF_ANY))
		err = -errno;
	if (!err)
		err = table_swap(st, id, t.table, t.len);
	if (!err && !exists && slots)
		*slots = t.len;
	if (!err && exists) {
		if (admin) {
			cur.strategy = svc.strategy;
			cur.hash = svc.hash;
			cur.bounded_load = svc.bounded_load;
			cur.opts = svc.opts;
		}
		cur.slots = t.len;
		if (bpf_map_update_elem(st->fds[MAP_SERVICES], &key, &cur,
					BPF_ANY))
			err = -errno;
	}
	strategy_tables_free(&t);
	return err;
}

int store_rebuild(struct store *st, const struct hl_service *svc)
{
	return rebuild(st, svc, false, NULL);
}

/* ---- counters ---------------------------------------------------------- */

int store_counters(struct store *st, enum store_map map, __u32 id,
		   struct hl_counters *sum)
{
	int ncpus = libbpf_num_possible_cpus(), i;
	struct hl_counters *percpu;
	int err = 0;

	memset(sum, 0, sizeof(*sum));
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(st->fds[map], &id, percpu))
		err = -errno;
	for (i = 0; !err && i < ncpus; i++) {
		sum->packets += percpu[i].packets;
		sum->bytes += percpu[i].bytes;
		sum->flows += percpu[i].flows;
		sum->syn_retrans += percpu[i].syn_retrans;
		sum->rsts += percpu[i].rsts;
	}
	free(percpu);
	return err;
}

int store_reasons(struct store *st, __u64 counts[HL_REASON_MAX])
{
	int ncpus = libbpf_num_possible_cpus(), i;
	__u64 *percpu;
	__u32 r;

	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (r = 0; r < HL_REASON_MAX; r++) {
		counts[r] = 0;
		if (bpf_map_lookup_elem(st->fds[MAP_REASONS], &r, percpu))
			continue;
		for (i = 0; i < ncpus; i++)
			counts[r] += percpu[i];
	}
	free(percpu);
	return 0;
}

int store_limit_stats(struct store *st, enum store_map map, __u32 id,
		      struct hl_limit_stats *sum)
{
	int ncpus = libbpf_num_possible_cpus(), i, l;
	struct hl_limit_stats *percpu;
	int err = 0;

	memset(sum, 0, sizeof(*sum));
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(st->fds[map], &id, percpu))
		err = -errno;
	for (i = 0; !err && i < ncpus; i++)
		for (l = 0; l < HL_LIMIT_MAX; l++) {
			sum->admitted[l] += percpu[i].admitted[l];
			sum->dropped[l] += percpu[i].dropped[l];
		}
	free(percpu);
	return err;
}
