#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Patroni's view: a real PostgreSQL 15 primary (b1, "p") and streaming
# standby (b2, "s") behind the director (IPIP, pgcluster.bash), and on each
# node a stand-in for Patroni's REST API on port 8008
# (tests/e2e/patroni_server.py) that answers with responses in Patroni
# 3.0's format (tests/unit/patroni/*.json), switched by the tests: the
# cases real Patroni does not produce on demand (postgres and Patroni
# naming different primaries). Real Patroni: 98-patroni-real.bats.
#   writes 198.18.1.10:5432: postgres check + patroni_port = 8008
#   reads  198.18.1.11:5432: kind = "patroni" (roles and lag from Patroni)

load lib
source "$BATS_TEST_DIRNAME/pg.bash"
source "$BATS_TEST_DIRNAME/pgcluster.bash"

PAT_PORT=8008
JSON=$BATS_TEST_DIRNAME/../unit/patroni

setup_file() {
	local h
	pgc_ipip_lab || return 1
	e2e_skipping && return 0
	cp "$JSON/primary.json" "$LAB_DIR/b1.json"
	cp "$JSON/replica-plain.json" "$LAB_DIR/b2.json"
	for h in b1 b2; do
		lab_spawn "$h" "patroni-$h" "$LAB_PY" "$BATS_TEST_DIRNAME/patroni_server.py" \
			"$(lab_addr4 "$h")" $PAT_PORT "$LAB_DIR/$h.json" || return 1
	done
	pgc_patroni_conf "$LAB_DIR/agent.conf" $PAT_PORT
	pgc_agent_start "$LAB_DIR/agent.conf" || return 1
	poll 200 writes_on p || return 1
	poll 200 reads_on s || return 1
}

setup() {
	e2e_setup
	PG_BASE=$(cat "$LAB_DIR/pg_base")
}

teardown_file() { pgc_teardown_file; }

# says HOST FILE: HOST's Patroni now answers with tests/unit/patroni/FILE.
says() { cp "$JSON/$2" "$LAB_DIR/$1.json.new" && mv "$LAB_DIR/$1.json.new" "$LAB_DIR/$1.json"; }

@test "the patroni check reads roles and state from Patroni's JSON" {
	run hl -j health "$PGC_RSVC"
	jq -e --arg a "$(lab_addr4 b2)" '.[] | select(.addr == $a) | .role == "standby" and .state == "healthy" and (.no_reads | not)' \
		<<<"$output" >/dev/null || fail "$output"
	jq -e --arg a "$(lab_addr4 b1)" '.[] | select(.addr == $a) | .role == "primary"' \
		<<<"$output" >/dev/null || fail "$output"
	run hl -j health "$PGC_WSVC"
	jq -e --arg a "$(lab_addr4 b1)" '.[] | select(.addr == $a) | .patroni == "primary"' \
		<<<"$output" >/dev/null || fail "$output"
}

@test "a replica Patroni tags noloadbalance gets no reads (the primary takes them, as fallback says)" {
	says b2 replica.json
	poll 200 reads_on p || fail "reads still on s: $(hl health)"
	run node_health "$PGC_RVIP" b2 no_reads
	assert_output true
	run hl health "$PGC_RSVC"
	assert_output --partial "out of reads"
	says b2 replica-plain.json
	poll 200 reads_on s || fail "reads not back on s: $(hl health)"
}

@test "postgres and Patroni disagree about the primary: writes hold, never split, and the agent says why" {
	local held0
	held0=$(reason held-no-primary)
	# Patroni now names s; postgres still finds p out of recovery.
	says b1 replica-plain.json
	says b2 primary.json
	poll 200 holding || fail "not holding: $(hl health)"
	run hl -j health "$PGC_WSVC"
	jq -e 'all(.[]; .hold_reason == "postgres and Patroni disagree about the primary")' \
		<<<"$output" >/dev/null || fail "$output"
	run hl health "$PGC_WSVC"
	assert_output --partial "holding: postgres and Patroni disagree"
	# The hold may start on an earlier version ("Patroni says none") when b1's
	# answer is read before b2's; each new version is logged.
	poll 200 grep -q "postgres says the primary is $(lab_addr4 b1), Patroni says $(lab_addr4 b2)" \
		"$LAB_DIR/log/agent.log" || fail "$(cat "$LAB_DIR/log/agent.log")"
	run landed_on "$PGC_WVIP"
	assert_output ""	# held: the connection attempt times out
	[ "$(reason held-no-primary)" -gt "$held0" ] || fail "no SYN held"
	# They agree again: writes go on, to p.
	says b1 primary.json
	says b2 replica-plain.json
	poll 200 writes_on p || fail "writes not back on p: $(hl health)"
}
