#!/bin/bash
# A TLS 1.3 client login with the key of a PIV token the station wrote:
# openssl s_server on 127.0.0.1 (a port the kernel picks) demands a client
# certificate issued by the download's CA; openssl s_client signs with the
# card's 9A key through OpenSC's PKCS#11 module (libp11's pkcs11 engine).
# The server must report a TLS 1.3 session, an RSA-PSS signature (the only
# RSA TLS 1.3 allows) and the card's certificate as the client's, as
# cardstation verify promised (tls1.3-client-auth). With a wrong PIN no
# login happens and the card counts the try.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
: "${CS_BIN:?}" "${UPKIGEN:?}"
ENGINE=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
[ -e "$ENGINE" ] || fail "no pkcs11 engine at $ENGINE (libengine-pkcs11-openssl)"

RUN=$(piv_run_new b 1 1)
tb_card_create "$WORK/piv.card" 00BC614E --applet piv
tb_insert 0 "$WORK/piv.card"
R=$(tb_reader 0)
piv_encode "$RUN"
grep -q "DONE .* on card YK-12345678" "$OUT" || failo "not encoded"
export OPENSC_CONF
OPENSC_CONF=$(piv_opensc_conf)
pkcs15-tool -r "$R" --read-certificate 01 >"$WORK/card.pem" 2>/dev/null ||
	fail "no certificate on the card"
"$CS_BIN" verify --reader "$R" --pin env:CS_PIN --ca "$WORK/b/ca.pem" --json \
	>"$WORK/verify.json" 2>&1 || { cat "$WORK/verify.json" >&2; fail "cardstation verify"; }
jq -e '.uses["tls1.3-client-auth"] == true' "$WORK/verify.json" >/dev/null ||
	fail "verify does not promise TLS 1.3 client authentication"

# The client's OpenSSL: libp11's engine driving OpenSC's PKCS#11 module.
cat >"$WORK/client.cnf" <<EOF
openssl_conf = init
[init]
engines = engines
[engines]
pkcs11 = p11
[p11]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $P11
init = 0
EOF
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$WORK/srv.key" -out "$WORK/srv.crt" -subj /CN=localhost -days 2 \
	2>/dev/null || fail "server certificate"

# One server for one connection; its port is the one its ACCEPT line
# names. srv_end FILE: its output until it ends (a few kilobytes: the
# pipe holds them meanwhile).
srv_start() {
	local line
	coproc SRV { exec openssl s_server -accept 127.0.0.1:0 -naccept 1 -tls1_3 \
		-Verify 1 -verify_return_error -CAfile "$WORK/b/ca.pem" \
		-cert "$WORK/srv.crt" -key "$WORK/srv.key" 2>&1; }
	exec {SRV_FD}<&"${SRV[0]}" # bash drops SRV when the server ends
	PORT=
	while read -r -u "$SRV_FD" line; do
		case $line in ACCEPT\ *) PORT=${line##*:}; break ;; esac
	done
	[[ "$PORT" =~ ^[0-9]+$ ]] || fail "s_server named no port"
}
srv_end() { cat <&"$SRV_FD" >"$1"; exec {SRV_FD}<&-; }
client() { # PIN-VARIABLE: s_client with the card's key, the PIN from it
	OPENSSL_CONF=$WORK/client.cnf timeout 60 openssl s_client \
		-connect "127.0.0.1:$PORT" -tls1_3 -engine pkcs11 -keyform engine \
		-key "pkcs11:id=%01;type=private" -pass "env:$1" -cert "$WORK/card.pem" \
		-brief </dev/null
}

# The login.
srv_start
client CS_PIN >"$WORK/client.out" 2>&1 || { cat "$WORK/client.out" >&2; fail "s_client"; }
srv_end "$WORK/srv.out"
grep -q "^Protocol version: TLSv1.3" "$WORK/client.out" ||
	{ cat "$WORK/client.out" >&2; fail "the client did not speak TLS 1.3"; }
sed -n '/^-----BEGIN SSL SESSION PARAMETERS-----/,/^-----END SSL SESSION PARAMETERS-----/p' \
	"$WORK/srv.out" | openssl sess_id -noout -text >"$WORK/session" 2>&1 ||
	{ cat "$WORK/srv.out" >&2; fail "the server kept no session"; }
grep -Eq "^ *Protocol *: TLSv1\.3$" "$WORK/session" ||
	{ cat "$WORK/session" >&2; fail "the server's session is not TLS 1.3"; }
grep -q "^Peer signature type: RSA-PSS" "$WORK/srv.out" ||
	{ cat "$WORK/srv.out" >&2; fail "the client's signature was not RSA-PSS"; }
sed -n '/^Client certificate/,/^-----END CERTIFICATE-----/p' "$WORK/srv.out" |
	sed 1d >"$WORK/seen.pem"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
[ "$(fp "$WORK/seen.pem" 2>&1)" = "$(fp "$WORK/card.pem")" ] ||
	{ cat "$WORK/srv.out" >&2; fail "the server did not see the card's certificate"; }

# A wrong PIN: no login, and the card took one of its tries.
export CS_WRONG_PIN=999999
srv_start
client CS_WRONG_PIN >"$WORK/client2.out" 2>&1 &&
	{ cat "$WORK/client2.out" >&2; fail "s_client logged in with a wrong PIN"; }
# The client gave up before connecting, or the server refused it.
kill "$SRV_PID" 2>/dev/null || true
srv_end "$WORK/srv2.out"
grep -q "^Client certificate" "$WORK/srv2.out" &&
	{ cat "$WORK/srv2.out" >&2; fail "the server took a certificate signed with a wrong PIN"; }
[ "$(piv_sw 00A4040005A000000308 00200080)" = "$(printf '9000\n63C2')" ] ||
	fail "the card does not count the wrong PIN: $(piv_sw 00A4040005A000000308 00200080)"
echo "tls ok"
