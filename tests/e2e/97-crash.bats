#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Crashes and restarts. The health agent is SIGKILLed 100 times at random
# points of its start (table builds for the nodes it adds and sets) and of
# SIGHUP reloads, with a node set that changes every time (random weights of
# b1-b3, a random subset of four unreachable nodes); then the CLI is
# SIGKILLed 100 times in the middle of its writes. Meanwhile
# build/tests/tablecheck reads every table the data path would read, without
# the lock, and checks each slot against the service's node set; held
# connections echo through it all; new connections keep coming.
# Expected: 0 incomplete tables, 0 established flows broken, and the agent
# started once more reaches the same state (nodes, weights, health, tables
# by address) as an agent that never died, run on a fresh store with the
# final file. After a killed CLI write, the next writer finds the journal
# mark and rebuilds every table: then every table is the one its nodes give.

load lib

CHECK_PORT=7000
FAKES=(198.18.0.200 198.18.0.201 198.18.0.202 198.18.0.203)
TABLECHECK=$HELIOS_BUILD/tests/tablecheck

setup_file() {
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	[ -x "$TABLECHECK" ] || { echo "not built: $TABLECHECK" >&2; return 1; }
	check_servers_start $CHECK_PORT || return 1
}
teardown_file() { e2e_lab_down; }
teardown() { hold_stop; }

# conf_write FILE: b1-b3 at random weights, a random subset of FAKES.
conf_write() {
	local nodes="" h f
	for h in b1 b2 b3; do
		nodes+="{ addr = \"$(lab_addr4 $h)\"; weight = $((50 + RANDOM % 150)); }, "
	done
	for f in "${FAKES[@]}"; do
		((RANDOM % 2)) && nodes+="{ addr = \"$f\"; weight = $((50 + RANDOM % 150)); }, "
	done
	cat >"$1" <<-EOF
	services = ( {
	  service = "$LAB_SVC4";
	  check = { kind = "tcp"; port = $CHECK_PORT; interval = 0.2; timeout = 0.1;
	            rise = 1; fall = 1; breaker_failures = 1000; };
	  nodes = ( ${nodes%, } );
	} );
	EOF
}

agent_pid() { cat "$LAB_DIR/pids/$1" 2>/dev/null; }

# agent_start NAME DIR: `helios-agent run` on the store DIR, as NAME.
agent_start() {
	lab_spawn dir "$1" "$HELIOS" --bpffs "$2" run config "$LAB_DIR/agent.conf"
}

# kill9 PID: SIGKILL our child PID and reap it. (A SIGHUP that lands
# before the agent has set up its handler has killed it already.)
kill9() {
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# hl_bg ARGS...: the CLI in the background; $! is helios-agent itself
# (`ip netns exec` execs it), not a subshell.
hl_bg() {
	ip netns exec "$(lab_ns dir)" "$HELIOS" --bpffs "$LAB_DIR/bpf/dir" "$@" >/dev/null 2>&1 &
}

state() { "$TABLECHECK" "$1" state | grep -v '^dirty='; }
same_state() { [ "$(state "$LAB_DIR/bpf/dir")" = "$(state "$LAB_DIR/bpf/ref")" ]; }

all_alive() {
	hold_cmd status
	[ "$(jq '[.conns[] | select(.alive | not)] | length' <<<"$held")" -eq 0 ] ||
		fail "a held connection died: $held"
}

@test "agent SIGKILLed 100 times in table builds and reloads: tables complete, flows kept, same end state" {
	local seed=$((RANDOM)) i pid base stop=$LAB_DIR/tablecheck.stop watch
	RANDOM=$seed
	echo "# seed $seed" >&3
	conf_write "$LAB_DIR/agent.conf"
	agent_start agent "$LAB_DIR/bpf/dir"
	poll 200 eval 'hl service list 2>/dev/null | grep -q "$LAB_VIP4"' || fail "the agent added no service"
	hold_start "$LAB_SVC4" 30
	all_alive

	"$TABLECHECK" "$LAB_DIR/bpf/dir" watch 240 "$stop" >"$LAB_DIR/watch.json" 2>&1 &
	watch=$!
	base=$(lab_ports 1000) || return 1
	lab_spawn client stream "$LAB_PY" "$LAB_TOOLS/tcp_client.py" \
		flood "$LAB_VIP4" "$LAB_PORT" --seconds 20 --sport-base "$base" \
		--src "$(lab_addr4 client)=20"

	echo "# $(date +%T.%N) loop" >&3
	for ((i = 1; i <= 100; i++)); do
		((i == 1)) || agent_start agent "$LAB_DIR/bpf/dir"
		pid=$(agent_pid agent)
		sleep "0.0$((RANDOM % 10))"	# a random point of its start
		if ((RANDOM % 2)); then
			conf_write "$LAB_DIR/agent.conf"
			kill -HUP "$pid" 2>/dev/null || { cat "$LAB_DIR/log/agent.log" >&3; fail "agent gone before SIGHUP"; }
			sleep "0.0$((RANDOM % 5))"	# a random point of the reload
		fi
		kill9 "$pid"
		((i % 25)) || all_alive
	done
	echo "# $(date +%T.%N) loop done" >&3
	touch "$stop"
	wait "$watch"
	echo "# tablecheck: $(cat "$LAB_DIR/watch.json")" >&3
	[ "$(jq .violations "$LAB_DIR/watch.json")" -eq 0 ] || fail "incomplete tables seen"
	[ "$(jq .checks "$LAB_DIR/watch.json")" -ge 100 ] || fail "too few checks"
	all_alive
	poll 600 test -s "$LAB_DIR/log/stream.log" || fail "the stream did not end"
	echo "# new connections meanwhile: $(jq -c .sources "$LAB_DIR/log/stream.log")" >&3

	# once more, to the end; and an agent that never died, on a fresh store
	conf_write "$LAB_DIR/agent.conf"
	agent_start agent "$LAB_DIR/bpf/dir"
	mkdir -p "$LAB_DIR/bpf/ref"
	mount -t bpf bpf "$LAB_DIR/bpf/ref"
	echo "$LAB_DIR/bpf/ref" >>"$LAB_DIR/mounts"
	agent_start agent-ref "$LAB_DIR/bpf/ref"
	poll 200 same_state || fail "the restarted agent's state differs from a fresh one's:
$(diff <(state "$LAB_DIR/bpf/dir") <(state "$LAB_DIR/bpf/ref"))"
	state "$LAB_DIR/bpf/dir" | sed 's/^/# /' >&3
	grep -q "built=no" <(state "$LAB_DIR/bpf/dir") && fail "a table is not what its nodes give"
	all_alive
	kill9 "$(agent_pid agent)"
	kill9 "$(agent_pid agent-ref)"
}

@test "the CLI SIGKILLed 100 times mid-write: tables complete; the next writer makes every table whole" {
	local seed=$((RANDOM)) i pid f w hit=0 out
	RANDOM=$seed
	echo "# seed $seed" >&3
	hold_start "$LAB_SVC4" 30
	echo "# $(date +%T.%N) loop" >&3
	for ((i = 1; i <= 100; i++)); do
		f=${FAKES[RANDOM % ${#FAKES[@]}]}
		w=$((1 + RANDOM % 200))
		case $((RANDOM % 3)) in
		0) hl_bg node set "$LAB_SVC4" "$(lab_addr4 b$((1 + RANDOM % 3)))" weight "$w" ;;
		1) hl_bg node add "$LAB_SVC4" "$f" weight "$w" ;;
		2) hl_bg node del "$LAB_SVC4" "$f" ;;
		esac
		pid=$!
		sleep "0.0$((RANDOM % 3))$((RANDOM % 10))"
		kill9 "$pid"
		# what the data path reads now is complete
		out=$("$TABLECHECK" "$LAB_DIR/bpf/dir" state)
		! grep -q 'complete=no' <<<"$out" || fail "incomplete table after a kill: $out"
		grep -q '^dirty=1' <<<"$out" && hit=$((hit + 1))
		# the next writer (one that fails and writes nothing) repairs first
		hl node del "$LAB_SVC4" 198.18.0.254 2>/dev/null && fail "deleted a node that is not there"
		out=$("$TABLECHECK" "$LAB_DIR/bpf/dir" state)
		grep -q '^dirty=0' <<<"$out" || fail "journal mark left: $out"
		! grep -q 'built=no' <<<"$out" || fail "a table not whole after the next writer: $out"
		((i % 20)) || all_alive
	done
	echo "# $(date +%T.%N) loop done" >&3
	echo "# kills that left a writer's journal mark: $hit of 100" >&3
	[ "$hit" -gt 0 ] || fail "no kill landed inside a write"
	all_alive
}
