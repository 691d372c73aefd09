#!/bin/bash
# migrate.sh - a SQLite journal into PostgreSQL and back, with its chain.
#   1. a journal with a day's history (log_mkjournal: verified, failed,
#      interrupted, refused, a name CP932 lacks) and a `run new` of a
#      generated download; log check passes
#   2. migrate to PostgreSQL ($CS_PG_URI, the tests' own server): every row
#      there, the chain head row is the last event
#   3. migrate back to a new SQLite file: 0600, log check passes with the
#      same head, log --json, run list and every table read the same
#   4. refusals, each leaving nothing written: a non-empty target, an
#      existing SQLite file, a source edited behind the station's back (on
#      either side), a URI with a password, two SQLite files
set -euo pipefail
: "${CS_BIN:?}" "${CS_MKJOURNAL:?}" "${CS_PG_URI:?}" "${CS_PG_DIR:?}" "${CS_PGTEST:?}" "${CS_BUILD:?}"
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (tests/setup.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
expect_rc() { # WHAT WANT GOT
	if [ "$2" = "$3" ]; then ok "$1 (exit $3)"; else bad "$1: exit $3, want $2"; fi
}
expect() { # WHAT REGEX FILE
	if grep -qE -- "$2" "$3"; then ok "$1"; else bad "$1: no /$2/ in"; cat "$3"; fi
}
same() { # WHAT FILE1 FILE2
	if cmp -s "$2" "$3"; then ok "$1"; else bad "$1: differ"; diff "$2" "$3" | head -20; fi
}
pg() { # DB SQL: one value per line
	"$CS_PGTEST" psql "$CS_PG_DIR" "$1" -At -c "$2"
}
PGDB=e2e_journal_migrate
A=$tmp/a/journal.db
B=$tmp/b/journal.db

echo "== 1. a journal with history"
"$CS_MKJOURNAL" "$A"
"$CS_BUILD/tests/gen/upkigen" --out "$tmp/dl" --people 6 >/dev/null
rc=0; "$CS_BIN" run new "$tmp/dl/clientAll.zip" "$tmp/dl/clientAllPin.zip" \
	--journal "$A" --operator tester >"$tmp/runnew" 2>&1 || rc=$?
[ $rc -le 1 ] && ok "run new on the journal (exit $rc)" || { bad "run new: exit $rc"; cat "$tmp/runnew"; }
"$CS_BIN" log check --journal "$A" >"$tmp/check.a"
headA=$(grep -oE '[0-9a-f]{64}' "$tmp/check.a" | tail -1)
[ -n "$headA" ] && ok "the source passes log check (head ${headA:0:12}...)" || bad "no head in: $(cat "$tmp/check.a")"
nev=$(sqlite3 "$A" "SELECT count(*) FROM events")
nrec=$(sqlite3 "$A" "SELECT count(*) FROM records")
[ "$nrec" -ge 11 ] && ok "$nrec records, $nev events" || bad "only $nrec records"

echo "== 2. into PostgreSQL"
rc=0; "$CS_BIN" journal migrate "$A" "$CS_PG_URI" >"$tmp/m1" 2>&1 || rc=$?
expect_rc "migrate SQLite -> PostgreSQL" 0 $rc
expect "it says what it copied" "copied .* $nrec records, .* and $nev events" "$tmp/m1"
expect "and the head" "head $headA" "$tmp/m1"
for t in runs cards owners records issuances events; do
	[ "$(pg $PGDB "SELECT count(*) FROM $t")" = "$(sqlite3 "$A" "SELECT count(*) FROM $t")" ] &&
		ok "$t: every row on the server" || bad "$t: counts differ"
done
[ "$(pg $PGDB "SELECT last_id || ' ' || hash FROM chain_head")" = "$nev $headA" ] &&
	ok "the chain head row is the last event" || bad "chain_head: $(pg $PGDB "SELECT * FROM chain_head")"
[ "$(pg $PGDB "SELECT max(version) FROM schema_version")" = 3 ] && ok "schema version 3" || bad "schema version"
# Events byte for byte: detail and hashes are text on both sides.
pg $PGDB "SELECT id, at, kind, detail, prev_hash, hash FROM events ORDER BY id" >"$tmp/ev.pg"
sqlite3 -separator '|' "$A" "SELECT id, at, kind, detail, prev_hash, hash FROM events ORDER BY id" >"$tmp/ev.a"
same "events byte for byte on the server" "$tmp/ev.a" "$tmp/ev.pg"
# New rows continue after the copied ids.
[ "$(pg $PGDB "SELECT nextval(pg_get_serial_sequence('records', 'id'))")" = $((nrec + 1)) ] &&
	ok "record ids continue after the copy" || bad "records' sequence not moved on"

echo "== 3. back into a new SQLite file"
rc=0; "$CS_BIN" journal migrate "$CS_PG_URI" "$B" >"$tmp/m2" 2>&1 || rc=$?
expect_rc "migrate PostgreSQL -> SQLite" 0 $rc
[ "$(stat -c %a "$B")" = 600 ] && ok "the new journal is 0600" || bad "mode $(stat -c %a "$B")"
rc=0; "$CS_BIN" log check --journal "$B" >"$tmp/check.b" || rc=$?
expect_rc "log check on the copy" 0 $rc
expect "the same head" "$headA" "$tmp/check.b"
"$CS_BIN" log --journal "$A" --json >"$tmp/log.a"
"$CS_BIN" log --journal "$B" --json >"$tmp/log.b"
[ "$(jq length "$tmp/log.a")" -ge 5 ] && ok "log --json lists $(jq length "$tmp/log.a") issuances" || bad "log --json short"
same "log --json of both" "$tmp/log.a" "$tmp/log.b"
"$CS_BIN" run list --journal "$A" >"$tmp/runs.a"
"$CS_BIN" run list --journal "$B" >"$tmp/runs.b"
same "run list of both" "$tmp/runs.a" "$tmp/runs.b"
for t in runs cards owners records issuances events; do
	sqlite3 "$A" "SELECT * FROM $t ORDER BY id" >"$tmp/t.a"
	sqlite3 "$B" "SELECT * FROM $t ORDER BY id" >"$tmp/t.b"
	same "$t identical after the round trip" "$tmp/t.a" "$tmp/t.b"
done

echo "== 4. refusals"
# The commands read the server journal itself, as they read the file, and
# never take the URI for a file name (folders "postgresql:" beside us).
(cd "$tmp" && "$CS_BIN" run list --journal "$CS_PG_URI") >"$tmp/runs.pg" 2>&1
same "run list on the server" "$tmp/runs.a" "$tmp/runs.pg"
(cd "$tmp" && "$CS_BIN" log --journal "$CS_PG_URI" --json) >"$tmp/log.pg" 2>&1
same "log --json on the server" "$tmp/log.a" "$tmp/log.pg"
rc=0; (cd "$tmp" && "$CS_BIN" log check --journal "$CS_PG_URI") >"$tmp/check.pg" 2>&1 || rc=$?
expect_rc "log check on the server" 0 $rc
expect "the server's chain has the same head" "$headA" "$tmp/check.pg"
[ ! -e "$tmp/postgresql:" ] && ok "no folder named after the URI" || bad "a folder postgresql: was made"
rc=0; "$CS_BIN" journal migrate "$A" "$CS_PG_URI" >"$tmp/r1" 2>&1 || rc=$?
expect_rc "into a journal that is not empty" 2 $rc
expect "says so" "not empty" "$tmp/r1"
[ "$(pg $PGDB "SELECT count(*) FROM events")" = "$nev" ] && ok "the server's journal unchanged" || bad "the server's events changed"

rc=0; "$CS_BIN" journal migrate "$CS_PG_URI" "$B" >"$tmp/r2" 2>&1 || rc=$?
expect_rc "over an existing SQLite journal" 2 $rc
expect "says so" "exists" "$tmp/r2"
"$CS_BIN" log check --journal "$B" >/dev/null && ok "which stays whole" || bad "the existing file was harmed"

T=$tmp/t/journal.db
mkdir -p "$tmp/t"
cp "$A" "$T"
sqlite3 "$T" "UPDATE records SET state = 'queued' WHERE state = 'done'"
U2=$("$CS_PGTEST" createdb "$CS_PG_DIR" e2e_journal_migrate2)
rc=0; "$CS_BIN" journal migrate "$T" "$U2" >"$tmp/r3" 2>&1 || rc=$?
expect_rc "a source edited behind the station's back" 2 $rc
expect "names the edit" "changed behind the station's back.*records row" "$tmp/r3"
[ "$(pg e2e_journal_migrate2 "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")" = 0 ] &&
	ok "nothing was written on the server" || bad "tables left on the server"

# An edit on the server is caught when the copy comes back: the new file
# fails the station's check and is removed.
pg $PGDB "UPDATE records SET holder = 'SOMEONE ELSE' WHERE id = 1" >/dev/null
C=$tmp/c/journal.db
rc=0; "$CS_BIN" journal migrate "$CS_PG_URI" "$C" >"$tmp/r4" 2>&1 || rc=$?
expect_rc "a server journal edited behind the station's back" 2 $rc
expect "names the edit" "records row 1 column holder" "$tmp/r4"
[ ! -e "$C" ] && ok "no half copy left" || bad "$C left behind"

rc=0; "$CS_BIN" journal migrate "$A" "postgresql://station:s3cret@localhost/cardstation" >"$tmp/r5" 2>&1 || rc=$?
expect_rc "a URI with a password" 2 $rc
expect "says where a password goes" "\.pgpass" "$tmp/r5"
grep -q s3cret "$tmp/r5" && bad "the password was repeated" || ok "the password is not repeated"

# A station writing the source: its write lock held (sqlite3 on a fifo,
# BEGIN IMMEDIATE answered before migrate starts); migrate waits the busy
# time out, then refuses and writes nothing.
mkfifo "$tmp/lockfifo"
sqlite3 "$A" <"$tmp/lockfifo" >"$tmp/lockout" &
lockpid=$!
exec 7>"$tmp/lockfifo"
echo "BEGIN IMMEDIATE; SELECT 'locked';" >&7
# (tail -f outlives grep until its next write: stopped here; the timeout
# only turns a hang into a failure)
timeout 30 bash -c 'exec 3< <(tail -n +1 -f "$0"); t=$!
	grep -q -m1 locked <&3; r=$?; kill $t; exit $r' "$tmp/lockout" ||
	bad "sqlite3 never took the lock"
U4=$("$CS_PGTEST" createdb "$CS_PG_DIR" e2e_journal_migrate4)
rc=0; "$CS_BIN" journal migrate "$A" "$U4" >"$tmp/r7" 2>&1 || rc=$?
echo "ROLLBACK;" >&7
exec 7>&-
wait $lockpid || true
expect_rc "a source a station is writing" 2 $rc
expect "says to stop the stations" "being written by a station.*stop the stations" "$tmp/r7"
[ "$(pg e2e_journal_migrate4 "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")" = 0 ] &&
	ok "nothing was written on the server" || bad "tables left on the server"

rc=0; "$CS_BIN" journal migrate "$A" "$tmp/d.db" >"$tmp/r6" 2>&1 || rc=$?
expect_rc "two SQLite files" 2 $rc
[ ! -e "$tmp/d.db" ] && ok "nothing created" || bad "$tmp/d.db created"

echo "== 5. journal init"
U3=$("$CS_PGTEST" createdb "$CS_PG_DIR" e2e_journal_migrate3)
rc=0; CARDSTATION_JOURNAL=$U3 "$CS_BIN" journal init >"$tmp/i1" 2>&1 || rc=$?
expect_rc "init on an empty database (\$CARDSTATION_JOURNAL)" 0 $rc
[ "$(pg e2e_journal_migrate3 "SELECT max(version) FROM schema_version")" = 3 ] &&
	ok "the schema is there, version 3" || bad "no schema after init"
rc=0; "$CS_BIN" journal init --journal "$U3" >"$tmp/i2" 2>&1 || rc=$?
expect_rc "init again (--journal)" 2 $rc
expect "says so" "already has" "$tmp/i2"
# An initialised, empty journal takes a migration.
rc=0; "$CS_BIN" journal migrate "$A" "$U3" >"$tmp/i3" 2>&1 || rc=$?
expect_rc "migrate into an initialised journal" 0 $rc
rc=0; "$CS_BIN" journal init --journal "$tmp/x.db" >"$tmp/i4" 2>&1 || rc=$?
expect_rc "init of a SQLite path" 2 $rc

echo "== 6. a station's role (docs/postgresql.md): works, cannot delete or rewrite"
roles() { "$CS_PGTEST" psql "$CS_PG_DIR" $PGDB -v ON_ERROR_STOP=1 -c "$1"; }
roles "DROP ROLE IF EXISTS counter1; DROP ROLE IF EXISTS cardstation_station;
CREATE ROLE cardstation_station NOLOGIN;
GRANT USAGE ON SCHEMA public TO cardstation_station;
GRANT SELECT, INSERT, UPDATE ON runs, records, cards, issuances, owners TO cardstation_station;
GRANT SELECT, INSERT ON events TO cardstation_station;
GRANT SELECT, UPDATE ON chain_head TO cardstation_station;
GRANT SELECT ON schema_version TO cardstation_station;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO cardstation_station;
CREATE ROLE counter1 LOGIN IN ROLE cardstation_station;" >/dev/null
as_station() { "$CS_PGTEST" psql "$CS_PG_DIR" $PGDB -c "SET ROLE counter1" -c "$1" 2>&1; }
as_station "BEGIN; SELECT last_id FROM chain_head FOR UPDATE;
UPDATE records SET state = 'claimed', claimed_by = 'R' WHERE id = (SELECT id FROM records
 WHERE state = 'queued' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id;
INSERT INTO cards (chip_serial, state, first_seen, last_seen) VALUES ('FFEE', 'blank', 'x', 'x') RETURNING id;
ROLLBACK;" >"$tmp/role1" && ok "the station's role locks the chain, claims, adds a card" ||
	{ bad "the station's role cannot work"; cat "$tmp/role1"; }
for sql in "DELETE FROM events WHERE id = 1" "UPDATE events SET detail = '{}' WHERE id = 1" 	"DELETE FROM issuances" "TRUNCATE records CASCADE" "DROP INDEX issuances_live_cert"; do
	if as_station "$sql" >"$tmp/role2"; then bad "the station's role may: $sql"
	else grep -qE "permission denied|must be owner" "$tmp/role2" && ok "refused to a station: $sql" ||
		{ bad "$sql failed otherwise"; cat "$tmp/role2"; }
	fi
done

echo "== 7. log check on the server sees the schema and the head"
U3=$("$CS_PGTEST" createdb "$CS_PG_DIR" e2e_journal_migrate3)
"$CS_BIN" journal migrate "$A" "$U3" >/dev/null
"$CS_BIN" log check --journal "$U3" >/dev/null && ok "the copy is intact" || bad "the copy fails log check"
pg e2e_journal_migrate3 "DROP INDEX issuances_live_cert" >/dev/null
rc=0; "$CS_BIN" log check --journal "$U3" >"$tmp/k1" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q "lacks.*issuances_live_cert" "$tmp/k1" &&
	ok "a dropped guard index is named" || bad "dropped index: rc $rc $(cat "$tmp/k1")"
pg e2e_journal_migrate3 "CREATE UNIQUE INDEX issuances_live_cert ON issuances(cert_serial)
	WHERE outcome IN ('writing', 'verified');
	CREATE FUNCTION quiet() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RETURN NEW; END \$\$;
	CREATE TRIGGER keep_quiet BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION quiet()" >/dev/null
rc=0; "$CS_BIN" log check --journal "$U3" >"$tmp/k2" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q "never creates: trigger keep_quiet on events" "$tmp/k2" &&
	! grep -q issuances_live_cert "$tmp/k2" &&
	ok "an added trigger is named (the index back in place is not)" || bad "trigger: rc $rc $(cat "$tmp/k2")"
pg e2e_journal_migrate3 "DROP TRIGGER keep_quiet ON events;
	DELETE FROM events WHERE id = (SELECT max(id) FROM events)" >/dev/null
rc=0; "$CS_BIN" log check --journal "$U3" >"$tmp/k3" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q "chain head names event $nev" "$tmp/k3" &&
	ok "the last event deleted: the chain head names it" || bad "last event: rc $rc $(cat "$tmp/k3")"

exit $fail
