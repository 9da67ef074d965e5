/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Patroni's REST API as the agent reads it: the JSON every endpoint
 * (/patroni, /primary, /replica, /read-only, /sync, /async) answers with,
 * whatever its status. Pure (no sockets), so it is unit-tested against
 * recorded responses; probe_patroni.c does the HTTP.
 */
#ifndef HELIOS_PATRONI_H
#define HELIOS_PATRONI_H

#include "agent/health.h"

/*
 * Fill `res` from the JSON `body` of an answer with HTTP `status`: role
 * (primary/master -> primary; replica, standby_leader -> standby),
 * timeline, lag (the "lag" field in bytes, else received minus replayed
 * WAL), pending_restart, tags nofailover and noloadbalance, a replica's
 * pool (sync_standby: sync, else async). ok is a
 * running PostgreSQL ("state": "running"); no_reads is noloadbalance, or a
 * read endpoint's 503. 0, or -1 with why in `err` (not JSON, no role).
 */
int patroni_parse(const char *body, int status, bool read_endpoint,
		  struct probe_result *res, char *err, size_t errlen);

/* The endpoint a service's check asks: "/primary" for writes, "/replica"
 * (with "?lag=N" when lag_bytes is set) for reads, else "/patroni". */
void patroni_path(__u8 strategy, __u64 lag_bytes, char *buf, size_t len);

#endif /* HELIOS_PATRONI_H */
