// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <event2/event.h>
#include <microhttpd.h>
#include <zlib.h>

#include "agent/dl.h"
#include "agent/metrics_http.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/parse.h"

struct metrics_http {
	struct MHD_Daemon *d;
	struct event *ready, *timer;
	struct store *st;
	metrics_extra_fn extra;
	void *arg;
};

int metrics_addr_parse(const char *str, struct sockaddr_storage *ss)
{
	struct ip_addr a;
	__be16 port = 0;
	char buf[32];

	memset(ss, 0, sizeof(*ss));
	if (str[0] && strspn(str, "0123456789") == strlen(str) &&
	    strlen(str) < 6) {
		snprintf(buf, sizeof(buf), "127.0.0.1:%s", str);
		str = buf;
	}
	if (parse_addr_port(str, &a, &port) || !port) {
		hl_err("invalid metrics address '%s': expected ADDR:PORT, "
		       "[ADDR6]:PORT or PORT", str);
		return -EINVAL;
	}
	if (a.family == HL_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = port;
		in->sin_addr.s_addr = a.w[0];
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = port;
		memcpy(&in6->sin6_addr, a.w, sizeof(in6->sin6_addr));
	}
	return 0;
}

const char *metrics_addr_check(const void *field)
{
	struct sockaddr_storage ss;
	const char *s = field;

	if (!s[0] || !strcmp(s, "off"))
		return NULL;
	return metrics_addr_parse(s, &ss) ?
	       "expected ADDR:PORT, [ADDR6]:PORT or PORT" : NULL;
}

/* libmicrohttpd, opened when the endpoint starts (dl.h). */
#define MHD_FUNCS(X)			\
	X(MHD_add_response_header) \
	X(MHD_create_response_from_buffer) \
	X(MHD_destroy_response) \
	X(MHD_get_daemon_info) \
	X(MHD_get_timeout) \
	X(MHD_lookup_connection_value) \
	X(MHD_queue_response) \
	X(MHD_run) \
	X(MHD_start_daemon) \
	X(MHD_stop_daemon)

static struct {
	MHD_FUNCS(DL_PTR)
} mhd;

static int mhd_open(void)
{
#define MHD_SYM(name) DL_SYM(mhd, name)
	static const struct dl_sym syms[] = { MHD_FUNCS(MHD_SYM) };
#undef MHD_SYM

	return dl_bind("libmicrohttpd.so.12", syms,
		       sizeof(syms) / sizeof(syms[0]));
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *type, void *body, size_t len,
			     enum MHD_ResponseMemoryMode mode, bool gzip)
{
	struct MHD_Response *r = mhd.MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (gzip)
		mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	ret = mhd.MHD_queue_response(c, status, r);
	mhd.MHD_destroy_response(r);
	return ret;
}

/*
 * gzip the body when the client accepts it (Prometheus does): 1000 nodes
 * are about 1.3 MB of text that compresses 15-20 times at level 1. NULL
 * when it cannot (the body then goes as it is).
 */
static void *gzip_body(const char *in, size_t len, size_t *outlen)
{
	z_stream z = {};
	size_t cap = deflateBound(&z, len) + 32;
	unsigned char *out = malloc(cap);

	if (!out || deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (unsigned char *)in;
	z.avail_in = len;
	z.next_out = out;
	z.avail_out = cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

static bool wants_gzip(struct MHD_Connection *c)
{
	const char *enc = mhd.MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_ACCEPT_ENCODING);

	return enc && strstr(enc, "gzip");
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c,
			     const char *url, const char *method,
			     const char *version, const char *upload,
			     size_t *upload_size, void **con_cls)
{
	static char not_found[] = "not found: try /metrics\n";
	static char bad_method[] = "only GET and HEAD\n";
	static char failed[] = "cannot read the maps\n";
	struct metrics_http *m = cls;
	const char *accept, *text, *type;
	struct expo e;
	size_t len;
	int err;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
			     strlen(bad_method), MHD_RESPMEM_PERSISTENT, false);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     strlen(not_found), MHD_RESPMEM_PERSISTENT, false);
	accept = mhd.MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					     MHD_HTTP_HEADER_ACCEPT);
	expo_init(&e, expo_wants_openmetrics(accept));
	err = store_lock(m->st, false);
	if (!err) {
		err = metrics_write(m->st, &e);
		store_unlock(m->st);
	}
	if (!err && m->extra)
		m->extra(&e, m->arg);
	text = err ? NULL : expo_finish(&e, &len);
	if (!text) {
		expo_free(&e);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
			     failed, strlen(failed), MHD_RESPMEM_PERSISTENT, false);
	}
	type = e.openmetrics ? EXPO_TYPE_OM : EXPO_TYPE_PROM;
	if (wants_gzip(c)) {
		size_t zlen;
		void *z = gzip_body(text, len, &zlen);

		if (z) {
			expo_free(&e);
			return reply(c, MHD_HTTP_OK, type, z, zlen,
				     MHD_RESPMEM_MUST_FREE, true);
		}
	}
	/* MHD frees the buffer with free() once sent. */
	return reply(c, MHD_HTTP_OK, type, e.buf, len, MHD_RESPMEM_MUST_FREE,
		     false);
}

/* Run MHD, then come back when it says (a connection's timeout, or work
 * it could not finish in one go). */
static void run_mhd(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http *m = arg;
	MHD_UNSIGNED_LONG_LONG ms;

	mhd.MHD_run(m->d);
	if (mhd.MHD_get_timeout(m->d, &ms) == MHD_YES) {
		struct timeval tv = { .tv_sec = ms / 1000,
				      .tv_usec = (ms % 1000) * 1000 };

		evtimer_add(m->timer, &tv);
	}
}

struct metrics_http *metrics_http_start(struct event_base *base,
					struct store *st, const char *addr,
					metrics_extra_fn extra, void *arg)
{
	struct metrics_http *m = calloc(1, sizeof(*m));
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;

	if (!m || metrics_addr_parse(addr, &ss) || mhd_open())
		goto fail;
	m->st = st;
	m->extra = extra;
	m->arg = arg;
	/* MHD_USE_EPOLL without a thread: one epoll fd for the loop. */
	m->d = mhd.MHD_start_daemon(MHD_USE_EPOLL |
				(ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, serve, m,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, 32u,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				MHD_OPTION_END);
	if (!m->d) {
		hl_err("cannot serve metrics at %s: %s", addr,
		       errno ? strerror(errno) : "libmicrohttpd failed");
		goto fail;
	}
	info = mhd.MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	m->ready = info ? event_new(base, info->epoll_fd, EV_READ | EV_PERSIST,
				    run_mhd, m) : NULL;
	m->timer = evtimer_new(base, run_mhd, m);
	if (!m->ready || !m->timer || event_add(m->ready, NULL)) {
		hl_err("cannot serve metrics at %s: event setup failed", addr);
		goto fail;
	}
	return m;
fail:
	metrics_http_stop(m);
	return NULL;
}

void metrics_http_stop(struct metrics_http *m)
{
	if (!m)
		return;
	if (m->ready)
		event_free(m->ready);
	if (m->timer)
		event_free(m->timer);
	if (m->d)
		mhd.MHD_stop_daemon(m->d);
	free(m);
}
