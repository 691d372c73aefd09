#!/bin/bash
# A card comes back while its certificate is still live. The desk asks for
# the certificate's revocation (reason affiliationChanged unless told
# otherwise) or the operator's word that it is revoked already; the PUK
# resets the PIN, the key slot is overwritten, the PKCS#15 application is
# erased. Then whoever holds the PUK tries the previous holder's key with
# raw APDUs, as an attacker with opensc-tool would: nothing the card
# returns verifies with that holder's certificate.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ADMIN=pki-admin@example.ac.jp
AID=F276A288BCFBA69D34F31001
cs_download --people 2 --seed 12
R0=$(tb_reader 0)
R1=$(tb_reader 1)

cs_issued_card 0 "$WORK/a.card" 4C0001 1 0001 --trace "$WORK/a.trace"
A_SERIAL=$SERIAL A_MAIL=$MAIL A_DN=$DN
CHIP_A=$CHIP

cs_issued_card 1 "$WORK/b.card" 4C0002 2 0002
CHIP_B=$CHIP

openssl x509 -in "$WORK/p1.crt" -pubkey -noout >"$WORK/p1.pub"
# Person 1's card also holds an EC P-256 key in a second key reference
# (an older or extra key): a return must leave neither.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$WORK/ec.key" 2>/dev/null
openssl pkey -in "$WORK/ec.key" -pubout -out "$WORK/ec.pub"
pkcs15-init -r "$R0" --store-private-key "$WORK/ec.key" --auth-id 01 --id 46 \
	--pin "$PIN" --label "extra EC key" >/dev/null
printf 'the previous holder signs this' >"$WORK/msg"
# PKCS#1 v1.5 DigestInfo of SHA-256(msg): what PSO signs for an RSA key.
DIGEST=3031300d060960864801650304020105000420$(openssl dgst -sha256 -binary \
	"$WORK/msg" | od -An -tx1 -v | tr -d ' \n')

hexof() { od -An -tx1 -v | tr -d ' \n'; }
PUKHEX=$(printf %s "$PUK" | hexof)

# apdus READER APDU...: one opensc-tool session. The status words, in
# order, go to SWS; the last APDU's answer data to $WORK/answer (empty
# when the card refused).
apdus() {
	local r=$1
	shift
	local args=() a
	for a in "$@"; do args+=(-s "$a"); done
	opensc-tool -r "$r" "${args[@]}" >"$WORK/raw.txt" 2>&1 || true
	mapfile -t SWS < <(grep -o 'SW1=0x[0-9A-F]*, SW2=0x[0-9A-F]*' "$WORK/raw.txt" |
		sed 's/SW1=0x\(..\), SW2=0x\(..\)/\1\2/')
	[ "${#SWS[@]}" = $# ] ||
		{ cat "$WORK/raw.txt" >&2; fail "opensc-tool answered ${#SWS[@]} of $# APDUs"; }
	awk -v n=$# '/^Sending:/ {k++; next} /^Received/ {next}
	     k == n {print substr($0, 1, 47)}' "$WORK/raw.txt" | xxd -r -p >"$WORK/answer"
}

# raw_sign READER PIN REF: SELECT the applet, RESET RETRY COUNTER with the
# PUK to PIN, VERIFY it, MSE SET (RSA PKCS#1, key REF), PSO COMPUTE DIGITAL
# SIGNATURE over DIGEST. The signature in $WORK/sig, its status in SIGSW.
raw_sign() {
	local r=$1 pin=$2 ref=$3 pinhex
	pinhex=$(printf %s "$pin" | hexof)
	apdus "$r" 00A404000C$AID \
		002C0001$(printf %02X $((16 + ${#pin})))$PUKHEX$pinhex \
		00200001$(printf %02X ${#pin})$pinhex \
		002241B6068001118401$(printf %02X "$ref") \
		002A9E9A33${DIGEST}00
	SIGSW=${SWS[4]}
	cp "$WORK/answer" "$WORK/sig"
}

# raw_decipher READER PIN REF: VERIFY PIN, MSE SET (decipher, key REF) and
# a chained PSO DECIPHER (padding indicator 00, then the 256 bytes sent to
# the previous holder's key); the plaintext in $WORK/answer.
raw_decipher() {
	local r=$1 pin=$2 ref=$3 pinhex
	pinhex=$(printf %s "$pin" | hexof)
	apdus "$r" 00A404000C$AID 00200001$(printf %02X ${#pin})$pinhex \
		002241B8068001118401$(printf %02X "$ref") \
		102A80868000${ENC:0:254} 002A808681${ENC:254}00
	[ "${SWS[1]}" = 9000 ] || fail "the test PIN was refused (${SWS[*]})"
}
head -c 32 /dev/urandom >"$WORK/secret"
openssl pkeyutl -encrypt -pubin -inkey "$WORK/p1.pub" -pkeyopt rsa_padding_mode:pkcs1 \
	-in "$WORK/secret" -out "$WORK/secret.enc"
ENC=$(hexof <"$WORK/secret.enc")

# raw_ecdsa READER PIN REF: as raw_sign, ECDSA (the applet hashes with
# SHA-1) over msg; the DER signature in $WORK/ecsig.
raw_ecdsa() {
	local r=$1 pin=$2 ref=$3 pinhex
	pinhex=$(printf %s "$pin" | hexof)
	apdus "$r" 00A404000C$AID \
		002C0001$(printf %02X $((16 + ${#pin})))$PUKHEX$pinhex \
		00200001$(printf %02X ${#pin})$pinhex \
		002241B6068001218401$(printf %02X "$ref") \
		002A9E9A$(printf %02X "$(stat -c %s "$WORK/msg")")$(hexof <"$WORK/msg")00
	cp "$WORK/answer" "$WORK/ecsig"
}
ec_verifies() {
	[ -s "$WORK/ecsig" ] && openssl dgst -sha1 -verify "$WORK/ec.pub" \
		-signature "$WORK/ecsig" "$WORK/msg" >/dev/null 2>&1
}

# sig_verifies: the last signature verifies with the previous holder's key.
sig_verifies() {
	[ -s "$WORK/sig" ] && openssl dgst -sha256 -verify "$WORK/p1.pub" \
		-signature "$WORK/sig" "$WORK/msg" >/dev/null 2>&1
}

# The attack works on a live card: this is the hole the return must close
# (and proof that a "does not verify" below is not a broken test).
raw_sign "$R0" 24681357 0
[ "${SWS[1]}" = 9000 ] && [ "${SWS[2]}" = 9000 ] ||
	fail "the PUK did not set the test PIN: ${SWS[*]}"
sig_verifies || fail "the holder's own key does not sign through raw APDUs (${SWS[*]})"
raw_decipher "$R0" 24681357 0
cmp -s "$WORK/answer" "$WORK/secret" ||
	fail "the holder's own key does not decipher through raw APDUs (${SWS[*]})"
EC_REF=
for ref in $(seq 0 15); do
	raw_ecdsa "$R0" 24681357 "$ref"
	if ec_verifies; then EC_REF=$ref; break; fi
done
[ -n "$EC_REF" ] || fail "the EC key does not sign through raw APDUs in any reference"
# Back to the PIN the rest of the story knows.
raw_sign "$R0" "$PIN" 0

# --- refusals, before any APDU that changes the card ---
mark=$(wc -l <"$WORK/a.trace")
RC=0
CS_PUK=$PUK "$CS_BIN" card returned --reader "$R0" --puk env:CS_PUK \
	>"$WORK/out.tsv" 2>"$WORK/err.txt" || RC=$?
[ "$RC" = 2 ] || fail "a live certificate without a decision: exit $RC"
grep -q "$A_SERIAL" "$WORK/err.txt" && grep -q -- "--already-revoked" "$WORK/err.txt" ||
	{ cat "$WORK/err.txt"; fail "the refusal names neither certificate nor way out"; }
RC=0
CS_PUK=$PUK "$CS_BIN" card returned --reader "$R0" --puk env:CS_PUK \
	--admin-mail "$ADMIN" --reason 0 >/dev/null 2>&1 || RC=$?
[ "$RC" = 2 ] || fail "reason 0 without a comment: exit $RC"
RC=0
CS_PUK=fedcba9876543210 "$CS_BIN" card returned --reader "$R0" --puk env:CS_PUK \
	--admin-mail "$ADMIN" --out "$WORK/ret.tsv" 2>"$WORK/err.txt" || RC=$?
[ "$RC" = 2 ] || fail "a wrong PUK: exit $RC"
grep -q "wrong PUK" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "a wrong PUK is not named"; }
[ ! -e "$WORK/ret.tsv" ] && [ ! -e "$WORK/ret.tsv.tmp" ] ||
	fail "a request was left for a card that was not wiped"
# Only the wrong PUK's own RESET RETRY COUNTER reached the card.
changes=$(tail -n +"$((mark + 1))" "$WORK/a.trace" | awk '$2 == ">"' |
	awk '{print substr($3, 3, 2)}' |
	grep -cE '^(24|2C|46|DB|E0|E4|D6)$' || true)
[ "$changes" = 1 ] || fail "the refusals sent $changes changing APDUs, want 1 (the wrong PUK)"
"$CS_BIN" log --chip "$CHIP_A" --live --json | jq -e 'length == 1' >/dev/null ||
	fail "a refusal changed the journal"

# --- returned with its revocation request ---
CS_PUK=$PUK "$CS_BIN" card returned --reader "$R0" --puk env:CS_PUK \
	--admin-mail "$ADMIN" --out "$WORK/ret.tsv" 2>"$WORK/err.txt" ||
	{ cat "$WORK/err.txt"; fail "card returned"; }
grep -q "2 keys overwritten" "$WORK/err.txt" ||
	{ cat "$WORK/err.txt"; fail "the RSA and the EC key were not both overwritten"; }
# What the service takes: DN, serial, reason 3 (affiliationChanged), admin
# and user mail in columns 1, 4, 5, 10 and 14 of 15; CP932; CRLF.
printf '%s\t\t\t%s\t3\t\t\t\t\t%s\t\t\t\t%s\t\r\n' "$A_DN" "$A_SERIAL" \
	"$ADMIN" "$A_MAIL" | iconv -f UTF-8 -t CP932 >"$WORK/want.tsv"
cmp "$WORK/ret.tsv" "$WORK/want.tsv" ||
	{ od -c "$WORK/ret.tsv" | head; fail "the request is not the expected bytes"; }
[ ! -e "$WORK/ret.tsv.tmp" ] || fail "a temporary file was left"
"$CS_BIN" log --chip "$CHIP_A" --json >"$WORK/log.json"
[ "$(jq -r '.[0].outcome' "$WORK/log.json")" = revoked ] ||
	fail "the issuance is not revoked"
tb_sql "SELECT state FROM records WHERE serial = '$A_SERIAL'" |
	grep -qx revoked || fail "the record is not revoked"
tb_sql "SELECT detail FROM events WHERE kind = 'card.returned'
	AND card_id = (SELECT id FROM cards WHERE chip_serial = '$CHIP_A')" |
	grep -q "revocation requested, reason 3 affiliationChanged" ||
	fail "no journal note of the revocation request"

# --- the previous holder's key, tried with the PUK and raw APDUs ---
# Every key reference the applet has (0-15): none signs for person 1.
for ref in $(seq 0 15); do
	raw_sign "$R0" 24681357 "$ref"
	[ "${SWS[1]}" = 9000 ] || fail "the PUK no longer resets the PIN (${SWS[*]})"
	if sig_verifies; then
		fail "key reference $ref still signs with the previous holder's key"
	fi
	[ "$ref" != 0 ] || [ "$SIGSW" = 9000 ] ||
		fail "slot 0 should hold a fresh key that signs ($SIGSW)"
	raw_ecdsa "$R0" 24681357 "$ref"
	if ec_verifies; then
		fail "key reference $ref still signs with the extra EC key"
	fi
done
# Nor does any slot decipher what was sent to the old key.
for ref in $(seq 0 15); do
	raw_decipher "$R0" 24681357 "$ref"
	! cmp -s "$WORK/answer" "$WORK/secret" ||
		fail "key reference $ref deciphers for the previous holder's key"
done
echo "returned with request ok"

# --- returned, revoked already ---
CS_PUK=$PUK "$CS_BIN" card returned --reader "$R1" --puk env:CS_PUK \
	--already-revoked >"$WORK/out.tsv" 2>"$WORK/err.txt" ||
	{ cat "$WORK/err.txt"; fail "card returned --already-revoked"; }
[ ! -s "$WORK/out.tsv" ] || fail "a request was written for a revoked certificate"
"$CS_BIN" log --chip "$CHIP_B" --json >"$WORK/log.json"
[ "$(jq -r '.[0].outcome' "$WORK/log.json")" = wiped ] ||
	fail "the issuance is not wiped"
tb_sql "SELECT detail FROM events WHERE kind = 'card.returned'
	AND card_id = (SELECT id FROM cards WHERE chip_serial = '$CHIP_B')" |
	grep -q "revoked already" || fail "no journal note of the operator's word"
cs_verify "$R1"
want_reason no-pkcs15 "wiped card"
"$CS_BIN" log check >/dev/null || fail "log check after the returns"
echo "verify returned ok"
