// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>
#include <netinet/in.h>

#include "agent/config.h"
#include "lib/conns.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/services.h"
#include "lib/tables.h"

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
};

static int fail(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s:%d: %s", c->file,
		 s ? config_setting_source_line(s) : 0, msg);
	return -1;
}

/* The configuration key of option `o`: its name with '_' for '-'. */
static const char *conf_key(const struct opt *o, char *buf, size_t len)
{
	char *c;

	snprintf(buf, len, "%s", o->name);
	for (c = buf; *c; c++)
		if (*c == '-')
			*c = '_';
	return buf;
}

/* Every key of a group must be one we know (a structural key, or an
 * option of one of the tables): a typo is an error, not a silently
 * ignored setting. */
static int check_keys(struct ctx *c, const config_setting_t *group,
		      const char *const *known, const struct opt *const *tbls)
{
	int i, n = config_setting_length(group);
	char key[64];

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, i);
		const char *name = config_setting_name(s);
		const char *const *k;
		const struct opt *const *t;
		bool found = false;

		for (k = known; *k && !found; k++)
			found = !strcmp(*k, name);
		for (t = tbls; *t && !found; t++) {
			const struct opt *o;

			for (o = *t; o->name && !found; o++)
				found = (o->where & OPT_CONF) &&
					!strcmp(conf_key(o, key, sizeof(key)), name);
		}
		if (!found)
			return fail(c, s, "unknown key '%s'", name);
	}
	return 0;
}

/* Set every OPT_CONF option of `tbl` the group has, through the same
 * parser as the CLI: numbers and booleans as their text. */
static int get_opts(struct ctx *c, const config_setting_t *g,
		    const struct opt *tbl, void *obj)
{
	char key[64], val[64];
	const struct opt *o;

	for (o = tbl; o->name; o++) {
		const config_setting_t *s;
		const char *str = val;

		if (!(o->where & OPT_CONF))
			continue;
		s = config_setting_get_member(g, conf_key(o, key, sizeof(key)));
		if (!s)
			continue;	/* keep the default */
		switch (config_setting_type(s)) {
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			snprintf(val, sizeof(val), "%lld",
				 (long long)config_setting_get_int64(s));
			break;
		case CONFIG_TYPE_FLOAT:
			snprintf(val, sizeof(val), "%.17g",
				 config_setting_get_float(s));
			break;
		case CONFIG_TYPE_BOOL:
			str = config_setting_get_bool(s) ? "true" : "false";
			break;
		case CONFIG_TYPE_STRING:
			str = config_setting_get_string(s);
			break;
		default:
			return fail(c, s, "'%s' must be a number or a string", key);
		}
		if ((o->type == OPT_STRING || o->type == OPT_ENUM) &&
		    config_setting_type(s) != CONFIG_TYPE_STRING)
			return fail(c, s, "'%s' must be a string", key);
		if (o->type == OPT_BOOL && config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail(c, s, "'%s' is true or false", key);
		if (opt_set(o, obj, str))
			return fail(c, s, "%s", hl_errmsg());
	}
	return 0;
}

static const char *get_string(struct ctx *c, const config_setting_t *g,
			      const char *name, int *bad)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	if (!s)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		*bad = fail(c, s, "'%s' must be a string", name);
		return NULL;
	}
	return config_setting_get_string(s);
}

static const char *path_check(const void *field)
{
	const char *path = field;

	return path[0] != '/' || strpbrk(path, " \r\n") ?
		"must start with '/' and have no spaces" : NULL;
}

#define SECONDS(field, dflt, what)					\
	{ .name = #field, .type = OPT_SCALED, .where = OPT_CONF, .arg = "S",	\
	  OPT_FIELD(struct svc_conf, health.field##_ms), .min = 0,	\
	  .max = 3600, .scale = 1000, .def = (dflt), .help = (what) }

/* The check group of a service: how it is probed and judged. */
const struct opt check_opts[] = {
	{ .name = "port", .type = OPT_UINT, .where = OPT_CONF, .arg = "N",
	  OPT_FIELD(struct svc_conf, probe.port), .min = 1, .max = 65535,
	  .def = "the service's", .help = "port the check connects to" },
	{ .name = "path", .type = OPT_STRING, .where = OPT_CONF, .arg = "PATH",
	  OPT_FIELD(struct svc_conf, probe.http_path), .check = path_check,
	  .def = "/", .help = "http: the request's path" },
	{ .name = "expect", .type = OPT_UINT, .where = OPT_CONF, .arg = "N",
	  OPT_FIELD(struct svc_conf, probe.http_expect), .min = 100, .max = 599,
	  .def = "200", .help = "http: the status a healthy node answers" },
	{ .name = "conninfo", .type = OPT_STRING, .where = OPT_CONF, .arg = "STR",
	  OPT_FIELD(struct svc_conf, probe.pg_conninfo),
	  .help = "postgres: libpq keywords without host and port" },
	SECONDS(interval, "2", "seconds between checks"),
	SECONDS(timeout, "1", "seconds a check may take"),
	{ .name = "rise", .type = OPT_UINT, .where = OPT_CONF, .arg = "N",
	  OPT_FIELD(struct svc_conf, health.rise), .min = 1, .max = 100,
	  .def = "2", .help = "successes in a row that make a node healthy" },
	{ .name = "fall", .type = OPT_UINT, .where = OPT_CONF, .arg = "N",
	  OPT_FIELD(struct svc_conf, health.fall), .min = 1, .max = 100,
	  .def = "3", .help = "failures in a row that make a node unhealthy" },
	SECONDS(latency, "0.1", "check time above which a node is unhealthy (degraded above 70 %)"),
	{ .name = "lag_degraded", .type = OPT_DOUBLE, .where = OPT_CONF,
	  .arg = "S", OPT_FIELD(struct svc_conf, health.lag_degraded_s),
	  .min = 0, .max = 1e9, .def = "5",
	  .help = "replication lag (s) above which a standby is degraded" },
	{ .name = "lag_unhealthy", .type = OPT_DOUBLE, .where = OPT_CONF,
	  .arg = "S", OPT_FIELD(struct svc_conf, health.lag_unhealthy_s),
	  .min = 0, .max = 1e9, .def = "30",
	  .help = "replication lag (s) above which a standby is unhealthy" },
	{ .name = "lag_degraded_bytes", .type = OPT_SCALED, .where = OPT_CONF,
	  .arg = "N", OPT_FIELD(struct svc_conf, health.lag_degraded_bytes),
	  .min = 0, .max = 1e18, .scale = 1, .def = "0 (off)",
	  .help = "WAL bytes behind above which a standby is degraded" },
	{ .name = "lag_unhealthy_bytes", .type = OPT_SCALED, .where = OPT_CONF,
	  .arg = "N", OPT_FIELD(struct svc_conf, health.lag_unhealthy_bytes),
	  .min = 0, .max = 1e18, .scale = 1, .def = "0 (off)",
	  .help = "WAL bytes behind above which a standby is unhealthy" },
	{ .name = "fail_rate", .type = OPT_DOUBLE, .where = OPT_CONF, .arg = "F",
	  OPT_FIELD(struct svc_conf, health.fail_rate), .min = 0.01, .max = 1,
	  .def = "0.5", .help = "failure rate over the window above which a node is degraded" },
	{ .name = "degraded_weight", .type = OPT_SCALED, .where = OPT_CONF,
	  .arg = "PCT", OPT_FIELD(struct svc_conf, health.degraded_scale),
	  .min = 0, .max = 100, .scale = 10, .def = "50",
	  .help = "weight of a degraded node, per cent of its own" },
	{ .name = "breaker_failures", .type = OPT_UINT, .where = OPT_CONF,
	  .arg = "N", OPT_FIELD(struct svc_conf, health.breaker_failures),
	  .min = 1, .max = 1000, .def = "5",
	  .help = "failures in a row that open the circuit breaker" },
	SECONDS(breaker_open, "10", "seconds the breaker stays open before a trial"),
	{ .name = "breaker_successes", .type = OPT_UINT, .where = OPT_CONF,
	  .arg = "N", OPT_FIELD(struct svc_conf, health.breaker_successes),
	  .min = 1, .max = 1000, .def = "3",
	  .help = "trial successes that close the breaker" },
	{ .name = "breaker_trial_weight", .type = OPT_SCALED, .where = OPT_CONF,
	  .arg = "PCT", OPT_FIELD(struct svc_conf, health.breaker_trial_scale),
	  .min = 0, .max = 100, .scale = 10, .def = "10",
	  .help = "weight while half-open, per cent of its own" },
	{ .name = "breaker_error_rate", .type = OPT_DOUBLE, .where = OPT_CONF,
	  .arg = "F", OPT_FIELD(struct svc_conf, health.breaker_error_rate),
	  .min = 0, .max = 1, .def = "0 (off)",
	  .help = "also open the breaker above this failure rate over the window" },
	SECONDS(slow_start, "0 (off)", "seconds a returning node takes to reach its full weight"),
	{ .name = "backoff", .type = OPT_SCALED, .where = OPT_CONF, .arg = "S",
	  OPT_FIELD(struct svc_conf, health.backoff_base_ms), .min = 0,
	  .max = 3600, .scale = 1000, .def = "0.1",
	  .help = "first re-probe delay of a down node (grows with jitter up to interval)" },
	{ .name = "adaptive", .type = OPT_BOOL, .where = OPT_CONF, .arg = "BOOL",
	  OPT_FIELD(struct svc_conf, health.adaptive), .def = "false",
	  .help = "scale weights by latency, failure rate and active flows" },
	{ NULL }
};

static const struct opt_choice on_down_choices[] = {
	{ "none", false }, { "reset", true }, { NULL }
};

/* A service group's own keys (the admin ones are svc_admin_opts). */
const struct opt service_opts[] = {
	{ .name = "on_down", .type = OPT_ENUM, .where = OPT_CONF, .arg = "WHAT",
	  OPT_FIELD(struct svc_conf, reset_on_down), .choices = on_down_choices,
	  .def = "none", .help = "reset: clients of a node that goes down get a TCP RST" },
	{ .name = "hold", .type = OPT_SCALED, .where = OPT_CONF, .arg = "S",
	  OPT_FIELD(struct svc_conf, hold_ms), .min = 0, .max = 3600,
	  .scale = 1000, .def = "10",
	  .help = "primary: longest hold of new flows while no single primary is known" },
	{ NULL }
};

static int parse_check(struct ctx *c, const config_setting_t *g,
		       struct svc_conf *sc)
{
	static const char *const known[] = { "kind", NULL };
	static const struct opt *const tbls[] = { check_opts, NULL };
	struct health_cfg *h = &sc->health;
	struct probe_cfg *p = &sc->probe;
	const char *kind, *why;
	int bad = 0;

	if (check_keys(c, g, known, tbls))
		return -1;
	kind = get_string(c, g, "kind", &bad);
	if (bad)
		return -1;
	if (!kind)
		return fail(c, g, "check needs 'kind' (tcp, http or postgres)");
	if (probe_kind_parse(kind, &p->kind))
		return fail(c, config_setting_get_member(g, "kind"),
			    "unknown check kind '%s' (tcp, http or postgres)", kind);
	if (get_opts(c, g, check_opts, sc))
		return -1;
	if (p->kind == PROBE_HTTP && !config_setting_get_member(g, "path"))
		return fail(c, g, "an http check needs 'path'");
	if (p->kind == PROBE_POSTGRES && !p->pg_conninfo[0])
		return fail(c, g, "a postgres check needs 'conninfo' (e.g. \"user=helios dbname=postgres\")");
	p->timeout_ms = h->timeout_ms;
	why = health_cfg_check(h);
	return why ? fail(c, g, "impossible check settings: %s", why) : 0;
}

static int parse_node(struct ctx *c, const config_setting_t *g,
		      struct node_conf *nc, const struct svc_conf *sc)
{
	static const char *const known[] = { "addr", NULL };
	static const struct opt *const tbls[] = { node_admin_opts, NULL };
	struct hl_node admin = { .weight = HL_WEIGHT_DEFAULT };
	const char *str;
	int bad = 0;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "a node is a group: { addr = \"...\"; }");
	if (check_keys(c, g, known, tbls))
		return -1;
	str = get_string(c, g, "addr", &bad);
	if (bad)
		return -1;
	if (!str)
		return fail(c, g, "node needs 'addr'");
	if (parse_addr(str, &nc->addr))
		return fail(c, config_setting_get_member(g, "addr"),
			    "bad address '%s'", str);
	if (nc->addr.family != sc->key.family)
		return fail(c, config_setting_get_member(g, "addr"),
			    "node %s and service %s are of different IP families",
			    str, sc->name);
	if (get_opts(c, g, node_admin_opts, &admin))
		return -1;
	nc->weight = admin.weight;
	nc->role = admin.role;
	memcpy(nc->zone, admin.zone, sizeof(nc->zone));
	return 0;
}

static int parse_service(struct ctx *c, const config_setting_t *g,
			 struct svc_conf *sc)
{
	static const char *const known[] = { "service", "check", "nodes", NULL };
	static const struct opt *const tbls[] = { service_opts, svc_admin_opts,
						  NULL };
	struct svc_admin admin = { .svc.ring_size = HL_RING_DEFAULT };
	const config_setting_t *check, *nodes;
	const char *str;
	unsigned int i, j;
	int bad = 0;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "a service is a group: { service = \"...\"; ... }");
	if (check_keys(c, g, known, tbls))
		return -1;
	str = get_string(c, g, "service", &bad);
	if (bad)
		return -1;
	if (!str)
		return fail(c, g, "service needs 'service' (VIP:PORT/PROTO)");
	if (parse_svc(str, &sc->key))
		return fail(c, config_setting_get_member(g, "service"),
			    "bad service '%s' (expected VIP:PORT/tcp|udp)", str);
	format_svc(&sc->key, sc->name, sizeof(sc->name));

	sc->hold_ms = 10000;
	if (get_opts(c, g, service_opts, sc) ||
	    get_opts(c, g, svc_admin_opts, &admin))
		return -1;
	/* The agent decides roles for primary and replica; the other
	 * strategies are the CLI's (maglev, the default, leaves its choice). */
	sc->strategy = admin.svc.strategy;
	if (sc->strategy != HL_STRAT_MAGLEV && sc->strategy != HL_STRAT_PRIMARY &&
	    sc->strategy != HL_STRAT_REPLICA)
		return fail(c, config_setting_get_member(g, "strategy"),
			    "unknown strategy '%s' (maglev, primary or replica)",
			    hl_strategy_name(sc->strategy));
	if (config_setting_get_member(g, "fallback") &&
	    sc->strategy != HL_STRAT_REPLICA)
		return fail(c, config_setting_get_member(g, "fallback"),
			    "fallback applies to strategy replica only");
	sc->fallback_primary = admin.fallback == SVC_FALLBACK_PRIMARY;
	sc->has_scaleout = config_setting_get_member(g, "scaleout");
	sc->scaleout = admin.scaleout;
	sc->has_announce = config_setting_get_member(g, "announce");
	sc->announce = admin.announce;
	sc->ring = admin.svc.ring_size;
	sc->fwd = admin.svc.fwd;

	health_defaults(&sc->health);
	memset(&sc->probe, 0, sizeof(sc->probe));
	sc->probe.port = ntohs(sc->key.port);
	sc->probe.http_expect = 200;
	strcpy(sc->probe.http_path, "/");
	check = config_setting_get_member(g, "check");
	if (!check)
		return fail(c, g, "service %s needs a 'check' group", sc->name);
	if (config_setting_type(check) != CONFIG_TYPE_GROUP)
		return fail(c, check, "'check' is a group: { kind = \"tcp\"; }");
	if (parse_check(c, check, sc))
		return -1;
	if (sc->strategy != HL_STRAT_MAGLEV && sc->probe.kind != PROBE_POSTGRES)
		return fail(c, check, "strategy %s needs a postgres check (roles come from it)",
			    hl_strategy_name(sc->strategy));

	nodes = config_setting_get_member(g, "nodes");
	if (!nodes)
		return 0;
	if (!config_setting_is_list(nodes))
		return fail(c, nodes, "'nodes' is a list: ( { addr = \"...\"; }, ... )");
	sc->nnodes = config_setting_length(nodes);
	if ((unsigned long)sc->nnodes * HL_RING_MIN_PER_NODE > sc->ring)
		return fail(c, nodes, "ring %u is too small for %u nodes", sc->ring,
			    sc->nnodes);
	sc->nodes = calloc(sc->nnodes ? sc->nnodes : 1, sizeof(*sc->nodes));
	if (!sc->nodes)
		return fail(c, nodes, "out of memory");
	for (i = 0; i < sc->nnodes; i++) {
		const config_setting_t *n = config_setting_get_elem(nodes, i);

		if (parse_node(c, n, &sc->nodes[i], sc))
			return -1;
		for (j = 0; j < i; j++)
			if (!memcmp(&sc->nodes[j].addr, &sc->nodes[i].addr,
				    sizeof(struct ip_addr)))
				return fail(c, n, "node listed twice");
	}
	return 0;
}

/* nat = { established = 7200; ... }: the NAT timeouts, seconds. */
static int parse_nat(struct ctx *c, const config_setting_t *g,
		     struct agent_conf *conf)
{
	static const char *const known[] = { NULL };
	static const struct opt *const tbls[] = { nat_timeout_opts, NULL };

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "'nat' is a group: { established = 7200; ... }");
	if (check_keys(c, g, known, tbls) ||
	    get_opts(c, g, nat_timeout_opts, &conf->nat))
		return -1;
	conf->has_nat = true;
	return 0;
}

/* bgp = { socket = "/run/bird/bird.ctl"; include = "..."; }: announce
 * the VIPs through BIRD. */
static int parse_bgp(struct ctx *c, const config_setting_t *g,
		     struct agent_conf *conf)
{
	static const char *const known[] = { NULL };
	static const struct opt *const tbls[] = { bgp_opts, NULL };

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "'bgp' is a group: { socket = \"/run/bird/bird.ctl\"; ... }");
	bgp_conf_defaults(&conf->bgp);
	if (check_keys(c, g, known, tbls) ||
	    get_opts(c, g, bgp_opts, &conf->bgp))
		return -1;
	conf->has_bgp = true;
	return 0;
}

int config_load(const char *path, struct agent_conf *conf, char *err,
		size_t errlen)
{
	static const char *const known[] = { "services", "nat", "bgp", NULL };
	static const struct opt *const none[] = { NULL };
	struct ctx c = { .file = path, .err = err, .errlen = errlen };
	const config_setting_t *root, *svcs, *nat, *bgp;
	config_t cf;
	unsigned int i, j;
	int ret = -1;

	memset(conf, 0, sizeof(*conf));
	config_init(&cf);
	if (!config_read_file(&cf, path)) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read: %s", path,
				 strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: %s", path,
				 config_error_line(&cf), config_error_text(&cf));
		goto out;
	}
	root = config_root_setting(&cf);
	if (check_keys(&c, root, known, none))
		goto out;
	nat = config_setting_get_member(root, "nat");
	if (nat && parse_nat(&c, nat, conf))
		goto out;
	bgp = config_setting_get_member(root, "bgp");
	if (bgp && parse_bgp(&c, bgp, conf))
		goto out;
	svcs = config_setting_get_member(root, "services");
	if (!svcs) {
		fail(&c, root, "no 'services' list");
		goto out;
	}
	if (!config_setting_is_list(svcs)) {
		fail(&c, svcs, "'services' is a list: ( { ... }, ... )");
		goto out;
	}
	conf->nsvcs = config_setting_length(svcs);
	conf->svcs = calloc(conf->nsvcs ? conf->nsvcs : 1, sizeof(*conf->svcs));
	if (!conf->svcs)
		goto out;
	for (i = 0; i < conf->nsvcs; i++) {
		const config_setting_t *s = config_setting_get_elem(svcs, i);

		if (parse_service(&c, s, &conf->svcs[i]))
			goto out;
		for (j = 0; j < i; j++)
			if (!memcmp(&conf->svcs[j].key, &conf->svcs[i].key,
				    sizeof(conf->svcs[i].key))) {
				fail(&c, s, "service %s listed twice",
				     conf->svcs[i].name);
				goto out;
			}
	}
	ret = 0;
out:
	config_destroy(&cf);
	if (ret)
		config_free(conf);
	return ret;
}

void config_free(struct agent_conf *conf)
{
	unsigned int i;

	for (i = 0; i < conf->nsvcs; i++)
		free(conf->svcs[i].nodes);
	free(conf->svcs);
	memset(conf, 0, sizeof(*conf));
}
