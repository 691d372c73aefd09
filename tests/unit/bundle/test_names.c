/* test_names.c - serials up to 20 octets and DNs as UPKI writes them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/x509.h>

#include "cs_err.h"
#include "cs_p12.h"
#include "cs_verify.h"

/* 2^159 - 1: the largest positive DER INTEGER of 20 octets (RFC 5280). */
#define MAX20 "730750818665451459101842416358141509827966271487"
#define MAX20_PLUS1 "730750818665451459101842416358141509827966271488"

static void serials_are_canonical_decimal_up_to_20_octets(void **state)
{
	char out[CS_SERIAL_SIZE];

	assert_int_equal(cs_serial_canon("000123", out, sizeof(out)), CS_OK);
	assert_string_equal(out, "123");
	assert_int_equal(cs_serial_canon("0", out, sizeof(out)), CS_OK);
	assert_string_equal(out, "0");
	/* 2^63 - 1, 2^128 - 1 and 2^128 (past the old limit) all fit. */
	assert_int_equal(cs_serial_canon("9223372036854775807", out, sizeof(out)), CS_OK);
	assert_int_equal(cs_serial_canon("340282366920938463463374607431768211455",
	    out, sizeof(out)), CS_OK);
	assert_int_equal(cs_serial_canon("340282366920938463463374607431768211456",
	    out, sizeof(out)), CS_OK);
	assert_string_equal(out, "340282366920938463463374607431768211456");
	/* The boundary, both sides: 2^159 - 1 fits, 2^159 does not. */
	assert_int_equal(cs_serial_canon(MAX20, out, sizeof(out)), CS_OK);
	assert_string_equal(out, MAX20);
	assert_int_equal(cs_serial_canon("00" MAX20, out, sizeof(out)), CS_OK);
	assert_string_equal(out, MAX20);
	assert_int_equal(cs_serial_canon("730750818665451459101842416358141509827966271486",
	    out, sizeof(out)), CS_OK);
	assert_int_equal(cs_serial_canon(MAX20_PLUS1, out, sizeof(out)), CS_ERR_FORMAT);
	assert_int_equal(cs_serial_canon("999999999999999999999999999999999999999999999999",
	    out, sizeof(out)), CS_ERR_FORMAT);
	/* 2^160 - 1 (20 octets, but negative as a DER INTEGER), 49 digits. */
	assert_int_equal(cs_serial_canon("1461501637330902918203684832716283019655932542975",
	    out, sizeof(out)), CS_ERR_FORMAT);
	assert_int_equal(cs_serial_canon("1000000000000000000000000000000000000000000000000",
	    out, sizeof(out)), CS_ERR_FORMAT);
	/* A buffer one short of CS_SERIAL_SIZE cannot hold the largest. */
	assert_int_equal(cs_serial_canon(MAX20, out, sizeof(out) - 1), CS_ERR_FORMAT);
	assert_int_equal(cs_serial_canon("12a", out, sizeof(out)), CS_ERR_FORMAT);
	assert_int_equal(cs_serial_canon("-5", out, sizeof(out)), CS_ERR_FORMAT);
	assert_int_equal(cs_serial_canon("+5", out, sizeof(out)), CS_ERR_FORMAT);
	assert_int_equal(cs_serial_canon(" 5", out, sizeof(out)), CS_ERR_FORMAT);
	assert_int_equal(cs_serial_canon("", out, sizeof(out)), CS_ERR_FORMAT);
	assert_int_equal(cs_serial_canon("0x1F", out, sizeof(out)), CS_ERR_FORMAT);
}

/* The limit is the DER one: 2^159 - 1 encodes in 20 content octets,
 * 2^159 needs a 21st (a leading zero keeps it positive). */
static void the_serial_limit_is_twenty_der_octets(void **state)
{
	static const char *const v[] = {MAX20, MAX20_PLUS1};
	static const int octets[] = {20, 21};

	for (int i = 0; i < 2; i++) {
		BIGNUM *bn = NULL;
		ASN1_INTEGER *ai;

		assert_true(BN_dec2bn(&bn, v[i]) > 0);
		assert_non_null(ai = BN_to_ASN1_INTEGER(bn, NULL));
		assert_int_equal(i2d_ASN1_INTEGER(ai, NULL), 2 + octets[i]);
		ASN1_INTEGER_free(ai);
		BN_free(bn);
	}
}

static void a_certificate_serial_reads_back_in_decimal(void **state)
{
	static const char *const v[] = {
	    "170141183460469231731687303715884105727", MAX20};
	X509 *x = X509_new();
	char out[CS_SERIAL_SIZE], canon[CS_SERIAL_SIZE];

	for (int i = 0; i < 2; i++) {
		BIGNUM *bn = NULL;

		assert_true(BN_dec2bn(&bn, v[i]) > 0);
		assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
		assert_int_equal(cs_serial_of_cert(x, out, sizeof(out)), CS_OK);
		assert_string_equal(out, v[i]);
		/* What the certificate says, the index may say too. */
		assert_int_equal(cs_serial_canon(out, canon, sizeof(canon)), CS_OK);
		assert_string_equal(canon, out);
		BN_free(bn);
	}
	assert_int_equal(cs_serial_of_cert(x, out, 10), CS_ERR_FORMAT);
	X509_free(x);
}

/* Entries as the certificate stores them, C first; a type written "+UID"
 * joins the RDN before it (a multi-valued RDN). */
static X509_NAME *name_of(const char *const *kv)
{
	X509_NAME *n = X509_NAME_new();

	for (; kv[0] != NULL; kv += 2) {
		int join = kv[0][0] == '+';

		assert_int_equal(X509_NAME_add_entry_by_txt(n, kv[0] + join,
		    MBSTRING_UTF8, (const unsigned char *)kv[1], -1, -1,
		    join ? -1 : 0), 1);
	}
	return n;
}

static void dn_is_cn_first_and_commas_stay_unescaped(void **state)
{
	/* Certificates store C first; the index writes CN first. */
	static const char *const kv[] = {"C", "JP", "L", "Academe",
	    "O", "National Institute of Informatics, Academe Campus",
	    "OU", "12345678", "CN", "KOKURITSU HANAKO", NULL};
	X509_NAME *n = name_of(kv);
	char out[256];

	assert_int_equal(cs_dn_render(n, out, sizeof(out)), CS_OK);
	assert_string_equal(out, "CN=KOKURITSU HANAKO,OU=12345678,"
	    "O=National Institute of Informatics, Academe Campus,L=Academe,C=JP");
	assert_int_equal(cs_dn_render(n, out, 20), CS_ERR_LIMIT);
	X509_NAME_free(n);
}

static void smime_dn_is_the_mail_alone(void **state)
{
	static const char *const kv[] = {"CN", "hanako@example.ac.jp", NULL};
	X509_NAME *n = name_of(kv);
	char out[256];

	assert_int_equal(cs_dn_render(n, out, sizeof(out)), CS_OK);
	assert_string_equal(out, "CN=hanako@example.ac.jp");
	X509_NAME_free(n);
}

static void utf8_values_render_as_utf8(void **state)
{
	static const char *const kv[] = {"C", "JP", "CN", "髙﨑 花子", NULL};
	X509_NAME *n = name_of(kv);
	char out[256];

	assert_int_equal(cs_dn_render(n, out, sizeof(out)), CS_OK);
	assert_string_equal(out, "CN=髙﨑 花子,C=JP");
	X509_NAME_free(n);
}

/* The red team's subject: one CN whose value carries the rest of a DN. */
static const char *const FORGED[] = {"C", "JP",
    "CN", "KOKURITSU HANAKO,OU=12345678,O=NII,L=Academe", NULL};
static const char *const REAL[] = {"C", "JP", "L", "Academe", "O", "NII",
    "OU", "12345678", "CN", "KOKURITSU HANAKO", NULL};
#define REAL_DN "CN=KOKURITSU HANAKO,OU=12345678,O=NII,L=Academe,C=JP"

static void a_value_cannot_pose_as_more_attributes(void **state)
{
	static const char *const spaced[] = {"C", "JP",
	    "CN", "KOKURITSU HANAKO, OU=12345678", NULL};
	static const char *const plus[] = {"C", "JP",
	    "CN", "KOKURITSU HANAKO+UID=7", NULL};
	static const char *const in_o[] = {"C", "JP",
	    "O", "NII,L=Academe", "OU", "12345678", "CN", "KOKURITSU HANAKO",
	    NULL};
	X509_NAME *forged = name_of(FORGED), *real = name_of(REAL), *n;
	char out[256], why[512];

	/* Rendered, the forgery is the real DN to the byte... */
	assert_int_equal(cs_dn_render(forged, out, sizeof(out)), CS_OK);
	assert_string_equal(out, REAL_DN);
	/* ...but compared entry by entry it is refused, and says why. */
	why[0] = '\0';
	assert_false(cs_dn_matches(forged, REAL_DN, why, sizeof(why)));
	assert_non_null(strstr(why, "reads as another attribute"));
	assert_non_null(strstr(why, ",OU=1"));
	assert_true(cs_dn_matches(real, REAL_DN, why, sizeof(why)));

	n = name_of(spaced);
	assert_false(cs_dn_matches(n, "CN=KOKURITSU HANAKO, OU=12345678,C=JP",
	    NULL, 0));
	X509_NAME_free(n);
	n = name_of(plus);
	assert_false(cs_dn_matches(n, "CN=KOKURITSU HANAKO+UID=7,C=JP", NULL, 0));
	X509_NAME_free(n);
	n = name_of(in_o);
	assert_false(cs_dn_matches(n, REAL_DN, NULL, 0));
	X509_NAME_free(n);
	X509_NAME_free(forged);
	X509_NAME_free(real);
}

static void a_real_comma_inside_a_value_still_matches(void **state)
{
	static const char *const kv[] = {"C", "JP", "L", "Academe",
	    "O", "Foo, Inc.", "OU", "12345678", "CN", "KOKURITSU HANAKO", NULL};
	static const char *const campus[] = {"C", "JP", "L", "Academe",
	    "O", "National Institute of Informatics, Academe Campus",
	    "OU", "1", "CN", "A", NULL};
	X509_NAME *n = name_of(kv), *c = name_of(campus);
	char why[512];

	assert_true(cs_dn_matches(n, "CN=KOKURITSU HANAKO,OU=12345678,"
	    "O=Foo, Inc.,L=Academe,C=JP", why, sizeof(why)));
	assert_true(cs_dn_matches(c, "CN=A,OU=1,O=National Institute of "
	    "Informatics, Academe Campus,L=Academe,C=JP", NULL, 0));
	/* Any other string is not this subject. */
	assert_false(cs_dn_matches(n, "CN=KOKURITSU HANAKO,OU=12345678,"
	    "O=Foo Inc.,L=Academe,C=JP", why, sizeof(why)));
	assert_non_null(strstr(why, "is not 主体者DN"));
	assert_false(cs_dn_matches(n, "CN=KOKURITSU HANAKO,OU=12345678,"
	    "O=Foo, Inc.,L=Academe", NULL, 0));
	assert_false(cs_dn_matches(n, "CN=KOKURITSU HANAKO,OU=12345678,"
	    "O=Foo, Inc.,L=Academe,C=JP,", NULL, 0));
	assert_false(cs_dn_matches(n, "CN=KOKURITSU HANAKO,OU=12345678,"
	    "O=Foo, Inc.,L=Academe,C=JPN", NULL, 0));
	assert_false(cs_dn_matches(n, "C=JP,L=Academe,O=Foo, Inc.,"
	    "OU=12345678,CN=KOKURITSU HANAKO", NULL, 0));
	assert_false(cs_dn_matches(n, "cn=KOKURITSU HANAKO,OU=12345678,"
	    "O=Foo, Inc.,L=Academe,C=JP", NULL, 0));
	assert_false(cs_dn_matches(n, "", NULL, 0));
	X509_NAME_free(n);
	X509_NAME_free(c);
}

static void a_multi_valued_rdn_keeps_its_plus(void **state)
{
	static const char *const kv[] = {"C", "JP", "O", "Foo",
	    "CN", "A", "+UID", "u1", NULL};
	X509_NAME *n = name_of(kv);
	char out[256];

	assert_int_equal(cs_dn_render(n, out, sizeof(out)), CS_OK);
	assert_string_equal(out, "UID=u1+CN=A,O=Foo,C=JP");
	assert_true(cs_dn_matches(n, "UID=u1+CN=A,O=Foo,C=JP", NULL, 0));
	/* Two RDNs are not one. */
	assert_false(cs_dn_matches(n, "UID=u1,CN=A,O=Foo,C=JP", NULL, 0));
	X509_NAME_free(n);
}

static void an_smime_subject_is_the_mail_alone(void **state)
{
	static const char *const kv[] = {"CN", "hanako@example.ac.jp", NULL};
	X509_NAME *n = name_of(kv), *empty = X509_NAME_new();

	assert_true(cs_dn_matches(n, "CN=hanako@example.ac.jp", NULL, 0));
	assert_false(cs_dn_matches(n, "CN=hanako@example.ac.jp,C=JP", NULL, 0));
	assert_false(cs_dn_matches(n, "CN=hanako@example.ac.j", NULL, 0));
	assert_false(cs_dn_matches(n, "CN=taro@example.ac.jp", NULL, 0));
	/* A certificate without a subject names no one. */
	assert_false(cs_dn_matches(empty, "", NULL, 0));
	X509_NAME_free(n);
	X509_NAME_free(empty);
}

static X509 *self_signed(const char *const *kv, EVP_PKEY **key)
{
	X509 *x = X509_new();
	X509_NAME *n = name_of(kv);

	assert_non_null(*key = EVP_EC_gen("P-256"));
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 42), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -86400));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_int_equal(X509_set_pubkey(x, *key), 1);
	assert_true(X509_sign(x, *key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

/* Both places that compare a subject with 主体者DN refuse the forgery:
 * the PKCS#12 check before a card is written, and verify's journal check. */
static void the_p12_check_and_verify_refuse_the_forgery(void **state)
{
	const char *const *names[] = {REAL, FORGED};

	for (int i = 0; i < 2; i++) {
		cs_p12 p = {0};
		cs_p12_info info;
		cs_p12_expect e = {.serial = "42", .file_serial = "42",
		    .dn = REAL_DN, .mail = "h@example.ac.jp", .now = time(NULL)};
		cs_vcert c = {0};
		unsigned char *der = NULL;
		int len;
		char why[512];

		p.cert = self_signed(names[i], &p.key);
		assert_int_equal(cs_p12_check(&p, &e, &info, why, sizeof(why)),
		    i == 0 ? CS_PROBLEM_NONE : CS_PROBLEM_SUBJECT_MISMATCH);
		assert_true((len = i2d_X509(p.cert, &der)) > 0);
		assert_int_equal(cs_verify_cert_facts(der, (size_t)len, e.now, &c),
		    CS_OK);
		assert_string_equal(c.subject, REAL_DN);
		assert_int_equal(cs_vcert_dn_matches(&c, REAL_DN), i == 0);
		OPENSSL_free(der);
		X509_free(p.cert);
		EVP_PKEY_free(p.key);
	}
}

static void problem_names_are_stable(void **state)
{
	assert_string_equal(cs_problem_name(CS_PROBLEM_WRONG_PIN), "wrong-pin");
	assert_string_equal(cs_problem_name(CS_PROBLEM_SMIME_MAIL_MISMATCH),
	    "smime-mail-mismatch");
	for (int p = 0; p < CS_PROBLEM_COUNT; p++)
		assert_non_null(cs_problem_name(p));
	assert_string_equal(cs_problem_name(CS_PROBLEM_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serials_are_canonical_decimal_up_to_20_octets),
		cmocka_unit_test(the_serial_limit_is_twenty_der_octets),
		cmocka_unit_test(a_certificate_serial_reads_back_in_decimal),
		cmocka_unit_test(dn_is_cn_first_and_commas_stay_unescaped),
		cmocka_unit_test(smime_dn_is_the_mail_alone),
		cmocka_unit_test(utf8_values_render_as_utf8),
		cmocka_unit_test(a_value_cannot_pose_as_more_attributes),
		cmocka_unit_test(a_real_comma_inside_a_value_still_matches),
		cmocka_unit_test(a_multi_valued_rdn_keeps_its_plus),
		cmocka_unit_test(an_smime_subject_is_the_mail_alone),
		cmocka_unit_test(the_p12_check_and_verify_refuse_the_forgery),
		cmocka_unit_test(problem_names_are_stable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
