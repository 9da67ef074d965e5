/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VIP announcements through BIRD 2 (the agent's `bgp` group). The agent
 * writes an include file with two static protocols, helios_vips4 and
 * helios_vips6, holding a blackhole route per VIP it announces; the
 * operator's bird.conf includes it and exports those protocols to its BGP
 * sessions. After each change the agent asks BIRD over its control socket
 * to `configure` (re-read its files); every `poll` seconds it asks `show
 * protocols` and reports BIRD or BGP sessions it cannot see up.
 */
#ifndef HELIOS_AGENT_ANNOUNCE_H
#define HELIOS_AGENT_ANNOUNCE_H

#include <stdbool.h>
#include <event2/event.h>

#include "lib/options.h"
#include "lib/parse.h"

#define BGP_PATH_LEN	108	/* sun_path */

struct bgp_conf {
	char socket[BGP_PATH_LEN];	/* BIRD's control socket */
	char include[256];		/* the file the agent writes */
	__u32 drain_ms;			/* stop: withdraw, wait this, exit */
	__u32 poll_ms;			/* show protocols every ... */
};

extern const struct opt bgp_opts[];
void bgp_conf_defaults(struct bgp_conf *cf);

enum bird_state { BIRD_UNKNOWN, BIRD_DOWN, BIRD_NO_SESSION, BIRD_UP };

/* The agent's logger: level "error", "warn", "info" or "debug". */
typedef void (*announce_log_fn)(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct announcer {
	const struct bgp_conf *cf;
	announce_log_fn log;
	struct event *poll;
	char *written;		/* the include file as last written, or NULL */
	bool configured;	/* BIRD took `written` (configure succeeded) */
	bool refused;		/* BIRD's last configure failed (logged) */
	enum bird_state state;
	char sessions[512];	/* "name:state ..." of the BGP protocols seen */
};

int announce_init(struct announcer *an, struct event_base *base,
		  const struct bgp_conf *cf, announce_log_fn log);
/* A new configuration: rewrite the file at the next announce_set(). */
void announce_reconf(struct announcer *an, const struct bgp_conf *cf);
/* Announce exactly these VIPs (none: withdraw all). 0 once BIRD has been
 * told, -errno when the file or BIRD failed (logged; retried at the next
 * call or poll). */
int announce_set(struct announcer *an, const struct ip_addr *vips,
		 unsigned int n);
/* BIRD answers and at least one BGP session is established. */
bool announce_healthy(const struct announcer *an);
void announce_free(struct announcer *an);

#endif /* HELIOS_AGENT_ANNOUNCE_H */
