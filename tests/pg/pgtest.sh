#!/bin/bash
# pgtest.sh - a PostgreSQL 15 server of the tests' own: Debian's
# postgresql-15 binaries, a cluster in a directory of the build tree, a Unix
# socket in that directory only (listen_addresses = ''), run as the
# unprivileged user nobody. Nothing is shared with a system server: not its
# data, not /run/postgresql, not its port's lock file.
#
#   pgtest.sh start DIR           a fresh cluster in DIR, started (pg_ctl -w)
#   pgtest.sh stop DIR            stop it (pg_ctl -w -m fast) and remove DIR
#   pgtest.sh restart DIR         stop and start it again (sessions are cut)
#   pgtest.sh createdb DIR NAME   a fresh, empty database NAME; prints its URI
#   pgtest.sh uri DIR NAME        the libpq URI of database NAME
#   pgtest.sh with-db DIR NAME -- COMMAND...
#                                 createdb, then COMMAND with CS_PG_URI set
#                                 to its URI (and CS_PG_DIR to DIR)
#   pgtest.sh psql DIR NAME [psql args]  psql on database NAME
#
# Authentication is peer on the socket, as docs/postgresql.md recommends
# for stations: the cluster's superuser role is cstest, and the Unix users
# that started it and that runs it (root and nobody) may log in as it
# (pg_ident.conf). No
# password anywhere. Databases are UTF8 with the C collation: bytewise
# order and ASCII-only case folding, what SQLite's BINARY and NOCASE do.
# No sleeps: pg_ctl -w waits for the server, pg_isready confirms it.
set -euo pipefail

PGBIN=${CS_PGBIN:-/usr/lib/postgresql/15/bin}
# As root (the tests): the server runs as nobody. As anyone else: as that
# user (PostgreSQL refuses to run as root, and only root may switch).
if [ "$(id -u)" = 0 ]; then RUNAS=${CS_PG_RUNAS:-nobody}; else RUNAS=$(id -un); fi
CLIENT=$(id -un)
ROLE=cstest

die() { echo "pgtest: $*" >&2; exit 2; }
[ $# -ge 2 ] || die "usage: pgtest.sh start|stop|createdb|uri|with-db|psql DIR [NAME]"
cmd=$1
dir=$2
shift 2
[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] ||
	die "no PostgreSQL 15 in $PGBIN: install postgresql-15 (tests/setup.sh)"
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
data=$dir/data
sock=$dir/sock

as_server() { # the server's own tools run as the unprivileged user
	if [ "$(id -un)" = "$RUNAS" ]; then "$@"; else runuser -u "$RUNAS" -- "$@"; fi
}

uri() { # NAME
	printf 'postgresql:///%s?host=%s&user=%s\n' "$1" "$sock" "$ROLE"
}

psql_admin() { # DB ARGS...: psql as the cluster's superuser over the socket
	local db=$1
	shift
	PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -U "$ROLE" -d "$db" "$@"
}

start() {
	# A server left by an aborted run in DIR is stopped first: every start
	# is a fresh cluster.
	if [ -f "$data/postmaster.pid" ]; then
		as_server "$PGBIN/pg_ctl" -D "$data" -w -m immediate stop >/dev/null 2>&1 || true
	fi
	# Only a directory this script made (or an empty or missing one) is
	# removed: a wrong DIR must never cost anyone a folder.
	if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/.pgtest" ]; then
		die "$dir is not empty and not a pgtest directory; name another"
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/.pgtest"
	# The server's user must reach DIR: every directory above it must be
	# searchable by others (a build tree under a 0700 home is not).
	local p=$dir
	while [ "$p" != / ]; do
		p=$(dirname "$p")
		as_server test -x "$p" || die "$RUNAS cannot enter $p; put the build tree where others may (chmod o+x $p)"
	done
	# The socket's path must fit sockaddr_un (107 bytes).
	[ ${#sock} -le 90 ] || die "socket directory $sock is too long for a Unix socket; use a shorter build path"
	[ "$RUNAS" = "$CLIENT" ] || chown "$RUNAS" "$dir"
	chmod 0700 "$dir"
	as_server mkdir -m 0700 "$sock"
	as_server "$PGBIN/initdb" -D "$data" -U "$ROLE" -E UTF8 --locale=C \
		--auth-local=peer --auth-host=reject >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	as_server tee -a "$data/postgresql.conf" >/dev/null <<EOF
# pgtest.sh: a Unix socket in the test's directory, no TCP at all.
listen_addresses = ''
unix_socket_directories = '$sock'
unix_socket_permissions = 0700
max_connections = 60
log_min_messages = warning
EOF
	# Peer authentication on the socket; root (the tests) and the server's
	# own user may act as the superuser role, nobody else.
	as_server tee "$data/pg_hba.conf" >/dev/null <<EOF
local all all peer map=cstest
EOF
	as_server tee "$data/pg_ident.conf" >/dev/null <<EOF
cstest $CLIENT $ROLE
cstest $RUNAS $ROLE
EOF
	as_server "$PGBIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
		{ cat "$dir/server.log" >&2; die "the server did not start"; }
	"$PGBIN/pg_isready" -q -h "$sock" -d postgres -U "$ROLE" ||
		die "the server started but does not answer on $sock"
	echo "pgtest: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on $sock"
}

stop() {
	[ ! -d "$dir" ] || [ -f "$dir/.pgtest" ] || die "$dir is not a pgtest directory"
	if [ -f "$data/postmaster.pid" ]; then
		as_server "$PGBIN/pg_ctl" -D "$data" -w -t 60 -m fast stop >/dev/null ||
			die "the server in $dir did not stop"
	fi
	rm -rf "$dir"
}

restart() { # the server goes away and comes back (pg_ctl -w), data kept
	[ -f "$data/postmaster.pid" ] || die "no test server running in $dir"
	as_server "$PGBIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 -m fast restart >/dev/null ||
		{ cat "$dir/server.log" >&2; die "the server did not restart"; }
	"$PGBIN/pg_isready" -q -h "$sock" -d postgres -U "$ROLE" ||
		die "the server restarted but does not answer on $sock"
}

createdb() { # NAME
	local name=$1
	[[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || die "database name '$name': lowercase letters, digits and _"
	[ -S "$sock/.s.PGSQL.5432" ] || die "no test server in $dir (pgtest.sh start $dir)"
	psql_admin postgres -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" \
		-c "CREATE DATABASE $name TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
	uri "$name"
}

case $cmd in
start) start ;;
stop) stop ;;
restart) restart ;;
createdb) [ $# -eq 1 ] || die "usage: pgtest.sh createdb DIR NAME"; createdb "$1" ;;
uri) [ $# -eq 1 ] || die "usage: pgtest.sh uri DIR NAME"; uri "$1" ;;
with-db)
	[ $# -ge 3 ] && [ "$2" = -- ] || die "usage: pgtest.sh with-db DIR NAME -- COMMAND..."
	name=$1
	shift 2
	CS_PG_URI=$(createdb "$name")
	export CS_PG_URI CS_PG_DIR=$dir
	exec "$@"
	;;
psql) [ $# -ge 1 ] || die "usage: pgtest.sh psql DIR NAME [ARGS]"; name=$1; shift; psql_admin "$name" "$@" ;;
*) die "unknown command $cmd" ;;
esac
