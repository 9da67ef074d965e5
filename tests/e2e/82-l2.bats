#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Forwarding mode l2 (`service add SVC fwd l2`): the director rewrites only
# the MACs, the nodes answer the client directly. The lab's backends have
# the VIPs on lo with arp_ignore/arp_announce and run the IPIP decap; this
# file detaches the decap from all of them first, so nothing here can work
# through it (a control test shows an ipip service then gets no answer).

load lib

setup_file() {
	local h
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	for h in $(lab_backends); do
		lab_helios "$h" decap detach eth0 || return 1
	done
	# The fake nodes behind b1: a route via a gateway, in the director only.
	FAKE4=198.19.77.7
	FAKE6=fd00:4845:77::7
	NOROUTE4=198.19.99.9
	export FAKE4 FAKE6 NOROUTE4
	ip -n "$(lab_ns dir)" route add "$FAKE4/32" via "$(lab_addr4 b1)" || return 1
	ip -n "$(lab_ns dir)" -6 route add "$FAKE6/128" via "$(lab_addr6 b1)" || return 1
}
teardown_file() { e2e_lab_down; }

# l2_setup SVC "OPTIONS" W1 W2 W3: (re)create SVC in mode l2 with b1..b3.
l2_setup() {
	local svc=$1 opts=$2 fam i=1 w; shift 2
	fam=$(svc_family "$svc")
	hl service del "$svc" >/dev/null 2>&1 || true
	# shellcheck disable=SC2086 # OPTIONS are words
	hl service add "$svc" fwd l2 $opts || return 1
	for w in "$@"; do
		hl node add "$svc" "$(be_addr "b$i" "$fam")" weight "$w" || return 1
		i=$((i + 1))
	done
}

mac_of() { lab_exec "$1" cat /sys/class/net/eth0/address; }

svc_packets() {
	hl -j stats | jq -r --arg s "$1" '.services[] | select(.service == $s) | .packets'
}

# sniff_start H NAME ADDR: capture on H's eth0 every packet from ADDR until
# a UDP datagram to port 9 (the sentinel), at most 20 s.
sniff_start() {
	local h=$1 name=$2
	lab_spawn "$h" "$name" "$LAB_PY" "$LAB_TOOLS/sniff.py" eth0 --src "$3" \
		--stop-port 9 --count 100000 --timeout 20 \
		--ready "$LAB_DIR/$name.ready"
	poll 100 test -e "$LAB_DIR/$name.ready" || fail "sniffer $name did not start"
}

# sniff_wait NAME: wait for the sniffer, print its capture.
sniff_wait() {
	wait "$(cat "$LAB_DIR/pids/$1")"
	cat "$LAB_DIR/log/$1.log"
}

# udp_from H SRC DST: one UDP datagram from address SRC of H to DST port 9.
udp_from() {
	lab_exec "$1" "$LAB_PY" -c 'import socket, sys
f = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(f, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.sendto(b"sentinel", (sys.argv[2], 9))' "$2" "$3"
}

# The client's connections to VIP have all ended (at most TIME-WAIT left):
# every segment of them the nodes send has been sent.
client_quiet() {
	[ -z "$(lab_exec client ss -Htn state connected exclude time-wait dst "$1")" ]
}

# bypass_ok SVC FAM: the nodes' replies go to the client directly. Captured
# on the director's eth0 (AF_PACKET sees what XDP passes to the stack; a
# reply is no service's packet, so it would be passed) and on the client's,
# every packet from the VIP until a sentinel from the VIP sent afterwards
# by a node to each of them.
bypass_ok() {
	local svc=$1 fam=$2 vip dst_dir dst_client fwd0 pkts0 out0 dcap ccap
	local m1 m2 m3 mdir n
	vip=$(svc_vip "$svc")
	dst_dir=$(be_addr dir "$fam")
	dst_client=$(be_addr client "$fam")
	m1=$(mac_of b1) m2=$(mac_of b2) m3=$(mac_of b3) mdir=$(mac_of dir)
	l2_setup "$svc" "" 100 100 100

	fwd0=$(reason forwarded)
	pkts0=$(svc_packets "$svc")
	out0=$(client_tcp_out)
	sniff_start dir "sniff-dir-$fam" "$vip"
	sniff_start client "sniff-client-$fam" "$vip"
	burst "$svc" 30
	[ "$(jq .ok <<<"$burst")" -eq 30 ] || fail "failed connections: $burst"
	poll 200 client_quiet "$vip" || fail "client connections did not end"
	udp_from b2 "$vip" "$dst_dir" || fail "sentinel to the director not sent"
	udp_from b3 "$vip" "$dst_client" || fail "sentinel to the client not sent"
	dcap=$(sniff_wait "sniff-dir-$fam")
	ccap=$(sniff_wait "sniff-client-$fam")
	echo "# director saw from the VIP: $dcap" >&3
	echo "# client saw $(jq length <<<"$ccap") packets from the VIP, by source MAC: $(jq -c 'group_by(.src_mac) | map({(.[0].src_mac): length}) | add' <<<"$ccap")" >&3

	# The director: nothing from the VIP but the sentinel, which shows the
	# capture does see a node's frames.
	[ "$(jq length <<<"$dcap")" -eq 1 ] ||
		fail "packets from the VIP reached the director: $dcap"
	[ "$(jq -r '.[0].proto' <<<"$dcap")" = 17 ] &&
		[ "$(jq -r '.[0].dport' <<<"$dcap")" = 9 ] ||
		fail "the director's capture missed the sentinel: $dcap"
	[ "$(jq -r '.[0].src_mac' <<<"$dcap")" = "$m2" ] ||
		fail "sentinel not from b2's MAC $m2: $dcap"

	# The client: the replies, every one from a node's MAC, from all three.
	n=$(jq '[.[] | select(.proto == 6)] | length' <<<"$ccap")
	[ "$n" -ge 60 ] || fail "client saw $n TCP packets from the VIP, want >= 60 (30 connections)"
	jq -e --arg a "$m1" --arg b "$m2" --arg c "$m3" \
		'[.[] | select(.proto == 6) | .src_mac] | all(. == $a or . == $b or . == $c)' \
		<<<"$ccap" >/dev/null || fail "a reply not from a node's MAC (director $mdir): $ccap"
	[ "$(jq '[.[] | select(.proto == 6) | .src_mac] | unique | length' <<<"$ccap")" -eq 3 ] ||
		fail "replies not from all three nodes"

	# The director's counters: it forwarded the client's segments, each once,
	# and nothing else.
	n=$(($(client_tcp_out) - out0))
	echo "# client sent $n segments; director forwarded $(($(reason forwarded) - fwd0)), service packets $(($(svc_packets "$svc") - pkts0))" >&3
	[ "$(($(reason forwarded) - fwd0))" -eq "$n" ] || fail "forwarded != client segments"
	[ "$(($(svc_packets "$svc") - pkts0))" -eq "$n" ] || fail "service packets != client segments"
}

# refused ARGS...: one Error: line on stderr naming $want, nothing on
# stdout, non-zero status, configuration unchanged.
snapshot() {
	hl -j service list
	hl -j node list
	hl -j map dump services
	hl -j map dump nodes
}
refused() {
	local before after
	before=$(snapshot) || fail "snapshot failed"
	run --separate-stderr hl "$@"
	echo "# helios-agent $*  -> status $status, stderr: $stderr" >&3
	[ "$status" -ne 0 ] || fail "accepted: helios-agent $*"
	[ "$status" -lt 128 ] || fail "crashed: status $status"
	[[ "$stderr" == Error:* ]] || fail "stderr does not start with 'Error:': $stderr"
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "more than one line: $stderr"
	[[ "$stderr" == *"$want"* ]] || fail "the error does not say '$want': $stderr"
	[ -z "$output" ] || fail "data on stdout with an error: $output"
	after=$(snapshot) || fail "snapshot failed"
	[ "$before" = "$after" ] || fail "configuration changed:
before: $before
after:  $after"
}

@test "control: the backends run no decap, so an ipip service gets no answer" {
	local h
	for h in $(lab_backends); do
		[ -z "$(lab_exec "$h" tc filter show dev eth0 ingress)" ] ||
			fail "$h still has an ingress filter"
	done
	svc_setup "$LAB_SVC4" 100 100 100
	burst "$LAB_SVC4" 3 --timeout 0.5
	[ "$(jq .ok <<<"$burst")" -eq 0 ] || fail "ipip answered without decap: $burst"
	hl service del "$LAB_SVC4"
}

@test "IPv4 l2: 600 connections spread 100/200/300 by weight (maglev), no decap" {
	l2_setup "$LAB_SVC4" "" 100 200 300
	burst "$LAB_SVC4" 600
	assert_spread 0.07 b1=100 b2=200 b3=300
}

@test "IPv6 l2: 600 connections spread 100/200/300 by strategy wrr, no decap" {
	l2_setup "$LAB_SVC6" "strategy wrr" 100 200 300
	burst "$LAB_SVC6" 600
	assert_spread 0.05 b1=100 b2=200 b3=300
}

@test "IPv4 l2: replies bypass the director (captures, MACs, counters)" {
	bypass_ok "$LAB_SVC4" 4
}

@test "IPv6 l2: replies bypass the director (captures, MACs, counters)" {
	bypass_ok "$LAB_SVC6" 6
}

@test "l2: a node behind a gateway, or without a route, is refused by node add" {
	l2_setup "$LAB_SVC4" "" 100
	l2_setup "$LAB_SVC6" "" 100
	want="node $FAKE4 is routed via $(lab_addr4 b1), not directly connected"
	refused node add "$LAB_SVC4" "$FAKE4"
	want="node $FAKE6 is routed via $(lab_addr6 b1), not directly connected"
	refused node add "$LAB_SVC6" "$FAKE6"
	want="unknown fwd 'bogus' (expected: ipip, nat, l2)"
	refused service set "$LAB_SVC4" fwd bogus
	want="node $NOROUTE4 has no route"
	refused node add "$LAB_SVC4" "$NOROUTE4"
	want="node $(lab_addr4 dir) is an address of the director itself"
	refused node add "$LAB_SVC4" "$(lab_addr4 dir)"
	# -j: the error as JSON on stdout
	run hl -j node add "$LAB_SVC4" "$FAKE4"
	[ "$status" -ne 0 ] || fail "accepted with -j"
	jq -e --arg a "$FAKE4" '.error | contains("node " + $a + " is routed via")' \
		<<<"$output" >/dev/null || fail "-j error: $output"
}

@test "l2: the same gateway-routed node is fine for ipip, and service set fwd l2 then refused" {
	local svc="$LAB_VIP4:6000/tcp"
	hl service del "$svc" >/dev/null 2>&1 || true
	hl service add "$svc"
	hl node add "$svc" "$(lab_addr4 b2)"
	hl node add "$svc" "$FAKE4"
	want="service $svc cannot forward l2: node $FAKE4 is routed via $(lab_addr4 b1), not directly connected"
	refused service set "$svc" fwd l2
	[ "$(hl -j service list | jq -r --arg s "$svc" '.[] | select(.service == $s) | .fwd')" = ipip ] ||
		fail "fwd changed"
	# without the indirect node it goes through
	hl node del "$svc" "$FAKE4"
	run hl service set "$svc" fwd l2
	assert_success
	[ "$(hl -j service list | jq -r --arg s "$svc" '.[] | select(.service == $s) | .fwd')" = l2 ] ||
		fail "fwd not l2"
	hl service del "$svc"
}

@test "l2: node setup-hint prints the node's commands for each mode, plain and -j" {
	local s4="$LAB_VIP4:6001/tcp" s6="[$LAB_VIP6]:6001/tcp"
	local i4="$LAB_VIP4:6002/tcp" n6="[$LAB_VIP6]:6002/tcp" out
	for s in "$s4" "$s6" "$i4" "$n6"; do hl service del "$s" >/dev/null 2>&1 || true; done
	hl service add "$s4" fwd l2
	hl service add "$s6" fwd l2
	hl service add "$i4"
	hl service add "$n6" fwd nat

	run hl node setup-hint "$s4"
	assert_success
	echo "$output" | sed 's/^/#   /' >&3
	[ "$(grep -v '^#' <<<"$output")" = "ip addr add $LAB_VIP4/32 dev lo
sysctl -w net.ipv4.conf.all.arp_ignore=1
sysctl -w net.ipv4.conf.all.arp_announce=2" ] || fail "l2 IPv4 commands: $output"
	out=$(hl -j node setup-hint "$s4")
	[ "$(jq -c '[.fwd, .vip, .commands]' <<<"$out")" = \
	  "[\"l2\",\"$LAB_VIP4\",[\"ip addr add $LAB_VIP4/32 dev lo\",\"sysctl -w net.ipv4.conf.all.arp_ignore=1\",\"sysctl -w net.ipv4.conf.all.arp_announce=2\"]]" ] ||
		fail "l2 IPv4 -j: $out"

	run hl node setup-hint "$s6"
	assert_success
	echo "$output" | sed 's/^/#   /' >&3
	[ "$(grep -v '^#' <<<"$output")" = "ip addr add $LAB_VIP6/128 dev lo nodad" ] ||
		fail "l2 IPv6 commands: $output"
	grep -q '^# IPv6 needs no ND setting' <<<"$output" || fail "no ND note: $output"
	out=$(hl -j node setup-hint "$s6")
	[ "$(jq -c '.commands' <<<"$out")" = "[\"ip addr add $LAB_VIP6/128 dev lo nodad\"]" ] &&
		jq -e '.notes | any(startswith("IPv6 needs no ND setting"))' <<<"$out" >/dev/null ||
		fail "l2 IPv6 -j: $out"

	run hl node setup-hint "$i4"
	assert_success
	[ "$(grep -v '^#' <<<"$output" | head -2)" = "helios-agent decap attach DEV vip $LAB_VIP4
ip addr add $LAB_VIP4/32 dev lo" ] || fail "ipip commands: $output"

	run hl node setup-hint "$n6"
	assert_success
	[ -z "$(grep -v '^#' <<<"$output")" ] || fail "nat has commands: $output"
	grep -q 'nothing to change on the node' <<<"$output" || fail "nat: $output"
	out=$(hl -j node setup-hint "$n6")
	jq -e '.fwd == "nat" and .commands == [] and (.notes[0] | startswith("nothing to change on the node"))' \
		<<<"$out" >/dev/null || fail "nat -j: $out"

	run --separate-stderr hl node setup-hint "$LAB_VIP4:6999/tcp"
	[ "$status" -ne 0 ] && [ "$stderr" = "Error: no service $LAB_VIP4:6999/tcp" ] ||
		fail "unknown service: $status $stderr"

	for s in "$s4" "$s6" "$i4" "$n6"; do hl service del "$s"; done
}

@test "l2: the setup-hint commands run as printed and do what they say" {
	local ns line s4="$LAB_VIP4:6003/tcp" s6="[$LAB_VIP6]:6003/tcp"
	ns=$(lab_ns hint)
	ip netns add "$ns"
	echo "$ns" >>"$LAB_DIR/namespaces"
	ip -n "$ns" link set lo up
	hl service add "$s4" fwd l2
	hl service add "$s6" fwd l2
	while read -r line; do
		ip netns exec "$ns" sh -c "$line" >/dev/null || fail "failed: $line"
	done < <(hl node setup-hint "$s4" | grep -v '^#'; hl node setup-hint "$s6" | grep -v '^#')
	ip -n "$ns" addr show dev lo | grep -q "inet $LAB_VIP4/32 " || fail "no $LAB_VIP4/32 on lo"
	ip -n "$ns" addr show dev lo | grep -q "inet6 $LAB_VIP6/128 .*nodad" || fail "no $LAB_VIP6/128 nodad on lo"
	[ "$(ip netns exec "$ns" sysctl -n net.ipv4.conf.all.arp_ignore)" = 1 ] || fail "arp_ignore"
	[ "$(ip netns exec "$ns" sysctl -n net.ipv4.conf.all.arp_announce)" = 2 ] || fail "arp_announce"
	hl service del "$s4"
	hl service del "$s6"
}

# neigh_failed ADDR: the director's neighbour entry for ADDR failed (nobody
# answered ARP/ND).
neigh_failed() { ip -n "$(lab_ns dir)" neigh show "$1" dev eth0 | grep -q FAILED; }
neigh_lladdr() { ip -n "$(lab_ns dir)" neigh show "$1" dev eth0 | grep -q lladdr; }

# resolve_from_dir ADDR: make the director ask ARP/ND for ADDR on its eth0.
resolve_from_dir() {
	ip -n "$(lab_ns dir)" neigh del "$1" dev eth0 2>/dev/null || true
	udp_from dir "$2" "$1"
}

@test "l2: no node answers ARP or ND for the VIP (what the hint says)" {
	local d fam vip own
	d=$(lab_ns dir)
	ip netns exec "$d" sysctl -qw net.ipv4.neigh.eth0.retrans_time_ms=100 \
		net.ipv6.neigh.eth0.retrans_time_ms=100
	for fam in 4 6; do
		if [ "$fam" = 6 ]; then vip=$LAB_VIP6; own=$(lab_addr6 dir); else vip=$LAB_VIP4; own=$(lab_addr4 dir); fi
		# control: a node's own address is answered from a cold entry
		resolve_from_dir "$(be_addr b2 "$fam")" "$own"
		poll 100 neigh_lladdr "$(be_addr b2 "$fam")" || fail "b2 not resolved (IPv$fam)"
		# the VIP, on-link for this test only
		ip -n "$d" route add "$vip" dev eth0
		resolve_from_dir "$vip" "$own"
		poll 100 neigh_failed "$vip" ||
			fail "IPv$fam: $(ip -n "$d" neigh show "$vip" dev eth0)"
		! neigh_lladdr "$vip" || fail "a node answered for $vip"
		ip -n "$d" route del "$vip" dev eth0
		ip -n "$d" neigh del "$vip" dev eth0 2>/dev/null || true
	done
	ip netns exec "$d" sysctl -qw net.ipv4.neigh.eth0.retrans_time_ms=1000 \
		net.ipv6.neigh.eth0.retrans_time_ms=1000
}
