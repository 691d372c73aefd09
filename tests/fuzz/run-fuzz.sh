#!/bin/sh
# run-fuzz.sh TARGET CORPUS WORKDIR SECONDS [libFuzzer options...]
#
# Fuzz a copy of CORPUS (the tree is never written) for SECONDS. Every seed
# runs first, so a reproducer kept in the corpus is a regression test. A
# crash, a leak or a broken property exits non-zero (the ctest test fails);
# the input is saved as WORKDIR/crashes/crash-* (or leak-*, timeout-*).
set -eu
bin=$1
corpus=$2
work=$3
secs=$4
shift 4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/crashes"
cp "$corpus"/* "$work/corpus/"
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$work/crashes/" "$@" \
	"$work/corpus"
