#!/bin/bash
# The demo inside the test bench (see story.sh).
set -euo pipefail
source "$TB_LIB"
W=$TB_DIR/demo
mkdir -p "$W"
# The bench's own journal, unless CS_DEMO_SYSTEM=1 (tests/package: the
# installed station with its installed profiles and its journal in
# /var/lib/cardstation). The card profiles: the station finds its own
# (the source tree's for a build tree's binary, else the installed ones).
[ "${CS_DEMO_SYSTEM:-}" = 1 ] || export CARDSTATION_JOURNAL=$W/journal.db
INST="National Institute of Informatics, Academe Campus"
# The operator's initial PIN for the new cards and the institution PUK,
# given through the environment (never on the command line).
export DEMO_PIN=246810 DEMO_PUK=0123456789abcdef
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_line() { # PATTERN COUNT: the station's COUNT-th line matching PATTERN
	timeout 120 bash -c 'exec 3< <(tail -n +1 -f "$0"); t=$!
		grep -m"$2" -E -- "$1" <&3 | cat >/dev/null; kill $t' "$W/encode.out" "$1" "$2"
}

say "1. The administrator downloads clientAll.zip and clientAllPin.zip (here: generated for 3 staff)"
"$CS_BUILD/tests/gen/upkigen" --out "$W/download" --people 3
ls -l "$W/download"/*.zip

say "2. cardstation inspect checks every record without a card"
"$CS_BIN" inspect "$W/download/clientAll.zip" "$W/download/clientAllPin.zip" \
	--institution "$INST"

say "3. The download becomes an encoding run in the journal"
"$CS_BIN" run new "$W/download/clientAll.zip" "$W/download/clientAllPin.zip" \
	--institution "$INST" --operator "demo operator"

say "4. Encoding: three blank staff cards, one after the other, in one reader"
for n in 1 2 3; do tb_card_create "$W/card$n" "D00$n" >/dev/null; done
mkfifo "$W/operator"
"$CS_BIN" encode --run 1 --reader 0 --confirm --operator "demo operator" \
	--pin env:DEMO_PIN --puk env:DEMO_PUK <"$W/operator" >"$W/encode.out" 2>&1 &
station=$!
exec 3>"$W/operator"
tail -n +1 -f "$W/encode.out" --pid=$station &
echoer=$!
for n in 1 2 3; do
	tb_swap 0 "$W/card$n"
	wait_line 'type its printed number' $n
	echo "STAFF-000$n" >&3         # the operator scans the printed number
	wait_line 'take the card out' $n
done
kill -TERM $station
wait $station || true
exec 3>&-
wait $echoer # the echo of the station's output ends with the station

say "5. At the service desk: is this the right card, certificate and key?"
DEMO_HOLDER_PIN=$DEMO_PIN "$CS_BIN" verify --reader 0 \
	--ca "$W/download/ca.pem" --pin env:DEMO_HOLDER_PIN || true

say "6. The card, read by OpenSC's own tool"
pkcs15-tool -r "$(tb_reader 0)" --list-certificates

say "7. The journal: every card against its certificate, and its integrity"
"$CS_BIN" log
"$CS_BIN" log check
echo
echo "The demo ran in a private test bench; its files are gone with it."
