#!/bin/bash
# What a YubiKey administrator does with Yubico's own tool works on the
# PIV token: status, import of RSA and EC keys with certificates, CHUID and
# CCC, signatures checked by the tool, new PIN, PUK and management key.
# Everything the card learnt survives pulling it out.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

tb_card_create "$WORK/card.img" 00BC614E --applet piv
tb_insert 0 "$WORK/card.img"
R=$(tb_reader 0)
yk() { yubico-piv-tool -r "$R" "$@"; }

# Serial 0x00BC614E = 12345678, as GET SERIAL (F8) answers.
yk -a status >"$WORK/status0" 2>&1
grep -q "^Version:	5\." "$WORK/status0" || fail "no firmware version: $(cat "$WORK/status0")"
grep -q "^Serial Number:	12345678$" "$WORK/status0" || fail "serial: $(cat "$WORK/status0")"
grep -q "^PIN tries left:	3$" "$WORK/status0" || fail "PIN tries: $(cat "$WORK/status0")"
grep -q "^CHUID:	No data available" "$WORK/status0" || fail "a blank token has a CHUID"
yk -a verify-pin -P "$PIN" >/dev/null 2>&1 || fail "default PIN refused"

piv_make_key rsa
piv_make_key ec
yk -a import-key -s 9a -i "$WORK/rsa.key" >/dev/null 2>&1 || fail "RSA import"
yk -a import-certificate -s 9a -i "$WORK/rsa.crt" >/dev/null 2>&1 || fail "RSA cert import"
yk -a import-key -s 9d -i "$WORK/ec.key" >/dev/null 2>&1 || fail "EC import"
yk -a import-certificate -s 9d -i "$WORK/ec.crt" >/dev/null 2>&1 || fail "EC cert import"
yk -a set-chuid -a set-ccc >/dev/null 2>&1 || fail "CHUID and CCC"

yk -a status >"$WORK/status1" 2>&1
grep -A1 "^Slot 9a:" "$WORK/status1" | grep -q "RSA2048" || fail "9a: $(cat "$WORK/status1")"
grep -A1 "^Slot 9d:" "$WORK/status1" | grep -q "ECCP256" || fail "9d: $(cat "$WORK/status1")"
grep -q "^CHUID:	30" "$WORK/status1" || fail "no CHUID after set-chuid"
fp=$(openssl x509 -in "$WORK/rsa.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
grep -q "Fingerprint:	$fp" "$WORK/status1" || fail "9a holds another certificate"

yk -a verify-pin -P "$PIN" -a test-signature -s 9a <"$WORK/rsa.crt" >"$WORK/ts" 2>&1 ||
	fail "RSA test-signature: $(cat "$WORK/ts")"
yk -a verify-pin -P "$PIN" -a test-signature -s 9d <"$WORK/ec.crt" >"$WORK/ts" 2>&1 ||
	fail "EC test-signature: $(cat "$WORK/ts")"
# The card's key, not any key: 9a's signature does not verify with 9d's
# certificate.
yk -a verify-pin -P "$PIN" -a test-signature -s 9a <"$WORK/ec.crt" >/dev/null 2>&1 &&
	fail "9a signed as if it held 9d's key"

# Keys made on the card (GENERATE): RSA-2048 in 9e, P-256 in retired slot
# 82. A test CA certifies the public keys the card returned; the card's
# signatures then verify with those certificates.
openssl req -new -x509 -newkey rsa:2048 -nodes -keyout "$WORK/ca.key" \
	-subj "/CN=Test CA" -days 30 -out "$WORK/ca.crt" 2>/dev/null
for pair in 9e:RSA2048 82:ECCP256; do
	slot=${pair%%:*} alg=${pair#*:}
	yk -a generate -s "$slot" -A "$alg" -o "$WORK/gen$slot.pub" >/dev/null 2>&1 ||
		fail "generate $alg in $slot"
	openssl req -new -key "$WORK/ca.key" -subj "/CN=generated $slot" |
		openssl x509 -req -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" \
			-force_pubkey "$WORK/gen$slot.pub" -days 30 \
			-out "$WORK/gen$slot.crt" 2>/dev/null
	yk -a import-certificate -s "$slot" -i "$WORK/gen$slot.crt" >/dev/null 2>&1 ||
		fail "certificate for $slot"
	yk -a verify-pin -P "$PIN" -a test-signature -s "$slot" <"$WORK/gen$slot.crt" \
		>"$WORK/ts" 2>&1 || fail "$slot's generated key: $(cat "$WORK/ts")"
done

# New PIN, PUK and management key; the old ones stop working.
yk -a change-pin -P "$PIN" -N 271828 >/dev/null 2>&1 || fail "change-pin"
yk -a change-puk -P "$PUK" -N 31415926 >/dev/null 2>&1 || fail "change-puk"
NEWMGM=0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080
yk -a set-mgm-key -n "$NEWMGM" >/dev/null 2>&1 || fail "set-mgm-key"
yk -a set-chuid >/dev/null 2>&1 && fail "old management key still accepted"
yk --key="$NEWMGM" -a set-chuid >/dev/null 2>&1 || fail "new management key refused"

# Pull the card and put it back: the image kept it all.
tb_remove 0
tb_insert 0 "$WORK/card.img"
yk -a verify-pin -P "$PIN" >/dev/null 2>&1 && fail "old PIN accepted after reinsert"
tb_remove 0
tb_insert 0 "$WORK/card.img"
yk -a status 2>&1 | grep -q "^PIN tries left:	2$" || fail "the wrong PIN's try was not kept"
yk -a verify-pin -P 271828 -a test-signature -s 9a <"$WORK/rsa.crt" >/dev/null 2>&1 ||
	fail "key or PIN lost with the reinsert"
echo "yubikey ok"
