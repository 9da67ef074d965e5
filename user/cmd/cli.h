/* SPDX-License-Identifier: GPL-2.0 */
/* Shared CLI plumbing: command tables, argument helpers, error and JSON output. */
#ifndef HELIOS_CMD_CLI_H
#define HELIOS_CMD_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>

struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
};

/*
 * One CLI object, `helios-agent NAME ...`: its grammar is written once
 * here and printed by `NAME help`, by `helios-agent help` and in the docs.
 * With a command table it dispatches bpftool-style (`NAME COMMAND ARGS`,
 * unique prefixes); otherwise run() takes the arguments.
 */
struct opt;
struct cli_object {
	const char *name;
	const char *usage;	/* one grammar line per command, no "helios-agent " */
	const char *details;	/* what follows the usage in `NAME help` */
	const struct opt *opts;	/* its option table, listed by `NAME help` */
	const struct cmd *cmds;
	int (*run)(int argc, char **argv);
};

int cli_object_main(const struct cli_object *obj, int argc, char **argv);
/* "Usage: helios-agent ..." lines; with `full`, the details and options. */
void cli_object_usage(const struct cli_object *obj, FILE *f, bool full);
/* Its grammar and option keywords as records for tools (`help complete`). */
void cli_object_grammar(const struct cli_object *obj, FILE *f);
/* `in` with control bytes and invalid UTF-8 as \xNN: one line, valid JSON. */
void cli_escape(const char *in, char *out, size_t size);

extern const struct cli_object attach_object, detach_object, service_object,
	node_object, class_object, stats_object, map_object, decap_object,
	conn_object, upgrade_object, feature_object;

/* Global options, set by main(). */
extern bool json_output;	/* -j */
extern bool pretty_output;	/* -p */
extern bool verbose;		/* -v */
extern const char *bpffs_dir;	/* --bpffs */

/* Run the command whose name argv[0] is (a unique prefix of), bpftool-style. */
int cmd_select(const struct cmd *cmds, int argc, char **argv,
	       int (*help)(int argc, char **argv));

/* One error line: {"error": ...} on stdout with -j, "Error: ..." on
 * stderr otherwise. A command prints at most one. */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* After a failed command: show the library's error unless the command
 * already printed its own. */
void p_err_unreported(void);
void p_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print a JSON value on stdout (plain or pretty) and drop the reference. */
void json_print(struct json_object *obj);

bool is_prefix(const char *pfx, const char *str);

struct store;
/* store_open() on --bpffs. */
int cli_store_open(struct store *st, bool create);
/* Open (and create) without the layout check: attach and upgrade. */
int cli_store_open_any(struct store *st);

#define NEXT_ARG()	({ argc--; argv++; })
#define REQ_ARGS(cnt)							\
	({								\
		int _cnt = (cnt);					\
		if (argc < _cnt) {					\
			p_err("missing arguments: %d more expected (see help)", \
			      _cnt);					\
			return -1;					\
		}							\
	})


#endif /* HELIOS_CMD_CLI_H */
