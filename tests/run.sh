#!/usr/bin/env bash
# Run every suite (C unit, BPF data path, bats end-to-end), each speaking TAP,
# and close with one line: "N passed, N failed[, N skipped]".
set -uo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_suite() {
	local name=$1; shift
	echo "# suite: $name"
	"$@" >"$log" 2>&1
	local rc=$?
	cat "$log"
	local ok notok skip
	ok=$(grep -cE '^ok ' "$log")
	notok=$(grep -cE '^not ok ' "$log")
	skip=$(grep -ciE '^ok .*# skip' "$log")
	passed=$((passed + ok - skip))
	skipped=$((skipped + skip))
	failed=$((failed + notok))
	# A suite that dies without reporting a failure still fails.
	if [ $rc -ne 0 ] && [ "$notok" -eq 0 ]; then
		echo "not ok - suite $name exited with status $rc"
		failed=$((failed + 1))
	fi
}

run_suite layers tests/layers.sh
for t in "$build"/tests/test_*; do
	[ -x "$t" ] && run_suite "$(basename "$t")" "$t"
done
export HELIOS_BUILD=$PWD/$build
for b in tests/e2e/*.bats; do
	[ -e "$b" ] && run_suite "$(basename "$b")" bats --tap "$b"
done

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line+=", $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ]
