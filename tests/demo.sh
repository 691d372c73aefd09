#!/bin/bash
# The demo: set up a fresh Debian 12 machine (as root), build, generate a
# sample UPKI download and show what the station makes of it. Later parts
# of the demo (cards) run when their parts are built.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${CS_BUILD_DIR:-$src/build-demo}

"$src/tests/setup.sh"
# One line for the build too; its output only when it fails.
echo "demo: building in $build"
mkdir -p "$build"
if ! { cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
    cmake --build "$build" -j"$(nproc)"; } >"$build/demo-build.log" 2>&1; then
	tail -n 40 "$build/demo-build.log" >&2
	exit 1
fi
export CS_BIN="$build/station/cardstation" CS_SRC="$src" CS_BUILD="$build"
exec bash "$src/tests/demo/story.sh"
