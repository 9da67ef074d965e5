// SPDX-License-Identifier: GPL-2.0
/*
 * The CLI's argument parsers on any words: every object's option table
 * through opts_parse_args(), the objects' own parsers (node, conn,
 * service syn-retry/snat/rate, class add, probe options, attach and
 * decap attach), and the escape every error message goes through (one
 * line, valid UTF-8). The first byte's low nibble picks the parser, its
 * high bits a variant (IPv6, SVC required, probe kind); the rest are
 * NUL-separated words.
 */
#include "fuzz.h"
#include "agent/config.h"
#include "agent/probe.h"
#include "cmd/args.h"
#include "cmd/attach.h"
#include "cmd/cli.h"
#include "lib/conns.h"
#include "lib/nodes.h"
#include "lib/rate.h"
#include "lib/services.h"

/* opts_parse_args() into a buffer larger than any table's struct. */
static void table(const struct opt *tbl, int argc, char **argv)
{
	static union { char c[4096]; long double align; } obj;
	opt_seen_t seen = 0;
	char **av = argv;
	int ac = argc;

	for (const struct opt *o = tbl; o->name; o++)
		FUZZ_ASSERT(o->off + o->size <= sizeof(obj));
	memset(&obj, 0, sizeof(obj));
	if (!opts_parse_args(tbl, &obj, &ac, &av, false, &seen))
		FUZZ_ASSERT(ac >= 0 && ac <= argc && av == argv + argc - ac);
	ac = argc;
	av = argv;
	opts_parse_args(tbl, &obj, &ac, &av, true, &seen);
}

static void escape(const char *s)
{
	char out[2048];

	cli_escape(s, out, sizeof(out));
	FUZZ_ASSERT(fuzz_utf8(out));
	for (const char *c = out; *c; c++)
		FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_argv a;
	struct node_args na;
	struct conn_args ca;
	struct hl_limits lim = {};
	struct hl_snat snat;
	struct hl_svc_key key = { .family = HL_AF_INET, .proto = 6 };
	struct hl_class_key ck;
	struct hl_class cls;
	struct probe_cfg cfg = { .http_path = "/", .http_expect = 200 };
	struct rate_spec r;
	struct ip_addr vips[4];
	unsigned int nvips;
	unsigned long count = 1;
	bool on;

	if (!size)
		return 0;
	fuzz_split(&a, data + 1, size - 1);
	for (int i = 0; i < a.argc; i++)
		escape(a.argv[i]);
	switch (data[0] & 0x0f) {
	case 0: table(svc_admin_opts, a.argc, a.argv); break;
	case 1: table(node_admin_opts, a.argc, a.argv); break;
	case 2: table(nat_timeout_opts, a.argc, a.argv); break;
	case 3: table(service_opts, a.argc, a.argv); break;
	case 4: table(check_opts, a.argc, a.argv); break;
	case 5: node_parse_args(a.argc, a.argv, true, &na); break;
	case 6: node_parse_args(a.argc, a.argv, false, &na); break;
	case 7: conn_parse_args(a.argc, a.argv, data[0] & 0x80, &ca); break;
	case 8: svc_parse_syn_retry(a.argc, a.argv, &lim, &on); break;
	case 9:
		if (data[0] & 0x80)
			key.family = HL_AF_INET6;
		if (!svc_parse_snat(a.argc, a.argv, &key, "svc", &snat))
			FUZZ_ASSERT(snat.count <= HL_SNAT_MAX);
		break;
	case 10: class_parse_add(a.argc, a.argv, &ck, &cls); break;
	case 11:
		cfg.kind = ((data[0] >> 4) & 7) % 3;
		if (!probe_parse_opts(a.argc, a.argv, &cfg, &count))
			FUZZ_ASSERT(memchr(cfg.http_path, '\0',
					   sizeof(cfg.http_path)) &&
				    memchr(cfg.pg_conninfo, '\0',
					   sizeof(cfg.pg_conninfo)));
		break;
	case 12: parse_rate(a.argc, a.argv, "rate", true, &r); break;
	case 13: parse_rate(a.argc, a.argv, "client-rate", false, &r); break;
	case 14: table(attach_opts, a.argc, a.argv); break;
	default:
		if (!decap_parse_vips(a.argc, a.argv, vips, 4, &nvips))
			FUZZ_ASSERT(nvips <= 4);
		break;
	}
	return 0;
}
