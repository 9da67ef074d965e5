#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Planned switchover and unplanned failover of a real Patroni cluster
# (tests/e2e/patroni.bash: Debian's Patroni 3.0.2 on b1 and b2, etcd in b3)
# under 8 writing clients (tests/e2e/pgload.sh: `pgbench -C -c 1` loops, a
# new connection per INSERT), what the clients see through
#   helios    the write VIP: the agent (postgres check + patroni_port,
#             probe every 0.5 s, on_down reset, hold 30)
#   vip       the same, but a switchover by patronictl alone
#   haproxy   HAProxy 2.6 on the director host as Patroni's documentation
#             configures it: option httpchk OPTIONS /primary, http-check
#             expect status 200, default-server inter 3s fall 3 rise 2
#             on-marked-down shutdown-sessions
# Events:
#   switchover  planned: `patronictl switchover` (for helios also as the
#               hook of `helios-agent switchover ... timeout 5`)
#   failover    unplanned: the leader's Patroni killed (SIGKILL) and its
#               PostgreSQL stopped in immediate mode (a crash); Patroni
#               promotes the replica once the leader key expires (ttl 10 s)
# Figures per run: failed transactions, failed connection attempts, and the
# write outage (longest time without a committed transaction). Figures,
# not assertions; machine noise is large (2 cores).
#
#   bench/patroni.sh [BUILD] [RUNS]      (root; about 2.5 min a run)
set -euo pipefail

BUILD=${1:-build}
RUNS=${2:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
[ "$(id -u)" -eq 0 ] || { echo "bench/patroni: needs root (BPF, namespaces)" >&2; exit 1; }
HELIOS_BUILD=$BUILD
LAB_QUIET=1
# shellcheck source=../scripts/lab.sh
source "$ROOT/scripts/lab.sh"
# shellcheck source=../tests/e2e/pg.bash
source "$ROOT/tests/e2e/pg.bash"
# shellcheck source=../tests/e2e/pgcluster.bash
source "$ROOT/tests/e2e/pgcluster.bash"
# shellcheck source=../tests/e2e/patroni.bash
source "$ROOT/tests/e2e/patroni.bash"

SW_S=15 FO_S=30		# seconds of load for a switchover, a failover
AT_S=4			# the event starts this far into the load
HAP_PORT=5000

trap pt_teardown EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }

pt_lab || { say "bench/patroni: lab failed"; exit 1; }
lab_sysctl client net.ipv4.tcp_tw_reuse=1 || exit 1
lab_sysctl dir net.ipv4.tcp_tw_reuse=1 "net.ipv4.ip_local_port_range=10000 65000" || exit 1
pg_sql "$PT_BASE/b1" "CREATE TABLE t (x int)" >/dev/null

cat >"$LAB_DIR/agent.conf" <<EOF
services = (
  { service = "$PGC_WSVC"; strategy = "primary"; hold = 30; on_down = "reset";
    patroni_port = $PT_PORT;
    check = { kind = "postgres"; conninfo = "user=postgres dbname=postgres";
              interval = $PGC_INTERVAL; timeout = 0.4; rise = 1; fall = 2; latency = 1; };
    nodes = ( { addr = "$(lab_addr4 b1)"; }, { addr = "$(lab_addr4 b2)"; } ); }
);
EOF
pgc_agent_start "$LAB_DIR/agent.conf" || exit 1

# Patroni's documented HAProxy (docs: haproxy.cfg of the Patroni repository).
cat >"$LAB_DIR/haproxy.cfg" <<EOF
global
	maxconn 4096
defaults
	mode tcp
	retries 2
	timeout client 30m
	timeout connect 4s
	timeout server 30m
	timeout check 5s
listen primary
	bind $(lab_addr4 dir):$HAP_PORT
	option httpchk OPTIONS /primary
	http-check expect status 200
	default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions
	server b1 $(lab_addr4 b1):$PGC_NODE_PORT maxconn 100 check port $PT_PORT
	server b2 $(lab_addr4 b2):$PGC_NODE_PORT maxconn 100 check port $PT_PORT
EOF
lab_spawn dir haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg"

# on PATH HOST: a new connection through PATH reaches HOST's PostgreSQL.
on() {
	local d addr=$PGC_WVIP port=$PGC_PORT
	[ "$1" = haproxy ] && addr=$(lab_addr4 dir) port=$HAP_PORT
	d=$(lab_exec client timeout 5 "$PG_BIN/psql" -X -At -c "SELECT current_setting('data_directory')" \
		"host=$addr port=$port user=postgres dbname=postgres connect_timeout=2" 2>/dev/null) || return 1
	d=${d%/data}
	[ "${d##*/}" = "$2" ]
}

other() { if [ "$1" = b1 ]; then echo b2; else echo b1; fi; }

cat >"$LAB_DIR/hook.sh" <<EOF
#!/bin/sh
exec env HOME="$LAB_DIR" patronictl -c "$LAB_DIR/patronictl.yml" switchover \
	--leader "\$HELIOS_FROM_NAME" --candidate "\$HELIOS_TO_NAME" --force
EOF
chmod +x "$LAB_DIR/hook.sh"

# measure PATH EVENT NAME: one run; prints its line.
measure() {
	local path=$1 ev=$2 name=$3 secs=$SW_S from to addr=$PGC_WVIP port=$PGC_PORT detail=""
	[ "$ev" = failover ] && secs=$FO_S
	[ "$path" = haproxy ] && addr=$(lab_addr4 dir) port=$HAP_PORT
	from=$(pt_leader)
	to=$(other "$from")
	poll 400 on "$path" "$from" || { say "$path does not reach the leader $from"; return 1; }
	lab_spawn client "load-$name" "$ROOT/tests/e2e/pgload.sh" "$PG_BIN" "$addr" "$port" 8 \
		"$secs" "$LAB_DIR/$name"
	sleep "$AT_S"	# load before the event (not a synchronisation)
	case $path-$ev in
	helios-switchover)
		detail=$(HELIOS_FROM_NAME=$from HELIOS_TO_NAME=$to lab_helios dir -j switchover \
			"$PGC_WSVC" to "$(lab_addr4 "$to")" timeout 5 hook "$LAB_DIR/hook.sh" |
			jq -c '[.phases[] | "\(.phase) \(.ms)"]')
		;;
	*-switchover)
		pt_ctl switchover --leader "$from" --candidate "$to" --force >/dev/null
		;;
	*-failover)
		kill -KILL "$(pt_pid "$from")"
		pg_stop "$PT_BASE/$from"
		;;
	esac
	poll $(((secs + 30) * 20)) test -s "$LAB_DIR/$name/result" || { say "load $name did not end"; return 1; }
	printf '%-8s %-10s %s %s\n' "$path" "$ev" "$(cat "$LAB_DIR/$name/result")" "$detail"
	# what the clients were told, most frequent first
	cat "$LAB_DIR/$name"/c*.out | { grep -iE "error|fatal" || true; } |
		sed 's/client [0-9]*/client N/' | sort | uniq -c | sort -rn | head -4 | sed 's/^/    /'
	poll 400 on "$path" "$to" || say "$path: writes not on the new leader $to"
	if [ "$ev" = failover ]; then
		# The crashed node comes back as a new replica (a fresh base backup).
		rm -rf "${PT_BASE:?}/$from/data"
		pt_start "$from"
		poll 1200 pt_streaming "$from" "$to" || { say "$from did not rejoin"; return 1; }
	else
		poll 1200 pt_streaming "$from" "$to" || { say "$from did not rejoin"; return 1; }
	fi
}

say "bench/patroni: $RUNS run(s); 8 clients, switchover ${SW_S}s, failover ${FO_S}s of load"
echo "path     event      figures (commits, failed transactions, failed connection attempts, longest gap between commits)"
for ((r = 1; r <= RUNS; r++)); do
	for ev in switchover failover; do
		for path in helios haproxy; do
			measure "$path" "$ev" "$path-$ev-$r"
		done
	done
	# Patroni alone moving the role; the agent follows by its probes.
	measure vip switchover "vip-switchover-$r"
done
echo "helios: helios-agent switchover with patronictl as its hook (phases in ms);"
echo "vip: the same VIP, patronictl alone (the agent follows by its probes)"
