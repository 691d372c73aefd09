#!/bin/bash
# A holder locked their card with three wrong PINs. At the desk the
# operator types the institution PUK (wrong twice: the card says how many
# tries are left), the holder types a new PIN; key and certificate stay
# and verify says OK with the new PIN, not the old one. A second holder
# gets a random PIN for a letter. A lost card, a card the journal never
# issued and a card holding someone else's certificate are refused before
# any APDU that changes them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

AID=F276A288BCFBA69D34F31001
NEWPIN=97531864
cs_download --people 3 --seed 13
R0=$(tb_reader 0)
R1=$(tb_reader 1)
hexof() { od -An -tx1 -v | tr -d ' \n'; }

cs_issued_card 0 "$WORK/a.card" 4D0001 1 0001 --trace "$WORK/a.trace"
A_NAME=$NAME
CHIP_A=$CHIP

cs_issued_card 1 "$WORK/b.card" 4D0002 2 0002 --trace "$WORK/b.trace"
CHIP_B=$CHIP

# changes TRACE FROM: APDUs after line FROM of a cardsim trace that change
# a card (CHANGE REFERENCE DATA, RESET RETRY COUNTER, GENERATE, PUT DATA,
# CREATE/DELETE FILE, UPDATE BINARY).
changes() {
	tail -n +"$(($2 + 1))" "$1" | awk '$2 == ">" {print substr($3, 3, 2)}' |
		grep -cE '^(24|2C|46|DB|E0|E4|D6)$' || true
}
pin_reset() {
	RC=0
	"$CS_BIN" card pin-reset "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || RC=$?
}

# --- the holder blocks the PIN ---
for i in 1 2 3; do
	opensc-tool -r "$R0" -s 00A404000C$AID -s 0020000108$(printf 11112222 | hexof) \
		>/dev/null 2>&1 || true
done
cs_verify "$R0"
want_reason pin-blocked "three wrong PINs"

# --- a wrong PUK: the card's own count of tries ---
CS_PUK=fedcba9876543210 CS_NEW=$NEWPIN pin_reset --reader "$R0" \
	--puk env:CS_PUK --new-pin env:CS_NEW
[ "$RC" = 2 ] || fail "a wrong PUK: exit $RC"
grep -q "Wrong PUK. 4 tries left" "$WORK/err.txt" ||
	{ cat "$WORK/err.txt"; fail "a wrong PUK does not say the card's 4 tries left"; }
CS_PUK=fedcba9876543210 CS_NEW=$NEWPIN pin_reset --reader "$R0" \
	--puk env:CS_PUK --new-pin env:CS_NEW
grep -q "Wrong PUK. 3 tries left" "$WORK/err.txt" ||
	{ cat "$WORK/err.txt"; fail "a second wrong PUK does not say 3 tries left"; }
cs_verify "$R0"
want_reason pin-blocked "a wrong PUK changed the PIN"
[ "$(tb_sql "SELECT count(*) FROM events
	WHERE kind = 'card.pin-reset-refused'")" = 2 ] || fail "wrong PUKs not journaled"

# --- the right PUK, the holder's new PIN ---
CS_PUK=$PUK CS_NEW=$NEWPIN pin_reset --reader "$R0" --puk env:CS_PUK \
	--new-pin env:CS_NEW
[ "$RC" = 0 ] || { cat "$WORK/err.txt"; fail "pin-reset: exit $RC"; }
grep -q "$A_NAME" "$WORK/err.txt" || fail "the holder is not named"
! grep -q "$NEWPIN" "$WORK/out.txt" "$WORK/err.txt" || fail "the typed PIN was printed"
CS_PIN=$NEWPIN cs_verify "$R0" --pin env:CS_PIN
want_verdict OK "the new PIN"
want_reason key-ok "the key after the reset"
CS_PIN=$PIN cs_verify "$R0" --pin env:CS_PIN
want_verdict FAIL "the old PIN"
want_reason pin-refused "the old PIN"
CS_PIN=$NEWPIN cs_verify "$R0" --pin env:CS_PIN   # back to 3 tries
tb_sql "SELECT operator, detail FROM events
	WHERE kind = 'card.pin-reset'" >"$WORK/note.txt"
grep -q "^$(id -un)|.*PIN reset with the PUK for $A_NAME: new PIN typed by the holder" \
	"$WORK/note.txt" || { cat "$WORK/note.txt"; fail "the reset is not journaled with the operator"; }
! grep -q "$NEWPIN" "$WORK/note.txt" || fail "the PIN reached the journal"

# --- a random PIN for a letter, shown on the terminal only ---
CS_PUK=$PUK script -qec "$CS_BIN card pin-reset --reader '$R0' --puk env:CS_PUK" \
	/dev/null >"$WORK/tty.txt" 2>&1 || { cat "$WORK/tty.txt"; fail "random pin-reset"; }
RND=$(sed -n 's/.*new PIN: \([0-9]*\).*/\1/p' "$WORK/tty.txt")
[ -n "$RND" ] || { cat "$WORK/tty.txt"; fail "no PIN letter on the terminal"; }
CS_PIN=$RND cs_verify "$R0" --pin env:CS_PIN
want_verdict OK "the random PIN"
# Without a terminal (setsid: as under a service manager) there is nowhere
# to show it: refused before the card is touched.
RC=0
CS_PUK=$PUK setsid -w "$CS_BIN" card pin-reset --reader "$R0" --puk env:CS_PUK \
	</dev/null >"$WORK/out.txt" 2>&1 || RC=$?
[ "$RC" = 2 ] && grep -q "no.*terminal\|there is none" "$WORK/out.txt" ||
	{ cat "$WORK/out.txt"; fail "a random PIN without a terminal: exit $RC"; }
CS_PIN=$RND cs_verify "$R0" --pin env:CS_PIN
want_verdict OK "a refusal without a terminal changed the PIN"

# --- a lost card: refused untouched ---
"$CS_BIN" card lost --printed 0002 --admin-mail pki-admin@example.ac.jp \
	--out "$WORK/lost.tsv" 2>/dev/null
mark=$(wc -l <"$WORK/b.trace")
CS_PUK=$PUK CS_NEW=$NEWPIN pin_reset --reader "$R1" --puk env:CS_PUK \
	--new-pin env:CS_NEW
[ "$RC" = 2 ] || fail "a lost card: exit $RC"
grep -q "marked lost" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "not told the card is lost"; }
[ "$(changes "$WORK/b.trace" "$mark")" = 0 ] || fail "a lost card was changed"
CS_PIN=$PIN cs_verify "$R1" --pin env:CS_PIN
has_reason pin-refused && fail "the lost card's PIN changed"

# --- a card the journal never issued ---
tb_remove 1
tb_card_create "$WORK/c.card" 4D0003
tb_insert 1 "$WORK/c.card" --trace "$WORK/c.trace"
cs_write_card "$R1" "$WORK/p2.key" "$WORK/p2.crt"
mark=$(wc -l <"$WORK/c.trace")
CS_PUK=$PUK CS_NEW=$NEWPIN pin_reset --reader "$R1" --puk env:CS_PUK \
	--new-pin env:CS_NEW
[ "$RC" = 2 ] && grep -q "does not know this card" "$WORK/err.txt" ||
	{ cat "$WORK/err.txt"; fail "an unknown card: exit $RC"; }
[ "$(changes "$WORK/c.trace" "$mark")" = 0 ] || fail "an unknown card was changed"

# --- a card the journal issued to person 3, holding person 1's certificate
# (live on card A) ---
tb_remove 1
tb_card_create "$WORK/d.card" 4D0004
tb_insert 1 "$WORK/d.card" --trace "$WORK/d.trace"
cs_write_card "$R1" "$WORK/p1.key" "$WORK/p1.crt"
CHIP_D=$(cs_chip "$R1")
cs_person 3
"$FIXTURE" "$CARDSTATION_JOURNAL" issue "$CHIP_D" "$SERIAL" "$NAME" "$MAIL" "$DN" 0004
mark=$(wc -l <"$WORK/d.trace")
CS_PUK=$PUK CS_NEW=$NEWPIN pin_reset --reader "$R1" --puk env:CS_PUK \
	--new-pin env:CS_NEW
[ "$RC" = 2 ] || { cat "$WORK/err.txt"; fail "another card's certificate: exit $RC"; }
grep -q "is live on another card ($CHIP_A)" "$WORK/err.txt" ||
	{ cat "$WORK/err.txt"; fail "not told the certificate is card A's"; }
[ "$(changes "$WORK/d.trace" "$mark")" = 0 ] ||
	fail "a card with another card's certificate was changed"
"$CS_BIN" log check >/dev/null || fail "log check after the PIN resets"
echo "verify pin-reset ok"
