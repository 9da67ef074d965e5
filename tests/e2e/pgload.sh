#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pgload.sh PG_BIN HOST PORT CLIENTS SECONDS OUTDIR: a write load for
# measuring what clients see while the primary changes. CLIENTS loops, each
# running `pgbench -C -c 1` (a new connection per transaction: an INSERT
# into table t) until SECONDS have passed; a pgbench run whose client
# aborted (a failed connect, or a transaction whose connection broke) is
# started again and counts as one failed transaction. Per-transaction logs
# (--log) go to OUTDIR; then OUTDIR/result holds
#   commits N failed N max_gap_ms G
# G: the longest time without any committed transaction, from the logs.
# Bounded: every loop ends at the deadline.
pg_bin=$1 host=$2 port=$3 clients=$4 secs=$5 out=$6
mkdir -p "$out" || exit 1
printf 'INSERT INTO t VALUES (1);\n' >"$out/write.sql"
end=$(($(date +%s) + secs))

client() {
	local i=$1 run=0 left failed=0
	while left=$((end - $(date +%s))) && [ "$left" -gt 0 ]; do
		run=$((run + 1))
		"$pg_bin/pgbench" -n -C -c 1 -T "$left" -f "$out/write.sql" \
			-h "$host" -p "$port" -U postgres --log \
			--log-prefix="$out/c$i.$run" postgres \
			>"$out/c$i.$run.out" 2>&1 || failed=$((failed + 1))
	done
	echo "$failed" >"$out/failed.$i"
}

for ((i = 0; i < clients; i++)); do
	client "$i" &
done
wait
# A log line: client transaction latency_us script epoch_s epoch_us.
failed=$(cat "$out"/failed.* | awk '{s += $1} END {print s + 0}')
cat "$out"/c*.log* 2>/dev/null | awk '{ printf "%d%06d\n", $5, $6 }' | sort -n |
	awk -v failed="$failed" '
	NR > 1 && $1 - prev > gap { gap = $1 - prev }
	{ prev = $1 }
	END { printf "commits %d failed %d max_gap_ms %.1f\n", NR, failed, gap / 1000 }' \
	>"$out/result"
