#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# `stats` and `node list` (JSON) agree with the traffic actually sent.

load lib

setup_file() { e2e_lab_attached; }
teardown_file() { e2e_lab_down; }

# Wait until the director has forwarded exactly as many packets as the client
# sent since $1 (the client's last ACKs can trail the burst by a moment).
forwarded_matches() {
	local fwd0=$1 out0=$2
	fwd_d=$(($(reason forwarded) - fwd0))
	out_d=$(($(client_tcp_out) - out0))
	[ "$fwd_d" -eq "$out_d" ]
}

stats_agree() {
	local svc=$1 n=90 b fwd0 out0 flows pkts sum_p=0 sum_f=0
	svc_setup "$svc" 100 100 100
	fwd0=$(reason forwarded)
	out0=$(client_tcp_out)
	burst "$svc" $n
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "connections failed: $burst"

	poll 60 forwarded_matches "$fwd0" "$out0" ||
		fail "forwarded grew by $fwd_d, the client sent $out_d TCP segments"

	run hl -j node list "$svc"
	assert_success
	echo "# node list: $output" >&3
	for b in b1 b2 b3; do
		flows=$(node_field "$svc" "$b" flows)
		pkts=$(node_field "$svc" "$b" packets)
		[ "$flows" -eq "$(count "$b")" ] ||
			fail "$b: flows $flows, but it answered $(count "$b") connections"
		if [ "$(count "$b")" -gt 0 ]; then
			[ "$pkts" -gt 0 ] || fail "$b: answered connections but packets = 0"
			[ "$(node_field "$svc" "$b" bytes)" -gt 0 ] || fail "$b: bytes = 0"
		fi
		sum_p=$((sum_p + pkts))
		sum_f=$((sum_f + flows))
	done
	[ "$sum_f" -eq $n ] || fail "flows over all nodes $sum_f, want $n"
	[ "$sum_p" -eq "$fwd_d" ] ||
		fail "node packets sum to $sum_p, forwarded reason grew by $fwd_d"

	run hl -j stats "$svc"
	assert_success
	echo "# stats: $output" >&3
	[ "$(jq '.services | length' <<<"$output")" -eq 1 ] || fail "want one service: $output"
	[ "$(jq -r '.services[0].flows' <<<"$output")" -eq $n ] || fail "service flows != $n"
	[ "$(jq -r '.services[0].packets' <<<"$output")" -eq "$sum_p" ] ||
		fail "service packets != sum of its nodes' packets"
}

@test "IPv4: stats and node list count the flows and packets sent" {
	stats_agree "$LAB_SVC4"
}

@test "IPv6: stats and node list count the flows and packets sent" {
	stats_agree "$LAB_SVC6"
}

@test "traffic to a non-service port is passed and counted as passed-not-service" {
	local pass0
	pass0=$(reason passed-not-service)
	run lab_burst "$LAB_VIP4" "$LAB_PLAIN_PORT" 20
	assert_success
	[ "$(jq .ok <<<"$output")" -eq 20 ] || fail "plain connections failed: $output"
	[ "$(jq -r '.counts.b1' <<<"$output")" -eq 20 ] ||
		fail "non-service traffic should follow the director's route to b1: $output"
	[ $(($(reason passed-not-service) - pass0)) -ge 20 ] ||
		fail "passed-not-service grew by less than 20"
}

@test "plain and JSON output of stats and node list work" {
	run hl stats
	assert_success
	run hl node list "$LAB_SVC4"
	assert_success
	assert_output --partial "$(lab_addr4 b1)"
	run hl -p stats
	assert_success
	jq -e . <<<"$output" >/dev/null || fail "-p stats is not JSON: $output"
	run hl -j service list
	assert_success
	jq -e . <<<"$output" >/dev/null || fail "-j service list is not JSON: $output"
}
