/* cs_db.c - the database layer's common part: which backend a target
 * names, placeholders for PostgreSQL, failures, and dispatch to the
 * backend (cs_db_sqlite.c, cs_db_pg.c). */
#include "cs_db.h"
#include "cs_db_int.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cs_db_is_uri(const char *target)
{
	return target != NULL && (strncasecmp(target, "postgresql://", 13) == 0 ||
	    strncasecmp(target, "postgres://", 11) == 0);
}

void db_ok(cs_db *db)
{
	db->fail = CS_DB_FAIL_NONE;
	db->sqlstate[0] = '\0';
	db->msg[0] = '\0';
}

void db_failed(cs_db *db, cs_db_fail kind, const char *sqlstate,
    const char *fmt, ...)
{
	va_list ap;
	size_t n;

	db->fail = kind;
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s",
	    sqlstate ? sqlstate : "");
	va_start(ap, fmt);
	vsnprintf(db->msg, sizeof(db->msg), fmt, ap);
	va_end(ap);
	/* libpq ends its messages with a newline (or two lines: ERROR and
	 * DETAIL): one line for the operator. */
	n = strlen(db->msg);
	while (n > 0 && (db->msg[n - 1] == '\n' || db->msg[n - 1] == ' '))
		db->msg[--n] = '\0';
	for (char *p = db->msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

int db_err_of(cs_db_fail kind)
{
	switch (kind) {
	case CS_DB_FAIL_NONE: return CS_OK;
	case CS_DB_FAIL_UNIQUE: return CS_ERR_MISMATCH;
	case CS_DB_FAIL_FOREIGN: return CS_ERR_NOTFOUND;
	case CS_DB_FAIL_CHECK: return CS_ERR_USAGE;
	case CS_DB_FAIL_BUSY: return CS_ERR_DB;
	case CS_DB_FAIL_LOST: return CS_ERR_IO;
	case CS_DB_FAIL_READONLY: return CS_ERR_STATE;
	case CS_DB_FAIL_OTHER: break;
	}
	return CS_ERR_DB;
}

int cs_db_open(cs_db **out, const char *target, int flags, char *why,
    size_t whylen)
{
	cs_db *db;
	int r;

	*out = NULL;
	if (target == NULL || *target == '\0') {
		snprintf(why, why ? whylen : 0, "%s", _("no journal named"));
		return CS_ERR_USAGE;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return CS_ERR_NOMEM;
	db->rdonly = (flags & CS_DB_RDONLY) != 0;
	if ((db->target = strdup(target)) == NULL) {
		free(db);
		return CS_ERR_NOMEM;
	}
	if (cs_db_is_uri(target)) {
		db->backend = CS_DB_PG;
		r = db_pg_open(db, target, flags, why, whylen);
	} else {
		db->backend = CS_DB_SQLITE;
		r = db_sqlite_open(db, target, flags, why, whylen);
	}
	if (r != CS_OK) {
		cs_db_close(db);
		return r;
	}
	*out = db;
	return CS_OK;
}

void cs_db_close(cs_db *db)
{
	if (db == NULL)
		return;
	if (db->ops != NULL)
		db->ops->close(db);
	free(db->target);
	free(db);
}

cs_db_backend cs_db_backend_of(const cs_db *db)
{
	return db->backend;
}

const char *cs_db_target(const cs_db *db)
{
	return db->target;
}

cs_db_fail cs_db_last_fail(const cs_db *db)
{
	return db->fail;
}

const char *cs_db_errmsg(const cs_db *db)
{
	return db->msg;
}

const char *cs_db_sqlstate(const cs_db *db)
{
	return db->sqlstate;
}

int cs_db_why(const cs_db *db, int r, char *why, size_t whylen,
    const char *doing)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, _("journal: %s: %s"), doing,
		    db && db->msg[0] ? db->msg : cs_strerror(r));
	return r;
}

int cs_db_exec(cs_db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int cs_db_prepare(cs_db *db, const char *sql, cs_db_stmt **out)
{
	*out = NULL;
	return db->ops->prepare(db, sql, out);
}

int cs_db_bind_va(cs_db_stmt *st, const char *fmt, va_list ap)
{
	int r = CS_OK;

	for (int k = 1; fmt != NULL && fmt[k - 1] != '\0' && r == CS_OK; k++)
		switch (fmt[k - 1]) {
		case 'i':
			r = cs_db_bind_int(st, k, va_arg(ap, int64_t));
			break;
		case 'n': {
			int64_t v = va_arg(ap, int64_t);

			/* A NULL of type bigint on PostgreSQL: `? IS NULL` needs
			 * one. */
			r = v ? cs_db_bind_int(st, k, v) : st->db->backend == CS_DB_PG ?
			    db_pg_bind_null_int(st, k) : cs_db_bind_null(st, k);
			break;
		}
		case 's':
			r = cs_db_bind_text(st, k, va_arg(ap, const char *));
			break;
		default:
			r = CS_ERR_USAGE;
		}
	return r;
}

int cs_db_prepare_fmt(cs_db *db, cs_db_stmt **out, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int r;

	if ((r = cs_db_prepare(db, sql, out)) != CS_OK)
		return r;
	va_start(ap, fmt);
	r = cs_db_bind_va(*out, fmt, ap);
	va_end(ap);
	if (r != CS_OK) {
		cs_db_finalize(*out);
		*out = NULL;
	}
	return r;
}

int cs_db_run_fmt(cs_db *db, const char *sql, const char *fmt, ...)
{
	cs_db_stmt *st;
	va_list ap;
	int r;

	if ((r = cs_db_prepare(db, sql, &st)) != CS_OK)
		return r;
	va_start(ap, fmt);
	r = cs_db_bind_va(st, fmt, ap);
	va_end(ap);
	while (r == CS_OK && (r = cs_db_step(st)) == CS_DB_ROW)
		r = CS_OK;
	cs_db_finalize(st);
	return r == CS_DB_DONE ? CS_OK : r;
}

int cs_db_bind_text(cs_db_stmt *st, int i, const char *v)
{
	return st->db->ops->bind_text(st, i, v);
}

int cs_db_bind_int(cs_db_stmt *st, int i, int64_t v)
{
	return st->db->ops->bind_int(st, i, v);
}

int cs_db_bind_null(cs_db_stmt *st, int i)
{
	return st->db->ops->bind_null(st, i);
}

int cs_db_step(cs_db_stmt *st)
{
	return st->db->ops->step(st);
}

int cs_db_reset(cs_db_stmt *st)
{
	return st->db->ops->reset(st);
}

int64_t cs_db_changes(cs_db_stmt *st)
{
	return st->db->ops->changes(st);
}

int cs_db_column_count(cs_db_stmt *st)
{
	return st->db->ops->column_count(st);
}

const char *cs_db_column_name(cs_db_stmt *st, int i)
{
	return st->db->ops->column_name(st, i);
}

bool cs_db_column_null(cs_db_stmt *st, int i)
{
	return st->db->ops->column_null(st, i);
}

const char *cs_db_column_text(cs_db_stmt *st, int i)
{
	return st->db->ops->column_text(st, i);
}

int64_t cs_db_column_int(cs_db_stmt *st, int i)
{
	return st->db->ops->column_int(st, i);
}

void cs_db_finalize(cs_db_stmt *st)
{
	if (st != NULL)
		st->db->ops->finalize(st);
}

int cs_db_begin(cs_db *db, cs_db_tx mode)
{
	return db->ops->begin(db, mode);
}

int cs_db_commit(cs_db *db)
{
	int r = db->ops->exec(db, "COMMIT");

	/* A commit that failed leaves PostgreSQL's transaction aborted and
	 * SQLite's open: end both, the caller's change is not in. */
	if (r != CS_OK && db->fail != CS_DB_FAIL_LOST) {
		cs_db_fail kind = db->fail;
		char msg[DB_MSG_LEN], state[6];

		memcpy(msg, db->msg, sizeof(msg));
		memcpy(state, db->sqlstate, sizeof(state));
		db->ops->exec(db, "ROLLBACK");
		db_failed(db, kind, state, "%s", msg);
	}
	return r;
}

int cs_db_rollback(cs_db *db)
{
	return db->ops->exec(db, "ROLLBACK");
}

int cs_db_reconnect(cs_db *db, char *why, size_t whylen)
{
	return db->ops->reconnect(db, why, whylen);
}

/* Skip a literal, quoted name, comment or dollar-quoted string starting
 * at p; returns where it ends (past it), or p when none starts there. */
static const char *skip_quoted(const char *p)
{
	const char *q;

	if (*p == '\'' || *p == '"') {
		char c = *p;

		for (q = p + 1; *q != '\0'; q++)
			if (*q == c) {
				if (q[1] != c)
					return q + 1;
				q++; /* a doubled quote */
			}
		return q;
	}
	if (p[0] == '-' && p[1] == '-') {
		q = strchr(p, '\n');
		return q ? q + 1 : p + strlen(p);
	}
	if (p[0] == '/' && p[1] == '*') {
		q = strstr(p + 2, "*/");
		return q ? q + 2 : p + strlen(p);
	}
	if (p[0] == '$' && (p[1] == '$' || (p[1] >= 'a' && p[1] <= 'z') ||
	    (p[1] >= 'A' && p[1] <= 'Z') || p[1] == '_')) {
		/* $tag$ ... $tag$ */
		size_t n = 1;

		while (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') ||
		    (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9'))
			n++;
		if (p[n] != '$')
			return p;
		n++;
		for (q = p + n; *q != '\0'; q++)
			if (strncmp(q, p, n) == 0)
				return q + n;
		return q;
	}
	return p;
}

int cs_db_pg_sql(const char *sql, char *out, size_t outlen, int *nparams)
{
	const char *p = sql, *q;
	size_t n = 0;
	int max = 0;

	*nparams = 0;
	while (*p != '\0') {
		if ((q = skip_quoted(p)) != p) {
			if (n + (size_t)(q - p) >= outlen)
				return CS_ERR_LIMIT;
			memcpy(out + n, p, (size_t)(q - p));
			n += (size_t)(q - p);
			p = q;
			continue;
		}
		if (*p == '$' && p[1] >= '0' && p[1] <= '9')
			return CS_ERR_USAGE; /* one spelling of placeholders */
		if (*p != '?') {
			if (n + 1 >= outlen)
				return CS_ERR_LIMIT;
			out[n++] = *p++;
			continue;
		}
		p++;
		{
			long k = 0;
			int w;

			if (*p >= '0' && *p <= '9') {
				while (*p >= '0' && *p <= '9' && k <= 32766)
					k = k * 10 + (*p++ - '0');
				if (k < 1 || k > 32766)
					return CS_ERR_USAGE;
			} else
				k = max + 1;
			if (k > 32766)
				return CS_ERR_USAGE;
			if (k > max)
				max = (int)k;
			w = snprintf(out + n, outlen - n, "$%ld", k);
			if (w < 0 || n + (size_t)w >= outlen)
				return CS_ERR_LIMIT;
			n += (size_t)w;
		}
	}
	if (n >= outlen)
		return CS_ERR_LIMIT;
	out[n] = '\0';
	*nparams = max;
	return CS_OK;
}
