#!/bin/bash
# The administrator's story with `cardstation inspect`: a good download is
# all OK; each broken record is refused for its reason while the others stay
# usable; a harmful archive is refused whole, with a reason; a key no card
# profile takes is refused before any card is half written.
set -euo pipefail
: "${CS_BIN:?}" "${UPKIGEN:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
INST="National Institute of Informatics, Academe Campus"

fail() { echo "FAIL: $*" >&2; exit 1; }

good_bundle() {
	"$UPKIGEN" --out "$work/g" --people 12 >/dev/null
	out=$("$CS_BIN" inspect "$work/g/clientAll.zip" "$work/g/clientAllPin.zip" \
		--institution "$INST") || fail "a good bundle exits $?"
	[ "$(grep -c '  OK$' <<<"$out")" -eq 12 ] || fail "not 12 OK lines: $out"
	grep -q '^12 records: 12 usable, 0 refused$' <<<"$out" || fail "summary: $out"
	grep -q '髙' <<<"$out" || fail "the CP932-only 髙 did not survive decoding"
	# every serial of the index is listed, 128-bit ones included
	while IFS=$'\t' read -r serial _; do
		grep -q "^$serial  " <<<"$out" || fail "serial $serial not listed"
	done < <(tail -n +2 "$work/g/expect.tsv")
	grep -qE '^[0-9]{39}  ' <<<"$out" || fail "no 128-bit serial listed"

	json=$("$CS_BIN" inspect "$work/g/clientAll.zip" "$work/g/clientAllPin.zip" --json)
	[ "$(jq '.summary.usable' <<<"$json")" -eq 12 ] || fail "json usable"
	[ "$(jq '[.records[] | select(.ok)] | length' <<<"$json")" -eq 12 ] || fail "json ok"
	[ "$(jq -r '.summary.institution_checked' <<<"$json")" = false ] || fail "json inst"

	# The PINs and the secrets never show up in what inspect prints.
	while IFS=$'\t' read -r _ _ _ _ _ _ _ pin _; do
		! grep -qF -- "$pin" <<<"$out$json" || fail "an access PIN was printed"
	done < <(tail -n +2 "$work/g/expect.tsv")

	# The individual pattern (clientPin.zip) works the same.
	"$UPKIGEN" --out "$work/i" --people 3 --pin-file clientPin >/dev/null
	"$CS_BIN" inspect "$work/i/clientAll.zip" "$work/i/clientPin.zip" >/dev/null ||
		fail "clientPin.zip refused"
}

broken_records() {
	local cases=(p12-missing p12-orphan wrong-pin no-pin-row no-index-row
		name-mismatch serial-mismatch key-mismatch subject-mismatch foreign-o
		smime-mail-mismatch expired not-yet-valid duplicate-serial)
	local args=()
	for c in "${cases[@]}"; do args+=(--break "$c"); done
	"$UPKIGEN" --out "$work/b" --people 30 "${args[@]}" >/dev/null
	set +e
	out=$("$CS_BIN" inspect "$work/b/clientAll.zip" "$work/b/clientAllPin.zip" \
		--institution "$INST")
	rc=$?
	set -e
	[ $rc -eq 1 ] || fail "a bundle with refused records exits $rc, not 1"
	for c in "${cases[@]}"; do
		grep -q "REFUSED $c: " <<<"$out" || fail "no record refused as $c"
	done
	# The good records are still there, each OK.
	want=$(awk -F'\t' 'NR>1 && $5=="OK"' "$work/b/expect.tsv" | wc -l)
	[ "$(grep -c '  OK$' <<<"$out")" -eq "$want" ] || fail "not $want OK records"
	grep -q "records: $want usable" <<<"$out" || fail "summary: $(tail -2 <<<"$out")"
}

refused_whole() { # CASE, then what the reason must say
	local dir="$work/$1" certs pins rc
	"$UPKIGEN" --out "$dir" --people 3 --archive-break "$1" >/dev/null
	set +e
	err=$("$CS_BIN" inspect "$dir/clientAll.zip" "$dir/clientAllPin.zip" 2>&1 >/dev/null)
	rc=$?
	set -e
	[ $rc -eq 2 ] || fail "$1: exit $rc, not 2"
	grep -q -- "$2" <<<"$err" || fail "$1: reason '$err' lacks '$2'"
}

broken_archives() {
	refused_whole dotdot "outside the archive"
	refused_whole absolute "outside the archive"
	refused_whole symlink "symbolic link"
	refused_whole too-many-entries "entries, more than the limit"
	refused_whole bomb "zip bomb"
	refused_whole not-zip "not a zip archive"
	# an administrator can raise a limit for a very large institution
	"$CS_BIN" inspect "$work/too-many-entries/clientAll.zip" \
		"$work/too-many-entries/clientAllPin.zip" --max-entries 40000 >/dev/null ||
		fail "--max-entries did not raise the limit"

	# an index with more people than the archive may hold files: memory
	# stays bounded by the limits however the TSV is made
	"$UPKIGEN" --out "$work/rows" --people 12 >/dev/null
	set +e
	err=$("$CS_BIN" inspect "$work/rows/clientAll.zip" "$work/rows/clientAllPin.zip" \
		--max-entries 10 2>&1 >/dev/null)
	rc=$?
	set -e
	[ $rc -eq 2 ] || fail "rows over the limit: exit $rc"
	grep -q "more rows than the limit\|entries, more than the limit" <<<"$err" ||
		fail "rows over the limit: $err"

	# the two archives given the wrong way round
	"$UPKIGEN" --out "$work/s" --people 2 >/dev/null
	set +e
	err=$("$CS_BIN" inspect "$work/s/clientAllPin.zip" "$work/s/clientAll.zip" 2>&1)
	rc=$?
	set -e
	[ $rc -eq 2 ] && grep -q "swapped" <<<"$err" || fail "swapped: $rc $err"
}

key_types() {
	# Person 2 got an EC P-256 key, person 4 an RSA-3072 one: the
	# IsoApplet profile takes RSA-2048 only (a station with IsoApplet
	# cards only; the PIV profile takes P-256, below).
	"$UPKIGEN" --out "$work/k" --people 6 --key-type ec-p256@2 \
		--key-type rsa-3072@4 >/dev/null
	mkdir -p "$work/iso"
	cp "$CS_SRC/cardprofiles/isoapplet.conf" "$work/iso/"
	export CARDSTATION_PROFILES=$work/iso
	set +e
	out=$("$CS_BIN" inspect "$work/k/clientAll.zip" "$work/k/clientAllPin.zip")
	rc=$?
	set -e
	[ $rc -eq 1 ] || fail "unsupported keys: exit $rc, not 1"
	local ec rsa3k
	ec=$(awk -F'\t' '$10 == "ec-prime256v1" { print $1 }' "$work/k/expect.tsv")
	rsa3k=$(awk -F'\t' '$10 == "rsa-3072" { print $1 }' "$work/k/expect.tsv")
	[ -n "$ec" ] && [ -n "$rsa3k" ] || fail "upkigen made no EC or RSA-3072 person"
	grep -q "^$ec .*  ec-prime256v1  -  REFUSED key-unsupported: the key is ec-prime256v1 and no card profile takes it (isoapplet takes rsa-2048)$" <<<"$out" ||
		fail "the EC person is not refused as key-unsupported: $out"
	grep -q "^$rsa3k .*  rsa-3072  -  REFUSED key-unsupported: the key is rsa-3072 " <<<"$out" ||
		fail "the RSA-3072 person is not refused as key-unsupported: $out"
	[ "$(grep -c '  rsa-2048  isoapplet  OK$' <<<"$out")" -eq 4 ] ||
		fail "not 4 RSA-2048 people OK on isoapplet: $out"
	grep -q '^6 records: 4 usable, 2 refused (2 key-unsupported)$' <<<"$out" ||
		fail "summary: $out"

	json=$("$CS_BIN" inspect "$work/k/clientAll.zip" "$work/k/clientAllPin.zip" --json) || true
	[ "$(jq -r --arg s "$ec" '.records[] | select(.serial == $s) | .problem' <<<"$json")" = key-unsupported ] ||
		fail "json: EC person not key-unsupported"
	[ "$(jq -c --arg s "$ec" '.records[] | select(.serial == $s) | .card_profiles' <<<"$json")" = '[]' ] ||
		fail "json: EC person has card profiles"
	[ "$(jq '[.records[] | select(.ok and .key_type == "rsa-2048" and .card_profiles == ["isoapplet"])] | length' <<<"$json")" -eq 4 ] ||
		fail "json: not 4 RSA-2048 records on isoapplet"
	[ "$(jq -r '.summary.card_profiles_checked' <<<"$json")" = true ] || fail "json: profiles not checked"

	# The profiles this station ships: PIV tokens take P-256, so the EC
	# person is usable on a PIV token only; RSA-3072 on none.
	json=$(CARDSTATION_PROFILES=$CS_SRC/cardprofiles "$CS_BIN" inspect \
		"$work/k/clientAll.zip" "$work/k/clientAllPin.zip" --json) || true
	[ "$(jq -c --arg s "$ec" '.records[] | select(.serial == $s) | .card_profiles' <<<"$json")" = '["piv"]' ] ||
		fail "json: the EC person is not for PIV tokens only: $json"
	[ "$(jq -r --arg s "$rsa3k" '.records[] | select(.serial == $s) | .problem' <<<"$json")" = key-unsupported ] ||
		fail "json: RSA-3072 taken by a shipped profile"

	# A station that also has a card taking P-256 (--profiles): the EC
	# person is usable there, and only there.
	mkdir -p "$work/prof"
	cp "$CS_SRC/cardprofiles/isoapplet.conf" "$work/prof/"
	sed -e 's/^name .*/name = ecard/' \
		-e 's/^key.types .*/key.types = rsa-2048, ec-prime256v1/' \
		"$CS_SRC/cardprofiles/isoapplet.conf" >"$work/prof/ecard.conf"
	set +e
	out=$("$CS_BIN" inspect "$work/k/clientAll.zip" "$work/k/clientAllPin.zip" \
		--profiles "$work/prof")
	set -e
	grep -q "^$ec .*  ec-prime256v1  ecard  OK$" <<<"$out" ||
		fail "--profiles: the EC person is not OK on ecard: $out"
	[ "$(grep -c '  rsa-2048  ecard,isoapplet  OK$' <<<"$out")" -eq 4 ] ||
		fail "--profiles: RSA-2048 people not on both cards: $out"
	grep -q "REFUSED key-unsupported: the key is rsa-3072 and no card profile takes it (ecard takes rsa-2048, ec-prime256v1; isoapplet takes rsa-2048)" <<<"$out" ||
		fail "--profiles: RSA-3072 reason: $out"

	# --profiles naming a folder without profiles is the administrator's
	# mistake: refused, not a silent skip.
	mkdir -p "$work/noprof"
	set +e
	err=$("$CS_BIN" inspect "$work/k/clientAll.zip" "$work/k/clientAllPin.zip" \
		--profiles "$work/noprof" 2>&1 >/dev/null)
	rc=$?
	set -e
	[ $rc -eq 2 ] && grep -q "no card profiles" <<<"$err" ||
		fail "empty --profiles: exit $rc: $err"
}

"$1"
echo "PASS: $1"
