#!/bin/bash
# OpenSC's PIV driver reads and uses the PIV token: pkcs15-tool finds the
# certificate written with yubico-piv-tool, pkcs11-tool's self test passes,
# its RSA PKCS#1 v1.5 and PSS and EC signatures verify with OpenSSL, its
# ECDH secret is the one OpenSSL derives, and piv-tool authenticates with
# the management key to load a certificate (a wrong key is refused).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export OPENSC_CONF=$(piv_opensc_conf)

tb_card_create "$WORK/card.img" 0A0B0C0D --applet piv
tb_insert 0 "$WORK/card.img"
R=$(tb_reader 0)
yk() { yubico-piv-tool -r "$R" "$@" >/dev/null 2>&1; }

piv_make_key rsa
piv_make_key ec
piv_make_key ec ecdh
yk -a import-key -s 9a -i "$WORK/rsa.key" || fail "RSA import"
yk -a import-certificate -s 9a -i "$WORK/rsa.crt" || fail "RSA cert import"
yk -a import-key -s 9c -i "$WORK/ec.key" || fail "EC import"
yk -a import-certificate -s 9c -i "$WORK/ec.crt" || fail "EC cert import"
yk -a import-key -s 9d -i "$WORK/ecdh.key" || fail "EC import (9d)"
yk -a import-certificate -s 9d -i "$WORK/ecdh.crt" || fail "EC cert import (9d)"
yk -a set-chuid -a set-ccc || fail "CHUID and CCC"

# pkcs15-tool through OpenSC's PIV emulation: the certificate of 9a.
pkcs15-tool -r "$R" -D >"$WORK/dump" 2>&1 || fail "pkcs15-tool -D: $(cat "$WORK/dump")"
grep -q "PIV AUTH pubkey" "$WORK/dump" || fail "no PIV AUTH key: $(cat "$WORK/dump")"
pkcs15-tool -r "$R" --read-certificate 01 >"$WORK/cert01.pem" 2>/dev/null ||
	fail "certificate 01 not readable"
[ "$(openssl x509 -in "$WORK/cert01.pem" -noout -serial)" = \
  "$(openssl x509 -in "$WORK/rsa.crt" -noout -serial)" ] || fail "certificate 01 is not the one written"

# PKCS#11: the module's self test (RSA sign, verify, decrypt, random).
p11() { pkcs11-tool --module "$P11" --slot-index 0 "$@"; }
p11 --login --pin "$PIN" --test >"$WORK/p11test" 2>&1 || fail "pkcs11-tool --test: $(cat "$WORK/p11test")"
grep -q "^No errors" "$WORK/p11test" || fail "pkcs11-tool --test: $(tail -5 "$WORK/p11test")"

echo "data signed by the PIV token" >"$WORK/msg"
p11 --login --pin "$PIN" --id 01 --sign -m SHA256-RSA-PKCS \
	-i "$WORK/msg" -o "$WORK/sig.v15" 2>/dev/null || fail "PKCS#1 v1.5 signing"
openssl dgst -sha256 -verify "$WORK/rsa.pub" -signature "$WORK/sig.v15" "$WORK/msg" >/dev/null ||
	fail "PKCS#1 v1.5 signature does not verify"
p11 --login --pin "$PIN" --id 01 --sign -m SHA256-RSA-PKCS-PSS \
	-i "$WORK/msg" -o "$WORK/sig.pss" 2>/dev/null || fail "PSS signing"
openssl dgst -sha256 -verify "$WORK/rsa.pub" -sigopt rsa_padding_mode:pss \
	-sigopt rsa_pss_saltlen:-1 -signature "$WORK/sig.pss" "$WORK/msg" >/dev/null ||
	fail "PSS signature does not verify"
# 9c (digital signature): the PIN for every signature, which pkcs11-tool
# gives as the context-specific login.
p11 --login --pin "$PIN" --id 02 --sign -m ECDSA-SHA256 --signature-format openssl \
	-i "$WORK/msg" -o "$WORK/sig.ec" 2>/dev/null || fail "ECDSA signing"
openssl dgst -sha256 -verify "$WORK/ec.pub" -signature "$WORK/sig.ec" "$WORK/msg" >/dev/null ||
	fail "ECDSA signature does not verify"
# 9d (key management): ECDH with a peer key gives what OpenSSL gives.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/peer.key" 2>/dev/null
openssl pkey -in "$WORK/peer.key" -pubout -outform DER -out "$WORK/peer.der"
p11 --login --pin "$PIN" --id 03 --derive -m ECDH1-DERIVE -i "$WORK/peer.der" \
	-o "$WORK/secret.card" >/dev/null 2>&1 || fail "ECDH on the card"
openssl pkeyutl -derive -inkey "$WORK/peer.key" -peerkey "$WORK/ecdh.pub" -out "$WORK/secret.ossl"
cmp -s "$WORK/secret.card" "$WORK/secret.ossl" || fail "the card's ECDH secret differs from OpenSSL's"
# Without the PIN the card refuses to sign.
p11 --id 01 --sign -m SHA256-RSA-PKCS -i "$WORK/msg" -o "$WORK/sig.no" </dev/null >/dev/null 2>&1 &&
	fail "signed without the PIN"

# piv-tool: card administration with the management key (mutual
# authentication), a certificate loaded into 9e and read back through the
# PKCS#15 emulation; with a wrong key, another certificate is refused.
# piv-tool's exit status says nothing here (0.23 returns the byte count of
# a certificate it wrote), so the card's content is the judge. Its -G
# cannot build the key it receives with OpenSSL 3: key generation is judged
# in yubikey.sh.
printf '%s' "$MGM" | sed 's/../&:/g; s/:$//' >"$WORK/mgm.key"
printf '11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11' >"$WORK/bad.key"
piv_make_key rsa card9e
piv_make_key rsa other9e
fp9e() {
	pkcs15-tool -r "$R" --read-certificate 04 2>/dev/null |
		openssl x509 -noout -fingerprint 2>/dev/null
}
PIV_EXT_AUTH_KEY=$WORK/bad.key piv-tool -r "$R" -A M:9B:03 -C 9E \
	-i "$WORK/other9e.crt" >/dev/null 2>&1 || true
[ -z "$(fp9e)" ] || fail "a wrong management key wrote 9e's certificate"
PIV_EXT_AUTH_KEY=$WORK/mgm.key piv-tool -r "$R" -A M:9B:03 -C 9E \
	-i "$WORK/card9e.crt" >/dev/null 2>&1 || true
[ "$(fp9e)" = "$(openssl x509 -in "$WORK/card9e.crt" -noout -fingerprint)" ] ||
	fail "piv-tool with the management key did not load 9e's certificate"
echo "opensc ok"
