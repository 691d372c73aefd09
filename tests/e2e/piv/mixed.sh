#!/bin/bash
# One run, two readers, two card families: an IsoApplet JavaCard and a PIV
# token are each written with their own profile (chosen by the card), and
# each is judged by OpenSC's tools: pkcs15-tool reads the certificate the
# journal bound to it, pkcs11-tool signs, OpenSSL verifies. The run gives
# each profile its own institution PUK (--puk PROFILE=env:VAR): 16 hex
# characters for the IsoApplet, 8 digits for PIV; each card takes its own,
# proved by the card (a raw RESET RETRY COUNTER on the IsoApplet,
# yubico-piv-tool's unblock-pin on the token). A PUK that does not suit its
# profile is refused at run start, naming the profile, before any card is
# touched.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${CS_BIN:?}" "${UPKIGEN:?}"

RUN=$(piv_run_new b 2 1)
tb_card_create "$WORK/iso.card" 0A
tb_card_create "$WORK/piv.card" 00BC614E --applet piv
tb_insert 0 "$WORK/iso.card"
tb_insert 1 "$WORK/piv.card"
ISO_PUK=0f1e2d3c4b5a6978
PIV_PUK=86420975
NEWPIN=97531864

# Swapped, each PUK is of the other profile's kind: refused at start.
rc=0
CS_ISO=$PIV_PUK CS_PIVPUK=$ISO_PUK timeout 60 "$CS_BIN" encode --run "$RUN" \
	--reader 0 --reader 1 --pin env:CS_PIN --puk isoapplet=env:CS_ISO \
	--puk piv=env:CS_PIVPUK --operator tester --until-done </dev/null \
	>"$OUT" 2>&1 || rc=$?
[ "$rc" = 2 ] || failo "PUKs of the wrong kind: exit $rc"
grep -q "PUK for card profile isoapplet: the PUK must be exactly 16" "$OUT" ||
	failo "the unfit PUK's profile is not named"
[ "$(tb_sql "SELECT count(*) FROM issuances")" = 0 ] || failo "a card was touched"

CS_ISO=$ISO_PUK CS_PIVPUK=$PIV_PUK timeout 180 "$CS_BIN" encode --run "$RUN" \
	--reader 0 --reader 1 --pin env:CS_PIN --puk isoapplet=env:CS_ISO \
	--puk piv=env:CS_PIVPUK --operator tester --until-done </dev/null \
	>"$OUT" 2>&1 || failo "encode failed"
! grep -qe "$ISO_PUK" -e "$PIV_PUK" "$OUT" || failo "a PUK was printed"
[ "$(tb_sql "SELECT c.chip_serial || '=' || c.model FROM cards c
	JOIN issuances i ON i.card_id = c.id WHERE i.outcome = 'verified'
	ORDER BY c.model" | paste -sd ' ')" = "4790-5040-0000000A=isoapplet YK-12345678=piv" ] ||
	failo "not each card with its own profile: $(tb_sql "SELECT chip_serial, model FROM cards")"

for slot in 0 1; do
	r=$(tb_reader $slot)
	chip=$([ $slot = 0 ] && echo 4790-5040-0000000A || echo YK-12345678)
	want=$(tb_sql "SELECT i.cert_serial FROM issuances i JOIN cards c ON c.id = i.card_id
		WHERE c.chip_serial = '$chip' AND i.outcome = 'verified'")
	pkcs15-tool -r "$r" --read-certificate 01 >"$WORK/cert$slot.pem" 2>/dev/null ||
		fail "slot $slot: no certificate"
	got=$(openssl x509 -in "$WORK/cert$slot.pem" -noout -serial | sed 's/^serial=//')
	[ "$(printf 'ibase=16; %s\n' "$got" | BC_LINE_LENGTH=0 bc)" = "$want" ] ||
		fail "slot $slot holds certificate $got, the journal says $want"
	openssl x509 -in "$WORK/cert$slot.pem" -pubkey -noout >"$WORK/pub$slot.pem"
	head -c 64 /dev/urandom >"$WORK/challenge"
	pkcs11-tool --module "$P11" --slot-description "$r" --login --pin env:CS_PIN \
		--sign -m SHA256-RSA-PKCS --id 01 -i "$WORK/challenge" -o "$WORK/sig" \
		>/dev/null 2>&1 || fail "slot $slot does not sign"
	openssl dgst -sha256 -verify "$WORK/pub$slot.pem" -signature "$WORK/sig" \
		"$WORK/challenge" | grep -q "Verified OK" || fail "slot $slot: bad signature"
done
yubico-piv-tool -r "$(tb_reader 1)" -a status 2>&1 | grep -A1 "^Slot 9a:" |
	grep -q RSA2048 || fail "yubico-piv-tool sees no key in 9a"

# Each card took its own profile's PUK: the IsoApplet sets a new PIN with
# ISO_PUK (RESET RETRY COUNTER, then VERIFY of the new PIN)...
hex() { printf %s "$1" | od -An -tx1 -v | tr -d ' \n'; }
R=$(tb_reader 0)
LC=$(printf %02X $((16 + ${#NEWPIN})))
PLC=$(printf %02X ${#NEWPIN})
[ "$(piv_sw 00A404000CF276A288BCFBA69D34F31001 \
	"002C0001$LC$(hex "$ISO_PUK")$(hex "$NEWPIN")" \
	"00200001$PLC$(hex "$NEWPIN")" | tr '\n' ' ')" = "9000 9000 9000 " ] ||
	fail "the IsoApplet card does not take its PUK"
# ... the PIV token refuses the factory PUK and takes PIV_PUK.
R=$(tb_reader 1)
! yubico-piv-tool -r "$R" -a unblock-pin -P "$PUK" -N "$NEWPIN" >/dev/null 2>&1 ||
	fail "the PIV token kept its factory PUK"
yubico-piv-tool -r "$R" -a unblock-pin -P "$PIV_PUK" -N "$NEWPIN" >/dev/null 2>&1 ||
	fail "the PIV token does not take its PUK"
yubico-piv-tool -r "$R" -a verify-pin -P "$NEWPIN" >/dev/null 2>&1 ||
	fail "the PIV token's new PIN is refused"
piv_log_check
echo "mixed ok"
