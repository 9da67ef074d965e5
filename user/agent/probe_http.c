// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP probe: connect, send "GET <path> HTTP/1.0" with a Host header, read
 * the status line and compare its code with the expected one (Patroni-style
 * endpoints answer /primary with 200 or 503). Only the status line of an
 * HTTP/1.x response is read, into a bounded buffer; anything else (garbage,
 * no answer by the timeout, a close before the line ends) is a failure.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/probe.h"

/* "HTTP/1.1 503 Service Unavailable\r\n": longer reason phrases are cut. */
#define STATUS_LINE_MAX	128

enum http_step {
	HTTP_CONNECT,
	HTTP_SEND,
	HTTP_READ,
};

struct http_check {
	struct probe_conn conn;	/* first: see probe_conn_new() */
	enum http_step step;
	char req[sizeof(((struct probe_cfg *)0)->http_path) + ADDR_STRLEN + 64];
	size_t req_len, sent;
	char line[STATUS_LINE_MAX];
	size_t len;
};

_Static_assert(offsetof(struct http_check, conn) == 0,
	       "probe_conn_new() and probe_conn_free() see the state as a probe_conn");

static void http_event(evutil_socket_t fd, short what, void *arg);

static void http_finish(struct probe *p, int status)
{
	struct probe_result res;

	probe_result_init(&res);
	res.rtt_us = probe_elapsed_us(p);
	res.ok = status > 0 && status == p->cfg->http_expect;
	if (status > 0 && !res.ok)
		probe_set_err(p, "status %d, expected %d", status,
			      p->cfg->http_expect);
	probe_conn_free(p);
	p->done(p, &res);
}

static void http_fail(struct probe *p, const char *fmt, const char *what)
{
	probe_set_err(p, fmt, what);
	http_finish(p, -1);
}

/*
 * "HTTP/1.x SSS" then a space, CR, LF or the end of what the server sent:
 * the status code, 0 while more may come, or -1 if this is no status line.
 */
int http_status_line(const char *s, size_t len, bool eof)
{
	static const char proto[] = "HTTP/1.";
	const size_t plen = sizeof(proto) - 1;
	size_t i;
	int code = 0;

	for (i = 0; i < len && i < plen; i++)
		if (s[i] != proto[i])
			return -1;
	for (; i < len && i < plen + 5; i++) {
		char ch = s[i];

		if (i == plen) {			/* minor version */
			if (ch < '0' || ch > '9')
				return -1;
		} else if (i == plen + 1) {
			if (ch != ' ')
				return -1;
		} else {				/* three digits */
			if (ch < '0' || ch > '9')
				return -1;
			code = code * 10 + ch - '0';
		}
	}
	if (i < plen + 5)
		return eof ? -1 : 0;
	if (code < 100)
		return -1;
	if (i == len)
		return eof ? code : 0;
	if (s[i] != ' ' && s[i] != '\r' && s[i] != '\n')
		return -1;
	return code;
}

static void http_read(struct probe *p, struct http_check *c)
{
	bool eof = false;
	ssize_t n;
	int code;

	n = recv(c->conn.fd, c->line + c->len, sizeof(c->line) - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		goto again;
	if (n < 0)
		return http_fail(p, "read: %s", strerror(errno));
	if (n == 0)
		eof = true;
	c->len += n;
	code = http_status_line(c->line, c->len, eof || c->len == sizeof(c->line));
	if (code < 0) {
		if (!c->len)
			return http_fail(p, "%s", "connection closed before a status line");
		return http_fail(p, "%s", "not an HTTP/1.x status line");
	}
	if (code > 0)
		return http_finish(p, code);
again:
	if (probe_wait(p, c->conn.ev, c->conn.fd, EV_READ, http_event))
		http_fail(p, "%s", "out of memory");
}

static void http_send(struct probe *p, struct http_check *c)
{
	ssize_t n;

	n = send(c->conn.fd, c->req + c->sent, c->req_len - c->sent, MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return http_fail(p, "write: %s", strerror(errno));
	if (n > 0)
		c->sent += n;
	if (c->sent == c->req_len)
		c->step = HTTP_READ;
	if (probe_wait(p, c->conn.ev, c->conn.fd,
		       c->step == HTTP_READ ? EV_READ : EV_WRITE, http_event))
		http_fail(p, "%s", "out of memory");
}

static void http_event(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	struct http_check *c = p->priv;
	int err;

	if (what & EV_TIMEOUT) {
		static const char *const steps[] = {
			[HTTP_CONNECT]	= "connect",
			[HTTP_SEND]	= "sending the request",
			[HTTP_READ]	= "waiting for the status line",
		};

		return http_fail(p, "timed out %s", steps[c->step]);
	}
	switch (c->step) {
	case HTTP_CONNECT:
		err = probe_connect_done(&c->conn);
		if (err)
			return http_fail(p, "connect: %s", strerror(-err));
		c->step = HTTP_SEND;
		/* fall through */
	case HTTP_SEND:
		return http_send(p, c);
	case HTTP_READ:
		return http_read(p, c);
	}
}

static int http_start(struct probe *p)
{
	struct http_check *c = probe_conn_new(p, sizeof(*c));
	int n;

	if (!c)
		return -ENOMEM;
	n = probe_http_request(p, p->cfg->http_path[0] ? p->cfg->http_path : "/",
			       "Connection: close\r\n", c->req, sizeof(c->req));
	if (n < 0) {
		probe_conn_free(p);
		return n;
	}
	c->req_len = n;
	return probe_start_connect(p, &c->conn, http_event);
}

const struct probe_ops probe_http_ops = {
	.name	= "http",
	.start	= http_start,
	.cancel	= probe_conn_free,
};
