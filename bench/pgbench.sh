#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Database traffic: PostgreSQL 15 in a backend namespace, pgbench in a
# client namespace, three ways in one run:
#   direct    client -> backend address
#   director  client -> VIP, Helios XDP on the director (IPIP), Helios TC
#             decap on the backend, replies straight to the client
#   nat       client -> a second VIP, Helios full NAT (fwd nat) to the
#             backend's own address; replies come back through the director
#   haproxy   client -> HAProxy (mode tcp) on the director host -> backend
# Workloads: select-only (-S), TPC-B-like (default script), and select-only
# with a new connection per transaction (-S -C); -c 8 -j 2 -T $PGB_T.
# Runs are interleaved (run 1 of every path, then run 2, ...).
#
# The namespace lab is scripts/lab.sh (the e2e tests' lab, sourced, not
# changed): client, director and one backend on a bridge, addresses in
# 198.18.0.0/15 and fd00::/8. Everything is torn down by a trap.
#
#   bench/pgbench.sh BUILD OUT.json
set -euo pipefail

BUILD=${1:?build dir}
OUT=${2:?output json}
: "${PGB_T:=10}" "${PGB_RUNS:=3}" "${PGB_SCALE:=10}"
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
HELIOS_BUILD=$BUILD
LAB_QUIET=1
# shellcheck source=../scripts/lab.sh
source "$(dirname "$0")/../scripts/lab.sh"

PGBIN=/usr/lib/postgresql/15/bin
PGDATA=
PGBENCH=$PGBIN/pgbench
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)

cleanup() {
	if [ -n "$PGDATA" ] && [ -f "$PGDATA/postmaster.pid" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" stop -m immediate >/dev/null 2>&1 || true
	fi
	lab_destroy
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_create 1
rc=0
lab_up || rc=$?
if [ $rc -ne 0 ]; then
	echo "pgbench: lab setup failed (rc $rc)" >&2
	exit 1
fi
lab_set_mtu 1540
lab_decap_attach
# pgbench -C opens thousands of connections: room for ports in TIME_WAIT.
# The director host's own connections (HAProxy's to the node) stay above
# the SNAT ports (abi.h): below, a port the kernel picks can be one a NAT
# flow of the nat runs still holds, and the node's answer to HAProxy is
# taken for that flow's reply (Helios warns of this overlap; README).
lab_sysctl client net.ipv4.tcp_tw_reuse=1 "net.ipv4.ip_local_port_range=10000 65000"
lab_sysctl dir net.ipv4.tcp_tw_reuse=1 "net.ipv4.ip_local_port_range=32768 65000"

# PostgreSQL on b1, listening on its own address and on the VIP (on lo).
chmod 755 "$LAB_DIR"
PGDATA=$LAB_DIR/pg/data
mkdir -p "$LAB_DIR/pg/run"
chown -R postgres:postgres "$LAB_DIR/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres >"$LAB_DIR/log/initdb.log" 2>&1
cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = '$(lab_addr4 b1),$LAB_VIP4'
port = 5432
unix_socket_directories = '$LAB_DIR/pg/run'
max_connections = 100
EOF
echo "host all all 198.18.0.0/15 trust" >>"$PGDATA/pg_hba.conf"
lab_exec b1 runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LAB_DIR/pg/postgres.log" -w start >/dev/null

# The director: Helios on eth0, one service with b1 as its node.
lab_helios dir attach eth0 mode native >/dev/null
lab_helios dir service add "$LAB_SVC4" >/dev/null 2>&1
lab_helios dir node add "$LAB_SVC4" "$(lab_addr4 b1)" >/dev/null 2>&1
# Full NAT on a second VIP, the node is b1's own address: its replies go to
# the director and are XDP_TX'd, so b1 computes checksums in software (the
# veth checksum trap, LAB.md) -- on every path alike.
NAT_VIP=198.18.1.11
lab_exec b1 ethtool -K eth0 tx off >/dev/null
lab_helios dir service add "$NAT_VIP:5432/tcp" fwd nat >/dev/null
lab_helios dir node add "$NAT_VIP:5432/tcp" "$(lab_addr4 b1)" >/dev/null 2>&1

# HAProxy on the director host, TCP mode, one server.
cat >"$LAB_DIR/haproxy.cfg" <<EOF
global
	maxconn 4096
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
listen pg
	bind $(lab_addr4 dir):5433
	server b1 $(lab_addr4 b1):5432
EOF
lab_spawn dir haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg"
for _ in $(seq 100); do
	lab_exec dir ss -Hltn | grep -q ":5433 " && break
	sleep 0.05
done

# No GSSAPI/SSL negotiation: with gssencmode=prefer libpq looks for Kerberos
# credentials on every connection, which dominates -C.
pgb() { lab_exec client env PGGSSENCMODE=disable PGSSLMODE=disable "$PGBENCH" -U postgres "$@"; }

echo "  pgbench -i -s $PGB_SCALE" >&2
pgb -h "$(lab_addr4 b1)" -i -q -s "$PGB_SCALE" postgres >"$LAB_DIR/log/pgbench-init.log" 2>&1

declare -A host=([direct]=$(lab_addr4 b1) [director]=$LAB_VIP4 [nat]=$NAT_VIP
		 [haproxy]=$(lab_addr4 dir))
declare -A port=([direct]=5432 [director]=5432 [nat]=5432 [haproxy]=5433)
declare -A wargs=([select]="-S" [tpcb]="" [connect]="-S -C")
rows=$LAB_DIR/rows.tsv
: >"$rows"
fwd0=$(lab_helios dir -j stats | jq '.reasons.forwarded // 0')
for run in $(seq "$PGB_RUNS"); do
	for w in select tpcb connect; do
		for p in direct director nat haproxy; do
			# shellcheck disable=SC2086
			out=$(pgb -h "${host[$p]}" -p "${port[$p]}" -n ${wargs[$w]} \
				-c 8 -j 2 -T "$PGB_T" postgres 2>&1) || {
				echo "pgbench $w via $p failed: $out" >&2
				exit 1
			}
			tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
			lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
			failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$p" "$run" "$tps" "$lat" "${failed:-0}" >>"$rows"
			printf '  run %s %-7s %-8s %10s tps %8s ms\n' "$run" "$w" "$p" "$tps" "$lat" >&2
		done
	done
done
fwd1=$(lab_helios dir -j stats | jq '.reasons.forwarded // 0')

python3 - "$rows" "$OUT" "$PGB_T" "$PGB_RUNS" "$PGB_SCALE" "$((fwd1 - fwd0))" <<'EOF'
import json, statistics, sys
rows, out, t, runs, scale, fwd = sys.argv[1:7]
res = {"duration_s": int(t), "runs": int(runs), "scale": int(scale),
       "clients": 8, "threads": 2, "director_forwarded_packets": int(fwd),
       "workloads": {}}
for line in open(rows):
    w, p, r, tps, lat, failed = line.rstrip("\n").split("\t")
    d = res["workloads"].setdefault(w, {}).setdefault(p, {"tps": [], "latency_ms": [], "failed": 0})
    d["tps"].append(float(tps))
    d["latency_ms"].append(float(lat))
    d["failed"] += int(failed or 0)
for w in res["workloads"].values():
    for d in w.values():
        d["tps_median"] = statistics.median(d["tps"])
        d["latency_ms_median"] = statistics.median(d["latency_ms"])
json.dump(res, open(out, "w"), indent=2)
EOF
