/* cs_tsv.c - line-at-a-time CP932/UTF-8 TSV decoding into locked memory. */
#include "cs_tsv.h"
#include "cs_err.h"
#include "cs_secret.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define CHUNK 16384

struct cs_tsv {
	cs_read_fn read;
	void *ctx;
	cs_secret *raw;   /* bytes read but not yet consumed */
	size_t start;     /* first unconsumed byte in raw */
	cs_secret *line;  /* the current decoded line */
	size_t lineno;
	bool eof;
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
	if ((r = cs_secret_new(&t->raw, CHUNK + CS_TSV_MAXLINE)) != CS_OK ||
	    (r = cs_secret_new(&t->line, CS_TSV_MAXLINE * 3)) != CS_OK) {
		cs_tsv_free(t);
		return r;
	}
	*out = t;
	return CS_OK;
}

void cs_tsv_free(cs_tsv *t)
{
	if (t == NULL)
		return;
	cs_secret_free(t->raw);
	cs_secret_free(t->line);
	free(t);
}

/* Make sure raw holds a whole line (or the rest of the file); returns the
 * length of the line including its LF, or 0 at the end. */
static int fill_line(cs_tsv *t, size_t *linelen)
{
	for (;;) {
		unsigned char *s = t->raw->buf + t->start;
		size_t have = t->raw->len - t->start;
		unsigned char *nl = memchr(s, '\n', have);
		ssize_t n;

		if (nl != NULL) {
			*linelen = (size_t)(nl - s) + 1;
			return CS_OK;
		}
		if (t->eof) {
			*linelen = have;
			return CS_OK;
		}
		if (have >= CS_TSV_MAXLINE)
			return CS_ERR_LIMIT;
		memmove(t->raw->buf, s, have);
		t->start = 0;
		t->raw->len = have;
		n = t->read(t->ctx, t->raw->buf + have, t->raw->cap - have);
		if (n < 0)
			return CS_ERR_IO;
		if (n == 0)
			t->eof = true;
		t->raw->len += (size_t)n;
	}
}

int cs_tsv_next(cs_tsv *t, cs_tsv_row *row, char *why, size_t whylen)
{
	size_t len, dlen;
	char *s, *p;
	int r;

	memset(row, 0, sizeof(*row));
	do {
		if ((r = fill_line(t, &len)) != CS_OK) {
			snprintf(why, whylen, "line %zu: %s", t->lineno + 1,
			    r == CS_ERR_LIMIT ? "longer than any UPKI row" :
			    "cannot be read");
			return r;
		}
		if (len == 0)
			return 0;
		s = (char *)t->raw->buf + t->start;
		t->start += len;
		t->lineno++;
		/* BOM on the first line, then the line ending. */
		if (t->lineno == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3;
			len -= 3;
		}
		while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
			len--;
	} while (len == 0); /* blank lines carry nothing */

	r = cs_text_to_utf8(s, len, (char *)t->line->buf, t->line->cap, &dlen);
	OPENSSL_cleanse(s, len);
	if (r != CS_OK) {
		snprintf(why, whylen, "line %zu: %s", t->lineno,
		    r == CS_ERR_FORMAT ? "neither CP932 nor UTF-8 text" :
		    "cannot be decoded");
		return r;
	}
	t->line->len = dlen;
	row->line = t->lineno;
	p = (char *)t->line->buf;
	for (;;) {
		char *tab = strchr(p, '\t');

		if (row->nfields == CS_TSV_MAXFIELDS) {
			snprintf(why, whylen, "line %zu: more than %d columns",
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
