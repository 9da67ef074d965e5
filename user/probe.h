/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Health probes: one file per kind behind a small ops table, all driven by
 * one libevent loop. A probe never blocks: start() arms events and returns;
 * the result arrives later through probe->done(), exactly once per start(),
 * by the timeout at the latest.
 */
#ifndef HELIOS_PROBE_H
#define HELIOS_PROBE_H

#include <event2/event.h>

#include "health.h"
#include "parse.h"

enum probe_kind {
	PROBE_TCP,
	PROBE_HTTP,
	PROBE_POSTGRES,
};

/* What a probe checks, beside the node's address. */
struct probe_cfg {
	enum probe_kind kind;
	__u16 port;			/* host order */
	__u32 timeout_ms;
	char http_path[256];		/* http: "/" by default */
	int http_expect;		/* http: expected status, 200 by default */
	char pg_conninfo[512];		/* postgres: libpq conninfo without host/port
					 * (user, dbname, passfile, ...) */
};

struct probe;

struct probe_ops {
	const char *name;
	/* Begin one check; 0 or -errno (then done() is not called). */
	int (*start)(struct probe *p);
	/* Stop a check in flight without calling done(); frees kind state. */
	void (*cancel)(struct probe *p);
};

struct probe {
	const struct probe_ops *ops;
	struct event_base *base;
	struct ip_addr addr;
	const struct probe_cfg *cfg;
	void (*done)(struct probe *p, const struct probe_result *res);
	void *owner;			/* for done() */
	void *priv;			/* kind's own state while in flight */
	__u64 started_ns;		/* CLOCK_MONOTONIC */
};

extern const struct probe_ops probe_tcp_ops;
extern const struct probe_ops probe_http_ops;
extern const struct probe_ops probe_pg_ops;

const struct probe_ops *probe_ops_for(enum probe_kind kind);
int probe_kind_parse(const char *name, enum probe_kind *kind);
const char *probe_kind_name(enum probe_kind kind);

#endif /* HELIOS_PROBE_H */
