// SPDX-License-Identifier: GPL-2.0
/* helios-agent: the Helios daemon and its bpftool-style CLI. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "cmd/cli.h"
#include "lib/conns.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/services.h"

static const struct cli_object *const objects[] = {
	&attach_object, &detach_object, &service_object, &class_object,
	&node_object, &conn_object, &stats_object, &map_object, &decap_object,
	&probe_object, &run_object, &health_object, NULL
};

static int do_help(void)
{
	const struct cli_object *const *o;

	fprintf(stderr,
		"Usage: helios-agent [OPTIONS] OBJECT COMMAND [ARGS]\n"
		"       helios-agent help\n"
		"       helios-agent OBJECT help\n"
		"OPTIONS := { -j|--json | -p|--pretty | -v|--verbose | --bpffs DIR }\n"
		"--bpffs DIR: where the program, links and maps are pinned\n"
		"             (default /sys/fs/bpf/helios; a bpffs is mounted if needed)\n"
		"\n");
	for (o = objects; *o; o++)
		cli_object_usage(*o, stderr, false);
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The library's warnings (the operation went through). */
static void lib_logger(enum hl_log_level level, const char *msg)
{
	if (level <= HL_LOG_WARN)
		fprintf(stderr, "Warning: %s\n", msg);
}

/* `helios-agent help markdown`: the option tables as README.md has them
 * (scripts/gen-docs.sh writes them there, tests/docs.sh compares). */
static int print_markdown(void)
{
	static const struct {
		const char *title;
		const struct opt *tbl;
		unsigned int where;
	} docs[] = {
		{ "`service add` / `service set` options", svc_admin_opts, OPT_CLI },
		{ "`node add` / `node set` options", node_admin_opts, OPT_CLI },
		{ "`conn timeout set` options: NAT flows' timeouts, seconds without a packet, by state",
		  nat_timeout_opts, OPT_CLI },
		{ "Configuration file: service keys (besides `service`, `check`, `nodes`; `strategy` there: maglev, primary or replica)",
		  service_opts, OPT_CONF },
		{ NULL, svc_admin_opts, OPT_CONF },
		{ "Configuration file: `check` keys (besides `kind`: tcp, http, postgres)",
		  check_opts, OPT_CONF },
		{ "Configuration file: node keys (besides `addr`)", node_admin_opts,
		  OPT_CONF },
		{ "Configuration file: `nat` keys (a top-level group; a key left out is its default)",
		  nat_timeout_opts, OPT_CONF },
		{ "Configuration file: `bgp` keys (a top-level group: announce the VIPs through BIRD 2)",
		  bgp_opts, OPT_CONF },
	};
	unsigned int i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		if (docs[i].title)
			printf("%s#### %s\n\n", i ? "\n" : "", docs[i].title);
		opts_markdown(stdout, docs[i].tbl, docs[i].where, !docs[i].title);
	}
	return 0;
}

/* The object named (or uniquely prefixed) by argv[0], bpftool-style. */
static int object_main(int argc, char **argv)
{
	const struct cli_object *const *o, *match = NULL;

	if (is_prefix(argv[0], "help"))
		return argc > 1 && !strcmp(argv[1], "markdown") ? print_markdown() :
								   do_help();
	for (o = objects; *o; o++) {
		if (!strcmp(argv[0], (*o)->name))
			return cli_object_main(*o, argc - 1, argv + 1);
		if (!is_prefix(argv[0], (*o)->name))
			continue;
		if (match) {
			p_err("ambiguous object '%s': %s or %s?", argv[0],
			      match->name, (*o)->name);
			return -1;
		}
		match = *o;
	}
	if (match)
		return cli_object_main(match, argc - 1, argv + 1);
	p_err("unknown object '%s' (see 'helios-agent help')", argv[0]);
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "bpffs",	required_argument,	NULL, 'B' },
		{ 0 }
	};
	int opt, i, j, err;

	/* Options before the object; after it only the exact flags below, so
	 * a command's own arguments (weight -1) are never taken for options. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+jpvh", options, NULL)) >= 0) {
		switch (opt) {
		case 'p':
			pretty_output = true;
			/* fall through */
		case 'j':
			json_output = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			return do_help();
		case 'B':
			bpffs_dir = optarg;
			break;
		default:
			p_err("unknown option '%s' (see 'helios-agent help')",
			      argv[optind - 1]);
			return 1;
		}
	}
	libbpf_set_print(libbpf_print);
	hl_set_logger(lib_logger);
	argc -= optind;
	argv += optind;
	for (i = 0, j = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json_output = true;
		} else if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--pretty")) {
			json_output = pretty_output = true;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else {
			argv[j++] = argv[i];
		}
	}
	argc = j;
	if (argc < 1) {
		do_help();
		return 1;
	}
	err = object_main(argc, argv);
	if (err)
		p_err_unreported();
	return err ? 1 : 0;
}
