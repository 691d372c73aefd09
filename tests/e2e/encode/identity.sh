#!/bin/bash
# Cards whose chip gives no serial: no card manager at all (cardsim's
# jcardsim runtime), or a locked one that refuses its CPLC. The station
# assigns such a card an identity of its own (CA-XXXXXX-XXXXXXXX), writes it
# into the card's PKCS#15 TokenInfo serial and journals it as assigned;
# verify, `card lost`, `card returned` and `card pin-reset` find the card
# by it. A card manager under an unusual AID still gives its CPLC. Every
# card is judged with OpenSC's tools (pkcs11-tool, pkcs15-tool, raw APDUs
# with opensc-tool) and OpenSSL, never only by the station's word.
set -euo pipefail
# encode.sh's helpers: bundle, encode_bg, wait_for, card_holds, sql,
# invariants, serial_of, fail.
source "$(dirname "$0")/encode.sh"

ADMIN=pki-admin@example.ac.jp
ISOAPPLET=F276A288BCFBA69D34F31001
ASSIGNED='CA-[0-9A-F]{6}-[0-9A-F]{8}'

# The identity encode printed for the card it wrote in reader $1 (the N-th
# DONE line of that reader).
done_identity() {
	grep -oE "^\[$1\] DONE .* on card [^ ]+" "$OUT" | tail -n 1 |
		grep -oE '[^ ]+$'
}

# The token serial OpenSC's PKCS#11 module shows for the card in slot $1.
token_serial() {
	pkcs11-tool --module opensc-pkcs11.so -L 2>/dev/null | awk -v r="$(tb_reader "$1")" '
		/^Slot / { inslot = index($0, r) > 0 }
		inslot && /serial num/ { sub(/.*: */, ""); print; exit }'
}

# The card in slot $1 carries identity $2 (CA-...) in its TokenInfo: as
# pkcs15-tool and PKCS#11 read it, and as the journal has it.
carries() {
	local slot=$1 id=$2 hex p15 p11 j
	hex=$(tr -d '-' <<<"$id")
	p15=$(pkcs15-tool -r "$(tb_reader "$slot")" --list-info 2>/dev/null |
		awk -F': *' '/Serial number/ { print $2; exit }')
	p11=$(token_serial "$slot")
	[ "${p15^^}" = "$hex" ] || fail "pkcs15-tool reads serial '$p15', not $hex"
	[ "${p11^^}" = "$hex" ] || fail "PKCS#11 shows serial '$p11', not $hex"
	j=$(sql "SELECT id_source || ' ' || upper(pkcs15_serial) FROM cards
		WHERE chip_serial = '$id'")
	[ "$j" = "assigned $hex" ] ||
		fail "the journal has card $id as '$j', not assigned with serial $hex"
}

# The card in slot $1 gives no CPLC to raw APDUs: SELECT of the card
# manager's GlobalPlatform AID, then GET DATA 9F7F. $2: the SW that must
# answer GET DATA after a SELECT that worked, or "none": no card manager
# answers SELECT (OpenSC's bind selects the IsoApplet first, so "none" is
# not a particular status word).
no_cplc() {
	local out
	out=$(opensc-tool -r "$(tb_reader "$1")" -s 00A4040008A000000151000000 \
		-s 80CA9F7F00 2>&1)
	case $2 in
	none) ! grep -q 'SW1=0x90, SW2=0x00' <<<"$out" ||
		fail "the card answers a card manager's SELECT or GET DATA: $out" ;;
	*) [ "$(grep -c 'SW1=0x90, SW2=0x00' <<<"$out")" = 1 ] &&
		grep -qE "SW1=0x${2:0:2}, SW2=0x${2:2:2}" <<<"$out" ||
		fail "GET DATA 9F7F is not refused with $2: $out" ;;
	esac
	! grep -qE '^9F 7F' <<<"$out" || fail "the card gave a CPLC: $out"
}

verify_json() { # SLOT [ARGS]: the report in $W/v.json, exit status in RC
	local slot=$1
	shift
	RC=0
	"$CS_BIN" verify --reader "$(tb_reader "$slot")" --ca "$W/b/ca.pem" \
		--json "$@" >"$W/v.json" || RC=$?
}

# Two cards without a card manager are written, checked and bound to
# their assigned identities; one is lost, the other handed back.
jcardsim_lifecycle() {
	bundle 3
	card a 00; card b 00
	tb_insert 0 "$W/a.card" --runtime jcardsim
	tb_insert 1 "$W/b.card" --runtime jcardsim
	no_cplc 0 none
	encode_bg
	wait_for "^\[0\] DONE .* on card $ASSIGNED"
	wait_for "^\[1\] DONE .* on card $ASSIGNED"
	encode_stop
	local ida idb
	ida=$(done_identity 0)
	idb=$(done_identity 1)
	[ "$ida" != "$idb" ] || fail "two cards were given one identity $ida"
	carries 0 "$ida"
	carries 1 "$idb"
	card_holds 0 "$(sql "SELECT cert_serial FROM issuances i JOIN cards c ON
		c.id = i.card_id WHERE c.chip_serial = '$ida'")"
	card_holds 1 "$(sql "SELECT cert_serial FROM issuances i JOIN cards c ON
		c.id = i.card_id WHERE c.chip_serial = '$idb'")"
	invariants

	# verify knows the card by its TokenInfo.
	verify_json 0 --pin env:CS_PIN
	[ "$RC" = 0 ] || { cat "$W/v.json" >&2; fail "verify: exit $RC"; }
	[ "$(jq -r '.verdict + " " + .chip_serial + " " + .id_source' "$W/v.json")" = \
		"OK $ida assigned" ] || { jq . "$W/v.json" >&2; fail "verify did not say OK for $ida"; }

	# Lost: the desk names it by the serial PKCS#11 shows (lower case).
	local shown
	shown=$(token_serial 0)
	[ -n "$shown" ] || fail "no token serial for card a"
	"$CS_BIN" card lost --chip "${shown,,}" --admin-mail "$ADMIN" \
		--out "$W/lost.tsv" 2>"$W/err.txt" ||
		{ cat "$W/err.txt" >&2; fail "card lost by its token serial"; }
	grep -q "$(sql "SELECT cert_serial FROM issuances i JOIN cards c ON
		c.id = i.card_id WHERE c.chip_serial = '$ida'")" "$W/lost.tsv" ||
		fail "the revocation request does not name card a's certificate"
	[ "$(sql "SELECT state FROM cards WHERE chip_serial = '$ida'")" = lost ] ||
		fail "card a is not lost"
	verify_json 0
	[ "$RC" = 2 ] || fail "a lost card verified: exit $RC"
	jq -e '[.reasons[].code] | index("card-lost") != null' "$W/v.json" \
		>/dev/null || { jq . "$W/v.json" >&2; fail "verify does not say lost"; }

	# Returned: found by its TokenInfo before the wipe erases it; the
	# same journal row, not a new one.
	"$CS_BIN" card returned --reader "$(tb_reader 1)" --puk env:CS_PUK \
		--already-revoked >/dev/null 2>"$W/err.txt" ||
		{ cat "$W/err.txt" >&2; fail "card returned"; }
	[ "$(sql "SELECT state FROM cards WHERE chip_serial = '$idb'")" = returned ] ||
		fail "card b is not returned"
	[ "$(sql "SELECT count(*) FROM cards")" = 2 ] ||
		fail "the return made a card row of its own: $(sql "SELECT * FROM cards")"
	[ "$(sql "SELECT outcome FROM issuances i JOIN cards c ON c.id = i.card_id
		WHERE c.chip_serial = '$idb'")" = wiped ] ||
		fail "card b's certificate is not wiped"
	# The return keeps the identity in a TokenInfo of its own, and nothing
	# else: raw APDUs read the serial back, there is no ODF, and OpenSC
	# finds no certificate.
	keeps_identity_only 1 "$idb"
	# verify finds the card as itself, returned.
	verify_json 1
	[ "$(jq -r '[.chip_serial, .id_source, (.journal.card_known | tostring),
		.journal.card_state] | join(" ")' "$W/v.json")" = \
		"$idb assigned true returned" ] ||
		{ jq . "$W/v.json" >&2; fail "verify does not know returned card b"; }
	jq -e '[.reasons[].code] | index("card-unknown") == null' "$W/v.json" \
		>/dev/null || { jq . "$W/v.json" >&2; fail "verify says card b is unknown"; }

	# Both come back to an encode run: the lost one is known by its
	# TokenInfo and refused; the returned one is known by the TokenInfo
	# its return left and refused as its profile says (IsoApplet:
	# reinstall); nothing is written, no record is taken.
	tb_swap 0 "$W/a.card" --runtime jcardsim --trace "$W/trace.a"
	tb_swap 1 "$W/b.card" --runtime jcardsim --trace "$W/trace.b"
	encode_bg
	wait_for '^\[0\] FAILED.*marked lost'
	wait_for "^\\[1\\] card $idb "
	wait_for '^\[1\] FAILED.*returned at the service desk.*card.marked-returned'
	encode_stop
	local apdu
	for apdu in $(grep -h ' > ' "$W/trace.a" "$W/trace.b" | awk '{print $3}'); do
		case $apdu in
		??A4*|??CA*|??B0*|??C0*) ;;
		??20????|??20????00) ;;
		*) fail "a refused card got $apdu" ;;
		esac
	done
	[ "$(sql "SELECT count(*) FROM records WHERE state = 'queued'")" = 1 ] ||
		fail "the third holder is not in the queue"
	# (invariants' "done record on one verified card" is not for records
	# whose card was lost or returned since.)
	[ -z "$(sql "SELECT cert_serial FROM issuances WHERE outcome IN
		('writing','verified') GROUP BY cert_serial HAVING count(*) > 1")" ] ||
		fail "a certificate on two cards"
	"$CS_BIN" log check >/dev/null || fail "log check"
	# A profile that never re-uses returned cards: the card, found by its
	# identity, is retired untouched.
	mkdir -p "$W/profiles"
	sed 's/^reuse .*/reuse = never/' "$CARDSTATION_PROFILES/isoapplet.conf" \
		>"$W/profiles/isoapplet.conf"
	tb_swap 1 "$W/b.card" --runtime jcardsim
	CARDSTATION_PROFILES=$W/profiles encode_bg --reader 1
	wait_for '^\[0\] FAILED.*does not re-use returned cards'
	encode_stop
	[ "$(sql "SELECT state FROM cards WHERE chip_serial = '$idb'")" = retired ] ||
		fail "returned card b is not retired"
	[ "$(sql "SELECT count(*) FROM cards")" = 2 ] ||
		fail "card b came back as a new card: $(sql "SELECT * FROM cards")"
}

# The card in slot $1 carries identity $2 in a TokenInfo and nothing else
# of PKCS#15 (what a return leaves on a card with an assigned identity):
# read with raw APDUs (opensc-tool), then pkcs15-tool finds no certificate.
keeps_identity_only() {
	local hex out
	hex=$(tr -d '-' <<<"$2")
	out=$(opensc-tool -r "$(tb_reader "$1")" -s "00A404000C$ISOAPPLET" \
		-s 00A40800045015503200 -s 00B0000000 -s 00A40800045015503100 2>&1)
	tr -d ' \n' <<<"$out" | grep -qi "0408${hex}" ||
		fail "the TokenInfo does not hold $hex: $out"
	[ "$(grep -c 'SW1=0x6A, SW2=0x82' <<<"$out")" = 1 ] ||
		fail "the returned card has an ODF: $out"
	! pkcs15-tool -r "$(tb_reader "$1")" --list-certificates 2>/dev/null |
		grep -q 'X.509 Certificate' || fail "a certificate is left on the card"
}

# A card whose card manager refuses its CPLC (locked: 6982) gets an
# assigned identity; one whose manager has an unusual AID keeps its chip
# serial, found after reset and, with another applet selected, by the
# empty SELECT. The locked one's PIN is reset at the desk, found by its
# TokenInfo.
locked_or_renamed_manager() {
	bundle 2
	card a 00; card b 5B
	tb_insert 0 "$W/a.card" --manager-locked 6982
	tb_insert 1 "$W/b.card" --manager-aid A0000009990001 --trace "$W/trace.b"
	no_cplc 0 6982
	opensc-tool -r "$(tb_reader 1)" -s 00A4040008A000000151000000 2>&1 |
		grep -q 'SW1=0x6A, SW2=0x82' || fail "the renamed manager answers the GP AID"
	encode_bg
	wait_for "^\[0\] DONE .* on card $ASSIGNED"
	wait_for '^\[1\] DONE .* on card 4790-5040-0000005B'
	encode_stop
	local ida
	ida=$(done_identity 0)
	carries 0 "$ida"
	[ "$(sql "SELECT id_source FROM cards WHERE chip_serial = '4790-5040-0000005B'")" = cplc ] ||
		fail "the renamed manager's card is not journaled with its CPLC"
	card_holds 0 "$(sql "SELECT cert_serial FROM issuances i JOIN cards c ON
		c.id = i.card_id WHERE c.chip_serial = '$ida'")"
	card_holds 1 "$(sql "SELECT cert_serial FROM issuances i JOIN cards c ON
		c.id = i.card_id WHERE c.chip_serial = '4790-5040-0000005B'")"

	# The IsoApplet left selected: the probe reaches the renamed manager
	# by the empty SELECT (00 A4 04 00 00). opensc-explorer selects it and
	# keeps a shared connection open meanwhile, so that pcscd does not
	# power the idle card down (a reset selects the manager again).
	mkfifo "$W/explorer.in"
	opensc-explorer -r "$(tb_reader 1)" <"$W/explorer.in" >"$W/explorer.out" 2>&1 &
	local explorer=$!
	exec 4>"$W/explorer.in"
	echo "apdu 00A404000CF276A288BCFBA69D34F31001" >&4
	timeout 30 bash -c 'exec 3< <(tail -n +1 -f "$0"); t=$!
		grep -m1 -q "SW1=0x90, SW2=0x00" <&3; r=$?; kill $t; exit $r' \
		"$W/explorer.out" || fail "opensc-explorer did not select the IsoApplet"
	: >"$W/trace.b"
	verify_json 1 --pin env:CS_PIN
	exec 4>&-
	wait "$explorer" || true
	[ "$(jq -r '.verdict + " " + .chip_serial + " " + .id_source' "$W/v.json")" = \
		"OK 4790-5040-0000005B cplc" ] ||
		{ jq . "$W/v.json" >&2; fail "verify of the renamed manager's card"; }
	grep -q ' > 00A4040000' "$W/trace.b" ||
		fail "the probe sent no empty SELECT"

	# PIN reset on the locked card: found by its TokenInfo, new PIN works.
	export CS_NEWPIN=864213
	"$CS_BIN" card pin-reset --reader "$(tb_reader 0)" --puk env:CS_PUK \
		--new-pin env:CS_NEWPIN >/dev/null 2>"$W/err.txt" ||
		{ cat "$W/err.txt" >&2; fail "pin-reset of the locked card"; }
	verify_json 0 --pin env:CS_NEWPIN
	[ "$(jq -r '.verdict + " " + .chip_serial + " " + .id_source' "$W/v.json")" = \
		"OK $ida assigned" ] ||
		{ jq . "$W/v.json" >&2; fail "verify after the PIN reset"; }
	CS_PIN=$CS_NEWPIN card_holds 0 "$(sql "SELECT cert_serial FROM issuances i
		JOIN cards c ON c.id = i.card_id WHERE c.chip_serial = '$ida'")"
	[ "$(sql "SELECT count(*) FROM events WHERE kind = 'card.pin-reset'")" = 1 ] ||
		fail "the PIN reset is not journaled"
	invariants
}

# A card without a chip serial whose write fails before pkcs15-init made
# its TokenInfo does not carry the identity it was given: inserted again it
# is a new card to the station, and its holder's record must not wait for
# the old identity (one record: it would wait for ever).
assigned_write_fails() {
	bundle 1
	card a 00
	encode_bg --reader 0
	wait_for '^\[0\] waiting'
	# The first write (the station's PUK) answers 6581, memory failure.
	tb_insert 0 "$W/a.card" --runtime jcardsim --fail-write 1
	wait_for '^\[0\] FAILED'
	local first
	first=$(sql "SELECT chip_serial FROM cards")
	[[ $first =~ ^$ASSIGNED$ ]] || fail "no assigned identity for the card: $first"
	[ "$(sql "SELECT count(*) FROM records WHERE pending_card_id IS NOT NULL
		AND state = 'queued'")" = 0 ] ||
		fail "the record waits for an identity no card carries"
	tb_swap 0 "$W/a.card" --runtime jcardsim
	wait_for "^\[0\] DONE .* on card $ASSIGNED"
	encode_stop
	local id
	id=$(done_identity 0)
	[ "$id" != "$first" ] || fail "the card came back with identity $first"
	carries 0 "$id"
	card_holds 0 "$(serial_of 1)"
	invariants
}

# A card given an identity for its first write is pulled out before
# pkcs15-init started (the station's own PUK APDU is its 11th): nothing of
# the record reached it, so the record waits for no card, and the card put
# back (a new card to the station: it never got its identity) takes it.
assigned_pulled_early() {
	bundle 1
	card a 00
	encode_bg --reader 0
	wait_for '^\[0\] waiting'
	tb_insert 0 "$W/a.card" --runtime jcardsim --pull-after 10
	wait_for '^\[0\] FAILED'
	local first
	first=$(sql "SELECT chip_serial FROM cards")
	[[ $first =~ ^$ASSIGNED$ ]] || fail "no assigned identity for the card: $first"
	[ "$(sql "SELECT count(*) FROM records WHERE pending_card_id IS NOT NULL")" = 0 ] ||
		fail "the record waits for a card that holds nothing of it"
	tb_swap 0 "$W/a.card" --runtime jcardsim
	wait_for "^\[0\] DONE .* on card $ASSIGNED"
	encode_stop
	local id
	id=$(done_identity 0)
	[ "$id" != "$first" ] || fail "the card came back with identity $first"
	carries 0 "$id"
	card_holds 0 "$(serial_of 1)"
	invariants
}

# Pulled out during pkcs15-init before it wrote the TokenInfo (APDU 39 on
# this card; 30 is inside the run), the card may come back as a new card
# or, pulled later, as itself holding the key: the station cannot tell,
# so the record waits for the identity it gave. The operator, holding the
# card or not, declares that identity lost: the card is retired (refused
# if it ever comes back as itself) and the record goes to the next card.
assigned_pulled_in_write() {
	bundle 1
	card a 00; card b 00
	encode_bg
	wait_for '^\[1\] waiting'
	tb_insert 0 "$W/a.card" --runtime jcardsim --pull-after 30
	wait_for '^\[0\] FAILED'
	local first
	first=$(sql "SELECT chip_serial FROM cards")
	[[ $first =~ ^$ASSIGNED$ ]] || fail "no assigned identity for the card: $first"
	[ "$(sql "SELECT count(*) FROM records r JOIN cards c ON
		c.id = r.pending_card_id WHERE c.chip_serial = '$first'")" = 1 ] ||
		fail "the record does not wait for the card that may hold its key"
	# The run paused here says which card the record waits for: the
	# identity it was given.
	encode_stop
	grep -qE "^  record 1 \(.*\) waits for card $first, left half written for them: insert it to finish \[run\.waits-for-card\]$" "$OUT" ||
		fail "the end does not say that record 1 waits for $first"
	"$CS_BIN" card lost --chip "$first" --admin-mail "$ADMIN" \
		--out "$W/lost.tsv" 2>"$W/err.txt" ||
		{ cat "$W/err.txt" >&2; fail "card lost on an unconfirmed identity"; }
	grep -q 'retired; 1 record' "$W/err.txt" ||
		{ cat "$W/err.txt" >&2; fail "card lost did not free the record"; }
	[ "$(sql "SELECT state FROM cards WHERE chip_serial = '$first'")" = retired ] ||
		fail "the lost, never confirmed card is not retired"
	[ "$(sql "SELECT count(*) FROM records WHERE pending_card_id IS NOT NULL")" = 0 ] ||
		fail "a record still waits for $first"
	sql "SELECT count(*) FROM events WHERE kind = 'record.release'" | grep -qv '^0$' ||
		fail "the release is not in the journal"
	# The run, started again, hands the record to the next card; its
	# end lists nobody waiting.
	encode_bg
	wait_for '^\[1\] waiting'
	tb_insert 1 "$W/b.card" --runtime jcardsim
	wait_for "^\[1\] DONE .* on card $ASSIGNED"
	encode_stop
	! grep -q 'waiting for their own card' "$OUT" ||
		fail "the end lists a record waiting: $(grep -A3 'waiting for their own' "$OUT")"
	carries 1 "$(done_identity 1)"
	card_holds 1 "$(serial_of 1)"
	invariants
}

"$1"
echo "PASS: $1"
