/* test_bundle_open.c - a download pair that holds little or nothing opens
 * cleanly and says what is missing (the tests build with UBSan: an empty
 * list must never reach qsort or bsearch as a null array). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zipedit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "cs_bundle.h"
#include "cs_err.h"
#include "cs_secret.h"

static char dir[] = "/tmp/cs-test-bundle-open-XXXXXX";
static char certs[96], pins[96];

struct file {
	const char *name;
	const char *text; /* NUL-free content */
};

static void make_zip(const char *path, const struct file *f)
{
	int err;
	zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);

	assert_non_null(za);
	for (; f->name != NULL; f++) {
		zip_source_t *src = zip_source_buffer(za, f->text,
		    strlen(f->text), 0);

		assert_non_null(src);
		assert_true(zip_file_add(za, f->name, src, ZIP_FL_ENC_UTF_8) >= 0);
	}
	assert_int_equal(zip_close(za), 0);
}

static cs_bundle *open_pair(const struct file *c, const struct file *p)
{
	cs_bundle_opts o;
	cs_bundle *b = NULL;
	char why[512];

	make_zip(certs, c);
	make_zip(pins, p);
	cs_bundle_default_opts(&o);
	if (cs_bundle_open(&b, certs, pins, &o, why, sizeof(why)) != CS_OK)
		fail_msg("the pair does not open: %s", why);
	return b;
}

#define INDEX_HEADER "シリアル番号\t利用者氏名\t利用者mail\t主体者DN\n"
#define PIN_HEADER "利用者氏名\t利用者mail\tアクセスPIN\t主体者DN\n"

static void an_empty_pin_file_leaves_every_person_without_a_pin(void **state)
{
	static const struct file c[] = {{"client.txt", INDEX_HEADER
	    "123\t花子\th@example.ac.jp\tCN=H,C=JP\n"}, {"123.p12", "x"},
	    {NULL, NULL}};
	static const struct file p[] = {{"clientAllPin.txt", ""}, {NULL, NULL}};
	static const struct file p_header[] = {{"clientAllPin.txt", PIN_HEADER},
	    {NULL, NULL}};
	cs_bundle *b = open_pair(c, p);

	assert_int_equal(b->nrec, 1);
	assert_int_equal(b->rec[0].problem, CS_PROBLEM_NO_PIN_ROW);
	assert_int_equal(b->rec[0].p12, 1);
	cs_bundle_free(b);
	b = open_pair(c, p_header);
	assert_int_equal(b->nrec, 1);
	assert_int_equal(b->rec[0].problem, CS_PROBLEM_NO_PIN_ROW);
	cs_bundle_free(b);
}

static void an_archive_without_p12_files_lacks_each_file(void **state)
{
	static const struct file c[] = {{"client.txt", INDEX_HEADER
	    "123\t花子\th@example.ac.jp\tCN=H,C=JP\n"}, {NULL, NULL}};
	static const struct file p[] = {{"clientAllPin.txt", PIN_HEADER
	    "花子\th@example.ac.jp\tPIN1\tCN=H,C=JP\n"}, {NULL, NULL}};
	cs_bundle *b = open_pair(c, p);

	assert_int_equal(b->nrec, 1);
	assert_int_equal(b->rec[0].problem, CS_PROBLEM_P12_MISSING);
	assert_string_equal(cs_bundle_pin(b, &b->rec[0]), "PIN1");
	cs_bundle_free(b);
}

static void a_pair_of_empty_files_holds_no_one(void **state)
{
	static const struct file c[] = {{"client.txt", ""}, {NULL, NULL}};
	static const struct file p[] = {{"clientAllPin.txt", ""}, {NULL, NULL}};
	cs_bundle *b = open_pair(c, p);

	assert_int_equal(b->nrec, 0);
	cs_bundle_free(b);
}

#define MAX20 "730750818665451459101842416358141509827966271487"
#define E47 "100000000000000000000000000000000000000000000000"
#define E59 E47 "000000000000"

/* A 20-octet serial (RFC 5280's largest) joins its file; a longer name is
 * never cut short to a serial it is not. */
static void serials_of_twenty_octets_join_and_longer_names_stay_orphans(
    void **state)
{
	static const struct file c[] = {{"client.txt", INDEX_HEADER
	    MAX20 "\t花子\th@example.ac.jp\tCN=H,C=JP\n"
	    E47 "\t太郎\tt@example.ac.jp\tCN=T,C=JP\n"
	    "730750818665451459101842416358141509827966271488\t次郎\t"
	    "j@example.ac.jp\tCN=J,C=JP\n"},
	    {MAX20 ".p12", "x"}, {E59 ".p12", "y"}, {NULL, NULL}};
	static const struct file p[] = {{"clientAllPin.txt", PIN_HEADER
	    "花子\th@example.ac.jp\tPIN1\tCN=H,C=JP\n"
	    "太郎\tt@example.ac.jp\tPIN2\tCN=T,C=JP\n"
	    "次郎\tj@example.ac.jp\tPIN3\tCN=J,C=JP\n"}, {NULL, NULL}};
	cs_bundle *b = open_pair(c, p);

	assert_int_equal(b->nrec, 4);
	assert_string_equal(b->rec[0].serial, MAX20);
	assert_int_equal(b->rec[0].problem, CS_PROBLEM_NONE);
	assert_int_equal(b->rec[0].p12, 1);
	assert_string_equal(b->rec[1].serial, E47);
	assert_int_equal(b->rec[1].problem, CS_PROBLEM_P12_MISSING);
	/* 2^159 is one past: refused with its line. */
	assert_int_equal(b->rec[2].problem, CS_PROBLEM_BAD_SERIAL);
	assert_non_null(strstr(b->rec[2].why, "line 4"));
	assert_int_equal(b->rec[3].problem, CS_PROBLEM_P12_ORPHAN);
	assert_int_equal(b->rec[3].p12, 2);
	assert_string_equal(b->rec[3].serial, "");
	assert_non_null(strstr(b->rec[3].why, E59 ".p12"));
	cs_bundle_free(b);
}

/* An index cut short, with a CRC that fits what is left, is not a shorter
 * list of people: opening fails and names the entry. */
static void an_index_shorter_than_it_declares_is_refused(void **state)
{
	static const char text[] = INDEX_HEADER
	    "123\t花子\th@example.ac.jp\tCN=H,C=JP\n";
	static const struct file c[] = {{"client.txt", text}, {NULL, NULL}};
	static const struct file p[] = {{"clientAllPin.txt", PIN_HEADER},
	    {NULL, NULL}};
	cs_bundle_opts o;
	cs_bundle *b = NULL;
	char why[512];

	make_zip(certs, c);
	declare_size(certs, (uint32_t)sizeof(text) + 40);
	make_zip(pins, p);
	cs_bundle_default_opts(&o);
	assert_int_equal(cs_bundle_open(&b, certs, pins, &o, why, sizeof(why)),
	    CS_ERR_IO);
	assert_null(b);
	assert_non_null(strstr(why, "client.txt"));
	assert_non_null(strstr(why, "declares"));
}

static int setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(certs, sizeof(certs), "%s/clientAll.zip", dir);
	snprintf(pins, sizeof(pins), "%s/clientAllPin.zip", dir);
	return 0;
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
		cmocka_unit_test(an_empty_pin_file_leaves_every_person_without_a_pin),
		cmocka_unit_test(an_archive_without_p12_files_lacks_each_file),
		cmocka_unit_test(a_pair_of_empty_files_holds_no_one),
		cmocka_unit_test(serials_of_twenty_octets_join_and_longer_names_stay_orphans),
		cmocka_unit_test(an_index_shorter_than_it_declares_is_refused),
	};

	cs_secret_process_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
