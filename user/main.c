// SPDX-License-Identifier: GPL-2.0
/* helios-agent: the Helios daemon and its bpftool-style CLI. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "cmd/args.h"
#include "cmd/attach.h"
#include "cmd/cli.h"
#include "cmd/docs.h"
#include "lib/conns.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/services.h"
#include "version.h"

static int do_version(int argc, char **argv);

static const struct cli_object version_object = {
	.name		= "version",
	.usage		= "version                  this binary's version and its libbpf's",
	.run		= do_version,
};

static const struct cli_object *const objects[] = {
	&attach_object, &upgrade_object, &detach_object, &service_object,
	&class_object, &node_object, &conn_object, &stats_object, &map_object,
	&decap_object, &probe_object, &run_object, &health_object,
	&switchover_object, &monitor_object, &top_object, &config_object,
	&feature_object, &version_object, NULL
};

static int do_version(int argc, char **argv)
{
	if (argc) {
		p_err("version takes no arguments");
		return -1;
	}
	if (json_output) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "version",
				       json_object_new_string(HELIOS_VERSION));
		json_object_object_add(o, "libbpf",
				       json_object_new_string(libbpf_version_string()));
		json_print(o);
	} else {
		printf("helios-agent %s (libbpf %s)\n", HELIOS_VERSION,
		       libbpf_version_string());
	}
	return 0;
}

static int do_help(void)
{
	const struct cli_object *const *o;

	fprintf(stderr,
		"Usage: helios-agent [OPTIONS] OBJECT COMMAND [ARGS]\n"
		"       helios-agent help\n"
		"       helios-agent OBJECT help\n"
		"OPTIONS := { -j|--json | -p|--pretty | -v|--verbose | --bpffs DIR |\n"
		"             --version }\n"
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
	char safe[2048];

	cli_escape(msg, safe, sizeof(safe));
	if (level <= HL_LOG_WARN)
		fprintf(stderr, "Warning: %s\n", safe);
}

/* The option tables as the docs show them: README.md's tables
 * (`help markdown`) and helios.conf(5) (the OPT_CONF ones). */
static const struct doc_table doc_tables[] = {
	{ "`attach DEV` options", attach_opts, OPT_CLI },
	{ "`service add` / `service set` options", svc_admin_opts, OPT_CLI },
	{ "`node add` / `node set` options", node_admin_opts, OPT_CLI },
	{ "`class set` options", class_admin_opts, OPT_CLI },
	{ "`conn timeout set` options: NAT flows' timeouts, seconds without a packet, by state",
	  nat_timeout_opts, OPT_CLI },
	{ "Configuration file: service keys (besides `service`, `check`, `nodes`; `strategy` there: maglev, primary or replica)",
	  service_opts, OPT_CONF },
	{ NULL, svc_admin_opts, OPT_CONF },
	{ "Configuration file: `check` keys (besides `kind`: tcp, http, postgres, patroni)",
	  check_opts, OPT_CONF },
	{ "Configuration file: node keys (besides `addr`)", node_admin_opts,
	  OPT_CONF },
	{ "Configuration file: `nat` keys (a top-level group; a key left out is its default)",
	  nat_timeout_opts, OPT_CONF },
	{ "Configuration file: `attach` keys (a top-level list of groups, besides `dev`)",
	  attach_opts, OPT_CONF },
	{ "Configuration file: a service's limits (RATE: the words `service set` takes, in one string)",
	  limit_opts, OPT_CONF },
	{ "Configuration file: `classes` keys (a top-level list of groups, one a prefix)",
	  class_opts, OPT_CONF },
	{ NULL, class_admin_opts, OPT_CONF },
	{ "Configuration file: top-level keys (`run config FILE` takes them too: `metrics ADDR:PORT` or `--metrics ADDR:PORT`, which beats the file's)",
	  agent_opts, OPT_CONF },
	{ "`monitor` options", monitor_opts, OPT_CLI },
	{ "`top` options", top_opts, OPT_CLI },
	{ "`switchover SVC to ADDR` options", switchover_opts, OPT_CLI },
	{ "Configuration file: `bgp` keys (a top-level group: announce the VIPs through BIRD 2)",
	  bgp_opts, OPT_CONF },
};
#define N_DOC_TABLES	(sizeof(doc_tables) / sizeof(doc_tables[0]))

/* `helios-agent help markdown`: the option tables as README.md has them
 * (scripts/gen-docs.sh writes them there, tests/docs.sh compares). */
static int print_markdown(void)
{
	unsigned int i;

	for (i = 0; i < N_DOC_TABLES; i++) {
		if (doc_tables[i].title)
			printf("%s#### %s\n\n", i ? "\n" : "", doc_tables[i].title);
		opts_markdown(stdout, doc_tables[i].tbl, doc_tables[i].where,
			      !doc_tables[i].title);
	}
	return 0;
}

/* help [markdown | objects | complete WORD... | scdoc PAGE [PROSE]]: the
 * last three are for scripts (completion, man pages, tests/drift.sh). */
static int help_main(int argc, char **argv)
{
	const struct cli_object *const *o;
	const char *prose = argc > 2 ? argv[2] : NULL;

	if (argc < 1)
		return do_help();
	if (!strcmp(argv[0], "markdown"))
		return print_markdown();
	if (!strcmp(argv[0], "objects")) {
		for (o = objects; *o; o++)
			printf("%s\n", (*o)->name);
		return 0;
	}
	if (!strcmp(argv[0], "complete"))
		return docs_complete(objects, argc - 1, argv + 1);
	if (!strcmp(argv[0], "grammar")) {
		for (o = objects; *o; o++)
			cli_object_grammar(*o, stdout);
		return 0;
	}
	if (!strcmp(argv[0], "scdoc") && argc > 1) {
		if (!strcmp(argv[1], "helios.conf"))
			return docs_scdoc_conf(stdout, doc_tables, N_DOC_TABLES,
					       prose);
		if (!strcmp(argv[1], "helios-agent"))
			return docs_scdoc_object(stdout, objects, NULL, prose);
		for (o = objects; *o; o++)
			if (is_prefix("helios-agent-", argv[1]) &&
			    !strcmp(argv[1] + strlen("helios-agent-"), (*o)->name))
				return docs_scdoc_object(stdout, objects, *o, prose);
		p_err("no man page '%s'", argv[1]);
		return -1;
	}
	p_err("unknown help topic '%s' (markdown, objects, complete, grammar, scdoc)",
	      argv[0]);
	return -1;
}

/* The object named (or uniquely prefixed) by argv[0], bpftool-style. */
static int object_main(int argc, char **argv)
{
	const struct cli_object *const *o, *match = NULL;

	if (is_prefix(argv[0], "help"))
		return help_main(argc - 1, argv + 1);
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
		{ "version",	no_argument,		NULL, 'V' },
		{ 0 }
	};
	int opt, i, j, err;

	/* Options before the object; after it only the exact flags below, so
	 * a command's own arguments (weight -1) are never taken for options. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:jpvh", options, NULL)) >= 0) {
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
		case ':':
			p_err("option '%s' needs a value (see 'helios-agent help')",
			      argv[optind - 1]);
			return 1;
		case 'V':
			return do_version(0, NULL);
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
		p_err("missing object (see 'helios-agent help')");
		return 1;
	}
	err = object_main(argc, argv);
	if (err)
		p_err_unreported();
	return err ? 1 : 0;
}
