/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's metrics endpoint: GET /metrics over HTTP (libmicrohttpd),
 * driven by the agent's libevent loop (no thread of its own: a scrape
 * reads the maps and the agent's state between two events). What it
 * serves comes from lib/metrics.c plus the agent's `extra` families.
 */
#ifndef HELIOS_AGENT_METRICS_HTTP_H
#define HELIOS_AGENT_METRICS_HTTP_H

#include <sys/socket.h>

#include "lib/expo.h"
#include "lib/store.h"

struct event_base;
struct metrics_http;

typedef void (*metrics_extra_fn)(struct expo *e, void *arg);

/* ADDR:PORT, [ADDR6]:PORT or PORT (127.0.0.1); 0 or -EINVAL (hl_err). */
int metrics_addr_parse(const char *str, struct sockaddr_storage *ss);
/* The option check (lib/options.h): NULL, or why not. */
const char *metrics_addr_check(const void *field);

/* Listen at `addr`; NULL on failure (hl_err says why). */
struct metrics_http *metrics_http_start(struct event_base *base,
					struct store *st, const char *addr,
					metrics_extra_fn extra, void *arg);
void metrics_http_stop(struct metrics_http *m);

#endif /* HELIOS_AGENT_METRICS_HTTP_H */
