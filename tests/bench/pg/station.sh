#!/bin/bash
# station.sh NAME INDEX DIR - one station of the PostgreSQL bench: one
# `cardstation encode` process over the readers of its own test bench, as
# one counter's PC with its own pcscd and readers; only the journal's
# server is shared with the other stations. Run by bench.sh:
#
#   testbed --readers 2 -- station.sh NAME INDEX DIR
#
# Once every reader waits for a card it writes NAME to DIR/ready and waits
# for a line on DIR/go.NAME (bench.sh starts every station's clock at
# once). Then each reader gets a fresh blank card (cardsim --latency real)
# whenever it is free and DIR/tickets still holds one (one ticket per
# person of the run, shared by all stations under a lock: the office keeps
# feeding cards until the run is written). Every DONE goes to
# DIR/done.NAME as "TIME READER"; a FAILED line to DIR/failed.NAME. The
# station is stopped (SIGTERM) once its last card is done.
set -euo pipefail
name=$1 idx=$2 dir=$3
: "${CS_BIN:?}" "${CS_SRC:?}" "${TB_LIB:?}"
# shellcheck source=../../testbed/testbed.sh
source "$TB_LIB"
# shellcheck source=../../testbed/pc.sh
source "$CS_SRC/tests/testbed/pc.sh" # pc_encode
nr=$TB_READERS

take_ticket() { # prints 1 and takes one if any is left, else 0
	local n
	exec {lk}>>"$dir/tickets.lock"
	flock "$lk"
	n=$(cat "$dir/tickets")
	if [ "$n" -gt 0 ]; then echo $((n - 1)) >"$dir/tickets"; echo 1; else echo 0; fi
	exec {lk}>&-
}

made=0
insert() { # SLOT: a fresh blank card into it (in the background: no
	# reader waits for another), its chip serial of this station's own
	made=$((made + 1))
	local img=$dir/cards/$name.$made serial
	serial=$(printf '%02X%06X' $((0xA0 + idx)) "$made")
	{ tb_card_create "$img" "$serial" >/dev/null && tb_swap "$1" "$img" --latency real >/dev/null; } &
	bg+=($!)
}

exec {fd}< <(pc_encode "$name" 2>&1 </dev/null)
pid=$!
: >"$dir/done.$name"
: >"$dir/log.$name"
waiting=0 busy=0
declare -a bg=()
while IFS= read -r -u "$fd" line; do
	ts=$EPOCHREALTIME
	echo "$ts $line" >>"$dir/log.$name"
	case $line in
	"["*"] waiting: insert a card")
		waiting=$((waiting + 1))
		[ "$waiting" -eq "$nr" ] || continue
		echo "$name" >"$dir/ready"
		read -r _ <"$dir/go.$name"
		for ((i = 0; i < nr; i++)); do
			[ "$(take_ticket)" = 1 ] || break
			busy=$((busy + 1))
			insert "$i"
		done
		[ "$busy" -gt 0 ] || break ;;
	"["*"] DONE "*)
		slot=${line#[}; slot=${slot%%]*}
		echo "$ts $slot" >>"$dir/done.$name"
		if [ "$(take_ticket)" = 1 ]; then
			insert "$slot"
		else
			busy=$((busy - 1))
			[ "$busy" -gt 0 ] || break
		fi ;;
	"["*"] FAILED "*)
		# The bench then fails (a card short); this reader stops.
		echo "$ts $line" >>"$dir/failed.$name"
		echo "bench: station $name: $line" >&2
		busy=$((busy - 1))
		[ "$busy" -gt 0 ] || break ;;
	esac
done
# Its cards are done (or it ended): stop it, and the cards with the bench.
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" || true
exec {fd}<&-
[ "${#bg[@]}" -eq 0 ] || wait "${bg[@]}" || true
