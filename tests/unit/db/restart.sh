#!/bin/bash
# restart.sh PGTEST DIR PROGRAM - a test server of PROGRAM's own in DIR
# (it restarts it), started, used, stopped whatever PROGRAM says.
set -euo pipefail
pgtest=$1 dir=$2 prog=$3
"$pgtest" start "$dir" >/dev/null
trap '"$pgtest" stop "$dir"' EXIT
export CS_PGTEST=$pgtest
"$pgtest" with-db "$dir" restart_test -- "$prog"
