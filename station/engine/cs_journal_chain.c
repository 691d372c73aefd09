/* cs_journal_chain.c - the hash-chained event log (`log check` reads it
 * in cs_journal_check.c).
 *
 * Each event's hash is SHA-256 over a length-prefixed encoding of its
 * fields and the previous event's hash, so editing, inserting or deleting
 * an event breaks the chain from there on. Each event that changes a row
 * carries the row's new full snapshot, so an edit of runs, records, cards
 * or issuances made without an event shows as a row that differs from its
 * latest snapshot. Someone who rewrites the whole chain defeats an
 * unkeyed chain: `log check` prints the head hash for the operator to
 * note elsewhere (docs/journal.md). */
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

#define DOMAIN "cardstation journal event v1"

/* Every column, in schema order: a column missing here is a column whose
 * edits check cannot see. */
static const char *const RUN_COLS[] = {"id", "created", "certs_zip",
	"pins_zip", "certs_sha256", "pins_sha256", "profile", "mode",
	"operator", "state", NULL};
static const char *const RECORD_COLS[] = {"id", "run_id", "seq", "serial",
	"holder", "mail", "dn", "staff_no", "profile", "not_after", "state",
	"problem", "reason", "claimed_by", "pending_card_id", "card_id",
	"owner_id", "key_type", NULL};
static const char *const CARD_COLS[] = {"id", "chip_serial",
	"pkcs15_serial", "printed_no", "atr", "model", "state", "first_seen",
	"last_seen", "id_source", NULL};
static const char *const ISSUANCE_COLS[] = {"id", "record_id", "card_id",
	"cert_serial", "holder", "mail", "reader", "operator", "started",
	"finished", "outcome", "reason", NULL};
static const char *const OWNER_COLS[] = {"id", "host", "boot_id", "procfs",
	"pid", "start", "reader", "started", "ended", NULL};

const struct jr_table jr_tables[5] = {
	{"runs", RUN_COLS},
	{"records", RECORD_COLS},
	{"cards", CARD_COLS},
	{"issuances", ISSUANCE_COLS},
	{"owners", OWNER_COLS},
};

/* Columns a migration added, with the schema version that has them: a
 * journal of an older version (a test making one, a read of an old file)
 * snapshots the columns it has, as the cardstation of that version did. */
static const struct {
	const char *table, *col;
	int version;
} ADDED[] = {
	{"owners", NULL, 2}, /* a whole table */
	{"records", "owner_id", 2},
	{"records", "key_type", 2},
	{"cards", "id_source", 3},
};

bool jr_has_col(const struct jr_table *t, const char *col, int version)
{
	for (size_t i = 0; i < JR_N(ADDED); i++)
		if (strcmp(ADDED[i].table, t->name) == 0 &&
		    (ADDED[i].col == NULL || (col != NULL &&
		    strcmp(ADDED[i].col, col) == 0)))
			return version >= ADDED[i].version;
	return true;
}

const struct jr_table *jr_table(const char *name)
{
	for (size_t i = 0; i < JR_N(jr_tables); i++)
		if (strcmp(jr_tables[i].name, name) == 0)
			return &jr_tables[i];
	return NULL;
}

/* The SQL expression of a row's snapshot: a json_object() of every column.
 * The same text makes the event's snapshot and, in check, the current
 * row's, so both agree byte for byte. JSON holds no BLOB: one written
 * into a column behind our back is shown as "blob:<hex>" rather than
 * stopping the check. */
int jr_snapshot_sql(const struct jr_table *t, int version, char *buf,
    size_t len)
{
	size_t n = 0;
	int k;

	k = snprintf(buf, len, "json_object(");
	for (size_t i = 0; k >= 0 && (n += (size_t)k) < len &&
	    t->cols[i] != NULL; i++)
		k = !jr_has_col(t, t->cols[i], version) ? 0 :
		    snprintf(buf + n, len - n, "%s'%s', iif(typeof(%s) = 'blob', "
		    "'blob:' || hex(%s), %s)", i ? ", " : "", t->cols[i],
		    t->cols[i], t->cols[i], t->cols[i]);
	if (k < 0 || n >= len)
		return CS_ERR_LIMIT;
	k = snprintf(buf + n, len - n, ")");
	return k < 0 || n + (size_t)k >= len ? CS_ERR_LIMIT : CS_OK;
}


static int put_field(EVP_MD_CTX *md, const char *s)
{
	unsigned char hdr[5];
	size_t len = s ? strlen(s) : 0;

	hdr[0] = s ? 1 : 0;
	hdr[1] = (unsigned char)(len >> 24);
	hdr[2] = (unsigned char)(len >> 16);
	hdr[3] = (unsigned char)(len >> 8);
	hdr[4] = (unsigned char)len;
	if (EVP_DigestUpdate(md, hdr, sizeof(hdr)) != 1)
		return -1;
	return len && EVP_DigestUpdate(md, s, len) != 1 ? -1 : 0;
}

static int put_int(EVP_MD_CTX *md, int64_t v)
{
	char buf[24];

	if (v == 0)
		return put_field(md, NULL);
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return put_field(md, buf);
}

int jr_ev_hash(const struct jr_ev *e, char out[65])
{
	EVP_MD_CTX *md;
	unsigned char h[32];
	unsigned int hl = 0;
	int ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return CS_ERR_NOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    put_field(md, DOMAIN) == 0 && put_field(md, e->prev_hash) == 0 &&
	    put_int(md, e->id) == 0 && put_field(md, e->at) == 0 &&
	    put_int(md, e->run_id) == 0 && put_int(md, e->record_id) == 0 &&
	    put_int(md, e->card_id) == 0 && put_field(md, e->reader) == 0 &&
	    put_field(md, e->op) == 0 && put_field(md, e->kind) == 0 &&
	    put_field(md, e->detail) == 0 &&
	    EVP_DigestFinal_ex(md, h, &hl) == 1 && hl == sizeof(h);
	EVP_MD_CTX_free(md);
	if (!ok)
		return CS_ERR_CRYPTO;
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
	return CS_OK;
}

/* The detail of the event: the row's snapshot made by SQLite itself, the
 * same expression check uses, so both sides agree byte for byte. */
static int make_detail(cs_journal *j, const char *table, int64_t row_id,
    const char *reason, char **out)
{
	const struct jr_table *t = NULL;
	sqlite3_stmt *st;
	char snap[JR_SNAPSHOT_MAX], sql[JR_SNAPSHOT_MAX + 256];
	int rc, r;

	*out = NULL;
	if (table != NULL) {
		if ((t = jr_table(table)) == NULL)
			return CS_ERR_USAGE;
		if ((r = jr_snapshot_sql(t, j->version, snap, sizeof(snap))) != CS_OK)
			return r;
		snprintf(sql, sizeof(sql), "SELECT json_object('table', ?1, "
		    "'row', json((SELECT %s FROM %s WHERE id = ?2)), "
		    "'reason', ?3)", snap, t->name);
		rc = jr_prepare(j, &st, sql, "sis", table, row_id, reason);
	} else
		rc = jr_prepare(j, &st, "SELECT json_object('note', ?1)", "s",
		    reason);
	if (rc != SQLITE_OK)
		return jr_err(j, rc, NULL, 0, "");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 0);

		if (d == NULL || (*out = strdup(d)) == NULL)
			rc = SQLITE_NOMEM;
		else
			rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? CS_OK : jr_err(j, rc, NULL, 0, "");
}

int jr_event(cs_journal *j, const char *kind, const char *table,
    int64_t row_id, int64_t run_id, int64_t record_id, int64_t card_id,
    const char *reason)
{
	sqlite3_stmt *st = NULL;
	char at[JR_TIME_LEN], prev[65], hash[65];
	char *detail = NULL;
	struct jr_ev e;
	int rc, r;

	if ((r = make_detail(j, table, row_id, reason, &detail)) != CS_OK)
		return r;
	/* The caller holds the write lock (BEGIN IMMEDIATE), so last and
	 * next are stable. */
	memcpy(prev, JR_ZERO_HASH, sizeof(prev));
	e.id = 1;
	if ((rc = jr_prepare(j, &st, "SELECT id, hash FROM events ORDER BY id "
	    "DESC LIMIT 1", NULL)) != SQLITE_OK) {
		r = jr_err(j, rc, NULL, 0, "");
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 1);

		e.id = sqlite3_column_int64(st, 0) + 1;
		snprintf(prev, sizeof(prev), "%s", h ? h : "");
	} else if (rc != SQLITE_DONE) {
		r = jr_err(j, rc, NULL, 0, "");
		goto out;
	}
	jr_now(at);
	e.at = at;
	e.run_id = run_id;
	e.record_id = record_id;
	e.card_id = card_id;
	e.reader = j->reader;
	e.op = j->operator_name;
	e.kind = kind;
	e.detail = detail;
	e.prev_hash = prev;
	if ((r = jr_ev_hash(&e, hash)) != CS_OK)
		goto out;
	rc = jr_run(j, "INSERT INTO events (id, at, run_id, record_id, card_id, "
	    "reader, operator, kind, detail, prev_hash, hash) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", "isnnnssssss", e.id, at,
	    run_id, record_id, card_id, e.reader, e.op, kind, detail, prev, hash);
	if (rc != SQLITE_OK)
		r = jr_err(j, rc, NULL, 0, "");
out:
	sqlite3_finalize(st);
	free(detail);
	return r;
}
