#!/bin/bash
# doctor.sh - `cardstation doctor` against a private pcscd (run inside
# tests/testbed/testbed --readers 2): the operator's story.
#   1. two empty readers: all fine, exit 0
#   2. a cardsim card in reader 0: seen, OpenSC names its driver
#   3. another program holds the card exclusively: named, exit 1
# The journal is tb_journal's: a file (doctor judges its disk), or a
# database on the tests' PostgreSQL server with CS_TEST_JOURNAL=pg (doctor
# judges the server: it answers, the schema version, the clocks).
set -euo pipefail
source "$TB_LIB"
here=$(cd "$(dirname "$0")" && pwd)
: "${CS_BIN:?}" "${CS_HOLD:?}"
tb_journal "$TB_DIR"
doctor() { "$CS_BIN" doctor --journal "$CARDSTATION_JOURNAL" \
	--profiles "$CS_SRC/cardprofiles" --skip setup "$@"; }
fail=0
expect() { # WHAT REGEX FILE
	if grep -qE -- "$2" "$3"; then echo "ok: $1"
	else echo "FAIL: $1: no /$2/ in"; cat "$3"; fail=1; fi
}
expect_not() { # WHAT REGEX FILE
	if grep -qE -- "$2" "$3"; then echo "FAIL: $1: /$2/ in"; cat "$3"; fail=1
	else echo "ok: $1"; fi
}
expect_rc() { # WHAT WANT GOT
	if [ "$2" = "$3" ]; then echo "ok: $1 (exit $3)"
	else echo "FAIL: $1: exit $3, want $2"; fail=1; fi
}

echo "== 1. empty readers"
rc=0; doctor --json >"$TB_DIR/1.json" || rc=$?
expect_rc "empty readers are fine" 0 $rc
expect "pcscd running, version" '"check":"pcscd","severity":"ok","what":"pcscd [0-9.]+ running' "$TB_DIR/1.json"
expect "reader 0 empty" '"check":"readers","severity":"ok","what":"reader 0 .*no card' "$TB_DIR/1.json"
expect "reader 1 empty" '"check":"readers","severity":"ok","what":"reader 1 .*no card' "$TB_DIR/1.json"
case $CARDSTATION_JOURNAL in
postgresql://*)
	expect "the journal server answers" '"check":"journal-server","severity":"ok","what":"the journal server answers \(PostgreSQL 15' "$TB_DIR/1.json"
	expect "its schema version" '"check":"journal-server","severity":"ok","what":"journal schema version [0-9]+"' "$TB_DIR/1.json"
	expect "clocks agree" '"check":"journal-server","severity":"ok","what":"clocks agree with the journal server' "$TB_DIR/1.json"
	expect_not "no disk judged for a server's journal" '"check":"journal",' "$TB_DIR/1.json" ;;
*)
	expect "journal space" '"check":"journal","severity":"ok","what":"[0-9.]+ GiB free' "$TB_DIR/1.json"
	expect_not "no server judged for a file" '"check":"journal-server"' "$TB_DIR/1.json" ;;
esac
expect "OpenSC version" '"check":"opensc","severity":"ok","what":"OpenSC [0-9]' "$TB_DIR/1.json"
doctor >"$TB_DIR/1.txt" || true
expect "human output says so" '^All checks passed' "$TB_DIR/1.txt"

echo "== 2. a card in reader 0"
tb_card_create "$TB_DIR/a.card" 4A0001
tb_insert 0 "$TB_DIR/a.card"
rc=0; doctor --json >"$TB_DIR/2.json" || rc=$?
expect "card present with ATR" '"check":"readers","severity":"ok","what":"reader 0 .*card present, ATR [0-9A-F]+' "$TB_DIR/2.json"
expect "OpenSC names the driver" '"check":"opensc","severity":"(ok|warn)","what":"card in .*OpenSC driver isoApplet' "$TB_DIR/2.json"
expect "cardprofile matched" 'OpenSC driver isoApplet .*cardprofile isoapplet' "$TB_DIR/2.json"
expect_rc "a supported card is fine" 0 $rc

echo "== 3. the card held exclusively"
coproc HOLD { "$CS_HOLD" "$(tb_reader 0)"; }
read -r line <&"${HOLD[0]}"
[ "$line" = held ] || { echo "FAIL: cs_hold did not hold"; exit 1; }
rc=0; doctor --json --skip opensc >"$TB_DIR/3.json" || rc=$?
expect_rc "an exclusive holder is a failure" 1 $rc
expect "holder found" '"check":"readers","severity":"fail","what":"reader 0 .*holds the card exclusively' "$TB_DIR/3.json"
expect "holder named" 'exclusively.*cs_hold \(pid [0-9]+' "$TB_DIR/3.json"
expect "what to do" 'gpgconf --kill scdaemon' "$TB_DIR/3.json"
exec {HOLD[1]}>&-
wait "$HOLD_PID" || true
tb_remove 0

exit $fail
