#!/bin/bash
# cardstation doctor names a PIV card and its card profile: a YubiKey-like
# token (reader 0) and a JavaCard PIV applet (reader 1) are each "card in
# '<reader>': OpenSC driver PIV-II (...), cardprofile piv", in the English
# text and in --json's code and params, and the doctor is content (exit 0).
# A card profile directory without piv.conf leaves the same token unnamed:
# a warning that says so, with the advice to add a profile.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${CS_BIN:?}"
doctor() { "$CS_BIN" doctor --journal "$CARDSTATION_JOURNAL" --skip setup "$@"; }

tb_card_create "$WORK/yk.card" 00BC614E --applet piv
tb_insert 0 "$WORK/yk.card"
tb_card_create "$WORK/jc.card" 0A0B0C0D --applet piv-generic
tb_insert 1 "$WORK/jc.card"

rc=0
doctor --profiles "$CS_SRC/cardprofiles" --json >"$WORK/doctor.json" || rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK/doctor.json" >&2; fail "doctor exit $rc with two PIV cards"; }
for slot in 0 1; do
	jq -e --arg r "$(tb_reader $slot)" '.findings | map(select(.code == "doctor.opensc.card" and
		.severity == "ok" and .params.reader == $r and .params.driver == "PIV-II" and
		.params.profile == "piv" and (.what | test("cardprofile piv$")))) | length == 1' \
		"$WORK/doctor.json" >/dev/null ||
		{ cat "$WORK/doctor.json" >&2; fail "reader $slot's PIV card is not named with profile piv"; }
done
# On the tests' server (CS_TEST_JOURNAL=pg) the doctor read the story's
# own journal there: its schema, known to this station.
case $CARDSTATION_JOURNAL in
postgresql://*)
	jq -e '.findings | any(.code == "doctor.journal-server.schema" and
		.severity == "ok")' "$WORK/doctor.json" >/dev/null ||
		{ cat "$WORK/doctor.json" >&2; fail "the doctor did not read the server's journal"; } ;;
esac
doctor --profiles "$CS_SRC/cardprofiles" >"$WORK/doctor.txt" || true
grep -q "card in '$(tb_reader 0)': OpenSC driver PIV-II (.*), cardprofile piv$" "$WORK/doctor.txt" ||
	{ cat "$WORK/doctor.txt" >&2; fail "the text does not name the token's profile"; }

# Without piv.conf the same token has no profile: said, with advice.
mkdir -p "$WORK/profiles"
cp "$CS_SRC/cardprofiles/isoapplet.conf" "$WORK/profiles/"
doctor --profiles "$WORK/profiles" --json >"$WORK/noprof.json" || true
jq -e --arg r "$(tb_reader 0)" '.findings | map(select(.code == "doctor.opensc.no-profile" and
	.severity == "warn" and .params.reader == $r and .params.driver == "PIV-II" and
	.todo_code == "todo.opensc.add-profile")) | length == 1' "$WORK/noprof.json" >/dev/null ||
	{ cat "$WORK/noprof.json" >&2; fail "a PIV card without its profile is not reported"; }
echo "doctor ok"
