#!/bin/bash
# udev-rules.sh RULES_FILE - the udev rules, run by the real udevadm against
# the emulated devices of usb.umockdev, never against the machine's udev:
# umockdev gives udevadm a fake /sys and /dev, and a private mount namespace
# holds our rules file as the only rules and a private /etc/group with the
# kiosk group in it. Asserts: no line of the file is rejected, a CCID reader
# gets the group, mode and uaccess tag, a keyboard gets none. (udevadm test
# does not show the SYMLINK results for umockdev's device nodes.)
set -euo pipefail

rules=${1:?usage: udev-rules.sh RULES_FILE}
here=$(cd "$(dirname "$0")" && pwd)
[ -r "$rules" ] || { echo "no rules file $rules" >&2; exit 1; }
command -v udevadm >/dev/null && command -v umockdev-run >/dev/null ||
	{ echo "needs udevadm and umockdev-run (tests/setup.sh)" >&2; exit 1; }

if [ "${1:-}" != --inside ] && [ -z "${CS_UDEV_INSIDE:-}" ]; then
	export CS_UDEV_INSIDE=1
	exec unshare --mount --propagation private -- "$0" "$@"
fi

tmp=$(mktemp -d)
cleanup() {
	umount /etc/group /run/udev /etc/udev/rules.d /usr/lib/udev/rules.d \
		2>/dev/null || true
	[ -z "${lib_bound:-}" ] || umount /lib/udev/rules.d 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/rules" "$tmp/empty" "$tmp/run"
cp "$rules" "$tmp/rules/"
cp /etc/group "$tmp/group"
echo "cardstation:x:4711:" >>"$tmp/group"
mount --bind "$tmp/rules" /usr/lib/udev/rules.d
# Without merged /usr, /lib/udev/rules.d is a second rules directory.
if [ -d /lib/udev/rules.d ] &&
	[ "$(readlink -f /lib/udev/rules.d)" != "$(readlink -f /usr/lib/udev/rules.d)" ]; then
	mount --bind "$tmp/empty" /lib/udev/rules.d
	lib_bound=1
fi
mount --bind "$tmp/empty" /etc/udev/rules.d
mkdir -p /run/udev
mount -t tmpfs none /run/udev
mount --bind "$tmp/group" /etc/group

fail=0
check() { # WHAT PATTERN FILE
	if grep -qE -- "$2" "$3"; then echo "ok: $1"
	else echo "FAIL: $1 (no /$2/ in $3)"; fail=1; fi
}
check_not() {
	if grep -qE -- "$2" "$3"; then echo "FAIL: $1"; grep -E -- "$2" "$3"; fail=1
	else echo "ok: $1"; fi
}

sys=/sys/devices/pci0000:00/0000:00:14.0/usb1
run() { # POSITION OUT
	umockdev-run -d "$here/usb.umockdev" -- \
		udevadm test --action=add "$sys/$1" >"$2" 2>&1 || true
}
run 1-2 "$tmp/reader.log"
run 1-4 "$tmp/unlisted.log"
run 1-5 "$tmp/keyboard.log"
name=$(basename "$rules")

# Syntax: udevadm names the file and line of anything it rejects.
check "udevadm read $name" "Reading rules file: .*$name" "$tmp/reader.log"
check_not "no line of $name rejected" \
	"$name:[0-9]+ .*([Ii]nvalid|[Ii]gnor|[Uu]nknown|[Ee]rror|[Ff]ailed)" \
	"$tmp/reader.log"

# A listed CCID reader.
check "reader: group cardstation (gid 4711)" "$name:[0-9]+ GROUP 4711" "$tmp/reader.log"
check "reader: mode 0660" "$name:[0-9]+ MODE 0660" "$tmp/reader.log"
check "reader: marked" "^CARDSTATION_READER=1$" "$tmp/reader.log"
check "reader: uaccess tag" "^TAGS=.*:uaccess:" "$tmp/reader.log"
# A CCID device no driver lists is still a reader for udev: it gets access,
# and doctor names the missing driver.
check "unlisted CCID: group" "$name:[0-9]+ GROUP 4711" "$tmp/unlisted.log"
# A keyboard is left alone.
check "keyboard: usb_id ran" "^ID_USB_INTERFACES=:030101:$" "$tmp/keyboard.log"
check_not "keyboard: no group" "$name:[0-9]+ GROUP" "$tmp/keyboard.log"
check_not "keyboard: not marked" "^CARDSTATION_READER=" "$tmp/keyboard.log"

if [ $fail -ne 0 ]; then
	echo "--- reader log"; cat "$tmp/reader.log"
fi
exit $fail
