#!/bin/bash
# `cmake --install --prefix /usr` of this build, whatever prefix it was
# configured for, puts every file where a Debian system reads it (issue 17:
# the unit landed in /usr/local/lib/systemd/system): the folders udev.pc,
# systemd.pc and bash-completion.pc name, PAM's /etc/pam.d, GNUInstallDirs'
# man folders. And another prefix gets everything under it.
set -euo pipefail
: "${CS_BUILD:?}"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
under_usr() { # a .pc folder as installed with prefix /usr
	local d
	d=$(pkg-config --variable="$2" "$1")
	d=${d#/usr}
	echo "/usr$d"
}

DESTDIR=$t/usr-root cmake --install "$CS_BUILD" --prefix /usr >/dev/null
for f in /usr/bin/cardstation \
    "$(under_usr systemd systemdsystemunitdir)/cardstation-kiosk.service" \
    "$(under_usr udev udevdir)/rules.d/70-cardstation.rules" \
    "$(under_usr bash-completion completionsdir)/cardstation" \
    /usr/share/polkit-1/rules.d/50-cardstation-pcsc.rules \
    /etc/pam.d/cardstation \
    /usr/share/man/man1/cardstation.1 /usr/share/man/man1/cardstation-encode.1 \
    /usr/share/man/man5/cardprofile.5 \
    /usr/share/cardstation/cardprofiles/isoapplet.conf \
    /usr/share/cardstation/kiosk/www/index.html; do
	[ -f "$t/usr-root$f" ] || bad "prefix /usr: no $f"
done
stray=$(cd "$t/usr-root" && find . -type f | grep -E '^\./usr/local|^\./(lib|share|bin)/' || true)
[ -z "$stray" ] || bad "prefix /usr: files outside /usr and /etc: $stray"

DESTDIR=$t/opt-root cmake --install "$CS_BUILD" --prefix /opt/cs >/dev/null
stray=$(cd "$t/opt-root" && find . -type f | grep -v '^\./opt/cs/' || true)
[ -z "$stray" ] || bad "prefix /opt/cs: files outside it: $stray"
[ "$fail" = 0 ] && echo "installed where the system reads them"
exit $fail
