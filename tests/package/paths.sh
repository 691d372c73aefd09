#!/bin/bash
# Where the command finds its card profiles (issue 17): a binary run from
# its build tree reads the source tree's without flags or variables; a copy
# outside the build tree does not; $CARDSTATION_PROFILES and --profiles
# win over both, in every command that reads profiles.
set -euo pipefail
: "${CS_BIN:?}" "${CS_SRC:?}" "${CS_BUILD:?}"
export LC_ALL=C.UTF-8 LANGUAGE=
unset CARDSTATION_PROFILES
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

"$CS_BUILD/tests/gen/upkigen" --out "$t/dl" --people 1 >/dev/null 2>&1
pair=("$t/dl/clientAll.zip" "$t/dl/clientAllPin.zip")

# The build tree's binary: the source tree's profiles.
out=$("$CS_BIN" inspect "${pair[@]}" --json)
grep -q '"card_profiles_checked":true' <<<"$out" ||
	bad "the build tree's binary did not read $CS_SRC/cardprofiles: $out"
grep -q '"isoapplet"' <<<"$out" || bad "no isoapplet profile taken: $out"
# The kiosk's page too.
"$CS_BIN" kiosk --help | grep -qF "(default $(realpath "$CS_SRC")/kiosk/www)" ||
	bad "kiosk --help does not name the source tree's page"

# A copy elsewhere is not the build tree: the installed folder (empty here
# or not, it is not the source tree's).
cp "$CS_BIN" "$t/cardstation"
out=$("$t/cardstation" inspect "${pair[@]}" 2>&1 || true)
if grep -qF "$CS_SRC" <<<"$out" || ! grep -q 'profile' <<<"$out"; then
	bad "a binary outside the build tree: $out"
fi

# $CARDSTATION_PROFILES and --profiles name the folder for every command.
mkdir "$t/none"
out=$(CARDSTATION_PROFILES=$t/none "$CS_BIN" inspect "${pair[@]}" || true)
grep -qF "no card profiles in $t/none" <<<"$out" ||
	bad "inspect ignored \$CARDSTATION_PROFILES: $out"
out=$("$CS_BIN" inspect "${pair[@]}" --profiles "$t/none" 2>&1 || true)
grep -qF "$t/none" <<<"$out" || bad "inspect ignored --profiles: $out"
for env in "CARDSTATION_PROFILES=$t/gone" ""; do
	# opensc's check needs pcscd's (not readers or cards).
	args=(doctor --json --skip clock,journal,setup,readers,usb)
	[ -n "$env" ] || args+=(--profiles "$t/gone")
	out=$(env $env "$CS_BIN" "${args[@]}" || true)
	grep -qF "no cardprofiles directory at $t/gone" <<<"$out" ||
		bad "doctor ignored ${env:---profiles}: $out"
done
out=$("$CS_BIN" doctor --json --skip clock,journal,setup,readers,usb || true)
grep -q '"OpenSC ' <<<"$out" || bad "doctor did not check OpenSC: $out"
! grep -q 'no cardprofiles directory' <<<"$out" ||
	bad "doctor in the build tree found no profiles: $out"
# The parser of every command that reads profiles takes --profiles DIR
# (without its argument: getopt says so instead of 'unrecognized').
for cmd in inspect "run new" encode doctor verify "card returned" \
    "card pin-reset" kiosk; do
	# shellcheck disable=SC2086
	out=$("$CS_BIN" $cmd --profiles 2>&1 || true)
	grep -q "option '--profiles' requires an argument" <<<"$out" ||
		bad "cardstation $cmd does not take --profiles: $out"
done
# `run new` imports with the folder it is given: no profile there, no
# card takes the key.
out=$("$CS_BIN" run new "${pair[@]}" --journal "$t/j.db" --profiles "$t/none" 2>&1 || true)
grep -q ' 1 refused' <<<"$out" || bad "run new ignored --profiles: $out"
out=$("$CS_BIN" run new "${pair[@]}" --journal "$t/j2.db" 2>&1) ||
	bad "run new in the build tree: $out"
grep -q ' 0 refused' <<<"$out" || bad "run new in the build tree: $out"
[ "$fail" = 0 ] && echo "profiles found as they should be"
exit $fail
