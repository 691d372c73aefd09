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
echo ok
