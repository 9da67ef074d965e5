// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>
#include <netinet/in.h>

#include "agent/config.h"
#include "agent/metrics_http.h"
#include "agent/patroni.h"
#include "cmd/args.h"
#include "lib/conns.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/rate.h"
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
		    const struct opt *tbl, void *obj, opt_seen_t *seen)
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
		if (seen)
			*seen |= 1ull << (o - tbl);
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

static const char *sysid_check(const void *field)
{
	const char *s = field;

	return !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 20 ?
		"must be a number (SELECT system_identifier FROM pg_control_system())" :
		NULL;
}

int conf_words(const char *words, char *buf, size_t len, char **argv, int max)
{
	char *w, *save;
	int n = 0;

	snprintf(buf, len, "%s", words);
	for (w = strtok_r(buf, " \t", &save); w && n < max;
	     w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	return n;
}

/* The library's last error, kept: opt_set() writes its own with it. */
static const char *lib_why(void)
{
	static char why[256];

	snprintf(why, sizeof(why), "%s", hl_errmsg());
	return why;
}

/* RATE as the CLI takes it; with `prefix LEN` for client-rate. */
static const char *rate_words_check(const char *words, bool prefix)
{
	struct rate_spec r;
	char buf[CONF_WORDS], *argv[16];
	int n = conf_words(words, buf, sizeof(buf), argv, 16);

	return parse_rate(n, argv, "rate", prefix, &r) ? lib_why() : NULL;
}

static const char *rate_check(const void *field)
{
	return rate_words_check(field, false);
}

static const char *client_rate_check(const void *field)
{
	return rate_words_check(field, true);
}

static const char *syn_retry_check(const void *field)
{
	const char *w = field;

	return !strcmp(w, "off") || (*w >= '1' && *w <= '9') ? NULL :
		"expected DELAY_MS [budget PCT] [min N], or off";
}

#define LIMIT(key, chk, what)						\
	{ .name = #key, .type = OPT_STRING, .where = OPT_CONF, .arg = "RATE", \
	  OPT_FIELD(struct limit_conf, key), .check = (chk), .def = "off", \
	  .help = (what) }

/* A service's limits: the words `service set SVC ...` takes after the
 * keyword, as one string (e.g. rate_conn = "1000/s burst 50";). */
const struct opt limit_opts[] = {
	LIMIT(rate_conn, rate_check, "as service set SVC rate conn RATE: new connections"),
	LIMIT(rate_pkt, rate_check, "as service set SVC rate pkt RATE: packets"),
	LIMIT(rate_bytes, rate_check, "as service set SVC rate bytes RATE: bytes"),
	LIMIT(client_rate, client_rate_check,
	      "as service set SVC client-rate conn RATE [prefix LEN]: per client"),
	LIMIT(syn_retry, syn_retry_check,
	      "as service set SVC syn-retry: DELAY_MS [budget PCT] [min N] or off"),
	{ NULL }
};

static const char *prefix_check(const void *field)
{
	struct hl_class_key k;

	return parse_prefix(field, &k) ? lib_why() : NULL;
}

static const char *class_name_check(const void *field)
{
	char name[HL_CLASS_NAME_LEN];

	return parse_class_name(field, name) ? lib_why() : NULL;
}

/* An entry of the top-level classes list: as class add PREFIX name NAME
 * rate conn RATE. */
const struct opt class_opts[] = {
	{ .name = "name", .type = OPT_STRING, .where = OPT_CONF, .arg = "NAME",
	  OPT_FIELD(struct class_conf, name), .check = class_name_check,
	  .help = "the class (entries of one name share its bucket)" },
	{ .name = "prefix", .type = OPT_STRING, .where = OPT_CONF, .arg = "PREFIX",
	  OPT_FIELD(struct class_conf, prefix), .check = prefix_check,
	  .help = "its clients: ADDR/LEN, no host bits" },
	{ .name = "rate", .type = OPT_STRING, .where = OPT_CONF, .arg = "RATE",
	  OPT_FIELD(struct class_conf, rate), .check = rate_check,
	  .help = "new connections: N[/s] [burst B] [leaky]" },
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
	{ .name = "fence", .type = OPT_BOOL, .where = OPT_CONF, .arg = "BOOL",
	  OPT_FIELD(struct svc_conf, fence), .def = "true",
	  .help = "primary: reset flows made under an older primary or timeline (fencing generation)" },
	{ .name = "system_id", .type = OPT_STRING, .where = OPT_CONF, .arg = "ID",
	  OPT_FIELD(struct svc_conf, system_id), .check = sysid_check,
	  .def = "the first primary's",
	  .help = "postgres: the cluster's system identifier; nodes reporting another are never used" },
	{ .name = "patroni_port", .type = OPT_UINT, .where = OPT_CONF, .arg = "N",
	  OPT_FIELD(struct svc_conf, patroni_port), .min = 0, .max = 65535,
	  .def = "0 (off)",
	  .help = "with a postgres check: also read Patroni's REST API on this port; writes hold while the two disagree about the primary" },
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
		return fail(c, g, "check needs 'kind' (tcp, http, postgres or patroni)");
	if (probe_kind_parse(kind, &p->kind))
		return fail(c, config_setting_get_member(g, "kind"),
			    "unknown check kind '%s' (tcp, http, postgres or patroni)", kind);
	if (get_opts(c, g, check_opts, sc, NULL))
		return -1;
	if (p->kind == PROBE_HTTP && !config_setting_get_member(g, "path"))
		return fail(c, g, "an http check needs 'path'");
	if (p->kind == PROBE_PATRONI && !config_setting_get_member(g, "path"))
		patroni_path(sc->strategy, h->lag_unhealthy_bytes, p->http_path,
			     sizeof(p->http_path));
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
	/* ADDR or ADDR:PORT ([ADDR]:PORT for IPv6), as `node add` takes it */
	if (parse_addr_port(str, &nc->addr, &nc->port))
		return fail(c, config_setting_get_member(g, "addr"),
			    "bad address '%s'", str);
	if (nc->addr.family != sc->key.family)
		return fail(c, config_setting_get_member(g, "addr"),
			    "node %s and service %s are of different IP families",
			    str, sc->name);
	if (nc->port == sc->key.port)
		nc->port = 0;	/* the service's port: the same node */
	if (nc->port && sc->fwd != HL_FWD_NAT)
		return fail(c, config_setting_get_member(g, "addr"),
			    "node %s has a port of its own, but only fwd nat translates ports (service %s forwards by %s)",
			    str, sc->name, svc_fwd_name(sc->fwd));
	if (get_opts(c, g, node_admin_opts, &admin, &nc->seen))
		return -1;
	nc->weight = admin.weight;
	nc->role = admin.role;
	memcpy(nc->zone, admin.zone, sizeof(nc->zone));
	return 0;
}

/* A list of address strings: at most max, each of `family` (0: any). */
static int get_addrs(struct ctx *c, const config_setting_t *l,
		     const char *what, __u8 family, struct ip_addr *out,
		     unsigned int max, unsigned int *n)
{
	unsigned int i, len;

	if (!config_setting_is_list(l) && !config_setting_is_array(l))
		return fail(c, l, "'%s' is a list: ( \"ADDR\", ... )", what);
	len = config_setting_length(l);
	if (len > max)
		return fail(c, l, "at most %u addresses in '%s'", max, what);
	for (i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(l, i);
		const char *str = config_setting_get_string(e);

		if (!str || parse_addr(str, &out[i]))
			return fail(c, e, "bad address in '%s'", what);
		if (family && out[i].family != family)
			return fail(c, e, "%s is of the other IP family", str);
	}
	*n = len;
	return 0;
}

/* snat = ( "ADDR", ... ): the service's SNAT addresses (fwd nat). */
static int parse_snat(struct ctx *c, const config_setting_t *g,
		      struct svc_conf *sc)
{
	const config_setting_t *l = config_setting_get_member(g, "snat");
	struct ip_addr a[HL_SNAT_MAX] = {};
	unsigned int i, n = 0;

	if (!l)
		return 0;
	if (get_addrs(c, l, "snat", sc->key.family, a, HL_SNAT_MAX, &n))
		return -1;
	sc->has_snat = true;
	sc->snat.count = n;
	for (i = 0; i < n; i++)
		memcpy(sc->snat.addrs[i], a[i].w, sizeof(a[i].w));
	return 0;
}

static int get_dev(struct ctx *c, const config_setting_t *g, char *dev)
{
	int bad = 0;
	const char *str = get_string(c, g, "dev", &bad);

	if (bad)
		return -1;
	if (!str || !*str || strlen(str) >= IF_NAMESIZE)
		return fail(c, g, "needs 'dev', a device name");
	strcpy(dev, str);
	return 0;
}

/* attach = ( { dev = "eth0"; mode = "native"; ... }, ... ) */
static int parse_attach(struct ctx *c, const config_setting_t *l,
			struct agent_conf *conf)
{
	static const char *const known[] = { "dev", NULL };
	static const struct opt *const tbls[] = { attach_opts, NULL };
	unsigned int i, j;

	if (!config_setting_is_list(l))
		return fail(c, l, "'attach' is a list: ( { dev = \"eth0\"; }, ... )");
	if (config_setting_length(l) > CONF_MAX_DEVS)
		return fail(c, l, "at most %d devices", CONF_MAX_DEVS);
	for (i = 0; i < (unsigned int)config_setting_length(l); i++) {
		const config_setting_t *g = config_setting_get_elem(l, i);
		struct attach_conf *ac = &conf->attach[i];

		if (config_setting_type(g) != CONFIG_TYPE_GROUP)
			return fail(c, g, "an attach entry is a group: { dev = \"eth0\"; }");
		if (check_keys(c, g, known, tbls) || get_dev(c, g, ac->dev) ||
		    get_opts(c, g, attach_opts, ac, &conf->attach_seen[i]))
			return -1;
		for (j = 0; j < i; j++)
			if (!strcmp(conf->attach[j].dev, ac->dev))
				return fail(c, g, "device %s listed twice", ac->dev);
		conf->nattach++;
	}
	return 0;
}

/* classes = ( { name = "vip"; prefix = "ADDR/LEN"; rate = "100/s"; }, ... ) */
static int parse_classes(struct ctx *c, const config_setting_t *l,
			 struct agent_conf *conf)
{
	static const char *const known[] = { NULL };
	static const struct opt *const tbls[] = { class_opts, class_admin_opts,
						  NULL };
	unsigned int i, n = config_setting_length(l);

	if (!config_setting_is_list(l))
		return fail(c, l, "'classes' is a list: ( { name = \"...\"; ... }, ... )");
	if (n > CONF_MAX_CLASSES)
		return fail(c, l, "at most %d class prefixes", CONF_MAX_CLASSES);
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, i);
		struct class_conf *cc = &conf->classes[i];
		opt_seen_t seen = 0;

		if (config_setting_type(g) != CONFIG_TYPE_GROUP)
			return fail(c, g, "a class is a group: { name = \"...\"; ... }");
		if (check_keys(c, g, known, tbls) ||
		    get_opts(c, g, class_opts, cc, &seen) ||
		    get_opts(c, g, class_admin_opts, &cc->admin, NULL))
			return -1;
		if (seen != (1ull << 3) - 1)
			return fail(c, g, "a class needs name, prefix and rate");
		conf->nclasses++;
	}
	return 0;
}

/* decap = ( { dev = "eth0"; vips = ( "ADDR", ... ); }, ... ) */
static int parse_decap(struct ctx *c, const config_setting_t *l,
		       struct agent_conf *conf)
{
	static const char *const known[] = { "dev", "vips", NULL };
	static const struct opt *const none[] = { NULL };
	unsigned int i;

	if (!config_setting_is_list(l))
		return fail(c, l, "'decap' is a list: ( { dev = \"eth0\"; vips = ( ... ); }, ... )");
	if (config_setting_length(l) > CONF_MAX_DEVS)
		return fail(c, l, "at most %d devices", CONF_MAX_DEVS);
	for (i = 0; i < (unsigned int)config_setting_length(l); i++) {
		const config_setting_t *g = config_setting_get_elem(l, i);
		struct decap_conf *dc = &conf->decap[i];
		const config_setting_t *v;

		if (config_setting_type(g) != CONFIG_TYPE_GROUP)
			return fail(c, g, "a decap entry is a group: { dev = \"eth0\"; ... }");
		if (check_keys(c, g, known, none) || get_dev(c, g, dc->dev))
			return -1;
		v = config_setting_get_member(g, "vips");
		if (!v)
			return fail(c, g, "decap needs 'vips'");
		if (get_addrs(c, v, "vips", 0, dc->vips, DECAP_MAX_VIPS, &dc->nvips))
			return -1;
		conf->ndecap++;
	}
	return 0;
}

void svc_conf_defaults(struct svc_conf *sc)
{
	sc->hold_ms = 10000;
	sc->fence = true;
	sc->reset_on_down = false;
	health_defaults(&sc->health);
	memset(&sc->probe, 0, sizeof(sc->probe));
	sc->probe.port = ntohs(sc->key.port);
	sc->probe.http_expect = 200;
	strcpy(sc->probe.http_path, "/");
	sc->probe.timeout_ms = sc->health.timeout_ms;
}

static int parse_service(struct ctx *c, const config_setting_t *g,
			 struct svc_conf *sc)
{
	static const char *const known[] = { "service", "check", "nodes", "snat",
					     NULL };
	static const struct opt *const tbls[] = { service_opts, svc_admin_opts,
						  limit_opts, NULL };
	struct svc_admin admin = { .svc.ring_size = HL_RING_DEFAULT };
	struct hl_service tmp = {};
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

	svc_conf_defaults(sc);
	if (get_opts(c, g, service_opts, sc, NULL) ||
	    get_opts(c, g, svc_admin_opts, &admin, &sc->admin_seen))
		return -1;
	sc->strategy = admin.svc.strategy;
	if (config_setting_get_member(g, "fallback") &&
	    sc->strategy != HL_STRAT_REPLICA)
		return fail(c, config_setting_get_member(g, "fallback"),
			    "fallback applies to strategy replica only");
	/* A replica service's fallback is what the file says, none if
	 * nothing (the agent decides its roles). */
	if (sc->strategy == HL_STRAT_REPLICA)
		sc->admin_seen |= OPT_SEEN(svc_admin_opts, "fallback");
	sc->fallback_primary = admin.fallback == SVC_FALLBACK_PRIMARY;
	sc->ring = admin.svc.ring_size;
	sc->fwd = admin.svc.fwd;
	sc->sysid = strtoull(sc->system_id, NULL, 10);
	memcpy(sc->ryw_of, admin.ryw_of, sizeof(sc->ryw_of));
	sc->ryw_window_ms = admin.ryw_window_ms;
	if (!!sc->ryw_of[0] != !!sc->ryw_window_ms)
		return fail(c, g, "read-your-writes needs both ryw_of and ryw_window");
	sc->admin = admin;
	if (svc_admin_apply(&admin, sc->admin_seen, &tmp))	/* as a whole */
		return fail(c, g, "%s", hl_errmsg());
	if (parse_snat(c, g, sc) ||
	    get_opts(c, g, limit_opts, &sc->limits, &sc->limits_seen))
		return -1;

	check = config_setting_get_member(g, "check");
	if (check) {
		if (config_setting_type(check) != CONFIG_TYPE_GROUP)
			return fail(c, check, "'check' is a group: { kind = \"tcp\"; }");
		if (parse_check(c, check, sc))
			return -1;
		sc->has_check = true;
	}
	/* Without a check the roles are the operators' hints. */
	if ((sc->strategy == HL_STRAT_PRIMARY || sc->strategy == HL_STRAT_REPLICA) &&
	    check && sc->probe.kind != PROBE_POSTGRES &&
	    sc->probe.kind != PROBE_PATRONI)
		return fail(c, check, "strategy %s needs a postgres or patroni check (roles come from it)",
			    hl_strategy_name(sc->strategy));
	if (sc->patroni_port && sc->probe.kind != PROBE_POSTGRES)
		return fail(c, config_setting_get_member(g, "patroni_port"),
			    "patroni_port goes with a postgres check (kind patroni asks Patroni alone)");
	if (sc->patroni_port) {
		sc->patroni_probe = sc->probe;
		sc->patroni_probe.kind = PROBE_PATRONI;
		sc->patroni_probe.port = sc->patroni_port;
		strcpy(sc->patroni_probe.http_path, "/patroni");
	}

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
				    sizeof(struct ip_addr)) &&
			    sc->nodes[j].port == sc->nodes[i].port)
				return fail(c, n, "node listed twice");
	}
	return 0;
}

/* The agent's own top-level keys; `run` takes them on its command line. */
const struct opt agent_opts[] = {
	{ .name = "metrics", .type = OPT_STRING, .where = OPT_BOTH,
	  .arg = "ADDR:PORT", OPT_FIELD(struct agent_conf, metrics),
	  .check = metrics_addr_check, .def = "off",
	  .help = "serve Prometheus metrics at http://ADDR:PORT/metrics "
		  "(a port alone: 127.0.0.1)" },
	{ NULL }
};

/* nat = { established = 7200; ... }: the NAT timeouts, seconds. */
static int parse_nat(struct ctx *c, const config_setting_t *g,
		     struct agent_conf *conf)
{
	static const char *const known[] = { NULL };
	static const struct opt *const tbls[] = { nat_timeout_opts, NULL };

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "'nat' is a group: { established = 7200; ... }");
	if (check_keys(c, g, known, tbls) ||
	    get_opts(c, g, nat_timeout_opts, &conf->nat, NULL))
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
	    get_opts(c, g, bgp_opts, &conf->bgp, NULL))
		return -1;
	conf->has_bgp = true;
	return 0;
}

int config_load(const char *path, struct agent_conf *conf, char *err,
		size_t errlen)
{
	static const char *const known[] = { "services", "nat", "attach", "decap",
					     "classes", "bgp", NULL };
	static const struct opt *const tbls[] = { agent_opts, NULL };
	struct ctx c = { .file = path, .err = err, .errlen = errlen };
	const config_setting_t *root, *svcs, *nat, *l;
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
	if (check_keys(&c, root, known, tbls) ||
	    get_opts(&c, root, agent_opts, conf, NULL))
		goto out;
	nat = config_setting_get_member(root, "nat");
	if (nat && parse_nat(&c, nat, conf))
		goto out;
	l = config_setting_get_member(root, "attach");
	if (l && parse_attach(&c, l, conf))
		goto out;
	l = config_setting_get_member(root, "decap");
	if (l && parse_decap(&c, l, conf))
		goto out;
	l = config_setting_get_member(root, "classes");
	if (l && parse_classes(&c, l, conf))
		goto out;
	l = config_setting_get_member(root, "bgp");
	if (l && parse_bgp(&c, l, conf))
		goto out;
	svcs = config_setting_get_member(root, "services");
	if (!svcs && !conf->nattach && !conf->ndecap && !nat) {
		fail(&c, root, "declares nothing: no 'services', 'attach', 'decap' or 'nat'");
		goto out;
	}
	if (!svcs) {
		ret = 0;
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
