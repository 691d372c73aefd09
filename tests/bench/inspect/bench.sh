#!/bin/bash
# bench.sh [CS_BIN] - `cardstation inspect` against the administrator's loop.
#
# For each bundle size: generate a bundle with upkigen, then time, side by
# side, (a) `cardstation inspect clientAll.zip clientAllPin.zip` (median of
# BENCH_RUNS runs, peak RSS from GNU time) and (b) baseline.sh, the openssl
# loop an administrator would script. Prints a table; also saved as
# $BENCH_WORK/report.txt. A benchmark, never a timed test: it fails only
# when a side gives a wrong answer, never because it is slow.
#
# Environment:
#   CS_BIN              cardstation binary (or argument 1); bench a Release
#                       build without sanitizers, e.g.
#                       cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
#   UPKIGEN             the generator (default: next to CS_BIN's build)
#   BENCH_SIZES         people per bundle (default "2000 20000")
#   BENCH_BASELINE_MAX  largest size the baseline runs for (default 20000;
#                       it costs ~55 ms a person)
#   BENCH_RUNS          inspect runs per size (default 3)
#   BENCH_WORK          work directory (default a new /tmp/cs-bench-inspect.*)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
CS_BIN=${1:-${CS_BIN:-$src/build-bench/station/cardstation}}
build=$(cd "$(dirname "$CS_BIN")/.." && pwd)
UPKIGEN=${UPKIGEN:-$build/tests/gen/upkigen}
SIZES=${BENCH_SIZES:-2000 20000}
BASELINE_MAX=${BENCH_BASELINE_MAX:-20000}
RUNS=${BENCH_RUNS:-3}
WORK=${BENCH_WORK:-$(mktemp -d /tmp/cs-bench-inspect.XXXXXX)}
TIME=/usr/bin/time # GNU time (Debian package `time`): %e wall, %M peak RSS

for tool in "$TIME" "$UPKIGEN" "$CS_BIN"; do
	[ -x "$tool" ] || { echo "bench: $tool not found (build it first)" >&2; exit 2; }
done
"$CS_BIN" inspect --help >/dev/null 2>&1 ||
	{ echo "bench: $CS_BIN has no working 'inspect' yet" >&2; exit 2; }
if ldd "$CS_BIN" 2>/dev/null | grep -q libasan; then
	echo "bench: WARNING: $CS_BIN is built with ASan; figures mean little" >&2
fi
mkdir -p "$WORK"
report=$WORK/report.txt
fails=0

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

{
	echo "# cardstation inspect vs openssl loop ($(date -u +%FT%TZ), $(nproc) cores)"
	echo "# inspect: $CS_BIN"
	echo "# openssl: $(openssl version)"
	printf '%-7s %8s %11s %12s %11s %8s\n' people gen_s inspect_s inspect_MiB \
		baseline_s ratio
} | tee "$report"

for n in $SIZES; do
	d=$WORK/n$n
	rm -rf "$d"
	gen_s=$("$TIME" -f %e "$UPKIGEN" --out "$d" --people "$n" --seed 1 \
		2>&1 >/dev/null | tail -1)

	# (a) inspect, straight from the zips; RSS is the largest of the runs.
	walls=() rss=0
	for ((i = 0; i < RUNS; i++)); do
		st=0
		"$TIME" -f '%e %M' -o "$d/inspect.time" "$CS_BIN" inspect \
			"$d/clientAll.zip" "$d/clientAllPin.zip" >"$d/inspect.out" \
			2>"$d/inspect.err" || st=$?
		read -r w m <"$d/inspect.time"
		walls+=("$w")
		((m > rss)) && rss=$m
	done
	inspect_s=$(printf '%s\n' "${walls[@]}" | median)
	if [ "$st" != 0 ] || ! grep -q "^$n records: $n usable, 0 refused" "$d/inspect.out"; then
		echo "bench: inspect did not find $n usable records (exit $st)" >&2
		tail -3 "$d/inspect.out" "$d/inspect.err" >&2
		fails=$((fails + 1))
	fi

	# (b) the administrator's loop, over the same files.
	base_s=- ratio=-
	if [ "$n" -le "$BASELINE_MAX" ]; then
		st=0
		"$TIME" -f %e -o "$d/baseline.time" "$here/baseline.sh" \
			"$d/clientAll.zip" "$d/clientAllPin.zip" "$d/extracted" \
			>"$d/baseline.out" 2>&1 || st=$?
		base_s=$(tail -1 "$d/baseline.time")
		if [ "$st" != 0 ] || [ "$(grep -c '^serial=' "$d/baseline.out")" != "$n" ]; then
			echo "bench: baseline did not open $n files (exit $st)" >&2
			fails=$((fails + 1))
		fi
		rm -rf "$d/extracted"
		ratio=$(awk -v b="$base_s" -v i="$inspect_s" \
			'BEGIN { printf "%.1fx", (i > 0 ? b / i : 0) }')
	fi
	printf '%-7s %8s %11s %12.1f %11s %8s\n' "$n" "$gen_s" "$inspect_s" \
		"$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$base_s" "$ratio" |
		tee -a "$report"
done
echo "# report: $report"
[ "$fails" = 0 ]
