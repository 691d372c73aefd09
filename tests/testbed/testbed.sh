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
#   tb_journal DIR                     export CARDSTATION_JOURNAL: DIR/journal.db,
#                                      or with CS_TEST_JOURNAL=pg the
#                                      database of the tests' PostgreSQL server
#                                      ($CS_PG_URI: pgtest.sh with-db), its
#                                      tables made anew (journal init)
#   tb_sql SQL                         SQL on that journal (sqlite3 or psql),
#                                      rows as a|b lines, NULL as nothing
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

# The journal of a story: one variable picks the backend, every story
# runs on both.
tb_journal() {
	case ${CS_TEST_JOURNAL:-sqlite} in
	sqlite) export CARDSTATION_JOURNAL=$1/journal.db ;;
	pg)
		[ -n "${CS_PG_URI:-}" ] ||
			{ echo "tb: CS_TEST_JOURNAL=pg needs the pg fixture (tests/pg/pgtest.sh with-db)" >&2; return 1; }
		export CARDSTATION_JOURNAL=$CS_PG_URI
		# Again in one story (a story that starts over): a fresh one.
		[ "$(tb_sql "SELECT count(*) FROM information_schema.tables
			WHERE table_schema = 'public'")" = 0 ] ||
			tb_sql "DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null
		"${CS_BIN:?}" journal init >/dev/null ||
			{ echo "tb: journal init on $CS_PG_URI failed" >&2; return 1; }
		# The stories' own SQL says group_concat, as SQLite does.
		tb_sql "CREATE FUNCTION tb_gc(a text, b text) RETURNS text
			LANGUAGE sql IMMUTABLE AS \$\$ SELECT CASE WHEN a IS NULL THEN b
			WHEN b IS NULL THEN a ELSE a || ',' || b END \$\$;
			CREATE AGGREGATE group_concat(text) (SFUNC = tb_gc, STYPE = text);
			CREATE FUNCTION tb_gc2(a text, b text, sep text) RETURNS text
			LANGUAGE sql IMMUTABLE AS \$\$ SELECT CASE WHEN a IS NULL THEN b
			WHEN b IS NULL THEN a ELSE a || sep || b END \$\$;
			CREATE AGGREGATE group_concat(text, text) (SFUNC = tb_gc2,
			STYPE = text)" ;;
	*) echo "tb: CS_TEST_JOURNAL is sqlite or pg, not '$CS_TEST_JOURNAL'" >&2; return 1 ;;
	esac
}

tb_sql() {
	case $CARDSTATION_JOURNAL in
	postgresql://* | postgres://*)
		PGOPTIONS='-c client_min_messages=warning' \
			"${CS_PGBIN:-/usr/lib/postgresql/15/bin}/psql" -X -A -t -q -F '|' \
			-v ON_ERROR_STOP=1 -d "$CARDSTATION_JOURNAL" -c "$1" ;;
	*) sqlite3 "$CARDSTATION_JOURNAL" "$1" ;;
	esac
}
