#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The user space of `fwd nat` on a live director: nodes as ADDR:PORT, SNAT
# addresses, the checks on a forwarding-mode change, the NAT timeouts, and
# `conn list` / `conn flush`.
#
# The flows of ipip services come from real traffic. The NAT data path is
# not in this branch yet, so NAT flows are written into the pinned `nat`
# map with bpftool (tests/e2e/nat_entry.py builds the entries from the
# ABI's layout): that tests the CLI's own behaviour (pairing the two
# entries, the state, the counters, the flush), not the data path's.

load lib

NAT4="$LAB_VIP4:6543/tcp"
NAT6="[$LAB_VIP6]:6543/tcp"
IPIP2="$LAB_VIP4:6544/tcp"

setup_file() {
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	svc_setup "$LAB_SVC4" 100 100 100 || return 1
	hl service add "$NAT4" fwd nat || return 1
	hl node add "$NAT4" "$(lab_addr4 b1):6432" || return 1
	hl node add "$NAT4" "$(lab_addr4 b1):6433" weight 50 || return 1
	hl node add "$NAT4" "$(lab_addr4 b2)" || return 1
	hl service add "$NAT6" fwd nat || return 1
	hl node add "$NAT6" "[$(lab_addr6 b1)]:6432" || return 1
}
teardown_file() { e2e_lab_down; }
teardown() { hold_stop; }

snapshot() {
	hl service list
	hl -j service list
	hl -j node list "$LAB_SVC4"
	hl -j node list "$NAT4"
	hl -j node list "$NAT6"
	hl conn timeout show
	hl map dump snat_addrs
	hl map dump settings
}

setup() {
	e2e_setup
	before=$(snapshot) || fail "snapshot failed"
}


svc_id() { hl -j service list | jq -r --arg s "$1" '.[] | select(.service == $s) | .id'; }
# node_id SVC ADDR PORT
node_id() {
	hl -j node list "$1" |
		jq -r --arg a "$2" --argjson p "$3" '.[] | select(.addr == $a and .port == $p) | .id'
}

# nat_flow ARGS...: write one NAT flow's two entries (nat_entry.py ARGS).
nat_flow() {
	local line
	"$LAB_PY" "$LAB_TOOLS/nat_entry.py" "$@" >"$LAB_DIR/nat_entry" || return 1
	while read -r line; do
		# shellcheck disable=SC2086
		bpftool map update pinned "$LAB_DIR/bpf/dir/nat" $line || return 1
	done <"$LAB_DIR/nat_entry"
}

nat_entries() { bpftool -j map dump pinned "$LAB_DIR/bpf/dir/nat" | jq length; }

@test "fwd nat services and nodes as ADDR:PORT: listed plain and -j" {
	local b1 b2
	b1=$(lab_addr4 b1) b2=$(lab_addr4 b2)
	[ "$(hl -j service list | jq -r --arg s "$NAT4" '.[] | select(.service == $s) | .fwd')" = nat ] ||
		fail "$(hl -j service list)"
	[ "$(hl -j service list | jq -r --arg s "$LAB_SVC4" '.[] | select(.service == $s) | .fwd')" = ipip ] ||
		fail "default fwd: $(hl -j service list)"
	run hl -j node list "$NAT4"
	echo "# $output" >&3
	[ "$(jq -c '[.[] | [.addr, .port, .own_port, .weight]] | sort' <<<"$output")" = \
	  "[[\"$b1\",6432,true,100],[\"$b1\",6433,true,50],[\"$b2\",6543,false,100]]" ] ||
		fail "nodes: $output"
	run hl node list "$NAT4"
	[[ "$output" == *"$b1:6432 "* && "$output" == *"$b1:6433 "* && "$output" == *"$b2 "* ]] ||
		fail "plain: $output"
	run hl node list "$NAT6"
	[[ "$output" == *"[$(lab_addr6 b1)]:6432 "* ]] || fail "IPv6: $output"
	run hl -j stats "$NAT4"
	[ "$(jq -c '[.services[0].nodes[].port] | sort' <<<"$output")" = "[6432,6433,6543]" ] ||
		fail "stats: $output"
	# set and del by ADDR:PORT; ADDR alone when it is the only node there
	hl node set "$NAT4" "$b1:6433" weight 60
	hl node set "$NAT4" "$b2" weight 90
	hl node set "$NAT4" "$b2:6543" weight 100
	[ "$(hl -j node list "$NAT4" | jq -r '[.[] | .weight] | sort | map(tostring) | join(",")')" = "60,100,100" ] ||
		fail "$(hl -j node list "$NAT4")"
	hl node add "$NAT4" "$b2:7000"
	hl node del "$NAT4" "$b2:7000"
	[ "$(hl -j node list "$NAT4" | jq length)" -eq 3 ] || fail "$(hl node list "$NAT4")"
}

@test "bad nodes are rejected: ports out of range, ports on ipip, ambiguous, no SNAT source" {
	local b1 b3
	b1=$(lab_addr4 b1) b3=$(lab_addr4 b3)
	rejects node add "$NAT4" "$b3:0"
	rejects node add "$NAT4" "$b3:65536"
	rejects node add "$NAT4" "$b3:70000"
	rejects node add "$NAT4" "$b3:"
	rejects node add "$NAT4" "$b3:54x"
	rejects node add "$NAT4" "$b3:-1"
	rejects node add "$NAT4" "[$b3]:6432"
	rejects node add "$NAT6" "[$(lab_addr6 b3)]:6432:1"
	rejects node add "$NAT6" "$b3:6432"
	rejects node add "$NAT4" "$b1:6432"
	[[ "$stderr" == *"already exists"* ]] || fail "$stderr"
	rejects node add "$NAT4" "$(lab_addr4 b2):6543"
	# a port of its own is for nat services only
	rejects node add "$LAB_SVC4" "198.18.0.14:6432"
	[[ "$stderr" == *"only fwd nat"* ]] || fail "$stderr"
	# two nodes at b1: ADDR alone does not say which
	rejects node set "$NAT4" "$b1" weight 5
	[[ "$stderr" == *"2 nodes at $b1"* ]] || fail "$stderr"
	rejects node del "$NAT4" "$b1"
	rejects node del "$NAT4" "$b1:7777"
	rejects node set "$NAT4" "$b1:7777" weight 5
	# no route to it, no SNAT address: no source for the node's packets
	rejects node add "$NAT4" "198.19.9.9:6432"
	[[ "$stderr" == *"no SNAT address for node 198.19.9.9:6432"* ]] || fail "$stderr"
}

@test "snat: set, listed, dumped, off; bad addresses rejected" {
	rejects service set "$NAT4" snat
	rejects service set "$NAT4" snat fd00:4845::3
	rejects service set "$NAT4" snat 0.0.0.0
	rejects service set "$NAT4" snat 198.18.0.3 198.18.0.3
	rejects service set "$NAT4" snat 198.18.0.300
	rejects service set "$NAT4" snat 198.18.0.3 198.18.0.4 198.18.0.5 198.18.0.6 \
		198.18.0.7 198.18.0.8 198.18.0.9 198.18.0.10 198.18.0.11
	rejects service set "$NAT4" snat off 198.18.0.3
	rejects service set "198.18.1.99:6543/tcp" snat 198.18.0.3
	rejects service set "$NAT6" snat 198.18.0.3

	hl service set "$NAT4" snat 198.18.0.3 198.18.0.4
	[ "$(hl -j service list | jq -c --arg s "$NAT4" '.[] | select(.service == $s) | .snat')" = \
	  '["198.18.0.3","198.18.0.4"]' ] || fail "$(hl -j service list)"
	run hl -j map dump snat_addrs
	[ "$(jq -c --arg s "$NAT4" '.[] | select(.service == $s) | [.count, .addrs]' <<<"$output")" = \
	  '[2,["198.18.0.3","198.18.0.4"]]' ] || fail "$output"
	hl service set "$NAT6" snat fd00:4845::3
	hl service set "$NAT4" snat off
	hl service set "$NAT6" snat off
	[ "$(hl -j map dump snat_addrs)" = "[]" ] || fail "$(hl -j map dump snat_addrs)"
}

@test "fwd: bad modes rejected; no ports off nat; no nat without a source for every node" {
	rejects service set "$NAT4" fwd bogus
	rejects service add "198.18.1.20:5432/tcp" fwd bogus
	rejects service add "198.18.1.20:5432/tcp" fwd
	# nodes with a port of their own stay nat
	rejects service set "$NAT4" fwd ipip
	[[ "$stderr" == *"port of its own"* ]] || fail "$stderr"
	rejects service set "$NAT4" fwd l2

	# an ipip node without a route is only a warning; nat needs a source
	hl service add "$IPIP2"
	hl node add "$IPIP2" 198.19.9.9
	before=$(snapshot)
	rejects service set "$IPIP2" fwd nat
	[[ "$stderr" == *"no SNAT address for node 198.19.9.9"* ]] || fail "$stderr"
	hl service set "$IPIP2" snat 198.18.0.3
	hl service set "$IPIP2" fwd nat
	before=$(snapshot)
	rejects service set "$IPIP2" snat off
	hl service set "$IPIP2" fwd ipip
	hl service del "$IPIP2"
}

@test "conn timeout: defaults, set, shown, dumped; bad values rejected" {
	run hl -j conn timeout show
	[ "$(jq -c . <<<"$output")" = \
	  '{"syn-sent":30,"established":7200,"fin":60,"closed":10,"udp":120}' ] ||
		fail "defaults: $output"
	rejects conn timeout set established 0
	rejects conn timeout set established 604801
	rejects conn timeout set established 2h
	rejects conn timeout set established
	rejects conn timeout set idle 5
	rejects conn timeout set
	rejects conn timeout frobnicate
	hl conn timeout set established 600 udp 30
	run hl -j conn timeout show
	[ "$(jq -c . <<<"$output")" = \
	  '{"syn-sent":30,"established":600,"fin":60,"closed":10,"udp":30}' ] || fail "$output"
	run hl conn timeout show
	[[ "$output" == *"established      600 s"* && "$output" == *"(default)"* ]] || fail "$output"
	[ "$(hl -j map dump settings | jq -c '.[0] | [.nat_established, .nat_udp, .nat_fin]')" = \
	  "[600,30,0]" ] || fail "$(hl -j map dump settings)"
	hl conn timeout set established 7200 udp 120
}

@test "conn list and flush: ipip flows from real traffic" {
	local b1 n1 total left
	b1=$(lab_addr4 b1)
	BURST_QUIET=1 burst "$LAB_SVC4" 60
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "$burst"
	run hl -j conn list "$LAB_SVC4"
	total=$(jq length <<<"$output")
	[ "$total" -ge 60 ] || fail "$total flows listed after 60 connections"
	[ "$(jq -r '[.[] | .client] | unique | join(",")' <<<"$output")" = "$(lab_addr4 client)" ] ||
		fail "clients: $output"
	[ "$(jq -r '[.[] | .fwd] | unique | join(",")' <<<"$output")" = ipip ] || fail "$output"
	# every one a node of the service on the service's port; closed
	[ "$(jq -r '[.[] | "\(.node):\(.node_port)"] | unique | join(" ")' <<<"$output")" = \
	  "$(lab_addr4 b1):5432 $(lab_addr4 b2):5432 $(lab_addr4 b3):5432" ] || fail "$output"
	n1=$(hl -j conn list "$LAB_SVC4" node "$b1" | jq length)
	[ "$n1" -gt 0 ] || fail "none on b1"
	run hl conn list "$LAB_SVC4" node "$b1"
	[ "$(grep -c "$b1:5432" <<<"$output")" -eq "$n1" ] || fail "plain: $output"
	run hl conn flush "$LAB_SVC4" node "$b1"
	[ "$status" -eq 0 ] && [[ "$output" == "$n1 flow"*" flushed" ]] || fail "$output"
	[ "$(hl -j conn list "$LAB_SVC4" node "$b1" | jq length)" -eq 0 ] || fail "b1 flows left"
	left=$(hl -j conn list "$LAB_SVC4" | jq length)
	[ "$left" -eq $((total - n1)) ] || fail "$left left of $total - $n1"
	[ "$(hl -j conn flush "$LAB_SVC4")" = "{\"flushed\":$left}" ] || fail "flush all"
	[ "$(hl -j conn list "$LAB_SVC4" | jq length)" -eq 0 ] || fail "flows left"
	burst "$LAB_SVC4" 30
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "forwarding after the flush: $burst"
}

no_live_flows() {
	[ "$(hl -j conn list "$LAB_SVC4" | jq '[.[] | select(.live)] | length')" -eq 0 ]
}

@test "a fwd change is refused while the service has live flows" {
	local n
	hl conn flush "$LAB_SVC4" >/dev/null
	# every strategy notes its clients' FINs: a burst of closed
	# connections leaves entries, none of them live
	BURST_QUIET=1 burst "$LAB_SVC4" 30
	n=$(hl -j conn list "$LAB_SVC4" | jq length)
	[ "$n" -ge 30 ] || fail "$(hl conn list "$LAB_SVC4")"
	poll 100 no_live_flows || fail "$(hl conn list "$LAB_SVC4")"
	hl conn flush "$LAB_SVC4" >/dev/null

	# lc counts flows and marks them closed at a FIN: only open ones count
	hl service set "$LAB_SVC4" strategy lc
	hold_start "$LAB_SVC4" 6
	hold_cmd status
	before=$(snapshot)
	rejects service set "$LAB_SVC4" fwd l2
	[[ "$stderr" == *"has 6 live flows"* ]] || fail "$stderr"
	hold_stop
	poll 100 hl service set "$LAB_SVC4" fwd l2 2>/dev/null || fail "still refused after the close"
	[ "$(hl -j conn list "$LAB_SVC4" | jq '[.[] | select(.live)] | length')" -eq 0 ] ||
		fail "$(hl conn list "$LAB_SVC4")"
	hl service set "$LAB_SVC4" fwd ipip strategy maglev
	burst "$LAB_SVC4" 30
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "$burst"
}

@test "conn list and flush: NAT flows (entries written with bpftool)" {
	local b1 b2 id n1 n2 out
	b1=$(lab_addr4 b1) b2=$(lab_addr4 b2)
	id=$(svc_id "$NAT4")
	n1=$(node_id "$NAT4" "$b1" 6432)
	n2=$(node_id "$NAT4" "$b2" 6543)
	[ -n "$id" ] && [ -n "$n1" ] && [ -n "$n2" ] || fail "ids: $id $n1 $n2"
	nat_flow --client 198.18.0.2:40001 --vip "$LAB_VIP4:6543" --node "$b1:6432" \
		--snat 198.18.0.3:1024 --svc-id "$id" --node-id "$n1" \
		--fwd 10:1000 --reply 8:4000 --age 30 --idle 1
	nat_flow --client 198.18.0.2:40002 --vip "$LAB_VIP4:6543" --node "$b2:6543" \
		--snat 198.18.0.3:1025 --svc-id "$id" --node-id "$n2" \
		--fwd-seen syn,ack,fin --reply-seen syn,ack --fwd 5:300 --reply 4:200
	nat_flow --client 198.18.0.2:40003 --vip "$LAB_VIP4:6543" --node "$b1:6432" \
		--snat 198.18.0.3:1026 --svc-id "$id" --node-id "$n1" \
		--fwd-seen syn --reply-seen "" --fwd 1:60 --reply 0:0
	# idle past the established timeout: listed, not live
	hl conn timeout set established 60
	nat_flow --client 198.18.0.2:40004 --vip "$LAB_VIP4:6543" --node "$b2:6543" \
		--snat 198.18.0.3:1027 --svc-id "$id" --node-id "$n2" \
		--age 100 --idle 70
	[ "$(nat_entries)" -eq 8 ] || fail "$(hl map dump nat)"

	run hl -j conn list "$NAT4"
	echo "# $output" >&3
	[ "$(jq length <<<"$output")" -eq 4 ] || fail "$output"
	out=$(jq -c '[.[] | [.client_port, .node, .node_port, .snat_port, .state, .live,
		.forward_packets, .forward_bytes, .reply_packets, .reply_bytes]] | sort' <<<"$output")
	[ "$out" = "[[40001,\"$b1\",6432,1024,\"established\",true,10,1000,8,4000],[40002,\"$b2\",6543,1025,\"fin\",true,5,300,4,200],[40003,\"$b1\",6432,1026,\"syn-sent\",true,1,60,0,0],[40004,\"$b2\",6543,1027,\"established\",false,1,60,1,60]]" ] ||
		fail "$out"
	[ "$(jq '[.[] | select(.client_port == 40001) | .age_s >= 30 and .age_s < 60 and .idle_s <= 5] | .[0]' <<<"$output")" = true ] ||
		fail "age: $output"
	run hl conn list "$NAT4"
	[[ "$output" == *"198.18.0.2:40001"*"$b1:6432"*"198.18.0.3:1024"*established* ]] ||
		fail "plain: $output"
	[ "$(hl -j conn list "$NAT4" node "$b1" | jq length)" -eq 2 ] || fail "node b1"
	[ "$(hl -j conn list "$NAT4" node "$b1:6433" | jq length)" -eq 0 ] || fail "node b1:6433"
	[ "$(hl -j conn list node "$b1:6432" | jq length)" -eq 2 ] || fail "node b1:6432, any service"
	run hl map dump nat
	[ "$(grep -c '^dir forward' <<<"$output")" -eq 4 ] &&
		[ "$(grep -c '^dir reply' <<<"$output")" -eq 4 ] || fail "$output"

	# three live flows: no mode change
	before=$(snapshot)	# with the established timeout of 60 s
	rejects service set "$NAT4" fwd ipip
	[[ "$stderr" == *"has 3 live flows"* ]] || fail "$stderr"

	run hl conn flush "$NAT4" node "$b1:6432"
	[ "$output" = "2 flows of $NAT4 node $b1:6432 flushed" ] || fail "$output"
	[ "$(nat_entries)" -eq 4 ] || fail "both entries of each: $(hl map dump nat)"
	[ "$(hl -j conn list "$NAT4" | jq -c '[.[] | .client_port] | sort')" = "[40002,40004]" ] ||
		fail "$(hl conn list "$NAT4")"
	[ "$(hl -j conn flush "$NAT4")" = '{"flushed":2}' ] || fail "flush all"
	[ "$(nat_entries)" -eq 0 ] || fail "$(hl map dump nat)"
	hl conn timeout set established 7200
}

@test "conn list and flush: IPv6 NAT flows" {
	local b1 id n1
	b1=$(lab_addr6 b1)
	id=$(svc_id "$NAT6")
	n1=$(node_id "$NAT6" "$b1" 6432)
	nat_flow --client "[$(lab_addr6 client)]:40010" --vip "[$LAB_VIP6]:6543" \
		--node "[$b1]:6432" --snat "[$(lab_addr6 dir)]:2000" --svc-id "$id" \
		--node-id "$n1" --proto udp
	run hl -j conn list "$NAT6"
	[ "$(jq -c '.[0] | [.client, .client_port, .node, .node_port, .snat, .snat_port, .state]' <<<"$output")" = \
	  "[\"$(lab_addr6 client)\",40010,\"$b1\",6432,\"$(lab_addr6 dir)\",2000,\"udp\"]" ] ||
		fail "$output"
	run hl conn list "$NAT6" node "[$b1]:6432"
	[[ "$output" == *"[$(lab_addr6 client)]:40010"*"[$b1]:6432"*"[$(lab_addr6 dir)]:2000"*udp* ]] ||
		fail "$output"
	run hl conn flush "$NAT6" node "$b1"
	[ "$output" = "1 flow of $NAT6 node $b1 flushed" ] || fail "$output"
	[ "$(nat_entries)" -eq 0 ] || fail "$(hl map dump nat)"
}

@test "conn: bad input is rejected" {
	rejects conn frobnicate
	rejects conn list "198.18.1.99:6543/tcp"
	rejects conn list "$NAT4" node 198.18.0.99
	rejects conn list "$NAT4" node fd00:4845::11
	rejects conn list "$NAT4" node "$(lab_addr4 b1):70000"
	rejects conn list node 198.18.0.99
	rejects conn list "$NAT4" extra
	rejects conn list "$NAT4" node
	rejects conn list "$NAT4:5432"
	rejects conn flush
	rejects conn flush node "$(lab_addr4 b1)"
	rejects conn flush "198.18.1.99:6543/tcp"
	rejects conn flush "$NAT4" node 198.18.0.99
	rejects conn flush "$NAT4" node "$(lab_addr4 b1):7777"
	rejects conn flush "$NAT4" node "$(lab_addr4 b1)" extra
}

@test "the lab still forwards after all of it" {
	burst "$LAB_SVC4" 300
	assert_spread 0.08 b1=100 b2=100 b3=100
}
