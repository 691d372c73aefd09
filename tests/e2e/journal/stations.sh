#!/bin/bash
# stations.sh - three stations, one run, one journal on PostgreSQL
# (issue 16). Three encode processes with two readers each work a run of
# 12 people at once; one station is killed (kill -9, its workers too)
# while it writes a card, the server is restarted while the others write,
# and the killed station, started again, takes back and finishes its card.
# Judged on the cards with OpenSC's and OpenSSL's tools (every card holds
# its certificate and signs with it, the 12 certificates once each) and in
# the journal (12 records done, the interrupted write finished on its own
# card, no certificate live twice, log check intact).
#   own-server.sh … -- testbed --readers 6 -- stations.sh three_stations
# with CS_TEST_JOURNAL=pg.
set -euo pipefail
: "${CS_PG_CTL:?run under own-server.sh}"
[ "${CS_TEST_JOURNAL:-}" = pg ] || { echo "stations.sh: CS_TEST_JOURNAL=pg" >&2; exit 2; }
# encode.sh's helpers: bundle, card, wait_for, card_holds, card_serial,
# sql, invariants; its journal is the server's (tb_journal).
# shellcheck source=../encode/encode.sh
source "$(dirname "$0")/../encode/encode.sh"

declare -A PID

pg_restart() { # the server goes away and comes back (own-server.sh does it)
	echo restart >"$CS_PG_CTL/req"
	local ans
	read -r ans <"$CS_PG_CTL/ack"
	[ "$ans" = ok ] || fail "the server did not restart"
}

station() { # NAME SLOT SLOT: an encode process, its output in $W/NAME.out
	: >"$W/$1.out"
	# By name: an index counts PC/SC's list, whose order is pcscd's.
	"$CS_BIN" encode --run 1 --pin env:CS_PIN --puk env:CS_PUK --operator "$1" \
		--reader "$(tb_reader "$2")" --reader "$(tb_reader "$3")" \
		</dev/null >>"$W/$1.out" 2>&1 &
	PID[$1]=$!
}

said() { # NAME PATTERN [COUNT]: station NAME said it
	echo "waiting for station $1 to say: $2 (${3:-1})"
	OUT=$W/$1.out wait_for "$2" "${3:-1}"
}

chip() { printf '4790-5040-000000%02X' $((0xC0 + $1)); }

three_stations() {
	local k got
	bundle 12
	for k in $(seq 1 12); do card "c$k" "$(printf '%02X' $((0xC0 + k)))"; done
	# Round 1: two cards for A and C, one for B (written slowly, as a
	# real card is, so that it can be killed while it writes).
	tb_insert 0 "$W/c1.card"; tb_insert 1 "$W/c2.card"
	tb_insert 2 "$W/c3.card" --latency real
	tb_insert 4 "$W/c4.card"; tb_insert 5 "$W/c5.card"
	station A 0 1; station B 2 3; station C 4 5

	said B 'step 3 of 5: writing'
	pkill -9 -P "${PID[B]}" || fail "station B has no worker to kill"
	kill -9 "${PID[B]}"
	wait "${PID[B]}" 2>/dev/null || true
	grep -q "DONE .*$(chip 3)" "$W/B.out" && fail "B finished before it was killed"

	# The server goes away and comes back while A and C work.
	said A ' DONE '
	pg_restart

	# B again: the card it was writing is taken back and finished by it.
	station B2 2 3
	said B2 'resumed: 1 card'
	said B2 "DONE .*$(chip 3)"
	said A ' DONE ' 2; said C ' DONE ' 2

	# Round 2: six more cards, one per reader.
	tb_swap 0 "$W/c6.card"; tb_swap 1 "$W/c7.card"; tb_swap 2 "$W/c8.card"
	tb_insert 3 "$W/c9.card"; tb_swap 4 "$W/c10.card"; tb_swap 5 "$W/c11.card"
	said A ' DONE ' 4; said B2 ' DONE ' 3; said C ' DONE ' 4
	# Round 3: the last card.
	tb_swap 0 "$W/c12.card"
	said A ' DONE ' 5
	kill -TERM "${PID[A]}" "${PID[B2]}" "${PID[C]}"
	wait "${PID[A]}" "${PID[B2]}" "${PID[C]}" || true
	for k in A C B2; do
		# shellcheck disable=SC2034 # fail shows $OUT
		! grep -q FAILED "$W/$k.out" || { OUT=$W/$k.out; fail "station $k failed a card"; }
	done
	grep -q 'journal.server-lost' "$W/A.out" "$W/C.out" ||
		echo "note: no station met the restart in a statement (it was idle then)"

	# On the cards: twelve certificates, each the bundle's, each once,
	# each with its key. In slot 4: OpenSC's PKCS#11 module shows the
	# slots of four readers only, and not the first pair's of six.
	: >"$W/on-cards"
	tb_remove 0; tb_remove 1; tb_remove 2; tb_remove 3; tb_remove 5
	for k in $(seq 1 12); do
		tb_swap 4 "$W/c$k.card"
		got=$(card_serial 4)
		echo "card c$k ($(chip "$k")) holds certificate $got"
		[ -n "$got" ] || fail "card c$k holds no certificate"
		card_holds 4 "$got"
		echo "$got" >>"$W/on-cards"
	done
	cut -f1 "$W/b/expect.tsv" | tail -n +2 | sort >"$W/want"
	sort "$W/on-cards" | diff -q - "$W/want" >/dev/null ||
		fail "the cards do not hold the 12 certificates once each: $(sort "$W/on-cards" | uniq -d)"

	# In the journal.
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'done'")" -eq 12 ] ||
		fail "not 12 records done: $(sql "SELECT state, count(*) FROM records GROUP BY state")"
	[ "$(sql "SELECT count(*) FROM issuances i JOIN issuances v ON
		v.record_id = i.record_id AND v.card_id = i.card_id AND
		v.outcome = 'verified' JOIN cards c ON c.id = i.card_id WHERE
		i.outcome = 'interrupted' AND c.chip_serial = '$(chip 3)'")" -eq 1 ] ||
		fail "the killed station's write was not finished on its own card"
	[ "$(sql "SELECT count(DISTINCT operator) FROM issuances WHERE outcome = 'verified'")" -eq 3 ] ||
		fail "not three stations' work: $(sql "SELECT operator, count(*) FROM issuances GROUP BY operator")"
	invariants
	"$CS_BIN" log check
}

"$1"
echo "PASS: $1"
