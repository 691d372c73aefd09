#!/bin/bash
# A PIN or PUK typed at the terminal: Ctrl-C at the prompt cancels the
# command with a sentence, and the terminal is left as it was (echo on,
# signals on). Before, Ctrl-C killed the station with echo still off.
# The terminal is a real pseudo-terminal (util-linux's script). The
# journal (tb_journal's: a file, or the tests' PostgreSQL server with
# CS_TEST_JOURNAL=pg) is left as it was.
set -euo pipefail
: "${CS_BIN:?}" "${CS_SRC:?}"
source "$CS_SRC/tests/testbed/journal.sh"
W=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null || true; rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; sed 's/^/  | /' "$W/out" >&2; exit 1; }
tb_journal "$W"
# The journal's events, as a count and the last id (a SQLite journal not
# made yet has none).
events() {
	case $CARDSTATION_JOURNAL in
	postgresql://*) ;;
	*) [ -e "$CARDSTATION_JOURNAL" ] || { echo "0 0"; return; } ;;
	esac
	tb_sql "SELECT count(*) || ' ' || coalesce(max(id), 0) FROM events"
}
before=$(events)

# Lines of the terminal's output, as they come: a real condition to wait
# for, with a timeout that only turns a hang into a failure.
wait_for() {
	timeout 30 bash -c 'exec 3< <(tail -n +1 -f "$0"); t=$!
		grep -m1 -E -- "$1" <&3 >/dev/null; r=$?; kill $t; exit $r' \
		"$W/out" "$1" || fail "the terminal never showed: $1"
}

mkfifo "$W/in"
: >"$W/out"
script -qefc "'$CS_BIN' card returned \
	--reader 0 --puk prompt; echo rc=\$?; stty -a; echo end" /dev/null \
	<"$W/in" >"$W/out" 2>&1 &
exec 3>"$W/in"
# The prompt ends without a newline: wait for its bytes.
prompt='institution PUK: '
got=$(timeout 30 bash -c 'exec 3< <(tail -c +1 -f "$0"); t=$!
	head -c "$1" <&3; kill $t' "$W/out" "${#prompt}") ||
	fail "the terminal never showed the prompt"
[ "$got" = "$prompt" ] || fail "the prompt is not '$prompt': '$got'"
printf '\003' >&3
wait_for '^end'
exec 3>&-
grep -q 'PUK was not given (cancelled)' "$W/out" || fail "no sentence for the cancel"
grep -q '^rc=2' "$W/out" || fail "the command did not end with exit 2"
tr -d '\r' <"$W/out" | grep -qE '(^| )isig( |$)' || fail "signals left off"
tr -d '\r' <"$W/out" | grep -qE '(^| )echo( |$)' || fail "echo left off"
[ "$(events)" = "$before" ] || fail "the cancel journaled something: $before, then $(events) events"
echo "PASS: prompt"
