# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by bench/agent_cpu.sh and bench/metrics_cost.sh: two namespaces,
# the agent's ($NS_A) and one holding N node addresses 198.19.x.y on its lo
# with one TCP listener on 0.0.0.0:$PORT ($NS_T), reached over a veth (one
# ARP entry for all); a bpffs at $DIR/fs. targets_up N builds it and
# installs the trap that tears it all down (and kills every pid in PIDS).
# node_addr I prints node I's address; agent_conf writes the agent's file.
# Addresses from 198.18.0.0/15 only.

ID=hlbench$$
NS_A=$ID-agent
NS_T=$ID-targets
DIR=$(mktemp -d /tmp/hlbench-XXXXXXXX)
PIDS=()

targets_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	umount "$DIR/fs" 2>/dev/null || true
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_T" 2>/dev/null || true
	rm -rf "$DIR"
}

node_addr() { echo "198.19.$(($1 / 250)).$(($1 % 250 + 1))"; }

# agent_conf FILE VIP RING INTERVAL N: one TCP service on VIP:$PORT whose
# nodes are the first N target addresses, probed every INTERVAL seconds.
agent_conf() {
	local file=$1 vip=$2 ring=$3 interval=$4 n=$5 i
	{
		echo "services = ( { service = \"$vip:$PORT/tcp\"; ring = $ring;"
		echo "  check = { kind = \"tcp\"; interval = $interval; timeout = 0.5; };"
		echo "  nodes = ("
		for ((i = 0; i < n; i++)); do
			[ $i -gt 0 ] && echo ","
			echo -n "    { addr = \"$(node_addr "$i")\"; }"
		done
		echo " ); } );"
	} >"$file"
}

targets_up() {
	local n=$1 i
	trap targets_cleanup EXIT
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
	for ((i = 0; i < n; i++)); do
		echo "addr add $(node_addr "$i")/32 dev lo"
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
}

# wait_probed N: until the agent on $DIR/fs has a result for N nodes
# (bounded: 2 minutes); sets $probed.
wait_probed() {
	local i
	for ((i = 0; i < 1200; i++)); do
		probed=$(ip netns exec "$NS_A" "$AGENT" --bpffs "$DIR/fs" -j health 2>/dev/null |
			python3 -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if x["last_probe"] != "none"))' 2>/dev/null || echo 0)
		[ "$probed" -ge "$1" ] && return 0
		sleep 0.1
	done
}

ticks() {	# utime + stime of PID, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
