#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The health agent with a real PostgreSQL 15 primary (b1) and streaming
# standby (b2) behind the director: the read/write split, lag, failover,
# split brain. Writes go to 198.18.1.10:5432 (strategy primary), reads to
# 198.18.1.11:5432 (strategy replica, fallback primary).

load lib
source "$BATS_TEST_DIRNAME/pg.bash"
source "$BATS_TEST_DIRNAME/pgcluster.bash"

WVIP=$PGC_WVIP
RVIP=$PGC_RVIP
INTERVAL=$PGC_INTERVAL

setup_file() {
	pg_require || return 1
	e2e_require
	case $? in 0) ;; 1) return 0 ;; *) return 1 ;; esac
	lab_create 2 || return 1
	local rc=0
	lab_up || rc=$?
	if [ $rc -eq 2 ]; then
		lab_destroy
		e2e_skip_file "native XDP on veth unavailable in this kernel"
		return 0
	fi
	[ $rc -eq 0 ] || { lab_destroy; return 1; }
	pgc_ipip_vips || return 1
	hl attach eth0 mode native || return 1

	PG_BASE=$(pg_base_new) || return 1
	echo "$PG_BASE" >"$LAB_DIR/pg_base"
	pgc_cluster "$PG_BASE" || return 1
	pgc_agent_conf "$LAB_DIR/agent.conf"
	agent_start || return 1
	poll 100 writes_on p || return 1
}

setup() {
	e2e_setup
	PG_BASE=$(cat "$LAB_DIR/pg_base")
}

teardown_file() {
	[ -n "${LAB_DIR:-}" ] && [ -f "$LAB_DIR/pg_base" ] && pg_base_destroy "$(cat "$LAB_DIR/pg_base")"
	lab_destroy
}

agent_start() { pgc_agent_start "$LAB_DIR/agent.conf"; }

# which VIP: the cluster_name of the server a new connection lands on.
which() { landed_on "$@"; }

@test "writes reach only the primary, reads only the standby" {
	local i
	for i in 1 2 3 4 5 6; do
		run which $WVIP
		assert_output p
		run which $RVIP
		assert_output s
	done
	run node_health $WVIP b2 eligible
	assert_output false
	# The write service's table holds one node, the primary.
	run hl -j map dump slots
	[ "$(jq --arg s "$WVIP:5432/tcp" '[.[] | select(.service == $s) | .slots | keys[]] | length' <<<"$output")" -eq 1 ] ||
		fail "write table: $output"
	run node_health $RVIP b2 role
	assert_output standby
}

@test "a lagging standby turns Degraded, then Unhealthy; reads fall back to the primary and come back" {
	# Lag by time counts from the last replayed commit: have one first.
	pg_sql "$PG_BASE/p" "INSERT INTO t VALUES (0)" >/dev/null
	pg_wait_until "$PG_BASE/s" "SELECT count(*) > 0 FROM t"
	pg_sql "$PG_BASE/s" "SELECT pg_wal_replay_pause()" >/dev/null
	local i seen_degraded=0
	# Bounded write load on the primary while replay is paused.
	for ((i = 0; i < 400; i++)); do
		pg_sql "$PG_BASE/p" "INSERT INTO t VALUES ($i)" >/dev/null
		state_is $RVIP b2 degraded && seen_degraded=1
		state_is $RVIP b2 unhealthy && break
		sleep 0.05
	done
	[ $seen_degraded -eq 1 ] || fail "never saw the standby Degraded"
	state_is $RVIP b2 unhealthy || fail "standby not Unhealthy: $(hl health)"
	poll 40 reads_on p || fail "reads did not fall back to the primary"
	writes_on p

	pg_sql "$PG_BASE/s" "SELECT pg_wal_replay_resume()" >/dev/null
	poll 200 state_is $RVIP b2 healthy || fail "standby did not recover: $(hl health)"
	poll 40 reads_on s || fail "reads did not return to the standby"
}

@test "agent killed with SIGKILL: traffic keeps flowing, a restart resumes" {
	kill -KILL "$(cat "$LAB_DIR/pids/agent")"
	run which $WVIP
	assert_output p
	run which $RVIP
	assert_output s
	agent_start
	run which $WVIP
	assert_output p
	run which $RVIP
	assert_output s
}

# monitor_has JQ-FILTER: a line of `monitor -j`'s output matches
monitor_has() {
	jq -e -s "[.[] | select($1)] | length > 0" "$LAB_DIR/log/monitor.log" >/dev/null 2>&1
}

# agent_event EVENT [JQ-FILTER]: the monitor has the write service's EVENT
agent_event() {
	monitor_has ".type == \"agent\" and .event == \"$1\" and .service == \"$WVIP:5432/tcp\" and (${2:-true})"
}

# The monitor is connected once it shows a reload of the agent.
monitor_sees_reload() {
	kill -HUP "$(cat "$LAB_DIR/pids/agent")" &&
		poll 10 monitor_has '.type == "agent" and .event == "reload"'
}

@test "failover: primary unreachable, standby promoted: writes follow it, its sessions get an RST; monitor -j shows the hold and the failover" {
	local resets0 b1 b2
	b1=$(lab_addr4 b1) b2=$(lab_addr4 b2)
	lab_spawn dir monitor "$HELIOS" --bpffs "$LAB_DIR/bpf/dir" -j monitor
	poll 100 monitor_sees_reload || fail "monitor not connected to the agent"
	session_start || fail "no session on the write VIP"
	resets0=$(reason reset-node-down)
	# The old primary's host drops off the network (its server keeps
	# running and still believes it is the primary).
	ip -n "$(lab_ns b1)" link set eth0 down
	poll 100 state_is $WVIP b1 unhealthy || fail "b1 not Unhealthy: $(hl health)"
	# no primary left: the agent holds, and says so at once
	poll 20 agent_event hold || fail "no hold event: $(cat "$LAB_DIR/log/monitor.log")"
	agent_event failover ".from == \"$b1\" and .to == \"none\"" ||
		fail "no failover event away from b1: $(cat "$LAB_DIR/log/monitor.log")"
	touch "$LAB_DIR/go"
	poll 200 test -s "$LAB_DIR/result" || fail "session still waiting"
	run cat "$LAB_DIR/result"
	assert_output reset
	[ "$(reason reset-node-down)" -gt "$resets0" ] || fail "reset not sent by the director"
	local t0 t1
	pg_sql "$PG_BASE/s" "SELECT pg_promote(true, 10)" >/dev/null
	t0=$(date +%s%N)
	poll 200 writes_on s || fail "writes did not reach the promoted node: $(hl health)"
	t1=$(date +%s%N)
	echo "# first write connection on the promoted node $(( (t1 - t0) / 1000000 )) ms after pg_promote (probe interval ${INTERVAL}s)" >&3
	# the writes reached b2: the decision that sent them is an event already
	poll 20 agent_event hold-end || fail "no hold-end event: $(cat "$LAB_DIR/log/monitor.log")"
	poll 20 agent_event failover ".from == \"none\" and .to == \"$b2\"" ||
		fail "no failover event to b2: $(cat "$LAB_DIR/log/monitor.log")"
	lab_kill "$LAB_DIR/pids/monitor"
	run which $RVIP
	assert_output s		# no standby left: reads fall back to the primary
}

probed_ok() { [ "$(node_health $WVIP "$1" last_probe)" = ok ]; }

@test "old primary returns still a primary, on the older timeline: fenced, writes stay on the promoted node" {
	# The old primary comes back, still a primary: two claim the role,
	# but the promoted node is on the newer timeline (pg_promote forked
	# it), so it wins without a hold; the old one is never used.
	# (Two claims nothing tells apart still hold: tests/unit/test_decide.c.)
	ip -n "$(lab_ns b1)" link set eth0 up
	poll 300 probed_ok b1 || fail "b1 not probed: $(hl health)"
	[ "$(node_health $WVIP b1 eligible)" = false ] || fail "old primary eligible: $(hl -j health)"
	[ "$(node_health $WVIP b2 timeline)" -gt "$(node_health $WVIP b1 timeline)" ] ||
		fail "timelines: $(hl -j health)"
	local i
	for i in 1 2 3 4; do
		run which $WVIP
		assert_output s
	done
	holding && fail "held although the timelines tell the primaries apart"
	pg_stop "$PG_BASE/p"
	poll 100 writes_on s || fail "writes did not stay on the promoted node"
}
