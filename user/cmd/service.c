// SPDX-License-Identifier: GPL-2.0
/* helios-agent service { add | del | list } */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "cmd/args.h"
#include "cmd/cli.h"
#include "cmd/report.h"
#include "lib/counters.h"
#include "lib/log.h"
#include "lib/options.h"
#include "lib/nodes.h"
#include "lib/rate.h"
#include "lib/services.h"
#include "lib/tables.h"

/* syn-retry defaults: budget (per cent of new flows) and minimum. */
#define SYN_RETRY_PCT	10
#define SYN_RETRY_MIN	5

static int do_add(int argc, char **argv)
{
	struct svc_admin in = {};
	struct hl_service svc, tpl = { .ring_size = HL_RING_DEFAULT };
	struct hl_svc_key key;
	opt_seen_t seen = 0;
	struct store st;
	char name[SVC_STRLEN];
	int err;

	REQ_ARGS(1);
	if (parse_svc(argv[0], &key))
		return -1;
	NEXT_ARG();
	if (opts_parse_args(svc_admin_opts, &in, &argc, &argv, true, &seen) ||
	    svc_admin_apply(&in, seen, &tpl))
		return -1;

	err = cli_store_open(&st, true);
	if (err)
		goto out;
	format_svc(&key, name, sizeof(name));
	if (!svc_find(&st, &key, &svc)) {
		p_err("service %s already exists", name);
		err = -EEXIST;
		goto out;
	}
	err = svc_add(&st, &key, &tpl);
	if (!err) {
		hl_errclear();
		err = svc_apply_ryw(&st, &key, &in, seen);
		if (err) {
			p_err("%s", hl_errmsg()[0] ? hl_errmsg() : strerror(-err));
			svc_del(&st, &key);	/* bad input changes nothing */
		}
	}
	if (!err && json_output)
		json_print(NULL);
	else if (!err)
		p_info("service %s added (ring %u, strategy %s, fwd %s)", name,
		       tpl.ring_size, hl_strategy_name(tpl.strategy),
		       svc_fwd_name(tpl.fwd));
out:
	store_close(&st);
	return err;
}

/* rate { conn | pkt | bytes } RATE, client-rate conn RATE [prefix LEN] */
static int set_rate(struct store *st, const struct hl_svc_key *key,
		    struct hl_service *svc, int argc, char **argv)
{
	bool client = !strcmp(argv[0], "client-rate");
	struct hl_limits lim = {};
	struct hl_bucket *b = NULL;
	struct rate_spec r;
	const char *kind;
	__u32 id = svc->id;
	int err;

	if (argc < 2) {
		p_err("'%s' needs conn%s", argv[0], client ? "" : ", pkt or bytes");
		return -EINVAL;
	}
	kind = argv[1];
	if (client ? strcmp(kind, "conn") :
	    strcmp(kind, "conn") && strcmp(kind, "pkt") && strcmp(kind, "bytes")) {
		p_err("unknown limit '%s %s' (expected: rate conn|pkt|bytes, client-rate conn)",
		      argv[0], kind);
		return -EINVAL;
	}
	if (parse_rate(argc - 2, argv + 2, client ? "client-rate" : kind, client,
		       &r))
		return -EINVAL;
	if (bpf_map_lookup_elem(st->fds[MAP_LIMITS], &id, &lim))
		memset(&lim, 0, sizeof(lim));
	if (client) {
		struct hl_bucket cb;

		if (r.off) {
			lim.client_cost = lim.client_tolerance = 0;
		} else {
			if (r.prefix > 32 && key->family == HL_AF_INET) {
				p_err("invalid prefix length %ld for an IPv4 service (at most 32)",
				      r.prefix);
				return -EINVAL;
			}
			err = bucket_set(&cb, "client-rate", r.rate,
					 r.leaky ? 1 : r.burst, 1);
			if (err)
				return err;
			lim.client_cost = cb.cost;
			lim.client_tolerance = cb.tolerance;
			lim.client_plen4 = r.prefix > 0 ? r.prefix : 32;
			lim.client_plen6 = r.prefix > 0 ? r.prefix : 128;
		}
	} else {
		__u64 min = !strcmp(kind, "bytes") ? BYTES_BURST_MIN : 1;

		b = !strcmp(kind, "conn") ? &lim.conn :
		    !strcmp(kind, "pkt") ? &lim.pkt : &lim.bytes;
		if (r.off) {
			memset(b, 0, sizeof(*b));
		} else {
			err = bucket_set(b, kind, r.rate,
					 r.leaky ? min : r.burst, min);
			if (err)
				return err;
		}
	}
	return svc_set_limits(st, key, &lim);
}

/* syn-retry { off | DELAY_MS [budget PCT] [min N] }: checked whole before
 * anything is written. */
int svc_parse_syn_retry(int argc, char **argv, struct hl_limits *lim,
			bool *on)
{
	unsigned long v;

	if (argc < 2) {
		p_err("syn-retry needs a delay in ms, or off");
		return -EINVAL;
	}
	*on = strcmp(argv[1], "off");
	if (!*on)
		return argc == 2 ? 0 : (p_err("unexpected '%s'", argv[2]), -EINVAL);
	/* v is not set when parse_uint() fails: its message is the one */
	if (parse_uint(argv[1], "syn-retry delay (ms)", 65535, &v))
		return -EINVAL;
	if (!v) {
		p_err("invalid syn-retry delay '%s': from 1 to 65535 ms", argv[1]);
		return -EINVAL;
	}
	lim->retry_delay_ms = v;
	lim->retry_pct = SYN_RETRY_PCT;
	lim->retry_min = SYN_RETRY_MIN;
	for (argc -= 2, argv += 2; argc; argc -= 2, argv += 2) {
		if (argc < 2 || (strcmp(argv[0], "budget") && strcmp(argv[0], "min"))) {
			p_err("unexpected '%s' (expected: budget PCT, min N)", argv[0]);
			return -EINVAL;
		}
		if (!strcmp(argv[0], "budget")) {
			if (parse_uint(argv[1], "syn-retry budget (%)", 100, &v))
				return -EINVAL;
			lim->retry_pct = v;
		} else {
			if (parse_uint(argv[1], "syn-retry minimum (per second)", 255, &v))
				return -EINVAL;
			lim->retry_min = v;
		}
	}
	return 0;
}

static int set_syn_retry(struct store *st, const struct hl_svc_key *key,
			 struct hl_service *svc, const struct hl_limits *want,
			 bool on)
{
	struct hl_limits lim;
	__u32 id = svc->id;

	if (bpf_map_lookup_elem(st->fds[MAP_LIMITS], &id, &lim))
		memset(&lim, 0, sizeof(lim));
	lim.retry_delay_ms = on ? want->retry_delay_ms : 0;
	lim.retry_pct = on ? want->retry_pct : 0;
	lim.retry_min = on ? want->retry_min : 0;
	return svc_set_limits(st, key, &lim);
}

/* snat { ADDR [ADDR ...] | off }: checked whole before anything is
 * written. */
int svc_parse_snat(int argc, char **argv, const struct hl_svc_key *key,
		   const char *svc_arg, struct hl_snat *snat)
{
	int i;

	memset(snat, 0, sizeof(*snat));
	if (argc < 2) {
		p_err("snat needs ADDR [ADDR ...] or off");
		return -EINVAL;
	}
	if (!strcmp(argv[1], "off"))
		return argc == 2 ? 0 : (p_err("unexpected '%s'", argv[2]), -EINVAL);
	if (argc - 1 > HL_SNAT_MAX) {
		p_err("too many SNAT addresses: %d (at most %d)", argc - 1,
		      HL_SNAT_MAX);
		return -E2BIG;
	}
	for (i = 1; i < argc; i++) {
		struct ip_addr a;

		if (parse_addr(argv[i], &a))
			return -EINVAL;
		if (a.family != key->family) {
			p_err("SNAT address %s is %s but service %s is %s", argv[i],
			      a.family == HL_AF_INET ? "IPv4" : "IPv6", svc_arg,
			      key->family == HL_AF_INET ? "IPv4" : "IPv6");
			return -EINVAL;
		}
		memcpy(snat->addrs[snat->count++], a.w, sizeof(a.w));
	}
	return 0;
}

static int do_set(int argc, char **argv)
{
	struct hl_limits retry = {};
	struct hl_snat snat;
	bool retry_on = false;
	struct svc_admin in = {};
	opt_seen_t seen = 0;
	struct hl_svc_key key;
	struct hl_service svc;
	const char *svc_arg;
	struct store st;
	char name[SVC_STRLEN];
	unsigned int nodes;
	int err;

	REQ_ARGS(2);
	if (parse_svc(argv[0], &key))
		return -1;
	svc_arg = argv[0];
	NEXT_ARG();
	if (!strcmp(argv[0], "syn-retry")) {
		if (svc_parse_syn_retry(argc, argv, &retry, &retry_on))
			return -1;
	} else if (!strcmp(argv[0], "snat")) {
		if (svc_parse_snat(argc, argv, &key, svc_arg, &snat))
			return -1;
	} else if (strcmp(argv[0], "rate") && strcmp(argv[0], "client-rate")) {
		/* Check all of the arguments before opening anything. */
		int left = argc;
		char **rest = argv;

		if (opts_parse_args(svc_admin_opts, &in, &left, &rest, true, &seen))
			return -1;
		if (seen & OPT_SEEN(svc_admin_opts, "ring")) {
			p_err("the ring size is set when the service is added");
			return -1;
		}
	}
	err = cli_store_open(&st, true);
	if (err)
		goto out;
	format_svc(&key, name, sizeof(name));
	if (svc_find(&st, &key, &svc)) {
		p_err("no service %s", svc_arg);
		err = -ENOENT;
		goto out;
	}
	err = nodes_load(&st);
	if (err)
		goto out;
	hl_errclear();
	if (!strcmp(argv[0], "syn-retry")) {
		err = set_syn_retry(&st, &key, &svc, &retry, retry_on);
	} else if (!strcmp(argv[0], "snat")) {
		err = svc_set_snat(&st, &key, &snat);
	} else if (!strcmp(argv[0], "rate") || !strcmp(argv[0], "client-rate")) {
		err = set_rate(&st, &key, &svc, argc, argv);
	} else {
		err = svc_admin_apply(&in, seen, &svc);
		nodes = node_count(&st, svc.id);
		if (!err && strategy_needs_list(svc.strategy) && nodes > HL_SEL_MAX) {
			p_err("strategy %s supports at most %d nodes; service %s has %u",
			      hl_strategy_name(svc.strategy), HL_SEL_MAX, name, nodes);
			err = -E2BIG;
		}
		/* read-your-writes first: its service names are checked
		 * there, and a bad one must leave the rest unchanged too */
		if (!err)
			err = svc_apply_ryw(&st, &key, &in, seen);
		if (!err)
			err = svc_set_admin(&st, &key, &svc);
	}
	if (err && hl_errmsg()[0])
		p_err("%s", hl_errmsg());	/* the library's, more precise */
	else if (err && err != -EINVAL && err != -ERANGE && err != -E2BIG)
		p_err("cannot update service %s: %s", name, strerror(-err));
	if (!err && json_output)
		json_print(NULL);
out:
	store_close(&st);
	return err;
}

static int do_del(int argc, char **argv)
{
	struct hl_svc_key key;
	struct store st;
	char name[SVC_STRLEN];
	int err;

	REQ_ARGS(1);
	if (parse_svc(argv[0], &key))
		return -1;
	if (argc > 1) {
		p_err("unexpected '%s'", argv[1]);
		return -1;
	}
	format_svc(&key, name, sizeof(name));
	err = cli_store_open(&st, true);
	if (!err) {
		err = svc_del(&st, &key);
		if (err == -ENOENT)
			p_err("no service %s", name);
		else if (err)
			p_err("cannot delete service %s: %s", name, strerror(-err));
		else if (json_output)
			json_print(NULL);
	}
	store_close(&st);
	return err;
}

static int list_one(struct store *st, const struct hl_svc_key *key,
		    const struct hl_service *svc, void *data)
{
	unsigned int nodes = node_count(st, svc->id);
	struct json_object *o, *addrs;
	char name[SVC_STRLEN], addr[ADDR_STRLEN];
	struct hl_snat snat;
	__u32 i;

	format_svc(key, name, sizeof(name));
	svc_snat_get(st, svc->id, &snat);
	if (!json_output) {
		printf("%-40s %5u %9u %6u %-12s %-10s %s", name, svc->id,
		       svc->ring_size, nodes, hl_strategy_name(svc->strategy),
		       hl_hash_name(svc->hash), svc_fwd_name(svc->fwd));
		for (i = 0; i < snat.count && i < HL_SNAT_MAX; i++)
			printf("%s%s", i ? "," : " snat ",
			       format_addr(key->family, snat.addrs[i], addr,
					   sizeof(addr)));
		printf("\n");
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(name));
	json_object_object_add(o, "id", json_object_new_int64(svc->id));
	json_object_object_add(o, "ring", json_object_new_int64(svc->ring_size));
	json_object_object_add(o, "nodes", json_object_new_int64(nodes));
	json_object_object_add(o, "strategy",
			       json_object_new_string(hl_strategy_name(svc->strategy)));
	json_object_object_add(o, "hash",
			       json_object_new_string(hl_hash_name(svc->hash)));
	json_object_object_add(o, "slots", json_object_new_int64(svc->slots));
	json_object_object_add(o, "fwd",
			       json_object_new_string(svc_fwd_name(svc->fwd)));
	addrs = json_object_new_array();
	for (i = 0; i < snat.count && i < HL_SNAT_MAX; i++)
		json_object_array_add(addrs, json_object_new_string(
			format_addr(key->family, snat.addrs[i], addr, sizeof(addr))));
	json_object_object_add(o, "snat", addrs);
	if (svc->bounded_load)
		json_object_object_add(o, "bounded_load",
				       json_object_new_double(svc->bounded_load / 100.0));
	if (svc->strategy == HL_STRAT_REPLICA)
		json_object_object_add(o, "fallback", json_object_new_string(
			svc->opts & HL_SVC_O_FALLBACK_PRIMARY ? "primary" : "none"));
	if (svc->opts & HL_SVC_O_RYW) {
		struct hl_svc_key src;
		struct hl_service s;
		struct hl_ryw r;

		svc_ryw_get(st, svc->id, &r);
		if (!svc_find_id(st, r.src_id, &src, &s))
			json_object_object_add(o, "ryw_of", json_object_new_string(
				format_svc(&src, name, sizeof(name))));
		json_object_object_add(o, "ryw_window_ms",
				       json_object_new_int64(r.window_ms));
	}
	if (svc->gen)
		json_object_object_add(o, "generation", json_object_new_int64(svc->gen));
	json_object_array_add(data, o);
	return 0;
}

static int do_list(int argc, char **argv)
{
	struct json_object *arr = json_object_new_array();
	struct store st;
	int err;

	if (argc) {
		p_err("unexpected '%s'", argv[0]);
		json_object_put(arr);
		return -1;
	}
	if (!json_output)
		printf("%-40s %5s %9s %6s %-12s %-10s %s\n", "SERVICE", "ID",
		       "RING", "NODES", "STRATEGY", "HASH", "FWD");
	err = cli_store_open(&st, false);
	if (!err)
		err = nodes_load(&st);
	if (!err)
		err = svc_for_each(&st, list_one, arr);
	else if (err == -ENOENT)
		err = 0;	/* nothing set up yet: no services */
	if (!err && json_output)
		json_print(json_object_get(arr));
	json_object_put(arr);
	store_close(&st);
	return err;
}

struct digest_ctx {
	const struct hl_svc_key *only;
	struct json_object *arr;
	unsigned int found;
};

static int digest_one(struct store *st, const struct hl_svc_key *key,
		      const struct hl_service *svc, void *data)
{
	struct digest_ctx *c = data;
	char name[SVC_STRLEN], hex[17];
	struct json_object *o;
	__u64 digest;
	int err;

	if (c->only && memcmp(c->only, key, sizeof(*key)))
		return 0;
	c->found++;
	format_svc(key, name, sizeof(name));
	err = tables_digest(st, svc, &digest);
	if (err) {
		p_err("%s: %s", name, hl_errmsg());
		return err;
	}
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)digest);
	if (!json_output) {
		printf("%-40s %-12s %7u %s\n", name,
		       hl_strategy_name(svc->strategy), svc->slots, hex);
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(name));
	json_object_object_add(o, "strategy",
			       json_object_new_string(hl_strategy_name(svc->strategy)));
	json_object_object_add(o, "slots", json_object_new_int64(svc->slots));
	json_object_object_add(o, "digest", json_object_new_string(hex));
	json_object_array_add(c->arr, o);
	return 0;
}

/* service digest [SVC]: a fingerprint of each service's tables, the same
 * on every director built from the same configuration. */
static int do_digest(int argc, char **argv)
{
	struct digest_ctx c = { .arr = json_object_new_array() };
	struct hl_svc_key key;
	char name[SVC_STRLEN];
	struct store st;
	int err = -1;

	if (argc > 1) {
		p_err("unexpected '%s'", argv[1]);
		goto out_free;
	}
	if (argc) {
		if (parse_svc(argv[0], &key))
			goto out_free;
		c.only = &key;
	}
	err = cli_store_open(&st, false);
	if (!err)
		err = nodes_load(&st);
	if (!err && !json_output)
		printf("%-40s %-12s %7s %s\n", "SERVICE", "STRATEGY", "SLOTS",
		       "DIGEST");
	if (!err)
		err = svc_for_each(&st, digest_one, &c);
	if (!err && c.only && !c.found) {
		p_err("no service %s", format_svc(&key, name, sizeof(name)));
		err = -ENOENT;
	}
	if (!err && json_output)
		json_print(json_object_get(c.arr));
	store_close(&st);
out_free:
	json_object_put(c.arr);
	return err;
}

static const struct cmd cmds[] = {
	{ "add",	do_add },
	{ "digest",	do_digest },
	{ "set",	do_set },
	{ "del",	do_del },
	{ "list",	do_list },
	{ 0 }
};

const struct cli_object service_object = {
	.name		= "service",
	.usage		=
		"service add SVC [OPTIONS]\n"
		"service set SVC OPTIONS (not ring)\n"
		"service set SVC rate { conn | pkt | bytes } RATE\n"
		"service set SVC client-rate conn RATE [prefix LEN]\n"
		"service set SVC syn-retry { DELAY_MS [budget PCT] [min N] | off }\n"
		"service set SVC snat { ADDR [ADDR ...] | off }\n"
		"service del SVC\n"
		"service list\n"
		"service digest [SVC]",
	.details	=
		"SVC := VIP:PORT/{tcp|udp}\n"
		"RATE := { N[/s] [burst B] [leaky] | off }   N, B: positive integers, k/M/G allowed\n"
		"rate conn: new connections (TCP SYN, first UDP packet); established flows are\n"
		"           never cut. rate pkt / rate bytes: every packet of the service.\n"
		"client-rate: new connections per client address, or per prefix of LEN bits.\n"
		"syn-retry: a SYN sent again on a flow at least DELAY_MS old goes once to\n"
		"           another node; at most PCT % of new flows per second ("
		OPT_STR(SYN_RETRY_PCT) "), at\n"
		"           least N per second and CPU (" OPT_STR(SYN_RETRY_MIN) ").\n"
		"snat: the sources (at most " OPT_STR(HL_SNAT_MAX) ", the service's family) a fwd nat\n"
		"           service's nodes see; off (the default): each node's next-hop\n"
		"           source address. A nat node needs one or the other.\n"
		"fwd: refused while the service has live flows (see conn list); ipip and\n"
		"           l2 nodes have no port of their own.\n"
		"At most " OPT_STR(HL_SEL_MAX) " nodes for rendezvous and lc.\n"
		"digest: a fingerprint of each service's tables, nodes named by address\n"
		"           (not id): equal on directors built from the same configuration.\n",
	.opts		= svc_admin_opts,
	.cmds		= cmds,
};
