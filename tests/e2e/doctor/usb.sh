#!/bin/bash
# usb.sh - doctor's USB findings for a kiosk's devices, emulated by umockdev
# from usb.umockdev (run inside tests/testbed/testbed, so that the pcscd it
# asks is the bench's): two identical listed readers (SCR3310, serials ...01
# and ...02) that pcscd does not show, a CCID device no driver lists, a USB
# keyboard that is no reader. pcscd itself cannot open emulated devices, so
# "served" is covered by the unit tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${CS_BIN:?}"
fail=0
expect() { # WHAT REGEX FILE
	if grep -qE -- "$2" "$3"; then echo "ok: $1"
	else echo "FAIL: $1: no /$2/ in"; cat "$3"; fail=1; fi
}
expect_rc() { # WHAT WANT GOT
	if [ "$2" = "$3" ]; then echo "ok: $1 (exit $3)"
	else echo "FAIL: $1: exit $3, want $2"; fail=1; fi
}
rc=0
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	umockdev-run -d "$here/usb.umockdev" -- \
	"$CS_BIN" doctor --json --skip setup,clock,journal,opensc \
	>"$TB_DIR/4.json" || rc=$?
expect_rc "USB trouble is reported" 1 $rc
expect "listed reader 1-2, not shown by pcscd" '"check":"usb","severity":"warn","what":"USB reader 04e6:5116 .*serial 53311750200001 at usb:1-2 has a driver \(ifd-ccid.bundle' "$TB_DIR/4.json"
expect "identical reader 1-3 apart by serial" '"severity":"warn","what":"USB reader 04e6:5116 .*serial 53311750200002 at usb:1-3' "$TB_DIR/4.json"
expect "unlisted CCID device: no driver" '"check":"usb","severity":"fail","what":"USB smart-card reader 1209:0001 .*at usb:1-4 has no PC/SC driver: the Info.plist of no installed driver \(ifd-ccid.bundle' "$TB_DIR/4.json"
expect "keyboard not a reader" '"check":"usb","severity":"info","what":"1 other USB device' "$TB_DIR/4.json"
if grep -q '046d:c31c' "$TB_DIR/4.json"; then echo "FAIL: keyboard judged as a reader"; fail=1; fi
exit $fail
