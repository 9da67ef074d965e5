#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Runs as a service, survives a reboot: `run config FILE` on an empty bpffs
# builds the whole director from the file (attach, NAT timeouts, services
# with strategy, hash and forwarding mode, nodes with weights and zones);
# real TCP flows as declared; `config dump` writes a file that builds the
# same state again on an empty bpffs (a reboot: the director's bpffs is
# unmounted, which also detaches it); and on a populated bpffs the agent
# adopts what is pinned and applies only the difference.

load lib

setup_file() {
	e2e_lab_up || return 1	# backends with decap, director bare
}

teardown_file() { e2e_lab_down; }

# Both services, every node; b3 weight W3 and SVC4's strategy S.
write_conf() {
	cat >"$LAB_DIR/helios.conf" <<-EOF
	attach = ( { dev = "eth0"; mode = "native"; zone = "z1";
	             src = "$(lab_addr4 dir),$(lab_addr6 dir)"; } );
	nat = { established = 3600; udp = 60; };
	classes = ( { name = "lab"; prefix = "198.18.0.0/24"; rate = "1000/s burst 100"; } );
	services = (
	  { service = "$LAB_SVC4"; strategy = "${2:-wrr}"; ring = 1009;
	    rate_conn = "${3:-20000/s burst 2000}"; client_rate = "5000/s burst 500 prefix 24";
	    syn_retry = "300 budget 20";
	    nodes = ( { addr = "$(lab_addr4 b1)"; weight = 100; zone = "z1"; },
	              { addr = "$(lab_addr4 b2)"; weight = 200; role = "standby"; },
	              { addr = "$(lab_addr4 b3)"; weight = $1; } ); },
	  { service = "$LAB_SVC6"; hash = "src-dport";
	    nodes = ( { addr = "$(lab_addr6 b1)"; }, { addr = "$(lab_addr6 b2)"; } ); }
	);
	EOF
}

agent_start() {
	lab_kill "$LAB_DIR/pids/agent"
	rm -f "$LAB_DIR/log/agent.log"	# the last agent's "running" is not ours
	lab_spawn dir agent "$HELIOS" --bpffs "$LAB_DIR/bpf/dir" run config "$1"
	poll 200 agent_ready || { cat "$LAB_DIR/log/agent.log" >&3; return 1; }
}
agent_ready() { grep -q "helios-agent running" "$LAB_DIR/log/agent.log"; }

# A reboot, for the director: the agent gone, its bpffs empty, the network
# as it was. (Emptied rather than mounted afresh: other namespaces' copies
# of the mount would keep the old one alive.) The link goes with its pin,
# after an RCU grace period: polled.
reboot_dir() {
	lab_kill "$LAB_DIR/pids/agent"
	find "$LAB_DIR/bpf/dir" -mindepth 1 ! -name '*.debug' -delete || return 1
	poll 200 not_attached
}

xdp_prog_on_dir() {
	ip -n "$(lab_ns dir)" -j link show dev eth0 | jq -r '.[0].xdp.prog.id // empty'
}
not_attached() { [ -z "$(xdp_prog_on_dir)" ]; }

# The admin state, counters and ids left out.
state() {
	{ hl -j service list | jq -S '[.[] | {service, strategy, fwd, ring, hash}] | sort_by(.service)'
	  hl -j node list | jq -S '[.[] | {service, addr, port, weight, role, zone}] | sort_by(.service, .addr)'
	  hl -j conn timeout show | jq -S .
	} 2>&1
}

@test "a full configuration on an empty bpffs brings the director up as declared" {
	[ -z "$(xdp_prog_on_dir)" ] || fail "the director is attached before the agent runs"
	write_conf 300
	agent_start "$LAB_DIR/helios.conf"
	[ -n "$(xdp_prog_on_dir)" ] || fail "no XDP program on the director's eth0"
	run hl -j service list
	assert_success
	[ "$(jq -r --arg s "$LAB_SVC4" '.[] | select(.service == $s) | .strategy' <<<"$output")" = wrr ]
	[ "$(jq -r --arg s "$LAB_SVC6" '.[] | select(.service == $s) | .hash' <<<"$output")" = src-dport ] ||
		fail "hash not applied: $output"
	[ "$(node_field "$LAB_SVC4" b2 zone)" = "" ] && [ "$(node_field "$LAB_SVC4" b1 zone)" = z1 ] ||
		fail "zones: $(hl node list)"
	run hl -j conn timeout show
	[ "$(jq -r '.established' <<<"$output")" = 3600 ] || fail "nat timeouts: $output"
	run hl -j class list
	[ "$(jq -r '.[0].name' <<<"$output")" = lab ] || fail "classes: $output"
	run hl config dump
	assert_output --partial 'rate_conn = "20000/s burst 2000"; client_rate = "5000/s burst 500 prefix 24"; syn_retry = "300 budget 20 min 5";'
	# both outer sources, IPv4 and IPv6
	assert_output --partial "src = \"$(lab_addr4 dir),$(lab_addr6 dir)\";"

	burst "$LAB_SVC4" 120
	assert_spread 0.12 b1=100 b2=200 b3=300
	burst "$LAB_SVC6" 40
	[ "$(jq .errors <<<"$burst")" -eq 0 ] && [ "$(count b3)" -eq 0 ] ||
		fail "SVC6 must reach b1 and b2 only: $burst"
}

# complete LINE: what bash completion offers at the end of LINE, run in the
# director's namespace with its --bpffs.
complete_dir() {
	lab_exec dir bash -c 'source "$1"; COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
		_helios_agent; printf "%s\n" "${COMPREPLY[@]}"' - \
		"$LAB_ROOT/dist/helios-agent.bash" "$HELIOS --bpffs $LAB_DIR/bpf/dir $1"
}

@test "bash completion offers the director's devices, services and nodes" {
	run complete_dir "attach "
	assert_line eth0
	run complete_dir "node set "
	assert_line "$LAB_SVC4"
	assert_line "$LAB_SVC6"
	run complete_dir "node set $LAB_SVC4 "
	assert_line "$(lab_addr4 b1)"
	assert_line "$(lab_addr4 b3)"
	refute_line "$(lab_addr6 b1)"
	run complete_dir "node set $LAB_SVC4 $(lab_addr4 b1) role "
	assert_line standby
	run complete_dir "run config $LAB_DIR/helios.co"
	assert_line "$LAB_DIR/helios.conf"
}

@test "config dump re-loads on an empty bpffs to the same state" {
	hl config dump >"$LAB_DIR/dump1.conf"
	echo "# $(cat "$LAB_DIR/dump1.conf")" >&3
	state >"$LAB_DIR/state1"
	run hl config check "$LAB_DIR/dump1.conf"
	assert_success

	reboot_dir
	[ -z "$(xdp_prog_on_dir)" ] || fail "still attached after the reboot"
	run hl -j service list
	[ "$output" = "[]" ] || [ "$status" -ne 0 ] || fail "state survived the reboot: $output"

	agent_start "$LAB_DIR/dump1.conf"
	[ -n "$(xdp_prog_on_dir)" ] || fail "the dump did not attach the director"
	hl config dump >"$LAB_DIR/dump2.conf"
	run diff <(sed 1d "$LAB_DIR/dump1.conf") <(sed 1d "$LAB_DIR/dump2.conf")
	[ "$status" -eq 0 ] || fail "dumps differ: $output"
	state >"$LAB_DIR/state2"
	run diff "$LAB_DIR/state1" "$LAB_DIR/state2"
	[ "$status" -eq 0 ] || fail "map state differs: $output"
	burst "$LAB_SVC4" 120
	assert_spread 0.12 b1=100 b2=200 b3=300
}

@test "config dump FILE takes the checks, which the maps do not hold, from FILE" {
	cat >"$LAB_DIR/checks.conf" <<-EOF
	services = ( { service = "$LAB_SVC4"; on_down = "reset"; hold = 5;
	  check = { kind = "http"; path = "/h"; interval = 3; timeout = 0.5; fall = 4; }; } );
	EOF
	hl config dump "$LAB_DIR/checks.conf" >"$LAB_DIR/dump3.conf"
	run cat "$LAB_DIR/dump3.conf"
	assert_output --partial 'on_down = "reset"; hold = 5;'
	assert_output --partial 'check = { kind = "http"; path = "/h"; interval = 3; timeout = 0.5; fall = 4; };'
	[ "$(grep -c 'check =' "$LAB_DIR/dump3.conf")" -eq 1 ] || fail "a check for SVC6 too"
	run hl config check "$LAB_DIR/dump3.conf"
	assert_success
}

@test "on a populated bpffs the agent adopts what is pinned and applies only the difference" {
	local prog id_b1 pkts
	write_conf 300
	agent_start "$LAB_DIR/helios.conf"
	burst "$LAB_SVC4" 30
	prog=$(xdp_prog_on_dir)
	id_b1=$(hl -j map dump nodes | jq --arg a "$(lab_addr4 b1)" '[.[] | select(.value.addr? == $a)] | length')
	pkts=$(hl -j stats "$LAB_SVC4" | jq '.services[0].packets // .[0].packets // 0')
	# An operator's change at run time: admin state, kept by the restart.
	hl node set "$LAB_SVC6" "$(lab_addr6 b2)" weight 7

	lab_kill "$LAB_DIR/pids/agent"
	write_conf 50 srchash "10000/s burst 1000"
	agent_start "$LAB_DIR/helios.conf"
	[ "$(xdp_prog_on_dir)" = "$prog" ] || fail "the program was attached again"
	[ "$(node_field "$LAB_SVC4" b3 weight)" = 50 ] || fail "b3's new weight not applied: $(hl node list)"
	[ "$(hl -j service list | jq -r --arg s "$LAB_SVC4" '.[] | select(.service == $s) | .strategy')" = srchash ] ||
		fail "strategy not applied"
	[ "$(node_field "$LAB_SVC6" b2 weight)" = 7 ] || fail "the operator's weight was undone"
	run hl config dump
	assert_output --partial 'rate_conn = "10000/s burst 1000"'
	assert_output --partial 'name = "lab"'	# adopted, not added twice
	run hl -j stats "$LAB_SVC4"
	[ "$(jq '.services[0].packets // .[0].packets // 0' <<<"$output")" -ge "$pkts" ] ||
		fail "the service was re-created (counters reset): $output"
	burst "$LAB_SVC4" 40
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "$burst"
}

NAT4="$LAB_VIP4:6543/tcp"

# nat_conf NODES: a fwd nat service whose nodes may have ports of their own
nat_conf() {
	cat >"$LAB_DIR/nat.conf" <<-EOF
	services = ( { service = "$NAT4"; fwd = "nat"; nodes = ( $1 ); } );
	EOF
}

# The NAT service's nodes: "ADDR PORT WEIGHT" each, sorted.
nat_nodes() {
	hl -j node list "$NAT4" | jq -r '.[] | "\(.addr) \(.port) \(.weight)"' | sort | paste -sd, -
}
nat_nodes_are() { [ "$(nat_nodes)" = "$1" ]; }

@test "nodes with a port of their own: declared in the file, dumped as ADDR:PORT, changed by reload and restart" {
	local b1 b2 want
	b1=$(lab_addr4 b1) b2=$(lab_addr4 b2)
	nat_conf "{ addr = \"$b1:6432\"; }, { addr = \"$b1:6433\"; weight = 50; }, { addr = \"$b2\"; }"
	agent_start "$LAB_DIR/nat.conf"
	want="$b1 6432 100,$b1 6433 50,$b2 6543 100"
	echo "# $(nat_nodes)" >&3
	nat_nodes_are "$want" || fail "nodes: $(nat_nodes), not $want"
	run hl config dump
	assert_output --partial "{ addr = \"$b1:6432\"; weight = 100; }"
	assert_output --partial "{ addr = \"$b1:6433\"; weight = 50; }"
	assert_output --partial "{ addr = \"$b2\"; weight = 100; }"
	refute_output --partial "not in the file format"
	hl config dump >"$LAB_DIR/nat-dump.conf"
	run hl config check "$LAB_DIR/nat-dump.conf"
	assert_success

	# reload: one port's weight changed, one node gone, one added
	nat_conf "{ addr = \"$b1:6432\"; weight = 70; }, { addr = \"$b2\"; }, { addr = \"$b2:6434\"; }"
	kill -HUP "$(cat "$LAB_DIR/pids/agent")"
	want="$b1 6432 70,$b2 6434 100,$b2 6543 100"
	poll 200 nat_nodes_are "$want" || fail "after the reload: $(nat_nodes), not $want"

	# removed from the file while the agent was down: gone at its start
	lab_kill "$LAB_DIR/pids/agent"
	nat_conf "{ addr = \"$b1:6432\"; weight = 70; }, { addr = \"$b2\"; }"
	agent_start "$LAB_DIR/nat.conf"
	want="$b1 6432 70,$b2 6543 100"
	nat_nodes_are "$want" || fail "after the restart: $(nat_nodes), not $want"

	# a port of its own where nothing translates ports: refused, one line
	nat_conf "{ addr = \"$b1:6432\"; }"
	sed -i 's/fwd = "nat"; //' "$LAB_DIR/nat.conf"
	run hl config check "$LAB_DIR/nat.conf"
	assert_failure
	assert_output --partial "nat.conf:1"
	assert_output --partial "port of its own"
	[ "${#lines[@]}" -eq 1 ] || fail "more than one line: $output"
	lab_kill "$LAB_DIR/pids/agent"
	hl service del "$NAT4"
}

# notified MSG N: the agent sent MSG at least N times.
notified() { [ "$(grep -c "$1" "$LAB_DIR/notify.log" 2>/dev/null)" -ge "$2" ]; }

@test "under systemd (Type=notify): READY once applied, RELOADING then READY around SIGHUP, STOPPING" {
	lab_kill "$LAB_DIR/pids/agent"
	lab_spawn dir notify "$LAB_PY" "$LAB_TOOLS/notify_listen.py" \
		--socket "$LAB_DIR/notify.sock" --out "$LAB_DIR/notify.log"
	poll 100 test -S "$LAB_DIR/notify.sock" || fail "no notify socket"
	rm -f "$LAB_DIR/log/agent.log"
	NOTIFY_SOCKET=$LAB_DIR/notify.sock lab_spawn dir agent "$HELIOS" \
		--bpffs "$LAB_DIR/bpf/dir" run config "$LAB_DIR/helios.conf"
	poll 200 notified READY=1 1 || fail "no READY=1: $(cat "$LAB_DIR/log/agent.log")"
	grep -q "helios-agent running" "$LAB_DIR/log/agent.log" || fail "READY before the file was applied"
	kill -HUP "$(cat "$LAB_DIR/pids/agent")"
	poll 200 notified READY=1 2 || fail "no READY=1 after the reload"
	run grep -n "RELOADING=1\|READY=1" "$LAB_DIR/notify.log"
	[[ ${lines[0]} == *READY=1* && ${lines[1]} == *RELOADING=1* && ${lines[2]} == *READY=1* ]] ||
		fail "order: $output"
	kill "$(cat "$LAB_DIR/pids/agent")"
	poll 200 notified STOPPING=1 1 || fail "no STOPPING=1"
}

@test "stopping the agent leaves the data path running; detach is the off switch" {
	lab_kill "$LAB_DIR/pids/agent"
	burst "$LAB_SVC4" 20
	[ "$(jq .errors <<<"$burst")" -eq 0 ] || fail "no traffic without the agent: $burst"
	[ -n "$(xdp_prog_on_dir)" ]
	run hl detach eth0
	assert_success
	[ -z "$(xdp_prog_on_dir)" ] || fail "still attached after detach"
}

@test "a broken file: one line naming the problem, nothing changes" {
	printf 'attach = ( { dev = "eth0"; mode = "turbo"; } );\n' >"$LAB_DIR/bad.conf"
	run hl config check "$LAB_DIR/bad.conf"
	assert_failure
	assert_output --partial "bad.conf:1"
	assert_output --partial "mode"
	printf 'decap = ( { dev = "eth0"; } );\n' >"$LAB_DIR/bad.conf"
	run hl config check "$LAB_DIR/bad.conf"
	assert_failure
	assert_output --partial "vips"
}
