#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The health agent with TCP and HTTP checks on the three-backend lab: a node
# whose check fails gets no new flows and comes back; the CLI works beside
# the agent and is not undone by it; SIGHUP applies only the difference and
# refuses a broken file; a broken file never starts the agent.

load lib

CHECK_PORT=7000		# each backend's health endpoint, on its own address

setup_file() {
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	check_servers_start $CHECK_PORT || return 1
	write_conf 100 || return 1
	lab_spawn dir agent "$HELIOS" --bpffs "$LAB_DIR/bpf/dir" run config "$LAB_DIR/agent.conf"
	poll 100 all_probed || return 1
}

teardown_file() { e2e_lab_down; }

# write_conf W3: the file, with b3's weight W3.
write_conf() {
	cat >"$LAB_DIR/agent.conf" <<-EOF
	services = ( {
	  service = "$LAB_SVC4";
	  check = { kind = "tcp"; port = $CHECK_PORT; interval = 0.3; timeout = 0.2;
	            rise = 1; fall = 2; breaker_failures = 50; };
	  nodes = ( { addr = "$(lab_addr4 b1)"; }, { addr = "$(lab_addr4 b2)"; },
	            { addr = "$(lab_addr4 b3)"; weight = $1; } );
	} );
	EOF
}

all_probed() {
	[ "$(hl -j health | jq '[.[] | select(.last_probe == "ok")] | length')" -eq 3 ]
}

agent_state() {
	hl -j health "$LAB_SVC4" | jq -r --arg a "$(lab_addr4 "$1")" '.[] | select(.addr == $a) | .state'
}
state_is() { [ "$(agent_state "$1")" = "$2" ]; }
weight_is() { [ "$(node_field "$LAB_SVC4" "$1" weight)" = "$2" ]; }
# probed_since NODE T0_NS: the agent probed NODE after T0 (monotonic-free:
# the probe's age is smaller than the time since T0).
probed_since() {
	local age
	age=$(hl -j health "$LAB_SVC4" | jq --arg a "$(lab_addr4 "$1")" '.[] | select(.addr == $a) | .last_probe_age_ms')
	[ "$age" -lt $(( ($(date +%s%N) - $2) / 1000000 )) ]
}
agent_alive() { kill -0 "$(cat "$LAB_DIR/pids/agent")" 2>/dev/null; }

@test "a node whose check fails gets no new flows, and takes them again once back" {
	kill "$(cat "$LAB_DIR/pids/check-b2.py")"
	poll 100 state_is b2 unhealthy || fail "b2 not unhealthy: $(hl health)"
	burst "$LAB_SVC4" 60
	[ "$(count b2)" -eq 0 ] || fail "b2 got $(count b2) new flows while unhealthy"
	[ "$(count b1)" -gt 0 ] && [ "$(count b3)" -gt 0 ] || fail "the others: $burst"

	lab_spawn b2 check-b2 "$LAB_PY" "$LAB_TOOLS/tcp_server.py" --name b2 \
		--addr "$(lab_addr4 b2)" --port $CHECK_PORT --lifetime 600 \
		--pidfile "$LAB_DIR/pids/check-b2.py"
	poll 100 state_is b2 healthy || fail "b2 did not recover: $(hl health)"
	burst "$LAB_SVC4" 60
	[ "$(count b2)" -gt 0 ] || fail "b2 gets no flows after recovering: $burst"
}

@test "a weight set with the CLI beside the agent takes effect and is not undone" {
	hl node set "$LAB_SVC4" "$(lab_addr4 b1)" weight 0
	burst "$LAB_SVC4" 60
	[ "$(count b1)" -eq 0 ] || fail "drained b1 got $(count b1) new flows"
	# After the agent's next probe of b1 and its commit, the operator's
	# weight still stands.
	local t0=$(date +%s%N)
	poll 100 probed_since b1 "$t0" || fail "b1 not probed again"
	weight_is b1 0 || fail "the agent undid the weight"
	[ "$(hl -j health "$LAB_SVC4" | jq --arg a "$(lab_addr4 b1)" '.[] | select(.addr == $a) | .effective_weight')" -eq 0 ] ||
		fail "effective weight of a drained node is not 0"
	hl node set "$LAB_SVC4" "$(lab_addr4 b1)" weight 100
}

@test "SIGHUP applies only the difference; a broken file keeps the running one" {
	local flows_b1
	flows_b1=$(node_field "$LAB_SVC4" b1 flows)
	write_conf 300
	kill -HUP "$(cat "$LAB_DIR/pids/agent")"
	poll 100 weight_is b3 300 || fail "b3's weight not reloaded"
	weight_is b1 100 || fail "b1 touched"
	[ "$(node_field "$LAB_SVC4" b1 flows)" -eq "$flows_b1" ] || fail "b1's counters reset"

	echo "services = ( { service = \"nonsense\"; } );" >"$LAB_DIR/agent.conf"
	kill -HUP "$(cat "$LAB_DIR/pids/agent")"
	poll 100 grep -q "reload refused" "$LAB_DIR/log/agent.log" ||
		fail "no refusal logged: $(cat "$LAB_DIR/log/agent.log")"
	grep "reload refused" "$LAB_DIR/log/agent.log" | grep -q "agent.conf:1:" ||
		fail "refusal without file:line"
	agent_alive || fail "the agent died on a broken file"
	weight_is b3 300 || fail "a broken file changed state"
	write_conf 300
}

@test "a broken configuration never starts the agent, and changes nothing" {
	local before
	before=$(hl -j node list)
	printf 'services = ( {\n  service = "%s";\n  check = { kind = "http"; };\n} );\n' \
		"$LAB_SVC4" >"$LAB_DIR/bad.conf"
	run lab_helios dir run config "$LAB_DIR/bad.conf"
	assert_failure
	assert_output --partial "bad.conf:3: an http check needs 'path'"
	printf 'services = ( { service = "%s"; bogus = 1; } );\n' "$LAB_SVC4" >"$LAB_DIR/bad.conf"
	run lab_helios dir run config "$LAB_DIR/bad.conf"
	assert_failure
	assert_output --partial "bad.conf:1: unknown key 'bogus'"
	[ "$(hl -j node list)" = "$before" ] || fail "state changed"
}
