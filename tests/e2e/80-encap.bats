#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# What the director puts on the wire: captured on the backend's eth0 before
# its decap program runs (AF_PACKET taps come before TC ingress).

load lib

setup_file() { e2e_lab_attached; }
teardown_file() { e2e_lab_down; }

# sniff_during B CMD...: capture IPIP packets on backend B while CMD runs;
# sets $pkts (JSON list, see sniff.py).
sniff_during() {
	local b=$1 name="sniff-$1-$BATS_TEST_NUMBER" pid; shift
	lab_spawn "$b" "$name" "$LAB_PY" "$LAB_TOOLS/sniff.py" eth0 --count 3 \
		--timeout 5 --ready "$LAB_DIR/$name.ready"
	pid=$(cat "$LAB_DIR/pids/$name")
	poll 100 test -e "$LAB_DIR/$name.ready" || fail "sniffer did not start"
	"$@"
	wait "$pid"
	pkts=$(cat "$LAB_DIR/log/$name.log")
	echo "# captured on $b: $pkts" >&3
	[ "$(jq length <<<"$pkts")" -gt 0 ] || fail "no IPIP packet reached $b"
}

# pkt0 FIELD: a field of the first captured packet.
pkt0() { jq -r --arg f "$1" '.[0][$f]' <<<"$pkts"; }

encap_ok() {
	local svc=$1 fam=$2 src=$3
	sniff_during b1 burst "$svc" 2
	[ "$(count b1)" -eq 2 ] || fail "want both connections on b1: $burst"
	[ "$(pkt0 outer_src)" = "$src" ] || fail "outer source $(pkt0 outer_src), want $src"
	[ "$(pkt0 outer_dst)" = "$(be_addr b1 "$fam")" ] || fail "outer destination is not b1"
	if [ "$fam" = 6 ]; then
		[ "$(pkt0 inner_src)" = "$(lab_addr6 client)" ] || fail "inner source is not the client"
		[ "$(pkt0 inner_dst)" = "$LAB_VIP6" ] || fail "inner destination is not the VIP"
	else
		[ "$(pkt0 inner_src)" = "$(lab_addr4 client)" ] || fail "inner source is not the client"
		[ "$(pkt0 inner_dst)" = "$LAB_VIP4" ] || fail "inner destination is not the VIP"
	fi
	[ "$(pkt0 inner_proto)" = 6 ] || fail "inner protocol is not TCP"
	[ "$(pkt0 outer_ttl)" -gt 1 ] || fail "outer TTL $(pkt0 outer_ttl)"
}

@test "IPv4: IPIP from the director's address to the node, client -> VIP inside" {
	svc_setup "$LAB_SVC4" 100
	encap_ok "$LAB_SVC4" 4 "$(lab_addr4 dir)"
}

@test "IPv6: IPv6-in-IPv6 from the director's address to the node, client -> VIP inside" {
	svc_setup "$LAB_SVC6" 100
	encap_ok "$LAB_SVC6" 6 "$(lab_addr6 dir)"
}

@test "attach ... src ADDR sets the outer IPv4 source" {
	ip -n "$(lab_ns dir)" addr add "$LAB_NET4.4/24" dev eth0
	run hl detach eth0
	assert_success
	run hl attach eth0 mode native src "$LAB_NET4.4"
	assert_success
	svc_setup "$LAB_SVC4" 100
	encap_ok "$LAB_SVC4" 4 "$LAB_NET4.4"
}
