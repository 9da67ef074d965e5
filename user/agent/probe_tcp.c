// SPDX-License-Identifier: GPL-2.0
/*
 * TCP probe: a non-blocking connect. Healthy when the handshake completes
 * (the socket is closed at once); refused, reset, unreachable or no answer
 * by the timeout is a failure. rtt is the connect time.
 */
#include <errno.h>
#include <string.h>

#include "agent/probe.h"

/* The check's state is a struct probe_conn alone. */

static void tcp_event(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	struct probe_result res;
	int err;

	probe_result_init(&res);
	res.rtt_us = probe_elapsed_us(p);
	err = what & EV_TIMEOUT ? -ETIMEDOUT : probe_connect_done(p->priv);
	res.ok = !err;
	if (err)
		probe_set_err(p, "connect: %s", strerror(-err));
	probe_conn_free(p);
	p->done(p, &res);
}

static int tcp_start(struct probe *p)
{
	struct probe_conn *c = probe_conn_new(p, sizeof(*c));

	return c ? probe_start_connect(p, c, tcp_event) : -ENOMEM;
}

const struct probe_ops probe_tcp_ops = {
	.name	= "tcp",
	.start	= tcp_start,
	.cancel	= probe_conn_free,
};
