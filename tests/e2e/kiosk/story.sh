#!/bin/bash
# story.sh STORY - one of the operator's stories at the kiosk, in a real
# browser. Runs inside the test bench (tests/testbed): a private pcscd with
# one cardsim reader. Starts `cardstation kiosk` on a free loopback port,
# waits for the address it prints, and hands over to kiosk.mjs, which
# drives Chromium and swaps cards through testbed.sh.
set -euo pipefail
story=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$TB_LIB"

export KS_WORK=$TB_DIR/work
export KS_ART=${KS_ARTIFACTS:?}/$story
export CARDSTATION_JOURNAL=$KS_WORK/journal.db
export CARDSTATION_PROFILES=$CS_SRC/cardprofiles
export KS_READER
KS_READER=$(tb_reader 0)
rm -rf "$KS_ART"
mkdir -p "$KS_WORK/media/usb" "$KS_ART"

# The download on a "USB stick": four people, one of them refused.
people=4
case $story in handover|desk) people=1 ;; esac
export KS_DL=$KS_WORK/media/usb/2024-04
"$CS_BUILD/tests/gen/upkigen" --out "$KS_DL" --people "$people" \
	$([ "$people" -gt 1 ] && echo --break wrong-pin@$people) >/dev/null
for i in 1 2 3; do
	tb_card_create "$KS_WORK/card$i.img" "4B00000$i" >/dev/null
done

idle=600
[ "$story" = security ] && idle=10
exec 3< <(exec "$CS_BIN" kiosk --listen 127.0.0.1:0 --www "$CS_SRC/kiosk/www" \
	--import-root "$KS_WORK/media" --reader "$KS_READER" --idle "$idle" \
	--ca "$KS_DL/ca.pem" --admin-mail pki-admin@academe.example.ac.jp \
	2>"$KS_ART/kiosk.log")
kiosk=$!
trap 'kill -TERM $kiosk 2>/dev/null || true; wait $kiosk 2>/dev/null || true' EXIT
# The first line is the address: the server listens once it is printed.
read -r -t 60 KS_URL <&3 || { echo "kiosk did not start" >&2; cat "$KS_ART/kiosk.log" >&2; exit 1; }
export KS_URL

rc=0
node "$here/kiosk.mjs" "$story" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "--- kiosk log" >&2; tail -n 40 "$KS_ART/kiosk.log" >&2
fi
# A PIN must never reach the server's log nor the journal (the story
# notes each PIN it saw on a letter, in the bench's tmpfs).
if [ -s "$KS_WORK/pins.seen" ]; then
	while read -r pin; do
		if grep -aq -- "$pin" "$KS_ART/kiosk.log" "$CARDSTATION_JOURNAL"*; then
			echo "FAIL: a PIN is in the kiosk's log or the journal" >&2
			rc=1
		fi
	done <"$KS_WORK/pins.seen"
	rm -f "$KS_WORK/pins.seen"
fi
exit "$rc"
