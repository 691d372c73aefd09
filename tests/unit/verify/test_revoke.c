/* test_revoke.c - the revocation request TSV, byte for byte.
 *
 * The expected bytes are written out as hex from the format itself (15
 * columns: 1 DN, 4 serial, 5 reason, 6 comment, 10 administrator mail,
 * 14 user mail; tab separated, CRLF), not produced by the code under
 * test. CP932 writes 髙 and 﨑 in their IBM-extension form (FB FC, FA B1),
 * as Windows and Java's MS932 do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cs_err.h"
#include "cs_card.h"
#include "cs_revoke.h"

/* A lost card's row: ASCII DN with a comma inside O, reason 1. */
static const char GOLDEN_LOST[] =
	"434e3d54414b4148415348492053484f54412c4f553d32393938343339302c4f"
	"3d4e6174696f6e616c20496e73746974757465206f6620496e666f726d617469"
	"63732c2041636164656d652043616d7075732c4c3d41636164656d652c433d4a"
	"500909093737323539323935373335303332353635303109310909090909706b"
	"692d61646d696e406578616d706c652e61632e6a700909090973686f74612e74"
	"616b616861736869406578616d706c652e61632e6a70090d0a"
	;

/* Reason 0 with its (Japanese) comment, a 128-bit S/MIME serial, no user
 * mail. */
static const char GOLDEN_REASON0[] =
	"434e3d682e7361746f406578616d706c652e61632e6a70090909313730313431"
	"3138333436303436393233313733313638373330333731353838343130353732"
	"3709300995b48eb882cc82bd82df20fbfcfab109090909706b692d61646d696e"
	"406578616d706c652e61632e6a7009090909090d0a"
	;

static void expect_bytes(const cs_revoke_row *row, const char *hex)
{
	unsigned char want[1024];
	char got[1024], why[256] = "";
	size_t wantlen, gotlen;

	assert_int_equal(cs_hex_decode(hex, want, sizeof(want), &wantlen), CS_OK);
	assert_int_equal(cs_revoke_format(row, got, sizeof(got), &gotlen, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(gotlen, wantlen);
	assert_memory_equal(got, want, wantlen);
}

static void lost_card_row(void **state)
{
	cs_revoke_row row = {
		.dn = "CN=TAKAHASHI SHOTA,OU=29984390,O=National Institute of "
		    "Informatics, Academe Campus,L=Academe,C=JP",
		.serial = "7725929573503256501",
		.reason = 1,
		.admin_mail = "pki-admin@example.ac.jp",
		.user_mail = "shota.takahashi@example.ac.jp",
	};

	(void)state;
	expect_bytes(&row, GOLDEN_LOST);
}

static void reason0_row_cp932(void **state)
{
	cs_revoke_row row = {
		.dn = "CN=h.sato@example.ac.jp",
		.serial = "170141183460469231731687303715884105727",
		.reason = 0,
		.comment = "紛失のため 髙﨑",
		.admin_mail = "pki-admin@example.ac.jp",
	};

	(void)state;
	expect_bytes(&row, GOLDEN_REASON0);
}

static void count_columns(void **state)
{
	cs_revoke_row row = {
		.dn = "CN=A", .serial = "1", .reason = 4,
		.admin_mail = "a@b.jp", .user_mail = "c@d.jp",
	};
	char out[256], why[256];
	size_t n, tabs = 0;

	(void)state;
	assert_int_equal(cs_revoke_format(&row, out, sizeof(out), &n, why,
	    sizeof(why)), CS_OK);
	for (size_t i = 0; i < n; i++)
		tabs += out[i] == '\t';
	assert_int_equal(tabs, CS_REVOKE_COLUMNS - 1);
	assert_true(n >= 2 && out[n - 2] == '\r' && out[n - 1] == '\n');
}

static void refusals(void **state)
{
	cs_revoke_row ok = {
		.dn = "CN=A", .serial = "12", .reason = 1,
		.admin_mail = "a@b.jp", .user_mail = "c@d.jp",
	};
	cs_revoke_row r;
	char out[512], why[256];
	size_t n;

	(void)state;
	r = ok; r.reason = 0;        /* reason 0 without a comment */
	assert_int_equal(cs_revoke_check(&r, why, sizeof(why)), CS_ERR_USAGE);
	assert_non_null(strstr(why, "column 6"));
	r = ok; r.reason = 2;        /* not a reason the service takes */
	assert_int_not_equal(cs_revoke_check(&r, why, sizeof(why)), CS_OK);
	r = ok; r.serial = "0x1F";   /* decimal only */
	assert_int_not_equal(cs_revoke_check(&r, why, sizeof(why)), CS_OK);
	r = ok; r.serial = "012";    /* canonical decimal only */
	assert_int_not_equal(cs_revoke_check(&r, why, sizeof(why)), CS_OK);
	r = ok; r.admin_mail = NULL; /* column 10 is required */
	assert_int_not_equal(cs_revoke_check(&r, why, sizeof(why)), CS_OK);
	r = ok; r.dn = "CN=A\tB";    /* a tab would shift every column */
	assert_int_not_equal(cs_revoke_check(&r, why, sizeof(why)), CS_OK);
	r = ok; r.reason = 0; r.comment = "line\r\nbreak";
	assert_int_not_equal(cs_revoke_check(&r, why, sizeof(why)), CS_OK);
	/* 𠮷 has no CP932 form: refused, never replaced. */
	r = ok; r.reason = 0; r.comment = "𠮷田";
	assert_int_equal(cs_revoke_format(&r, out, sizeof(out), &n, why,
	    sizeof(why)), CS_ERR_FORMAT);
	assert_int_equal(cs_revoke_check(&ok, why, sizeof(why)), CS_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lost_card_row),
		cmocka_unit_test(reason0_row_cp932),
		cmocka_unit_test(count_columns),
		cmocka_unit_test(refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
