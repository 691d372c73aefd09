/* test_db.c - the database layer (cs_db) on both backends: a SQLite file
 * and the tests' own PostgreSQL server ($CS_PG_URI, tests/pg/pgtest.sh).
 * The same SQL with ? placeholders on both; text, integers and NULL in
 * and out; the station's error codes for a unique, foreign key and check
 * violation; transactions; and on PostgreSQL: a URI with a password
 * refused, a serialization failure and a lost connection named as such,
 * the journal's schema refusing one certificate live on two cards, claims
 * that skip a record another transaction holds, and the chain head lock
 * that serialises writers. On both: the hash chain across savepoints,
 * rollbacks and two connections (the head a write transaction keeps). */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_db.h"
#include "cs_db_schema.h"
#include "cs_doctor.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_journal_int.h"
#include "cs_owner.h"

static char why[1024];

static const char *pg_uri(void)
{
	const char *u = getenv("CS_PG_URI");

	if (u == NULL || *u == '\0')
		fail_msg("CS_PG_URI is not set: run under tests/pg/pgtest.sh with-db");
	return u;
}

/* A PostgreSQL connection working in its own schema (one per test). */
static cs_db *pg_open(const char *schema, bool create)
{
	cs_db *db = NULL;
	char sql[256];

	if (cs_db_open(&db, pg_uri(), 0, why, sizeof(why)) != CS_OK)
		fail_msg("open %s: %s", pg_uri(), why);
	assert_int_equal(cs_db_backend_of(db), CS_DB_PG);
	if (create) {
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; "
		    "CREATE SCHEMA %s", schema, schema);
		assert_int_equal(cs_db_exec(db, sql), CS_OK);
	}
	snprintf(sql, sizeof(sql), "SET search_path TO %s", schema);
	assert_int_equal(cs_db_exec(db, sql), CS_OK);
	return db;
}

static cs_db *lite_open(char *path, size_t len)
{
	cs_db *db = NULL;
	int fd;

	snprintf(path, len, "/tmp/test_db.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	if (cs_db_open(&db, path, 0, why, sizeof(why)) != CS_OK)
		fail_msg("open %s: %s", path, why);
	assert_int_equal(cs_db_backend_of(db), CS_DB_SQLITE);
	return db;
}

static void lite_remove(const char *path)
{
	char side[96];

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

/* --- placeholders ---------------------------------------------------- */

static void placeholders_become_dollars(void **state)
{
	char out[256];
	int n;

	(void)state;
	assert_int_equal(cs_db_pg_sql("SELECT a FROM t WHERE a = ? AND b = ?",
	    out, sizeof(out), &n), CS_OK);
	assert_string_equal(out, "SELECT a FROM t WHERE a = $1 AND b = $2");
	assert_int_equal(n, 2);
	/* Numbered ones keep their number; a bare one follows the highest,
	 * as SQLite numbers them. */
	assert_int_equal(cs_db_pg_sql("?2, ?1, ?, ?10", out, sizeof(out), &n),
	    CS_OK);
	assert_string_equal(out, "$2, $1, $3, $10");
	assert_int_equal(n, 10);
	/* Not inside literals, quoted names, comments or dollar quotes. */
	assert_int_equal(cs_db_pg_sql("SELECT '?', 'it''s ?', \"a?\", ? -- ?\n"
	    "/* ? */ $$ ? $$, $x$ ? $x$, ?", out, sizeof(out), &n), CS_OK);
	assert_string_equal(out, "SELECT '?', 'it''s ?', \"a?\", $1 -- ?\n"
	    "/* ? */ $$ ? $$, $x$ ? $x$, $2");
	assert_int_equal(n, 2);
	/* One spelling only; out of range; too small a buffer. */
	assert_int_equal(cs_db_pg_sql("a = $1", out, sizeof(out), &n),
	    CS_ERR_USAGE);
	assert_int_equal(cs_db_pg_sql("a = ?0", out, sizeof(out), &n),
	    CS_ERR_USAGE);
	assert_int_equal(cs_db_pg_sql("a = ?99999", out, sizeof(out), &n),
	    CS_ERR_USAGE);
	assert_int_equal(cs_db_pg_sql("SELECT ?", out, 8, &n), CS_ERR_LIMIT);
}

/* The copy's table list: one kind per column, and the columns the journal
 * snapshots (a column missing here would not be copied). */
static void tables_have_a_kind_per_column(void **state)
{
	(void)state;
	assert_int_equal(cs_db_ntables, 6);
	for (size_t t = 0; t < cs_db_ntables; t++) {
		size_t n = 0;

		while (cs_db_tables[t].cols[n] != NULL)
			n++;
		if (n != strlen(cs_db_tables[t].kinds))
			fail_msg("%s: %zu columns, %zu kinds", cs_db_tables[t].name, n,
			    strlen(cs_db_tables[t].kinds));
		assert_string_equal(cs_db_tables[t].cols[0], "id");
		assert_int_equal(cs_db_tables[t].kinds[0], 'i');
	}
}

static void which_backend(void **state)
{
	(void)state;
	assert_true(cs_db_is_uri("postgresql:///cardstation?host=/run/postgresql"));
	assert_true(cs_db_is_uri("postgres://db.example.ac.jp/cs"));
	assert_true(cs_db_is_uri("PostgreSQL://h/d"));
	assert_false(cs_db_is_uri("/var/lib/cardstation/journal.db"));
	assert_false(cs_db_is_uri("postgresql.db"));
	assert_false(cs_db_is_uri(NULL));
}

/* --- the same story on both backends ---------------------------------- */

static void rows_in_and_out(cs_db *db, const char *ddl)
{
	cs_db_stmt *st;
	int64_t id1, id2;

	assert_int_equal(cs_db_exec(db, ddl), CS_OK);
	assert_int_equal(cs_db_prepare(db, "INSERT INTO people (name, n, note) "
	    "VALUES (?, ?, ?) RETURNING id", &st), CS_OK);
	assert_int_equal(cs_db_bind_text(st, 1, "髙﨑 花子"), CS_OK);
	assert_int_equal(cs_db_bind_int(st, 2, INT64_C(123456789012)), CS_OK);
	assert_int_equal(cs_db_bind_null(st, 3), CS_OK);
	assert_int_equal(cs_db_step(st), CS_DB_ROW);
	id1 = cs_db_column_int(st, 0);
	assert_true(id1 > 0);
	assert_int_equal(cs_db_step(st), CS_DB_DONE);
	/* Again with other values: reset keeps the statement. */
	assert_int_equal(cs_db_reset(st), CS_OK);
	assert_int_equal(cs_db_bind_text(st, 1, "KOKURITSU TARO"), CS_OK);
	assert_int_equal(cs_db_bind_int(st, 2, -7), CS_OK);
	assert_int_equal(cs_db_bind_text(st, 3, ""), CS_OK);
	assert_int_equal(cs_db_step(st), CS_DB_ROW);
	id2 = cs_db_column_int(st, 0);
	assert_true(id2 > id1);
	cs_db_finalize(st);

	assert_int_equal(cs_db_prepare(db, "SELECT id, name, n, note FROM people "
	    "WHERE n <> ?1 OR ?1 = 0 ORDER BY id", &st), CS_OK);
	assert_int_equal(cs_db_bind_int(st, 1, 0), CS_OK);
	assert_int_equal(cs_db_step(st), CS_DB_ROW);
	assert_int_equal(cs_db_column_count(st), 4);
	assert_string_equal(cs_db_column_name(st, 1), "name");
	assert_int_equal(cs_db_column_int(st, 0), id1);
	assert_string_equal(cs_db_column_text(st, 1), "髙﨑 花子");
	assert_int_equal(cs_db_column_int(st, 2), INT64_C(123456789012));
	assert_string_equal(cs_db_column_text(st, 2), "123456789012");
	assert_true(cs_db_column_null(st, 3));
	assert_null(cs_db_column_text(st, 3));
	assert_int_equal(cs_db_column_int(st, 3), 0);
	assert_int_equal(cs_db_step(st), CS_DB_ROW);
	assert_int_equal(cs_db_column_int(st, 2), -7);
	/* An empty text is not NULL. */
	assert_false(cs_db_column_null(st, 3));
	assert_string_equal(cs_db_column_text(st, 3), "");
	assert_int_equal(cs_db_step(st), CS_DB_DONE);
	cs_db_finalize(st);

	/* A text NULL binds NULL; changes counts the rows. */
	assert_int_equal(cs_db_prepare(db, "UPDATE people SET note = ? WHERE "
	    "id >= ?", &st), CS_OK);
	assert_int_equal(cs_db_bind_text(st, 1, NULL), CS_OK);
	assert_int_equal(cs_db_bind_int(st, 2, id1), CS_OK);
	assert_int_equal(cs_db_step(st), CS_DB_DONE);
	assert_int_equal(cs_db_changes(st), 2);
	cs_db_finalize(st);
	assert_int_equal(cs_db_prepare(db, "SELECT count(*) FROM people WHERE "
	    "CAST(? AS text) IS NULL AND note IS NULL", &st), CS_OK);
	assert_int_equal(cs_db_bind_text(st, 1, NULL), CS_OK);
	assert_int_equal(cs_db_step(st), CS_DB_ROW);
	assert_int_equal(cs_db_column_int(st, 0), 2);
	cs_db_finalize(st);
}

/* The journal's way of binding (jr_prepare's letters) on cs_db. */
static void bound_by_letters(cs_db *db)
{
	cs_db_stmt *st = NULL;

	assert_int_equal(cs_db_run_fmt(db, "INSERT INTO people (name, n, note) "
	    "VALUES (?1, ?2, ?3)", "sns", "by letters", (int64_t)0, "a note"),
	    CS_OK);
	assert_int_equal(cs_db_prepare_fmt(db, &st, "SELECT n, note FROM people "
	    "WHERE name = ?1 AND id > ?2", "si", "by letters", (int64_t)0), CS_OK);
	assert_int_equal(cs_db_step(st), CS_DB_ROW);
	assert_true(cs_db_column_null(st, 0)); /* n: 0 bound as NULL */
	assert_string_equal(cs_db_column_text(st, 1), "a note");
	assert_int_equal(cs_db_step(st), CS_DB_DONE);
	cs_db_finalize(st);
	assert_int_equal(cs_db_prepare_fmt(db, &st, "SELECT ?1", "x", 1),
	    CS_ERR_USAGE);
	assert_null(st);
	assert_int_equal(cs_db_run_fmt(db, "DELETE FROM people WHERE name = ?1",
	    "s", "by letters"), CS_OK);
}

static int insert_name(cs_db *db, const char *name, int64_t n, int64_t ref)
{
	cs_db_stmt *st;
	int r;

	assert_int_equal(cs_db_prepare(db, "INSERT INTO people (name, n, ref) "
	    "VALUES (?, ?, ?)", &st), CS_OK);
	cs_db_bind_text(st, 1, name);
	cs_db_bind_int(st, 2, n);
	if (ref)
		cs_db_bind_int(st, 3, ref);
	else
		cs_db_bind_null(st, 3);
	r = cs_db_step(st);
	cs_db_finalize(st);
	return r;
}

static int64_t count_people(cs_db *db)
{
	cs_db_stmt *st;
	int64_t n;

	assert_int_equal(cs_db_prepare(db, "SELECT count(*) FROM people", &st),
	    CS_OK);
	assert_int_equal(cs_db_step(st), CS_DB_ROW);
	n = cs_db_column_int(st, 0);
	cs_db_finalize(st);
	return n;
}

static void refusals_and_transactions(cs_db *db)
{
	int64_t before = count_people(db);

	/* Unique: the station's MISMATCH. */
	assert_int_equal(insert_name(db, "A", 1, 0), CS_DB_DONE);
	assert_int_equal(insert_name(db, "A", 2, 0), CS_ERR_MISMATCH);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_UNIQUE);
	assert_true(strlen(cs_db_errmsg(db)) > 0);
	/* A reference to a missing row: NOTFOUND. */
	assert_int_equal(insert_name(db, "B", 1, 999999), CS_ERR_NOTFOUND);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_FOREIGN);
	/* A CHECK: USAGE. */
	assert_int_equal(insert_name(db, "C", -100, 0), CS_ERR_USAGE);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_CHECK);
	/* A statement that works clears the last failure. */
	assert_int_equal(insert_name(db, "D", 4, 0), CS_DB_DONE);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_NONE);
	assert_int_equal(count_people(db), before + 2);

	/* Rolled back: gone. Committed: there. */
	assert_int_equal(cs_db_begin(db, CS_DB_TX_WRITE), CS_OK);
	assert_int_equal(insert_name(db, "E", 5, 0), CS_DB_DONE);
	assert_int_equal(count_people(db), before + 3);
	assert_int_equal(cs_db_rollback(db), CS_OK);
	assert_int_equal(count_people(db), before + 2);
	assert_int_equal(cs_db_begin(db, CS_DB_TX_WRITE), CS_OK);
	assert_int_equal(insert_name(db, "E", 5, 0), CS_DB_DONE);
	/* A savepoint undoes one failed step inside the transaction, on both
	 * backends alike. */
	assert_int_equal(cs_db_exec(db, "SAVEPOINT cs_op"), CS_OK);
	assert_int_equal(insert_name(db, "E", 6, 0), CS_ERR_MISMATCH);
	assert_int_equal(cs_db_exec(db, "ROLLBACK TO cs_op"), CS_OK);
	assert_int_equal(cs_db_exec(db, "RELEASE cs_op"), CS_OK);
	assert_int_equal(cs_db_commit(db), CS_OK);
	assert_int_equal(count_people(db), before + 3);
}

#define PEOPLE_DML "CREATE TABLE people (id %s, name TEXT UNIQUE, n %s " \
	"CHECK (n > -50), note TEXT, ref %s REFERENCES people(id))"

static void sqlite_backend(void **state)
{
	char path[64], ddl[256];
	cs_db *db;

	(void)state;
	db = lite_open(path, sizeof(path));
	snprintf(ddl, sizeof(ddl), PEOPLE_DML, "INTEGER PRIMARY KEY", "INTEGER",
	    "INTEGER");
	rows_in_and_out(db, ddl);
	bound_by_letters(db);
	assert_int_equal(cs_db_exec(db, "DELETE FROM people"), CS_OK);
	refusals_and_transactions(db);
	/* A syntax error is the journal's failure, not a refusal. */
	assert_int_equal(cs_db_exec(db, "SELEKT 1"), CS_ERR_DB);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_OTHER);
	cs_db_close(db);

	/* Read-only: writing is refused as a state. */
	assert_int_equal(cs_db_open(&db, path, CS_DB_RDONLY, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(insert_name(db, "G", 8, 0), CS_ERR_STATE);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_READONLY);
	cs_db_close(db);
	lite_remove(path);
	assert_int_equal(cs_db_open(&db, path, CS_DB_RDONLY, why, sizeof(why)),
	    CS_ERR_NOTFOUND);
	assert_null(db);
}

static void pg_backend(void **state)
{
	char ddl[256];
	cs_db *db;

	(void)state;
	db = pg_open("t_backend", true);
	snprintf(ddl, sizeof(ddl), PEOPLE_DML,
	    "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "bigint",
	    "bigint");
	rows_in_and_out(db, ddl);
	bound_by_letters(db);
	assert_int_equal(cs_db_exec(db, "DELETE FROM people"), CS_OK);
	refusals_and_transactions(db);
	assert_int_equal(cs_db_exec(db, "SELEKT 1"), CS_ERR_DB);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_OTHER);
	assert_string_equal(cs_db_sqlstate(db), "42601");
	/* A statement that fails inside a transaction, without a savepoint,
	 * aborts it on PostgreSQL (SQLite would go on): its COMMIT is a
	 * failure saying nothing was kept, not a silent rollback. */
	{
		int64_t n = count_people(db);

		assert_int_equal(cs_db_begin(db, CS_DB_TX_WRITE), CS_OK);
		assert_int_equal(insert_name(db, "H", 9, 0), CS_DB_DONE);
		assert_int_equal(insert_name(db, "H", 10, 0), CS_ERR_MISMATCH);
		assert_int_equal(cs_db_commit(db), CS_ERR_DB);
		assert_non_null(strstr(cs_db_errmsg(db), "rolled all of it back"));
		assert_int_equal(count_people(db), n);
	}
	/* A serialization failure or deadlock: busy, the transaction may be
	 * tried again. */
	assert_int_equal(cs_db_exec(db, "DO $$ BEGIN RAISE EXCEPTION 'x' USING "
	    "ERRCODE = '40001'; END $$"), CS_ERR_DB);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_BUSY);
	assert_int_equal(cs_db_exec(db, "DO $$ BEGIN RAISE EXCEPTION 'x' USING "
	    "ERRCODE = '40P01'; END $$"), CS_ERR_DB);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_BUSY);
	cs_db_close(db);
}

/* --- PostgreSQL only --------------------------------------------------- */

static void pg_password_refused(void **state)
{
	const char *const bad[] = {
		"postgresql://station:s3cret@db.example.ac.jp/cardstation",
		"postgresql:///cardstation?host=/run/postgresql&password=s3cret",
	};
	cs_db *db = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(cs_db_open(&db, bad[i], 0, why, sizeof(why)),
		    CS_ERR_USAGE);
		assert_null(db);
		assert_non_null(strstr(why, "password"));
		assert_non_null(strstr(why, ".pgpass"));
		/* The sentence never repeats the password. */
		assert_null(strstr(why, "s3cret"));
	}
	/* Over TCP, TLS with the server's name verified, or nothing (no
	 * connection is tried: the refusal comes first or the host does
	 * not exist; either way no journal). */
	assert_int_not_equal(cs_db_open(&db, "postgresql://127.0.0.1:1/cs?"
	    "sslmode=disable&connect_timeout=2", 0, why, sizeof(why)), CS_OK);
	assert_null(db);
}

static void pg_lost_connection(void **state)
{
	cs_db *a, *b;
	cs_db_stmt *st;
	char sql[128];
	int64_t pid;

	(void)state;
	a = pg_open("public", false);
	b = pg_open("public", false);
	assert_int_equal(cs_db_prepare(a, "SELECT pg_backend_pid()", &st), CS_OK);
	assert_int_equal(cs_db_step(st), CS_DB_ROW);
	pid = cs_db_column_int(st, 0);
	cs_db_finalize(st);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)",
	    (long long)pid);
	assert_int_equal(cs_db_exec(b, sql), CS_OK);
	/* The server ended a's session: the next statement says lost. */
	assert_int_equal(cs_db_exec(a, "SELECT 1"), CS_ERR_IO);
	assert_int_equal(cs_db_last_fail(a), CS_DB_FAIL_LOST);
	assert_int_equal(cs_db_reconnect(a, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_db_exec(a, "SELECT 1"), CS_OK);
	cs_db_close(a);
	cs_db_close(b);
}

/* A schema of its own holding the journal's tables, as journal init
 * makes them. */
static cs_db *pg_tables(const char *schema)
{
	cs_db *db = pg_open(schema, true);

	for (size_t k = 0; k < cs_db_pg_nmigrations; k++)
		if (cs_db_exec(db, cs_db_pg_migrations[k]) != CS_OK)
			fail_msg("schema: %s", cs_db_errmsg(db));
	return db;
}

static cs_db *pg_journal(const char *schema)
{
	cs_db *db = pg_tables(schema);

	assert_int_equal(cs_db_exec(db, "INSERT INTO runs (created, mode, state) "
	    "VALUES ('2026-04-01T09:00:00.000Z', 'queue', 'open');"
	    "INSERT INTO records (run_id, seq, serial, holder, state) VALUES"
	    " (1, 1, '1001', 'A', 'queued'), (1, 2, '1002', 'B', 'queued'),"
	    " (1, 3, '1003', 'C', 'queued');"
	    "INSERT INTO cards (chip_serial, state, first_seen, last_seen) VALUES"
	    " ('0A0B0C0D', 'blank', 'x', 'x'), ('0A0B0C0E', 'blank', 'x', 'x')"),
	    CS_OK);
	return db;
}

static int issue(cs_db *db, int64_t record, int64_t card, const char *cert)
{
	cs_db_stmt *st;
	int r;

	assert_int_equal(cs_db_prepare(db, "INSERT INTO issuances (record_id, "
	    "card_id, cert_serial, started, outcome) VALUES (?, ?, ?, "
	    "'2026-04-01T09:00:00.000Z', 'writing')", &st), CS_OK);
	cs_db_bind_int(st, 1, record);
	cs_db_bind_int(st, 2, card);
	cs_db_bind_text(st, 3, cert);
	r = cs_db_step(st);
	cs_db_finalize(st);
	return r;
}

static void pg_schema_guards(void **state)
{
	cs_db *db;

	(void)state;
	db = pg_journal("t_schema");
	/* One certificate live on two cards: the database refuses. */
	assert_int_equal(issue(db, 1, 1, "1001"), CS_DB_DONE);
	assert_int_equal(issue(db, 1, 2, "1001"), CS_ERR_MISMATCH);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_UNIQUE);
	assert_non_null(strstr(cs_db_errmsg(db), "issuances_live_cert"));
	/* Once it failed on the first card, the second may take it. */
	assert_int_equal(cs_db_exec(db, "UPDATE issuances SET outcome = "
	    "'failed' WHERE id = 1"), CS_OK);
	assert_int_equal(issue(db, 1, 2, "1001"), CS_DB_DONE);
	/* Serials are digits; states are the known ones. */
	assert_int_equal(issue(db, 2, 1, "12x4"), CS_ERR_USAGE);
	assert_int_equal(cs_db_exec(db, "UPDATE records SET state = 'lost' "
	    "WHERE id = 1"), CS_ERR_USAGE);
	assert_int_equal(cs_db_exec(db, "UPDATE records SET serial = '' "
	    "WHERE id = 1"), CS_ERR_USAGE);
	/* A chip serial once, whatever its hex case (SQLite's NOCASE). */
	assert_int_equal(cs_db_exec(db, "INSERT INTO cards (chip_serial, state, "
	    "first_seen, last_seen) VALUES ('0a0b0c0d', 'blank', 'x', 'x')"),
	    CS_ERR_MISMATCH);
	/* Two live records of a run with one serial; a refused one may. */
	assert_int_equal(cs_db_exec(db, "INSERT INTO records (run_id, seq, "
	    "serial, state) VALUES (1, 4, '1002', 'queued')"), CS_ERR_MISMATCH);
	assert_int_equal(cs_db_exec(db, "INSERT INTO records (run_id, seq, "
	    "serial, state) VALUES (1, 4, '1002', 'refused')"), CS_OK);
	/* A record of a run that does not exist. */
	assert_int_equal(cs_db_exec(db, "INSERT INTO records (run_id, seq, "
	    "state) VALUES (9, 1, 'queued')"), CS_ERR_NOTFOUND);
	cs_db_close(db);
}

static int64_t claim_next(cs_db *db, const char *reader, const char *types)
{
	cs_db_stmt *st;
	int64_t id = 0;
	int r;

	assert_int_equal(cs_db_prepare(db, CS_DB_PG_CLAIM_NEXT, &st), CS_OK);
	cs_db_bind_int(st, 1, 1);
	cs_db_bind_text(st, 2, reader);
	cs_db_bind_null(st, 3);
	cs_db_bind_text(st, 4, types);
	if ((r = cs_db_step(st)) == CS_DB_ROW)
		id = cs_db_column_int(st, 0);
	else
		assert_int_equal(r, CS_DB_DONE);
	cs_db_finalize(st);
	return id;
}

static void pg_claims_skip_locked(void **state)
{
	cs_db *a, *b, *c;

	(void)state;
	a = pg_journal("t_claim");
	b = pg_open("t_claim", false);
	c = pg_open("t_claim", false);
	assert_int_equal(cs_db_exec(a, "UPDATE records SET key_type = "
	    "'ec-prime256v1' WHERE seq = 3"), CS_OK);
	/* a takes the first record and holds it, uncommitted; b does not wait
	 * for it and takes the next; neither can take the other's. */
	assert_int_equal(cs_db_begin(a, CS_DB_TX_WRITE), CS_OK);
	assert_int_equal(cs_db_begin(b, CS_DB_TX_WRITE), CS_OK);
	assert_int_equal(claim_next(a, "Reader A", "rsa-2048"), 1);
	assert_int_equal(claim_next(b, "Reader B", "rsa-2048,ec-prime256v1"), 2);
	/* c's card takes RSA only: record 3 is EC, 1 and 2 are held. */
	assert_int_equal(claim_next(c, "Reader C", "rsa-2048"), 0);
	/* a gives up (rolls back): its record is free again; b commits. */
	assert_int_equal(cs_db_rollback(a), CS_OK);
	assert_int_equal(cs_db_commit(b), CS_OK);
	assert_int_equal(claim_next(c, "Reader C", "rsa-2048"), 1);
	assert_int_equal(claim_next(c, "Reader C", "rsa-2048"), 0);
	assert_int_equal(claim_next(c, "Reader C", NULL), 3);

	/* The chain head: while a writer holds it, another cannot take it
	 * (NOWAIT makes the wait visible without timing it). */
	assert_int_equal(cs_db_begin(a, CS_DB_TX_WRITE), CS_OK);
	assert_int_equal(cs_db_exec(a, CS_DB_PG_CHAIN_LOCK), CS_OK);
	assert_int_equal(cs_db_begin(b, CS_DB_TX_WRITE), CS_OK);
	assert_int_equal(cs_db_exec(b, CS_DB_PG_CHAIN_LOCK " NOWAIT"), CS_ERR_DB);
	assert_int_equal(cs_db_last_fail(b), CS_DB_FAIL_BUSY);
	assert_string_equal(cs_db_sqlstate(b), "55P03");
	assert_int_equal(cs_db_rollback(b), CS_OK);
	assert_int_equal(cs_db_commit(a), CS_OK);
	assert_int_equal(cs_db_begin(b, CS_DB_TX_WRITE), CS_OK);
	assert_int_equal(cs_db_exec(b, CS_DB_PG_CHAIN_LOCK " NOWAIT"), CS_OK);
	assert_int_equal(cs_db_commit(b), CS_OK);
	cs_db_close(a);
	cs_db_close(b);
	cs_db_close(c);
}

/* The copy's table list is the SQLite journal's tables as this version
 * creates them (cs_journal_open on a new file) and the PostgreSQL
 * schema's: the same columns in the same order, integers and texts alike.
 * A migration added on one side only fails here. */
static void schemas_agree_with_the_table_list(void **state)
{
	char path[64];
	cs_journal *j = NULL;
	cs_db *lite, *pgdb;
	cs_db_stmt *st;

	(void)state;
	lite = lite_open(path, sizeof(path));
	cs_db_close(lite);
	unlink(path);
	if (cs_journal_open(&j, path, 0, why, sizeof(why)) != CS_OK)
		fail_msg("journal: %s", why);
	assert_int_equal(cs_journal_version(j), CS_DB_PG_VERSION);
	cs_journal_close(j);
	assert_int_equal(cs_db_open(&lite, path, CS_DB_RDONLY, why, sizeof(why)),
	    CS_OK);
	pgdb = pg_tables("t_parity");
	for (size_t t = 0; t < cs_db_ntables; t++) {
		const struct cs_db_table *tb = &cs_db_tables[t];
		int i = 0;

		assert_int_equal(cs_db_prepare(lite, "SELECT name, type FROM "
		    "pragma_table_info(?) ORDER BY cid", &st), CS_OK);
		cs_db_bind_text(st, 1, tb->name);
		for (i = 0; cs_db_step(st) == CS_DB_ROW; i++) {
			assert_non_null(tb->cols[i]);
			assert_string_equal(cs_db_column_text(st, 0), tb->cols[i]);
			assert_string_equal(cs_db_column_text(st, 1),
			    tb->kinds[i] == 'i' ? "INTEGER" : "TEXT");
		}
		assert_null(tb->cols[i]);
		cs_db_finalize(st);
		assert_int_equal(cs_db_prepare(pgdb, "SELECT column_name, data_type "
		    "FROM information_schema.columns WHERE table_schema = "
		    "current_schema() AND table_name = ? ORDER BY ordinal_position",
		    &st), CS_OK);
		cs_db_bind_text(st, 1, tb->name);
		for (i = 0; cs_db_step(st) == CS_DB_ROW; i++) {
			assert_non_null(tb->cols[i]);
			assert_string_equal(cs_db_column_text(st, 0), tb->cols[i]);
			assert_string_equal(cs_db_column_text(st, 1),
			    tb->kinds[i] == 'i' ? "bigint" : "text");
		}
		assert_null(tb->cols[i]);
		cs_db_finalize(st);
	}
	cs_db_close(lite);
	cs_db_close(pgdb);
	lite_remove(path);
}

/* `log check` compares a PostgreSQL journal's schema with the lines this
 * version's schema gives (cs_db_pg_schema_lines): they must be what a
 * fresh journal init makes, line for line. */
static void pg_schema_lines_are_a_fresh_schema(void **state)
{
	cs_db *db = pg_tables("t_lines");
	cs_db_stmt *st;
	size_t n = 0;

	(void)state;
	assert_int_equal(cs_db_prepare(db, CS_DB_PG_SCHEMA_SQL, &st), CS_OK);
	for (; cs_db_step(st) == CS_DB_ROW; n++) {
		if (n >= cs_db_pg_nschema_lines)
			fail_msg("a line more: %s", cs_db_column_text(st, 0));
		if (strcmp(cs_db_column_text(st, 0), cs_db_pg_schema_lines[n]) != 0)
			fail_msg("line %zu is\n  %s\nnot\n  %s", n,
			    cs_db_column_text(st, 0), cs_db_pg_schema_lines[n]);
	}
	assert_int_equal(n, cs_db_pg_nschema_lines);
	cs_db_finalize(st);
	cs_db_close(db);
}

/* Event details made in C (for PostgreSQL) are SQLite's json_object()
 * text byte for byte: every control byte, quotes, backslashes, UTF-8
 * (𠮷 needs four bytes), DEL, empty, NULL, integers of any sign. The
 * same rows read back from PostgreSQL give the same text. */
static void json_as_sqlite_writes_it(void **state)
{
	static const char *const cols[] = {"id", "v", "n", NULL};
	char path[64], all[128], *mine;
	const char *texts[] = {all, "", "\"quoted\" \\ back/slash",
		"髙﨑 花子 𠮷田 〜−‖ ①", "\x7f tab\there\r\n", "\x01\x1f\x0b", NULL};
	cs_db *lite, *pgdb;
	cs_db_stmt *st, *ins;
	int64_t nums[] = {0, -1, INT64_C(9223372036854775807), 42, 7, -99, 5};
	int rows = 0;

	(void)state;
	for (int c = 1; c < 128; c++)
		all[c - 1] = (char)c;
	all[127] = '\0';
	lite = lite_open(path, sizeof(path));
	pgdb = pg_open("t_json", true);
	assert_int_equal(cs_db_exec(lite, "CREATE TABLE j (id INTEGER PRIMARY "
	    "KEY, v TEXT, n INTEGER)"), CS_OK);
	assert_int_equal(cs_db_exec(pgdb, "CREATE TABLE j (id bigint PRIMARY "
	    "KEY, v text, n bigint)"), CS_OK);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		for (int k = 0; k < 2; k++) {
			cs_db *db = k ? pgdb : lite;

			assert_int_equal(cs_db_prepare(db, "INSERT INTO j VALUES "
			    "(?, ?, ?)", &ins), CS_OK);
			cs_db_bind_int(ins, 1, (int64_t)i + 1);
			cs_db_bind_text(ins, 2, texts[i]);
			if (i == 6)
				cs_db_bind_null(ins, 3);
			else
				cs_db_bind_int(ins, 3, nums[i]);
			assert_int_equal(cs_db_step(ins), CS_DB_DONE);
			cs_db_finalize(ins);
		}
	assert_int_equal(cs_db_prepare(lite, "SELECT id, v, n, json_object('id', "
	    "id, 'v', v, 'n', n), json_quote(v) FROM j ORDER BY id", &st), CS_OK);
	assert_int_equal(cs_db_prepare(pgdb, "SELECT id, v, n FROM j ORDER BY id",
	    &ins), CS_OK);
	while (cs_db_step(st) == CS_DB_ROW) {
		const char *want = cs_db_column_text(st, 3);

		assert_int_equal(cs_db_json_row(st, cols, "iti", &mine), CS_OK);
		if (strcmp(mine, want) != 0)
			fail_msg("row %lld:\n  sqlite %s\n  mine   %s",
			    (long long)cs_db_column_int(st, 0), want, mine);
		free(mine);
		assert_non_null(mine = cs_db_json_string(cs_db_column_text(st, 1)));
		assert_string_equal(mine, cs_db_column_text(st, 4));
		free(mine);
		/* The same row from PostgreSQL. */
		assert_int_equal(cs_db_step(ins), CS_DB_ROW);
		assert_int_equal(cs_db_json_row(ins, cols, "iti", &mine), CS_OK);
		assert_string_equal(mine, want);
		free(mine);
		rows++;
	}
	assert_int_equal(rows, 7);
	assert_non_null(mine = cs_db_json_string(NULL));
	assert_string_equal(mine, "null");
	free(mine);
	cs_db_finalize(st);
	cs_db_finalize(ins);
	cs_db_close(lite);
	cs_db_close(pgdb);
	lite_remove(path);
}

/* The doctor's check of a journal on PostgreSQL, finding by finding. */
static const cs_finding *finding(const cs_findings *fs, const char *part)
{
	for (size_t i = 0; i < fs->n; i++)
		if (strstr(fs->f[i].what, part) != NULL)
			return &fs->f[i];
	for (size_t i = 0; i < fs->n; i++)
		print_message("  %s: %s\n", cs_severity_name(fs->f[i].sev),
		    fs->f[i].what);
	fail_msg("no finding says '%s'", part);
	return NULL;
}

static void doctor_journal_server(void **state)
{
	cs_findings fs = {0};
	char uri[1024];
	cs_db *db;

	(void)state;
	/* A SQLite journal: nothing to say. */
	cs_doctor_check_journal_server(&fs, "/var/lib/cardstation/journal.db");
	assert_int_equal(fs.n, 0);
	/* A database without the journal: the server answers, the schema is
	 * missing, the clocks (one machine) agree. */
	db = pg_open("public", false);
	assert_int_equal(cs_db_exec(db, "DROP TABLE IF EXISTS schema_version"),
	    CS_OK);
	cs_doctor_check_journal_server(&fs, pg_uri());
	assert_int_equal(finding(&fs, "answers (PostgreSQL 15")->sev, CS_SEV_OK);
	assert_int_equal(finding(&fs, "holds no journal")->sev, CS_SEV_FAIL);
	assert_non_null(strstr(finding(&fs, "holds no journal")->todo,
	    "journal init"));
	assert_int_equal(finding(&fs, "clocks agree")->sev, CS_SEV_OK);
	cs_findings_free(&fs);
	memset(&fs, 0, sizeof(fs));
	/* This version's schema; then one from a newer cardstation. */
	assert_int_equal(cs_db_exec(db, "CREATE TABLE schema_version (version "
	    "bigint PRIMARY KEY, applied text NOT NULL); INSERT INTO "
	    "schema_version VALUES (3, 'x')"), CS_OK);
	cs_doctor_check_journal_server(&fs, pg_uri());
	assert_int_equal(finding(&fs, "schema version 3")->sev, CS_SEV_OK);
	assert_int_equal(cs_findings_worst(&fs), CS_SEV_OK);
	cs_findings_free(&fs);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(cs_db_exec(db, "INSERT INTO schema_version VALUES "
	    "(4, 'x')"), CS_OK);
	cs_doctor_check_journal_server(&fs, pg_uri());
	assert_int_equal(finding(&fs, "schema version 4")->sev, CS_SEV_FAIL);
	cs_findings_free(&fs);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(cs_db_exec(db, "DROP TABLE schema_version"), CS_OK);
	cs_db_close(db);
	/* No server there: one failure saying so, nothing else tried. */
	snprintf(uri, sizeof(uri), "postgresql:///nothing?host=/nonexistent");
	cs_doctor_check_journal_server(&fs, uri);
	assert_int_equal(fs.n, 1);
	assert_int_equal(fs.f[0].sev, CS_SEV_FAIL);
	assert_non_null(strstr(fs.f[0].what, "cannot connect"));
	cs_findings_free(&fs);
}

/* --- the journal itself, on both ----------------------------------------- */

/* A journal on the server in a schema of its own (search_path), for
 * cs_journal_open: its URI. */
static const char *pg_journal_uri(const char *schema, char *uri, size_t n)
{
	cs_db *db = pg_tables(schema);

	snprintf(uri, n, "INSERT INTO schema_version VALUES (%d, 'now')",
	    CS_DB_PG_VERSION);
	assert_int_equal(cs_db_exec(db, uri), CS_OK);
	cs_db_close(db);
	snprintf(uri, n, "%s&options=-csearch_path%%3D%s", pg_uri(), schema);
	return uri;
}

static int64_t count_findings;

static void on_finding(void *ctx, const cs_jfinding *f)
{
	(void)ctx;
	(void)f;
	count_findings++;
}

static void note(cs_journal *j, const char *kind)
{
	assert_int_equal(jr_event(j, kind, NULL, 0, 0, 0, 0, kind), CS_OK);
}

/* A write transaction keeps the chain's last event (taken with the lock,
 * moved by its own events) instead of reading it per event: events undone
 * by a failed nested call, a transaction rolled back and another
 * connection's events in between must all leave one unbroken chain. */
static void chain_head_kept_per_transaction(const char *path)
{
	cs_journal *a = NULL, *b = NULL;
	cs_jcheck ck;

	if (cs_journal_open(&a, path, 0, why, sizeof(why)) != CS_OK ||
	    cs_journal_open(&b, path, 0, why, sizeof(why)) != CS_OK)
		fail_msg("journal %s: %s", path, why);
	/* 1, a nested call's 2 undone, then 2 again. */
	assert_int_equal(jr_tx_enter(a, why, sizeof(why)), CS_OK);
	note(a, "t.one");
	assert_int_equal(jr_tx_enter(a, why, sizeof(why)), CS_OK);
	note(a, "t.undone");
	assert_int_equal(jr_tx_enter(a, why, sizeof(why)), CS_OK);
	note(a, "t.undone-deeper");
	assert_int_equal(jr_tx_leave(a, CS_OK, why, sizeof(why)), CS_OK);
	assert_int_equal(jr_tx_leave(a, CS_ERR_STATE, why, sizeof(why)),
	    CS_ERR_STATE);
	assert_int_equal(jr_tx_enter(a, why, sizeof(why)), CS_OK);
	note(a, "t.two");
	assert_int_equal(jr_tx_leave(a, CS_OK, why, sizeof(why)), CS_OK);
	note(a, "t.three");
	/* A check inside the transaction sees its events and its head. */
	count_findings = 0;
	assert_int_equal(cs_journal_check(a, on_finding, NULL, &ck, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(ck.events, 3);
	assert_int_equal(ck.findings, 0);
	assert_int_equal(jr_tx_leave(a, CS_OK, why, sizeof(why)), CS_OK);
	/* The other connection's 4; a's rolled back transaction; a's 5. */
	assert_int_equal(jr_tx_enter(b, why, sizeof(why)), CS_OK);
	note(b, "t.four");
	assert_int_equal(jr_tx_leave(b, CS_OK, why, sizeof(why)), CS_OK);
	assert_int_equal(jr_tx_enter(a, why, sizeof(why)), CS_OK);
	note(a, "t.rolled-back");
	assert_int_equal(jr_tx_leave(a, CS_ERR_STATE, why, sizeof(why)),
	    CS_ERR_STATE);
	assert_int_equal(jr_tx_enter(a, why, sizeof(why)), CS_OK);
	note(a, "t.five");
	assert_int_equal(jr_tx_leave(a, CS_OK, why, sizeof(why)), CS_OK);
	count_findings = 0;
	assert_int_equal(cs_journal_check(b, on_finding, NULL, &ck, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(ck.events, 5);
	assert_int_equal(ck.findings, 0);
	assert_int_equal(count_findings, 0);
	cs_journal_close(a);
	cs_journal_close(b);
}

static void chain_head_on_both(void **state)
{
	char path[64], uri[1200];
	cs_db *db;

	(void)state;
	db = lite_open(path, sizeof(path));
	cs_db_close(db);
	unlink(path);
	chain_head_kept_per_transaction(path);
	lite_remove(path);
	chain_head_kept_per_transaction(pg_journal_uri("t_chain", uri, sizeof(uri)));
}

/* Two PCs cloned from one image share a host name; the other one's live
 * station has another boot id, which on this host alone would mean a
 * process of an earlier boot, gone. On the server its connection's owner
 * lock says it lives: its claims are not taken back until its session
 * ends. */
static void pg_owner_on_a_clone(void **state)
{
	cs_journal *a = NULL, *b = NULL;
	cs_owner self;
	char uri[1200], sql[128];
	int64_t id;

	(void)state;
	pg_journal_uri("t_owner", uri, sizeof(uri));
	if (cs_journal_open(&a, uri, 0, why, sizeof(why)) != CS_OK ||
	    cs_journal_open(&b, uri, 0, why, sizeof(why)) != CS_OK)
		fail_msg("journal: %s", why);
	assert_int_equal(cs_journal_owner_start(a, "Clone Reader 00 00", why,
	    sizeof(why)), CS_OK);
	id = a->owner_id;
	assert_true(id > 0);
	/* The same station seen from the other PC: another boot. */
	snprintf(sql, sizeof(sql), "UPDATE owners SET boot_id = 'the-clone' "
	    "WHERE id = %" PRId64, id);
	assert_int_equal(jr_run(b, sql, ""), CS_OK);
	assert_int_equal(cs_owner_self(&self), CS_OK);
	assert_int_equal(jr_owner_life(b, &self, id), CS_OWNER_UNKNOWN);
	/* Its reader stays its own too. */
	assert_int_equal(cs_journal_owner_start(b, "Clone Reader 00 00", why,
	    sizeof(why)), CS_ERR_STATE);
	assert_non_null(strstr(why, "in use by another station process"));
	/* Its session gone (the PC off): gone, and its reader free. */
	cs_journal_close(a);
	assert_int_equal(jr_owner_life(b, &self, id), CS_OWNER_GONE);
	assert_int_equal(cs_journal_owner_start(b, "Clone Reader 00 00", why,
	    sizeof(why)), CS_OK);
	cs_journal_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(placeholders_become_dollars),
		cmocka_unit_test(which_backend),
		cmocka_unit_test(tables_have_a_kind_per_column),
		cmocka_unit_test(sqlite_backend),
		cmocka_unit_test(pg_backend),
		cmocka_unit_test(pg_password_refused),
		cmocka_unit_test(pg_lost_connection),
		cmocka_unit_test(pg_schema_guards),
		cmocka_unit_test(schemas_agree_with_the_table_list),
		cmocka_unit_test(pg_schema_lines_are_a_fresh_schema),
		cmocka_unit_test(pg_claims_skip_locked),
		cmocka_unit_test(doctor_journal_server),
		cmocka_unit_test(json_as_sqlite_writes_it),
		cmocka_unit_test(chain_head_on_both),
		cmocka_unit_test(pg_owner_on_a_clone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
