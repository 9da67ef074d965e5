#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/fuzz/run.sh BUILD SECONDS [TARGET...]: each libFuzzer target
# (all without TARGETs) for SECONDS, nice'd, from its seed corpus in
# tests/fuzz/corpus/TARGET; new inputs go to BUILD/fuzz/corpus/TARGET,
# a crash's input to BUILD/fuzz/crash-TARGET-*. Ends with one line per
# target; non-zero if any target crashed.
set -u
build=${1:-build}
secs=${2:-600}
shift 2 2>/dev/null || shift $#
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=($(cd "$here/corpus" && ls))
# libconfig 1.5 (Debian 12) leaks its string buffer on some syntax errors
# (fixed upstream in 1.7): not ours, one allocation per failed load.
export LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
failed=0
summary=()
for t in "${targets[@]}"; do
	bin="$build/fuzz/fuzz_$t"
	work="$build/fuzz/corpus/$t"
	mkdir -p "$work"
	log="$build/fuzz/$t.log"
	echo "fuzz_$t: ${secs}s" >&2
	start=$(date +%s)
	nice -n 10 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build/fuzz/crash-$t-" \
		"$work" "$here/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	summary+=("fuzz_$t: $(( $(date +%s) - start ))s, ${runs:-?} runs, exit $rc$([ $rc -ne 0 ] && echo ' CRASH: see '"$log")")
	[ $rc -eq 0 ] || failed=1
done
printf '%s\n' "${summary[@]}"
exit $failed
