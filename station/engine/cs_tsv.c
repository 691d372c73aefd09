/* cs_tsv.c - line-at-a-time CP932/UTF-8 TSV decoding into locked memory.
 *
 * The encoding is decided once per file, never per line: a CP932 line of
 * half-width katakana can be valid UTF-8 too (ﾅｶﾞｲ is C5 B6 DE B2, which
 * UTF-8 reads as two other letters), so no line can speak for itself. A
 * file is UTF-8 when it starts with a byte order mark, or when its header
 * row (the first non-blank one) is valid UTF-8 and names a UPKI column
 * (シリアル番号, 利用者氏名, ...) in UTF-8; those words written in CP932
 * are never valid UTF-8. Anything else is CP932, the service's encoding. */
#include "cs_tsv.h"
#include "cs_err.h"
#include "cs_secret.h"
#include "cs_i18n.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define BOM "\xef\xbb\xbf"
#define BOMLEN 3

enum enc { ENC_UNDECIDED, ENC_UTF8, ENC_CP932 };

struct cs_tsv {
	cs_read_fn read;
	void *ctx;
	cs_secret *chunk; /* bytes read; [pos, len) not yet consumed */
	size_t pos;
	cs_secret *raw;   /* the current row's bytes, without its line end */
	cs_secret *line;  /* the current row decoded */
	size_t lineno;
	bool eof;
	bool after_cr;    /* the last row ended in CR: an LF now ends nothing */
	enum enc enc;
	const char *enc_by; /* what decided the encoding, for error messages */
	iconv_t cd;       /* CP932 to UTF-8 */
};

/* The columns of client.txt and of the PIN files, as UTF-8. */
static const char *const UPKI_COLUMNS[] = {
	"シリアル番号", "利用者氏名", "利用者mail", "主体者DN", "アクセスPIN",
};

static bool valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			k = 1; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3; cp = c & 0x07;
		} else {
			return false;
		}
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 ||
		    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

int cs_text_to_utf8(const char *in, size_t inlen, char *out, size_t outcap,
    size_t *outlen)
{
	iconv_t cd;
	char *ip = (char *)in, *op = out;
	size_t il = inlen, ol = outcap;
	int r = CS_OK;

	if (valid_utf8((const unsigned char *)in, inlen)) {
		if (inlen >= outcap)
			return CS_ERR_LIMIT;
		memcpy(out, in, inlen);
		out[inlen] = '\0';
		*outlen = inlen;
		return CS_OK;
	}
	if ((cd = iconv_open("UTF-8", "CP932")) == (iconv_t)-1)
		return CS_ERR_STATE;
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1)
		r = errno == E2BIG ? CS_ERR_LIMIT : CS_ERR_FORMAT;
	else if (ol == 0)
		r = CS_ERR_LIMIT;
	iconv_close(cd);
	if (r != CS_OK)
		return r;
	*op = '\0';
	*outlen = (size_t)(op - out);
	return CS_OK;
}

int cs_tsv_open(cs_tsv **out, cs_read_fn fn, void *ctx)
{
	cs_tsv *t;
	int r;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return CS_ERR_NOMEM;
	t->read = fn;
	t->ctx = ctx;
	t->cd = (iconv_t)-1;
	/* A row is at most CS_TSV_MAXLINE bytes (the first may carry a BOM
	 * more); decoded, a byte becomes at most three (half-width kana). */
	if ((r = cs_secret_new(&t->chunk, CS_TSV_CHUNK)) != CS_OK ||
	    (r = cs_secret_new(&t->raw, CS_TSV_MAXLINE + BOMLEN)) != CS_OK ||
	    (r = cs_secret_new(&t->line, CS_TSV_MAXLINE * 3 + 1)) != CS_OK) {
		cs_tsv_free(t);
		return r;
	}
	if ((t->cd = iconv_open("UTF-8", "CP932")) == (iconv_t)-1) {
		cs_tsv_free(t);
		return CS_ERR_STATE;
	}
	*out = t;
	return CS_OK;
}

void cs_tsv_free(cs_tsv *t)
{
	if (t == NULL)
		return;
	if (t->cd != (iconv_t)-1)
		iconv_close(t->cd);
	cs_secret_free(t->chunk);
	cs_secret_free(t->raw);
	cs_secret_free(t->line);
	free(t);
}

const char *cs_tsv_encoding(const cs_tsv *t)
{
	return t->enc == ENC_UTF8 ? "UTF-8" : t->enc == ENC_CP932 ? "CP932" :
	    NULL;
}

/* Copy the next row into raw, without its line end: CR, LF or CRLF, so a
 * file of CR-only line ends is rows too. Returns 1 and the row's length, 0
 * at the end, or a negative cs_err. The limit is on the row alone: how its
 * bytes arrive in chunks plays no part. */
static int read_row(cs_tsv *t, size_t *rowlen)
{
	size_t n = 0, limit = CS_TSV_MAXLINE + BOMLEN;
	bool any = false;

	t->raw->len = 0;
	for (;;) {
		unsigned char *s;
		size_t have, k;
		bool ended = false;

		if (t->pos == t->chunk->len) {
			ssize_t got;

			if (t->eof)
				break;
			got = t->read(t->ctx, t->chunk->buf, CS_TSV_CHUNK);
			if (got < 0)
				return CS_ERR_IO;
			t->pos = 0;
			t->chunk->len = (size_t)got;
			if (got == 0) {
				t->eof = true;
				break;
			}
		}
		s = t->chunk->buf + t->pos;
		have = t->chunk->len - t->pos;
		if (t->after_cr) {
			t->after_cr = false;
			if (s[0] == '\n') { /* the LF of a CRLF */
				t->pos++;
				continue;
			}
		}
		any = true;
		for (k = 0; k < have && s[k] != '\n' && s[k] != '\r'; k++)
			;
		if (k > limit - n) /* a BOM is checked for, and off, later */
			return CS_ERR_LIMIT;
		memcpy(t->raw->buf + n, s, k);
		n += k;
		t->raw->len = n;
		if (k < have) {
			t->after_cr = s[k] == '\r';
			ended = true;
			k++;
		}
		OPENSSL_cleanse(s, k); /* the row's bytes now live in raw only */
		t->pos += k;
		if (ended)
			break;
	}
	*rowlen = n;
	return any ? 1 : 0;
}

/* UTF-8 only when the header row says so in UTF-8 (see the top). */
static bool utf8_header(const unsigned char *s, size_t n)
{
	if (!valid_utf8(s, n))
		return false;
	for (size_t b = 0; b <= n;) {
		size_t e = b;

		while (e < n && s[e] != '\t')
			e++;
		for (size_t i = 0; i < sizeof(UPKI_COLUMNS) /
		    sizeof(UPKI_COLUMNS[0]); i++)
			if (strlen(UPKI_COLUMNS[i]) == e - b &&
			    memcmp(UPKI_COLUMNS[i], s + b, e - b) == 0)
				return true;
		b = e + 1;
	}
	return false;
}

static int decode(cs_tsv *t, const unsigned char *s, size_t len)
{
	char *ip = (char *)s, *op = (char *)t->line->buf;
	size_t il = len, ol = t->line->cap;

	if (t->enc == ENC_UTF8) {
		if (!valid_utf8(s, len))
			return CS_ERR_FORMAT;
		memcpy(op, s, len);
		op += len;
	} else {
		iconv(t->cd, NULL, NULL, NULL, NULL);
		if (iconv(t->cd, &ip, &il, &op, &ol) == (size_t)-1 ||
		    iconv(t->cd, NULL, NULL, &op, &ol) == (size_t)-1)
			return errno == E2BIG ? CS_ERR_LIMIT : CS_ERR_FORMAT;
		if (ol == 0)
			return CS_ERR_LIMIT;
	}
	*op = '\0';
	t->line->len = (size_t)(op - (char *)t->line->buf);
	return CS_OK;
}

int cs_tsv_next(cs_tsv *t, cs_tsv_row *row, char *why, size_t whylen)
{
	unsigned char *s;
	size_t len;
	char *p;
	int r;

	memset(row, 0, sizeof(*row));
	do {
		if ((r = read_row(t, &len)) < 0) {
			if (r == CS_ERR_LIMIT)
				snprintf(why, whylen, _("line %zu: longer than %d "
				    "bytes (no UPKI row is)"), t->lineno + 1,
				    CS_TSV_MAXLINE);
			else
				snprintf(why, whylen, _("line %zu: cannot be read"),
				    t->lineno + 1);
			return r;
		}
		if (r == 0)
			return 0;
		s = t->raw->buf;
		t->lineno++;
		if (t->lineno == 1 && len >= BOMLEN &&
		    memcmp(s, BOM, BOMLEN) == 0) {
			s += BOMLEN;
			len -= BOMLEN;
			t->enc = ENC_UTF8;
			t->enc_by = "its byte order mark";
		}
		if (len > CS_TSV_MAXLINE) {
			snprintf(why, whylen, _("line %zu: longer than %d bytes (no "
			    "UPKI row is)"), t->lineno, CS_TSV_MAXLINE);
			return CS_ERR_LIMIT;
		}
		if (memchr(s, '\0', len) != NULL) {
			snprintf(why, whylen, _("line %zu: holds a NUL byte, which "
			    "no text has"), t->lineno);
			return CS_ERR_FORMAT;
		}
	} while (len == 0); /* blank lines carry nothing */

	if (t->enc == ENC_UNDECIDED) {
		bool utf8 = utf8_header(s, len);

		t->enc = utf8 ? ENC_UTF8 : ENC_CP932;
		t->enc_by = utf8 ? "its header row" : "default: no byte order "
		    "mark, no UPKI header row in UTF-8";
	}
	r = decode(t, s, len);
	OPENSSL_cleanse(t->raw->buf, t->raw->len);
	if (r != CS_OK) {
		if (r == CS_ERR_FORMAT)
			snprintf(why, whylen, _("line %zu: not %s text (the file is "
			    "%s by %s)"), t->lineno, cs_tsv_encoding(t),
			    cs_tsv_encoding(t), t->enc_by);
		else
			snprintf(why, whylen, _("line %zu: cannot be decoded"),
			    t->lineno);
		return r;
	}
	row->line = t->lineno;
	p = (char *)t->line->buf;
	for (;;) {
		char *tab = strchr(p, '\t');

		if (row->nfields == CS_TSV_MAXFIELDS) {
			snprintf(why, whylen, _("line %zu: more than %d columns"),
			    t->lineno, CS_TSV_MAXFIELDS);
			return CS_ERR_FORMAT;
		}
		row->field[row->nfields++] = p;
		if (tab == NULL)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	return 1;
}
