# lib.sh - shared steps of the cardsim end-to-end tests (sourced inside
# the test bench). PINs reach OpenSC's tools through the environment
# only where the tool allows it; these are test PINs of a test card.
source "$TB_LIB"

PIN=123456
PUK=0123456789abcdef
WORK=$TB_DIR/work
mkdir -p "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }

# A private OpenSC configuration: only the isoApplet driver when $1 is
# "isoapplet", OpenSC's defaults otherwise; no file caching between steps.
cs_opensc_conf() {
	local conf=$WORK/opensc-$1.conf
	{
		echo "app default {"
		echo "  use_file_caching = false;"
		[ "$1" = isoapplet ] && echo "  card_drivers = isoApplet;"
		echo "}"
	} >"$conf"
	echo "$conf"
}

# Test key and certificate as PKCS#12 (key type: rsa or ec).
cs_make_p12() {
	local kind=$1 out=$2
	if [ "$kind" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
			-out "$WORK/$kind.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$WORK/$kind.key" 2>/dev/null
	fi
	# CS_CERT_PLAIN=1: a certificate without extensions and with a CN only,
	# under 766 bytes: one APDU less to write and to read (see
	# tests/bench/cardsim).
	if [ -n "${CS_CERT_PLAIN:-}" ]; then
		openssl req -new -key "$WORK/$kind.key" \
			-subj "/CN=KOKURITSU HANAKO" |
			openssl x509 -req -signkey "$WORK/$kind.key" -days 30 \
			-out "$WORK/$kind.crt" 2>/dev/null
	else
		openssl req -new -x509 -key "$WORK/$kind.key" -days 30 \
			-subj "/CN=KOKURITSU HANAKO/O=Test University/C=JP" \
			-out "$WORK/$kind.crt" 2>/dev/null
	fi
	openssl pkcs12 -export -inkey "$WORK/$kind.key" -in "$WORK/$kind.crt" \
		-passout pass:p12pass -out "$out"
}

# The administrator's three commands (DESIGN.md).
cs_personalise() {
	local reader=$1 p12=$2
	pkcs15-init -r "$reader" --create-pkcs15 --no-so-pin
	pkcs15-init -r "$reader" --store-pin --auth-id 01 --pin "$PIN" \
		--puk "$PUK" --label User
	pkcs15-init -r "$reader" --store-private-key "$p12" --format pkcs12 \
		--passphrase p12pass --auth-id 01 --pin "$PIN"
}

# Slot index (PKCS#11) of the token in the reader of bench slot $1.
cs_p11_slot() {
	pkcs11-tool --module "$P11" -L 2>/dev/null |
		awk -v r="$(tb_reader "$1")" '/^Slot [0-9]+/ {s=$2} index($0, r) {print s; exit}'
}

P11=${CS_P11_MODULE:-/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}
[ -e "$P11" ] || P11=$(find /usr/lib -name opensc-pkcs11.so | head -1)
