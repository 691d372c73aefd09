#!/bin/bash
# ab.sh OLD_BUILD NEW_BUILD [ROUNDS [CARDS]] - one card's journal time of
# two builds side by side in one run (bench_pg_card, card.c): a change to
# the journal measured against the build before it. Each round runs both
# builds (the order swapped every round), each on a fresh SQLite file and a
# fresh database of one PostgreSQL server of its own (pgtest.sh), CARDS
# cards each; then the median of one card's total per build and backend,
# and new/old. Both builds Release, with bench_pg_card and cardstation:
#   cmake --build B --target bench_pg_card cardstation
set -euo pipefail
old=$1 new=$2 rounds=${3:-20} cards=${4:-50}
here=$(cd "$(dirname "$0")" && pwd)
pgtest=$here/../../pg/pgtest.sh
work=$(mktemp -d /tmp/cs-bench-ab.XXXXXX)
chmod o+x "$work"
trap '"$pgtest" stop "$work/server" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$pgtest" start "$work/server" >/dev/null
for r in $(seq 1 "$rounds"); do
	order="old new"
	[ $((r % 2)) = 1 ] || order="new old"
	for b in $order; do
		if [ "$b" = old ]; then dir=$old; else dir=$new; fi
		uri=$("$pgtest" createdb "$work/server" "ab_${b}_$r")
		CARDSTATION_JOURNAL=$uri "$dir/station/cardstation" journal init >/dev/null
		"$dir/tests/bench/pg/bench_pg_card" "$cards" "sqlite=$work/$b.$r.db" \
			"pg=$uri" | sed "s/^/$b /" >>"$work/times"
	done
done
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-8s %10s %10s %8s\n' journal "old ms" "new ms" new/old
for backend in sqlite pg; do
	o=$(awk -v e="$backend" '$1 == "old" && $2 == e { print $9 / 1000 }' "$work/times" | median)
	n=$(awk -v e="$backend" '$1 == "new" && $2 == e { print $9 / 1000 }' "$work/times" | median)
	printf '%-8s %10.2f %10.2f %8.2f\n' "$backend" "$o" "$n" "$(echo "$n / $o" | bc -l)"
done
echo "($((rounds * cards)) cards per build and journal)"
