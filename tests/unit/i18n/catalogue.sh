#!/bin/bash
# Every message the code marks (_() and N_()) has its Japanese in po/ja.po:
# translated, not fuzzy, with the same printf formats. A new message
# without one fails here: run `cmake --build BUILD --target update-po`,
# translate what it adds to po/ja.po, and the test passes again.
set -euo pipefail
: "${CS_SRC:?}" "${CS_XGETTEXT_ARGS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cd "$CS_SRC"
# shellcheck disable=SC2086 # the arguments are words
xgettext $CS_XGETTEXT_ARGS -o "$tmp/now.pot" station/engine/*.c station/engine/doctor/*.c station/cli/*.c kiosk/*.c
n=$(grep -c '^msgid ' "$tmp/now.pot")
[ "$n" -gt 300 ] || fail "only $n messages extracted: the extraction is broken"

stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null po/ja.po 2>&1) ||
	fail "msgfmt --check po/ja.po: $stats"
! grep -qE 'untranslated|fuzzy' <<<"$stats" ||
	fail "po/ja.po has messages without a Japanese translation: $stats"
LC_ALL=C msgcmp po/ja.po "$tmp/now.pot" 2>"$tmp/cmp" ||
	fail "messages of the code missing from po/ja.po (or untranslated):
$(grep -v 'not used' "$tmp/cmp" | head -n 20)"

# A catalogue that lacks a message fails the check above: the check can fail.
sed '0,/^msgid "insert a card"/{/^msgid "insert a card"/{n;s/^msgstr .*/msgstr ""/}}' \
	po/ja.po >"$tmp/broken.po"
! LC_ALL=C msgcmp "$tmp/broken.po" "$tmp/now.pot" 2>/dev/null ||
	fail "msgcmp does not notice an untranslated message"
echo "PASS: $(sed -n 1p <<<"$stats")"
