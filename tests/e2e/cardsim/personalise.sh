#!/bin/bash
# The operator's story: a blank ID card gets the user's PIN, key and
# certificate with OpenSC's tools, and OpenSC sees all of it afterwards.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export OPENSC_CONF=$(cs_opensc_conf default)

tb_card_create "$WORK/card.img" 0A0B0C0D
tb_insert 0 "$WORK/card.img"
R=$(tb_reader 0)

opensc-tool -r "$R" -n | grep -qx "Javacard with IsoApplet" ||
	fail "opensc-tool does not name the IsoApplet"

cs_make_p12 rsa "$WORK/user.p12"
cs_personalise "$R" "$WORK/user.p12"

pkcs15-tool -r "$R" -D >"$WORK/dump.txt"
grep -q "PIN \[User\]" "$WORK/dump.txt" || fail "no User PIN in pkcs15-tool -D"
grep -q "Private RSA Key" "$WORK/dump.txt" || fail "no private key"
grep -q "X.509 Certificate" "$WORK/dump.txt" || fail "no certificate"

# The certificate on the card is the one from the PKCS#12.
pkcs15-tool -r "$R" --read-certificate 45 -o "$WORK/card.crt" 2>/dev/null ||
	pkcs15-tool -r "$R" --read-certificate "$(awk '/X.509 Certificate/{f=1} f && /ID/ {print $NF; exit}' "$WORK/dump.txt")" -o "$WORK/card.crt"
cmp <(openssl x509 -in "$WORK/card.crt" -outform DER) \
    <(openssl x509 -in "$WORK/rsa.crt" -outform DER) ||
	fail "certificate on the card differs"
echo "personalise ok"
