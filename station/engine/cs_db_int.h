/* cs_db_int.h - what cs_db.c shares with its two backends; not for
 * callers. */
#ifndef CS_DB_INT_H
#define CS_DB_INT_H

#include "cs_db.h"

#include <stdarg.h>

/* One backend's functions; cs_db.c dispatches to them. */
struct db_ops {
	int (*exec)(cs_db *db, const char *sql);
	int (*prepare)(cs_db *db, const char *sql, cs_db_stmt **out);
	int (*bind_text)(cs_db_stmt *st, int i, const char *v);
	int (*bind_int)(cs_db_stmt *st, int i, int64_t v);
	int (*bind_null)(cs_db_stmt *st, int i);
	int (*step)(cs_db_stmt *st);
	int (*reset)(cs_db_stmt *st);
	int64_t (*changes)(cs_db_stmt *st);
	int (*column_count)(cs_db_stmt *st);
	const char *(*column_name)(cs_db_stmt *st, int i);
	bool (*column_null)(cs_db_stmt *st, int i);
	const char *(*column_text)(cs_db_stmt *st, int i);
	int64_t (*column_int)(cs_db_stmt *st, int i);
	void (*finalize)(cs_db_stmt *st);
	int (*begin)(cs_db *db, cs_db_tx mode);
	int (*reconnect)(cs_db *db, char *why, size_t whylen);
	void (*close)(cs_db *db);
};

#define DB_MSG_LEN 512

struct cs_db {
	const struct db_ops *ops;
	cs_db_backend backend;
	char *target;
	bool rdonly;
	void *h;                  /* sqlite3 * or PGconn * */
	cs_db_fail fail;
	char sqlstate[6];
	char msg[DB_MSG_LEN];
};

/* Each backend's statement starts with this. */
struct cs_db_stmt {
	cs_db *db;
};

/* Note the last failure: kind, SQLSTATE (or NULL) and message. */
void db_failed(cs_db *db, cs_db_fail kind, const char *sqlstate,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void db_ok(cs_db *db);
/* The cs_err of a kind of failure. */
int db_err_of(cs_db_fail kind);

int db_sqlite_open(cs_db *db, const char *path, int flags, char *why,
    size_t whylen);
/* A NULL parameter of type bigint (the 'n' letter's 0). */
int db_pg_bind_null_int(cs_db_stmt *st, int i);
int db_pg_open(cs_db *db, const char *uri, int flags, char *why,
    size_t whylen);

#endif
