#!/bin/bash
# doctor.sh - `cardstation doctor` on a journal on PostgreSQL: the server
# answers, the schema version, and the clock skew between this station and
# the server, the station's clock moved with libfaketime (the server's
# stays true: it is another process).
set -euo pipefail
: "${CS_BIN:?}" "${CS_PG_URI:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
expect() { # WHAT REGEX FILE
	if grep -qE -- "$2" "$3"; then ok "$1"; else bad "$1: no /$2/ in"; cat "$3"; fi
}
# Only the journal's checks: pcscd (a gate) ends the walk.
doctor() { "$CS_BIN" doctor --journal "$CS_PG_URI" --skip clock,journal,setup,pcscd "$@"; }
lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 | head -n 1)
[ -n "$lib" ] || { echo "libfaketime is not installed (tests/setup.sh)" >&2; exit 1; }
skewed() { # OFFSET ARGS...
	local off=$1
	shift
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		LD_PRELOAD=$lib FAKETIME=$off doctor "$@"
}

rc=0; doctor --json >"$tmp/empty" || rc=$?
[ $rc = 1 ] && ok "an empty database is a finding (exit 1)" || bad "exit $rc"
expect "the server answers" '"check":"journal-server","severity":"ok","what":"the journal server answers \(PostgreSQL 15' "$tmp/empty"
expect "no journal there, and what to do" '"severity":"fail","what":"the database holds no journal.*journal init' "$tmp/empty"

"$CS_BIN" journal init --journal "$CS_PG_URI" >/dev/null
rc=0; doctor --json >"$tmp/fine" || rc=$?
[ $rc = 0 ] && ok "all well (exit 0)" || { bad "exit $rc"; cat "$tmp/fine"; }
expect "schema version" '"severity":"ok","what":"journal schema version 3"' "$tmp/fine"
expect "clocks agree" '"severity":"ok","what":"clocks agree with the journal server within 0\.[0-9] s' "$tmp/fine"

rc=0; skewed +10m >"$tmp/ahead" || rc=$?
[ $rc = 1 ] && ok "ten minutes ahead (exit 1)" || bad "exit $rc"
expect "is a failure naming the skew" "FAIL +journal-server this station's clock is 600\.[0-9] s ahead of the journal server's" "$tmp/ahead"
expect "and what to do" "timedatectl set-ntp true" "$tmp/ahead"
rc=0; skewed -5s >"$tmp/behind" || rc=$?
expect "five seconds behind is a warning" "WARN +journal-server this station's clock is [45]\.[0-9] s behind" "$tmp/behind"

rc=0; "$CS_BIN" doctor --journal "postgresql:///nothing?host=$tmp/nosocket" \
	--skip clock,journal,setup,pcscd >"$tmp/down" || rc=$?
[ $rc = 1 ] && ok "no server (exit 1)" || bad "exit $rc"
expect "says it cannot connect" "FAIL +journal-server .*cannot connect to the journal server" "$tmp/down"
exit $fail
