// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent run: probe every node of the configured services from one
 * libevent loop and write the verdicts (effective flags and weights, the
 * hold flag) into the pinned maps. The maps stay the single source of truth:
 * the agent can be killed at any time and resumes from them; operators'
 * admin writes (weight, role, zone) are never overwritten.
 *
 * This file has the loop, its signals (stop, reload) and the helpers every
 * part uses; daemon.h lists the others.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "agent/agent.h"
#include "agent/daemon.h"
#include "agent/dl.h"
#include "agent/events.h"
#include "agent/metrics_http.h"
#include "agent/resume.h"
#include "cmd/cli.h"
#include "lib/clock.h"
#include "lib/log.h"

void log_msg(const char *level, const char *fmt, ...)
{
	va_list ap;

	if (!strcmp(level, "debug") && !verbose)
		return;
	fprintf(stderr, "%s: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* systemd (Type=notify): libsystemd is opened only when NOTIFY_SOCKET
 * says that we run under it (dl.h). */
static struct {
	DL_PTR(sd_notify)
} sd;

static void notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void notify(const char *fmt, ...)
{
	static const struct dl_sym syms[] = { DL_SYM(sd, sd_notify) };
	char msg[256];
	va_list ap;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	if (dl_bind("libsystemd.so.0", syms, 1)) {
		log_msg("warn", "no sd_notify: %s", hl_errmsg());
		hl_errclear();
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sd.sd_notify(0, msg);
}

__u32 agent_random(struct agent *a)
{
	/* xorshift64*: jitter only, not security */
	a->rnd ^= a->rnd >> 12;
	a->rnd ^= a->rnd << 25;
	a->rnd ^= a->rnd >> 27;
	return (a->rnd * 0x2545f4914f6cdd1dull) >> 32;
}

void timer_in(struct event *ev, __u32 ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

static void drained(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	log_msg("info", "drained: exiting (the data path keeps running)");
	event_base_loopbreak(a->base);
}

/* SIGINT/SIGTERM: with a bgp group, withdraw every VIP first and give
 * the routers `drain` seconds to move new flows to the other directors. */
static void stop(struct agent *a, int sig)
{
	if (!a->bgp_on || a->drain || !a->conf.bgp.drain_ms) {
		if (a->bgp_on && !a->drain) {
			a->drain = evtimer_new(a->base, drained, a);
			announce_sync(a);
		}
		log_msg("info", "signal %d: exiting (the data path keeps running)",
			sig);
		event_base_loopbreak(a->base);
		return;
	}
	a->drain = evtimer_new(a->base, drained, a);
	if (!a->drain) {
		event_base_loopbreak(a->base);
		return;
	}
	announce_sync(a);
	log_msg("info", "signal %d: every VIP withdrawn, exiting in %u ms (again: now)",
		sig, a->conf.bgp.drain_ms);
	timer_in(a->drain, a->conf.bgp.drain_ms);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	struct agent_conf conf;
	char err[512];

	if (sig != SIGHUP) {
		notify("STOPPING=1");
		stop(a, (int)sig);
		return;
	}
	/* systemd (Type=notify) sees the reload start and end; without
	 * NOTIFY_SOCKET these are no-ops. */
	notify("RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)(hl_now_ns() / 1000));
	if (config_load(a->conf_path, &conf, err, sizeof(err))) {
		log_msg("error", "reload refused, keeping the running configuration: %s",
			err);
		notify("READY=1\nSTATUS=reload refused, running the previous configuration");
		reload_event(a, false, err);
		return;
	}
	if (apply_config(a, &a->conf, &conf) || svcs_build(a, &conf)) {
		log_msg("error", "reload: cannot apply %s", a->conf_path);
		reload_event(a, false, "cannot apply it to the maps");
		notify("READY=1\nSTATUS=reload failed, running the previous configuration");
		config_free(&conf);
		return;
	}
	if (a->cli_metrics)
		snprintf(conf.metrics, sizeof(conf.metrics), "%s", a->cli_metrics);
	if (strcmp(conf.metrics, a->conf.metrics))
		log_msg("warn", "reload: the metrics address changes at the next start");
	notify("READY=1\nSTATUS=%u services", conf.nsvcs);
	config_free(&a->conf);
	a->conf = conf;		/* the services' copies point into it */
	if (a->bgp_on && !a->conf.has_bgp)
		bgp_stop(a);
	else if (a->bgp_on)
		announce_reconf(&a->bgp, &a->conf.bgp);
	else
		bgp_start(a);
	log_msg("info", "reloaded %s", a->conf_path);
	reload_event(a, true, NULL);
	sync_all(-1, 0, a);
}

static int do_run(int argc, char **argv);

const struct cli_object run_object = {
	.name		= "run",
	.usage		= "run config FILE [metrics ADDR:PORT]   the health agent (foreground daemon)",
	.run		= do_run,
};

static int do_run(int argc, char **argv)
{
	struct event *sig[3] = {};
	const int signals[3] = { SIGINT, SIGTERM, SIGHUP };
	struct agent a = {};
	struct agent_conf cli = {};
	opt_seen_t seen = 0;
	char err[512];
	sigset_t held;
	int i, ret = -1;

	if (argc >= 1 && !strcmp(argv[0], "help"))
		return cli_object_usage(&run_object, stderr, true), 0;
	if (argc < 2 || strcmp(argv[0], "config")) {
		p_err("expected: run config FILE [metrics ADDR:PORT]");
		return -1;
	}
	a.conf_path = argv[1];
	a.conf_fd = -1;
	argc -= 2;
	argv += 2;
	/* --metrics as well as metrics: the daemon's options read like one */
	for (i = 0; i < argc; i += 2)
		if (!strncmp(argv[i], "--", 2) && opt_find(agent_opts, OPT_CLI,
							   argv[i] + 2))
			argv[i] += 2;
	if (opts_parse_args(agent_opts, &cli, &argc, &argv, true, &seen)) {
		p_err("%s", hl_errmsg());
		return -1;
	}
	/* A SIGHUP (or SIGTERM) during the start waits for the loop instead
	 * of killing the agent with the default action. */
	sigemptyset(&held);
	for (i = 0; i < 3; i++)
		sigaddset(&held, signals[i]);
	sigprocmask(SIG_BLOCK, &held, NULL);
	if (config_load(a.conf_path, &a.conf, err, sizeof(err))) {
		p_err("%s", err);
		return -1;
	}
	if (seen & OPT_SEEN(agent_opts, "metrics")) {
		a.cli_metrics = strdup(cli.metrics);
		snprintf(a.conf.metrics, sizeof(a.conf.metrics), "%s", cli.metrics);
	}
	if (cli_store_open(&a.st, true))
		goto out;
	store_unlock(&a.st);	/* taken per commit from now on */
	a.conf_fd = conf_record_open(&a.st);
	if (a.conf_fd < 0) {
		p_err("cannot open the agent's record %s: %s", CONF_RECORD_PIN,
		      strerror(-a.conf_fd));
		goto out;
	}
	if (getrandom(&a.rnd, sizeof(a.rnd), 0) != sizeof(a.rnd) || !a.rnd)
		a.rnd = hl_now_ns() | 1;
	if (apply_config(&a, NULL, &a.conf)) {
		p_err("cannot apply %s to the maps", a.conf_path);
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);
	a.base = event_base_new();
	if (!a.base || svcs_build(&a, &a.conf))
		goto out;
	for (i = 0; i < 3; i++) {
		sig[i] = evsignal_new(a.base, signals[i], on_signal, &a);
		if (!sig[i] || event_add(sig[i], NULL))
			goto out;
	}
	sigprocmask(SIG_UNBLOCK, &held, NULL);
	a.sync = evtimer_new(a.base, sync_all, &a);
	if (!a.sync)
		goto out;
	a.events = events_start(a.base, a.st.dir);
	if (!a.events)	/* monitor then shows data-path events only */
		log_msg("warn", "no event stream for monitor: %s", hl_errmsg());
	if (a.conf.metrics[0] && strcmp(a.conf.metrics, "off")) {
		a.metrics = metrics_http_start(a.base, &a.st, a.conf.metrics,
					       agent_metrics, &a);
		if (!a.metrics) {
			p_err("%s", hl_errmsg());
			goto out;
		}
		log_msg("info", "metrics at http://%s/metrics", a.conf.metrics);
	}
	log_msg("info", "helios-agent running: %u services, maps in %s", a.nsvcs,
		a.st.dir);
	bgp_start(&a);
	sync_all(-1, 0, &a);
	/* Ready: the file's state is in the maps and the probes are set. */
	notify("READY=1\nSTATUS=%u services, maps in %s", a.nsvcs, a.st.dir);
	event_base_dispatch(a.base);
	ret = 0;
out:
	metrics_http_stop(a.metrics);
	events_stop(a.events);
	free((char *)a.cli_metrics);
	if (a.bgp_on)
		announce_free(&a.bgp);
	if (a.drain)
		event_free(a.drain);
	svcs_free(&a);
	if (a.sync)
		event_free(a.sync);
	for (i = 0; i < 3; i++)
		if (sig[i])
			event_free(sig[i]);
	if (a.base)
		event_base_free(a.base);
	if (a.conf_fd >= 0)
		close(a.conf_fd);
	store_close(&a.st);
	config_free(&a.conf);
	return ret;
}
