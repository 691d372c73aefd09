#!/bin/bash
# own-server.sh PGTEST DIR NAME -- COMMAND... - COMMAND with a PostgreSQL
# test server of its own in DIR (pgtest.sh), so that restarting it cuts no
# other test's sessions: the database NAME, its URI in $CS_PG_URI, the
# server's directory in $CS_PG_DIR. COMMAND (in the test bench's PID
# namespace, where pg_ctl cannot see the server) asks for a restart
# through two FIFOs in $CS_PG_CTL: write a line to req, read ok from ack
# (pg_restart below does). The server is stopped and DIR removed
# afterwards, whatever COMMAND did.
set -euo pipefail
pgtest=$1 dir=$2 name=$3
shift 3
[ "${1:-}" = -- ] && shift
ctl=$(mktemp -d)
mkfifo "$ctl/req" "$ctl/ack"
"$pgtest" start "$dir" >/dev/null
(
	while read -r _ <"$ctl/req"; do
		if "$pgtest" restart "$dir" >&2; then echo ok; else echo failed; fi >"$ctl/ack"
	done
) &
helper=$!
trap 'kill "$helper" 2>/dev/null || true; "$pgtest" stop "$dir" 2>/dev/null || rm -rf "$dir"; rm -rf "$ctl"' EXIT
export CS_PG_CTL=$ctl
"$pgtest" with-db "$dir" "$name" -- "$@"
