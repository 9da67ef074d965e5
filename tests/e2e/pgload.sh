#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pgload.sh PG_BIN HOST PORT CLIENTS SECONDS OUTDIR [MODE]: a write load
# for measuring what clients see while the primary changes. CLIENTS loops,
# each running `pgbench -C -c 1` (MODE "new", the default: a new connection
# per transaction, an INSERT into table t) or `pgbench -c 1` (MODE
# "persistent": one connection kept for every transaction, as a pool's)
# until SECONDS have passed; a pgbench run whose client aborted (its
# connection was reset: pgbench 15 does not reconnect, and --max-tries
# retries only serialization and deadlock failures) is started again at
# once, which is the reconnect. Per-transaction logs (--log) go to OUTDIR;
# then OUTDIR/result holds
#   commits N failed N connect_errors N max_gap_ms G
# failed: transactions sent that did not commit (the connection broke or
# the server failed them); connect_errors: connections refused or reset
# before a transaction was sent (the client loop retries them at once, so
# their number says more about the retry rate than about the outage);
# G: the longest time without any committed transaction, from the logs.
# Bounded: every loop ends at the deadline.
pg_bin=$1 host=$2 port=$3 clients=$4 secs=$5 out=$6 mode=${7:-new}
mkdir -p "$out" || exit 1
case $mode in
new) per_xact=-C ;;
persistent) per_xact= ;;
*) echo "pgload.sh: unknown mode '$mode' (new or persistent)" >&2; exit 1 ;;
esac
printf 'INSERT INTO t VALUES (1);\n' >"$out/write.sql"
end=$(($(date +%s) + secs))

client() {
	local i=$1 run=0 left
	while left=$((end - $(date +%s))) && [ "$left" -gt 0 ]; do
		run=$((run + 1))
		"$pg_bin/pgbench" -n $per_xact -c 1 -T "$left" -f "$out/write.sql" \
			-h "$host" -p "$port" -U postgres --log \
			--log-prefix="$out/log.c$i.$run" postgres \
			>"$out/c$i.$run.out" 2>&1
	done
}

for ((i = 0; i < clients; i++)); do
	client "$i" &
done
wait
# A log line: client transaction latency_us script epoch_s epoch_us.
failed=$(cat "$out"/c*.out | grep -c "aborted in command")
conn=$(cat "$out"/c*.out | grep -c "connection to server .* failed")
cat "$out"/log.* 2>/dev/null | awk '{ printf "%.0f\n", $5 * 1000000 + $6 }' | sort -n |
	awk -v failed="$failed" -v conn="$conn" '
	NR > 1 && $1 - prev > gap { gap = $1 - prev }
	{ prev = $1 }
	END { printf "commits %d failed %d connect_errors %d max_gap_ms %.1f\n", NR, failed, conn, gap / 1000 }' \
	>"$out/result"
