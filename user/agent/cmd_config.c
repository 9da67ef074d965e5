// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent config { dump | check FILE }: the pinned state written as a
 * configuration file the agent accepts (helios.conf(5)), with the same
 * option tables as the parser, so what an operator built with the CLI can
 * be saved and brought back on an empty bpffs (after a reboot).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "agent/config.h"
#include "cmd/attach.h"
#include "cmd/cli.h"
#include "cmd/decap.h"
#include "lib/conns.h"
#include "lib/nodes.h"
#include "lib/rate.h"
#include "lib/services.h"

/* `key = value;` of option o of obj: text quoted, numbers bare. */
static void put_opt(const struct opt *o, const void *obj, const char *sep)
{
	char key[64], val[128], *c;
	bool quote = o->type == OPT_ENUM || o->type == OPT_STRING;

	snprintf(key, sizeof(key), "%s", o->name);
	for (c = key; *c; c++)
		if (*c == '-')
			*c = '_';
	opt_format(o, obj, val, sizeof(val));
	quote |= !strcmp(val, "off");
	printf("%s%s = %s%s%s;", sep, key, quote ? "\"" : "", val,
	       quote ? "\"" : "");
}

static int dump_attach(const struct attach_conf *ac, void *data)
{
	const struct opt *o;
	bool *first = data;

	printf("%s  { dev = \"%s\";", *first ? "attach = (\n" : ",\n", ac->dev);
	for (o = attach_opts; o->name; o++) {
		const char *field = (const char *)ac + o->off;

		if (o->type != OPT_STRING || *field)
			put_opt(o, ac, " ");
	}
	printf(" }");
	*first = false;
	return 0;
}

static void dump_decap(void)
{
	struct ip_addr vips[DECAP_MAX_VIPS];
	struct if_nameindex *ifs = if_nameindex(), *i;
	char addr[ADDR_STRLEN];
	bool first = true;
	int n = decap_vips(vips, DECAP_MAX_VIPS), j;

	for (i = ifs; n > 0 && i && i->if_name; i++) {
		if (!decap_on(i->if_name))
			continue;
		printf("%s  { dev = \"%s\"; vips = (", first ? "decap = (\n" : ",\n",
		       i->if_name);
		for (j = 0; j < n; j++)
			printf("%s\"%s\"", j ? ", " : " ",
			       format_addr(vips[j].family, vips[j].w, addr, sizeof(addr)));
		printf(" ); }");
		first = false;
	}
	if (!first)
		printf("\n);\n");
	if (ifs)
		if_freenameindex(ifs);
}

static void dump_nat(struct store *st)
{
	struct hl_settings cfg = {};
	const struct opt *o;
	__u32 zero = 0;
	bool any = false;

	bpf_map_lookup_elem(st->fds[MAP_SETTINGS], &zero, &cfg);
	for (o = nat_timeout_opts; o->name; o++) {
		if (!cfg.nat_timeout_s[nat_timeout_state(o)])
			continue;	/* the default */
		printf("%s", any ? "" : "nat = {");
		put_opt(o, &cfg, " ");
		any = true;
	}
	if (any)
		printf(" };\n");
}

static void dump_nodes(struct store *st, const struct hl_svc_key *key,
		       __u32 svc_id)
{
	char addr[ADDR_PORT_STRLEN];
	bool first = true;
	__u32 i;

	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];
		const struct opt *o;

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc_id)
			continue;
		/* A port of its own as `node add` takes it: ADDR:PORT */
		printf("%s{ addr = \"%s\";", first ? "\n    nodes = ( " : ",\n              ",
		       format_addr_port(n->family, n->addr,
					n->port == key->port ? 0 : n->port,
					addr, sizeof(addr)));
		for (o = node_admin_opts; o->name; o++) {
			if ((o->type == OPT_ENUM && !n->role) ||
			    (o->type == OPT_STRING && !n->zone[0]))
				continue;	/* none */
			put_opt(o, n, " ");
		}
		printf(" }");
		first = false;
	}
	if (!first)
		printf(" );");
}

static void put_bucket(const char *key, const struct hl_bucket *b,
		       const char *more)
{
	if (b->cost)
		printf(" %s = \"%llu/s burst %llu%s\";", key,
		       (unsigned long long)bucket_rate(b),
		       (unsigned long long)bucket_burst(b), more);
}

/* The limits as limit_opts take them: the CLI's words. */
static void dump_limits(struct store *st, const struct hl_svc_key *key,
			__u32 id)
{
	struct hl_limits lim;
	struct hl_bucket client;
	char more[32];

	if (bpf_map_lookup_elem(st->fds[MAP_LIMITS], &id, &lim))
		return;
	client = (struct hl_bucket){ .cost = lim.client_cost,
				     .tolerance = lim.client_tolerance };
	snprintf(more, sizeof(more), " prefix %u",
		 key->family == HL_AF_INET ? lim.client_plen4 : lim.client_plen6);
	if (lim.conn.cost || lim.pkt.cost || lim.bytes.cost || client.cost ||
	    lim.retry_delay_ms)
		printf("\n   ");
	put_bucket("rate_conn", &lim.conn, "");
	put_bucket("rate_pkt", &lim.pkt, "");
	put_bucket("rate_bytes", &lim.bytes, "");
	put_bucket("client_rate", &client, more);
	if (lim.retry_delay_ms)
		printf(" syn_retry = \"%u budget %u min %u\";", lim.retry_delay_ms,
		       lim.retry_pct, lim.retry_min);
}

/* classes = ( ... ): one entry a prefix, as class add takes it. */
static void dump_classes(struct store *st)
{
	struct hl_class_key k, last;
	struct hl_class c;
	char pfx[64];
	bool first = true;
	__u32 id;

	while (!bpf_map_get_next_key(st->fds[MAP_CLASS_PREFIXES],
				     first ? NULL : &last, &k)) {
		last = k;
		if (bpf_map_lookup_elem(st->fds[MAP_CLASS_PREFIXES], &k, &id) ||
		    bpf_map_lookup_elem(st->fds[MAP_CLASSES], &id, &c) ||
		    !(c.flags & HL_CLASS_F_USED))
			continue;
		printf("%s  { name = \"%.*s\"; prefix = \"%s\"; rate = \"%llu/s burst %llu\";",
		       first ? "classes = (\n" : ",\n", HL_CLASS_NAME_LEN, c.name,
		       format_prefix(&k, pfx, sizeof(pfx)),
		       (unsigned long long)bucket_rate(&c.conn),
		       (unsigned long long)bucket_burst(&c.conn));
		if (c.shed_order)
			printf(" shed_order = %u;", c.shed_order);
		printf(" }");
		first = false;
	}
	if (!first)
		printf("\n);\n");
}

struct dump_ctx {
	const struct agent_conf *file;	/* config dump FILE, or empty */
	bool first;
};

/* What is not in the maps (the check, on_down, hold) from `sc`, the file
 * given to dump: the keys that differ from their defaults. */
static void dump_file_keys(const struct svc_conf *sc)
{
	struct svc_conf def = { .key = sc->key };
	char a[320], b[320];
	const struct opt *o;

	svc_conf_defaults(&def);
	for (o = service_opts; o->name; o++)
		if (strcmp(opt_format(o, sc, a, sizeof(a)), opt_format(o, &def, b, sizeof(b))))
			put_opt(o, sc, " ");
	if (!sc->has_check)
		return;
	printf("\n    check = { kind = \"%s\";", probe_kind_name(sc->probe.kind));
	for (o = check_opts; o->name; o++)
		if (strcmp(opt_format(o, sc, a, sizeof(a)), opt_format(o, &def, b, sizeof(b))) ||
		    (sc->probe.kind == PROBE_HTTP && !strcmp(o->name, "path")))
			put_opt(o, sc, " ");
	printf(" };");
}

static int dump_svc(struct store *st, const struct hl_svc_key *key,
		    const struct hl_service *svc, void *data)
{
	struct svc_admin admin;
	char name[SVC_STRLEN], addr[ADDR_STRLEN];
	struct hl_snat snat = {};
	struct dump_ctx *ctx = data;
	const struct opt *o;
	__u32 i;

	svc_admin_read(st, svc, &admin);
	printf("%s  { service = \"%s\";\n   ", ctx->first ? "services = (\n" : ",\n",
	       format_svc(key, name, sizeof(name)));
	for (o = svc_admin_opts; o->name; o++) {
		/* Only what applies: what the parser would refuse, or what
		 * is the strategy's own default, stays out. */
		if ((!strcmp(o->name, "bounded-load") && !svc->bounded_load) ||
		    (!strcmp(o->name, "fallback") && svc->strategy != HL_STRAT_REPLICA) ||
		    (!strcmp(o->name, "hash") &&
		     svc->hash == (svc->strategy == HL_STRAT_SRCHASH ? HL_HASH_SRC :
								     HL_HASH_5TUPLE)) ||
		    (!strncmp(o->name, "ryw-", 4) && !admin.ryw_of[0]))
			continue;
		if (o->where & OPT_CONF)
			put_opt(o, &admin, " ");
	}
	dump_limits(st, key, svc->id);
	if (!svc_snat_get(st, svc->id, &snat) && snat.count) {
		printf("\n    snat = (");
		for (i = 0; i < snat.count && i < HL_SNAT_MAX; i++)
			printf("%s\"%s\"", i ? ", " : " ",
			       format_addr(key->family, snat.addrs[i], addr, sizeof(addr)));
		printf(" );");
	}
	for (i = 0; i < ctx->file->nsvcs; i++)
		if (!memcmp(&ctx->file->svcs[i].key, key, sizeof(*key)))
			dump_file_keys(&ctx->file->svcs[i]);
	dump_nodes(st, key, svc->id);
	printf(" }");
	ctx->first = false;
	return 0;
}

/* config dump [FILE]: FILE gives what the maps do not hold (checks). */
static int do_dump(int argc, char **argv)
{
	struct agent_conf file = {};
	struct dump_ctx ctx = { .file = &file, .first = true };
	struct store st;
	bool first = true;
	char why[512];
	int err;

	if (argc > 1) {
		p_err("expected: config dump [FILE]");
		return -1;
	}
	if (argc && config_load(argv[0], &file, why, sizeof(why))) {
		p_err("%s", why);
		return -1;
	}
	err = cli_store_open(&st, false);
	if (err) {
		p_err("nothing pinned under %s", bpffs_dir);
		goto out_file;
	}
	err = nodes_load(&st);
	if (err)
		goto out;
	printf("# helios.conf(5): the state pinned under %s\n", st.dir);
	err = attach_for_each(&st, dump_attach, &first);
	if (!first)
		printf("\n);\n");
	dump_decap();
	dump_nat(&st);
	dump_classes(&st);
	if (!err)
		err = svc_for_each(&st, dump_svc, &ctx);
	if (!ctx.first)
		printf("\n);\n");
out:
	store_close(&st);
out_file:
	config_free(&file);
	return err;
}

static int do_check(int argc, char **argv)
{
	struct agent_conf conf;
	char err[512];

	if (argc != 1) {
		p_err("expected: config check FILE");
		return -1;
	}
	if (config_load(argv[0], &conf, err, sizeof(err))) {
		p_err("%s", err);
		return -1;
	}
	if (json_output)
		json_print(NULL);
	else
		p_info("%s: %u services, %u attached devices, %u decap devices",
		       argv[0], conf.nsvcs, conf.nattach, conf.ndecap);
	config_free(&conf);
	return 0;
}

static const struct cmd cmds[] = {
	{ "dump",	do_dump },
	{ "check",	do_check },
	{ 0 }
};

const struct cli_object config_object = {
	.name		= "config",
	.usage		=
		"config dump [FILE]\n"
		"config check FILE",
	.details	=
		"dump: the pinned state (attachments, decap, NAT timeouts, classes,\n"
		"      services with limits, nodes) as a configuration file `run config`\n"
		"      accepts. The maps hold no checks: with FILE (the agent's), its\n"
		"      services' check, on_down and hold are written too.\n"
		"check: parse FILE as `run config` would, change nothing.\n",
	.cmds		= cmds,
};
