#!/bin/bash
# smoke.sh UPKIGEN WORKDIR - does upkigen write what it claims?
#
# Checks the generator's output with independent tools only (OpenSSL's CLI,
# unzip, iconv), never with the code under test: the encodings and line
# ends of the TSVs, the three PKCS#12 encryptions, the certificate facts, each
# record break and each archive break.
set -euo pipefail

GEN=${1:?usage: smoke.sh UPKIGEN WORKDIR}
W=${2:?usage: smoke.sh UPKIGEN WORKDIR}
rm -rf "$W"
mkdir -p "$W"

fails=0
ok() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1"; fails=$((fails + 1)); }
check() { # check "what" command...
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else fail "$what"; fi
}

# field N of the expect.tsv row whose column C equals V
expect_field() { awk -F'\t' -v c="$1" -v v="$2" -v n="$3" \
	'NR > 1 && $c == v { print $n; exit }' "$4"; }
# hex of a decimal serial, as `openssl x509 -serial` prints it (`openssl
# prime` reads a decimal bignum and echoes it in hex)
dec_to_hex() { openssl prime "$1" | sed 's/ .*//'; }
cert_serial_hex() { openssl x509 -noout -serial | sed 's/^serial=//'; }
# open entry E of zip Z with PIN (env only, never argv), print the leaf cert
p12_cert() { # zip entry pin [extra openssl args]
	local z=$1 e=$2
	PIN=$3 openssl pkcs12 -in <(unzip -p "$z" "$e") -passin env:PIN \
		-nokeys -clcerts "${@:4}"
}
p12_key_pub() {
	local z=$1 e=$2
	PIN=$3 openssl pkcs12 -in <(unzip -p "$z" "$e") -passin env:PIN \
		-nocerts -nodes -legacy | openssl pkey -pubout
}

### 1. a good bundle, the service's way (CP932, CRLF)
G=$W/good
"$GEN" --out "$G" --people 40 --seed 7 2>/dev/null
for f in clientAll.zip clientAllPin.zip ca.pem expect.tsv; do
	check "good: $f written" test -s "$G/$f"
done
check "good: 40 .p12 + client.txt in clientAll.zip" \
	test "$(unzip -Z1 "$G/clientAll.zip" | grep -c '^[0-9]*\.p12$')" = 40
check "good: client.txt is the first entry" \
	test "$(unzip -Z1 "$G/clientAll.zip" | head -1)" = client.txt
unzip -p "$G/clientAll.zip" client.txt >"$W/index.raw"
unzip -p "$G/clientAllPin.zip" clientAllPin.txt >"$W/pin.raw"
check "good: client.txt decodes from CP932" iconv -f CP932 -t UTF-8 "$W/index.raw"
check "good: client.txt is not plain Shift_JIS (has IBM/NEC extensions)" \
	bash -c "! iconv -f SHIFT_JIS -t UTF-8 '$W/index.raw'"
iconv -f CP932 -t UTF-8 "$W/index.raw" | tr -d '\r' >"$W/index.txt"
iconv -f CP932 -t UTF-8 "$W/pin.raw" | tr -d '\r' >"$W/pin.txt"
lines=$(wc -l <"$W/index.raw")
check "good: every client.txt line ends in CRLF" \
	test "$(grep -c $'\r$' "$W/index.raw")" = "$lines"
check "good: every PIN line ends in CRLF" \
	test "$(grep -c $'\r$' "$W/pin.raw")" = "$(wc -l <"$W/pin.raw")"
check "good: client.txt header" \
	test "$(head -1 "$W/index.txt")" = $'シリアル番号\t利用者氏名\t利用者mail\t主体者DN'
check "good: PIN file header" \
	test "$(head -1 "$W/pin.txt")" = $'利用者氏名\t利用者mail\tアクセスPIN\t主体者DN'
check "good: 41 index lines" test "$lines" = 41
check "good: 髙 in a name" grep -q '髙' "$W/index.txt"
check "good: 﨑 in a name" grep -q '﨑' "$W/index.txt"
check "good: a 128-bit (39-digit) serial" grep -qE $'^[0-9]{39}\t' "$W/index.txt"
check "good: a 63-bit (19-digit) serial" grep -qE $'^[0-9]{19}\t' "$W/index.txt"
check "good: the default O has a comma, unescaped in the DN column" \
	grep -q ',O=National Institute of Informatics, Academe Campus,L=Academe,C=JP$' \
	"$W/index.txt"
check "good: S/MIME profile rows have DN CN=<mail> only" \
	awk -F'\t' 'NR > 1 && $4 == "CN=" $3 { f = 1 } END { exit !f }' "$W/index.txt"
check "good: PIN rows in another order than the index" \
	bash -c "! cmp -s <(cut -f3 '$W/index.txt') <(cut -f2 '$W/pin.txt')"
check "good: PIN rows are the same people" \
	cmp -s <(cut -f3 "$W/index.txt" | sort) <(cut -f2 "$W/pin.txt" | sort)
check "good: mails are unique (the join key)" \
	test "$(cut -f3 "$W/index.txt" | sort | uniq -d | wc -l)" = 0
check "good: all 40 expected OK" \
	test "$(awk -F'\t' 'NR > 1 && $5 == "OK"' "$G/expect.tsv" | wc -l)" = 40
check "good: PINs are 16 letters and digits" \
	bash -c "awk -F'\t' 'NR > 1 { print \$3 }' '$W/pin.txt' | grep -qvE '^[0-9A-Za-z]{16}$' && exit 1 || exit 0"

# One file of each encryption, opened with the PIN from the PIN file.
pin_of() { awk -F'\t' -v m="$1" '$2 == m { print $3 }' "$W/pin.txt"; }
for enc in 3des rc2-40 aes-256; do
	s=$(expect_field 7 "$enc" 1 "$G/expect.tsv")
	[ -n "$s" ] || { fail "good: a $enc file exists"; continue; }
	mail=$(expect_field 1 "$s" 3 "$G/expect.tsv")
	pin=$(pin_of "$mail")
	info=$(PIN=$pin openssl pkcs12 -in <(unzip -p "$G/clientAll.zip" "$s.p12") \
		-passin env:PIN -info -noout -legacy 2>&1 || true)
	case $enc in
	3des) want='Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC' ;;
	rc2-40) want='PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC' ;;
	aes-256) want='PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256' ;;
	esac
	check "good: $enc file says $want" grep -qF "$want" <<<"$info"
	check "good: $enc file opens with its PIN (openssl pkcs12 -legacy)" \
		p12_cert "$G/clientAll.zip" "$s.p12" "$pin" -legacy
	if [ "$enc" = rc2-40 ]; then
		check "good: rc2-40 file needs the legacy provider" \
			bash -c "! PIN='$pin' openssl pkcs12 -in <(unzip -p '$G/clientAll.zip' '$s.p12') -passin env:PIN -nokeys -noout"
	fi
	if [ "$enc" = aes-256 ]; then
		check "good: aes-256 file has a SHA-256 MAC" grep -q '^MAC: sha256' <<<"$info"
	fi
	p12_cert "$G/clientAll.zip" "$s.p12" "$pin" -legacy >"$W/$enc.pem"
	check "good: $enc cert serial = file name" \
		test "$(cert_serial_hex <"$W/$enc.pem")" = "$(dec_to_hex "$s")"
	dn=$(openssl x509 -noout -subject -nameopt RFC2253 <"$W/$enc.pem" |
		sed 's/^subject=//; s/\\,/,/g')
	check "good: $enc cert subject = DN column" \
		test "$dn" = "$(awk -F'\t' -v s="$s" '$1 == s { print $4 }' "$W/index.txt")"
	check "good: $enc cert is issued by ca.pem" \
		openssl verify -CAfile "$G/ca.pem" -purpose any "$W/$enc.pem"
	check "good: $enc key belongs to the cert" \
		cmp -s <(openssl x509 -noout -pubkey <"$W/$enc.pem") \
		<(p12_key_pub "$G/clientAll.zip" "$s.p12" "$pin")
	check "good: $enc key is RSA-2048" \
		grep -q 'Public-Key: (2048 bit)' <(openssl x509 -noout -text <"$W/$enc.pem")
done

# The profiles: EKU and SAN.
for prof in client client+smime smime; do
	s=$(expect_field 4 "$prof" 1 "$G/expect.tsv")
	[ -n "$s" ] || { fail "good: a $prof certificate exists"; continue; }
	mail=$(expect_field 1 "$s" 3 "$G/expect.tsv")
	text=$(p12_cert "$G/clientAll.zip" "$s.p12" "$(pin_of "$mail")" -legacy |
		openssl x509 -noout -ext extendedKeyUsage,subjectAltName)
	case $prof in
	client)
		check "good: client has clientAuth, no SAN" \
			bash -c "grep -q 'TLS Web Client' <<<'$text' && ! grep -q email: <<<'$text'" ;;
	client+smime)
		check "good: client+smime has both EKUs and SAN mail" \
			bash -c "grep -q 'TLS Web Client Authentication, E-mail Protection' <<<'$text' && grep -qF 'email:$mail' <<<'$text'" ;;
	smime)
		check "good: smime has emailProtection and SAN mail" \
			bash -c "grep -q 'E-mail Protection' <<<'$text' && ! grep -q 'TLS Web' <<<'$text' && grep -qF 'email:$mail' <<<'$text'" ;;
	esac
done

### 2. determinism: the same seed gives the same TSVs
"$GEN" --out "$W/again" --people 40 --seed 7 --key-pool 1 2>/dev/null
check "same seed: same client.txt" \
	cmp -s <(unzip -p "$G/clientAll.zip" client.txt) <(unzip -p "$W/again/clientAll.zip" client.txt)
check "same seed: same PIN file" \
	cmp -s <(unzip -p "$G/clientAllPin.zip") <(unzip -p "$W/again/clientAllPin.zip")
"$GEN" --out "$W/other" --people 40 --seed 8 --key-pool 1 2>/dev/null
check "other seed: other client.txt" \
	bash -c "! cmp -s <(unzip -p '$G/clientAll.zip' client.txt) <(unzip -p '$W/other/clientAll.zip' client.txt)"

### 3. UTF-8 with BOM and LF; the P12 individual pattern's file names
U=$W/utf8
"$GEN" --out "$U" --people 5 --key-pool 1 --utf8 --pin-file clientPin 2>/dev/null
check "utf8: clientPin.zip holds clientPin.txt" \
	test "$(unzip -Z1 "$U/clientPin.zip")" = clientPin.txt
check "utf8: starts with a BOM" \
	test "$(unzip -p "$U/clientAll.zip" client.txt | head -c3 | od -An -tx1 | tr -d ' ')" = efbbbf
check "utf8: no CR" bash -c "! unzip -p '$U/clientAll.zip' client.txt | grep -q $'\r'"
check "utf8: valid UTF-8" bash -c "unzip -p '$U/clientAll.zip' client.txt | iconv -f UTF-8 -t UTF-8"

### 4. record breaks, one person each
B=$W/broken
breaks=(p12-missing p12-orphan wrong-pin no-pin-row no-index-row no-index-row+p12
	name-mismatch serial-mismatch key-mismatch subject-mismatch foreign-o
	smime-mail-mismatch expired not-yet-valid duplicate-serial)
args=()
i=1
for b in "${breaks[@]}"; do
	args+=(--break "$b@$i")
	i=$((i + 2))
done
"$GEN" --out "$B" --people 40 --seed 7 --key-pool 2 "${args[@]}" 2>/dev/null
E=$B/expect.tsv
unzip -p "$B/clientAll.zip" client.txt | iconv -f CP932 -t UTF-8 | tr -d '\r' >"$W/bi.txt"
unzip -p "$B/clientAllPin.zip" | iconv -f CP932 -t UTF-8 | tr -d '\r' >"$W/bp.txt"
row() { awk -F'\t' -v n="$1" 'NR > 1 && !/\tp12-orphan\t.*PIN-only/ { if (++k == n) { print; exit } }' "$E"; }
col() { row "$1" | cut -f"$2"; }
in_index() { grep -qF "$(col "$1" 3)" <(cut -f3 "$W/bi.txt"); }
in_pins() { grep -qF "$(col "$1" 3)" <(cut -f2 "$W/bp.txt"); }
has_p12() { unzip -Z1 "$B/clientAll.zip" | grep -qx "$(col "$1" 1).p12"; }
i=1
for b in "${breaks[@]}"; do
	want=${b%+p12}
	check "break $b: expect.tsv names it for person $i" test "$(col $i 5)" = "$want"
	i=$((i + 2))
done
check "untouched people stay OK" test "$(col 2 5)" = OK
check "p12-missing: index row, PIN row, no file" \
	bash -c "$(declare -f row col in_index in_pins has_p12); E='$E' W='$W' B='$B'; in_index 1 && in_pins 1 && ! has_p12 1"
check "p12-orphan: file, no rows" \
	bash -c "$(declare -f row col in_index in_pins has_p12); E='$E' W='$W' B='$B'; ! in_index 3 && ! in_pins 3 && has_p12 3"
s=$(col 5 1)
check "wrong-pin: the PIN row's PIN does not open the file" \
	bash -c "! PIN='$(awk -F'\t' -v m="$(col 5 3)" '$2 == m { print $3 }' "$W/bp.txt")' openssl pkcs12 -legacy -in <(unzip -p '$B/clientAll.zip' '$s.p12') -passin env:PIN -nokeys -noout"
check "wrong-pin: the real PIN does" p12_cert "$B/clientAll.zip" "$s.p12" "$(col 5 8)" -legacy
check "no-pin-row: index row, no PIN row" \
	bash -c "$(declare -f row col in_index in_pins has_p12); E='$E' W='$W' B='$B'; in_index 7 && ! in_pins 7"
check "no-index-row: PIN row only, no file" \
	bash -c "$(declare -f row col in_index in_pins has_p12); E='$E' W='$W' B='$B'; ! in_index 9 && in_pins 9 && ! has_p12 9"
check "no-index-row+p12: PIN row and file, and an orphan row in expect.tsv" \
	bash -c "$(declare -f row col in_index in_pins has_p12); E='$E' W='$W' B='$B'; ! in_index 11 && in_pins 11 && has_p12 11 && grep -q \$'\tp12-orphan\t.*PIN-only' '$E'"
check "name-mismatch: PIN row name differs" \
	bash -c "! grep -qF \"\$(printf '%s\t%s' '$(col 13 2)' '$(col 13 3)')\" '$W/bp.txt' && grep -qF '$(col 13 3)' '$W/bp.txt'"
s=$(col 15 1)
check "serial-mismatch: cert serial != file name" \
	bash -c "test \"\$(PIN='$(col 15 8)' openssl pkcs12 -legacy -in <(unzip -p '$B/clientAll.zip' '$s.p12') -passin env:PIN -nokeys -clcerts | $(declare -f cert_serial_hex); cert_serial_hex)\" != '$(dec_to_hex "$s")'"
s=$(col 17 1)
check "key-mismatch: the key is not the cert's" \
	bash -c "! cmp -s <(PIN='$(col 17 8)' openssl pkcs12 -legacy -in <(unzip -p '$B/clientAll.zip' '$s.p12') -passin env:PIN -nokeys -clcerts | openssl x509 -noout -pubkey) <(PIN='$(col 17 8)' openssl pkcs12 -legacy -in <(unzip -p '$B/clientAll.zip' '$s.p12') -passin env:PIN -nocerts -nodes | openssl pkey -pubout)"
s=$(col 19 1)
check "subject-mismatch: cert subject != DN column" \
	bash -c "test \"\$(PIN='$(col 19 8)' openssl pkcs12 -legacy -in <(unzip -p '$B/clientAll.zip' '$s.p12') -passin env:PIN -nokeys -clcerts | openssl x509 -noout -subject -nameopt RFC2253 | sed 's/^subject=//; s/\\\\\\\\,/,/g')\" != \"\$(awk -F'\t' -v s='$s' '\$1 == s { print \$4 }' '$W/bi.txt')\""
check "foreign-o: another O in DN column" \
	bash -c "awk -F'\t' -v s='$(col 21 1)' '\$1 == s' '$W/bi.txt' | grep -q 'O=Foreign University, Other Campus'"
s=$(col 23 1)
check "smime-mail-mismatch: SAN mail != 利用者mail" \
	bash -c "PIN='$(col 23 8)' openssl pkcs12 -legacy -in <(unzip -p '$B/clientAll.zip' '$s.p12') -passin env:PIN -nokeys -clcerts | openssl x509 -noout -ext subjectAltName | grep email: | grep -vqF 'email:$(col 23 3)'"
s=$(col 25 1)
check "expired: notAfter is past" \
	bash -c "! PIN='$(col 25 8)' openssl pkcs12 -legacy -in <(unzip -p '$B/clientAll.zip' '$s.p12') -passin env:PIN -nokeys -clcerts | openssl x509 -noout -checkend 0"
s=$(col 27 1)
check "not-yet-valid: notBefore is ahead" \
	bash -c "PIN='$(col 27 8)' openssl pkcs12 -legacy -in <(unzip -p '$B/clientAll.zip' '$s.p12') -passin env:PIN -nokeys -clcerts | openssl x509 -noout -startdate | grep -q \"\$(date -u -d '+30 days' +%Y)\" && ! PIN='$(col 27 8)' openssl pkcs12 -legacy -in <(unzip -p '$B/clientAll.zip' '$s.p12') -passin env:PIN -nokeys -clcerts | openssl verify -CAfile '$B/ca.pem' /dev/stdin"
check "duplicate-serial: two index rows share a serial" \
	test "$(cut -f1 "$W/bi.txt" | sort | uniq -d | wc -l)" = 1
check "duplicate-serial: expect.tsv names both rows" \
	test "$(awk -F'\t' '$5 == "duplicate-serial"' "$E" | wc -l)" = 2
check "a break on a broken person is refused" \
	bash -c "! '$GEN' --out '$W/refused' --people 5 --break wrong-pin@2 --break expired@2"
check "an unknown break is refused" \
	bash -c "! '$GEN' --out '$W/refused' --people 5 --break no-such-case"

### 4b. key types: the key in the file is the type asked for
K=$W/keys
"$GEN" --out "$K" --people 4 --key-pool 1 --key-type ec-p256 \
	--key-type rsa-3072@3 --key-type rsa-2048@4 2>/dev/null
key_text() { # serial -> `openssl pkey -text` of the P12's key
	PIN=$(expect_field 1 "$1" 8 "$K/expect.tsv") openssl pkcs12 -legacy \
		-in <(unzip -p "$K/clientAll.zip" "$1.p12") -passin env:PIN \
		-nocerts -nodes 2>/dev/null | openssl pkey -noout -text 2>/dev/null
}
s1=$(sed -n 2p "$K/expect.tsv" | cut -f1)
s3=$(sed -n 4p "$K/expect.tsv" | cut -f1)
s4=$(sed -n 5p "$K/expect.tsv" | cut -f1)
check "key types: person 1 holds an EC P-256 key" \
	bash -c "$(declare -f key_text expect_field); K='$K'; key_text $s1 | grep -q 'ASN1 OID: prime256v1'"
check "key types: person 3 holds an RSA-3072 key" \
	bash -c "$(declare -f key_text expect_field); K='$K'; key_text $s3 | grep -q 'Private-Key: (3072 bit'"
check "key types: person 4 holds an RSA-2048 key (a later --key-type wins)" \
	bash -c "$(declare -f key_text expect_field); K='$K'; key_text $s4 | grep -q 'Private-Key: (2048 bit'"
check "key types: the certificate is for the key" \
	bash -c "cmp -s <(PIN='$(expect_field 1 "$s1" 8 "$K/expect.tsv")' openssl pkcs12 -legacy -in <(unzip -p '$K/clientAll.zip' '$s1.p12') -passin env:PIN -nokeys -clcerts | openssl x509 -noout -pubkey) <(PIN='$(expect_field 1 "$s1" 8 "$K/expect.tsv")' openssl pkcs12 -legacy -in <(unzip -p '$K/clientAll.zip' '$s1.p12') -passin env:PIN -nocerts -nodes | openssl pkey -pubout)"
check "key types: expect.tsv says key-unsupported and names the type" \
	test "$(awk -F'\t' 'NR > 1 { print $5 "/" $10 }' "$K/expect.tsv" | tr '\n' ' ')" = \
	"key-unsupported/ec-prime256v1 key-unsupported/ec-prime256v1 key-unsupported/rsa-3072 OK/rsa-2048 "
check "an unknown key type is refused" \
	bash -c "! '$GEN' --out '$W/refused' --people 2 --key-type dsa-1024"

### 5. archive breaks
for a in dotdot absolute symlink too-many-entries bomb not-zip; do
	"$GEN" --out "$W/a-$a" --people 3 --key-pool 1 --archive-break "$a" 2>/dev/null
done
Z() { echo "$W/a-$1/clientAll.zip"; }
check "dotdot: an entry ../x" grep -qx '../x' <(unzip -Z1 "$(Z dotdot)")
check "absolute: an entry /etc/x" grep -qx '/etc/x' <(unzip -Z1 "$(Z absolute)")
check "symlink: an entry with a link mode" grep -q '^lrwxrwxrwx .* link.p12$' <(unzip -Z "$(Z symlink)")
check "too-many-entries: 30,000 more entries" \
	test "$(unzip -Z1 "$(Z too-many-entries)" | wc -l)" = $((30000 + 1 + 3))
check "bomb: 200 MiB in a small file" \
	bash -c "unzip -l '$(Z bomb)' | grep -q '209715200 .*bomb.p12' && test \$(stat -c %s '$(Z bomb)') -lt 1000000"
check "not-zip: clientAll.zip is not a zip" bash -c "! unzip -Z1 '$(Z not-zip)'"
check "not-zip: the PIN archive still is" unzip -Z1 "$W/a-not-zip/clientAllPin.zip"
"$GEN" --out "$W/a-pin" --people 3 --key-pool 1 --archive-break dotdot@pin 2>/dev/null
check "@pin: the break goes to the PIN archive" grep -qx '../x' <(unzip -Z1 "$W/a-pin/clientAllPin.zip")

echo "$fails failed"
[ "$fails" = 0 ]
