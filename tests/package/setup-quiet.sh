#!/bin/bash
# tests/setup.sh is quiet (issue 17): one line per step, apt's output in a
# log shown only when a step fails. Run against stand-ins for dpkg-query
# (nothing installed), apt-get (a flood of progress lines, failing on
# demand) and locale: nothing on this machine is installed or changed.
set -euo pipefail
: "${CS_SRC:?}"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

mkdir "$t/bin"
cat >"$t/bin/dpkg-query" <<'STUB'
#!/bin/sh
echo "unknown ok not-installed"
STUB
cat >"$t/bin/apt-get" <<'STUB'
#!/bin/sh
for i in 1 2 3 4 5 6 7 8 9; do echo "Get:$i http://deb.example bookworm/main flood-$i"; done
echo "Selecting previously unselected package flood." >&2
[ "$1" = install ] && [ "${STUB_APT_FAIL:-}" = 1 ] && { echo "E: Unable to locate package flood" >&2; exit 100; }
exit 0
STUB
cat >"$t/bin/locale" <<'STUB'
#!/bin/sh
echo ja_JP.utf8
STUB
chmod +x "$t/bin"/*

run() { PATH=$t/bin:$PATH CS_SETUP_LOG=$t/setup.log bash "$CS_SRC/tests/setup.sh"; }

out=$(run 2>&1) || bad "setup failed with a working apt: $out"
[ "$(wc -l <<<"$out")" = 2 ] || bad "not one line per step (update, install): $out"
grep -q 'flood\|Selecting' <<<"$out" && bad "apt's output reached the terminal: $out"
grep -q 'flood-9' "$t/setup.log" || bad "apt's output is not in the log"

rc=0
out=$(STUB_APT_FAIL=1 run 2>&1) || rc=$?
[ "$rc" != 0 ] || bad "setup went on after apt-get install failed"
grep -q 'FAILED: installing' <<<"$out" || bad "the failed step is not named: $out"
grep -q 'E: Unable to locate package flood' <<<"$out" || bad "apt's error is not shown: $out"
[ "$fail" = 0 ] && echo "setup is quiet, and says why when it fails"
exit $fail
