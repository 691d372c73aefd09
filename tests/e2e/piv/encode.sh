#!/bin/bash
# cardstation encodes one person onto a PIV token (cardsim --applet piv):
# the card is chosen as PIV by its AID, written and checked (certificate
# read back, PIN, a signature) through libykpiv. Then judged by tools
# we did not write: yubico-piv-tool shows the certificate in 9a and signs
# with the holder's PIN; pkcs15-tool reads the certificate whose serial is
# the download's; OpenSSL verifies a PKCS#11 signature with it. The card's
# management key is the one docs/piv.md derives from the institution PUK
# and the card's identity; the factory key, PIN and PUK no longer work.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${CS_BIN:?}" "${UPKIGEN:?}"

RUN=$(piv_run_new b 1 1)
SERIAL=$(awk -F'\t' 'NR == 2 { print $1 }' "$WORK/b/expect.tsv")

tb_card_create "$WORK/piv.card" 00BC614E --applet piv
tb_insert 0 "$WORK/piv.card"
R=$(tb_reader 0)
piv_encode "$RUN"
grep -q "DONE .* on card YK-12345678" "$OUT" || failo "not done on the YubiKey serial's card"
[ "$(tb_sql "SELECT c.model FROM cards c JOIN issuances i ON i.card_id = c.id
	WHERE i.outcome = 'verified'")" = piv ] || failo "the journal does not name the piv profile"
[ "$(tb_sql "SELECT i.cert_serial FROM issuances i WHERE i.outcome = 'verified'")" = "$SERIAL" ] ||
	failo "the journal's certificate is not the download's"

# yubico-piv-tool: the certificate in 9a, the holder's PIN signs.
yubico-piv-tool -r "$R" -a status >"$WORK/status" 2>&1 || fail "status"
grep -A1 "^Slot 9a:" "$WORK/status" | grep -q "RSA2048" || fail "no key in 9a: $(cat "$WORK/status")"
grep -q "^CHUID:	30" "$WORK/status" || fail "no CHUID"
grep -q "^CCC:	f0" "$WORK/status" || fail "no CCC"
pkcs15-tool -r "$R" --read-certificate 01 >"$WORK/cert.pem" 2>/dev/null || fail "pkcs15-tool read"
yubico-piv-tool -r "$R" -a verify-pin -P "$CS_PIN" -a test-signature -s 9a \
	<"$WORK/cert.pem" >"$WORK/ts" 2>&1 || fail "test-signature: $(cat "$WORK/ts")"

# The certificate's serial is the download's.
got=$(openssl x509 -in "$WORK/cert.pem" -noout -serial | sed 's/^serial=//')
want=$(printf 'obase=16; %s\n' "$SERIAL" | BC_LINE_LENGTH=0 bc)
[ "${got#0}" = "${want#0}" ] || fail "certificate serial $got, download's $want"

# PKCS#11 through OpenSC's PIV driver: a signature OpenSSL verifies.
openssl x509 -in "$WORK/cert.pem" -pubkey -noout >"$WORK/pub.pem"
head -c 64 /dev/urandom >"$WORK/challenge"
OPENSC_CONF=$(piv_opensc_conf) pkcs11-tool --module "$P11" --slot-index 0 --login \
	--pin env:CS_PIN --sign -m SHA256-RSA-PKCS --id 01 -i "$WORK/challenge" \
	-o "$WORK/sig" >/dev/null 2>&1 || fail "the card does not sign with the PIN"
openssl dgst -sha256 -verify "$WORK/pub.pem" -signature "$WORK/sig" "$WORK/challenge" |
	grep -q "Verified OK" || fail "the signature does not verify"

# Factory secrets are gone; the derived management key is the card's.
yubico-piv-tool -r "$R" -a verify-pin -P "$PIN" >/dev/null 2>&1 && fail "default PIN still works"
yubico-piv-tool -r "$R" -a set-ccc >/dev/null 2>&1 && fail "default management key still works"
mgm=$(printf 'cardstation PIV management key 9B\0YK-12345678' |
	openssl dgst -sha256 -mac HMAC -macopt "key:$CS_PUK" | sed 's/.*= //' | cut -c1-48)
yubico-piv-tool -r "$R" --key="$mgm" -a set-ccc >/dev/null 2>&1 ||
	fail "the management key derived from the PUK is refused"
yubico-piv-tool -r "$R" -a change-puk -P "$CS_PUK" -N "$CS_PUK" >/dev/null 2>&1 ||
	fail "the institution PUK is not the card's"
# The station's own verify knows the card by its YubiKey serial, finds
# its certificate and key through OpenSC's PIV driver, and says the key
# does TLS 1.3 client authentication (RSA-PSS, which OpenSC pads itself).
"$CS_BIN" verify --reader "$R" --pin env:CS_PIN --ca "$WORK/b/ca.pem" --json \
	>"$WORK/verify.json" 2>&1 || { cat "$WORK/verify.json" >&2; fail "cardstation verify"; }
jq -e --arg s "$SERIAL" '.verdict == "OK" and .chip_serial == "YK-12345678" and
	.profile == "piv" and .certificates[0].serial == $s and
	.certificates[0].signature == "verified" and .uses["tls1.3-client-auth"] == true' \
	"$WORK/verify.json" >/dev/null || { cat "$WORK/verify.json" >&2; fail "verify's report"; }
# A mistyped PIN: verify counts the PIV PIN's tries (reference 80) left
# after it, as the card does; the right PIN gives them all back.
export CS_BADPIN=999999
"$CS_BIN" verify --reader "$R" --pin env:CS_BADPIN --ca "$WORK/b/ca.pem" --json \
	>"$WORK/verify.bad" 2>&1 && fail "verify with a wrong PIN said OK"
jq -e '.verdict == "FAIL" and .pin_tries == 2 and .pin_max == 3' "$WORK/verify.bad" >/dev/null ||
	{ cat "$WORK/verify.bad" >&2; fail "verify does not count the PIN's tries after a wrong one"; }
[ "$(piv_sw 00A4040005A000000308 00200080 | tail -n 1)" = 63C2 ] || fail "the card does not say 2 tries"
"$CS_BIN" verify --reader "$R" --pin env:CS_PIN --ca "$WORK/b/ca.pem" --json >"$WORK/verify.json" 2>&1 ||
	fail "verify with the PIN after a wrong one"
jq -e '.pin_tries == 3' "$WORK/verify.json" >/dev/null || fail "the right PIN did not give the tries back"
echo "encode ok"
