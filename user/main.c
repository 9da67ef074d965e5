// SPDX-License-Identifier: GPL-2.0
/* helios-agent: the Helios daemon and its bpftool-style CLI. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "agent/agent.h"
#include "cmd/cli.h"
#include "lib/log.h"

static int do_help(int argc, char **argv)
{
	fprintf(stderr,
		"Usage: helios-agent [OPTIONS] OBJECT COMMAND [ARGS]\n"
		"       helios-agent help\n"
		"\n"
		"OBJECT := { attach DEV | detach DEV | service | class | node | stats | map |\n"
		"            decap | probe | run | health }\n"
		"OPTIONS := { -j|--json | -p|--pretty | -v|--verbose | --bpffs DIR }\n"
		"\n"
		"  attach DEV [mode native|generic] [src ADDR] [zone NAME]\n"
		"  detach DEV\n"
		"  service { add SVC [ring N] [strategy NAME ...] | set SVC ... | del SVC |\n"
		"            list | help }\n"
		"  class { add PREFIX name NAME rate conn N[/s] [burst B] | del NAME | list }\n"
		"  node { add SVC ADDR [weight N] [role ROLE] [zone NAME] |\n"
		"         set SVC ADDR [weight N] [role ROLE] [zone NAME] |\n"
		"         del SVC ADDR | list [SVC] | help }\n"
		"  stats [SVC]\n"
		"  map { list | dump NAME | help }\n"
		"  decap { attach DEV vip ADDR [vip ADDR ...] | detach DEV | help }\n"
		"  probe KIND ADDR PORT [timeout MS] [path PATH] [expect STATUS] [conninfo STR]\n"
		"  run config FILE          the health agent (foreground daemon)\n"
		"  health [SVC]             what the agent last judged, per node\n"
		"\n"
		"SVC := VIP:PORT/{tcp|udp}, e.g. 198.18.0.10:5432/tcp, [fd00::10]:5432/tcp\n"
		"ROLE := { primary | standby | replica }   weight: 0..65535 (0 = drain)\n"
		"--bpffs DIR: where the program, links and maps are pinned\n"
		"             (default /sys/fs/bpf/helios; a bpffs is mounted if needed)\n");
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

static const struct cmd objects[] = {
	{ "help",	do_help },
	{ "attach",	do_attach },
	{ "detach",	do_detach },
	{ "service",	do_service },
	{ "node",	do_node },
	{ "stats",	do_stats },
	{ "map",	do_map },
	{ "decap",	do_decap },
	{ "run",	do_run },
	{ "health",	do_health },
	{ "probe",	do_probe },
	{ "class",	do_class },
	{ 0 }
};

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
			return do_help(0, NULL);
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
		do_help(0, NULL);
		return 1;
	}
	err = cmd_select(objects, argc, argv, do_help);
	if (err)
		p_err_unreported();
	return err ? 1 : 0;
}
