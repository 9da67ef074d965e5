// SPDX-License-Identifier: GPL-2.0
/*
 * The probes' answers: the HTTP status line (any bytes, in any split)
 * and the postgres probe's row, built with libpq's own PGresult
 * constructors from NUL-separated fields, so no server is needed.
 */
#include <math.h>
#include <libpq-fe.h>
#include "fuzz.h"
#include "agent/probe.h"

static void http(const uint8_t *data, size_t size)
{
	int code = http_status_line((const char *)data, size, true);
	int more = http_status_line((const char *)data, size, false);

	FUZZ_ASSERT(code == -1 || (code >= 100 && code <= 999));
	FUZZ_ASSERT(more == -1 || more == 0 || more == code);
	/* every prefix: never a code a longer line would not confirm */
	for (size_t n = 0; n < size && n < 16; n++) {
		int c = http_status_line((const char *)data, n, false);

		FUZZ_ASSERT(c <= 0 || c == code);
	}
}

static void pg(const uint8_t *data, size_t size)
{
	static struct fuzz_argv a;
	PGresAttDesc att[6] = {};
	struct probe_result res = {};
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	int nf = 5, rows = 1;

	if (!r || pg_lib_open()) {
		PQclear(r);
		return;
	}
	if (size) {
		nf = 1 + data[0] % 6;
		rows = (data[0] >> 4) % 3;
		data++;
		size--;
	}
	fuzz_split(&a, data, size);
	for (int i = 0; i < nf; i++) {
		att[i].name = (char *)"f";
		att[i].format = 0;
		att[i].typlen = -1;
		att[i].atttypmod = -1;
	}
	if (PQsetResultAttrs(r, nf, att)) {
		for (int t = 0, w = 0; t < rows; t++)
			for (int f = 0; f < nf; f++, w++)
				PQsetvalue(r, t, f, w < a.argc ? a.argv[w] : NULL,
					   w < a.argc ? (int)strlen(a.argv[w]) : -1);
		if (!pg_answer_parse((const struct pg_result *)r, &res)) {
			FUZZ_ASSERT(res.has_lag && res.lag_s >= 0 &&
				    isfinite(res.lag_s));
			FUZZ_ASSERT(res.role == HL_ROLE_STANDBY ||
				    res.role == HL_ROLE_PRIMARY);
		}
	}
	PQclear(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size && data[0] & 1)
		pg(data + 1, size - 1);
	else
		http(size ? data + 1 : data, size ? size - 1 : 0);
	return 0;
}
