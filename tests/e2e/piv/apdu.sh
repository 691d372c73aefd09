#!/bin/bash
# The PIV token's status words, APDU by APDU, as SP 800-73-4 and a
# YubiKey 5 answer them (sent with OpenSC's opensc-tool): select, version
# and serial, PIN and PUK try counters (63Cx, 6983), unblocking, security
# status (6982), missing objects (6A82), bad data and parameters (6A80,
# 6A86), answers longer than one APDU (61xx, GET RESPONSE), and RESET (FB)
# refused (6985) until PIN and PUK are both blocked, then a blank token.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

tb_card_create "$WORK/card.img" 01020304 --applet piv
tb_insert 0 "$WORK/card.img"
R=$(tb_reader 0)
SEL=00A4040005$PIV_AID
# PIN/PUK encodings: ASCII padded with FF to 8 bytes.
hexpin() {
	local i
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
	for ((i = ${#1}; i < 8; i++)); do printf FF; done
}
P=$(hexpin "$PIN"); K=$(hexpin "$PUK"); BAD=$(hexpin 999999); NEW=$(hexpin 654321)
expect() { # expect "SW SW ..." APDU...
	local want=$1 got
	shift
	got=$(piv_sw "$@" | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] || fail "$*: got '$got', want '$want'"
}

# SELECT answers the application property template; FD the version; F8
# the serial the card was made with.
opensc-tool -r "$R" -s "$SEL" 2>&1 | grep -q "61 11 4F 06 00 00 10 00 01 00 79 07" ||
	fail "SELECT did not answer the PIV application property template"
opensc-tool -r "$R" -s "$SEL" -s 00F80000 2>&1 | grep -q "^01 02 03 04" || fail "GET SERIAL"
expect "9000 9000 9000" "$SEL" 00FD0000 00F80000

# PIN: VERIFY without data tells the tries; wrong ones count down to a
# block; a blocked PIN refuses even the right value.
expect "9000 63C3" "$SEL" 00200080
expect "9000 63C2 63C1 63C0 6983 6983" "$SEL" 0020008008$BAD 0020008008$BAD \
	0020008008$BAD 0020008008$P 00200080
# Not a PIN: 6A80, no try spent.
expect "9000 6A80 6983" "$SEL" 00200080063132333435FF 00200080
# RESET before the PUK is blocked: refused.
expect "9000 6985" "$SEL" 00FB0000
# The PUK unblocks with a new PIN; the old one is gone.
expect "9000 9000 9000 63C2" "$SEL" 002C008010$K$NEW 0020008008$NEW 0020008008$P
expect "9000 9000" "$SEL" 0020008008$NEW

# Security status: PUT DATA without the management key.
expect "9000 6982" "$SEL" 00DB3FFF075C035FC1095300
# GET DATA: an object not written (6A82), a tag that is no PIV object
# (6A80), wrong P1/P2 (6A86); printed information needs the PIN (6982).
expect "9000 6A82 6A80 6A86 6982" "$SEL" 00CB3FFF055C035FC10200 \
	00CB3FFF055C03112233 00CB0000055C035FC10200 00CB3FFF055C035FC10900
# GENERAL AUTHENTICATE: a key reference that is no slot (6A86), an empty
# slot (6A80), a wrong management key answer (6982).
expect "9000 6A86 6A80" "$SEL" 00870701067C0482008100 0087079A067C0482008100
expect "9000 9000 6982" "$SEL" 0087039B047C028100 0087039B0C7C0A82080000000000000000

# External authentication with the management key over two connections
# (the card keeps its state between them; re-selecting would drop it): the
# challenge, then its 3DES encryption; PUT DATA is then allowed, and the
# object reads back.
chal=$(opensc-tool -r "$R" -s "$SEL" -s 0087039B047C028100 2>&1 |
	awk '/^7C 0A 81 08/ {print $5$6$7$8$9$10$11$12}' | tail -1)
[ ${#chal} = 16 ] || fail "no challenge from the card"
resp=$(printf '%s' "$chal" | xxd -r -p |
	openssl enc -des-ede3-ecb -K "$MGM" -nopad | od -An -tx1 | tr -d ' \n')
[ ${#resp} = 16 ] || fail "could not encrypt the challenge"
expect "9000 9000" 0087039B0C7C0A8208$resp 00DB3FFF0C5C035FC1095305AABBCCDDEE
expect "9000" 0020008008$NEW
opensc-tool -r "$R" -s 0020008008$NEW -s 00CB3FFF055C035FC10900 2>&1 |
	grep -q "^53 05 AA BB CC DD EE" || fail "printed information did not read back"

# Block the PUK too: RESET then wipes the token back to its defaults.
expect "9000 63C2 63C1 63C0 6983" "$SEL" 002C008010$BAD$NEW 002C008010$BAD$NEW \
	002C008010$BAD$NEW 002C008010$K$NEW
expect "9000 63C2 63C1 63C0 9000" "$SEL" 0020008008$BAD 0020008008$BAD 0020008008$BAD 00FB0000
expect "9000 63C3 9000 6A82" "$SEL" 00200080 0020008008$P 00CB3FFF055C035FC10900
expect "9000 9000" "$SEL" 002C008010$K$NEW
echo "apdu ok"
