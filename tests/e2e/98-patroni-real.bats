#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Helios in front of a real Patroni cluster (tests/e2e/patroni.bash):
# Debian's Patroni 3.0.2 on b1 and b2, each managing its PostgreSQL 15,
# etcd 3.4 in b3; the director (IPIP) with
#   writes 198.18.1.10:5432: postgres check + patroni_port = 8008
#   reads  198.18.1.11:5432: kind = "patroni" (roles, lag, tags and the
#          workload pools from Patroni's REST API)
# The changes are made through Patroni itself: tags in its file and a
# reload, `patronictl edit-config`, `patronictl switchover` as the hook of
# `helios-agent switchover`. 97-patroni.bats keeps the cases real Patroni
# does not produce on demand (postgres and Patroni disagreeing).

load lib
source "$BATS_TEST_DIRNAME/pg.bash"
source "$BATS_TEST_DIRNAME/pgcluster.bash"
source "$BATS_TEST_DIRNAME/ryw_fence.bash"
source "$BATS_TEST_DIRNAME/patroni.bash"

WRITERS=4

setup_file() {
	local rc=0
	e2e_require || rc=$?
	[ $rc -eq 1 ] && return 0
	[ $rc -eq 0 ] || return 1
	pt_lab || rc=$?
	if [ $rc -eq 2 ]; then
		pt_teardown
		e2e_skip_file "native XDP on veth unavailable in this kernel"
		return 0
	fi
	[ $rc -eq 0 ] || { pt_teardown; return 1; }
	rf_pg_client || return 1
	# w: pg_client's writers; node: the server that took the INSERT.
	pg_sql "$PT_BASE/b1" "CREATE TABLE w (id int, at timestamptz,
		node text DEFAULT current_setting('data_directory'))" >/dev/null || return 1
	pgc_patroni_conf "$LAB_DIR/agent.conf" $PT_PORT
	pgc_agent_start "$LAB_DIR/agent.conf" || return 1
	poll 200 pt_writes_on b1 || return 1
	poll 200 pt_reads_on b2 || return 1
}

setup() {
	e2e_setup
	PT_BASE=$(cat "$LAB_DIR/pg_base")
}

teardown_file() { pt_teardown; }

pt_writes_on() { [ "$(pt_on "$PGC_WVIP")" = "$1" ]; }
pt_reads_on() { [ "$(pt_on "$PGC_RVIP")" = "$1" ]; }

# tag HOST TAGS: HOST's Patroni file gets these tags, and Patroni reloads it.
tag() {
	echo "$2" >"$PT_BASE/$1/tags"
	pt_write_yaml "$1" && kill -HUP "$(pt_pid "$1")"
}

# sync_state HOST: HOST's sync_state in the leader b1's pg_stat_replication.
sync_state() {
	pg_sql "$PT_BASE/b1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$1'"
}

status_is() { [ "$(pt_status "$1" "$2")" = "$3" ]; }

# writers_on HOST T_NS: every writer has written on HOST's server since T_NS.
writers_on() {
	[ "$(pg_sql "$PT_BASE/$1" "SELECT count(DISTINCT id) FROM w
		WHERE node = '$PT_BASE/$1/data' AND at > to_timestamp($2 / 1e9)")" = $WRITERS ]
}

@test "writes reach Patroni's leader, reads its replica; both views agree" {
	[ "$(pt_leader)" = b1 ] || fail "leader: $(pt_ctl list)"
	pt_writes_on b1 || fail "writes not on the leader"
	pt_reads_on b2 || fail "reads not on the replica"
	run hl -j health "$PGC_WSVC"
	jq -e --arg a "$(lab_addr4 b1)" '.[] | select(.addr == $a) | .patroni == "primary" and .role == "primary"' \
		<<<"$output" >/dev/null || fail "$output"
	jq -e '.[0].hold | not' <<<"$output" >/dev/null || fail "holding: $output"
	run hl -j health "$PGC_RSVC"
	jq -e --arg a "$(lab_addr4 b2)" '.[] | select(.addr == $a) | .role == "standby" and .state == "healthy" and (.no_reads | not)' \
		<<<"$output" >/dev/null || fail "$output"
}

@test "a replica Patroni tags noloadbalance gets no reads, until the tag is gone" {
	tag b2 "noloadbalance: true"
	poll 200 status_is b2 /replica 503 || fail "Patroni did not take the tag"
	poll 200 pt_reads_on b1 || fail "reads still on b2: $(hl health)"
	run node_health "$PGC_RVIP" b2 no_reads
	assert_output true
	tag b2 ""
	poll 200 status_is b2 /replica 200 || fail "Patroni kept the tag"
	poll 200 pt_reads_on b2 || fail "reads not back on b2: $(hl health)"
}

@test "synchronous_mode: Patroni's sync standby is the read service's sync pool" {
	poll 200 pool_is b2 async || fail "b2 not async: $(hl -j map dump nodes)"
	# A class whose pool is empty falls back to the primary.
	hl class add "$(lab_addr4 client)/32" name oltp rate conn 100000
	hl class pool oltp "$PGC_RSVC" sync
	poll 200 pt_reads_on b1 || fail "empty sync pool: no fallback to the primary"
	pt_ctl edit-config --set synchronous_mode=true --force >/dev/null
	poll 200 pool_is b2 sync || fail "b2 not sync: $(hl -j map dump nodes)"
	poll 200 pt_reads_on b2 || fail "oltp reads not on the sync standby"
	# The agent read Patroni; Patroni and the leader's PostgreSQL agree.
	[ "$(pt_status b2 /sync)" = 200 ] || fail "Patroni's /sync does not list b2"
	[ "$(sync_state b2)" = sync ] || fail "pg_stat_replication: $(sync_state b2)"
	pt_ctl edit-config --set synchronous_mode=false --force >/dev/null
	poll 200 pool_is b2 async || fail "b2 still sync: $(hl -j map dump nodes)"
	poll 200 pt_reads_on b1 || fail "sync pool empty again: no fallback"
	[ "$(pt_status b2 /async)" = 200 ] || fail "Patroni's /async does not list b2"
	hl class del oltp
	poll 200 pt_reads_on b2
}

@test "helios-agent switchover with patronictl as the hook: held writers reset, new generation, no write on the old leader after" {
	local gen0 sw0 t_hook rows
	gen0=$(generation)
	sw0=$(reason reset-switchover)
	[ "$gen0" -ge 1 ] || fail "no generation: $(hl -j service list)"
	writers_start || fail "writers did not connect"
	poll 100 writers_on b1 0 || fail "the writers do not write"
	cat >"$LAB_DIR/hook.sh" <<-EOF
	#!/bin/sh
	date +%s%N >"$LAB_DIR/hook_t"
	exec env HOME="$LAB_DIR" patronictl -c "$LAB_DIR/patronictl.yml" switchover \
		--leader b1 --candidate b2 --force
	EOF
	chmod +x "$LAB_DIR/hook.sh"
	# Writers never close their connections: drained by an RST after 0.5 s.
	run --separate-stderr hl -j switchover "$PGC_WSVC" to "$(lab_addr4 b2)" timeout 0.5 \
		hook "$LAB_DIR/hook.sh"
	echo "# $output" >&3
	assert_success
	jq -e '.ok and .from == "'"$(lab_addr4 b1)"'" and .to == "'"$(lab_addr4 b2)"'"' \
		<<<"$output" >/dev/null || fail "$output"
	[ "$(pt_leader)" = b2 ] || fail "Patroni's leader: $(pt_ctl list)"
	poll 200 gen_above "$gen0" || fail "no new generation: $(hl -j service list)"
	[ "$(node_health "$PGC_WVIP" b2 timeline)" -ge 2 ] || fail "$(hl -j health)"
	poll 200 all_broken || fail "a held writer was not cut: $(cat "$LAB_DIR"/log/writer-*.log)"
	[ "$(reason reset-switchover)" -ge $((sw0 + WRITERS)) ] ||
		fail "resets: $(reason reset-switchover), before $sw0"
	pt_writes_on b2 || fail "writes not on the new leader"
	t_hook=$(cat "$LAB_DIR/hook_t")
	# Every writer goes on, on the new leader.
	poll 200 writers_on b2 "$t_hook" ||
		fail "not every writer writes on b2: $(cat "$LAB_DIR"/log/writer-*.log)"
	touch "$LAB_DIR/stop"
	# Nothing was written on b1 once the hook ran: held and reset before.
	rows=$(pg_sql "$PT_BASE/b2" "SELECT count(*) FROM w
		WHERE node = '$PT_BASE/b1/data' AND at > to_timestamp($t_hook / 1e9)")
	[ "$rows" = 0 ] || fail "$rows writes on b1 after the hook started"
	grep -h '^broken' "$LAB_DIR"/log/writer-*.log | sed 's/^broken [0-9]*/# broken:/' | sort | uniq -c >&3
	poll 400 pt_is b1 replica || fail "b1 did not rejoin: $(pt_ctl list)"
	poll 200 pt_reads_on b1 || fail "reads not on the new replica b1: $(hl health)"
}
