#!/usr/bin/env bash
# Docs that cannot drift: README.md's option tables are what the binary's
# option tables say, and every object's help names the object.
set -uo pipefail
cd "$(dirname "$0")/.."
agent=${HELIOS_BUILD:-${1:-build}}/helios-agent
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }

want=$("$agent" help markdown)
got=$(sed -n '/<!-- options:begin/,/<!-- options:end/p' README.md | sed '1d;$d')
if [ "$(printf '%s' "$want" | sed '/^$/d')" = "$(printf '%s' "$got" | sed '/^$/d')" ]; then
	ok "README.md option tables match the binary's (scripts/gen-docs.sh)"
else
	notok "README.md option tables differ from 'helios-agent help markdown': run scripts/gen-docs.sh"
	diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/# /'
fi
top=$("$agent" help 2>&1)
for obj in attach upgrade detach service class node conn stats map decap probe run health monitor top; do
	if printf '%s\n' "$top" | grep -q "helios-agent $obj"; then
		ok "top-level help shows $obj's grammar"
	else
		notok "top-level help lacks $obj"
	fi
done
for obj in service class node conn map decap; do
	out=$("$agent" "$obj" help 2>&1)
	if [ "$(printf '%s\n' "$out" | grep -c "helios-agent $obj")" -ge 2 ] &&
	   printf '%s\n' "$top" | grep -qF "$(printf '%s\n' "$out" | head -1)"; then
		ok "'$obj help' and the top-level help print the same grammar"
	else
		notok "'$obj help' and the top-level help disagree"
	fi
done
echo "1..$n"
