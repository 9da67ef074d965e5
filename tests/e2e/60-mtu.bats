#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Large transfers through the director. Encapsulation adds 20 (IPv4) or 40
# (IPv6) bytes to every forwarded packet, so a full-size client segment no
# longer fits a 1500-byte path. Two ways out, one test each:
#  - PMTUD: the director answers ICMP frag-needed / packet-too-big and the
#    client lowers its path MTU (every link at 1500);
#  - headroom: the director -> backend path runs at MTU 1540, so nothing is
#    too big and no ICMP is needed.

load lib

setup_file() {
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	svc_setup "$LAB_SVC4" 100 100 100
	svc_setup "$LAB_SVC6" 100 100 100
}
teardown_file() { e2e_lab_down; }

big_echo() {
	run lab_client echo "$1" "$LAB_PORT" --bytes 200000 --timeout 15 --sport "$(lab_ports 1)"
	echo "# echo $1: $output" >&3
	assert_success
}

@test "PMTUD: 200 KB echoed over IPv4 and IPv6 with every MTU at 1500" {
	local tb0
	lab_flush_pmtu
	tb0=$(reason too-big)
	big_echo "$LAB_VIP4"
	big_echo "$LAB_VIP6"
	[ "$(reason too-big)" -gt "$tb0" ] || fail "no too-big verdict counted: PMTUD was not exercised"
	run ip -n "$(lab_ns client)" route get "$LAB_VIP4"
	echo "# client route: $output" >&3
	assert_output --partial "mtu 1480"
	run ip -n "$(lab_ns client)" -6 route get "$LAB_VIP6"
	echo "# client route: $output" >&3
	assert_output --partial "mtu 1460"
}

@test "headroom: 200 KB echoed over IPv4 and IPv6 with MTU 1540 to the backends" {
	local tb0
	lab_set_mtu 1540
	lab_flush_pmtu
	# The director caches each node's egress MTU: add the nodes again so
	# they are resolved with the new MTU.
	svc_setup "$LAB_SVC4" 100 100 100
	svc_setup "$LAB_SVC6" 100 100 100
	tb0=$(reason too-big)
	big_echo "$LAB_VIP4"
	big_echo "$LAB_VIP6"
	[ "$(reason too-big)" -eq "$tb0" ] || fail "too-big verdicts with MTU headroom"
}

@test "many parallel transfers: 8 x 200 KB over IPv4" {
	local i pids=() rc=0 base
	base=$(lab_ports 8)
	for ((i = 0; i < 8; i++)); do
		lab_client echo "$LAB_VIP4" "$LAB_PORT" --bytes 200000 --timeout 20 \
			--sport $((base + i)) >"$LAB_DIR/echo-$i.json" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { rc=1; echo "# transfer $i: $(cat "$LAB_DIR/echo-$i.json")" >&3; }
	done
	[ $rc -eq 0 ] || fail "a parallel transfer failed"
}
