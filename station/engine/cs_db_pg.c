/* cs_db_pg.c - the database layer on PostgreSQL through libpq: a journal
 * shared by several stations (docs/postgresql.md).
 *
 * Statements keep their parameters as text and run with PQexecParams when
 * first stepped; the whole result is then read row by row. Buffering the
 * result lets a caller run other statements between two rows, as SQLite
 * allows (log check does). */
#include "cs_db.h"
#include "cs_db_int.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* Type OIDs from pg_type: what a bound value is sent as. */
#define OID_INT8 20
#define OID_TEXT 25
#define MAX_PARAMS 64
/* A station waits this long for the server before it says so. */
#define CONNECT_TIMEOUT "10"

struct pg_stmt {
	struct cs_db_stmt base;
	char *sql;                 /* with $N placeholders */
	int nparams;
	char *val[MAX_PARAMS];     /* NULL: SQL NULL */
	Oid type[MAX_PARAMS];
	PGresult *res;             /* after the first step */
	int row, nrows;
	int64_t changes;
};

#define CONN(d) ((PGconn *)(d)->h)
#define ST(st) ((struct pg_stmt *)(st))

static bool lost_state(const char *s)
{
	/* 08: connection exceptions; 57P01..57P03: the server shuts down or
	 * cannot take connections now. */
	return s != NULL && (strncmp(s, "08", 2) == 0 ||
	    strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
	    strcmp(s, "57P03") == 0);
}

static cs_db_fail kind_of(PGconn *c, const char *state)
{
	if (PQstatus(c) == CONNECTION_BAD || lost_state(state))
		return CS_DB_FAIL_LOST;
	if (state == NULL)
		return CS_DB_FAIL_OTHER;
	if (strcmp(state, "23505") == 0)
		return CS_DB_FAIL_UNIQUE;
	if (strcmp(state, "23503") == 0)
		return CS_DB_FAIL_FOREIGN;
	if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0)
		return CS_DB_FAIL_CHECK;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return CS_DB_FAIL_BUSY;
	if (strcmp(state, "25006") == 0)
		return CS_DB_FAIL_READONLY;
	return CS_DB_FAIL_OTHER;
}

/* Note the failure of res (NULL: of the connection); its cs_err. */
static int failed(cs_db *db, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	cs_db_fail kind = kind_of(CONN(db), state);

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(CONN(db));
	if (kind == CS_DB_FAIL_LOST && (msg == NULL || *msg == '\0'))
		msg = _("the connection to the server was lost");
	db_failed(db, kind, state, "%s", msg ? msg : "");
	return db_err_of(kind);
}

/* Judge a result: CS_OK for a command or rows, else the failure. */
static int judged(cs_db *db, PGresult *res)
{
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ||
	    s == PGRES_EMPTY_QUERY) {
		db_ok(db);
		return CS_OK;
	}
	if (res == NULL && PQstatus(CONN(db)) != CONNECTION_BAD)
		return CS_ERR_NOMEM;
	return failed(db, res);
}

static int pg_exec(cs_db *db, const char *sql)
{
	PGresult *res = PQexec(CONN(db), sql);
	int r = judged(db, res);

	/* A COMMIT of a transaction a failed statement aborted answers
	 * "ROLLBACK", not an error: SQLite would have committed the rest, so
	 * say plainly that nothing of it was kept. */
	if (r == CS_OK && strcmp(sql, "COMMIT") == 0 &&
	    strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		db_failed(db, CS_DB_FAIL_OTHER, "25P02", "%s", _("the transaction "
		    "had failed before its commit: the server rolled all of it "
		    "back"));
		r = CS_ERR_DB;
	}
	PQclear(res);
	return r;
}

static int pg_prepare(cs_db *db, const char *sql, cs_db_stmt **out)
{
	struct pg_stmt *st;
	size_t len = strlen(sql) * 2 + 16;
	int r;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return CS_ERR_NOMEM;
	st->base.db = db;
	st->row = -1;
	if ((st->sql = malloc(len)) == NULL) {
		free(st);
		return CS_ERR_NOMEM;
	}
	if ((r = cs_db_pg_sql(sql, st->sql, len, &st->nparams)) == CS_OK &&
	    st->nparams > MAX_PARAMS)
		r = CS_ERR_LIMIT;
	if (r != CS_OK) {
		db_failed(db, CS_DB_FAIL_OTHER, NULL, _("cannot translate the "
		    "placeholders of: %.200s"), sql);
		free(st->sql);
		free(st);
		return r;
	}
	*out = &st->base;
	return CS_OK;
}

static void clear_result(struct pg_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->nrows = 0;
}

static int bind(cs_db_stmt *st, int i, char *v, Oid type, bool given)
{
	struct pg_stmt *p = ST(st);

	if (i < 1 || i > p->nparams) {
		free(v);
		db_failed(st->db, CS_DB_FAIL_OTHER, NULL, _("parameter %d of %d"),
		    i, p->nparams);
		return CS_ERR_USAGE;
	}
	if (given && v == NULL)
		return CS_ERR_NOMEM;
	clear_result(p);
	free(p->val[i - 1]);
	p->val[i - 1] = v;
	p->type[i - 1] = type;
	return CS_OK;
}

static int pg_bind_text(cs_db_stmt *st, int i, const char *v)
{
	return bind(st, i, v ? strdup(v) : NULL, OID_TEXT, v != NULL);
}

static int pg_bind_int(cs_db_stmt *st, int i, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return bind(st, i, strdup(buf), OID_INT8, true);
}

static int pg_bind_null(cs_db_stmt *st, int i)
{
	return bind(st, i, NULL, 0, false);
}

int db_pg_bind_null_int(cs_db_stmt *st, int i)
{
	return bind(st, i, NULL, OID_INT8, false);
}

static int pg_step(cs_db_stmt *st)
{
	struct pg_stmt *p = ST(st);
	cs_db *db = st->db;
	int r;

	if (p->res == NULL) {
		p->res = PQexecParams(CONN(db), p->sql, p->nparams, p->type,
		    (const char *const *)p->val, NULL, NULL, 0);
		if ((r = judged(db, p->res)) != CS_OK) {
			clear_result(p);
			return r;
		}
		p->nrows = PQresultStatus(p->res) == PGRES_TUPLES_OK ?
		    PQntuples(p->res) : 0;
		p->changes = strtoll(PQcmdTuples(p->res), NULL, 10);
		p->row = -1;
	}
	if (p->row + 1 < p->nrows) {
		p->row++;
		return CS_DB_ROW;
	}
	p->row = p->nrows;
	return CS_DB_DONE;
}

static int pg_reset(cs_db_stmt *st)
{
	clear_result(ST(st));
	return CS_OK;
}

static int64_t pg_changes(cs_db_stmt *st)
{
	return ST(st)->changes;
}

static int pg_column_count(cs_db_stmt *st)
{
	return ST(st)->res ? PQnfields(ST(st)->res) : 0;
}

static const char *pg_column_name(cs_db_stmt *st, int i)
{
	return ST(st)->res ? PQfname(ST(st)->res, i) : NULL;
}

static bool at_row(struct pg_stmt *p, int i)
{
	return p->res != NULL && p->row >= 0 && p->row < p->nrows && i >= 0 &&
	    i < PQnfields(p->res);
}

static bool pg_column_null(cs_db_stmt *st, int i)
{
	return !at_row(ST(st), i) || PQgetisnull(ST(st)->res, ST(st)->row, i);
}

static const char *pg_column_text(cs_db_stmt *st, int i)
{
	return pg_column_null(st, i) ? NULL :
	    PQgetvalue(ST(st)->res, ST(st)->row, i);
}

static int64_t pg_column_int(cs_db_stmt *st, int i)
{
	const char *v = pg_column_text(st, i);

	if (v == NULL)
		return 0;
	if (strcmp(v, "t") == 0)
		return 1;
	return strtoll(v, NULL, 10);
}

static void pg_finalize(cs_db_stmt *st)
{
	struct pg_stmt *p = ST(st);

	clear_result(p);
	for (int i = 0; i < MAX_PARAMS; i++)
		free(p->val[i]);
	free(p->sql);
	free(p);
}

static int pg_begin(cs_db *db, cs_db_tx mode)
{
	if (mode == CS_DB_TX_READ)
		return pg_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	return pg_exec(db, db->rdonly ? "BEGIN ISOLATION LEVEL READ COMMITTED "
	    "READ ONLY" : "BEGIN ISOLATION LEVEL READ COMMITTED");
}

static void pg_close(cs_db *db)
{
	PQfinish(CONN(db));
	db->h = NULL;
}

/* Refuse a URI that carries a password: it would be in argv (ps, shell
 * history) or the environment of every child. */
static int no_password(const char *uri, char *why, size_t whylen)
{
	PQconninfoOption *opts, *o;
	char *err = NULL;
	int r = CS_OK;

	if ((opts = PQconninfoParse(uri, &err)) == NULL) {
		snprintf(why, why ? whylen : 0, _("the journal URI is not one libpq "
		    "reads: %s"), err ? err : _("out of memory"));
		if (err != NULL)
			PQfreemem(err);
		return CS_ERR_USAGE;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    *o->val != '\0') {
			snprintf(why, why ? whylen : 0, "%s", _("the journal URI "
			    "carries a password, which would show in the process "
			    "list and the shell's history: remove it and give the "
			    "password in ~/.pgpass or the file $PGPASSFILE names, or "
			    "use peer authentication on the Unix socket or a client "
			    "certificate with sslmode=verify-full "
			    "(docs/postgresql.md)"));
			r = CS_ERR_USAGE;
		}
	PQconninfoFree(opts);
	return r;
}

/* What the connection uses for key, as libpq settled it. */
static void conn_option(PGconn *c, const char *key, char *out, size_t len)
{
	PQconninfoOption *opts = PQconninfo(c), *o;

	*out = '\0';
	for (o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0 && o->val != NULL)
			snprintf(out, len, "%s", o->val);
	PQconninfoFree(opts);
}

/* A connection over the network must be TLS with the server's name
 * verified: the journal names every holder. A Unix socket stays on the
 * machine. */
static int judge_transport(cs_db *db, char *why, size_t whylen)
{
	char mode[32];
	const char *host = PQhost(CONN(db));

	if (host == NULL || *host == '\0' || *host == '/' || *host == '@')
		return CS_OK;
	conn_option(CONN(db), "sslmode", mode, sizeof(mode));
	if (strcmp(mode, "verify-full") == 0 && PQsslInUse(CONN(db)))
		return CS_OK;
	snprintf(why, why ? whylen : 0, _("the journal server %s is reached "
	    "over the network without sslmode=verify-full: add "
	    "?sslmode=verify-full to the URI (or set PGSSLMODE) and give the "
	    "server's CA in ~/.postgresql/root.crt (docs/postgresql.md)"), host);
	return CS_ERR_USAGE;
}

static int connect_now(cs_db *db, char *why, size_t whylen)
{
	/* The URI last: what it says wins over these defaults. */
	const char *const keys[] = {"connect_timeout",
		"fallback_application_name", "dbname", NULL};
	const char *const vals[] = {CONNECT_TIMEOUT, "cardstation", db->target,
		NULL};
	PGconn *c;
	int r;

	PQfinish(CONN(db));
	db->h = c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL)
		return CS_ERR_NOMEM;
	if (PQstatus(c) != CONNECTION_OK) {
		db_failed(db, CS_DB_FAIL_LOST, NULL, "%s", PQerrorMessage(c));
		snprintf(why, why ? whylen : 0, _("cannot connect to the journal "
		    "server: %s"), db->msg);
		return CS_ERR_IO;
	}
	if ((r = judge_transport(db, why, whylen)) != CS_OK)
		return r;
	/* The session's settings, on every connection (a reconnect too).
	 * Times are the station's own text (UTC); the session's zone only
	 * matters for now() in doctor's clock check. */
	if ((db->rdonly && (r = pg_exec(db, "SET default_transaction_read_only "
	    "= on")) != CS_OK) || (r = pg_exec(db, "SET TIME ZONE 'UTC'")) !=
	    CS_OK)
		return cs_db_why(db, r, why, whylen, "cannot configure");
	return CS_OK;
}

static int pg_reconnect(cs_db *db, char *why, size_t whylen)
{
	int r = connect_now(db, why, whylen);

	if (r == CS_OK)
		db_ok(db);
	return r;
}

static const struct db_ops PG = {
	pg_exec, pg_prepare, pg_bind_text, pg_bind_int, pg_bind_null,
	pg_step, pg_reset, pg_changes, pg_column_count, pg_column_name,
	pg_column_null, pg_column_text, pg_column_int, pg_finalize, pg_begin,
	pg_reconnect, pg_close,
};

int db_pg_open(cs_db *db, const char *uri, int flags, char *why,
    size_t whylen)
{
	int r;

	(void)flags; /* CS_DB_RDONLY is db->rdonly */
	db->ops = &PG;
	if ((r = no_password(uri, why, whylen)) != CS_OK)
		return r;
	if ((r = connect_now(db, why, whylen)) != CS_OK)
		return r;
	db_ok(db);
	return CS_OK;
}
