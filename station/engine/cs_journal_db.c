/* cs_journal_db.c - the database primitives every cs_journal*.c file uses:
 * time stamps, prepared statements with bound arguments, error mapping,
 * transactions, reading a row column by column. They call nothing else of
 * the journal, so the journal's parts (cs_journal.c, the chain, check)
 * depend on them and not on each other in a circle. */
#include "cs_err.h"
#include "cs_codes.h"
#include "cs_db_schema.h"
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

bool jr_pg(const cs_journal *j)
{
	return cs_db_backend_of(j->db) == CS_DB_PG;
}

const char *jr_instr(const cs_journal *j)
{
	return jr_pg(j) ? "strpos" : "instr";
}

int jr_prepare(cs_journal *j, cs_db_stmt **st, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int r;

	*st = NULL;
	if ((r = cs_db_prepare(j->db, sql, st)) != CS_OK)
		return r;
	va_start(ap, fmt);
	r = cs_db_bind_va(*st, fmt, ap);
	va_end(ap);
	if (r != CS_OK) {
		cs_db_finalize(*st);
		*st = NULL;
	}
	return r;
}

int jr_run(cs_journal *j, const char *sql, const char *fmt, ...)
{
	cs_db_stmt *st = NULL;
	va_list ap;
	int r;

	j->changes = 0;
	j->last_id = 0;
	if ((r = cs_db_prepare(j->db, sql, &st)) != CS_OK)
		return r;
	va_start(ap, fmt);
	r = cs_db_bind_va(st, fmt, ap);
	va_end(ap);
	if (r == CS_OK && (r = jr_step(j, st)) == CS_DB_ROW) {
		j->last_id = cs_db_column_int(st, 0);
		while ((r = jr_step(j, st)) == CS_DB_ROW)
			;
	}
	if (r == CS_DB_DONE) {
		r = CS_OK;
		j->changes = cs_db_changes(st);
	}
	cs_db_finalize(st);
	return r;
}

/* Whether a failure r outside any transaction lost the server's
 * connection: then the caller waits for it and tries again. */
static bool lost_outside(cs_journal *j, int r)
{
	return r < 0 && !j->in_tx && !j->in_write && !j->in_read &&
	    cs_db_last_fail(j->db) == CS_DB_FAIL_LOST;
}

int jr_step(cs_journal *j, cs_db_stmt *st)
{
	int r;

	while ((r = cs_db_step(st)) < 0 && lost_outside(j, r)) {
		cs_db_reset(st);
		if (jr_wait_server(j, NULL, 0) != CS_OK)
			break;
	}
	return r;
}

int jr_err(cs_journal *j, int r, char *why, size_t whylen, const char *doing)
{
	if (r == CS_DB_ROW || r == CS_DB_DONE)
		return CS_OK;
	return cs_db_why(j ? j->db : NULL, r, why, whylen, doing);
}

void cs_journal_on_notice(cs_journal *j, cs_jnotice_fn fn, void *ctx)
{
	j->notice = fn;
	j->notice_ctx = ctx;
}

static void say(cs_journal *j, const char *code)
{
	char text[512], params[512];

	cs_params_pack(params, sizeof(params), "journal", cs_db_target(j->db),
	    NULL);
	cs_code_text(code, params, text, sizeof(text));
	fprintf(stderr, "cardstation: %s [%s]\n", text, code);
	if (j->notice != NULL)
		j->notice(j->notice_ctx, code, params);
}

int jr_wait_server(cs_journal *j, char *why, size_t whylen)
{
	const char *env = getenv(JR_WAIT_ENV);
	long limit = env && *env ? strtol(env, NULL, 10) : JR_WAIT_S;
	struct timespec t0, now;
	char w[512] = "";
	unsigned pause_ms = 200;

	say(j, "journal.server-lost");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (cs_db_reconnect(j->db, w, sizeof(w)) == CS_OK &&
		    jr_owner_lock(j) == CS_OK) {
			say(j, "journal.server-back");
			return CS_OK;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= limit) {
			jr_why(why, whylen, _("journal: the server did not answer for "
			    "%ld s: %s"), limit, w);
			return CS_ERR_IO;
		}
		/* A retry's pause, not a synchronisation: the server comes back
		 * when its administrator brings it back. */
		nanosleep(&(struct timespec){(time_t)(pause_ms / 1000),
		    (long)(pause_ms % 1000) * 1000000L}, NULL);
		if (pause_ms < 2000)
			pause_ms *= 2;
	}
}

bool jr_writable(cs_journal *j, char *why, size_t whylen)
{
	if (!j->rdonly)
		return true;
	jr_why(why, whylen, _("journal opened read-only"));
	return false;
}

/* The outermost write transaction: on PostgreSQL the chain head's row
 * lock first, so that writers queue as SQLite's BEGIN IMMEDIATE makes
 * them (docs/postgresql.md). A server found gone is waited for. */
static int begin_write(cs_journal *j, char *why, size_t whylen)
{
	int r;

	for (;;) {
		j->head_known = j->head_moved = false;
		if ((r = cs_db_begin(j->db, CS_DB_TX_WRITE)) == CS_OK && jr_pg(j) &&
		    (r = jr_chain_lock(j)) != CS_OK &&
		    cs_db_last_fail(j->db) != CS_DB_FAIL_LOST)
			cs_db_rollback(j->db);
		if (r == CS_OK) {
			j->lost = false;
			return CS_OK;
		}
		if (cs_db_last_fail(j->db) != CS_DB_FAIL_LOST)
			return jr_err(j, r, why, whylen, "cannot start a transaction");
		if ((r = jr_wait_server(j, why, whylen)) != CS_OK)
			return r;
	}
}

int jr_tx_enter(cs_journal *j, char *why, size_t whylen)
{
	int r;

	if (!jr_writable(j, why, whylen))
		return CS_ERR_STATE;
	if (j->in_tx || j->in_write) {
		char sp[32];

		/* One name per depth, never released: ROLLBACK TO the depth's
		 * name finds this call's savepoint (the newest of that name)
		 * and undoes the deeper ones with it, and the commit ends them
		 * all; a RELEASE would cost each call a round trip more. */
		snprintf(sp, sizeof(sp), "SAVEPOINT cs_op%d", j->depth + 1);
		if ((r = cs_db_exec(j->db, sp)) != CS_OK)
			return jr_err(j, r, why, whylen, "cannot start a transaction");
		j->depth++;
		return CS_OK;
	}
	if ((r = begin_write(j, why, whylen)) == CS_OK)
		j->in_write = true;
	return r;
}

int jr_tx_leave(cs_journal *j, int r, char *why, size_t whylen)
{
	int rc;

	if (j->depth > 0) {
		if (r != CS_OK) {
			char sp[32];

			snprintf(sp, sizeof(sp), "ROLLBACK TO cs_op%d", j->depth);
			cs_db_exec(j->db, sp);
			/* Its events are gone: the head is read again. */
			j->head_known = false;
		}
		j->depth--;
		return r;
	}
	if (j->in_tx)
		return r;
	j->in_write = false;
	/* PostgreSQL's chain_head names the last event (so that check sees
	 * the last one deleted): once per transaction, before its commit. */
	if (r == CS_OK && (r = jr_chain_head_store(j)) != CS_OK)
		r = jr_err(j, r, why, whylen, "cannot note the chain's head");
	j->head_known = j->head_moved = false;
	if (r != CS_OK) {
		j->lost = cs_db_last_fail(j->db) == CS_DB_FAIL_LOST;
		cs_db_rollback(j->db);
		return r;
	}
	if ((rc = cs_db_commit(j->db)) != CS_OK)
		r = jr_err(j, rc, why, whylen, "cannot commit");
	return r;
}

bool cs_journal_redo(cs_journal *j)
{
	return jr_redo(j);
}

bool jr_redo(cs_journal *j)
{
	bool lost = j->lost;

	j->lost = false;
	if (!lost || j->in_tx || j->in_write)
		return false;
	return jr_wait_server(j, NULL, 0) == CS_OK;
}

char *jr_next_str(struct jr_cols *c)
{
	const char *t;
	char *s;
	int i = c->i++;

	if (cs_db_column_null(c->s, i))
		return NULL;
	t = cs_db_column_text(c->s, i);
	if (t == NULL || (s = strdup(t)) == NULL) {
		c->err = CS_ERR_NOMEM;
		return NULL;
	}
	return s;
}

int64_t jr_next_int(struct jr_cols *c)
{
	return cs_db_column_int(c->s, c->i++);
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
