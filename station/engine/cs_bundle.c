/* cs_bundle.c - open a download pair and join index, PIN rows and files. */
#include "cs_bundle.h"
#include "cs_codes.h"
#include "cs_err.h"
#include "cs_secret.h"
#include "cs_tsv.h"
#include "cs_i18n.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#define PIN_MAX 64

static const char INDEX_NAME[] = "client.txt";
static const char *const PIN_NAMES[] = {"clientAllPin.txt", "clientPin.txt"};

/* A PIN-file row, kept until the join is done. */
struct pinrow {
	char *name, *mail, *dn;
	size_t line;
	size_t pin_off;
	bool used;
};

/* A .p12 entry, by the canonical serial of its file name. */
struct p12entry {
	char serial[CS_SERIAL_SIZE]; /* "" when the name is too long for one */
	long entry;
	bool used;
};

struct join {
	struct pinrow *pin;
	size_t npin;
	struct p12entry *p12;
	size_t np12;
};

void cs_bundle_default_opts(cs_bundle_opts *o)
{
	memset(o, 0, sizeof(*o));
	cs_zip_default_limits(&o->limits);
	o->now = time(NULL);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The entry whose file name (in any folder) is name, or -1. */
static long find_base(const cs_zip *z, const char *name)
{
	for (size_t i = 0; i < cs_zip_count(z); i++)
		if (strcmp(base_name(cs_zip_name(z, i)), name) == 0)
			return (long)i;
	return -1;
}

static long find_pin_file(const cs_zip *z, const char **name)
{
	for (size_t k = 0; k < sizeof(PIN_NAMES) / sizeof(PIN_NAMES[0]); k++) {
		long i = find_base(z, PIN_NAMES[k]);

		if (i >= 0) {
			*name = PIN_NAMES[k];
			return i;
		}
	}
	return -1;
}

static int set_why(cs_record *r, cs_problem p, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	if (r->problem != CS_PROBLEM_NONE) /* the first reason stands */
		return CS_OK;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->problem = p;
	free(r->why);
	if ((r->why = strdup(buf)) == NULL)
		return CS_ERR_NOMEM;
	return CS_OK;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t ncap;

	if (n < *cap)
		return CS_OK;
	ncap = *cap ? *cap * 2 : 256;
	if ((p = realloc(*arr, ncap * size)) == NULL)
		return CS_ERR_NOMEM;
	*arr = p;
	*cap = ncap;
	return CS_OK;
}

static bool is_header(const cs_tsv_row *row, const char *first)
{
	return row->line == 1 && strcmp(row->field[0], first) == 0;
}

static int key_cmp(const char *dn1, const char *mail1, const char *dn2,
    const char *mail2)
{
	int c = strcmp(dn1, dn2);

	return c != 0 ? c : strcasecmp(mail1, mail2);
}

static int pinrow_cmp(const void *a, const void *b)
{
	const struct pinrow *x = a, *y = b;

	return key_cmp(x->dn, x->mail, y->dn, y->mail);
}

static int p12entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct p12entry *)a)->serial,
	    ((const struct p12entry *)b)->serial);
}

/* Read the PIN file: names, mails and DNs to the heap, PINs to the arena. */
/* A row per person, and no more people than files the archive may hold:
 * memory stays bounded by the archive limits however the TSV is made. */
static int too_many_rows(const char *archive, const char *file, size_t rows,
    uint64_t max, cs_msg *m)
{
	char lim[24];

	if ((uint64_t)rows < max)
		return 0;
	snprintf(lim, sizeof(lim), "%llu", (unsigned long long)max);
	cs_msg_set(m, "bundle.too-many-rows", "archive", archive, "file", file,
	    "limit", lim, NULL);
	return 1;
}

/* A text file that stopped early: the code names the file; the tab
 * reader's or the archive's words (line, cause) are the detail. */
static void text_fail(cs_msg *m, const char *archive, const char *file,
    const cs_zip_stream *zs, const char *tsv_why)
{
	const char *d = zs != NULL && cs_zip_stream_why(zs)[0] != '\0' ?
	    cs_zip_stream_why(zs) : tsv_why;

	cs_msg_set(m, "bundle.text", "archive", archive, "file", file, NULL);
	snprintf(m->detail, sizeof(m->detail), "%s", d);
}

/* A row's line number as a parameter. */
#define LINE(v) num((char[24]){0}, 24, (unsigned long long)(v))
static const char *num(char *buf, size_t n, unsigned long long v)
{
	snprintf(buf, n, "%llu", v);
	return buf;
}

static int read_pins(cs_bundle *b, const char *archive, long entry,
    struct join *j, cs_msg *m)
{
	char why[512] = "";
	cs_zip_stream *zs = NULL;
	cs_tsv *t = NULL;
	cs_tsv_row row;
	size_t cap = 0;
	int r, got;

	if ((r = cs_secret_new(&b->pinarena, 64u * 1024)) != CS_OK) {
		cs_msg_set(m, "bundle.memlock", NULL);
		return r;
	}
	if ((r = cs_zip_stream_open(b->pins, (size_t)entry, &zs)) != CS_OK ||
	    (r = cs_tsv_open(&t, cs_zip_stream_read, zs)) != CS_OK) {
		cs_msg_set(m, "bundle.unreadable", "archive", archive, "file",
		    b->pin_name, NULL);
		goto out;
	}
	while ((got = cs_tsv_next(t, &row, why, sizeof(why))) == 1) {
		struct pinrow *p;
		size_t pinlen;

		if (is_header(&row, "利用者氏名"))
			continue;
		if (too_many_rows(archive, b->pin_name, j->npin, b->max_rows, m)) {
			r = CS_ERR_LIMIT;
			goto out;
		}
		if (row.nfields < 4) {
			cs_msg_set(m, "bundle.columns", "archive", archive, "file",
			    b->pin_name, "line", LINE(row.line), "count",
			    LINE(row.nfields), "want",
			    "利用者氏名, 利用者mail, アクセスPIN, 主体者DN", NULL);
			r = CS_ERR_FORMAT;
			goto out;
		}
		pinlen = strlen(row.field[2]);
		if (pinlen == 0 || pinlen > PIN_MAX) {
			cs_msg_set(m, pinlen ? "bundle.pin-long" : "bundle.pin-empty",
			    "archive", archive, "file", b->pin_name, "line",
			    LINE(row.line), NULL);
			r = CS_ERR_FORMAT;
			goto out;
		}
		if (b->pinarena->len + pinlen + 1 > b->pinarena->cap) {
			cs_secret *bigger;

			if ((r = cs_secret_new(&bigger, b->pinarena->cap * 2)) != CS_OK) {
				cs_msg_set(m, "bundle.memlock", NULL);
				goto out;
			}
			memcpy(bigger->buf, b->pinarena->buf, b->pinarena->len);
			bigger->len = b->pinarena->len;
			cs_secret_free(b->pinarena);
			b->pinarena = bigger;
		}
		if ((r = grow((void **)&j->pin, &cap, j->npin, sizeof(*j->pin))) != CS_OK)
			goto out;
		p = &j->pin[j->npin++];
		memset(p, 0, sizeof(*p));
		p->line = row.line;
		p->pin_off = b->pinarena->len;
		memcpy(b->pinarena->buf + p->pin_off, row.field[2], pinlen + 1);
		b->pinarena->len += pinlen + 1;
		OPENSSL_cleanse(row.field[2], pinlen);
		p->name = strdup(row.field[0]);
		p->mail = strdup(row.field[1]);
		p->dn = strdup(row.field[3]);
		if (!p->name || !p->mail || !p->dn) {
			r = CS_ERR_NOMEM;
			goto out;
		}
	}
	if (got < 0) {
		r = got;
		text_fail(m, archive, b->pin_name, zs, why);
		goto out;
	}
	if (j->npin > 0) /* an empty list has no array: qsort wants one */
		qsort(j->pin, j->npin, sizeof(*j->pin), pinrow_cmp);
	r = CS_OK;
out:
	cs_tsv_free(t);
	cs_zip_stream_close(zs);
	return r;
}

static int list_p12(cs_bundle *b, struct join *j)
{
	size_t cap = 0;
	int r;

	for (size_t i = 0; i < cs_zip_count(b->certs); i++) {
		const char *name = base_name(cs_zip_name(b->certs, i));
		size_t n = strlen(name);
		struct p12entry *e;

		if (n < 5 || strcasecmp(name + n - 4, ".p12") != 0)
			continue;
		if ((r = grow((void **)&j->p12, &cap, j->np12, sizeof(*j->p12))) != CS_OK)
			return r;
		e = &j->p12[j->np12++];
		memset(e, 0, sizeof(*e));
		e->entry = (long)i;
		/* A name that is no serial keeps its stem (it matches no row:
		 * canonical serials are digits only, up to CS_SERIAL_MAX); one
		 * too long to hold is never cut to a serial it is not. Both
		 * end as orphans that name the file. */
		if (n - 4 >= sizeof(e->serial))
			continue;
		memcpy(e->serial, name, n - 4);
		e->serial[n - 4] = '\0';
		cs_serial_canon(e->serial, e->serial, sizeof(e->serial));
	}
	if (j->np12 > 0)
		qsort(j->p12, j->np12, sizeof(*j->p12), p12entry_cmp);
	return CS_OK;
}

static cs_record *new_record(cs_bundle *b, size_t *cap)
{
	cs_record *r;

	if (grow((void **)&b->rec, cap, b->nrec, sizeof(*b->rec)) != CS_OK)
		return NULL;
	r = &b->rec[b->nrec++];
	memset(r, 0, sizeof(*r));
	r->p12 = -1;
	r->pin_off = SIZE_MAX;
	return r;
}

/* Join one index row with its PIN row and its file. */
static int join_row(cs_bundle *b, struct join *j, cs_record *r)
{
	struct pinrow key = {.dn = r->dn, .mail = r->mail}, *p;
	struct p12entry ekey, *e;

	/* Rows refused already (a duplicate serial) still claim their PIN row
	 * and file, so that those are not reported a second time. */
	if (r->problem == CS_PROBLEM_MALFORMED_ROW)
		return CS_OK;
	p = j->npin == 0 ? NULL :
	    bsearch(&key, j->pin, j->npin, sizeof(*j->pin), pinrow_cmp);
	/* Two rows for one key would be ambiguous: take the first unused. */
	while (p != NULL && p > j->pin && pinrow_cmp(p - 1, &key) == 0)
		p--;
	while (p != NULL && p->used && p + 1 < j->pin + j->npin &&
	    pinrow_cmp(p + 1, &key) == 0)
		p++;
	snprintf(ekey.serial, sizeof(ekey.serial), "%s", r->serial);
	e = r->serial[0] == '\0' || j->np12 == 0 ? NULL :
	    bsearch(&ekey, j->p12, j->np12, sizeof(*j->p12), p12entry_cmp);
	if (e != NULL) {
		e->used = true;
		r->p12 = e->entry;
	}
	if (p == NULL || p->used)
		return set_why(r, CS_PROBLEM_NO_PIN_ROW, _("no row in %s for "
		    "主体者DN %s and mail %s"), b->pin_name, r->dn, r->mail);
	p->used = true;
	r->pin_line = p->line;
	r->pin_off = p->pin_off;
	if (strcmp(p->name, r->name) != 0)
		return set_why(r, CS_PROBLEM_NAME_MISMATCH, _("%s line %zu names "
		    "%s, %s line %zu names %s"), b->index_name, r->index_line,
		    r->name, b->pin_name, p->line, p->name);
	if (e == NULL)
		return set_why(r, CS_PROBLEM_P12_MISSING, "no file %s.p12 in the "
		    "certificate archive", r->serial);
	return CS_OK;
}

static int serial_idx_cmp(const void *a, const void *b, void *ctx)
{
	const cs_record *rec = ctx;

	return strcmp(rec[*(const size_t *)a].serial, rec[*(const size_t *)b].serial);
}

static int mark_duplicates(cs_bundle *b, size_t nindex)
{
	size_t *ord = malloc((nindex ? nindex : 1) * sizeof(*ord));
	int r = CS_OK;

	if (ord == NULL)
		return CS_ERR_NOMEM;
	for (size_t i = 0; i < nindex; i++)
		ord[i] = i;
	qsort_r(ord, nindex, sizeof(*ord), serial_idx_cmp, b->rec);
	for (size_t i = 0; i + 1 < nindex && r == CS_OK; i++) {
		cs_record *x = &b->rec[ord[i]], *y = &b->rec[ord[i + 1]];

		if (x->serial[0] == '\0' || strcmp(x->serial, y->serial) != 0)
			continue;
		/* Neither row can be trusted to be the right one. */
		r = set_why(x, CS_PROBLEM_DUPLICATE_SERIAL, _("serial %s is on "
		    "lines %zu and %zu of %s"), x->serial, x->index_line,
		    y->index_line, b->index_name);
		if (r == CS_OK)
			r = set_why(y, CS_PROBLEM_DUPLICATE_SERIAL, _("serial %s is "
			    "on lines %zu and %zu of %s"), y->serial, x->index_line,
			    y->index_line, b->index_name);
	}
	free(ord);
	return r;
}

static int read_index(cs_bundle *b, const char *archive, long entry,
    size_t *cap, cs_msg *m)
{
	char why[512] = "";
	cs_zip_stream *zs = NULL;
	cs_tsv *t = NULL;
	cs_tsv_row row;
	int r, got;

	if ((r = cs_zip_stream_open(b->certs, (size_t)entry, &zs)) != CS_OK ||
	    (r = cs_tsv_open(&t, cs_zip_stream_read, zs)) != CS_OK) {
		cs_msg_set(m, "bundle.unreadable", "archive", archive, "file",
		    b->index_name, NULL);
		goto out;
	}
	while ((got = cs_tsv_next(t, &row, why, sizeof(why))) == 1) {
		cs_record *rec;

		if (is_header(&row, "シリアル番号"))
			continue;
		if (too_many_rows(archive, b->index_name, b->nrec, b->max_rows, m)) {
			r = CS_ERR_LIMIT;
			goto out;
		}
		if ((rec = new_record(b, cap)) == NULL) {
			r = CS_ERR_NOMEM;
			goto out;
		}
		rec->index_line = row.line;
		rec->name = strdup(row.nfields > 1 ? row.field[1] : "");
		rec->mail = strdup(row.nfields > 2 ? row.field[2] : "");
		rec->dn = strdup(row.nfields > 3 ? row.field[3] : "");
		if (!rec->name || !rec->mail || !rec->dn) {
			r = CS_ERR_NOMEM;
			goto out;
		}
		if (row.nfields != 4)
			r = set_why(rec, CS_PROBLEM_MALFORMED_ROW, _("%s line %zu has "
			    "%zu columns, expected シリアル番号, 利用者氏名, 利用者mail, "
			    "主体者DN"), b->index_name, row.line, row.nfields);
		else if (cs_serial_canon(row.field[0], rec->serial,
		    sizeof(rec->serial)) != CS_OK)
			r = set_why(rec, CS_PROBLEM_BAD_SERIAL, _("%s line %zu: serial "
			    "'%.60s' is not a decimal number of at most 20 octets "
			    "(2^159 - 1)"), b->index_name, row.line, row.field[0]);
		if (r != CS_OK)
			goto out;
	}
	if ((r = got < 0 ? got : CS_OK) != CS_OK)
		text_fail(m, archive, b->index_name, zs, why);
out:
	cs_tsv_free(t);
	cs_zip_stream_close(zs);
	return r;
}

/* PIN rows no index row claimed, and files no index row names. */
static int add_leftovers(cs_bundle *b, struct join *j, size_t *cap)
{
	int r = CS_OK;

	for (size_t i = 0; i < j->npin && r == CS_OK; i++) {
		struct pinrow *p = &j->pin[i];
		cs_record *rec;

		if (p->used)
			continue;
		if ((rec = new_record(b, cap)) == NULL)
			return CS_ERR_NOMEM;
		rec->pin_line = p->line;
		rec->name = p->name;
		rec->mail = p->mail;
		rec->dn = p->dn;
		p->name = p->mail = p->dn = NULL;
		r = set_why(rec, CS_PROBLEM_NO_INDEX_ROW, _("%s line %zu has no "
		    "row in %s"), b->pin_name, p->line, b->index_name);
	}
	for (size_t i = 0; i < j->np12 && r == CS_OK; i++) {
		struct p12entry *e = &j->p12[i];
		cs_record *rec;

		if (e->used)
			continue;
		if ((rec = new_record(b, cap)) == NULL)
			return CS_ERR_NOMEM;
		snprintf(rec->serial, sizeof(rec->serial), "%s", e->serial);
		rec->p12 = e->entry;
		rec->name = strdup("");
		rec->mail = strdup("");
		rec->dn = strdup("");
		if (!rec->name || !rec->mail || !rec->dn)
			return CS_ERR_NOMEM;
		r = set_why(rec, CS_PROBLEM_P12_ORPHAN, "%s has no row in %s",
		    cs_zip_name(b->certs, (size_t)e->entry), b->index_name);
	}
	return r;
}

static void join_free(struct join *j)
{
	for (size_t i = 0; i < j->npin; i++) {
		free(j->pin[i].name);
		free(j->pin[i].mail);
		free(j->pin[i].dn);
	}
	free(j->pin);
	free(j->p12);
}

static int open_pair(cs_bundle *b, const char *certs_zip, const char *pins_zip,
    const cs_bundle_opts *o, long *index, long *pinfile, cs_msg *m)
{
	char sub[400];
	const char *dummy;
	int r;

	if ((r = cs_zip_open(&b->certs, certs_zip, &o->limits, sub,
	    sizeof(sub))) != CS_OK) {
		cs_msg_set(m, "bundle.zip", "file", certs_zip, NULL);
		snprintf(m->detail, sizeof(m->detail), "%s", sub);
		return r;
	}
	if ((r = cs_zip_open(&b->pins, pins_zip, &o->limits, sub,
	    sizeof(sub))) != CS_OK) {
		cs_msg_set(m, "bundle.zip", "file", pins_zip, NULL);
		snprintf(m->detail, sizeof(m->detail), "%s", sub);
		return r;
	}
	b->index_name = INDEX_NAME;
	*index = find_base(b->certs, INDEX_NAME);
	*pinfile = find_pin_file(b->pins, &b->pin_name);
	if (*index < 0 && *pinfile < 0 && find_base(b->pins, INDEX_NAME) >= 0 &&
	    find_pin_file(b->certs, &dummy) >= 0) {
		cs_msg_set(m, "bundle.swapped", "certs", certs_zip, "pins",
		    pins_zip, NULL);
		return CS_ERR_USAGE;
	}
	if (*index < 0) {
		cs_msg_set(m, "bundle.no-index", "file", certs_zip, "index",
		    INDEX_NAME, NULL);
		return CS_ERR_FORMAT;
	}
	if (*pinfile < 0) {
		cs_msg_set(m, "bundle.no-pin-file", "file", pins_zip, NULL);
		return CS_ERR_FORMAT;
	}
	return CS_OK;
}

int cs_bundle_open(cs_bundle **out, const char *certs_zip, const char *pins_zip,
    const cs_bundle_opts *o, char *why, size_t whylen)
{
	cs_msg m;
	int r = cs_bundle_open_msg(out, certs_zip, pins_zip, o, &m);

	if (r != CS_OK)
		cs_msg_text(&m, why, whylen);
	return r;
}

int cs_bundle_open_msg(cs_bundle **out, const char *certs_zip,
    const char *pins_zip, const cs_bundle_opts *o, cs_msg *m)
{
	cs_bundle *b;
	struct join j = {0};
	long index, pinfile;
	size_t cap = 0, nindex;
	int r;

	*out = NULL;
	memset(m, 0, sizeof(*m));
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		cs_msg_set(m, "bundle.nomem", NULL);
		return CS_ERR_NOMEM;
	}
	b->max_rows = o->limits.max_entries;
	if ((r = open_pair(b, certs_zip, pins_zip, o, &index, &pinfile,
	    m)) != CS_OK ||
	    (r = read_pins(b, pins_zip, pinfile, &j, m)) != CS_OK ||
	    (r = list_p12(b, &j)) != CS_OK ||
	    (r = read_index(b, certs_zip, index, &cap, m)) != CS_OK)
		goto out;
	nindex = b->nrec;
	if ((r = mark_duplicates(b, nindex)) != CS_OK)
		goto out;
	for (size_t i = 0; i < nindex && r == CS_OK; i++)
		r = join_row(b, &j, &b->rec[i]);
	if (r == CS_OK)
		r = add_leftovers(b, &j, &cap);
out:
	/* Every failure without its own message is memory. */
	if (r != CS_OK && m->code == NULL)
		cs_msg_set(m, "bundle.nomem", NULL);
	join_free(&j);
	if (r != CS_OK)
		cs_bundle_free(b);
	else
		*out = b;
	return r;
}

void cs_bundle_free(cs_bundle *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nrec; i++) {
		free(b->rec[i].name);
		free(b->rec[i].mail);
		free(b->rec[i].dn);
		free(b->rec[i].why);
	}
	free(b->rec);
	cs_secret_free(b->pinarena);
	cs_zip_close(b->certs);
	cs_zip_close(b->pins);
	free(b);
}

const char *cs_bundle_pin(const cs_bundle *b, const cs_record *r)
{
	if (r->pin_off == SIZE_MAX || b->pinarena == NULL)
		return NULL;
	return (const char *)b->pinarena->buf + r->pin_off;
}

cs_problem cs_bundle_load(cs_bundle *b, const cs_record *r,
    const cs_bundle_opts *o, cs_p12 **out, cs_p12_info *info, char *why,
    size_t whylen)
{
	unsigned char *der = NULL;
	size_t len;
	char file_serial[CS_SERIAL_SIZE];
	size_t stem;
	const char *pin = cs_bundle_pin(b, r);
	const char *name;
	cs_p12 *p = NULL;
	cs_p12_expect e;
	cs_problem problem;

	*out = NULL;
	memset(info, 0, sizeof(*info));
	if (r->problem != CS_PROBLEM_NONE) {
		snprintf(why, whylen, "%s", r->why ? r->why : "");
		return r->problem;
	}
	if (r->p12 < 0 || pin == NULL) {
		snprintf(why, whylen, _("no PKCS#12 or no access PIN"));
		return r->p12 < 0 ? CS_PROBLEM_P12_MISSING : CS_PROBLEM_NO_PIN_ROW;
	}
	if (cs_zip_read(b->certs, (size_t)r->p12, &der, &len, why, whylen) != CS_OK)
		return CS_PROBLEM_P12_UNREADABLE;
	problem = cs_p12_open(der, len, pin, &p, why, whylen);
	free(der);
	if (problem != CS_PROBLEM_NONE)
		return problem;
	name = base_name(cs_zip_name(b->certs, (size_t)r->p12));
	stem = strlen(name) > 4 ? strlen(name) - 4 : 0;
	file_serial[0] = '\0';
	if (stem < sizeof(file_serial)) { /* never cut a name to a serial */
		memcpy(file_serial, name, stem);
		file_serial[stem] = '\0';
	}
	if (cs_serial_canon(file_serial, file_serial, sizeof(file_serial)) != CS_OK)
		file_serial[0] = '\0';
	e = (cs_p12_expect){
		.serial = r->serial,
		.file_serial = file_serial,
		.dn = r->dn,
		.mail = r->mail,
		.institution = o->institution,
		.now = o->now,
	};
	problem = cs_p12_check(p, &e, info, why, whylen);
	if (problem != CS_PROBLEM_NONE)
		cs_p12_free(p);
	else
		*out = p;
	return problem;
}
