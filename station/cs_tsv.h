/* cs_tsv.h - streaming reader for UPKI's tab-separated files.
 *
 * The service writes CP932 (Shift_JIS with the IBM/NEC extensions), CRLF, a
 * header row and no quoting; UTF-8, with or without BOM, and LF are accepted
 * too. Lines are decoded one at a time into a locked buffer, because the PIN
 * file is a secret: no whole copy of it, raw or decoded, is ever held. */
#ifndef CS_TSV_H
#define CS_TSV_H

#include <stddef.h>
#include <sys/types.h>

#define CS_TSV_MAXFIELDS 16
#define CS_TSV_MAXLINE 4096 /* decoded bytes; a UPKI row is a few hundred */

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

/* Decode one line of bytes to UTF-8: UTF-8 as is, otherwise CP932. */
int cs_text_to_utf8(const char *in, size_t inlen, char *out, size_t outcap,
    size_t *outlen);

#endif
