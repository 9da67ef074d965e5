// SPDX-License-Identifier: GPL-2.0
/*
 * Patroni's JSON status as the patroni check reads it (agent/patroni.c),
 * from responses in Patroni 3.0's format kept in tests/unit/patroni/ (the
 * e2e test serves the same files over HTTP). Run from the tree's top
 * (tests/run.sh does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/patroni.h"
#include "unit.h"

static char *slurp(const char *name)
{
	char path[256], *buf = calloc(1, 65536);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "tests/unit/patroni/%s", name);
	f = fopen(path, "r");
	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void parse(const char *name, int status, bool read_endpoint,
		  struct probe_result *res, int *ret)
{
	char *body = slurp(name), err[128];

	memset(res, 0, sizeof(*res));
	res->role = HL_ROLE_ANY;
	CHECK(body, "tests/unit/patroni/%s (run from the tree's top)", name);
	*ret = body ? patroni_parse(body, status, read_endpoint, res, err,
				    sizeof(err)) : -1;
	free(body);
}

static void test_primary(void)
{
	struct probe_result r;
	int ret;

	parse("primary.json", 200, false, &r, &ret);
	CHECK(!ret && r.ok && r.role == HL_ROLE_PRIMARY, "running primary (\"master\")");
	CHECK(r.timeline == 3 && !r.pending_restart && !r.no_reads && !r.nofailover,
	      "timeline 3, no tags");
	CHECK(!r.has_lag, "a primary has no lag of its own");
}

static void test_replica(void)
{
	struct probe_result r;
	int ret;

	parse("replica.json", 200, false, &r, &ret);
	CHECK(!ret && r.ok && r.role == HL_ROLE_STANDBY, "running replica");
	CHECK(r.has_lag && r.lag_bytes == 67109704 - 67043328,
	      "lag: received minus replayed, %llu", (unsigned long long)r.lag_bytes);
	CHECK(r.pending_restart && r.nofailover && r.no_reads,
	      "pending_restart, nofailover, noloadbalance");
}

/* Workload pools: Patroni marks the members it made synchronous
 * (recorded from Patroni 3.0.2 in synchronous_mode); every other replica
 * is async; a primary has no pool. */
static void test_pools(void)
{
	struct probe_result r;
	int ret;

	parse("replica-sync.json", 200, false, &r, &ret);
	CHECK(!ret && r.role == HL_ROLE_STANDBY && r.pool == HL_POOL_SYNC,
	      "sync_standby: sync pool (%u)", r.pool);
	parse("replica-plain.json", 200, false, &r, &ret);
	CHECK(!ret && r.pool == HL_POOL_ASYNC, "no sync_standby: async pool (%u)", r.pool);
	parse("primary.json", 200, false, &r, &ret);
	CHECK(!ret && r.pool == HL_POOL_ANY, "a primary has no pool (%u)", r.pool);
}

/* /replica's 503 says "not for reads", whatever the tags say. */
static void test_read_endpoint_refuses(void)
{
	struct probe_result r;
	int ret;

	parse("primary.json", 503, true, &r, &ret);
	CHECK(!ret && r.ok && r.role == HL_ROLE_PRIMARY && r.no_reads,
	      "503 on a read endpoint");
	parse("primary.json", 503, false, &r, &ret);
	CHECK(!ret && !r.no_reads, "503 on /primary says nothing about reads");
}

static void test_stopped(void)
{
	struct probe_result r;
	int ret;

	parse("stopped.json", 503, false, &r, &ret);
	CHECK(!ret && !r.ok, "Patroni up, postgres stopped: not ok");
}

static void test_garbage(void)
{
	struct probe_result r = {};
	char err[128];

	CHECK(patroni_parse("<html>503</html>", 503, false, &r, err, sizeof(err)) &&
	      err[0], "not JSON");
	CHECK(patroni_parse("{\"state\": \"running\"}", 200, false, &r, err,
			    sizeof(err)), "no role");
	CHECK(patroni_parse("[1, 2]", 200, false, &r, err, sizeof(err)), "not an object");
}

static void test_paths(void)
{
	char p[64];

	patroni_path(HL_STRAT_PRIMARY, 0, p, sizeof(p));
	CHECK(!strcmp(p, "/primary"), "%s", p);
	patroni_path(HL_STRAT_REPLICA, 1048576, p, sizeof(p));
	CHECK(!strcmp(p, "/replica?lag=1048576"), "%s", p);
	patroni_path(HL_STRAT_REPLICA, 0, p, sizeof(p));
	CHECK(!strcmp(p, "/replica"), "%s", p);
	patroni_path(HL_STRAT_MAGLEV, 0, p, sizeof(p));
	CHECK(!strcmp(p, "/patroni"), "%s", p);
}

int main(void)
{
	RUN(test_primary);
	RUN(test_replica);
	RUN(test_pools);
	RUN(test_read_endpoint_refuses);
	RUN(test_stopped);
	RUN(test_garbage);
	RUN(test_paths);
	return unit_done();
}
