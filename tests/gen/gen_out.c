/* gen_out.c - TSV encoding and zip writing. */
#include "gen_out.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cs_err.h"

static int buf_put(gen_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return CS_ERR_NOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return CS_OK;
}

int gen_buf_row(gen_buf *b, const char *first, ...)
{
	va_list ap;
	const char *f = first;
	int r = CS_OK;

	va_start(ap, first);
	for (int i = 0; f != NULL && r == CS_OK; i++) {
		if (i > 0)
			r = buf_put(b, "\t", 1);
		if (r == CS_OK)
			r = buf_put(b, f, strlen(f));
		f = va_arg(ap, const char *);
	}
	va_end(ap);
	return r == CS_OK ? buf_put(b, "\n", 1) : r;
}

void gen_buf_free(gen_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int gen_tsv_encode(const gen_buf *b, int utf8, char **out, size_t *len)
{
	gen_buf crlf = {0};
	iconv_t cd = (iconv_t)-1;
	char *in, *o;
	size_t inleft, oleft, cap;
	int r = CS_ERR_NOMEM;

	*out = NULL;
	if (utf8) {
		if ((r = buf_put(&crlf, "\xef\xbb\xbf", 3)) != CS_OK ||
		    (r = buf_put(&crlf, b->p ? b->p : "", b->len)) != CS_OK)
			goto out;
		*out = crlf.p;
		*len = crlf.len;
		crlf.p = NULL;
		goto out;
	}
	for (size_t i = 0; i < b->len; i++)
		if ((r = buf_put(&crlf, b->p[i] == '\n' ? "\r\n" : &b->p[i],
		    b->p[i] == '\n' ? 2 : 1)) != CS_OK)
			goto out;
	/* glibc's CP932 is Microsoft's table: the NEC and IBM extensions
	 * (髙 FBFC, 﨑 FAB1) are there, unlike in SHIFT_JIS. */
	if ((cd = iconv_open("CP932", "UTF-8")) == (iconv_t)-1) {
		r = CS_ERR_FORMAT;
		goto out;
	}
	cap = crlf.len + 1; /* CP932 is never longer than UTF-8 */
	if ((*out = malloc(cap)) == NULL) {
		r = CS_ERR_NOMEM;
		goto out;
	}
	in = crlf.p ? crlf.p : "";
	inleft = crlf.len;
	o = *out;
	oleft = cap;
	if (iconv(cd, &in, &inleft, &o, &oleft) == (size_t)-1) {
		free(*out);
		*out = NULL;
		r = CS_ERR_FORMAT;
		goto out;
	}
	*len = cap - oleft;
	r = CS_OK;
out:
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	gen_buf_free(&crlf);
	return r;
}

int gen_zip_open(gen_zip *z, const char *path)
{
	int err;

	memset(z, 0, sizeof(*z));
	if ((z->path = strdup(path)) == NULL)
		return CS_ERR_NOMEM;
	if ((z->za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err)) == NULL)
		return CS_ERR_IO;
	return CS_OK;
}

static zip_int64_t add(gen_zip *z, const char *name, void *buf, size_t len)
{
	zip_source_t *src;
	zip_int64_t i;

	if ((src = zip_source_buffer(z->za, buf, len, 1)) == NULL) {
		free(buf);
		return -1;
	}
	if ((i = zip_file_add(z->za, name, src, ZIP_FL_ENC_UTF_8)) < 0)
		zip_source_free(src);
	return i;
}

int gen_zip_add(gen_zip *z, const char *name, void *buf, size_t len)
{
	return add(z, name, buf, len) < 0 ? CS_ERR_IO : CS_OK;
}

static const char *const zbreaks[] = {
	"dotdot", "absolute", "symlink", "too-many-entries", "bomb", "not-zip",
};

int gen_zip_break_known(const char *name)
{
	for (size_t i = 0; i < sizeof(zbreaks) / sizeof(zbreaks[0]); i++)
		if (strcmp(name, zbreaks[i]) == 0)
			return 0;
	return -1;
}

static int add_text(gen_zip *z, const char *name, const char *text,
    zip_int64_t *idx)
{
	char *copy = strdup(text);

	if (copy == NULL)
		return CS_ERR_NOMEM;
	if ((*idx = add(z, name, copy, strlen(copy))) < 0)
		return CS_ERR_IO;
	return CS_OK;
}

int gen_zip_break(gen_zip *z, const char *name)
{
	zip_int64_t i;
	int r;

	if (strcmp(name, "dotdot") == 0)
		return add_text(z, "../x", "x\n", &i);
	if (strcmp(name, "absolute") == 0)
		return add_text(z, "/etc/x", "x\n", &i);
	if (strcmp(name, "symlink") == 0) {
		/* Info-ZIP's convention: unix mode in the high 16 bits, the
		 * link target as the content. */
		if ((r = add_text(z, "link.p12", "/etc/shadow", &i)) != CS_OK)
			return r;
		return zip_file_set_external_attributes(z->za, (zip_uint64_t)i,
		    0, ZIP_OPSYS_UNIX, (zip_uint32_t)(S_IFLNK | 0777) << 16) ?
		    CS_ERR_IO : CS_OK;
	}
	if (strcmp(name, "too-many-entries") == 0) {
		char ename[32];

		for (unsigned n = 0; n < GEN_ZIP_MANY; n++) {
			snprintf(ename, sizeof(ename), "pad/%05u.txt", n);
			if ((r = add_text(z, ename, "\n", &i)) != CS_OK)
				return r;
			/* Stored: deflating 30,000 one-byte files is wasted work. */
			zip_set_file_compression(z->za, (zip_uint64_t)i,
			    ZIP_CM_STORE, 0);
		}
		return CS_OK;
	}
	if (strcmp(name, "bomb") == 0) {
		/* calloc of this size is fresh zero pages: reading them for
		 * deflate costs no memory. Level 9 reaches deflate's ratio
		 * limit (~1000:1) in about a second. */
		void *zeros = calloc(1, GEN_ZIP_BOMB);

		if (zeros == NULL)
			return CS_ERR_NOMEM;
		if ((i = add(z, "bomb.p12", zeros, GEN_ZIP_BOMB)) < 0)
			return CS_ERR_IO;
		return zip_set_file_compression(z->za, (zip_uint64_t)i,
		    ZIP_CM_DEFLATE, 9) ? CS_ERR_IO : CS_OK;
	}
	if (strcmp(name, "not-zip") == 0) {
		z->not_zip = 1;
		return CS_OK;
	}
	return CS_ERR_USAGE;
}

/* What a browser saves when the download session has timed out. */
static const char not_zip_page[] =
    "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"UTF-8\">"
    "<title>エラー</title></head>\n<body><p>セッションがタイムアウトしました。"
    "もう一度ログインしてください。</p></body></html>\n";

int gen_zip_close(gen_zip *z)
{
	int r = CS_OK;

	if (z->not_zip) {
		FILE *f;

		zip_discard(z->za);
		z->za = NULL;
		if ((f = fopen(z->path, "w")) == NULL) {
			r = CS_ERR_IO;
		} else {
			if (fputs(not_zip_page, f) == EOF)
				r = CS_ERR_IO;
			if (fclose(f) != 0)
				r = CS_ERR_IO;
		}
	} else if (z->za != NULL && zip_close(z->za) != 0) {
		zip_discard(z->za);
		r = CS_ERR_IO;
	}
	z->za = NULL;
	free(z->path);
	z->path = NULL;
	return r;
}
