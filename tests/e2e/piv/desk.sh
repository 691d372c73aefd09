#!/bin/bash
# The service desk on a PIV token written by the station: a forgotten PIN
# is reset with the institution PUK (a wrong PUK costs one of the card's
# tries and changes nothing); a returned card keeps no usable key (its PIN
# and PUK blocked, then RESET: the factory state, judged by
# yubico-piv-tool), and the next run writes it for another holder.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${CS_BIN:?}" "${UPKIGEN:?}"

RUN=$(piv_run_new b 1 1)
tb_card_create "$WORK/piv.card" 00BC614E --applet piv
tb_insert 0 "$WORK/piv.card"
R=$(tb_reader 0)
yk() { yubico-piv-tool -r "$R" "$@" >/dev/null 2>&1; }
piv_encode "$RUN"
grep -q "DONE .* on card YK-12345678" "$OUT" || failo "not encoded"

# PIN reset: a wrong PUK first (refused, the PIN unchanged), then the
# institution's.
export CS_BADPUK=99999999 CS_NEWPIN=135790
"$CS_BIN" card pin-reset --reader "$R" --puk env:CS_BADPUK --new-pin env:CS_NEWPIN \
	>"$WORK/reset.bad" 2>&1 && fail "pin-reset with a wrong PUK succeeded"
yk -a verify-pin -P "$CS_PIN" || fail "a refused PIN reset changed the PIN"
"$CS_BIN" card pin-reset --reader "$R" --puk env:CS_PUK --new-pin env:CS_NEWPIN \
	>"$WORK/reset.out" 2>&1 || { cat "$WORK/reset.out" >&2; fail "pin-reset"; }
yk -a verify-pin -P "$CS_PIN" && fail "the old PIN still works"
pkcs15-tool -r "$R" --read-certificate 01 >"$WORK/cert.pem" 2>/dev/null || fail "certificate gone"
yubico-piv-tool -r "$R" -a verify-pin -P "$CS_NEWPIN" -a test-signature -s 9a \
	<"$WORK/cert.pem" >"$WORK/ts" 2>&1 || fail "the new PIN does not sign: $(cat "$WORK/ts")"

# Returned: the card keeps no key; it is a factory token again.
"$CS_BIN" card returned --reader "$R" --puk env:CS_PUK --already-revoked \
	>"$WORK/returned.out" 2>&1 || { cat "$WORK/returned.out" >&2; fail "card returned"; }
yubico-piv-tool -r "$R" -a status >"$WORK/status" 2>&1 || fail "status"
grep -q "^Slot 9a:" "$WORK/status" && fail "9a still holds a certificate: $(cat "$WORK/status")"
grep -q "^CHUID:	No data available" "$WORK/status" || fail "the CHUID survived the wipe"
yk -a verify-pin -P "$CS_NEWPIN" && fail "the holder's PIN survived the wipe"
yk -a verify-pin -P "$PIN" || fail "a wiped token should have the default PIN"
yk -a set-ccc || fail "a wiped token should take the default management key"
# The key itself: GENERAL AUTHENTICATE with 9a answers "no key" (6A80).
opensc-tool -r "$R" -s 00A4040005$PIV_AID -s 0020008008313233343536FFFF \
	-s 0087079A067C0482008100 2>&1 | grep -q "SW1=0x6A, SW2=0x80" ||
	fail "slot 9a still answers GENERAL AUTHENTICATE"
[ "$(tb_sql "SELECT state FROM cards")" = returned ] || fail "the journal does not say returned"

# The next run writes the returned card for another holder.
RUN2=$(piv_run_new b2 1 2)
piv_encode "$RUN2"
grep -q "DONE .* on card YK-12345678" "$OUT" || failo "the returned card was not written again"
piv_log_check
echo "desk ok"
