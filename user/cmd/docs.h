/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Documentation and completion from the CLI's own tables (each object's
 * usage grammar, command table and option table), so the man pages, the
 * bash completion and `help` cannot disagree (tests/drift.sh checks).
 */
#ifndef HELIOS_CMD_DOCS_H
#define HELIOS_CMD_DOCS_H

#include <stdio.h>

struct cli_object;
struct opt;

/* An option table as the documentation shows it. `title` NULL: it
 * continues the table above. */
struct doc_table {
	const char *title;
	const struct opt *tbl;
	unsigned int where;
};

/*
 * `helios-agent help complete WORD...`: the candidates for the word after
 * WORDs (the words typed after "helios-agent"), one a line. "@files" asks
 * the shell for file names.
 */
int docs_complete(const struct cli_object *const *objs, int argc, char **argv);

/* The scdoc source of helios-agent(8) (obj NULL) or helios-agent-OBJ(8);
 * `prose` (may be NULL or missing): a file whose first line is the page's
 * one-line summary and whose rest is its DESCRIPTION. */
int docs_scdoc_object(FILE *f, const struct cli_object *const *objs,
		      const struct cli_object *obj, const char *prose);
/* helios.conf(5): the configuration keys from their tables. */
int docs_scdoc_conf(FILE *f, const struct doc_table *tbls, unsigned int n,
		    const char *prose);

#endif /* HELIOS_CMD_DOCS_H */
