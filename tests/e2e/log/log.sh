#!/bin/bash
# log.sh - `cardstation log` as the service desk uses it, on a journal made
# through the engine (log_mkjournal: five people, one refused, one redone
# after a card error, one interrupted by a stop, one name CP932 lacks).
#   1. list all; search by holder, mail, serial, chip, printed number, run
#   2. CSV (RFC 4180), CP932 CSV (𠮷 written as 〓 and reported), JSON
#   3. log check: intact; then rows edited behind the station's back (with
#      the sqlite3 CLI on a copy of the file, or psql on a copy of the
#      database) are named, an edited event and a deleted event are named
# The journal is tb_journal's: a file, or a database of its own on the
# tests' PostgreSQL server with CS_TEST_JOURNAL=pg.
set -euo pipefail
: "${CS_BIN:?}" "${CS_MKJOURNAL:?}" "${CS_SRC:?}"
for t in sqlite3 jq; do
	command -v $t >/dev/null || { echo "needs $t (tests/setup.sh)" >&2; exit 1; }
done
source "$CS_SRC/tests/testbed/journal.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tb_journal "$tmp/station"
J=$CARDSTATION_JOURNAL
pg=0
case $J in postgresql://*) pg=1 ;; esac
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
expect() { # WHAT REGEX FILE
	if grep -qE -- "$2" "$3"; then ok "$1"
	else bad "$1: no /$2/ in"; cat "$3"; fi
}
expect_not() { # WHAT REGEX FILE
	if grep -qE -- "$2" "$3"; then bad "$1: /$2/ in"; cat "$3"
	else ok "$1"; fi
}
expect_rc() { # WHAT WANT GOT
	if [ "$2" = "$3" ]; then ok "$1 (exit $3)"; else bad "$1: exit $3, want $2"; fi
}
expect_lines() { # WHAT N FILE
	local n; n=$(wc -l <"$3")
	if [ "$n" -eq "$2" ]; then ok "$1 ($n lines)"
	else bad "$1: $n lines, want $2"; cat "$3"; fi
}
log() { "$CS_BIN" log --journal "$J" "$@"; }

"$CS_MKJOURNAL" "$J"
if [ $pg = 1 ]; then
	echo "skip: the journal file's and its folder's modes (a server's journal has no file here)"
else
	[ "$(stat -c %a "$J")" = 600 ] && ok "journal file is 0600" || bad "journal mode $(stat -c %a "$J")"
	[ "$(stat -c %a "$(dirname "$J")")" = 700 ] && ok "journal directory is 0700" ||
		bad "directory mode $(stat -c %a "$(dirname "$J")")"
fi

echo "== 1. list and search"
rc=0; log >"$tmp/all" || rc=$?
expect_rc "list" 0 $rc
expect_lines "five issuances, the refused record has none" 5 "$tmp/all"
expect "128-bit serial intact" 'verified +髙﨑 花子 <takasaki@example.ac.jp>	cert 123456789012345678901234567890123456789	chip 0A0B0C0D0E0F1011	printed P-0001	reader Reader A	operator office-1' "$tmp/all"
expect "a failed card says why" 'failed +KOKURITSU TARO .*reason card memory error \(6581\)' "$tmp/all"
expect "the card being written at the stop is interrupted" 'interrupted 山田 .*printed P-0004' "$tmp/all"
expect "the redo was on reader B" 'verified +KOKURITSU TARO .*chip 0A0B0C0D0E0F3033	printed P-0003	reader Reader B' "$tmp/all"

log --holder 髙﨑 >"$tmp/h"
expect_lines "holder substring" 1 "$tmp/h"
log --holder kokuritsu >"$tmp/h2"
expect_lines "holder, ASCII case ignored: both cards" 2 "$tmp/h2"
log --mail TARO.KOKURITSU@EXAMPLE.AC.JP >"$tmp/m"
expect_lines "mail, case ignored" 2 "$tmp/m"
log --serial 000123456789012345678901234567890123456789 >"$tmp/s"
expect_lines "serial with leading zeros" 1 "$tmp/s"
expect "serial finds 髙﨑" '髙﨑 花子' "$tmp/s"
log --chip 0a0b0c0d0e0f3033 >"$tmp/c"
expect_lines "chip serial, hex case ignored" 1 "$tmp/c"
log --printed P-0004 >"$tmp/p"
expect "printed number" '^5	.*山田' "$tmp/p"
log --live --holder kokuritsu >"$tmp/l"
expect_lines "--live leaves out the failed card" 1 "$tmp/l"
rc=0; log --run 2 >"$tmp/r" 2>"$tmp/r.err" || rc=$?
expect_rc "no match is not an error" 0 $rc
expect "no match is said" 'no issuance matches' "$tmp/r.err"
rc=0; CARDSTATION_JOURNAL=$J "$CS_BIN" log --holder 田 >"$tmp/env" || rc=$?
expect_rc "CARDSTATION_JOURNAL names the journal" 0 $rc
expect_lines "two holders with 田" 2 "$tmp/env"
rc=0; "$CS_BIN" log --journal "$tmp/none.db" 2>"$tmp/none.err" || rc=$?
expect_rc "a missing journal" 2 $rc
expect "and says where" "no journal at $tmp/none.db" "$tmp/none.err"
[ ! -e "$tmp/none.db" ] && ok "looking does not create a journal" || bad "none.db created"
if [ $pg = 1 ]; then
	# On the server: a database with no journal in it.
	none=$("$CS_PGTEST" createdb "$CS_PG_DIR" "$(tb_sql "SELECT current_database()")_none")
	rc=0; "$CS_BIN" log --journal "$none" 2>"$tmp/none.err" || rc=$?
	expect_rc "a database with no journal" 2 $rc
	expect "says so, and what to do" 'has no tables yet: create them with `cardstation journal init`' "$tmp/none.err"
	[ "$(CARDSTATION_JOURNAL=$none tb_sql "SELECT count(*) FROM information_schema.tables
		WHERE table_schema = 'public'")" = 0 ] &&
		ok "looking does not make its tables" || bad "log made tables in an empty database"
fi

echo "== 2. export"
rc=0; log --csv >"$tmp/csv" || rc=$?
expect_rc "CSV" 0 $rc
expect "CSV header, CRLF" $'^issuance,run,record,card,holder,mail,cert_serial,chip_serial,pkcs15_serial,printed_no,reader,operator,started,finished,outcome,reason\r$' "$tmp/csv"
expect "quotes doubled, field with comma quoted" $'^5,1,3,5,"山田 ""Yamada, Jr.""",yamada@example.ac.jp,3001,0A0B0C0D0E0F4044,' "$tmp/csv"
expect "reason with no comma stays bare" $',failed,card memory error \\(6581\\)\r$' "$tmp/csv"
[ "$(grep -c $'\r$' "$tmp/csv")" = 6 ] && ok "every line ends CRLF" || bad "CRLF count"

rc=0; log --csv-cp932 >"$tmp/sjis" 2>"$tmp/sjis.err" || rc=$?
expect_rc "CP932 with a replaced character says so" 1 $rc
expect "the row and column are named" 'issuance 4, holder "𠮷田 太郎": characters with no CP932 form written as 〓' "$tmp/sjis.err"
iconv -f CP932 -t UTF-8 <"$tmp/sjis" >"$tmp/sjis.utf8" && ok "CP932 output decodes" || bad "CP932 does not decode"
expect "髙﨑 in CP932 (IBM extensions)" '^1,1,1,1,髙﨑 花子,' "$tmp/sjis.utf8"
expect "𠮷 became 〓" '^4,1,5,4,〓田 太郎,' "$tmp/sjis.utf8"
# 髙 is FB FC and 﨑 FA B1 in CP932: the bytes themselves.
if od -An -tx1 -v "$tmp/sjis" | tr -d ' \n' | grep -q 'fbfcfab1'; then ok "髙﨑 as FB FC FA B1"
else bad "髙﨑 bytes"; fi
log --csv-cp932 --holder KOKURITSU >/dev/null && ok "CP932 with nothing to replace exits 0" ||
	bad "CP932 exit for plain rows"

rc=0; log --json >"$tmp/json" || rc=$?
expect_rc "JSON" 0 $rc
n=$(jq length "$tmp/json")
[ "$n" = 5 ] && ok "JSON is an array of 5" || bad "JSON array length '$n'"
s=$(jq -r '.[0].cert_serial' "$tmp/json")
[ "$s" = 123456789012345678901234567890123456789 ] && ok "JSON serial is an exact string" || bad "JSON serial '$s'"
h=$(jq -r '.[4].holder' "$tmp/json")
[ "$h" = '山田 "Yamada, Jr."' ] && ok "JSON holder escaped and read back" || bad "JSON holder '$h'"

echo "== 3. log check"
rc=0; log check >"$tmp/chk" || rc=$?
expect_rc "an untouched journal" 0 $rc
expect "is intact" 'intact: [0-9]+ events, 16 rows match their events' "$tmp/chk"
expect "and shows the head hash" '^head hash [0-9a-f]{64}$' "$tmp/chk"

# edited NAME SQL: a copy of the journal, edited behind the station's back
# with its backend's own tool; $E names the copy. SQLite: a copy of the file
# (the WAL was checkpointed when the writer closed). PostgreSQL: a copy of
# the database (CREATE DATABASE ... TEMPLATE: nobody is connected to it
# now; made from the server's own database postgres), edited with psql.
edited() {
	if [ $pg = 1 ]; then
		local db=${J#postgresql:///}
		db=${db%%\?*}
		"$CS_PGTEST" psql "$CS_PG_DIR" postgres \
			-c "CREATE DATABASE ${db}_$1 TEMPLATE $db" >/dev/null
		E=$("$CS_PGTEST" uri "$CS_PG_DIR" "${db}_$1")
	else
		E=$tmp/$1.db
		cp "$J" "$E"
	fi
	CARDSTATION_JOURNAL=$E tb_sql "$2"
}

edited a "UPDATE records SET holder = 'SOMEONE ELSE' WHERE id = 2"
rc=0; "$CS_BIN" log check --journal "$E" >"$tmp/a" || rc=$?
expect_rc "a records row edited behind the station's back" 1 $rc
expect "is named: table, row, column" '^TAMPERED records row 2 column holder' "$tmp/a"

edited b "UPDATE issuances SET outcome = 'verified' WHERE id = 5"
rc=0; "$CS_BIN" log check --journal "$E" --json >"$tmp/b" || rc=$?
expect_rc "an issuance outcome edited" 1 $rc
expect "is named in JSON" '"table":"issuances","row":5,"column":"outcome"' "$tmp/b"
expect "intact false" '"intact":false' "$tmp/b"

edited c "UPDATE events SET detail = replace(detail, 'P-0002', 'P-0009') WHERE kind = 'card.add' AND detail LIKE '%P-0002%'"
rc=0; "$CS_BIN" log check --journal "$E" >"$tmp/c" || rc=$?
expect_rc "an event's detail edited" 1 $rc
expect "the event is named" '^TAMPERED events row [0-9]+: event [0-9]+ \(card.add\) was edited' "$tmp/c"

edited d "DELETE FROM events WHERE id = 3"
rc=0; "$CS_BIN" log check --journal "$E" >"$tmp/d" || rc=$?
expect_rc "an event deleted" 1 $rc
expect "the gap is named" '^TAMPERED events row 3: event 3 is missing \(deleted\)' "$tmp/d"

edited e "UPDATE cards SET state = 'blank' WHERE printed_no = 'P-0001'"
rc=0; "$CS_BIN" log check --journal "$E" >"$tmp/e" || rc=$?
expect_rc "a card's state edited" 1 $rc
expect "is named" '^TAMPERED cards row 1 column state' "$tmp/e"
expect_not "and nothing else" '^TAMPERED (events|records|issuances)' "$tmp/e"

# The journal itself, edited in place: named too, and set right again.
was=$(tb_sql "SELECT mail FROM records WHERE id = 3")
tb_sql "UPDATE records SET mail = 'someone@example.org' WHERE id = 3"
rc=0; log check >"$tmp/f" || rc=$?
expect_rc "the journal itself edited" 1 $rc
expect "is named" '^TAMPERED records row 3 column mail' "$tmp/f"
tb_sql "UPDATE records SET mail = '$was' WHERE id = 3"
rc=0; log check >"$tmp/g" || rc=$?
expect_rc "set right again, it is intact" 0 $rc

exit $fail
