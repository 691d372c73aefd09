/* cs_journal_db.c - the SQLite primitives every cs_journal*.c file uses:
 * time stamps, prepared statements with bound arguments, error mapping,
 * transactions, reading a row column by column. They call nothing else of
 * the journal, so the journal's parts (cs_journal.c, the chain, check)
 * depend on them and not on each other in a circle. */
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_journal_int.h"
#include "cs_i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void jr_now(char buf[JR_TIME_LEN])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, JR_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, JR_TIME_LEN - n, ".%03dZ",
	    (int)(ts.tv_nsec / 1000000) % 1000);
}

void jr_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static int bind_va(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	int rc = SQLITE_OK;

	for (int k = 1; fmt != NULL && fmt[k - 1] != '\0' && rc == SQLITE_OK; k++) {
		switch (fmt[k - 1]) {
		case 'i':
			rc = sqlite3_bind_int64(st, k, va_arg(ap, int64_t));
			break;
		case 'n': {
			int64_t v = va_arg(ap, int64_t);

			rc = v ? sqlite3_bind_int64(st, k, v) : sqlite3_bind_null(st, k);
			break;
		}
		case 's':
			rc = sqlite3_bind_text(st, k, va_arg(ap, const char *), -1,
			    SQLITE_TRANSIENT);
			break;
		default:
			rc = SQLITE_MISUSE;
		}
	}
	return rc;
}

int jr_prepare(cs_journal *j, sqlite3_stmt **st, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	*st = NULL;
	if ((rc = sqlite3_prepare_v2(j->db, sql, -1, st, NULL)) != SQLITE_OK)
		return rc;
	va_start(ap, fmt);
	rc = bind_va(*st, fmt, ap);
	va_end(ap);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	return rc;
}

int jr_run(cs_journal *j, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int rc;

	if ((rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	va_start(ap, fmt);
	rc = bind_va(st, fmt, ap);
	va_end(ap);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int jr_err(cs_journal *j, int rc, char *why, size_t whylen, const char *doing)
{
	const char *msg = j && j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc);

	jr_why(why, whylen, _("journal: %s: %s"), doing, msg);
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return CS_OK;
	case SQLITE_NOMEM:
		return CS_ERR_NOMEM;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return CS_ERR_MISMATCH;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return CS_ERR_NOTFOUND;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
		return CS_ERR_USAGE;
	case SQLITE_READONLY:
		return CS_ERR_STATE;
	}
	if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN ||
	    (rc & 0xff) == SQLITE_FULL)
		return CS_ERR_IO;
	return CS_ERR_DB;
}

bool jr_writable(cs_journal *j, char *why, size_t whylen)
{
	if (!j->rdonly)
		return true;
	jr_why(why, whylen, _("journal opened read-only"));
	return false;
}

int jr_tx_enter(cs_journal *j, char *why, size_t whylen)
{
	int rc;

	if (!jr_writable(j, why, whylen))
		return CS_ERR_STATE;
	rc = sqlite3_exec(j->db, j->in_tx ? "SAVEPOINT cs_op" : "BEGIN IMMEDIATE",
	    NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return jr_err(j, rc, why, whylen, "cannot start a transaction");
	return CS_OK;
}

int jr_tx_leave(cs_journal *j, int r, char *why, size_t whylen)
{
	int rc;

	if (j->in_tx) {
		if (r != CS_OK)
			sqlite3_exec(j->db, "ROLLBACK TO cs_op", NULL, NULL, NULL);
		sqlite3_exec(j->db, "RELEASE cs_op", NULL, NULL, NULL);
		return r;
	}
	if (r != CS_OK) {
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	if ((rc = sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
		r = jr_err(j, rc, why, whylen, "cannot commit");
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		if (r == CS_OK)
			r = CS_ERR_DB;
	}
	return r;
}

char *jr_next_str(struct jr_cols *c)
{
	const unsigned char *t;
	char *s;
	int i = c->i++;

	if (sqlite3_column_type(c->s, i) == SQLITE_NULL)
		return NULL;
	t = sqlite3_column_text(c->s, i);
	if (t == NULL || (s = strdup((const char *)t)) == NULL) {
		c->err = CS_ERR_NOMEM;
		return NULL;
	}
	return s;
}

int64_t jr_next_int(struct jr_cols *c)
{
	return sqlite3_column_int64(c->s, c->i++);
}

int jr_name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *jr_serial(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0')
		return s;
	for (p = s; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return s;
	while (s[0] == '0' && s[1] != '\0')
		s++;
	return s;
}
