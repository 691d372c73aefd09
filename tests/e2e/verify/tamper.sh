#!/bin/bash
# The service desk checks cards, and every kind of tampering is caught: a
# good card passes (with its key proven by a signature), then another
# holder's certificate, a key that does not match its certificate, an
# expired certificate, a card the journal never saw, a CA that is not
# ours and a journal row edited to bind the certificate to another card.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

cs_download --people 5 --seed 7 --break expired@3
R0=$(tb_reader 0)
R1=$(tb_reader 1)
PHANTOM=4790-5040-00DEAD01

# Card A: person 1, written and bound as the encode run would.
cs_issued_card 0 "$WORK/a.card" 4A0001 1 0001
P1_SERIAL=$SERIAL P1_NAME=$NAME
CHIP_A=$CHIP

cs_verify "$R0"
[ "$RC" = 0 ] || fail "good card without PIN: exit $RC"
want_verdict OK "good card without PIN"
want_reason key-untested "good card without PIN"
[ "$(jq -r '.certificates[0].holder' "$WORK/v.json")" = "$P1_NAME" ] ||
	fail "holder not reported"
[ "$(jq -r '.certificates[0].bound' "$WORK/v.json")" = this-card ] ||
	fail "binding not reported"
[ "$(jq -r '.pin_tries' "$WORK/v.json")" = 3 ] || fail "PIN tries not 3"

CS_PIN=$PIN cs_verify "$R0" --pin env:CS_PIN
[ "$RC" = 0 ] || fail "good card with PIN: exit $RC"
[ "$(jq -r '.certificates[0].signature' "$WORK/v.json")" = verified ] ||
	fail "the card's signature was not verified"
[ "$(jq -r '.uses["tls1.2-client-auth"]' "$WORK/v.json")" = true ] ||
	fail "TLS 1.2 client auth should work"
[ "$(jq -r '.uses["tls1.3-client-auth"]' "$WORK/v.json")" = false ] ||
	fail "TLS 1.3 needs RSA-PSS, which the applet lacks"

# A mistyped PIN is a FAIL now and a WARN (tries left) afterwards.
CS_PIN=999999 cs_verify "$R0" --pin env:CS_PIN
[ "$RC" = 2 ] || fail "wrong PIN: exit $RC"
want_reason pin-refused "wrong PIN"
cs_verify "$R0"
[ "$RC" = 1 ] || fail "after a wrong PIN: exit $RC"
want_reason pin-mistyped "after a wrong PIN"
[ "$(jq -r '.pin_tries' "$WORK/v.json")" = 2 ] || fail "PIN tries not 2"
CS_PIN=$PIN cs_verify "$R0" --pin env:CS_PIN
[ "$RC" = 0 ] || fail "right PIN after a wrong one: exit $RC"

# Not our CA: the chain is broken.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/other.key" \
	-subj "/CN=Some Other CA" -days 30 -out "$WORK/other.pem" 2>/dev/null
RC=0
"$CS_BIN" verify --reader "$R0" --ca "$WORK/other.pem" --json >"$WORK/v.json" || RC=$?
[ "$RC" = 2 ] || fail "foreign CA: exit $RC"
want_reason chain "foreign CA"

# Card K: person 2's certificate beside a key that is not its key.
tb_card_create "$WORK/k.card" 4A0002
tb_insert 1 "$WORK/k.card"
cs_person 2
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out "$WORK/stranger.key" 2>/dev/null
cs_write_card "$R1" "$WORK/stranger.key" "$WORK/p2.crt"
CHIP_K=$(cs_chip "$R1")
"$FIXTURE" "$CARDSTATION_JOURNAL" issue "$CHIP_K" "$SERIAL" "$NAME" "$MAIL" "$DN" 0002
CS_PIN=$PIN cs_verify "$R1" --pin env:CS_PIN
[ "$RC" = 2 ] || fail "key mismatch: exit $RC"
want_reason key-mismatch "key mismatch"
[ "$(jq -r '.certificates[0].signature' "$WORK/v.json")" = failed ] ||
	fail "key mismatch: the signature should have failed"

# Card E: person 3, whose certificate has expired.
tb_card_create "$WORK/e.card" 4A0003
tb_swap 1 "$WORK/e.card"
cs_person 3
cs_write_card "$R1" "$WORK/p3.key" "$WORK/p3.crt"
"$FIXTURE" "$CARDSTATION_JOURNAL" issue "$(cs_chip "$R1")" "$SERIAL" "$NAME" "$MAIL" "$DN" 0003
cs_verify "$R1"
[ "$RC" = 2 ] || fail "expired: exit $RC"
want_reason cert-expired "expired"

# Card B is person 5's in the journal, but holds person 4's certificate
# and key; the journal bound person 4 to another card.
cs_person 4
P4_SERIAL=$SERIAL
"$FIXTURE" "$CARDSTATION_JOURNAL" issue "$PHANTOM" "$SERIAL" "$NAME" "$MAIL" "$DN" 0004
tb_card_create "$WORK/b.card" 4A0005
tb_swap 1 "$WORK/b.card"
cs_write_card "$R1" "$WORK/p4.key" "$WORK/p4.crt"
cs_person 5
"$FIXTURE" "$CARDSTATION_JOURNAL" issue "$(cs_chip "$R1")" "$SERIAL" "$NAME" "$MAIL" "$DN" 0005
CS_PIN=$PIN cs_verify "$R1" --pin env:CS_PIN
[ "$RC" = 2 ] || fail "another holder's certificate: exit $RC"
want_reason not-bound-card "another holder's certificate"
want_reason bound-cert-missing "another holder's certificate"
[ "$(jq -r '.certificates[0].bound_chip' "$WORK/v.json")" = "$PHANTOM" ] ||
	fail "the card the journal bound is not named"

# Card U: never journaled, holding person 1's certificate again.
tb_card_create "$WORK/u.card" 4A0099
tb_swap 1 "$WORK/u.card"
cs_write_card "$R1" "$WORK/p1.key" "$WORK/p1.crt"
cs_verify "$R1"
[ "$RC" = 2 ] || fail "unknown card: exit $RC"
want_reason card-unknown "unknown card"
{ "$CS_BIN" verify --reader "$R1" || true; } >"$WORK/v.txt"
grep -q "unknown card" "$WORK/v.txt" ||
	fail "the text report does not say the card is unknown"

# An edited journal row: person 1's issuance moved to the phantom card,
# behind the station's back (sqlite3 or psql, as the journal is).
tb_sql "UPDATE issuances SET card_id =
	(SELECT id FROM cards WHERE chip_serial = '$PHANTOM')
	WHERE cert_serial = '$P1_SERIAL'"
cs_verify "$R0"
[ "$RC" = 2 ] || fail "edited journal: exit $RC"
want_reason not-bound-card "edited journal"
RC=0
"$CS_BIN" log check >"$WORK/check.txt" 2>&1 || RC=$?
[ "$RC" = 1 ] || { cat "$WORK/check.txt"; fail "log check: exit $RC, want 1"; }
grep -qE '^TAMPERED issuances row [0-9]+ column card_id' "$WORK/check.txt" ||
	{ cat "$WORK/check.txt"; fail "log check does not name the issuance's card"; }
echo "verify tamper ok"
