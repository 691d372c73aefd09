#!/bin/bash
# flood.sh [CS_BIN] - the kiosk under the floods of issue 12 (1000 SSE
# streams; 80 slow half-open requests) from a program without the key,
# while the operator keeps reloading the page: reload times side by side
# with the kiosk at rest, and the kiosk's threads, memory and descriptors.
# Makes its own operator account (root; 77 otherwise). Figures mean most
# from a Release build without sanitizers:
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench
#   sudo tests/bench/kiosk/flood.sh build-bench/station/cardstation
# Environment: BENCH_SECONDS (per phase, 20), BENCH_SSE (1000),
# BENCH_SLOW (80), BENCH_WORK (a new /tmp/cs-bench-kiosk.* by default).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
CS_BIN=${1:-${CS_BIN:-$src/build-bench/station/cardstation}}
export CS_SRC=$src
[ -x "$CS_BIN" ] || { echo "bench: $CS_BIN not found (build it first)" >&2; exit 2; }
if ldd "$CS_BIN" 2>/dev/null | grep -q libasan; then
	echo "bench: WARNING: $CS_BIN is built with ASan; memory figures mean little" >&2
fi
source "$src/tests/e2e/kiosk/accounts.sh"
work=${BENCH_WORK:-$(mktemp -d /tmp/cs-bench-kiosk.XXXXXX)}
mkdir -p "$work"
kiosk=
cleanup() {
	ks_kiosk_stop "$kiosk"
	ks_accounts_remove
}
trap cleanup EXIT
rc=0
ks_accounts_create "$work" || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
install -d -m 0700 "$work/run"
export CARDSTATION_JOURNAL=$work/journal.db
exec 3< <(exec "$CS_BIN" kiosk --listen 127.0.0.1:0 --www "$src/kiosk/www" \
	--import-root "$work" --key-file "$work/run/launch" \
	--pam-confdir "$KS_PAMDIR" --role-groups "$KS_ROLES" 2>"$work/kiosk.log")
kiosk=$!
read -r -t 60 KS_URL <&3 || { echo "kiosk did not start" >&2; cat "$work/kiosk.log" >&2; exit 1; }
KS_LAUNCH=$(head -n 1 "$work/run/launch")
export KS_URL KS_LAUNCH KS_PID=$kiosk BENCH_REPORT=$work/report.txt
echo "# $CS_BIN" >"$BENCH_REPORT"
node "$here/flood.mjs" || rc=$?
echo "report: $BENCH_REPORT"
exit "$rc"
