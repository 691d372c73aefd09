/* test_judge.c - the verdict rules of `cardstation verify`, on facts made
 * by hand: a good card is OK, and each fault the desk must see turns it
 * WARN or FAIL with its own reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cs_err.h"
#include "cs_verify.h"

static cs_vcert certs[2];

/* An issued card as the journal and the card agree on it. */
static void good(cs_vreport *r)
{
	memset(r, 0, sizeof(*r));
	memset(certs, 0, sizeof(certs));
	snprintf(r->reader, sizeof(r->reader), "Reader 0");
	snprintf(r->chip_serial, sizeof(r->chip_serial), "4790-5040-00000001");
	snprintf(r->profile, sizeof(r->profile), "isoapplet");
	r->pin_set = 1;
	r->pin_tries = r->pin_max = 3;
	r->has_pkcs15 = 1;
	r->mechs_known = 1;
	r->mechs.rsa_pkcs = 1;
	r->mechs.rsa_decrypt = 1;
	r->card_known = 1;
	r->card_id = 7;
	snprintf(r->card_state, sizeof(r->card_state), "issued");
	r->soon_days = 30;
	certs[0].parsed = 1;
	snprintf(certs[0].serial, sizeof(certs[0].serial), "1001");
	snprintf(certs[0].subject, sizeof(certs[0].subject), "CN=A,C=JP");
	certs[0].days_left = 200;
	certs[0].client_auth = 1;
	certs[0].chain = 1;
	certs[0].has_key = 1;
	certs[0].j_known = 1;
	certs[0].j_bound_here = 1;
	certs[0].j_dn_matches = 1;
	snprintf(certs[0].j_holder, sizeof(certs[0].j_holder), "HOLDER A");
	certs[0].signed_ok = 1;
	r->certs = certs;
	r->ncerts = 1;
}

static int has(const cs_vreport *r, const char *code, cs_vlevel level)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].code, code) == 0 &&
		    r->reasons[i].level == level)
			return 1;
	return 0;
}

static const char *params_of(const cs_vreport *r, const char *code)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].code, code) == 0)
			return r->reasons[i].params;
	return "";
}

static void good_card_ok(void **state)
{
	cs_vreport r;
	char why[128];

	(void)state;
	good(&r);
	cs_verify_judge(&r);
	assert_int_equal(r.verdict, CS_VERDICT_OK);
	assert_true(has(&r, "key-ok", CS_VL_INFO));
	assert_int_equal(cs_verify_use(&r, CS_VUSE_TLS12_CLIENT, why,
	    sizeof(why)), 1);
	/* The applet has no RSA-PSS: no TLS 1.3 with an RSA key. */
	assert_int_equal(cs_verify_use(&r, CS_VUSE_TLS13_CLIENT, why,
	    sizeof(why)), 0);
	assert_non_null(strstr(why, "PSS"));
	r.mechs.rsa_pss = 1;
	assert_int_equal(cs_verify_use(&r, CS_VUSE_TLS13_CLIENT, why,
	    sizeof(why)), 1);
	/* no emailProtection: no S/MIME */
	assert_int_equal(cs_verify_use(&r, CS_VUSE_SMIME_SIGN, why,
	    sizeof(why)), 0);
}

static void no_pin_is_not_a_warning(void **state)
{
	cs_vreport r;

	(void)state;
	good(&r);
	certs[0].signed_ok = -1;
	certs[0].has_key = -1;
	cs_verify_judge(&r);
	assert_int_equal(r.verdict, CS_VERDICT_OK);
	assert_true(has(&r, "key-untested", CS_VL_INFO));
}

/* Each fault, its reason and the verdict it forces. */
static void faults(void **state)
{
	cs_vreport r;

	(void)state;
#define FAULT(setup, code, level, want) do { \
		good(&r); \
		setup; \
		cs_verify_judge(&r); \
		assert_true(has(&r, code, level)); \
		assert_int_equal(r.verdict, want); \
	} while (0)
	FAULT(certs[0].j_bound_here = 0, "not-bound-card", CS_VL_FAIL,
	    CS_VERDICT_FAIL);
	FAULT(certs[0].j_bound_here = -1, "cert-not-live", CS_VL_FAIL,
	    CS_VERDICT_FAIL);
	FAULT(certs[0].j_known = 0, "cert-unknown", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT(r.card_known = 0, "card-unknown", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT(snprintf(r.card_state, sizeof(r.card_state), "lost"), "card-lost",
	    CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT(snprintf(r.card_state, sizeof(r.card_state), "returned"),
	    "card-wiped", CS_VL_FAIL, CS_VERDICT_FAIL);
	/* The journal's word travels as its state code, which every
	 * renderer tells in the operator's language. */
	assert_non_null(strstr(params_of(&r, "card-wiped"),
	    "state.card.returned"));
	FAULT((certs[0].j_bound_here = -1, snprintf(certs[0].j_outcome,
	    sizeof(certs[0].j_outcome), "revoked")), "cert-not-live",
	    CS_VL_FAIL, CS_VERDICT_FAIL);
	assert_non_null(strstr(params_of(&r, "cert-not-live"),
	    "state.outcome.revoked"));
	/* Retired holding a live certificate: a failure; with none live
	 * there, a warning of its own (beside the certificate's reason). */
	FAULT(snprintf(r.card_state, sizeof(r.card_state), "retired"),
	    "card-retired-live", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT((snprintf(r.card_state, sizeof(r.card_state), "retired"),
	    certs[0].j_bound_here = -1), "card-retired", CS_VL_WARN,
	    CS_VERDICT_FAIL);
	assert_false(has(&r, "card-retired-live", CS_VL_FAIL));
	FAULT(certs[0].signed_ok = 0, "key-mismatch", CS_VL_FAIL,
	    CS_VERDICT_FAIL);
	FAULT(certs[0].days_left = -3, "cert-expired", CS_VL_FAIL,
	    CS_VERDICT_FAIL);
	FAULT(certs[0].not_yet_valid = 1, "cert-not-yet-valid", CS_VL_FAIL,
	    CS_VERDICT_FAIL);
	FAULT(certs[0].days_left = 10, "cert-expires-soon", CS_VL_WARN,
	    CS_VERDICT_WARN);
	FAULT(certs[0].chain = 0, "chain", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT(certs[0].chain = -1, "chain-unchecked", CS_VL_WARN,
	    CS_VERDICT_WARN);
	FAULT(certs[0].has_key = 0, "no-key", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT(certs[0].j_dn_matches = 0, "dn-mismatch", CS_VL_FAIL,
	    CS_VERDICT_FAIL);
	FAULT(r.pin_tries = 1, "pin-mistyped", CS_VL_WARN, CS_VERDICT_WARN);
	FAULT(r.pin_tries = 0, "pin-blocked", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT(r.pin_set = 0, "no-pin", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT((r.has_pkcs15 = 0, r.ncerts = 0), "no-pkcs15", CS_VL_FAIL,
	    CS_VERDICT_FAIL);
	FAULT(r.ncerts = 0, "no-certificate", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT(snprintf(r.p11_error, sizeof(r.p11_error), "no token"),
	    "pkcs15-unreadable", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT(r.profile[0] = '\0', "unknown-model", CS_VL_FAIL,
	    CS_VERDICT_FAIL);
	FAULT(snprintf(r.card_error, sizeof(r.card_error), "mute"),
	    "card-unreadable", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT(snprintf(r.journal_error, sizeof(r.journal_error), "no file"),
	    "journal-unavailable", CS_VL_WARN, CS_VERDICT_WARN);
	FAULT((r.nmissing = 1, snprintf(r.missing[0], sizeof(r.missing[0]),
	    "2002")), "bound-cert-missing", CS_VL_FAIL, CS_VERDICT_FAIL);
	FAULT((r.pin_given = 1, r.login_rc = CS_ERR_CRYPTO), "pin-refused",
	    CS_VL_FAIL, CS_VERDICT_FAIL);
#undef FAULT
}

/* Two people's certificates on one card is the worst mistake. */
static void two_holders(void **state)
{
	cs_vreport r;

	(void)state;
	good(&r);
	certs[1] = certs[0];
	snprintf(certs[1].serial, sizeof(certs[1].serial), "2002");
	snprintf(certs[1].j_holder, sizeof(certs[1].j_holder), "HOLDER B");
	r.ncerts = 2;
	cs_verify_judge(&r);
	assert_true(has(&r, "several-holders", CS_VL_FAIL));
	assert_int_equal(r.verdict, CS_VERDICT_FAIL);
	/* A CA certificate beside the holder's is not a second holder. */
	good(&r);
	certs[1].parsed = 1;
	certs[1].is_ca = 1;
	snprintf(certs[1].subject, sizeof(certs[1].subject), "CN=CA");
	r.ncerts = 2;
	cs_verify_judge(&r);
	assert_int_equal(r.verdict, CS_VERDICT_OK);
}

/* Certificates the journal does not know are told apart by their subjects
 * as encoded: a CN of "A,C=JP"-like text renders like another person's
 * subject but is not it (issue 15). */
static void look_alike_subjects(void **state)
{
	static const unsigned char der_a[] = {0x30, 0x01, 0x0a};
	static const unsigned char der_b[] = {0x30, 0x01, 0x0b};
	cs_vreport r;

	(void)state;
	good(&r);
	certs[0].j_holder[0] = '\0';
	memcpy(certs[0].subject_der, der_a, sizeof(der_a));
	certs[0].subject_derlen = sizeof(der_a);
	certs[1] = certs[0];
	snprintf(certs[1].serial, sizeof(certs[1].serial), "2002");
	memcpy(certs[1].subject_der, der_b, sizeof(der_b));
	r.ncerts = 2;
	cs_verify_judge(&r);
	assert_true(has(&r, "several-holders", CS_VL_FAIL));
	/* The very same subject is one person's two certificates. */
	memcpy(certs[1].subject_der, der_a, sizeof(der_a));
	cs_verify_judge(&r);
	assert_false(has(&r, "several-holders", CS_VL_FAIL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_card_ok),
		cmocka_unit_test(no_pin_is_not_a_warning),
		cmocka_unit_test(faults),
		cmocka_unit_test(two_holders),
		cmocka_unit_test(look_alike_subjects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
