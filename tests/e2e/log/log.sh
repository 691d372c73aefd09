#!/bin/bash
# log.sh - `cardstation log` as the service desk uses it, on a journal made
# through the engine (log_mkjournal: five people, one refused, one redone
# after a card error, one interrupted by a stop, one name CP932 lacks).
#   1. list all; search by holder, mail, serial, chip, printed number, run
#   2. CSV (RFC 4180), CP932 CSV (𠮷 written as 〓 and reported), JSON
#   3. log check: intact; then a row edited with the sqlite3 CLI is named,
#      an edited event and a deleted event are named
set -euo pipefail
: "${CS_BIN:?}" "${CS_MKJOURNAL:?}"
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (tests/setup.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
J=$tmp/station/journal.db
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
[ "$(stat -c %a "$J")" = 600 ] && ok "journal file is 0600" || bad "journal mode $(stat -c %a "$J")"
[ "$(stat -c %a "$(dirname "$J")")" = 700 ] && ok "journal directory is 0700" ||
	bad "directory mode $(stat -c %a "$(dirname "$J")")"

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
n=$(sqlite3 :memory: "SELECT json_array_length(readfile('$tmp/json'))")
[ "$n" = 5 ] && ok "JSON is an array of 5" || bad "JSON array length '$n'"
s=$(sqlite3 :memory: "SELECT json_extract(readfile('$tmp/json'), '\$[0].cert_serial')")
[ "$s" = 123456789012345678901234567890123456789 ] && ok "JSON serial is an exact string" || bad "JSON serial '$s'"
h=$(sqlite3 :memory: "SELECT json_extract(readfile('$tmp/json'), '\$[4].holder')")
[ "$h" = '山田 "Yamada, Jr."' ] && ok "JSON holder escaped and read back" || bad "JSON holder '$h'"

echo "== 3. log check"
rc=0; log check >"$tmp/chk" || rc=$?
expect_rc "an untouched journal" 0 $rc
expect "is intact" 'intact: [0-9]+ events, 16 rows match their events' "$tmp/chk"
expect "and shows the head hash" '^head hash [0-9a-f]{64}$' "$tmp/chk"

cp "$J" "$tmp/a.db"   # the WAL was checkpointed when the writer closed
sqlite3 "$tmp/a.db" "UPDATE records SET holder = 'SOMEONE ELSE' WHERE id = 2"
rc=0; "$CS_BIN" log check --journal "$tmp/a.db" >"$tmp/a" || rc=$?
expect_rc "a records row edited with sqlite3" 1 $rc
expect "is named: table, row, column" '^TAMPERED records row 2 column holder' "$tmp/a"

cp "$J" "$tmp/b.db"
sqlite3 "$tmp/b.db" "UPDATE issuances SET outcome = 'verified' WHERE id = 5"
rc=0; "$CS_BIN" log check --journal "$tmp/b.db" --json >"$tmp/b" || rc=$?
expect_rc "an issuance outcome edited" 1 $rc
expect "is named in JSON" '"table":"issuances","row":5,"column":"outcome"' "$tmp/b"
expect "intact false" '"intact":false' "$tmp/b"

cp "$J" "$tmp/c.db"
sqlite3 "$tmp/c.db" "UPDATE events SET detail = replace(detail, 'P-0002', 'P-0009') WHERE kind = 'card.add' AND detail LIKE '%P-0002%'"
rc=0; "$CS_BIN" log check --journal "$tmp/c.db" >"$tmp/c" || rc=$?
expect_rc "an event's detail edited" 1 $rc
expect "the event is named" '^TAMPERED events row [0-9]+: event [0-9]+ \(card.add\) was edited' "$tmp/c"

cp "$J" "$tmp/d.db"
sqlite3 "$tmp/d.db" "DELETE FROM events WHERE id = 3"
rc=0; "$CS_BIN" log check --journal "$tmp/d.db" >"$tmp/d" || rc=$?
expect_rc "an event deleted" 1 $rc
expect "the gap is named" '^TAMPERED events row 3: event 3 is missing \(deleted\)' "$tmp/d"

cp "$J" "$tmp/e.db"
sqlite3 "$tmp/e.db" "UPDATE cards SET state = 'blank' WHERE printed_no = 'P-0001'"
rc=0; "$CS_BIN" log check --journal "$tmp/e.db" >"$tmp/e" || rc=$?
expect_rc "a card's state edited" 1 $rc
expect "is named" '^TAMPERED cards row 1 column state' "$tmp/e"
expect_not "and nothing else" '^TAMPERED (events|records|issuances)' "$tmp/e"

exit $fail
