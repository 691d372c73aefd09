#!/bin/bash
# bench.sh - the journal on PostgreSQL (issue 16), on a PostgreSQL 15
# server of the bench's own (tests/pg/pgtest.sh: initdb, a Unix socket in
# the work directory, fsync on as installed):
#
# Part 1, the journal's share of one card, PostgreSQL against SQLite, side
#   by side in one run: bench_pg_card (card.c) makes, card after card and
#   the two journals in turn, the journal transactions a station's reader
#   makes for one blank card (find the card, claim the next record, the
#   'writing' transaction, the 'verified' transaction, the run's counts),
#   BENCH_JOURNAL_CARDS cards each; medians per step and PG/SQLite.
#   The SQLite file lies in the work directory, beside the server's data
#   (the same disk).
# Part 2, cards per hour with 1, 2 and 3 stations on one run: for each
#   count a fresh database and a run of BENCH_PEOPLE people; each station is
#   `cardstation encode` in a test bench of its own with
#   BENCH_READERS_PER_STATION readers (station.sh) and a host name of its
#   own (a UTS namespace): one counter's PC, its pcscd, its readers
#   (tests/testbed/pc.sh). The stations' clocks start together; each
#   reader is fed a blank card with cardsim --latency real whenever it is free,
#   while the run has people left (tickets shared by all stations). cards/h
#   = people x 3600 / (last DONE - start), and the ratio to 1 station; the
#   CPU of the server (its postmaster and backends) and of the machine.
#   Then, as a control, one station with as many readers as the most
#   stations, on PostgreSQL and on a SQLite file (BENCH_CONTROL=0: not).
#   Afterwards the journal must hold every record done, no certificate on
#   two cards, and `log check` intact.
#
# A benchmark, never a timed test: it fails only if a card is not written
# or the journal is wrong. Environment: CS_BIN, CS_SRC, CS_BUILD, UPKIGEN,
# CS_PGCARD, CS_PGTEST, CS_TESTBED (ctest sets them); BENCH_PEOPLE (24:
# a multiple of 2, 4 and 6 readers), BENCH_STATIONS ("1 2 3"),
# BENCH_READERS_PER_STATION (2), BENCH_JOURNAL_CARDS (200), BENCH_ROUNDS
# (1: the station counts once each; more rounds alternate them), BENCH_WORK
# (report dir; its path must be short enough for a Unix socket).
set -euo pipefail
: "${CS_BIN:?}" "${CS_SRC:?}" "${CS_BUILD:?}" "${UPKIGEN:?}"
CS_PGCARD=${CS_PGCARD:-$CS_BUILD/tests/bench/pg/bench_pg_card}
CS_PGTEST=${CS_PGTEST:-$CS_SRC/tests/pg/pgtest.sh}
CS_TESTBED=${CS_TESTBED:-$CS_SRC/tests/testbed/testbed}
# One station's PC, as the e2e story of three stations has them.
PC=$CS_SRC/tests/testbed/pc.sh
PEOPLE=${BENCH_PEOPLE:-24}
STATIONS=${BENCH_STATIONS:-1 2 3}
PER_STATION=${BENCH_READERS_PER_STATION:-2}
JCARDS=${BENCH_JOURNAL_CARDS:-200}
ROUNDS=${BENCH_ROUNDS:-1}
CONTROL=${BENCH_CONTROL:-1}
OUTDIR=${BENCH_WORK:-$(mktemp -d /tmp/cs-bench-pg.XXXXXX)}
REPORT=$OUTDIR/report.txt
SERVER=$OUTDIR/server
INST="National Institute of Informatics, Academe Campus"
PGBIN=${CS_PGBIN:-/usr/lib/postgresql/15/bin}
export CARDSTATION_PROFILES=${CARDSTATION_PROFILES:-$CS_SRC/cardprofiles}
# The office's PIN and PUK (test values, as the cardsim stories).
export CS_PIN=123456 CS_PUK=0123456789abcdef

fail() { echo "bench: $*" >&2; exit 1; }
say() { echo "$*" | tee -a "$REPORT"; }
# the middle value (the mean of the two middle ones for an even count)
median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }
cpu_now() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
# user+sys of the postmaster and of its children that ended (the backends
# of connections closed), in seconds.
pg_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15 + $16 + $17) / hz }' \
		"/proc/$(head -1 "$SERVER/data/postmaster.pid")/stat"
}
for tool in "$CS_BIN" "$UPKIGEN" "$CS_PGCARD" "$CS_PGTEST" "$CS_TESTBED" "$PC"; do
	[ -x "$tool" ] || fail "$tool not found (build first)"
done
if ldd "$CS_BIN" 2>/dev/null | grep -q libasan; then
	echo "bench: WARNING: $CS_BIN is built with ASan; figures mean little" >&2
fi
mkdir -p "$OUTDIR"
chmod o+x "$OUTDIR" # the server runs as nobody
trap '"$CS_PGTEST" stop "$SERVER" >/dev/null 2>&1 || true' EXIT
"$CS_PGTEST" start "$SERVER" >/dev/null
newdb() { # NAME: a fresh database with the journal's schema; prints its URI
	local uri
	uri=$("$CS_PGTEST" createdb "$SERVER" "$1")
	"$CS_BIN" journal init --journal "$uri" >/dev/null || fail "journal init"
	echo "$uri"
}

: >"$REPORT"
rm -f "$OUTDIR/cph"
say "# cardstation PostgreSQL bench, $(date -u +%FT%TZ), $(nproc) cores, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), SQLite $(sqlite3 --version | awk '{print $1}')"
say "# station: $CS_BIN"

journal_part() {
	local d=$OUTDIR/journal uri s q trips
	rm -rf "$d"; mkdir -p "$d"
	uri=$(newdb bench_card)
	"$CS_PGCARD" "$JCARDS" "sqlite=$d/journal.db" "pg=$uri" >"$d/times" ||
		fail "bench_pg_card"
	say ""
	say "== The journal's share of one card, $JCARDS cards each, alternately (medians, ms) =="
	printf '%-22s %9s %9s %9s\n' step SQLite PostgreSQL PG/SQLite | tee -a "$REPORT"
	local names=(- - "find the card" "claim a record" "'writing' tx" "'verified' tx" "run's counts" "one card, all")
	for col in 3 4 5 6 7 8; do
		s=$(awk -v c=$col '$1 == "sqlite" { print $c / 1000 }' "$d/times" | median)
		q=$(awk -v c=$col '$1 == "pg" { print $c / 1000 }' "$d/times" | median)
		printf '%-22s %9.2f %9.2f %9s\n' "${names[col - 1]}" "$s" "$q" "$(ratio "$q" "$s")" |
			tee -a "$REPORT"
	done
	say "(per card: $(awk '$1 == "sqlite"' "$d/times" | wc -l) SQLite, $(awk '$1 == "pg"' "$d/times" | wc -l) PostgreSQL; p90 all:" \
		"SQLite $(awk '$1 == "sqlite" { print $8 / 1000 }' "$d/times" | sort -g | awk '{ v[NR] = $1 } END { print v[int(NR * 0.9)] }') ms," \
		"PostgreSQL $(awk '$1 == "pg" { print $8 / 1000 }' "$d/times" | sort -g | awk '{ v[NR] = $1 } END { print v[int(NR * 0.9)] }') ms)"
	# What a server farther away than this socket would add: the round
	# trips of one card (libpq sends each statement in one send; between
	# two of bench_pg_card's per-card writes), on a fresh database.
	if command -v strace >/dev/null; then
		strace -f -qq -e trace=sendto,write -o "$d/strace" \
			"$CS_PGCARD" 5 "pg=$(newdb bench_trips)" >/dev/null || fail "bench_pg_card (strace)"
		trips=$(awk '/ write\(1, / { if (seen) print n; seen = 1; n = 0; next }
			/ sendto\(/ { n++ }' "$d/strace" | median)
		say "PostgreSQL round trips per card: $trips (each adds the network's round-trip time:" \
			"$(awk -v n="$trips" 'BEGIN { printf "%.1f", n * 0.5 }') ms at 0.5 ms)"
	fi
	# Both journals hold what the cards did, and prove it.
	"$CS_BIN" log check --journal "$d/journal.db" >/dev/null || fail "log check (SQLite)"
	"$CS_BIN" log check --journal "$uri" >/dev/null || fail "log check (PostgreSQL)"
}

# One count of stations on a fresh run: DIR K READERS JOURNAL (pg or
# sqlite) LABEL; its cards/h to DIR/cph, its row of the table to DIR/row.
stations_once() {
	local d=$1 k=$2 nr=$3 backend=$4 label=$5 uri t0 t1 secs cph i c0 c1 tot0 tot1 p0 p1 sname per claim ver
	rm -rf "$d"; mkdir -p "$d/cards"
	chmod o+x "$d"
	if [ "$backend" = pg ]; then uri=$(newdb "bench_$(basename "$d" | tr . _)")
	else uri=$d/journal.db; fi
	export CARDSTATION_JOURNAL=$uri
	"$CS_BIN" run new "$OUTDIR/b/clientAll.zip" "$OUTDIR/b/clientAllPin.zip" \
		--institution "$INST" --operator bench >/dev/null || [ $? -eq 1 ] || fail "run new"
	echo "$PEOPLE" >"$d/tickets"
	mkfifo "$d/ready"
	local -a pids=()
	for ((i = 0; i < k; i++)); do
		sname=$(printf 'station%d' $((i + 1)))
		mkfifo "$d/go.$sname"
		# A PC of its own (pc.sh): its host name, its pcscd, its readers.
		CS_TESTBED=$CS_TESTBED "$PC" "bench-$sname" "$nr" -- \
			"$CS_SRC/tests/bench/pg/station.sh" "$sname" "$i" "$d" \
			>"$d/testbed.$sname.log" 2>&1 &
		pids+=($!)
	done
	# Every station's readers wait for a card: the clocks start.
	exec {rd}<>"$d/ready"
	for ((i = 0; i < k; i++)); do read -r _ <&"$rd"; done
	exec {rd}<&-
	read -r c0 tot0 < <(cpu_now)
	p0=$(pg_cpu)
	t0=$EPOCHREALTIME
	for ((i = 0; i < k; i++)); do echo go >"$d/go.station$((i + 1))"; done
	for i in "${pids[@]}"; do wait "$i" || true; done
	read -r c1 tot1 < <(cpu_now)
	p1=$(pg_cpu)
	i=$(cat "$d"/done.* | wc -l)
	[ "$i" -eq "$PEOPLE" ] || {
		cat "$d"/testbed.*.log >&2
		fail "$k stations: $i of $PEOPLE cards done (see $d)"
	}
	t1=$(cat "$d"/done.* | awk '{ print $1 }' | sort -g | tail -1)
	secs=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
	cph=$(echo "$PEOPLE $t0 $t1" | awk '{ printf "%d", $1 * 3600 / ($3 - $2) }')
	per=$(for f in "$d"/done.*; do wc -l <"$f"; done | paste -sd/)
	# As the stations saw them (their output lines, so with the pipe's and
	# the scheduler's delays): the claim (from "step 2" to the holder's
	# line) and the 'verified' transaction (from "step 5" to DONE).
	claim=$(cat "$d"/log.* | awk '{ split($2, s, "]"); r = s[1] }
		$3 == "step" && $4 == 2 { t[r] = $1 } $3 == "for" && (r in t) {
		printf "%.1f\n", ($1 - t[r]) * 1000; delete t[r] }' | median)
	ver=$(cat "$d"/log.* | awk '{ split($2, s, "]"); r = s[1] }
		$3 == "step" && $4 == 5 { t[r] = $1 } $3 == "DONE" && (r in t) {
		printf "%.1f\n", ($1 - t[r]) * 1000; delete t[r] }' | median)
	echo "$cph" >"$d/cph"
	printf '%-16s %7s %6s %8s %8s %-7s %-15s %9s %10s %10s %9s\n' "$label" $((k * nr)) "$PEOPLE" \
		"$secs" "$cph" X "$per" "$claim" "$ver" \
		"$(echo "$p0 $p1" | awk '{ printf "%.1fs", $2 - $1 }')" \
		"$(echo "$c0 $c1 $tot0 $tot1" | awk '{ printf "%d%%", 100 * ($2 - $1) / ($4 - $3) }')" >"$d/row"
	# The journal: every record done once, no certificate verified on two
	# cards, the chain intact.
	[ "$(sql_on "$uri" "SELECT count(*) FROM records WHERE state = 'done'")" -eq "$PEOPLE" ] ||
		fail "$k stations: not $PEOPLE records done"
	[ "$(sql_on "$uri" "SELECT count(*) FROM (SELECT cert_serial FROM issuances
		WHERE outcome = 'verified' GROUP BY cert_serial HAVING count(*) > 1) AS twice")" -eq 0 ] ||
		fail "$k stations: a certificate verified on two cards"
	"$CS_BIN" log check --journal "$uri" >/dev/null || fail "$k stations: log check"
}
sql_on() { # JOURNAL SQL
	case $1 in
	postgresql://*) "$PGBIN/psql" -X -A -t -q -d "$1" -c "$2" ;;
	*) sqlite3 "$1" "$2" ;;
	esac
}

stations_part() {
	local k r cph base all last key
	"$UPKIGEN" --out "$OUTDIR/b" --people "$PEOPLE" --seed 1 >/dev/null 2>&1 || fail "upkigen"
	say ""
	say "== Cards per hour, one run of $PEOPLE people on PostgreSQL, latency real, $PER_STATION readers per station, $ROUNDS round(s) =="
	printf '%-16s %7s %6s %8s %8s %-7s %-15s %9s %10s %10s %9s\n' stations readers cards wall_s cards/h "x 1" \
		"cards/station" "claim_ms" "verified_ms" "server_cpu" "machine" | tee -a "$REPORT"
	for ((r = 1; r <= ROUNDS; r++)); do
		base=""
		for k in $STATIONS; do
			row "$r.s$k" "$k" "$PER_STATION" pg "$k"
		done
		# The same readers as the most stations, in one station: on
		# PostgreSQL, then on a SQLite file (the machine's own limit,
		# and what the server costs).
		if [ "$CONTROL" = 1 ]; then
			last=${STATIONS##* }
			row "$r.one" 1 $((last * PER_STATION)) pg "1 (control)"
			row "$r.sqlite" 1 $((last * PER_STATION)) sqlite "1 (SQLite)"
		fi
	done
	if [ "$ROUNDS" -gt 1 ]; then
		say "medians of $ROUNDS rounds:"
		base=$(awk -v k="${STATIONS%% *}/$PER_STATION" '$1 == k { print $2 }' "$OUTDIR/cph" | median)
		# shellcheck disable=SC2013 # keys are words (no spaces)
		for key in $(awk '{ print $1 }' "$OUTDIR/cph" | awk '!seen[$0]++'); do
			cph=$(awk -v k="$key" '$1 == k { print $2 }' "$OUTDIR/cph" | median | awk '{ printf "%d", $1 }')
			all=$(awk -v k="$key" '$1 == k { print $2 }' "$OUTDIR/cph" | paste -sd' ')
			say "  stations $(echo "${key%/*}" | tr _ ' '), ${key#*/} readers each: $cph cards/h," \
				"x $(ratio "$cph" "$base") (rounds: $all)"
		done
	fi
	say "(x 1: against 1 station of the same round; control: one station with as many readers"
	say " as the most stations, on PostgreSQL and on SQLite; claim_ms, verified_ms: medians as the"
	say " stations' output shows them, from 'step 2' to the holder's line and from 'step 5' to"
	say " DONE; server_cpu: user+sys of the postmaster and its backends; machine: busy share of"
	say " all $(nproc) cores from /proc/stat while cards were written)"
}

row() { # NAME STATIONS READERS JOURNAL LABEL: one row of the table
	local d=$OUTDIR/r$1 cph
	stations_once "$d" "$2" "$3" "$4" "$5"
	cph=$(cat "$d/cph")
	[ -n "$base" ] || base=$cph
	echo "$(echo "$5" | tr ' ' _)/$3 $cph" >>"$OUTDIR/cph"
	sed "s/ X / $(printf '%-7s' "$(ratio "$cph" "$base")") /" "$d/row" | tee -a "$REPORT"
}

journal_part
stations_part
say "report: $REPORT"
