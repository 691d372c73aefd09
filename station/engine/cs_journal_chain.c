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

#define DOMAIN "cardstation journal event v1"

/* The tables whose rows events snapshot, in the order check reads them;
 * their columns (every one, in schema order, with its kind) are
 * cs_db_schema.c's: a column missing there is a column whose edits check
 * cannot see. */
const char *const jr_snap_tables[5] = {
	"runs", "records", "cards", "issuances", "owners"};

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

bool jr_has_col(const struct cs_db_table *t, const char *col, int version)
{
	for (size_t i = 0; i < JR_N(ADDED); i++)
		if (strcmp(ADDED[i].table, t->name) == 0 &&
		    (ADDED[i].col == NULL || (col != NULL &&
		    strcmp(ADDED[i].col, col) == 0)))
			return version >= ADDED[i].version;
	return true;
}

const struct cs_db_table *jr_table(const char *name)
{
	for (size_t i = 0; i < JR_N(jr_snap_tables); i++)
		if (strcmp(jr_snap_tables[i], name) == 0)
			for (size_t k = 0; k < cs_db_ntables; k++)
				if (strcmp(cs_db_tables[k].name, name) == 0)
					return &cs_db_tables[k];
	return NULL;
}

int jr_snap_cols(const struct cs_db_table *t, int version, bool pg,
    char *sql, size_t len, struct jr_snap *out)
{
	size_t n = 0, k = 0;
	int w = snprintf(sql, len, "SELECT ");

	for (size_t i = 0; w >= 0 && (n += (size_t)w) < len &&
	    t->cols[i] != NULL; i++) {
		w = 0;
		if (!jr_has_col(t, t->cols[i], version))
			continue;
		if (k + 1 >= JR_N(out->cols))
			return CS_ERR_LIMIT;
		out->cols[k] = t->cols[i];
		out->kinds[k] = t->kinds[i];
		/* JSON holds no BLOB: one written into a SQLite column behind our
		 * back shows as "blob:<hex>" rather than stopping the check
		 * (PostgreSQL's columns have one type each). */
		w = pg ? snprintf(sql + n, len - n, "%s%s", k ? ", " : "",
		    t->cols[i]) : snprintf(sql + n, len - n, "%siif(typeof(%s) = "
		    "'blob', 'blob:' || hex(%s), %s)", k ? ", " : "", t->cols[i],
		    t->cols[i], t->cols[i]);
		k++;
	}
	out->cols[k] = NULL;
	out->kinds[k] = '\0';
	if (w < 0 || n >= len)
		return CS_ERR_LIMIT;
	w = snprintf(sql + n, len - n, " FROM %s", t->name);
	return w < 0 || n + (size_t)w >= len ? CS_ERR_LIMIT : CS_OK;
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

/* Text pieces joined into a malloc'd string; NULL pieces end it. */
static char *join(const char *a, ...)
{
	va_list ap;
	size_t n = 0;
	char *out, *p;

	va_start(ap, a);
	for (const char *s = a; s != NULL; s = va_arg(ap, const char *))
		n += strlen(s);
	va_end(ap);
	if ((out = p = malloc(n + 1)) == NULL)
		return NULL;
	va_start(ap, a);
	for (const char *s = a; s != NULL; s = va_arg(ap, const char *)) {
		size_t l = strlen(s);

		memcpy(p, s, l);
		p += l;
	}
	va_end(ap);
	*p = '\0';
	return out;
}

/* The detail of the event: {"table":..,"row":{snapshot},"reason":..} or
 * {"note":..}, the bytes SQLite's json_object() made of them (cs_db_json),
 * on either backend. */
static int make_detail(cs_journal *j, const char *table, int64_t row_id,
    const char *reason, char **out)
{
	const struct cs_db_table *t;
	struct jr_snap snap;
	cs_db_stmt *st;
	char sql[JR_SNAPSHOT_MAX], *row = NULL, *tq = NULL, *rq = NULL;
	int r;

	*out = NULL;
	if (table == NULL) {
		if ((rq = cs_db_json_string(reason)) == NULL)
			return CS_ERR_NOMEM;
		*out = join("{\"note\":", rq, "}", NULL);
		free(rq);
		return *out ? CS_OK : CS_ERR_NOMEM;
	}
	if ((t = jr_table(table)) == NULL)
		return CS_ERR_USAGE;
	if ((r = jr_snap_cols(t, j->version, jr_pg(j), sql, sizeof(sql) - 32,
	    &snap)) !=
	    CS_OK)
		return r;
	strcat(sql, " WHERE id = ?1");
	if ((r = jr_prepare(j, &st, sql, "i", row_id)) != CS_OK)
		return r;
	if ((r = jr_step(j, st)) == CS_DB_ROW)
		r = cs_db_json_row(st, snap.cols, snap.kinds, &row);
	else if (r == CS_DB_DONE && (row = strdup("null")) == NULL)
		r = CS_ERR_NOMEM;
	cs_db_finalize(st);
	if (r < 0)
		return r;
	if ((tq = cs_db_json_string(table)) != NULL &&
	    (rq = cs_db_json_string(reason)) != NULL)
		*out = join("{\"table\":", tq, ",\"row\":", row, ",\"reason\":",
		    rq, "}", NULL);
	free(row);
	free(tq);
	free(rq);
	return *out ? CS_OK : CS_ERR_NOMEM;
}

/* The head as sql's one row (id, hash) gives it: CS_DB_ROW (the head is
 * known then), CS_DB_DONE (no row) or a cs_err. */
static int read_head(cs_journal *j, const char *sql)
{
	cs_db_stmt *st;
	int r;

	if ((r = jr_prepare(j, &st, sql, NULL)) != CS_OK)
		return r;
	if ((r = cs_db_step(st)) == CS_DB_ROW) {
		const char *h = cs_db_column_text(st, 1);

		j->head_id = cs_db_column_int(st, 0);
		snprintf(j->head_hash, sizeof(j->head_hash), "%s", h ? h : "");
		j->head_known = true;
	}
	cs_db_finalize(st);
	return r;
}

int jr_chain_head(cs_journal *j)
{
	int r;

	if (j->head_known)
		return CS_OK;
	r = read_head(j, "SELECT id, hash FROM events ORDER BY id DESC LIMIT 1");
	if (r == CS_DB_DONE) { /* no event yet */
		j->head_id = 0;
		memcpy(j->head_hash, JR_ZERO_HASH, sizeof(j->head_hash));
		j->head_known = true;
	}
	return r < 0 ? r : CS_OK;
}

int jr_chain_lock(cs_journal *j)
{
	int r = read_head(j, CS_DB_PG_CHAIN_LOCK);

	/* No head row: log check names it. */
	return r == CS_DB_ROW ? CS_OK : r == CS_DB_DONE ? CS_ERR_DB : r;
}

int jr_chain_head_store(cs_journal *j)
{
	int r;

	if (!j->head_moved)
		return CS_OK;
	if ((r = jr_chain_head(j)) == CS_OK &&
	    (r = jr_run(j, "UPDATE chain_head SET last_id = ?1, hash = ?2",
	    "is", j->head_id, j->head_hash)) == CS_OK)
		j->head_moved = false;
	return r;
}

int jr_event(cs_journal *j, const char *kind, const char *table,
    int64_t row_id, int64_t run_id, int64_t record_id, int64_t card_id,
    const char *reason)
{
	char at[JR_TIME_LEN], hash[65];
	char *detail = NULL;
	struct jr_ev e;
	int r;

	if ((r = make_detail(j, table, row_id, reason, &detail)) != CS_OK)
		return r;
	/* The caller holds the write lock (SQLite's BEGIN IMMEDIATE, the
	 * chain head's row lock on PostgreSQL), so the head stays ours. */
	if ((r = jr_chain_head(j)) != CS_OK)
		goto out;
	jr_now(at);
	e.id = j->head_id + 1;
	e.at = at;
	e.run_id = run_id;
	e.record_id = record_id;
	e.card_id = card_id;
	e.reader = j->reader;
	e.op = j->operator_name;
	e.kind = kind;
	e.detail = detail;
	e.prev_hash = j->head_hash;
	if ((r = jr_ev_hash(&e, hash)) != CS_OK)
		goto out;
	r = jr_run(j, "INSERT INTO events (id, at, run_id, record_id, card_id, "
	    "reader, operator, kind, detail, prev_hash, hash) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", "isnnnssssss", e.id, at,
	    run_id, record_id, card_id, e.reader, e.op, kind, detail,
	    j->head_hash, hash);
	if (r == CS_OK) {
		j->head_id = e.id;
		memcpy(j->head_hash, hash, sizeof(j->head_hash));
		j->head_moved = jr_pg(j);
	} else
		j->head_known = false;
out:
	free(detail);
	return r;
}

/* --- reading JSON ---------------------------------------------------- */

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *skip_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int k = 1; k <= 4; k++)
					if (!((p[k] >= '0' && p[k] <= '9') ||
					    (p[k] >= 'a' && p[k] <= 'f') ||
					    (p[k] >= 'A' && p[k] <= 'F')))
						return NULL;
				p += 4;
			} else if (strchr("\"\\/bfnrt", *p) == NULL || *p == '\0')
				return NULL;
		}
	}
	return p + 1;
}

static const char *skip_number(const char *p)
{
	const char *q;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.') {
		q = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == q)
			return NULL;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		q = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == q)
			return NULL;
	}
	return p;
}

/* Past the value at p (no leading white space), or NULL if it is none. */
static const char *skip_value(const char *p, int depth)
{
	char close;

	if (depth > 64)
		return NULL;
	switch (*p) {
	case '"': return skip_string(p);
	case 't': return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f': return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n': return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
	case '{': case '[':
		close = *p == '{' ? '}' : ']';
		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if ((p = skip_string(p)) == NULL)
					return NULL;
				if (*(p = ws(p)) != ':')
					return NULL;
				p = ws(p + 1);
			}
			if ((p = skip_value(p, depth + 1)) == NULL)
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p = ws(p + 1);
		}
	}
	return skip_number(p);
}

bool jr_json_valid(const char *s)
{
	const char *p;

	return s != NULL && (p = skip_value(ws(s), 0)) != NULL && *ws(p) == '\0';
}

static void put_utf8(char **o, unsigned long c)
{
	unsigned char *u = (unsigned char *)*o;

	if (c < 0x80)
		*u++ = (unsigned char)c;
	else if (c < 0x800) {
		*u++ = (unsigned char)(0xc0 | (c >> 6));
		*u++ = (unsigned char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		*u++ = (unsigned char)(0xe0 | (c >> 12));
		*u++ = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (c & 0x3f));
	} else {
		*u++ = (unsigned char)(0xf0 | (c >> 18));
		*u++ = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
		*u++ = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (c & 0x3f));
	}
	*o = (char *)u;
}

/* The string at p (valid, with its quotes) unescaped into a malloc'd
 * text. */
static char *unescape(const char *p, size_t len)
{
	const char *end = p + len - 1;
	char *out = malloc(len + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (p++; p < end; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned long c = strtoul((char[5]){p[1], p[2], p[3], p[4], 0},
			    NULL, 16);

			p += 4;
			if (c >= 0xd800 && c < 0xdc00 && p + 6 < end + 1 &&
			    p[1] == '\\' && p[2] == 'u') {
				unsigned long lo = strtoul((char[5]){p[3], p[4], p[5],
				    p[6], 0}, NULL, 16);

				if (lo >= 0xdc00 && lo < 0xe000) {
					c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				}
			}
			put_utf8(&o, c);
			break;
		}
		default: *o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* Walk an object's members: *p at '{' first; each call gives the next
 * member's key span and value span. 1 for a member, 0 at the end, -1 when
 * it is no object. */
static int next_member(const char **p, const char **k, size_t *klen,
    const char **v, size_t *vlen)
{
	const char *q = ws(*p);

	if (*q == '{') {
		q = ws(q + 1);
		if (*q == '}')
			return 0;
	} else if (*q == ',')
		q = ws(q + 1);
	else
		return 0;
	*k = q;
	if ((q = skip_string(q)) == NULL)
		return -1;
	*klen = (size_t)(q - *k);
	if (*(q = ws(q)) != ':')
		return -1;
	*v = q = ws(q + 1);
	if ((q = skip_value(q, 1)) == NULL)
		return -1;
	*vlen = (size_t)(q - *v);
	q = ws(q);
	if (*q != ',' && *q != '}')
		return -1;
	*p = *q == '}' ? "" : q;
	return 1;
}

static bool key_is(const char *k, size_t klen, const char *key)
{
	char *u;
	bool same;

	if (memchr(k, '\\', klen) == NULL)
		return klen == strlen(key) + 2 && memcmp(k + 1, key, klen - 2) == 0;
	if ((u = unescape(k, klen)) == NULL)
		return false;
	same = strcmp(u, key) == 0;
	free(u);
	return same;
}

int jr_json_get(const char *s, const char *key, const char **v,
    size_t *vlen)
{
	const char *p = s, *k;
	size_t klen;

	if (s == NULL || *ws(s) != '{')
		return 0;
	while (next_member(&p, &k, &klen, v, vlen) == 1)
		if (key_is(k, klen, key))
			return 1;
	return 0;
}

int jr_json_text(const char *v, size_t vlen, char **out)
{
	*out = NULL;
	if (vlen == 4 && strncmp(v, "null", 4) == 0)
		return CS_OK;
	if (*v == '"')
		*out = unescape(v, vlen);
	else if (vlen == 4 && strncmp(v, "true", 4) == 0)
		*out = strdup("1");
	else if (vlen == 5 && strncmp(v, "false", 5) == 0)
		*out = strdup("0");
	else
		*out = strndup(v, vlen);
	return *out ? CS_OK : CS_ERR_NOMEM;
}

/* A value's type as json_each names it (null, true, false, integer, real,
 * text, object, array). */
static const char *json_type(const char *v, size_t vlen)
{
	switch (*v) {
	case 'n': return "null";
	case 't': return "true";
	case 'f': return "false";
	case '"': return "text";
	case '{': return "object";
	case '[': return "array";
	}
	return memchr(v, '.', vlen) || memchr(v, 'e', vlen) ||
	    memchr(v, 'E', vlen) ? "real" : "integer";
}

/* Whether b has a member key (unescaped) with a value of the same type
 * and value as (v, vlen); *had says whether b has the key at all. */
static bool same_member(const char *b, const char *key, const char *v,
    size_t vlen, bool *had)
{
	const char *bv;
	size_t bvlen;
	char *x = NULL, *y = NULL;
	bool same;

	*had = jr_json_get(b, key, &bv, &bvlen) == 1;
	if (!*had)
		return strcmp(json_type(v, vlen), "null") == 0;
	if (strcmp(json_type(v, vlen), json_type(bv, bvlen)) != 0)
		return false;
	if (jr_json_text(v, vlen, &x) != CS_OK ||
	    jr_json_text(bv, bvlen, &y) != CS_OK)
		same = false;
	else
		same = (x == NULL && y == NULL) ||
		    (x != NULL && y != NULL && strcmp(x, y) == 0);
	free(x);
	free(y);
	return same;
}

void jr_json_diff(const char *a, const char *b, char *key, size_t keylen)
{
	const char *p, *k, *v;
	size_t klen, vlen;
	bool had;

	*key = '\0';
	for (int pass = 0; pass < 2; pass++) {
		const char *x = pass ? b : a, *y = pass ? a : b;

		p = x;
		while (next_member(&p, &k, &klen, &v, &vlen) == 1) {
			char *name = unescape(k, klen);
			bool same;

			if (name == NULL)
				return;
			same = same_member(y, name, v, vlen, &had);
			/* The second pass names what a lacks only. */
			if (pass ? !had : !same) {
				snprintf(key, keylen, "%s", name);
				free(name);
				return;
			}
			free(name);
		}
	}
}
