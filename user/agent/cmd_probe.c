// SPDX-License-Identifier: GPL-2.0
/* helios-agent probe KIND ADDR PORT [...]: one health check, as the agent runs it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <event2/event.h>

#include "agent/agent.h"
#include "agent/probe.h"
#include "cmd/cli.h"

#define PROBE_COUNT_MAX	1000

static int do_probe(int argc, char **argv);

const struct cli_object probe_object = {
	.name		= "probe",
	.usage		=
		"probe KIND ADDR PORT [timeout MS] [path PATH] [expect STATUS]\n"
		"                          [conninfo STR] [count N]",
	.details	=
		"KIND := { tcp | http | postgres }\n"
		"timeout: per check, in ms (default 1000)\n"
		"path, expect: http request path (default /) and expected status (default 200)\n"
		"conninfo: libpq keywords without host/port, e.g. \"user=helios dbname=postgres\";\n"
		"          passwords belong in a passfile (PGPASSFILE or passfile=...)\n"
		"count: checks in a row on the same probe (a postgres probe keeps its\n"
		"       connection open between them), one result line each\n"
		"Exit status 0 if every check succeeded, 1 otherwise.\n",
	.run		= do_probe,
};

struct probe_run {
	struct probe_result res;
	bool finished;
};

static void probe_done(struct probe *p, const struct probe_result *res)
{
	struct probe_run *run = p->owner;

	run->res = *res;
	run->finished = true;
}

static void print_result(const struct probe *p, const struct probe_result *res)
{
	char addr[ADDR_STRLEN], lag[32];
	struct json_object *o;

	format_addr(p->addr.family, p->addr.w, addr, sizeof(addr));
	if (!json_output) {
		printf("%s %s %u %s rtt_us %u", probe_kind_name(p->cfg->kind), addr,
		       p->cfg->port, res->ok ? "ok" : "fail", res->rtt_us);
		if (res->ok && res->role != HL_ROLE_ANY)
			printf(" role %s", role_name(res->role));
		if (res->ok && res->has_lag)
			printf(" lag_s %.3f lag_bytes %llu", res->lag_s,
			       (unsigned long long)res->lag_bytes);
		if (res->ok && res->timeline)
			printf(" timeline %u system_id %llu", res->timeline,
			       (unsigned long long)res->sysid);
		if (!res->ok)
			printf(" error \"%s\"", p->err[0] ? p->err : "failed");
		putchar('\n');
		fflush(stdout);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string(probe_kind_name(p->cfg->kind)));
	json_object_object_add(o, "addr", json_object_new_string(addr));
	json_object_object_add(o, "port", json_object_new_int(p->cfg->port));
	json_object_object_add(o, "ok", json_object_new_boolean(res->ok));
	json_object_object_add(o, "rtt_us", json_object_new_int64(res->rtt_us));
	json_object_object_add(o, "role", json_object_new_string(role_name(res->role)));
	snprintf(lag, sizeof(lag), "%.3f", res->lag_s);
	json_object_object_add(o, "lag_s", res->has_lag ?
			       json_object_new_double_s(res->lag_s, lag) : NULL);
	json_object_object_add(o, "lag_bytes", res->has_lag ?
			       json_object_new_int64(res->lag_bytes) : NULL);
	if (res->ok && res->timeline) {
		char id[24];

		/* a string: system identifiers use all 64 bits */
		snprintf(id, sizeof(id), "%llu", (unsigned long long)res->sysid);
		json_object_object_add(o, "timeline", json_object_new_int64(res->timeline));
		json_object_object_add(o, "system_id", json_object_new_string(id));
	}
	if (!res->ok)
		json_object_object_add(o, "error", json_object_new_string(
				       p->err[0] ? p->err : "failed"));
	json_print(o);
	fflush(stdout);
}

int probe_parse_opts(int argc, char **argv, struct probe_cfg *cfg,
		     unsigned long *count)
{
	unsigned long v;

	while (argc) {
		if (argc < 2) {
			p_err("'%s' needs a value", argv[0]);
			return -1;
		}
		if (!strcmp(argv[0], "timeout")) {
			if (parse_uint(argv[1], "timeout", 3600000, &v))
				return -1;
			if (!v) {
				p_err("invalid timeout '0': expected at least 1 ms");
				return -1;
			}
			cfg->timeout_ms = v;
		} else if (!strcmp(argv[0], "path") && cfg->kind == PROBE_HTTP) {
			if (argv[1][0] != '/' || strpbrk(argv[1], " \r\n") ||
			    strlen(argv[1]) >= sizeof(cfg->http_path)) {
				p_err("invalid path '%s': must start with '/', no spaces, under %zu bytes",
				      argv[1], sizeof(cfg->http_path));
				return -1;
			}
			strcpy(cfg->http_path, argv[1]);
		} else if (!strcmp(argv[0], "expect") && cfg->kind == PROBE_HTTP) {
			if (parse_uint(argv[1], "status", 599, &v))
				return -1;
			if (v < 100) {
				p_err("invalid status '%s': expected 100 to 599", argv[1]);
				return -1;
			}
			cfg->http_expect = v;
		} else if (!strcmp(argv[0], "conninfo") && cfg->kind == PROBE_POSTGRES) {
			if (strlen(argv[1]) >= sizeof(cfg->pg_conninfo)) {
				p_err("conninfo is too long (max %zu bytes)",
				      sizeof(cfg->pg_conninfo) - 1);
				return -1;
			}
			strcpy(cfg->pg_conninfo, argv[1]);
		} else if (!strcmp(argv[0], "count")) {
			if (parse_uint(argv[1], "count", PROBE_COUNT_MAX, count))
				return -1;
			if (!*count) {
				p_err("invalid count '0': expected 1 to %d", PROBE_COUNT_MAX);
				return -1;
			}
		} else {
			p_err("unexpected '%s' for a %s probe (expected: timeout%s%s count)",
			      argv[0], probe_kind_name(cfg->kind),
			      cfg->kind == PROBE_HTTP ? ", path, expect," : "",
			      cfg->kind == PROBE_POSTGRES ? ", conninfo," : ",");
			return -1;
		}
		NEXT_ARG();
		NEXT_ARG();
	}
	return 0;
}

static int do_probe(int argc, char **argv)
{
	struct probe_cfg cfg = {
		.timeout_ms = 1000,
		.http_path = "/",
		.http_expect = 200,
	};
	struct probe_run run = {};
	struct probe p = {};
	unsigned long port, count = 1, i;
	int err = 0, failed = 0;

	if (argc >= 1 && !strcmp(argv[0], "help"))
		return cli_object_usage(&probe_object, stderr, true), 0;
	if (argc < 1) {
		p_err("missing probe kind (see 'helios-agent probe help')");
		return -1;
	}
	REQ_ARGS(3);
	if (probe_kind_parse(argv[0], &cfg.kind)) {
		p_err("unknown probe kind '%s' (tcp, http or postgres)", argv[0]);
		return -1;
	}
	if (parse_addr(argv[1], &p.addr))
		return -1;
	if (parse_uint(argv[2], "port", 65535, &port))
		return -1;
	if (!port) {
		p_err("invalid port '0': expected 1 to 65535");
		return -1;
	}
	cfg.port = port;
	argc -= 3;
	argv += 3;
	if (probe_parse_opts(argc, argv, &cfg, &count))
		return -1;

	p.ops = probe_ops_for(cfg.kind);
	p.cfg = &cfg;
	p.done = probe_done;
	p.owner = &run;
	p.base = event_base_new();
	if (!p.base) {
		p_err("cannot create an event loop");
		return -1;
	}
	for (i = 0; i < count; i++) {
		run.finished = false;
		err = p.ops->start(&p);
		if (err) {
			p_err("cannot start the %s probe: %s", p.ops->name,
			      strerror(-err));
			break;
		}
		/* done() comes by the timeout at the latest: the loop cannot
		 * run dry before; a kept postgres connection arms no event. */
		while (!run.finished && !event_base_loop(p.base, EVLOOP_ONCE))
			;
		if (!run.finished) {
			p_err("the %s probe stopped without a result", p.ops->name);
			err = -EIO;
			break;
		}
		print_result(&p, &run.res);
		failed += !run.res.ok;
	}
	p.ops->cancel(&p);
	event_base_free(p.base);
	return err || failed ? -1 : 0;
}
