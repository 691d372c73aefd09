#!/bin/bash
# The demo's story, step by step, as an ID-card office would live it.
set -euo pipefail
: "${CS_BIN:?}" "${CS_BUILD:?}" "${CS_SRC:?}"
work=$(mktemp -d /tmp/cardstation-demo.XXXXXX)
INST="National Institute of Informatics, Academe Campus"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. The administrator downloads clientAll.zip and clientAllPin.zip (here: generated, 5 people)"
"$CS_BUILD/tests/gen/upkigen" --out "$work" --people 5
ls -l "$work"/*.zip

say "2. cardstation inspect checks every record without a card"
"$CS_BIN" inspect "$work/clientAll.zip" "$work/clientAllPin.zip" --institution "$INST"

echo
echo "demo files are in $work"
