#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Scale-out: three directors behind a router's ECMP, each announcing the
# VIP by BGP through its own BIRD 2 (tests/e2e/scaleout.bash draws the lab).
# Any director sends any packet of a flow to the same backend (Maglev from
# the same configuration), so a director that dies breaks no held flow; a
# director without a usable backend, with `announce off`, or whose agent
# stops, withdraws its route first.

load lib
source "$BATS_TEST_DIRNAME/scaleout.bash"

setup_file() {
	e2e_require
	case $? in 0) ;; 1) return 0 ;; *) return 1 ;; esac
	if ! command -v bird >/dev/null || ! command -v birdc >/dev/null; then
		e2e_skip_file "bird2 not installed (scripts/install-deps.sh)"
		return 0
	fi
	lab_create 0 || return 1
	local rc=0
	so_up || rc=$?
	if [ $rc -eq 2 ]; then
		lab_destroy
		e2e_skip_file "native XDP on veth unavailable in this kernel"
		return 0
	fi
	[ $rc -eq 0 ] || { lab_destroy; return 1; }
	so_start || { lab_destroy; return 1; }
}

teardown_file() { hold_stop; lab_destroy; }

ALL="198.18.0.21 198.18.0.22 198.18.0.23"

# dg DIR ARGS...: the CLI on a scratch bpffs of d1's namespace.
dg() { local d=$1; shift; so_exec d1 "$HELIOS" --bpffs "$LAB_DIR/dg/$d" "$@"; }

dg_digest() { dg "$1" -j service digest "$SO_SVC" | jq -r '.[0].digest'; }

@test "directors built in different orders have the same tables (service digest)" {
	local s d a b i w41
	# scratch nodes behind the router: next hops resolve at once
	ip -n "$(lab_ns d1)" route add 198.18.5.0/24 via 198.18.0.1
	for d in a b; do
		mkdir -p "$LAB_DIR/dg/$d"
		mount -t bpf bpf "$LAB_DIR/dg/$d"
		echo "$LAB_DIR/dg/$d" >>"$LAB_DIR/mounts"
		dg "$d" service add "$SO_SVC" ring 1021 2>/dev/null
	done
	# b holds another service's node first: its ids differ from a's too
	dg b service add 198.18.1.20:80/tcp
	dg b node add 198.18.1.20:80/tcp 198.18.5.99 2>/dev/null
	for i in 1 2 3 4 5 6 7 8 9; do
		dg a node add "$SO_SVC" "198.18.5.$((40 + i))" weight $(( (i % 3 + 1) * 100 )) 2>/dev/null
		dg b node add "$SO_SVC" "198.18.5.$((50 - i))" \
			weight $(( ((10 - i) % 3 + 1) * 100 )) 2>/dev/null
	done
	# the ids of one address differ: the order did
	[ "$(dg a -j node list "$SO_SVC" | jq '.[] | select(.addr == "198.18.5.41") | .id')" != \
	  "$(dg b -j node list "$SO_SVC" | jq '.[] | select(.addr == "198.18.5.41") | .id')" ]
	w41=$(dg a -j node list "$SO_SVC" | jq '.[] | select(.addr == "198.18.5.41") | .weight')
	# one of each builder: Maglev (also random, p2c, srchash), smooth WRR,
	# the node list (rendezvous, lc)
	for s in maglev wrr random rendezvous lc; do
		dg a service set "$SO_SVC" strategy "$s" 2>/dev/null
		dg b service set "$SO_SVC" strategy "$s" 2>/dev/null
		a=$(dg_digest a) b=$(dg_digest b)
		echo "# $s: $a $b" >&3
		[ -n "$a" ] && [ "$a" = "$b" ] || fail "$s: digests differ: $a $b"
		# and the digest sees a difference that matters
		dg b node set "$SO_SVC" 198.18.5.41 weight 150
		[ "$(dg_digest b)" != "$a" ] || fail "$s: a weight change left the digest as it was"
		dg b node set "$SO_SVC" 198.18.5.41 weight "$w41"
	done
}

@test "scaleout warns about strategies that cannot keep a moved flow on its node" {
	local s
	for s in lc p2c wrr random; do
		run --separate-stderr dg a service set "$SO_SVC" strategy "$s" scaleout on
		assert_success
		[[ $stderr == *"scaleout with strategy $s"* ]] || fail "no warning for $s: $stderr"
	done
	for s in maglev rendezvous srchash; do
		run --separate-stderr dg a service set "$SO_SVC" strategy "$s" scaleout on
		assert_success
		[[ $stderr != *scaleout* ]] || fail "warning for $s: $stderr"
	done
}

@test "every director announces the VIP: three ECMP next hops, same tables" {
	local d digest
	so_wait_nexthops "$ALL"
	for d in $SO_DIRECTORS; do
		poll 200 eval '[ "$(so_helios '"$d"' -j health | jq -r ".[0].announce")" = announced ]' ||
			fail "$d: health says $(so_helios "$d" -j health | jq -r '.[0].announce')"
		grep -q "VIP announced" "$LAB_DIR/log/agent-$d.log"
		digest+=" $(so_helios "$d" -j service digest "$SO_SVC" | jq -r '.[0].digest')"
	done
	echo "# digests:$digest" >&3
	[ "$(tr ' ' '\n' <<<"$digest" | sort -u | grep -c .)" -eq 1 ]
}

@test "all three directors take traffic; connections spread by weight" {
	local d before=() i=0
	for d in $SO_DIRECTORS; do before+=("$(so_dir_packets "$d" flows)"); done
	burst "$SO_SVC" 600 --parallel 8
	assert_spread 0.06 b1=100 b2=200 b3=300
	for d in $SO_DIRECTORS; do
		local now
		now=$(so_dir_packets "$d" flows)
		echo "# $d: $((now - before[i])) new flows" >&3
		[ $((now - before[i])) -gt 60 ] || fail "$d took $((now - before[i])) of 600 flows"
		i=$((i + 1))
	done
}

@test "service set SVC announce off withdraws the route; on announces it again" {
	poll 50 eval '[ "$(so_announced d2)" = 1 ]' || fail "metrics: announced $(so_announced d2)"
	so_helios d2 service set "$SO_SVC" announce off
	so_wait_nexthops "198.18.0.21 198.18.0.23"
	[ "$(so_helios d2 -j health | jq -r '.[0].announce')" = off ]
	grep -q "VIP not announced: announce off" "$LAB_DIR/log/agent-d2.log"
	poll 50 eval '[ "$(so_announced d2)" = 0 ]' || fail "metrics: announced $(so_announced d2)"
	so_helios d2 service set "$SO_SVC" announce on
	so_wait_nexthops "$ALL"
	poll 50 eval '[ "$(so_announced d2)" = 1 ]' || fail "metrics: announced $(so_announced d2)"
}

@test "a director whose backends are all down withdraws; traffic stops reaching it" {
	local b before after
	# d2 alone loses its backends: its probes are refused
	for b in $SO_BACKENDS; do
		ip -n "$(lab_ns d2)" route add prohibit "$(so_addr "$b")/32"
	done
	so_wait_nexthops "198.18.0.21 198.18.0.23"
	grep -q "VIP not announced: no usable node" "$LAB_DIR/log/agent-d2.log"
	before=$(so_dir_packets d2 flows)
	burst "$SO_SVC" 200 --parallel 8
	assert_spread 0.08 b1=100 b2=200 b3=300
	after=$(so_dir_packets d2 flows)
	[ "$after" -eq "$before" ] || fail "d2 took $((after - before)) new flows after its withdrawal"
	for b in $SO_BACKENDS; do
		ip -n "$(lab_ns d2)" route del prohibit "$(so_addr "$b")/32"
	done
	so_wait_nexthops "$ALL"
}

@test "losing BIRD is reported; BIRD back announces again" {
	so_kill9 bird-d2
	so_wait_nexthops "198.18.0.21 198.18.0.23"
	poll 200 grep -q "bgp: BIRD not reachable" "$LAB_DIR/log/agent-d2.log"
	poll 200 eval '[ "$(so_helios d2 -j health | jq -r ".[0].announce")" = bgp-down ]'
	so_bird_start d2
	so_wait_nexthops "$ALL"
	poll 200 eval '[ "$(so_helios d2 -j health | jq -r ".[0].announce")" = announced ]'
}

@test "losing the BGP session is reported; the session back announces again" {
	local d
	so_kill9 bird-r
	for d in $SO_DIRECTORS; do
		poll 200 grep -q "bgp: no BGP session established" "$LAB_DIR/log/agent-$d.log"
		poll 200 eval '[ "$(so_helios '"$d"' -j health | jq -r ".[0].announce")" = bgp-down ]'
	done
	so_bird_start r
	so_wait_nexthops "$ALL"
	for d in $SO_DIRECTORS; do
		poll 200 eval '[ "$(so_helios '"$d"' -j health | jq -r ".[0].announce")" = announced ]'
	done
}

@test "one director dies: no held connection breaks, new ones spread by weight" {
	local t0 t1 alive
	hold_start "$SO_SVC" 100
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 100 ]
	# d3: its link gone first (a silent death: no BGP close reaches the
	# router, BFD has to notice), then its agent and BIRD killed
	t0=$(date +%s%N)
	ip -n "$(lab_ns br)" link del pd3
	so_kill9 agent-d3
	so_kill9 bird-d3
	so_wait_nexthops "198.18.0.21 198.18.0.22"
	t1=$(date +%s%N)
	echo "# d3 dead to its route gone from the router: $(( (t1 - t0) / 1000000 )) ms" >&3
	hold_cmd status
	alive=$(jq '[.conns[] | select(.alive)] | length' <<<"$held")
	echo "# held connections alive after d3 died: $alive of 100" >&3
	[ "$alive" -eq 100 ] || fail "$((100 - alive)) of 100 held connections broke"
	burst "$SO_SVC" 300 --parallel 8
	assert_spread 0.07 b1=100 b2=200 b3=300
	hold_stop
}

@test "a graceful agent stop withdraws first: no new connection breaks" {
	local base flood pid before
	before=$(( $(so_dir_packets d1 flows) + $(so_dir_packets d2 flows) ))
	base=$(lab_ports 2000)
	lab_client flood "$SO_VIP" "$SO_PORT" --src 198.18.3.2=60 --seconds 6 \
		--timeout 3 --sport-base "$base" >"$LAB_DIR/flood.json" &
	pid=$!
	# the stop comes while connections are being made
	poll 200 eval '[ $(( $(so_dir_packets d1 flows) + $(so_dir_packets d2 flows) )) -ge $((before + 30)) ]'
	kill -TERM "$(cat "$LAB_DIR/pids/agent-d2")"
	so_wait_nexthops "198.18.0.21"
	poll 200 grep -q "drained: exiting" "$LAB_DIR/log/agent-d2.log"
	wait "$pid"
	flood=$(cat "$LAB_DIR/flood.json")
	echo "# flood during the stop: $(jq -c .sources <<<"$flood")" >&3
	[ "$(jq '.sources[].offered' <<<"$flood")" -gt 100 ]
	[ "$(jq '.sources[].ok' <<<"$flood")" -eq "$(jq '.sources[].offered' <<<"$flood")" ] ||
		fail "broken new connections during the stop: $flood"
	# withdrawn before it exited
	grep -n "every VIP withdrawn\|drained: exiting" "$LAB_DIR/log/agent-d2.log" >&3
	[ "$(so_helios d2 -j health | jq -r '.[0].announce')" = withdrawn ]
}
