# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# A real Patroni cluster behind the director of a namespace lab (IPIP):
# Debian's etcd (v3 API) in b3's namespace, and on b1 and b2 Debian's
# Patroni, each bootstrapping and managing its own PostgreSQL 15 (data
# under PT_BASE/bN), REST API on its address port 8008. Shared by
# tests/e2e/98-patroni-real.bats and bench/patroni.sh. Source it after
# scripts/lab.sh (and lib.bash in bats), pg.bash and pgcluster.bash.
#
#   pt_lab                       lab (3 hosts), director attached, VIPs, decap,
#                                etcd, Patroni on b1 (leader) and b2 (replica)
#   pt_on VIP                    b1 or b2: whose PostgreSQL a new connection got
#   pt_leader                    the member Patroni's DCS names leader
#   pt_ctl ARGS...               patronictl from the director's namespace
#   pt_teardown                  Patroni, PostgreSQL, etcd, the lab
#
# Patroni runs as the postgres user (setpriv, so the recorded PID is
# Patroni's own); its PostgreSQL listens on the node's address and, as in
# every IPIP lab, on both VIPs (they arrive decapsulated). Timings are
# short (loop_wait 1 s, ttl 10 s) so that the lab moves quickly; every wait
# is a bounded poll.

PT_PORT=8008			# Patroni's REST API
PT_SCOPE=helios
PT_NODES="b1 b2"
PT_ETCD=b3			# etcd's host: a lab namespace, no node of any service
PT_WAIT=${PT_WAIT:-600}		# polls of 50 ms: 30 s

pt_etcd_url() { echo "http://$(lab_addr4 $PT_ETCD):2379"; }
pt_etcd_healthy() {
	lab_exec $PT_ETCD curl -s -m 1 "$(pt_etcd_url)/health" 2>/dev/null |
		jq -e '.health == "true"' >/dev/null 2>&1
}

# pt_require: Debian's patroni and etcd (scripts/install-deps.sh).
pt_require() {
	local t
	for t in patroni patronictl etcd curl; do
		command -v "$t" >/dev/null || {
			echo "patroni lab: $t missing (run scripts/install-deps.sh)" >&2
			return 1
		}
	done
}

# pt_yaml HOST: HOST's Patroni configuration (tags from PT_BASE/HOST/tags).
pt_yaml() {
	local h=$1 a d
	a=$(lab_addr4 "$h")
	d=$PT_BASE/$h
	cat <<-EOF
	scope: $PT_SCOPE
	name: $h
	log: {level: INFO, dir: $d/log}
	restapi: {listen: "$a:$PT_PORT", connect_address: "$a:$PT_PORT"}
	etcd3: {host: "$(lab_addr4 $PT_ETCD):2379"}
	bootstrap:
	  dcs:
	    ttl: 10
	    loop_wait: 1
	    retry_timeout: 4
	    maximum_lag_on_failover: 16777216
	    postgresql:
	      use_pg_rewind: false
	      use_slots: true
	      parameters:
	        fsync: "off"
	        full_page_writes: "off"
	        synchronous_commit: "off"
	        shared_buffers: 16MB
	        max_connections: 60
	        wal_level: replica
	        hot_standby: "on"
	  initdb: [{encoding: UTF8}]
	postgresql:
	  listen: "$a,$PGC_WVIP,$PGC_RVIP:$PGC_NODE_PORT"
	  connect_address: "$a:$PGC_NODE_PORT"
	  data_dir: $d/data
	  bin_dir: $PG_BIN
	  pgpass: $d/pgpass
	  authentication:
	    superuser: {username: postgres}
	    replication: {username: postgres}
	  basebackup: [{checkpoint: fast}]
	  parameters: {unix_socket_directories: "$d/run"}
	  pg_hba:
	    - local all all trust
	    - host all all 198.18.0.0/15 trust
	    - host replication all 198.18.0.0/15 trust
	tags: {$(cat "$d/tags" 2>/dev/null)}
	EOF
}

# pt_write_yaml HOST: (re)write HOST's file, owned by postgres.
pt_write_yaml() {
	pt_yaml "$1" >"$PT_BASE/$1/patroni.yml.new" &&
		chown postgres: "$PT_BASE/$1/patroni.yml.new" &&
		mv "$PT_BASE/$1/patroni.yml.new" "$PT_BASE/$1/patroni.yml"
}

# pt_start HOST: HOST's Patroni (its PostgreSQL follows), recorded as patroni-HOST.
pt_start() {
	local h=$1
	mkdir -p "$PT_BASE/$h/run" "$PT_BASE/$h/log" || return 1
	chown postgres: "$PT_BASE/$h" "$PT_BASE/$h/run" "$PT_BASE/$h/log" || return 1
	# pg.bash's instance record: pg_sql, pg_stop and pg_base_destroy use it
	printf 'PG_NS=%q\nPG_ADDR=%q\nPG_PORT=%q\n' "$(lab_ns "$h")" "$(lab_addr4 "$h")" \
		"$PGC_NODE_PORT" >"$PT_BASE/$h/pg.env"
	pt_write_yaml "$h" || return 1
	lab_spawn "$h" "patroni-$h" setpriv --reuid=postgres --regid=postgres --init-groups \
		env HOME="$PT_BASE/$h" patroni "$PT_BASE/$h/patroni.yml"
}

# pt_pid HOST: the PID of HOST's Patroni.
pt_pid() { cat "$LAB_DIR/pids/patroni-$1"; }

# pt_state HOST: "role state" from HOST's REST API (role primary for
# Patroni's "master" too), or nothing.
pt_state() {
	lab_exec "$1" curl -s -m 1 "http://$(lab_addr4 "$1"):$PT_PORT/patroni" 2>/dev/null |
		jq -r '"\(.role | sub("^master$"; "primary")) \(.state)"' 2>/dev/null
}
pt_is() { [ "$(pt_state "$1")" = "$2 running" ]; }

# pt_status HOST PATH: the HTTP status HOST's REST API answers PATH with.
pt_status() {
	lab_exec "$1" curl -s -o /dev/null -w '%{http_code}' -m 1 \
		"http://$(lab_addr4 "$1"):$PT_PORT$2" 2>/dev/null
}

pt_ctl_yaml() {
	cat <<-EOF
	scope: $PT_SCOPE
	etcd3: {host: "$(lab_addr4 $PT_ETCD):2379"}
	EOF
}

# pt_ctl ARGS...: patronictl, run where the switchover hook runs.
pt_ctl() {
	lab_exec dir env HOME="$LAB_DIR" patronictl -c "$LAB_DIR/patronictl.yml" "$@"
}

pt_leader() {
	pt_ctl list -f json 2>/dev/null | jq -r '.[] | select(.Role == "Leader") | .Member'
}

# pt_streaming HOST LEADER: LEADER's PostgreSQL sends WAL to HOST's
# (Patroni names the connection after the member). Patroni 3.0.2's
# `patronictl list` says "running" for a replica whether it streams or not.
pt_streaming() {
	[ "$(pg_sql "$PT_BASE/$2" "SELECT count(*) FROM pg_stat_replication
		WHERE application_name = '$1' AND state = 'streaming'" 2>/dev/null)" = 1 ]
}

# pt_on VIP: the member whose PostgreSQL a new connection to VIP reached.
pt_on() {
	local d
	d=$(pgc_psql "$1" -At -c "SELECT current_setting('data_directory')" 2>/dev/null) || return 1
	d=${d%/data}
	echo "${d##*/}"
}

# pt_lab: the whole lab; the first member to start (b1) is the leader.
pt_lab() {
	local h
	pt_require || return 1
	pg_require || return 1
	lab_create 3 || return 1
	lab_up || return $?
	pgc_ipip_vips || return 1
	lab_helios dir attach eth0 mode native || return 1
	PT_BASE=$(pg_base_new) || return 1
	echo "$PT_BASE" >"$LAB_DIR/pg_base"
	pt_ctl_yaml >"$LAB_DIR/patronictl.yml"
	lab_spawn $PT_ETCD etcd etcd --name e1 --data-dir "$LAB_DIR/etcd" \
		--listen-client-urls "$(pt_etcd_url)" --advertise-client-urls "$(pt_etcd_url)" \
		--listen-peer-urls "http://$(lab_addr4 $PT_ETCD):2380" \
		--initial-advertise-peer-urls "http://$(lab_addr4 $PT_ETCD):2380" \
		--initial-cluster "e1=http://$(lab_addr4 $PT_ETCD):2380"
	poll "$PT_WAIT" pt_etcd_healthy || {
		echo "patroni lab: etcd not healthy: $(tail -5 "$LAB_DIR/log/etcd.log")" >&2
		return 1
	}
	pt_start b1 || return 1
	poll "$PT_WAIT" pt_is b1 primary || {
		echo "patroni lab: b1 did not bootstrap: $(tail -20 "$LAB_DIR/log/patroni-b1.log")" >&2
		return 1
	}
	pt_start b2 || return 1
	poll "$PT_WAIT" pt_streaming b2 b1 || {
		echo "patroni lab: b2 does not stream: $(tail -20 "$LAB_DIR/log/patroni-b2.log")" >&2
		return 1
	}
	for h in $PT_NODES; do
		[ "$(pt_on_host "$h")" = "$h" ] || return 1
	done
}

# pt_on_host HOST: the member HOST's own address reaches (a check of the lab).
pt_on_host() {
	local d
	d=$(lab_exec client "$PG_BIN/psql" -X -At \
		"host=$(lab_addr4 "$1") port=$PGC_NODE_PORT user=postgres dbname=postgres connect_timeout=2" \
		-c "SELECT current_setting('data_directory')") || return 1
	d=${d%/data}
	echo "${d##*/}"
}

# pt_teardown: Patroni first (killed, so that it restarts nothing), then
# the PostgreSQL servers by their own PIDs, then etcd and the lab.
pt_teardown() {
	local h
	[ -n "${LAB_DIR:-}" ] && [ -d "$LAB_DIR" ] || return 0
	for h in $PT_NODES; do
		[ -f "$LAB_DIR/pids/patroni-$h" ] || continue
		lab_owns "$(pt_pid "$h")" && kill -KILL "$(pt_pid "$h")" 2>/dev/null
	done
	[ -f "$LAB_DIR/pg_base" ] && pg_base_destroy "$(cat "$LAB_DIR/pg_base")"
	lab_destroy
}
