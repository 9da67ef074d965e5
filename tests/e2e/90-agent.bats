#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The health agent with a real PostgreSQL 15 primary (b1) and streaming
# standby (b2) behind the director: the read/write split, lag, failover,
# split brain. Writes go to 198.18.1.10:5432 (strategy primary), reads to
# 198.18.1.11:5432 (strategy replica, fallback primary).

load lib
source "$BATS_TEST_DIRNAME/pg.bash"

WVIP=198.18.1.10
RVIP=198.18.1.11
INTERVAL=0.5		# probe interval of the agent, seconds

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
	local h
	for h in b1 b2; do
		ip -n "$(lab_ns "$h")" addr add "$RVIP/32" dev lo || return 1
		lab_helios "$h" decap attach eth0 vip "$WVIP" vip "$RVIP" || return 1
	done
	hl attach eth0 mode native || return 1

	PG_BASE=$(pg_base_new) || return 1
	echo "$PG_BASE" >"$LAB_DIR/pg_base"
	pg_init_primary "$PG_BASE/p" "$(lab_ns b1)" "$(lab_addr4 b1),$WVIP,$RVIP" 5432 &&
		pg_start "$PG_BASE/p" &&
		pg_sql "$PG_BASE/p" "CREATE TABLE t (x int)" >/dev/null &&
		pg_init_standby "$PG_BASE/s" "$(lab_ns b2)" "$(lab_addr4 b2),$WVIP,$RVIP" 5432 \
			"$PG_BASE/p" standby1 &&
		pg_start "$PG_BASE/s" &&
		pg_wait_streaming "$PG_BASE/p" standby1 || return 1

	local check="kind = \"postgres\"; conninfo = \"user=postgres dbname=postgres\";
		interval = $INTERVAL; timeout = 0.4; rise = 1; fall = 2;
		lag_degraded = 1; lag_unhealthy = 3;"
	local nodes="( { addr = \"$(lab_addr4 b1)\"; }, { addr = \"$(lab_addr4 b2)\"; } )"
	cat >"$LAB_DIR/agent.conf" <<-EOF
	# written by 90-agent.bats
	services = (
	  { service = "$WVIP:5432/tcp"; strategy = "primary"; hold = 10;
	    on_down = "reset"; check = { $check }; nodes = $nodes; },
	  { service = "$RVIP:5432/tcp"; strategy = "replica"; fallback = "primary";
	    check = { $check }; nodes = $nodes; }
	);
	EOF
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

agent_start() {
	lab_spawn dir agent "$HELIOS" --bpffs "$LAB_DIR/bpf/dir" run config "$LAB_DIR/agent.conf"
	poll 100 hl -j health >/dev/null
}

# which VIP: the cluster_name of the server a new connection lands on
# (p or s), or nothing when the connection fails.
which() {
	lab_exec client timeout 3 "$PG_BIN/psql" -X -At "host=$1 port=5432 user=postgres dbname=postgres connect_timeout=2" \
		-c "SELECT current_setting('cluster_name')" 2>/dev/null
}

holding() { [ "$(hl -j health $WVIP:5432/tcp | jq -r '.[0].hold')" = true ]; }

writes_on() { [ "$(which $WVIP)" = "$1" ]; }
reads_on() { [ "$(which $RVIP)" = "$1" ]; }

# node_health VIP BACKEND FIELD
node_health() {
	hl -j health "$1:5432/tcp" |
		jq -r --arg a "$(lab_addr4 "$2")" --arg f "$3" '.[] | select(.addr == $a) | .[$f]'
}
state_is() { [ "$(node_health "$1" "$2" state)" = "$3" ]; }

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

# A TCP session held open on the write VIP; after `touch $LAB_DIR/go` it
# sends one segment and writes what came back: reset, timeout or data.
session_start() {
	cat >"$LAB_DIR/session.py" <<-'EOF'
	import os, socket, sys, time
	vip, d = sys.argv[1], sys.argv[2]
	s = socket.create_connection((vip, 5432), timeout=5)
	open(d + "/ready", "w").close()
	for _ in range(1200):
	    if os.path.exists(d + "/go"):
	        break
	    time.sleep(0.05)
	s.settimeout(5)
	try:
	    s.sendall(b"\0\0\0\x08\x04\xd2\x16\x2f")	# SSLRequest
	    time.sleep(0.2)
	    s.sendall(b"x")
	    r = s.recv(100)
	    while r:
	        r = s.recv(100)
	    res = "closed"
	except ConnectionResetError:
	    res = "reset"
	except socket.timeout:
	    res = "timeout"
	open(d + "/result", "w").write(res)
	EOF
	lab_spawn client session "$LAB_PY" "$LAB_DIR/session.py" $WVIP "$LAB_DIR"
	poll 100 test -e "$LAB_DIR/ready"
}

@test "failover: primary unreachable, standby promoted: writes follow it, its sessions get an RST" {
	local resets0
	session_start || fail "no session on the write VIP"
	resets0=$(reason reset-node-down)
	# The old primary's host drops off the network (its server keeps
	# running and still believes it is the primary).
	ip -n "$(lab_ns b1)" link set eth0 down
	poll 100 state_is $WVIP b1 unhealthy || fail "b1 not Unhealthy: $(hl health)"
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
	run which $RVIP
	assert_output s		# no standby left: reads fall back to the primary
}

@test "split brain: two primaries hold new write connections, never split them" {
	local held0
	held0=$(reason held-no-primary)
	# The old primary comes back, still a primary: two claim the role.
	ip -n "$(lab_ns b1)" link set eth0 up
	poll 100 holding || fail "write service not holding: $(hl health)"
	run which $WVIP
	assert_output ""
	[ "$(reason held-no-primary)" -gt "$held0" ] || fail "held SYNs not counted"

	# Fence the old primary: writes go on to the promoted node by themselves.
	pg_stop "$PG_BASE/p"
	poll 100 writes_on s || fail "writes did not resume on the promoted node"
}
