// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent monitor: what happens, as it happens. Two sources, one
 * line each: the agent's events (its unix socket, events.h) and the data
 * path's sampled events (the ring buffer `events`, switched on by a
 * lease this command renews every second: bpf/lib/events.h). With -j
 * every line is one JSON object. Events the data path could not write
 * (ring buffer full) or skipped (sampling, budget) are reported once a
 * second when there are new ones.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "agent/agent.h"
#include "agent/events.h"
#include "cmd/cli.h"
#include "lib/clock.h"
#include "lib/counters.h"
#include "lib/log.h"
#include "lib/monitor.h"
#include "lib/nodes.h"
#include "lib/options.h"
#include "lib/parse.h"
#include "lib/services.h"

struct monitor_args {
	__u32 sample, budget;
};

const struct opt monitor_opts[] = {
	{ .name = "sample", .type = OPT_UINT, .where = OPT_CLI, .arg = "N",
	  OPT_FIELD(struct monitor_args, sample), .min = 1, .max = 1000000,
	  .def = "1", .help = "data-path events: write one in N" },
	{ .name = "budget", .type = OPT_UINT, .where = OPT_CLI, .arg = "N",
	  OPT_FIELD(struct monitor_args, budget), .min = 0, .max = 1000000,
	  .def = "1000", .help = "data-path events: at most N a second per CPU (0: no limit)" },
	{ NULL }
};

struct mon {
	struct store st;
	struct monitor_args args;
	struct event_base *base;
	struct ring_buffer *rb;
	struct event *rb_ev, *tick, *sig[2];
	struct bufferevent *agent;
	char sock[108];
	bool agent_missing_said;
	struct hl_mon_cpu last;
	__s64 mono_to_real_ns;
	char (*svc_names)[SVC_STRLEN];	/* by service id */
};

static void clock_offset(struct mon *m)
{
	struct timespec rt;

	clock_gettime(CLOCK_REALTIME, &rt);
	m->mono_to_real_ns = (__s64)(rt.tv_sec * 1000000000ull + rt.tv_nsec) -
			     (__s64)hl_now_ns();
}

static void print_time(double t)
{
	time_t s = (time_t)t;
	struct tm tm;

	localtime_r(&s, &tm);
	printf("%02d:%02d:%02d.%03d  ", tm.tm_hour, tm.tm_min, tm.tm_sec,
	       (int)((t - s) * 1000));
}

static void emit(struct json_object *o, const char *plain_kind, const char *msg,
		 double t)
{
	if (json_output) {
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		print_time(t);
		printf("%-9s %s\n", plain_kind, msg);
	}
	fflush(stdout);
}

/* ---- the data path's events -------------------------------------------- */

static int svc_name_cb(struct store *st, const struct hl_svc_key *key,
		       const struct hl_service *svc, void *data)
{
	struct mon *m = data;

	if (svc->id < HL_MAX_SERVICES)
		format_svc(key, m->svc_names[svc->id], SVC_STRLEN);
	return 0;
}

/* Names change rarely; read them again every second. */
static void names_refresh(struct mon *m)
{
	memset(m->svc_names, 0, HL_MAX_SERVICES * SVC_STRLEN);
	svc_for_each(&m->st, svc_name_cb, m);
	nodes_load(&m->st);
}

static const char *event_kind(__u32 reason)
{
	switch (reason) {
	case HL_REASON_DROP_RATE_CONN: case HL_REASON_DROP_RATE_PKT:
	case HL_REASON_DROP_RATE_BYTES: case HL_REASON_DROP_RATE_CLIENT:
	case HL_REASON_DROP_RATE_CLASS:
		return "rate-limit";
	case HL_REASON_HELD:
		return "held";
	case HL_REASON_RESET_NODE_DOWN:
		return "reset";
	case HL_REASON_SYN_RETRY:
		return "syn-retry";
	case HL_REASON_TOO_BIG:
		return "too-big";
	default:
		return "drop";
	}
}

static void tcp_flags_str(__u8 f, char *buf)
{
	static const char names[] = "FSRPAU";
	int i, n = 0;

	for (i = 0; i < 6; i++)
		if (f & (1u << i))
			buf[n++] = names[i];
	buf[n] = '\0';
}

static int on_ring(void *ctx, void *data, size_t len)
{
	struct mon *m = ctx;
	const struct hl_event *e = data;
	const struct hl_flow_key *k = &e->key;
	char src[ADDR_PORT_STRLEN] = "-", dst[ADDR_PORT_STRLEN] = "-";
	char node[ADDR_PORT_STRLEN] = "", flags[8], msg[512];
	const char *svc = "", *proto, *kind;
	struct json_object *o;
	double t;

	if (len < sizeof(*e))
		return 0;
	t = ((__s64)e->ts_ns + m->mono_to_real_ns) / 1e9;
	if (e->svc_id < HL_MAX_SERVICES)
		svc = m->svc_names[e->svc_id];
	if (e->node_id < HL_MAX_NODES && m->st.nodes) {
		const struct hl_node *n = &m->st.nodes[e->node_id];

		format_addr_port(n->family, n->addr, n->port, node, sizeof(node));
	}
	if (k->family == HL_AF_INET || k->family == HL_AF_INET6) {
		format_addr_port(k->family, k->src, k->sport, src, sizeof(src));
		format_addr_port(k->family, k->dst, k->dport, dst, sizeof(dst));
	}
	proto = k->proto == 6 ? "tcp" : k->proto == 17 ? "udp" : "-";
	kind = event_kind(e->reason);
	tcp_flags_str(e->tcp_flags, flags);

	o = json_object_new_object();
	json_object_object_add(o, "time", json_object_new_double(t));
	json_object_object_add(o, "type", json_object_new_string("datapath"));
	json_object_object_add(o, "event", json_object_new_string(kind));
	json_object_object_add(o, "reason", json_object_new_string(reason_name(e->reason)));
	if (svc[0])
		json_object_object_add(o, "service", json_object_new_string(svc));
	if (node[0])
		json_object_object_add(o, "node", json_object_new_string(node));
	json_object_object_add(o, "src", json_object_new_string(src));
	json_object_object_add(o, "dst", json_object_new_string(dst));
	json_object_object_add(o, "proto", json_object_new_string(proto));
	if (k->proto == 6)
		json_object_object_add(o, "flags", json_object_new_string(flags));
	json_object_object_add(o, "len", json_object_new_int64(e->frame_len));
	snprintf(msg, sizeof(msg), "%-10s %s %s -> %s %s%s%s%s%s%s%s len %u",
		 kind, reason_name(e->reason), src, dst, proto,
		 flags[0] ? " " : "", flags, svc[0] ? " service " : "", svc,
		 node[0] ? " node " : "", node, e->frame_len);
	emit(o, "datapath", msg, t);
	json_object_put(o);
	return 0;
}

static void on_ring_ready(evutil_socket_t fd, short what, void *arg)
{
	struct mon *m = arg;

	ring_buffer__consume(m->rb);
}

/* New losses or skips since the last look, as one line. */
static void report_lost(struct mon *m)
{
	struct hl_mon_cpu c;
	__u64 lost, skipped;
	struct json_object *o;
	char msg[160];
	struct timespec rt;

	if (monitor_counts(&m->st, &c))
		return;
	lost = c.lost - m->last.lost;
	skipped = (c.sampled_out + c.over_budget) -
		  (m->last.sampled_out + m->last.over_budget);
	m->last = c;
	if (!lost && !skipped)
		return;
	clock_gettime(CLOCK_REALTIME, &rt);
	o = json_object_new_object();
	json_object_object_add(o, "time", json_object_new_double(rt.tv_sec + rt.tv_nsec / 1e9));
	json_object_object_add(o, "type", json_object_new_string("lost"));
	json_object_object_add(o, "lost", json_object_new_int64(lost));
	json_object_object_add(o, "skipped", json_object_new_int64(skipped));
	json_object_object_add(o, "lost_total", json_object_new_int64(c.lost));
	snprintf(msg, sizeof(msg),
		 "%llu events lost (ring buffer full), %llu skipped (sample/budget)",
		 (unsigned long long)lost, (unsigned long long)skipped);
	emit(o, "lost", msg, rt.tv_sec + rt.tv_nsec / 1e9);
	json_object_put(o);
}

/* ---- the agent's events ------------------------------------------------ */

static void on_agent_line(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF))) {
		struct json_object *o = json_tokener_parse(line), *v;
		const char *msg = "", *what = "agent";
		double t = 0;

		if (o) {
			if (json_object_object_get_ex(o, "msg", &v))
				msg = json_object_get_string(v);
			if (json_object_object_get_ex(o, "event", &v))
				what = json_object_get_string(v);
			if (json_object_object_get_ex(o, "time", &v))
				t = json_object_get_double(v);
		}
		if (json_output) {
			puts(line);
			fflush(stdout);
		} else if (o) {
			char buf[600];

			snprintf(buf, sizeof(buf), "%-10s %s", what, msg);
			print_time(t);
			printf("%-9s %s\n", "agent", buf);
			fflush(stdout);
		}
		json_object_put(o);
		free(line);
	}
}

static void on_agent_event(struct bufferevent *bev, short what, void *arg)
{
	struct mon *m = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_free(m->agent);
		m->agent = NULL;
		fprintf(stderr, "monitor: the agent's event stream closed; retrying\n");
		m->agent_missing_said = true;
	}
}

static void agent_connect(struct mon *m)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (m->agent)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sun.sun_path, m->sock, sizeof(sun.sun_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		if (fd >= 0)
			close(fd);
		if (!m->agent_missing_said)
			fprintf(stderr, "monitor: no agent at %s: data-path events "
				"only until one starts\n", m->sock);
		m->agent_missing_said = true;
		return;
	}
	m->agent = bufferevent_socket_new(m->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!m->agent) {
		close(fd);
		return;
	}
	bufferevent_setcb(m->agent, on_agent_line, NULL, on_agent_event, m);
	bufferevent_enable(m->agent, EV_READ);
	if (m->agent_missing_said)
		fprintf(stderr, "monitor: connected to the agent at %s\n", m->sock);
	m->agent_missing_said = false;
}

/* ---- the loop ---------------------------------------------------------- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct mon *m = arg;
	struct timeval tv = { .tv_sec = 1 };

	if (monitor_arm(&m->st, m->args.sample, m->args.budget))
		fprintf(stderr, "monitor: %s\n", hl_errmsg());
	clock_offset(m);
	names_refresh(m);
	agent_connect(m);
	report_lost(m);
	evtimer_add(m->tick, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static int do_monitor(int argc, char **argv);

const struct cli_object monitor_object = {
	.name		= "monitor",
	.usage		= "monitor [sample N] [budget N]   agent and data-path events as they happen",
	.details	= "Agent events: state, role and breaker transitions, holds, failovers,\n"
			  "reloads (from the agent's socket under " EVENTS_RUN_DIR "). Data-path\n"
			  "events: drops by reason, rate-limit trips, held SYNs, resets sent, SYN\n"
			  "second chances (a BPF ring buffer, on only while a monitor runs).",
	.opts		= monitor_opts,
	.run		= do_monitor,
};

static int do_monitor(int argc, char **argv)
{
	struct mon m = { .args = { .sample = 1, .budget = 1000 } };
	opt_seen_t seen = 0;
	int ret = -1, i;

	if (opts_parse_args(monitor_opts, &m.args, &argc, &argv, true, &seen))
		return -1;
	if (cli_store_open(&m.st, false))
		return -1;
	store_unlock(&m.st);	/* reads only; never hold writers up */
	if (monitor_take(&m.st)) {
		p_err("%s", hl_errmsg());
		store_close(&m.st);
		return -1;
	}
	m.svc_names = calloc(HL_MAX_SERVICES, SVC_STRLEN);
	events_sock_path(m.st.dir, m.sock, sizeof(m.sock));
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	m.base = event_base_new();
	m.rb = ring_buffer__new(m.st.fds[MAP_EVENTS], on_ring, &m, NULL);
	if (!m.svc_names || !m.base || !m.rb) {
		p_err("cannot read the events ring buffer: %s", strerror(errno));
		goto out;
	}
	m.rb_ev = event_new(m.base, ring_buffer__epoll_fd(m.rb), EV_READ | EV_PERSIST,
			    on_ring_ready, &m);
	m.tick = evtimer_new(m.base, on_tick, &m);
	m.sig[0] = evsignal_new(m.base, SIGINT, on_signal, m.base);
	m.sig[1] = evsignal_new(m.base, SIGTERM, on_signal, m.base);
	if (!m.rb_ev || !m.tick || !m.sig[0] || !m.sig[1] ||
	    event_add(m.rb_ev, NULL) || event_add(m.sig[0], NULL) ||
	    event_add(m.sig[1], NULL)) {
		p_err("cannot set up the event loop");
		goto out;
	}
	monitor_counts(&m.st, &m.last);	/* report only what is lost from now */
	on_tick(-1, 0, &m);
	event_base_dispatch(m.base);
	ret = 0;
out:
	monitor_disarm(&m.st);
	if (m.agent)
		bufferevent_free(m.agent);
	for (i = 0; i < 2; i++)
		if (m.sig[i])
			event_free(m.sig[i]);
	if (m.tick)
		event_free(m.tick);
	if (m.rb_ev)
		event_free(m.rb_ev);
	ring_buffer__free(m.rb);
	if (m.base)
		event_base_free(m.base);
	free(m.svc_names);
	store_close(&m.st);
	return ret;
}
