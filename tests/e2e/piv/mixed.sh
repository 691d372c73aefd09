#!/bin/bash
# One run, two readers, two card families: an IsoApplet JavaCard and a PIV
# token are each written with their own profile (chosen by the card), and
# each is judged by OpenSC's tools: pkcs15-tool reads the certificate the
# journal bound to it, pkcs11-tool signs, OpenSSL verifies. The run has no
# institution PUK: each card gets a random PUK of its own profile's kind.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${CS_BIN:?}" "${UPKIGEN:?}"

RUN=$(piv_run_new b 2 1)
tb_card_create "$WORK/iso.card" 0A
tb_card_create "$WORK/piv.card" 00BC614E --applet piv
tb_insert 0 "$WORK/iso.card"
tb_insert 1 "$WORK/piv.card"
timeout 180 "$CS_BIN" encode --run "$RUN" --reader 0 --reader 1 --pin env:CS_PIN \
	--operator tester --until-done </dev/null >"$OUT" 2>&1 || failo "encode failed"
[ "$(sql "SELECT group_concat(c.chip_serial || '=' || c.model, ' ') FROM cards c
	JOIN issuances i ON i.card_id = c.id WHERE i.outcome = 'verified'
	ORDER BY c.model")" = "4790-5040-0000000A=isoapplet YK-12345678=piv" ] ||
	failo "not each card with its own profile: $(sql "SELECT chip_serial, model FROM cards")"

for slot in 0 1; do
	r=$(tb_reader $slot)
	chip=$([ $slot = 0 ] && echo 4790-5040-0000000A || echo YK-12345678)
	want=$(sql "SELECT i.cert_serial FROM issuances i JOIN cards c ON c.id = i.card_id
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
echo "mixed ok"
