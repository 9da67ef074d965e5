// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/options.h"

const struct opt *opt_find(const struct opt *tbl, unsigned int where,
			   const char *name)
{
	for (; tbl->name; tbl++)
		if ((tbl->where & where) && !strcmp(tbl->name, name))
			return tbl;
	return NULL;
}

int opt_index(const struct opt *tbl, const char *name)
{
	int i;

	for (i = 0; tbl[i].name; i++)
		if (!strcmp(tbl[i].name, name))
			return i;
	return -1;
}

static void put_uint(void *field, size_t size, __u64 v)
{
	switch (size) {
	case 1: *(__u8 *)field = v; break;
	case 2: *(__u16 *)field = v; break;
	case 4: *(__u32 *)field = v; break;
	default: *(__u64 *)field = v; break;
	}
}

static const char *choices_list(const struct opt_choice *c, char *buf,
				size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; c->name && n < len; c++)
		n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "", c->name);
	return buf;
}

/* A decimal, nothing else: strtod() also takes hex, inf and nan. */
static int parse_decimal(const char *str, double *v)
{
	char *end;

	if (!*str || strspn(str, "0123456789.-+eE") != strlen(str))
		return -EINVAL;
	errno = 0;
	*v = strtod(str, &end);
	return errno || *end || !isfinite(*v) ? -EINVAL : 0;
}

static int set_number(const struct opt *o, void *field, const char *str)
{
	double v;
	char *end;

	if (o->type == OPT_UINT) {
		unsigned long long u;

		errno = 0;
		u = strtoull(str, &end, 10);
		if (str[0] < '0' || str[0] > '9' || *end || errno ||
		    u < o->min || u > o->max) {
			hl_err("invalid %s '%s': expected an integer from %.0f to %.0f",
			       o->name, str, o->min, o->max);
			return -EINVAL;
		}
		put_uint(field, o->size, u);
		return 0;
	}
	if (parse_decimal(str, &v) || v < o->min || v > o->max) {
		hl_err("invalid %s '%s': expected a number from %g to %g",
		       o->name, str, o->min, o->max);
		return -EINVAL;
	}
	if (o->type == OPT_DOUBLE)
		*(double *)field = v;
	else
		put_uint(field, o->size, (__u64)(v * o->scale + 0.5));
	return 0;
}

int opt_set(const struct opt *o, void *obj, const char *str)
{
	void *field = (char *)obj + o->off;
	const struct opt_choice *c;
	const char *why;
	char buf[256];
	int err = 0;

	if (o->takes_off && !strcmp(str, "off")) {
		memset(field, 0, o->size);
		return 0;
	}
	switch (o->type) {
	case OPT_UINT:
	case OPT_SCALED:
	case OPT_DOUBLE:
		err = set_number(o, field, str);
		break;
	case OPT_ENUM:
		for (c = o->choices; c->name; c++)
			if (!strcmp(c->name, str))
				break;
		if (!c->name) {
			hl_err("unknown %s '%s' (expected: %s)", o->name, str,
			       choices_list(o->choices, buf, sizeof(buf)));
			return -EINVAL;
		}
		put_uint(field, o->size, c->value);
		break;
	case OPT_STRING:
		if (strlen(str) >= o->size) {
			hl_err("invalid %s: at most %zu characters", o->name,
			       o->size - 1);
			return -EINVAL;
		}
		strcpy(field, str);
		break;
	case OPT_BOOL:
		if (!strcmp(str, "true") || !strcmp(str, "on") || !strcmp(str, "yes"))
			*(bool *)field = true;
		else if (!strcmp(str, "false") || !strcmp(str, "off") ||
			 !strcmp(str, "no"))
			*(bool *)field = false;
		else {
			hl_err("invalid %s '%s': expected true or false", o->name,
			       str);
			return -EINVAL;
		}
		break;
	}
	if (!err && o->check && (why = o->check(field))) {
		hl_err("invalid %s '%s': %s", o->name, str, why);
		err = -EINVAL;
	}
	return err;
}

int opts_parse_args(const struct opt *tbl, void *obj, int *argc,
		    char ***argv, bool all, opt_seen_t *seen)
{
	char buf[512];

	while (*argc) {
		const char *key = (*argv)[0];
		const struct opt *o = opt_find(tbl, OPT_CLI, key);

		if (!o) {
			if (!all)
				return 0;
			hl_err("unexpected '%s' (expected: %s)", key,
			       opts_expected(tbl, OPT_CLI, buf, sizeof(buf)));
			return -EINVAL;
		}
		if (*argc < 2) {
			hl_err("'%s' needs a value (%s)", key, o->arg);
			return -EINVAL;
		}
		if (opt_set(o, obj, (*argv)[1]))
			return -EINVAL;
		if (seen)
			*seen |= 1ull << (o - tbl);
		*argc -= 2;
		*argv += 2;
	}
	return 0;
}

const char *opts_expected(const struct opt *tbl, unsigned int where,
			  char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; tbl->name && n < len; tbl++)
		if (tbl->where & where)
			n += snprintf(buf + n, len - n, "%s%s %s", n ? ", " : "",
				      tbl->name, tbl->arg);
	return buf;
}

static const char *key_name(const struct opt *o, unsigned int where,
			    char *buf, size_t len)
{
	char *c;

	snprintf(buf, len, "%s", o->name);
	if (where == OPT_CONF)
		for (c = buf; *c; c++)
			if (*c == '-')
				*c = '_';
	return buf;
}

static const char *values(const struct opt *o, char *buf, size_t len)
{
	if (o->takes_off && o->type != OPT_ENUM && o->type != OPT_BOOL) {
		char range[128];

		o = &(struct opt){ .type = o->type, .min = o->min, .max = o->max,
				   .size = o->size };
		snprintf(buf, len, "%s or off", values(o, range, sizeof(range)));
		return buf;
	}
	switch (o->type) {
	case OPT_ENUM:
		return choices_list(o->choices, buf, len);
	case OPT_UINT:
		snprintf(buf, len, "%.0f..%.0f", o->min, o->max);
		return buf;
	case OPT_SCALED:
	case OPT_DOUBLE:
		snprintf(buf, len, "%g..%g", o->min, o->max);
		return buf;
	case OPT_BOOL:
		return "true, false";
	case OPT_STRING:
		snprintf(buf, len, "text, at most %zu characters", o->size - 1);
		return buf;
	}
	return "";
}

void opts_help(FILE *f, const struct opt *tbl, unsigned int where)
{
	char key[64], arg[96], vals[256];

	for (; tbl->name; tbl++) {
		if (!(tbl->where & where))
			continue;
		snprintf(arg, sizeof(arg), "%s %s",
			 key_name(tbl, where, key, sizeof(key)), tbl->arg);
		fprintf(f, "  %-24s %s (%s%s%s)\n", arg, tbl->help,
			values(tbl, vals, sizeof(vals)),
			tbl->def ? "; default " : "", tbl->def ? tbl->def : "");
	}
}

void opts_markdown(FILE *f, const struct opt *tbl, unsigned int where,
		   bool more)
{
	char key[64], vals[256];

	if (!more)
		fprintf(f, "| %s | values | default | meaning |\n|---|---|---|---|\n",
			where == OPT_CONF ? "key" : "keyword");
	for (; tbl->name; tbl++)
		if (tbl->where & where)
			fprintf(f, "| `%s` | %s | %s | %s |\n",
				key_name(tbl, where, key, sizeof(key)),
				values(tbl, vals, sizeof(vals)),
				tbl->def ? tbl->def : "-", tbl->help);
}

/* scdoc text: '*', '_' and '\' are markup there. */
static void scdoc_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '*' || *s == '_' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

void opts_scdoc(FILE *f, const struct opt *tbl, unsigned int where)
{
	char key[64], vals[256];

	for (; tbl->name; tbl++) {
		if (!(tbl->where & where))
			continue;
		fputc('*', f);
		scdoc_esc(f, key_name(tbl, where, key, sizeof(key)));
		fputs("* _", f);
		scdoc_esc(f, tbl->arg);
		fputs("_\n\t", f);
		scdoc_esc(f, tbl->help);
		fputs(" (", f);
		scdoc_esc(f, values(tbl, vals, sizeof(vals)));
		if (tbl->def) {
			fputs("; default ", f);
			scdoc_esc(f, tbl->def);
		}
		fputs(")\n\n", f);
	}
}

static __u64 get_uint(const void *field, size_t size)
{
	switch (size) {
	case 1: return *(const __u8 *)field;
	case 2: return *(const __u16 *)field;
	case 4: return *(const __u32 *)field;
	default: return *(const __u64 *)field;
	}
}

const char *opt_format(const struct opt *o, const void *obj, char *buf,
		       size_t len)
{
	const void *field = (const char *)obj + o->off;
	const struct opt_choice *c;
	__u64 u;

	switch (o->type) {
	case OPT_UINT:
	case OPT_SCALED:
		u = get_uint(field, o->size);
		if (!u && o->takes_off)
			snprintf(buf, len, "off");
		else if (o->type == OPT_UINT)
			snprintf(buf, len, "%llu", (unsigned long long)u);
		else	/* 15 digits: 0.1, not 0.10000000000000001 */
			snprintf(buf, len, "%.15g", u / o->scale);
		break;
	case OPT_DOUBLE:
		snprintf(buf, len, "%.15g", *(const double *)field);
		break;
	case OPT_ENUM:
		u = get_uint(field, o->size);
		snprintf(buf, len, "?");
		for (c = o->choices; c->name; c++)
			if (c->value == u) {
				snprintf(buf, len, "%s", c->name);
				break;
			}
		break;
	case OPT_STRING:
		snprintf(buf, len, "%.*s", (int)o->size, (const char *)field);
		break;
	case OPT_BOOL:
		snprintf(buf, len, "%s", *(const bool *)field ? "true" : "false");
		break;
	}
	return buf;
}
