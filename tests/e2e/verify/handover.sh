#!/bin/bash
# Handover day: cards pass through two readers one after another and each
# is verified as it comes in (one already in a reader at the start, one put
# back a second time, two in both readers at once); end of input ends the day with a summary that counts
# the verdicts and names the failure. Ctrl-C (SIGINT) ends it the same way.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

cs_download --people 1 --seed 3
R0=$(tb_reader 0)
R1=$(tb_reader 1)
cs_issued_card 0 "$WORK/a.card" 4C0001 1 0001
CHIP_A=$CHIP
tb_card_create "$WORK/u.card" 4C0099   # blank, never journaled

# next_report: the next line verify writes (a real wait on its output;
# the timeout only keeps a broken run from hanging the test).
next_report() {
	IFS= read -r -t 60 -u 4 LINE || { cat "$WORK/err.txt" >&2; fail "verify wrote nothing more"; }
	printf '%s\n' "$LINE" >"$WORK/v.json"
}

mkfifo "$WORK/in" "$WORK/out"
"$CS_BIN" verify --handover --reader "$R0" --reader "$R1" --ca "$DL/ca.pem" \
	--json <"$WORK/in" >"$WORK/out" 2>"$WORK/err.txt" &
PID=$!
exec 3>"$WORK/in" 4<"$WORK/out"

next_report
want_verdict OK "the card already in a reader"
[ "$(jq -r .chip_serial "$WORK/v.json")" = "$CHIP_A" ] || fail "not card A"

# Cards (cardsim processes) must not hold our end of verify's input open.
tb_insert 1 "$WORK/u.card" 3>&- 4<&-
next_report
want_verdict FAIL "an unknown blank card"
[ "$(jq -r .reader "$WORK/v.json")" = "$R1" ] || fail "not the second reader"

tb_remove 0
tb_insert 0 "$WORK/a.card" 3>&- 4<&-
next_report
want_verdict OK "card A again"

exec 3>&-          # end of input: the day is over
next_report
jq -e '.summary | .cards == 3 and .ok == 2 and .warn == 0 and .fail == 1' \
	"$WORK/v.json" >/dev/null || { cat "$WORK/v.json"; fail "summary counts"; }
jq -e --arg r "$R1" '.summary.failures[0] | contains($r)' "$WORK/v.json" \
	>/dev/null || fail "the failure is not listed"
RC=0
wait "$PID" || RC=$?
[ "$RC" = 2 ] || fail "a day with a FAIL: exit $RC"
exec 4<&-

# Two readers holding a card at the start: one wait watches both, and
# neither card is missed (each reported once, in either order). Ctrl-C
# ends the day too.
"$CS_BIN" verify --handover --reader "$R0" --reader "$R1" --ca "$DL/ca.pem" \
	--json <"$WORK/in" >"$WORK/out" 2>"$WORK/err.txt" &
PID=$!
exec 3>"$WORK/in" 4<"$WORK/out"
next_report
first=$(jq -r .reader "$WORK/v.json")
next_report
second=$(jq -r .reader "$WORK/v.json")
[ "$(printf '%s\n' "$first" "$second" | sort)" = "$(printf '%s\n' "$R0" "$R1" | sort)" ] ||
	fail "two cards in two readers: reported $first and $second"
kill -INT "$PID"
next_report
jq -e '.summary | .cards == 2 and .ok == 1 and .fail == 1' "$WORK/v.json" >/dev/null ||
	{ cat "$WORK/v.json"; fail "summary after Ctrl-C"; }
RC=0
wait "$PID" || RC=$?
[ "$RC" = 2 ] || fail "a day with a FAIL: exit $RC"
echo "verify handover ok"
