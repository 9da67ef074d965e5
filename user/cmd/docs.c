// SPDX-License-Identifier: GPL-2.0
/*
 * Man pages (scdoc source) and bash completion generated from the objects'
 * usage grammar and tables. A usage line reads
 *   OBJECT [COMMAND] PLACEHOLDER... keyword [keyword VALUE] { a | b } ...
 * lowercase words are keywords, UPPERCASE ones placeholders; after two
 * spaces comes a comment, "(...)" is a remark; a line that starts with a
 * space continues the one before.
 */
#include <ctype.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/docs.h"
#include "lib/nodes.h"
#include "lib/options.h"
#include "lib/parse.h"
#include "lib/services.h"

#define ULINE_MAX	512
#define UTOK_MAX	48

struct uline {
	char buf[ULINE_MAX];
	char *tok[UTOK_MAX];
	int n;
};

/* The next logical usage line at *pos, tokenized; false at the end. */
static bool uline_next(const char **pos, struct uline *ul)
{
	const char *p = *pos, *end;
	size_t len = 0;
	char *c, *save;

	ul->n = 0;
	if (!*p)
		return false;
	ul->buf[0] = '\0';
	do {
		end = strchrnul(p, '\n');
		while (*p == ' ')
			p++;
		if (p < end && len + 1 + (end - p) < sizeof(ul->buf))
			len += snprintf(ul->buf + len, sizeof(ul->buf) - len, "%s%.*s",
					len ? " " : "", (int)(end - p), p);
		p = *end ? end + 1 : end;
	} while (*p == ' ');
	*pos = p;

	/* Drop the comment (after two spaces) and remarks in parentheses. */
	c = strstr(ul->buf, "  ");
	if (c)
		*c = '\0';
	while ((c = strchr(ul->buf, '('))) {
		char *e = strchr(c, ')');

		memmove(c, e ? e + 1 : c + strlen(c), strlen(e ? e + 1 : c + strlen(c)) + 1);
	}
	ul->n = 0;
	for (c = strtok_r(ul->buf, " \t{}[]|", &save); c && ul->n < UTOK_MAX;
	     c = strtok_r(NULL, " \t{}[]|", &save))
		if (strcmp(c, "..."))
			ul->tok[ul->n++] = c;
	return true;
}

static bool is_keyword(const char *t)
{
	if (!islower((unsigned char)*t))
		return false;
	for (; *t; t++)
		if (!islower((unsigned char)*t) && !isdigit((unsigned char)*t) &&
		    *t != '-')
			return false;
	return true;
}

static bool is_placeholder(const char *t)
{
	if (!isupper((unsigned char)*t))
		return false;
	for (; *t; t++)
		if (!isupper((unsigned char)*t) && !isdigit((unsigned char)*t) &&
		    *t != '_')
			return false;
	return true;
}

/* Where the arguments of a line begin: after the object and its command. */
static int args_start(const struct cli_object *obj)
{
	return obj->cmds ? 2 : 1;
}

static bool line_is_cmd(const struct cli_object *obj, const struct uline *ul,
			const char *cmd)
{
	return !obj->cmds || (ul->n > 1 && !strcmp(ul->tok[1], cmd));
}

/* ---- completion --------------------------------------------------------- */

/* The name `word` is (a unique prefix of) among `n` names, or NULL. */
static const char *unique(const char *word, const char *const *names, int n)
{
	const char *match = NULL;
	int i;

	for (i = 0; i < n; i++) {
		if (!strcmp(word, names[i]))
			return names[i];
		if (is_prefix(word, names[i])) {
			if (match)
				return NULL;
			match = names[i];
		}
	}
	return match;
}

static int print_svc(struct store *st, const struct hl_svc_key *key,
		     const struct hl_service *svc, void *data)
{
	char name[SVC_STRLEN];

	printf("%s\n", format_svc(key, name, sizeof(name)));
	return 0;
}

static void complete_placeholder(const char *ph, const char *svc_word)
{
	struct store st;

	if (!strcmp(ph, "DEV")) {
		struct if_nameindex *ifs = if_nameindex(), *i;

		for (i = ifs; i && i->if_name; i++)
			printf("%s\n", i->if_name);
		if (ifs)
			if_freenameindex(ifs);
	} else if (!strcmp(ph, "FILE")) {
		printf("@files\n");
	} else if (!strcmp(ph, "SVC") || !strcmp(ph, "NODE")) {
		struct hl_svc_key key;
		struct hl_service svc;
		__u32 i;

		/* What is pinned, if anything: no errors while completing. */
		if (cli_store_open(&st, false))
			return;
		if (!strcmp(ph, "SVC")) {
			svc_for_each(&st, print_svc, NULL);
		} else if (svc_word && !parse_svc(svc_word, &key) &&
			   !svc_find(&st, &key, &svc) && !nodes_load(&st)) {
			for (i = 0; i < HL_MAX_NODES; i++) {
				const struct hl_node *n = &st.nodes[i];
				char addr[ADDR_STRLEN];

				if ((n->flags & HL_NODE_F_EXISTS) && n->svc_id == svc.id)
					printf("%s\n", format_addr(n->family, n->addr,
								   addr, sizeof(addr)));
			}
		}
		store_close(&st);
	}
}

/* Print each of a command's keywords once. */
static void print_keywords(const struct cli_object *obj, const char *cmd)
{
	char seen[128][32];
	int nseen = 0, i, j;
	bool options = false;
	const char *pos = obj->usage;
	struct uline ul;
	const struct opt *o;

	while (uline_next(&pos, &ul)) {
		if (!line_is_cmd(obj, &ul, cmd))
			continue;
		for (i = args_start(obj); i < ul.n; i++) {
			options |= !strcmp(ul.tok[i], "OPTIONS");
			if (!is_keyword(ul.tok[i]))
				continue;
			for (j = 0; j < nseen && strcmp(seen[j], ul.tok[i]); j++)
				;
			if (j < nseen || nseen == (int)(sizeof(seen) / sizeof(seen[0])))
				continue;
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", ul.tok[i]);
			printf("%s\n", ul.tok[i]);
		}
	}
	for (o = obj->opts; options && o && o->name; o++)
		if (o->where & OPT_CLI)
			printf("%s\n", o->name);
}

int docs_complete(const struct cli_object *const *objs, int argc, char **argv)
{
	const char *names[64] = {}, *cmd = NULL, *svc_word = NULL;
	const struct cli_object *obj = NULL;
	const char *pos;
	struct uline ul;
	int n, i, npos = 0;
	char *ph[UTOK_MAX];

	for (n = 0; n < 64 && objs[n]; n++)
		names[n] = objs[n]->name;
	if (argc == 0) {
		for (i = 0; i < n; i++)
			printf("%s\n", names[i]);
		printf("help\n");
		return 0;
	}
	pos = unique(argv[0], names, n);
	for (i = 0; pos && i < n; i++)
		if (objs[i]->name == pos)
			obj = objs[i];
	if (!obj)
		return 0;
	argc--;
	argv++;
	if (obj->cmds) {
		for (n = 0; n < 64 && obj->cmds[n].name; n++)
			names[n] = obj->cmds[n].name;
		if (argc == 0) {
			for (i = 0; i < n; i++)
				printf("%s\n", names[i]);
			printf("help\n");
			return 0;
		}
		cmd = unique(argv[0], names, n);
		if (!cmd)
			return 0;
		argc--;
		argv++;
	}

	/* The placeholders the command's first line starts with. */
	pos = obj->usage;
	while (uline_next(&pos, &ul) && !line_is_cmd(obj, &ul, cmd))
		;
	if (!line_is_cmd(obj, &ul, cmd))
		return 0;
	for (i = args_start(obj); i < ul.n && is_placeholder(ul.tok[i]) &&
	     strcmp(ul.tok[i], "OPTIONS"); i++)
		ph[npos++] = ul.tok[i];
	for (i = 0; i < npos && i < argc; i++)
		if (!strcmp(ph[i], "SVC"))
			svc_word = argv[i];
	if (argc < npos) {
		complete_placeholder(ph[argc], svc_word);
		return 0;
	}
	/* An optional SVC first (conn list [SVC] [node NODE]). */
	if (!svc_word && argc > 0 && argv[0] && strchr(argv[0], '/'))
		svc_word = argv[0];

	if (argc > npos) {
		const char *prev = argv[argc - 1];
		const struct opt *o = obj->opts ?
			opt_find(obj->opts, OPT_CLI, prev) : NULL;
		const struct opt_choice *c;

		if (o) {	/* its value */
			for (c = o->choices; o->type == OPT_ENUM && c->name; c++)
				printf("%s\n", c->name);
			if (o->type == OPT_BOOL)
				printf("true\nfalse\n");
			return 0;
		}
		/* A keyword that takes a placeholder: "node NODE". */
		pos = obj->usage;
		while (uline_next(&pos, &ul)) {
			if (!line_is_cmd(obj, &ul, cmd))
				continue;
			for (i = args_start(obj); i + 1 < ul.n; i++)
				if (!strcmp(ul.tok[i], prev) &&
				    is_placeholder(ul.tok[i + 1])) {
					complete_placeholder(ul.tok[i + 1], svc_word);
					return 0;
				}
		}
	}
	print_keywords(obj, cmd);
	return 0;
}

/* ---- man pages ----------------------------------------------------------- */

static void esc(FILE *f, const char *s, size_t len)
{
	for (; len && *s; s++, len--) {
		if (*s == '*' || *s == '_' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* A usage line, keywords in bold and placeholders underlined. */
static void synopsis_line(FILE *f, const char *line, size_t len, bool cont)
{
	const char *p = line, *end = line + len;

	if (!cont)
		fputs("*helios-agent* ", f);
	while (p < end) {
		size_t w = strcspn(p, " {}[]|()");
		char word[128];

		if (w > (size_t)(end - p))
			w = end - p;
		if (*p == '(') {	/* a remark, plain text */
			w = strcspn(p, ")");
			w = w < (size_t)(end - p) ? w + 1 : (size_t)(end - p);
			esc(f, p, w);
			p += w;
			continue;
		}
		if (!w) {
			esc(f, p, 1);
			p++;
			continue;
		}
		snprintf(word, sizeof(word), "%.*s", (int)w, p);
		if (is_keyword(word)) {
			fputc('*', f);
			esc(f, word, w);
			fputc('*', f);
		} else if (is_placeholder(word)) {
			fputc('_', f);
			esc(f, word, w);
			fputc('_', f);
		} else {
			esc(f, word, w);
		}
		p += w;
	}
}

static void synopsis(FILE *f, const struct cli_object *obj)
{
	const char *line = obj->usage, *end;

	for (; *line; line = *end ? end + 1 : end) {
		const char *c;
		size_t len;

		bool cont = *line == ' ';

		end = strchrnul(line, '\n');
		while (*line == ' ')
			line++;
		len = end - line;
		c = strstr(line, "  ");	/* the comment after the grammar */
		if (c && c < end)
			len = c - line;
		synopsis_line(f, line, len, cont);
		/* A continuation line joins this one (on one source line: a
		 * line that starts with '[' is a table to scdoc). */
		fputs(*end && end[1] == ' ' ? " " : "\n\n", f);
	}
}

/* Copy a file; its first line only when `first`, else all but it. */
static void prose_part(FILE *f, const char *path, bool first, const char *dflt)
{
	char line[1024];
	FILE *in = path ? fopen(path, "r") : NULL;
	bool at_first = true;

	if (!in) {
		fprintf(f, "%s\n%s", dflt, first ? "" : "\n");
		return;
	}
	while (fgets(line, sizeof(line), in)) {
		if (first) {
			fputs(line, f);
			break;
		}
		if (!at_first)
			fputs(line, f);
		at_first = false;
	}
	fclose(in);
	if (!first)
		fputc('\n', f);
}

static void literal(FILE *f, const char *text)
{
	fprintf(f, "```\n%s%s```\n\n", text,
		text[0] && text[strlen(text) - 1] == '\n' ? "" : "\n");
}

int docs_scdoc_object(FILE *f, const struct cli_object *const *objs,
		      const struct cli_object *obj, const char *prose)
{
	const struct cli_object *const *o;
	char dflt[128];

	snprintf(dflt, sizeof(dflt), "the %s object of helios-agent",
		 obj ? obj->name : "");
	fprintf(f, "helios-agent%s%s(8)\n\n# NAME\n\nhelios-agent%s%s - ",
		obj ? "-" : "", obj ? obj->name : "", obj ? "-" : "",
		obj ? obj->name : "");
	prose_part(f, prose, true, obj ? dflt : "the Helios traffic director");
	fprintf(f, "\n# SYNOPSIS\n\n");
	if (!obj) {
		fprintf(f, "*helios-agent* [_OPTIONS_] _OBJECT_ _COMMAND_ [_ARGS_]\n\n"
			"*helios-agent* _OBJECT_ *help*\n\n");
		fprintf(f, "_OBJECT_ := { ");
		for (o = objs; *o; o++)
			fprintf(f, "%s*%s*", o == objs ? "" : " | ", (*o)->name);
		fprintf(f, " }\n\n");
	} else {
		synopsis(f, obj);
	}
	fprintf(f, "# DESCRIPTION\n\n");
	prose_part(f, prose, false, "See *helios-agent*(8).");
	if (!obj) {
		fprintf(f, "# GLOBAL OPTIONS\n\n"
			"*-j*, *--json*\n\tJSON output, one object per command\n\n"
			"*-p*, *--pretty*\n\tindented JSON output\n\n"
			"*-v*, *--verbose*\n\tdebug messages, libbpf's too\n\n"
			"*--bpffs* _DIR_\n\twhere the program, links and maps are "
			"pinned (default /sys/fs/bpf/helios; a bpffs is mounted "
			"if needed)\n\n"
			"*--version*\n\tthe version, as *helios-agent version*\n\n");
		fprintf(f, "# OBJECTS\n\n");
		for (o = objs; *o; o++) {
			fprintf(f, "## helios-agent-%s(8)\n\n", (*o)->name);
			synopsis(f, *o);
		}
	}
	if (obj && obj->opts) {
		fprintf(f, "# OPTIONS\n\n");
		opts_scdoc(f, obj->opts, OPT_CLI);
	}
	if (obj && obj->details) {
		fprintf(f, "# DETAILS\n\n");
		literal(f, obj->details);
	}
	fprintf(f, "# SEE ALSO\n\n");
	if (obj)
		fprintf(f, "*helios-agent*(8), ");
	fprintf(f, "*helios.conf*(5), *bpftool*(8), *ip-link*(8)\n");
	return 0;
}

int docs_scdoc_conf(FILE *f, const struct doc_table *tbls, unsigned int n,
		    const char *prose)
{
	unsigned int i;

	fprintf(f, "helios.conf(5)\n\n# NAME\n\nhelios.conf - ");
	prose_part(f, prose, true, "the configuration file of helios-agent");
	fprintf(f, "\n# DESCRIPTION\n\n");
	prose_part(f, prose, false, "See *helios-agent-run*(8).");
	fprintf(f, "# KEYS\n\n");
	for (i = 0; i < n; i++) {
		const char *t = tbls[i].title;

		if (tbls[i].where != OPT_CONF)
			continue;	/* the command line's: their own pages */
		if (t) {
			if (is_prefix("Configuration file: ", t))
				t += strlen("Configuration file: ");
			fprintf(f, "## ");
			esc(f, t, strlen(t));
			fprintf(f, "\n\n");
		}
		opts_scdoc(f, tbls[i].tbl, tbls[i].where);
	}
	fprintf(f, "# SEE ALSO\n\n*helios-agent*(8), *helios-agent-run*(8)\n");
	return 0;
}
