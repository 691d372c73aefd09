#!/bin/bash
# A PIV card that loses a write without noticing (cardsim --lose-write:
# 9000, nothing stored) is caught by the station's own reading back. A
# JavaCard PIV applet without a card manager is given an identity, which
# lives only in its CHUID's GUID: the CHUID goes first and is read back
# before any of the record's key; a card that lost it is refused (the
# reason names the CHUID), holds nothing of the record (yubico-piv-tool:
# no key in 9a), and since no card can ever come back with that identity,
# the journal retires it and the record goes back free. Put in again
# without the fault, the same card is written as a new one, under a new
# identity, and the run ends with every record done.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${CS_BIN:?}" "${UPKIGEN:?}"

# Which of this card model's writes is the CHUID's PUT DATA, counted as
# cardsim counts them (PIV commands that change the card): from the trace
# of one card written without a fault, in a journal of its own (a file in
# cal/, or a fresh database on the server, emptied again after).
mkdir -p "$WORK/cal"
tb_journal "$WORK/cal"
RUN0=$(piv_run_new cal 1 3)
tb_card_create "$WORK/cal.card" 0E0F1012 --applet piv-generic
tb_insert 0 "$WORK/cal.card" --runtime jcardsim --trace "$WORK/cal.trace"
piv_encode "$RUN0"
tb_remove 0
N=$(awk '$2 == ">" { if (substr($3, 3, 2) ~ /^(20|24|2C|47|DB|FA|FB|FE|FF)$/) w++
	if ($3 ~ /^00DB3FFF..5C035FC102/) { print w; exit } }' "$WORK/cal.trace")
[ -n "$N" ] || fail "no CHUID write in the calibration card's trace"

tb_journal "$WORK"
RUN=$(piv_run_new b 1 1)
tb_card_create "$WORK/bare.card" 0E0F1011 --applet piv-generic
R=$(tb_reader 0)
wait_for() { # PATTERN: the station's output says it
	# shellcheck disable=SC2016 # the inner shell expands them
	timeout 60 bash -c 'exec 3< <(tail -n +1 -f "$0"); t=$!
		grep -m1 -E -- "$1" <&3 >/dev/null; r=$?; kill $t; exit $r' "$OUT" "$1" ||
		failo "the station never said: $1"
}
: >"$OUT"
"$CS_BIN" encode --run "$RUN" --reader 0 --pin env:CS_PIN --puk env:CS_PUK \
	--operator tester --until-done </dev/null >>"$OUT" 2>&1 &
ENC=$!
wait_for '^\[0\] waiting'
tb_insert 0 "$WORK/bare.card" --runtime jcardsim --lose-write "$N" \
	--trace "$WORK/bad.trace"
wait_for 'FAILED'
grep -q "CHUID is not the one written" "$OUT" || failo "the lost CHUID is not the reason"
lost=$(awk -v n="$N" '$2 == ">" && substr($3, 3, 2) ~ /^(20|24|2C|47|DB|FA|FB|FE|FF)$/ &&
	++w == n { print $3 }' "$WORK/bad.trace")
[[ "$lost" =~ ^00DB3FFF..5C035FC102 ]] || fail "write $N of the faulty card was not its CHUID: $lost"
grep -q "^[0-9.]* > ..FE" "$WORK/bad.trace" && fail "a key was imported after the CHUID was lost"
yubico-piv-tool -r "$R" -a status >"$WORK/status" 2>&1 || true
grep -q "^Slot 9a" "$WORK/status" && fail "the card holds a key: $(cat "$WORK/status")"
id1=$(tb_sql "SELECT chip_serial FROM cards")
[ "$(tb_sql "SELECT state FROM cards")" = retired ] || failo "the card that lost its identity is not retired"
[ "$(tb_sql "SELECT state, pending_card_id FROM records")" = "queued|" ] ||
	failo "the record does not go back free: $(tb_sql "SELECT * FROM records")"

# The same card again, without the fault: a new card to the station.
tb_remove 0
tb_insert 0 "$WORK/bare.card" --runtime jcardsim
wait_for 'DONE .* on card CA-'
wait "$ENC" || failo "encode --until-done did not end well"
id2=$(sed -n 's/.*DONE .* on card \(CA-[0-9A-F-]*\).*/\1/p' "$OUT")
if [ -z "$id2" ] || [ "$id2" = "$id1" ]; then
	failo "the card was not written under a new identity ($id1, $id2)"
fi
yubico-piv-tool -r "$R" -a status >"$WORK/status" 2>&1 || fail "status"
grep -A1 "^Slot 9a:" "$WORK/status" | grep -q RSA2048 || fail "no key in 9a: $(cat "$WORK/status")"
grep -qi "^CHUID:.*6373504956696401$(tr -d '-' <<<"$id2" | tr A-F a-f)" "$WORK/status" ||
	fail "the CHUID does not carry $id2: $(grep CHUID "$WORK/status")"
piv_log_check
echo "check ok"
