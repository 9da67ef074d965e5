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

ID=hlcpu$$
NS_A=$ID-agent
NS_T=$ID-targets
DIR=$(mktemp -d /tmp/hlcpu-XXXXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	umount "$DIR/fs" 2>/dev/null || true
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_T" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT

ip netns add "$NS_A"
ip netns add "$NS_T"
ip -n "$NS_A" link set lo up
ip -n "$NS_T" link set lo up
ip -n "$NS_A" link add eth0 type veth peer name eth0 netns "$NS_T"
ip -n "$NS_A" addr add 198.18.250.1/30 dev eth0
ip -n "$NS_T" addr add 198.18.250.2/30 dev eth0
ip -n "$NS_A" link set eth0 up
ip -n "$NS_T" link set eth0 up
ip -n "$NS_A" route add 198.19.0.0/16 via 198.18.250.2

max=0
for n in "${COUNTS[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
for ((i = 0; i < max; i++)); do
	echo "addr add 198.19.$((i / 250)).$((i % 250 + 1))/32 dev lo"
done | ip -n "$NS_T" -batch -

ip netns exec "$NS_T" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", '"$PORT"')); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()
' &
PIDS+=($!)

mkdir -p "$DIR/fs"
mount -t bpf bpf "$DIR/fs"

ticks() {	# utime + stime of PID, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

results=()
for n in "${COUNTS[@]}"; do
	ring=65537
	[ $((n * 100)) -lt $ring ] || ring=100003
	{
		echo "services = ( { service = \"198.18.251.$((${#results[@]} + 1)):$PORT/tcp\"; ring = $ring;"
		echo "  check = { kind = \"tcp\"; interval = 1; timeout = 0.5; };"
		echo "  nodes = ("
		for ((i = 0; i < n; i++)); do
			[ $i -gt 0 ] && echo ","
			echo -n "    { addr = \"198.19.$((i / 250)).$((i % 250 + 1))\"; }"
		done
		echo " ); } );"
	} >"$DIR/agent-$n.conf"
	t0=$(date +%s%N)
	ip netns exec "$NS_A" "$AGENT" --bpffs "$DIR/fs" run config "$DIR/agent-$n.conf" \
		2>"$DIR/agent-$n.log" &
	apid=$!
	PIDS+=($apid)
	# Started when every node has a probe result (bounded wait).
	for ((i = 0; i < 1200; i++)); do
		probed=$(ip netns exec "$NS_A" "$AGENT" --bpffs "$DIR/fs" -j health 2>/dev/null |
			python3 -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if x["last_probe"] != "none"))' 2>/dev/null || echo 0)
		[ "$probed" -ge "$n" ] && break
		sleep 0.1
	done
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
