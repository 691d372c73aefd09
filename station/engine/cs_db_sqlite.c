/* cs_db_sqlite.c - the database layer on an SQLite file: the station's
 * embedded default. Settings as the journal has always had them (WAL,
 * synchronous=FULL, foreign keys, a 30 s busy timeout; docs/journal.md). */
#include "cs_db.h"
#include "cs_db_int.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 30000

struct lite_stmt {
	struct cs_db_stmt base;
	sqlite3_stmt *s;
	int64_t changes;
};

#define DB(d) ((sqlite3 *)(d)->h)
#define ST(st) ((struct lite_stmt *)(st))

static cs_db_fail kind_of(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return CS_DB_FAIL_UNIQUE;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return CS_DB_FAIL_FOREIGN;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
		return CS_DB_FAIL_CHECK;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return CS_DB_FAIL_BUSY;
	case SQLITE_READONLY:
		return CS_DB_FAIL_READONLY;
	case SQLITE_CONSTRAINT:
		return CS_DB_FAIL_CHECK;
	}
	return CS_DB_FAIL_OTHER;
}

/* Note rc as the connection's last failure; its cs_err. */
static int failed(cs_db *db, int rc)
{
	cs_db_fail kind = kind_of(rc);

	db_failed(db, kind, NULL, "%s", DB(db) ? sqlite3_errmsg(DB(db)) :
	    sqlite3_errstr(rc));
	if (kind != CS_DB_FAIL_OTHER)
		return db_err_of(kind);
	if (rc == SQLITE_NOMEM)
		return CS_ERR_NOMEM;
	if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN ||
	    (rc & 0xff) == SQLITE_FULL)
		return CS_ERR_IO;
	return CS_ERR_DB;
}

static int lite_exec(cs_db *db, const char *sql)
{
	int rc = sqlite3_exec(DB(db), sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return failed(db, rc);
	db_ok(db);
	return CS_OK;
}

static int lite_prepare(cs_db *db, const char *sql, cs_db_stmt **out)
{
	struct lite_stmt *st;
	int rc;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return CS_ERR_NOMEM;
	st->base.db = db;
	if ((rc = sqlite3_prepare_v2(DB(db), sql, -1, &st->s, NULL)) != SQLITE_OK) {
		free(st);
		return failed(db, rc);
	}
	*out = &st->base;
	return CS_OK;
}

static int bound(cs_db_stmt *st, int rc)
{
	return rc == SQLITE_OK ? CS_OK : failed(st->db, rc);
}

static int lite_bind_text(cs_db_stmt *st, int i, const char *v)
{
	return bound(st, v ? sqlite3_bind_text(ST(st)->s, i, v, -1,
	    SQLITE_TRANSIENT) : sqlite3_bind_null(ST(st)->s, i));
}

static int lite_bind_int(cs_db_stmt *st, int i, int64_t v)
{
	return bound(st, sqlite3_bind_int64(ST(st)->s, i, v));
}

static int lite_bind_null(cs_db_stmt *st, int i)
{
	return bound(st, sqlite3_bind_null(ST(st)->s, i));
}

static int lite_step(cs_db_stmt *st)
{
	int rc = sqlite3_step(ST(st)->s);

	if (rc == SQLITE_ROW)
		return CS_DB_ROW;
	if (rc == SQLITE_DONE) {
		ST(st)->changes = sqlite3_changes64(DB(st->db));
		db_ok(st->db);
		return CS_DB_DONE;
	}
	return failed(st->db, rc);
}

static int lite_reset(cs_db_stmt *st)
{
	sqlite3_reset(ST(st)->s);
	return CS_OK;
}

static int64_t lite_changes(cs_db_stmt *st)
{
	return ST(st)->changes;
}

static int lite_column_count(cs_db_stmt *st)
{
	return sqlite3_column_count(ST(st)->s);
}

static const char *lite_column_name(cs_db_stmt *st, int i)
{
	return sqlite3_column_name(ST(st)->s, i);
}

static bool lite_column_null(cs_db_stmt *st, int i)
{
	return sqlite3_column_type(ST(st)->s, i) == SQLITE_NULL;
}

static const char *lite_column_text(cs_db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(ST(st)->s, i);
}

static int64_t lite_column_int(cs_db_stmt *st, int i)
{
	return sqlite3_column_int64(ST(st)->s, i);
}

static void lite_finalize(cs_db_stmt *st)
{
	sqlite3_finalize(ST(st)->s);
	free(st);
}

static int lite_begin(cs_db *db, cs_db_tx mode)
{
	return lite_exec(db, mode == CS_DB_TX_WRITE ? "BEGIN IMMEDIATE" : "BEGIN");
}

static int lite_reconnect(cs_db *db, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	db_ok(db);
	return CS_OK;
}

static void lite_close(cs_db *db)
{
	sqlite3_close(DB(db));
	db->h = NULL;
}

static const struct db_ops LITE = {
	lite_exec, lite_prepare, lite_bind_text, lite_bind_int, lite_bind_null,
	lite_step, lite_reset, lite_changes, lite_column_count,
	lite_column_name, lite_column_null, lite_column_text, lite_column_int,
	lite_finalize, lite_begin, lite_reconnect, lite_close,
};

int db_sqlite_open(cs_db *db, const char *path, int flags, char *why,
    size_t whylen)
{
	sqlite3 *h = NULL;
	int rc, oflags;

	if (strcmp(path, ":memory:") == 0)
		; /* a scratch database: no file */
	else if ((flags & CS_DB_CREATE) && !(flags & CS_DB_RDONLY)) {
		/* 0600 before SQLite creates it with the umask's mode: the
		 * journal names every holder. */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0) {
			snprintf(why, why ? whylen : 0, _("cannot create the journal "
			    "%s: %s"), path, strerror(errno));
			return CS_ERR_IO;
		}
		close(fd);
	} else if (access(path, flags & CS_DB_RDONLY ? R_OK : R_OK | W_OK) != 0) {
		snprintf(why, why ? whylen : 0, _("no journal at %s: %s"), path,
		    strerror(errno));
		return errno == ENOENT ? CS_ERR_NOTFOUND : CS_ERR_IO;
	}
	oflags = (flags & CS_DB_RDONLY ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
	rc = sqlite3_open_v2(path, &h, oflags, NULL);
	db->h = h;
	db->ops = &LITE;
	if (rc != SQLITE_OK)
		return cs_db_why(db, failed(db, rc), why, whylen, path);
	sqlite3_extended_result_codes(h, 1);
	sqlite3_busy_timeout(h, BUSY_TIMEOUT_MS);
	if (!(flags & CS_DB_RDONLY) && (rc = sqlite3_exec(h,
	    "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) != SQLITE_OK)
		return cs_db_why(db, failed(db, rc), why, whylen, path);
	if ((rc = sqlite3_exec(h, "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;", NULL, NULL, NULL)) != SQLITE_OK)
		return cs_db_why(db, failed(db, rc), why, whylen, path);
	db_ok(db);
	return CS_OK;
}
