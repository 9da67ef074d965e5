// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "helios_xdp.skel.h"
#include "lib/bpffs.h"
#include "lib/ct.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/services.h"
#include "lib/store.h"
#include "lib/upgrade.h"

/* A name missing from the skeleton fails here, at compile time. */
#define STORE_MAP_CHECK(id, name)					\
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): only that it exists */ \
	_Static_assert(sizeof(((struct helios_xdp *)0)->maps.name), #name);
HL_STORE_MAPS(STORE_MAP_CHECK)
#undef STORE_MAP_CHECK

const char *const store_map_names[MAP_COUNT] = {
#define STORE_MAP_NAME(id, name) [MAP_##id] = #name,
	HL_STORE_MAPS(STORE_MAP_NAME)
#undef STORE_MAP_NAME
};

int store_pin_path(const struct store *st, const char *name, char *buf,
		   size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", st->dir, name) >= len) {
		hl_err("--bpffs path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * The NAT expiry walks run in a kworker once a sleepable program has set
 * up their work item (bpf/lib/nat_sweep.h); without it the timer walks in
 * softirq, holding up that CPU's packets while it does: a warning only.
 */
void store_nat_sweep_setup(struct helios_xdp *skel)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int fd = bpf_program__fd(skel->progs.nat_sweep_setup);

	if (bpf_prog_test_run_opts(fd, &opts) || opts.retval)
		hl_warn("NAT expiry stays in softirq: nat_sweep_setup failed (%s)",
			opts.retval ? strerror(-(int)opts.retval) : strerror(errno));
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
		hl_err("cannot open the BPF object: %s", strerror(errno));
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
		hl_err("cannot load the XDP program: %s%s", strerror(-err),
		       err == -EPERM ? " (run as root: needs CAP_BPF and CAP_NET_ADMIN)" :
		       " (-v shows the verifier log)");
		goto out;
	}
	err = ct_shards_create(bpf_map__fd(skel->maps.conntrack),
			       HL_CT_SHARD_ENTRIES, sizeof(struct hl_flow));
	if (err)
		goto out;
	err = store_pin_path(st, PROG_PIN, path, sizeof(path));
	if (!err && access(path, F_OK)) {
		/* a fresh store: its maps have this build's layouts */
		err = bpf_program__pin(skel->progs.helios_xdp, path);
		if (!err)
			err = layout_create(st);
	}
	if (err)
		hl_err("cannot pin the XDP program at %s: %s", path, strerror(-err));
	if (!err)
		store_nat_sweep_setup(skel);
out:
	helios_xdp__destroy(skel);
	return err;
}

/*
 * The writers' journal. A writer that takes the exclusive lock marks the
 * store dirty (HL_LAYOUT_DIRTY in the map `layout`) and clean again when it
 * lets go. One that died in between (SIGKILL, a crash) leaves the mark, and
 * the next writer first rebuilds every service's tables from the nodes map:
 * a node written without the table that follows from it, or a table swapped
 * in without the service's slot count, is made whole before anything else
 * is written. The data path meanwhile reads complete tables (each swapped
 * in with one map write), just not yet the newest.
 */
static int repair_one(struct store *st, const struct hl_svc_key *key,
		      const struct hl_service *svc, void *data)
{
	(void)key;
	(*(unsigned int *)data)++;
	return svc_rebuild(st, svc->id);
}

static int journal_begin(struct store *st)
{
	unsigned int n = 0;
	int err;

	if (st->meta_fd < 0)
		return 0;
	if (layout_get(st->meta_fd, HL_LAYOUT_DIRTY)) {
		err = nodes_load(st);
		if (!err)
			err = svc_for_each(st, repair_one, &n);
		if (err)
			return err;
		hl_warn("a writer died holding the lock: rebuilt the tables of %u services",
			n);
	}
	return layout_put(st->meta_fd, HL_LAYOUT_DIRTY, 1);
}

static void journal_end(struct store *st)
{
	if (st->meta_fd >= 0)
		layout_put(st->meta_fd, HL_LAYOUT_DIRTY, 0);
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
	if (st->meta_fd >= 0)
		close(st->meta_fd);
	st->meta_fd = -1;
}

/* `partial`: a map without a pin stays at -1 (attach and upgrade create
 * the maps that a director of an older build lacks). */
static int store_open_pins(struct store *st, bool partial)
{
	char path[4200];
	int i;

	for (i = 0; i < MAP_COUNT; i++) {
		store_pin_path(st, store_map_names[i], path, sizeof(path));
		st->fds[i] = bpf_obj_get(path);
		if (st->fds[i] < 0 && !(partial && errno == ENOENT))
			return -errno;
	}
	store_pin_path(st, PROG_PIN, path, sizeof(path));
	st->prog_fd = bpf_obj_get(path);
	if (st->prog_fd < 0)
		return -errno;
	st->meta_fd = layout_open(st);	/* none in a store from before it */
	return 0;
}

int store_reopen(struct store *st)
{
	store_close_fds(st);
	return store_open_pins(st, false);
}

static int store_open_checked(struct store *st, const char *dir, bool create,
			      bool check)
{
	int i, err;

	memset(st, 0, sizeof(*st));
	st->dir_fd = -1;
	st->prog_fd = -1;
	st->meta_fd = -1;
	for (i = 0; i < MAP_COUNT; i++)
		st->fds[i] = -1;
	if (strlen(dir) >= sizeof(st->dir)) {
		hl_err("--bpffs path too long");
		return -ENAMETOOLONG;
	}
	strcpy(st->dir, dir);

	if (create) {
		err = bpffs_prepare(st->dir);
		if (err)
			return err;
	}
	st->dir_fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dir_fd < 0)
		return -ENOENT;
	err = store_lock(st, create);
	if (err)
		return err;

	err = store_open_pins(st, false);
	if (err == -ENOENT && !check) {
		char path[4200];

		store_pin_path(st, PROG_PIN, path, sizeof(path));
		if (!access(path, F_OK)) {	/* a director of another build */
			store_close_fds(st);
			err = store_open_pins(st, true);
		}
	}
	if (err && create) {
		store_close_fds(st);
		err = store_load(st);
		if (!err)
			err = store_open_pins(st, false);
		if (!err)
			err = svc_ports_sync(st);	/* a new map, old services */
		if (!err)
			err = svc_copies_sync(st);
	}
	if (err == -EACCES || err == -EPERM)
		hl_err("cannot open Helios maps in %s: permission denied (run as root)",
		       st->dir);
	if (!err && check)
		err = layout_check(st);
	/* The lock is exclusive; the repair needs this build's layouts (an
	 * upgrade to them repairs at its next open). */
	if (!err && create && (check || !layout_check(st)))
		err = journal_begin(st);
	if (!err)
		hl_errclear();
	return err;
}

int store_open(struct store *st, const char *dir, bool create)
{
	return store_open_checked(st, dir, create, true);
}

int store_open_any(struct store *st, const char *dir)
{
	return store_open_checked(st, dir, true, false);
}

void store_close(struct store *st)
{
	if (st->lock_depth && st->lock_excl)
		journal_end(st);
	store_close_fds(st);
	if (st->dir_fd >= 0)
		close(st->dir_fd);	/* drops the lock */
	st->dir_fd = -1;
	st->lock_depth = 0;
	free(st->nodes);
	st->nodes = NULL;
}

int store_lock(struct store *st, bool exclusive)
{
	if (st->lock_depth && (st->lock_excl || !exclusive)) {
		st->lock_depth++;
		return 0;
	}
	if (flock(st->dir_fd, exclusive ? LOCK_EX : LOCK_SH)) {
		int err = -errno;

		hl_err("cannot lock %s: %s", st->dir, strerror(errno));
		return err;
	}
	st->lock_depth++;
	st->lock_excl = exclusive;
	if (exclusive) {
		int err = journal_begin(st);

		if (err) {
			store_unlock(st);
			return err;
		}
	}
	return 0;
}

void store_unlock(struct store *st)
{
	if (!st->lock_depth || --st->lock_depth)
		return;
	if (st->lock_excl)
		journal_end(st);
	flock(st->dir_fd, LOCK_UN);
}
