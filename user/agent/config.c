// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>
#include <netinet/in.h>

#include "agent/config.h"
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

/* Every key of a group must be one we know: a typo is an error, not a
 * silently ignored setting. */
static int check_keys(struct ctx *c, const config_setting_t *group,
		      const char *const *known)
{
	int i, n = config_setting_length(group);

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, i);
		const char *name = config_setting_name(s);
		const char *const *k;

		for (k = known; *k; k++)
			if (!strcmp(*k, name))
				break;
		if (!*k)
			return fail(c, s, "unknown key '%s'", name);
	}
	return 0;
}

static int get_number(struct ctx *c, const config_setting_t *g,
		      const char *name, double min, double max, double *val)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	if (!s)
		return 0;	/* keep the default */
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		*val = config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		*val = config_setting_get_float(s);
		break;
	default:
		return fail(c, s, "'%s' must be a number", name);
	}
	if (*val < min || *val > max)
		return fail(c, s, "'%s' must be from %g to %g", name, min, max);
	return 0;
}

static int get_u32(struct ctx *c, const config_setting_t *g, const char *name,
		   double min, double max, __u32 *val)
{
	double v = *val;

	if (get_number(c, g, name, min, max, &v))
		return -1;
	*val = v;
	return 0;
}

/* Seconds in the file, milliseconds inside. */
static int get_ms(struct ctx *c, const config_setting_t *g, const char *name,
		  double max_s, __u32 *ms)
{
	double v = *ms / 1000.0;

	if (get_number(c, g, name, 0, max_s, &v))
		return -1;
	*ms = v * 1000 + 0.5;
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

static int parse_check(struct ctx *c, const config_setting_t *g,
		       struct svc_conf *sc)
{
	static const char *const known[] = {
		"kind", "port", "path", "expect", "conninfo", "interval",
		"timeout", "rise", "fall", "latency", "lag_degraded",
		"lag_unhealthy", "lag_degraded_bytes", "lag_unhealthy_bytes",
		"fail_rate", "degraded_weight", "breaker_failures", "breaker_open",
		"breaker_successes", "breaker_trial_weight", "breaker_error_rate",
		"slow_start", "backoff", "adaptive", NULL
	};
	struct health_cfg *h = &sc->health;
	struct probe_cfg *p = &sc->probe;
	const char *kind, *str, *why;
	double v;
	int bad = 0;

	if (check_keys(c, g, known))
		return -1;
	kind = get_string(c, g, "kind", &bad);
	if (bad)
		return -1;
	if (!kind)
		return fail(c, g, "check needs 'kind' (tcp, http or postgres)");
	if (probe_kind_parse(kind, &p->kind))
		return fail(c, config_setting_get_member(g, "kind"),
			    "unknown check kind '%s' (tcp, http or postgres)", kind);

	v = p->port;
	if (get_number(c, g, "port", 1, 65535, &v))
		return -1;
	p->port = v;
	str = get_string(c, g, "path", &bad);
	if (bad)
		return -1;
	if (p->kind == PROBE_HTTP && !str)
		return fail(c, g, "an http check needs 'path'");
	if (str) {
		if (str[0] != '/' || strlen(str) >= sizeof(p->http_path) ||
		    strpbrk(str, " \r\n"))
			return fail(c, config_setting_get_member(g, "path"),
				    "'path' must start with '/' and have no spaces");
		strcpy(p->http_path, str);
	}
	v = p->http_expect;
	if (get_number(c, g, "expect", 100, 599, &v))
		return -1;
	p->http_expect = v;
	str = get_string(c, g, "conninfo", &bad);
	if (bad)
		return -1;
	if (p->kind == PROBE_POSTGRES && !str)
		return fail(c, g, "a postgres check needs 'conninfo' (e.g. \"user=helios dbname=postgres\")");
	if (str) {
		if (strlen(str) >= sizeof(p->pg_conninfo))
			return fail(c, config_setting_get_member(g, "conninfo"),
				    "'conninfo' is too long");
		strcpy(p->pg_conninfo, str);
	}

	if (get_ms(c, g, "interval", 3600, &h->interval_ms) ||
	    get_ms(c, g, "timeout", 3600, &h->timeout_ms) ||
	    get_u32(c, g, "rise", 1, 100, &h->rise) ||
	    get_u32(c, g, "fall", 1, 100, &h->fall) ||
	    get_ms(c, g, "latency", 3600, &h->latency_ms) ||
	    get_number(c, g, "lag_degraded", 0, 1e9, &h->lag_degraded_s) ||
	    get_number(c, g, "lag_unhealthy", 0, 1e9, &h->lag_unhealthy_s) ||
	    get_number(c, g, "fail_rate", 0.01, 1, &h->fail_rate) ||
	    get_number(c, g, "breaker_error_rate", 0, 1, &h->breaker_error_rate) ||
	    get_u32(c, g, "breaker_failures", 1, 1000, &h->breaker_failures) ||
	    get_ms(c, g, "breaker_open", 3600, &h->breaker_open_ms) ||
	    get_u32(c, g, "breaker_successes", 1, 1000, &h->breaker_successes) ||
	    get_ms(c, g, "slow_start", 3600, &h->slow_start_ms) ||
	    get_ms(c, g, "backoff", 3600, &h->backoff_base_ms))
		return -1;
	v = h->lag_degraded_bytes;
	if (get_number(c, g, "lag_degraded_bytes", 0, 1e18, &v))
		return -1;
	h->lag_degraded_bytes = v;
	v = h->lag_unhealthy_bytes;
	if (get_number(c, g, "lag_unhealthy_bytes", 0, 1e18, &v))
		return -1;
	h->lag_unhealthy_bytes = v;
	/* Weights in percent in the file, per-mille inside. */
	v = h->degraded_scale / 10.0;
	if (get_number(c, g, "degraded_weight", 0, 100, &v))
		return -1;
	h->degraded_scale = v * 10;
	v = h->breaker_trial_scale / 10.0;
	if (get_number(c, g, "breaker_trial_weight", 0, 100, &v))
		return -1;
	h->breaker_trial_scale = v * 10;

	{
		const config_setting_t *ad = config_setting_get_member(g, "adaptive");

		if (ad && config_setting_type(ad) != CONFIG_TYPE_BOOL)
			return fail(c, ad, "'adaptive' is true or false");
		h->adaptive = ad && config_setting_get_bool(ad);
	}
	p->timeout_ms = h->timeout_ms;
	why = health_cfg_check(h);
	return why ? fail(c, g, "impossible check settings: %s", why) : 0;
}

static int parse_node(struct ctx *c, const config_setting_t *g,
		      struct node_conf *nc, const struct svc_conf *sc)
{
	static const char *const known[] = { "addr", "weight", "role", "zone", NULL };
	const char *str;
	double w = HL_WEIGHT_DEFAULT;
	int bad = 0;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "a node is a group: { addr = \"...\"; }");
	if (check_keys(c, g, known))
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
	if (get_number(c, g, "weight", 0, HL_WEIGHT_MAX, &w))
		return -1;
	nc->weight = w;
	str = get_string(c, g, "role", &bad);
	if (bad || (str && parse_role(str, &nc->role)))
		return bad ? -1 : fail(c, config_setting_get_member(g, "role"),
				       "unknown role '%s' (primary, standby or replica)", str);
	str = get_string(c, g, "zone", &bad);
	if (bad || (str && parse_zone(str, nc->zone)))
		return bad ? -1 : fail(c, config_setting_get_member(g, "zone"),
				       "bad zone '%s'", str);
	return 0;
}

static int parse_service(struct ctx *c, const config_setting_t *g,
			 struct svc_conf *sc)
{
	static const char *const known[] = {
		"service", "strategy", "fallback", "on_down", "hold", "ring",
		"check", "nodes", NULL
	};
	const config_setting_t *check, *nodes;
	const char *str;
	double ring = HL_RING_DEFAULT;
	unsigned int i, j;
	int bad = 0;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "a service is a group: { service = \"...\"; ... }");
	if (check_keys(c, g, known))
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

	str = get_string(c, g, "strategy", &bad);
	if (bad)
		return -1;
	if (!str || !strcmp(str, "maglev"))
		sc->strategy = HL_STRAT_MAGLEV;
	else if (!strcmp(str, "primary"))
		sc->strategy = HL_STRAT_PRIMARY;
	else if (!strcmp(str, "replica"))
		sc->strategy = HL_STRAT_REPLICA;
	else
		return fail(c, config_setting_get_member(g, "strategy"),
			    "unknown strategy '%s' (maglev, primary or replica)", str);
	str = get_string(c, g, "fallback", &bad);
	if (bad)
		return -1;
	if (str && strcmp(str, "primary") && strcmp(str, "none"))
		return fail(c, config_setting_get_member(g, "fallback"),
			    "fallback is primary or none, not '%s'", str);
	if (str && sc->strategy != HL_STRAT_REPLICA)
		return fail(c, config_setting_get_member(g, "fallback"),
			    "fallback applies to strategy replica only");
	sc->fallback_primary = str && !strcmp(str, "primary");
	str = get_string(c, g, "on_down", &bad);
	if (bad)
		return -1;
	if (str && strcmp(str, "reset") && strcmp(str, "none"))
		return fail(c, config_setting_get_member(g, "on_down"),
			    "on_down is reset or none, not '%s'", str);
	sc->reset_on_down = str && !strcmp(str, "reset");
	sc->hold_ms = 10000;
	if (get_ms(c, g, "hold", 3600, &sc->hold_ms))
		return -1;
	if (get_number(c, g, "ring", HL_RING_MIN_PER_NODE, HL_RING_MAX, &ring))
		return -1;
	if (!is_prime(ring))
		return fail(c, config_setting_get_member(g, "ring"),
			    "ring must be prime");
	sc->ring = ring;

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

int config_load(const char *path, struct agent_conf *conf, char *err,
		size_t errlen)
{
	static const char *const known[] = { "services", NULL };
	struct ctx c = { .file = path, .err = err, .errlen = errlen };
	const config_setting_t *root, *svcs;
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
	if (check_keys(&c, root, known))
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
