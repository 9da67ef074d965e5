# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The scale-out lab of tests/e2e/*-scaleout.bats: three directors behind a
# router that spreads the VIP over them by ECMP, learnt by BGP (BIRD 2).
#
#   client .3.2 ── r (router, BIRD AS 65000, ECMP, L4 hash) .3.1
#                  │ .0.1
#            ns br: bridge br0 (198.18.0.0/24)
#     ┌─────────┬──────┴──┬─────────┬──────┬──────┐
#    d1 .21    d2 .22    d3 .23     b1 .11  b2 .12  b3 .13
#    (each director: BIRD AS 65001, the agent, Helios XDP on eth0, one-armed:
#     IPIP out of eth0 again; its bridge port runs a native XDP_PASS)
#
# VIP 198.18.1.10:5432/tcp on the backends' lo (decap by Helios TC); the
# backends answer the client through the router (direct server return).
# Uses scripts/lab.sh for the state directory, processes and teardown.

SO_VIP=198.18.1.10
SO_PORT=5432
SO_SVC="$SO_VIP:$SO_PORT/tcp"
SO_DIRECTORS="d1 d2 d3"
SO_BACKENDS="b1 b2 b3"
SO_WEIGHTS=(100 200 300)

so_addr() {
	case $1 in
	r) echo 198.18.0.1 ;;
	d[0-9]) echo "198.18.0.2${1#d}" ;;
	b[0-9]) echo "198.18.0.1${1#b}" ;;
	client) echo 198.18.3.2 ;;
	esac
}

# so_exec H CMD...
so_exec() { local h=$1; shift; ip netns exec "$(lab_ns "$h")" "$@"; }
SO_METRICS_PORT=19464	# each director's agent, on its own namespace's lo

# so_announced D: D's helios_service_announced for the service (metrics).
so_announced() {
	so_exec "$1" "$LAB_PY" "$LAB_TOOLS/expo.py" get \
		"http://127.0.0.1:$SO_METRICS_PORT/metrics" >"$LAB_DIR/scrape-$1" 2>/dev/null &&
		"$LAB_PY" "$LAB_TOOLS/expo.py" series "$LAB_DIR/scrape-$1" |
		jq -r --arg k "helios_service_announced{service=\"$SO_SVC\"}" '.[$k] // "none"'
}
so_helios() { lab_helios "$@"; }
so_birdc() { so_exec "$1" birdc -s "$LAB_DIR/bird-$1.ctl" "${@:2}"; }

so_bird_conf_router() {
	local d
	cat <<-EOC
	router id 198.18.0.1;
	log stderr all;
	protocol device { scan time 1; }
	protocol kernel {
		ipv4 { import none; export all; };
		merge paths on;
	}
	protocol bfd { interface "eth0" { min rx interval 200 ms; min tx interval 200 ms; multiplier 5; }; }
	template bgp director {
		local 198.18.0.1 as 65000;
		hold time 3; keepalive time 1; connect retry time 1;
		bfd on;
		ipv4 { import all; export none; };
	}
	EOC
	for d in $SO_DIRECTORS; do
		echo "protocol bgp $d from director { neighbor $(so_addr "$d") as 65001; }"
	done
}

so_bird_conf_director() {
	local d=$1
	cat <<-EOC
	router id $(so_addr "$d");
	log stderr all;
	protocol device { scan time 1; }
	protocol bfd { interface "eth0" { min rx interval 200 ms; min tx interval 200 ms; multiplier 5; }; }
	include "$LAB_DIR/vips-$d.conf";
	protocol bgp uplink {
		local $(so_addr "$d") as 65001;
		neighbor 198.18.0.1 as 65000;
		hold time 3; keepalive time 1; connect retry time 1;
		bfd on;
		ipv4 { import none; export where proto = "helios_vips4"; };
	}
	EOC
}

so_agent_conf() {
	local d=$1 i=0 b
	cat <<-EOC
	metrics = "$SO_METRICS_PORT";
	bgp = { socket = "$LAB_DIR/bird-$d.ctl"; include = "$LAB_DIR/vips-$d.conf";
		drain = ${SO_DRAIN:-3}; poll = 0.2; };
	services = ( { service = "$SO_SVC"; scaleout = true;
		check = { kind = "tcp"; interval = 1; timeout = 1; rise = 1; fall = 3;
			  latency = 1; backoff = 0.05; breaker_open = 1; };
		nodes = (
	EOC
	for b in $SO_BACKENDS; do
		echo "		{ addr = \"$(so_addr "$b")\"; weight = ${SO_WEIGHTS[$i]}; }$([ "$b" = b3 ] || echo ,)"
		i=$((i + 1))
	done
	echo "	); } );"
}

# Link host H to the bridge: veth p<H> <-> eth0 in H, address /24.
so_link() {
	local h=$1 br
	br=$(lab_ns br)
	ip -n "$br" link add "p$h" type veth peer name eth0 netns "$(lab_ns "$h")" || return 1
	ip -n "$br" link set "p$h" master br0 up || return 1
	ip -n "$(lab_ns "$h")" addr add "$(so_addr "$h")/24" dev eth0 || return 1
	ip -n "$(lab_ns "$h")" link set eth0 up
}

# so_up: namespaces, links, routes; returns 2 without native XDP on veth.
so_up() {
	local h ns br
	LAB_HOSTS="r client $SO_DIRECTORS $SO_BACKENDS"
	for h in br $LAB_HOSTS; do
		ns=$(lab_ns "$h")
		ip netns add "$ns" || return 1
		echo "$ns" >>"$LAB_DIR/namespaces"
		ip -n "$ns" link set lo up || return 1
		lab_sysctl "$h" net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 || return 1
	done
	br=$(lab_ns br)
	ip -n "$br" link add br0 type bridge forward_delay 0 mcast_snooping 0 || return 1
	ip -n "$br" link set br0 up || return 1
	for h in r $SO_DIRECTORS $SO_BACKENDS; do
		so_link "$h" || return 1
	done

	# client <-> router, and the router: forwarding, ECMP by L4 hash
	ip -n "$(lab_ns r)" link add eth1 type veth peer name eth0 \
		netns "$(lab_ns client)" || return 1
	ip -n "$(lab_ns r)" addr add 198.18.3.1/24 dev eth1 || return 1
	ip -n "$(lab_ns r)" link set eth1 up || return 1
	ip -n "$(lab_ns client)" addr add 198.18.3.2/24 dev eth0 || return 1
	ip -n "$(lab_ns client)" link set eth0 up || return 1
	ip -n "$(lab_ns client)" route add default via 198.18.3.1 || return 1
	lab_exec client ethtool -K eth0 tx off >/dev/null 2>&1 || return 1
	lab_sysctl client "net.ipv4.ip_local_port_range=61000 65000" || return 1
	for h in $SO_DIRECTORS; do
		lab_sysctl "$h" net.ipv4.ip_forward=1 || return 1
	done
	lab_sysctl r net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.eth0.send_redirects=0 || return 1

	# backends: VIP on lo, replies via the router (DSR)
	for h in $SO_BACKENDS; do
		lab_sysctl "$h" net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.all.arp_announce=2 \
			net.ipv4.conf.eth0.arp_ignore=1 \
			net.ipv4.conf.eth0.arp_announce=2 || return 1
		ip -n "$(lab_ns "$h")" addr add "$SO_VIP/32" dev lo || return 1
		ip -n "$(lab_ns "$h")" route add default via 198.18.0.1 || return 1
	done

	# directors' bridge ports: TX checksum off, native XDP_PASS (XDP_TX)
	lab_build_xdp_pass || return 1
	for h in $SO_DIRECTORS; do
		ip netns exec "$br" ethtool -K "p$h" tx off >/dev/null 2>&1 || return 1
		if ! ip -n "$br" link set dev "p$h" xdpdrv obj "$LAB_DIR/xdp_pass.bpf.o" \
			sec xdp >"$LAB_DIR/log/xdp_pass.log" 2>&1; then
			echo "native XDP on veth unavailable: $(head -c 300 "$LAB_DIR/log/xdp_pass.log")" >&2
			return 2
		fi
	done
	for h in $SO_DIRECTORS $SO_BACKENDS; do
		mkdir -p "$LAB_DIR/bpf/$h"
		mount -t bpf bpf "$LAB_DIR/bpf/$h" || return 1
		echo "$LAB_DIR/bpf/$h" >>"$LAB_DIR/mounts"
	done
}

so_bird_start() {
	local h=$1
	[ -e "$LAB_DIR/vips-$h.conf" ] || : >"$LAB_DIR/vips-$h.conf"
	lab_spawn "$h" "bird-$h" bird -f -c "$LAB_DIR/bird-$h.conf" \
		-s "$LAB_DIR/bird-$h.ctl" -P "$LAB_DIR/bird-$h.pid"
	poll 200 so_birdc "$h" show status >/dev/null 2>&1 || {
		cat "$LAB_DIR/log/bird-$h.log" >&2
		return 1
	}
}

so_agent_start() {
	local d=$1
	so_agent_conf "$d" >"$LAB_DIR/agent-$d.conf"
	lab_spawn "$d" "agent-$d" "$HELIOS" --bpffs "$LAB_DIR/bpf/$d" run \
		config "$LAB_DIR/agent-$d.conf"
	poll 200 grep -q "helios-agent running" "$LAB_DIR/log/agent-$d.log" || {
		cat "$LAB_DIR/log/agent-$d.log" >&2
		return 1
	}
}

# so_start: servers and decap on the backends, BIRD everywhere, the
# directors attached and their agents running.
so_start() {
	local h
	for h in $SO_BACKENDS; do
		lab_spawn "$h" "server-$h" "$LAB_PY" "$LAB_TOOLS/tcp_server.py" \
			--name "$h" --addr "$SO_VIP" --addr "$(so_addr "$h")" --port "$SO_PORT" \
			--lifetime 600 --idle 120 \
			--pidfile "$LAB_DIR/pids/server-$h.py"
		lab_helios "$h" decap attach eth0 vip "$SO_VIP" || return 1
	done
	so_bird_conf_router >"$LAB_DIR/bird-r.conf"
	so_bird_start r || return 1
	for h in $SO_DIRECTORS; do
		so_bird_conf_director "$h" >"$LAB_DIR/bird-$h.conf"
		so_bird_start "$h" || return 1
		lab_helios "$h" attach eth0 mode native || return 1
		so_agent_start "$h"
	done
	for h in $SO_BACKENDS; do
		lab_wait_listen "$h" 2 || return 1
	done
}

# The router's next hops for the VIP, sorted, one line: "198.18.0.21 ...".
so_nexthops() {
	ip -n "$(lab_ns r)" -4 route show "$SO_VIP" |
		grep -o 'via [0-9.]*' | awk '{ print $2 }' | sort | xargs
}

# so_wait_nexthops "WANT" [TRIES]: poll (50 ms) until the router's next hops
# for the VIP are exactly WANT (addresses, sorted, space separated).
so_wait_nexthops() {
	local want=$1 n=${2:-400} i
	for ((i = 0; i < n; i++)); do
		[ "$(so_nexthops)" = "$want" ] && return 0
		sleep 0.05
	done
	echo "# router's next hops: '$(so_nexthops)', want '$want'" >&3
	for i in $SO_DIRECTORS; do
		echo "# $i: $(tail -n 3 "$LAB_DIR/log/agent-$i.log" 2>/dev/null | tr '\n' '|')" >&3
	done
	so_birdc r show protocols 2>&1 | sed 's/^/# r: /' >&3
	return 1
}

# so_dir_packets D [FIELD]: packets (or flows) director D took for the service.
so_dir_packets() {
	so_helios "$1" -j stats "$SO_SVC" 2>/dev/null | jq -r --arg f "${2:-packets}" '.services[0][$f] // 0'
}

# so_kill9 NAME: the recorded process, now (SIGKILL; bats may print
# "Killed" for it), and poll (bounded) until it is gone.
so_kill9() {
	local pid
	pid=$(cat "$LAB_DIR/pids/$1" 2>/dev/null) || return 0
	lab_owns "$pid" || return 0
	kill -9 "$pid" 2>/dev/null
	poll 100 so_gone "$pid"
}

# so_gone PID: exited (a zombie waiting for its parent counts as gone).
so_gone() {
	[ ! -e "/proc/$1/status" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
