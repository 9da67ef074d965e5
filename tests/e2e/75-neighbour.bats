#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The director's next hops outlive its neighbour table: neighbour entries
# age out and get flushed in production, and new flows must still reach the
# backends (the data path may not drop them while the kernel re-resolves).

load lib

setup_file() {
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	svc_setup "$LAB_SVC4" 100 100 100
	svc_setup "$LAB_SVC6" 100 100 100
}
teardown_file() { e2e_lab_down; }

# New connections keep working for ~3 s after the director's neighbour table
# is flushed (longer than the next-hop refresh interval of 1 s, so the data
# path's periodic re-resolution is exercised).
survives_flush() {
	local svc=$1 i failed=0
	ip -n "$(lab_ns dir)" neigh flush all
	for ((i = 0; i < 12; i++)); do
		BURST_QUIET=1 burst "$svc" 10 --timeout 1 --parallel 10
		failed=$((failed + $(jq .errors <<<"$burst")))
		sleep 0.25
	done
	[ $failed -eq 0 ] || fail "$failed of 120 connections failed after a neighbour flush"
}

@test "IPv4: new flows still reach every backend after the director's neighbours are flushed" {
	survives_flush "$LAB_SVC4"
	burst "$LAB_SVC4" 150
	assert_spread 0.12 b1=1 b2=1 b3=1
}

@test "IPv6: new flows still reach every backend after the director's neighbours are flushed" {
	survives_flush "$LAB_SVC6"
	burst "$LAB_SVC6" 150
	assert_spread 0.12 b1=1 b2=1 b3=1
}

@test "a node added with a cold neighbour table is reachable at once" {
	ip -n "$(lab_ns dir)" neigh flush all
	hl node del "$LAB_SVC4" "$(lab_addr4 b3)"
	ip -n "$(lab_ns dir)" neigh flush all
	hl node add "$LAB_SVC4" "$(lab_addr4 b3)" weight 30000
	burst "$LAB_SVC4" 60 --timeout 1
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "connections failed: $burst"
	[ "$(count b3)" -gt 40 ] || fail "b3 (weight 30000 of 30200) got few connections: $burst"
}

# All of a burst succeeded and b3 answered some of it.
b3_serves() {
	BURST_QUIET=1 burst "$LAB_SVC4" 30 --timeout 1 --parallel 10
	[ "$(jq .errors <<<"$burst")" -eq 0 ] && [ "$(count b3)" -gt 0 ]
}

@test "a node added while its host is unreachable takes flows once the host is back" {
	svc_setup "$LAB_SVC4" 100 100
	ip -n "$(lab_ns b3)" link set eth0 down
	ip -n "$(lab_ns dir)" neigh flush to "$(lab_addr4 b3)"
	run hl node add "$LAB_SVC4" "$(lab_addr4 b3)" weight 100
	echo "# node add while b3 is down: status $status: $output" >&3
	assert_success
	ip -n "$(lab_ns b3)" link set eth0 up
	# Within ~5 s of b3 answering again, every new flow must succeed.
	poll 10 b3_serves || {
		echo "# director neighbours: $(ip -n "$(lab_ns dir)" neigh show | tr '\n' ';')" >&3
		fail "b3 still unreachable through the director: $burst; dropped-no-route $(reason dropped-no-route)"
	}
}
