#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Operator's view: `make install` lays out the expected tree (binary, a man
# page per object, helios.conf(5), completion, unit, example), the unit
# passes `systemd-analyze verify`, the example passes `config check`,
# `version` says what was built against what runs, and `feature probe`
# agrees with what the test can observe itself: bpftool's own probes, the
# kernel's BTF file, and XDP attaches made with ip(8) in a throwaway
# namespace.

load lib

ROOT=$BATS_TEST_DIRNAME/../..

setup_file() {
	e2e_require || return 0
	export OPS_TMP OPS_NS
	OPS_TMP=$(mktemp -d /tmp/hlops-XXXXXXXX)
	OPS_NS=hlops$BASHPID
	ip netns add "$OPS_NS" || return 1
	ip -n "$OPS_NS" link add v0 type veth peer name v1 || return 1
	ip -n "$OPS_NS" link set v0 up && ip -n "$OPS_NS" link set v1 up
}

teardown_file() {
	[ -n "${OPS_NS:-}" ] && ip netns del "$OPS_NS" 2>/dev/null
	[ -n "${OPS_TMP:-}" ] && rm -rf "$OPS_TMP"
	return 0
}

ns_agent() { ip netns exec "$OPS_NS" "$HELIOS" "$@"; }
xdp_id() { ip -n "$OPS_NS" -j link show dev "$1" | jq -r '.[0].xdp.prog.id // empty'; }
feature() { jq -r --arg f "$1" '.[] | select(.feature == $f) | .available' <<<"$probe"; }

@test "make install DESTDIR=... produces the expected tree" {
	local d=$OPS_TMP/destdir obj
	run make -s -C "$ROOT" BUILD="$HELIOS_BUILD" install DESTDIR="$d" PREFIX=/usr
	assert_success
	[ -x "$d/usr/sbin/helios-agent" ]
	for obj in $("$HELIOS" help objects); do
		[ -f "$d/usr/share/man/man8/helios-agent-$obj.8" ] || fail "no man page for $obj"
	done
	[ -f "$d/usr/share/man/man8/helios-agent.8" ] && [ -f "$d/usr/share/man/man5/helios.conf.5" ]
	[ -f "$d/usr/share/bash-completion/completions/helios-agent" ]
	[ -f "$d/etc/helios/helios.conf.example" ] && [ -f "$d/usr/share/doc/helios/helios.conf.example" ]
	[ ! -e "$d/etc/helios/helios.conf" ] || fail "an installed configuration would start a director"
	run grep -E '^(Type|ExecStart|ExecReload|Restart|CapabilityBoundingSet)=' \
		"$d/usr/lib/systemd/system/helios-agent.service"
	assert_line "Type=notify"
	assert_line "ExecStart=/usr/sbin/helios-agent run config /etc/helios/helios.conf"
	assert_line 'ExecReload=/bin/kill -HUP $MAINPID'
	assert_line "Restart=on-failure"
	assert_line "CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_RESOURCE"
	run env MANWIDTH=80 man -l "$d/usr/share/man/man8/helios-agent-service.8"
	assert_output --partial "strategy NAME"
	run "$HELIOS" config check "$d/etc/helios/helios.conf.example"
	assert_success
}

@test "the unit passes systemd-analyze verify" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
	local r=$OPS_TMP/root
	# Installed under a prefix of its own, so ExecStart's binary exists.
	run make -s -C "$ROOT" BUILD="$HELIOS_BUILD" install PREFIX="$r/usr" SYSCONFDIR="$r/etc"
	assert_success
	MANPATH=$r/usr/share/man run systemd-analyze verify "$r/usr/lib/systemd/system/helios-agent.service"
	assert_success
	# And it can fail: a misspelt directive.
	sed 's/^Type=notify/Type=notifyy/' "$r/usr/lib/systemd/system/helios-agent.service" \
		>"$OPS_TMP/helios-agent.service"
	MANPATH=$r/usr/share/man run systemd-analyze verify "$OPS_TMP/helios-agent.service"
	assert_output --partial "notifyy"
}

@test "version and --version: the build's version and the running libbpf" {
	run "$HELIOS" version
	assert_success
	[ "$("$HELIOS" --version)" = "$output" ]
	run "$HELIOS" -j version
	local v lib
	v=$(jq -r .version <<<"$output")
	lib=$(jq -r .libbpf <<<"$output")
	[ -n "$v" ] && [ "$("$HELIOS" version)" = "helios-agent $v (libbpf $lib)" ]
	grep -qF "\"$v\"" "$HELIOS_BUILD/version.h" || fail "not the version built: $v"
	# libbpf's runtime major.minor is the installed package's.
	[[ $(dpkg-query -W -f='${Version}' libbpf1) == *"${lib#v}"* ]] ||
		fail "libbpf $lib, package $(dpkg-query -W -f='${Version}' libbpf1)"
	run "$HELIOS" version extra
	assert_failure
}

@test "feature probe agrees with bpftool's probes and the kernel's BTF file" {
	command -v bpftool >/dev/null || skip "bpftool not installed"
	local bt f m
	probe=$("$HELIOS" -j feature probe)
	bt=$(bpftool feature probe kernel 2>/dev/null)
	[ -n "$bt" ] || skip "bpftool feature probe gives nothing"
	if [ -r /sys/kernel/btf/vmlinux ]; then want=true; else want=false; fi
	[ "$(feature "kernel BTF")" = "$want" ] || fail "kernel BTF: $probe"
	for m in "ring buffer:ringbuf" "LRU hash maps:lru_hash" \
		 "LRU per-CPU hash maps:lru_percpu_hash" "per-CPU arrays:percpu_array" \
		 "LPM tries:lpm_trie"; do
		f=${m%%:*}
		if grep -q "map_type ${m#*:} is available" <<<"$bt"; then want=true; else want=false; fi
		[ "$(feature "$f")" = "$want" ] || fail "$f: ours $(feature "$f"), bpftool's $want"
	done
	for m in "bpf_fib_lookup:bpf_fib_lookup" "BPF timers:bpf_timer_init"; do
		f=${m%%:*}
		if sed -n '/helpers supported for program type xdp:/,/^$/p' <<<"$bt" |
			grep -qw "${m#*:}"; then want=true; else want=false; fi
		[ "$(feature "$f")" = "$want" ] || fail "$f: ours $(feature "$f"), bpftool's $want"
	done
	# Every missing feature says what it disables.
	[ "$(jq '[.[] | select(.available == false and (.disables // "") == "")] | length' <<<"$probe")" -eq 0 ]
}

@test "feature probe DEV: native and generic XDP on a veth, a device in use left alone" {
	local obj=$OPS_TMP/xdp_pass.bpf.o id
	probe=$(ns_agent -j feature probe v0)
	[ "$(feature "XDP native")" = true ] && [ "$(feature "XDP generic")" = true ] ||
		fail "veth supports both here: $probe"
	[ -z "$(xdp_id v0)" ] || fail "the probe left a program on v0"

	clang -O2 -g -target bpf -c "$BATS_TEST_DIRNAME/xdp_pass.bpf.c" -o "$obj"
	ip -n "$OPS_NS" link set dev v0 xdpgeneric obj "$obj" sec xdp
	id=$(xdp_id v0)
	[ -n "$id" ]
	probe=$(ns_agent -j feature probe v0)
	[ "$(jq -r '.[] | select(.feature == "XDP generic") | .state' <<<"$probe")" = \
	  "in use (an XDP program is attached)" ] || fail "$probe"
	[ "$(xdp_id v0)" = "$id" ] || fail "the probe replaced the device's program"
	ip -n "$OPS_NS" link set dev v0 xdpgeneric off

	run ns_agent feature probe nosuchdev0
	assert_failure
	assert_output --partial "no device 'nosuchdev0'"
}
