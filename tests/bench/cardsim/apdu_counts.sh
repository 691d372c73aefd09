#!/bin/bash
# APDUs per provisioning step on cardsim, with OpenSC's default driver
# list and with card_drivers = isoApplet, next to the real applet's counts
# (DESIGN.md, "Numbers to beat"). Run inside the test bench:
#   tests/testbed/testbed -- tests/bench/cardsim/apdu_counts.sh [--latency real]
# Prints a table; exits non-zero if a step failed (not if counts differ).
set -euo pipefail
# The reference certificate fits in 3 APDUs of 255/256 bytes; one with
# the usual x509v3 extensions (> 765 bytes) costs one more APDU to write
# and to read in each step that touches it. Compare like with like.
export CS_CERT_PLAIN=${CS_CERT_PLAIN-1}
source "$CS_SRC/tests/e2e/cardsim/lib.sh"
export CS_PIN=$PIN
EXTRA=("$@")

declare -A REF=(
	[create-pkcs15,default]=58 [create-pkcs15,isoapplet]=33
	[store-pin,default]=45 [store-pin,isoapplet]=20
	[store-private-key,default]=87 [store-private-key,isoapplet]=62
	[pkcs15-tool-D,default]=46 [pkcs15-tool-D,isoapplet]=21
	[pkcs11-sign,default]=53 [pkcs11-sign,isoapplet]=28
)
cs_make_p12 rsa "$WORK/user.p12"
head -c 1000 /dev/urandom >"$WORK/msg"

apdus() { sed -E 's/.*"apdus": ([0-9]+).*/\1/' "$WORK/stats.json"; }
step() {
	local name=$1 before after t0 t1
	shift
	before=$(apdus)
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "step $name failed" >&2; exit 1; }
	t1=$(date +%s%N)
	after=$(apdus)
	printf '%-18s %-9s %5d %5d %+5d %8.0f\n' "$name" "$conf" \
		$((after - before)) "${REF[$name,$conf]}" \
		$((after - before - REF[$name,$conf])) "$(( (t1 - t0) / 1000000 ))"
}

printf '%-18s %-9s %5s %5s %5s %8s\n' step drivers cardsim real diff ms
for conf in default isoapplet; do
	export OPENSC_CONF=$(cs_opensc_conf $conf)
	rm -f "$WORK/card.img"
	tb_card_create "$WORK/card.img" 0BE0C4
	tb_insert 0 "$WORK/card.img" --stats "$WORK/stats.json" \
		--trace "$WORK/trace-$conf.txt" "${EXTRA[@]}"
	R=$(tb_reader 0)
	step create-pkcs15 pkcs15-init -r "$R" --create-pkcs15 --no-so-pin
	step store-pin pkcs15-init -r "$R" --store-pin --auth-id 01 \
		--pin "$PIN" --puk "$PUK" --label User
	step store-private-key pkcs15-init -r "$R" --store-private-key \
		"$WORK/user.p12" --format pkcs12 --passphrase p12pass \
		--auth-id 01 --pin "$PIN"
	step pkcs15-tool-D pkcs15-tool -r "$R" -D
	step pkcs11-sign pkcs11-tool --module "$P11" --slot-description "$R" \
		--login --pin env:CS_PIN --sign -m SHA256-RSA-PKCS \
		-i "$WORK/msg" -o "$WORK/msg.sig"
	tb_remove 0
done
if [ -n "${CS_BENCH_KEEP:-}" ]; then
	cp "$WORK"/trace-*.txt "$CS_BENCH_KEEP"/
fi
