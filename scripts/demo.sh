#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Helios doing its real job, in under a minute: a PostgreSQL 15 primary and
# a streaming standby behind the director, a write VIP (strategy primary)
# and a read VIP (strategy replica), the health agent probing both servers;
# psql and pgbench through the VIPs, then the primary stops, the standby is
# promoted and writes follow it. Run by `make demo`; needs root.
#
#   scripts/demo.sh [BUILD_DIR]
#
# DEMO_FWD=nat|ipip picks the forwarding mode (default: nat when this
# helios-agent has it). In NAT mode the database hosts run no Helios code
# and carry no VIP: the director, one-armed on the lab's bridge, rewrites
# client -> VIP into SNAT address -> server and the replies back. In IPIP
# mode the hosts strip the outer header (decap) and answer the client
# directly from the VIP on their lo.
#
# Everything lives in network namespaces and a temporary directory created
# here and deleted on exit (also on failure or Ctrl-C); addresses are from
# 198.18.0.0/15 and fd00::/8.
set -euo pipefail

HELIOS_BUILD=${1:-build}
cd "$(dirname "$0")/.."
case $HELIOS_BUILD in /*) ;; *) HELIOS_BUILD=$PWD/$HELIOS_BUILD ;; esac
export HELIOS_BUILD
# shellcheck source=lab.sh
source scripts/lab.sh
# shellcheck source=../tests/e2e/pg.bash
source tests/e2e/pg.bash
# shellcheck source=../tests/e2e/pgcluster.bash
source tests/e2e/pgcluster.bash

if [ -t 1 ]; then B=$'\033[1m' D=$'\033[2m' N=$'\033[0m'; else B='' D='' N=''; fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
say() { printf '    %s\n' "$*"; }
indent() { sed 's/^/      /'; }
die() { echo "Error: $*" >&2; exit 1; }
# Show a director CLI command, then run it.
run_hl() {
	printf '    %sdirector$%s helios-agent %s\n' "$D" "$N" "$*"
	lab_helios dir "$@" 2>&1 | indent
	return "${PIPESTATUS[0]}"
}
# client_sql VIP SQL: show and run psql from the client through VIP.
client_sql() {
	printf '    %sclient$%s psql -h %s -c "%s"\n' "$D" "$N" "$1" "$2"
	pgc_psql "$1" -P footer=off -c "$2" 2>&1 | sed '/^$/d' | indent
	return "${PIPESTATUS[0]}"
}
# run_stats SVC: `stats SVC` without the reasons still at zero.
run_stats() {
	printf '    %sdirector$%s helios-agent stats %s    %s(reasons at 0 left out)%s\n' \
		"$D" "$N" "$1" "$D" "$N"
	lab_helios dir stats "$1" 2>&1 | awk '!/^[a-z0-9-]+ +0$/ && !/^$/' | indent
	return "${PIPESTATUS[0]}"
}
WHO="SELECT inet_server_addr() AS server, pg_is_in_recovery() AS standby, current_setting('cluster_name') AS cluster, inet_client_addr() AS client_seen_as"

[ "$(id -u)" -eq 0 ] ||
	die "the demo builds network namespaces and attaches XDP: run it as root"
[ -x "$HELIOS" ] || die "$HELIOS not built (make $HELIOS_BUILD/helios-agent)"
if ! pg_require 2>/dev/null; then
	scripts/install-deps.sh
	pg_require || die "PostgreSQL 15 is missing after scripts/install-deps.sh"
fi
for t in ip ethtool clang jq; do
	command -v "$t" >/dev/null || die "$t missing (scripts/install-deps.sh)"
done

# NAT needs `service add ... fwd nat` and `conn list` (the NAT table).
# (the help captured first: grep -q closing the pipe early would make a
# pipefail shell see the writer's SIGPIPE as a failure)
nat_available() {
	local svc_help top_help
	svc_help=$("$HELIOS" service help 2>&1)
	top_help=$("$HELIOS" help 2>&1)
	grep -qE '^ +fwd .*nat' <<<"$svc_help" &&
		grep -q 'helios-agent conn ' <<<"$top_help"
}
FWD=${DEMO_FWD:-auto}
if [ "$FWD" = auto ]; then
	if nat_available; then FWD=nat; else FWD=ipip; fi
fi
case $FWD in
nat) nat_available || die "this helios-agent has no NAT mode (DEMO_FWD=ipip)" ;;
ipip) ;;
*) die "DEMO_FWD must be nat or ipip" ;;
esac
export LAB_FWD=$FWD	# lab.sh builds the lab for it

PGC_BASE=
# Idempotent, and not interrupted by a second Ctrl-C.
cleanup() {
	trap '' INT TERM HUP PIPE
	if [ -n "$PGC_BASE" ]; then
		pg_base_destroy "$PGC_BASE"
		PGC_BASE=
	fi
	lab_destroy
	LAB_DIR=
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
start=$SECONDS

# ---------------------------------------------------------------------------
step "1. Lab: a client, the director and two database hosts on one bridge"
lab_create 2
rc=0
lab_up || rc=$?
[ $rc -ne 2 ] || die "native XDP on veth is unavailable on this kernel; the demo cannot run"
[ $rc -eq 0 ] || die "lab setup failed"
say "namespaces: $(tr '\n' ' ' <"$LAB_DIR/namespaces")"
say "client    $(lab_addr4 client)   routes the VIPs ($PGC_WVIP writes, $PGC_RVIP reads) via the director"
if [ "$FWD" = nat ]; then
	lab_snat_addrs
	say "director  $(lab_addr4 dir)   Helios XDP on eth0, full NAT, one-armed: SNAT address $LAB_SNAT4"
	say "b1, b2    $(lab_addr4 b1), $(lab_addr4 b2)   PostgreSQL only: no Helios code, no VIP"
else
	pgc_ipip_vips
	say "director  $(lab_addr4 dir)   Helios XDP on eth0, IPIP to the database hosts"
	say "b1, b2    $(lab_addr4 b1), $(lab_addr4 b2)   VIPs on lo, Helios decap on eth0, answer the client directly"
fi

# ---------------------------------------------------------------------------
step "2. PostgreSQL 15: primary on b1, streaming standby on b2"
PGC_BASE=$(pg_base_new)
say "b1\$ initdb; pg_ctl start                  (cluster p, listens on $(pgc_listen b1))"
say "b2\$ pg_basebackup -R -X stream -C -S standby1; pg_ctl start   (cluster s)"
pgc_cluster "$PGC_BASE" || die "PostgreSQL setup failed"
pg_sql "$PGC_BASE/p" "SELECT application_name, client_addr, state FROM pg_stat_replication" |
	sed 's/^/      replication: /; s/|/  /g'

# ---------------------------------------------------------------------------
step "3. Director: Helios on eth0, a write VIP and a read VIP ($FWD)"
run_hl attach eth0 mode native
if [ "$FWD" = nat ]; then
	run_hl service add "$PGC_WSVC" fwd nat strategy primary
	run_hl service add "$PGC_RSVC" fwd nat strategy replica fallback primary
	run_hl service set "$PGC_WSVC" snat "$LAB_SNAT4"
	run_hl service set "$PGC_RSVC" snat "$LAB_SNAT4"
	for s in "$PGC_WSVC" "$PGC_RSVC"; do
		for h in b1 b2; do
			run_hl node add "$s" "$(lab_addr4 $h):$PGC_NODE_PORT"
		done
	done
	run_hl service list
	say "(the agent's file declares the same services and nodes and adds the checks)"
else
	lab_set_mtu 1520	# room for the outer IPv4 header
	say "(the agent creates the services and nodes of its file; MTU 1520 towards b1, b2 for IPIP)"
fi
pgc_agent_conf "$LAB_DIR/agent.conf"

# ---------------------------------------------------------------------------
step "4. Health agent: a postgres check of both servers every ${PGC_INTERVAL}s"
grep -v '^#' "$LAB_DIR/agent.conf" | indent
printf '    %sdirector$%s helios-agent run config agent.conf &\n' "$D" "$N"
agent_log() { tail -n 5 "$LAB_DIR/log/agent.log"; }
if ! pgc_agent_start "$LAB_DIR/agent.conf" || ! sleep 0.2 ||
	! kill -0 "$(cat "$LAB_DIR/pids/agent")" 2>/dev/null; then
	die "the agent did not start: $(agent_log)"
fi
poll 200 writes_on p || die "writes never reached the primary: $(lab_helios dir health; agent_log)"
poll 100 reads_on s || die "reads never reached the standby: $(lab_helios dir health; agent_log)"
run_hl health

# ---------------------------------------------------------------------------
step "5. psql through the VIPs: writes land on the primary, reads on the standby"
client_sql "$PGC_WVIP" "INSERT INTO t VALUES (1)"
client_sql "$PGC_WVIP" "$WHO"
client_sql "$PGC_RVIP" "$WHO"
[ "$FWD" = nat ] && say "(the servers see the director's SNAT address, not the client: full NAT)"

# ---------------------------------------------------------------------------
step "6. pgbench through the director: initialise via the write VIP, select-only via the read VIP"
printf '    %sclient$%s pgbench -i -s 1 -h %s\n' "$D" "$N" "$PGC_WVIP"
lab_exec client "$PG_BIN/pgbench" -i -s 1 -q -h "$PGC_WVIP" -p "$PGC_PORT" -U postgres postgres \
	>"$LAB_DIR/log/pgbench-init.log" 2>&1 || die "pgbench -i failed: $(cat "$LAB_DIR/log/pgbench-init.log")"
lsn=$(pg_sql "$PGC_BASE/p" "SELECT pg_current_wal_lsn()")
pg_wait_until "$PGC_BASE/s" "SELECT pg_last_wal_replay_lsn() >= '$lsn'" ||
	die "the standby did not replay pgbench's tables"
printf '    %sclient$%s pgbench -n -S -c 4 -j 2 -T 3 -h %s\n' "$D" "$N" "$PGC_RVIP"
lab_spawn client pgbench "$PG_BIN/pgbench" -n -S -c 4 -j 2 -T 3 -h "$PGC_RVIP" -p "$PGC_PORT" \
	-U postgres postgres
if [ "$FWD" = nat ]; then
	conns() {
		[ "$(lab_helios dir -j conn list "$PGC_RSVC" |
			jq '[.[] | select(.state == "established")] | length')" -ge 4 ]
	}
	poll 60 conns || true
	say "while it runs, the director's NAT table (pgbench's 4 connections, earlier ones closed):"
	run_hl conn list "$PGC_RSVC"
fi
poll 200 eval '! kill -0 "$(cat "$LAB_DIR/pids/pgbench")" 2>/dev/null' || die "pgbench did not finish"
grep -E 'number of clients|transactions actually|latency average|^tps' "$LAB_DIR/log/pgbench.log" | indent
grep -q '^tps' "$LAB_DIR/log/pgbench.log" || die "pgbench failed: $(cat "$LAB_DIR/log/pgbench.log")"
run_stats "$PGC_RSVC"

# ---------------------------------------------------------------------------
step "7. Failover: the primary (b1) stops"
say "b1\$ pg_ctl stop -m immediate"
pg_stop "$PGC_BASE/p"
t0=$SECONDS
poll 200 state_is "$PGC_WVIP" b1 unhealthy || die "b1 not judged down: $(lab_helios dir health)"
say "the agent judged b1 down after $((SECONDS - t0)) s; no primary left, the write VIP holds new connections:"
run_hl health "$PGC_WSVC"
say "a write started now waits (its SYNs are held, the client retransmits):"
printf '    %sclient$%s psql -h %s -c "INSERT INTO t VALUES (2); %s" &\n' "$D" "$N" "$PGC_WVIP" \
	"SELECT inet_server_addr(), pg_is_in_recovery(), ..."
lab_spawn client write "$PG_BIN/psql" -X -P footer=off \
	"host=$PGC_WVIP port=$PGC_PORT user=postgres dbname=postgres connect_timeout=20" \
	-c "INSERT INTO t VALUES (2)" \
	-c "SELECT inet_server_addr(), pg_is_in_recovery(), current_setting('cluster_name') AS cluster"

# ---------------------------------------------------------------------------
step "8. Promote the standby (b2): writes follow it"
say "b2\$ psql -c 'SELECT pg_promote()'"
t0=$(date +%s%N)
pg_sql "$PGC_BASE/s" "SELECT pg_promote(true, 10)" >/dev/null || die "pg_promote failed"
poll 400 eval '! kill -0 "$(cat "$LAB_DIR/pids/write")" 2>/dev/null' || die "the held write never finished"
say "the held write finished $(( ($(date +%s%N) - t0) / 1000000 )) ms after pg_promote:"
sed '/^$/d' "$LAB_DIR/log/write.log" | indent
poll 100 writes_on s || die "writes did not follow the promoted node: $(lab_helios dir health)"
client_sql "$PGC_WVIP" "INSERT INTO t VALUES (3)"
client_sql "$PGC_WVIP" "$WHO"
say "no standby left: reads fall back to the primary"
client_sql "$PGC_RVIP" "SELECT inet_server_addr() AS server, pg_is_in_recovery() AS standby, count(*) AS rows_in_t FROM t"
run_hl health
run_stats "$PGC_WSVC"

# ---------------------------------------------------------------------------
step "Tearing the lab down"
cleanup
say "done in $((SECONDS - start)) s"
