#!/bin/bash
# Japanese operators: what a command prints for a person is Japanese under
# LANG=ja_JP.UTF-8 (codes, file names and identifiers aside), scripts get
# codes in --json whatever the language, and LANG=C stays English.
set -euo pipefail
: "${CS_BIN:?}" "${UPKIGEN:?}" "${CARDSTATION_LOCALEDIR:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

locale -a 2>/dev/null | grep -qix 'ja_JP.utf8' ||
	fail "the ja_JP.UTF-8 locale is not generated (tests/setup.sh does)"

ja() { LC_ALL= LANGUAGE= LC_MESSAGES= LANG=ja_JP.UTF-8 "$CS_BIN" "$@"; }
en() { LC_ALL= LANGUAGE= LC_MESSAGES= LANG=C "$CS_BIN" "$@"; }

source "$(dirname "$0")/english.sh"

inspect() {
	"$UPKIGEN" --out "$work/b" --people 6 --break wrong-pin@1 --break expired@2 \
		--break name-mismatch@3 >/dev/null
	local out rc
	set +e
	out=$(ja inspect "$work/b/clientAll.zip" "$work/b/clientAllPin.zip" 2>&1)
	rc=$?
	set -e
	[ $rc -eq 1 ] || fail "inspect of a bad download exits $rc, not 1"
	# The code beside the Japanese reason.
	grep -q 'wrong-pin: アクセス PIN で PKCS#12 を開けません' <<<"$out" ||
		fail "no Japanese reason for the wrong PIN: $out"
	grep -q 'expired: .*期限切れ' <<<"$out" || fail "no Japanese reason for expired: $out"
	grep -q '使用可 3 件、除外 3 件' <<<"$out" || fail "summary not Japanese: $out"
	no_english "$out" "inspect's report"

	# --json: the codes, whatever the language; the reason in Japanese.
	local json
	json=$(ja inspect "$work/b/clientAll.zip" "$work/b/clientAllPin.zip" --json) || true
	[ "$(jq -r '[.records[] | select(.problem == "wrong-pin")][0].code' <<<"$json")" = \
		problem.wrong-pin ] || fail "json: no code for the wrong PIN: $json"
	jq -r '.records[] | select(.ok | not) | .reason' <<<"$json" | grep -q 'アクセス PIN' ||
		fail "json: the reason is not Japanese"
	[ "$(jq -r '.summary.by_problem["expired"]' <<<"$json")" = 1 ] ||
		fail "json: by_problem keeps its codes"

	# A download refused whole: Japanese on stderr, the code in --json.
	set +e
	out=$(ja inspect "$work/b/clientAllPin.zip" "$work/b/clientAll.zip" 2>&1)
	rc=$?
	set -e
	[ $rc -eq 2 ] || fail "swapped archives exit $rc, not 2"
	grep -q '2つのアーカイブが逆です' <<<"$out" || fail "swapped: not Japanese: $out"
	no_english "$out" "the swapped archives' refusal"
	json=$(ja inspect "$work/b/clientAllPin.zip" "$work/b/clientAll.zip" --json 2>/dev/null) || true
	[ "$(jq -r .code <<<"$json")" = bundle.swapped ] ||
		fail "json: a refused download has no code: $json"
	[ "$(jq -r .params.certs <<<"$json")" = "$work/b/clientAllPin.zip" ] ||
		fail "json: the swapped refusal has no parameters: $json"
	[ "$(jq -r .class <<<"$json")" = err.usage ] ||
		fail "json: the swapped refusal has no error class: $json"
	# No index (the PIN archive twice): Japanese, bundle.no-index.
	set +e
	out=$(ja inspect "$work/b/clientAllPin.zip" "$work/b/clientAllPin.zip" 2>&1)
	set -e
	grep -q 'client.txt が入っていません' <<<"$out" || fail "no index: not Japanese: $out"
	no_english "$out" "the no-index refusal"
	json=$(ja inspect "$work/b/clientAllPin.zip" "$work/b/clientAllPin.zip" --json 2>/dev/null) || true
	[ "$(jq -r '.code + " " + .params.index' <<<"$json")" = "bundle.no-index client.txt" ] ||
		fail "json: no index: $json"
	# Over the limits: the archive's words are the detail, the code's
	# text Japanese around them; in English under LANG=C.
	json=$(ja inspect "$work/b/clientAll.zip" "$work/b/clientAllPin.zip" --json \
		--max-entries 2 2>/dev/null) || true
	[ "$(jq -r .code <<<"$json")" = bundle.zip ] || fail "json: limits: $json"
	jq -r .error <<<"$json" | grep -q 'zip アーカイブとして使えません（.*上限 2' ||
		fail "json: limits not Japanese: $json"
	json=$(en inspect "$work/b/clientAll.zip" "$work/b/clientAllPin.zip" --json \
		--max-entries 2 2>/dev/null) || true
	[ "$(jq -r .text <<<"$json")" = "$work/b/clientAll.zip cannot be used as a zip archive (7 entries, more than the limit of 2)" ] ||
		fail "json: LANG=C limits: $json"

	# LANG=C: the same run in English, and the same codes.
	out=$(en inspect "$work/b/clientAll.zip" "$work/b/clientAllPin.zip" 2>&1) || true
	grep -q 'REFUSED wrong-pin: the access PIN does not open' <<<"$out" ||
		fail "LANG=C is not English: $out"
	! grep -q '[ぁ-んァ-ン]' <<<"$out" || fail "LANG=C printed Japanese: $out"
}

usage() {
	local out
	# The command list and an unknown command, in Japanese.
	out=$(ja 2>&1) || true
	grep -q '使い方: cardstation' <<<"$out" || fail "usage not Japanese: $out"
	no_english "$out" "the command list"
	# log --help: one message the translators see whole (the journal's
	# variable and default path go in as parameters).
	out=$(ja log --help)
	grep -q '使い方: cardstation log' <<<"$out" || fail "log --help not Japanese: $out"
	grep -q 'CARDSTATION_JOURNAL' <<<"$out" || fail "log --help lost its variable: $out"
	# (Command lines are no sentences.)
	no_english "$(sed -E 's/cardstation( [a-z-]+)*//g; s/`[^`]*`//g' <<<"$out")" "log --help"
	en log --help | grep -q 'Lists every card issuance' || fail "LANG=C log --help"
	out=$(ja nosuch 2>&1) || true
	grep -q "不明なコマンド 'nosuch'" <<<"$out" || fail "unknown command: $out"
	# The code table: every code has its Japanese text, and --json is its
	# dictionary for front ends.
	out=$(ja codes --json)
	[ "$(jq -r '."reader.insert"' <<<"$out")" = "カードを入れてください" ] ||
		fail "codes --json: reader.insert is not Japanese"
	[ "$(jq -r '."advice.partial"' <<<"$(en codes --json)")" = \
		"the card is set aside as partial; insert it again to redo it" ] ||
		fail "codes --json under LANG=C is not English"
	# (Commands to type, in `...`, are no sentences: doctor's advice
	# names them.)
	no_english "$(ja codes | cut -f2 | sed 's/`[^`]*`//g')" "the code table"
	# The error classes are listed too.
	[ "$(jq -r '."err.io"' <<<"$out")" = "入出力エラー" ] ||
		fail "codes --json: err.io is not listed in Japanese"
}

"$1"
echo "PASS: $1"
