// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's configuration file, through config_load() only: a valid file
 * gives the fields of config.h, a bad one "FILE:LINE: reason". Messages are
 * matched by a distinctive part, so their wording may change.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "lib/nodes.h"
#include "unit.h"

static char dir[] = "/tmp/helios-test-config.XXXXXX";
static char path[sizeof(dir) + 32];
static char err[512];

/* Write `text` to a fresh file of the temp directory, load it. */
static int load(const char *text, struct agent_conf *conf)
{
	static int nr;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d.conf", dir, ++nr);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		printf("# cannot write %s\n", path);
		return -2;
	}
	err[0] = '\0';
	return config_load(path, conf, err, sizeof(err));
}

static __be32 v4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1 ? a.s_addr : 0;
}

static void test_valid(void)
{
	static const char text[] =
		"# two services, four nodes\n"
		"services = (\n"
		"  { service = \"198.18.1.10:80/tcp\";\n"
		"    ring = 1009; on_down = \"reset\"; fwd = \"l2\";\n"
		"    check = { kind = \"http\"; path = \"/health\"; expect = 204;\n"
		"              interval = 0.5; timeout = 0.25; rise = 3; fall = 4; };\n"
		"    nodes = ( { addr = \"198.18.0.11\"; weight = 200; zone = \"a\"; },\n"
		"              { addr = \"198.18.0.12\"; } ); },\n"
		"  { service = \"[2001:db8::10]:5432/tcp\";\n"
		"    strategy = \"replica\"; fallback = \"primary\"; hold = 2;\n"
		"    check = { kind = \"postgres\"; port = 6432;\n"
		"              conninfo = \"user=helios dbname=postgres\"; };\n"
		"    nodes = ( { addr = \"2001:db8::11\"; role = \"standby\"; },\n"
		"              { addr = \"2001:db8::12\"; weight = 0; } ); }\n"
		");\n";
	struct agent_conf conf;
	const struct svc_conf *a, *b;
	struct in6_addr v6;

	if (load(text, &conf)) {
		CHECK(0, "config_load: %s", err);
		return;
	}
	CHECK(conf.nsvcs == 2, "nsvcs %u", conf.nsvcs);
	if (conf.nsvcs != 2)
		goto out;
	a = &conf.svcs[0];
	b = &conf.svcs[1];

	CHECK(a->key.family == HL_AF_INET && a->key.proto == IPPROTO_TCP &&
	      a->key.port == htons(80) && a->key.vip[0] == v4("198.18.1.10"),
	      "service key of %s", a->name);
	CHECK(!strcmp(a->name, "198.18.1.10:80/tcp"), "name '%s'", a->name);
	CHECK(a->strategy == HL_STRAT_MAGLEV, "default strategy %d", a->strategy);
	CHECK(a->reset_on_down && !a->fallback_primary, "on_down, fallback");
	CHECK(a->ring == 1009, "ring %u", a->ring);
	CHECK(a->fwd == HL_FWD_L2, "fwd %u", a->fwd);
	CHECK(a->hold_ms == 10000, "default hold %u ms", a->hold_ms);
	CHECK(a->fence && !a->sysid && !a->ryw_of[0], "defaults: fence on, no system_id, no ryw");
	CHECK(a->probe.kind == PROBE_HTTP, "kind %d", a->probe.kind);
	CHECK(a->probe.port == 80, "check port defaults to the service's: %u",
	      a->probe.port);
	CHECK(!strcmp(a->probe.http_path, "/health") && a->probe.http_expect == 204,
	      "path '%s' expect %d", a->probe.http_path, a->probe.http_expect);
	CHECK(a->health.interval_ms == 500 && a->health.timeout_ms == 250 &&
	      a->probe.timeout_ms == 250, "seconds in the file, ms inside: %u %u %u",
	      a->health.interval_ms, a->health.timeout_ms, a->probe.timeout_ms);
	CHECK(a->health.rise == 3 && a->health.fall == 4, "rise %u fall %u",
	      a->health.rise, a->health.fall);
	CHECK(a->nnodes == 2, "nnodes %u", a->nnodes);
	if (a->nnodes == 2) {
		CHECK(a->nodes[0].addr.family == HL_AF_INET &&
		      a->nodes[0].addr.w[0] == v4("198.18.0.11"), "node 0 addr");
		CHECK(a->nodes[0].weight == 200 && !strcmp(a->nodes[0].zone, "a"),
		      "node 0 weight %u zone '%s'", a->nodes[0].weight,
		      a->nodes[0].zone);
		CHECK(a->nodes[1].addr.w[0] == v4("198.18.0.12") &&
		      a->nodes[1].weight == HL_WEIGHT_DEFAULT &&
		      a->nodes[1].role == HL_ROLE_ANY && !a->nodes[1].zone[0],
		      "node 1 defaults: weight %u role %u", a->nodes[1].weight,
		      a->nodes[1].role);
	}

	inet_pton(AF_INET6, "2001:db8::10", &v6);
	CHECK(b->key.family == HL_AF_INET6 && b->key.port == htons(5432) &&
	      !memcmp(b->key.vip, &v6, 16), "IPv6 service key of %s", b->name);
	CHECK(b->strategy == HL_STRAT_REPLICA && b->fallback_primary &&
	      !b->reset_on_down, "strategy %d fallback %d", b->strategy,
	      b->fallback_primary);
	CHECK(b->hold_ms == 2000, "hold %u ms", b->hold_ms);
	CHECK(b->ring == HL_RING_DEFAULT, "default ring %u", b->ring);
	CHECK(b->fwd == HL_FWD_IPIP, "default fwd %u", b->fwd);
	CHECK(b->probe.kind == PROBE_POSTGRES && b->probe.port == 6432 &&
	      !strcmp(b->probe.pg_conninfo, "user=helios dbname=postgres"),
	      "postgres check: port %u conninfo '%s'", b->probe.port,
	      b->probe.pg_conninfo);
	CHECK(b->nnodes == 2, "nnodes %u", b->nnodes);
	if (b->nnodes == 2) {
		inet_pton(AF_INET6, "2001:db8::11", &v6);
		CHECK(b->nodes[0].addr.family == HL_AF_INET6 &&
		      !memcmp(b->nodes[0].addr.w, &v6, 16) &&
		      b->nodes[0].role == HL_ROLE_STANDBY, "node 0 addr, role %u",
		      b->nodes[0].role);
		CHECK(b->nodes[1].weight == 0, "weight 0 (drained) is allowed: %u",
		      b->nodes[1].weight);
	}
out:
	config_free(&conf);
	CHECK(!conf.nsvcs && !conf.svcs, "config_free() leaves it empty");
}

/* The top-level nat group: the timeouts it gives, 0 (the default) for
 * the others; no group, nothing to write. */
static void test_nat_timeouts(void)
{
	static const char with[] =
		"nat = { established = 600; syn_sent = 5; };\n"
		"services = ( { service = \"198.18.1.10:80/tcp\";\n"
		"               check = { kind = \"tcp\"; }; } );\n";
	static const char without[] =
		"services = ( { service = \"198.18.1.10:80/tcp\";\n"
		"               check = { kind = \"tcp\"; }; } );\n";
	struct agent_conf conf;

	if (load(with, &conf)) {
		CHECK(0, "config_load: %s", err);
		return;
	}
	CHECK(conf.has_nat, "nat group seen");
	CHECK(conf.nat.nat_timeout_s[HL_NAT_ESTABLISHED] == 600 &&
	      conf.nat.nat_timeout_s[HL_NAT_SYN_SENT] == 5,
	      "established %u syn-sent %u",
	      conf.nat.nat_timeout_s[HL_NAT_ESTABLISHED],
	      conf.nat.nat_timeout_s[HL_NAT_SYN_SENT]);
	CHECK(!conf.nat.nat_timeout_s[HL_NAT_FIN] &&
	      !conf.nat.nat_timeout_s[HL_NAT_CLOSED] &&
	      !conf.nat.nat_timeout_s[HL_NAT_UDP], "the others: default (0)");
	config_free(&conf);
	if (load(without, &conf)) {
		CHECK(0, "config_load: %s", err);
		return;
	}
	CHECK(!conf.has_nat, "no nat group");
	config_free(&conf);
}

/* Read-your-writes, fencing and the cluster's identity. */
static void test_db_keys(void)
{
	static const char text[] =
		"services = ( { service = \"198.18.1.11:80/tcp\";\n"
		"    ryw_of = \"198.18.1.10:80/tcp\"; ryw_window = 0.5;\n"
		"    fence = false; system_id = \"7715101141134873829\";\n"
		"    check = { kind = \"tcp\"; }; } );\n";
	struct agent_conf conf;

	if (load(text, &conf)) {
		CHECK(0, "config_load: %s", err);
		return;
	}
	CHECK(!strcmp(conf.svcs[0].ryw_of, "198.18.1.10:80/tcp") &&
	      conf.svcs[0].ryw_window_ms == 500, "ryw '%s' %u ms",
	      conf.svcs[0].ryw_of, conf.svcs[0].ryw_window_ms);
	CHECK(!conf.svcs[0].fence, "fence off");
	CHECK(conf.svcs[0].sysid == 7715101141134873829ull, "sysid %llu",
	      (unsigned long long)conf.svcs[0].sysid);
	config_free(&conf);
}

/* Everything to build a director from nothing: devices, a service
 * without a check (not probed) with any strategy, its SNAT addresses;
 * the keys given are marked seen, the others not. */
static void test_devices(void)
{
	static const char text[] =
		"attach = ( { dev = \"eth0\"; mode = \"generic\"; zone = \"z1\";\n"
		"             src = \"198.18.0.1,fd00::1\"; } );\n"
		"decap = ( { dev = \"eth1\"; vips = ( \"198.18.1.10\", \"fd00::10\" ); } );\n"
		"classes = ( { name = \"vip\"; prefix = \"198.18.0.0/24\"; rate = \"100/s\";\n"
		"              shed_order = 3; } );\n"
		"services = ( { service = \"198.18.1.10:80/tcp\"; strategy = \"wrr\";\n"
		"  rate_conn = \"1k/s burst 50\"; client_rate = \"10/s prefix 24\";\n"
		"  fwd = \"nat\"; snat = ( \"198.18.0.4\", \"198.18.0.5\" );\n"
		"  nodes = ( { addr = \"198.18.0.11\"; zone = \"z1\"; },\n"
		"            { addr = \"198.18.0.11:6432\"; }, { addr = \"198.18.0.12:80\"; } ); } );\n";
	const struct opt *t = svc_admin_opts;
	struct agent_conf conf;
	struct svc_conf *sc;

	if (load(text, &conf)) {
		CHECK(0, "config_load: %s", err);
		return;
	}
	CHECK(conf.nattach == 1 && !strcmp(conf.attach[0].dev, "eth0") &&
	      conf.attach[0].mode == ATTACH_GENERIC &&
	      !strcmp(conf.attach[0].zone, "z1") &&
	      !strcmp(conf.attach[0].src, "198.18.0.1,fd00::1"),
	      "attach: %u %s mode %u", conf.nattach, conf.attach[0].dev,
	      conf.attach[0].mode);
	CHECK(conf.attach_seen[0] == (OPT_SEEN(attach_opts, "mode") |
				      OPT_SEEN(attach_opts, "src") |
				      OPT_SEEN(attach_opts, "zone")),
	      "attach keys seen: %llx", (unsigned long long)conf.attach_seen[0]);
	CHECK(conf.ndecap == 1 && conf.decap[0].nvips == 2 &&
	      conf.decap[0].vips[1].family == HL_AF_INET6, "decap: %u, %u VIPs",
	      conf.ndecap, conf.decap[0].nvips);
	sc = &conf.svcs[0];
	CHECK(conf.nsvcs == 1 && !sc->has_check && sc->strategy == HL_STRAT_WRR,
	      "service without a check, strategy %u", sc->strategy);
	CHECK(sc->admin_seen == (OPT_SEEN(t, "strategy") | OPT_SEEN(t, "fwd")),
	      "service keys seen: %llx", (unsigned long long)sc->admin_seen);
	CHECK(sc->has_snat && sc->snat.count == 2, "snat: %u", sc->snat.count);
	CHECK(sc->limits_seen == 9 && !strcmp(sc->limits.rate_conn, "1k/s burst 50"),
	      "limits seen %llx: '%s'", (unsigned long long)sc->limits_seen,
	      sc->limits.rate_conn);
	CHECK(conf.nclasses == 1 && !strcmp(conf.classes[0].name, "vip") &&
	      conf.classes[0].admin.shed_order == 3,
	      "classes: %u, shed order %u", conf.nclasses,
	      conf.classes[0].admin.shed_order);
	CHECK(sc->nnodes == 3 && sc->nodes[0].seen == OPT_SEEN(node_admin_opts, "zone"),
	      "node keys seen: %llx", (unsigned long long)sc->nodes[0].seen);
	/* a port of its own; the service's port is none */
	CHECK(sc->nnodes == 3 && !sc->nodes[0].port &&
	      sc->nodes[1].port == htons(6432) && !sc->nodes[2].port &&
	      !memcmp(&sc->nodes[0].addr, &sc->nodes[1].addr, sizeof(sc->nodes[0].addr)),
	      "node ports %u %u", ntohs(sc->nodes[1].port), ntohs(sc->nodes[2].port));
	config_free(&conf);
}

/* The top-level metrics key: the address as given; none without it. */
static void test_metrics_key(void)
{
	static const char text[] =
		"metrics = \"9464\";\n"
		"services = ( { service = \"198.18.1.10:80/tcp\";\n"
		"               check = { kind = \"tcp\"; }; } );\n";
	struct agent_conf conf;

	if (load(text, &conf)) {
		CHECK(0, "config_load: %s", err);
		return;
	}
	CHECK(!strcmp(conf.metrics, "9464"), "metrics '%s'", conf.metrics);
	config_free(&conf);
}

static void test_bgp(void)
{
	static const char with[] =
		"bgp = { socket = \"/run/b.ctl\"; drain = 2.5; };\n"
		"services = ( { service = \"198.18.1.10:80/tcp\"; scaleout = true;\n"
		"               announce = false; check = { kind = \"tcp\"; }; },\n"
		"             { service = \"198.18.1.11:80/tcp\";\n"
		"               check = { kind = \"tcp\"; }; } );\n";
	struct agent_conf conf;

	if (load(with, &conf)) {
		CHECK(0, "config_load: %s", err);
		return;
	}
	CHECK(conf.has_bgp, "bgp group seen");
	CHECK(!strcmp(conf.bgp.socket, "/run/b.ctl"), "socket %s", conf.bgp.socket);
	CHECK(!strcmp(conf.bgp.include, "/etc/bird/helios-vips.conf"),
	      "include: the default, %s", conf.bgp.include);
	CHECK(conf.bgp.drain_ms == 2500 && conf.bgp.poll_ms == 1000,
	      "drain %u poll %u", conf.bgp.drain_ms, conf.bgp.poll_ms);
	CHECK((conf.svcs[0].admin_seen & OPT_SEEN(svc_admin_opts, "scaleout")) &&
	      conf.svcs[0].admin.scaleout &&
	      (conf.svcs[0].admin_seen & OPT_SEEN(svc_admin_opts, "announce")) &&
	      !conf.svcs[0].admin.announce, "scaleout and announce given");
	CHECK(!(conf.svcs[1].admin_seen & (OPT_SEEN(svc_admin_opts, "scaleout") |
					   OPT_SEEN(svc_admin_opts, "announce"))),
	      "left out: the CLI's choice");
	config_free(&conf);
}

/* A file that must be refused, the line it must name (-1: any) and a part
 * of why. */
struct bad_case {
	const char *name;
	const char *text;
	int line;
	const char *why;
};

#define SVC	"services = (\n  { service = \"198.18.1.10:80/tcp\";\n"
#define TCP	"    check = { kind = \"tcp\"; };\n"
#define NODE	"    nodes = ( { addr = \"198.18.0.11\"; } );\n"
#define END	"  }\n);\n"

static const struct bad_case bad_cases[] = {
	{ "ryw_of without ryw_window", SVC "    ryw_of = \"198.18.1.11:80/tcp\";\n" TCP NODE END,
	  2, "ryw_window" },
	{ "ryw_of not a service", SVC "    ryw_of = \"nowhere\"; ryw_window = 1;\n" TCP NODE END,
	  3, "must be a service" },
	{ "ryw_window too long", SVC "    ryw_of = \"198.18.1.11:80/tcp\"; ryw_window = 61;\n" TCP NODE END,
	  3, "ryw" },
	{ "system_id not a number", SVC "    system_id = \"x12\";\n" TCP NODE END,
	  3, "must be a number" },
	{ "unknown key", SVC "    bogus = 1;\n" TCP NODE END,
	  3, "unknown key 'bogus'" },
	{ "unknown key in check", SVC "    check = { kind = \"tcp\";\n"
	  "              intervall = 1; };\n" NODE END,
	  4, "unknown key 'intervall'" },
	{ "primary with a tcp check", SVC "    strategy = \"primary\";\n" TCP NODE END,
	  4, "postgres" },
	{ "attach mode unknown", "attach = ( { dev = \"eth0\";\n  mode = \"turbo\"; } );\n",
	  2, "mode" },
	{ "attach without dev", "attach = ( { mode = \"native\"; } );\n", 1, "'dev'" },
	{ "attach twice", "attach = ( { dev = \"eth0\"; },\n { dev = \"eth0\"; } );\n",
	  2, "twice" },
	{ "attach src not an address", "attach = ( { dev = \"eth0\"; src = \"x\"; } );\n",
	  1, "src" },
	{ "attach src twice of one family",
	  "attach = ( { dev = \"eth0\"; src = \"198.18.0.1,198.18.0.2\"; } );\n", 1, "src" },
	{ "decap without vips", "decap = ( { dev = \"eth0\"; } );\n", 1, "'vips'" },
	{ "a rate the CLI would refuse", SVC "    rate_conn = \"fast\";\n" NODE END,
	  3, "rate_conn" },
	{ "a prefix on a service rate", SVC "    rate_pkt = \"10/s prefix 24\";\n" NODE END,
	  3, "rate_pkt" },
	{ "a class without a rate", "classes = ( { name = \"x\";\n prefix = \"198.18.0.0/24\"; } );\n",
	  1, "rate" },
	{ "a shed order past 7", "classes = ( { name = \"x\"; rate = \"5\";\n"
	  " prefix = \"198.18.0.0/24\"; shed_order = 8; } );\n", 2, "shed-order" },
	{ "a class prefix with host bits", "classes = ( { name = \"x\"; rate = \"5\";\n"
	  " prefix = \"198.18.0.1/24\"; } );\n", 2, "prefix" },
	{ "snat of the other family", SVC "    snat = ( \"2001:db8::1\" );\n" NODE END,
	  3, "family" },
	{ "bounded-load without a hashed strategy",
	  SVC "    strategy = \"wrr\"; bounded_load = 1.25;\n" NODE END, 2, "" },
	{ "http without path", SVC "    check = { kind = \"http\"; };\n" NODE END,
	  3, "'path'" },
	{ "a node's own port where nothing translates ports", SVC TCP
	  "    nodes = ( { addr = \"198.18.0.11\"; },\n"
	  "              { addr = \"198.18.0.11:6432\"; } );\n" END, 5, "port of its own" },
	{ "the same node and port twice", SVC "    fwd = \"nat\";\n"
	  "    nodes = ( { addr = \"198.18.0.11:6432\"; },\n"
	  "              { addr = \"198.18.0.11:6432\"; } );\n" END, 5, "twice" },
	{ "node of the wrong family", SVC TCP
	  "    nodes = ( { addr = \"198.18.0.11\"; },\n"
	  "              { addr = \"2001:db8::11\"; } );\n" END,
	  5, "famil" },
	{ "duplicate node", SVC TCP
	  "    nodes = ( { addr = \"198.18.0.11\"; },\n"
	  "              { addr = \"198.18.0.12\"; },\n"
	  "              { addr = \"198.18.0.11\"; weight = 5; } );\n" END,
	  6, "twice" },
	{ "ring not prime", SVC "    ring = 1000;\n" TCP NODE END,
	  3, "prime" },
	{ "fallback with maglev", SVC "    fallback = \"primary\";\n" TCP NODE END,
	  3, "replica" },
	{ "syntax error", SVC TCP "    nodes = ( { addr = \"198.18.0.11\"; weight = ; } );\n" END,
	  4, "" },
	{ "nothing declared", "# nothing\n", -1, "'services'" },
	{ "unknown nat key", "nat = {\n  established = 600;\n  idle = 5; };\n"
	  SVC TCP NODE END, 3, "unknown key 'idle'" },
	{ "nat timeout out of range", "nat = { udp = 0; };\n" SVC TCP NODE END,
	  1, "udp" },
	{ "nat timeout not a number", "nat = { fin = \"1m\"; };\n" SVC TCP NODE END,
	  1, "fin" },
	{ "nat not a group", "nat = 5;\n" SVC TCP NODE END, 1, "group" },
	{ "metrics address without a port", "metrics = \"198.18.0.3\";\n" SVC TCP NODE END,
	  1, "metrics" },
	{ "metrics port out of range", "metrics = \"70000\";\n" SVC TCP NODE END,
	  1, "metrics" },
	{ "metrics not a string", "metrics = 9464;\n" SVC TCP NODE END, 1, "metrics" },
	{ "CLI spelling in the file", "nat = { syn-sent = 5; };\n" SVC TCP NODE END,
	  1, "" },
	{ "patroni_port without a postgres check", SVC "    patroni_port = 8008;\n"
	  TCP NODE END, 3, "postgres check" },
	{ "primary with a tcp check", SVC "    strategy = \"primary\";\n" TCP NODE END,
	  4, "postgres or patroni" },
	{ "unknown bgp key", "bgp = {\n  sock = \"/run/b.ctl\"; };\n" SVC TCP NODE END,
	  2, "unknown key 'sock'" },
	{ "bgp socket not absolute", "bgp = { socket = \"bird.ctl\"; };\n" SVC TCP NODE END,
	  1, "socket" },
	{ "bgp not a group", "bgp = true;\n" SVC TCP NODE END, 1, "group" },
	{ "scaleout not a boolean", SVC "    scaleout = \"yes\";\n" TCP NODE END,
	  3, "scaleout" },
};

/* kind patroni: roles from Patroni, its endpoint by the strategy; and
 * patroni_port beside a postgres check. */
static void test_patroni(void)
{
	static const char text[] =
		"services = (\n"
		"  { service = \"198.18.1.10:5432/tcp\"; strategy = \"primary\";\n"
		"    check = { kind = \"postgres\"; conninfo = \"user=x\"; };\n"
		"    patroni_port = 8008; },\n"
		"  { service = \"198.18.1.11:5432/tcp\"; strategy = \"replica\";\n"
		"    check = { kind = \"patroni\"; port = 8008; lag_unhealthy_bytes = 1000; }; }\n"
		");\n";
	struct agent_conf conf;

	CHECK(!load(text, &conf), "%s", err);
	if (conf.nsvcs != 2)
		return;
	CHECK(conf.svcs[0].patroni_port == 8008 &&
	      conf.svcs[0].patroni_probe.kind == PROBE_PATRONI &&
	      conf.svcs[0].patroni_probe.port == 8008 &&
	      !strcmp(conf.svcs[0].patroni_probe.http_path, "/patroni"),
	      "patroni_port: GET /patroni on 8008");
	CHECK(conf.svcs[1].probe.kind == PROBE_PATRONI &&
	      !strcmp(conf.svcs[1].probe.http_path, "/replica?lag=1000"),
	      "kind patroni for reads: %s", conf.svcs[1].probe.http_path);
	config_free(&conf);
}

static void bad_case(const struct bad_case *c)
{
	struct agent_conf conf;
	char where[sizeof(path) + 16];
	int ret;

	ret = load(c->text, &conf);
	CHECK(ret == -1, "config_load returned %d", ret);
	if (ret == 0)
		config_free(&conf);
	CHECK(!conf.nsvcs && !conf.svcs, "a refused file leaves no services");
	if (c->line < 0)
		snprintf(where, sizeof(where), "%s:", path);
	else
		snprintf(where, sizeof(where), "%s:%d: ", path, c->line);
	CHECK(!strncmp(err, where, strlen(where)), "'%s' does not start with '%s'",
	      err, where);
	CHECK(strstr(err, c->why), "'%s' does not say '%s'", err, c->why);
}

static void test_missing_file(void)
{
	struct agent_conf conf;

	snprintf(path, sizeof(path), "%s/absent.conf", dir);
	CHECK(config_load(path, &conf, err, sizeof(err)) == -1, "loaded");
	CHECK(!strncmp(err, path, strlen(path)) && strstr(err, "No such file"),
	      "'%s'", err);
}

int main(void)
{
	unsigned int i;
	char name[96];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_valid);
	RUN(test_patroni);
	RUN(test_bgp);
	RUN(test_nat_timeouts);
	RUN(test_db_keys);
	RUN(test_devices);
	RUN(test_metrics_key);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		snprintf(name, sizeof(name), "refused: %s", bad_cases[i].name);
		RUN_CASE(name, bad_case(&bad_cases[i]));
	}
	RUN(test_missing_file);

	/* Remove what load() wrote (test_valid one file, test_nat_timeouts
	 * two, test_patroni three, test_bgp, test_db_keys, test_devices and
	 * test_metrics_key one each, each bad case one), then the directory. */
	for (i = 1; i <= sizeof(bad_cases) / sizeof(bad_cases[0]) + 10; i++) {
		snprintf(path, sizeof(path), "%s/%u.conf", dir, i);
		unlink(path);
	}
	rmdir(dir);
	return unit_done();
}
