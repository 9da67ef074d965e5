#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Planned switchover (`helios-agent switchover`) with a real PostgreSQL 15
# primary (b1, "p") and streaming standby (b2, "s") behind the director
# (IPIP; the setup of 90-agent.bats, tests/e2e/pgcluster.bash), under a
# write load of 8 pgbench clients (tests/e2e/pgload.sh: a new connection
# per transaction, or persistent connections that reconnect when reset),
# and for comparison a plain failover under the same load. The figures
# (write outage, failed transactions) are printed as TAP comments; the
# tests assert what does not depend on timing: no failed transaction in a
# switchover of new connections, at most one a persistent connection (the
# one it was sending when reset), writes on the new primary, a hold that
# ends when its command dies.

load lib
source "$BATS_TEST_DIRNAME/pg.bash"
source "$BATS_TEST_DIRNAME/pgcluster.bash"

LOAD_S=12		# seconds of load per measurement
LOAD_AT=4		# the change starts this far into it

setup_file() {
	pgc_ipip_lab || return 1
	e2e_skipping && return 0
	# A new connection per transaction, hundreds a second, from the 4000
	# ports the lab gives the client: reuse ports in TIME_WAIT (as busy
	# clients are set up to), or the loads run out of them.
	lab_sysctl client net.ipv4.tcp_tw_reuse=1 || return 1
	pgc_agent_conf "$LAB_DIR/agent.conf"
	# Two loaded cores: the first probes of a freshly promoted server
	# under 8 reconnecting clients can take over the default 0.1 s, which
	# would make it Unhealthy (and reset its flows) mid-measurement.
	sed -i 's/rise = 1;/rise = 1; latency = 1;/' "$LAB_DIR/agent.conf"
	pgc_agent_start "$LAB_DIR/agent.conf" || return 1
	poll 100 writes_on p || return 1
	# hook.sh NEW OLD: the operator's part: stop OLD cleanly (so that it
	# can follow NEW later), then promote NEW.
	cat >"$LAB_DIR/hook.sh" <<-EOF
	#!/bin/bash
	cd / || exit 1
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_BASE/\$2/data" -m fast -w stop >&2 || exit 1
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_BASE/\$1/data" -w promote >&2
	EOF
	chmod +x "$LAB_DIR/hook.sh"
}

setup() {
	e2e_setup
	PG_BASE=$(cat "$LAB_DIR/pg_base")
	before=$(snapshot)
}

# What a refused command must not change (tests/e2e/lib.bash rejects()):
# the services (their flags: the switchover bit) and the holds.
snapshot() {
	hl -j service list && hl -j map dump switchover | md5sum
}

teardown_file() { pgc_teardown_file; }

# load_start NAME [MODE]: the write load on the write VIP, in the client
# (MODE: pgload.sh's, new connections per transaction or persistent ones).
load_start() {
	lab_spawn client "load-$1" "$BATS_TEST_DIRNAME/pgload.sh" "$PG_BIN" \
		"$PGC_WVIP" "$PGC_PORT" 8 "$LOAD_S" "$LAB_DIR/$1" "${2:-new}"
	poll 200 committed "$1" || fail "no transaction committed through $PGC_WVIP"
}

committed() { compgen -G "$LAB_DIR/$1/log.*" >/dev/null; }

# load_result NAME: "commits N failed N max_gap_ms G", once the load ended.
load_result() {
	poll $(((LOAD_S + 20) * 20)) test -s "$LAB_DIR/$1/result" || fail "load $1 did not end"
	# what the failed clients said, as TAP comments
	cat "$LAB_DIR/$1"/c*.out | grep -i "error" | sed 's/client [0-9]*/client N/' |
		sort | uniq -c | sed 's/^/# /' >&3
	cat "$LAB_DIR/$1/result"
}

# field RESULT NAME: one figure of a load result.
field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$1"; }

# rejoin OLD NEW: OLD, stopped, comes back as a standby of NEW.
rejoin() {
	local old=$PG_BASE/$1 new_host=$3
	touch "$old/data/standby.signal"
	echo "primary_conninfo = 'host=$(lab_addr4 "$new_host") port=$PGC_NODE_PORT user=postgres application_name=$1'" \
		>>"$old/data/postgresql.auto.conf"
	chown postgres: "$old/data/standby.signal"
	pg_start "$old" || return 1
	pg_wait_until "$PG_BASE/$2" "SELECT count(*) > 0 FROM pg_stat_replication WHERE application_name = '$1' AND state = 'streaming'"
}

@test "for reference: the load alone, no change of primary, fails nothing" {
	local res
	load_start base
	res=$(load_result base)
	echo "# 8 pgbench clients (-C), no change: $res" >&3
	[ "$(field "$res" failed)" -eq 0 ] || fail "failed transactions: $res"
	[ "$(field "$res" commits)" -gt 0 ] || fail "$res"
}

@test "switchover refuses what it cannot do, changing nothing" {
	local held0=$(reason held-switchover)
	rejects switchover "$PGC_WSVC" to 198.18.9.9
	[[ "$stderr" == *"not a node"* ]] || fail "$stderr"
	rejects switchover "$PGC_WSVC" to "$(lab_addr4 b1)"
	[[ "$stderr" == *"primary of $PGC_WSVC already"* ]] || fail "$stderr"
	rejects switchover "$PGC_RSVC" to "$(lab_addr4 b2)"
	[[ "$stderr" == *"not a write service"* ]] || fail "$stderr"
	rejects switchover "$PGC_WSVC" to "$(lab_addr4 b2)" timeout x
	rejects switchover "$PGC_WSVC" to "$(lab_addr4 b2)" bogus 1
	rejects switchover "$PGC_WSVC" b2
	run hl -j switchover "$PGC_WSVC" to 198.18.9.9
	[ "$status" -ne 0 ] && jq -e .error <<<"$output" >/dev/null || fail "-j error: $output"
	writes_on p || fail "writes moved"
	[ "$(reason held-switchover)" = "$held0" ] || fail "a refused switchover held connections"
}

@test "switchover under pgbench: no failed transaction, writes move to the new primary" {
	local res held0=$(reason held-switchover)
	load_start sw
	sleep "$LOAD_AT"	# load before the change (not a synchronisation)
	run --separate-stderr hl -j switchover "$PGC_WSVC" to "$(lab_addr4 b2)" timeout 5 \
		hook "$LAB_DIR/hook.sh s p"
	echo "# $output" >&3
	assert_success
	jq -e '.ok and ([.phases[].phase] | index("confirm")) and .from == "'"$(lab_addr4 b1)"'"' <<<"$output" >/dev/null ||
		fail "phases: $output"
	res=$(load_result sw)
	echo "# planned switchover under 8 pgbench clients (-C): $res" >&3
	[ "$(field "$res" failed)" -eq 0 ] || fail "failed transactions: $res"
	[ "$(field "$res" commits)" -gt 0 ] || fail "$res"
	writes_on s || fail "writes not on the new primary: $(hl health)"
	[ "$(reason held-switchover)" -gt "$held0" ] || fail "no connection was held"
	rejoin p s b2 || fail "p did not come back as a standby of s"
	poll 200 state_is "$PGC_WVIP" b1 healthy || fail "$(hl health)"
}

# Persistent connections (a pool's, or an application's own) never drain:
# they write on the old primary until `timeout`, then each gets an RST on
# its next packet, so the transaction it was sending fails (at most one a
# connection: its reconnect is held until the release, then lands on the
# new primary). The figures are printed, not asserted, except that count.
# Back from s to p, so the cluster is as it was for the tests after this.
@test "switchover under persistent pgbench connections (reconnecting): outage and failed transactions" {
	local res
	load_start persist persistent
	sleep "$LOAD_AT"	# load before the change (not a synchronisation)
	run --separate-stderr hl -j switchover "$PGC_WSVC" to "$(lab_addr4 b1)" timeout 1 \
		hook "$LAB_DIR/hook.sh p s"
	echo "# $output" >&3
	assert_success
	res=$(load_result persist)
	echo "# planned switchover (drain timeout 1 s) under 8 persistent pgbench clients, reconnecting at once after a reset: $res" >&3
	[ "$(field "$res" commits)" -gt 0 ] || fail "$res"
	[ "$(field "$res" failed)" -le 8 ] || fail "more than one failed transaction a connection: $res"
	writes_on p || fail "writes not on the new primary: $(hl health)"
	rejoin s p b1 || fail "s did not come back as a standby of p"
	poll 200 state_is "$PGC_WVIP" b2 healthy || fail "$(hl health)"
}

@test "a switchover whose command dies: the hold ends by itself" {
	rm -f "$LAB_DIR/hook.pid"
	lab_spawn dir switchover "$HELIOS" --bpffs "$LAB_DIR/bpf/dir" switchover \
		"$PGC_WSVC" to "$(lab_addr4 b2)" timeout 0 \
		hook "echo \$\$ >$LAB_DIR/hook.pid; exec sleep 60"
	poll 200 test -s "$LAB_DIR/hook.pid" || fail "hook not started: $(cat "$LAB_DIR/log/switchover.log")"
	# Held now: a new write connection does not get through.
	run landed_on "$PGC_WVIP"
	assert_output ""
	kill -KILL "$(cat "$LAB_DIR/pids/switchover")" "$(cat "$LAB_DIR/hook.pid")"
	# The lease runs out: writes are taken again, by the same primary.
	poll 200 writes_on p || fail "still held: $(hl -j stats)"
}

@test "for comparison: failover (primary killed, standby promoted) under the same load" {
	local res
	load_start fo
	sleep "$LOAD_AT"
	pg_stop "$PG_BASE/p"
	pg_sql "$PG_BASE/s" "SELECT pg_promote(true, 10)" >/dev/null
	res=$(load_result fo)
	echo "# unplanned failover under 8 pgbench clients (-C), promotion at once: $res" >&3
	poll 200 writes_on s || fail "writes not on the promoted node: $(hl health)"
	[ "$(field "$res" commits)" -gt 0 ] || fail "$res"
}
