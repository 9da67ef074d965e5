#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/metrics_cost.sh BUILD OUT.json [NODES]: what the metrics endpoint costs with
# NODES nodes (default 1000) probed by TCP every PROBE_INTERVAL seconds
# (default 1; a long one keeps probes out of the scrape figures), on
# bench/targets.sh's two namespaces like bench/agent_cpu.sh. Measures
#   - one scrape: wall time (client side) and body bytes, 20 in a row,
#     then 20 gzipped; the agent's CPU per scrape (its ticks over the 40);
#   - the agent's CPU over WINDOW s (default 60) without scrapes, then
#     over WINDOW s scraped every 5 s (from /proc/PID/stat), twice.
# Prints the figures and writes them to OUT.json (bench/run.sh's stage
# "metrics"; bench/report.py puts them in BENCHMARKS.md). Root.
set -euo pipefail

BUILD=${1:?usage: metrics_cost.sh BUILD OUT.json [NODES]}
OUT=${2:?usage: metrics_cost.sh BUILD OUT.json [NODES]}
N=${3:-1000}
AGENT=$BUILD/helios-agent
WINDOW=${METRICS_WINDOW:-60}
INTERVAL=${PROBE_INTERVAL:-1}
PORT=7000
MPORT=9464

# shellcheck source-path=SCRIPTDIR source=targets.sh
source "$(dirname "$0")/targets.sh"
targets_up "$N"

agent_conf "$DIR/agent.conf" 198.18.251.1 100003 "$INTERVAL" "$N"
ip netns exec "$NS_A" "$AGENT" --bpffs "$DIR/fs" run config "$DIR/agent.conf" \
	--metrics "$MPORT" 2>"$DIR/agent.log" &
apid=$!
PIDS+=("$apid")
wait_probed "$N"

hz=$(getconf CLK_TCK)

# 20 scrapes in a row, then 20 gzipped: client-side time and bytes; agent
# CPU per scrape (over the 40).
c0=$(ticks "$apid")
ip netns exec "$NS_A" python3 - "$MPORT" "$DIR/scrape.json" <<'PY'
import json, statistics, sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/metrics"
ms, size = [], 0
for _ in range(20):
    t = time.perf_counter()
    body = urllib.request.urlopen(url, timeout=120).read()
    ms.append((time.perf_counter() - t) * 1000)
    size = len(body)
lines = body.count(b"\n")
print(f"scrape: median {statistics.median(ms):.1f} ms, min {min(ms):.1f}, max {max(ms):.1f} "
      f"(20 scrapes); {size} bytes, {lines} lines")
zms, zsize = [], 0
for _ in range(20):
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    t = time.perf_counter()
    zsize = len(urllib.request.urlopen(req, timeout=120).read())
    zms.append((time.perf_counter() - t) * 1000)
print(f"scrape with gzip: median {statistics.median(zms):.1f} ms (20 scrapes); {zsize} bytes")
ms3 = lambda v: {"min": round(min(v), 2), "median": round(statistics.median(v), 2),
                 "max": round(max(v), 2)}
json.dump({"scrape_ms": ms3(ms), "bytes": size, "lines": lines,
           "gzip_ms": ms3(zms), "gzip_bytes": zsize}, open(sys.argv[2], "w"))
PY
c1=$(ticks "$apid")
per_scrape=$(awk -v c=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.1f", 1000 * c / hz / 40 }')
echo "agent CPU per scrape (40 scrapes, probes included): $per_scrape ms"

window() {	# window SCRAPE(0|1): agent CPU % over WINDOW s
	local c0 c1 w0 w1 t=0
	c0=$(ticks "$apid"); w0=$(date +%s%N)
	while [ $t -lt "$WINDOW" ]; do
		[ "$1" = 1 ] && ip netns exec "$NS_A" python3 -c \
			"import urllib.request; urllib.request.urlopen('http://127.0.0.1:$MPORT/metrics', timeout=120).read()"
		sleep 5	# the scrape interval being measured
		t=$((t + 5))
	done
	c1=$(ticks "$apid"); w1=$(date +%s%N)
	awk -v c=$((c1 - c0)) -v hz="$hz" -v w=$((w1 - w0)) \
		'BEGIN { printf "%.2f", 100 * c / hz / (w / 1e9) }'
}
echo "agent CPU, $N nodes probed every $INTERVAL s, ${WINDOW} s windows:"
# Alternating, twice: a machine busy with other work shows as a
# difference between the two rounds rather than between the two kinds.
rounds=()
for round in 1 2; do
	idle=$(window 0)
	scraped=$(window 1)
	echo "  round $round: no scrapes $idle%, scraped every 5 s $scraped% of one CPU"
	rounds+=("{\"no_scrapes_percent\": $idle, \"scraped_every_5s_percent\": $scraped}")
done
ip netns exec "$NS_A" python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$MPORT/metrics', timeout=120).read().decode())" |
	grep -E '^helios_agent_(loop_lag|probes_total)' | sed 's/^/  /'
echo "  (start-up: $probed nodes probed)"
# The figures, and when and at what commit they were taken (the stage may
# also be run alone, and its figures merged into an older run's results).
python3 - "$DIR/scrape.json" "$OUT" "$N" "$probed" "$INTERVAL" "$WINDOW" "$per_scrape" \
	"$(IFS=,; echo "${rounds[*]}")" "$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || true)" <<'PY'
import json, sys, time
scrape, out, n, probed, interval, window, per_scrape, rounds, commit = sys.argv[1:10]
r = {"nodes": int(n), "probed": int(probed), "probe_interval_s": float(interval), "window_s": int(window),
     **json.load(open(scrape)), "agent_cpu_per_scrape_ms": float(per_scrape),
     "agent_cpu_rounds": json.loads(f"[{rounds}]"),
     "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "commit": commit}
json.dump(r, open(out, "w"), indent=2)
PY
