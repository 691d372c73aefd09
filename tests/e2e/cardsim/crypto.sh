#!/bin/bash
# Keys on the card work: an RSA-2048 key from a PKCS#12 signs
# (SHA256-RSA-PKCS) and deciphers, an EC P-256 key signs, and OpenSSL
# checks every result against the certificate's public key. Then the card
# is pulled and its image loaded by a second cardsim: everything is still
# there and still works.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export OPENSC_CONF=$(cs_opensc_conf isoapplet)
export CS_PIN=$PIN

tb_card_create "$WORK/card.img" 01
tb_insert 0 "$WORK/card.img"
R=$(tb_reader 0)
cs_make_p12 rsa "$WORK/rsa.p12"
cs_personalise "$R" "$WORK/rsa.p12"
openssl x509 -in "$WORK/rsa.crt" -pubkey -noout >"$WORK/rsa.pub"

p11() { pkcs11-tool --module "$P11" --slot-description "$R" "$@"; }

rsa_sign_check() {
	head -c 1000 /dev/urandom >"$WORK/msg"
	p11 --login --pin env:CS_PIN --sign -m SHA256-RSA-PKCS \
		-i "$WORK/msg" -o "$WORK/msg.sig" 2>/dev/null
	openssl dgst -sha256 -verify "$WORK/rsa.pub" -signature "$WORK/msg.sig" \
		"$WORK/msg" | grep -qx "Verified OK" || fail "RSA signature ($1)"
}

rsa_decipher_check() {
	head -c 32 /dev/urandom >"$WORK/secret"
	openssl pkeyutl -encrypt -pubin -inkey "$WORK/rsa.pub" \
		-pkeyopt rsa_padding_mode:pkcs1 -in "$WORK/secret" -out "$WORK/secret.enc"
	p11 --login --pin env:CS_PIN --decrypt -m RSA-PKCS \
		-i "$WORK/secret.enc" -o "$WORK/secret.dec" 2>/dev/null
	cmp -s "$WORK/secret" "$WORK/secret.dec" || fail "RSA decipher ($1)"
}

rsa_sign_check "first card process"
rsa_decipher_check "first card process"

# EC P-256 in a second key slot of the same card.
cs_make_p12 ec "$WORK/ec.p12"
pkcs15-init -r "$R" --store-private-key "$WORK/ec.p12" --format pkcs12 \
	--passphrase p12pass --auth-id 01 --pin "$PIN" --id 46
openssl x509 -in "$WORK/ec.crt" -pubkey -noout >"$WORK/ec.pub"
ec_sign_check() {
	head -c 1000 /dev/urandom >"$WORK/msg"
	# The applet hashes with SHA-1 on the card (ECDSA-SHA1 only).
	p11 --login --pin env:CS_PIN --sign -m ECDSA-SHA1 --id 46 \
		--signature-format openssl -i "$WORK/msg" -o "$WORK/msg.sig" 2>/dev/null
	openssl dgst -sha1 -verify "$WORK/ec.pub" -signature "$WORK/msg.sig" \
		"$WORK/msg" | grep -qx "Verified OK" || fail "EC signature ($1)"
}
ec_sign_check "first card process"

# Pull the card, load its image in a new cardsim process.
tb_remove 0
tb_insert 0 "$WORK/card.img"
pkcs15-tool -r "$R" -D >"$WORK/dump2.txt"
grep -q "PIN \[User\]" "$WORK/dump2.txt" || fail "PIN lost on reload"
[ "$(grep -c "X.509 Certificate" "$WORK/dump2.txt")" = 2 ] ||
	fail "certificates lost on reload"
rsa_sign_check "reloaded image"
rsa_decipher_check "reloaded image"
ec_sign_check "reloaded image"
echo "crypto ok"
