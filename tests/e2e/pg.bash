# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# PostgreSQL 15 servers for namespace tests: a primary and streaming
# standbys, each in a network namespace the caller has already set up (lo
# and its interface up, addresses configured). Source it.
#
# An instance is a directory: pg_init_primary / pg_init_standby create it
# (data/, run/ for its own unix socket, log/, pg.env with ns/addr/port) and
# every other function takes it. Nothing is shared between instances: own
# port, own unix_socket_directories (unix sockets are not per namespace),
# own data. pg_hba trusts 198.18.0.0/15 and fd00::/8 only, for the lab.
#
#   base=$(pg_base_new)                          # once; pg_base_destroy at the end
#   pg_init_primary "$base/p" NS1 198.18.70.11,fd00:4845:70::11 5432
#   pg_start "$base/p"
#   pg_init_standby "$base/s" NS2 198.18.70.12 5432 "$base/p" standby1
#   pg_start "$base/s"
#   pg_wait_streaming "$base/p" standby1         # bounded poll
#   pg_sql "$base/p" "CREATE TABLE t (x int)"     # psql -Atc over the unix socket
#   pg_stop "$base/s"                            # -m immediate
#   pg_base_destroy "$base"                      # stops what still runs, rm -rf
#
# The first address of ADDR (a comma list: listen_addresses) is the one a
# standby replicates from. Every function returns non-zero and says why on
# stderr when something fails. Processes are stopped by their own PIDs
# (postmaster.pid), never by name.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${PG_USER:-postgres}
PG_WAIT_S=${PG_WAIT_S:-30}	# bound of every wait

# pg_require: PostgreSQL 15 and its user are installed (scripts/install-deps.sh).
pg_require() {
	local t
	for t in initdb pg_ctl pg_basebackup psql postgres; do
		if [ ! -x "$PG_BIN/$t" ]; then
			echo "pg: $PG_BIN/$t missing (run scripts/install-deps.sh)" >&2
			return 1
		fi
	done
	if ! id -u "$PG_USER" >/dev/null 2>&1; then
		echo "pg: no user $PG_USER (run scripts/install-deps.sh)" >&2
		return 1
	fi
}

# pg_base_new: a fresh directory for instances, owned by the server user.
# Short on purpose: a unix socket path is limited to 107 bytes.
pg_base_new() {
	local d
	d=$(mktemp -d /tmp/hlpg.XXXXXX) || return 1
	chown "$PG_USER:" "$d" && chmod 755 "$d" || return 1
	echo "$d"
}

# As the server user, from a directory it can read (initdb needs a cwd).
pg_as() {
	(cd / && runuser -u "$PG_USER" -- "$@")
}

pg_env() {
	# shellcheck source=/dev/null
	. "$1/pg.env"
}

pg_mkdirs() {
	local dir=$1
	mkdir -p "$dir/run" "$dir/log" || return 1
	chown "$PG_USER:" "$dir" "$dir/run" "$dir/log" || return 1
	chmod 700 "$dir/run"
}

# pg_conf DIR NAME ADDR PORT: this instance's own settings, appended (last wins).
pg_conf() {
	local dir=$1 name=$2 addr=$3 port=$4
	cat >>"$dir/data/postgresql.conf" <<-EOF
	# helios test instance $name
	listen_addresses = '$addr'
	port = $port
	unix_socket_directories = '$dir/run'
	cluster_name = '$name'
	fsync = off
	synchronous_commit = off
	full_page_writes = off
	shared_buffers = 16MB
	max_connections = 40
	max_wal_senders = 10
	max_replication_slots = 10
	wal_level = replica
	hot_standby = on
	logging_collector = off
	EOF
}

# pg_init_primary DIR NS ADDR PORT
pg_init_primary() {
	local dir=$1 ns=$2 addr=$3 port=$4 name
	name=$(basename "$dir")
	pg_mkdirs "$dir" || return 1
	printf 'PG_NS=%q\nPG_ADDR=%q\nPG_PORT=%q\n' "$ns" "${addr%%,*}" "$port" >"$dir/pg.env"
	if ! pg_as "$PG_BIN/initdb" -D "$dir/data" -U "$PG_USER" -A trust -N \
		>"$dir/log/initdb.log" 2>&1; then
		echo "pg: initdb of $dir failed:" >&2
		cat "$dir/log/initdb.log" >&2
		return 1
	fi
	pg_conf "$dir" "$name" "$addr" "$port"
	cat >>"$dir/data/pg_hba.conf" <<-EOF
	host all all 198.18.0.0/15 trust
	host all all fd00::/8 trust
	host replication all 198.18.0.0/15 trust
	host replication all fd00::/8 trust
	EOF
}

# pg_init_standby DIR NS ADDR PORT PRIMARY_DIR SLOT: a base backup of the
# running primary (-R -X stream -C -S SLOT), taken from inside NS.
pg_init_standby() {
	local dir=$1 ns=$2 addr=$3 port=$4 pdir=$5 slot=$6 name
	name=$(basename "$dir")
	pg_mkdirs "$dir" || return 1
	printf 'PG_NS=%q\nPG_ADDR=%q\nPG_PORT=%q\n' "$ns" "${addr%%,*}" "$port" >"$dir/pg.env"
	(
		pg_env "$pdir"
		ip netns exec "$ns" runuser -u "$PG_USER" -- \
			"$PG_BIN/pg_basebackup" -h "$PG_ADDR" -p "$PG_PORT" -U "$PG_USER" \
			-D "$dir/data" -R -X stream -C -S "$slot" -c fast -N \
			>"$dir/log/basebackup.log" 2>&1
	) || {
		echo "pg: pg_basebackup into $dir failed:" >&2
		cat "$dir/log/basebackup.log" >&2
		return 1
	}
	pg_conf "$dir" "$name" "$addr" "$port"
}

# pg_start DIR: start inside its namespace and wait until it accepts connections.
pg_start() {
	local dir=$1
	(
		pg_env "$dir"
		cd / && ip netns exec "$PG_NS" runuser -u "$PG_USER" -- \
			"$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log/server.log" \
			-w -t "$PG_WAIT_S" start >/dev/null 2>&1 3>&-
	) || {
		echo "pg: $dir did not start:" >&2
		tail -n 20 "$dir/log/server.log" >&2
		return 1
	}
}

# pg_alive PID: runs, and is not a zombie waiting for a slow reaper.
pg_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# pg_pid DIR: the postmaster's PID, if it runs.
pg_pid() {
	local pid
	[ -f "$1/data/postmaster.pid" ] || return 1
	read -r pid <"$1/data/postmaster.pid" || return 1
	[ -n "$pid" ] && pg_alive "$pid" && echo "$pid"
}

# pg_stop DIR: immediate stop; the postmaster is killed by its PID if
# pg_ctl could not stop it.
pg_stop() {
	local dir=$1 pid i
	pid=$(pg_pid "$dir") || return 0
	# -W and our own finer poll: pg_ctl's wait is much slower
	pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -W stop >/dev/null 2>&1
	for ((i = 0; i < 200; i++)); do
		pg_alive "$pid" || return 0
		[ $i -eq 100 ] && kill -KILL "$pid" 2>/dev/null
		sleep 0.02
	done
	echo "pg: postmaster $pid of $dir does not stop" >&2
	return 1
}

# pg_sql DIR SQL: run SQL over the instance's unix socket, unaligned output.
pg_sql() {
	local dir=$1
	(
		pg_env "$dir"
		"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/run" -p "$PG_PORT" \
			-U "$PG_USER" -d postgres -Atc "$2"
	)
}

# pg_wait_until DIR SQL: poll until SQL answers 't' (bounded by PG_WAIT_S).
pg_wait_until() {
	local dir=$1 sql=$2 i
	for ((i = 0; i < PG_WAIT_S * 10; i++)); do
		[ "$(pg_sql "$dir" "$sql" 2>/dev/null)" = t ] && return 0
		sleep 0.1
	done
	echo "pg: timed out waiting on $dir for: $sql" >&2
	return 1
}

# pg_wait_streaming PRIMARY_DIR SLOT: the standby on SLOT streams.
pg_wait_streaming() {
	pg_wait_until "$1" "SELECT EXISTS (SELECT 1 FROM pg_stat_replication r
		JOIN pg_replication_slots s ON s.active_pid = r.pid
		WHERE s.slot_name = '$2' AND r.state = 'streaming')"
}

# pg_base_destroy BASE: stop every instance under BASE, remove it all.
pg_base_destroy() {
	local base=$1 d pids=()
	[ -n "$base" ] && [ -d "$base" ] || return 0
	for d in "$base"/*/; do
		[ -f "$d/pg.env" ] || continue
		pg_stop "${d%/}" &
		pids+=($!)
	done
	# only these: a bare `wait` would also wait for the caller's servers
	[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
	rm -rf "$base"
}
