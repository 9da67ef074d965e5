#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Upgrades without a dropped flow: the director runs this tree's build, then
# `helios-agent attach eth0` of a test build (make variants) of another
# program over the same maps (`next`), and `helios-agent upgrade eth0` of
# one whose connection entry has layout 4 (`flow2`: the connection table
# is migrated). Across each, 200 connections
# held open and a steady stream of new ones (40/s, each abandoned after
# 0.8 s without an answer): 0 held flows broken, 0 new connections lost.
#
# b2 is drained (weight 0) before each upgrade, so its held flows reach it
# only through their connection-table entries: a lost entry would send the
# flow to b1 or b3, which reset it, and the hold would see it dead.

load lib

VARIANTS=$HELIOS_BUILD/variants

setup_file() {
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	local v
	for v in next flow2; do
		[ -x "$VARIANTS/$v/helios-agent" ] || {
			echo "test build missing: $VARIANTS/$v/helios-agent (make variants)" >&2
			return 1
		}
	done
}
teardown_file() { e2e_lab_down; }
teardown() { hold_stop; }

# as BUILD ARGS...: the director's CLI of another build (this tree's: "").
as() {
	local b=$1; shift
	if [ -n "$b" ]; then HELIOS=$VARIANTS/$b/helios-agent hl "$@"; else hl "$@"; fi
}

xdp_prog_id() { ip -n "$(lab_ns dir)" -j link show eth0 | jq '.[0].xdp.prog.id // 0'; }
forwarded() { hl -j stats | jq '[.reasons | to_entries[] | select(.key | startswith("forwarded")) | .value] | add'; }

# Ids of every pinned object, to show a refused upgrade changed nothing.
pins() {
	local f
	for f in "$LAB_DIR/bpf/dir"/*; do
		printf '%s %s\n' "${f##*/}" "$(stat -c %i "$f")"
	done
}

# upgrade_under_load BUILD CMD: 200 held, b2 drained, a stream of new
# connections, `CMD eth0` (upgrade, or attach) with BUILD in the middle;
# sets $up (its output) and checks every flow.
upgrade_under_load() {
	local build=$1 cmd=$2 base f0 p0 p1 n stream
	svc_setup "$LAB_SVC4" 100 100 100
	hold_start "$LAB_SVC4" 200
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive)] | length' <<<"$held")" -eq 200 ] ||
		fail "not 200 held connections up: $held"
	on_b2=$(held_on b2)
	[ "$on_b2" -gt 0 ] || fail "no held flow on b2"
	hl node set "$LAB_SVC4" "$(lab_addr4 b2)" weight 0

	base=$(lab_ports 400) || return 1
	f0=$(forwarded)
	lab_spawn client "stream-$build" "$LAB_PY" "$LAB_TOOLS/tcp_client.py" \
		flood "$LAB_VIP4" "$LAB_PORT" --seconds 8 --sport-base "$base" \
		--src "$(lab_addr4 client)=40"
	stream=$LAB_DIR/log/stream-$build.log
	# the stream has started: new flows are being forwarded
	poll 200 eval '[ "$(forwarded)" -gt $((f0 + 40)) ]' || fail "the stream did not start"

	p0=$(xdp_prog_id)
	run --separate-stderr as "$build" "$cmd" eth0
	echo "# $cmd ($build): status $status" >&3
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" -eq 0 ] || fail "upgrade failed: $stderr"
	up=$output
	[ ! -s "$stream" ] || fail "the stream ended before the upgrade did: no overlap"
	p1=$(xdp_prog_id)
	[ "$p1" -ne "$p0" ] || fail "eth0 still runs program $p0"
	grep -q "program: id $p0 replaced by id $p1 on eth0" <<<"$up" || fail "no program line: $up"

	poll 400 test -s "$stream" || fail "the stream did not end"
	echo "# stream: $(cat "$stream")" >&3
	n=$(jq '.sources[] | .offered - .ok' "$stream")
	[ "$(jq '.sources[].offered' "$stream")" -gt 200 ] || fail "stream too small: $(cat "$stream")"
	[ "$n" -eq 0 ] || fail "$n new connections failed across the upgrade: $(cat "$stream")"
	hold_cmd status
	n=$(jq '[.conns[] | select(.alive | not)] | length' <<<"$held")
	echo "# held flows broken: $n of 200 ($on_b2 on the drained b2)" >&3
	[ "$n" -eq 0 ] || fail "$n held flows broke across the upgrade: $held"
	[ "$(held_alive_on b2)" -eq "$on_b2" ] || fail "drained b2 lost flows: $held"
}

@test "attach with a build of another program: 200 held flows and a stream of new ones, none lost" {
	upgrade_under_load next attach
	# every map reused, none migrated or created
	[ "$(grep -c ': reused, layout' <<<"$up")" -eq "$(grep -c '^map ' <<<"$up")" ] ||
		fail "not every map reused: $up"
}

@test "upgrade migrating the connection table (layout 3 -> 4): none lost" {
	upgrade_under_load flow2 upgrade
	local copied
	copied=$(sed -n 's/^map conntrack: migrated, layout 4 from 3, \([0-9]*\) entries copied$/\1/p' <<<"$up")
	[ -n "$copied" ] || fail "no migration line for conntrack: $up"
	[ "$copied" -ge 200 ] || fail "only $copied connection entries copied"
	[ "$(grep -c ': reused, layout' <<<"$up")" -eq "$(($(grep -c '^map ' <<<"$up") - 1))" ] ||
		fail "maps other than conntrack not reused: $up"
}

@test "a build without the migration back refuses, naming the map, and changes nothing" {
	local before p0
	before=$(pins)
	p0=$(xdp_prog_id)
	run --separate-stderr as "" upgrade eth0
	echo "# $stderr" >&3
	[ "$status" -ne 0 ] || fail "accepted: $output"
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "not one line: $stderr"
	[[ "$stderr" == "Error: map conntrack: pinned layout 4, this build has 3 and no migration between them" ]] ||
		fail "unexpected error: $stderr"
	[ "$(pins)" = "$before" ] || fail "pins changed"
	[ "$(xdp_prog_id)" -eq "$p0" ] || fail "program changed"
	# this build's other commands refuse the layout-3 maps too
	run --separate-stderr as "" service list
	[ "$status" -ne 0 ] && [[ "$stderr" == *"map conntrack in "*"has layout 4, this build 3: run 'helios-agent upgrade DEV' first"* ]] ||
		fail "service list on foreign layouts: $status $stderr"
	# and attach is the same upgrade: refused alike
	run --separate-stderr as "" attach eth0
	[ "$status" -ne 0 ] && [[ "$stderr" == *"map conntrack: pinned layout 4"* ]] ||
		fail "attach: $status $stderr"
	[ "$(pins)" = "$before" ] || fail "pins changed"
}

@test "upgrade to the build that runs: nothing done; force replaces it" {
	local p0
	p0=$(xdp_prog_id)
	run as flow2 upgrade eth0
	assert_success
	assert_output "program: id $p0 is already this build's, nothing done"
	run as flow2 -j upgrade eth0 force
	assert_success
	[ "$(jq .replaced <<<"$output")" = true ] || fail "$output"
	[ "$(jq '[.maps[] | select(.action != "reused")] | length' <<<"$output")" -eq 0 ] || fail "$output"
	[ "$(xdp_prog_id)" -ne "$p0" ] || fail "force did not replace"
	run as flow2 upgrade eth0 nosuch
	assert_failure
	run as flow2 upgrade nosuchdev
	assert_failure
}
