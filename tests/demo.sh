#!/bin/bash
# The demo: set up a fresh Debian 12 machine (as root), build, generate a
# sample UPKI download and show what the station makes of it. Later parts
# of the demo (cards) run when their parts are built.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${CS_BUILD_DIR:-$src/build-demo}

"$src/tests/setup.sh"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
export CS_BIN="$build/station/cardstation" CS_SRC="$src" CS_BUILD="$build"
exec bash "$src/tests/demo/story.sh"
