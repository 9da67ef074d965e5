#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Floods. The director here is the `ctsmall` test build (make variants): a
# connection table of 4096 entries and a client-bucket table of 1024, so
# that a flood of 10x the table (40960 SYNs, synflood.py: every one from a
# random address of 198.18.128.0/17 and a random port) runs in seconds.
# Throughout, a long-lived connection does echo round trips (pingpong: it
# stops at the first failure) and 200 held connections sit idle, to be
# echoed after. Reported: round trips, how many held flows the LRU evicted,
# whether the table lookup sent each back to its node.

load lib

HELIOS=$HELIOS_BUILD/variants/ctsmall/helios-agent
CT_SIZE=4096
CLIENT_SIZE=1024
FLOOD=40960
RATE=8000

setup_file() {
	[ -x "$HELIOS" ] || { echo "test build missing: $HELIOS (make variants)" >&2; return 1; }
	e2e_lab_attached
}
teardown_file() { e2e_lab_down; }
teardown() { hold_stop; }

synflood() {
	lab_exec client "$LAB_PY" "$LAB_TOOLS/synflood.py" "$LAB_VIP4" "$LAB_PORT" \
		--count "$1" --rate "$2" --seed "$RANDOM"
}

# pingpong_start SECONDS: the long-lived connection, in the background.
pingpong_start() {
	local port
	port=$(lab_ports 1) || return 1
	lab_spawn client pingpong "$LAB_PY" "$LAB_TOOLS/tcp_client.py" pingpong \
		"$LAB_VIP4" "$LAB_PORT" --seconds "$1" --sport "$port" --timeout 5
}
pingpong_result() {
	poll 600 test -s "$LAB_DIR/log/pingpong.log" || fail "pingpong did not end"
	pp=$(cat "$LAB_DIR/log/pingpong.log")
	echo "# long-lived connection: $pp" >&3
	[ "$(jq .ok <<<"$pp")" = true ] || fail "the long-lived connection failed: $pp"
	[ "$(jq .round_trips <<<"$pp")" -gt 0 ] || fail "no round trip: $pp"
}

# held_entries: "client_port node" of every held flow in the connection table.
held_entries() {
	hl -j conn list "$LAB_SVC4" | jq -r --arg c "$(lab_addr4 client)" \
		'.[] | select(.client == $c) | "\(.client_port) \(.node)"' | sort
}
svc_counter() { hl -j stats "$LAB_SVC4" | jq -r ".services[0].$1"; }
limit() { hl -j stats "$LAB_SVC4" | jq -r --arg l "$1" --arg k "$2" '.services[0].limits[$l][$k]'; }
within() {
	awk -v g="$1" -v w="$2" -v p="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w * p / 100) }'
}

# flood_round NAME: 200 held, the pingpong, the flood; then what became of
# the held flows' entries. Sets $flood, and a0 d0 r0 / a1 d1 r1: `rate
# conn` admitted, dropped and dropped-rate-conn around the flood.
flood_round() {
	local before after gone moved f0 f1 secs
	hold_start "$LAB_SVC4" 200
	hold_cmd status
	before=$(held_entries)
	[ "$(wc -l <<<"$before")" -ge 200 ] || fail "held flows not all in the table"
	f0=$(svc_counter flows)
	secs=$((FLOOD / RATE + 3))
	pingpong_start "$secs"
	a0=$(limit conn admitted) d0=$(limit conn dropped) r0=$(reason dropped-rate-conn)
	flood=$(synflood "$FLOOD" "$RATE")
	a1=$(limit conn admitted) d1=$(limit conn dropped) r1=$(reason dropped-rate-conn)
	echo "# $1: flood $flood" >&3
	pingpong_result
	f1=$(svc_counter flows)
	after=$(held_entries)
	gone=$(comm -23 <(cut -d' ' -f1 <<<"$before") <(cut -d' ' -f1 <<<"$after") | wc -l)
	# every held flow echoes: its next packet found its node again
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive | not)] | length' <<<"$held")" -eq 0 ] ||
		fail "a held flow broke: $held"
	# (the pingpong's own entry, from the same client, is not a held one)
	after=$(join <(echo "$before") <(held_entries))
	moved=$(awk '$2 != $3' <<<"$after" | wc -l)
	echo "# $1: new flows counted $((f1 - f0)); held flows evicted by the flood: $gone of 200, back on the same node: $((gone - moved)), on another node: $moved" >&3
	[ "$moved" -eq 0 ] || fail "$moved held flows changed node"
	[ "$(wc -l <<<"$after")" -eq "$(wc -l <<<"$before")" ] || fail "held flows not back in the table"
}

@test "SYN flood at 10x the connection table, no limits: the long-lived connection never fails" {
	svc_setup "$LAB_SVC4" 100 100 100
	flood_round "no limits"
}

@test "the same flood with rate conn 1000/s: admitted within 5%, the rest shed and counted" {
	local want span
	svc_setup "$LAB_SVC4" 100 100 100
	hl service set "$LAB_SVC4" rate conn 1000/s burst 100
	flood_round "rate conn 1000/s"
	span=$(jq .seconds <<<"$flood")
	want=$(awk -v s="$span" 'BEGIN { printf "%d", 100 + 1000 * s }')
	echo "# admitted $((a1 - a0)) (want $want ±5%), dropped $((d1 - d0)), dropped-rate-conn +$((r1 - r0))" >&3
	within $((a1 - a0)) "$want" 5 || fail "admitted $((a1 - a0)), want $want"
	[ $((d1 - d0)) -eq $((r1 - r0)) ] || fail "limit and reason counters disagree"
	# every SYN of the flood met the limit: admitted + dropped = sent
	within $((a1 - a0 + d1 - d0)) "$(jq .sent <<<"$flood")" 1 || fail "not every SYN counted"
}

# A client held to client-rate while the flood's 40960 new sources churn
# the 1024-entry client table: each time its bucket is evicted it comes
# back full. The bound (README "Strategies and rate limits"): burst + rate
# x span + burst per eviction, and an eviction needs CLIENT_SIZE other
# sources after its last connection, so at most sources/CLIENT_SIZE + 1.
@test "client-rate under address churn: a limited client escapes only by the documented bound" {
	local me base ok span sources want bound
	svc_setup "$LAB_SVC4" 100 100 100
	hl service set "$LAB_SVC4" client-rate conn 10/s burst 5
	me=$(lab_addr4 client)
	pingpong_start 8
	base=$(lab_ports 400) || return 1
	lab_spawn client noisy "$LAB_PY" "$LAB_TOOLS/tcp_client.py" flood "$LAB_VIP4" \
		"$LAB_PORT" --seconds 5 --sport-base "$base" --src "$me=40"
	flood=$(synflood "$FLOOD" "$RATE")
	poll 600 test -s "$LAB_DIR/log/noisy.log" || fail "the noisy client did not end"
	ok=$(jq --arg s "$me" '.sources[$s].ok' "$LAB_DIR/log/noisy.log")
	span=$(jq --arg s "$me" '.sources[$s].span' "$LAB_DIR/log/noisy.log")
	sources=$(jq .sources <<<"$flood")
	want=$(awk -v s="$span" 'BEGIN { printf "%d", 5 + 10 * s }')
	bound=$(awk -v s="$span" -v n="$sources" -v c="$CLIENT_SIZE" -v f="$(jq .seconds <<<"$flood")" \
		'BEGIN { e = n * (s < f ? s / f : 1) / c + 1; printf "%d", 5 + 10 * s + 5 * e }')
	echo "# limited client: $ok admitted of $(jq --arg s "$me" '.sources[$s].offered' "$LAB_DIR/log/noisy.log") offered; its limit alone $want, bound under churn $bound ($sources sources)" >&3
	[ "$ok" -le "$bound" ] || fail "the limited client got $ok, over the bound $bound"
	[ "$(limit client dropped)" -gt 0 ] || fail "nothing dropped by client-rate"
	pingpong_result
}
