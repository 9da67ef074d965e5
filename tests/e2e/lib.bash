# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared by every tests/e2e/*.bats: `load lib`. Builds one namespace lab per
# .bats file (scripts/lab.sh) in setup_file and deletes it in teardown_file.
# A kernel feature the lab needs and does not have (native XDP on veth) makes
# every test of the file a visible skip; a missing helios-agent is a failure.
#
# bats 1.8 cannot skip from setup_file, so setup_file records the reason in
# E2E_SKIP (and still succeeds) and the per-test setup() below skips with it.
# A file that defines its own setup() calls e2e_setup first; a setup_file that
# does more after e2e_lab_attached returns early when e2e_skipping.

bats_require_minimum_version 1.5.0

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

# shellcheck source=../../scripts/lab.sh
source "$BATS_TEST_DIRNAME/../../scripts/lab.sh"

E2E_TOOLS=(ip ethtool clang ss jq mount)

# e2e_skip_file REASON: every test of this file will skip with REASON.
e2e_skip_file() {
	export E2E_SKIP=$1
	echo "# skipping every test: $1" >&3
}

e2e_skipping() { [ -n "${E2E_SKIP:-}" ]; }

e2e_setup() {
	if e2e_skipping; then
		skip "$E2E_SKIP"
	fi
}

setup() { e2e_setup; }

# Returns 1 (after e2e_skip_file) when the machine cannot run the lab, and
# fails when something the project itself must provide is missing.
e2e_require() {
	local t
	if [ "$(id -u)" -ne 0 ]; then
		e2e_skip_file "end-to-end tests need root (namespaces, XDP)"
		return 1
	fi
	for t in "${E2E_TOOLS[@]}"; do
		if ! command -v "$t" >/dev/null; then
			e2e_skip_file "$t not installed"
			return 1
		fi
	done
	if [ ! -x "$LAB_PY" ]; then
		e2e_skip_file "python3 not installed"
		return 1
	fi
	if [ ! -x "$HELIOS" ]; then
		echo "helios-agent not built: $HELIOS" >&2
		return 2
	fi
	return 0
}

# e2e_lab_up: the whole lab with servers and backend decap (none with
# LAB_FWD=nat), director not attached yet. When the machine cannot run it,
# returns 0 with E2E_SKIP set.
e2e_lab_up() {
	local rc=0
	e2e_require || rc=$?
	[ $rc -eq 1 ] && return 0
	[ $rc -eq 0 ] || return 1
	lab_create 3 || return 1
	lab_up || rc=$?
	if [ $rc -eq 2 ]; then
		lab_destroy
		e2e_skip_file "native XDP on veth unavailable in this kernel"
		return 0
	fi
	if [ $rc -ne 0 ]; then
		echo "lab setup failed" >&2
		lab_destroy
		return 1
	fi
	if ! lab_servers_start; then
		lab_destroy
		return 1
	fi
	[ "$LAB_FWD" = nat ] && return 0	# no Helios code on NAT backends
	if ! lab_decap_attach; then
		echo "helios-agent decap attach failed on a backend" >&2
		lab_destroy
		return 1
	fi
}

# e2e_lab_attached: e2e_lab_up plus the director attached in native mode.
e2e_lab_attached() {
	e2e_lab_up || return 1
	e2e_skipping && return 0
	if ! lab_helios dir attach eth0 mode native; then
		echo "helios-agent attach eth0 mode native failed on the director" >&2
		lab_destroy
		return 1
	fi
}

e2e_lab_down() {
	lab_destroy
}

# The director's CLI.
hl() { lab_helios dir "$@"; }

# Backend address of a backend name in the family of ADDR-or-SVC: be_addr b1 v6
be_addr() {
	if [ "$2" = 6 ]; then lab_addr6 "$1"; else lab_addr4 "$1"; fi
}

# svc_family SVC -> 4 or 6
svc_family() { case $1 in \[*) echo 6 ;; *) echo 4 ;; esac; }
svc_vip() { if [ "$(svc_family "$1")" = 6 ]; then echo "$LAB_VIP6"; else echo "$LAB_VIP4"; fi; }

# svc_setup SVC W1 W2 W3: (re)create SVC with b1..b3 at those weights.
svc_setup() {
	local svc=$1 fam i=1 w; shift
	fam=$(svc_family "$svc")
	hl service del "$svc" >/dev/null 2>&1 || true
	hl service add "$svc" || return 1
	for w in "$@"; do
		hl node add "$svc" "$(be_addr "b$i" "$fam")" weight "$w" || return 1
		i=$((i + 1))
	done
}

# burst SVC N [OPTIONS]: N new connections to SVC; sets $burst (JSON).
burst() {
	local vip port
	vip=$(svc_vip "$1")
	port=${1##*:}; port=${port%/*}
	burst=$(lab_burst "$vip" "$port" "$2" "${@:3}") || return 1
	[ -n "${BURST_QUIET:-}" ] || echo "# burst $1 x$2: $burst" >&3
}

# count NAME: connections that backend NAME answered in $burst.
count() { jq -r --arg b "$1" '.counts[$b] // 0' <<<"$burst"; }

# assert_spread TOL b1=W1 b2=W2 ...: every backend's share of $burst within
# TOL (absolute, 0..1) of its weight share; no failed connections.
assert_spread() {
	local tol=$1 total=0 sum=0 p n share want bad=0; shift
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "failed connections: $burst"
	total=$(jq .ok <<<"$burst")
	for p in "$@"; do sum=$((sum + ${p#*=})); done
	for p in "$@"; do
		n=$(count "${p%%=*}")
		share=$(awk -v n="$n" -v t="$total" 'BEGIN { printf "%.4f", n / t }')
		want=$(awk -v w="${p#*=}" -v s="$sum" 'BEGIN { printf "%.4f", w / s }')
		echo "# ${p%%=*}: $n of $total = $share, weight share $want" >&3
		awk -v a="$share" -v b="$want" -v t="$tol" \
			'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }' || bad=1
	done
	[ $bad -eq 0 ] || fail "spread outside ±$tol of the weights: $burst"
}

# Client TCP segments sent (OutSegs + RetransSegs), IPv4 and IPv6 together.
client_tcp_out() {
	lab_exec client awk '$1 == "Tcp:" && $2 ~ /^[0-9]/ { print $12 + $13 }' /proc/net/snmp
}

# reason NAME: the director's global counter for a verdict reason.
reason() {
	hl -j stats | jq -r --arg r "$1" '.reasons[$r] // 0'
}

# node_field SVC BACKEND FIELD: one field of `-j node list SVC` for a backend.
node_field() {
	local fam
	fam=$(svc_family "$1")
	hl -j node list "$1" |
		jq -r --arg a "$(be_addr "$2" "$fam")" --arg f "$3" \
			'.[] | select(.addr == $a) | .[$f]'
}

# Held connections (tcp_client.py hold) in the client namespace.
# hold_start SVC N: opens N connections and waits until they are up.
hold_start() {
	local vip port base
	vip=$(svc_vip "$1")
	port=${1##*:}; port=${port%/*}
	base=$(lab_ports 200) || return 1
	HOLD_SOCK=$LAB_DIR/hold-$BATS_TEST_NUMBER.sock
	lab_spawn client "hold-$BATS_TEST_NUMBER" "$LAB_PY" \
		"$LAB_TOOLS/tcp_client.py" hold "$vip" "$port" --count "$2" \
		--sport-base "$base" --ctl "$HOLD_SOCK" --lifetime 120
	poll 200 test -S "$HOLD_SOCK" || {
		cat "$LAB_DIR/log/hold-$BATS_TEST_NUMBER.log" >&2
		return 1
	}
}

# hold_cmd WORDS...: sets $held (JSON status of every held connection).
hold_cmd() {
	held=$("$LAB_PY" "$LAB_TOOLS/tcp_client.py" ctl "$HOLD_SOCK" "$@") || return 1
	echo "# hold $*: $(jq -c '[.conns[] | [.backend, .alive]]' <<<"$held" 2>/dev/null)" >&3
}

hold_stop() {
	[ -n "${HOLD_SOCK:-}" ] && [ -S "$HOLD_SOCK" ] &&
		"$LAB_PY" "$LAB_TOOLS/tcp_client.py" ctl "$HOLD_SOCK" quit >/dev/null 2>&1
	return 0
}

# held_on NAME: how many held connections backend NAME greeted.
held_on() { jq --arg b "$1" '[.conns[] | select(.backend == $b)] | length' <<<"$held"; }
# held_alive_on NAME: how many of those still echo.
held_alive_on() {
	jq --arg b "$1" '[.conns[] | select(.backend == $b and .alive)] | length' <<<"$held"
}

# rejects ARGS...: the CLI refuses `helios-agent ARGS` with one "Error:" line
# on stderr, nothing on stdout and a non-zero exit, and changes nothing: the
# file's snapshot() before (taken by its setup() into $before) and after are
# the same. $stderr stays set for further checks.
rejects() {
	run --separate-stderr hl "$@"
	echo "# helios-agent $*  -> status $status, stderr: $stderr" >&3
	[ "$status" -ne 0 ] || fail "accepted: helios-agent $* (stdout: $output)"
	[ "$status" -ne 127 ] && [ "$status" -lt 128 ] || fail "crashed or not run: status $status"
	[[ "$stderr" == Error:* ]] || fail "stderr does not start with 'Error:': $stderr"
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "more than one line on stderr: $stderr"
	[ -z "$output" ] || fail "data on stdout with an error: $output"
	after=$(snapshot) || fail "snapshot failed"
	[ "$before" = "$after" ] || fail "configuration changed by a failed command:
before: $before
after:  $after"
}

# check_servers_start PORT: a tcp_server.py on each backend's own address
# at PORT (what the agent's health checks probe), up and listening.
check_servers_start() {
	local h
	for h in b1 b2 b3; do
		lab_spawn "$h" "check-$h" "$LAB_PY" "$LAB_TOOLS/tcp_server.py" --name "$h" \
			--addr "$(lab_addr4 "$h")" --port "$1" --lifetime 600 \
			--pidfile "$LAB_DIR/pids/check-$h.py" || return 1
	done
	for h in b1 b2 b3; do
		lab_wait_listen "$h" 5 || return 1
	done
}
