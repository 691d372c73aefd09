/* cs_zip.h - reading a downloaded archive safely, straight into memory.
 *
 * Nothing is extracted to disk. Opening checks the whole archive before a
 * byte of content is read: entry names (no "..", no absolute path, no
 * link), the number of entries, declared sizes and compression ratios. Reads
 * give exactly the declared size: more or fewer bytes is an error, so a
 * lying header can neither inflate more nor cut a file short. */
#ifndef CS_ZIP_H
#define CS_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "cs_tsv.h"

typedef struct cs_zip_limits {
	uint64_t max_entries; /* files in one archive */
	uint64_t max_entry;   /* uncompressed bytes of one file */
	uint64_t max_total;   /* uncompressed bytes of all files */
	uint64_t max_ratio;   /* uncompressed/compressed, for files over 64 KiB */
} cs_zip_limits;

/* Sized for an institution of 20,000 people with room to spare. */
void cs_zip_default_limits(cs_zip_limits *lim);

typedef struct cs_zip cs_zip;

int cs_zip_open(cs_zip **out, const char *path, const cs_zip_limits *lim,
    char *why, size_t whylen);
void cs_zip_close(cs_zip *z);

size_t cs_zip_count(const cs_zip *z);
const char *cs_zip_name(const cs_zip *z, size_t i);
/* Index of the entry with this exact name, or -1. */
long cs_zip_find(const cs_zip *z, const char *name);

/* Read entry i whole into a malloc'ed buffer (non-secret content only). */
int cs_zip_read(cs_zip *z, size_t i, unsigned char **buf, size_t *len,
    char *why, size_t whylen);

/* Stream entry i through a cs_read_fn (used for the TSVs). */
typedef struct cs_zip_stream cs_zip_stream;
int cs_zip_stream_open(cs_zip *z, size_t i, cs_zip_stream **out);
/* -1 when the entry cannot be read or does not hold exactly the bytes its
 * headers declare; cs_zip_stream_why then names the entry and the reason. */
ssize_t cs_zip_stream_read(void *stream, void *buf, size_t n);
const char *cs_zip_stream_why(const cs_zip_stream *s);
void cs_zip_stream_close(cs_zip_stream *s);

#endif
