#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# `detach` removes Helios from the director and traffic falls back to plain
# forwarding: the director's own route sends the VIPs to b1.

load lib

setup_file() { e2e_lab_attached; }
teardown_file() { e2e_lab_down; }

xdp_on_dir() { ip -n "$(lab_ns dir)" link show dev eth0 | grep -q 'xdp'; }

@test "attached: the director's eth0 carries an XDP program and services spread" {
	xdp_on_dir || fail "no XDP program on the director's eth0: $(ip -n "$(lab_ns dir)" link show dev eth0)"
	svc_setup "$LAB_SVC4" 100 100 100
	svc_setup "$LAB_SVC6" 100 100 100
	burst "$LAB_SVC4" 150
	assert_spread 0.12 b1=1 b2=1 b3=1
	burst "$LAB_SVC6" 150
	assert_spread 0.12 b1=1 b2=1 b3=1
}

@test "detach removes the XDP program and restores plain forwarding" {
	run hl detach eth0
	assert_success
	run xdp_on_dir
	assert_failure
	# Service traffic is now routed like any other: all of it to b1.
	burst "$LAB_SVC4" 100
	[ "$(count b1)" -eq 100 ] || fail "after detach, want every IPv4 connection on b1: $burst"
	burst "$LAB_SVC6" 100
	[ "$(count b1)" -eq 100 ] || fail "after detach, want every IPv6 connection on b1: $burst"
	run lab_burst "$LAB_VIP4" "$LAB_PLAIN_PORT" 20
	assert_success
	[ "$(jq -r '.counts.b1' <<<"$output")" -eq 20 ] || fail "plain port: $output"
	run lab_client echo "$LAB_VIP4" "$LAB_PORT" --bytes 200000 --sport "$(lab_ports 1)"
	assert_success
}

@test "attach again after detach: services spread again" {
	run hl attach eth0 mode native
	assert_success
	xdp_on_dir || fail "no XDP program after re-attach"
	svc_setup "$LAB_SVC4" 100 100 100
	svc_setup "$LAB_SVC6" 100 100 100
	burst "$LAB_SVC4" 150
	assert_spread 0.12 b1=1 b2=1 b3=1
	burst "$LAB_SVC6" 150
	assert_spread 0.12 b1=1 b2=1 b3=1
}

@test "generic mode: attach mode generic forwards too, detach removes it" {
	run hl detach eth0
	assert_success
	run hl attach eth0 mode generic
	assert_success
	svc_setup "$LAB_SVC4" 100 100 100
	svc_setup "$LAB_SVC6" 100 100 100
	ip -n "$(lab_ns dir)" link show dev eth0 | grep -q 'xdpgeneric' ||
		fail "no generic XDP program: $(ip -n "$(lab_ns dir)" link show dev eth0)"
	burst "$LAB_SVC4" 150
	assert_spread 0.12 b1=1 b2=1 b3=1
	burst "$LAB_SVC6" 150
	assert_spread 0.12 b1=1 b2=1 b3=1
	run hl detach eth0
	assert_success
	run xdp_on_dir
	assert_failure
}
