// SPDX-License-Identifier: GPL-2.0
/*
 * TCP probe: a non-blocking connect. Healthy when the handshake completes
 * (the socket is closed at once); refused, reset, unreachable or no answer
 * by the timeout is a failure. rtt is the connect time.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/probe.h"
#include "lib/clock.h"

struct tcp_check {
	int fd;
	bool early;		/* connect() gave its answer inside start() */
	int err;		/* ... and that answer */
	struct event *ev;
};

static void tcp_free(struct probe *p)
{
	struct tcp_check *c = p->priv;

	if (c)
		probe_release(p, c->fd, c->ev);
}

static void tcp_event(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	struct tcp_check *c = p->priv;
	struct probe_result res;
	int err;

	probe_result_init(&res);
	res.rtt_us = probe_elapsed_us(p);
	if (c->early)
		err = c->err;
	else if (what & EV_TIMEOUT)
		err = -ETIMEDOUT;
	else
		err = probe_connect_result(c->fd);
	res.ok = !err;
	if (err)
		probe_set_err(p, "connect: %s", strerror(-err));
	tcp_free(p);
	p->done(p, &res);
}

static int tcp_start(struct probe *p)
{
	struct tcp_check *c;
	int err = 0;

	tcp_free(p);
	p->err[0] = 0;
	p->started_ns = hl_now_ns();
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	p->priv = c;
	c->ev = event_new(p->base, -1, 0, tcp_event, p);
	if (!c->ev) {
		err = -ENOMEM;
		goto fail;
	}
	c->fd = probe_connect(p, p->cfg->port, &err);
	if (c->fd < 0) {
		err = c->fd;
		goto fail;
	}
	if (err == -EINPROGRESS) {
		err = probe_wait(p, c->ev, c->fd, EV_WRITE, tcp_event);
	} else {
		/* connected or refused at once: report from the loop */
		c->early = true;
		c->err = err;
		err = probe_soon(p, c->ev, tcp_event);
	}
	if (err)
		goto fail;
	return 0;
fail:
	tcp_free(p);
	return err;
}

const struct probe_ops probe_tcp_ops = {
	.name	= "tcp",
	.start	= tcp_start,
	.cancel	= tcp_free,
};
