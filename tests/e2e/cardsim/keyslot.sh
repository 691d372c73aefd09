#!/bin/bash
# Key references as the IsoApplet keeps them (IsoApplet.java,
# processManageSecurityEnvironment, processGenerateAsymmetricKeypair,
# processGetResponse, processResetRetryCounter), in raw APDUs: the status
# words and security conditions a returned card's wipe relies on. MSE SET
# tells a held key (9000 RSA, 6984 another type) from an empty reference
# (6F00); GENERATE into a held reference replaces its key; the PUK counts
# down from 5 and says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export OPENSC_CONF=$(cs_opensc_conf isoapplet)

SEL=00A404000CF276A288BCFBA69D34F31001
VER=0020000106$(printf %s "$PIN" | od -An -tx1 -v | tr -d ' \n')
tb_card_create "$WORK/card.img" 03
tb_insert 0 "$WORK/card.img"
R=$(tb_reader 0)
cs_make_p12 rsa "$WORK/rsa.p12"
cs_personalise "$R" "$WORK/rsa.p12" >/dev/null 2>&1
openssl x509 -in "$WORK/rsa.crt" -pubkey -noout >"$WORK/old.pub"

# sws APDU...: one session; the status words in order, space separated.
# The last APDU's answer data (hex, GET RESPONSE parts joined by OpenSC)
# in $WORK/data.
sws() {
	local args=() a
	for a in "$@"; do args+=(-s "$a"); done
	opensc-tool -r "$R" "${args[@]}" >"$WORK/raw.txt" 2>&1 || true
	awk -v n=$# '/^Sending:/ {k++; next} /^Received/ {next}
	     k == n {print substr($0, 1, 47)}' "$WORK/raw.txt" | tr -d ' \n' >"$WORK/data"
	grep -o 'SW1=0x[0-9A-F]*, SW2=0x[0-9A-F]*' "$WORK/raw.txt" |
		sed 's/SW1=0x\(..\), SW2=0x\(..\)/\1\2/' | tr '\n' ' ' | sed 's/ $//'
}
want() {
	local got=$1 exp=$2
	[ "$got" = "$exp" ] || { cat "$WORK/raw.txt" >&2; fail "$3: $got, want $exp"; }
}

MSE_SIGN=002241B6068001118401   # + reference: RSA PKCS#1 signature
MSE_GEN=00224100068001F38401     # + reference: RSA-2048 generation
GEN=0046420000

# Security conditions: nothing without VERIFY.
want "$(sws $SEL ${MSE_SIGN}00)" "9000 6982" "MSE before VERIFY"
want "$(sws $SEL $GEN)" "9000 6982" "GENERATE before VERIFY"
# Which references hold a key.
want "$(sws $SEL $VER ${MSE_SIGN}00 ${MSE_SIGN}05 ${MSE_SIGN}10)" \
	"9000 9000 9000 6F00 6984" "MSE SET: held, empty, out of range"
# References are Java bytes: 80-FE are negative indexes (6F00), FF is the
# applet's "none" (-1: 6984); for generation any negative one is 6984.
want "$(sws $SEL $VER ${MSE_SIGN}80 ${MSE_SIGN}FF ${MSE_GEN}80)" \
	"9000 9000 6F00 6984 6984" "MSE SET: negative references"
want "$(sws $SEL $VER 002241B606800121840100)" "9000 9000 6984" \
	"ECDSA on an RSA key"
want "$(sws $SEL $VER ${MSE_GEN}00 0046000000)" "9000 9000 9000 6A86" \
	"GENERATE RSA with P1 00"

# GENERATE into reference 0 replaces the key: the answer is the new public
# key (7F49 of 265 bytes: 81 with the 256-byte modulus, 82 with 010001),
# 256 bytes then 14 by GET RESPONSE (OpenSC fetches them: 9000 at the end).
want "$(sws $SEL $VER ${MSE_GEN}00 $GEN)" "9000 9000 9000 9000" "GENERATE"
D=$(tr a-f A-F <"$WORK/data")
[ "${#D}" = 540 ] || fail "GENERATE answered $((${#D} / 2)) bytes, want 270"
[ "${D:0:18}" = 7F4982010981820100 ] && [ "${D:530}" = 8203010001 ] ||
	fail "GENERATE's answer is not a 7F49 public key: ${D:0:18}...${D:530}"
printf 'asn1=SEQUENCE:k\n[k]\nn=INTEGER:0x%s\ne=INTEGER:0x010001\n' "${D:18:512}" \
	>"$WORK/pub.cnf"
openssl asn1parse -genconf "$WORK/pub.cnf" -out "$WORK/pub.der" >/dev/null
openssl rsa -RSAPublicKey_in -pubin -inform DER -in "$WORK/pub.der" -pubout \
	-out "$WORK/new.pub" 2>/dev/null

printf 'a message' >"$WORK/msg"
DI=3031300d060960864801650304020105000420$(openssl dgst -sha256 -binary "$WORK/msg" |
	od -An -tx1 -v | tr -d ' \n')
sign_check() {
	want "$(sws $SEL $VER ${MSE_SIGN}00 002A9E9A33${DI}00)" "9000 9000 9000 9000" \
		"signing with reference 0 ($1)"
	xxd -r -p "$WORK/data" >"$WORK/sig"
	openssl dgst -sha256 -verify "$WORK/new.pub" -signature "$WORK/sig" "$WORK/msg" \
		>/dev/null 2>&1 || fail "reference 0 does not sign with the new key ($1)"
	! openssl dgst -sha256 -verify "$WORK/old.pub" -signature "$WORK/sig" \
		"$WORK/msg" >/dev/null 2>&1 || fail "reference 0 still signs with the old key ($1)"
}
sign_check "after GENERATE"
# The new key is in EEPROM: a new cardsim process with the image has it.
tb_remove 0
tb_insert 0 "$WORK/card.img"
sign_check "reloaded image"

# The PUK: 5 tries, counted down by the card (63C4 after the first wrong).
BADPUK=$(printf fedcba9876543210 | od -An -tx1 -v | tr -d ' \n')
NEWPIN=$(printf 654321 | od -An -tx1 -v | tr -d ' \n')
want "$(sws $SEL 002C000116$BADPUK$NEWPIN 002C000116$BADPUK$NEWPIN)" \
	"9000 63C4 63C3" "wrong PUKs"
want "$(sws $SEL $VER)" "9000 9000" "a wrong PUK changed the PIN"
echo "keyslot ok"
