#!/bin/bash
# nopcscd.sh - doctor on a machine where pcscd does not run: a private
# mount namespace with an empty /run/pcscd (no socket, no daemon), so the
# machine's own pcscd, if any, is neither seen nor touched.
set -euo pipefail
: "${CS_BIN:?}"
if [ -z "${CS_NOPCSCD_INSIDE:-}" ]; then
	export CS_NOPCSCD_INSIDE=1
	exec unshare --mount --propagation private -- "$0" "$@"
fi
mkdir -p /run/pcscd
mount -t tmpfs none /run/pcscd
unset PCSCLITE_CSOCK_NAME
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0; "$CS_BIN" doctor --json --skip setup,usb >"$out" || rc=$?
cat "$out"
[ $rc -eq 1 ] || { echo "FAIL: exit $rc, want 1"; exit 1; }
grep -qE '"check":"pcscd","severity":"fail","what":"pcscd is not running and its socket /run/pcscd/pcscd.comm does not exist' "$out" ||
	{ echo "FAIL: no pcscd failure"; exit 1; }
grep -qE '"todo":"(start it: `systemctl enable --now pcscd.socket`|install it)' "$out" ||
	{ echo "FAIL: no advice"; exit 1; }
# Each finding travels as a code that `cardstation codes` lists, with its
# parameters; a missing pcscd is doctor.pcscd.not-running naming the socket.
codes=$(mktemp)
trap 'rm -f "$out" "$codes"' EXIT
"$CS_BIN" codes --json >"$codes"
unlisted=$(jq -r --slurpfile t "$codes" '.findings[] |
	select((.code | type) != "string" or ($t[0][.code] == null) or
	    ((.params | type) != "object")) | .what' "$out")
[ -z "$unlisted" ] || { echo "FAIL: findings without a listed code: $unlisted"; exit 1; }
jq -e '[.findings[] | select(.code == "doctor.pcscd.not-running" and
	.params.socket == "/run/pcscd/pcscd.comm")] | length == 1' "$out" >/dev/null ||
	{ echo "FAIL: no doctor.pcscd.not-running with its socket"; exit 1; }
echo ok
