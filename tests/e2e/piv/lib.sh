# lib.sh - shared steps of the PIV end-to-end tests (sourced inside the
# test bench). The PINs and keys here are a blank YubiKey's published
# defaults and test values of test tokens.
source "$TB_LIB"

PIN=123456
PUK=12345678
MGM=010203040506070801020304050607080102030405060708
PIV_AID=A000000308
P11=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
WORK=$TB_DIR/work
mkdir -p "$WORK"
tb_journal "$WORK" # a file, or the tests' PostgreSQL (CS_TEST_JOURNAL=pg)

fail() { echo "FAIL: $*" >&2; exit 1; }

# OpenSC with the PIV driver only, and no file caching between steps.
piv_opensc_conf() {
	local conf=$WORK/opensc-piv.conf
	printf 'app default {\n  use_file_caching = false;\n  card_drivers = PIV-II;\n}\n' >"$conf"
	echo "$conf"
}

# A key and a self-signed certificate: rsa (2048) or ec (P-256), in
# $WORK/NAME.key, .crt and .pub (NAME: the kind unless given).
piv_make_key() {
	local kind=$1 name=${2:-$1}
	if [ "$kind" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
			-out "$WORK/$name.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$WORK/$name.key" 2>/dev/null
	fi
	openssl req -new -x509 -key "$WORK/$name.key" -days 30 \
		-subj "/CN=KOKURITSU HANAKO/O=Test University/C=JP" \
		-out "$WORK/$name.crt" 2>/dev/null
	openssl pkey -in "$WORK/$name.key" -pubout -out "$WORK/$name.pub"
}

# Raw APDUs through opensc-tool: the status words, one per line, in order.
piv_sw() {
	local args=() a
	for a in "$@"; do args+=(-s "$a"); done
	opensc-tool -r "$R" "${args[@]}" 2>&1 |
		sed -n 's/^Received (SW1=0x\(..\), SW2=0x\(..\)).*/\1\2/p'
}

# ---- the station (tests that run cardstation; need CS_BIN and UPKIGEN) ----
INST="National Institute of Informatics, Academe Campus"
OUT=$WORK/encode.out
export CS_PIN=246810 CS_PUK=13572468
failo() { sed 's/^/  | /' "$OUT" >&2; fail "$@"; }
# The journal's event chain is whole (on either backend).
piv_log_check() {
	"$CS_BIN" log check >"$WORK/logcheck.out" 2>&1 ||
		{ cat "$WORK/logcheck.out" >&2; fail "log check: the journal's chain is broken"; }
}

# A download of N people (upkigen, seed S) imported as a new run; prints
# the run's number.
piv_run_new() { # DIR N SEED
	"$UPKIGEN" --out "$WORK/$1" --people "$2" --seed "$3" >/dev/null
	"$CS_BIN" run new "$WORK/$1/clientAll.zip" "$WORK/$1/clientAllPin.zip" \
		--institution "$INST" --operator tester >/dev/null || [ $? -eq 1 ] ||
		fail "run new"
	tb_sql "SELECT max(id) FROM runs"
}

# Encode run RUN on the card in slot 0 until every record is done.
piv_encode() { # RUN
	timeout 120 "$CS_BIN" encode --run "$1" --reader 0 --pin env:CS_PIN \
		--puk env:CS_PUK --operator tester --until-done </dev/null >"$OUT" 2>&1 ||
		failo "encode failed"
}
