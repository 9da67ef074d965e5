#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Rate limits in the data path, end to end: new connections offered at about
# twice a limit from several client addresses (198.18.0.101-104, added to
# the client's eth0) by tcp_client.py flood, which paces its attempts and
# abandons an unanswered one after 0.8 s, before the 1 s initial SYN RTO,
# so every attempt is exactly one SYN.
#
# Expected: a GCRA bucket of rate R and burst B admits B + R x span new
# connections while the offered load stays above R (span: first to last
# attempt). Checked within ±5% both on the director's `limits` counters and
# on the connections the backends greeted. A connection held open from
# before the first test keeps echoing throughout (established flows never
# meet a connection limit).

load lib

CLIENTS=(198.18.0.101 198.18.0.102 198.18.0.103 198.18.0.104)

setup_file() {
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	local a
	for a in "${CLIENTS[@]}"; do
		ip -n "$(lab_ns client)" addr add "$a/24" dev eth0 || return 1
	done
	# One connection held open across every test (tests run in subshells:
	# the socket path is exported from here).
	svc_setup "$LAB_SVC4" 100 100 100 || return 1
	hold_start "$LAB_SVC4" 3 || return 1
	export HOLD_SOCK
}
teardown_file() {
	hold_stop
	e2e_lab_down
}

# flood SECONDS SRC=RATE...: sets $flood (JSON of tcp_client.py flood).
flood() {
	local secs=$1 n=0 p base; shift
	for p in "$@"; do
		n=$((n + $(awk -v r="${p#*=}" -v s="$secs" 'BEGIN { printf "%d", r * s + 2 }')))
	done
	base=$(lab_ports "$n") || return 1
	local args=()
	for p in "$@"; do args+=(--src "$p"); done
	flood=$(lab_client flood "$LAB_VIP4" "$LAB_PORT" --seconds "$secs" \
		--sport-base "$base" "${args[@]}") || return 1
	echo "# flood: $(jq -c .sources <<<"$flood")" >&3
}

src_ok() { jq --arg s "$1" '.sources[$s].ok' <<<"$flood"; }
src_offered() { jq --arg s "$1" '.sources[$s].offered' <<<"$flood"; }
flood_ok() { jq '[.sources[].ok] | add' <<<"$flood"; }
flood_span() { jq '[.sources[].span] | max' <<<"$flood"; }

# limit SVC NAME admitted|dropped
limit() {
	hl -j stats "$1" | jq -r --arg l "$2" --arg k "$3" '.services[0].limits[$l][$k]'
}

# within GOT WANT PCT: |GOT - WANT| <= PCT% of WANT
within() {
	awk -v g="$1" -v w="$2" -v p="$3" \
		'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w * p / 100) }'
}

@test "an established connection is held open (before the limits)" {
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 3 ]
}

@test "rate conn 40/s burst 10, offered 80/s from 4 addresses for 10 s: admitted within ±5%" {
	local a0 d0 a1 d1 want ok span
	hl service set "$LAB_SVC4" rate conn 40/s burst 10
	a0=$(limit "$LAB_SVC4" conn admitted)
	d0=$(limit "$LAB_SVC4" conn dropped)
	flood 10 "${CLIENTS[0]}=20" "${CLIENTS[1]}=20" "${CLIENTS[2]}=20" "${CLIENTS[3]}=20"
	a1=$(limit "$LAB_SVC4" conn admitted)
	d1=$(limit "$LAB_SVC4" conn dropped)
	ok=$(flood_ok)
	span=$(flood_span)
	want=$(awk -v s="$span" 'BEGIN { printf "%d", 10 + 40 * s }')
	echo "# admitted $((a1 - a0)), dropped $((d1 - d0)), greeted $ok; want $want (span $span s)" >&3
	within $((a1 - a0)) "$want" 5 || fail "admitted $((a1 - a0)), want $want ±5%"
	within "$ok" "$want" 5 || fail "greeted $ok, want $want ±5%"
	[ $((d1 - d0)) -gt 0 ]
	# One bucket for the service, shared fairly: every address (same
	# offered load) gets at least half of an equal share.
	for a in "${CLIENTS[@]}"; do
		[ "$(src_ok "$a")" -ge $((ok / 8)) ] || fail "$a got $(src_ok "$a") of $ok"
	done
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 3 ]
}

@test "client-rate conn 10/s: a noisy client (60/s) is held to its share, a quiet one (5/s) gets everything" {
	local noisy=${CLIENTS[0]} quiet=${CLIENTS[1]} want ok
	hl service set "$LAB_SVC4" rate conn off
	hl service set "$LAB_SVC4" client-rate conn 10/s burst 5
	flood 5 "$noisy=60" "$quiet=5"
	[ "$(src_ok "$quiet")" -eq "$(src_offered "$quiet")" ] ||
		fail "quiet client: $(src_ok "$quiet") of $(src_offered "$quiet")"
	ok=$(src_ok "$noisy")
	want=$(awk -v s="$(jq --arg s "$noisy" '.sources[$s].span' <<<"$flood")" \
		'BEGIN { printf "%d", 5 + 10 * s }')
	echo "# noisy: $ok greeted, want $want" >&3
	within "$ok" "$want" 10 || fail "noisy client: $ok, want $want ±10%"
	[ "$(limit "$LAB_SVC4" client dropped)" -gt 0 ]
	hl service set "$LAB_SVC4" client-rate conn off
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 3 ]
}

@test "a priority class keeps getting in while bulk clients are shed" {
	local gold=${CLIENTS[3]} bulk_ok bulk_off
	hl service set "$LAB_SVC4" rate conn 20/s burst 5
	hl class add "$gold/32" name gold rate conn 100/s burst 20
	flood 5 "${CLIENTS[0]}=30" "${CLIENTS[1]}=30" "$gold=10"
	hl class del gold || hl class del "$gold/32"
	hl service set "$LAB_SVC4" rate conn off
	[ "$(src_ok "$gold")" -eq "$(src_offered "$gold")" ] ||
		fail "gold: $(src_ok "$gold") of $(src_offered "$gold")"
	bulk_ok=$(( $(src_ok "${CLIENTS[0]}") + $(src_ok "${CLIENTS[1]}") ))
	bulk_off=$(( $(src_offered "${CLIENTS[0]}") + $(src_offered "${CLIENTS[1]}") ))
	echo "# bulk: $bulk_ok of $bulk_off" >&3
	# 20/s of 60/s offered (+ burst): about a third, never most.
	[ "$bulk_ok" -lt $((bulk_off / 2)) ]
	[ "$bulk_ok" -gt 0 ]
	[ "$(limit "$LAB_SVC4" class admitted)" -gt 0 ]
}

# The shedding order: analytics (shed order 7) may draw on the service's
# 20/s only while 7 of its 8 spare tokens stay; clients of no class (the
# OLTP ones here, 15/s) down to empty. Offered 45/s in all, OLTP keeps
# (nearly) everything and analytics gets what is left, about 5/s. Without
# the order both would be shed alike (to 20/45 of what they offer).
@test "under overload a class with a higher shed order is refused first" {
	local an=${CLIENTS[2]} oltp=${CLIENTS[0]} shed an_ok an_off
	hl service set "$LAB_SVC4" rate conn 20/s burst 9
	hl class add "$an/32" name analytics rate conn 1000/s burst 100
	run hl class set analytics shed-order 8
	[ "$status" -ne 0 ] && [ "${#lines[@]}" -eq 1 ]
	run hl class set nosuch shed-order 1
	[ "$status" -ne 0 ] && [ "${#lines[@]}" -eq 1 ]
	[ "$(hl -j class list | jq '.[] | select(.name == "analytics") | .shed_order')" -eq 0 ]
	hl class set analytics shed-order 7
	[ "$(hl -j class list | jq '.[] | select(.name == "analytics") | .shed_order')" -eq 7 ]
	flood 5 "$oltp=15" "$an=30"
	shed=$(hl -j class list | jq '.[] | select(.name == "analytics") | .shed_drops')
	hl class del analytics
	hl service set "$LAB_SVC4" rate conn off
	an_ok=$(src_ok "$an") an_off=$(src_offered "$an")
	echo "# oltp (no class): $(src_ok "$oltp") of $(src_offered "$oltp"); analytics (order 7): $an_ok of $an_off, $shed shed" >&3
	[ "$(src_ok "$oltp")" -ge $(( $(src_offered "$oltp") * 95 / 100 )) ] ||
		fail "oltp was shed: $(src_ok "$oltp") of $(src_offered "$oltp")"
	[ "$an_ok" -lt $((an_off / 2)) ] || fail "analytics not shed: $an_ok of $an_off"
	[ "$shed" -gt 0 ]
}

@test "the connection held from the start still echoes on its backend" {
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 3 ]
	[ "$(jq '[.conns[] | select(.error)] | length' <<<"$held")" -eq 0 ]
}
