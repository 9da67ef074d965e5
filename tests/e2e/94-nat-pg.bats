#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The health agent in NAT mode with a real PostgreSQL 15 primary (b1) and
# streaming standby (b2) that run no Helios code and carry no VIP: they
# listen on their own addresses only, the director translates both ways.
# Writes go to 198.18.1.10:5432 (strategy primary, on_down reset), reads to
# 198.18.1.11:5432 (strategy replica, fallback primary). The setup is
# 90-agent.bats' (tests/e2e/pgcluster.bash), the services are created with
# the CLI in NAT mode before the agent adopts them.

load lib
source "$BATS_TEST_DIRNAME/pg.bash"
source "$BATS_TEST_DIRNAME/pgcluster.bash"

setup_file() {
	export LAB_FWD=nat
	pg_require || return 1
	e2e_require
	case $? in 0) ;; 1) return 0 ;; *) return 1 ;; esac
	lab_create 2 || return 1
	local rc=0 s h
	lab_up || rc=$?
	if [ $rc -eq 2 ]; then
		lab_destroy
		e2e_skip_file "native XDP on veth unavailable in this kernel"
		return 0
	fi
	[ $rc -eq 0 ] || { lab_destroy; return 1; }
	hl attach eth0 mode native || return 1
	for s in "$PGC_WSVC" "$PGC_RSVC"; do
		hl service add "$s" fwd nat || return 1
		for h in b1 b2; do
			hl node add "$s" "$(lab_addr4 "$h"):$PGC_NODE_PORT" || return 1
		done
	done

	PG_BASE=$(pg_base_new) || return 1
	echo "$PG_BASE" >"$LAB_DIR/pg_base"
	pgc_cluster "$PG_BASE" || return 1
	pgc_agent_conf "$LAB_DIR/agent.conf"
	pgc_agent_start "$LAB_DIR/agent.conf" || return 1
	poll 100 writes_on p || return 1
	poll 100 reads_on s || return 1
}

setup() {
	e2e_setup
	PG_BASE=$(cat "$LAB_DIR/pg_base")
}

teardown_file() {
	[ -n "${LAB_DIR:-}" ] && [ -f "$LAB_DIR/pg_base" ] && pg_base_destroy "$(cat "$LAB_DIR/pg_base")"
	lab_destroy
}

# who VIP: server address, in recovery, client address as the server sees it.
who() {
	pgc_psql "$1" -At -F ' ' -c "SELECT inet_server_addr(), pg_is_in_recovery(), inet_client_addr()"
}

@test "NAT: writes reach the primary, reads the standby, on their own addresses; they see the director" {
	local i
	for i in 1 2 3 4; do
		run who "$PGC_WVIP"
		assert_output "$(lab_addr4 b1) f $(lab_addr4 dir)"
		run who "$PGC_RVIP"
		assert_output "$(lab_addr4 b2) t $(lab_addr4 dir)"
	done
	run hl -j service list
	[ "$(jq --arg s "$PGC_WSVC" -r '.[] | select(.service == $s) | .fwd' <<<"$output")" = nat ] ||
		fail "the agent changed the forwarding mode: $output"
}

@test "NAT: pgbench select-only through the read VIP, no errors" {
	run lab_exec client timeout 30 "$PG_BIN/pgbench" -i -s 1 -q -h "$PGC_WVIP" -p "$PGC_PORT" -U postgres postgres
	assert_success
	local lsn
	lsn=$(pg_sql "$PG_BASE/p" "SELECT pg_current_wal_lsn()")
	pg_wait_until "$PG_BASE/s" "SELECT pg_last_wal_replay_lsn() >= '$lsn'"
	run lab_exec client timeout 30 "$PG_BIN/pgbench" -n -S -c 4 -j 2 -T 2 -h "$PGC_RVIP" -p "$PGC_PORT" -U postgres postgres
	echo "# $(grep -E '^tps|failed' <<<"$output" | tr '\n' ' ')" >&3
	assert_success
	assert_output --regexp 'number of failed transactions: 0 '
	[ "$(awk '/transactions actually processed/ { print $NF }' <<<"$output")" -gt 1000 ] ||
		fail "too few transactions: $output"
}

@test "NAT failover: primary unreachable, standby promoted: writes follow it, its sessions get an RST" {
	local resets0
	session_start || fail "no session on the write VIP"
	resets0=$(reason reset-node-down)
	# The old primary's host drops off the network (its server keeps
	# running and still believes it is the primary).
	ip -n "$(lab_ns b1)" link set eth0 down
	poll 100 state_is "$PGC_WVIP" b1 unhealthy || fail "b1 not Unhealthy: $(hl health)"
	touch "$LAB_DIR/go"
	poll 200 test -s "$LAB_DIR/result" || fail "session still waiting"
	run cat "$LAB_DIR/result"
	assert_output reset
	[ "$(reason reset-node-down)" -gt "$resets0" ] || fail "reset not sent by the director"

	pg_sql "$PG_BASE/s" "SELECT pg_promote(true, 10)" >/dev/null
	poll 200 writes_on s || fail "writes did not reach the promoted node: $(hl health)"
	run who "$PGC_WVIP"
	assert_output "$(lab_addr4 b2) f $(lab_addr4 dir)"
	run pgc_psql "$PGC_WVIP" -qAt -c "INSERT INTO t VALUES (42) RETURNING x"
	assert_output 42
	run landed_on "$PGC_RVIP"
	assert_output s		# no standby left: reads fall back to the primary
}
