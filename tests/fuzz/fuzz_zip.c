/* fuzz_zip.c - the archive reader (station/engine/cs_zip.c) on hostile archives.
 *
 * Debian's libzip is not instrumented, so coverage comes from our code only;
 * but the bytes go the station's whole way: they are put in a memory file
 * (memfd) and cs_zip_open() opens it by path (/proc/self/fd/N) with
 * zip_open() exactly as `cardstation inspect` opens a download. No
 * zip_source_buffer: that would skip our open path. The limits are
 * smaller than the defaults so that a run stays fast (same code).
 *
 * Properties: an archive that opens has only names that cannot point
 * outside it; every entry either reads whole (exactly its declared size,
 * at most max_entry) or fails with a reason; streaming it gives the same
 * bytes; cs_zip_find finds what cs_zip_name names. */
#include "fuzz_util.h"

#include <string.h>
#include <zip.h>

#include "cs_err.h"
#include "cs_zip.h"

static fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_init(&file, "fuzz-zip");
	return 0;
}

static void check_name(const char *n)
{
	FUZZ_CHECK(n[0] != '/' && n[0] != '\\' && strchr(n, ':') == NULL);
	for (const char *p = n; (p = strstr(p, "..")) != NULL; p++) {
		int start = p == n || p[-1] == '/' || p[-1] == '\\';
		int end = p[2] == '\0' || p[2] == '/' || p[2] == '\\';

		FUZZ_CHECK(!(start && end));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cs_zip_limits lim = {
		.max_entries = 64,
		.max_entry = 1u << 20,
		.max_total = 4u << 20,
		.max_ratio = 100,
	};
	cs_zip *z = NULL;
	char why[512];
	size_t n;

	fuzz_file_set(&file, data, size);
	why[0] = '\0';
	if (cs_zip_open(&z, file.path, &lim, why, sizeof(why)) != CS_OK) {
		FUZZ_CHECK(z == NULL && why[0] != '\0');
		return 0;
	}
	n = cs_zip_count(z);
	FUZZ_CHECK(n <= lim.max_entries);
	for (size_t i = 0; i < n; i++) {
		const char *name = cs_zip_name(z, i);
		unsigned char *buf = NULL, chunk[512];
		size_t len = 0, got = 0;
		cs_zip_stream *s = NULL;
		long at;
		int r;

		FUZZ_CHECK(name != NULL);
		check_name(name);
		/* The first entry of that name: names may repeat. */
		at = cs_zip_find(z, name);
		FUZZ_CHECK(at >= 0 && (size_t)at <= i);
		FUZZ_CHECK(strcmp(cs_zip_name(z, (size_t)at), name) == 0);

		why[0] = '\0';
		r = cs_zip_read(z, i, &buf, &len, why, sizeof(why));
		if (r != CS_OK) {
			FUZZ_CHECK(buf == NULL && why[0] != '\0');
			continue;
		}
		FUZZ_CHECK(len <= lim.max_entry);
		/* Streaming gives the same bytes, and then the end. */
		if (cs_zip_stream_open(z, i, &s) == CS_OK) {
			ssize_t k;

			while (got <= len &&
			    (k = cs_zip_stream_read(s, chunk, sizeof(chunk))) > 0) {
				FUZZ_CHECK(got + (size_t)k <= len);
				FUZZ_CHECK(memcmp(buf + got, chunk, (size_t)k) == 0);
				got += (size_t)k;
			}
			FUZZ_CHECK(got == len);
			cs_zip_stream_close(s);
		}
		free(buf);
	}
	cs_zip_close(z);
	return 0;
}
