#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: every benchmark in one run, then bench/results/latest.json,
# bench/results/cost-vs-nodes.png and BENCHMARKS.md. Needs root (BPF,
# namespaces). Each stage is bounded by `timeout`; the whole takes about
# 9-12 minutes, most of it pgbench (PGB_T seconds x 27 runs) and the
# metrics endpoint's CPU windows.
#
#   bench/run.sh [BUILD]        PGB_T=10 PGB_RUNS=3 BENCH_SKIP_PG=1
#                               METRICS_WINDOW=30 to adjust
set -euo pipefail

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (BPF, namespaces)" >&2; exit 1; }

RES=$ROOT/bench/results
TMP=$(mktemp -d /tmp/hlbench-XXXXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$RES"
start=$(date +%s)

stage() {	# stage NAME TIMEOUT CMD...: run, keep going on failure
	local name=$1 limit=$2 t0 rc=0; shift 2
	t0=$(date +%s)
	echo "== $name" >&2
	timeout --kill-after=10 "$limit" "$@" || rc=$?
	echo "$name $rc $(($(date +%s) - t0))" >>"$TMP/stages"
	[ $rc -eq 0 ] || echo "bench: $name failed (rc $rc)" >&2
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
stage pktcost 300 "$BUILD/bench/pktcost" -o "$TMP/pktcost.json"
# per-stage ablation: the director built with HL_BENCH_ABLATE (make bench)
stage ablate 300 "$BUILD/variants/ablate/bench/pktcost" -s ablate -o "$TMP/ablate.json"
stage live 120 "$BUILD/bench/live" -o "$TMP/live.json"
stage ctlplane 120 "$BUILD/bench/ctlplane" -a "$BUILD/helios-agent" -o "$TMP/ctlplane.json"
stage agent 180 bench/agent_cpu.sh "$BUILD" "$TMP/agent.json" 100 1000
# the metrics endpoint: a scrape of 1000 nodes, the agent's CPU scraped
# every 5 s (two rounds of two METRICS_WINDOW s windows)
stage metrics 420 env METRICS_WINDOW="${METRICS_WINDOW:-30}" \
	bench/metrics_cost.sh "$BUILD" "$TMP/metrics.json" 1000
if [ -z "${BENCH_SKIP_PG:-}" ]; then
	stage pgbench 480 bench/pgbench.sh "$BUILD" "$TMP/pgbench.json"
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$TMP" "$RES/latest.json" "$load_start" "$load_end" "$start" <<'EOF'
import json, os, platform, subprocess, sys, time
tmp, out, load0, load1, start = sys.argv[1:6]
def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()
def git(*a):
    try:
        return subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
res = {"machine": {"nproc": os.cpu_count(), "kernel": platform.release(),
                   "cpu": cpu_model(),
                   "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                   "loadavg_start": load0, "loadavg_end": load1},
       "commit": git("rev-parse", "--short", "HEAD"),
       # Uncommitted changes to what the benchmark builds: the figures are
       # for the working tree, not for the commit alone.
       "tree_dirty": bool(git("status", "--porcelain", "--", "bpf", "include", "user", "Makefile")),
       "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
       "stages": {}}
for line in open(os.path.join(tmp, "stages")):
    name, rc, secs = line.split()
    res["stages"][name] = {"rc": int(rc), "seconds": int(secs)}
for name in ("pktcost", "ablate", "live", "ctlplane", "agent", "metrics", "pgbench"):
    p = os.path.join(tmp, name + ".json")
    if os.path.exists(p) and res["stages"].get(name, {}).get("rc") == 0:
        res[name] = json.load(open(p))
res["total_seconds"] = int(time.time()) - int(start)
json.dump(res, open(out, "w"), indent=2)
EOF
python3 bench/report.py "$RES/latest.json" BENCHMARKS.md "$RES"
echo "bench: $(($(date +%s) - start)) s; bench/results/latest.json, BENCHMARKS.md" >&2
