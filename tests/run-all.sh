#!/bin/bash
# Set up a fresh Debian 12 machine (as root) and run the whole test suite:
# warnings-as-errors builds (ASan+UBSan for the tests, and -O2), then every
# ctest test but the benchmarks, the e2e suite again on PostgreSQL, then
# the fuzz targets for a short while (a
# Clang build of their own). CI (.ci/run) runs exactly this.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${CS_BUILD_DIR:-$src/build-ci}

"$src/tests/setup.sh"
cmake -S "$src" -B "$build" -DCS_WERROR=ON -DCS_SANITIZE=ON \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)"
# An optimised build too: some warnings (truncation, overlap) appear only
# with -O2, and they are errors as well.
cmake -S "$src" -B "$build-release" -DCS_WERROR=ON \
	-DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build-release" -j"$(nproc)"
# Fuzzing: Clang's libFuzzer on every parser of outside input
# (tests/fuzz); only the fuzz targets are built. Each ctest test fuzz.*
# runs one target for CS_FUZZ_SECONDS on a copy of its seed corpus.
CC=clang-14 cmake -S "$src" -B "$build-fuzz" -DCS_FUZZ=ON -DCS_WERROR=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCS_FUZZ_SECONDS=15 >/dev/null
cmake --build "$build-fuzz" -j"$(nproc)" --target fuzz_targets
cd "$build"
ctest --output-on-failure -j"$(nproc)" -LE bench "$@"
# The e2e suite again with every story's journal on the tests' own
# PostgreSQL server (tests/testbed/journal.sh); the stories labelled pg are
# on it already.
CS_TEST_JOURNAL=pg ctest --output-on-failure -j"$(nproc)" -L e2e -LE 'bench|pg' "$@"
cd "$build-fuzz"
ctest --output-on-failure -j"$(nproc)" -L fuzz
