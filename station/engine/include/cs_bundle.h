/* cs_bundle.h - a UPKI "P12 bulk" download pair, joined into records.
 *
 * clientAll.zip holds client.txt (the index) and one <serial>.p12 per
 * person; clientAllPin.zip (or clientPin.zip) holds the access PINs. Opening
 * reads both TSVs and joins them on 主体者DN + 利用者mail; every PKCS#12 stays
 * in the zip until cs_bundle_load() reads and decrypts it, one at a time. */
#ifndef CS_BUNDLE_H
#define CS_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cs_codes.h"
#include "cs_p12.h"
#include "cs_problem.h"
#include "cs_zip.h"

typedef struct cs_record {
	size_t index_line;  /* line in client.txt, 0 if none */
	size_t pin_line;    /* line in the PIN file, 0 if none */
	char serial[CS_SERIAL_SIZE]; /* canonical decimal; "" when unknown */
	char *name;         /* 利用者氏名, UTF-8 */
	char *mail;         /* 利用者mail */
	char *dn;           /* 主体者DN */
	long p12;           /* entry in the certificate archive, -1 if none */
	size_t pin_off;     /* into the locked PIN arena; SIZE_MAX if none */
	cs_problem problem; /* found by the join; the P12 checks come later */
	char *why;
} cs_record;

typedef struct cs_bundle {
	cs_zip *certs;
	cs_zip *pins;
	const char *index_name; /* "client.txt" */
	const char *pin_name;   /* "clientAllPin.txt" or "clientPin.txt" */
	cs_record *rec;         /* index order, then PIN-only rows, then orphans */
	size_t nrec;
	struct cs_secret *pinarena;
	uint64_t max_rows;      /* people at most: the archive entry limit */
} cs_bundle;

typedef struct cs_bundle_opts {
	cs_zip_limits limits;
	const char *institution; /* required O, or NULL */
	time_t now;
} cs_bundle_opts;

void cs_bundle_default_opts(cs_bundle_opts *o);

/* Whole-archive problems (not a zip, limits, swapped pair, no index) fail
 * here with a reason; record problems are kept on the records. */
int cs_bundle_open(cs_bundle **out, const char *certs_zip, const char *pins_zip,
    const cs_bundle_opts *o, char *why, size_t whylen);
/* The same, the refusal as a message (code bundle.*, its parameters, and
 * the archive or text reader's words as the detail) for front ends that
 * render it themselves; cs_bundle_open gives its text in the locale's
 * language. */
int cs_bundle_open_msg(cs_bundle **out, const char *certs_zip,
    const char *pins_zip, const cs_bundle_opts *o, cs_msg *m);
void cs_bundle_free(cs_bundle *b);

/* The record's access PIN (locked memory), or NULL. */
const char *cs_bundle_pin(const cs_bundle *b, const cs_record *r);

/* Read the record's PKCS#12 from the zip, decrypt it and make every check.
 * On CS_PROBLEM_NONE *out holds key and certificate (cs_p12_free it).
 * info is filled as far as the file could be read. */
cs_problem cs_bundle_load(cs_bundle *b, const cs_record *r,
    const cs_bundle_opts *o, cs_p12 **out, cs_p12_info *info, char *why,
    size_t whylen);

#endif
