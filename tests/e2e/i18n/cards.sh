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
	# The journal judged where it is: its disk for a file, its server
	# for a URI (CS_TEST_JOURNAL=pg), in Japanese too.
	case $CARDSTATION_JOURNAL in
	postgresql://*)
		grep -q '台帳サーバーが応答しています（PostgreSQL 15' <<<"$v" ||
			fail "doctor does not say the journal server answers: $v"
		grep -q '時計は台帳サーバーと .* 秒以内で一致しています' <<<"$v" ||
			fail "doctor does not compare the clocks: $v" ;;
	*)
		grep -qF "台帳 $CARDSTATION_JOURNAL の空き容量" <<<"$v" ||
			fail "doctor does not judge the journal's disk: $v" ;;
	esac

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

# The desk's commands (issue 13): each failure is the engine's code told in
# the operator's language, the card's and OpenSC's words only in (...);
# the same failures under LANG=C in English.
desk() {
	local v rc NEWPIN=97531864 BADPUK=fedcba9876543210
	export NEWPIN BADPUK
	in_japanese
	bundle 3
	card a 3A
	card b 3B
	card c 3C
	encode_bg --reader 0
	wait_for '^\[0\] waiting: カードを入れてください'
	tb_insert 0 "$W/a.card"
	wait_for '完了 .*4790-5040-0000003A'
	tb_remove 0 || true
	tb_insert 0 "$W/b.card"
	wait_for '完了 .*4790-5040-0000003B'
	# The third card is pulled out mid-write: partial in the journal.
	tb_remove 0 || true
	tb_insert 0 "$W/c.card" --pull-after 40
	wait_for '失敗'
	encode_stop
	tb_remove 0 || true
	tb_insert 1 "$W/c.card"
	tb_remove 0 || true
	tb_insert 0 "$W/a.card"
	local R0
	R0=$(tb_reader 0)
	desk_cmd() { # expected-status args...: output in $v
		local want=$1
		shift
		rc=0
		v=$("$CS_BIN" card "$@" 2>&1) || rc=$?
		[ "$rc" = "$want" ] || fail "card $*: exit $rc, not $want: $v"
		# The command's name before its message is no sentence.
		v=$(sed -E 's/^cardstation card [a-z-]+: //' <<<"$v")
	}

	# A wrong PUK: refused, said in Japanese with the card's count.
	desk_cmd 2 pin-reset --reader "$R0" --puk env:BADPUK --new-pin env:NEWPIN
	grep -q 'PUK が違います。PUK の残りは 4 回' <<<"$v" || fail "wrong PUK: $v"
	no_english "$(own_words <<<"$v")" "pin-reset with a wrong PUK"
	# A half-written card: refused, its journal state told in Japanese
	# (the state's code travels, each front end says its word).
	desk_cmd 2 pin-reset --reader "$(tb_reader 1)" --puk env:CS_PUK --new-pin env:NEWPIN
	grep -q '台帳で「書きかけ」で、交付中ではありません' <<<"$v" ||
		fail "pin-reset of a partial card: $v"
	! grep -qwiE 'state|blank|partial|issued|wiped|lost|returned|retired' <<<"$v" ||
		fail "pin-reset of a partial card has an English state word: $v"
	no_english "$(own_words <<<"$v")" "pin-reset of a partial card"
	# The PIN reset itself.
	desk_cmd 0 pin-reset --reader "$R0" --puk env:CS_PUK --new-pin env:NEWPIN
	grep -q '新しい PIN を設定しました' <<<"$v" || fail "pin-reset: $v"
	no_english "$(own_words <<<"$v")" "pin-reset"
	# Returned while its certificate is live and nothing decided: refused,
	# with what to give.
	desk_cmd 2 returned --reader "$R0" --puk env:CS_PUK
	grep -q 'がまだ有効です。失効を申請するか' <<<"$v" || fail "returned, undecided: $v"
	no_english "$(own_words <<<"$v")" "returned, undecided"
	desk_cmd 0 returned --reader "$R0" --puk env:CS_PUK --admin-mail \
		admin@example.ac.jp --out "$W/ret.tsv"
	grep -q 'を消去しました' <<<"$v" || fail "returned: $v"
	no_english "$(own_words <<<"$v")" "returned"
	[ -s "$W/ret.tsv" ] || fail "no revocation request for the returned card"
	# A returned card has no holder: no PIN reset.
	desk_cmd 2 pin-reset --reader "$R0" --puk env:CS_PUK --new-pin env:NEWPIN
	grep -q '返却・消去済みで、所有者がいません' <<<"$v" || fail "pin-reset, returned: $v"
	no_english "$(own_words <<<"$v")" "pin-reset of a returned card"
	# Lost: the other card, then the same again, and a card nobody has.
	desk_cmd 0 lost --chip 4790-5040-0000003B --admin-mail admin@example.ac.jp \
		--out "$W/lost.tsv"
	grep -q '失効を申請しました' <<<"$v" || fail "card lost: $v"
	no_english "$(own_words <<<"$v")" "card lost"
	desk_cmd 2 lost --chip 4790-5040-0000003B --admin-mail admin@example.ac.jp \
		--out "$W/lost2.tsv"
	grep -q 'このカードに有効な証明書はありません' <<<"$v" || fail "lost twice: $v"
	no_english "$(own_words <<<"$v" | sed 's/`[^`]*`//g')" "a card lost twice"
	desk_cmd 2 lost --chip 4790-5040-000000FF --admin-mail admin@example.ac.jp
	grep -q '台帳にチップ番号 4790-5040-000000FF のカードはありません' <<<"$v" ||
		fail "lost, unknown chip: $v"
	no_english "$(own_words <<<"$v")" "an unknown card lost"
	# The journal's words for its states, in Japanese in the log.
	v=$("$CS_BIN" log --chip 4790-5040-0000003B)
	grep -q '失効' <<<"$v" || fail "log: the outcome is not in Japanese: $v"
	# The reason the desk recorded (code and English in the journal), in
	# Japanese; the returned card's too.
	grep -q 'カード紛失: 失効を申請しました（理由 1 keyCompromise）' <<<"$v" ||
		fail "log: the lost card's reason is not in Japanese: $v"
	no_english "$v" "log of a lost card"
	v=$("$CS_BIN" log --chip 4790-5040-0000003A)
	grep -q 'カード返却: 失効を申請しました（理由 3 affiliationChanged）' <<<"$v" ||
		fail "log: the returned card's reason is not in Japanese: $v"
	no_english "$v" "log of a returned card"
	[ "$(sql "SELECT count(*) FROM issuances WHERE reason LIKE
		'note.lost: card lost: revocation requested, reason 1 keyCompromise'")" = 1 ] ||
		fail "the journal does not keep the reason's code and English"
	[ "$(jq -r '.[0].outcome' <<<"$("$CS_BIN" log --chip 4790-5040-0000003B --json)")" = revoked ] ||
		fail "log --json does not keep the journal's word"

	# LANG=C: the same failures in English.
	in_english
	desk_cmd 2 lost --chip 4790-5040-0000003B --admin-mail admin@example.ac.jp
	grep -q 'no certificate is live on that card' <<<"$v" || fail "LANG=C lost: $v"
	! grep -q '[ぁ-んァ-ン]' <<<"$v" || fail "LANG=C printed Japanese: $v"
	desk_cmd 2 pin-reset --reader "$R0" --puk env:CS_PUK --new-pin env:NEWPIN
	grep -q 'this card was returned and wiped; it has no holder' <<<"$v" ||
		fail "LANG=C pin-reset: $v"
	desk_cmd 2 pin-reset --reader "$(tb_reader 1)" --puk env:CS_PUK --new-pin env:NEWPIN
	grep -q "this card is 'partial' in the journal, not issued" <<<"$v" ||
		fail "LANG=C pin-reset of a partial card: $v"
	! grep -q '[ぁ-んァ-ン]' <<<"$v" || fail "LANG=C printed Japanese: $v"
	v=$("$CS_BIN" log --chip 4790-5040-0000003B)
	grep -q 'revoked.*reason card lost: revocation requested, reason 1 keyCompromise' <<<"$v" ||
		fail "LANG=C log: $v"
	invariants
}

"$1"
echo "PASS: $1"
