/* SPDX-License-Identifier: GPL-2.0 */
/* The director's attachments: `attach`/`detach` and the configuration
 * file's `attach` groups (user/agent/config.c) go through these. */
#ifndef HELIOS_CMD_ATTACH_H
#define HELIOS_CMD_ATTACH_H

#include <net/if.h>
#include <helios/abi.h>

#include "lib/options.h"
#include "lib/parse.h"

enum attach_mode { ATTACH_NATIVE, ATTACH_GENERIC };

/* One attachment as operators give it (attach_opts set the fields). */
struct attach_conf {
	char dev[IF_NAMESIZE];
	__u8 mode;			/* enum attach_mode */
	char src[2 * ADDR_STRLEN];	/* outer source of IPIP: ADDR, IPv4,IPv6 or "" */
	char zone[HL_ZONE_LEN];		/* the director's zone, or "" */
};

extern const struct opt attach_opts[];

struct store;
/* Attach the pinned program to ac->dev (-EEXIST: it is already). */
int attach_link(struct store *st, const struct attach_conf *ac);
/* Detach: unpin dev's link (-ENOENT: not attached). */
int detach_link(struct store *st, const char *dev);
/* Set the settings `seen` says (src, zone) where they differ from the
 * pinned ones; rebuild prefer-zone tables when the zone changes. */
int attach_settings(struct store *st, const struct attach_conf *ac,
		    opt_seen_t seen);
/* Every attachment pinned in st, with the pinned src and zone: fn's
 * first error stops the walk. */
int attach_for_each(struct store *st,
		    int (*fn)(const struct attach_conf *ac, void *data),
		    void *data);

#endif /* HELIOS_CMD_ATTACH_H */
