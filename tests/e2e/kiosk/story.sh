#!/bin/bash
# story.sh STORY - one of the operator's stories at the kiosk. Runs inside
# the test bench (tests/testbed): a private pcscd with one cardsim reader.
# Makes this test's operator accounts (accounts.sh), starts `cardstation
# kiosk` on a free loopback port with its key in a private folder, waits
# for the address it prints, and hands over to kiosk.mjs (Chromium) or,
# for the stories told without a browser, api.mjs (plain HTTP).
set -euo pipefail
story=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$TB_LIB"
source "$here/accounts.sh"

export KS_WORK=$TB_DIR/work
export KS_ART=${KS_ARTIFACTS:?}/$story
export CARDSTATION_PROFILES=$CS_SRC/cardprofiles
export KS_READER
KS_READER=$(tb_reader 0)
rm -rf "$KS_ART"
mkdir -p "$KS_WORK/media/usb" "$KS_ART"
# The journal: a file in the bench, or with CS_TEST_JOURNAL=pg a database
# of this story's own on the tests' server (tests/testbed/journal.sh).
tb_journal "$KS_WORK"

kiosk=
cleanup() {
	ks_kiosk_stop "$kiosk"
	ks_accounts_remove
}
trap cleanup EXIT
rc=0
ks_accounts_create "$KS_WORK" || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

# The download on a "USB stick": four people, one of them refused.
people=4
case $story in handover|desk|pinreset|attacker) people=1 ;; esac
export KS_DL=$KS_WORK/media/usb/2024-04
# refused: a seed whose download has 39-digit (S/MIME) serials beside names.
seed=()
[ "$story" = refused ] && seed=(--seed 2)
"$CS_BUILD/tests/gen/upkigen" --out "$KS_DL" --people "$people" "${seed[@]}" \
	$([ "$people" -gt 1 ] && echo --break wrong-pin@$people) >/dev/null
for i in 1 2 3; do
	tb_card_create "$KS_WORK/card$i.img" "4B00000$i" >/dev/null
done

# The key goes to a file in a folder of ours alone, as under systemd.
install -d -m 0700 "$KS_WORK/run"
export KS_KEYFILE=$KS_WORK/run/launch
idle=600
[ "$story" = security ] && idle=10
# Every reader of the bench (two for two_desks), named one by one.
readers=()
for ((i = 0; i < TB_READERS; i++)); do readers+=(--reader "$(tb_reader "$i")"); done
# The desk story's kiosk speaks Japanese itself (its engine sentences
# translated): what the page needs still comes as codes and numbers.
kiosk_env=()
[ "$story" = desk ] && kiosk_env=(env LANG=ja_JP.UTF-8)
exec 3< <(exec "${kiosk_env[@]}" "$CS_BIN" kiosk --listen 127.0.0.1:0 --www "$CS_SRC/kiosk/www" \
	--import-root "$KS_WORK/media" "${readers[@]}" --idle "$idle" \
	--ca "$KS_DL/ca.pem" --admin-mail pki-admin@academe.example.ac.jp \
	--key-file "$KS_KEYFILE" --pam-confdir "$KS_PAMDIR" --role-groups "$KS_ROLES" \
	2>"$KS_ART/kiosk.log")
kiosk=$!
export KS_PID=$kiosk # the kiosk itself: the process substitution execs it
# The first line is the address: the server listens once it is printed,
# and the key file is written before it.
read -r -t 60 KS_URL <&3 || { echo "kiosk did not start" >&2; cat "$KS_ART/kiosk.log" >&2; exit 1; }
export KS_URL
KS_LAUNCH=$(head -n 1 "$KS_KEYFILE")
export KS_LAUNCH

driver=kiosk.mjs
case $story in access|attacker|two_desks|mixed_puks|server_lost) driver=api.mjs ;; esac
node "$here/$driver" "$story" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "--- kiosk log" >&2; tail -n 40 "$KS_ART/kiosk.log" >&2
fi
# No secret may reach the server's log nor the journal: the PINs and PUKs
# the story saw (noted in the bench's tmpfs), the operators' passwords,
# this start's key. The journal is its SQLite file (with its -wal and
# -journal), or a dump of the story's database on the server, taken as the
# same role (pg_dump into the bench's tmpfs, gone with it): no dump, no
# pass.
journal=("$CARDSTATION_JOURNAL"*)
case $CARDSTATION_JOURNAL in
postgresql://* | postgres://*)
	journal=("$KS_WORK/journal.dump")
	if ! "${CS_PGBIN:-/usr/lib/postgresql/15/bin}/pg_dump" \
		-d "$CARDSTATION_JOURNAL" -f "${journal[0]}" ||
		! grep -q '^COPY public.events ' "${journal[0]}"; then
		echo "FAIL: no dump of the journal's database to look for secrets in" >&2
		rc=1
	fi ;;
esac
{
	[ ! -s "$KS_WORK/pins.seen" ] || cat "$KS_WORK/pins.seen"
	for role in enc desk adm all none; do v=KS_PW_$role; printf '%s\n' "${!v}"; done
	printf '%s\n' "${KS_LAUNCH#*#k=}"
} >"$KS_WORK/secrets.seen"
while read -r secret; do
	if grep -aqF -- "$secret" "$KS_ART/kiosk.log" "${journal[@]}" 2>/dev/null; then
		echo "FAIL: a PIN, PUK, password or the key is in the kiosk's log or the journal (${#secret} characters, starting ${secret:0:2})" >&2
		rc=1
	fi
done <"$KS_WORK/secrets.seen"
rm -f "$KS_WORK/pins.seen" "$KS_WORK/secrets.seen" "$KS_WORK/journal.dump"
exit "$rc"
