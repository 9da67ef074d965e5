#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Full NAT (`service add SVC fwd nat`) with plain TCP servers: the backends
# run no Helios code and carry no VIP (tcp_server.py listens on their own
# addresses, LAB_FWD=nat). The director, one-armed on the bridge, rewrites
# client -> VIP:port into SNAT address -> node:port and the node's replies
# back into VIP:port -> client, both with XDP_TX.

load lib

PORT=$LAB_PLAIN_PORT	# the nodes' port: the VIP's port (5432) is translated

setup_file() {
	export LAB_FWD=nat
	export LAB_SERVER_IDLE=300	# the idle connection test takes a minute
	e2e_lab_attached
}
teardown_file() { e2e_lab_down; }
teardown() {
	hold_stop
	[ -z "${FILLED:-}" ] || nat_fill delete --max "$FILLED" ${FILL_SNAT:+--snat "$FILL_SNAT"} >/dev/null
	FILLED= FILL_SNAT=
}

# nat_node B FAM [PORT]: a node as ADDR:PORT, [ADDR]:PORT for IPv6.
nat_node() {
	local p=${3:-$PORT}
	if [ "$2" = 6 ]; then echo "[$(lab_addr6 "$1")]:$p"; else echo "$(lab_addr4 "$1"):$p"; fi
}

# nat_setup SVC W1 W2 W3: (re)create SVC in NAT mode, b1..b3 on port PORT.
nat_setup() {
	local svc=$1 fam i=1 w; shift
	fam=$(svc_family "$svc")
	hl service del "$svc" >/dev/null 2>&1 || true
	hl service add "$svc" fwd nat || return 1
	for w in "$@"; do
		hl node add "$svc" "$(nat_node "b$i" "$fam")" weight "$w" || return 1
		i=$((i + 1))
	done
}

# peers B PORT: the remote addresses of B's established connections on its
# local PORT, sorted and unique (what the node sees as its client).
peers() {
	lab_exec "$1" ss -Htn state established "( sport = :$2 )" |
		awk '{ a = $NF; sub(/:[0-9]+$/, "", a); gsub(/[][]/, "", a); print a }' | sort -u
}

# conns [SVC]: `conn list -j [SVC]`
conns() { hl -j conn list "$@"; }

# The NAT table has room for HL_NAT_FLOWS (262144) flows, fixed at build:
# rather than open that many connections, nat_fill.py fills it with
# synthetic established flows of a filler service (on b1) and can leave a
# given number free. nat_fill fill|delete [ARGS]
FILL_VIP=198.18.1.20
nat_fill() {
	local cmd=$1; shift
	"$LAB_PY" "$LAB_TOOLS/nat_fill.py" "$cmd" "$LAB_DIR/bpf/dir/nat" \
		--vip "$FILL_VIP:$LAB_PORT" --node "$(lab_addr4 b1):$PORT" "$@"
}

# fill_table [LEAVE]: the filler service, then the table filled but for
# LEAVE flows; sets $fill (nat_fill.py's JSON).
fill_table() {
	filler "--leave" "${1:-0}" || return 1
	[ "$(jq .full <<<"$fill")" = true ] || fail "the nat map did not fill up: $fill"
}

# filler ARGS...: the filler service, then nat_fill.py fill ARGS.
filler() {
	local svc="$FILL_VIP:$LAB_PORT/tcp" sid nid
	hl service del "$svc" >/dev/null 2>&1 || true
	hl service add "$svc" fwd nat || return 1
	hl node add "$svc" "$(lab_addr4 b1):$PORT" || return 1
	sid=$(hl -j service list | jq --arg s "$svc" '.[] | select(.service == $s) | .id')
	nid=$(hl -j map dump nodes | jq --argjson s "$sid" '.[] | select(.svc_id == $s) | .id')
	FILLED=300000	# until known: more than the table holds
	fill=$(nat_fill fill --svc-id "$sid" --node-id "$nid" "$@") || return 1
	FILLED=$(jq '.inserted + (.left_free // 0)' <<<"$fill")
	echo "# nat table: $fill" >&3
}

# nat_clean: no flows left of any service. Earlier tests' closed flows would
# leave with the sweep and make room in a table filled to the brim.
nat_clean() {
	local s
	for s in $(hl -j service list | jq -r '.[].service'); do
		hl conn flush "$s" >/dev/null || return 1
	done
	[ "$(conns | jq length)" -eq 0 ] || fail "flows left after conn flush: $(conns | jq -c '.[0]')"
}

# nat_flows SVC: how many flows of SVC the NAT table holds (live or not).
nat_flows() { conns "$1" | jq length; }

@test "the backends run no Helios code and carry no VIP" {
	local b
	for b in b1 b2 b3; do
		run ip -n "$(lab_ns "$b")" addr show dev lo
		refute_output --partial "$LAB_VIP4"
		refute_output --partial "$LAB_VIP6"
		run tc -n "$(lab_ns "$b")" filter show dev eth0 ingress
		assert_output ""
		run ip -n "$(lab_ns "$b")" link show dev eth0
		refute_output --partial xdp
		# (a fresh bpffs holds maps.debug and progs.debug only)
		run find "$LAB_DIR/bpf/$b" -mindepth 1 ! -name '*.debug'
		assert_output ""
	done
}

@test "IPv4: new connections spread by weight; every reply comes back through the director" {
	local replies0
	nat_setup "$LAB_SVC4" 100 200 300
	replies0=$(reason forwarded-nat-reply)
	burst "$LAB_SVC4" 600
	assert_spread 0.06 b1=100 b2=200 b3=300
	# Each connection: at least SYN-ACK, greeting, FIN from the node.
	[ "$(reason forwarded-nat-reply)" -ge $((replies0 + 3 * 600)) ] ||
		fail "replies not translated by the director: $(hl -j stats | jq -c .reasons)"
}

@test "the strategy is honoured: srchash puts every connection of one client on one node" {
	nat_setup "$LAB_SVC4" 100 100 100
	run hl service set "$LAB_SVC4" strategy srchash
	assert_success
	burst "$LAB_SVC4" 60
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "failed connections: $burst"
	[ "$(jq '.counts | length' <<<"$burst")" -eq 1 ] || fail "more than one node: $burst"
	run hl service set "$LAB_SVC4" strategy wrr
	assert_success
	burst "$LAB_SVC4" 300
	assert_spread 0.05 b1=1 b2=1 b3=1
}

@test "IPv4: conn list -j shows held connections; the node sees the SNAT address on its own port" {
	nat_setup "$LAB_SVC4" 100 100 100
	hold_start "$LAB_SVC4" 9
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 9 ] || fail "not all up: $held"
	run conns "$LAB_SVC4"
	assert_success
	local list b n
	# Earlier tests' closed flows of this VIP may still wait for the sweep.
	list=$(jq -c '[.[] | select(.live)]' <<<"$output")
	echo "# conn list, first live flow: $(jq -c '.[0]' <<<"$list")" >&3
	[ "$(jq 'length' <<<"$list")" -eq 9 ] || fail "want 9 live flows: $(jq -c '[.[] | [.client_port, .node, .state]]' <<<"$list")"
	for b in b1 b2 b3; do
		n=$(jq --arg a "$(lab_addr4 "$b")" --argjson p "$PORT" --arg s "$(lab_addr4 dir)" \
			'[.[] | select(.node == $a and .node_port == $p and .state == "established" and .snat == $s)] | length' <<<"$list")
		[ "$n" -eq "$(held_on "$b")" ] || fail "$b holds $(held_on "$b"), conn list says $n: $list"
		[ "$(held_on "$b")" -eq 0 ] || [ "$(peers "$b" "$PORT")" = "$(lab_addr4 dir)" ] ||
			fail "$b sees its clients as $(peers "$b" "$PORT"), want the director $(lab_addr4 dir)"
	done
	[ "$(jq --arg c "$(lab_addr4 client)" --arg v "$LAB_VIP4" '[.[] | select(.client == $c)] | length' <<<"$list")" -eq 9 ] ||
		fail "client address missing: $list"
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 9 ] || fail "a held connection died: $held"
}

@test "IPv4: a 2 MB echo through the director both ways, data intact" {
	nat_setup "$LAB_SVC4" 100
	run lab_client echo "$LAB_VIP4" "$LAB_PORT" --bytes 2000000 --sport "$(lab_ports 1)" --timeout 20
	echo "# $output" >&3
	assert_success
}

@test "busy connections live through the NAT table's sweeps" {
	# The expiry sweep walks the table every 2 s; a flow that is busy
	# while a walk runs must not be mistaken for an idle one. Two
	# connections of small round trips for 6 s, one bulk stream; 150000
	# other (synthetic, established) flows make each walk take a while.
	nat_setup "$LAB_SVC4" 100 100 100
	filler --max 150000
	local p1 p2 base
	base=$(lab_ports 2)
	lab_spawn client pp1 "$LAB_PY" "$LAB_TOOLS/tcp_client.py" pingpong "$LAB_VIP4" "$LAB_PORT" --seconds 6 --sport "$base"
	p1=$(cat "$LAB_DIR/pids/pp1")
	lab_spawn client pp2 "$LAB_PY" "$LAB_TOOLS/tcp_client.py" pingpong "$LAB_VIP4" "$LAB_PORT" --seconds 6 --sport $((base + 1))
	p2=$(cat "$LAB_DIR/pids/pp2")
	run lab_client echo "$LAB_VIP4" "$LAB_PORT" --bytes 250000000 --sport "$(lab_ports 1)" --timeout 60
	echo "# $output" >&3
	assert_success
	wait "$p1" "$p2"
	run cat "$LAB_DIR/log/pp1.log" "$LAB_DIR/log/pp2.log"
	echo "# $output" >&3
	[ "$(jq -s '[.[] | select(.ok and .round_trips > 1000)] | length' <<<"$output")" -eq 2 ] ||
		fail "a busy connection broke: $output"
}

@test "IPv6: spread, conn list, the node sees the director, a 2 MB echo" {
	nat_setup "$LAB_SVC6" 100 100 100
	burst "$LAB_SVC6" 300
	assert_spread 0.07 b1=1 b2=1 b3=1
	hold_start "$LAB_SVC6" 6
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 6 ] || fail "not all up: $held"
	run conns "$LAB_SVC6"
	assert_success
	[ "$(jq --arg c "$(lab_addr6 client)" --arg s "$(lab_addr6 dir)" \
		'[.[] | select(.client == $c and .state == "established" and .snat == $s)] | length' <<<"$output")" -eq 6 ] ||
		fail "want 6 established IPv6 flows: $(jq -c '[.[] | [.client, .client_port, .node, .state, .snat]]' <<<"$output")"
	local b
	for b in b1 b2 b3; do
		[ "$(held_on "$b")" -eq 0 ] || [ "$(peers "$b" "$PORT")" = "$(lab_addr6 dir)" ] ||
			fail "$b sees $(peers "$b" "$PORT"), want $(lab_addr6 dir)"
	done
	run lab_client echo "$LAB_VIP6" "$LAB_PORT" --bytes 2000000 --sport "$(lab_ports 1)" --timeout 20
	echo "# $output" >&3
	assert_success
}

# (after the tests that expect the director's first address as the source:
# the kernel may pick the new addresses as a route's source)
@test "service set SVC snat ADDR: the node sees that address, IPv4 and IPv6" {
	lab_snat_addrs
	local svc snat
	for svc in "$LAB_SVC4" "$LAB_SVC6"; do
		snat=$LAB_SNAT4
		[ "$(svc_family "$svc")" = 4 ] || snat=$LAB_SNAT6
		nat_setup "$svc" 100
		run hl service set "$svc" snat "$snat"
		assert_success
		hold_start "$svc" 3
		hold_cmd status
		[ "$(held_alive_on b1)" -eq 3 ] || fail "not all up on b1: $held"
		[ "$(peers b1 "$PORT")" = "$snat" ] ||
			fail "b1 sees $(peers b1 "$PORT"), want the SNAT address $snat"
		hold_stop
		poll 100 eval '! test -S "$HOLD_SOCK"' || fail "the holder did not quit"
	done
}

@test "a full NAT table: new connections fail and are counted, established ones keep working" {
	local full0
	nat_clean
	nat_setup "$LAB_SVC4" 100 100 100
	hold_start "$LAB_SVC4" 6
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 6 ] || fail "not all up: $held"
	fill_table 0
	full0=$(reason dropped-nat-table-full)
	burst "$LAB_SVC4" 10 --timeout 1.5
	[ "$(jq .ok <<<"$burst")" -eq 0 ] || fail "connections got through a full table: $burst"
	[ "$(reason dropped-nat-table-full)" -ge $((full0 + 10)) ] ||
		fail "not counted: dropped-nat-table-full $full0 -> $(reason dropped-nat-table-full)"
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 6 ] ||
		fail "an established connection broke with the table full: $held"

	run nat_fill delete --max "$FILLED"
	assert_success
	FILLED=
	burst "$LAB_SVC4" 30
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "the table has room again, yet: $burst"
}

@test "an idle connection survives 10x the NAT table's room in short connections" {
	# The table is full but for $room flows (nat_fill.py); each round
	# takes all of them, and closed flows must leave it (the sweep; its
	# walks of a full table come about every 5 s) before the next round
	# gets in. The idle connection is made before and never touched.
	local room=200 r full0 t0=$SECONDS
	nat_clean
	nat_setup "$LAB_SVC4" 100 100 100
	run hl conn timeout set closed 1
	assert_success
	hold_start "$LAB_SVC4" 1
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 1 ] || fail "not up: $held"
	fill_table $room
	full0=$(reason dropped-nat-table-full)
	for ((r = 0; r < 10; r++)); do
		BURST_QUIET=1 burst "$LAB_SVC4" $room --parallel 8
		[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "round $r: $burst"
		poll 300 eval '[ "$(nat_flows "$LAB_SVC4")" -le 1 ]' ||
			fail "round $r: closed flows stay in the table: $(nat_flows "$LAB_SVC4")"
	done
	echo "# $((10 * room)) short connections through a table with room for $room, $((SECONDS - t0)) s" >&3
	[ "$(reason dropped-nat-table-full)" -eq "$full0" ] || fail "table-full drops while it had room"
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 1 ] ||
		fail "the idle connection did not survive: $held"
	hl conn timeout set closed 10
}

# The director's own address is the SNAT address by default; its own
# connections to a node (the agent's health probes, an operator's psql)
# take kernel-chosen ports. Every SNAT port of that address towards b1 in
# use: those connections still work, as no SNAT port is an ephemeral one.
@test "the director's own connections to a node never meet a SNAT port" {
	local dir_addr lo ok=0 i
	dir_addr=$(lab_addr4 dir)
	lo=$(lab_exec dir cat /proc/sys/net/ipv4/ip_local_port_range | awk '{print $1}')
	[ "$lo" -gt "$(grep -o 'HL_SNAT_PORT_MAX[[:space:]]*[0-9]*' \
		"$BATS_TEST_DIRNAME/../../include/helios/abi.h" | awk '{print $2}')" ] ||
		fail "the lab's ephemeral ports start at $lo, inside the SNAT range"
	nat_setup "$LAB_SVC4" 100 100 100
	burst "$LAB_SVC4" 3	# the director's address is a SNAT address in use
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "$burst"
	FILL_SNAT=$dir_addr
	filler --snat "$dir_addr" --max 31744 || fail "fill"
	[ "$(jq .inserted <<<"$fill")" -eq 31744 ] || fail "not every SNAT port taken: $fill"
	for i in $(seq 20); do
		lab_exec dir timeout 3 "$LAB_PY" -c "
import socket, sys
s = socket.create_connection(('$(lab_addr4 b1)', $PORT), timeout=2)
sys.exit(0 if s.recv(64) else 1)" && ok=$((ok + 1))
	done
	[ "$ok" -eq 20 ] || fail "$ok of 20 connections from the director to b1 worked"
}
