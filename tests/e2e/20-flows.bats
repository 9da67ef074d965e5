#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Established flows stay on their backend: through weight changes, a drain
# (weight 0: no new flows, existing ones continue) and the removal of another
# node. Removing a node moves only that node's flows.

load lib

setup_file() { e2e_lab_attached; }
teardown_file() { e2e_lab_down; }
teardown() { hold_stop; }

# Hold connections to SVC until every backend has at least one (bounded).
hold_everywhere() {
	local i b missing
	hold_start "$1" 12
	hold_cmd status
	for ((i = 0; i < 8; i++)); do
		missing=0
		for b in b1 b2 b3; do
			[ "$(held_on "$b")" -gt 0 ] || missing=1
		done
		[ $missing -eq 0 ] && return 0
		hold_cmd open 6
	done
	fail "could not place a held connection on every backend: $held"
}

all_alive() {
	hold_cmd status
	[ "$(jq '[.conns[] | select(.backend != null and (.alive | not))] | length' <<<"$held")" -eq 0 ] ||
		fail "a held connection died: $held"
}

survives() {
	local svc=$1 fam
	fam=$(svc_family "$svc")
	svc_setup "$svc" 100 100 100
	hold_everywhere "$svc"

	hl node set "$svc" "$(be_addr b1 "$fam")" weight 300
	all_alive

	hl node set "$svc" "$(be_addr b2 "$fam")" weight 0
	all_alive
	[ "$(node_field "$svc" b2 weight)" = 0 ] || fail "b2 weight not 0 after drain"
	burst "$svc" 200
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "connections failed: $burst"
	[ "$(count b2)" -eq 0 ] || fail "drained b2 got new connections: $burst"
	[ "$(count b1)" -gt 0 ] && [ "$(count b3)" -gt 0 ] || fail "not spread over b1,b3: $burst"

	hl node del "$svc" "$(be_addr b3 "$fam")"
	hold_cmd status
	[ "$(held_alive_on b1)" -eq "$(held_on b1)" ] || fail "b1 flows died: $held"
	[ "$(held_alive_on b2)" -eq "$(held_on b2)" ] || fail "drained b2 flows died: $held"
	burst "$svc" 100
	[ "$(count b1)" -eq 100 ] || fail "want all new connections on b1: $burst"
}

moves_only_its_flows() {
	local svc=$1 fam
	fam=$(svc_family "$svc")
	svc_setup "$svc" 100 100 100
	hold_everywhere "$svc"
	hl node del "$svc" "$(be_addr b2 "$fam")"
	hold_cmd status
	[ "$(held_alive_on b1)" -eq "$(held_on b1)" ] || fail "b1 flows died: $held"
	[ "$(held_alive_on b3)" -eq "$(held_on b3)" ] || fail "b3 flows died: $held"
	# b2's own flows went elsewhere (and were reset there): none still
	# reaches b2 after its removal.
	[ "$(held_alive_on b2)" -eq 0 ] || fail "flows still reach the removed b2: $held"
	burst "$svc" 200
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "connections failed: $burst"
	[ "$(count b2)" -eq 0 ] || fail "removed b2 still gets new connections: $burst"
	assert_spread 0.1 b1=100 b3=100
	run hl -j node list "$svc"
	assert_success
	[ "$(jq --arg a "$(be_addr b2 "$fam")" '[.[] | select(.addr == $a)] | length' <<<"$output")" -eq 0 ] ||
		fail "b2 still listed: $output"
}

@test "IPv4: a held flow survives weight change, drain, removal of another node" {
	survives "$LAB_SVC4"
}

@test "IPv6: a held flow survives weight change, drain, removal of another node" {
	survives "$LAB_SVC6"
}

@test "IPv4: removing a node moves only its flows" {
	moves_only_its_flows "$LAB_SVC4"
}

@test "IPv6: removing a node moves only its flows" {
	moves_only_its_flows "$LAB_SVC6"
}

@test "IPv4: every node drained: held flows continue, new connections are dropped" {
	local nb0 b
	svc_setup "$LAB_SVC4" 100 100 100
	hold_everywhere "$LAB_SVC4"
	for b in b1 b2 b3; do
		hl node set "$LAB_SVC4" "$(lab_addr4 "$b")" weight 0
	done
	all_alive
	nb0=$(reason dropped-no-backend)
	burst "$LAB_SVC4" 4 --timeout 1 --parallel 4
	[ "$(jq .ok <<<"$burst")" -eq 0 ] || fail "new connections got through: $burst"
	[ "$(reason dropped-no-backend)" -gt "$nb0" ] ||
		fail "dropped-no-backend did not count the refused SYNs"
	all_alive
	hl node set "$LAB_SVC4" "$(lab_addr4 b2)" weight 100
	burst "$LAB_SVC4" 50
	[ "$(count b2)" -eq 50 ] || fail "want every new connection on b2: $burst"
}

drops() { hl -j stats | jq '[.reasons | to_entries[] | select(.key | startswith("dropped")) | .value] | add'; }

@test "IPv4: weight changes and node churn under load never drop a new flow" {
	local d0 i pid base w
	svc_setup "$LAB_SVC4" 100 100 100
	hold_everywhere "$LAB_SVC4"
	d0=$(drops)
	base=$(lab_ports 1500)
	lab_client burst "$LAB_VIP4" "$LAB_PORT" --count 1500 --sport-base "$base" \
		--parallel 2 >"$LAB_DIR/churn.json" &
	pid=$!
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		w=$(((i * 37) % 300 + 1))
		hl node set "$LAB_SVC4" "$(lab_addr4 b1)" weight $w
		hl node set "$LAB_SVC4" "$(lab_addr4 b2)" weight $((301 - w))
		if ((i % 2)); then
			hl node del "$LAB_SVC4" "$(lab_addr4 b3)"
		else
			hl node add "$LAB_SVC4" "$(lab_addr4 b3)" weight 100 2>/dev/null ||
				hl node set "$LAB_SVC4" "$(lab_addr4 b3)" weight 100
		fi
	done
	wait "$pid"
	echo "# $i rounds of changes; burst: $(cat "$LAB_DIR/churn.json")" >&3
	[ "$i" -ge 4 ] || skip "the burst ended before the changes could overlap it"
	# `node del` re-selects the deleted node's flows (nodes.c): a
	# connection in flight on b3 at a deletion is reset by its new node,
	# by design. With 2 connections in flight at most, that bounds the
	# errors by 2 a deletion; every other connection must succeed.
	[ "$(jq .errors "$LAB_DIR/churn.json")" -le $(((i + 1) / 2 * 2)) ] ||
		fail "more connections failed than were in flight on b3 at its deletions"
	[ "$(drops)" -eq "$d0" ] || fail "packets dropped during the changes: $(hl -j stats | jq -c .reasons)"
	hold_cmd status
	[ "$(held_alive_on b1)" -eq "$(held_on b1)" ] || fail "b1 flows died: $held"
	[ "$(held_alive_on b2)" -eq "$(held_on b2)" ] || fail "b2 flows died: $held"
}

# Established packets read their service from its copy by id (svc_by_id,
# abi.h): every service has one with its own key, and a deleted one none.
svc_copies() {
	bpftool -j map dump pinned "$LAB_DIR/bpf/dir/svc_by_id" |
		jq -c '[.[] | (.formatted // .) | .value | select(.key.family != 0) |
			{id: .svc.id, port: .key.port}] | sort_by(.id)'
}

@test "service add and del keep the copies by id in svc_by_id" {
	local n copies
	svc_setup "$LAB_SVC4" 100 100 100
	n=$(hl -j service list | jq length)
	copies=$(svc_copies)
	echo "# $n services, copies $copies" >&3
	[ "$(jq length <<<"$copies")" -eq "$n" ] || fail "$n services, copies: $copies"
	hl service del "$LAB_SVC4"
	copies=$(svc_copies)
	[ "$(jq length <<<"$copies")" -eq $((n - 1)) ] || fail "after del, copies: $copies"
	svc_setup "$LAB_SVC4" 100 100 100
	[ "$(svc_copies | jq length)" -eq "$n" ] || fail "after add again: $(svc_copies)"
}

# free_vips (abi.h): every address bucket free but the VIPs' own.
@test "free_vips: every address bucket is free but those of the VIPs" {
	local n services
	svc_setup "$LAB_SVC4" 100 100 100
	services=$(hl -j service list | jq length)
	n=$(bpftool -j map dump pinned "$LAB_DIR/bpf/dir/free_vips" |
		jq '[.[] | .value[] | select(. != "0xff")] | length')
	echo "# $services services, $n bytes of free_vips with a clear bit" >&3
	[ "$n" -ge 1 ] && [ "$n" -le "$services" ] || fail "$n bytes with a clear bit"
}
