/* cmd_journal.c - `cardstation journal`: the journal's database itself.
 *
 *   journal migrate FROM TO   copy a SQLite journal into PostgreSQL, or a
 *                             PostgreSQL journal into a new SQLite file
 *   journal init [--journal URI]  create the journal's schema in an empty
 *                             PostgreSQL database
 *
 * A copy is exact: every row of runs, cards, owners, records, issuances
 * and events with its id, and the events' text byte for byte, so the
 * hash chain and every snapshot stay what they were and `log check` on
 * the copy says what it said on the original. The source must pass the
 * station's trust (cs_journal_trust) before anything is copied; the
 * target must be empty; the copy is compared with its source, column by
 * column, before it is committed. Nothing is left half copied: the
 * PostgreSQL side is one transaction, a new SQLite file is removed on
 * failure. */
#include "cs_cmd.h"
#include "cs_db.h"
#include "cs_db_schema.h"
#include "cs_err.h"
#include "cs_i18n.h"
#include "cs_journal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WHY 1024

static void usage(FILE *f)
{
	fprintf(f, "%s", _(
	    "usage: cardstation journal migrate FROM TO\n"
	    "       cardstation journal init [--journal URI]\n"
	    "\n"
	    "`journal migrate` copies a journal between SQLite and PostgreSQL,\n"
	    "with its rows, ids and event hash chain intact. FROM and TO are a\n"
	    "SQLite file and a libpq URI (postgresql:///cardstation?host=\n"
	    "/run/postgresql), either way round. The source must pass\n"
	    "`cardstation log check`; the target must be empty (a new SQLite\n"
	    "file, or a PostgreSQL database without the journal's tables or\n"
	    "with them empty). Stop the stations first.\n"
	    "\n"
	    "`journal init` creates the journal's tables in an empty PostgreSQL\n"
	    "database, as the role that will own them (docs/postgresql.md).\n"
	    "  --journal URI   the database (default $CARDSTATION_JOURNAL)\n"
	    "\n"
	    "Passwords never go in the URI: use ~/.pgpass, $PGPASSFILE, peer\n"
	    "authentication on the Unix socket or a client certificate.\n"
	    "\n"
	    "Exit status: 0 copied (created), 2 refused or failed (nothing\n"
	    "was written).\n"));
}

static void now_text(char buf[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

/* One integer from a query without parameters; -1 on failure. */
static int64_t query_int(cs_db *db, const char *sql)
{
	cs_db_stmt *st;
	int64_t v = -1;

	if (cs_db_prepare(db, sql, &st) != CS_OK)
		return -1;
	if (cs_db_step(st) == CS_DB_ROW)
		v = cs_db_column_int(st, 0);
	cs_db_finalize(st);
	return v;
}

/* How many of the journal's tables (and schema_version, chain_head) the
 * PostgreSQL database's current schema holds. */
static int64_t pg_journal_tables(cs_db *db)
{
	return query_int(db, "SELECT count(*) FROM information_schema.tables "
	    "WHERE table_schema = current_schema() AND table_name IN ('runs', "
	    "'cards', 'owners', 'records', 'issuances', 'events', "
	    "'schema_version', 'chain_head')");
}

/* Create the PostgreSQL schema in the open transaction. */
static int pg_create(cs_db *db, char *why, size_t whylen)
{
	cs_db_stmt *st;
	char now[32];
	int r = CS_OK;

	for (size_t k = 0; r == CS_OK && k < cs_db_pg_nmigrations; k++)
		r = cs_db_exec(db, cs_db_pg_migrations[k]);
	if (r != CS_OK)
		return cs_db_why(db, r, why, whylen, _("cannot create the schema"));
	now_text(now);
	if ((r = cs_db_prepare(db, "INSERT INTO schema_version VALUES (?, ?)",
	    &st)) == CS_OK) {
		if ((r = cs_db_bind_int(st, 1, CS_DB_PG_VERSION)) == CS_OK &&
		    (r = cs_db_bind_text(st, 2, now)) == CS_OK)
			r = cs_db_step(st);
		cs_db_finalize(st);
	}
	return r < 0 ? cs_db_why(db, r, why, whylen,
	    _("cannot note the schema version")) : CS_OK;
}

/* The target must hold no journal rows. PostgreSQL: no journal tables
 * (they are created) or all of them, empty and of this version. */
static int target_ready(cs_db *db, char *why, size_t whylen)
{
	char sql[128];
	int64_t n;

	if (cs_db_backend_of(db) == CS_DB_PG) {
		n = pg_journal_tables(db);
		if (n < 0)
			return cs_db_why(db, CS_ERR_DB, why, whylen,
			    _("cannot read the target's tables"));
		if (n == 0)
			return pg_create(db, why, whylen);
		if (n != 8) {
			snprintf(why, whylen, _("the target database has some of the "
			    "journal's tables but not all (%" PRId64 " of 8): it is "
			    "not a journal of this cardstation; give an empty "
			    "database"), n);
			return CS_ERR_STATE;
		}
		n = query_int(db, "SELECT coalesce(max(version), 0) FROM "
		    "schema_version");
		if (n != CS_DB_PG_VERSION) {
			snprintf(why, whylen, _("the target journal has schema "
			    "version %" PRId64 "; this cardstation writes %d"), n,
			    CS_DB_PG_VERSION);
			return CS_ERR_STATE;
		}
	}
	for (size_t t = 0; t < cs_db_ntables; t++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s",
		    cs_db_tables[t].name);
		if ((n = query_int(db, sql)) != 0) {
			if (n < 0)
				return cs_db_why(db, CS_ERR_DB, why, whylen,
				    _("cannot read the target"));
			snprintf(why, whylen, _("the target journal is not empty "
			    "(%s holds %" PRId64 " rows): migrate never writes over a "
			    "journal"), cs_db_tables[t].name, n);
			return CS_ERR_STATE;
		}
	}
	return CS_OK;
}

/* "SELECT c1, c2 ... FROM t ORDER BY id" or the INSERT with ? for each. */
static int table_sql(const struct cs_db_table *t, bool insert, char *buf,
    size_t len)
{
	size_t n;
	int k;

	k = insert ? snprintf(buf, len, "INSERT INTO %s (", t->name) :
	    snprintf(buf, len, "SELECT ");
	n = (size_t)k;
	for (size_t i = 0; t->cols[i] != NULL && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
		    t->cols[i]);
	if (n < len && insert) {
		n += (size_t)snprintf(buf + n, len - n, ") VALUES (");
		for (size_t i = 0; t->cols[i] != NULL && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n, "%s?", i ? ", " : "");
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, ")");
	} else if (n < len)
		n += (size_t)snprintf(buf + n, len - n, " FROM %s ORDER BY id",
		    t->name);
	return n < len ? CS_OK : CS_ERR_LIMIT;
}

/* Copy every row of table t from src to dst (in dst's transaction). */
static int copy_table(cs_db *src, cs_db *dst, const struct cs_db_table *t,
    int64_t *rows, char *why, size_t whylen)
{
	cs_db_stmt *in = NULL, *out = NULL;
	char sel[1024], ins[1024];
	int r, rc;

	*rows = 0;
	if ((r = table_sql(t, false, sel, sizeof(sel))) != CS_OK ||
	    (r = table_sql(t, true, ins, sizeof(ins))) != CS_OK)
		return r;
	if ((r = cs_db_prepare(src, sel, &in)) != CS_OK)
		return cs_db_why(src, r, why, whylen, t->name);
	if ((r = cs_db_prepare(dst, ins, &out)) != CS_OK) {
		cs_db_finalize(in);
		return cs_db_why(dst, r, why, whylen, t->name);
	}
	while ((rc = cs_db_step(in)) == CS_DB_ROW) {
		for (int i = 0; r == CS_OK && t->cols[i] != NULL; i++) {
			if (cs_db_column_null(in, i))
				r = cs_db_bind_null(out, i + 1);
			else if (t->kinds[i] == 'i')
				r = cs_db_bind_int(out, i + 1, cs_db_column_int(in, i));
			else
				r = cs_db_bind_text(out, i + 1, cs_db_column_text(in, i));
		}
		if (r == CS_OK && (r = cs_db_step(out)) == CS_DB_DONE)
			r = CS_OK;
		cs_db_reset(out);
		if (r != CS_OK) {
			snprintf(why, whylen, _("journal: cannot copy %s row %s: %s"),
			    t->name, cs_db_column_text(in, 0), cs_db_errmsg(dst));
			break;
		}
		(*rows)++;
	}
	if (r == CS_OK && rc != CS_DB_DONE)
		r = cs_db_why(src, rc, why, whylen, t->name);
	cs_db_finalize(in);
	cs_db_finalize(out);
	return r;
}

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* The copy, read back from dst, equals the source, row by row and column
 * by column, as text. */
static int compare_table(cs_db *src, cs_db *dst, const struct cs_db_table *t,
    char *why, size_t whylen)
{
	cs_db_stmt *a = NULL, *b = NULL;
	char sel[1024];
	int r, ra, rb;

	if ((r = table_sql(t, false, sel, sizeof(sel))) != CS_OK)
		return r;
	if ((r = cs_db_prepare(src, sel, &a)) != CS_OK)
		return cs_db_why(src, r, why, whylen, t->name);
	if ((r = cs_db_prepare(dst, sel, &b)) != CS_OK) {
		cs_db_finalize(a);
		return cs_db_why(dst, r, why, whylen, t->name);
	}
	for (;;) {
		ra = cs_db_step(a);
		rb = cs_db_step(b);
		if (ra < 0 || rb < 0) {
			r = cs_db_why(ra < 0 ? src : dst, ra < 0 ? ra : rb, why,
			    whylen, t->name);
			break;
		}
		if (ra != rb) {
			snprintf(why, whylen, _("journal: the copy of %s has %s rows "
			    "than the source"), t->name, ra == CS_DB_ROW ? _("fewer") :
			    _("more"));
			r = CS_ERR_MISMATCH;
			break;
		}
		if (ra == CS_DB_DONE)
			break;
		for (int i = 0; t->cols[i] != NULL; i++)
			if (!same(cs_db_column_text(a, i), cs_db_column_text(b, i))) {
				snprintf(why, whylen, _("journal: the copy of %s row %s "
				    "column %s differs from the source"), t->name,
				    cs_db_column_text(a, 0), t->cols[i]);
				r = CS_ERR_MISMATCH;
				break;
			}
		if (r != CS_OK)
			break;
	}
	cs_db_finalize(a);
	cs_db_finalize(b);
	return r;
}

/* PostgreSQL after a copy: the chain head is the last event, and each
 * table's next id follows its highest. */
static int pg_after_copy(cs_db *db, char *why, size_t whylen)
{
	static const char *const SQL =
	    "UPDATE chain_head SET last_id = e.id, hash = e.hash FROM"
	    " (SELECT id, hash FROM events ORDER BY id DESC LIMIT 1) e;"
	    "SELECT setval(pg_get_serial_sequence('runs', 'id'),"
	    " coalesce(max(id), 0) + 1, false) FROM runs;"
	    "SELECT setval(pg_get_serial_sequence('cards', 'id'),"
	    " coalesce(max(id), 0) + 1, false) FROM cards;"
	    "SELECT setval(pg_get_serial_sequence('owners', 'id'),"
	    " coalesce(max(id), 0) + 1, false) FROM owners;"
	    "SELECT setval(pg_get_serial_sequence('records', 'id'),"
	    " coalesce(max(id), 0) + 1, false) FROM records;"
	    "SELECT setval(pg_get_serial_sequence('issuances', 'id'),"
	    " coalesce(max(id), 0) + 1, false) FROM issuances;";
	int r = cs_db_exec(db, SQL);

	return r == CS_OK ? CS_OK :
	    cs_db_why(db, r, why, whylen, _("cannot set the chain head"));
}

/* A SQLite journal the station trusts, of the version the copy knows. */
static int sqlite_trusted(const char *path, char *why, size_t whylen)
{
	cs_journal *j = NULL;
	int r;

	if ((r = cs_journal_open(&j, path, CS_JOURNAL_RDONLY, why, whylen)) !=
	    CS_OK)
		return r;
	if (cs_journal_version(j) != CS_DB_PG_VERSION) {
		snprintf(why, whylen, _("%s has schema version %d; journal "
		    "migrate copies version %d"), path, cs_journal_version(j),
		    CS_DB_PG_VERSION);
		r = CS_ERR_STATE;
	} else
		r = cs_journal_trust(j, why, whylen);
	cs_journal_close(j);
	return r;
}

static void remove_sqlite(const char *path)
{
	char side[4096];

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

/* A new SQLite journal at path with this version's schema and no rows. */
static int sqlite_create(const char *path, char *why, size_t whylen)
{
	cs_journal *j = NULL;
	struct stat st;
	int r;

	if (stat(path, &st) == 0 && st.st_size > 0) {
		snprintf(why, whylen, _("%s exists: migrate writes only a new "
		    "SQLite journal, never over one"), path);
		return CS_ERR_STATE;
	}
	if ((r = cs_journal_open(&j, path, 0, why, whylen)) != CS_OK)
		return r;
	if (cs_journal_version(j) != CS_DB_PG_VERSION) {
		snprintf(why, whylen, _("this cardstation's SQLite journal has "
		    "schema version %d and its PostgreSQL journal %d: migrate "
		    "needs both the same"), cs_journal_version(j),
		    CS_DB_PG_VERSION);
		r = CS_ERR_STATE;
	}
	cs_journal_close(j);
	return r;
}

static int migrate(const char *from, const char *to)
{
	char why[WHY] = "", head[80] = "";
	cs_db *src = NULL, *dst = NULL;
	int64_t counts[16] = {0};
	bool made_file = false, to_pg = cs_db_is_uri(to);
	int r;

	if (cs_db_is_uri(from) == to_pg) {
		fprintf(stderr, "%s", _("cardstation journal migrate: one side must "
		    "be a SQLite file and the other a PostgreSQL URI (copy a "
		    "SQLite journal with sqlite3's .backup, a PostgreSQL one "
		    "with pg_dump)\n"));
		return CS_EXIT_FAIL;
	}
	if (!to_pg) {
		if ((r = sqlite_create(to, why, sizeof(why))) != CS_OK)
			goto out;
		made_file = true;
	}
	/* A SQLite source read-write if it may be (for its write lock, below),
	 * else read-only. */
	r = to_pg ? cs_db_open(&src, from, 0, why, sizeof(why)) : CS_ERR_USAGE;
	if (r != CS_OK && (r = cs_db_open(&src, from, CS_DB_RDONLY, why,
	    sizeof(why))) != CS_OK)
		goto out;
	/* SQLite: the write lock, so that nothing changes between the trust
	 * below and the copy (on a read-only file, a snapshot). PostgreSQL:
	 * one snapshot. */
	r = cs_db_begin(src, to_pg ? CS_DB_TX_WRITE : CS_DB_TX_READ);
	if (r != CS_OK && to_pg && cs_db_last_fail(src) == CS_DB_FAIL_BUSY) {
		snprintf(why, sizeof(why), _("%s is being written by a station "
		    "(it stayed locked for 30 s): stop the stations, then "
		    "migrate"), from);
		goto out;
	}
	/* A file this user may only read: its snapshot. */
	if (r != CS_OK && (r = cs_db_begin(src, CS_DB_TX_READ)) != CS_OK) {
		cs_db_why(src, r, why, sizeof(why), _("cannot read the source"));
		goto out;
	}
	if (to_pg && (r = sqlite_trusted(from, why, sizeof(why))) != CS_OK)
		goto out;
	if (!to_pg && query_int(src, "SELECT coalesce(max(version), 0) FROM "
	    "schema_version") != CS_DB_PG_VERSION) {
		snprintf(why, sizeof(why), _("%s is not a journal of schema "
		    "version %d"), from, CS_DB_PG_VERSION);
		r = CS_ERR_STATE;
		goto out;
	}
	if ((r = cs_db_open(&dst, to, 0, why, sizeof(why))) != CS_OK)
		goto out;
	if ((r = cs_db_begin(dst, CS_DB_TX_WRITE)) != CS_OK) {
		cs_db_why(dst, r, why, sizeof(why), _("cannot start writing"));
		goto out;
	}
	if ((r = target_ready(dst, why, sizeof(why))) != CS_OK)
		goto out;
	for (size_t t = 0; r == CS_OK && t < cs_db_ntables; t++)
		r = copy_table(src, dst, &cs_db_tables[t], &counts[t], why,
		    sizeof(why));
	if (r == CS_OK && to_pg)
		r = pg_after_copy(dst, why, sizeof(why));
	for (size_t t = 0; r == CS_OK && t < cs_db_ntables; t++)
		r = compare_table(src, dst, &cs_db_tables[t], why, sizeof(why));
	if (r != CS_OK)
		goto out;
	{
		cs_db_stmt *st;

		if (cs_db_prepare(dst, "SELECT hash FROM events ORDER BY id DESC "
		    "LIMIT 1", &st) == CS_OK) {
			if (cs_db_step(st) == CS_DB_ROW)
				snprintf(head, sizeof(head), "%s",
				    cs_db_column_text(st, 0));
			cs_db_finalize(st);
		}
	}
	if ((r = cs_db_commit(dst)) != CS_OK) {
		cs_db_why(dst, r, why, sizeof(why), _("cannot commit the copy"));
		goto out;
	}
	cs_db_close(dst);
	dst = NULL;
	/* A PostgreSQL source is proven by its copy: the station's whole
	 * check on the new file. */
	if (!to_pg && (r = sqlite_trusted(to, why, sizeof(why))) != CS_OK)
		goto out;
out:
	if (src != NULL)
		cs_db_rollback(src);
	if (dst != NULL)
		cs_db_rollback(dst);
	cs_db_close(src);
	cs_db_close(dst);
	if (r != CS_OK) {
		if (made_file)
			remove_sqlite(to);
		fprintf(stderr, _("cardstation journal migrate: %s; nothing was "
		    "copied\n"), why[0] ? why : cs_strerror(r));
		return CS_EXIT_FAIL;
	}
	printf(_("copied %" PRId64 " runs, %" PRId64 " cards, %" PRId64
	    " owners, %" PRId64 " records, %" PRId64 " issuances and %" PRId64
	    " events from %s to %s\n"), counts[0], counts[1], counts[2],
	    counts[3], counts[4], counts[5], from, to);
	printf(_("head %s\n"), head[0] ? head : "-");
	return CS_EXIT_OK;
}

static int init(const char *uri)
{
	char why[WHY] = "";
	cs_db *db = NULL;
	int r;

	if (!cs_db_is_uri(uri)) {
		fprintf(stderr, "%s", _("cardstation journal init: give a "
		    "PostgreSQL URI; a SQLite journal is created by the first "
		    "command that writes it\n"));
		return CS_EXIT_FAIL;
	}
	if ((r = cs_db_open(&db, uri, 0, why, sizeof(why))) == CS_OK) {
		if ((r = cs_db_begin(db, CS_DB_TX_WRITE)) != CS_OK)
			cs_db_why(db, r, why, sizeof(why), _("cannot start writing"));
		else if (pg_journal_tables(db) != 0) {
			snprintf(why, sizeof(why), "%s", _("the database already has "
			    "journal tables"));
			r = CS_ERR_STATE;
		} else if ((r = pg_create(db, why, sizeof(why))) == CS_OK &&
		    (r = cs_db_commit(db)) != CS_OK)
			cs_db_why(db, r, why, sizeof(why), _("cannot commit"));
		if (r != CS_OK)
			cs_db_rollback(db);
	}
	cs_db_close(db);
	if (r != CS_OK) {
		fprintf(stderr, _("cardstation journal init: %s\n"), why);
		return CS_EXIT_FAIL;
	}
	printf(_("created the journal's schema (version %d)\n"),
	    CS_DB_PG_VERSION);
	return CS_EXIT_OK;
}

int cmd_journal(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return CS_EXIT_OK;
	}
	if (argc == 4 && strcmp(argv[1], "migrate") == 0)
		return migrate(argv[2], argv[3]);
	if (argc == 2 && strcmp(argv[1], "init") == 0)
		return init(cs_journal_path(NULL));
	if (argc == 4 && strcmp(argv[1], "init") == 0 &&
	    strcmp(argv[2], "--journal") == 0)
		return init(argv[3]);
	usage(stderr);
	return CS_EXIT_FAIL;
}
