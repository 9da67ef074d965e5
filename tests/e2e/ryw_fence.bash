# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Read-your-writes, fencing by timeline and a switchover's drain-end reset
# with a real PostgreSQL 15
# primary (b1, "p") and streaming standby (b2, "s") behind the director,
# the agent probing both: writes to 198.18.1.10:5432 (primary), reads to
# 198.18.1.11:5432 (replica, fallback primary, ryw-of the write service).
# The standby replays with recovery_min_apply_delay, so a read right after
# a write finds the row only where it was written. The test bodies, run
# by tests/e2e/96-ryw-fence.bats (IPIP) and 97-ryw-fence-nat.bats (NAT,
# LAB_FWD=nat); source it after lib, pg.bash and pgcluster.bash.
#
# RYW_N (200) iterations with the window on, RYW_OFF_N (50) with it off;
# RYW_N=1000 RYW_OFF_N=1000 for the figures in the README.

WVIP=$PGC_WVIP
RVIP=$PGC_RVIP
INTERVAL=$PGC_INTERVAL
RYW_N=${RYW_N:-200}
RYW_OFF_N=${RYW_OFF_N:-50}
WRITERS=6

rf_setup_file() {
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
	hl attach eth0 mode native || return 1
	if [ "$LAB_FWD" = nat ]; then
		# NAT: the services and nodes from the CLI, the agent adopts
		# them (the servers carry no VIP and no Helios code)
		local s h
		for s in "$PGC_WSVC" "$PGC_RSVC"; do
			hl service add "$s" fwd nat || return 1
			for h in b1 b2; do
				hl node add "$s" "$(lab_addr4 "$h")" || return 1
			done
		done
	else
		pgc_ipip_vips || return 1
	fi
	rf_pg_client || return 1

	PG_BASE=$(pg_base_new) || return 1
	echo "$PG_BASE" >"$LAB_DIR/pg_base"
	pgc_cluster "$PG_BASE" || return 1
	pg_sql "$PG_BASE/p" "CREATE TABLE r (x int); CREATE TABLE w (id int, at timestamptz)" >/dev/null || return 1
	pg_wait_until "$PG_BASE/s" "SELECT to_regclass('w') IS NOT NULL" || return 1
	# Replay one second behind: a read right after a write is stale there.
	pg_sql "$PG_BASE/s" "ALTER SYSTEM SET recovery_min_apply_delay = '1s'" >/dev/null &&
		pg_sql "$PG_BASE/s" "SELECT pg_reload_conf()" >/dev/null || return 1
	pg_wait_until "$PG_BASE/s" "SELECT current_setting('recovery_min_apply_delay') = '1s'" ||
		return 1
	agent_conf "$LAB_DIR/agent.conf"
	pgc_agent_start "$LAB_DIR/agent.conf" || return 1
	poll 100 writes_on p || return 1
	poll 100 reads_on s || return 1
}

rf_setup() {
	e2e_setup
	PG_BASE=$(cat "$LAB_DIR/pg_base")
}

rf_teardown_file() {
	[ -n "${LAB_DIR:-}" ] && [ -f "$LAB_DIR/pg_base" ] && pg_base_destroy "$(cat "$LAB_DIR/pg_base")"
	lab_destroy
}

# The write and read services of pgcluster.bash; the read service follows
# the write service's clients for 5 s, and the delayed standby stays
# usable (lag thresholds well above its second).
agent_conf() {
	local check="check = { kind = \"postgres\"; conninfo = \"user=postgres dbname=postgres\";
              interval = $INTERVAL; timeout = 0.4; rise = 1; fall = 2;
              lag_degraded = 30; lag_unhealthy = 60; };"
	local nodes="nodes = ( { addr = \"$(lab_addr4 b1)\"; }, { addr = \"$(lab_addr4 b2)\"; } );"
	cat >"$1" <<-EOF
	services = (
	  { service = "$PGC_WSVC"; strategy = "primary"; hold = 10;
	    $check
	    $nodes },
	  { service = "$PGC_RSVC"; strategy = "replica"; fallback = "primary";
	    ryw_of = "$PGC_WSVC"; ryw_window = 5;
	    $check
	    $nodes }
	);
	EOF
}

conninfo() { echo "host=$1 port=$PGC_PORT user=postgres dbname=postgres connect_timeout=2"; }

# ryw_run N: N insert-then-read iterations from the client; the summary line.
ryw_run() {
	lab_exec client timeout 600 "$LAB_DIR/pg_client" ryw "$(conninfo $WVIP)" "$(conninfo $RVIP)" "$1"
}
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }

# replay_state: the standby's delay setting and how far its replay is behind.
replay_state() {
	pg_sql "$PG_BASE/s" "SELECT current_setting('recovery_min_apply_delay'),
		pg_is_in_recovery(), now() - pg_last_xact_replay_timestamp()" | tr '|' ' '
}

rf_ryw() {
	local on off n0 n1 base
	base=$(pg_sql "$PG_BASE/p" "SELECT count(*) FROM r")
	[ "$base" = 0 ] || fail "table r not empty"
	run hl -j service list
	[ "$(jq -r --arg s "$PGC_RSVC" '.[] | select(.service == $s) | .ryw_window_ms' <<<"$output")" = 5000 ] ||
		fail "ryw not set from the file: $output"
	n0=$(reason forwarded-ryw-primary)
	on=$(ryw_run "$RYW_N") || fail "client failed: $on"
	n1=$(reason forwarded-ryw-primary)
	echo "# window 5 s: $on" >&3
	[ "$(field iterations "$on")" = "$RYW_N" ] && [ "$(field failed "$on")" = 0 ] || fail "$on"
	[ "$(field stale "$on")" = 0 ] || fail "stale reads with the window on: $on"
	# Sent there by read-your-writes (a read may also land on the primary
	# by the table: fallback primary while the standby is out).
	echo "# forwarded-ryw-primary: $((n1 - n0))" >&3
	[ $((n1 - n0)) -gt 0 ] || fail "no read sent to the primary by ryw: $on"

	# The same with the window off: the standby answers, a second behind.
	pg_sql "$PG_BASE/p" "TRUNCATE r" >/dev/null
	pg_wait_until "$PG_BASE/s" "SELECT count(*) = 0 FROM r" || fail "the standby never replayed the TRUNCATE"
	hl service set "$PGC_RSVC" ryw-window off
	off=$(ryw_run "$RYW_OFF_N") || fail "client failed: $off"
	echo "# window off: $off" >&3
	[ "$(field stale "$off")" -gt 0 ] ||
		fail "no stale read without the window: $off; standby: $(replay_state)"
	[ "$(reason forwarded-ryw-primary)" = "$n1" ] || fail "ryw counted with the window off"

	hl service set "$PGC_RSVC" ryw-window 5
}

rf_ryw_fresh() {
	pgc_psql $WVIP -c "INSERT INTO r VALUES (-1)" >/dev/null || fail "no write"
	reads_on p || fail "a read right after the write did not go to the primary"
	# Within the 5 s window: once the standby replayed it (1 s delay) and
	# the agent probed it, reads go back to the standby.
	poll 100 reads_on s || fail "reads stayed on the primary: $(hl -j health)"
}

rf_ryw_bad() {
	run hl service set "$PGC_RSVC" ryw-of "$PGC_RSVC"
	assert_failure
	assert_output --partial "cannot follow itself"
	run hl service set "$PGC_RSVC" ryw-of 198.18.1.99:5432/tcp
	assert_failure
	assert_output --partial "no service"
	run hl service set "$PGC_RSVC" ryw-window 61
	assert_failure
	run hl service set "$PGC_RSVC" strategy maglev ryw-of 198.18.1.99:5432/tcp
	assert_failure
	run hl -j service list
	[ "$(jq -r --arg s "$PGC_RSVC" '.[] | select(.service == $s) | .strategy' <<<"$output")" = replica ] ||
		fail "strategy changed by a refused command: $output"
	run hl -j service list
	[ "$(jq -r --arg s "$PGC_RSVC" '.[] | select(.service == $s) | .ryw_window_ms' <<<"$output")" = 5000 ] ||
		fail "settings changed: $output"
}

# rf_pg_client: build tests/e2e/pg_client.c into $LAB_DIR/pg_client.
rf_pg_client() {
	cc -O2 -Wall -o "$LAB_DIR/pg_client" "$BATS_TEST_DIRNAME/pg_client.c" \
		-I"$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)" -lpq
}

# writers_start: WRITERS clients holding write connections, inserting every
# 50 ms, output in $LAB_DIR/log/writer-N.log.
writers_start() {
	local i
	rm -f "$LAB_DIR/stop"
	for ((i = 1; i <= WRITERS; i++)); do
		lab_spawn client "writer-$i" "$LAB_DIR/pg_client" writer "$(conninfo $WVIP)" \
			"$i" 50 120 "$LAB_DIR/stop"
	done
	for ((i = 1; i <= WRITERS; i++)); do
		poll 100 grep -q connected "$LAB_DIR/log/writer-$i.log" || return 1
	done
}
all_broken() {
	local i
	for ((i = 1; i <= WRITERS; i++)); do
		grep -q '^broken' "$LAB_DIR/log/writer-$i.log" || return 1
	done
}
generation() {
	hl -j service list | jq -r --arg s "$PGC_WSVC" '.[] | select(.service == $s) | .generation // 0'
}
gen_above() { [ "$(generation)" -gt "$1" ]; }
foreign() { [ "$(node_health "$1" b1 foreign)" = true ]; }

rf_fence() {
	local gen0 t0 tc last i rows_p rows_s fenced0
	gen0=$(generation)
	[ "$gen0" -ge 1 ] || fail "no generation before the promotion: $(hl -j service list)"
	[ "$(node_health $WVIP b1 timeline)" -ge 1 ] || fail "no timeline: $(hl -j health)"
	fenced0=$(reason reset-fenced)
	writers_start || fail "writers did not connect"
	sleep 0.3	# a few rows on the old primary first
	# The standby is promoted; the old primary keeps running, a primary
	# still, on the old timeline: both answer pg_is_in_recovery() = f.
	pg_sql "$PG_BASE/s" "ALTER SYSTEM RESET recovery_min_apply_delay" >/dev/null
	pg_sql "$PG_BASE/s" "SELECT pg_reload_conf()" >/dev/null
	t0=$(date +%s%N)
	pg_sql "$PG_BASE/s" "SELECT pg_promote(true, 10)" >/dev/null
	poll 200 gen_above "$gen0" || fail "no new generation: $(hl -j health)"
	tc=$(date +%s%N)
	poll 200 all_broken || fail "not every held write connection was reset: $(cat "$LAB_DIR"/log/writer-*.log)"
	[ "$(node_health $WVIP b1 eligible)" = false ] || fail "old primary still used: $(hl -j health)"
	[ "$(node_health $WVIP b2 timeline)" -gt "$(node_health $WVIP b1 timeline)" ] || fail "timelines: $(hl -j health)"
	[ "$(reason reset-fenced)" -ge $((fenced0 + WRITERS)) ] || fail "resets not counted as reset-fenced: $(reason reset-fenced)"
	poll 100 writes_on s || fail "new writes do not reach the new primary"
	sleep 0.5	# the writers go on, on new connections
	touch "$LAB_DIR/stop"
	last=0
	for ((i = 1; i <= WRITERS; i++)); do
		local b
		b=$(grep -m1 '^broken' "$LAB_DIR/log/writer-$i.log" | awk '{ print $2 }' | tr -d :)
		[ "$b" -gt "$last" ] && last=$b
	done
	echo "# promotion -> new generation (confirmed, seen by polling) $(( (tc - t0) / 1000000 )) ms; promotion -> last held connection reset $(( (last - t0) / 1000000 )) ms (probe interval ${INTERVAL}s, writers every 50 ms)" >&3
	# No write reached the old primary after the new one was confirmed.
	rows_p=$(pg_sql "$PG_BASE/p" "SELECT count(*) FROM w WHERE at > to_timestamp($tc / 1e9)")
	[ "$rows_p" = 0 ] || fail "$rows_p writes on the old primary after the confirmation"
	rows_s=$(pg_sql "$PG_BASE/s" "SELECT count(DISTINCT id) FROM w WHERE at > to_timestamp($tc / 1e9)")
	[ "$rows_s" = "$WRITERS" ] || fail "only $rows_s writers wrote on the new primary"
}

# A switchover's drain ends with an RST for every flow still open, NAT
# ones too: write connections held across it (pg_client writers, never
# idle long enough to drain) are reset once `timeout 1` has passed, before
# the hook runs. The hook fails here (exit 3), so the switchover fails and
# releases the hold: the primary stays p and the next tests find the
# cluster as it was.
rf_switchover_reset() {
	local r0 i
	r0=$(reason reset-switchover)
	writers_start || fail "writers did not connect"
	run --separate-stderr hl -j switchover "$PGC_WSVC" to "$(lab_addr4 b2)" timeout 1 \
		hook "exit 3"
	echo "# switchover with a failing hook: $output" >&3
	assert_failure
	jq -e '([.phases[].phase] | index("drain")) and (.ok | not)' <<<"$output" >/dev/null ||
		fail "phases: $output"
	poll 100 all_broken || fail "held write connections not reset: $(cat "$LAB_DIR"/log/writer-*.log)"
	[ "$(reason reset-switchover)" -ge $((r0 + WRITERS)) ] ||
		fail "resets not counted as reset-switchover: $(( $(reason reset-switchover) - r0 ))"
	touch "$LAB_DIR/stop"
	for ((i = 1; i <= WRITERS; i++)); do
		poll 100 grep -q '^done' "$LAB_DIR/log/writer-$i.log" || fail "writer $i did not end"
	done
	writes_on p || fail "writes moved: $(hl health)"
}

rf_foreign() {
	# The old primary's host gets another database on the same address
	# and port: a primary of its own, not of this cluster.
	pg_stop "$PG_BASE/p"
	pg_init_primary "$PG_BASE/x" "$(lab_ns b1)" "$(pgc_listen b1)" "$PGC_NODE_PORT" &&
		pg_start "$PG_BASE/x" || fail "no stranger"
	poll 100 foreign $WVIP || fail "not reported: $(hl -j health)"
	poll 100 foreign $RVIP || fail "not reported for reads: $(hl -j health)"
	[ "$(node_health $WVIP b1 eligible)" = false ] || fail "$(hl -j health)"
	grep -q "system identifier .*never used" "$LAB_DIR/log/agent.log" || fail "not logged"
	run hl health
	assert_output --partial foreign
	local i
	for i in 1 2 3 4; do
		writes_on s || fail "a write did not reach the cluster's primary: $(hl -j health; cat "$LAB_DIR/log/agent.log")"
		reads_on s || fail "a read did not reach the cluster's node"
	done
}
