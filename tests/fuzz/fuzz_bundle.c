/* fuzz_bundle.c - the bundle joiner (station/engine/cs_bundle.c): index, PIN file
 * and file names joined into records.
 *
 * Input: a control byte, then parts cut at NUL bytes:
 *   client.txt \0 the PIN file \0 entry names, one a line, each optionally
 *   "name<TAB>content" \0 the content of every entry named without one
 *   (a PKCS#12 in the seeds, so that loading a record gets to the checks).
 * Control bits: 0 the PIN file is clientPin.txt, 1 every entry sits in a
 * folder, 2 the archives are given swapped, 3 load every record that
 * joined (cs_bundle_load), 4 an institution is required.
 * Both archives are made with libzip in memory, put in memory files and
 * opened by cs_bundle_open() by path, as the station does.
 *
 * Properties: a refused pair says why; every record has name, mail and DN;
 * a PIN row serves one record at most; a record without a problem has a
 * canonical serial, a file, and a PIN of 1..64 bytes; no two such records
 * share a file; loading gives a known problem and holds key and
 * certificate exactly when there is none. */
#include "fuzz_util.h"

#include <string.h>
#include <zip.h>

#include "cs_bundle.h"
#include "cs_err.h"
#include "cs_p12.h"
#include "cs_secret.h"

static fuzz_file certs_file, pins_file;
static cs_p12_providers providers;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_init(&certs_file, "fuzz-clientAll.zip");
	fuzz_file_init(&pins_file, "fuzz-clientAllPin.zip");
	if (cs_p12_init(&providers) != CS_OK)
		abort();
	return 0;
}

/* An archive in memory, written with libzip. */
typedef struct zbuild {
	zip_source_t *src;
	zip_t *za;
} zbuild;

static void zb_open(zbuild *b)
{
	zip_error_t ze;

	zip_error_init(&ze);
	if ((b->src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL ||
	    (b->za = zip_open_from_source(b->src, ZIP_TRUNCATE, &ze)) == NULL)
		abort();
	zip_source_keep(b->src);
	zip_error_fini(&ze);
}

static void zb_add(zbuild *b, const char *folder, const char *name,
    const void *p, size_t len)
{
	char full[600];
	zip_source_t *s;
	zip_int64_t i;

	snprintf(full, sizeof(full), "%s%s", folder, name);
	if ((s = zip_source_buffer(b->za, p, len, 0)) == NULL)
		abort();
	/* Names libzip refuses (empty, duplicate) are simply left out. */
	if ((i = zip_file_add(b->za, full, s, ZIP_FL_ENC_UTF_8)) < 0) {
		zip_source_free(s);
		return;
	}
	zip_set_file_compression(b->za, (zip_uint64_t)i, ZIP_CM_STORE, 0);
}

/* Close the archive and put its bytes in f. */
static void zb_close(zbuild *b, fuzz_file *f)
{
	zip_stat_t st;
	char *buf;

	if (zip_close(b->za) != 0)
		abort();
	if (zip_source_stat(b->src, &st) != 0 || zip_source_open(b->src) != 0)
		abort();
	if ((buf = malloc(st.size ? st.size : 1)) == NULL ||
	    zip_source_read(b->src, buf, st.size) != (zip_int64_t)st.size)
		abort();
	zip_source_close(b->src);
	zip_source_free(b->src);
	fuzz_file_set(f, buf, st.size);
	free(buf);
}

static void check_bundle(cs_bundle *b, const cs_bundle_opts *o, int load)
{
	for (size_t i = 0; i < b->nrec; i++) {
		const cs_record *r = &b->rec[i];
		const char *pin = cs_bundle_pin(b, r);

		FUZZ_CHECK(r->name != NULL && r->mail != NULL && r->dn != NULL);
		FUZZ_CHECK(r->problem < CS_PROBLEM_COUNT);
		FUZZ_CHECK((r->problem == CS_PROBLEM_NONE) == (r->why == NULL));
		FUZZ_CHECK(memchr(r->serial, 0, sizeof(r->serial)) != NULL);
		if (r->pin_off != SIZE_MAX) {
			FUZZ_CHECK(r->pin_off < b->pinarena->len);
			FUZZ_CHECK(pin != NULL && strlen(pin) >= 1 &&
			    strlen(pin) <= 64);
		}
		for (size_t k = 0; k < i; k++) {
			const cs_record *q = &b->rec[k];

			FUZZ_CHECK(r->pin_line == 0 || q->pin_line != r->pin_line);
			if (r->problem == CS_PROBLEM_NONE &&
			    q->problem == CS_PROBLEM_NONE)
				FUZZ_CHECK(q->p12 != r->p12);
		}
		if (r->problem == CS_PROBLEM_NONE) {
			char canon[CS_SERIAL_SIZE];

			FUZZ_CHECK(r->p12 >= 0 && pin != NULL && r->index_line > 0);
			FUZZ_CHECK(cs_serial_canon(r->serial, canon,
			    sizeof(canon)) == CS_OK && strcmp(canon, r->serial) == 0);
		}
		if (load) {
			cs_p12 *p = (cs_p12 *)1;
			cs_p12_info info;
			char why[1024];
			cs_problem pr;

			why[0] = '\0';
			pr = cs_bundle_load(b, r, o, &p, &info, why, sizeof(why));
			FUZZ_CHECK(pr < CS_PROBLEM_COUNT);
			FUZZ_CHECK((pr == CS_PROBLEM_NONE) == (p != NULL));
			if (pr != CS_PROBLEM_NONE)
				FUZZ_CHECK(why[0] != '\0' || r->why != NULL);
			cs_p12_free(p);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cut c = {data, size};
	const uint8_t *part[4] = {NULL, NULL, NULL, NULL};
	size_t len[4] = {0, 0, 0, 0};
	uint8_t flags = fuzz_cut_byte(&c);
	const char *folder = flags & 2 ? "clientAll/" : "";
	zbuild zc, zp;
	cs_bundle_opts o;
	cs_bundle *b = NULL;
	char why[1024], *keep[256];
	size_t nkeep = 0;
	int r;

	for (int i = 0; i < 3; i++)
		if (!fuzz_cut_next(&c, 0, &part[i], &len[i]))
			break;
	/* The rest, NULs and all, is the default entry content. */
	part[3] = c.p;
	len[3] = c.left;

	zb_open(&zc);
	zb_open(&zp);
	zb_add(&zc, folder, "client.txt", part[0], len[0]);
	zb_add(&zp, folder, flags & 1 ? "clientPin.txt" : "clientAllPin.txt",
	    part[1], len[1]);
	/* Entry contents are not copied by libzip until the archive is
	 * closed: the lines stay until then. */
	for (fuzz_cut names = {part[2], len[2]}; nkeep < 256;) {
		const uint8_t *line;
		size_t n;
		char *name, *tab;

		if (part[2] == NULL || !fuzz_cut_next(&names, '\n', &line, &n))
			break;
		if (n == 0 || n > 300)
			continue;
		keep[nkeep++] = name = fuzz_strndup(line, n);
		if ((tab = strchr(name, '\t')) != NULL) {
			*tab = '\0';
			zb_add(&zc, folder, name, tab + 1, strlen(tab + 1));
		} else {
			zb_add(&zc, folder, name, part[3], len[3]);
		}
	}
	zb_close(&zc, &certs_file);
	zb_close(&zp, &pins_file);
	while (nkeep > 0)
		free(keep[--nkeep]);

	cs_bundle_default_opts(&o);
	o.limits.max_entries = 256;
	o.now = 1798761600; /* 2027-01-01: fixed, so a run repeats */
	o.institution = flags & 16 ?
	    "National Institute of Informatics, Academe Campus" : NULL;
	why[0] = '\0';
	if (flags & 4)
		r = cs_bundle_open(&b, pins_file.path, certs_file.path, &o, why,
		    sizeof(why));
	else
		r = cs_bundle_open(&b, certs_file.path, pins_file.path, &o, why,
		    sizeof(why));
	if (r != CS_OK) {
		FUZZ_CHECK(b == NULL && why[0] != '\0');
		return 0;
	}
	check_bundle(b, &o, flags & 8);
	cs_bundle_free(b);
	return 0;
}
