#!/bin/bash
# The Debian packages, end to end (issue 17): build them with
# dpkg-buildpackage from a copy of the source tree, lintian finds no error,
# install them on this machine with apt, and then, against the installed
# command and its installed profiles, with the journal in
# /var/lib/cardstation: doctor, the man page, the completion of reader
# names and the demo's encode story in the test bench. Purge at the end
# (also when the test fails): the journal is kept unless asked, and the
# test removes it itself. Needs root and a machine without cardstation
# installed.
set -euo pipefail
: "${CS_SRC:?}" "${CS_BUILD:?}"
export LC_ALL=C.UTF-8 LANGUAGE= DEBIAN_FRONTEND=noninteractive
unset CARDSTATION_JOURNAL CARDSTATION_PROFILES
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
die() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
# A command's output goes to a log, shown only when it fails.
quiet() {
	local log=$t/log.$((++nlog))
	"$@" >"$log" 2>&1 || { tail -n 60 "$log" >&2; die "$* failed"; }
}

[ "$(id -u)" = 0 ] || die "needs root (installs packages)"
for p in cardstation cardstation-kiosk; do
	! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		die "$p is installed on this machine already: the test installs and purges its own"
done
[ ! -e /var/lib/cardstation ] ||
	die "/var/lib/cardstation exists already: the test would mix its journal with it"
! getent group cardstation >/dev/null ||
	die "the group cardstation exists already: the package's purge would remove it"

t=$(mktemp -d /tmp/cs-package.XXXXXX)
nlog=0
cleanup() {
	dpkg --purge cardstation-kiosk cardstation >/dev/null 2>&1 || true
	rm -rf /var/lib/cardstation "$t"
}
trap cleanup EXIT

step "dpkg-buildpackage -b -us -uc (a copy of the source tree)"
mkdir "$t/src"
# The source as git knows it (tracked, and new files not ignored): no
# build folders, whatever their names. Not a git tree: all but build*/.
if git -C "$CS_SRC" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$CS_SRC" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 tar -cf - --no-recursion --ignore-failed-read) | tar -xf - -C "$t/src"
else
	tar -C "$CS_SRC" --exclude='./build*' -cf - . | tar -xf - -C "$t/src"
fi
(cd "$t/src" && quiet dpkg-buildpackage -b -us -uc -j"$(nproc)")
debs=("$t"/cardstation_*.deb "$t"/cardstation-kiosk_*.deb)
[ -f "${debs[0]}" ] && [ -f "${debs[1]}" ] || die "no packages built: $(ls "$t")"

step "lintian"
lintian --tag-display-limit 0 "$t"/cardstation_*.changes >"$t/lintian" 2>&1 || true
! grep -E '^E: ' "$t/lintian" || bad "lintian errors (above)"

step "apt-get install ./cardstation*.deb"
quiet apt-get install -y --no-install-recommends "${debs[@]}"
bin=/usr/bin/cardstation
[ -x $bin ] || die "no $bin"
getent group cardstation >/dev/null || bad "postinst made no group cardstation"
[ "$(stat -c '%U:%G %a' /var/lib/cardstation)" = "root:cardstation 2770" ] ||
	bad "/var/lib/cardstation is $(stat -c '%U:%G %a' /var/lib/cardstation)"
$bin --version | grep -qx "cardstation $(dpkg-query -W -f='${Version}' cardstation)" ||
	bad "--version says '$($bin --version)'"

step "cardstation doctor"
# Whatever this machine's readers say (exit 1 is a finding), it runs, and
# finds its profiles and its journal folder where the package put them.
rc=0
$bin doctor --json >"$t/doctor.json" || rc=$?
[ "$rc" -le 1 ] || bad "doctor could not run (exit $rc): $(cat "$t/doctor.json")"
! grep -q 'no cardprofiles directory' "$t/doctor.json" ||
	bad "the installed doctor found no profiles: $(cat "$t/doctor.json")"
grep -q '"check":"opensc"' "$t/doctor.json" || bad "doctor checked no OpenSC"

step "man cardstation-encode"
out=$(MANPAGER=cat MANWIDTH=80 man cardstation-encode 2>&1) || bad "man: $out"
grep -q 'cardstation encode' <<<"$out" && grep -q -- '--profiles' <<<"$out" ||
	bad "man cardstation-encode: $out"
MANPAGER=cat man 5 cardprofile 2>/dev/null | grep -q 'match.aid' || bad "man 5 cardprofile"

step "the demo's encode story, installed station, journal in /var/lib/cardstation"
quiet "$CS_SRC/tests/testbed/testbed" --readers 1 -- bash -c \
	'source "$TB_LIB"; '"$bin"' --complete readers | grep -qxF "$(tb_reader 0)"'
CS_BIN=$bin CS_DEMO_SYSTEM=1 "$CS_SRC/tests/demo/story.sh" >"$t/story" 2>&1 ||
	{ tail -n 80 "$t/story" >&2; die "the demo's story failed"; }
n=$(grep -c 'take the card out' "$t/story" || true)
[ "$n" -ge 3 ] || bad "the story encoded $n cards, not 3"
[ -f /var/lib/cardstation/journal.db ] || bad "no journal in /var/lib/cardstation"
[ "$($bin log --json | jq 'length')" = 3 ] || bad "the journal holds: $($bin log)"
$bin log check >/dev/null || bad "log check: $($bin log check)"
[ "$(stat -c %G /var/lib/cardstation/journal.db)" = cardstation ] ||
	bad "the journal's group is $(stat -c %G /var/lib/cardstation/journal.db)"

step "dpkg --purge: the journal stays, nothing else"
quiet dpkg --purge cardstation-kiosk cardstation
[ -f /var/lib/cardstation/journal.db ] || bad "purge took the journal"
left=$(find /var/lib/cardstation -mindepth 1 ! -name 'journal.db*')
[ -z "$left" ] || bad "purge left $left"
! getent group cardstation >/dev/null || bad "purge left the group"
for f in $bin /etc/pam.d/cardstation /usr/share/cardstation; do
	[ ! -e "$f" ] || bad "purge left $f"
done

step "reinstall, and purge with CARDSTATION_PURGE_JOURNAL=yes"
quiet dpkg -i "${debs[@]}"
[ "$(stat -c %G /var/lib/cardstation/journal.db)" = cardstation ] ||
	bad "the kept journal did not get the new group"
CARDSTATION_PURGE_JOURNAL=yes quiet dpkg --purge cardstation-kiosk cardstation
[ ! -e /var/lib/cardstation ] || bad "purge with CARDSTATION_PURGE_JOURNAL=yes left /var/lib/cardstation"

[ "$fail" = 0 ] && echo "packages built, installed, used and purged"
exit $fail
