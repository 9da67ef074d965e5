/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's event stream: one JSON object a line (state, role and
 * breaker transitions, holds, failover decisions, reloads) to every
 * client of a unix socket under /run/helios, named after the bpffs
 * directory so that `helios-agent monitor` with the same --bpffs finds
 * its agent. A client that does not read loses events (counted), the
 * agent never waits for one.
 */
#ifndef HELIOS_AGENT_EVENTS_H
#define HELIOS_AGENT_EVENTS_H

#include <stddef.h>

struct event_base;
struct json_object;
struct agent_events;

#define EVENTS_RUN_DIR	"/run/helios"

/* The socket's path for a bpffs directory. */
void events_sock_path(const char *bpffs_dir, char *buf, size_t len);

/* NULL on failure (hl_err says why). */
struct agent_events *events_start(struct event_base *base, const char *bpffs_dir);
void events_stop(struct agent_events *ev);

/*
 * Send one event: `o` gets "time", "type": "agent", "event": `what` and
 * "msg" (the human line) added, and is consumed. Safe with ev NULL.
 */
void events_send(struct agent_events *ev, const char *what,
		 struct json_object *o, const char *msg);
/* Events dropped for clients that did not keep up. */
unsigned long long events_dropped(const struct agent_events *ev);
unsigned int events_clients(const struct agent_events *ev);

#endif /* HELIOS_AGENT_EVENTS_H */
