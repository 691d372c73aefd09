#!/bin/bash
# A holder reports a lost card: the desk names it by holder (and is asked
# which card when there are several), then by printed number, and gets the
# UPKI revocation request, byte for byte what the service takes, while the
# journal marks certificate and card. Another card comes back: the PUK
# resets its PIN, its keys are overwritten, its PKCS#15 application is
# erased and the journal says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ADMIN=pki-admin@example.ac.jp
cs_download --people 3 --seed 11
R0=$(tb_reader 0)
R1=$(tb_reader 1)

cs_issued_card 0 "$WORK/a.card" 4B0001 1 0001
A_SERIAL=$SERIAL A_NAME=$NAME A_MAIL=$MAIL A_DN=$DN
CHIP_A=$CHIP

cs_issued_card 1 "$WORK/b.card" 4B0002 2 0002
CHIP_B=$CHIP

# Person 1 also holds a second card (a second certificate, e.g. S/MIME).
cs_person 3
"$FIXTURE" "$CARDSTATION_JOURNAL" issue 4790-5040-004B0003 "$SERIAL" "$A_NAME" \
	"$A_MAIL" "$DN" 0003

# --- lost ---
RC=0
"$CS_BIN" card lost --holder "$A_NAME" --admin-mail "$ADMIN" \
	>"$WORK/out.tsv" 2>"$WORK/err.txt" || RC=$?
[ "$RC" = 2 ] || fail "a holder with two cards: exit $RC"
grep -q 0001 "$WORK/err.txt" && grep -q 0003 "$WORK/err.txt" ||
	{ cat "$WORK/err.txt"; fail "both cards should be listed"; }
[ ! -s "$WORK/out.tsv" ] || fail "a request was written for an ambiguous holder"

RC=0
"$CS_BIN" card lost --printed 0001 --admin-mail "$ADMIN" --reason 0 2>/dev/null || RC=$?
[ "$RC" = 2 ] || fail "reason 0 without a comment: exit $RC"

# A dry run writes the request and leaves the journal alone.
"$CS_BIN" card lost --printed 0001 --admin-mail "$ADMIN" --dry-run \
	--out "$WORK/dry.tsv" 2>/dev/null
"$CS_BIN" log --chip "$CHIP_A" --live --json | jq -e 'length == 1' >/dev/null ||
	fail "a dry run changed the journal"

"$CS_BIN" card lost --printed 0001 --admin-mail "$ADMIN" --out "$WORK/lost.tsv"
# What the service takes: DN, serial, reason 1, admin and user mail in
# columns 1, 4, 5, 10 and 14 of 15; CP932; CRLF.
printf '%s\t\t\t%s\t1\t\t\t\t\t%s\t\t\t\t%s\t\r\n' "$A_DN" "$A_SERIAL" \
	"$ADMIN" "$A_MAIL" | iconv -f UTF-8 -t CP932 >"$WORK/want.tsv"
cmp "$WORK/lost.tsv" "$WORK/want.tsv" ||
	{ od -c "$WORK/lost.tsv" | head; fail "the request is not the expected bytes"; }
cmp "$WORK/dry.tsv" "$WORK/want.tsv" || fail "the dry run wrote other bytes"
[ ! -e "$WORK/lost.tsv.tmp" ] || fail "a temporary file was left"

"$CS_BIN" log --chip "$CHIP_A" --json >"$WORK/log.json"
[ "$(jq -r '.[0].outcome' "$WORK/log.json")" = revoked ] ||
	fail "the issuance is not revoked"
cs_verify "$R0"
[ "$RC" = 2 ] || fail "a lost card that turns up: exit $RC"
want_reason card-lost "lost card"
RC=0
"$CS_BIN" card lost --printed 0001 --admin-mail "$ADMIN" >/dev/null 2>&1 || RC=$?
[ "$RC" = 2 ] || fail "losing a card twice: exit $RC"
# The holder's other card is still live.
"$CS_BIN" log --printed 0003 --live --json | jq -e 'length == 1' >/dev/null ||
	fail "the holder's other card was touched"
"$CS_BIN" log check >/dev/null || fail "log check after card lost"

# --- returned ---
# Person 2's certificate was revoked by the office before the card came
# back (tests/e2e/verify/returned.sh has the request made at the desk).
RC=0
CS_PUK=fedcba9876543210 "$CS_BIN" card returned --reader "$R1" \
	--puk env:CS_PUK --already-revoked 2>"$WORK/err.txt" || RC=$?
[ "$RC" = 2 ] || fail "a wrong PUK: exit $RC"
grep -q "wrong PUK" "$WORK/err.txt" || fail "a wrong PUK is not named"
cs_verify "$R1"
[ "$(jq -r .verdict "$WORK/v.json")" != FAIL ] ||
	fail "a wrong PUK changed the card"

CS_PUK=$PUK "$CS_BIN" card returned --reader "$R1" --puk env:CS_PUK --already-revoked
cs_verify "$R1"
[ "$RC" = 2 ] || fail "a wiped card: exit $RC"
want_reason no-pkcs15 "wiped card"
[ "$(jq -r .pin_tries "$WORK/v.json")" = 3 ] || fail "PIN tries after the reset"
"$CS_BIN" log --chip "$CHIP_B" --json >"$WORK/log.json"
[ "$(jq -r '.[0].outcome' "$WORK/log.json")" = wiped ] ||
	fail "the issuance is not wiped"
tb_sql "SELECT state FROM cards WHERE chip_serial = '$CHIP_B'" |
	grep -qx returned || fail "the card is not journaled returned"
# The holder's PIN is gone: the card refuses it (63C2: two tries left).
opensc-tool -r "$R1" -s 00A404000CF276A288BCFBA69D34F31001 \
	-s 0020000106313233343536 2>&1 | grep -q "SW1=0x63, SW2=0xC2" ||
	fail "the old PIN still opens the card"
"$CS_BIN" log check >/dev/null || fail "log check after card returned"
echo "verify lost/returned ok"
