#!/bin/bash
# baseline.sh CERTS_ZIP PINS_ZIP DIR - what an administrator scripts today.
#
# The comparison point for `cardstation inspect`: unzip both archives,
# convert the PIN file from CP932, join PINs to the index on DN + mail, then
# per person one `openssl pkcs12` (PIN through env:, legacy provider always,
# so 3DES, RC2-40 and AES files all open) piped into one `openssl x509`. It
# checks less than inspect does (no key match, no DN/O/mail comparison) and
# is still the cheapest loop that opens every file with its PIN.
# Prints one line per record; exit status 1 if any file did not open.
set -euo pipefail

certs=${1:?usage: baseline.sh CERTS_ZIP PINS_ZIP DIR}
pins=${2:?usage: baseline.sh CERTS_ZIP PINS_ZIP DIR}
dir=${3:?usage: baseline.sh CERTS_ZIP PINS_ZIP DIR}

rm -rf "$dir"
mkdir -p "$dir"
unzip -q "$certs" -d "$dir"
unzip -q "$pins" -d "$dir"
pinfile=$dir/clientAllPin.txt
[ -e "$pinfile" ] || pinfile=$dir/clientPin.txt
iconv -f CP932 -t UTF-8 "$dir/client.txt" | tr -d '\r' >"$dir/index.tsv"
iconv -f CP932 -t UTF-8 "$pinfile" | tr -d '\r' >"$dir/pins.tsv"

failed=0
while IFS=$'\t' read -r serial pin; do
	if out=$(PIN=$pin openssl pkcs12 -legacy -in "$dir/$serial.p12" \
	    -passin env:PIN -nokeys -clcerts 2>/dev/null |
	    openssl x509 -noout -serial -subject -enddate 2>/dev/null); then
		printf '%s\n' "${out//$'\n'/$'\t'}"
	else
		printf '%s\tFAILED\n' "$serial"
		failed=1
	fi
done < <(awk -F'\t' 'NR == FNR { if (FNR > 1) pin[$4 FS $2] = $3; next }
	FNR > 1 { print $1 "\t" pin[$4 FS $3] }' "$dir/pins.tsv" "$dir/index.tsv")
exit "$failed"
