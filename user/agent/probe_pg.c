// SPDX-License-Identifier: GPL-2.0
/*
 * PostgreSQL probe, on libpq's asynchronous API only: PQconnectStartParams
 * and PQconnectPoll driven by the socket's readiness, then one query that
 * answers role and lag in one round trip. The connection stays open between
 * checks (a kept-open connection answers in well under a millisecond; a new
 * one costs a backend fork and a few milliseconds) and is reopened after any
 * error. Credentials come from the conninfo (passfile, service file, ...),
 * never from a command line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "agent/dl.h"
#include "agent/probe.h"
#include "lib/log.h"

/*
 * Role, then lag in seconds and bytes, timeline and system identifier. A
 * primary's own data is current: its
 * lag is 0 (its standbys' lag is theirs, not its). On a standby the time since
 * the last replayed commit alone misleads (NULL before the first commit,
 * growing while the primary is idle), so it counts only while received WAL
 * waits to be replayed; bytes are received minus replayed. Last, on a
 * primary, "ADDR=sync_state,..." of its standbys.
 */
static const char pg_query[] =
	"SELECT pg_is_in_recovery(),"
	" CASE WHEN pg_is_in_recovery() AND"
	"  pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"
	" THEN GREATEST(COALESCE(EXTRACT(EPOCH FROM"
	"  now() - pg_last_xact_replay_timestamp()), 0), 0)"
	" ELSE 0 END,"
	" CASE WHEN pg_is_in_recovery()"
	" THEN GREATEST(COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(),"
	"  pg_last_wal_replay_lsn()), 0), 0)"
	" ELSE 0 END,"
	/* the timeline: a primary's from its current WAL file's name (the
	 * checkpoint's moves only at the first checkpoint after a promotion),
	 * a standby's from its last checkpoint */
	" CASE WHEN pg_is_in_recovery()"
	" THEN (SELECT timeline_id FROM pg_control_checkpoint())::bigint"
	" ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))"
	"  ::bit(32)::bigint END,"
	" (SELECT system_identifier FROM pg_control_system()),"
	/* on a primary, its standbys' sync states (workload pools) */
	" (SELECT string_agg(host(client_addr) || '=' || sync_state, ',')"
	"  FROM pg_stat_replication WHERE client_addr IS NOT NULL)";

enum pg_step {
	PG_IDLE,
	PG_CONNECT,
	PG_QUERY,
};

struct pg_check {
	PGconn *conn;		/* kept across checks */
	struct event *ev;
	enum pg_step step;
	bool early_fail;	/* failed inside start(): report from the loop */
	bool reused;		/* this check runs on a kept-open connection */
	bool retried;		/* ... which failed, and was reopened once */
	bool flushing;		/* the query is not all sent yet */
	bool got_row;
	bool query_err;
	struct probe_result res;
};

/* libpq, opened on first use (dl.h). */
#define PQ_FUNCS(X)			\
	X(PQclear) \
	X(PQconnectPoll) \
	X(PQconnectStartParams) \
	X(PQconninfoFree) \
	X(PQconninfoParse) \
	X(PQconsumeInput) \
	X(PQerrorMessage) \
	X(PQfinish) \
	X(PQflush) \
	X(PQfreemem) \
	X(PQgetResult) \
	X(PQgetvalue) \
	X(PQisBusy) \
	X(PQnfields) \
	X(PQntuples) \
	X(PQresultErrorMessage) \
	X(PQresultStatus) \
	X(PQsendQuery) \
	X(PQsetNoticeProcessor) \
	X(PQsetnonblocking) \
	X(PQsocket) \
	X(PQstatus) \
	X(PQtransactionStatus)

static struct {
	PQ_FUNCS(DL_PTR)
} pq;

int pg_lib_open(void)
{
#define PQ_SYM(name) DL_SYM(pq, name)
	static const struct dl_sym syms[] = { PQ_FUNCS(PQ_SYM) };
#undef PQ_SYM

	return dl_bind("libpq.so.5", syms, sizeof(syms) / sizeof(syms[0]));
}

static void pg_event(evutil_socket_t fd, short what, void *arg);

static void pg_close(struct pg_check *c)
{
	if (c->conn)
		pq.PQfinish(c->conn);
	c->conn = NULL;
	c->step = PG_IDLE;
}

static void pg_cancel(struct probe *p)
{
	struct pg_check *c = p->priv;

	if (!c)
		return;
	pg_close(c);
	if (c->ev)
		event_free(c->ev);
	free(c);
	p->priv = NULL;
}

/* Every copy of `secret` in buf becomes as many '*' (at most 3). */
static void redact(char *buf, const char *secret)
{
	size_t sl = strlen(secret), stars = sl < 3 ? sl : 3;
	char *at;

	while ((at = strstr(buf, secret))) {
		memset(at, '*', stars);
		memmove(at + stars, at + sl, strlen(at + sl) + 1);
	}
}

/*
 * The error reaches the logs and the CLI: never with the password of the
 * conninfo (libpq may quote conninfo words). A conninfo libpq cannot
 * parse, with a password or a URI in it, is not quoted at all.
 */
static void pg_redact(struct probe *p)
{
	const char *ci = p->cfg->pg_conninfo;
	PQconninfoOption *opts, *o;
	char *perr = NULL;

	if (!ci[0])
		return;
	opts = pq.PQconninfoParse(ci, &perr);
	if (!opts) {
		pq.PQfreemem(perr);
		if (strstr(ci, "password") || strstr(ci, "://"))
			probe_set_err(p, "invalid conninfo (not shown: it may hold a password)");
		return;
	}
	for (o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && o->val[0])
			redact(p->err, o->val);
	pq.PQconninfoFree(opts);
}

/* libpq's messages end in a newline and may span lines: keep the first. */
static void pg_set_err(struct probe *p, const char *what, const char *msg)
{
	size_t n;

	probe_set_err(p, "%s%s%s", what, msg && *msg ? ": " : "", msg ? msg : "");
	n = strcspn(p->err, "\n");
	p->err[n] = 0;
	pg_redact(p);
}

static void pg_conn_err(struct probe *p, struct pg_check *c, const char *what)
{
	pg_set_err(p, what, c->conn ? pq.PQerrorMessage(c->conn) : "out of memory");
}

static void pg_quiet(void *arg, const char *msg)
{
}

static int pg_arm(struct probe *p, struct pg_check *c, short what)
{
	int fd = pq.PQsocket(c->conn);

	if (fd < 0) {
		pg_conn_err(p, c, "no socket");
		return -1;
	}
	if (probe_wait(p, c->ev, fd, what, pg_event)) {
		pg_set_err(p, "cannot arm an event", NULL);
		return -1;
	}
	return 0;
}

static int pg_connect(struct probe *p, struct pg_check *c)
{
	char addr[ADDR_STRLEN], port[8], timeout[16];
	const char *keys[8], *vals[8];
	int n = 0;

	pg_close(c);
	c->reused = false;
	if (pg_lib_open()) {
		probe_set_err(p, "%s", hl_errmsg());
		return -1;
	}
	format_addr(p->addr.family, p->addr.w, addr, sizeof(addr));
	snprintf(port, sizeof(port), "%u", p->cfg->port);
	/* whole seconds; libpq itself does not enforce it on this API */
	snprintf(timeout, sizeof(timeout), "%u",
		 (probe_timeout_ms(p) + 999) / 1000);
	/* Later keywords win: the conninfo may not move host and port. */
	keys[n] = "application_name";	vals[n++] = "helios-probe";
	keys[n] = "connect_timeout";	vals[n++] = timeout;
	if (p->cfg->pg_conninfo[0]) {
		keys[n] = "dbname";	vals[n++] = p->cfg->pg_conninfo;
	}
	keys[n] = "host";		vals[n++] = addr;
	keys[n] = "hostaddr";		vals[n++] = addr;
	keys[n] = "port";		vals[n++] = port;
	keys[n] = NULL;			vals[n] = NULL;

	c->conn = pq.PQconnectStartParams(keys, vals, 1);
	if (!c->conn || pq.PQstatus(c->conn) == CONNECTION_BAD) {
		pg_conn_err(p, c, "connect");
		return -1;
	}
	pq.PQsetNoticeProcessor(c->conn, pg_quiet, NULL);
	c->step = PG_CONNECT;
	/* before the first PQconnectPoll: as if it asked for writing */
	return pg_arm(p, c, EV_WRITE);
}

static int pg_send(struct probe *p, struct pg_check *c)
{
	int r;

	c->step = PG_QUERY;
	c->got_row = false;
	c->query_err = false;
	if (!pq.PQsendQuery(c->conn, pg_query)) {
		pg_conn_err(p, c, "send");
		return -1;
	}
	r = pq.PQflush(c->conn);
	if (r < 0) {
		pg_conn_err(p, c, "send");
		return -1;
	}
	c->flushing = r > 0;
	return pg_arm(p, c, EV_READ | (c->flushing ? EV_WRITE : 0));
}

static int pg_poll_connect(struct probe *p, struct pg_check *c)
{
	switch (pq.PQconnectPoll(c->conn)) {
	case PGRES_POLLING_READING:
		return pg_arm(p, c, EV_READ);
	case PGRES_POLLING_WRITING:
		return pg_arm(p, c, EV_WRITE);
	case PGRES_POLLING_OK:
		if (pq.PQsetnonblocking(c->conn, 1)) {
			pg_conn_err(p, c, "connect");
			return -1;
		}
		return pg_send(p, c);
	default:
		pg_conn_err(p, c, "connect");
		return -1;
	}
}

/* A lag as the server wrote it: negative (clock skew) or empty is 0;
 * beyond `max`, infinite or not a number is `max`, a standby that far
 * behind (and a value a __u64 or JSON can hold). */
static double lag_value(const char *s, double max)
{
	double v = strtod(s, NULL);

	if (isnan(v) || v > max)
		return max;
	return v > 0 ? v : 0;
}

int pg_answer_parse(const PGresult *r, struct probe_result *res)
{
	double lag_s, lag_bytes;

	if (pq.PQntuples(r) != 1 || pq.PQnfields(r) != 6)
		return -1;
	lag_s = lag_value(pq.PQgetvalue(r, 0, 1), 1e9);
	lag_bytes = lag_value(pq.PQgetvalue(r, 0, 2), 1e18);
	res->role = pq.PQgetvalue(r, 0, 0)[0] == 't' ? HL_ROLE_STANDBY :
						  HL_ROLE_PRIMARY;
	res->has_lag = true;
	res->lag_s = lag_s;
	res->lag_bytes = lag_bytes;
	res->timeline = strtoul(pq.PQgetvalue(r, 0, 3), NULL, 10);
	res->sysid = strtoull(pq.PQgetvalue(r, 0, 4), NULL, 10);
	snprintf(res->sync_states, sizeof(res->sync_states), "%s",
		 pq.PQgetvalue(r, 0, 5));
	return 0;
}

static void pg_row(struct probe *p, struct pg_check *c, const PGresult *r)
{
	if (pg_answer_parse(r, &c->res)) {
		pg_set_err(p, "unexpected answer shape", NULL);
		c->query_err = true;
		return;
	}
	c->got_row = true;
}

/* 1 when the answer is all in, 0 to wait for more, -1 on error. */
static int pg_read(struct probe *p, struct pg_check *c, short what)
{
	PGresult *r;
	int n;

	if (c->flushing && (what & EV_WRITE)) {
		n = pq.PQflush(c->conn);
		if (n < 0) {
			pg_conn_err(p, c, "send");
			return -1;
		}
		c->flushing = n > 0;
	}
	if ((what & EV_READ) && !pq.PQconsumeInput(c->conn)) {
		pg_conn_err(p, c, "read");
		return -1;
	}
	while (!pq.PQisBusy(c->conn)) {
		r = pq.PQgetResult(c->conn);
		if (!r) {
			if (c->query_err)
				return -1;
			if (!c->got_row) {
				pg_set_err(p, "no answer row", NULL);
				return -1;
			}
			return 1;
		}
		if (pq.PQresultStatus(r) == PGRES_TUPLES_OK && !c->got_row) {
			pg_row(p, c, r);
		} else if (!c->query_err) {
			pg_set_err(p, "query", pq.PQresultErrorMessage(r));
			c->query_err = true;
		}
		pq.PQclear(r);
	}
	if (pq.PQstatus(c->conn) == CONNECTION_BAD) {
		pg_conn_err(p, c, "read");
		return -1;
	}
	return pg_arm(p, c, EV_READ | (c->flushing ? EV_WRITE : 0));
}

static void pg_report(struct probe *p, struct pg_check *c, bool ok)
{
	struct probe_result res = c->res;

	event_del(c->ev);
	if (ok) {
		c->step = PG_IDLE;
	} else {
		pg_close(c);
		probe_result_init(&res);
	}
	res.ok = ok;
	res.rtt_us = probe_elapsed_us(p);
	/* done() may cancel or restart this probe: c is not ours after it */
	p->done(p, &res);
}

static void pg_event(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	struct pg_check *c = p->priv;
	int r;

	if (c->early_fail)
		return pg_report(p, c, false);
	if (what & EV_TIMEOUT) {
		pg_set_err(p, c->step == PG_CONNECT ? "timed out connecting" :
			   "timed out waiting for the answer", NULL);
		return pg_report(p, c, false);
	}
	r = c->step == PG_CONNECT ? pg_poll_connect(p, c) : pg_read(p, c, what);
	if (r < 0 && c->reused && !c->retried) {
		/* The kept connection broke while idle (server restart, idle
		 * timeout): one fresh attempt within the same deadline. */
		c->retried = true;
		p->err[0] = 0;
		r = pg_connect(p, c);
	}
	if (r)
		pg_report(p, c, r > 0);
}

static int pg_start(struct probe *p)
{
	struct pg_check *c = p->priv;
	int r;

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		c->ev = event_new(p->base, -1, 0, pg_event, p);
		if (!c->ev) {
			free(c);
			return -ENOMEM;
		}
		p->priv = c;
	}
	probe_begin(p);
	probe_result_init(&c->res);
	c->early_fail = false;
	c->retried = false;
	if (c->step != PG_IDLE)		/* a check was in flight: start over */
		pg_close(c);
	if (c->conn && pq.PQstatus(c->conn) == CONNECTION_OK &&
	    pq.PQtransactionStatus(c->conn) == PQTRANS_IDLE) {
		c->reused = true;
		r = pg_send(p, c);
		if (r) {
			c->retried = true;
			p->err[0] = 0;
			r = pg_connect(p, c);
		}
	} else {
		r = pg_connect(p, c);
	}
	if (r) {
		c->early_fail = true;
		if (probe_soon(p, c->ev, pg_event)) {
			pg_cancel(p);
			return -ENOMEM;
		}
	}
	return 0;
}

const struct probe_ops probe_pg_ops = {
	.name	= "postgres",
	.start	= pg_start,
	.cancel	= pg_cancel,
};
