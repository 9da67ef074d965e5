// SPDX-License-Identifier: GPL-2.0
/*
 * Replace the director's program with this build's, keeping its state.
 *
 * First everything that can fail and changes nothing: every map of this
 * build is matched with its pin (same layout number and shape: reused;
 * another number with a migration: a new map; no pin: a new map), the
 * program is loaded (the verifier), the migrated maps are copied into
 * their new maps while the old program still runs. Then the swap: each
 * attached device's link moves to the new program (bpf_link_update,
 * atomic per device; a failure moves the ones done back), the new maps'
 * and the program's pins replace the old ones (rename, atomic), a second
 * copy brings over the entries the old program created during the first,
 * and the layout numbers are written.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "helios_xdp.skel.h"
#include "lib/ct.h"
#include "lib/log.h"
#include "lib/services.h"
#include "lib/upgrade.h"

static const struct {
	const char *name;
	__u32 version;
} layouts[] = {
#define LAYOUT_ENTRY(name, v) { #name, v },
	HL_LAYOUTS(LAYOUT_ENTRY)
#undef LAYOUT_ENTRY
};

__u32 layout_version(const char *map)
{
	size_t i;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (!strcmp(layouts[i].name, map))
			return layouts[i].version;
	return 0;
}

/* FNV-1a over the BPF object: two builds differ iff their objects do. */
static __u64 build_hash(void)
{
	const unsigned char *p;
	__u64 h = 0xcbf29ce484222325ull;
	size_t sz, i;

	p = helios_xdp__elf_bytes(&sz);
	for (i = 0; i < sz; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void layout_key(char key[HL_LAYOUT_NAME_LEN], const char *name)
{
	memset(key, 0, HL_LAYOUT_NAME_LEN);
	strncpy(key, name, HL_LAYOUT_NAME_LEN - 1);
}

int layout_open(const struct store *st)
{
	char path[4200];

	if (store_pin_path(st, LAYOUT_PIN, path, sizeof(path)))
		return -1;
	return bpf_obj_get(path);
}

/* A map's pinned layout number: 1 when there is no record (a store from
 * before the layout map, whose maps are all at layout 1). */
__u64 layout_get(int fd, const char *name)
{
	char key[HL_LAYOUT_NAME_LEN];
	__u64 v;

	layout_key(key, name);
	if (fd < 0 || bpf_map_lookup_elem(fd, key, &v))
		return name[0] == '@' ? 0 : 1;
	return v;
}

int layout_put(int fd, const char *name, __u64 v)
{
	char key[HL_LAYOUT_NAME_LEN];

	layout_key(key, name);
	return bpf_map_update_elem(fd, key, &v, BPF_ANY) ? -errno : 0;
}

/* This build's numbers (and its hash) into the layout map. */
static int layout_write(int fd)
{
	size_t i;
	int err = layout_put(fd, HL_LAYOUT_BUILD, build_hash());

	for (i = 0; !err && i < sizeof(layouts) / sizeof(layouts[0]); i++)
		err = layout_put(fd, layouts[i].name, layouts[i].version);
	return err;
}

int layout_create(struct store *st)
{
	char path[4200];
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, LAYOUT_PIN, HL_LAYOUT_NAME_LEN,
			    sizeof(__u64), HL_LAYOUT_MAX, NULL);
	if (fd < 0) {
		err = -errno;
		hl_err("cannot create the layout map: %s", strerror(errno));
		return err;
	}
	err = layout_write(fd);
	if (!err)
		err = store_pin_path(st, LAYOUT_PIN, path, sizeof(path));
	if (!err && bpf_obj_pin(fd, path))
		err = -errno;
	if (err)
		hl_err("cannot pin the layout map: %s", strerror(-err));
	close(fd);
	return err;
}

int layout_check(const struct store *st)
{
	int fd = layout_open(st), err = 0;
	size_t i;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		__u64 have = layout_get(fd, layouts[i].name);

		if (have == layouts[i].version)
			continue;
		hl_err("map %s in %s has layout %llu, this build %u: run 'helios-agent upgrade DEV' first",
		       layouts[i].name, st->dir, (unsigned long long)have,
		       layouts[i].version);
		err = -ESTALE;
		break;
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/* ---- migrations ---- */

/* Into the map new_fd, or into its shard when it is the sharded
 * connection table (lib/ct.h; shard_fds caches the shards' fds). */
static int copy_put(int new_fd, const struct bpf_map_info *ni, int *shard_fds,
		    const void *key, const void *value, __u64 flags)
{
	__u32 shard;

	if (ni->type != BPF_MAP_TYPE_ARRAY_OF_MAPS)
		return bpf_map_update_elem(new_fd, key, value, flags) ? -errno : 0;
	shard = hl_ct_shard(key);
	if (shard_fds[shard] < 0)
		shard_fds[shard] = ct_shard_fd(new_fd, shard);
	if (shard_fds[shard] < 0)
		return shard_fds[shard];
	return bpf_map_update_elem(shard_fds[shard], key, value, flags) ?
	       -errno : 0;
}

static int map_copy_one(int old_fd, int new_fd,
			void (*conv)(const void *, void *), __u64 flags,
			__u64 *copied, int *shard_fds);

/*
 * Copy every entry of old_fd into new_fd through `conv`. The old map may
 * change under the walk (the old program runs): entries that vanish are
 * skipped, and the walk is bounded (a key deleted under get_next_key
 * restarts it from the first key). A sharded connection table is read
 * and written shard by shard (lib/ct.h), whichever side it is on.
 */
static int map_copy(int old_fd, int new_fd, void (*conv)(const void *, void *),
		    __u64 flags, __u64 *copied)
{
	struct bpf_map_info oi = {};
	__u32 len = sizeof(oi), shard;
	int shard_fds[HL_CT_SHARDS], fd, i, err = 0;

	if (bpf_obj_get_info_by_fd(old_fd, &oi, &len))
		return -errno;
	for (i = 0; i < HL_CT_SHARDS; i++)
		shard_fds[i] = -1;
	if (oi.type != BPF_MAP_TYPE_ARRAY_OF_MAPS) {
		err = map_copy_one(old_fd, new_fd, conv, flags, copied,
				   shard_fds);
	} else {
		for (shard = 0; !err && shard < oi.max_entries; shard++) {
			fd = ct_shard_fd(old_fd, shard);
			if (fd == -ENOENT)
				continue;
			if (fd < 0) {
				err = fd;
				break;
			}
			err = map_copy_one(fd, new_fd, conv, flags, copied,
					   shard_fds);
			close(fd);
		}
	}
	for (i = 0; i < HL_CT_SHARDS; i++)
		if (shard_fds[i] >= 0)
			close(shard_fds[i]);
	return err;
}

static int map_copy_one(int old_fd, int new_fd,
			void (*conv)(const void *, void *), __u64 flags,
			__u64 *copied, int *shard_fds)
{
	struct bpf_map_info oi = {}, ni = {};
	__u32 len = sizeof(oi);
	void *key = NULL, *next = NULL, *ov = NULL, *nv = NULL;
	__u64 steps = 0, limit;
	int err;

	if (bpf_obj_get_info_by_fd(old_fd, &oi, &len))
		return -errno;
	len = sizeof(ni);
	if (bpf_obj_get_info_by_fd(new_fd, &ni, &len))
		return -errno;
	if (ni.type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
		/* the shards' entries, not the array's */
		ni.key_size = sizeof(struct hl_flow_key);
		ni.value_size = sizeof(struct hl_flow);
	}
	key = calloc(1, oi.key_size);
	next = calloc(1, oi.key_size);
	ov = calloc(1, oi.value_size);
	nv = calloc(1, ni.value_size);
	if (!key || !next || !ov || !nv) {
		err = -ENOMEM;
		goto out;
	}
	limit = 4ull * oi.max_entries;
	err = bpf_map_get_next_key(old_fd, NULL, next) ? -errno : 0;
	while (!err && steps++ < limit) {
		memcpy(key, next, oi.key_size);
		if (!bpf_map_lookup_elem(old_fd, key, ov)) {
			memset(nv, 0, ni.value_size);
			conv(ov, nv);
			err = copy_put(new_fd, &ni, shard_fds, key, nv, flags);
			if (!err)
				(*copied)++;
			else if (err != -EEXIST)
				break;
			err = 0;
		}
		err = bpf_map_get_next_key(old_fd, key, next) ? -errno : 0;
	}
	if (err == -ENOENT)
		err = 0;	/* the end of the map */
out:
	free(key);
	free(next);
	free(ov);
	free(nv);
	return err;
}

#ifdef HL_FLOW_TEST_LAYOUT
/* The connection entry of layouts 2 and 3, kept for the test build's
 * migration from it. */
struct hl_flow_v2 {
	__u32 node_id;
	__u32 hash;
	__u32 flags;
	__u32 created_ms;
	__u32 gen;
};

static void conntrack_3_to_4(const void *old, void *new)
{
	const struct hl_flow_v2 *o = old;
	struct hl_flow *n = new;

	n->node_id = o->node_id;
	n->hash = o->hash;
	n->flags = o->flags;
	n->created_ms = o->created_ms;
	n->gen = o->gen;
	n->migrated = 1;
}
#else
/* Layout 2 to 3: the same entries, now in shards (map_copy). */
static void conntrack_2_to_3(const void *old, void *new)
{
	memcpy(new, old, sizeof(struct hl_flow));
}
#endif

static const struct migration {
	const char *map;
	__u32 from, to;
	void (*conv)(const void *old, void *new);
} migrations[] = {
#ifdef HL_FLOW_TEST_LAYOUT
	{ "conntrack", 3, 4, conntrack_3_to_4 },
#else
	{ "conntrack", 2, 3, conntrack_2_to_3 },
#endif
	{ NULL, 0, 0, NULL }
};

static const struct migration *migration_find(const char *map, __u32 from,
					      __u32 to)
{
	const struct migration *m;

	for (m = migrations; m->map; m++)
		if (!strcmp(m->map, map) && m->from == from && m->to == to)
			return m;
	return NULL;
}

/* ---- the upgrade ---- */

/* Per map of this build, what the swap needs besides the report. */
struct plan {
	struct bpf_map *map;
	const struct migration *mig;
	int old_fd;
};

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, len);
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

/* Reuse, migrate or create one map; an error names it. */
static int plan_map(const struct store *st, int layout_fd, struct bpf_map *map,
		    struct upgrade_map *um, struct plan *pl)
{
	const char *name = bpf_map__name(map);
	struct bpf_map_info info;
	char path[4200];
	int fd, err;

	snprintf(um->name, sizeof(um->name), "%s", name);
	um->to = layout_version(name);
	if (!um->to) {
		hl_err("map %s has no layout number in include/helios/abi.h (HL_LAYOUTS)",
		       name);
		return -EINVAL;
	}
	err = store_pin_path(st, name, path, sizeof(path));
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno != ENOENT) {
			err = -errno;
			hl_err("map %s: cannot open its pin: %s", name,
			       strerror(errno));
			return err;
		}
		um->how = UPGRADE_CREATE;
		return 0;
	}
	um->from = layout_get(layout_fd, name);
	if (um->from != um->to) {
		pl->mig = migration_find(name, um->from, um->to);
		if (!pl->mig) {
			hl_err("map %s: pinned layout %u, this build has %u and no migration between them",
			       name, um->from, um->to);
			close(fd);
			return -EPROTO;
		}
		um->how = UPGRADE_MIGRATE;
		pl->old_fd = fd;
		return 0;
	}
	err = map_info(fd, &info);
	if (!err && (info.type != bpf_map__type(map) ||
		     info.key_size != bpf_map__key_size(map) ||
		     info.value_size != bpf_map__value_size(map) ||
		     info.max_entries != bpf_map__max_entries(map) ||
		     info.map_flags != bpf_map__map_flags(map))) {
		hl_err("map %s: pinned %u entries of %u+%u bytes, this build %u of %u+%u at the same layout %u (its number must change)",
		       name, info.max_entries, info.key_size, info.value_size,
		       bpf_map__max_entries(map), bpf_map__key_size(map),
		       bpf_map__value_size(map), um->to);
		err = -EPROTO;
	}
	if (!err)
		err = bpf_map__reuse_fd(map, fd);
	close(fd);
	um->how = UPGRADE_REUSE;
	return err;
}

/* The attached devices: every link_* pin of the store. */
static int collect_links(const struct store *st, struct upgrade_report *rep,
			 int *fds)
{
	struct bpf_link_info info;
	struct dirent *de;
	char path[4200];
	__u32 len;
	DIR *d;
	int err = 0;

	d = opendir(st->dir);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		int fd;

		if (strncmp(de->d_name, "link_", 5))
			continue;
		if (rep->ndevs == UPGRADE_MAX_DEVS) {
			err = -E2BIG;
			break;
		}
		store_pin_path(st, de->d_name, path, sizeof(path));
		fd = bpf_obj_get(path);
		len = sizeof(info);
		memset(&info, 0, len);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
			err = -errno;
			hl_err("cannot open the link %s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			break;
		}
		fds[rep->ndevs] = fd;
		rep->devs[rep->ndevs].ifindex = info.xdp.ifindex;
		rep->devs[rep->ndevs++].link_id = info.id;
	}
	closedir(d);
	return err;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Pins are swapped in two steps: every new object pinned as NAME_next
 * (can fail, changes nothing), then renamed over NAME (atomic). */
static int pin_next(const struct store *st, const char *name, char *next,
		    size_t len)
{
	char n[64];

	snprintf(n, sizeof(n), "%s_next", name);
	return store_pin_path(st, n, next, len);
}

static int pin_stage(const struct store *st, int fd, const char *name)
{
	char next[4200];
	int err = pin_next(st, name, next, sizeof(next));

	if (err)
		return err;
	unlink(next);	/* left over by an upgrade that died here */
	if (bpf_obj_pin(fd, next)) {
		err = -errno;
		hl_err("cannot pin %s: %s", next, strerror(errno));
	}
	return err;
}

static void pin_unstage(const struct store *st, const char *name)
{
	char next[4200];

	if (!pin_next(st, name, next, sizeof(next)))
		unlink(next);
}

static int pin_commit(const struct store *st, const char *name)
{
	char next[4200], path[4200];
	int err = pin_next(st, name, next, sizeof(next));

	if (!err)
		err = store_pin_path(st, name, path, sizeof(path));
	if (!err && rename(next, path)) {
		err = -errno;
		hl_err("cannot rename %s to %s: %s", next, path, strerror(errno));
	}
	return err;
}

/*
 * The active-flow recount and the NAT expiry run as BPF timer callbacks
 * of the program that armed them, over the maps that program had. Zeroing
 * their map values cancels them (the kernel frees a timer whose value is
 * overwritten); the new program arms its own on its next flow.
 */
static void timers_handover(struct helios_xdp *skel)
{
	const struct bpf_map *maps[] = { skel->maps.sweeper,
					 skel->maps.nat_sweeper };
	__u32 zero = 0;
	size_t i;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		void *v = calloc(1, bpf_map__value_size(maps[i]));

		if (v)
			bpf_map_update_elem(bpf_map__fd(maps[i]), &zero, v,
					    BPF_ANY);
		free(v);
	}
	store_nat_sweep_setup(skel);
}

/* The active counts follow the shards' own (bpf/lib/sweep.h): made anew
 * from the table when either is new. */
static void counts_handover(struct helios_xdp *skel, const struct plan *plans,
			    const struct upgrade_report *rep)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int i;

	for (i = 0; i < rep->nmaps; i++) {
		if (rep->maps[i].how == UPGRADE_REUSE ||
		    (plans[i].map != skel->maps.conntrack &&
		     plans[i].map != skel->maps.ct_counts))
			continue;
		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.recount_reset),
					   &opts))
			hl_warn("active flow counts (lc, p2c) not recounted: %s",
				strerror(errno));
		return;
	}
}

/* Move every link to `to`; on a failure move the ones done back. */
static int links_move(struct upgrade_report *rep, const int *fds, int to,
		      int back)
{
	int i, err = 0;

	for (i = 0; i < rep->ndevs; i++) {
		if (bpf_link_update(fds[i], to, NULL)) {
			err = -errno;
			hl_err("cannot replace the program on ifindex %u: %s",
			       rep->devs[i].ifindex, strerror(errno));
			break;
		}
	}
	while (err && i-- > 0)
		bpf_link_update(fds[i], back, NULL);
	return err;
}

int store_upgrade(struct store *st, bool force, struct upgrade_report *rep)
{
	struct plan plans[HL_LAYOUT_MAX];
	int link_fds[UPGRADE_MAX_DEVS];
	struct helios_xdp *skel;
	struct bpf_map *map;
	int layout_fd, new_prog, i, err = 0;
	bool changes = false;
	__u64 build;

	memset(rep, 0, sizeof(*rep));
	for (i = 0; i < HL_LAYOUT_MAX; i++)
		plans[i] = (struct plan){ .old_fd = -1 };
	skel = helios_xdp__open();
	if (!skel) {
		err = -errno;
		hl_err("cannot open the BPF object: %s", strerror(errno));
		return err;
	}
	layout_fd = layout_open(st);
	build = build_hash();

	/* 1. check: every map, before anything is loaded or changed */
	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		if (rep->nmaps == HL_LAYOUT_MAX) {
			hl_err("more maps than HL_LAYOUT_MAX");
			err = -E2BIG;
			goto out;
		}
		plans[rep->nmaps].map = map;
		err = plan_map(st, layout_fd, map, &rep->maps[rep->nmaps],
			       &plans[rep->nmaps]);
		if (err)
			goto out;
		changes |= rep->maps[rep->nmaps++].how != UPGRADE_REUSE;
	}
	rep->old_prog = prog_id(st->prog_fd);
	if (!force && !changes && layout_get(layout_fd, HL_LAYOUT_BUILD) == build) {
		rep->current = true;
		rep->new_prog = rep->old_prog;
		goto out;
	}

	/* 2. load, and copy the migrated maps while the old program runs */
	err = helios_xdp__load(skel);
	if (err) {
		hl_err("cannot load this build's XDP program: %s (-v shows the verifier log)",
		       strerror(-err));
		goto out;
	}
	err = ct_shards_create(bpf_map__fd(skel->maps.conntrack),
			       HL_CT_SHARD_ENTRIES, sizeof(struct hl_flow));
	if (err)
		goto out;
	new_prog = bpf_program__fd(skel->progs.helios_xdp);
	rep->new_prog = prog_id(new_prog);
	for (i = 0; i < rep->nmaps; i++) {
		if (!plans[i].mig)
			continue;
		err = map_copy(plans[i].old_fd, bpf_map__fd(plans[i].map),
			       plans[i].mig->conv, BPF_ANY, &rep->maps[i].copied);
		if (err) {
			hl_err("map %s: migration failed: %s", rep->maps[i].name,
			       strerror(-err));
			goto out;
		}
	}
	err = collect_links(st, rep, link_fds);
	if (err)
		goto out_links;

	/* 3. stage the new pins, swap the program on every device, then
	 * the pins (renames within one directory) */
	for (i = 0; !err && i < rep->nmaps; i++)
		if (rep->maps[i].how != UPGRADE_REUSE)
			err = pin_stage(st, bpf_map__fd(plans[i].map),
					rep->maps[i].name);
	if (!err)
		err = pin_stage(st, new_prog, PROG_PIN);
	if (!err)
		err = links_move(rep, link_fds, new_prog, st->prog_fd);
	if (err) {
		for (i = 0; i < rep->nmaps; i++)
			pin_unstage(st, rep->maps[i].name);
		pin_unstage(st, PROG_PIN);
		goto out_links;
	}
	for (i = 0; !err && i < rep->nmaps; i++) {
		if (rep->maps[i].how == UPGRADE_REUSE)
			continue;
		err = pin_commit(st, rep->maps[i].name);
		/* what the old program added while we copied */
		if (!err && plans[i].mig)
			err = map_copy(plans[i].old_fd, bpf_map__fd(plans[i].map),
				       plans[i].mig->conv, BPF_NOEXIST,
				       &rep->maps[i].copied);
	}
	if (!err)
		err = pin_commit(st, PROG_PIN);
	if (!err && layout_fd < 0) {
		err = layout_create(st);
	} else if (!err) {
		err = layout_write(layout_fd);
		if (err)
			hl_err("cannot write the layout map: %s", strerror(-err));
	}
	if (err)
		goto out_links;
	timers_handover(skel);
	counts_handover(skel, plans, rep);
	err = store_reopen(st);
	if (!err)	/* new maps (svc_by_id, free_vips), old services */
		err = svc_copies_sync(st);
	if (!err)
		err = svc_ports_sync(st);
out_links:
	for (i = 0; i < rep->ndevs; i++)
		close(link_fds[i]);
out:
	for (i = 0; i < rep->nmaps; i++)
		if (plans[i].old_fd >= 0)
			close(plans[i].old_fd);
	if (layout_fd >= 0)
		close(layout_fd);
	helios_xdp__destroy(skel);
	return err;
}
