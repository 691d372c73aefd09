#!/bin/bash
# A PIV card that is no YubiKey (a JavaCard PIV applet: no GET SERIAL) is
# known by its CPLC when its card manager gives one; with no card manager
# at all (jcardsim's runtime), the station assigns an identity and writes
# it into the CHUID's GUID, where verify (and OpenSC's token serial) find
# it again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${CS_BIN:?}" "${UPKIGEN:?}"

# A JavaCard PIV applet with a card manager: the CPLC.
RUN=$(piv_run_new b 1 1)
tb_card_create "$WORK/jc.card" 0A0B0C0D --applet piv-generic
tb_insert 0 "$WORK/jc.card"
R=$(tb_reader 0)
piv_encode "$RUN"
grep -q "DONE .* on card 4790-5040-0A0B0C0D" "$OUT" || failo "not known by its CPLC"
tb_remove 0

# No card manager, no serial: an assigned identity in the CHUID.
RUN2=$(piv_run_new b2 1 2)
tb_card_create "$WORK/bare.card" 0E0F1011 --applet piv-generic
tb_insert 0 "$WORK/bare.card" --runtime jcardsim
piv_encode "$RUN2"
id=$(sed -n 's/.*DONE .* on card \(CA-[0-9A-F]\{6\}-[0-9A-F]\{8\}\).*/\1/p' "$OUT")
[ -n "$id" ] || failo "no assigned identity"
hex=$(tr -d '-' <<<"$id" | tr A-F a-f)
yubico-piv-tool -r "$R" -a status >"$WORK/status" 2>&1 || fail "status"
grep -q "^CHUID:.*6373504956696401$hex" "$WORK/status" ||
	fail "the CHUID's GUID does not carry $id: $(grep CHUID "$WORK/status")"
"$CS_BIN" verify --reader "$R" --pin env:CS_PIN --ca "$WORK/b2/ca.pem" --json \
	>"$WORK/verify.json" 2>&1 || { cat "$WORK/verify.json" >&2; fail "verify"; }
jq -e --arg id "$id" '.chip_serial == $id and .id_source == "assigned" and
	.journal.card_known and (.pkcs15_serial | ascii_upcase) == ($id | gsub("-"; ""))' \
	"$WORK/verify.json" >/dev/null || { cat "$WORK/verify.json" >&2; fail "verify's identity"; }
echo "identity ok"
