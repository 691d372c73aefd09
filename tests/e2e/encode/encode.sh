#!/bin/bash
# The office's stories with `cardstation encode`, on cardsim cards behind a
# private pcscd. Each written card is checked independently of the station:
# OpenSC's pkcs15-tool lists the certificate, pkcs11-tool signs with the
# card, OpenSSL verifies the signature with the certificate's key.
set -euo pipefail
source "$TB_LIB"
: "${CS_BIN:?}" "${UPKIGEN:?}"

W=$TB_DIR/work
CS_WORKER_ARG=__worker # cs_run.h: how a reader worker is exec'd
mkdir -p "$W"
tb_journal "$W" # a file, or the tests' PostgreSQL (CS_TEST_JOURNAL=pg)
export CS_PIN=246810 CS_PUK=0123456789abcdef
INST="National Institute of Informatics, Academe Campus"
OUT=$W/encode.out

fail() { echo "FAIL: $*" >&2; [ -f "$OUT" ] && sed 's/^/  | /' "$OUT" >&2; exit 1; }

# Wait until the encode output has a line matching $1 (a real condition:
# the station said so). The timeout only turns a hang into a failure.
wait_for() { # PATTERN [COUNT]: the COUNT-th line matching PATTERN
	# tail -f outlives grep until its next write: stop it ourselves.
	timeout 60 bash -c 'exec 3< <(tail -n +1 -f "$0"); t=$!
		grep -m"$2" -E -- "$1" <&3 | cat >/dev/null; r=${PIPESTATUS[0]}; kill $t; exit $r' \
		"$OUT" "$1" "${2:-1}" || fail "the station never said: $1 (${2:-1} times)"
}

bundle() { # N [upkigen args]
	local n=$1; shift
	"$UPKIGEN" --out "$W/b" --people "$n" "$@" >/dev/null
	import_again
}

import_again() { # the same download as a new run
	"$CS_BIN" run new "$W/b/clientAll.zip" "$W/b/clientAllPin.zip" \
		--institution "$INST" --operator tester >/dev/null ||
		[ $? -eq 1 ] || fail "run new"
}

card() { tb_card_create "$W/$1.card" "$2" >/dev/null; }

# encode in the background; its output goes to $OUT.
encode_bg() {
	: >"$OUT"
	"$CS_BIN" encode --run "${RUN:-1}" --pin env:CS_PIN --puk env:CS_PUK \
		--operator tester "$@" <"${ENCODE_IN:-/dev/null}" >>"$OUT" 2>&1 &
	ENCODE_PID=$!
}

encode_stop() {
	kill -TERM "$ENCODE_PID" 2>/dev/null || true
	wait "$ENCODE_PID" || true
}

sql() { tb_sql "$1"; }

# The journal's promises: no certificate live on two cards; no card with
# two live certificates; each done record on exactly one verified card, or
# its certificate taken off by a re-issue (superseded or wiped).
invariants() {
	local twice
	twice=$(sql "SELECT cert_serial FROM issuances WHERE outcome IN
		('writing','verified') GROUP BY cert_serial HAVING count(*) > 1")
	[ -z "$twice" ] || fail "certificate on two cards: $twice"
	twice=$(sql "SELECT card_id FROM issuances WHERE outcome = 'verified'
		GROUP BY card_id HAVING count(*) > 1")
	[ -z "$twice" ] || fail "card $twice has two live certificates"
	[ "$(sql "SELECT count(*) FROM records r WHERE state = 'done' AND
		(SELECT count(*) FROM issuances i WHERE i.record_id = r.id AND
		 outcome = 'verified') != 1 AND NOT EXISTS (SELECT 1 FROM issuances
		 i WHERE i.record_id = r.id AND outcome IN ('superseded', 'wiped'))")" \
		-eq 0 ] || fail "a done record without exactly one verified card"
	"$CS_BIN" log check >/dev/null || fail "the journal's chain is broken"
}

# Independent check of the card in slot $1: it holds certificate serial $2
# and its key signs.
card_holds() {
	local reader serial=$2 hex
	reader=$(tb_reader "$1")
	hex=$(printf '%s\n' "obase=16; $serial" | BC_LINE_LENGTH=0 bc)
	pkcs15-tool -r "$reader" --list-certificates >"$W/certs.txt" 2>&1 ||
		fail "pkcs15-tool cannot read the card"
	grep -qi "Encoded serial.*$(sed 's/../& /g;s/ $//' <<<"$(printf '%s' "$hex" |
		sed 's/^\(.\(..\)*\)$/0\1/')" | tr -d ' ' | sed 's/../& /g;s/ $//')" \
		<(sed 's/: 02 [0-9A-F]* /: /' "$W/certs.txt") ||
		grep -qi "$hex" <(tr -d ' ' <"$W/certs.txt") ||
		fail "the card does not hold certificate $serial"
	pkcs15-tool -r "$reader" --read-certificate 01 >"$W/cert.pem" 2>/dev/null
	openssl x509 -in "$W/cert.pem" -pubkey -noout >"$W/pub.pem"
	head -c 64 /dev/urandom >"$W/challenge"
	pkcs11-tool --module opensc-pkcs11.so --slot-description "$reader" --login \
		--pin env:CS_PIN --sign -m SHA256-RSA-PKCS --id 01 \
		-i "$W/challenge" -o "$W/sig" >/dev/null 2>&1 ||
		fail "the card does not sign with PIN $CS_PIN"
	openssl dgst -sha256 -verify "$W/pub.pem" -signature "$W/sig" \
		"$W/challenge" | grep -q "Verified OK" ||
		fail "the signature does not verify with the certificate's key"
}

serial_of() { # the serial of person $1 (1-based) of the bundle
	awk -F'\t' -v n=$(($1 + 1)) 'NR == n { print $1 }' "$W/b/expect.tsv"
}

queue_three_cards() {
	bundle 3
	card a 0A; card b 0B; card c 0C
	mkfifo "$W/in"
	ENCODE_IN=$W/in encode_bg --reader 0 --confirm
	exec 3>"$W/in"
	wait_for '^\[0\] waiting'
	n=0
	for who in a b c; do
		n=$((n + 1))
		tb_swap 0 "$W/$who.card"
		wait_for 'type its printed number' $n
		echo "P-$who" >&3
		wait_for "DONE .* on card 4790-5040-0000000${who^^}"
		wait_for "take the card out" $n
		card_holds 0 "$(sql "SELECT cert_serial FROM issuances i JOIN cards c
			ON c.id = i.card_id WHERE c.printed_no = 'P-$who'")"
	done
	exec 3>&-
	encode_stop
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'done'")" -eq 3 ] ||
		fail "not three records done"
	[ "$(sql "SELECT printed_no FROM cards ORDER BY id" | paste -sd, -)" = \
		"P-a,P-b,P-c" ] || fail "printed numbers not journaled"
	# the order of the queue is the order of the index
	[ "$(sql "SELECT serial FROM records WHERE card_id =
		(SELECT id FROM cards WHERE printed_no = 'P-a')")" = "$(serial_of 1)" ] ||
		fail "the first card is not the first person's"
	"$CS_BIN" log | grep -c verified | grep -qx 3 || fail "log shows 3 verified"
	invariants
}

two_readers() {
	bundle 4
	card a 1A; card b 1B
	tb_insert 0 "$W/a.card"; tb_insert 1 "$W/b.card"
	encode_bg
	wait_for 'DONE .*4790-5040-0000001A'
	wait_for 'DONE .*4790-5040-0000001B'
	card c 1C; card d 1D
	tb_swap 0 "$W/c.card"; tb_swap 1 "$W/d.card"
	wait_for 'progress: 4 of 4 done'
	encode_stop
	card_holds 0 "$(sql "SELECT cert_serial FROM issuances i JOIN cards c ON
		c.id = i.card_id WHERE c.chip_serial = '4790-5040-0000001C'")"
	card_holds 1 "$(sql "SELECT cert_serial FROM issuances i JOIN cards c ON
		c.id = i.card_id WHERE c.chip_serial = '4790-5040-0000001D'")"
	[ "$(sql "SELECT count(DISTINCT reader) FROM issuances")" -eq 2 ] ||
		fail "both readers did not work"
	invariants
}

# The card leaves after APDU N of the write; inserted again it is redone.
redo_after() { # cardsim fault args
	bundle 2
	card a 2A
	encode_bg --reader 0
	wait_for '^\[0\] waiting'
	tb_insert 0 "$W/a.card" "$@"
	wait_for 'FAILED'
	grep -q 'insert it again' "$OUT" || fail "no advice to insert the card again"
	[ "$(sql "SELECT state FROM cards")" = partial ] || fail "card not partial"
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'queued' AND
		pending_card_id IS NOT NULL")" -eq 1 ] || fail "record not tied to its card"
	invariants
	tb_remove 0 || true
	# another card must not take the waiting record's certificate
	card b 2B
	tb_insert 0 "$W/b.card"
	wait_for 'DONE .*4790-5040-0000002B'
	[ "$(sql "SELECT r.serial FROM records r JOIN cards c ON c.id = r.card_id
		WHERE c.chip_serial = '4790-5040-0000002B'")" = "$(serial_of 2)" ] ||
		fail "the second card took the first card's record"
	tb_swap 0 "$W/a.card"
	wait_for 'DONE .*4790-5040-0000002A'
	encode_stop
	card_holds 0 "$(serial_of 1)"
	[ "$(sql "SELECT state FROM cards WHERE chip_serial LIKE '%2A'")" = issued ] ||
		fail "the redone card is not issued"
	invariants
}

pulled_mid_write() { redo_after --pull-after 40; }
memory_error() { redo_after --fail-write 12; }

not_blank() {
	bundle 1
	card a 3A
	# someone else's card, personalised outside this station
	tb_insert 0 "$W/a.card"
	export P=111111 K=fedcba9876543210
	pkcs15-init -r "$(tb_reader 0)" --create-pkcs15 --no-so-pin >/dev/null 2>&1
	pkcs15-init -r "$(tb_reader 0)" --store-pin --auth-id 01 --pin env:P \
		--puk env:K --label Other >/dev/null 2>&1
	encode_bg --reader 0
	wait_for 'FAILED.*not blank'
	encode_stop
	[ "$(sql "SELECT count(*) FROM issuances")" -eq 0 ] || fail "it was written"
	[ "$(sql "SELECT state FROM records")" = queued ] || fail "record not queued"
}

unknown_model() {
	bundle 1
	mkdir -p "$W/profiles"
	sed 's/^match.aid .*/match.aid = A000000308000010000100/; s/^name .*/name = piv/' \
		"$CARDSTATION_PROFILES/isoapplet.conf" >"$W/profiles/piv.conf"
	card a 4A
	tb_insert 0 "$W/a.card"
	encode_bg --reader 0 --profiles "$W/profiles"
	wait_for 'FAILED.*unknown card model'
	encode_stop
	[ "$(sql "SELECT state FROM records")" = queued ] || fail "record not queued"
}

# The station's processes die at once mid-write (power gone, kill -9 of
# every one of them): the next station resumes, the card is redone.
killed_and_resumed() {
	bundle 2
	card a 5A
	tb_insert 0 "$W/a.card" --latency real
	encode_bg --reader 0
	wait_for 'step 3 of 5: writing'
	pkill -9 -x -f -- "cardstation $CS_WORKER_ARG" || fail "no worker to kill"
	kill -9 "$ENCODE_PID"
	wait "$ENCODE_PID" 2>/dev/null || true
	# the next station resumes: the card is redone, nothing is lost
	encode_bg --reader 0 --until-done
	wait_for 'resumed: 1 card'
	wait_for 'DONE .*4790-5040-0000005A'
	card b 5B
	tb_swap 0 "$W/b.card"
	wait_for 'DONE .*4790-5040-0000005B'
	wait "$ENCODE_PID" || fail "encode --until-done did not end well"
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'done'")" -eq 2 ] ||
		fail "not both records done"
	[ "$(sql "SELECT count(*) FROM issuances WHERE outcome = 'interrupted'")" -eq 1 ] ||
		fail "the interrupted write is not journaled"
	card_holds 0 "$(serial_of 2)"
	invariants
}

# Only the coordinator is killed mid-write: its worker finishes the card
# it writes, journals it and stops within seconds; nothing to resume.
coordinator_killed() {
	local pids p
	bundle 2
	card a DA; card b DB
	tb_insert 0 "$W/a.card" --latency real
	encode_bg --reader 0
	wait_for 'step 3 of 5: writing'
	pids=$(pgrep -x -f -- "cardstation $CS_WORKER_ARG") || fail "no worker"
	kill -9 "$ENCODE_PID"
	wait "$ENCODE_PID" 2>/dev/null || true
	for p in $pids; do
		timeout 60 tail --pid="$p" -f /dev/null ||
			fail "worker $p outlived its coordinator by a minute"
	done
	[ "$(sql "SELECT r.state || ' ' || c.state FROM records r JOIN cards c
		ON c.id = r.card_id WHERE c.chip_serial LIKE '%DA'")" = "done issued" ] ||
		fail "the card being written was not finished"
	card_holds 0 "$(serial_of 1)"
	tb_swap 0 "$W/b.card"
	encode_bg --reader 0 --until-done
	wait_for 'DONE .*4790-5040-000000DB'
	wait "$ENCODE_PID" || fail "encode --until-done did not end well"
	! grep -q 'resumed:' "$OUT" || fail "there was nothing to resume"
	invariants
}

# Ctrl-C reaches the terminal's whole process group: the card being written
# is finished and verifies, then the run stops. (setsid: the group of a
# terminal's foreground job, without a terminal.)
interrupted_by_ctrl_c() {
	bundle 2
	card a EA
	tb_insert 0 "$W/a.card" --latency real
	: >"$OUT"
	setsid "$CS_BIN" encode --run 1 --pin env:CS_PIN --puk env:CS_PUK \
		--reader 0 </dev/null >>"$OUT" 2>&1 &
	ENCODE_PID=$!
	wait_for 'step 3 of 5: writing'
	kill -INT -- "-$ENCODE_PID"
	wait "$ENCODE_PID" || [ $? -eq 1 ] || fail "encode ended badly on Ctrl-C"
	grep -q 'DONE .*4790-5040-000000EA' "$OUT" ||
		fail "the card being written was not finished"
	grep -q 'run ended: stopped' "$OUT" || fail "the run did not stop"
	! pgrep -x -f -- "cardstation $CS_WORKER_ARG" >/dev/null || fail "a worker lives on"
	card_holds 0 "$(serial_of 1)"
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'queued'")" -eq 1 ] ||
		fail "the second person is not waiting in the queue"
	invariants
}

# The guard against rewriting a card that holds a live certificate is a
# journal query: when the journal cannot answer it (here a table renamed
# under the running station), the card is refused untouched; before, the
# error read as "holds nothing" and --puk rewrote the card.
journal_error_refuses() {
	bundle 2
	card a FA
	tb_insert 0 "$W/a.card"
	encode_bg --reader 0 --reissue
	wait_for 'DONE .*4790-5040-000000FA'
	tb_remove 0
	wait_for 'waiting: insert a card' 2
	sql "ALTER TABLE issuances RENAME TO issuances_gone"
	tb_insert 0 "$W/a.card" --trace "$W/trace"
	wait_for 'FAILED.*journal cannot say what this card holds'
	encode_stop
	local apdu
	for apdu in $(grep -h ' > ' "$W/trace" | awk '{print $3}'); do
		case $apdu in
		??A4*|??CA*|??CB*|??C0*|??20????|??20????00) ;;
		*) fail "the card got $apdu although the journal could not answer" ;;
		esac
	done
	sql "ALTER TABLE issuances_gone RENAME TO issuances"
	card_holds 0 "$(serial_of 1)"
}

# A card the journal knows, confirmed under another printed number, is
# refused with both numbers (a mix-up at the counter), unless the run says
# the card was printed again; then the new number is journaled and the old
# one stays in the card's history. (Issue 10.)
reprinted_card() {
	bundle 2
	card a 7D
	mkfifo "$W/in"
	ENCODE_IN=$W/in encode_bg --reader 0 --confirm
	exec 3>"$W/in"
	wait_for '^\[0\] waiting'
	tb_insert 0 "$W/a.card" --pull-after 40
	wait_for 'type its printed number'
	echo "P-1" >&3
	wait_for 'FAILED.*set aside as partial'
	tb_remove 0 || true
	tb_insert 0 "$W/a.card"
	wait_for 'type its printed number' 2
	echo "P-9" >&3
	wait_for 'FAILED.*printed P-1 in the journal, not P-9.*--reprint'
	exec 3>&-
	encode_stop
	[ "$(sql "SELECT printed_no FROM cards")" = P-1 ] ||
		fail "the refused number was journaled"
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'queued' AND
		pending_card_id IS NOT NULL")" -eq 1 ] ||
		fail "the record no longer waits for its card"
	rm -f "$W/in"; mkfifo "$W/in"
	ENCODE_IN=$W/in encode_bg --reader 0 --confirm --reprint
	exec 3>"$W/in"
	tb_swap 0 "$W/a.card"
	wait_for 'type its printed number'
	echo "P-9" >&3
	wait_for 'DONE .*4790-5040-0000007D'
	exec 3>&-
	encode_stop
	[ "$(sql "SELECT printed_no FROM cards")" = P-9 ] ||
		fail "the new printed number was not journaled"
	sql "SELECT detail FROM events WHERE kind = 'card.reprint'" |
		grep -q 'P-9, before P-1' || fail "the reprint is not in the journal"
	card_holds 0 "$(serial_of 1)"
	invariants
}

reissue_blocked_pin() {
	bundle 2
	card a 6A
	tb_insert 0 "$W/a.card"
	encode_bg --reader 0
	wait_for 'DONE'
	encode_stop
	# the holder blocks the PIN
	for i in 1 2 3; do
		pkcs15-tool -r "$(tb_reader 0)" --verify-pin --auth-id 01 \
			--pin 999999 >/dev/null 2>&1 || true
	done
	# the office re-issues the next certificate onto the same card
	RUN=1 encode_bg --reader 0
	wait_for 'FAILED.*already holds'
	encode_stop
	tb_swap 0 "$W/a.card"
	encode_bg --reader 0 --reissue
	wait_for 'DONE .*4790-5040-0000006A'
	encode_stop
	card_holds 0 "$(serial_of 2)"
	invariants
}

until_done_waits_for_its_card() {
	bundle 1
	card a 9A
	encode_bg --reader 0 --until-done
	wait_for '^\[0\] waiting'
	tb_insert 0 "$W/a.card" --pull-after 40
	wait_for 'FAILED'
	# an unattended run says what it is waiting for, and goes on waiting
	wait_for 'wait for the card left half written for them'
	kill -0 "$ENCODE_PID" || fail "the station gave up on the half-written card"
	tb_remove 0 || true
	tb_insert 0 "$W/a.card"
	wait_for 'DONE .*4790-5040-0000009A'
	wait "$ENCODE_PID" || fail "encode --until-done did not end well"
	invariants
}

# Two stations on one run of one person, each with --until-done: the one
# whose reader stays empty must see the other write the last card and end
# too (it once waited for ever: its counts moved only with its own cards).
until_done_ends_with_the_other_station() {
	bundle 1
	card a 9B
	: >"$OUT"
	"$CS_BIN" encode --run 1 --pin env:CS_PIN --puk env:CS_PUK --operator A \
		--reader 0 --until-done </dev/null >"$W/idle.out" 2>&1 &
	local idle=$!
	encode_bg --reader 1 --until-done
	tb_insert 1 "$W/a.card"
	wait_for 'DONE .*4790-5040-0000009B'
	wait "$ENCODE_PID" || fail "the writing station did not end well"
	# The bound only turns a hang into a failure.
	timeout 60 tail --pid="$idle" -f /dev/null ||
		{ kill "$idle"; fail "the idle station never saw the run done: $(cat "$W/idle.out")"; }
	wait "$idle" || fail "the idle station did not end well: $(cat "$W/idle.out")"
	grep -q 'DONE' "$W/idle.out" && fail "the idle station claims a card it never had"
	invariants
}

wrong_inputs() {
	bundle 2
	card a 8A
	tb_insert 0 "$W/a.card"
	# PUKs per card profile the run cannot take stop it at start, naming
	# the profile: one naming no profile, two for one profile, one for a
	# profile there is not
	local rc args
	for args in "=env:CS_P1|names no card profile" \
		"piv=env:CS_P1 --puk piv=env:CS_P2|two PUKs for card profile piv" \
		"nosuch=env:CS_P1|the PUK for card profile nosuch: no card profile 'nosuch'"; do
		rc=0
		# shellcheck disable=SC2086 # the options are split on purpose
		CS_P1=13572468 CS_P2=86420975 "$CS_BIN" encode --run 1 --reader 0 \
			--pin env:CS_PIN --operator tester --puk ${args%%|*} \
			</dev/null >"$OUT" 2>&1 || rc=$?
		[ "$rc" = 2 ] && grep -qF -- "${args#*|}" "$OUT" ||
			{ cat "$OUT"; fail "--puk ${args%%|*}: exit $rc"; }
	done
	# a PIN that does not suit the card's profile: the card is left alone
	CS_PIN=12 encode_bg --reader 0
	wait_for 'FAILED.*PIN must be 6 to 8 characters.*card profile isoapplet'
	encode_stop
	[ "$(sql "SELECT count(*) FROM issuances")" -eq 0 ] || fail "a card was written"
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'queued'")" -eq 2 ] ||
		fail "records not back in the queue"
	# an archive replaced after the run was imported is not used
	cp "$W/b/clientAllPin.zip" "$W/saved.zip"
	printf 'x' >>"$W/b/clientAllPin.zip"
	encode_bg --reader 0
	wait_for 'failed: .*clientAllPin.zip has changed since the run was imported'
	encode_stop
	[ "$(sql "SELECT count(*) FROM issuances")" -eq 0 ] || fail "a card was written"
}

pairing_list() {
	"$UPKIGEN" --out "$W/b" --people 3 >/dev/null
	"$CS_BIN" run new "$W/b/clientAll.zip" "$W/b/clientAllPin.zip" \
		--mode pairing >/dev/null
	local mail3 staff1
	mail3=$(awk -F'\t' 'NR == 4 { print $3 }' "$W/b/expect.tsv")
	staff1=$(sql "SELECT staff_no FROM records ORDER BY seq LIMIT 1")
	# what the card-printing system exports: by chip serial, to a mail or
	# a staff number
	printf 'printed_no,chip_serial,person\r\nP-7,4790-5040-0000007A,%s\r\nP-8,4790-5040-0000007B,%s\r\n' \
		"$mail3" "$staff1" >"$W/pairing.csv"
	card a 7A; card b 7B; card c 7C
	tb_insert 0 "$W/a.card"; tb_insert 1 "$W/b.card"
	encode_bg --pairing "$W/pairing.csv"
	wait_for 'DONE .*4790-5040-0000007A'
	wait_for 'DONE .*4790-5040-0000007B'
	tb_swap 0 "$W/c.card"
	wait_for 'FAILED.*not in the pairing list'
	encode_stop
	[ "$(sql "SELECT r.mail || ' ' || c.printed_no FROM records r JOIN cards c
		ON c.id = r.card_id WHERE c.chip_serial LIKE '%7A'")" = "$mail3 P-7" ] ||
		fail "card 7A does not carry the third person's certificate"
	[ "$(sql "SELECT r.staff_no FROM records r JOIN cards c ON c.id = r.card_id
		WHERE c.chip_serial LIKE '%7B'")" = "$staff1" ] ||
		fail "card 7B does not carry the first person's certificate"
	card_holds 1 "$(serial_of 1)"
	invariants
}

# The end of a run lists every record that waits for one particular card,
# with its code: a card pulled mid-write holds its holder's record; the
# pairing list names a card for another that never came; a fourth holder
# is in no line of the list. The done holder is not listed.
end_lists_waiting() {
	"$UPKIGEN" --out "$W/b" --people 4 >/dev/null
	"$CS_BIN" run new "$W/b/clientAll.zip" "$W/b/clientAllPin.zip" \
		--mode pairing >/dev/null
	local staff1 staff2 staff3 name2 name3 name4 n
	staff1=$(sql "SELECT staff_no FROM records WHERE seq = 1")
	staff2=$(sql "SELECT staff_no FROM records WHERE seq = 2")
	staff3=$(sql "SELECT staff_no FROM records WHERE seq = 3")
	name2=$(sql "SELECT holder FROM records WHERE seq = 2")
	name3=$(sql "SELECT holder FROM records WHERE seq = 3")
	name4=$(sql "SELECT holder FROM records WHERE seq = 4")
	printf 'printed_no,chip_serial,person\r\nP-1,4790-5040-000000E1,%s\r\nP-2,4790-5040-000000E2,%s\r\nP-3,4790-5040-000000E3,%s\r\n' \
		"$staff1" "$staff2" "$staff3" >"$W/pairing.csv"
	card a E1; card c E3
	tb_insert 0 "$W/a.card"
	encode_bg --reader 0 --pairing "$W/pairing.csv"
	wait_for 'DONE .*4790-5040-000000E1'
	tb_swap 0 "$W/c.card" --pull-after 40
	wait_for 'FAILED'
	encode_stop
	grep -q '^waiting for their own card:$' "$OUT" || fail "no list of who waits"
	n=$(grep -c '^  record .*\[run\.waits-' "$OUT")
	[ "$n" = 3 ] || fail "$n records listed as waiting, not 3"
	grep -qE "^  record 2 \($name2\) waits for card 4790-5040-000000E2, which the pairing list names for them \[run\.waits-for-paired-card\]$" "$OUT" ||
		fail "record 2's card (E2, from the list) is not named"
	grep -qE "^  record 3 \($name3\) waits for card 4790-5040-000000E3(, printed number P-3)?, left half written for them: insert it to finish \[run\.waits-for-card(-printed)?\]$" "$OUT" ||
		fail "record 3's half-written card E3 is not named"
	grep -qE "^  record 4 \($name4\) is in no line of the pairing list: no card will take it \[run\.waits-unpaired\]$" "$OUT" ||
		fail "record 4 is not said to be in no line"
	grep -q '^  record 1 ' "$OUT" && fail "the done record 1 is listed"
	# the list comes before the run's last line
	[ "$(tail -n 1 "$OUT")" = "run ended: stopped" ] ||
		fail "the run's last line: $(tail -n 1 "$OUT")"
	[ "$(sql "SELECT c.chip_serial FROM records r JOIN cards c ON c.id =
		r.pending_card_id WHERE r.seq = 3")" = 4790-5040-000000E3 ] ||
		fail "the journal does not tie record 3 to card E3"
	invariants
}

# ---- the journal's promise: one certificate, one card ----

# The decimal serial of the certificate on the card in slot $1, read by
# OpenSC and OpenSSL.
card_serial() {
	pkcs15-tool -r "$(tb_reader "$1")" --read-certificate 01 2>/dev/null |
		openssl x509 -noout -serial | sed 's/^serial=//' |
		{ read -r hex; echo "ibase=16; $hex" | BC_LINE_LENGTH=0 bc; }
}

# Two encode processes on one run, two readers each, six cards: whatever
# moment the second one starts at, every certificate ends on exactly one
# card. Judged on the cards, then in the journal.
two_stations_once() { # OFFSET: when the second station starts
	local k slot got
	rm -rf "$W"; mkdir -p "$W"; tb_journal "$W"
	bundle 6
	for k in 1 2 3 4 5 6; do card "c$k" "E$k"; done
	for slot in 0 1 2 3; do tb_insert "$slot" "$W/c$((slot + 1)).card"; done
	: >"$OUT"
	"$CS_BIN" encode --run 1 --pin env:CS_PIN --puk env:CS_PUK --operator A \
		--reader 0 --reader 1 </dev/null >>"$OUT" 2>&1 &
	local a=$!
	case $1 in
	0) ;;                                 # at once
	1) wait_for '^\[[01]\] card ' ;;      # the first has a card
	2) wait_for 'step 3 of 5: writing' ;; # the first is writing
	3) wait_for ' DONE ' ;;               # the first has finished a card
	esac
	"$CS_BIN" encode --run 1 --pin env:CS_PIN --puk env:CS_PUK --operator B \
		--reader 2 --reader 3 </dev/null >>"$OUT" 2>&1 &
	local b=$!
	wait_for ' DONE ' 4
	tb_swap 0 "$W/c5.card"; tb_swap 2 "$W/c6.card"
	wait_for ' DONE ' 6
	kill -TERM "$a" "$b"; wait "$a" "$b" || true
	! grep -q FAILED "$OUT" || fail "a card failed (offset $1)"
	# On the cards: six certificates, each the bundle's, each once.
	: >"$W/on-cards"
	for k in 1 2 3 4 5 6; do
		tb_swap 0 "$W/c$k.card"
		got=$(card_serial 0)
		[ -n "$got" ] || fail "card c$k holds no certificate (offset $1)"
		card_holds 0 "$got"
		echo "$got" >>"$W/on-cards"
	done
	cut -f1 "$W/b/expect.tsv" | tail -n +2 | sort >"$W/want"
	sort "$W/on-cards" | diff -q - "$W/want" >/dev/null ||
		fail "the cards do not hold the six certificates once each (offset $1): $(sort "$W/on-cards" | uniq -d)"
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'done'")" -eq 6 ] ||
		fail "not six records done (offset $1)"
	invariants
	tb_remove 0; tb_remove 1; tb_remove 2; tb_remove 3
}

two_stations() {
	local seed=${TWO_STATIONS_SEED:-$RANDOM} rep
	RANDOM=$seed
	echo "two_stations: seed $seed (TWO_STATIONS_SEED to repeat)"
	for rep in 1 2 3 4 5 6 7 8 9 10; do
		two_stations_once $((RANDOM % 4))
	done
}

# A journal edited behind the station's back is never written on: encode
# and run new refuse before any APDU reaches a card.
tampered_journal() {
	local how
	for how in record_back index_dropped trigger_added; do
		rm -rf "$W"; mkdir -p "$W"; tb_journal "$W"
		bundle 2
		card a 8A; card b 8B
		tb_insert 0 "$W/a.card"
		encode_bg --reader 0
		wait_for 'DONE .*4790-5040-0000008A'
		encode_stop
		tb_remove 0
		case $how in
		record_back) sql "UPDATE records SET state = 'queued', card_id = NULL
			WHERE state = 'done'" ;;
		index_dropped) sql "DROP INDEX issuances_live_cert" ;;
		trigger_added) case $CARDSTATION_JOURNAL in
			postgresql://*) sql "CREATE FUNCTION quiet() RETURNS trigger
				LANGUAGE plpgsql AS \$\$ BEGIN RETURN NEW; END \$\$;
				CREATE TRIGGER keep_quiet BEFORE INSERT ON events FOR EACH
				ROW EXECUTE FUNCTION quiet()" ;;
			*) sql "CREATE TRIGGER keep_quiet BEFORE INSERT ON
				events BEGIN SELECT 1; END" ;;
			esac ;;
		esac
		tb_insert 1 "$W/b.card" --trace "$W/trace"
		: >"$OUT"
		if "$CS_BIN" encode --run 1 --pin env:CS_PIN --puk env:CS_PUK \
			--reader 1 </dev/null >>"$OUT" 2>&1; then
			fail "encode wrote on a journal with $how"
		fi
		grep -q 'changed behind the station' "$OUT" ||
			fail "encode did not say why it refused ($how)"
		! grep -q ' > ' "$W/trace" || fail "an APDU reached the card ($how)"
		if "$CS_BIN" run new "$W/b/clientAll.zip" "$W/b/clientAllPin.zip" \
			--institution "$INST" >"$OUT" 2>&1; then
			fail "run new accepted a journal with $how"
		fi
		grep -q 'changed behind the station' "$OUT" ||
			fail "run new did not say why it refused ($how)"
		tb_remove 1
	done
}

# The same download imported twice. Both runs queued before either is
# encoded: the second run's record whose certificate the first run put on
# a card is set aside when a card claims it, and that card goes to the next
# holder at once. Imported a third time, the import itself refuses what is
# live already. The queue never stalls on a record no card can take.
imported_twice() {
	bundle 2
	import_again # run 2: the same download
	card a 9A; card b 9B; card c 9C
	tb_insert 0 "$W/a.card"
	encode_bg --reader 0
	wait_for 'DONE .*4790-5040-0000009A'
	encode_stop
	tb_swap 0 "$W/b.card"
	RUN=2 encode_bg --reader 0
	wait_for 'DONE .*4790-5040-0000009B'
	grep -q 'FAILED.*already live on card.*set aside' "$OUT" ||
		fail "the record live on card 9A was not set aside"
	tb_swap 0 "$W/c.card"
	wait_for 'no one is left'
	encode_stop
	[ "$(sql "SELECT problem FROM records WHERE run_id = 2 AND
		state = 'refused'")" = live-elsewhere ] ||
		fail "the second run's first record is not set aside as live-elsewhere"
	[ "$(sql "SELECT count(*) FROM issuances WHERE card_id = (SELECT id FROM
		cards WHERE chip_serial LIKE '%9C')")" -eq 0 ] ||
		fail "card 9C was written although no one was left"
	tb_swap 0 "$W/b.card"
	card_holds 0 "$(serial_of 2)"
	# A third import refuses both at once, saying where they are.
	import_again
	[ "$(sql "SELECT count(*) FROM records WHERE run_id = 3 AND
		problem = 'live-elsewhere'")" -eq 2 ] ||
		fail "the third import queued certificates that are on cards"
	invariants
}

# A certificate valid at import that has expired by the time its card is
# written: set aside as expired when claimed, and the same card goes to the
# next holder. The station is run two days ahead with libfaketime (the
# clock is the only thing that differs).
expired_after_import() {
	"$UPKIGEN" --out "$W/b" --people 2 --expires-in 86400@1 >/dev/null
	import_again
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'queued'")" -eq 2 ] ||
		fail "both certificates should be valid at import"
	card a BA
	tb_insert 0 "$W/a.card"
	: >"$OUT"
	# libfaketime itself, not its wrapper: the wrapper names a semaphore
	# by pid, and pids repeat across the benches' PID namespaces.
	local lib
	lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 | head -n 1)
	[ -n "$lib" ] || fail "libfaketime is not installed"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		LD_PRELOAD=$lib FAKETIME='+2d' "$CS_BIN" encode --run 1 \
		--pin env:CS_PIN --puk env:CS_PUK --reader 0 </dev/null >>"$OUT" 2>&1 &
	ENCODE_PID=$!
	wait_for 'DONE .*4790-5040-000000BA'
	encode_stop
	grep -q 'FAILED.*expired.*set aside' "$OUT" ||
		fail "the expired record was not set aside"
	[ "$(sql "SELECT problem FROM records WHERE seq = 1")" = expired ] ||
		fail "the first record is not set aside as expired"
	card_holds 0 "$(serial_of 2)"
	invariants
}

# A card returned at the desk, or reported lost, that comes back into a run
# is refused before any APDU that changes it: no PIN reset with the PUK
# (which would hand the previous holder's key to the run's PIN), no
# record tied to it, the journal unchanged. (Issue 10, item 1.)
returned_or_lost_card() {
	bundle 3
	card a CA; card b CB
	tb_insert 0 "$W/a.card"; tb_insert 1 "$W/b.card"
	encode_bg
	wait_for 'DONE .*4790-5040-000000CA'
	wait_for 'DONE .*4790-5040-000000CB'
	encode_stop
	"$CS_BIN" card returned --reader "$(tb_reader 0)" --puk env:CS_PUK \
		--already-revoked \
		>/dev/null || fail "card returned"
	"$CS_BIN" card lost --chip 4790-5040-000000CB \
		--admin-mail admin@example.ac.jp --out "$W/lost.tsv" >/dev/null ||
		fail "card lost"
	tb_swap 0 "$W/a.card" --trace "$W/trace.a"
	tb_swap 1 "$W/b.card" --trace "$W/trace.b"
	encode_bg
	wait_for 'FAILED.*returned at the service desk.*set the card aside'
	wait_for 'FAILED.*marked lost.*service desk'
	encode_stop
	# Only reads went to the cards: SELECT (A4), GET DATA (CA/CB), GET
	# RESPONSE (C0), VERIFY without data (20: how many tries are left);
	# never RESET RETRY COUNTER (2C), a PIN, a write.
	local apdu
	for apdu in $(grep -h ' > ' "$W/trace.a" "$W/trace.b" | awk '{print $3}'); do
		case $apdu in
		??A4*|??CA*|??CB*|??C0*) ;;
		??20????|??20????00) ;;
		*) fail "a refused card got $apdu" ;;
		esac
	done
	local states
	states=$(sql "SELECT state FROM cards ORDER BY chip_serial" | paste -sd, -)
	[ "$states" = returned,lost ] || fail "the cards' states changed: $states"
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'queued' AND
		pending_card_id IS NULL")" -eq 1 ] ||
		fail "the third person is not free in the queue"
	# (A returned card's record stays 'done' with its issuance 'wiped':
	# what a return does to the record is issue 10's to settle.)
	[ -z "$(sql "SELECT cert_serial FROM issuances WHERE outcome IN
		('writing','verified') GROUP BY cert_serial HAVING count(*) > 1")" ] ||
		fail "a certificate on two cards"
	"$CS_BIN" log check >/dev/null || fail "log check"
}

# Keys no card profile can hold are refused at import; the queue goes to
# the people whose keys the card takes.
unfit_keys() {
	# A station with IsoApplet cards only (PIV tokens would take P-256).
	mkdir -p "$W/iso"
	cp "$CARDSTATION_PROFILES/isoapplet.conf" "$W/iso/"
	export CARDSTATION_PROFILES=$W/iso
	"$UPKIGEN" --out "$W/b" --people 3 --key-type ec-p256@1 \
		--key-type rsa-3072@2 >/dev/null
	"$CS_BIN" run new "$W/b/clientAll.zip" "$W/b/clientAllPin.zip" \
		--institution "$INST" >"$OUT" 2>&1 && fail "run new said all usable"
	[ "$(sql "SELECT key_type || ':' || coalesce(problem, '-') FROM records
		ORDER BY seq" | paste -sd ' ' -)" = \
		"ec-prime256v1:key-unsupported rsa-3072:key-unsupported rsa-2048:-" ] ||
		fail "key types not refused at import: $(sql "SELECT key_type, problem FROM records")"
	card a AA
	tb_insert 0 "$W/a.card"
	encode_bg --reader 0
	wait_for 'DONE .*4790-5040-000000AA'
	encode_stop
	card_holds 0 "$(serial_of 3)"
	invariants
}

# Sourced by another file of stories (identity.sh): its helpers only.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
"$1"
echo "PASS: $1"
