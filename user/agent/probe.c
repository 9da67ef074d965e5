// SPDX-License-Identifier: GPL-2.0
/*
 * Probe kinds and what they share: a check's start, the state and the
 * non-blocking connect of the kinds that open one TCP connection (tcp,
 * http), and one event per check armed with the check's remaining time, so
 * a check has a single deadline however many steps it takes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "agent/probe.h"
#include "lib/clock.h"

#define PROBE_TIMEOUT_DEFAULT_MS	1000

static const struct {
	const char *name;
	const struct probe_ops *ops;
} kinds[] = {
	[PROBE_TCP]		= { "tcp",	&probe_tcp_ops },
	[PROBE_HTTP]		= { "http",	&probe_http_ops },
	[PROBE_POSTGRES]	= { "postgres",	&probe_pg_ops },
	[PROBE_PATRONI]		= { "patroni",	&probe_patroni_ops },
};

#define NR_KINDS	(sizeof(kinds) / sizeof(kinds[0]))

const struct probe_ops *probe_ops_for(enum probe_kind kind)
{
	return (unsigned int)kind < NR_KINDS ? kinds[kind].ops : NULL;
}

/* Prints nothing: the caller knows where the name came from. */
int probe_kind_parse(const char *name, enum probe_kind *kind)
{
	unsigned int i;

	for (i = 0; i < NR_KINDS; i++) {
		if (name && !strcmp(name, kinds[i].name)) {
			*kind = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *probe_kind_name(enum probe_kind kind)
{
	return (unsigned int)kind < NR_KINDS ? kinds[kind].name : "?";
}

void probe_begin(struct probe *p)
{
	p->err[0] = 0;
	p->started_ns = hl_now_ns();
}

void probe_result_init(struct probe_result *res)
{
	memset(res, 0, sizeof(*res));
	res->role = HL_ROLE_ANY;
}

void probe_set_err(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

__u32 probe_timeout_ms(const struct probe *p)
{
	return p->cfg->timeout_ms ? p->cfg->timeout_ms : PROBE_TIMEOUT_DEFAULT_MS;
}

__u32 probe_elapsed_us(const struct probe *p)
{
	__u64 d = (hl_now_ns() - p->started_ns) / 1000;

	return d > 0xffffffffull ? 0xffffffffu : d;
}

/* Non-blocking TCP socket connecting to p->addr:port: the fd, or -errno.
 * *err is 0 (connected), -EINPROGRESS or the connect error. */
static int probe_connect(const struct probe *p, __u16 port, int *err)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd;

	switch (p->addr.family) {
	case HL_AF_INET:
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = p->addr.w[0];
		len = sizeof(*sin);
		break;
	case HL_AF_INET6:
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, p->addr.w, sizeof(sin6->sin6_addr));
		len = sizeof(*sin6);
		break;
	default:
		return -EAFNOSUPPORT;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	*err = connect(fd, (struct sockaddr *)&ss, len) ? -errno : 0;
	return fd;
}

int probe_wait(struct probe *p, struct event *ev, evutil_socket_t fd,
	       short what, event_callback_fn cb)
{
	__u64 deadline = p->started_ns + probe_timeout_ms(p) * 1000000ull;
	__u64 now = hl_now_ns();
	__u64 left = deadline > now ? deadline - now : 0;
	struct timeval tv = {
		.tv_sec = left / 1000000000ull,
		.tv_usec = left % 1000000000ull / 1000,
	};

	event_del(ev);
	if (event_assign(ev, p->base, fd, what, cb, p) || event_add(ev, &tv))
		return -ENOMEM;
	return 0;
}

int probe_soon(struct probe *p, struct event *ev, event_callback_fn cb)
{
	struct timeval tv = {};

	event_del(ev);
	if (event_assign(ev, p->base, -1, 0, cb, p) || event_add(ev, &tv))
		return -ENOMEM;
	return 0;
}

void *probe_conn_new(struct probe *p, size_t size)
{
	struct probe_conn *c;

	probe_conn_free(p);
	probe_begin(p);
	c = calloc(1, size);
	if (!c)
		return NULL;
	c->fd = -1;
	p->priv = c;
	return c;
}

void probe_conn_free(struct probe *p)
{
	struct probe_conn *c = p->priv;

	if (!c)
		return;
	if (c->ev)
		event_free(c->ev);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	p->priv = NULL;
}

int probe_start_connect(struct probe *p, struct probe_conn *c,
			event_callback_fn cb)
{
	int err = 0;

	c->ev = event_new(p->base, -1, 0, cb, p);
	if (!c->ev) {
		err = -ENOMEM;
		goto fail;
	}
	c->fd = probe_connect(p, p->cfg->port, &err);
	if (c->fd < 0) {
		err = c->fd;
		goto fail;
	}
	if (err && err != -EINPROGRESS) {
		/*
		 * Refused (or unreachable) at once. Hand the answer to the
		 * loop as if the socket had turned writable, which is how a
		 * connect in progress ends: cb has one way in, and an
		 * EV_TIMEOUT there always means the check's time ran out.
		 */
		c->early_err = err;
		event_active(c->ev, EV_WRITE, 0);
		return 0;
	}
	/* In progress, or connected at once: writable when the outcome is known. */
	err = probe_wait(p, c->ev, c->fd, EV_WRITE, cb);
	if (err)
		goto fail;
	return 0;
fail:
	probe_conn_free(p);	/* the whole of the kind's state, c in it */
	return err;
}

int probe_connect_done(const struct probe_conn *c)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (c->early_err)
		return c->early_err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}

int probe_http_request(const struct probe *p, const char *path,
		       const char *headers, char *buf, size_t len)
{
	char host[ADDR_STRLEN];
	bool v6 = p->addr.family == HL_AF_INET6;
	int n;

	format_addr(p->addr.family, p->addr.w, host, sizeof(host));
	n = snprintf(buf, len, "GET %s HTTP/1.0\r\nHost: %s%s%s:%u\r\n"
		     "User-Agent: helios-agent\r\n%s\r\n", path, v6 ? "[" : "",
		     host, v6 ? "]" : "", p->cfg->port, headers);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}
