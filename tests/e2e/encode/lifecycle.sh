#!/bin/bash
# The rest of a card's life in the journal (issue 10): a card that fails
# for good during a run is retired, its holder goes to the next card at
# once and, put in again, it is refused before any APDU that changes it;
# a renewal download re-issued onto the same card supersedes the old
# certificate, which `log` shows, and `log --expiring` lists who needs a
# renewal; a returned card is written again or retired as its card
# profile says. Cards are judged with OpenSC's tools (pkcs15-tool, pkcs11-tool,
# raw APDUs with opensc-tool) and OpenSSL.
set -euo pipefail
# encode.sh's helpers: bundle, encode_bg, wait_for, card_holds, sql,
# invariants, serial_of, fail.
source "$(dirname "$0")/encode.sh"

ISOAPPLET=F276A288BCFBA69D34F31001

# Only reads reached the card in the trace file $1: SELECT (A4), GET DATA
# (CA/CB), GET RESPONSE (C0), READ BINARY (B0), VERIFY without data (20:
# how many tries are left). Never RESET RETRY COUNTER (2C), a PIN, a write.
only_reads() {
	local apdu n=0
	[ -s "$1" ] || fail "no trace of the card in $1"
	for apdu in $(grep -h ' > ' "$1" | awk '{print $3}'); do
		n=$((n + 1))
		case $apdu in
		??A4*|??CA*|??CB*|??C0*|??B0*) ;;
		??20????|??20????00) ;;
		*) fail "the refused card got $apdu" ;;
		esac
	done
	[ "$n" -gt 0 ] || fail "the station never looked at the card"
}

# The holder blocks the PUK of the card in slot $1: five RESET RETRY
# COUNTER with a wrong PUK, sent as raw APDUs; the card's last answer is
# 63C0 (no try left).
block_puk() {
	local wrong pin apdus=() i
	wrong=$(printf 'f%.0s' $(seq 16) | xxd -p | tr -d '\n')
	pin=$(printf '%s' "$CS_PIN" | xxd -p)
	apdus+=(-s "00A404000C$ISOAPPLET")
	for i in 1 2 3 4 5; do
		apdus+=(-s "002C0001$(printf '%02X' $((16 + ${#CS_PIN})))$wrong$pin")
	done
	opensc-tool -r "$(tb_reader "$1")" "${apdus[@]}" >"$W/rrc.out" 2>&1 || true
	grep -q 'SW1=0x63, SW2=0xC0' "$W/rrc.out" ||
		fail "the PUK did not block: $(cat "$W/rrc.out")"
}

# A card whose PUK is blocked cannot take a new PIN: re-issuing it fails
# for good. It is retired (not 'partial'), the record it had claimed goes
# back to the queue free for the next card at once (not tied to it), the
# advice does not say to insert it again, and, put in again, it is refused
# with reads only.
fails_for_good() {
	bundle 3
	card a 7A; card b 7B
	tb_insert 0 "$W/a.card"
	encode_bg --reader 0
	wait_for 'DONE .*4790-5040-0000007A'
	encode_stop
	block_puk 0
	# The office re-issues the card: the next holder's write meets the
	# blocked PUK.
	encode_bg --reader 0 --reissue
	wait_for 'FAILED.*PUK is blocked'
	grep -q 'insert it again' "$OUT" &&
		fail "the advice sends a card that is never writable back in"
	grep -q 'back in the queue for the next card' "$OUT" ||
		fail "the advice does not say the holder is back in the queue"
	[ "$(sql "SELECT state FROM cards WHERE chip_serial LIKE '%7A'")" = \
		retired ] || fail "the card is not retired"
	[ "$(sql "SELECT count(*) FROM records WHERE pending_card_id IS NOT
		NULL")" -eq 0 ] || fail "a record waits for the retired card"
	[ "$(sql "SELECT state FROM records WHERE serial = '$(serial_of 2)'")" = \
		queued ] || fail "the second holder is not back in the queue"
	[ "$(sql "SELECT outcome FROM issuances WHERE cert_serial =
		'$(serial_of 2)'")" = failed ] || fail "the failed write is not journaled"
	# The next card takes that holder at once.
	tb_swap 0 "$W/b.card"
	wait_for 'DONE .*4790-5040-0000007B'
	encode_stop
	card_holds 0 "$(serial_of 2)"
	# Put in again, the retired card is refused untouched.
	tb_swap 0 "$W/a.card" --trace "$W/trace.a"
	encode_bg --reader 0 --reissue
	wait_for 'FAILED.*retired'
	encode_stop
	only_reads "$W/trace.a"
	[ "$(sql "SELECT count(*) FROM issuances WHERE card_id = (SELECT id FROM
		cards WHERE chip_serial LIKE '%7A')")" -eq 2 ] ||
		fail "the retired card got another issuance"
	# Its first holder's certificate and key are still on it, untouched.
	card_holds 0 "$(serial_of 1)"
	# verify says the card is retired and that a certificate is still live
	# on it (nothing revoked it): a failure, not a pass.
	local rc=0
	"$CS_BIN" verify --reader "$(tb_reader 0)" --ca "$W/b/ca.pem" --json \
		>"$W/v.json" || rc=$?
	[ "$rc" = 2 ] || { jq . "$W/v.json" >&2; fail "verify on the retired card: exit $rc"; }
	jq -e --arg s "$(serial_of 1)" '.reasons[] | select(.code ==
		"card-retired-live" and .level == "fail" and (.text | contains($s)))' \
		"$W/v.json" >/dev/null ||
		{ jq . "$W/v.json" >&2; fail "verify does not say the retired card holds a live certificate"; }
	invariants
}

# A renewal download for the same people, re-issued onto the first
# person's card: the card holds the new certificate only, the old one is
# 'superseded' with the card's history kept, and `log --expiring` lists
# the certificates live on cards that expire soon, the superseded one not.
renewal() {
	# The second person's certificate expires in five days.
	bundle 2 --expires-in 432000@2
	card a 8A; card b 8B
	# One reader, one card after the other: the first person's card is a.
	tb_insert 0 "$W/a.card"
	encode_bg --reader 0
	wait_for 'DONE .*4790-5040-0000008A'
	tb_swap 0 "$W/b.card"
	wait_for 'DONE .*4790-5040-0000008B'
	encode_stop
	[ "$(sql "SELECT c.chip_serial FROM issuances i JOIN cards c ON c.id =
		i.card_id WHERE i.cert_serial = '$(serial_of 1)'")" = \
		4790-5040-0000008A ] || fail "the first person is not on card a"
	local old new other
	old=$(serial_of 1); other=$(serial_of 2)
	"$UPKIGEN" --out "$W/b" --people 2 --renewal >/dev/null
	new=$(serial_of 1)
	[ "$new" != "$old" ] || fail "the renewal has the old serial"
	import_again
	tb_swap 0 "$W/a.card"
	RUN=2 encode_bg --reader 0 --reissue
	wait_for 'DONE .*4790-5040-0000008A'
	encode_stop
	card_holds 0 "$new"
	[ "$(grep -c 'Encoded serial' "$W/certs.txt")" -eq 1 ] ||
		fail "the card holds more than the new certificate"
	# The journal: the old certificate superseded, with the reason; the
	# card's history kept; the new one verified on the same card.
	[ "$(sql "SELECT outcome FROM issuances WHERE cert_serial = '$old'")" = \
		superseded ] || fail "the old certificate is not superseded"
	[ "$(sql "SELECT count(DISTINCT card_id) FROM issuances WHERE cert_serial
		IN ('$old', '$new')")" -eq 1 ] || fail "not the same card"
	sql "SELECT reason FROM issuances WHERE cert_serial = '$old'" |
		grep -q "renewed: certificate $new" || fail "no reason for the supersede"
	[ "$(sql "SELECT count(*) FROM events WHERE kind = 'issuance.change' AND
		detail LIKE '%\"cert_serial\":\"$old\"%' AND
		detail LIKE '%\"outcome\":\"superseded\"%'")" -eq 1 ] ||
		fail "no event for the supersede"
	"$CS_BIN" log --chip 4790-5040-0000008A >"$W/log.txt"
	grep -q "superseded .*cert $old" "$W/log.txt" ||
		fail "log does not show the old certificate superseded: $(cat "$W/log.txt")"
	grep -q "verified .*cert $new" "$W/log.txt" ||
		fail "log does not show the new certificate"
	# Within ten days: the second person's only.
	"$CS_BIN" log --expiring 10 >"$W/exp.txt"
	grep -q "cert $other" "$W/exp.txt" || fail "the expiring certificate is not listed"
	[ "$(wc -l <"$W/exp.txt")" -eq 1 ] || fail "log --expiring 10: $(cat "$W/exp.txt")"
	# Within a hundred years, as CSV: both live certificates, soonest
	# first, never the superseded one.
	"$CS_BIN" log --expiring 36500 --csv >"$W/exp.csv"
	[ "$(head -n 1 "$W/exp.csv" | tr -d '\r')" = \
		"issuance,holder,mail,cert_serial,chip_serial,printed_no,not_after,run" ] ||
		fail "CSV header: $(head -n 1 "$W/exp.csv")"
	[ "$(wc -l <"$W/exp.csv")" -eq 3 ] || fail "CSV rows: $(cat "$W/exp.csv")"
	sed -n 2p "$W/exp.csv" | grep -q ",$other,4790-5040-0000008B," ||
		fail "the soonest is not first: $(cat "$W/exp.csv")"
	sed -n 3p "$W/exp.csv" | grep -q ",$new,4790-5040-0000008A," ||
		fail "the renewed certificate is not listed"
	grep -q ",$old," "$W/exp.csv" && fail "a superseded certificate is listed"
	"$CS_BIN" log --expiring x >/dev/null 2>&1 && fail "--expiring x was taken"
	invariants
}

# The certificate in the PKCS#12 of person $1 of the bundle, DER, on
# stdout.
bundle_cert() {
	local serial pin
	serial=$(serial_of "$1")
	pin=$(awk -F'\t' -v s="$serial" '$1 == s { print $8 }' "$W/b/expect.tsv")
	unzip -p "$W/b/clientAll.zip" "$serial.p12" >"$W/p.p12"
	openssl pkcs12 -legacy -in "$W/p.p12" -passin "pass:$pin" -nokeys \
		-clcerts 2>/dev/null | openssl x509 -outform der
}

# The certificate ID 01 on the card in slot $1, DER, on stdout (read by
# OpenSC's pkcs15-tool).
card_cert() {
	pkcs15-tool -r "$(tb_reader "$1")" --read-certificate 01 2>/dev/null |
		openssl x509 -outform der
}

# A renewal whose certificate is longer than the one on the card (the CA
# now adds its policy, CRL and OCSP extensions): the re-issue makes room
# for it instead of failing with OpenSC's 'File too small'. The card then
# holds the new certificate byte for byte, one certificate only, and its
# new key signs (verified with the new certificate's key); the old
# certificate is superseded in the journal.
renewal_larger() {
	bundle 1
	card a 9A
	tb_insert 0 "$W/a.card"
	encode_bg --reader 0
	wait_for 'DONE .*4790-5040-0000009A'
	encode_stop
	local old new oldlen newlen
	old=$(serial_of 1)
	card_cert 0 >"$W/old.der"
	cmp -s "$W/old.der" <(bundle_cert 1) || fail "the first certificate differs"
	"$UPKIGEN" --out "$W/b" --people 1 --renewal --full-extensions >/dev/null
	new=$(serial_of 1)
	[ "$new" != "$old" ] || fail "the renewal has the old serial"
	bundle_cert 1 >"$W/new.der"
	oldlen=$(wc -c <"$W/old.der"); newlen=$(wc -c <"$W/new.der")
	[ "$newlen" -gt $((oldlen + 200)) ] ||
		fail "the renewal certificate is not longer ($oldlen, $newlen bytes)"
	import_again
	RUN=2 encode_bg --reader 0 --reissue
	wait_for 'DONE|FAILED'
	encode_stop
	grep -q 'DONE .*4790-5040-0000009A' "$OUT" || fail "the re-issue failed"
	card_holds 0 "$new"
	[ "$(grep -c 'Encoded serial' "$W/certs.txt")" -eq 1 ] ||
		fail "the card holds more than the new certificate"
	card_cert 0 >"$W/oncard.der"
	cmp -s "$W/oncard.der" "$W/new.der" ||
		fail "the card's certificate is not the renewal's"
	[ "$(sql "SELECT outcome FROM issuances WHERE cert_serial = '$old'")" = \
		superseded ] || fail "the old certificate is not superseded"
	[ "$(sql "SELECT outcome FROM issuances WHERE cert_serial = '$new'")" = \
		verified ] || fail "the new certificate is not verified"
	invariants
}

# A returned card as its profile's `reuse` says. IsoApplet (reinstall): it
# is written again once its applet was reinstalled (a fresh blank applet,
# same chip); with a profile that says never, it is retired at once,
# untouched, and refused as retired after that.
returned_reuse() {
	bundle 3
	card a 5A
	tb_insert 0 "$W/a.card"
	encode_bg --reader 0
	wait_for 'DONE .*4790-5040-0000005A'
	encode_stop
	"$CS_BIN" card returned --reader "$(tb_reader 0)" --puk env:CS_PUK \
		--already-revoked >/dev/null || fail "card returned"
	# The office reinstalls the applet: the same chip, a blank applet.
	card a2 5A
	tb_swap 0 "$W/a2.card"
	encode_bg --reader 0
	wait_for 'DONE .*4790-5040-0000005A'
	encode_stop
	card_holds 0 "$(serial_of 2)"
	[ "$(sql "SELECT state FROM cards")" = issued ] ||
		fail "the reinstalled card is not issued"
	[ "$(sql "SELECT outcome FROM issuances ORDER BY id" | paste -sd, -)" = \
		wiped,verified ] ||
		fail "the card's history: $(sql "SELECT outcome FROM issuances")"
	# A profile that never re-uses returned cards.
	mkdir -p "$W/profiles"
	sed 's/^reuse .*/reuse = never/' "$CARDSTATION_PROFILES/isoapplet.conf" \
		>"$W/profiles/isoapplet.conf"
	grep -q '^reuse = never' "$W/profiles/isoapplet.conf" || fail "no reuse line"
	"$CS_BIN" card returned --reader "$(tb_reader 0)" --puk env:CS_PUK \
		--already-revoked >/dev/null || fail "card returned"
	tb_swap 0 "$W/a2.card" --trace "$W/trace.a"
	CARDSTATION_PROFILES=$W/profiles encode_bg --reader 0
	wait_for 'FAILED.*does not re-use returned cards'
	encode_stop
	only_reads "$W/trace.a"
	[ "$(sql "SELECT state FROM cards")" = retired ] || fail "not retired"
	[ "$(sql "SELECT state FROM records WHERE seq = 3")" = queued ] ||
		fail "the third holder is not in the queue"
	tb_swap 0 "$W/a2.card" --trace "$W/trace.a2"
	encode_bg --reader 0
	wait_for 'FAILED.*this card is retired'
	encode_stop
	only_reads "$W/trace.a2"
	invariants
}

"$1"
echo "PASS: $1"
