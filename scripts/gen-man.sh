#!/usr/bin/env bash
# Build the man pages into BUILD/man: helios-agent(8), one
# helios-agent-OBJECT(8) per object of the binary, and helios.conf(5). The
# synopsis, options and details come from the binary's own tables
# (`helios-agent help scdoc PAGE PROSE`), the prose from man/*.scd; scdoc
# turns them into roff.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
agent=$build/helios-agent
out=$build/man
rm -rf "$out"
mkdir -p "$out"
page() {	# page NAME SECTION PROSE
	"$agent" help scdoc "$1" "$3" >"$out/$1.$2.scd"
	scdoc <"$out/$1.$2.scd" >"$out/$1.$2"
}
page helios-agent 8 man/helios-agent.scd
page helios.conf 5 man/helios.conf.scd
for obj in $("$agent" help objects); do
	page "helios-agent-$obj" 8 "man/$obj.scd"
done
