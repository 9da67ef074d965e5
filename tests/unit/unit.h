/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal TAP producer for the C suites: each RUN() prints one
 * "ok N - name" / "not ok N - name" line; tests/run.sh counts them.
 *
 * A filter runs only the tests whose name contains it: the suite's first
 * argument, else $HELIOS_TEST_FILTER (`build/tests/test_flows hold`). Tests
 * left out print nothing; RUN_ALWAYS() steps (loading the program the
 * others use) run whatever the filter.
 */
#ifndef HELIOS_UNIT_H
#define HELIOS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_nr, unit_failures, unit_case_failed;
static const char *unit_skip_reason;
static const char *unit_filter;

#ifdef __GLIBC__
/* glibc calls constructors with main's argc and argv: this way no suite's
 * main() has to pass its arguments on. */
__attribute__((constructor)) static void unit_args(int argc, char **argv)
{
	if (argc > 1)
		unit_filter = argv[1];
}
#endif

static inline int unit_selected(const char *name)
{
	const char *f = unit_filter ? unit_filter : getenv("HELIOS_TEST_FILTER");

	return !f || !*f || strstr(name, f);
}

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

/* One TAP line for `expr` under `name`, if the filter lets it run. */
#define UNIT_RUN(name, expr, always)					\
	do {								\
		const char *unit_name = (name);				\
									\
		if (!(always) && !unit_selected(unit_name))		\
			break;						\
		unit_case_failed = 0;					\
		unit_skip_reason = NULL;				\
		expr;							\
		unit_nr++;						\
		if (unit_skip_reason)					\
			printf("ok %d - %s # SKIP %s\n", unit_nr,	\
			       unit_name, unit_skip_reason);		\
		else							\
			printf("%s %d - %s\n",				\
			       unit_case_failed ? "not ok" : "ok",	\
			       unit_nr, unit_name);			\
		unit_failures += unit_case_failed;			\
		fflush(stdout);						\
	} while (0)

#define RUN(fn)			UNIT_RUN(#fn, fn(), 0)

/* A step the other tests of the suite need: never filtered out. */
#define RUN_ALWAYS(fn)		UNIT_RUN(#fn, fn(), 1)

/* Named sub-case inside a table-driven test (one TAP line each). */
#define RUN_CASE(name, expr)	UNIT_RUN(name, expr, 0)

static inline int unit_done(void)
{
	printf("1..%d\n", unit_nr);
	return unit_failures ? 1 : 0;
}

#endif /* HELIOS_UNIT_H */
