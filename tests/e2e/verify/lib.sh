# lib.sh - shared steps of the verify end-to-end tests (sourced inside the
# test bench). Cards are written with OpenSC's own tools, as the
# administrator's documented sequence does, and bound in the journal by
# verify_fixture, so these tests do not depend on the encode command.
# PINs here are test PINs of test cards.
source "$TB_LIB"

PIN=123456
PUK=0123456789abcdef
WORK=$TB_DIR/work
DL=$WORK/dl
tb_journal "$WORK" # a file, or the tests' PostgreSQL (CS_TEST_JOURNAL=pg)
export CARDSTATION_PROFILES=$CS_SRC/cardprofiles
UPKIGEN=$CS_BUILD/tests/gen/upkigen
FIXTURE=${CS_VERIFY_FIXTURE:?}
mkdir -p "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }

# OpenSC for the writing tools: the isoApplet driver, no file cache.
export OPENSC_CONF=$WORK/opensc.conf
printf 'app default {\n  use_file_caching = false;\n  card_drivers = isoApplet;\n}\n' \
	>"$OPENSC_CONF"

# A download of N people with the given breaks (upkigen arguments).
cs_download() {
	"$UPKIGEN" --out "$DL" "$@" >/dev/null
	unzip -p "$DL/clientAll.zip" client.txt | iconv -f CP932 -t UTF-8 |
		tr -d '\r' | tail -n +2 >"$WORK/index.tsv"
}

# cs_person N: person N's key and certificate out of the download as
# $WORK/pN.key and $WORK/pN.crt; sets SERIAL NAME MAIL DN.
cs_person() {
	local n=$1 row p12 pin
	row=$(sed -n "$((n + 1))p" "$DL/expect.tsv")
	SERIAL=$(cut -f1 <<<"$row")
	p12=$(cut -f6 <<<"$row")
	pin=$(cut -f8 <<<"$row")
	unzip -p "$DL/clientAll.zip" "$p12" >"$WORK/p$n.p12"
	CS_ACCESS=$pin openssl pkcs12 -legacy -in "$WORK/p$n.p12" \
		-passin env:CS_ACCESS -nokeys -clcerts -out "$WORK/p$n.crt"
	CS_ACCESS=$pin openssl pkcs12 -legacy -in "$WORK/p$n.p12" \
		-passin env:CS_ACCESS -nocerts -nodes -out "$WORK/p$n.key"
	row=$(awk -F'\t' -v s="$SERIAL" '$1 == s' "$WORK/index.tsv")
	NAME=$(cut -f2 <<<"$row")
	MAIL=$(cut -f3 <<<"$row")
	DN=$(cut -f4 <<<"$row")
}

# cs_write_card READER KEY CERT: the administrator's sequence.
cs_write_card() {
	local r=$1 key=$2 crt=$3
	pkcs15-init -r "$r" --create-pkcs15 --no-so-pin >/dev/null
	pkcs15-init -r "$r" --store-pin --auth-id 01 --pin "$PIN" --puk "$PUK" \
		--label "UPKI client key" >/dev/null
	pkcs15-init -r "$r" --store-private-key "$key" --auth-id 01 --id 01 \
		--pin "$PIN" --label "UPKI client key" >/dev/null
	pkcs15-init -r "$r" --store-certificate "$crt" --id 01 --pin "$PIN" \
		--label "UPKI client certificate" >/dev/null
}

# The chip serial of the card in READER, as verify reads it.
# cs_issued_card SLOT IMAGE HEX N PRINTED [CARDSIM ARGS]: a blank card
# (chip HEX) in SLOT, written by the administrator's sequence with person
# N's key and certificate, and journaled as issued under PRINTED, as an
# encode run would leave it. Sets cs_person's SERIAL NAME MAIL DN, and
# CHIP.
cs_issued_card() {
	local slot=$1 image=$2 hex=$3 n=$4 printed=$5 r
	shift 5
	r=$(tb_reader "$slot")
	tb_card_create "$image" "$hex"
	tb_insert "$slot" "$image" "$@"
	cs_person "$n"
	cs_write_card "$r" "$WORK/p$n.key" "$WORK/p$n.crt"
	CHIP=$(cs_chip "$r")
	"$FIXTURE" "$CARDSTATION_JOURNAL" issue "$CHIP" "$SERIAL" "$NAME" \
		"$MAIL" "$DN" "$printed"
}

cs_chip() {
	# verify exits 2 on a card it fails; only the serial matters here
	{ "$CS_BIN" verify --reader "$1" --json || true; } | jq -r .chip_serial
}

# cs_verify READER [ARGS]: JSON report in $WORK/v.json, exit status in RC.
cs_verify() {
	local r=$1
	shift
	RC=0
	"$CS_BIN" verify --reader "$r" --ca "$DL/ca.pem" --json "$@" \
		>"$WORK/v.json" || RC=$?
}

# has_reason CODE: the last report names that reason.
has_reason() {
	jq -e --arg c "$1" '[.reasons[].code] | index($c) != null' \
		"$WORK/v.json" >/dev/null
}
want_verdict() {
	local v
	v=$(jq -r .verdict "$WORK/v.json")
	[ "$v" = "$1" ] || { cat "$WORK/v.json" >&2; fail "$2: verdict $v, want $1"; }
}
want_reason() {
	has_reason "$1" || { jq . "$WORK/v.json" >&2; fail "$2: no reason $1"; }
}
