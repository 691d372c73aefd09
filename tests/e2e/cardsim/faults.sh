#!/bin/bash
# Fault injection and the card image: a failing EEPROM write answers 6581
# and changes nothing; a card pulled mid-sequence leaves a loadable image;
# the GlobalPlatform card manager gives the card's serial in its CPLC.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export OPENSC_CONF=$(cs_opensc_conf isoapplet)

tb_card_create "$WORK/card.img" C0FFEE01
tb_insert 0 "$WORK/card.img" --fail-write 1
R=$(tb_reader 0)
APPLET=00A404000CF276A288BCFBA69D34F31001

# CPLC: tag 9F7F, the IC serial number at bytes 13-16 of its value.
cplc=$(opensc-tool -r "$R" -s 00A4040008A000000003000000 -s 80CA9F7F00 |
	grep -oE '^([0-9A-F]{2} )+' | tr -d ' \n' | grep -o '9F7F2A.*' || true)
[ "${cplc:30:8}" = C0FFEE01 ] || fail "CPLC serial: ${cplc:30:8}"

# First write (set the PUK) fails with 6581; the card stays blank.
out=$(opensc-tool -r "$R" -s $APPLET -s 0024010210"$(printf %s "$PUK" | od -An -tx1 | tr -d ' \n')")
echo "$out" | grep -q "SW1=0x65, SW2=0x81" || fail "no 6581 on the failed write"
grep -q "^state 0$" "$WORK/card.img" || fail "a failed write changed the card"
tb_remove 0

# Pulled after the 20th APDU (inside pkcs15-init's writes): the image is still whole.
tb_insert 0 "$WORK/card.img" --pull-after 20
pkcs15-init -r "$R" --create-pkcs15 --no-so-pin >/dev/null 2>&1 &&
	fail "pkcs15-init survived a pulled card"
tb_wait 0 absent
rm -f "$TB_DIR/slots/0.pid"
tail -1 "$WORK/card.img" | grep -qx end || fail "torn card image"
tb_insert 0 "$WORK/card.img"
opensc-tool -r "$R" -n | grep -qx "Javacard with IsoApplet" ||
	fail "card unusable after the pull"
echo "faults ok"
