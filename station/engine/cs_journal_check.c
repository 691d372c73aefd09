/* cs_journal_check.c - `log check`: the chain recomputed event by event,
 * every row compared with its latest snapshot, the schema with the one
 * this version creates (docs/journal.md). It reads what the chain
 * (cs_journal_chain.c) wrote; the journal's writers never call it. */
#include "cs_err.h"
#include "cs_db_schema.h"
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

/* The latest snapshot of every row events snapshot, found in the one
 * pass over the events: (table, row id) -> event id and the row's JSON. */
struct latest {
	const char *table;    /* one of jr_snap_tables */
	int64_t rid, eid;
	char *row;
	bool seen;            /* its row is still there */
};

struct checker {
	cs_journal *j;
	cs_jfinding_fn fn;
	void *ctx;
	cs_jcheck *out;
	struct latest *l;
	size_t nl, capl;
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

static int64_t col_id(cs_db_stmt *st, int i)
{
	return cs_db_column_null(st, i) ? 0 : cs_db_column_int(st, i);
}

/* Note the row an event's detail snapshots, if it is one. */
static int note_latest(struct checker *c, int64_t eid, const char *detail)
{
	const char *v, *idv;
	size_t vlen, idlen;
	char *table = NULL, *row = NULL, *end;
	const char *name = NULL;
	struct latest *nl;
	int64_t rid;
	int r;

	if (!jr_json_valid(detail) || jr_json_get(detail, "table", &v, &vlen) != 1 ||
	    *v != '"' || jr_json_get(detail, "row", &v, &vlen) != 1 || *v != '{')
		return CS_OK;
	if ((row = strndup(v, vlen)) == NULL)
		return CS_ERR_NOMEM;
	if (jr_json_get(row, "id", &idv, &idlen) != 1 ||
	    (rid = strtoll(idv, &end, 10), end != idv + idlen)) {
		free(row);
		return CS_OK;
	}
	jr_json_get(detail, "table", &v, &vlen);
	if ((r = jr_json_text(v, vlen, &table)) != CS_OK) {
		free(row);
		return r;
	}
	for (size_t i = 0; i < JR_N(jr_snap_tables); i++)
		if (table && strcmp(table, jr_snap_tables[i]) == 0)
			name = jr_snap_tables[i];
	free(table);
	if (name == NULL) {
		free(row);
		return CS_OK;
	}
	if (c->nl == c->capl) {
		c->capl = c->capl ? c->capl * 2 : 256;
		if ((nl = realloc(c->l, c->capl * sizeof(*nl))) == NULL) {
			free(row);
			return CS_ERR_NOMEM;
		}
		c->l = nl;
	}
	c->l[c->nl++] = (struct latest){name, rid, eid, row, false};
	return CS_OK;
}

static int by_row(const void *a, const void *b)
{
	const struct latest *x = a, *y = b;
	int t = strcmp(x->table, y->table);

	if (t != 0)
		return t;
	if (x->rid != y->rid)
		return x->rid < y->rid ? -1 : 1;
	return x->eid < y->eid ? 1 : x->eid > y->eid ? -1 : 0;
}

/* Sorted by table and row, the latest event of each row first; the older
 * ones dropped. */
static void keep_latest(struct checker *c)
{
	size_t n = 0;

	if (c->nl == 0)
		return;
	qsort(c->l, c->nl, sizeof(*c->l), by_row);
	for (size_t i = 0; i < c->nl; i++) {
		if (n > 0 && strcmp(c->l[n - 1].table, c->l[i].table) == 0 &&
		    c->l[n - 1].rid == c->l[i].rid) {
			free(c->l[i].row);
			continue;
		}
		c->l[n++] = c->l[i];
	}
	c->nl = n;
}

static int by_row_only(const void *a, const void *b)
{
	const struct latest *x = a, *y = b;
	int t = strcmp(x->table, y->table);

	if (t != 0)
		return t;
	return x->rid < y->rid ? -1 : x->rid > y->rid ? 1 : 0;
}

static struct latest *find_latest(struct checker *c, const char *table,
    int64_t rid)
{
	struct latest key = {table, rid, INT64_MAX, NULL, false};

	if (c->nl == 0)
		return NULL;
	return bsearch(&key, c->l, c->nl, sizeof(*c->l), by_row_only);
}

static void free_latest(struct checker *c)
{
	for (size_t i = 0; i < c->nl; i++)
		free(c->l[i].row);
	free(c->l);
	c->l = NULL;
	c->nl = c->capl = 0;
}

/* PostgreSQL keeps the last event's id and hash in chain_head: a last
 * event deleted leaves no gap in the ids, but a head that names an event
 * the chain lacks. */
static int check_head(struct checker *c, int64_t last, const char *hash)
{
	cs_db_stmt *st;
	int r;

	if ((r = jr_prepare(c->j, &st, "SELECT last_id, hash FROM chain_head",
	    NULL)) != CS_OK)
		return r;
	if ((r = cs_db_step(st)) == CS_DB_ROW) {
		int64_t id = cs_db_column_int(st, 0);
		const char *h = cs_db_column_text(st, 1);

		if (id != last || h == NULL || strcmp(h, hash) != 0)
			found(c, "chain_head", 1, NULL, id, "the chain head names "
			    "event %" PRId64 " (%.16s...), but the last event is %"
			    PRId64 " (%.16s...): events were deleted or the head was "
			    "changed", id, h ? h : "-", last, hash);
	} else if (r == CS_DB_DONE)
		found(c, "chain_head", 1, NULL, 0, "the chain head row is missing");
	cs_db_finalize(st);
	return r < 0 ? r : CS_OK;
}

static int check_chain(struct checker *c)
{
	cs_db_stmt *st;
	char prev[65], hash[65];
	int64_t last = 0;
	int rc, r = CS_OK;

	memcpy(prev, JR_ZERO_HASH, sizeof(prev));
	if ((r = jr_prepare(c->j, &st, "SELECT id, at, run_id, record_id, "
	    "card_id, reader, operator, kind, detail, prev_hash, hash FROM "
	    "events ORDER BY id", NULL)) != CS_OK)
		return r;
	while ((rc = cs_db_step(st)) == CS_DB_ROW) {
		struct jr_ev e;
		const char *stored_prev, *stored;

		e.id = cs_db_column_int(st, 0);
		e.at = cs_db_column_text(st, 1);
		e.run_id = col_id(st, 2);
		e.record_id = col_id(st, 3);
		e.card_id = col_id(st, 4);
		e.reader = cs_db_column_text(st, 5);
		e.op = cs_db_column_text(st, 6);
		e.kind = cs_db_column_text(st, 7);
		e.detail = cs_db_column_text(st, 8);
		stored_prev = cs_db_column_text(st, 9);
		stored = cs_db_column_text(st, 10);
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
		if ((r = note_latest(c, e.id, e.detail)) != CS_OK)
			break;
		snprintf(prev, sizeof(prev), "%s", stored ? stored : "");
		last = e.id;
	}
	if (r == CS_OK && rc != CS_DB_DONE)
		r = rc;
	memcpy(c->out->head, prev, sizeof(c->out->head));
	cs_db_finalize(st);
	if (r == CS_OK)
		keep_latest(c);
	if (r == CS_OK && jr_pg(c->j))
		r = check_head(c, last, prev);
	return r;
}

/* The schema objects of db (table, index, trigger, view) with their SQL,
 * one "type name on tbl_name: sql" line each, sorted. SQLite's statistics
 * tables (ANALYZE) change nothing a station relies on and are left out. */
static int schema_lines(cs_db *db, char ***out, size_t *n)
{
	cs_db_stmt *st;
	char **v = NULL, **nv;
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = cs_db_prepare(db, cs_db_backend_of(db) == CS_DB_PG ?
	    CS_DB_PG_SCHEMA_SQL : "SELECT type || ' ' || name || ' on ' || "
	    "tbl_name || ': ' || coalesce(sql, '') FROM main.sqlite_schema WHERE "
	    "name NOT LIKE 'sqlite_stat%' ORDER BY 1", &st)) != CS_OK)
		return r;
	while ((r = cs_db_step(st)) == CS_DB_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = CS_ERR_NOMEM;
				break;
			}
			v = nv;
		}
		if ((v[*n] = strdup(cs_db_column_text(st, 0))) == NULL) {
			r = CS_ERR_NOMEM;
			break;
		}
		(*n)++;
	}
	cs_db_finalize(st);
	*out = v;
	return r == CS_DB_DONE ? CS_OK : r;
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
 * the schema itself is compared with what this version creates (on
 * PostgreSQL as its catalogue describes it, CS_DB_PG_SCHEMA_SQL). */
static int check_schema(struct checker *c)
{
	cs_db *ref = NULL;
	char **want = NULL, **have = NULL;
	size_t nwant = 0, nhave = 0;
	int r;

	if (jr_pg(c->j)) {
		/* The reference is this version's list: a read-only
		 * transaction may not build a scratch schema to read it from. */
		if ((want = calloc(cs_db_pg_nschema_lines, sizeof(*want))) == NULL)
			return CS_ERR_NOMEM;
		for (; nwant < cs_db_pg_nschema_lines; nwant++)
			if ((want[nwant] = strdup(cs_db_pg_schema_lines[nwant])) ==
			    NULL) {
				free_lines(want, nwant);
				return CS_ERR_NOMEM;
			}
		r = CS_OK;
	} else if ((r = jr_schema_reference(&ref)) == CS_OK)
		r = schema_lines(ref, &want, &nwant);
	if (r == CS_OK)
		r = schema_lines(c->j->db, &have, &nhave);
	if (r != CS_OK) {
		cs_db_close(ref);
		free_lines(want, nwant);
		free_lines(have, nhave);
		return r;
	}
	for (size_t i = 0; i < nwant; i++)
		if (!in_lines(have, nhave, want[i]))
			found(c, "schema", 0, NULL, 0, "the schema lacks what this "
			    "cardstation creates, or has it changed: %s", want[i]);
	for (size_t i = 0; i < nhave; i++)
		if (!in_lines(want, nwant, have[i]))
			found(c, "schema", 0, NULL, 0, "the schema has what this "
			    "cardstation never creates: %s", have[i]);
	cs_db_close(ref);
	free_lines(want, nwant);
	free_lines(have, nhave);
	return CS_OK;
}

/* One row beside its latest snapshot. */
static void judge_row(struct checker *c, const char *table, int64_t id,
    const char *cur)
{
	struct latest *l = find_latest(c, table, id);
	char col[64];

	c->out->rows++;
	if (l == NULL) {
		found(c, table, id, NULL, 0, "%s row %" PRId64 " was added "
		    "without an event", table, id);
		return;
	}
	l->seen = true;
	if (strcmp(cur, l->row) == 0)
		return;
	jr_json_diff(cur, l->row, col, sizeof(col));
	if (*col == '\0') /* same values, other spelling */
		return;
	found(c, table, id, col, l->eid, "%s row %" PRId64 " column %s was "
	    "edited: it differs from event %" PRId64, table, id, col, l->eid);
}

/* A snapshot whose row is gone. */
static void judge_gone(struct checker *c, const struct latest *l)
{
	c->out->rows++;
	found(c, l->table, l->rid, NULL, l->eid, "%s row %" PRId64 " was "
	    "deleted: event %" PRId64 " has it", l->table, l->rid, l->eid);
}

/* Every current row beside its latest snapshot, and every snapshot whose
 * row is gone, in the order of their ids. The snapshot is made as the
 * events' is (cs_db_json_row), so both agree byte for byte. */
static int check_table(struct checker *c, const struct cs_db_table *t)
{
	struct jr_snap snap;
	cs_db_stmt *st;
	char sql[JR_SNAPSHOT_MAX], *cur;
	size_t gone = 0, end;
	int r;

	if ((r = jr_snap_cols(t, c->j->version, jr_pg(c->j), sql,
	    sizeof(sql) - 32, &snap)) !=
	    CS_OK)
		return r;
	strcat(sql, " ORDER BY id");
	/* This table's snapshots: a run of the sorted list. */
	while (gone < c->nl && strcmp(c->l[gone].table, t->name) != 0)
		gone++;
	for (end = gone; end < c->nl && strcmp(c->l[end].table, t->name) == 0;)
		end++;
	if ((r = jr_prepare(c->j, &st, sql, NULL)) != CS_OK)
		return r;
	while ((r = cs_db_step(st)) == CS_DB_ROW) {
		int64_t id = cs_db_column_int(st, 0);

		if ((r = cs_db_json_row(st, snap.cols, snap.kinds, &cur)) != CS_OK)
			break;
		/* Deleted rows with a smaller id first. */
		for (; gone < end && c->l[gone].rid < id; gone++)
			if (!c->l[gone].seen)
				judge_gone(c, &c->l[gone]);
		judge_row(c, t->name, id, cur);
		free(cur);
	}
	cs_db_finalize(st);
	if (r != CS_DB_DONE)
		return r;
	for (; gone < end; gone++)
		if (!c->l[gone].seen && c->l[gone].rid != 0)
			judge_gone(c, &c->l[gone]);
	return CS_OK;
}

int cs_journal_check(cs_journal *j, cs_jfinding_fn fn, void *ctx,
    cs_jcheck *out, char *why, size_t whylen)
{
	struct checker c = {j, fn, ctx, out, NULL, 0, 0};
	int r;

	memset(out, 0, sizeof(*out));
	/* One read transaction: chain and tables seen at the same moment
	 * (inside a write transaction: the head its events moved, stored). */
	r = j->in_tx || j->in_write ? jr_chain_head_store(j) : CS_OK;
	if (r == CS_OK)
		r = j->in_tx || j->in_write ?
		    cs_db_exec(j->db, "SAVEPOINT cs_check") :
		    cs_db_begin(j->db, CS_DB_TX_READ);
	if (r != CS_OK)
		return jr_err(j, r, why, whylen, "cannot read");
	j->in_read = true;
	r = check_schema(&c);
	if (r == CS_OK)
		r = check_chain(&c);
	for (size_t i = 0; r == CS_OK && i < JR_N(jr_snap_tables); i++) {
		const struct cs_db_table *t = jr_table(jr_snap_tables[i]);

		if (jr_has_col(t, NULL, j->version))
			r = check_table(&c, t);
	}
	/* The reason before the transaction ends: its end resets it. */
	if (r != CS_OK)
		jr_why(why, whylen, _("journal: cannot check: %s"),
		    cs_db_errmsg(j->db)[0] ? cs_db_errmsg(j->db) : cs_strerror(r));
	j->in_read = false;
	if (j->in_tx || j->in_write)
		cs_db_exec(j->db, "RELEASE cs_check");
	else
		cs_db_commit(j->db);
	free_latest(&c);
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
