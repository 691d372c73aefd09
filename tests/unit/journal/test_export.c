/* test_export.c - the bytes a spreadsheet gets: RFC 4180 quoting, CRLF,
 * CP932 with IBM extensions, 〓 for what CP932 cannot say (reported). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "jt.h"

static void view(cs_jissuance_view *v, const char *holder, const char *reason)
{
	memset(v, 0, sizeof(*v));
	v->iss.id = 7;
	v->run_id = 1;
	v->iss.record_id = 3;
	v->iss.card_id = 2;
	v->iss.holder = (char *)holder;
	v->iss.mail = (char *)"a@example.ac.jp";
	v->iss.cert_serial = (char *)"340282366920938463463374607431768211455";
	v->chip_serial = (char *)"0A0B";
	v->printed_no = (char *)"P-1";
	v->iss.reader = (char *)"R 1";
	v->iss.operator_name = (char *)"op";
	v->iss.started = (char *)"2024-04-01T09:30:00.000Z";
	v->iss.outcome = CS_JISSUE_FAILED;
	v->iss.reason = (char *)reason;
}

static char *render(const cs_jissuance_view *v, cs_jcsv_enc enc,
    cs_jexport_warn_fn warn, void *ctx, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(cs_jexport_csv_row(f, v, enc, warn, ctx), CS_OK);
	fclose(f);
	return buf;
}

struct warned {
	int n;
	int64_t id;
	char column[32];
};

static void warn(void *ctx, int64_t id, const char *column, const char *text)
{
	struct warned *w = ctx;

	w->n++;
	w->id = id;
	snprintf(w->column, sizeof(w->column), "%s", column);
}

static void header_is_one_crlf_line(void **state)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	static const char want[] = "issuance,run,record,card,holder,mail,"
	    "cert_serial,chip_serial,pkcs15_serial,printed_no,reader,operator,"
	    "started,finished,outcome,reason\r\n";

	assert_int_equal(cs_jexport_csv_header(f, CS_JCSV_UTF8), CS_OK);
	fclose(f);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(buf, want, len);
	free(buf);
}

static void rfc4180_quoting(void **state)
{
	cs_jissuance_view v;
	size_t len;
	char *got;
	static const char want[] =
	    "7,1,3,2,\"KOKURITSU, \"\"HANAKO\"\"\",a@example.ac.jp,"
	    "340282366920938463463374607431768211455,0A0B,,P-1,R 1,op,"
	    "2024-04-01T09:30:00.000Z,,failed,\"line one\r\nline two\"\r\n";

	view(&v, "KOKURITSU, \"HANAKO\"", "line one\r\nline two");
	got = render(&v, CS_JCSV_UTF8, NULL, NULL, &len);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(got, want, len);
	free(got);

	/* A lone LF or quote is quoted too; a plain field is not. */
	view(&v, "a\"b", "x\ny");
	got = render(&v, CS_JCSV_UTF8, NULL, NULL, &len);
	assert_non_null(strstr(got, ",\"a\"\"b\","));
	assert_non_null(strstr(got, ",failed,\"x\ny\"\r\n"));
	assert_non_null(strstr(got, ",R 1,op,"));
	free(got);
}

static void cp932_golden_bytes(void **state)
{
	cs_jissuance_view v;
	struct warned w = {0};
	size_t len;
	char *got;
	/* 髙﨑 花子 (IBM extensions FB FC, FA B1), 〜 (WAVE DASH, 81 60),
	 * ① (NEC special, 87 40), half-width ｶ (B6). */
	static const char want[] =
	    "7,1,3,2,\xfb\xfc\xfa\xb1 \x89\xd4\x8e\x71,a@example.ac.jp,"
	    "340282366920938463463374607431768211455,0A0B,,P-1,R 1,op,"
	    "2024-04-01T09:30:00.000Z,,failed,"
	    "\"\x81\x60\x87\x40\xb6, \"\"x\"\"\"\r\n";

	view(&v, "髙﨑 花子", "〜①ｶ, \"x\"");
	got = render(&v, CS_JCSV_CP932, warn, &w, &len);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(got, want, len);
	assert_int_equal(w.n, 0);
	free(got);
}

static void cp932_replaces_and_reports(void **state)
{
	cs_jissuance_view v;
	struct warned w = {0};
	size_t len;
	char *got;
	/* 𠮷 (U+20BB7) and é have no CP932 form: 〓 is 81 AC. */
	static const char want[] =
	    "7,1,3,2,\x81\xac\x93\x63 \x91\xbe\x98\x59,a@example.ac.jp,"
	    "340282366920938463463374607431768211455,0A0B,,P-1,R 1,op,"
	    "2024-04-01T09:30:00.000Z,,failed,Ren\x81\xac\r\n";

	view(&v, "𠮷田 太郎", "René");
	got = render(&v, CS_JCSV_CP932, warn, &w, &len);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(got, want, len);
	assert_int_equal(w.n, 2);      /* holder and reason */
	assert_int_equal(w.id, 7);
	assert_string_equal(w.column, "reason");
	free(got);

	/* Not UTF-8 at all (a stray byte): also 〓, not a failure. */
	memset(&w, 0, sizeof(w));
	view(&v, "A\xff" "B", NULL);
	got = render(&v, CS_JCSV_CP932, warn, &w, &len);
	assert_non_null(strstr(got, ",A\x81\xac" "B,"));
	assert_int_equal(w.n, 1);
	assert_string_equal(w.column, "holder");
	free(got);
}

static void json_row(void **state)
{
	cs_jissuance_view v;
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	view(&v, "髙﨑 \"H\"", NULL);
	assert_int_equal(cs_jexport_json_row(f, &v, 1), CS_OK);
	fclose(f);
	assert_string_equal(buf, "{\"issuance\":7,\"run\":1,\"record\":3,"
	    "\"card\":2,\"holder\":\"髙﨑 \\\"H\\\"\",\"mail\":\"a@example.ac.jp\","
	    "\"cert_serial\":\"340282366920938463463374607431768211455\","
	    "\"chip_serial\":\"0A0B\",\"pkcs15_serial\":null,\"printed_no\":"
	    "\"P-1\",\"reader\":\"R 1\",\"operator\":\"op\",\"started\":"
	    "\"2024-04-01T09:30:00.000Z\",\"finished\":null,\"outcome\":"
	    "\"failed\",\"reason\":null}");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_is_one_crlf_line),
		cmocka_unit_test(rfc4180_quoting),
		cmocka_unit_test(cp932_golden_bytes),
		cmocka_unit_test(cp932_replaces_and_reports),
		cmocka_unit_test(json_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
