/* cs_db.h - one way to talk to the journal's database, SQLite or
 * PostgreSQL.
 *
 * The target is what --journal (or $CARDSTATION_JOURNAL) names: a path is a
 * SQLite file; a libpq URI (postgresql://..., postgres://...) is a
 * PostgreSQL database, e.g.
 *   postgresql:///cardstation?host=/run/postgresql     (Unix socket, peer)
 *   postgresql://db.example.ac.jp/cardstation?sslmode=verify-full
 *
 * Credentials come only in libpq's own ways: ~/.pgpass or $PGPASSFILE,
 * peer authentication on the Unix socket, a client certificate with
 * sslmode=verify-full. A URI that carries a password is refused (it would
 * sit in argv, in ps and in shell histories), and so is a TCP connection
 * without sslmode=verify-full (the journal names every holder).
 *
 * SQL is written once for both: `?` and `?N` placeholders (numbered from
 * 1, as SQLite numbers them); for PostgreSQL they become $N. New rows'
 * ids come back with INSERT ... RETURNING id (SQLite 3.35 and later has
 * it too): there is no last-insert-rowid. Columns are read as text or as
 * a 64-bit integer; PostgreSQL sends every value as text, so a query that
 * must read the same on both returns no booleans (use CASE ... THEN 1
 * ELSE 0) and no floating point.
 *
 * A bound integer is a bigint (int8) on PostgreSQL and a bound text is
 * text; a NULL bound with cs_db_bind_null has no type, which INSERT and
 * comparisons with a column resolve; `? IS NULL` on its own needs a type:
 * bind it as text (cs_db_bind_text(st, i, NULL)) or cast it.
 *
 * Transactions: cs_db_begin(CS_DB_TX_WRITE) is SQLite's BEGIN IMMEDIATE
 * (the write lock first) and PostgreSQL's READ COMMITTED; the journal
 * serialises its writers on PostgreSQL with a row lock of its own (the
 * chain head, docs/postgresql.md), taken right after. CS_DB_TX_READ is
 * one consistent snapshot: SQLite's BEGIN, PostgreSQL's REPEATABLE READ
 * READ ONLY. SAVEPOINT, ROLLBACK TO and RELEASE are the same SQL on both
 * (cs_db_exec). On PostgreSQL a statement that fails aborts the whole
 * transaction (SQLite goes on): wrap a step that may fail in a savepoint
 * and roll back to it; cs_db_commit of an aborted transaction fails
 * (CS_ERR_DB) instead of PostgreSQL's silent rollback.
 *
 * Failures return a cs_err; cs_db_fail() says which kind, so that a caller
 * can retry (busy), pause and reconnect (lost) or name the refused row
 * (constraint); cs_db_errmsg() has the database's own words.
 *
 * Threads: a cs_db is one connection and belongs to one thread at a time.
 * Secrets: nothing here ever logs or copies a connection string's
 * password, because none is accepted. */
#ifndef CS_DB_H
#define CS_DB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cs_db cs_db;
typedef struct cs_db_stmt cs_db_stmt;

typedef enum cs_db_backend { CS_DB_SQLITE, CS_DB_PG } cs_db_backend;

/* The kind of the last failure on a connection. */
typedef enum cs_db_fail {
	CS_DB_FAIL_NONE = 0,
	CS_DB_FAIL_UNIQUE,     /* unique or primary key: CS_ERR_MISMATCH */
	CS_DB_FAIL_FOREIGN,    /* a reference to a missing row: CS_ERR_NOTFOUND */
	CS_DB_FAIL_CHECK,      /* CHECK or NOT NULL refused it: CS_ERR_USAGE */
	CS_DB_FAIL_BUSY,       /* locked, serialization failure (40001) or
	                          deadlock (40P01): CS_ERR_DB; the whole
	                          transaction may be tried again */
	CS_DB_FAIL_LOST,       /* the connection is gone (server stopped,
	                          network): CS_ERR_IO; cs_db_reconnect() */
	CS_DB_FAIL_READONLY,   /* CS_ERR_STATE */
	CS_DB_FAIL_OTHER       /* CS_ERR_DB, CS_ERR_IO, CS_ERR_NOMEM ... */
} cs_db_fail;

enum {
	CS_DB_RDONLY = 1 << 0, /* SQLite: open read-only; PostgreSQL: every
	                          transaction READ ONLY */
	CS_DB_CREATE = 1 << 1, /* SQLite: create a missing file, 0600 */
};

/* cs_db_step's answers besides a negative cs_err. */
enum { CS_DB_DONE = 0, CS_DB_ROW = 1 };

typedef enum cs_db_tx { CS_DB_TX_READ, CS_DB_TX_WRITE } cs_db_tx;

/* Whether target names a PostgreSQL database (a libpq URI). */
bool cs_db_is_uri(const char *target);

/* Open target (a path or a URI). why says what went wrong, for the
 * operator, never with a password. */
int cs_db_open(cs_db **out, const char *target, int flags, char *why,
    size_t whylen);
void cs_db_close(cs_db *db);
cs_db_backend cs_db_backend_of(const cs_db *db);
/* The target as given, for messages (a URI has no password: it would have
 * been refused). */
const char *cs_db_target(const cs_db *db);

/* After a failure: its kind, the database's message, and PostgreSQL's
 * SQLSTATE ("" for SQLite). */
cs_db_fail cs_db_last_fail(const cs_db *db);
const char *cs_db_errmsg(const cs_db *db);
const char *cs_db_sqlstate(const cs_db *db);
/* "journal: DOING: the database's message" into why; returns r. */
int cs_db_why(const cs_db *db, int r, char *why, size_t whylen,
    const char *doing);

/* Run sql, one or more statements without parameters or rows. */
int cs_db_exec(cs_db *db, const char *sql);

int cs_db_prepare(cs_db *db, const char *sql, cs_db_stmt **out);
/* Prepare sql and bind the arguments fmt lists, one letter each, as the
 * journal's jr_prepare does: i int64_t, n int64_t where 0 binds NULL, s
 * const char * (NULL binds NULL; n's NULL is a bigint on PostgreSQL, s's
 * a text, so either may stand alone in `? IS NULL`). fmt may be NULL
 * (nothing to bind). On failure *out is NULL. */
int cs_db_prepare_fmt(cs_db *db, cs_db_stmt **out, const char *sql,
    const char *fmt, ...);
/* The binding of cs_db_prepare_fmt, on a prepared statement. */
int cs_db_bind_va(cs_db_stmt *st, const char *fmt, va_list ap);
/* The same, stepped until done and finalized: CS_OK when it ran. */
int cs_db_run_fmt(cs_db *db, const char *sql, const char *fmt, ...);

/* Parameters are numbered from 1. Text NULL binds NULL (typed text). */
int cs_db_bind_text(cs_db_stmt *st, int i, const char *v);
int cs_db_bind_int(cs_db_stmt *st, int i, int64_t v);
int cs_db_bind_null(cs_db_stmt *st, int i);
/* CS_DB_ROW with a row to read, CS_DB_DONE at the end, or a cs_err. */
int cs_db_step(cs_db_stmt *st);
/* Ready to run again; the bindings stay. */
int cs_db_reset(cs_db_stmt *st);
/* Rows the statement's last run inserted, updated or deleted. */
int64_t cs_db_changes(cs_db_stmt *st);
int cs_db_column_count(cs_db_stmt *st);
const char *cs_db_column_name(cs_db_stmt *st, int i);
bool cs_db_column_null(cs_db_stmt *st, int i);
/* NULL for NULL; valid until the next step, reset or finalize. */
const char *cs_db_column_text(cs_db_stmt *st, int i);
/* 0 for NULL. */
int64_t cs_db_column_int(cs_db_stmt *st, int i);
void cs_db_finalize(cs_db_stmt *st);

int cs_db_begin(cs_db *db, cs_db_tx mode);
int cs_db_commit(cs_db *db);
int cs_db_rollback(cs_db *db);

/* PostgreSQL: connect again after CS_DB_FAIL_LOST (an open transaction
 * is gone with the old connection; statements prepared on it must be
 * prepared again). SQLite: nothing to do. */
int cs_db_reconnect(cs_db *db, char *why, size_t whylen);

/* JSON text exactly as SQLite's json_object() and json_quote() write it
 * (cs_db_json.c), so that an event detail made on PostgreSQL is the same
 * bytes as one made on SQLite. cs_db_json_row: an object of the current
 * row of st, columns named cols (NULL-terminated) of kinds ('i' integer,
 * 't' text), in that order; cs_db_json_string: one string (NULL: null).
 * The caller frees the text. */
int cs_db_json_row(cs_db_stmt *st, const char *const *cols,
    const char *kinds, char **out);
char *cs_db_json_string(const char *s);

/* Placeholders ? and ?N outside literals, quoted names and comments
 * become $N (a bare ? takes the highest number so far plus one, as in
 * SQLite). *nparams gets the highest number. CS_ERR_LIMIT if out is too
 * small, CS_ERR_USAGE for a ?N out of range or a $N already there. */
int cs_db_pg_sql(const char *sql, char *out, size_t outlen, int *nparams);

#endif
