#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# What the director leaves readable: its pins (the program, every map, the
# links, the layout map) are 0600 root and the --bpffs directory 0700 (the
# lab mounts its bpffs with the default 1777), also after an upgrade; and a
# postgres probe's errors never show the conninfo's password.

load lib

setup_file() { e2e_lab_attached; }
teardown_file() { e2e_lab_down; }

pins_private() {
	local dir=$LAB_DIR/bpf/dir f n=0 bad=()
	[ "$(stat -c '%a %u' "$dir")" = "700 0" ] || fail "$dir: $(stat -c '%a %u' "$dir")"
	for f in "$dir"/*; do
		# the kernel's own read-only iterators at a bpffs root (0400)
		case ${f##*/} in maps.debug | progs.debug) continue ;; esac
		n=$((n + 1))
		[ "$(stat -c '%a %u' "$f")" = "600 0" ] || bad+=("${f##*/}=$(stat -c '%a/%u' "$f")")
	done
	echo "# $n pins, not 0600 root: ${bad[*]:-none}" >&3
	[ "$n" -gt 30 ] || fail "only $n pins"
	[ ${#bad[@]} -eq 0 ] || fail "pins not 0600 root: ${bad[*]}"
}

@test "pins are 0600 root and the bpffs directory 0700, after attach and after an upgrade" {
	hl service add "$LAB_SVC4"
	hl node add "$LAB_SVC4" "$(lab_addr4 b1)"
	pins_private
	[ -e "$LAB_DIR/bpf/dir/layout" ] || fail "no layout pin"
	hl upgrade eth0 force
	pins_private
}

# probe_hides SECRET CONNINFO: a failing postgres probe with CONNINFO never
# prints SECRET; sets $output.
probe_hides() {
	run hl probe postgres "$(lab_addr4 b1)" 1 timeout 500 conninfo "$2"
	echo "# conninfo '$2' -> status $status: $output" >&3
	[ "$status" -ne 0 ] || fail "the probe of a closed port succeeded"
	[[ "$output" != *"$1"* ]] || fail "the password is in the output: $output"
}

@test "a postgres probe never prints the conninfo's password" {
	probe_hides Zq9secretPW "user=helios password=Zq9secretPW dbname=postgres"
	probe_hides Zq9secretPW "postgresql://helios:Zq9secretPW@/postgres"
	probe_hides Zq9secretPW "password=Zq9secretPW bogus"
	# libpq quotes a bad sslmode value: here it is the password too
	probe_hides Zq9secretPW "sslmode=Zq9secretPW password=Zq9secretPW"
	[[ "$output" == *'"***'* ]] || fail "libpq's quote not redacted: $output"
}
