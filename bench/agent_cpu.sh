#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/agent_cpu.sh BUILD OUT.json [NODES...]: CPU used by `helios-agent run`
# while it probes N nodes (TCP checks against local listeners) every second.
# Two namespaces: the agent's, and one holding every node address on its lo
# with one listener on 0.0.0.0, reached over a veth (one ARP entry for all).
# Everything is torn down by a trap; addresses from 198.18.0.0/15 only.
set -euo pipefail

BUILD=${1:?usage: agent_cpu.sh BUILD OUT.json [NODES...]}
OUT=${2:?usage: agent_cpu.sh BUILD OUT.json [NODES...]}
shift 2
COUNTS=(100 1000)
[ $# -eq 0 ] || COUNTS=("$@")
AGENT=$BUILD/helios-agent
WINDOW=${AGENT_CPU_WINDOW:-20}	# seconds of measurement per count
PORT=7000

max=0
for n in "${COUNTS[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
# shellcheck source-path=SCRIPTDIR source=targets.sh
source "$(dirname "$0")/targets.sh"
targets_up "$max"

results=()
for n in "${COUNTS[@]}"; do
	ring=65537
	[ $((n * 100)) -lt $ring ] || ring=100003
	agent_conf "$DIR/agent-$n.conf" "198.18.251.$((${#results[@]} + 1))" $ring 1 "$n"
	t0=$(date +%s%N)
	ip netns exec "$NS_A" "$AGENT" --bpffs "$DIR/fs" run config "$DIR/agent-$n.conf" \
		2>"$DIR/agent-$n.log" &
	apid=$!
	PIDS+=("$apid")
	# Started when every node has a probe result (bounded wait).
	wait_probed "$n"
	start_s=$(( ($(date +%s%N) - t0) / 1000000 ))
	c0=$(ticks "$apid")
	w0=$(date +%s%N)
	sleep "$WINDOW"		# the measurement window itself
	c1=$(ticks "$apid")
	w1=$(date +%s%N)
	cpu=$(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v w=$((w1 - w0)) \
		'BEGIN { printf "%.2f", 100 * c / hz / (w / 1e9) }')
	echo "agent: $n nodes at 1 s: ${cpu}% of one CPU (started in ${start_s} ms, $probed probed)" >&2
	results+=("{\"nodes\": $n, \"interval_s\": 1, \"cpu_percent\": $cpu, \"window_s\": $WINDOW, \"startup_ms\": $start_s, \"probed\": $probed}")
	kill "$apid"
	wait "$apid" 2>/dev/null || true
	# Next count starts from empty maps.
	umount "$DIR/fs"
	mount -t bpf bpf "$DIR/fs"
done

(IFS=,; echo "{\"agent_cpu\": [${results[*]}]}") >"$OUT"
