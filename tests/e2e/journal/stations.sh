#!/bin/bash
# stations.sh - three stations, one run, one journal on PostgreSQL
# (issue 16). Three stations, each a PC of its own (tests/testbed/pc.sh: a test bench
# with its own pcscd, two readers and its own host name, and one
# `cardstation encode` over them), work a run of 12 people at once; one
# station is killed (kill -9, its workers too) while it writes a card, and
# while it is dead another station claims a record; the server is
# restarted while the others write; the killed station, started again on
# its PC, takes back and finishes its card. Judged on the cards with
# OpenSC's and OpenSSL's tools (every card holds its certificate and signs
# with it, the 12 certificates once each) and in the journal (12 records
# done, the interrupted write finished on its own card and by no other
# station, no certificate live twice, log check intact).
#
# The story itself runs in a test bench of its own, the office's desk:
#   own-server.sh … -- testbed --readers 1 -- stations.sh three_stations
# with CS_TEST_JOURNAL=pg. It makes the run and the cards' images, starts
# the three PCs (benches in its bench: they see its files), tells each PC
# what to do through two FIFOs (`ask`: cards in and out of its readers, its
# station started, killed, stopped), waits on what the stations print, and
# once the PCs are shut down judges every card in its own reader (the cards
# carried to the desk). Inside a PC's bench this script serves the story:
#   stations.sh serve NAME DIR
set -euo pipefail
self=$(readlink -f "$0")
here=$(dirname "$self")

# ---- a station's PC (inside its bench) ----

# Does what the story asks through DIR/NAME.cmd, a line at a time, and
# answers on DIR/NAME.ack: ok, or failed: what and why.
#   insert|swap SLOT IMAGE [CARDSIM ARGS], remove SLOT   (testbed.sh)
#   encode OPERATOR   the station starts (pc_encode), its output in
#                     DIR/OPERATOR.out
#   kill              the station's processes die at once (power gone):
#                     kill -9 of its reader workers and of itself
#   stop              SIGTERM, as at the end of a day
#   quit              stop, take the cards out (their images complete),
#                     and end: the bench goes away
serve() { # NAME DIR
	local name=$1 dir=$2 in out pid="" why w
	# shellcheck source=../../testbed/testbed.sh
	source "$TB_LIB"
	# shellcheck source=../../testbed/pc.sh
	source "$here/../../testbed/pc.sh"
	exec {in}<"$dir/$name.cmd" {out}>"$dir/$name.ack"
	while read -r -u "$in" -a w; do
		why=""
		echo "station $name's PC: ${w[*]}" >&2
		if serve_one "${w[@]}"; then echo ok; else echo "failed: ${w[*]}${why:+: $why}"; fi >&"$out"
		[ "${w[0]}" != quit ] || break
	done
}

serve_one() { # WHAT... (serve's variables: dir, pid, why)
	local f
	case $1 in
	insert | swap | remove) "tb_$1" "${@:2}" ;;
	encode)
		: >"$dir/$2.out"
		(pc_encode "$2") </dev/null >>"$dir/$2.out" 2>&1 &
		pid=$! ;;
	kill)
		[ -n "$pid" ] || { why="no station"; return 1; }
		pkill -9 -P "$pid" || { why="the station has no reader worker to kill"; return 1; }
		kill -9 "$pid"
		wait "$pid" 2>/dev/null || true
		pid="" ;;
	stop | quit)
		if [ -n "$pid" ]; then
			kill -TERM "$pid"
			wait "$pid" || true
			pid=""
		fi
		[ "$1" = quit ] || return 0
		for f in "$TB_DIR"/slots/*.pid; do
			[ -e "$f" ] || continue
			tb_remove "$(basename "$f" .pid)" || return 1
		done ;;
	*) why="unknown"; return 1 ;;
	esac
}

if [ "${1:-}" = serve ]; then
	serve "$2" "$3"
	exit
fi

# ---- the story (in the desk's bench) ----

: "${CS_PG_CTL:?run under own-server.sh}"
[ "${CS_TEST_JOURNAL:-}" = pg ] || { echo "stations.sh: CS_TEST_JOURNAL=pg" >&2; exit 2; }
# encode.sh's helpers: bundle, card, wait_for, card_holds, card_serial,
# sql, invariants; its journal is the server's (tb_journal), its folder $W
# the one the PCs share.
# shellcheck source=../encode/encode.sh
source "$here/../encode/encode.sh"

declare -A PC CMD ACK

pcs_up() { # NAME...: each station's PC, host name station-NAME, two readers
	local n fd
	for n; do
		mkfifo "$W/$n.cmd" "$W/$n.ack"
		"$here/../../testbed/pc.sh" "station-$n" 2 -- bash "$self" serve "$n" "$W" >"$W/$n.pc.log" 2>&1 &
		PC[$n]=$!
	done
	# Both ends held open here (after the PCs started: they do not
	# inherit them): a PC that never comes up or dies makes ask fail, not
	# hang.
	for n; do
		exec {fd}<>"$W/$n.cmd"
		CMD[$n]=$fd
		exec {fd}<>"$W/$n.ack"
		ACK[$n]=$fd
	done
}

ask() { # NAME WHAT...: station NAME's PC does WHAT (serve), and says it did
	local ans
	echo "${*:2}" >&"${CMD[$1]}"
	# The answer is the wait; a PC that is gone (its bench did not
	# start) is seen within seconds, a hung one in 300.
	local t
	for ((t = 0; t < 60; t++)); do
		read -r -t 5 ans <&"${ACK[$1]}" && break
		ans="no answer"
		kill -0 "${PC[$1]}" 2>/dev/null || { ans="its PC is gone"; break; }
	done
	[ "$ans" = ok ] || {
		sed 's/^/  | /' "$W/$1.pc.log" >&2
		fail "station $1's PC: ${*:2}: $ans"
	}
}

pc_down() { # NAME: its station stopped, its cards out, its bench ended
	ask "$1" quit
	wait "${PC[$1]}" || { sed 's/^/  | /' "$W/$1.pc.log" >&2; fail "station $1's PC ended badly"; }
}

pg_restart() { # the server goes away and comes back (own-server.sh does it)
	echo restart >"$CS_PG_CTL/req"
	local ans
	read -r ans <"$CS_PG_CTL/ack"
	[ "$ans" = ok ] || fail "the server did not restart"
}

said() { # NAME PATTERN [COUNT]: station NAME said it
	echo "waiting for station $1 to say: $2 (${3:-1})"
	OUT=$W/$1.out wait_for "$2" "${3:-1}"
}

chip() { printf '4790-5040-000000%02X' $((0xC0 + $1)); }

three_stations() {
	local k got rec
	bundle 12
	for k in $(seq 1 12); do card "c$k" "$(printf '%02X' $((0xC0 + k)))"; done
	pcs_up A B C
	# Round 1: a card for A and B (B's written slowly, as a real card is,
	# so that it can be killed while it writes), two for C.
	ask A insert 0 "$W/c1.card"
	ask B insert 0 "$W/c3.card" --latency real
	ask C insert 0 "$W/c4.card"; ask C insert 1 "$W/c5.card"
	ask A encode A; ask B encode B; ask C encode C

	said B 'step 3 of 5: writing'
	ask B kill
	grep -q "DONE .*$(chip 3)" "$W/B.out" && fail "B finished before it was killed"

	# While B lies dead with its record half-written, A claims one for a
	# new card; the server goes away and comes back while A and C work.
	ask A insert 1 "$W/c2.card"
	said A ' DONE '
	pg_restart
	said A "DONE .*$(chip 2)"

	# B again, on its PC: the card it was writing is taken back and
	# finished by it.
	ask B encode B2
	said B2 'resumed: 1 card'
	said B2 "DONE .*$(chip 3)"
	said A ' DONE ' 2; said C ' DONE ' 2

	# Round 2: six more cards, one per reader.
	ask A swap 0 "$W/c6.card"; ask A swap 1 "$W/c7.card"
	ask B swap 0 "$W/c8.card"; ask B insert 1 "$W/c9.card"
	ask C swap 0 "$W/c10.card"; ask C swap 1 "$W/c11.card"
	said A ' DONE ' 4; said B2 ' DONE ' 3; said C ' DONE ' 4
	# Round 3: the last card.
	ask A swap 0 "$W/c12.card"
	said A ' DONE ' 5
	# The day ends: each PC stops its station and gives its cards back.
	for k in A B C; do pc_down "$k"; done
	for k in A C B2; do
		# shellcheck disable=SC2034 # fail shows $OUT
		! grep -q FAILED "$W/$k.out" || { OUT=$W/$k.out; fail "station $k failed a card"; }
	done
	grep -q 'journal.server-lost' "$W/A.out" "$W/C.out" ||
		echo "note: no station met the restart in a statement (it was idle then)"

	# On the cards, carried to the desk: twelve certificates, each the
	# bundle's, each once, each with its key.
	: >"$W/on-cards"
	for k in $(seq 1 12); do
		tb_swap 0 "$W/c$k.card"
		got=$(card_serial 0)
		echo "card c$k ($(chip "$k")) holds certificate $got"
		[ -n "$got" ] || fail "card c$k holds no certificate"
		card_holds 0 "$got"
		echo "$got" >>"$W/on-cards"
	done
	cut -f1 "$W/b/expect.tsv" | tail -n +2 | sort >"$W/want"
	sort "$W/on-cards" | diff -q - "$W/want" >/dev/null ||
		fail "the cards do not hold the 12 certificates once each: $(sort "$W/on-cards" | uniq -d)"

	# In the journal.
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'done'")" -eq 12 ] ||
		fail "not 12 records done: $(sql "SELECT state, count(*) FROM records GROUP BY state")"
	# The record B was writing: finished on its own card, by B again, and
	# touched by no other station (the journal names an operator as
	# "USER (--operator)").
	rec=$(sql "SELECT i.record_id FROM issuances i JOIN cards c ON
		c.id = i.card_id WHERE i.outcome = 'interrupted' AND
		c.chip_serial = '$(chip 3)'")
	[ -n "$rec" ] || fail "no interrupted write on B's card"
	[ "$(sql "SELECT count(*) FROM issuances v JOIN cards c ON c.id = v.card_id
		WHERE v.record_id = $rec AND v.outcome = 'verified' AND
		v.operator LIKE '% (B2)' AND c.chip_serial = '$(chip 3)'")" -eq 1 ] ||
		fail "the killed station's write was not finished on its own card by it: $(sql "SELECT i.operator, i.outcome, c.chip_serial FROM issuances i JOIN cards c ON c.id = i.card_id WHERE i.record_id = $rec")"
	[ "$(sql "SELECT count(*) FROM issuances WHERE record_id = $rec AND
		operator NOT LIKE '% (B)' AND operator NOT LIKE '% (B2)'")" -eq 0 ] ||
		fail "another station took the killed station's record: $(sql "SELECT operator, outcome FROM issuances WHERE record_id = $rec")"
	[ "$(sql "SELECT count(DISTINCT operator) FROM issuances WHERE outcome = 'verified'")" -eq 3 ] ||
		fail "not three stations' work: $(sql "SELECT operator, count(*) FROM issuances GROUP BY operator")"
	# Each from a PC of its own: the stations' processes by host name.
	[ "$(sql "SELECT DISTINCT host FROM owners ORDER BY host" | paste -sd' ')" = \
		"station-A station-B station-C" ] ||
		fail "not three PCs: $(sql "SELECT host, reader, count(*) FROM owners GROUP BY host, reader")"
	invariants
	"$CS_BIN" log check
}

"$1"
echo "PASS: $1"
