/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Health probes: one file per kind behind a small ops table, all driven by
 * one libevent loop. A probe never blocks: start() arms events and returns;
 * the result arrives later through probe->done(), exactly once per start(),
 * by the timeout at the latest.
 */
#ifndef HELIOS_PROBE_H
#define HELIOS_PROBE_H

#include <stddef.h>
#include <event2/event.h>

#include "agent/health.h"
#include "lib/parse.h"

enum probe_kind {
	PROBE_TCP,
	PROBE_HTTP,
	PROBE_POSTGRES,
	PROBE_PATRONI,
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
	__u64 started_ns;		/* hl_now_ns() */
	char err[128];			/* why the last check failed ("" if ok),
					 * valid in done() until the next start() */
};

extern const struct probe_ops probe_tcp_ops;
extern const struct probe_ops probe_http_ops;
extern const struct probe_ops probe_pg_ops;
extern const struct probe_ops probe_patroni_ops;

const struct probe_ops *probe_ops_for(enum probe_kind kind);

/* The pure parts of the probes' answers (tests/fuzz runs them on any
 * bytes). An HTTP/1.x status line: its code, 0 while more may come, -1
 * if it is none. */
int http_status_line(const char *s, size_t len, bool eof);
/* The postgres probe's one row (in recovery, lag in seconds and bytes)
 * into res; -1 if the answer has another shape. */
struct pg_result;
int pg_answer_parse(const struct pg_result *r, struct probe_result *res);
/* libpq, opened on first use (dl.h): before pg_answer_parse(). */
int pg_lib_open(void);
/* probe KIND ADDR PORT's options after PORT, into cfg and count. */
int probe_parse_opts(int argc, char **argv, struct probe_cfg *cfg,
		     unsigned long *count);
int probe_kind_parse(const char *name, enum probe_kind *kind);
const char *probe_kind_name(enum probe_kind kind);

/*
 * Lifecycle, for every kind: start() and done() alternate; cancel() may be
 * called at any time, also when nothing is in flight (a postgres probe keeps
 * its connection open between checks and cancel() closes it), and more than
 * once. Free or reuse a struct probe only after cancel().
 */

/* Shared by the kinds (probe.c); not for the probes' owners. */

/* A check begins: p->err cleared, its time (started_ns) running. */
void probe_begin(struct probe *p);
/* Result with role HL_ROLE_ANY and no lag. */
void probe_result_init(struct probe_result *res);
/* Record why the check failed, in p->err. */
void probe_set_err(struct probe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A check over one TCP connection that it opens (tcp, http): the first
 * member of the kind's state in p->priv, so that allocating and freeing
 * that state, and the connect, are done here once for every such kind.
 */
struct probe_conn {
	int fd;			/* -1 until connecting */
	struct event *ev;	/* the check's one event */
	int early_err;		/* connect() failed inside start() */
};

/* Begin a connection check: the last one's state freed, probe_begin(),
 * and `size` zeroed bytes (the kind's state, starting with a struct
 * probe_conn) as p->priv. Returns p->priv, NULL when out of memory. */
void *probe_conn_new(struct probe *p, size_t size);
/* Free a connection check's state: its event, its socket and p->priv.
 * Such a kind's cancel(). */
void probe_conn_free(struct probe *p);
/* Connect c (p->priv, from probe_conn_new()) to p->addr:p->cfg->port
 * without blocking and arm c->ev: cb runs when the outcome is known (then
 * ask probe_connect_done()), or with EV_TIMEOUT when the check's time runs
 * out first. An answer connect() gives at once comes the same way, from
 * the loop, so done() never runs on start()'s caller's stack. 0, or
 * -errno with the state freed. */
int probe_start_connect(struct probe *p, struct probe_conn *c,
			event_callback_fn cb);
/* In cb, when it ran without EV_TIMEOUT: 0 if connected, else -errno. */
int probe_connect_done(const struct probe_conn *c);

/* Arm `ev` (from event_new) for `what` on fd, with the rest of the
 * probe's time (started_ns + timeout) as timeout: cb gets EV_TIMEOUT when
 * it runs out. fd may change between calls (libpq). 0 or -errno. */
int probe_wait(struct probe *p, struct event *ev, evutil_socket_t fd,
	       short what, event_callback_fn cb);
/* Arm `ev` to run cb (with EV_TIMEOUT) on the next loop iteration: how a
 * kind reports a failure found inside start() without calling done() from
 * its caller's stack. 0 or -errno. */
int probe_soon(struct probe *p, struct event *ev, event_callback_fn cb);
/* "GET path HTTP/1.0" with Host and User-Agent, then `headers` (each
 * ending in CRLF) and the blank line, into buf: its length, or -ENAMETOOLONG. */
int probe_http_request(const struct probe *p, const char *path,
		       const char *headers, char *buf, size_t len);
__u32 probe_timeout_ms(const struct probe *p);
__u32 probe_elapsed_us(const struct probe *p);

#endif /* HELIOS_PROBE_H */
