/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal TAP producer for the C suites: each RUN() prints one
 * "ok N - name" / "not ok N - name" line; tests/run.sh counts them.
 */
#ifndef HELIOS_UNIT_H
#define HELIOS_UNIT_H

#include <stdio.h>
#include <stdlib.h>

static int unit_nr, unit_failures, unit_case_failed;
static const char *unit_skip_reason;

/* Inside a test: record a failure with a diagnostic, keep going. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			unit_case_failed = 1;				\
			printf("#   %s:%d: CHECK(%s) failed: ", __FILE__,	\
			       __LINE__, #cond);			\
			printf(__VA_ARGS__);				\
			printf("\n");					\
		}							\
	} while (0)

/* Inside a test: a visible skip with its reason; the test returns. */
#define SKIP(reason)							\
	do {								\
		unit_skip_reason = (reason);				\
		return;							\
	} while (0)

#define RUN(fn)								\
	do {								\
		unit_case_failed = 0;					\
		unit_skip_reason = NULL;				\
		fn();							\
		unit_nr++;						\
		if (unit_skip_reason)					\
			printf("ok %d - %s # SKIP %s\n", unit_nr, #fn,	\
			       unit_skip_reason);			\
		else							\
			printf("%s %d - %s\n",				\
			       unit_case_failed ? "not ok" : "ok",	\
			       unit_nr, #fn);				\
		unit_failures += unit_case_failed;			\
		fflush(stdout);						\
	} while (0)

/* Named sub-case inside a table-driven test (one TAP line each). */
#define RUN_CASE(name, expr)						\
	do {								\
		unit_case_failed = 0;					\
		unit_skip_reason = NULL;				\
		expr;							\
		unit_nr++;						\
		if (unit_skip_reason)					\
			printf("ok %d - %s # SKIP %s\n", unit_nr, (name),\
			       unit_skip_reason);			\
		else							\
			printf("%s %d - %s\n",				\
			       unit_case_failed ? "not ok" : "ok",	\
			       unit_nr, (name));			\
		unit_failures += unit_case_failed;			\
		fflush(stdout);						\
	} while (0)

static inline int unit_done(void)
{
	printf("1..%d\n", unit_nr);
	return unit_failures ? 1 : 0;
}

#endif /* HELIOS_UNIT_H */
