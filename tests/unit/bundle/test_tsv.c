/* test_tsv.c - UPKI's TSVs: CP932 with IBM/NEC extensions, UTF-8, CRLF. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cs_err.h"
#include "cs_secret.h"
#include "cs_tsv.h"

struct mem {
	const char *p;
	size_t left;
	size_t step; /* bytes per read, to cross chunk edges */
};

static ssize_t mem_read(void *ctx, void *buf, size_t n)
{
	struct mem *m = ctx;

	if (n > m->left)
		n = m->left;
	if (m->step && n > m->step)
		n = m->step;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

static cs_tsv *open_mem(struct mem *m, const char *data, size_t len, size_t step)
{
	cs_tsv *t;

	m->p = data;
	m->left = len;
	m->step = step;
	assert_int_equal(cs_tsv_open(&t, mem_read, m), CS_OK);
	return t;
}

/* 髙 (FB FC, IBM extension) and 﨑 (FA B1), as the service writes them. */
static const char CP932_FILE[] =
    "\x83\x56\x83\x8a\x83\x41\x83\x8b\x94\xd4\x8d\x86\t\x97\x98\x97\x70\x8e\xd2\x8e\x81\x96\xbc\r\n" /* シリアル番号 \t 利用者氏名 */
    "123\t\xfb\xfc\xfa\xb1 \x89\xd4\x8e\x71\r\n"  /* 髙﨑 花子 */
    "456\t\xb6\xc0\xb6\xc5";                     /* ｶﾀｶﾅ half-width, no final newline */

static void cp932_rows_decode_to_utf8(void **state)
{
	struct mem m;
	cs_tsv *t = open_mem(&m, CP932_FILE, sizeof(CP932_FILE) - 1, 7);
	cs_tsv_row row;
	char why[128];

	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
	assert_string_equal(row.field[0], "シリアル番号");
	assert_string_equal(row.field[1], "利用者氏名");
	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
	assert_int_equal(row.line, 2);
	assert_int_equal(row.nfields, 2);
	assert_string_equal(row.field[0], "123");
	assert_string_equal(row.field[1], "髙﨑 花子");
	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
	assert_string_equal(row.field[1], "ｶﾀｶﾅ");
	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 0);
	cs_tsv_free(t);
}

static void utf8_with_bom_and_lf(void **state)
{
	static const char f[] = "\xef\xbb\xbf" "a\tb\n\nc\t髙\n";
	struct mem m;
	cs_tsv *t = open_mem(&m, f, sizeof(f) - 1, 0);
	cs_tsv_row row;
	char why[128];

	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
	assert_string_equal(row.field[0], "a");
	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
	assert_int_equal(row.line, 3); /* the blank line is skipped, counted */
	assert_string_equal(row.field[1], "髙");
	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 0);
	cs_tsv_free(t);
}

static void empty_fields_are_kept(void **state)
{
	static const char f[] = "a\t\t\tb\r\n";
	struct mem m;
	cs_tsv *t = open_mem(&m, f, sizeof(f) - 1, 0);
	cs_tsv_row row;
	char why[128];

	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
	assert_int_equal(row.nfields, 4);
	assert_string_equal(row.field[1], "");
	assert_string_equal(row.field[3], "b");
	cs_tsv_free(t);
}

static void an_overlong_line_is_refused_with_its_number(void **state)
{
	static char f[CS_TSV_MAXLINE * 2 + 8];
	struct mem m;
	cs_tsv *t;
	cs_tsv_row row;
	char why[128];

	memcpy(f, "ok\n", 3);
	memset(f + 3, 'x', sizeof(f) - 4);
	t = open_mem(&m, f, sizeof(f) - 1, 0);
	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), CS_ERR_LIMIT);
	assert_non_null(strstr(why, "line 2"));
	cs_tsv_free(t);
}

static void bytes_that_are_no_text_are_refused(void **state)
{
	static const char f[] = "ok\n\x81\x20\xff\xfe\n"; /* invalid lead/trail */
	struct mem m;
	cs_tsv *t = open_mem(&m, f, sizeof(f) - 1, 0);
	cs_tsv_row row;
	char why[128];

	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "line 2"));
	cs_tsv_free(t);
}

static void cp932_specific_mappings(void **state)
{
	/* 0x8160 is FULLWIDTH TILDE in CP932 (WAVE DASH in strict SJIS),
	 * 0x8740 the NEC circled one. */
	char out[32];
	size_t n;

	assert_int_equal(cs_text_to_utf8("\x81\x60\x87\x40", 4, out, sizeof(out),
	    &n), CS_OK);
	assert_string_equal(out, "～①");
	assert_int_equal(cs_text_to_utf8("\x81\x60", 2, out, 3, &n), CS_ERR_LIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cp932_rows_decode_to_utf8),
		cmocka_unit_test(utf8_with_bom_and_lf),
		cmocka_unit_test(empty_fields_are_kept),
		cmocka_unit_test(an_overlong_line_is_refused_with_its_number),
		cmocka_unit_test(bytes_that_are_no_text_are_refused),
		cmocka_unit_test(cp932_specific_mappings),
	};

	cs_secret_process_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
