#!/bin/bash
# bench.sh [CS_BIN] - what proving the journal costs: the check every
# writing command (run new, encode, the desk) makes before it writes, as
# `cardstation log check` runs it, against SQLite's own whole-file check
# (`PRAGMA integrity_check`) on the same file, side by side in one run.
# A benchmark, never a timed test: it fails only on a wrong answer.
#
# Environment:
#   CS_BIN        cardstation binary (or argument 1): a Release build
#                 without sanitizers, e.g. build-bench/station/cardstation
#   CS_MKBIG      the journal maker (default: next to CS_BIN's build)
#   BENCH_EVENTS  events in the journal (default "10000 100000")
#   BENCH_RUNS    runs of each side (default 3)
#   BENCH_WORK    work directory (default a new /tmp/cs-bench-journal.*)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
CS_BIN=${1:-${CS_BIN:-$src/build-bench/station/cardstation}}
build=$(cd "$(dirname "$CS_BIN")/.." && pwd)
CS_MKBIG=${CS_MKBIG:-$build/tests/bench/journal/bench_journal_mkbig}
SIZES=${BENCH_EVENTS:-10000 100000}
RUNS=${BENCH_RUNS:-3}
WORK=${BENCH_WORK:-$(mktemp -d /tmp/cs-bench-journal.XXXXXX)}
TIME=/usr/bin/time

for tool in "$TIME" "$CS_MKBIG" "$CS_BIN"; do
	[ -x "$tool" ] || { echo "bench: $tool not found (build it first)" >&2; exit 2; }
done
if ldd "$CS_BIN" 2>/dev/null | grep -q libasan; then
	echo "bench: WARNING: $CS_BIN is built with ASan; figures mean little" >&2
fi
mkdir -p "$WORK"
report=$WORK/report.txt
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

{
	echo "# journal check vs SQLite integrity_check ($(date -u +%FT%TZ), $(nproc) cores)"
	echo "# cardstation: $CS_BIN"
	printf '%-8s %9s %10s %9s %12s %7s\n' events file_MiB check_s check_MiB \
		integrity_s ratio
} | tee "$report"

for n in $SIZES; do
	db=$WORK/j$n.db
	rm -f "$db" "$db-wal" "$db-shm"
	"$CS_MKBIG" "$db" "$n"
	# The same answer first: intact, every event read.
	"$CS_BIN" log check --journal "$db" >"$WORK/check.out"
	grep -q " intact: " \
		"$WORK/check.out" || { echo "bench: check did not say intact" >&2; exit 1; }
	[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] ||
		{ echo "bench: integrity_check failed" >&2; exit 1; }
	: >"$WORK/c" ; : >"$WORK/i"
	for _ in $(seq "$RUNS"); do
		"$TIME" -f '%e %M' -a -o "$WORK/c" "$CS_BIN" log check --journal "$db" >/dev/null
		"$TIME" -f '%e %M' -a -o "$WORK/i" sqlite3 "$db" 'PRAGMA integrity_check' >/dev/null
	done
	c=$(awk '{print $1}' "$WORK/c" | median)
	cm=$(awk '{print $2}' "$WORK/c" | median)
	i=$(awk '{print $1}' "$WORK/i" | median)
	printf '%-8s %9.1f %10s %9.1f %12s %7.2f\n' \
		"$(sqlite3 "$db" 'SELECT count(*) FROM events')" \
		"$(echo "$(stat -c %s "$db") / 1048576" | bc -l)" "$c" \
		"$(echo "$cm / 1024" | bc -l)" "$i" "$(echo "$c / $i" | bc -l)" |
		tee -a "$report"
done
echo "report: $report"
