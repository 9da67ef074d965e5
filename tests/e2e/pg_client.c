// SPDX-License-Identifier: GPL-2.0
/*
 * libpq test clients for tests/e2e/96-ryw-fence.bats (built there with cc).
 *
 * pg_client ryw WCONNINFO RCONNINFO N
 *	N times: insert row i through the write connection (kept open), then
 *	read it back on a new connection to RCONNINFO. Prints one line:
 *	"iterations N stale S on_primary P on_standby Q failed F".
 * pg_client writer CONNINFO ID INTERVAL_MS SECONDS STOPFILE
 *	Hold a connection and insert (ID, now()) into w every INTERVAL_MS;
 *	when the connection breaks print "broken REALTIME_NS: error" and
 *	connect again (new writes). Ends after SECONDS or when STOPFILE exists;
 *	prints "done ok N failed F".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

static long long now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void first_line(char *s)
{
	s[strcspn(s, "\n")] = 0;
}

static int ryw(const char *wci, const char *rci, int n)
{
	int i, stale = 0, on_p = 0, on_s = 0, failed = 0;
	PGconn *w = PQconnectdb(wci);
	char sql[128];

	if (PQstatus(w) != CONNECTION_OK) {
		fprintf(stderr, "write connection: %s", PQerrorMessage(w));
		return 1;
	}
	for (i = 1; i <= n; i++) {
		PGresult *r;
		PGconn *c;

		snprintf(sql, sizeof(sql), "INSERT INTO r VALUES (%d)", i);
		r = PQexec(w, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "insert %d: %s", i, PQerrorMessage(w));
			PQclear(r);
			return 1;
		}
		PQclear(r);
		c = PQconnectdb(rci);
		snprintf(sql, sizeof(sql),
			 "SELECT count(*), current_setting('cluster_name') FROM r WHERE x = %d",
			 i);
		r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
		if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
			failed++;
		} else {
			stale += !strcmp(PQgetvalue(r, 0, 0), "0");
			if (!strcmp(PQgetvalue(r, 0, 1), "p"))
				on_p++;
			else
				on_s++;
		}
		PQclear(r);
		PQfinish(c);
	}
	PQfinish(w);
	printf("iterations %d stale %d on_primary %d on_standby %d failed %d\n",
	       n, stale, on_p, on_s, failed);
	return 0;
}

static int writer(const char *ci, int id, int interval_ms, int secs,
		  const char *stop)
{
	long long end = now_ns(CLOCK_MONOTONIC) + secs * 1000000000LL;
	int ok = 0, failed = 0;
	PGconn *c = NULL;
	char sql[128];

	snprintf(sql, sizeof(sql), "INSERT INTO w VALUES (%d, clock_timestamp())",
		 id);
	while (now_ns(CLOCK_MONOTONIC) < end && access(stop, F_OK)) {
		PGresult *r;

		if (!c) {
			c = PQconnectdb(ci);
			if (PQstatus(c) != CONNECTION_OK) {
				PQfinish(c);
				c = NULL;
				failed++;
				usleep(interval_ms * 1000);
				continue;
			}
			printf("connected %d\n", id);
			fflush(stdout);
		}
		r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			ok++;
		} else {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
			first_line(msg);
			printf("broken %lld: %s\n", now_ns(CLOCK_REALTIME), msg);
			fflush(stdout);
			failed++;
			if (PQstatus(c) != CONNECTION_OK) {
				PQfinish(c);
				c = NULL;
			}
		}
		PQclear(r);
		usleep(interval_ms * 1000);
	}
	PQfinish(c);
	printf("done ok %d failed %d\n", ok, failed);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "ryw"))
		return ryw(argv[2], argv[3], atoi(argv[4]));
	if (argc == 7 && !strcmp(argv[1], "writer"))
		return writer(argv[2], atoi(argv[3]), atoi(argv[4]),
			      atoi(argv[5]), argv[6]);
	fprintf(stderr, "usage: pg_client ryw WCONNINFO RCONNINFO N\n"
		"       pg_client writer CONNINFO ID INTERVAL_MS SECONDS STOPFILE\n");
	return 2;
}
