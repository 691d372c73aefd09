#!/bin/bash
# A renewal re-issued onto the PIV token that holds the first certificate:
# the token is no longer in its factory state (the probe finds the default
# management key refused), so the write opens it with the key derived for
# it, first,
# replaces key and certificate in 9A and sets the PIN with the PUK. The
# token then holds the renewal's certificate (pkcs15-tool), signs with the
# PIN (yubico-piv-tool), keeps its derived management key, and the
# journal has the old certificate superseded on the same card.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${CS_BIN:?}" "${UPKIGEN:?}"

RUN=$(piv_run_new b 1 1)
old=$(awk -F'\t' 'NR == 2 { print $1 }' "$WORK/b/expect.tsv")
tb_card_create "$WORK/piv.card" 00BC614E --applet piv
tb_insert 0 "$WORK/piv.card" --trace "$WORK/card.trace"
R=$(tb_reader 0)
piv_encode "$RUN"
grep -q "DONE .* on card YK-12345678" "$OUT" || failo "the first certificate was not written"

"$UPKIGEN" --out "$WORK/b" --people 1 --seed 1 --renewal >/dev/null
new=$(awk -F'\t' 'NR == 2 { print $1 }' "$WORK/b/expect.tsv")
[ "$new" != "$old" ] || fail "the renewal has the old serial"
"$CS_BIN" run new "$WORK/b/clientAll.zip" "$WORK/b/clientAllPin.zip" \
	--institution "$INST" --operator tester >/dev/null || [ $? -eq 1 ] || fail "run new"
RUN2=$(tb_sql "SELECT max(id) FROM runs")
lines=$(wc -l <"$WORK/card.trace")
timeout 120 "$CS_BIN" encode --run "$RUN2" --reader 0 --pin env:CS_PIN \
	--puk env:CS_PUK --operator tester --reissue --until-done </dev/null >"$OUT" 2>&1 ||
	failo "the re-issue failed"
grep -q "DONE .* on card YK-12345678" "$OUT" || failo "the renewal is not on the token"

# The probe finds the default management key refused; the write opens the
# token with its own key at once (witness request and response accepted,
# no SELECT, no default key tried again), then writes the CHUID.
tail -n +$((lines + 1)) "$WORK/card.trace" |
	awk '$2 == ">" { print substr($3, 1, 4) } $2 == "<" { print $NF }' >"$WORK/reissue.seq"
tr '\n' ' ' <"$WORK/reissue.seq" | grep -q "0087 9000 0087 6982 00F8 9000 0087 9000 0087 9000 00DB" ||
	fail "the write did not open the token with its own key first: $(tr '\n' ' ' <"$WORK/reissue.seq" | cut -c1-400)"

pkcs15-tool -r "$R" --read-certificate 01 >"$WORK/cert.pem" 2>/dev/null || fail "pkcs15-tool read"
got=$(openssl x509 -in "$WORK/cert.pem" -noout -serial | sed 's/^serial=//')
want=$(printf 'obase=16; %s\n' "$new" | BC_LINE_LENGTH=0 bc)
[ "${got#0}" = "${want#0}" ] || fail "the token holds certificate $got, the renewal is $want"
yubico-piv-tool -r "$R" -a verify-pin -P "$CS_PIN" -a test-signature -s 9a \
	<"$WORK/cert.pem" >"$WORK/ts" 2>&1 || fail "the renewal's key does not sign: $(cat "$WORK/ts")"
mgm=$(printf 'cardstation PIV management key 9B\0YK-12345678' |
	openssl dgst -sha256 -mac HMAC -macopt "key:$CS_PUK" | sed 's/.*= //' | cut -c1-48)
yubico-piv-tool -r "$R" --key="$mgm" -a set-ccc >/dev/null 2>&1 ||
	fail "the token's derived management key is gone"
[ "$(tb_sql "SELECT outcome FROM issuances WHERE cert_serial = '$old'")" = superseded ] ||
	fail "the old certificate is not superseded"
[ "$(tb_sql "SELECT count(DISTINCT card_id) FROM issuances WHERE cert_serial IN ('$old', '$new')")" -eq 1 ] ||
	fail "not the same card"
piv_log_check
echo "reissue ok"
