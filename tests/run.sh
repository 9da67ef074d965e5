#!/usr/bin/env bash
# Run every suite (layers, C unit, the unit suites again under ASan+UBSan,
# BPF data path, bats end-to-end), each speaking TAP, and close with one
# line: "N passed, N failed[, N skipped]".
#
# tests/run.sh [BUILD [SUITE...]]: only the SUITEs given (a C suite binary,
# a .bats file, a .sh script), as `make unit-test` does.
set -uo pipefail
build=${1:-build}
[ $# -gt 0 ] && shift
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

# By its path: the suite's name and how to run it.
suite() {
	case $1 in
	*.bats)	run_suite "$(basename "$1")" bats --tap "$1" ;;
	*.sh)	run_suite "$(basename "$1" .sh)" "$1" ;;
	*/asan/*) run_suite "$(basename "$1")-asan" "$1" ;;
	*)	run_suite "$(basename "$1")" "$1" ;;
	esac
}

export HELIOS_BUILD=$PWD/$build
if [ $# -gt 0 ]; then
	for s; do
		if [ -e "$s" ]; then
			suite "$s"
		else
			echo "not ok - suite $s does not exist"
			failed=$((failed + 1))
		fi
	done
else
	suite tests/layers.sh
	suite tests/docs.sh
	suite tests/drift.sh
	for t in "$build"/tests/test_* "$build"/tests/asan/test_*; do
		[ -f "$t" ] && [ -x "$t" ] && suite "$t"
	done
	for b in tests/e2e/*.bats; do
		[ -e "$b" ] && suite "$b"
	done
fi

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line+=", $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ]
