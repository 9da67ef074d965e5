/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Upgrades: replace the director's program with this build's while every
 * flow keeps going. Each pinned map is reused, migrated (its layout number
 * changed and a migration between the two numbers exists) or, new in this
 * build, created; anything else refuses the whole upgrade before a thing
 * has changed. The layout numbers in use are pinned in the map `layout`
 * (HL_LAYOUTS in include/helios/abi.h; HACKING.md "Upgrades").
 */
#ifndef HELIOS_LIB_UPGRADE_H
#define HELIOS_LIB_UPGRADE_H

#include <stdbool.h>
#include <helios/abi.h>

#include "lib/store.h"

#define LAYOUT_PIN		"layout"
#define UPGRADE_MAX_DEVS	64

enum upgrade_how {
	UPGRADE_REUSE,		/* the pinned map, as it is */
	UPGRADE_MIGRATE,	/* copied into a new map, swapped in */
	UPGRADE_CREATE,		/* new in this build */
};

struct upgrade_map {
	char name[HL_LAYOUT_NAME_LEN];
	enum upgrade_how how;
	__u32 from, to;		/* layout numbers */
	__u64 copied;		/* entries, for a migration */
};

struct upgrade_dev {
	__u32 ifindex;
	__u32 link_id;
};

struct upgrade_report {
	struct upgrade_map maps[HL_LAYOUT_MAX];
	int nmaps;
	struct upgrade_dev devs[UPGRADE_MAX_DEVS];
	int ndevs;
	__u32 old_prog, new_prog;	/* program ids */
	bool current;		/* the director already runs this build */
};

/*
 * Under the exclusive lock (store_open(..., true)): check every map, load
 * this build's program, copy the migrated maps off to the side, then swap
 * the program on every attached device (bpf_link_update) and the pins.
 * Without `force`, a director that already runs this build is left alone
 * (rep->current). On return the store's fds are the new ones.
 */
int store_upgrade(struct store *st, bool force, struct upgrade_report *rep);

/* The layout number this build gives a map; 0: not listed in HL_LAYOUTS. */
__u32 layout_version(const char *map);

/* The pinned map `layout` (-1 if there is none), and its entries: a map's
 * number (1 if not recorded), or a key beginning with '@' (0 if not). */
int layout_open(const struct store *st);
__u64 layout_get(int fd, const char *name);
int layout_put(int fd, const char *name, __u64 v);

/* Pin the map `layout` with this build's numbers (a fresh store). */
int layout_create(struct store *st);

/* 0, or -ESTALE with hl_err() naming the first map whose pinned layout
 * differs from this build's (the store needs `helios-agent upgrade`). */
int layout_check(const struct store *st);

#endif /* HELIOS_LIB_UPGRADE_H */
