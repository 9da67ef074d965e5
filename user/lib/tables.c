// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/maglev.h"
#include "lib/options.h"
#include "lib/tables.h"

static const char *const strategy_names[HL_STRAT_MAX] = {
#define STRAT_NAME(name, nr, str) [nr] = (str),
	HL_STRATEGIES(STRAT_NAME)
#undef STRAT_NAME
};

const struct opt_choice strategy_choices[] = {
#define STRAT_CHOICE(name, nr, str) { str, nr },
	HL_STRATEGIES(STRAT_CHOICE)
#undef STRAT_CHOICE
	{ NULL }
};

const struct opt_choice hash_choices[] = {
	{ "5tuple", HL_HASH_5TUPLE },
	{ "src", HL_HASH_SRC },
	{ "src-dport", HL_HASH_SRC_DPORT },
	{ NULL }
};

static const char *const hash_names[] = {
	[HL_HASH_5TUPLE]	= "5tuple",
	[HL_HASH_SRC]		= "src",
	[HL_HASH_SRC_DPORT]	= "src-dport",
};

int hl_strategy_parse(const char *str, __u8 *strategy)
{
	for (int i = 0; i < HL_STRAT_MAX; i++)
		if (!strcmp(str, strategy_names[i])) {
			*strategy = i;
			return 0;
		}
	hl_err("unknown strategy '%s' (expected: maglev, rendezvous, wrr, random, lc, p2c, srchash, primary, replica, prefer-zone)",
	       str);
	return -EINVAL;
}

const char *hl_strategy_name(__u8 strategy)
{
	return strategy < HL_STRAT_MAX ? strategy_names[strategy] : "unknown";
}

int hl_hash_parse(const char *str, __u8 *mode)
{
	for (unsigned int i = 0; i < sizeof(hash_names) / sizeof(*hash_names); i++)
		if (!strcmp(str, hash_names[i])) {
			*mode = i;
			return 0;
		}
	hl_err("unknown hash '%s' (expected: 5tuple, src, src-dport)", str);
	return -EINVAL;
}

const char *hl_hash_name(__u8 mode)
{
	return mode <= HL_HASH_SRC_DPORT ? hash_names[mode] : "unknown";
}

bool strategy_needs_list(__u8 strategy)
{
	return strategy == HL_STRAT_RENDEZVOUS || strategy == HL_STRAT_LC;
}

bool strategy_hashes(__u8 strategy)
{
	switch (strategy) {
	case HL_STRAT_MAGLEV:
	case HL_STRAT_SRCHASH:
	case HL_STRAT_PRIMARY:
	case HL_STRAT_REPLICA:
	case HL_STRAT_PREFER_ZONE:
		return true;
	}
	return false;
}

static __u64 gcd(__u64 a, __u64 b)
{
	while (b) {
		__u64 t = a % b;

		a = b;
		b = t;
	}
	return a;
}

int swrr_build(const __u32 *ids, const __u32 *weights, unsigned int count,
	       __u32 max, __u32 *seq, __u32 *len)
{
	__s64 *cur = NULL;
	__u64 *w = NULL, total = 0, g = 0;
	unsigned int i, n;
	int err = -ENOMEM;

	*len = 0;
	cur = calloc(count ? count : 1, sizeof(*cur));
	w = calloc(count ? count : 1, sizeof(*w));
	if (!cur || !w)
		goto out;
	for (i = 0; i < count; i++) {
		w[i] = weights[i];
		g = gcd(g, w[i]);
		total += w[i];
	}
	err = 0;
	if (!total)
		goto out;
	total = 0;
	for (i = 0; i < count; i++)
		total += w[i] /= g;
	if (total > max) {
		/* Scale down; every node with weight keeps at least one slot
		 * (count <= max is the caller's business). */
		__u64 scaled = 0;

		for (i = 0; i < count; i++) {
			if (!w[i])
				continue;
			w[i] = w[i] * max / total;
			if (!w[i])
				w[i] = 1;
			scaled += w[i];
		}
		while (scaled > max) {
			unsigned int big = 0;

			for (i = 1; i < count; i++)
				if (w[i] > w[big])
					big = i;
			w[big]--;
			scaled--;
		}
		total = scaled;
	}
	for (n = 0; n < total; n++) {
		unsigned int best = count;

		for (i = 0; i < count; i++) {
			if (!w[i])
				continue;
			cur[i] += w[i];
			if (best == count || cur[i] > cur[best])
				best = i;
		}
		cur[best] -= total;
		seq[n] = ids[best];
	}
	*len = total;
out:
	free(cur);
	free(w);
	return err;
}

bool node_usable_for_new(const struct hl_node *node)
{
	return (node->flags & HL_NODE_F_EXISTS) &&
	       !(node->flags & (HL_NODE_F_TRANSITIONING | HL_NODE_F_UNHEALTHY));
}

__u32 node_table_weight(const struct hl_node *node)
{
	return node_usable_for_new(node) ? hl_node_weight(node) : 0;
}

static __u8 node_role(const struct hl_node *n)
{
	return n->eff_role != HL_ROLE_ANY ? n->eff_role : n->role;
}

/* A node's weight in the table of `svc`; `fallback` selects the second
 * choice set of replica and prefer-zone. */
static __u32 strategy_weight(const struct hl_service *svc,
			     const struct hl_node *n, const char *zone,
			     bool fallback)
{
	__u32 w = node_table_weight(n);
	__u8 role = node_role(n);

	if (!w)
		return 0;
	switch (svc->strategy) {
	case HL_STRAT_PRIMARY:
		return role == HL_ROLE_PRIMARY &&
		       !(n->flags & HL_NODE_F_DEGRADED) ? w : 0;
	case HL_STRAT_REPLICA:
		if (!fallback)
			return role == HL_ROLE_REPLICA ||
			       role == HL_ROLE_STANDBY ? w : 0;
		return role == HL_ROLE_PRIMARY &&
		       !(n->flags & HL_NODE_F_DEGRADED) ? w : 0;
	case HL_STRAT_PREFER_ZONE:
		if (fallback || !zone[0])
			return w;
		return !strncmp(n->zone, zone, HL_ZONE_LEN) ? w : 0;
	}
	return w;
}

static bool has_fallback(const struct hl_service *svc)
{
	return svc->strategy == HL_STRAT_PREFER_ZONE ||
	       (svc->strategy == HL_STRAT_REPLICA &&
		(svc->opts & HL_SVC_O_FALLBACK_PRIMARY));
}

static int mn_cmp(const void *a, const void *b)
{
	return maglev_node_cmp(a, b);
}

void strategy_tables_free(struct strat_tables *t)
{
	free(t->table);
	t->table = NULL;
}

int strategy_build(const struct hl_service *svc, const struct hl_node *nodes,
		   const char *zone, struct strat_tables *out)
{
	struct maglev_node *mn;
	__u32 *ids = NULL, *ws = NULL;
	unsigned int count = 0, usable = 0, i;
	bool fallback = false;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	mn = calloc(HL_MAX_NODES, sizeof(*mn));
	if (!mn)
		return -ENOMEM;
again:
	count = usable = 0;
	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &nodes[i];

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc->id)
			continue;
		mn[count].id = i;
		mn[count].weight = strategy_weight(svc, n, zone, fallback);
		mn[count].family = n->family;
		mn[count].port = n->port;
		memcpy(mn[count].addr, n->addr, sizeof(n->addr));
		usable += !!mn[count].weight;
		count++;
	}
	if (!usable && !fallback && has_fallback(svc)) {
		fallback = true;
		goto again;
	}
	/* Address order, not id order: ids are per director (the order
	 * nodes were added), and WRR's ties, rendezvous' ties and the node
	 * list would otherwise follow them. */
	qsort(mn, count, sizeof(*mn), mn_cmp);

	out->list.usable = usable;
	for (i = 0; i < count; i++) {
		struct hl_node_list *s = &out->list;

		if (!mn[i].weight)
			continue;
		if (s->count == HL_SEL_MAX) {
			if (strategy_needs_list(svc->strategy)) {
				err = -E2BIG;
				goto out;
			}
			break;
		}
		s->ids[s->count] = mn[i].id;
		s->weights[s->count] = mn[i].weight;
		s->seeds[s->count] = maglev_node_seed(&mn[i]);
		s->count++;
	}

	if (svc->strategy == HL_STRAT_WRR) {
		ids = malloc((count ? count : 1) * sizeof(*ids));
		ws = malloc((count ? count : 1) * sizeof(*ws));
		out->table = malloc(HL_WRR_SLOTS_MAX * sizeof(*out->table));
		if (!ids || !ws || !out->table)
			goto out;
		for (i = 0; i < count; i++) {
			ids[i] = mn[i].id;
			ws[i] = mn[i].weight;
		}
		err = swrr_build(ids, ws, count, HL_WRR_SLOTS_MAX, out->table,
				 &out->len);
		if (!err && !out->len) {
			/* Nobody usable: one empty slot. */
			out->table[0] = HL_NODE_NONE;
			out->len = 1;
		}
	} else {
		out->len = svc->ring_size;
		out->table = malloc(out->len * sizeof(*out->table));
		if (!out->table)
			goto out;
		err = maglev_build(mn, count, out->len, out->table);
	}
out:
	if (err)
		strategy_tables_free(out);
	free(ids);
	free(ws);
	free(mn);
	return err;
}

/* A spare table was current this recently: a packet that looked it up then
 * may still be reading it, so it is not written in place. Packets take
 * microseconds; a rebuild in another process starts milliseconds later. */
#define SPARE_QUIET_NS	(1000 * 1000ull)

/* An array map's elements are 8-byte aligned: a __u32 slot is the first
 * half of 8 bytes of the mmap'd area (kernel/bpf/arraymap.c, elem_size). */
#define SLOT_STRIDE	(sizeof(__u64) / sizeof(__u32))

static int table_fill(int fd, const __u32 *table, __u32 len)
{
	size_t size = (size_t)len * sizeof(__u64);
	__u32 *mem, i;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	for (i = 0; i < len; i++)
		mem[i * SLOT_STRIDE] = table[i];
	munmap(mem, size);
	return 0;
}

/* The spare table of the service, open, if it can be written in place. */
static int spare_open(struct store *st, __u32 key, __u32 len)
{
	struct bpf_map_info info = {};
	__u32 id, info_len = sizeof(info);
	int fd;

	if (bpf_map_lookup_elem(st->fds[MAP_SLOTS], &key, &id))
		return -1;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) ||
	    info.max_entries != len ||
	    info.map_flags != (__u32)(HL_SLOTS_INNER_FLAGS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Write `table` into the service's table that is not current and flip
 * svc->table to it (the caller writes the service entry). The spare is
 * written in place when it has the right size and has not been current
 * for SPARE_QUIET_NS; else a new one is created and put into `slots`,
 * an update that waits for an RCU grace period (~10 ms here): then no
 * packet can still read the table it replaces.
 */
static int slots_swap(struct store *st, struct hl_service *svc,
		      const __u32 *table, __u32 len)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts,
		    .map_flags = HL_SLOTS_INNER_FLAGS);
	__u8 spare = !svc->table;
	__u32 key = hl_slots_key(svc->id, spare);
	__u64 now = hl_now_ns();
	int fd = -1, err;

	if (now - st->table_flipped_ns[svc->id] >= SPARE_QUIET_NS)
		fd = spare_open(st, key, len);
	if (fd >= 0) {
		err = table_fill(fd, table, len);
	} else {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "hl_ring",
				    sizeof(__u32), sizeof(__u32), len, &opts);
		if (fd < 0)
			return -errno;
		err = table_fill(fd, table, len);
		if (!err &&
		    bpf_map_update_elem(st->fds[MAP_SLOTS], &key, &fd, BPF_ANY))
			err = -errno;
	}
	close(fd);	/* the outer map holds the table */
	if (err)
		return err;
	svc->table = spare;
	st->table_flipped_ns[svc->id] = now;
	return 0;
}

/* A service with pools: each pool's usable standbys and the primary
 * (pool_lists, abi.h), written before the table that may point there. */
static int pools_write(struct store *st, const struct hl_service *svc)
{
	struct hl_node_list lists[HL_POOL_LISTS];
	__u32 i, p, idx;

	memset(lists, 0, sizeof(lists));
	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];
		__u8 role = node_role(n);
		struct hl_node_list *l;

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc->id)
			continue;
		if (role == HL_ROLE_PRIMARY)
			l = n->flags & (HL_NODE_F_UNHEALTHY | HL_NODE_F_TRANSITIONING |
					HL_NODE_F_DEGRADED) ? NULL :
			    &lists[HL_POOL_LISTS - 1];
		else if (n->eff_pool == HL_POOL_SYNC || n->eff_pool == HL_POOL_ASYNC)
			l = node_table_weight(n) ? &lists[n->eff_pool - 1] : NULL;
		else
			l = NULL;
		if (!l || l->count == HL_SEL_MAX)
			continue;
		l->ids[l->count] = i;
		l->weights[l->count++] = 1;
		l->usable = l->count;
	}
	for (p = 0; p < HL_POOL_LISTS; p++) {
		idx = svc->id * HL_POOL_LISTS + p;
		if (bpf_map_update_elem(st->fds[MAP_POOL_LISTS], &idx, &lists[p],
					BPF_ANY))
			return -errno;
	}
	return 0;
}

int tables_swap(struct store *st, struct hl_service *svc)
{
	struct hl_settings cfg = {};
	char zone[HL_ZONE_LEN + 1] = "";
	struct strat_tables t;
	__u32 zero = 0, id = svc->id;
	int err;

	if (!bpf_map_lookup_elem(st->fds[MAP_SETTINGS], &zero, &cfg))
		memcpy(zone, cfg.zone, HL_ZONE_LEN);
	err = strategy_build(svc, st->nodes, zone, &t);
	if (err == -E2BIG)
		hl_err("strategy %s supports at most %d usable nodes",
		       hl_strategy_name(svc->strategy), HL_SEL_MAX);
	if (err)
		return err;
	if (bpf_map_update_elem(st->fds[MAP_NODE_LISTS], &id, &t.list, BPF_ANY))
		err = -errno;
	if (!err && (svc->opts & HL_SVC_O_POOLS))
		err = pools_write(st, svc);
	if (!err)
		err = slots_swap(st, svc, t.table, t.len);
	if (!err)
		svc->slots = t.len;
	strategy_tables_free(&t);
	return err;
}

/* FNV-1a, 64 bits: a fingerprint to compare, not a defence. */
static void fnv(__u64 *h, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len--) {
		*h ^= *p++;
		*h *= 0x100000001b3ull;
	}
}

/* A node as every director knows it: family, address and port, never
 * its id (ids are per director). */
static void fnv_node(__u64 *h, const struct hl_node *nodes, __u32 id)
{
	static const __u8 none = 0xff;
	const struct hl_node *n;

	if (id >= HL_MAX_NODES || !(nodes[id].flags & HL_NODE_F_EXISTS)) {
		fnv(h, &none, 1);
		return;
	}
	n = &nodes[id];
	fnv(h, &n->family, sizeof(n->family));
	fnv(h, n->addr, sizeof(n->addr));
	fnv(h, &n->port, sizeof(n->port));
}

int tables_digest(struct store *st, const struct hl_service *svc,
		  __u64 *digest)
{
	struct hl_node_list list = {};
	__u32 *table = NULL, *keys = NULL, inner_id, count, id = svc->id, i;
	__u64 h = 0xcbf29ce484222325ull;
	int fd = -1, err = 0;

	if (bpf_map_lookup_elem(st->fds[MAP_SLOTS], &id, &inner_id) ||
	    bpf_map_lookup_elem(st->fds[MAP_NODE_LISTS], &id, &list)) {
		hl_err("service %u has no tables", id);
		return -ENOENT;
	}
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0) {
		err = -errno;
		hl_err("cannot open the slot table: %s", strerror(-err));
		return err;
	}
	count = svc->slots;
	table = malloc((count ? count : 1) * sizeof(*table));
	keys = malloc((count ? count : 1) * sizeof(*keys));
	if (!table || !keys) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_batch(fd, NULL, &inner_id, keys, table, &count,
				 NULL) && errno != ENOENT) {
		err = -errno;
		hl_err("cannot read the slot table: %s", strerror(-err));
		goto out;
	}
	/* What decides a new flow's node: the strategy and its inputs, the
	 * slots in order, the node list in order. */
	fnv(&h, &svc->strategy, sizeof(svc->strategy));
	fnv(&h, &svc->hash, sizeof(svc->hash));
	fnv(&h, &svc->bounded_load, sizeof(svc->bounded_load));
	fnv(&h, &count, sizeof(count));
	for (i = 0; i < count; i++)
		fnv_node(&h, st->nodes, table[i]);
	fnv(&h, &list.count, sizeof(list.count));
	fnv(&h, &list.usable, sizeof(list.usable));
	for (i = 0; i < list.count && i < HL_SEL_MAX; i++) {
		fnv_node(&h, st->nodes, list.ids[i]);
		fnv(&h, &list.weights[i], sizeof(list.weights[i]));
		fnv(&h, &list.seeds[i], sizeof(list.seeds[i]));
	}
	*digest = h;
out:
	free(table);
	free(keys);
	close(fd);
	return err;
}
