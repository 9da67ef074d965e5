# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Namespace lab shared by scripts/demo*.sh and tests/e2e/*.bats. Source it.
#
#                        ns <id>-br: bridge br0
#        ┌───────────┬──────────┼──────────┬──────────┐
#       pc          pd         pb1        pb2        pb3     (bridge side)
#        │           │ xdp_pass  │          │          │
#      eth0        eth0        eth0       eth0       eth0
#     client     director      b1         b2         b3     (one ns each)
#     .2 / ::2   .3 / ::3    .11/::11   .12/::12   .13/::13
#
#  L2 segment 198.18.0.0/24, fd00:4845::/64. VIPs 198.18.1.10 and
#  fd00:4845:1::10 (prefixes 198.18.1.0/24, fd00:4845:1::/64):
#  - client: routes the VIP prefixes via the director; no ICMP redirects.
#  - director: forwards; without Helios it routes the VIP prefixes to b1
#    (plain forwarding, so `detach` has something to fall back to); Helios
#    attaches to its eth0. Its bridge-side peer pd runs a native XDP_PASS
#    program (XDP_TX on veth is only delivered to a peer with native XDP) and
#    has TX checksum offload off (XDP_TX drops CHECKSUM_PARTIAL metadata).
#  - backends: the VIPs on lo (arp_ignore=1, arp_announce=2), Helios decap on
#    eth0, tcp_server.py on the VIPs, replies straight to the client (DSR).
#
#  LAB_FWD=nat (set before lab_up) builds the lab for full NAT instead: the
#  backends carry no Helios code and no VIP; tcp_server.py listens on their
#  own addresses; they answer the director's SNAT address (its eth0 address,
#  or LAB_SNAT4/LAB_SNAT6 once lab_snat_addrs added them), so every reply
#  crosses the director's XDP too, and their eth0 has TX checksum offload off
#  (XDP_TX drops CHECKSUM_PARTIAL metadata, see the director's peer below).
#
# Nothing is created in, or changed in, the root namespace: veths are created
# inside the namespaces with `ip -n`. The only root-namespace objects are the
# state directory $LAB_DIR (no dots in its path: libbpf rewrites them in pin
# paths) and one bpffs mounted per namespace under it, which helios-agent pins
# to (`ip netns exec` hides /sys/fs/bpf, and a bpffs mounted inside an
# `ip netns exec` would vanish with its private mount namespace).
# lab_destroy removes all of it and kills only the processes it started.

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_TOOLS=$LAB_ROOT/tests/e2e
: "${HELIOS_BUILD:=$LAB_ROOT/build}"
case $HELIOS_BUILD in /*) ;; *) HELIOS_BUILD=$LAB_ROOT/$HELIOS_BUILD ;; esac
HELIOS=${HELIOS:-$HELIOS_BUILD/helios-agent}
if [ -z "${LAB_PY:-}" ]; then
	if [ -x /usr/bin/python3 ]; then LAB_PY=/usr/bin/python3; else LAB_PY=$(command -v python3); fi
fi

LAB_NET4=198.18.0
LAB_NET6=fd00:4845:
LAB_VIP4=198.18.1.10
LAB_VIP6=fd00:4845:1::10
LAB_VIP4_NET=198.18.1.0/24
LAB_VIP6_NET=fd00:4845:1::/64
LAB_PORT=5432		# the service port
LAB_PLAIN_PORT=9999	# also served by the backends, never a service
LAB_SVC4="$LAB_VIP4:$LAB_PORT/tcp"
LAB_SVC6="[$LAB_VIP6]:$LAB_PORT/tcp"
LAB_SNAT4=198.18.0.4	# extra director addresses for `service set SVC snat`
LAB_SNAT6=fd00:4845::4
: "${LAB_FWD:=ipip}"	# ipip (VIPs on the backends' lo, DSR) or nat

# Host suffix on the segment: .N and ::N.
lab_host_nr() {
	case $1 in
	client) echo 2 ;;
	dir) echo 3 ;;
	b[0-9]) echo $((10 + ${1#b})) ;;
	*) echo "lab: unknown host $1" >&2; return 1 ;;
	esac
}
lab_addr4() { echo "$LAB_NET4.$(lab_host_nr "$1")"; }
lab_addr6() { echo "$LAB_NET6:$(lab_host_nr "$1")"; }
lab_ns() { echo "$LAB_ID-$1"; }

lab_say() { [ -n "${LAB_QUIET:-}" ] || printf '%s\n' "$*" >&2; }

# Run a command inside a host's namespace.
lab_exec() {
	local h=$1; shift
	ip netns exec "$(lab_ns "$h")" "$@"
}

# helios-agent inside a host's namespace, pinning under that host's bpffs.
lab_helios() {
	local h=$1; shift
	ip netns exec "$(lab_ns "$h")" "$HELIOS" --bpffs "$LAB_DIR/bpf/$h" "$@"
}

lab_sysctl() {
	local h=$1; shift
	lab_exec "$h" sysctl -qw "$@" >/dev/null
}

# Allocate N fresh client source ports and print the first one. Every flow a
# test opens gets a 5-tuple never used before in this lab, so a connection
# table entry left by an earlier flow can never steer a new one.
lab_ports() {
	local n=$1 base
	base=$(cat "$LAB_DIR/next_port")
	if [ $((base + n)) -gt 60000 ]; then
		echo "lab: out of client source ports" >&2
		return 1
	fi
	echo $((base + n)) >"$LAB_DIR/next_port"
	echo "$base"
}

# lab_create [BACKENDS]: name the lab and make its state directory.
lab_create() {
	LAB_BACKENDS=${1:-3}
	LAB_ID=${LAB_ID:-hle$BASHPID}
	LAB_DIR=$(mktemp -d /tmp/hlab-XXXXXXXX)
	case $LAB_DIR in *.*)
		echo "lab: state dir $LAB_DIR has a dot" >&2; return 1 ;;
	esac
	mkdir -p "$LAB_DIR/bpf" "$LAB_DIR/pids" "$LAB_DIR/log"
	: >"$LAB_DIR/namespaces"
	echo 20000 >"$LAB_DIR/next_port"
	LAB_HOSTS="client dir"
	local i
	for ((i = 1; i <= LAB_BACKENDS; i++)); do LAB_HOSTS+=" b$i"; done
	case $LAB_FWD in ipip | nat) ;; *)
		echo "lab: LAB_FWD must be ipip or nat, not $LAB_FWD" >&2; return 1 ;;
	esac
	export LAB_ID LAB_DIR LAB_BACKENDS LAB_HOSTS HELIOS HELIOS_BUILD LAB_PY LAB_FWD
}

lab_backends() {
	local i
	for ((i = 1; i <= LAB_BACKENDS; i++)); do echo "b$i"; done
}

# Compile the XDP_PASS program for the director's bridge-side peer.
lab_build_xdp_pass() {
	clang -O2 -target bpf -c "$LAB_TOOLS/xdp_pass.bpf.c" \
		-o "$LAB_DIR/xdp_pass.bpf.o"
}

# Link host H to the bridge: veth p<H> (bridge side) <-> eth0 (in H).
lab_link_host() {
	local h=$1 br port
	br=$(lab_ns br)
	port=$(lab_port_of "$h")
	ip -n "$br" link add "$port" type veth peer name eth0 netns "$(lab_ns "$h")" || return 1
	ip -n "$br" link set "$port" master br0 up || return 1
	ip -n "$(lab_ns "$h")" addr add "$(lab_addr4 "$h")/24" dev eth0 || return 1
	ip -n "$(lab_ns "$h")" addr add "$(lab_addr6 "$h")/64" dev eth0 nodad || return 1
	ip -n "$(lab_ns "$h")" link set eth0 up
}

# The bridge-side port of a host.
lab_port_of() {
	case $1 in client) echo pc ;; dir) echo pd ;; b*) echo "p$1" ;; esac
}

# lab_up: namespaces, bridge, veths, addresses, routes, sysctls.
# Returns 2 (after printing why) when native XDP on veth is unavailable.
lab_up() {
	local h ns br
	for h in br $LAB_HOSTS; do
		ns=$(lab_ns "$h")
		ip netns add "$ns" || return 1
		echo "$ns" >>"$LAB_DIR/namespaces"
		ip -n "$ns" link set lo up || return 1
		mkdir -p "$LAB_DIR/bpf/$h"
	done
	br=$(lab_ns br)
	ip -n "$br" link add br0 type bridge forward_delay 0 mcast_snooping 0 || return 1
	ip -n "$br" link set br0 up || return 1

	for h in $LAB_HOSTS; do
		# Before the veth arrives, so eth0 inherits "default" too.
		lab_sysctl "$h" net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 \
			net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 || return 1
		lab_link_host "$h" || return 1
	done

	# Client: VIPs via the director, ignore redirects, keep kernel-chosen
	# source ports out of the range lab_ports hands out.
	lab_sysctl client net.ipv4.conf.all.accept_redirects=0 \
		net.ipv4.conf.eth0.accept_redirects=0 \
		net.ipv6.conf.all.accept_redirects=0 \
		net.ipv6.conf.eth0.accept_redirects=0 \
		"net.ipv4.ip_local_port_range=61000 65000" || return 1
	ip -n "$(lab_ns client)" route add "$LAB_VIP4_NET" via "$(lab_addr4 dir)" || return 1
	ip -n "$(lab_ns client)" -6 route add "$LAB_VIP6_NET" via "$(lab_addr6 dir)" || return 1
	lab_exec client ethtool -K eth0 tx off >/dev/null 2>&1 || return 1

	# Director: a router whose plain route to the VIPs is b1.
	lab_sysctl dir net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.eth0.send_redirects=0 || return 1
	ip -n "$(lab_ns dir)" route add "$LAB_VIP4_NET" via "$(lab_addr4 b1)" || return 1
	ip -n "$(lab_ns dir)" -6 route add "$LAB_VIP6_NET" via "$(lab_addr6 b1)" || return 1

	# Backends: VIPs on lo, answer ARP only for eth0's own address. In NAT
	# mode none of that, but TX checksum offload off: their replies are
	# rewritten and XDP_TX'd by the director.
	for h in $(lab_backends); do
		if [ "$LAB_FWD" = nat ]; then
			lab_exec "$h" ethtool -K eth0 tx off >/dev/null 2>&1 || return 1
			continue
		fi
		lab_sysctl "$h" net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.all.arp_announce=2 \
			net.ipv4.conf.eth0.arp_ignore=1 \
			net.ipv4.conf.eth0.arp_announce=2 || return 1
		ip -n "$(lab_ns "$h")" addr add "$LAB_VIP4/32" dev lo || return 1
		ip -n "$(lab_ns "$h")" addr add "$LAB_VIP6/128" dev lo nodad || return 1
	done

	# The director's bridge-side peer: TX checksum off, native XDP_PASS.
	ip netns exec "$br" ethtool -K pd tx off >/dev/null 2>&1 || return 1
	lab_build_xdp_pass || return 1
	if ! ip -n "$br" link set dev pd xdpdrv obj "$LAB_DIR/xdp_pass.bpf.o" sec xdp \
		>"$LAB_DIR/log/xdp_pass.log" 2>&1; then
		echo "native XDP on veth unavailable: $(head -c 300 "$LAB_DIR/log/xdp_pass.log")" >&2
		return 2
	fi

	# Private bpffs per namespace, mounted in the root mount namespace.
	for h in $LAB_HOSTS; do
		mount -t bpf bpf "$LAB_DIR/bpf/$h" || return 1
		echo "$LAB_DIR/bpf/$h" >>"$LAB_DIR/mounts"
	done
}

# lab_set_mtu MTU: MTU of the director -> backend path (director eth0, the
# bridge ports of director and backends, backend eth0). The client stays at
# 1500, so MTU 1520 (IPv4) / 1540 (IPv6) and up carries a full-size client
# segment plus the outer header without any ICMP too-big.
lab_set_mtu() {
	local mtu=$1 h br
	br=$(lab_ns br)
	for h in dir $(lab_backends); do
		ip -n "$br" link set "$(lab_port_of "$h")" mtu "$mtu" || return 1
		ip -n "$(lab_ns "$h")" link set eth0 mtu "$mtu" || return 1
	done
}

# Forget path MTUs the client learned (PMTUD state) so the next test starts
# clean.
lab_flush_pmtu() {
	ip -n "$(lab_ns client)" route flush cache 2>/dev/null
	ip -n "$(lab_ns client)" -6 route flush cache 2>/dev/null
	return 0
}

# poll N CMD...: run CMD up to N times, 50 ms apart, until it succeeds.
poll() {
	local n=$1 i; shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# Start a background process in host H, recorded by pid for lab_destroy.
# lab_spawn H NAME CMD...
lab_spawn() {
	local h=$1 name=$2; shift 2
	ip netns exec "$(lab_ns "$h")" "$@" \
		</dev/null >"$LAB_DIR/log/$name.log" 2>&1 3>&- 4>&- 5>&- &
	echo $! >"$LAB_DIR/pids/$name"
}

# lab_snat_addrs: LAB_SNAT4 and LAB_SNAT6 on the director's eth0 as well, so
# it answers ARP/ND for them (NAT services with `snat ADDR`).
lab_snat_addrs() {
	ip -n "$(lab_ns dir)" addr add "$LAB_SNAT4/24" dev eth0 || return 1
	ip -n "$(lab_ns dir)" addr add "$LAB_SNAT6/64" dev eth0 nodad
}

# Start tcp_server.py on every backend, on both VIPs (in NAT mode: on the
# backend's own two addresses) and both ports, and wait (bounded) until each
# listens. A connection idle for LAB_SERVER_IDLE seconds (60) is closed.
lab_servers_start() {
	local h a4 a6
	for h in $(lab_backends); do
		a4=$LAB_VIP4 a6=$LAB_VIP6
		if [ "$LAB_FWD" = nat ]; then
			a4=$(lab_addr4 "$h") a6=$(lab_addr6 "$h")
		fi
		lab_spawn "$h" "server-$h" "$LAB_PY" "$LAB_TOOLS/tcp_server.py" \
			--name "$h" --addr "$a4" --addr "$a6" \
			--port "$LAB_PORT" --port "$LAB_PLAIN_PORT" --lifetime 900 \
			--idle "${LAB_SERVER_IDLE:-60}" \
			--pidfile "$LAB_DIR/pids/server-$h.py"
	done
	for h in $(lab_backends); do
		lab_wait_listen "$h" 4 || return 1
	done
}

# lab_wait_listen H N: poll until H has N listening TCP sockets (max ~10 s).
lab_wait_listen() {
	local h=$1 want=$2 i n
	for ((i = 0; i < 200; i++)); do
		n=$(lab_exec "$h" ss -Hltn | wc -l)
		[ "$n" -ge "$want" ] && return 0
		sleep 0.05
	done
	echo "lab: $h has $n listening sockets, want $want" >&2
	cat "$LAB_DIR/log/server-$h.log" >&2 2>/dev/null
	return 1
}

# Run tcp_client.py in the client namespace.
lab_client() {
	lab_exec client "$LAB_PY" "$LAB_TOOLS/tcp_client.py" "$@"
}

# lab_burst ADDR PORT COUNT [OPTIONS]: COUNT fresh connections, JSON result
# on stdout. OPTIONS go to tcp_client.py burst (--timeout S, --parallel K).
lab_burst() {
	local addr=$1 port=$2 n=$3 base
	base=$(lab_ports "$n") || return 1
	lab_client burst "$addr" "$port" --count "$n" --sport-base "$base" "${@:4}"
}

# Helios on the backends: decap for both VIPs on eth0.
lab_decap_attach() {
	local h
	for h in $(lab_backends); do
		lab_helios "$h" decap attach eth0 vip "$LAB_VIP4" vip "$LAB_VIP6" || return 1
	done
}

# lab_owns PID: the process is one of ours: its command line names LAB_DIR,
# or it runs in one of the lab's namespaces (a client program like pgbench).
lab_owns() {
	local pid=$1 ino ns
	grep -qF "$LAB_DIR" "/proc/$pid/cmdline" 2>/dev/null && return 0
	ino=$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) || return 1
	while read -r ns; do
		[ -n "$ns" ] && [ "$(stat -L -c %i "/run/netns/$ns" 2>/dev/null)" = "$ino" ] &&
			return 0
	done <"$LAB_DIR/namespaces"
	return 1
}

# Kill one recorded process if it is still the one we started.
lab_kill() {
	local f=$1 pid i
	pid=$(cat "$f" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	lab_owns "$pid" || return 0
	kill "$pid" 2>/dev/null
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}

# lab_destroy: kill our processes, unmount our bpffs, delete our namespaces,
# remove the state directory. Safe to call twice or on a half-built lab.
lab_destroy() {
	if [ -z "${LAB_DIR:-}" ] || [ ! -d "$LAB_DIR" ]; then
		return 0
	fi
	local f m ns
	for f in "$LAB_DIR"/pids/*; do
		[ -e "$f" ] && lab_kill "$f"
	done
	if [ -f "$LAB_DIR/mounts" ]; then
		while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done <"$LAB_DIR/mounts"
	fi
	while read -r ns; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done <"$LAB_DIR/namespaces"
	rm -rf "$LAB_DIR"
	return 0
}
