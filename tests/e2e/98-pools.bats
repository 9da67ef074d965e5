#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Workload pools with a real PostgreSQL 15 primary (b1, "p") and streaming
# standby (b2, "s") behind the director (IPIP, pgcluster.bash): the agent
# reads pg_stat_replication.sync_state on the primary and writes each
# standby's pool (sync/async) into its node entry; a client class named to
# a pool on the read service (`class pool`) gets only that pool's nodes,
# and the primary (fallback primary) when the pool is empty.

load lib
source "$BATS_TEST_DIRNAME/pg.bash"
source "$BATS_TEST_DIRNAME/pgcluster.bash"

setup_file() {
	pgc_ipip_lab || return 1
	e2e_skipping && return 0
	pgc_agent_conf "$LAB_DIR/agent.conf"
	pgc_agent_start "$LAB_DIR/agent.conf" || return 1
	poll 200 reads_on s || return 1
}

setup() {
	e2e_setup
	PG_BASE=$(cat "$LAB_DIR/pg_base")
}

teardown_file() { pgc_teardown_file; }

sync_names() {
	pg_sql "$PG_BASE/p" "ALTER SYSTEM SET synchronous_standby_names = '$1'" >/dev/null &&
		pg_sql "$PG_BASE/p" "SELECT pg_reload_conf()" >/dev/null
}

@test "the agent sets each standby's pool from sync_state on the primary" {
	poll 200 pool_is b2 async || fail "s not async: $(hl -j map dump nodes)"
	sync_names s
	poll 200 pool_is b2 sync || fail "s not sync: $(hl -j map dump nodes)"
}

@test "a class goes to its pool's standbys only; an empty pool falls back to the primary" {
	hl class add "$(lab_addr4 client)/32" name oltp rate conn 100000
	run hl class pool oltp "$PGC_RSVC" async
	assert_success
	poll 200 reads_on p || fail "empty async pool: no fallback to the primary"
	hl class pool oltp "$PGC_RSVC" sync
	poll 200 reads_on s || fail "oltp reads not on the sync standby"
	# s becomes async: the sync pool is empty, the async one has s.
	sync_names ''
	poll 200 pool_is b2 async || fail "s still sync"
	poll 200 reads_on p || fail "sync pool now empty: no fallback"
	hl class pool oltp "$PGC_RSVC" async
	poll 200 reads_on s || fail "oltp reads not on the async standby"
	# none: the service's own pick again; and only read services have pools
	hl class pool oltp "$PGC_RSVC" none
	run hl class pool oltp "$PGC_WSVC" sync
	assert_failure
	assert_output --partial "read services"
	hl class del oltp
	poll 200 reads_on s
}
