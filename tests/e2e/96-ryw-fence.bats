#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Read-your-writes and fencing by timeline on real PostgreSQL, IPIP (the
# servers have the VIPs on lo and decap)
# (the tests: tests/e2e/ryw_fence.bash).

load lib
source "$BATS_TEST_DIRNAME/pg.bash"
source "$BATS_TEST_DIRNAME/pgcluster.bash"
source "$BATS_TEST_DIRNAME/ryw_fence.bash"

setup_file() { rf_setup_file; }
setup() { rf_setup; }
teardown_file() { rf_teardown_file; }

@test "read-your-writes: window on, no stale read; off, stale reads" {
	rf_ryw
}

@test "read-your-writes: a standby that has replayed past the write gets the reads again" {
	rf_ryw_fresh
}

@test "read-your-writes: bad settings are refused, nothing changes" {
	rf_ryw_bad
}

@test "switchover: write connections held past the drain get an RST from the VIP" {
	rf_switchover_reset
}

@test "fencing: standby promoted while the old primary stays up: held writes reset, none on the old node after" {
	rf_fence
}

@test "a node of another cluster (system identifier) is never used, and reported" {
	rf_foreign
}
