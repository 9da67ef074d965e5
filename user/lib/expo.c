// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/expo.h"

void expo_init(struct expo *e, bool openmetrics)
{
	memset(e, 0, sizeof(*e));
	e->openmetrics = openmetrics;
}

void expo_free(struct expo *e)
{
	free(e->buf);
	e->buf = NULL;
	e->len = e->cap = 0;
}

static bool reserve(struct expo *e, size_t more)
{
	size_t cap = e->cap ? e->cap : 4096;
	char *p;

	if (e->failed)
		return false;
	while (cap < e->len + more + 1)
		cap *= 2;
	if (e->buf && cap == e->cap)
		return true;
	p = realloc(e->buf, cap);
	if (!p) {
		e->failed = true;
		return false;
	}
	e->buf = p;
	e->cap = cap;
	return true;
}

static void put(struct expo *e, const char *s, size_t n)
{
	if (!reserve(e, n))
		return;
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = '\0';
}

static void puts_(struct expo *e, const char *s)
{
	put(e, s, strlen(s));
}

static void putf(struct expo *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void putf(struct expo *e, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(e, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Escape \ and newline (HELP), and " too (label values). */
static void put_escaped(struct expo *e, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			puts_(e, "\\\\");
		else if (*s == '\n')
			puts_(e, "\\n");
		else if (*s == '"' && quote)
			puts_(e, "\\\"");
		else
			put(e, s, 1);
	}
}

void expo_family(struct expo *e, const char *name, enum expo_type type,
		 const char *help)
{
	/* 0.0.4 names a counter family by its samples' name (with _total);
	 * OpenMetrics by the name without it. */
	const char *suffix = type == EXPO_COUNTER && !e->openmetrics ?
			     "_total" : "";

	e->family = name;
	e->type = type;
	puts_(e, "# HELP ");
	puts_(e, name);
	puts_(e, suffix);
	puts_(e, " ");
	put_escaped(e, help, e->openmetrics);	/* OM escapes " here too */
	puts_(e, "\n# TYPE ");
	puts_(e, name);
	puts_(e, suffix);
	puts_(e, type == EXPO_COUNTER ? " counter\n" : " gauge\n");
}

static void sample_head(struct expo *e, const struct expo_label *labels,
			unsigned int n)
{
	unsigned int i;

	puts_(e, e->family);
	if (e->type == EXPO_COUNTER)
		puts_(e, "_total");
	for (i = 0; i < n; i++) {
		puts_(e, i ? "," : "{");
		puts_(e, labels[i].name);
		puts_(e, "=\"");
		put_escaped(e, labels[i].value, true);
		puts_(e, "\"");
	}
	puts_(e, n ? "} " : " ");
}

void expo_sample(struct expo *e, const struct expo_label *labels,
		 unsigned int n, double value)
{
	sample_head(e, labels, n);
	if (isnan(value))
		puts_(e, "NaN");
	else if (isinf(value))
		puts_(e, value > 0 ? "+Inf" : "-Inf");
	else if (fabs(value) < 1e15 && value == (double)(long long)value)
		putf(e, "%lld", (long long)value);
	else
		putf(e, "%.17g", value);
	puts_(e, "\n");
}

void expo_sample_u64(struct expo *e, const struct expo_label *labels,
		     unsigned int n, unsigned long long value)
{
	sample_head(e, labels, n);
	putf(e, "%llu\n", value);
}

const char *expo_finish(struct expo *e, size_t *len)
{
	if (e->openmetrics)
		puts_(e, "# EOF\n");
	if (!e->buf)
		put(e, "", 0);
	if (e->failed)
		return NULL;
	*len = e->len;
	return e->buf;
}

/* Accept: application/openmetrics-text[; version=1.0.0][; q=...], ... A
 * q=0 refuses it; anything else asks for it (the Prometheus server sends
 * OpenMetrics first when it supports it). */
bool expo_wants_openmetrics(const char *accept)
{
	const char *p = accept ? strstr(accept, "application/openmetrics-text") : NULL;
	const char *end, *q;

	if (!p)
		return false;
	end = strchr(p, ',');
	q = strstr(p, "q=");
	if (q && (!end || q < end)) {
		double v = strtod(q + 2, NULL);

		return v > 0;
	}
	return true;
}
