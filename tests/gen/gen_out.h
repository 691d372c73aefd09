/* gen_out.h - writing what the service hands out: TSVs in its encoding and
 * zip archives, including archives no one should trust. */
#ifndef GEN_OUT_H
#define GEN_OUT_H

#include <stddef.h>

#include <zip.h>

/* A growing UTF-8 text, one row per gen_buf_row call. */
typedef struct gen_buf {
	char *p;
	size_t len, cap;
} gen_buf;

/* Append the NULL-terminated fields, tab separated, and a "\n". */
int gen_buf_row(gen_buf *b, const char *first, ...);
void gen_buf_free(gen_buf *b);

/* The bytes of a TSV file: CP932 with CRLF as the service writes it, or
 * (utf8) UTF-8 with a BOM and LF, which readers accept too. *out is
 * malloc'ed. */
int gen_tsv_encode(const gen_buf *b, int utf8, char **out, size_t *len);

typedef struct gen_zip {
	zip_t *za;
	char *path;
	int not_zip;
} gen_zip;

int gen_zip_open(gen_zip *z, const char *path);
/* Add a file; the zip takes buf (malloc'ed) in every case. */
int gen_zip_add(gen_zip *z, const char *name, void *buf, size_t len);

/* Archive breaks: "dotdot", "absolute", "symlink", "too-many-entries",
 * "bomb", "not-zip". */
int gen_zip_break_known(const char *name);
int gen_zip_break(gen_zip *z, const char *name);

/* Write the archive (or, for not-zip, what a failed download leaves). */
int gen_zip_close(gen_zip *z);

/* Entries too-many-entries adds: more than inspect's default limit of
 * 25,000 (sized for 20,000 people). */
#define GEN_ZIP_MANY 30000
/* Uncompressed size of the bomb entry. */
#define GEN_ZIP_BOMB (200u << 20)

#endif
