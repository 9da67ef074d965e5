#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Bad CLI input on a live director: one "Error: ..." line on stderr, nothing
# on stdout, a non-zero exit, and the configuration left exactly as it was.

load lib

setup_file() {
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	svc_setup "$LAB_SVC4" 100 200 300
	svc_setup "$LAB_SVC6" 100 200 300
}
teardown_file() { e2e_lab_down; }

snapshot() {
	hl service list
	hl node list
	hl -j service list
	hl -j node list "$LAB_SVC4"
	hl -j node list "$LAB_SVC6"
}

setup() {
	e2e_setup
	before=$(snapshot) || fail "snapshot failed"
}


@test "malformed SVC strings are rejected" {
	rejects service add "198.18.1.10:5432"
	rejects service add "198.18.1.10/tcp"
	rejects service add "198.18.1.999:5432/tcp"
	rejects service add "198.18.1.10:70000/tcp"
	rejects service add "198.18.1.10:5432/sctp"
	rejects service add "fd00:4845:1::10:5432/tcp"
	rejects service add "[fd00:4845:1::10:5432/tcp"
	rejects service add "[fd00:4845:1::zz]:5432/tcp"
	rejects service add ""
	rejects node add "198.18.1.10:5432" "$(lab_addr4 b1)"
}

@test "unknown service is rejected by service del, node add/del/set/list, stats" {
	local svc="198.18.1.99:5432/tcp"
	rejects service del "$svc"
	rejects node add "$svc" "$(lab_addr4 b1)"
	rejects node del "$svc" "$(lab_addr4 b1)"
	rejects node set "$svc" "$(lab_addr4 b1)" weight 5
	rejects node list "$svc"
	rejects stats "$svc"
	rejects service del "$LAB_VIP4:5433/tcp"
	rejects service del "$LAB_VIP4:5432/udp"
}

@test "duplicate service and duplicate node are rejected" {
	rejects service add "$LAB_SVC4"
	rejects service add "$LAB_SVC6"
	rejects node add "$LAB_SVC4" "$(lab_addr4 b1)"
	rejects node add "$LAB_SVC4" "$(lab_addr4 b2)" weight 7
	rejects node add "$LAB_SVC6" "$(lab_addr6 b3)"
}

@test "a node of the wrong family is rejected" {
	rejects node add "$LAB_SVC6" "198.18.0.14"
	rejects node add "$LAB_SVC4" "fd00:4845::14"
	rejects node set "$LAB_SVC6" "$(lab_addr4 b1)" weight 5
}

@test "out-of-range and malformed weights are rejected" {
	rejects node add "$LAB_SVC4" 198.18.0.14 weight 70000
	rejects node add "$LAB_SVC4" 198.18.0.14 weight 65536
	rejects node add "$LAB_SVC4" 198.18.0.14 weight abc
	rejects node add "$LAB_SVC4" 198.18.0.14 weight
	rejects node set "$LAB_SVC4" "$(lab_addr4 b1)" weight 70000
	rejects node set "$LAB_SVC4" "$(lab_addr4 b1)" weight 1x
}

@test "a negative weight (weight -1) is rejected with one Error: line" {
	# Words after OBJECT are the command's, not global options: "-1" here
	# is a malformed weight, and the only message is the CLI's own Error:.
	rejects node add "$LAB_SVC4" 198.18.0.14 weight -1
	rejects node set "$LAB_SVC4" "$(lab_addr4 b1)" weight -1
}

@test "unknown node, bad role and bad node address are rejected" {
	rejects node del "$LAB_SVC4" 198.18.0.99
	rejects node set "$LAB_SVC4" 198.18.0.99 weight 5
	rejects node add "$LAB_SVC4" 198.18.0.14 role boss
	rejects node add "$LAB_SVC4" 198.18.0.300
	rejects node add "$LAB_SVC4" 198.18.0.14 colour blue
}

@test "ring sizes that are not prime, or out of range, are rejected" {
	rejects service add "198.18.1.20:5432/tcp" ring 65536
	rejects service add "198.18.1.20:5432/tcp" ring 1000
	rejects service add "198.18.1.20:5432/tcp" ring 0
	rejects service add "198.18.1.20:5432/tcp" ring 16777259
	rejects service add "198.18.1.20:5432/tcp" ring many
}

@test "unknown objects and commands are rejected" {
	rejects frobnicate
	rejects service frobnicate
	rejects node add
	rejects attach nosuchdev0
}

@test "a bad director zone is rejected by attach; settings and attachment stay" {
	local cfg
	cfg=$(hl map dump settings)
	rejects attach eth0 zone "eu west"
	rejects attach eth0 zone 0123456789abcdefg
	rejects attach eth0 zone
	[ "$(hl map dump settings)" = "$cfg" ] || fail "settings changed: $cfg"
	lab_exec dir ip -d link show eth0 | grep -q 'xdp' || fail "eth0 detached"
}

@test "the lab still forwards after all the rejected commands" {
	burst "$LAB_SVC4" 300
	assert_spread 0.08 b1=100 b2=200 b3=300
}
