/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarative options: one table per object (name, type, range, default,
 * help) drives the CLI's keyword parser, the configuration file's keys,
 * the help text and the README's tables, so none of them can disagree.
 * In the spirit of xdp-tools' params.c.
 *
 * An option sets one field of the caller's struct (`off`, `size`). Its CLI
 * keyword is `name`; its configuration key is `name` with '_' for '-'.
 */
#ifndef HELIOS_LIB_OPTIONS_H
#define HELIOS_LIB_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

enum opt_type {
	OPT_UINT,	/* digits only, in [min, max], into an unsigned field */
	OPT_SCALED,	/* a decimal in [min, max], times `scale`, rounded,
			 * into an unsigned field (seconds to ms, % to per-mille) */
	OPT_DOUBLE,	/* a decimal in [min, max], into a double */
	OPT_ENUM,	/* one of `choices`, its value into an unsigned field */
	OPT_STRING,	/* at most size - 1 bytes, into a char array */
	OPT_BOOL,	/* true/false (on/off, yes/no), into a bool */
};

/* Where an option is offered. */
#define OPT_CLI		(1u << 0)
#define OPT_CONF	(1u << 1)
#define OPT_BOTH	(OPT_CLI | OPT_CONF)

struct opt_choice {
	const char *name;
	unsigned int value;
};

struct opt {
	const char *name;
	enum opt_type type;
	unsigned int where;		/* OPT_CLI and/or OPT_CONF */
	const char *arg;		/* its value in usage lines: N, NAME */
	size_t off, size;		/* the field it sets */
	double min, max;		/* OPT_UINT, OPT_SCALED, OPT_DOUBLE */
	double scale;			/* OPT_SCALED */
	const struct opt_choice *choices; /* OPT_ENUM, ends with { NULL } */
	const char *def;		/* default, for help and docs only */
	const char *help;
	/* A further check of the stored field (prime ring, path syntax):
	 * NULL when fine, else why not. */
	const char *(*check)(const void *field);
	bool takes_off;			/* "off" is accepted, and stores 0 */
};

/* The field an option sets: OPT_FIELD(struct svc_conf, hold_ms). */
#define OPT_FIELD(type, field)						\
	.off = offsetof(type, field), .size = sizeof(((type *)0)->field)

/* A constant's value as a string, for defaults and help. */
#define OPT_STR(x)	OPT_STR_(x)
#define OPT_STR_(x)	#x

/* Bit i of a seen mask: option i of the table was given. */
typedef __u64 opt_seen_t;
#define OPT_SEEN(tbl, field)	(1ull << opt_index(tbl, field))

const struct opt *opt_find(const struct opt *tbl, unsigned int where,
			   const char *name);
int opt_index(const struct opt *tbl, const char *name);

/* Parse `str` into obj's field; on error, hl_err() names the option. */
int opt_set(const struct opt *o, void *obj, const char *str);
/* The reverse: obj's field as text opt_set() takes back (a scaled value
 * in its unit, an enum by name, 0 as "off" where that is accepted). */
const char *opt_format(const struct opt *o, const void *obj, char *buf,
		       size_t len);

/*
 * The CLI form: argv is "KEY VALUE" pairs, every KEY an OPT_CLI option of
 * `tbl`. Stops at the first KEY that is none (argc and argv then point at
 * it, and 0 is returned) unless `all`, which makes that an error.
 */
int opts_parse_args(const struct opt *tbl, void *obj, int *argc,
		    char ***argv, bool all, opt_seen_t *seen);

/* "KEY VALUE, ..." of the options offered `where`, for error messages. */
const char *opts_expected(const struct opt *tbl, unsigned int where,
			  char *buf, size_t len);
/* One aligned line per option: `  KEY VALUE   help (default D)`. */
void opts_help(FILE *f, const struct opt *tbl, unsigned int where);
/* A Markdown table of the options (README); `more` continues the table
 * above it (no header). */
void opts_markdown(FILE *f, const struct opt *tbl, unsigned int where,
		   bool more);
/* The same as a man page's option list, in scdoc source. */
void opts_scdoc(FILE *f, const struct opt *tbl, unsigned int where);

#endif /* HELIOS_LIB_OPTIONS_H */
