#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Health probes through `helios-agent probe`: tcp, http and postgres against
# real servers in namespaces, a PostgreSQL 15 primary with a streaming
# standby among them.
#
#                   ns <P>-hub: bridge br0
#        ┌─────────────┬───────┴─────┬──────────────┐
#       cli           srv           pg1            pg2
#     .2 / ::2     .20 / ::20    .11 / ::11     .12 / ::12
#   (probes run)   tcp/http      primary        standby of pg1
#                  servers       :5432          :5432
#
# 198.18.70.0/24 and fd00:4845:70::/64; nothing in the root namespace. .99 is
# nobody's address: an unanswered SYN (ARP never resolves).

bats_require_minimum_version 1.5.0

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load pg

PR_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
: "${HELIOS_BUILD:=build}"
case $HELIOS_BUILD in /*) ;; *) HELIOS_BUILD=$PR_ROOT/$HELIOS_BUILD ;; esac
HELIOS=$HELIOS_BUILD/helios-agent
PR_NET4=198.18.70
PR_NET6=fd00:4845:70:
PR_CONNINFO="user=postgres dbname=postgres"

pr_ns() { echo "$PR_ID-$1"; }
pr_addr4() { echo "$PR_NET4.$1"; }
pr_addr6() { echo "$PR_NET6:$1"; }

# A tiny threaded server, dual-stack on PORT. MODE:
#  http    - HTTP/1.0: 200 on /primary, 503 on /replica, 404 otherwise
#  silent  - accepts and never reads nor answers
#  garbage - answers the first bytes with an SSH banner
PR_SERVER='
import socket, sys, threading
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", port))
s.listen(128)
held = []
def serve(c):
    try:
        c.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 4096:
            d = c.recv(4096)
            if not d:
                break
            data += d
        if mode == "garbage":
            c.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n")
        else:
            parts = data.split(b" ")
            path = parts[1] if len(parts) > 2 else b""
            code = {b"/primary": 200, b"/replica": 503}.get(path, 404)
            c.sendall(b"HTTP/1.0 %d X\r\nContent-Length: 0\r\n\r\n" % code)
    except Exception:
        pass
    c.close()
while True:
    c, _ = s.accept()
    if mode == "silent":
        held.append(c)
    else:
        threading.Thread(target=serve, args=(c,), daemon=True).start()
'

pr_host() {
	local name=$1 nr=$2 ns
	ns=$(pr_ns "$name")
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up || return 1
	ip -n "$ns" link add eth0 type veth peer name "$name" netns "$(pr_ns hub)" || return 1
	ip -n "$(pr_ns hub)" link set "$name" master br0 up || return 1
	ip -n "$ns" addr add "$(pr_addr4 "$nr")/24" dev eth0 || return 1
	ip -n "$ns" addr add "$(pr_addr6 "$nr")/64" dev eth0 nodad || return 1
	ip -n "$ns" link set eth0 up
}

# pr_wait_listen NS PORT: bounded poll for a listening socket.
pr_wait_listen() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ip netns exec "$1" ss -ltnH "sport = :$2")" ] && return 0
		sleep 0.05
	done
	echo "nothing listens on port $2 in $1" >&2
	return 1
}

pr_server() {
	local mode=$1 port=$2
	ip netns exec "$(pr_ns srv)" "$PR_PY" -c "$PR_SERVER" "$mode" "$port" \
		</dev/null >/dev/null 2>&1 3>&- &
	echo $! >>"$PR_DIR/pids"
}

pr_setup() {
	# not a pyenv shim: a bash script that takes a second to start here
	if [ -x /usr/bin/python3 ]; then PR_PY=/usr/bin/python3; else PR_PY=$(command -v python3); fi
	[ -n "$PR_PY" ] || { echo "python3 missing" >&2; return 1; }
	export PR_PY
	local t port
	for t in ip ss jq runuser; do
		command -v "$t" >/dev/null || { echo "$t missing" >&2; return 1; }
	done
	[ -x "$HELIOS" ] || { echo "helios-agent not built: $HELIOS" >&2; return 1; }
	pg_require || return 1

	ip netns add "$(pr_ns hub)" || return 1
	ip -n "$(pr_ns hub)" link set lo up || return 1
	ip -n "$(pr_ns hub)" link add br0 type bridge || return 1
	ip -n "$(pr_ns hub)" link set br0 up || return 1
	pr_host cli 2 && pr_host srv 20 && pr_host pg1 11 && pr_host pg2 12 || return 1

	pr_server http 8080 && pr_server silent 8081 && pr_server garbage 8082 || return 1
	for port in 8080 8081 8082; do
		pr_wait_listen "$(pr_ns srv)" $port || return 1
	done

	PR_PG=$(pg_base_new) || return 1
	export PR_PG
	pg_init_primary "$PR_PG/primary" "$(pr_ns pg1)" "$(pr_addr4 11),$(pr_addr6 11)" 5432 &&
	pg_start "$PR_PG/primary" &&
	pg_init_standby "$PR_PG/standby" "$(pr_ns pg2)" "$(pr_addr4 12)" 5432 "$PR_PG/primary" standby1 &&
	pg_start "$PR_PG/standby" &&
	pg_wait_streaming "$PR_PG/primary" standby1
}

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces)"
	PR_ID=hlp$$
	PR_DIR=$(mktemp -d)
	export PR_ID PR_DIR
	: >"$PR_DIR/pids"
	pr_setup || { pr_teardown; return 1; }
}

pr_teardown() {
	local pid n
	[ -n "${PR_PG:-}" ] && pg_base_destroy "$PR_PG"
	if [ -f "$PR_DIR/pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null
		done <"$PR_DIR/pids"
	fi
	for n in cli srv pg1 pg2 hub; do
		ip netns del "$(pr_ns "$n")" 2>/dev/null
	done
	rm -rf "$PR_DIR"
	return 0
}

teardown_file() {
	[ -n "${PR_ID:-}" ] && pr_teardown
	return 0
}

# probe ARGS...: one probe from the client namespace, JSON in $output, the
# wall time in $elapsed_ms.
probe() {
	local t0 t1
	t0=$(date +%s%N)
	run --separate-stderr ip netns exec "$(pr_ns cli)" "$HELIOS" -j probe "$@"
	t1=$(date +%s%N)
	elapsed_ms=$(((t1 - t0) / 1000000))
	echo "# probe $*: status $status, ${elapsed_ms} ms: $output $stderr" >&3
}

field() { jq -r ".$1" <<<"$output"; }

assert_ok() {
	assert_equal "$status" 0
	assert_equal "$(field ok)" true
}

assert_fail() {
	assert_equal "$status" 1
	assert_equal "$(field ok)" false
	[ -n "$(field error)" ] && [ "$(field error)" != null ] || fail "no error field: $output"
}

# assert_at_timeout MS: the probe ran until its timeout, and not much longer.
assert_at_timeout() {
	local ms=$1 rtt
	rtt=$(field rtt_us)
	[ "$rtt" -ge $((ms * 1000 * 95 / 100)) ] || fail "failed before the timeout: rtt ${rtt} us"
	[ "$elapsed_ms" -le $((ms + 1500)) ] || fail "took ${elapsed_ms} ms for a ${ms} ms timeout"
}

# assert_fast MS: failed well before the timeout MS.
assert_fast() {
	local ms=$1 rtt
	rtt=$(field rtt_us)
	[ "$rtt" -lt $((ms * 1000 / 4)) ] || fail "slow failure: rtt ${rtt} us of a ${ms} ms timeout"
}

@test "tcp: an open port is ok, over IPv4 and IPv6" {
	probe tcp "$(pr_addr4 20)" 8080
	assert_ok
	assert_equal "$(field kind)" tcp
	assert_equal "$(field addr)" "$(pr_addr4 20)"
	assert_equal "$(field port)" 8080
	assert_equal "$(field role)" any
	assert_equal "$(field lag_s)" null
	probe tcp "$(pr_addr6 20)" 8080
	assert_ok
	assert_equal "$(field addr)" "$(pr_addr6 20)"
}

@test "tcp: a closed port fails fast" {
	probe tcp "$(pr_addr4 20)" 8099 timeout 2000
	assert_fail
	assert_fast 2000
	probe tcp "$(pr_addr6 20)" 8099 timeout 2000
	assert_fail
	assert_fast 2000
}

@test "tcp: a listener that accepts and never answers is ok" {
	probe tcp "$(pr_addr4 20)" 8081
	assert_ok
}

@test "tcp: an address nobody answers fails at the timeout" {
	probe tcp "$(pr_addr4 99)" 8080 timeout 500
	assert_fail
	assert_at_timeout 500
	probe tcp "$(pr_addr6 99)" 8080 timeout 500
	assert_fail
	assert_at_timeout 500
}

@test "http: the status decides, against the expected one" {
	probe http "$(pr_addr4 20)" 8080 path /primary
	assert_ok
	probe http "$(pr_addr6 20)" 8080 path /primary expect 200
	assert_ok
	probe http "$(pr_addr4 20)" 8080 path /replica
	assert_fail
	assert_output --partial '503'
	probe http "$(pr_addr4 20)" 8080 path /replica expect 503
	assert_ok
	probe http "$(pr_addr4 20)" 8080 path /primary expect 503
	assert_fail
}

@test "http: a server that accepts and never answers fails at the timeout" {
	probe http "$(pr_addr4 20)" 8081 path /primary timeout 500
	assert_fail
	assert_at_timeout 500
}

@test "http: a non-HTTP answer fails" {
	probe http "$(pr_addr4 20)" 8082 path /primary timeout 2000
	assert_fail
	assert_fast 2000
	probe http "$(pr_addr4 20)" 8099 path /primary timeout 2000
	assert_fail
	assert_fast 2000
}

@test "plain output: one line per check, exit status follows the result" {
	run ip netns exec "$(pr_ns cli)" "$HELIOS" probe http "$(pr_addr4 20)" 8080 path /primary
	assert_success
	assert_output --regexp "^http $(pr_addr4 20) 8080 ok rtt_us [0-9]+$"
	run ip netns exec "$(pr_ns cli)" "$HELIOS" probe tcp "$(pr_addr4 20)" 8099
	assert_failure 1
	assert_output --regexp "^tcp $(pr_addr4 20) 8099 fail rtt_us [0-9]+ error \".*refused"
}

@test "postgres: the primary is ok, role primary, no lag (IPv4 and IPv6)" {
	probe postgres "$(pr_addr4 11)" 5432 conninfo "$PR_CONNINFO"
	assert_ok
	assert_equal "$(field role)" primary
	jq -e '.lag_s == 0 and .lag_bytes == 0' <<<"$output" >/dev/null || fail "lag: $output"
	assert_equal "$(field timeline)" 1
	assert_equal "$(field system_id)" \
		"$(pg_sql "$PR_PG/primary" "SELECT system_identifier FROM pg_control_system()")"
	probe postgres "$(pr_addr6 11)" 5432 conninfo "$PR_CONNINFO"
	assert_ok
	assert_equal "$(field role)" primary
}

@test "postgres: the standby is ok, role standby, small lag" {
	probe postgres "$(pr_addr4 12)" 5432 conninfo "$PR_CONNINFO"
	assert_ok
	assert_equal "$(field role)" standby
	jq -e '.lag_s < 5' <<<"$output" >/dev/null || fail "standby lag $(field lag_s) s"
	# the primary's cluster: the same system identifier
	assert_equal "$(field system_id)" \
		"$(pg_sql "$PR_PG/primary" "SELECT system_identifier FROM pg_control_system()")"
}

@test "postgres: checks in a row share one connection" {
	local n0 n1 rtts
	n0=$(pg_sql "$PR_PG/primary" "SELECT sessions FROM pg_stat_database WHERE datname = 'postgres'")
	probe postgres "$(pr_addr4 11)" 5432 conninfo "$PR_CONNINFO" count 10
	assert_success
	[ "$(jq -s 'map(select(.ok and .role == "primary")) | length' <<<"$output")" -eq 10 ] ||
		fail "not 10 good answers: $output"
	rtts=$(jq -s -r 'map(.rtt_us) | @sh' <<<"$output")
	echo "# rtt_us: first (new connection) then kept-open: $rtts" >&3
	# One backend served all ten: new sessions are the probe's one plus
	# the two psql that ask (ten or more if it reconnected per check).
	n1=$(pg_sql "$PR_PG/primary" "SELECT sessions FROM pg_stat_database WHERE datname = 'postgres'")
	echo "# new sessions: $((n1 - n0))" >&3
	[ $((n1 - n0)) -le 3 ] || fail "$((n1 - n0)) sessions for 10 checks"
}

@test "postgres: paused replay on the standby shows lag in bytes" {
	local i lag=0
	pg_sql "$PR_PG/primary" "CREATE TABLE IF NOT EXISTS probe_lag (x int)" || fail "create"
	pg_sql "$PR_PG/primary" "INSERT INTO probe_lag VALUES (1)" || fail "insert"
	pg_wait_until "$PR_PG/standby" "SELECT count(*) > 0 FROM probe_lag" || fail "not replicated"
	pg_sql "$PR_PG/standby" "SELECT pg_wal_replay_pause()" || fail "pause"
	for ((i = 0; i < 50; i++)); do
		pg_sql "$PR_PG/primary" "INSERT INTO probe_lag SELECT generate_series(1, 1000)" ||
			fail "insert"
		probe postgres "$(pr_addr4 12)" 5432 conninfo "$PR_CONNINFO"
		assert_ok
		lag=$(field lag_bytes)
		[ "$lag" -gt 0 ] && break
		sleep 0.1
	done
	pg_sql "$PR_PG/standby" "SELECT pg_wal_replay_resume()"
	[ "$lag" -gt 0 ] || fail "no byte lag seen while replay was paused"
	jq -e '.lag_s > 0' <<<"$output" >/dev/null || fail "no time lag: $output"
	assert_equal "$(field role)" standby
	# Resumed: back to no lag (bounded poll).
	for ((i = 0; i < 50; i++)); do
		probe postgres "$(pr_addr4 12)" 5432 conninfo "$PR_CONNINFO"
		[ "$(field lag_bytes)" = 0 ] && break
		sleep 0.1
	done
	jq -e '.lag_s == 0 and .lag_bytes == 0' <<<"$output" >/dev/null || fail "lag: $output"
}

@test "postgres: a port that speaks another protocol fails within the timeout" {
	local port
	for port in 8080 8081 8082; do
		probe postgres "$(pr_addr4 20)" $port conninfo "$PR_CONNINFO" timeout 700
		assert_fail
		# A hang bound, not a timing: a loaded machine may run the
		# loop late, a probe that ignored its deadline would not end.
		[ "$(field rtt_us)" -le 2200000 ] ||
			fail "rtt $(field rtt_us) us for a 700 ms timeout"
		[ "$elapsed_ms" -le 2200 ] || fail "took ${elapsed_ms} ms for a 700 ms timeout"
	done
}

@test "postgres: a stopped server fails fast" {
	pg_stop "$PR_PG/standby" || fail "pg_stop"
	probe postgres "$(pr_addr4 12)" 5432 conninfo "$PR_CONNINFO" timeout 2000
	assert_fail
	assert_fast 2000
	assert_output --partial refused
}

@test "probe: bad arguments are one error line and status 1" {
	local args
	for args in "udp 198.18.70.20 80" "tcp 198.18.70.999 80" "tcp 198.18.70.20 0" \
		"tcp 198.18.70.20 70000" "tcp 198.18.70.20 80 timeout 0" \
		"tcp 198.18.70.20 80 path /x" "http 198.18.70.20 80 expect 42" \
		"http 198.18.70.20 80 path x" "tcp 198.18.70.20 80 timeout" \
		"tcp 198.18.70.20"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$HELIOS" probe $args
		assert_failure 1
		[[ "$stderr" == Error:* ]] || fail "$args: stderr: $stderr"
		[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "$args: stderr: $stderr"
		assert_equal "$output" ""
	done
}
