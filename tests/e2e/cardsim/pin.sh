#!/bin/bash
# A wrong PIN counts down on the card and blocks it at the limit (3); the
# correct PIN is then refused too, until the PUK unblocks it with a new PIN.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export OPENSC_CONF=$(cs_opensc_conf isoapplet)

tb_card_create "$WORK/card.img" 02
tb_insert 0 "$WORK/card.img"
R=$(tb_reader 0)
pkcs15-init -r "$R" --create-pkcs15 --no-so-pin
pkcs15-init -r "$R" --store-pin --auth-id 01 --pin "$PIN" --puk "$PUK" --label User

# The card's own counter: VERIFY without data answers 63Cx.
tries_left() {
	opensc-tool -r "$R" -s 00A404000CF276A288BCFBA69D34F31001 -s 0020000100 |
		awk '/SW1=0x63/ {sub(/.*SW2=0xC/, ""); sub(/\).*/, ""); print}' | tail -1
}
verify() { CS_TRY=$1 pkcs15-tool -r "$R" --verify-pin --auth-id 01 --pin env:CS_TRY >/dev/null 2>&1; }

[ "$(tries_left)" = 3 ] || fail "fresh PIN should have 3 tries, has $(tries_left)"
verify "$PIN" || fail "right PIN refused"
for want in 2 1 0; do
	verify 999999 && fail "wrong PIN accepted"
	[ "$(tries_left)" = "$want" ] || fail "after a wrong PIN: $(tries_left) tries, want $want"
done
verify "$PIN" && fail "blocked PIN accepted"
[ "$(tries_left)" = 0 ] || fail "blocked PIN counter moved"

CS_PUK=$PUK CS_NEW=654321 pkcs15-tool -r "$R" --unblock-pin --auth-id 01 \
	--puk env:CS_PUK --new-pin env:CS_NEW >/dev/null 2>&1 || fail "PUK did not unblock"
[ "$(tries_left)" = 3 ] || fail "unblocked PIN should have 3 tries"
verify 654321 || fail "new PIN refused after unblock"
verify "$PIN" && fail "old PIN still accepted"
echo "pin ok"
