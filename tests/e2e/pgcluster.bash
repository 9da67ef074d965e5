# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# A PostgreSQL 15 primary (b1) and streaming standby (b2) behind the
# director of a namespace lab, with the health agent probing both: shared by
# tests/e2e/90-agent.bats (IPIP), the NAT tests and scripts/demo.sh. Source
# it after scripts/lab.sh and pg.bash, once lab_up has run (LAB_FWD says the
# mode).
#
#   PGC_BASE=$(pg_base_new)
#   pgc_ipip_vips                 # IPIP only: read VIP on lo, decap on b1, b2
#   pgc_cluster "$PGC_BASE"       # p on b1, s on b2, streaming, table t
#   pgc_agent_conf FILE           # write + read service, postgres check
#   pgc_patroni_conf FILE PORT    # or: Patroni's view too (patroni_port, kind patroni)
#   pgc_agent_start FILE          # `helios-agent run` in the director's ns
#   landed_on VIP                 # p or s: whose session a new connection gets
#
# Writes go to PGC_WVIP:PGC_PORT (strategy primary, on_down reset), reads to
# PGC_RVIP:PGC_PORT (strategy replica, fallback primary).

PGC_WVIP=${PGC_WVIP:-198.18.1.10}
PGC_RVIP=${PGC_RVIP:-198.18.1.11}
PGC_PORT=${PGC_PORT:-5432}		# the VIPs' port
PGC_NODE_PORT=${PGC_NODE_PORT:-5432}	# the servers' port
PGC_INTERVAL=${PGC_INTERVAL:-0.5}	# probe interval of the agent, seconds
PGC_WSVC="$PGC_WVIP:$PGC_PORT/tcp"
PGC_RSVC="$PGC_RVIP:$PGC_PORT/tcp"

# pgc_listen HOST: listen_addresses of HOST's server. IPIP: its own address
# and the VIPs (they arrive decapsulated); NAT: its own addresses only.
pgc_listen() {
	if [ "$LAB_FWD" = nat ]; then
		echo "$(lab_addr4 "$1"),$(lab_addr6 "$1")"
	else
		echo "$(lab_addr4 "$1"),$PGC_WVIP,$PGC_RVIP"
	fi
}

# pgc_ipip_lab: a setup_file's lab for the PostgreSQL tests in IPIP mode: two
# backends, the director attached, the read VIP and decap on b1 and b2, the
# cluster (pgc_cluster) under PG_BASE, which $LAB_DIR/pg_base records.
# Returns 0 with E2E_SKIP set (e2e_skipping) when the machine cannot run it.
pgc_ipip_lab() {
	local rc=0
	pg_require || return 1
	e2e_require
	case $? in 0) ;; 1) return 0 ;; *) return 1 ;; esac
	lab_create 2 || return 1
	lab_up || rc=$?
	if [ $rc -eq 2 ]; then
		lab_destroy
		e2e_skip_file "native XDP on veth unavailable in this kernel"
		return 0
	fi
	[ $rc -eq 0 ] || { lab_destroy; return 1; }
	pgc_ipip_vips || return 1
	lab_helios dir attach eth0 mode native || return 1
	PG_BASE=$(pg_base_new) || return 1
	echo "$PG_BASE" >"$LAB_DIR/pg_base"
	pgc_cluster "$PG_BASE"
}

# pgc_teardown_file: the cluster's servers and files, then the lab.
pgc_teardown_file() {
	[ -n "${LAB_DIR:-}" ] && [ -f "$LAB_DIR/pg_base" ] && pg_base_destroy "$(cat "$LAB_DIR/pg_base")"
	lab_destroy
}

# pgc_ipip_vips: IPIP mode only: the read VIP on b1's and b2's lo too (lab_up
# put the write VIP, LAB_VIP4, there), and decap for both VIPs.
pgc_ipip_vips() {
	local h
	for h in b1 b2; do
		ip -n "$(lab_ns "$h")" addr add "$PGC_RVIP/32" dev lo || return 1
		lab_helios "$h" decap attach eth0 vip "$PGC_WVIP" vip "$PGC_RVIP" || return 1
	done
}

# pgc_cluster BASE: primary BASE/p in b1 with table t, standby BASE/s in b2
# from a base backup (slot standby1), streaming.
pgc_cluster() {
	local base=$1
	pg_init_primary "$base/p" "$(lab_ns b1)" "$(pgc_listen b1)" "$PGC_NODE_PORT" &&
		pg_start "$base/p" &&
		pg_sql "$base/p" "CREATE TABLE t (x int)" >/dev/null &&
		pg_init_standby "$base/s" "$(lab_ns b2)" "$(pgc_listen b2)" "$PGC_NODE_PORT" \
			"$base/p" standby1 &&
		pg_start "$base/s" &&
		pg_wait_streaming "$base/p" standby1
}

# pgc_agent_conf FILE: the agent's file for both services, nodes b1 and b2,
# a postgres check every PGC_INTERVAL seconds.
pgc_agent_conf() {
	local file=$1
	local check="check = { kind = \"postgres\"; conninfo = \"user=postgres dbname=postgres\";
              port = $PGC_NODE_PORT; interval = $PGC_INTERVAL; timeout = 0.4; rise = 1; fall = 2;
              lag_degraded = 1; lag_unhealthy = 3; };"
	local nodes="nodes = ( { addr = \"$(lab_addr4 b1)\"; }, { addr = \"$(lab_addr4 b2)\"; } );"
	cat >"$file" <<-EOF
	# helios-agent run config $file
	services = (
	  { service = "$PGC_WSVC"; strategy = "primary"; hold = 10; on_down = "reset";
	    $check
	    $nodes },
	  { service = "$PGC_RSVC"; strategy = "replica"; fallback = "primary";
	    $check
	    $nodes }
	);
	EOF
}

# pgc_patroni_conf FILE PORT: the agent's file with Patroni's view on PORT:
# writes by a postgres check with patroni_port (held while the two
# disagree), reads by a patroni check (roles, lag, tags, pools).
pgc_patroni_conf() {
	local file=$1 port=$2
	local nodes="nodes = ( { addr = \"$(lab_addr4 b1)\"; }, { addr = \"$(lab_addr4 b2)\"; } );"
	cat >"$file" <<-EOF
	services = (
	  { service = "$PGC_WSVC"; strategy = "primary"; hold = 60; on_down = "reset";
	    patroni_port = $port;
	    check = { kind = "postgres"; conninfo = "user=postgres dbname=postgres";
	              interval = $PGC_INTERVAL; timeout = 0.4; rise = 1; fall = 2; latency = 1; };
	    $nodes },
	  { service = "$PGC_RSVC"; strategy = "replica"; fallback = "primary";
	    check = { kind = "patroni"; port = $port; interval = $PGC_INTERVAL;
	              timeout = 0.4; rise = 1; fall = 2; latency = 1; };
	    $nodes }
	);
	EOF
}

# pgc_agent_start FILE: the agent in the director's namespace; waits
# (bounded) until it answers `health`.
pgc_agent_start() {
	lab_spawn dir agent "$HELIOS" --bpffs "$LAB_DIR/bpf/dir" run config "$1"
	poll 100 lab_helios dir -j health >/dev/null
}

# pgc_psql VIP [PSQL ARGS...]: psql from the client to VIP:PGC_PORT.
pgc_psql() {
	local vip=$1; shift
	lab_exec client timeout 5 "$PG_BIN/psql" -X \
		"host=$vip port=$PGC_PORT user=postgres dbname=postgres connect_timeout=2" "$@"
}

# landed_on VIP: the cluster_name of the server a new connection to VIP
# lands on (p or s), or nothing when the connection fails.
landed_on() {
	pgc_psql "$1" -At -c "SELECT current_setting('cluster_name')" 2>/dev/null
}

writes_on() { [ "$(landed_on "$PGC_WVIP")" = "$1" ]; }
reads_on() { [ "$(landed_on "$PGC_RVIP")" = "$1" ]; }

holding() {
	[ "$(lab_helios dir -j health "$PGC_WSVC" | jq -r '.[0].hold')" = true ]
}

# pool_of HOST: the eff_pool (workload pool) of HOST's node in the read service.
pool_of() {
	lab_helios dir -j map dump nodes |
		jq -r --arg a "$(lab_addr4 "$1")" --arg s "$(read_svc_id)" \
			'.[] | select(.addr == $a and (.svc_id | tostring) == $s) | .eff_pool'
}
read_svc_id() {
	lab_helios dir -j service list | jq -r --arg s "$PGC_RSVC" '.[] | select(.service == $s) | .id'
}
pool_is() { [ "$(pool_of "$1")" = "$2" ]; }

# node_health VIP BACKEND FIELD: one field of the agent's `health -j`.
node_health() {
	lab_helios dir -j health "$1:$PGC_PORT/tcp" |
		jq -r --arg a "$(lab_addr4 "$2")" --arg f "$3" '.[] | select(.addr == $a) | .[$f]'
}
state_is() { [ "$(node_health "$1" "$2" state)" = "$3" ]; }

# session_start: a TCP session held open from the client on the write VIP
# (recorded as process "session"). After `touch $LAB_DIR/go` it sends one
# segment and writes what came back into $LAB_DIR/result: reset, timeout or
# closed.
session_start() {
	rm -f "$LAB_DIR/ready" "$LAB_DIR/go" "$LAB_DIR/result"
	cat >"$LAB_DIR/session.py" <<-'EOF'
	import os, socket, sys, time
	vip, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	s = socket.create_connection((vip, port), timeout=5)
	open(d + "/ready", "w").close()
	for _ in range(1200):
	    if os.path.exists(d + "/go"):
	        break
	    time.sleep(0.05)
	s.settimeout(5)
	try:
	    s.sendall(b"\0\0\0\x08\x04\xd2\x16\x2f")	# SSLRequest
	    time.sleep(0.2)
	    s.sendall(b"x")
	    r = s.recv(100)
	    while r:
	        r = s.recv(100)
	    res = "closed"
	except ConnectionResetError:
	    res = "reset"
	except socket.timeout:
	    res = "timeout"
	open(d + "/result", "w").write(res)
	EOF
	lab_spawn client session "$LAB_PY" "$LAB_DIR/session.py" "$PGC_WVIP" "$PGC_PORT" "$LAB_DIR"
	poll 100 test -e "$LAB_DIR/ready"
}
