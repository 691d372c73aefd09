#!/bin/bash
# The bench keeps its promises: K readers named per slot, a private pcscd,
# and cards that come and go without restarting pcscd.
set -euo pipefail
source "$TB_LIB"

[ "$TB_READERS" = 3 ] || { echo "TB_READERS=$TB_READERS"; exit 1; }
read -r -a ports <<<"$TB_PORTS"
[ "${#ports[@]}" = 3 ] || { echo "TB_PORTS=$TB_PORTS"; exit 1; }
[ "${ports[1]}" = $(( ports[0] + 1 )) ] || { echo "pair ports $TB_PORTS"; exit 1; }
for s in 0 1 2; do
	r=$(tb_reader $s)
	echo "slot $s: $r (port $(tb_port $s))"
	tb_wait $s absent
done
# The pcscd we talk to is ours: its socket is on our private tmpfs.
[ "$(stat -f -c %T /run/pcscd)" = tmpfs ]

if [ -x "$TB_CARDSIM" ]; then
	tb_card_create "$TB_DIR/a.img" 01020304
	tb_card_create "$TB_DIR/b.img" 0A0B0C0D
	tb_insert 1 "$TB_DIR/a.img"
	tb_wait 0 absent
	opensc-tool -r "$(tb_reader 1)" -a | grep -q '^3b'
	tb_swap 1 "$TB_DIR/b.img"
	tb_wait 1 present
	tb_insert 2 "$TB_DIR/a.img"
	# Each reader sees only its own card (vpcd entries must not share
	# state: see testbed's per-pair driver copies).
	tb_wait 0 absent
	opensc-tool -r "$(tb_reader 2)" -n | grep -qx "Javacard with IsoApplet"
	tb_remove 1
	tb_remove 2
	tb_wait 2 absent
fi
echo "selftest ok"
