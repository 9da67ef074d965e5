/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The metrics exposition writer: Prometheus text format 0.0.4, or
 * OpenMetrics 1.0 text, into a growing buffer. It knows the formats'
 * rules (HELP/TYPE lines, counters' _total suffix, label escaping, the
 * OpenMetrics # EOF) and nothing of Helios or HTTP, so that it can be
 * tested alone. What is exposed is metrics.c's; how, the agent's.
 */
#ifndef HELIOS_LIB_EXPO_H
#define HELIOS_LIB_EXPO_H

#include <stdbool.h>
#include <stddef.h>

enum expo_type { EXPO_COUNTER, EXPO_GAUGE };

struct expo_label {
	const char *name;	/* [a-zA-Z_][a-zA-Z0-9_]*, not checked */
	const char *value;	/* any UTF-8: escaped here */
};

struct expo {
	char *buf;
	size_t len, cap;
	bool openmetrics;
	bool failed;		/* out of memory: expo_finish() says so */
	enum expo_type type;	/* of the current family */
	const char *family;
};

void expo_init(struct expo *e, bool openmetrics);
/* Start a family: `name` without the counter's _total; HELP and TYPE. */
void expo_family(struct expo *e, const char *name, enum expo_type type,
		 const char *help);
/* One sample of the current family: labels[0..n), a value. */
void expo_sample(struct expo *e, const struct expo_label *labels,
		 unsigned int n, double value);
/* An integer sample: counters are exact beyond 2^53. */
void expo_sample_u64(struct expo *e, const struct expo_label *labels,
		     unsigned int n, unsigned long long value);
/* End the exposition (# EOF in OpenMetrics); the text, or NULL when out
 * of memory. The caller frees e->buf (expo_free). */
const char *expo_finish(struct expo *e, size_t *len);
void expo_free(struct expo *e);

/* Content-Type of each format. */
#define EXPO_TYPE_PROM	"text/plain; version=0.0.4; charset=utf-8"
#define EXPO_TYPE_OM	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Does an HTTP Accept header ask for OpenMetrics? */
bool expo_wants_openmetrics(const char *accept);

#endif /* HELIOS_LIB_EXPO_H */
