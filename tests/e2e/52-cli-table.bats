#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Bad arguments for every object, command and keyword, derived from the
# CLI's own tables (`help grammar`) by cli_table.py, against an attached
# director: one Error: line (one JSON error object with -j), a non-zero
# exit, and the services, nodes, classes and settings unchanged.

load lib

setup_file() {
	e2e_lab_attached || return 1
	e2e_skipping && return 0
	svc_setup "$LAB_SVC4" 100 200 300
}
teardown_file() { e2e_lab_down; }

@test "every command with bad arguments: one error, no state change" {
	local values="$BATS_FILE_TMPDIR/values.json"

	jq -n --arg svc "$LAB_SVC4" --arg node "$(lab_addr4 b1)" \
		--arg new_svc "$LAB_VIP4:6001/tcp" '{
		SVC: $svc, NODE: $node, DEV: "eth0", ADDR: "198.18.1.10",
		PREFIX: "198.18.128.0/24", NAME: "services", N: "10",
		DELAY_MS: "100", PCT: "10", LEN: "24", MS: "1000", S: "30",
		RATE: "100", B: "10", KIND: "tcp", PORT: "5432",
		STATUS: "200", STR: "x", PATH: "/", F: "1.5",
		FILE: "/nonexistent/helios.conf", "ADDR:PORT": "127.0.0.1:19464",
		CMD: "true",
		new: { SVC: $new_svc, NODE: "198.18.0.77" },
		snapshot: [["-j", "service", "list"], ["-j", "node", "list"],
			   ["-j", "class", "list"], ["-j", "conn", "timeout", "show"],
			   ["map", "dump", "settings"], ["map", "dump", "snat_addrs"]]
	}' >"$values"
	run --separate-stderr "$LAB_PY" "$BATS_TEST_DIRNAME/cli_table.py" "$values" -- \
		ip netns exec "$(lab_ns dir)" "$HELIOS" --bpffs "$LAB_DIR/bpf/dir"
	printf '%s\n' "$output" | grep '^#' >&3 || true
	[ "$status" -eq 0 ] || fail "$output $stderr"
}

@test "the lab still forwards after all the rejected commands" {
	burst "$LAB_SVC4" 300
	assert_spread 0.08 b1=100 b2=200 b3=300
}
