#!/bin/bash
# The man pages (docs/man) against the command: every subcommand has its
# page, each page names exactly the options its subcommand's --help names
# (both ways), cardstation(1) lists exactly the subcommands, cardprofile(5)
# names every key the profile reader takes, and mandoc finds nothing to
# warn about.
set -euo pipefail
: "${CS_BIN:?}" "${CS_SRC:?}"
export LC_ALL=C.UTF-8 LANGUAGE=
man=$CS_SRC/docs/man
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# Options a --help text names: every --word (but --help itself).
help_opts() { { grep -oE -- '(^|[^[:alnum:]-])--[a-z][a-z0-9-]*' || true; } |
	sed 's/^.*--/--/' | { grep -vx -- --help || true; } | sort -u; }
# Options a page names: every `Fl -word`.
page_opts() { { grep -oE 'Fl -[a-z][a-z0-9-]*' "$1" || true; } | sed 's/^Fl /-/' |
	{ grep -vx -- --help || true; } | sort -u; }
same() { # WHAT LEFT-NAME LEFT RIGHT-NAME RIGHT
	local only
	only=$(comm -23 <(echo "$3") <(echo "$5") | tr '\n' ' ')
	[ -z "${only// }" ] || bad "$1: in $2, not in $4: $only"
	only=$(comm -13 <(echo "$3") <(echo "$5") | tr '\n' ' ')
	[ -z "${only// }" ] || bad "$1: in $4, not in $2: $only"
}

subs=$("$CS_BIN" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | sort)
[ -n "$subs" ] || bad "cardstation --help lists no subcommand"
same "subcommands" "cardstation --help" "$subs" "cardstation.1" \
	"$(sed -n 's/^\.It Cm \([a-z-]*\)$/\1/p' "$man/cardstation.1" | sort)"
for s in $subs; do
	page=$man/cardstation-$s.1
	if [ ! -f "$page" ]; then
		bad "cardstation $s has no man page ($page)"
		continue
	fi
	h=$("$CS_BIN" "$s" --help | help_opts)
	same "cardstation $s" "--help" "$h" "cardstation-$s.1" "$(page_opts "$page")"
	grep -q "^\.Xr cardstation-$s 1" "$man/cardstation.1" ||
		bad "cardstation.1 does not refer to cardstation-$s(1)"
done
for p in "$man"/cardstation-*.1; do
	s=${p##*/cardstation-}; s=${s%.1}
	grep -qx "$s" <<<"$subs" || bad "$p: no subcommand '$s'"
done
# --version: the version of CMakeLists.txt's project().
want=$(sed -n 's/^project(cardstation VERSION \([0-9.]*\).*/\1/p' "$CS_SRC/CMakeLists.txt")
got=$("$CS_BIN" --version)
[ "$got" = "cardstation $want" ] || bad "--version says '$got', CMakeLists.txt $want"
grep -q '^\.Fl -version' "$man/cardstation.1" || bad "cardstation.1 lacks --version"

# cardprofile(5): every key cs_profile.c reads, and every key a shipped
# profile sets.
keys=$( { grep -oE 'STR\("[a-z0-9._]+"' "$CS_SRC/station/engine/cs_profile.c" | sed 's/STR("//; s/"//'
	grep -oE 'strcmp\(key, "[a-z0-9._]+"\)' "$CS_SRC/station/engine/cs_profile.c" | sed 's/.*"\(.*\)".*/\1/'
	sed -n 's/^\([a-z0-9._]*\)[[:space:]]*=.*/\1/p' "$CS_SRC"/cardprofiles/*.conf; } | sort -u)
[ "$(wc -l <<<"$keys")" -ge 10 ] || bad "found only these profile keys: $keys"
documented=$(grep -oE '^\.It Cm [a-z0-9._]+( , Cm [a-z0-9._]+)*' "$man/cardprofile.5" |
	grep -oE '[a-z0-9._]+' | grep -vx -e It -e Cm | sort -u)
only=$(comm -23 <(echo "$keys") <(echo "$documented") | tr '\n' ' ')
[ -z "${only// }" ] || bad "cardprofile.5 does not describe the keys: $only"

# mandoc: nothing at warning level or worse (style remarks and references
# to pages not installed here are not counted).
for p in "$man"/*.[1-8]; do
	out=$(mandoc -T lint -W warning "$p" 2>&1) || bad "mandoc -T lint: $out"
done
[ "$fail" = 0 ] && echo "man pages and --help agree: $(wc -w <<<"$subs") subcommands"
exit $fail
