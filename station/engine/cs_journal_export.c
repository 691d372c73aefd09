/* cs_journal_export.c - issuances as CSV (UTF-8 or CP932) and JSON.
 *
 * CSV follows RFC 4180: CRLF line ends, a field holding a comma, a double
 * quote, CR or LF is quoted and its quotes doubled. CP932 is for
 * spreadsheet users in Japan; glibc's CP932 already maps the JIS
 * look-alikes (WAVE DASH, MINUS SIGN, ...) to what Windows shows. A
 * character CP932 has no form for (é, 𠮷, emoji) is written as 〓 (GETA
 * MARK, the Japanese printer's sign for a missing glyph) and reported
 * through the warn callback: the export stays complete, and the operator
 * learns which row and column to read in the UTF-8 export instead. */
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_json.h"

#include <errno.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const COLUMNS[] = {
	"issuance", "run", "record", "card", "holder", "mail", "cert_serial",
	"chip_serial", "pkcs15_serial", "printed_no", "reader", "operator",
	"started", "finished", "outcome", "reason",
};
#define NCOL (sizeof(COLUMNS) / sizeof(COLUMNS[0]))

static const char GETA[] = "\x81\xac";

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *np = realloc(b->p, cap);

		if (np == NULL)
			return CS_ERR_NOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return CS_OK;
}

/* RFC 4180 quoting of one field, in UTF-8. */
static int csv_escape(struct buf *b, const char *s)
{
	int r = CS_OK;

	b->len = 0;
	if (buf_put(b, "", 0) != CS_OK)
		return CS_ERR_NOMEM;
	if (s == NULL)
		return CS_OK;
	if (strpbrk(s, ",\"\r\n") == NULL)
		return buf_put(b, s, strlen(s));
	r = buf_put(b, "\"", 1);
	for (; r == CS_OK && *s != '\0'; s++)
		r = *s == '"' ? buf_put(b, "\"\"", 2) : buf_put(b, s, 1);
	if (r == CS_OK)
		r = buf_put(b, "\"", 1);
	return r;
}

/* Length of the UTF-8 sequence at s (1 for a stray byte). */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	size_t n = *s < 0x80 ? 1 : *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 :
	    *s >= 0xc0 ? 2 : 1;

	if (n > left)
		return 1;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/* UTF-8 in to CP932 out; *replaced counts the characters written as 〓. */
static int to_cp932(iconv_t cd, const struct buf *in, struct buf *out,
    size_t *replaced)
{
	char *ip = in->p;
	size_t il = in->len;
	char chunk[256];

	out->len = 0;
	*replaced = 0;
	if (buf_put(out, "", 0) != CS_OK)
		return CS_ERR_NOMEM;
	iconv(cd, NULL, NULL, NULL, NULL);
	while (il > 0) {
		char *op = chunk;
		size_t ol = sizeof(chunk);
		size_t rc = iconv(cd, &ip, &il, &op, &ol);
		int e = errno;

		if (buf_put(out, chunk, sizeof(chunk) - ol) != CS_OK)
			return CS_ERR_NOMEM;
		if (rc != (size_t)-1 || e == E2BIG)
			continue;
		if (e != EILSEQ && e != EINVAL)
			return CS_ERR_FORMAT;
		/* No CP932 form (or not UTF-8 at all): one 〓 for it. */
		{
			size_t n = utf8_len((const unsigned char *)ip, il);

			ip += n;
			il -= n;
		}
		if (buf_put(out, GETA, 2) != CS_OK)
			return CS_ERR_NOMEM;
		(*replaced)++;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	return CS_OK;
}

int cs_jexport_csv_line(FILE *f, const char *const *names,
    const char *const *field, size_t n, cs_jcsv_enc enc, int64_t id,
    cs_jexport_warn_fn warn, void *ctx)
{
	struct buf esc = {0}, conv = {0};
	iconv_t cd = (iconv_t)-1;
	int r = CS_OK;

	if (enc == CS_JCSV_CP932 &&
	    (cd = iconv_open("CP932", "UTF-8")) == (iconv_t)-1)
		return CS_ERR_FORMAT;
	for (size_t i = 0; r == CS_OK && i < n; i++) {
		const struct buf *outb = &esc;

		if ((r = csv_escape(&esc, field[i])) != CS_OK)
			break;
		if (cd != (iconv_t)-1) {
			size_t replaced;

			if ((r = to_cp932(cd, &esc, &conv, &replaced)) != CS_OK)
				break;
			if (replaced > 0 && warn != NULL)
				warn(ctx, id, names[i], field[i]);
			outb = &conv;
		}
		if ((i > 0 && fputc(',', f) == EOF) ||
		    fwrite(outb->p, 1, outb->len, f) != outb->len)
			r = CS_ERR_IO;
	}
	if (r == CS_OK && fputs("\r\n", f) == EOF)
		r = CS_ERR_IO;
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	free(esc.p);
	free(conv.p);
	return r;
}

int cs_jexport_csv_header(FILE *f, cs_jcsv_enc enc)
{
	return cs_jexport_csv_line(f, COLUMNS, COLUMNS, NCOL, enc, 0, NULL, NULL);
}

static void id_text(char buf[24], int64_t v)
{
	if (v == 0)
		buf[0] = '\0';
	else
		snprintf(buf, 24, "%" PRId64, v);
}

int cs_jexport_csv_row(FILE *f, const cs_jissuance_view *v, cs_jcsv_enc enc,
    cs_jexport_warn_fn warn, void *ctx)
{
	char id[24], run[24], rec[24], card[24];
	const char *field[NCOL];

	id_text(id, v->iss.id);
	id_text(run, v->run_id);
	id_text(rec, v->iss.record_id);
	id_text(card, v->iss.card_id);
	field[0] = id;
	field[1] = run;
	field[2] = rec;
	field[3] = card;
	field[4] = v->iss.holder;
	field[5] = v->iss.mail;
	field[6] = v->iss.cert_serial;
	field[7] = v->chip_serial;
	field[8] = v->pkcs15_serial;
	field[9] = v->printed_no;
	field[10] = v->iss.reader;
	field[11] = v->iss.operator_name;
	field[12] = v->iss.started;
	field[13] = v->iss.finished;
	field[14] = cs_jissue_outcome_name(v->iss.outcome);
	field[15] = v->iss.reason;
	return cs_jexport_csv_line(f, COLUMNS, field, NCOL, enc, v->iss.id, warn,
	    ctx);
}

static void json_int(FILE *f, const char *key, int64_t v)
{
	fputc(',', f);
	cs_json_str(f, key);
	if (v == 0)
		fputs(":null", f);
	else
		fprintf(f, ":%" PRId64, v);
}

int cs_jexport_json_row(FILE *f, const cs_jissuance_view *v, int first)
{
	if (!first)
		fputc(',', f);
	fprintf(f, "{\"issuance\":%" PRId64, v->iss.id);
	json_int(f, "run", v->run_id);
	json_int(f, "record", v->iss.record_id);
	json_int(f, "card", v->iss.card_id);
	/* Serials are strings: values of up to 20 octets do not fit a JSON
	 * number that scripts can read exactly. */
	cs_json_kv(f, 0, "holder", v->iss.holder);
	cs_json_kv(f, 0, "mail", v->iss.mail);
	cs_json_kv(f, 0, "cert_serial", v->iss.cert_serial);
	cs_json_kv(f, 0, "chip_serial", v->chip_serial);
	cs_json_kv(f, 0, "pkcs15_serial", v->pkcs15_serial);
	cs_json_kv(f, 0, "printed_no", v->printed_no);
	cs_json_kv(f, 0, "reader", v->iss.reader);
	cs_json_kv(f, 0, "operator", v->iss.operator_name);
	cs_json_kv(f, 0, "started", v->iss.started);
	cs_json_kv(f, 0, "finished", v->iss.finished);
	cs_json_kv(f, 0, "outcome", cs_jissue_outcome_name(v->iss.outcome));
	cs_json_kv(f, 0, "reason", v->iss.reason);
	fputc('}', f);
	return ferror(f) ? CS_ERR_IO : CS_OK;
}
