// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent switchover SVC to ADDR [timeout S] [hook CMD] [wait S]: a
 * planned change of a write service's primary, in phases:
 *   hold     new write connections wait (their SYNs are held, the clients
 *            retransmit them), by a lease in the maps (struct
 *            hl_switchover) that this command renews while it runs: if it
 *            dies, the hold ends by itself within SWO_LEASE_MS;
 *   drain    until the old primary's flows are closed (the connection
 *            table, FINs and RSTs noted during the hold) or `timeout`;
 *   reset    those still open get an RST on their next packet;
 *   hook     the operator's command moves the role (pg_promote, patronictl
 *            switchover, ...), at most `wait` seconds;
 *   confirm  until the running agent's probes have made ADDR the single
 *            primary (its effective state in the nodes map), at most `wait`;
 *   release  the hold ends; held clients' SYN retransmissions land on ADDR.
 * The command drives; the agent only judges roles as always (it needs no
 * notice). Any failure still releases: the agent's own hold then keeps
 * writes off two primaries.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "agent/agent.h"
#include "cmd/cli.h"
#include "lib/clock.h"
#include "lib/conns.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/options.h"
#include "lib/parse.h"
#include "lib/services.h"
#include "lib/store.h"

#define SWO_LEASE_MS	3000	/* a dead command's hold ends this soon */
#define SWO_POLL_MS	50
#define SWO_RESET_MS	1000	/* after the reset: flows with traffic end */
#define SWO_STALE_S	30	/* a health record older: no agent running */

struct swo_args {
	__u32 timeout_ms;
	__u32 wait_ms;
	char hook[1024];
};

const struct opt switchover_opts[] = {
	{ .name = "timeout", .type = OPT_SCALED, .where = OPT_CLI, .arg = "S",
	  OPT_FIELD(struct swo_args, timeout_ms), .min = 0, .max = 3600,
	  .scale = 1000, .def = "10",
	  .help = "seconds the old primary's connections may take to end; then they get an RST" },
	{ .name = "hook", .type = OPT_STRING, .where = OPT_CLI, .arg = "CMD",
	  OPT_FIELD(struct swo_args, hook), .def = "none",
	  .help = "command (sh -c) that moves the primary role; HELIOS_SVC, HELIOS_FROM, HELIOS_TO in its environment" },
	{ .name = "wait", .type = OPT_SCALED, .where = OPT_CLI, .arg = "S",
	  OPT_FIELD(struct swo_args, wait_ms), .min = 1, .max = 3600,
	  .scale = 1000, .def = "30",
	  .help = "seconds the hook, then the probes' confirmation of ADDR, may each take" },
	{ NULL }
};

struct swo {
	struct store st;
	struct hl_svc_key key;
	struct hl_service svc;
	const char *name, *to_arg;
	struct ip_addr to;
	int to_id, from_id;
	char from[ADDR_STRLEN];
	struct swo_args args;
	__u64 start_ns, phase_ns;
	struct json_object *phases;
	bool held;
};

static volatile sig_atomic_t swo_stop;

static void swo_signal(int sig)
{
	swo_stop = sig;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static __u64 ms_since(__u64 ns)
{
	return (hl_now_ns() - ns) / 1000000;
}

/* One phase is over: print it (as it happens, plain) or record it (-j). */
static void phase_done(struct swo *s, const char *phase, const char *detail)
{
	__u64 ms = ms_since(s->phase_ns);

	if (json_output) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "phase", json_object_new_string(phase));
		json_object_object_add(o, "ms", json_object_new_int64(ms));
		if (detail)
			json_object_object_add(o, "detail", json_object_new_string(detail));
		json_object_array_add(s->phases, o);
	} else {
		printf("%-8s %6llu ms%s%s\n", phase, (unsigned long long)ms,
		       detail ? "  " : "", detail ? detail : "");
		fflush(stdout);
	}
	s->phase_ns = hl_now_ns();
}

/* Renew the hold's lease; `flags` HL_SWO_F_*. */
static int lease(struct swo *s, __u32 flags)
{
	int err = svc_switchover_set(&s->st, &s->key,
				     hl_now_ns() + SWO_LEASE_MS * 1000000ull, flags);

	if (!err)
		s->held = true;
	return err;
}

static bool node_usable(const struct hl_node *n)
{
	return (n->flags & HL_NODE_F_EXISTS) && (n->flags & HL_NODE_F_AGENT) &&
	       !(n->flags & (HL_NODE_F_DEGRADED | HL_NODE_F_TRANSITIONING |
			     HL_NODE_F_UNHEALTHY)) &&
	       hl_node_weight(n) > 0;
}

/* The node the running agent has made the service's one primary: its
 * effective role and flags (it cuts every other node of a write service),
 * and no hold of its own. -1: none (yet), -2: the maps cannot be read. */
static int agent_primary(struct swo *s)
{
	struct hl_service svc;
	int found = -1;
	__u32 i;

	if (store_lock(&s->st, false))
		return -2;
	if (nodes_load(&s->st) || svc_find(&s->st, &s->key, &svc)) {
		store_unlock(&s->st);
		return -2;
	}
	store_unlock(&s->st);
	if (svc.flags & HL_SVC_F_HOLD)
		return -1;
	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &s->st.nodes[i];

		if (n->svc_id != svc.id || !node_usable(n))
			continue;
		if (n->eff_role != HL_ROLE_PRIMARY || found >= 0)
			return -1;
		found = i;
	}
	return found;
}

struct drain_count {
	__u32 to_id;
	unsigned int open;
};

static int count_open(const struct conn *c, void *data)
{
	struct drain_count *d = data;

	if (c->live && c->node_id != d->to_id)
		d->open++;
	return 0;
}

/* Open flows of the service on any node but the new primary. */
static int open_flows(struct swo *s, unsigned int *open)
{
	struct conn_filter f = { .svc = &s->key };
	struct drain_count d = { .to_id = s->to_id };
	int err;

	err = store_lock(&s->st, false);
	if (err)
		return err;
	err = conns_walk(&s->st, &f, count_open, &d);
	store_unlock(&s->st);
	*open = d.open;
	return err;
}

/* Poll `open_flows` down to 0 within `ms`, renewing the lease; the flows
 * still open, or -errno. */
static int drain(struct swo *s, __u32 ms, __u32 flags)
{
	__u64 start = hl_now_ns();
	unsigned int open;
	int err;

	for (;;) {
		err = lease(s, flags);
		if (!err)
			err = open_flows(s, &open);
		if (err)
			return err;
		if (!open || ms_since(start) >= ms || swo_stop)
			return open;
		sleep_ms(SWO_POLL_MS);
	}
}

/* Run the hook in a process group of its own, renewing the lease while it
 * runs; kill the group after `wait`. 0 when it exited with status 0. */
static int run_hook(struct swo *s, char *why, size_t len)
{
	char to[ADDR_STRLEN];
	__u64 start = hl_now_ns();
	int status;
	pid_t pid, r;

	format_addr(s->to.family, s->to.w, to, sizeof(to));
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "cannot start the hook: %s", strerror(errno));
		return -1;
	}
	if (!pid) {
		setpgid(0, 0);
		setenv("HELIOS_SVC", s->name, 1);
		setenv("HELIOS_FROM", s->from, 1);
		setenv("HELIOS_TO", to, 1);
		/* Its output is the operator's; ours stays data on stdout. */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", s->args.hook, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 || lease(s, HL_SWO_F_RESET) || swo_stop ||
		    ms_since(start) >= s->args.wait_ms) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(why, len, swo_stop ? "interrupted during the hook" :
				 "the hook took longer than %.1f s (killed)",
				 s->args.wait_ms / 1000.0);
			return -1;
		}
		sleep_ms(SWO_POLL_MS);
	}
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	if (WIFEXITED(status))
		snprintf(why, len, "the hook failed (exit status %d)", WEXITSTATUS(status));
	else
		snprintf(why, len, "the hook was killed by signal %d", WTERMSIG(status));
	return -1;
}

/* Check the request against the maps: a write service, ADDR one of its
 * nodes and not its primary already, one primary now, an agent running. */
static int swo_check(struct swo *s, char *why, size_t len)
{
	struct hl_health h;
	char path[4200];
	int fd, cur;

	if (store_lock(&s->st, false))
		goto maps;
	if (svc_find(&s->st, &s->key, &s->svc)) {
		store_unlock(&s->st);
		snprintf(why, len, "no service %s", s->name);
		return -1;
	}
	cur = nodes_load(&s->st);
	s->to_id = cur ? -1 : node_find(&s->st, s->svc.id, &s->to);
	store_unlock(&s->st);
	if (cur)
		goto maps;
	if (s->svc.strategy != HL_STRAT_PRIMARY) {
		snprintf(why, len, "%s is not a write service (strategy primary)", s->name);
		return -1;
	}
	if (s->to_id < 0) {
		snprintf(why, len, "%s is not a node of %s", s->to_arg, s->name);
		return -1;
	}
	cur = agent_primary(s);
	if (cur == -2)
		goto maps;
	if (cur == s->to_id) {
		snprintf(why, len, "%s is the primary of %s already", s->to_arg, s->name);
		return -1;
	}
	if (cur < 0) {
		snprintf(why, len, "%s has no single primary now (the agent holds it): nothing to switch over",
			 s->name);
		return -1;
	}
	s->from_id = cur;
	format_addr(s->st.nodes[cur].family, s->st.nodes[cur].addr, s->from,
		    sizeof(s->from));
	store_pin_path(&s->st, "health", path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &s->to_id, &h) ||
	    !(h.flags & HL_HEALTH_F_VALID) ||
	    hl_now_ns() - h.last_probe_ns > SWO_STALE_S * 1000000000ull) {
		if (fd >= 0)
			close(fd);
		snprintf(why, len, "no recent probe of %s: is `helios-agent run` running?",
			 s->to_arg);
		return -1;
	}
	close(fd);
	return 0;
maps:
	snprintf(why, len, "cannot read the maps: %s", hl_errmsg());
	return -1;
}

static int swo_parse(struct swo *s, int argc, char **argv)
{
	opt_seen_t seen = 0;
	char buf[256];

	if (argc < 3 || strcmp(argv[1], "to")) {
		p_err("expected: switchover SVC to ADDR [%s]",
		      opts_expected(switchover_opts, OPT_CLI, buf, sizeof(buf)));
		return -1;
	}
	s->name = argv[0];
	s->to_arg = argv[2];
	if (parse_svc(argv[0], &s->key) || parse_addr(argv[2], &s->to)) {
		p_err_unreported();
		return -1;
	}
	if (s->to.family != s->key.family) {
		p_err("%s and %s are of different address families", argv[2], argv[0]);
		return -1;
	}
	argc -= 3;
	argv += 3;
	s->args.timeout_ms = 10000;
	s->args.wait_ms = 30000;
	if (opts_parse_args(switchover_opts, &s->args, &argc, &argv, true, &seen)) {
		p_err_unreported();
		return -1;
	}
	return 0;
}

/* The phases after the checks; `why` says what failed. */
static int swo_run(struct swo *s, char *why, size_t len)
{
	char detail[128];
	__u64 wait_start;
	int open, cur;

	if (lease(s, 0)) {
		snprintf(why, len, "cannot hold %s: %s", s->name, hl_errmsg());
		return -1;
	}
	phase_done(s, "hold", NULL);

	open = drain(s, s->args.timeout_ms, 0);
	if (open < 0)
		goto maps;
	snprintf(detail, sizeof(detail), "%d connection%s still open on %s",
		 open, open == 1 ? "" : "s", s->from);
	phase_done(s, "drain", detail);
	if (swo_stop)
		goto stopped;
	if (open) {
		open = drain(s, SWO_RESET_MS, HL_SWO_F_RESET);
		if (open < 0)
			goto maps;
		snprintf(detail, sizeof(detail),
			 "%d idle connection%s left (reset on their next packet)",
			 open, open == 1 ? "" : "s");
		phase_done(s, "reset", detail);
	}

	if (s->args.hook[0]) {
		if (run_hook(s, why, len))
			return -1;
		phase_done(s, "hook", NULL);
	}

	wait_start = hl_now_ns();
	for (;;) {
		if (lease(s, HL_SWO_F_RESET))
			goto maps;
		cur = agent_primary(s);
		if (cur == s->to_id)
			break;
		if (swo_stop)
			goto stopped;
		if (ms_since(wait_start) >= s->args.wait_ms) {
			snprintf(why, len, "%s not confirmed as the single primary within %.1f s",
				 s->to_arg, s->args.wait_ms / 1000.0);
			return -1;
		}
		sleep_ms(SWO_POLL_MS);
	}
	phase_done(s, "confirm", NULL);
	return 0;
maps:
	snprintf(why, len, "cannot use the maps: %s", hl_errmsg());
	return -1;
stopped:
	snprintf(why, len, "interrupted by signal %d", (int)swo_stop);
	return -1;
}

static int do_switchover(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = swo_signal };
	struct swo s = {};
	char why[512] = "";
	int err;

	if (argc == 1 && is_prefix(argv[0], "help")) {
		cli_object_usage(&switchover_object, stderr, true);
		return 0;
	}
	if (swo_parse(&s, argc, argv))
		return -1;
	if (cli_store_open(&s.st, false)) {
		p_err("no Helios maps in %s", bpffs_dir);
		return -1;
	}
	/* The lock is taken per read and write from here on: the agent
	 * must be able to commit while the switchover waits for it. */
	store_unlock(&s.st);
	err = swo_check(&s, why, sizeof(why));
	if (err) {
		p_err("%s", why);
		store_close(&s.st);
		return -1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	s.phases = json_object_new_array();
	s.start_ns = s.phase_ns = hl_now_ns();
	err = swo_run(&s, why, sizeof(why));
	if (s.held) {
		if (svc_switchover_end(&s.st, &s.key) && !err) {
			snprintf(why, sizeof(why), "cannot release the hold: %s (it ends by itself within %d ms)",
				 hl_errmsg(), SWO_LEASE_MS);
			err = -1;
		}
		phase_done(&s, "release", NULL);
	}
	if (json_output) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "service", json_object_new_string(s.name));
		json_object_object_add(o, "from", json_object_new_string(s.from));
		json_object_object_add(o, "to", json_object_new_string(s.to_arg));
		json_object_object_add(o, "ok", json_object_new_boolean(!err));
		if (err)
			json_object_object_add(o, "error", json_object_new_string(why));
		json_object_object_add(o, "phases", s.phases);
		json_object_object_add(o, "total_ms",
				       json_object_new_int64(ms_since(s.start_ns)));
		json_print(o);
	} else {
		printf("%-8s %6llu ms  %s -> %s\n", err ? "failed" : "done",
		       (unsigned long long)ms_since(s.start_ns), s.from, s.to_arg);
		json_object_put(s.phases);
		if (err)
			p_err("%s", why);
	}
	store_close(&s.st);
	return err ? -1 : 0;
}

const struct cli_object switchover_object = {
	.name		= "switchover",
	.usage		= "switchover SVC to ADDR [timeout S] [hook CMD] [wait S]   planned change of primary",
	.details	= "Holds new write connections, waits for the old primary's to end (then resets\n"
			  "them), runs the hook, waits until the running agent's probes make ADDR the\n"
			  "single primary, releases. Each phase is printed with its duration.\n",
	.opts		= switchover_opts,
	.run		= do_switchover,
};
