# testbed.sh - card handling for scripts running inside tests/testbed/testbed.
#
#   source "$TB_LIB"
#   tb_card_create IMAGE SERIALHEX [CARDSIM ARGS]
#                                      make a blank card image (e.g.
#                                      --applet piv: a PIV token)
#   tb_insert SLOT IMAGE [CARDSIM ARGS] put the card into reader SLOT, wait
#                                      until PC/SC sees it
#   tb_remove SLOT                     pull it out, wait until PC/SC sees none
#   tb_swap SLOT IMAGE [CARDSIM ARGS]  remove what is in SLOT, insert IMAGE
#   tb_reader SLOT                     print the PC/SC reader name of SLOT
#   tb_wait SLOT present|absent        wait for that state
#   tb_port SLOT                       print the vpcd TCP port of SLOT
#   tb_cardsim_pid SLOT                print the pid of the card in SLOT
#   tb_journal DIR, tb_sql SQL         the story's journal on either
#                                      backend (journal.sh)
#
# Slots count from 0. Functions return non-zero (and say why on stderr) on
# failure, so `set -e` scripts stop at the first problem. Each inserted
# card's stderr goes to $TB_DIR/slots/SLOT.log.

: "${TB_DIR:?testbed.sh must be sourced inside tests/testbed/testbed}"

tb_port() {
	local ports
	read -r -a ports <<<"$TB_PORTS"
	[ "$1" -ge 0 ] 2>/dev/null && [ "$1" -lt "${#ports[@]}" ] ||
		{ echo "tb: no slot '$1' (have $TB_READERS)" >&2; return 1; }
	echo "${ports[$1]}"
}

tb_reader() {
	local pair=$(( $1 / 2 )) sub
	sub=$(printf '%02X' $(( $1 % 2 )))
	tb_port "$1" >/dev/null || return 1
	# pcscd names a reader "FRIENDLYNAME NN SS"; testbed gives each vpcd
	# entry (two slots) the friendly name "Testbed PAIR".
	grep -m1 -E "^Testbed $pair [0-9A-F]{2} $sub\$" "$TB_DIR/readers" ||
		{ echo "tb: reader of slot $1 not found" >&2; return 1; }
}

tb_wait() {
	local reader
	reader=$(tb_reader "$1") || return 1
	"$TB_PCSCWAIT" card "$reader" "$2" ||
		{ echo "tb: slot $1 never became $2" >&2; return 1; }
}

tb_card_create() {
	"$TB_CARDSIM" --create "$1" --serial "$2" "${@:3}"
}

tb_cardsim_pid() {
	cat "$TB_DIR/slots/$1.pid" 2>/dev/null
}

tb_insert() {
	local slot=$1 image=$2 port pid
	shift 2
	port=$(tb_port "$slot") || return 1
	[ ! -e "$TB_DIR/slots/$slot.pid" ] ||
		{ echo "tb: slot $slot already holds a card" >&2; return 1; }
	"$TB_CARDSIM" --port "$port" --image "$image" "$@" \
		2>>"$TB_DIR/slots/$slot.log" &
	pid=$!
	echo "$pid" >"$TB_DIR/slots/$slot.pid"
	if ! tb_wait "$slot" present; then
		kill -TERM "$pid" 2>/dev/null
		rm -f "$TB_DIR/slots/$slot.pid"
		cat "$TB_DIR/slots/$slot.log" >&2
		return 1
	fi
}

tb_remove() {
	local slot=$1 pid
	pid=$(tb_cardsim_pid "$slot") ||
		{ echo "tb: slot $slot is empty" >&2; return 1; }
	# SIGTERM is "card pulled": cardsim closes its socket and exits.
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$TB_DIR/slots/$slot.pid"
	tb_wait "$slot" absent
}

tb_swap() {
	local slot=$1
	shift
	if [ -e "$TB_DIR/slots/$slot.pid" ]; then
		tb_remove "$slot" || return 1
	fi
	tb_insert "$slot" "$@"
}

# The journal of a story (tb_journal, tb_sql): journal.sh, also for stories
# that run outside the bench.
# shellcheck source=journal.sh
source "$(dirname "${BASH_SOURCE[0]}")/journal.sh"
