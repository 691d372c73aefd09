/* test_tsv.c - UPKI's TSVs: CP932 with IBM/NEC extensions, UTF-8, line ends,
 * one encoding per file and one row limit wherever the row lies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
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

/* シリアル番号 \t 利用者氏名, in CP932 and in UTF-8. */
#define CP932_HEADER "\x83\x56\x83\x8a\x83\x41\x83\x8b\x94\xd4\x8d\x86\t" \
    "\x97\x98\x97\x70\x8e\xd2\x8e\x81\x96\xbc"
#define UTF8_HEADER "シリアル番号\t利用者氏名"

/* Read a whole file from memory: its rows, fields joined by '|' and rows
 * by '\n' into out, or the error and its reason. */
static int read_all(const char *data, size_t len, size_t step, char *out,
    size_t outlen, char *why, size_t whylen)
{
	struct mem m;
	cs_tsv *t = open_mem(&m, data, len, step);
	cs_tsv_row row;
	size_t pos = 0;
	int r;

	out[0] = '\0';
	while ((r = cs_tsv_next(t, &row, why, whylen)) == 1) {
		pos += (size_t)snprintf(out + pos, outlen - pos, "%zu:", row.line);
		for (size_t i = 0; i < row.nfields; i++)
			pos += (size_t)snprintf(out + pos, outlen - pos, "%s%s",
			    i ? "|" : "", row.field[i]);
		pos += (size_t)snprintf(out + pos, outlen - pos, "\n");
		assert_true(pos < outlen);
	}
	cs_tsv_free(t);
	return r;
}

/* The red team's name: ﾅｶﾞｲ ﾏｷ in CP932 is also valid UTF-8 (Ŷ޲ Ϸ). */
static void a_half_width_kana_name_is_not_taken_for_utf8(void **state)
{
	static const char f[] = CP932_HEADER "\r\n"
	    "1\t\xc5\xb6\xde\xb2\x20\xcf\xb7\r\n";
	char out[256], why[256];

	assert_int_equal(read_all(f, sizeof(f) - 1, 0, out, sizeof(out), why,
	    sizeof(why)), 0);
	assert_string_equal(out, "1:シリアル番号|利用者氏名\n2:1|ﾅｶﾞｲ ﾏｷ\n");
}

/* Every pair of half-width katakana bytes (A1-DF), as a name in a CP932
 * file, decodes to what iconv's CP932 says: two half-width kana, never a
 * UTF-8 reading of the same bytes. Each pair is the first row of a file of
 * its own (nothing else to decide by), and all pairs are rows of one file
 * under the service's header and of one under an ASCII header. */
static void every_half_width_kana_pair_decodes_as_kana(void **state)
{
	static const char *const heads[] = {CP932_HEADER "\r\n",
	    "serial\tname\r\n"};
	static const char *const head_rows[] = {"シリアル番号|利用者氏名",
	    "serial|name"};
	enum { NPAIRS = 63 * 63 };
	iconv_t cd = iconv_open("UTF-8", "CP932");
	static char want[NPAIRS][8];
	static char files[2][64 + NPAIRS * 8];
	size_t flen[2], n = 0;

	assert_true(cd != (iconv_t)-1);
	for (size_t h = 0; h < 2; h++)
		flen[h] = (size_t)snprintf(files[h], sizeof(files[h]), "%s",
		    heads[h]);
	for (unsigned a = 0xa1; a <= 0xdf; a++)
		for (unsigned b = 0xa1; b <= 0xdf; b++, n++) {
			char kana[2] = {(char)a, (char)b}, f[16], out[64], why[256];
			char expect[32], *ip = kana, *op = want[n];
			size_t il = 2, ol = sizeof(want[n]) - 1, len;

			assert_true(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
			*op = '\0';
			/* Two letters of U+FF61..U+FF9F, three bytes each. */
			assert_int_equal(op - want[n], 6);
			assert_int_equal((unsigned char)want[n][0], 0xef);
			assert_int_equal((unsigned char)want[n][3], 0xef);
			len = (size_t)snprintf(f, sizeof(f), "%c%c\tx\r\n", (char)a,
			    (char)b);
			assert_int_equal(read_all(f, len, 0, out, sizeof(out), why,
			    sizeof(why)), 0);
			snprintf(expect, sizeof(expect), "1:%s|x\n", want[n]);
			if (strcmp(out, expect) != 0)
				fail_msg("%02X %02X: got '%s', expected '%s'", a, b,
				    out, expect);
			for (size_t h = 0; h < 2; h++) {
				memcpy(files[h] + flen[h], "1\t", 2);
				files[h][flen[h] + 2] = (char)a;
				files[h][flen[h] + 3] = (char)b;
				memcpy(files[h] + flen[h] + 4, "\r\n", 2);
				flen[h] += 6;
			}
		}
	assert_int_equal(n, NPAIRS);
	for (size_t h = 0; h < 2; h++) {
		struct mem m;
		cs_tsv *t = open_mem(&m, files[h], flen[h], 0);
		cs_tsv_row row;
		char why[256], joined[64];

		assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
		snprintf(joined, sizeof(joined), "%s|%s", row.field[0],
		    row.field[1]);
		assert_string_equal(joined, head_rows[h]);
		for (size_t i = 0; i < NPAIRS; i++) {
			assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
			assert_int_equal(row.line, i + 2);
			if (strcmp(row.field[1], want[i]) != 0)
				fail_msg("header %zu, row %zu: got '%s', expected "
				    "'%s'", h, i + 2, row.field[1], want[i]);
		}
		assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 0);
		assert_string_equal(cs_tsv_encoding(t), "CP932");
		cs_tsv_free(t);
	}
	iconv_close(cd);
}

/* A UTF-8 file is UTF-8 by its BOM or by UPKI's header in UTF-8; a
 * half-width kana in it stays what it is too. */
static void a_utf8_file_decodes_with_or_without_bom(void **state)
{
	static const char *const files[] = {
	    "\xef\xbb\xbf" UTF8_HEADER "\r\n1\t髙﨑 花子\r\n2\tﾅｶﾞｲ ﾏｷ\r\n",
	    UTF8_HEADER "\r\n1\t髙﨑 花子\r\n2\tﾅｶﾞｲ ﾏｷ\r\n",
	    UTF8_HEADER "\n1\t髙﨑 花子\n2\tﾅｶﾞｲ ﾏｷ",
	    "\n" UTF8_HEADER "\n1\t髙﨑 花子\n2\tﾅｶﾞｲ ﾏｷ\n",
	};
	static const char pin[] = "利用者氏名\t利用者mail\tアクセスPIN\t主体者DN\n"
	    "ﾅｶﾞｲ ﾏｷ\tm@example.ac.jp\tP\tCN=M\n";
	char out[512], why[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t first = i == 3 ? 2 : 1;
		char expect[256];

		snprintf(expect, sizeof(expect), "%zu:シリアル番号|利用者氏名\n"
		    "%zu:1|髙﨑 花子\n%zu:2|ﾅｶﾞｲ ﾏｷ\n", first, first + 1,
		    first + 2);
		assert_int_equal(read_all(files[i], strlen(files[i]), 3, out,
		    sizeof(out), why, sizeof(why)), 0);
		assert_string_equal(out, expect);
	}
	assert_int_equal(read_all(pin, sizeof(pin) - 1, 0, out, sizeof(out), why,
	    sizeof(why)), 0);
	assert_string_equal(out, "1:利用者氏名|利用者mail|アクセスPIN|主体者DN\n"
	    "2:ﾅｶﾞｲ ﾏｷ|m@example.ac.jp|P|CN=M\n");
}

/* The decision is made once and says what made it when a line breaks it. */
static void the_encoding_is_decided_once_and_named_in_errors(void **state)
{
	static const char utf8[] = UTF8_HEADER "\n1\t花子\n2\t\x83\x41\n";
	static const char cp932[] = "serial\tname\n1\t\x83\x41\n2\t\x80\n";
	struct mem m;
	cs_tsv *t;
	cs_tsv_row row;
	char out[256], why[256];

	t = open_mem(&m, utf8, sizeof(utf8) - 1, 0);
	assert_null(cs_tsv_encoding(t));
	assert_int_equal(cs_tsv_next(t, &row, why, sizeof(why)), 1);
	assert_string_equal(cs_tsv_encoding(t), "UTF-8");
	cs_tsv_free(t);
	/* ア in CP932 (83 41) is no UTF-8: not read as CP932 for a line. */
	assert_int_equal(read_all(utf8, sizeof(utf8) - 1, 0, out, sizeof(out),
	    why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "line 3: not UTF-8 text"));
	assert_non_null(strstr(why, "header row"));
	assert_int_equal(read_all(cp932, sizeof(cp932) - 1, 0, out, sizeof(out),
	    why, sizeof(why)), CS_ERR_FORMAT);
	assert_string_equal(out, "1:serial|name\n2:1|ア\n");
	assert_non_null(strstr(why, "line 3: not CP932 text"));
	assert_non_null(strstr(why, "no byte order mark"));
}

/* CR, LF and CRLF end lines alike, wherever the reads cut the bytes. */
static void cr_lf_and_crlf_all_end_lines(void **state)
{
	static const char *const files[] = {
	    "a\tb\r\nc\r\n\r\nd\te\r\n",
	    "a\tb\nc\n\nd\te\n",
	    "a\tb\rc\r\rd\te\r",
	    "a\tb\rc\n\r\nd\te",
	    "a\tb\r\nc\r\rd\te\n",
	};
	static const size_t steps[] = {0, 1, 2, 3, 7};
	char out[256], why[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			assert_int_equal(read_all(files[i], strlen(files[i]),
			    steps[k], out, sizeof(out), why, sizeof(why)), 0);
			if (strcmp(out, "1:a|b\n2:c\n4:d|e\n") != 0)
				fail_msg("file %zu step %zu: '%s'", i, steps[k], out);
		}
	/* A CR-only file is rows, not one header line of everything. */
	assert_int_equal(read_all(CP932_HEADER "\r1\t\xb1\r2\t\xb2\r",
	    sizeof(CP932_HEADER "\r1\t\xb1\r2\t\xb2\r") - 1, 0, out, sizeof(out),
	    why, sizeof(why)), 0);
	assert_string_equal(out, "1:シリアル番号|利用者氏名\n2:1|ｱ\n3:2|ｲ\n");
}

/* One long row (half-width kana, three UTF-8 bytes each) after `offset`
 * bytes of short rows: the same answer wherever the row falls. */
static int long_row_at(size_t offset, size_t rowlen, size_t step,
    char *why, size_t whylen, size_t *line)
{
	size_t len = offset + rowlen + 8, pos = 0, lines = 0;
	char *f = malloc(len);
	struct mem m;
	cs_tsv *t;
	cs_tsv_row row;
	int r;

	assert_non_null(f);
	while (pos < offset) { /* rows of up to 4000 bytes, LF included */
		size_t n = offset - pos < 4000 ? offset - pos : 4000;

		memset(f + pos, 'p', n - 1);
		f[pos + n - 1] = '\n';
		pos += n;
		lines++;
	}
	memset(f + pos, 0xb1, rowlen);
	pos += rowlen;
	memcpy(f + pos, "\r\nend\r\n", 7);
	pos += 7;
	t = open_mem(&m, f, pos, step);
	while ((r = cs_tsv_next(t, &row, why, whylen)) == 1 &&
	    row.line <= lines)
		;
	*line = lines + 1;
	if (r == 1) {
		/* The long row itself, whole. */
		size_t n = strlen(row.field[0]);

		assert_int_equal(row.line, lines + 1);
		assert_int_equal(n, 3 * rowlen);
		for (size_t i = 0; i < n; i += 3)
			assert_memory_equal(row.field[0] + i, "ｱ", 3);
		assert_int_equal(cs_tsv_next(t, &row, why, whylen), 1);
		assert_string_equal(row.field[0], "end");
		r = cs_tsv_next(t, &row, why, whylen);
		assert_int_equal(r, 0);
		r = 1;
	}
	cs_tsv_free(t);
	free(f);
	return r;
}

/* The reader asks for CS_TSV_CHUNK bytes at a time. The red team's 8 KiB
 * row is tried at every offset that puts it across that edge (it was
 * refused at some and not others); rows at the limit and one byte over at
 * every offset near where their end or start meets the edge, and at a
 * stride in between; then with reads that do not divide the edge. */
static void a_row_limit_does_not_depend_on_where_the_row_lies(void **state)
{
	static const size_t rows[] = {8192, CS_TSV_MAXLINE, CS_TSV_MAXLINE + 1};
	const size_t edge = CS_TSV_CHUNK;
	size_t tried = 0;

	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++)
		for (size_t off = edge - rows[k] - 40; off <= edge + 40; off++)
			for (size_t step = 0; step <= 4097; step += 4097) {
				char why[256] = "", want[32];
				size_t line;
				int r;

				if ((step != 0 && off % 31 != 0) || (k > 0 &&
				    off > edge - rows[k] + 40 && off < edge - 40 &&
				    off % 17 != 0))
					continue;
				r = long_row_at(off, rows[k], step, why, sizeof(why),
				    &line);
				tried++;
				if (rows[k] <= CS_TSV_MAXLINE) {
					if (r != 1)
						fail_msg("a %zu-byte row at offset %zu "
						    "(reads of %zu) is refused: %s",
						    rows[k], off, step, why);
					continue;
				}
				snprintf(want, sizeof(want), "line %zu: longer", line);
				if (r != CS_ERR_LIMIT || strstr(why, want) == NULL)
					fail_msg("a %zu-byte row at offset %zu (reads "
					    "of %zu): %d '%s'", rows[k], off, step, r,
					    why);
			}
	assert_true(tried > 8192);
	/* And near the start of the file. */
	for (size_t off = 0; off <= 64; off++) {
		char why[256];
		size_t line;

		assert_int_equal(long_row_at(off, 8192, 0, why, sizeof(why), &line),
		    CS_ERR_LIMIT);
		assert_int_equal(long_row_at(off, CS_TSV_MAXLINE, 0, why,
		    sizeof(why), &line), 1);
	}
}

static void a_bom_does_not_count_toward_the_limit_nor_nul_pass(void **state)
{
	static char f[3 + CS_TSV_MAXLINE + 2];
	static const char nul[] = "ok\na\0b\n";
	char out[4 * CS_TSV_MAXLINE], why[256];

	memcpy(f, "\xef\xbb\xbf", 3);
	memset(f + 3, 'x', CS_TSV_MAXLINE);
	memcpy(f + 3 + CS_TSV_MAXLINE, "\n", 2);
	assert_int_equal(read_all(f, sizeof(f) - 1, 0, out, sizeof(out), why,
	    sizeof(why)), 0);
	assert_int_equal(strlen(out), 2 + CS_TSV_MAXLINE + 1);
	/* A NUL would cut a field short without a word: refused. */
	assert_int_equal(read_all(nul, sizeof(nul) - 1, 0, out, sizeof(out), why,
	    sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "line 2"));
	assert_non_null(strstr(why, "NUL"));
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
		cmocka_unit_test(a_half_width_kana_name_is_not_taken_for_utf8),
		cmocka_unit_test(every_half_width_kana_pair_decodes_as_kana),
		cmocka_unit_test(a_utf8_file_decodes_with_or_without_bom),
		cmocka_unit_test(the_encoding_is_decided_once_and_named_in_errors),
		cmocka_unit_test(cr_lf_and_crlf_all_end_lines),
		cmocka_unit_test(a_row_limit_does_not_depend_on_where_the_row_lies),
		cmocka_unit_test(a_bom_does_not_count_toward_the_limit_nor_nul_pass),
	};

	cs_secret_process_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
