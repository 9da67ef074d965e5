// SPDX-License-Identifier: GPL-2.0
/*
 * Patroni probe: GET the check's endpoint of Patroni's REST API (/primary,
 * /replica?lag=N, /read-only, /sync, /async or /patroni) and read the JSON
 * state it answers with, 200 or 503 alike (patroni.c): the role, lag,
 * timeline and tags come from Patroni, not from a guess by status code.
 * The whole answer is read into a bounded buffer; a bigger one, garbage,
 * or no answer by the timeout is a failure.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/patroni.h"
#include "agent/probe.h"

#define PATRONI_MAX	16384	/* Patroni's status JSON is about 1 KiB */

struct patroni_check {
	struct probe_conn conn;	/* first: see probe_conn_new() */
	bool reading;
	char req[sizeof(((struct probe_cfg *)0)->http_path) + ADDR_STRLEN + 64];
	size_t req_len, sent;
	char buf[PATRONI_MAX + 1];
	size_t len;
};

_Static_assert(offsetof(struct patroni_check, conn) == 0,
	       "probe_conn_new() and probe_conn_free() see the state as a probe_conn");

static void patroni_event(evutil_socket_t fd, short what, void *arg);

static void patroni_done(struct probe *p, struct probe_result *res)
{
	res->rtt_us = probe_elapsed_us(p);
	probe_conn_free(p);
	p->done(p, res);
}

static void patroni_fail(struct probe *p, const char *why)
{
	struct probe_result res;

	probe_result_init(&res);
	probe_set_err(p, "%s", why);
	patroni_done(p, &res);
}

/* A read endpoint's 503 means "not for reads" (lagging, noloadbalance). */
static bool read_endpoint(const char *path)
{
	static const char *const reads[] = { "/replica", "/read-only", "/sync",
					     "/async", "/standby", NULL };
	unsigned int i;

	for (i = 0; reads[i]; i++)
		if (!strncmp(path, reads[i], strlen(reads[i])))
			return true;
	return false;
}

/* The connection is closed: status line, headers, JSON body. */
static void patroni_answer(struct probe *p, struct patroni_check *c)
{
	struct probe_result res;
	char err[128] = "";
	const char *body;
	int status = 0;

	probe_result_init(&res);
	c->buf[c->len] = '\0';
	if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1 || status < 100)
		return patroni_fail(p, "not an HTTP/1.x answer");
	body = strstr(c->buf, "\r\n\r\n");
	if (!body)
		return patroni_fail(p, "no end of the headers");
	if (patroni_parse(body + 4, status, read_endpoint(p->cfg->http_path),
			  &res, err, sizeof(err)))
		return patroni_fail(p, err);
	if (!res.ok)
		probe_set_err(p, "%s", err);
	patroni_done(p, &res);
}

static void patroni_io(struct probe *p, struct patroni_check *c)
{
	ssize_t n;

	if (!c->reading) {
		n = send(c->conn.fd, c->req + c->sent, c->req_len - c->sent,
			 MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return patroni_fail(p, "write failed");
		if (n > 0)
			c->sent += n;
		c->reading = c->sent == c->req_len;
	} else {
		n = recv(c->conn.fd, c->buf + c->len, PATRONI_MAX - c->len, 0);
		if (n == 0)
			return patroni_answer(p, c);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return patroni_fail(p, "read failed");
		if (n > 0)
			c->len += n;
		if (c->len == PATRONI_MAX)
			return patroni_fail(p, "answer too long");
	}
	if (probe_wait(p, c->conn.ev, c->conn.fd, c->reading ? EV_READ : EV_WRITE,
		       patroni_event))
		patroni_fail(p, "out of memory");
}

static void patroni_event(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	struct patroni_check *c = p->priv;
	int err;

	if (what & EV_TIMEOUT)
		return patroni_fail(p, c->reading ? "timed out reading the answer" :
				    "timed out connecting or sending");
	if (!c->reading && !c->sent && !c->len) {
		err = probe_connect_done(&c->conn);
		if (err) {
			char why[96];

			snprintf(why, sizeof(why), "connect: %s", strerror(-err));
			return patroni_fail(p, why);
		}
	}
	patroni_io(p, c);
}

static int patroni_start(struct probe *p)
{
	struct patroni_check *c = probe_conn_new(p, sizeof(*c));
	int n;

	if (!c)
		return -ENOMEM;
	/* HTTP/1.0: the server closes after the answer, which ends it. */
	n = probe_http_request(p, p->cfg->http_path, "Accept: application/json\r\n",
			       c->req, sizeof(c->req));
	if (n < 0) {
		probe_conn_free(p);
		return n;
	}
	c->req_len = n;
	return probe_start_connect(p, &c->conn, patroni_event);
}

const struct probe_ops probe_patroni_ops = {
	.name	= "patroni",
	.start	= patroni_start,
	.cancel	= probe_conn_free,
};
