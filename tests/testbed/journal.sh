# journal.sh - the journal of a test story, on either backend. One
# variable picks it, so every story runs on both:
#
#   CS_TEST_JOURNAL=sqlite (the default)  a file in the story's folder
#   CS_TEST_JOURNAL=pg                    a database of its own on the
#                                         tests' PostgreSQL server
#                                         (tests/pg: the ctest fixture pg)
#
#   source "$CS_SRC/tests/testbed/journal.sh"   (testbed.sh sources it)
#   tb_journal DIR   export CARDSTATION_JOURNAL: DIR/journal.db, or a fresh
#                    database on the server ($CS_PG_URI if a test gave one,
#                    pgtest.sh with-db; else one made here), its tables made
#                    anew (journal init)
#   tb_sql SQL       SQL on that journal (sqlite3 or psql), rows as a|b
#                    lines, NULL as nothing
#
# Functions return non-zero (and say why on stderr) on failure.

tb_journal() {
	case ${CS_TEST_JOURNAL:-sqlite} in
	sqlite) export CARDSTATION_JOURNAL=$1/journal.db ;;
	pg)
		if [ -z "${CS_PG_URI:-}" ]; then
			# A database of the story's own on the fixture's server; a
			# random name, as stories run side by side (and a bench's PID
			# namespace makes $$ no name).
			[ -n "${CS_PGTEST:-}" ] && [ -n "${CS_PG_DIR:-}" ] ||
				{ echo "tb: CS_TEST_JOURNAL=pg needs the tests' server (CS_PGTEST, CS_PG_DIR: the ctest fixture pg)" >&2; return 1; }
			local name
			name=tb_$(tr -d '-' </proc/sys/kernel/random/uuid)
			CS_PG_URI=$("$CS_PGTEST" createdb "$CS_PG_DIR" "$name") ||
				{ echo "tb: no database on the tests' server in $CS_PG_DIR" >&2; return 1; }
			export CS_PG_URI
		fi
		export CARDSTATION_JOURNAL=$CS_PG_URI
		echo "tb: the journal is $CS_PG_URI" >&2
		# Again in one story (a story that starts over): a fresh one.
		[ "$(tb_sql "SELECT count(*) FROM information_schema.tables
			WHERE table_schema = 'public'")" = 0 ] ||
			tb_sql "DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null
		"${CS_BIN:?}" journal init >/dev/null ||
			{ echo "tb: journal init on $CS_PG_URI failed" >&2; return 1; } ;;
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
