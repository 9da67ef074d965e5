// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

#include "cmd/cli.h"
#include "lib/log.h"
#include "lib/tables.h"

bool json_output;
bool pretty_output;
bool verbose;
static bool err_printed;
const char *bpffs_dir = "/sys/fs/bpf/helios";

bool is_prefix(const char *pfx, const char *str)
{
	return pfx && *pfx && !strncmp(str, pfx, strlen(pfx));
}

int cmd_select(const struct cmd *cmds, int argc, char **argv,
	       int (*help)(int argc, char **argv))
{
	const struct cmd *match = NULL;
	int i;

	if (argc < 1) {
		if (help)
			help(argc, argv);
		p_err("missing command");
		return -1;
	}
	for (i = 0; cmds[i].name; i++) {
		if (!strcmp(argv[0], cmds[i].name))
			return cmds[i].func(argc - 1, argv + 1);
		if (!is_prefix(argv[0], cmds[i].name))
			continue;
		if (match) {
			p_err("ambiguous command '%s': %s or %s?", argv[0],
			      match->name, cmds[i].name);
			return -1;
		}
		match = &cmds[i];
	}
	if (match)
		return match->func(argc - 1, argv + 1);
	p_err("unknown command '%s'", argv[0]);
	return -1;
}

void cli_object_usage(const struct cli_object *obj, FILE *f, bool full)
{
	const char *line = obj->usage, *end;
	bool first = true;

	for (; *line; line = *end ? end + 1 : end, first = false) {
		end = strchrnul(line, '\n');
		/* A line that starts with a space continues the one before. */
		fprintf(f, "%s%.*s\n", first ? "Usage: helios-agent " :
			*line == ' ' ? "      " : "       helios-agent ",
			(int)(end - line), line);
	}
	if (!full)
		return;
	if (obj->opts) {
		fprintf(f, "\nOPTIONS:\n");
		opts_help(f, obj->opts, OPT_CLI);
	}
	if (obj->details)
		fprintf(f, "\n%s", obj->details);
}

int cli_object_main(const struct cli_object *obj, int argc, char **argv)
{
	if (argc >= 1 && (obj->cmds ? is_prefix(argv[0], "help") :
			  !strcmp(argv[0], "help"))) {
		cli_object_usage(obj, stderr, true);
		return 0;
	}
	if (!obj->cmds)
		return obj->run(argc, argv);
	if (argc < 1)
		cli_object_usage(obj, stderr, true);
	return cmd_select(obj->cmds, argc, argv, NULL);
}

void p_err(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (err_printed)
		return;		/* one line: the first, most precise one */
	err_printed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_output) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		json_print(o);
	} else {
		fprintf(stderr, "Error: %s\n", msg);
	}
}

void p_err_unreported(void)
{
	if (!err_printed && hl_errmsg()[0])
		p_err("%s", hl_errmsg());
}

int cli_store_open(struct store *st, bool create)
{
	return store_open(st, bpffs_dir, create);
}

void p_info(const char *fmt, ...)
{
	va_list ap;

	if (json_output)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void json_print(struct json_object *obj)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	flags |= pretty_output ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
				 JSON_C_TO_STRING_PLAIN;
	puts(json_object_to_json_string_ext(obj, flags));
	json_object_put(obj);
}
