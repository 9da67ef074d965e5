#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The arrows that must never exist (HACKING.md, "Layers"), read from the
# #include lines, one TAP line per rule:
#
#   user/lib   includes nothing of user/cmd or user/agent
#   user/cmd   includes nothing of user/agent
#   bpf/       includes only bpf/ and include/: a quoted include must resolve
#		to a file there (the including file's directory, then -Iinclude
#		and -Ibpf, as the Makefile compiles it); an angle include is
#		vmlinux.h, libbpf's <bpf/...> or <linux/...>, or resolves there
#   include/   (the ABI header) includes <linux/types.h> only
#
# Then a self-check: a scratch tree with planted bad (and good) includes
# must give each rule exactly the violations planted, so a rule that can no
# longer fail is itself a failure.
#
# Usage: tests/layers.sh [ROOT]	(default: the repository)
set -uo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# a/./b/../c -> a/c
norm()
{
	local IFS=/ part parts out=()

	read -ra parts <<<"$1"
	for part in "${parts[@]}"; do
		case $part in
		'' | .) ;;
		..)
			if [ ${#out[@]} -gt 0 ] && [ "${out[-1]}" != .. ]; then
				unset 'out[-1]'
			else
				out+=(..)
			fi
			;;
		*) out+=("$part") ;;
		esac
	done
	echo "${out[*]}"
}

# First existing DIR/NAME (relative to $tree), or nothing.
resolve()
{
	local name=$1 d p
	shift

	for d in "$@"; do
		p=$(norm "$d/$name")
		[ -f "$tree/$p" ] && { echo "$p"; return; }
	done
}

# Print "LINE KIND NAME" for each #include of FILE (KIND is " or <).
includes()
{
	awk 'match($0, /^[ \t]*#[ \t]*include[ \t]*[<"][^>"]+[>"]/) {
		s = substr($0, RSTART, RLENGTH)
		sub(/^[ \t]*#[ \t]*include[ \t]*/, "", s)
		print FNR, substr(s, 1, 1), substr(s, 2, length(s) - 2)
	}' "$1"
}

# The include as written: "name" or <name>.
spelled()
{
	if [ "$1" = '"' ]; then echo "\"$2\""; else echo "<$2>"; fi
}

# Where a user-space include lands: -Iuser -Iinclude, quoted ones first
# relative to the including file. Not found (a generated skeleton, a
# system header): where -Iuser would put it, which is what the rule reads.
user_target()
{
	local file=$1 kind=$2 name=$3 dir t

	dir=$(dirname "$file")
	if [ "$kind" = '"' ]; then
		t=$(resolve "$name" "$dir" user include)
	else
		t=$(resolve "$name" user include)
	fi
	if [ -z "$t" ]; then
		case $name in
		./* | ../*) t=$(norm "$dir/$name") ;;
		*) t=$(norm "user/$name") ;;
		esac
	fi
	echo "$t"
}

# rule_user LAYER FORBIDDEN_REGEX: violations, one line each.
rule_user()
{
	local layer=$1 forbidden=$2 f line kind name t

	while IFS= read -r f; do
		while read -r line kind name; do
			t=$(user_target "$f" "$kind" "$name")
			[[ $t =~ $forbidden ]] &&
				echo "$f:$line: includes $(spelled "$kind" "$name") (is $t)"
		done < <(includes "$tree/$f")
	done < <(cd "$tree" && find "user/$layer" -name '*.[ch]' 2>/dev/null | sort)
}

rule_lib() { rule_user lib '^user/(cmd|agent)/'; }
rule_cmd() { rule_user cmd '^user/agent/'; }

rule_bpf()
{
	local f line kind name t

	while IFS= read -r f; do
		while read -r line kind name; do
			if [ "$kind" = '"' ]; then
				t=$(resolve "$name" "$(dirname "$f")" include bpf)
			else
				t=$(resolve "$name" include bpf)
				if [ -z "$t" ]; then
					[[ $name =~ ^(vmlinux\.h|bpf/[^/]+\.h|linux/[^/]+\.h)$ ]] &&
						continue
				fi
			fi
			if [ -z "$t" ]; then
				echo "$f:$line: includes $(spelled "$kind" "$name"), not a file under bpf/ or include/"
			elif ! [[ $t =~ ^(bpf|include)/ ]]; then
				echo "$f:$line: includes $(spelled "$kind" "$name") (is $t)"
			fi
		done < <(includes "$tree/$f")
	done < <(cd "$tree" && find bpf -name '*.[ch]' 2>/dev/null | sort)
}

rule_abi()
{
	local f line kind name

	while IFS= read -r f; do
		while read -r line kind name; do
			[ "$kind$name" = '<linux/types.h' ] ||
				echo "$f:$line: includes $(spelled "$kind" "$name") (only <linux/types.h>)"
		done < <(includes "$tree/$f")
	done < <(cd "$tree" && find include -name '*.h' 2>/dev/null | sort)
}

rules=(lib cmd bpf abi)
declare -A what=(
	[lib]="user/lib includes nothing of user/cmd or user/agent"
	[cmd]="user/cmd includes nothing of user/agent"
	[bpf]="bpf/ includes only bpf/ and include/"
	[abi]="include/ includes only <linux/types.h>"
)

n=0 failed=0
tap()
{
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

tree=$root
for r in "${rules[@]}"; do
	out=$(rule_$r)
	if [ -z "$out" ]; then
		tap ok "${what[$r]}"
	else
		tap "not ok" "${what[$r]}"
		sed 's/^/#   /' <<<"$out"
	fi
done

# Self-check: per rule, the planted violations (lines marked BAD) and
# nothing else. Good includes sit beside them to catch false positives.
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
plant()
{
	mkdir -p "$tree/$(dirname "$1")"
	cat >"$tree/$1"
}
plant user/lib/log.h </dev/null
plant user/cmd/cli.h </dev/null
plant user/agent/agent.h </dev/null
plant bpf/lib/common.h </dev/null
plant include/helios/abi.h <<'EOF'
#include <linux/types.h>
#include <stdint.h>		/* BAD */
EOF
plant user/lib/a.c <<'EOF'
#include <stdio.h>
#include "lib/log.h"
#include "log.h"
#include "helios_xdp.skel.h"
#include "cmd/cli.h"		/* BAD */
#  include "../agent/agent.h"	/* BAD */
#include <agent/probe.h>	/* BAD */
EOF
plant user/cmd/b.c <<'EOF'
#include "cmd/cli.h"
#include "lib/log.h"
#include "agent/agent.h"	/* BAD */
EOF
plant bpf/p.bpf.c <<'EOF'
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <helios/abi.h>
#include "lib/common.h"
#include "lib/log.h"		/* BAD: only user/lib/log.h exists */
#include "../user/lib/log.h"	/* BAD */
#include <stdio.h>		/* BAD */
EOF
plant bpf/lib/x.h <<'EOF'
#include "common.h"
#include "helios/abi.h"
#include "../../user/cmd/cli.h"	/* BAD */
EOF
for r in "${rules[@]}"; do
	want=$(grep -l "BAD" -r "$tree" | while read -r f; do
		case ${f#"$tree"/} in
		user/lib/*) [ "$r" = lib ] ;;
		user/cmd/*) [ "$r" = cmd ] ;;
		bpf/*) [ "$r" = bpf ] ;;
		include/*) [ "$r" = abi ] ;;
		esac && grep -c BAD "$f"
	done | awk '{ s += $1 } END { print s + 0 }')
	got=$(rule_$r | grep -c .)
	if [ "$got" -eq "$want" ]; then
		tap ok "self-check: rule '$r' finds the $want planted bad includes"
	else
		tap "not ok" "self-check: rule '$r' finds $got of the $want planted bad includes"
		rule_$r | sed 's/^/#   /'
	fi
done

echo "1..$n"
[ "$failed" -eq 0 ]
