// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

#include "cmd/cli.h"
#include "lib/log.h"
#include "lib/options.h"
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
	if (argc < 1) {
		p_err("missing command (see 'helios-agent %s help')", obj->name);
		return -1;
	}
	return cmd_select(obj->cmds, argc, argv, NULL);
}

/* `helios-agent help grammar`: the grammar as tab-separated records for
 * tools (tests/e2e/cli_table.py): "usage OBJECT LINE" (a
 * continued line joined), "opt OBJECT KEY ARG" per CLI option, with its
 * choices after ARG for an enum. */
void cli_object_grammar(const struct cli_object *obj, FILE *f)
{
	const char *line = obj->usage, *end;
	const struct opt *o;

	for (; *line; line = end) {
		end = strchrnul(line, '\n');
		fprintf(f, "usage\t%s\t%.*s", obj->name, (int)(end - line), line);
		while (*end && end[1] == ' ') {	/* continuation lines */
			line = end + 1;
			while (*line == ' ')
				line++;
			end = strchrnul(line, '\n');
			fprintf(f, " %.*s", (int)(end - line), line);
		}
		fputc('\n', f);
		if (*end)
			end++;
	}
	for (o = obj->opts; o && o->name; o++) {
		if (!(o->where & OPT_CLI))
			continue;
		fprintf(f, "opt\t%s\t%s\t%s", obj->name, o->name, o->arg);
		for (const struct opt_choice *c = o->choices; c && c->name; c++)
			fprintf(f, "\t%s", c->name);
		fputc('\n', f);
	}
}

/*
 * `in` made safe for a one-line message and a JSON string: control
 * bytes and bytes that are not valid UTF-8 become \xNN, so user input
 * can neither break the line nor the JSON.
 */
void cli_escape(const char *in, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = 0;

	while (*p && n + 5 < size) {
		int len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 :
			  (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		int i;

		for (i = 1; i < len && (p[i] & 0xc0) == 0x80; i++)
			;
		/* overlong 2-byte forms and surrogates are not UTF-8 either */
		if (len == 2 && *p < 0xc2)
			len = 0;
		if (len == 3 && ((*p == 0xe0 && p[1] < 0xa0) ||
				 (*p == 0xed && p[1] >= 0xa0)))
			len = 0;
		if (len == 4 && (*p > 0xf4 || (*p == 0xf0 && p[1] < 0x90) ||
				 (*p == 0xf4 && p[1] >= 0x90)))
			len = 0;
		if (len && i == len && (len > 1 || (*p >= 0x20 && *p != 0x7f))) {
			if (n + len >= size)
				break;
			memcpy(out + n, p, len);
			n += len;
			p += len;
		} else {
			n += snprintf(out + n, size - n, "\\x%02x", *p++);
		}
	}
	out[n] = '\0';
}

void p_err(const char *fmt, ...)
{
	char raw[512], msg[2048];
	va_list ap;

	if (err_printed)
		return;		/* one line: the first, most precise one */
	err_printed = true;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	cli_escape(raw, msg, sizeof(msg));
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

int cli_store_open_any(struct store *st)
{
	return store_open_any(st, bpffs_dir);
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
