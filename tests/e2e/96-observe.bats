#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Observing the director while traffic runs: the agent's metrics endpoint
# (counters rise by exactly the traffic sent, label sets stable, the
# exposition valid by promtool and by tests/e2e/expo.py in both formats),
# `monitor -j` (an agent transition and data-path rate-limit drops), and
# `top` in a real 80x24 terminal (tmux).

load lib

CHECK_PORT=7000
METRICS_PORT=9464	# the CLI's --metrics; the file names another, 9465

setup_file() {
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	local h
	for h in b1 b2 b3; do
		check_start "$h" || return 1
	done
	for h in b1 b2 b3; do
		lab_wait_listen "$h" 5 || return 1
	done
	cat >"$LAB_DIR/agent.conf" <<-EOF
	metrics = "127.0.0.1:9465";
	services = ( {
	  service = "$LAB_SVC4";
	  check = { kind = "tcp"; port = $CHECK_PORT; interval = 0.3; timeout = 0.2;
	            rise = 1; fall = 2; breaker_failures = 50; };
	  nodes = ( { addr = "$(lab_addr4 b1)"; }, { addr = "$(lab_addr4 b2)"; },
	            { addr = "$(lab_addr4 b3)"; } );
	} );
	EOF
	lab_spawn dir agent "$HELIOS" --bpffs "$LAB_DIR/bpf/dir" run config \
		"$LAB_DIR/agent.conf" --metrics "$METRICS_PORT"
	poll 200 all_probed || return 1
	lab_spawn dir monitor "$HELIOS" --bpffs "$LAB_DIR/bpf/dir" -j monitor
	# the monitor is connected once the agent counts it
	poll 200 monitors_connected 1 || return 1
}

teardown_file() {
	[ -S "${LAB_DIR:-/nonexistent}/tmux.sock" ] &&
		tmux -S "$LAB_DIR/tmux.sock" kill-server 2>/dev/null
	e2e_lab_down
}

check_start() {
	lab_spawn "$1" "check-$1" "$LAB_PY" "$LAB_TOOLS/tcp_server.py" --name "$1" \
		--addr "$(lab_addr4 "$1")" --port $CHECK_PORT --lifetime 600 \
		--pidfile "$LAB_DIR/pids/check-$1.py"
}

all_probed() {
	[ "$(hl -j health | jq '[.[] | select(.last_probe == "ok")] | length')" -eq 3 ]
}

# scrape FILE [--om]: the endpoint's body into FILE (Content-Type in FILE.type)
scrape() {
	lab_exec dir "$LAB_PY" "$LAB_TOOLS/expo.py" get \
		"http://127.0.0.1:$METRICS_PORT/metrics" "${@:2}" >"$1" 2>"$1.type"
}

# value FILE SERIES: one series' value (0 when absent)
value() {
	"$LAB_PY" "$LAB_TOOLS/expo.py" series "$1" | jq -r --arg k "$2" '.[$k] // 0'
}

monitors_connected() {
	scrape "$LAB_DIR/m.txt" || return 1
	[ "$(value "$LAB_DIR/m.txt" 'helios_agent_monitors{}')" = "$1" ]
}

svc_series() { echo "$1{service=\"$LAB_SVC4\"}"; }

@test "metrics: counters rise by exactly the traffic sent" {
	local m0=$LAB_DIR/m0.txt m1=$LAB_DIR/m1.txt out0 out1 sent p0 p1 f0 f1 b0 b1 n0 n1 h
	scrape "$m0"
	out0=$(client_tcp_out)
	burst "$LAB_SVC4" 40
	[ "$(jq .ok <<<"$burst")" -eq 40 ] || fail "failed connections: $burst"
	out1=$(client_tcp_out)
	scrape "$m1"
	sent=$((out1 - out0))
	p0=$(value "$m0" "$(svc_series helios_service_packets_total)")
	p1=$(value "$m1" "$(svc_series helios_service_packets_total)")
	f0=$(value "$m0" "$(svc_series helios_service_flows_total)")
	f1=$(value "$m1" "$(svc_series helios_service_flows_total)")
	b0=$(value "$m0" "$(svc_series helios_service_bytes_total)")
	b1=$(value "$m1" "$(svc_series helios_service_bytes_total)")
	echo "# packets +$((p1 - p0)) (client sent $sent segments), flows +$((f1 - f0)), bytes +$((b1 - b0))" >&3
	[ $((p1 - p0)) -eq "$sent" ] || fail "packets rose by $((p1 - p0)), the client sent $sent"
	[ $((f1 - f0)) -eq 40 ] || fail "flows rose by $((f1 - f0)), not 40"
	[ $((b1 - b0)) -ge $((sent * 54)) ] || fail "bytes rose by $((b1 - b0)) for $sent segments"
	# the nodes' flows add up to the service's, each node's to its connections
	n0=0 n1=0
	for h in b1 b2 b3; do
		local s="helios_node_flows_total{service=\"$LAB_SVC4\",node=\"$(lab_addr4 $h)\"}" d
		d=$(( $(value "$m1" "$s") - $(value "$m0" "$s") ))
		[ "$d" -eq "$(count $h)" ] || fail "$h: flows +$d, it answered $(count $h)"
		n1=$((n1 + d))
	done
	[ "$n1" -eq 40 ] || fail "node flows add up to $n1"
	[ "$(value "$m1" 'helios_verdicts_total{reason="forwarded"}')" -ge "$p1" ] ||
		fail "forwarded verdicts below the service's packets"
}

@test "metrics: the same label sets scrape after scrape; health, weights, probes there" {
	local a=$LAB_DIR/ls0.txt b=$LAB_DIR/ls1.txt
	scrape "$a"
	burst "$LAB_SVC4" 10
	scrape "$b"
	diff <("$LAB_PY" "$LAB_TOOLS/expo.py" series "$a" | jq -r 'keys[]') \
		<("$LAB_PY" "$LAB_TOOLS/expo.py" series "$b" | jq -r 'keys[]') ||
		fail "label sets changed between scrapes"
	local node="service=\"$LAB_SVC4\",node=\"$(lab_addr4 b1)\""
	[ "$(value "$b" "helios_node_health_state{$node}")" = 0 ] || fail "b1 not healthy (0)"
	[ "$(value "$b" "helios_node_weight{$node}")" = 100 ] || fail "b1's weight"
	[ "$(value "$b" "helios_node_effective_weight{$node}")" -gt 0 ] || fail "b1's effective weight"
	[ "$(value "$b" "helios_node_probes_total{$node}")" -gt 0 ] || fail "no probes of b1 counted"
	[ "$(value "$b" 'helios_agent_probes_total{result="ok"}')" -gt 0 ] || fail "agent probes"
	grep -q '^helios_agent_loop_lag_seconds ' "$b" || fail "no loop lag"
	grep -q "^helios_service_drops_total{service=\"$LAB_SVC4\",reason=\"dropped-rate-conn\"} " "$b" ||
		fail "no per-service drop counter for dropped-rate-conn"
}

@test "metrics: valid Prometheus 0.0.4 (promtool, expo.py) and OpenMetrics 1.0 when asked" {
	local p=$LAB_DIR/p.txt o=$LAB_DIR/o.txt
	scrape "$p"
	grep -q 'text/plain; version=0.0.4' "$p.type" || fail "type: $(cat "$p.type")"
	run "$LAB_PY" "$LAB_TOOLS/expo.py" check "$p" --format prom
	assert_success
	if command -v promtool >/dev/null; then
		run promtool check metrics <"$p"
		assert_success
	else
		echo "# promtool not installed: expo.py's check only" >&3
	fi
	scrape "$o" --om
	grep -q 'application/openmetrics-text; version=1.0.0' "$o.type" || fail "type: $(cat "$o.type")"
	run "$LAB_PY" "$LAB_TOOLS/expo.py" check "$o" --format om
	assert_success
	[ "$(tail -n1 "$o")" = "# EOF" ]
	grep -q '^# TYPE helios_service_packets counter$' "$o" || fail "OM counter family name"
	# gzip when asked (Prometheus asks): the same series, fewer bytes
	scrape "$p.gz" --gzip
	grep -q '^encoding: gzip$' "$p.gz.type" || fail "not gzipped: $(cat "$p.gz.type")"
	diff <("$LAB_PY" "$LAB_TOOLS/expo.py" series "$p" | jq -r 'keys[]') \
		<("$LAB_PY" "$LAB_TOOLS/expo.py" series "$p.gz" | jq -r 'keys[]') ||
		fail "gzipped scrape has other series"
	grep -q '^encoding: $' "$p.type" || fail "gzipped without being asked"
	# the checker itself refuses what breaks the rules
	sed 's/^helios_service_packets_total/helios_service_packets/' "$p" >"$p.bad"
	run "$LAB_PY" "$LAB_TOOLS/expo.py" check "$p.bad" --format prom
	assert_failure
	head -n -1 "$o" >"$o.bad"
	run "$LAB_PY" "$LAB_TOOLS/expo.py" check "$o.bad" --format om
	assert_failure
}

@test "metrics: only GET /metrics; a bad address is refused at start" {
	run lab_exec dir "$LAB_PY" "$LAB_TOOLS/expo.py" get "http://127.0.0.1:$METRICS_PORT/other"
	assert_failure
	assert_output --partial "404"
	run --separate-stderr lab_helios dir run config "$LAB_DIR/agent.conf" --metrics 1.2.3:9
	assert_failure
	[[ "$stderr" == *"metrics"* ]] || fail "error does not name the option: $stderr"
}

# monitor_has JQ-FILTER: a line of the monitor's output matches
monitor_has() {
	jq -e -s "[.[] | select($1)] | length > 0" "$LAB_DIR/log/monitor.log" >/dev/null 2>&1
}

agent_state() {
	hl -j health "$LAB_SVC4" | jq -r --arg a "$(lab_addr4 "$1")" '.[] | select(.addr == $a) | .state'
}

state_is() { [ "$(agent_state "$1")" = "$2" ]; }

@test "monitor -j: a node transition, within one probe interval of the agent's judgement; a reload" {
	local b3 sel
	b3=$(lab_addr4 b3)
	kill "$(cat "$LAB_DIR/pids/check-b3.py")"
	poll 200 state_is b3 unhealthy || fail "b3 not unhealthy: $(hl health)"
	sel=".type == \"agent\" and .event == \"state\" and .node == \"$b3\" and .to == \"unhealthy\""
	# one probe interval (0.3 s) of polling
	poll 6 monitor_has "$sel" || fail "no state event: $(cat "$LAB_DIR/log/monitor.log")"
	check_start b3
	poll 200 state_is b3 healthy || fail "b3 not healthy again"
	sel=".type == \"agent\" and .event == \"state\" and .node == \"$b3\" and .to == \"healthy\""
	poll 6 monitor_has "$sel" || fail "no recovery event: $(cat "$LAB_DIR/log/monitor.log")"
	monitor_has ".service == \"$LAB_SVC4\" and .from == \"healthy\"" || fail "event without service/from"
	# a reload is an event too
	kill -HUP "$(cat "$LAB_DIR/pids/agent")"
	poll 100 monitor_has '.type == "agent" and .event == "reload" and .ok == true' ||
		fail "no reload event: $(tail -3 "$LAB_DIR/log/monitor.log")"
}

@test "monitor -j: rate-limit drops as data-path events; lost and skipped are reported" {
	local m=$LAB_DIR/rl.txt sel
	hl service set "$LAB_SVC4" rate conn 2/s burst 1
	burst "$LAB_SVC4" 20 --timeout 0.5 || true
	sel=".type == \"datapath\" and .event == \"rate-limit\" and .reason == \"dropped-rate-conn\" and .service == \"$LAB_SVC4\" and .proto == \"tcp\" and .flags == \"S\""
	poll 100 monitor_has "$sel" || fail "no rate-limit event: $(tail -5 "$LAB_DIR/log/monitor.log")"
	scrape "$m"
	[ "$(value "$m" "helios_service_drops_total{service=\"$LAB_SVC4\",reason=\"dropped-rate-conn\"}")" -gt 0 ] ||
		fail "per-service drop counter did not rise"
	[ "$(value "$m" "helios_service_limit_dropped_total{service=\"$LAB_SVC4\",limit=\"conn\"}")" -gt 0 ] ||
		fail "limit drop counter did not rise"
	[ "$(value "$m" 'helios_monitor_events_total{}')" -gt 0 ] || fail "no events counted"

	# One monitor at a time takes the data-path events: a second is refused.
	run --separate-stderr hl monitor
	assert_failure
	[[ "$stderr" == *"another monitor"* ]] || fail "second monitor: $stderr"
	# A monitor that samples 1 in 1000 in its place: the drops it skips
	# are reported as a "lost" line with skipped > 0.
	lab_kill "$LAB_DIR/pids/monitor"
	lab_spawn dir monitor2 "$HELIOS" --bpffs "$LAB_DIR/bpf/dir" -j monitor sample 1000
	poll 200 monitors_connected 1 || fail "second monitor did not connect"
	burst "$LAB_SVC4" 20 --timeout 0.5 || true
	poll 100 jq -e -s '[.[] | select(.type == "lost" and .skipped > 0)] | length > 0' \
		"$LAB_DIR/log/monitor2.log" || fail "no skipped count: $(cat "$LAB_DIR/log/monitor2.log")"
	lab_kill "$LAB_DIR/pids/monitor2"
	hl service set "$LAB_SVC4" rate conn off
}

# scraped_at_least FILE SERIES N: a scrape into FILE has SERIES >= N
scraped_at_least() { scrape "$1" && [ "$(value "$1" "$2")" -ge "$3" ]; }

# node_drops FILE REASON: every node's count of REASON, summed
node_drops() {
	"$LAB_PY" "$LAB_TOOLS/expo.py" series "$1" | jq --arg r "reason=\"$2\"" \
		'[to_entries[] | select((.key | startswith("helios_node_drops_total{")) and
		  (.key | contains($r))) | .value] | add // 0'
}

@test "metrics: a node's drops by reason rise by exactly the drops caused on it" {
	local svc="$LAB_VIP4:5499/tcp" lost=198.19.254.1 m0=$LAB_DIR/nd0.txt
	local m1=$LAB_DIR/nd1.txt series all0 sv0 n=25
	# A node no route leads to (the director has none to 198.19/16): each
	# new flow picks it, then is dropped-no-route, a drop after the pick.
	hl service del "$svc" >/dev/null 2>&1 || true
	hl service add "$svc"
	hl node add "$svc" "$lost"
	series="helios_node_drops_total{service=\"$svc\",node=\"$lost\",reason=\"dropped-no-route\"}"
	scrape "$m0"
	all0=$(node_drops "$m0" dropped-no-route)
	sv0=$(value "$m0" "helios_service_drops_total{service=\"$svc\",reason=\"dropped-no-route\"}")
	lab_exec client "$LAB_PY" "$LAB_TOOLS/synflood.py" "$LAB_VIP4" 5499 \
		--count $n --rate 1000 --seed 11 >/dev/null
	# the last SYNs may still be on their way through the veth
	poll 100 scraped_at_least "$m1" "$series" $(( $(value "$m0" "$series") + n )) ||
		fail "the node's dropped-no-route did not reach +$n: $(value "$m1" "$series")"
	echo "# $series: $(value "$m0" "$series") -> $(value "$m1" "$series")" >&3
	[ $(( $(value "$m1" "$series") - $(value "$m0" "$series") )) -eq $n ] ||
		fail "the node's dropped-no-route rose by $(( $(value "$m1" "$series") - $(value "$m0" "$series") )), not $n"
	[ $(( $(node_drops "$m1" dropped-no-route) - all0 )) -eq $n ] ||
		fail "other nodes counted dropped-no-route too"
	[ $(( $(value "$m1" "helios_service_drops_total{service=\"$svc\",reason=\"dropped-no-route\"}") - sv0 )) -eq $n ] ||
		fail "the service's count does not match the node's"
	hl service del "$svc"
}

@test "top in an 80x24 terminal: the service, its nodes and non-zero rates during traffic" {
	command -v tmux >/dev/null || skip "tmux not installed"
	local sock=$LAB_DIR/tmux.sock base
	tmux -S "$sock" new-session -d -s top -x 80 -y 24 \
		"$HELIOS --bpffs $LAB_DIR/bpf/dir top interval 0.5"
	base=$(lab_ports 1)
	lab_client pingpong "$LAB_VIP4" "$LAB_PORT" --seconds 6 --sport "$base" >/dev/null &
	local traffic=$!
	poll 200 top_shows_rate || { kill $traffic; fail "top: $(tmux -S "$sock" capture-pane -p -t top)"; }
	tmux -S "$sock" capture-pane -p -t top >"$LAB_DIR/top.txt"
	cat "$LAB_DIR/top.txt" | sed 's/^/# /' >&3
	grep -q "$(lab_addr4 b1)" "$LAB_DIR/top.txt" || fail "no node rows"
	[ "$(awk 'length > 80' "$LAB_DIR/top.txt" | wc -l)" -eq 0 ] || fail "lines wider than 80"
	tmux -S "$sock" send-keys -t top q
	poll 100 top_gone || fail "q did not quit"
	wait $traffic
}

# the service's row shows packets/s > 0
top_shows_rate() {
	tmux -S "$LAB_DIR/tmux.sock" capture-pane -p -t top |
		awk -v s="$LAB_SVC4" '$1 == s && $2 + 0 > 0 { found = 1 } END { exit !found }'
}
top_gone() { ! tmux -S "$LAB_DIR/tmux.sock" has-session -t top 2>/dev/null; }

@test "dist/grafana/helios.json: every metric it queries is served, every query parses" {
	local m=$LAB_DIR/g.txt dash=$BATS_TEST_DIRNAME/../../dist/grafana/helios.json name
	scrape "$m"
	for name in $(jq -r '.. | .expr? // empty' "$dash" | grep -o 'helios_[a-z_]*' | sort -u); do
		# served: samples, or the TYPE of a family whose series come
		# with their first count (helios_node_drops_total)
		grep -qE "^(# TYPE )?$name[{ ]" "$m" || fail "the dashboard queries $name, not served"
	done
	command -v promtool >/dev/null || skip "promtool not installed: names checked only"
	{
		echo 'groups:'
		echo '  - name: dashboard'
		echo '    rules:'
		jq -r '[.. | .expr? // empty] | to_entries[] |
			"      - record: dashboard_\(.key)\n        expr: \(.value | gsub("\\$__rate_interval"; "1m") | gsub("\\$service"; ".*") | @json)"' "$dash"
	} >"$LAB_DIR/dash-rules.yml"
	run promtool check rules "$LAB_DIR/dash-rules.yml"
	assert_success
}
