/* test_zip.c - archives are refused whole when they could hurt the station. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
