/* cs_journal_check.c - `log check`: the chain recomputed event by event,
 * every row compared with its latest snapshot, the schema with the one
 * this version creates (docs/journal.md). It reads what the chain
 * (cs_journal_chain.c) wrote; the journal's writers never call it. */
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_journal_int.h"
#include "cs_journal_chain.h"
#include "cs_i18n.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* --- check ---------------------------------------------------------- */

struct checker {
	cs_journal *j;
	cs_jfinding_fn fn;
	void *ctx;
	cs_jcheck *out;
};

static void found(struct checker *c, const char *table, int64_t row_id,
    const char *column, int64_t event_id, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void found(struct checker *c, const char *table, int64_t row_id,
    const char *column, int64_t event_id, const char *fmt, ...)
{
	cs_jfinding f;
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	f.table = table;
	f.row_id = row_id;
	f.column = column;
	f.event_id = event_id;
	f.what = what;
	c->out->findings++;
	if (c->fn != NULL)
		c->fn(c->ctx, &f);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int64_t col_id(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(st, i);
}

static int check_chain(struct checker *c)
{
	sqlite3_stmt *st;
	char prev[65], hash[65];
	int64_t last = 0;
	int rc, r = CS_OK;

	memcpy(prev, JR_ZERO_HASH, sizeof(prev));
	if ((rc = jr_prepare(c->j, &st, "SELECT id, at, run_id, record_id, "
	    "card_id, reader, operator, kind, detail, prev_hash, hash FROM "
	    "events ORDER BY id", NULL)) != SQLITE_OK)
		return jr_err(c->j, rc, NULL, 0, "");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct jr_ev e;
		const char *stored_prev, *stored;

		e.id = sqlite3_column_int64(st, 0);
		e.at = col_text(st, 1);
		e.run_id = col_id(st, 2);
		e.record_id = col_id(st, 3);
		e.card_id = col_id(st, 4);
		e.reader = col_text(st, 5);
		e.op = col_text(st, 6);
		e.kind = col_text(st, 7);
		e.detail = col_text(st, 8);
		stored_prev = col_text(st, 9);
		stored = col_text(st, 10);
		c->out->events++;
		if (e.id == last + 2)
			found(c, "events", last + 1, NULL, last + 1, "event %" PRId64
			    " is missing (deleted): event %" PRId64 " follows event %"
			    PRId64, last + 1, e.id, last);
		else if (e.id != last + 1)
			found(c, "events", last + 1, NULL, last + 1, "events %" PRId64
			    " to %" PRId64 " are missing (deleted)", last + 1, e.id - 1);
		else if (stored_prev == NULL || strcmp(stored_prev, prev) != 0)
			found(c, "events", e.id, "prev_hash", e.id, "event %" PRId64
			    " does not follow event %" PRId64 " (prev_hash differs: "
			    "an event was removed, inserted or rewritten)", e.id, last);
		/* Hash what is stored, so one edit is named once and the
		 * events after it are judged on their own. */
		e.prev_hash = stored_prev;
		if ((r = jr_ev_hash(&e, hash)) != CS_OK)
			break;
		if (stored == NULL || strcmp(stored, hash) != 0)
			found(c, "events", e.id, NULL, e.id, "event %" PRId64 " (%s) "
			    "was edited: its hash does not match its contents",
			    e.id, e.kind ? e.kind : "?");
		snprintf(prev, sizeof(prev), "%s", stored ? stored : "");
		last = e.id;
	}
	if (r == CS_OK && rc != SQLITE_DONE)
		r = jr_err(c->j, rc, NULL, 0, "");
	memcpy(c->out->head, prev, sizeof(c->out->head));
	sqlite3_finalize(st);
	return r;
}

/* The first column (key) where two snapshots differ, by value and type. A
 * snapshot taken before a migration added a column lacks that key: it
 * reads as NULL, which is what the migration gave every old row. */
static int diff_column(cs_journal *j, const char *cur, const char *snap,
    char *col, size_t collen)
{
	sqlite3_stmt *st;
	int rc;

	*col = '\0';
	rc = jr_prepare(j, &st, "SELECT a.key FROM json_each(?1) a LEFT JOIN "
	    "json_each(?2) b ON b.key = a.key WHERE (b.key IS NULL AND "
	    "a.type <> 'null') OR a.type <> b.type OR a.atom IS NOT b.atom "
	    "UNION ALL SELECT b.key "
	    "FROM json_each(?2) b WHERE NOT EXISTS (SELECT 1 FROM json_each(?1) "
	    "a WHERE a.key = b.key) LIMIT 1", "ss", cur, snap);
	if (rc != SQLITE_OK)
		return jr_err(j, rc, NULL, 0, "");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		snprintf(col, collen, "%s", col_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? CS_OK :
	    jr_err(j, rc, NULL, 0, "");
}

/* The schema objects of db (table, index, trigger, view) with their SQL,
 * one "type name on tbl_name: sql" line each, sorted. SQLite's statistics
 * tables (ANALYZE) change nothing a station relies on and are left out. */
static int schema_lines(sqlite3 *db, char ***out, size_t *n)
{
	sqlite3_stmt *st;
	char **v = NULL, **nv;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(db, "SELECT type || ' ' || name || ' on ' || "
	    "tbl_name || ': ' || coalesce(sql, '') FROM main.sqlite_schema WHERE "
	    "name NOT LIKE 'sqlite_stat%' ORDER BY 1", -1, &st, NULL)) != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		if ((v[*n] = strdup((const char *)sqlite3_column_text(st, 0))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		(*n)++;
	}
	sqlite3_finalize(st);
	*out = v;
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool in_lines(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* The guards a station relies on live in the schema: the unique index that
 * refuses a certificate on two live cards, the CHECKs on states. A dropped
 * index or an added trigger leaves every row and event as they were, so
 * the schema itself is compared with what this version creates. */
static int check_schema(struct checker *c)
{
	sqlite3 *ref = NULL;
	char **want = NULL, **have = NULL;
	size_t nwant = 0, nhave = 0;
	int rc;

	if ((rc = jr_schema_reference(&ref)) == SQLITE_OK &&
	    (rc = schema_lines(ref, &want, &nwant)) == SQLITE_OK)
		rc = schema_lines(c->j->db, &have, &nhave);
	if (rc != SQLITE_OK) {
		sqlite3_close(ref);
		free_lines(want, nwant);
		free_lines(have, nhave);
		return rc == SQLITE_NOMEM ? CS_ERR_NOMEM : CS_ERR_DB;
	}
	for (size_t i = 0; i < nwant; i++)
		if (!in_lines(have, nhave, want[i]))
			found(c, "schema", 0, NULL, 0, "the schema lacks what this "
			    "cardstation creates, or has it changed: %s", want[i]);
	for (size_t i = 0; i < nhave; i++)
		if (!in_lines(want, nwant, have[i]))
			found(c, "schema", 0, NULL, 0, "the schema has what this "
			    "cardstation never creates: %s", have[i]);
	sqlite3_close(ref);
	free_lines(want, nwant);
	free_lines(have, nhave);
	return CS_OK;
}

/* The latest event of every snapshotted row, found in one pass over the
 * events into a temporary table keyed by (table, row): each table's check
 * is then an indexed join, not a scan of the events per row. */
static int index_latest(struct checker *c)
{
	int rc;

	rc = sqlite3_exec(c->j->db, "CREATE TEMP TABLE IF NOT EXISTS cs_latest ("
	    " tbl TEXT NOT NULL, rid INTEGER NOT NULL, eid INTEGER NOT NULL,"
	    " PRIMARY KEY (tbl, rid)) WITHOUT ROWID;"
	    "DELETE FROM temp.cs_latest;"
	    "INSERT INTO temp.cs_latest SELECT json_extract(detail, '$.table'),"
	    " json_extract(detail, '$.row.id'), max(id) FROM events"
	    " WHERE json_valid(detail) AND json_extract(detail, '$.table')"
	    " IS NOT NULL AND json_extract(detail, '$.row.id') IS NOT NULL"
	    " GROUP BY 1, 2;", NULL, NULL, NULL);
	return rc == SQLITE_OK ? CS_OK : jr_err(c->j, rc, NULL, 0, "");
}

static int check_table(struct checker *c, const struct jr_table *t)
{
	sqlite3_stmt *st;
	char expr[JR_SNAPSHOT_MAX], sql[JR_SNAPSHOT_MAX + 1024], col[64];
	int rc, r = CS_OK;

	if ((r = jr_snapshot_sql(t, c->j->version, expr, sizeof(expr))) != CS_OK)
		return r;

	/* Every current row beside its latest snapshot, then every snapshot
	 * whose row is gone. */
	snprintf(sql, sizeof(sql),
	    "SELECT t.id, t.snap, l.eid, json_extract(e.detail, '$.row') FROM"
	    " (SELECT id, %s AS snap FROM %s) t LEFT JOIN temp.cs_latest l ON l.tbl = ?1 AND l.rid = t.id"
	    " LEFT JOIN events e ON e.id = l.eid "
	    "UNION ALL SELECT l.rid, NULL, l.eid, json_extract(e.detail, '$.row')"
	    " FROM temp.cs_latest l JOIN events e ON e.id = l.eid"
	    " WHERE l.tbl = ?1 AND json_extract(e.detail, '$.row') IS NOT NULL"
	    " AND NOT EXISTS (SELECT 1 FROM %s t2 WHERE t2.id = l.rid) ORDER BY 1",
	    expr, t->name, t->name);
	if ((rc = jr_prepare(c->j, &st, sql, "s", t->name)) != SQLITE_OK)
		return jr_err(c->j, rc, NULL, 0, "");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *cur = col_text(st, 1);
		int64_t eid = col_id(st, 2);
		const char *snap = col_text(st, 3);

		c->out->rows++;
		if (cur == NULL && snap != NULL) {
			found(c, t->name, id, NULL, eid, "%s row %" PRId64 " was "
			    "deleted: event %" PRId64 " has it", t->name, id, eid);
			continue;
		}
		if (snap == NULL) {
			found(c, t->name, id, NULL, 0, "%s row %" PRId64 " was added "
			    "without an event", t->name, id);
			continue;
		}
		if (strcmp(cur, snap) == 0)
			continue;
		if ((r = diff_column(c->j, cur, snap, col, sizeof(col))) != CS_OK)
			break;
		if (*col == '\0') /* same values, other spelling */
			continue;
		found(c, t->name, id, col, eid, "%s row %" PRId64 " column %s was "
		    "edited: it differs from event %" PRId64, t->name, id, col, eid);
	}
	if (r == CS_OK && rc != SQLITE_DONE)
		r = jr_err(c->j, rc, NULL, 0, "");
	sqlite3_finalize(st);
	return r;
}

int cs_journal_check(cs_journal *j, cs_jfinding_fn fn, void *ctx,
    cs_jcheck *out, char *why, size_t whylen)
{
	struct checker c = {j, fn, ctx, out};
	int rc, r;

	memset(out, 0, sizeof(*out));
	/* One read transaction: chain and tables seen at the same moment. */
	if ((rc = sqlite3_exec(j->db, j->in_tx ? "SAVEPOINT cs_check" : "BEGIN",
	    NULL, NULL, NULL)) != SQLITE_OK)
		return jr_err(j, rc, why, whylen, "cannot read");
	r = check_schema(&c);
	if (r == CS_OK)
		r = check_chain(&c);
	if (r == CS_OK)
		r = index_latest(&c);
	for (size_t i = 0; r == CS_OK && i < JR_N(jr_tables); i++)
		if (jr_has_col(&jr_tables[i], NULL, j->version))
			r = check_table(&c, &jr_tables[i]);
	/* The reason before the transaction ends: its end resets it. */
	if (r != CS_OK)
		jr_why(why, whylen, _("journal: cannot check: %s"),
		    sqlite3_errmsg(j->db));
	sqlite3_exec(j->db, j->in_tx ? "RELEASE cs_check" : "COMMIT", NULL, NULL,
	    NULL);
	return r;
}

struct first_finding {
	char what[512];
	int n;
};

static void keep_first(void *ctx, const cs_jfinding *f)
{
	struct first_finding *ff = ctx;

	if (ff->n++ == 0)
		snprintf(ff->what, sizeof(ff->what), "%s", f->what);
}

int cs_journal_trust(cs_journal *j, char *why, size_t whylen)
{
	struct first_finding ff = {"", 0};
	cs_jcheck out;
	int r;

	if ((r = cs_journal_check(j, keep_first, &ff, &out, why, whylen)) != CS_OK)
		return r;
	if (ff.n == 0)
		return CS_OK;
	jr_why(why, whylen, _("the journal was changed behind the station's back "
	    "(%d finding%s; first: %s): nothing is written on it; see `cardstation "
	    "log check` and restore the journal from a backup"), ff.n,
	    ff.n == 1 ? "" : "s", ff.what);
	return CS_ERR_STATE;
}
