/* test_zip.c - archives are refused whole when they could hurt the station. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zipedit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

#include "cs_err.h"
#include "cs_zip.h"

struct entry {
	const char *name;
	size_t size;    /* bytes of 'z' */
	int symlink;
};

static char dir[] = "/tmp/cs-test-zip-XXXXXX";

static void make_zip(const char *path, const struct entry *e)
{
	int err;
	zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);

	assert_non_null(za);
	for (; e->name != NULL; e++) {
		char *data = malloc(e->size + 1);
		zip_source_t *src;
		zip_int64_t i;

		memset(data, 'z', e->size);
		src = zip_source_buffer(za, data, e->size, 1);
		assert_non_null(src);
		assert_true((i = zip_file_add(za, e->name, src, ZIP_FL_ENC_UTF_8)) >= 0);
		if (e->symlink)
			assert_int_equal(zip_file_set_external_attributes(za,
			    (zip_uint64_t)i, 0, ZIP_OPSYS_UNIX,
			    (zip_uint32_t)(S_IFLNK | 0777) << 16), 0);
	}
	assert_int_equal(zip_close(za), 0);
}

static int try_open(const struct entry *e, const cs_zip_limits *lim,
    char *why, size_t whylen)
{
	char path[64];
	cs_zip *z = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/a.zip", dir);
	make_zip(path, e);
	r = cs_zip_open(&z, path, lim, why, whylen);
	cs_zip_close(z);
	return r;
}

static void a_plain_archive_opens_and_reads(void **state)
{
	static const struct entry e[] = {{"client.txt", 10, 0},
	    {"1.p12", 3000, 0}, {NULL, 0, 0}};
	cs_zip_limits lim;
	char path[64], why[256];
	cs_zip *z;
	unsigned char *buf;
	size_t len;
	long i;

	cs_zip_default_limits(&lim);
	snprintf(path, sizeof(path), "%s/a.zip", dir);
	make_zip(path, e);
	assert_int_equal(cs_zip_open(&z, path, &lim, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_zip_count(z), 2);
	assert_true((i = cs_zip_find(z, "1.p12")) >= 0);
	assert_int_equal(cs_zip_find(z, "2.p12"), -1);
	assert_int_equal(cs_zip_read(z, (size_t)i, &buf, &len, why, sizeof(why)), CS_OK);
	assert_int_equal(len, 3000);
	assert_int_equal(buf[2999], 'z');
	free(buf);
	cs_zip_close(z);
}

static void names_that_leave_the_archive_are_refused(void **state)
{
	static const struct entry dotdot[] = {{"a/../../etc/x", 1, 0}, {NULL, 0, 0}};
	static const struct entry abs[] = {{"/etc/x", 1, 0}, {NULL, 0, 0}};
	static const struct entry link[] = {{"x.p12", 8, 1}, {NULL, 0, 0}};
	static const struct entry fine[] = {{"a..b/..c", 1, 0}, {NULL, 0, 0}};
	cs_zip_limits lim;
	char why[256];

	cs_zip_default_limits(&lim);
	assert_int_equal(try_open(dotdot, &lim, why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "a/../../etc/x"));
	assert_int_equal(try_open(abs, &lim, why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "outside"));
	assert_int_equal(try_open(link, &lim, why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "symbolic link"));
	assert_int_equal(try_open(fine, &lim, why, sizeof(why)), CS_OK);
}

static void limits_on_entries_bytes_and_ratio(void **state)
{
	static const struct entry three[] = {{"a", 1, 0}, {"b", 1, 0},
	    {"c", 1, 0}, {NULL, 0, 0}};
	static const struct entry bomb[] = {{"zeros", 8u << 20, 0}, {NULL, 0, 0}};
	cs_zip_limits lim;
	char why[256];

	cs_zip_default_limits(&lim);
	lim.max_entries = 2;
	assert_int_equal(try_open(three, &lim, why, sizeof(why)), CS_ERR_LIMIT);
	assert_non_null(strstr(why, "3 entries"));

	cs_zip_default_limits(&lim);
	assert_int_equal(try_open(bomb, &lim, why, sizeof(why)), CS_ERR_LIMIT);
	assert_non_null(strstr(why, "zip bomb"));
	lim.max_ratio = 1u << 20; /* an administrator may raise it */
	assert_int_equal(try_open(bomb, &lim, why, sizeof(why)), CS_OK);
	lim.max_entry = 1u << 20;
	assert_int_equal(try_open(bomb, &lim, why, sizeof(why)), CS_ERR_LIMIT);
	assert_non_null(strstr(why, "zeros"));
	cs_zip_default_limits(&lim);
	lim.max_ratio = 1u << 20;
	lim.max_total = 4u << 20;
	assert_int_equal(try_open(bomb, &lim, why, sizeof(why)), CS_ERR_LIMIT);
	assert_non_null(strstr(why, "add up"));
}

static void not_a_zip_says_so(void **state)
{
	char path[64], why[256];
	cs_zip_limits lim;
	cs_zip *z = NULL;
	FILE *f;

	cs_zip_default_limits(&lim);
	snprintf(path, sizeof(path), "%s/text.zip", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("シリアル番号\n", f);
	fclose(f);
	assert_int_equal(cs_zip_open(&z, path, &lim, why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "not a zip"));
	snprintf(path, sizeof(path), "%s/absent.zip", dir);
	assert_int_equal(cs_zip_open(&z, path, &lim, why, sizeof(why)), CS_ERR_IO);
}

/* Read a stream to its end: the bytes, or -1 and the stream's reason. */
static long read_stream(cs_zip *z, char *why, size_t whylen)
{
	cs_zip_stream *s;
	char chunk[7];
	long total = 0;
	ssize_t got;

	assert_int_equal(cs_zip_stream_open(z, 0, &s), CS_OK);
	while ((got = cs_zip_stream_read(s, chunk, sizeof(chunk))) > 0)
		total += got;
	snprintf(why, whylen, "%s", cs_zip_stream_why(s));
	cs_zip_stream_close(s);
	return got < 0 ? -1 : total;
}

static void an_entry_must_hold_the_bytes_it_declares(void **state)
{
	static const struct entry e[] = {{"client.txt", 1000, 0}, {NULL, 0, 0}};
	static const uint32_t sizes[] = {1000, 1500, 999, 1001, 0};
	cs_zip_limits lim;
	char path[64], why[256];
	unsigned char *buf;
	size_t len;

	cs_zip_default_limits(&lim);
	snprintf(path, sizeof(path), "%s/short.zip", dir);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		cs_zip *z;
		int ok = sizes[k] == 1000;

		make_zip(path, e);
		declare_size(path, sizes[k]);
		assert_int_equal(cs_zip_open(&z, path, &lim, why, sizeof(why)), CS_OK);
		/* Streamed (the TSVs) and whole (the PKCS#12 files) alike. */
		why[0] = '\0';
		assert_int_equal(read_stream(z, why, sizeof(why)), ok ? 1000 : -1);
		if (!ok)
			assert_non_null(strstr(why, "client.txt"));
		else
			assert_string_equal(why, "");
		assert_int_equal(cs_zip_read(z, 0, &buf, &len, why, sizeof(why)),
		    ok ? CS_OK : CS_ERR_FORMAT);
		if (ok)
			free(buf);
		else
			assert_non_null(strstr(why, "client.txt"));
		cs_zip_close(z);
	}
}

static int setup(void **state)
{
	return mkdtemp(dir) == NULL;
}

static int teardown(void **state)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_plain_archive_opens_and_reads),
		cmocka_unit_test(names_that_leave_the_archive_are_refused),
		cmocka_unit_test(limits_on_entries_bytes_and_ratio),
		cmocka_unit_test(not_a_zip_says_so),
		cmocka_unit_test(an_entry_must_hold_the_bytes_it_declares),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
