#!/bin/bash
# make-seeds.sh UPKIGEN CORPUS - write the seed corpus of every target.
#
# The seeds are committed; this is how they were made, to redo or extend
# them (after a change of input format, say). UPKIGEN is the generator
# built in tests/gen. PKCS#12 seeds are exported again with one KDF and MAC
# iteration, so that the fuzzer decrypts thousands of them a second.
# Crash reproducers saved in the corpus by hand are left alone.
set -euo pipefail
GEN=${1:?usage: make-seeds.sh UPKIGEN CORPUS}
OUT=${2:?usage: make-seeds.sh UPKIGEN CORPUS}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
INST="National Institute of Informatics, Academe Campus"

"$GEN" --out "$tmp/b" --people 3 --seed 3 >/dev/null
"$GEN" --out "$tmp/u" --people 2 --seed 4 --utf8 --pin-file clientPin >/dev/null
"$GEN" --out "$tmp/r" --people 6 --seed 5 --break duplicate-serial \
	--break name-mismatch --break no-index-row+p12 >/dev/null
for b in dotdot absolute symlink not-zip; do
	"$GEN" --out "$tmp/a-$b" --people 1 --seed 6 --archive-break "$b" >/dev/null
done
for d in b u r; do
	mkdir -p "$tmp/$d/x"
	(cd "$tmp/$d/x" && unzip -q ../clientAll.zip && unzip -q ../client*Pin.zip)
done
mkdir -p "$OUT"/{tsv,zip,bundle,p12,pairing,profile,wire,form,http}
seed() { cat >"$OUT/$1"; } # seed TARGET/NAME < bytes

# tsv: control byte (bytes per read, bit 7 fails the last read) + file
{ printf '\000'; cat "$tmp/b/x/client.txt"; } | seed tsv/cp932-index
{ printf '\007'; cat "$tmp/b/x/clientAllPin.txt"; } | seed tsv/cp932-pins-step7
{ printf '\003'; cat "$tmp/u/x/client.txt"; } | seed tsv/utf8-bom-index
{ printf '\201'; cat "$tmp/r/x/client.txt"; } | seed tsv/breaks-fail-at-end
printf '\000a\tb\r\n\r\n\n1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t13\t14\t15\t16\t17\nlast' |
	seed tsv/ascii-edges
printf '\002\t\t\r\r\n00042\t\xfb\xfc\xfa\xb1\n340282366920938463463374607431768211456\tx' |
	seed tsv/serials-ibm-ext

# zip: whole archives as downloaded, and broken ones
cp "$tmp/b/clientAll.zip" "$OUT/zip/clientAll.zip"
cp "$tmp/u/clientPin.zip" "$OUT/zip/clientPin.zip"
for b in dotdot absolute symlink not-zip; do
	cp "$tmp/a-$b/clientAll.zip" "$OUT/zip/break-$b.zip"
done

# p12 seeds (iteration 1) of person $2 in bundle dir $1: writes $3.aes,
# $3.legacy, $3.plain (no MAC, no encryption) and $3.der (certificate)
p12s() {
	local dir=$1 n=$2 base=$3 row serial p12 pin
	row=$(awk -F'\t' -v n="$n" 'NR == n + 1' "$dir/expect.tsv")
	serial=$(cut -f1 <<<"$row"); p12=$(cut -f6 <<<"$row"); pin=$(cut -f8 <<<"$row")
	openssl pkcs12 -legacy -in "$dir/x/$p12" -passin "pass:$pin" -nodes \
		-out "$base.pem" 2>/dev/null
	openssl pkcs12 -export -in "$base.pem" -passout "pass:$pin" -noiter \
		-nomaciter -out "$base.aes"
	openssl pkcs12 -export -legacy -in "$base.pem" -passout "pass:$pin" \
		-noiter -nomaciter -out "$base.legacy"
	openssl pkcs12 -export -in "$base.pem" -passout "pass:$pin" \
		-keypbe NONE -certpbe NONE -nomac -out "$base.plain"
	openssl x509 -in "$base.pem" -outform DER -out "$base.der"
	printf '%s\t%s\t%s\n' "$serial" "$pin" "$(cut -f3 <<<"$row")" >"$base.facts"
}
for n in 1 2 3; do p12s "$tmp/b" "$n" "$tmp/p$n"; done

# p12: flags, PIN \0 mail \0 O \0 DER. Flags 0x0a: PKCS#12, expect the
# certificate's own serial and DN, now = 2027-01-01; 0x0b: the same for a
# bare certificate; 0x2e: no institution, no file serial.
for n in 1 2 3; do
	IFS=$'\t' read -r serial pin mail <"$tmp/p$n.facts"
	for kind in aes legacy plain; do
		{ printf '\012%s\000%s\000%s\000' "$pin" "$mail" "$INST"
		  cat "$tmp/p$n.$kind"; } | seed "p12/person$n-$kind"
	done
	{ printf '\013\000%s\000%s\000' "$mail" "$INST"; cat "$tmp/p$n.der"; } |
		seed "p12/person$n-cert"
done
{ printf '\056wrong\000x@y\000\000'; cat "$tmp/p1.aes"; } | seed p12/wrong-pin

# bundle: flags, client.txt \0 PIN file \0 entry names \0 default content
names() { unzip -Z1 "$1" | grep -v '^client.txt$'; }
IFS=$'\t' read -r serial1 pin1 mail1 <"$tmp/p1.facts"
{ printf '\010'; cat "$tmp/b/x/client.txt"; printf '\000'
  cat "$tmp/b/x/clientAllPin.txt"; printf '\000'; names "$tmp/b/clientAll.zip"
  printf '\000'; cat "$tmp/p1.aes"; } | seed bundle/three-people-load
{ printf '\031'; cat "$tmp/u/x/client.txt"; printf '\000'
  cat "$tmp/u/x/clientPin.txt"; printf '\000'; names "$tmp/u/clientAll.zip"
  printf '\000'; cat "$tmp/p2.legacy"; } | seed bundle/utf8-clientPin-institution
{ printf '\002'; cat "$tmp/r/x/client.txt"; printf '\000'
  cat "$tmp/r/x/clientAllPin.txt"; printf '\000'; names "$tmp/r/clientAll.zip"
  printf 'orphan.p12\tx\n0099.p12\n'; } | seed bundle/breaks-in-folder
{ printf '\004'; cat "$tmp/b/x/client.txt"; printf '\000'
  cat "$tmp/b/x/clientAllPin.txt"; printf '\000'; } | seed bundle/swapped

# pairing: the card-printing system's CSV
printf 'printed_no,chip_serial,person\r\n0001,4790-5040-1234,12345678\r\n0002,,hanako@academe.example.ac.jp\r\n' |
	seed pairing/three-columns
printf '\xef\xbb\xbf"person","printed_no"\n"\x8e\x52\x93\x63",A-77\n\nx@y,B-1\n' |
	seed pairing/bom-quoted-cp932
printf 'chip_serial,person\n-,nobody\nAB:CD:EF,42\n' | seed pairing/chip-only

# profile: the shipped profiles, then NUL-separated PIN candidates
for f in "$src"/cardprofiles/*.conf; do
	{ cat "$f"; printf '\000123456\000deadbeefdeadbeef\000'; } |
		seed "profile/$(basename "$f" .conf)"
done
printf 'name=x\nopensc.driver=y\npin.min=4\npin.max=12\npin.charset=alnum\npuk.length=8\npuk.charset=digits\nauth.id=1\nkey.id=2 # c\npin.initial=operator\npuk.mode=random\nca_chain=yes\n\000abc123\000' |
	seed profile/minimal

# wire: kind, step, steps (LE32), text repeat, then 11 NUL-ended fields
printf '\005\002\000\000\000\007\000\000\000\001writing\000\000\000isoapplet\000\000\000\000\000step two\000\000' |
	seed wire/step
printf '\010\000\000\000\000\000\000\000\000\001\000\0004790\0000001\000isoapplet\000\xe9\xab\x99\xe6\xa9\x8b\tA\000a@b\n\00012345678\0007829131386898546887\000letter\00012345678\0000123456789abcdef' |
	seed wire/pin-letter
printf '\007\377\377\377\377\000\000\000\200\100failed\000\000\000\000\000\000\000\000\000reason with\ttab and\rcr\000\000' |
	seed wire/long-failure

# form: control byte (chunk size - 1, bit 6 repeats), urlencoded body
printf '\003name=%%E9%%AB%%99+%%E6%%A9%%8B&lang=ja' | seed form/login
printf '\077pin=123456&puk=0123456789abcdef&reader=0&printed=A-77' | seed form/run-start
printf '\100a=b&' | seed form/repeat-past-limit
printf '\000=&&x=%%zz&y' | seed form/malformed

# http: requests separated by NUL ($SID, $CSRF: the input's session)
H='Host: localhost\nCookie: ks_sid=$SID\n'
printf "GET /\nHost: localhost\n\n\000GET /app.js\nHost: localhost\n\n\000HEAD /style.css\nHost: localhost\n\n\000GET /evil.js\nHost: localhost\n\n\000GET /../etc/passwd\nHost: localhost\n\n" |
	seed http/static
printf "POST /api/login\n${H}X-CSRF-Token: \$CSRF\nOrigin: http://localhost\n\nname=%%E9%%AB%%99&lang=en\000GET /api/runs?q=1\n${H}\n\000POST /api/run/start\n${H}X-CSRF-Token: \$CSRF\n\npin=123456\000POST /api/logout\n${H}X-CSRF-Token: \$CSRF\n\n\000GET /api/state\n${H}\n" |
	seed http/login-run-logout
printf "POST /api/login\n${H}\n\nname=x\000POST /api/login\nHost: evil.example\nCookie: ks_sid=\$SID\nX-CSRF-Token: \$CSRF\n\nname=x\000GET /api/session\nHost: localhost\n\n\000GET /api/events\n${H}\n\000PUT /api/wipe\n${H}\n" |
	seed http/refused
printf "POST /api/ping\n${H}X-CSRF-Token: \$CSRF\nX-Fuzz-Chunk: 7\nX-Fuzz-Repeat: 9000\n\nabcdefgh\000GET /api/features\n${H}\nbody" |
	seed http/big-body
echo "seeds in $OUT: $(find "$OUT" -type f | wc -l) files, $(du -sh "$OUT" | cut -f1)"
