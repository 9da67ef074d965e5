#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Helios in a throwaway namespace lab: a client, a director and three
# backends, one service with weights 100/200/300, a burst of real TCP
# connections, the per-node counters. Run by `make demo-lab`; needs root.
#
#   scripts/demo-lab.sh [BUILD_DIR]
#
# Everything lives in network namespaces created here and deleted on exit
# (also on failure or Ctrl-C); addresses are from 198.18.0.0/15 and fd00::/8.
set -euo pipefail

HELIOS_BUILD=${1:-build}
cd "$(dirname "$0")/.."
case $HELIOS_BUILD in /*) ;; *) HELIOS_BUILD=$PWD/$HELIOS_BUILD ;; esac
export HELIOS_BUILD
# shellcheck source=lab.sh
source scripts/lab.sh

CONNS=${DEMO_CONNS:-300}

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
say() { printf '    %s\n' "$*"; }
# Show a director CLI command, then run it.
run_hl() {
	printf '    director$ helios-agent %s\n' "$*"
	lab_helios dir "$@" 2>&1 | sed 's/^/      /'
	return "${PIPESTATUS[0]}"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "Error: the demo builds network namespaces and attaches XDP: run it as root" >&2
	exit 1
fi
if [ ! -x "$HELIOS" ]; then
	echo "Error: $HELIOS not built (make $HELIOS_BUILD/helios-agent)" >&2
	exit 1
fi

trap 'lab_destroy' EXIT
trap 'exit 130' INT TERM HUP PIPE
start=$SECONDS

step "Building the lab: one bridge, a client, a director, three backends"
lab_create 3
rc=0
lab_up || rc=$?
if [ $rc -eq 2 ]; then
	echo "Error: native XDP on veth is unavailable on this kernel; the demo cannot run" >&2
	exit 1
elif [ $rc -ne 0 ]; then
	echo "Error: lab setup failed" >&2
	exit 1
fi
say "namespaces: $(tr '\n' ' ' <"$LAB_DIR/namespaces")"
say "client    $(lab_addr4 client)   routes the VIP $LAB_VIP4 via the director"
say "director  $(lab_addr4 dir)   Helios XDP on eth0, IPIP to the backends"
for b in $(lab_backends); do
	say "$b        $(lab_addr4 "$b")  VIP on lo, Helios decap on eth0, answers the client directly"
done

step "Starting a TCP server on every backend (it greets each connection with its name)"
lab_servers_start
say "listening on $LAB_VIP4:$LAB_PORT and [$LAB_VIP6]:$LAB_PORT in b1, b2, b3"

step "Backends: strip the IPIP header of packets for the VIPs (TC ingress)"
for b in $(lab_backends); do
	printf '    %s$ helios-agent decap attach eth0 vip %s vip %s\n' "$b" "$LAB_VIP4" "$LAB_VIP6"
	lab_helios "$b" decap attach eth0 vip "$LAB_VIP4" vip "$LAB_VIP6"
done

step "Director: attach Helios to eth0 and define the service"
run_hl attach eth0 mode native
run_hl service add "$LAB_SVC4"
w=100
for b in $(lab_backends); do
	run_hl node add "$LAB_SVC4" "$(lab_addr4 "$b")" weight $w zone "zone-$b"
	w=$((w + 100))
done
run_hl service list

step "Client: $CONNS new TCP connections to $LAB_SVC4"
base=$(lab_ports "$CONNS")
out=$(lab_client burst "$LAB_VIP4" "$LAB_PORT" --count "$CONNS" --sport-base "$base")
say "answered by (as the client saw it):"
"$LAB_PY" - "$out" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
for name in sorted(r["counts"]):
    n = r["counts"][name]
    print("      %-4s %4d  %5.1f%%  %s" % (name, n, 100.0 * n / max(r["ok"], 1),
                                         "#" * (n * 40 // max(r["ok"], 1))))
print("      failed: %d of %d" % (r["errors"], r["total"]))
EOF
say "weights 100/200/300 ask for 16.7% / 33.3% / 50.0%"

step "Per-node counters kept by the data path"
run_hl node list "$LAB_SVC4"
run_hl stats "$LAB_SVC4"

step "Draining b3 (weight 0): no new flows, existing ones would continue"
run_hl node set "$LAB_SVC4" "$(lab_addr4 b3)" weight 0
base=$(lab_ports 100)
out=$(lab_client burst "$LAB_VIP4" "$LAB_PORT" --count 100 --sport-base "$base")
say "100 more connections: $("$LAB_PY" -c 'import json, sys; print(json.loads(sys.argv[1])["counts"])' "$out")"

step "Tearing the lab down"
trap - EXIT
lab_destroy
say "done in $((SECONDS - start)) s"
