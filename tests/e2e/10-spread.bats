#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# New connections spread over the nodes in proportion to their weights.
#
# Tolerance: with ~600 connections a share's binomial standard deviation is at
# most 0.02, so ±0.07 (3.4σ for the largest share) passes a correct Maglev;
# equal shares (weights ignored) miss 1/6 and 1/2 by 0.17, a table built from
# weights in the wrong order misses by 0.33.

load lib

setup_file() { e2e_lab_attached; }
teardown_file() { e2e_lab_down; }

@test "IPv4: 600 connections spread 100/200/300 by weight (ring 65537)" {
	svc_setup "$LAB_SVC4" 100 200 300
	burst "$LAB_SVC4" 600
	assert_spread 0.07 b1=100 b2=200 b3=300
}

@test "IPv6: 600 connections spread 100/200/300 by weight (ring 65537)" {
	svc_setup "$LAB_SVC6" 100 200 300
	burst "$LAB_SVC6" 600
	assert_spread 0.07 b1=100 b2=200 b3=300
}

@test "IPv4: changing weights re-spreads new connections (300/100/100)" {
	svc_setup "$LAB_SVC4" 100 200 300
	hl node set "$LAB_SVC4" "$(lab_addr4 b1)" weight 300
	hl node set "$LAB_SVC4" "$(lab_addr4 b2)" weight 100
	hl node set "$LAB_SVC4" "$(lab_addr4 b3)" weight 100
	burst "$LAB_SVC4" 600
	assert_spread 0.07 b1=300 b2=100 b3=100
}

@test "IPv4: a smaller prime ring (ring 1009) still follows the weights" {
	hl service del "$LAB_SVC4" >/dev/null 2>&1 || true
	hl service add "$LAB_SVC4" ring 1009
	hl node add "$LAB_SVC4" "$(lab_addr4 b1)" weight 100
	hl node add "$LAB_SVC4" "$(lab_addr4 b2)" weight 100
	burst "$LAB_SVC4" 400
	assert_spread 0.08 b1=100 b2=100 b3=0
}
