/* cs_tsv.h - streaming reader for UPKI's tab-separated files.
 *
 * The service writes CP932 (Shift_JIS with the IBM/NEC extensions), CRLF, a
 * header row and no quoting; UTF-8 and LF or CR line ends are accepted too.
 * The encoding is decided once for the whole file: UTF-8 when it starts with
 * a byte order mark or its header row names UPKI's columns in UTF-8, CP932
 * otherwise (a CP932 line of half-width kana can pass for UTF-8, so no line
 * is judged on its own). Lines are decoded one at a time into a locked
 * buffer, because the PIN file is a secret: no whole copy of it, raw or
 * decoded, is ever held. */
#ifndef CS_TSV_H
#define CS_TSV_H

#include <stddef.h>
#include <sys/types.h>

#define CS_TSV_MAXFIELDS 16
/* Bytes of one row in the file, without its line end (or the BOM): a UPKI
 * row is a few hundred. The same for every row wherever it lies. */
#define CS_TSV_MAXLINE 4096
/* Bytes asked of the read function at a time (tests cross this edge). */
#define CS_TSV_CHUNK 16384

/* Reads up to n bytes into buf; returns the count, 0 at end, -1 on error. */
typedef ssize_t (*cs_read_fn)(void *ctx, void *buf, size_t n);

typedef struct cs_tsv_row {
	size_t line;     /* 1-based line number in the file */
	size_t nfields;
	char *field[CS_TSV_MAXFIELDS]; /* UTF-8, valid until the next call */
} cs_tsv_row;

typedef struct cs_tsv cs_tsv;

int cs_tsv_open(cs_tsv **out, cs_read_fn fn, void *ctx);
/* 1 and a row, 0 at the end, or a negative cs_err (why tells the line). */
int cs_tsv_next(cs_tsv *t, cs_tsv_row *row, char *why, size_t whylen);
void cs_tsv_free(cs_tsv *t);
/* "UTF-8" or "CP932" once the first row is read, NULL before. */
const char *cs_tsv_encoding(const cs_tsv *t);

/* Decode one line of bytes to UTF-8: UTF-8 as is, otherwise CP932. A guess
 * per line, for lists whose text is ASCII; never for names (see above). */
int cs_text_to_utf8(const char *in, size_t inlen, char *out, size_t outcap,
    size_t *outlen);

#endif
