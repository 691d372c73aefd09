#!/bin/bash
# Japanese at the cards: encode (a card pulled out mid-write, a card that
# is someone's already), verify (each verdict), doctor and the desk (a lost
# card) under LANG=ja_JP.UTF-8 tell the operator in Japanese, each failure
# with its code and the advice true for that card; under LANG=C, English. Runs in the test
# bench (private pcscd, vpcd, cardsim).
set -euo pipefail
: "${CS_SRC:?}"
# encode.sh's helpers: bundle, card, encode_bg, encode_stop, wait_for,
# sql, invariants, card_holds, serial_of, fail.
source "$CS_SRC/tests/e2e/encode/encode.sh"
source "$CS_SRC/tests/e2e/i18n/english.sh"

locale -a 2>/dev/null | grep -qix 'ja_JP.utf8' ||
	fail "the ja_JP.UTF-8 locale is not generated (tests/setup.sh does)"
in_japanese() { export LC_ALL= LANGUAGE= LC_MESSAGES= LANG=ja_JP.UTF-8; }
in_english() { export LC_ALL= LANGUAGE= LC_MESSAGES= LANG=C; }

# What the operator reads, without the other programs' words (OpenSC's
# and pcsc-lite's, kept as a detail in （...）) and without the codes.
own_words() { sed -E 's/（[^）]*）//g; s/\[[a-z0-9.-]+\]//g'; }

encode_verify_doctor() {
	in_japanese
	bundle 2
	card a 2A
	encode_bg --reader 0
	wait_for '^\[0\] waiting: カードを入れてください'
	# Pulled out in the middle of the write: the card is partial, and
	# the advice is to put it in again.
	tb_insert 0 "$W/a.card" --pull-after 40
	wait_for '失敗'
	line=$(grep '失敗' "$OUT" | head -n 1)
	# Pulled, or the write failed as the card went (which of the two
	# depends on when PC/SC saw it leave).
	grep -qE '書き込み中にカードが抜かれました|カードに書き込めませんでした' <<<"$line" ||
		fail "not told the write failed: $line"
	grep -q 'もう一度入れるとやり直します' <<<"$line" || fail "no advice to insert it again: $line"
	grep -qE '\[card\.(pulled|write-failed)\]$' <<<"$line" || fail "no code on the failure: $line"
	no_english "$(own_words <<<"$line")" "the pulled card's failure"
	tb_remove 0 || true
	tb_insert 0 "$W/a.card"
	wait_for '完了 .*4790-5040-0000002A'
	# The same card again: it is someone's now. Not written, and not told
	# to insert it again.
	tb_remove 0 || true
	tb_insert 0 "$W/a.card"
	wait_for '失敗.*\[card.issued\]'
	line=$(grep '\[card.issued\]' "$OUT" | head -n 1)
	grep -q '様の証明書が入っています。上書きしません' <<<"$line" || fail "issued card: $line"
	! grep -q 'もう一度入れ' <<<"$line" || fail "an issued card is told to go in again: $line"
	no_english "$(own_words <<<"$line")" "the issued card's refusal"
	encode_stop
	no_english "$(grep -v '^progress\|^進捗' "$OUT" | sed -E 's/^\[[0-9]+\] [a-z]+: //' |
		own_words)" "encode's output"
	# The journal keeps the code of each failure.
	notes=$(sql "SELECT detail FROM events WHERE kind = 'card.failed'")
	grep -qE 'card\.(pulled|write-failed): the card ' <<<"$notes" ||
		fail "the journal's card.failed note has no code: $notes"
	grep -q 'card\.issued: this card already holds' <<<"$notes" ||
		fail "the journal's card.failed note has no code: $notes"
	invariants

	# verify: the verdict and its reasons in Japanese.
	local v
	v=$("$CS_BIN" verify --reader "$(tb_reader 0)" 2>&1) || [ $? -eq 1 ] || fail "verify: $v"
	grep -q 'のカード' <<<"$v" || fail "verify is not Japanese: $v"
	# (Subject and issuer are the certificate's own, in its DN.)
	no_english "$(own_words <<<"$v" | grep -v 'CN=')" "verify's report"
	v=$("$CS_BIN" verify --reader "$(tb_reader 0)" --json) || [ $? -eq 1 ] || fail "verify --json"
	[ "$(jq -r '[.reasons[] | select(.code == "key-untested")][0].text' <<<"$v")" = \
		"鍵は試していません。PIN が指定されていません（--pin env:VAR か --pin-prompt）" ] ||
		fail "verify --json: the reason's text is not Japanese: $v"
	jq -e '.reasons[] | select(.code == "use") | .params.use' <<<"$v" >/dev/null ||
		fail "verify --json: a reason without its parameters"

	# Each verdict: OK with the CA and the PIN (the key signs), FAIL once
	# the card is lost (below); WARN above.
	v=$("$CS_BIN" verify --reader "$(tb_reader 0)" --ca "$W/b/ca.pem" \
		--pin env:CS_PIN 2>&1) || fail "verify OK: $v"
	grep -q '^判定: OK' <<<"$v" || fail "no OK verdict: $v"
	grep -q 'カードが新しいチャレンジに署名し' <<<"$v" || fail "key-ok not Japanese: $v"
	no_english "$(own_words <<<"$v" | grep -v 'CN=')" "verify's OK report"

	# doctor: its findings in Japanese (commands to type aside).
	v=$("$CS_BIN" doctor --skip usb,setup 2>&1) || true
	grep -q 'リーダー 0' <<<"$v" || fail "doctor is not Japanese: $v"
	no_english "$(sed 's/`[^`]*`//g' <<<"$v" | own_words)" "doctor's report"

	# The desk: the card is lost. The request is made, said in Japanese.
	v=$("$CS_BIN" card lost --chip 4790-5040-0000002A --admin-mail \
		admin@example.ac.jp --out "$W/lost.tsv" 2>&1) || fail "card lost: $v"
	grep -q '失効を申請しました' <<<"$v" || fail "card lost is not Japanese: $v"
	no_english "$(own_words <<<"$v")" "card lost"
	[ -s "$W/lost.tsv" ] || fail "no revocation request written"
	v=$("$CS_BIN" verify --reader "$(tb_reader 0)" 2>&1) && fail "a lost card passes verify"
	grep -q '^判定: FAIL' <<<"$v" || fail "no FAIL verdict: $v"
	grep -q '台帳ではこのカードは紛失扱いで' <<<"$v" || fail "card-lost not Japanese: $v"
	no_english "$(own_words <<<"$v" | grep -v 'CN=')" "verify's FAIL report"

	# LANG=C: English, and no Japanese but the holders' names.
	in_english
	v=$("$CS_BIN" verify --reader "$(tb_reader 0)" 2>&1) || true # FAIL: the card is lost now
	grep -q '^Card in' <<<"$v" || fail "LANG=C verify is not English: $v"
	grep -q 'the key was not tested' <<<"$v" || fail "LANG=C reason: $v"
}

"$1"
echo "PASS: $1"
