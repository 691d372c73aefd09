/* test_profile_keys.c - a card profile says which keys its card takes.
 *
 * The IsoApplet write path is proven for RSA-2048 only; an EC or RSA-3072
 * key passed import and left its card half written. So a profile lists the
 * key types its card takes (key.types), a profile without the line takes
 * RSA-2048 only, and a key no loaded profile takes is key-unsupported, with
 * a sentence naming the key and what each card takes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_err.h"
#include "cs_profile.h"

static char dir[] = "/tmp/cs-test-profile-keys-XXXXXX";

#define REQUIRED "opensc.driver = isoApplet\npin.min = 6\npin.max = 8\n" \
	"pin.charset = digits\npuk.length = 16\npuk.charset = hex\n" \
	"auth.id = 01\nkey.id = 01\n"

/* Load a profile called name whose extra lines are extra. */
static int load(const char *name, const char *extra, cs_profile *p,
    char *why, size_t whylen)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "name = %s\n" REQUIRED "%s", name, extra);
	fclose(f);
	return cs_profile_load(path, p, why, whylen);
}

static void the_isoapplet_card_takes_rsa_2048_only(void **state)
{
	cs_profile p;
	char why[256];

	assert_int_equal(cs_profile_find(getenv("CS_PROFILES_SRC"), "isoapplet",
	    &p, why, sizeof(why)), CS_OK);
	assert_int_equal(p.nkey_types, 1);
	assert_string_equal(p.key_types[0], "rsa-2048");
	assert_true(cs_profile_takes_key(&p, "rsa-2048"));
	assert_false(cs_profile_takes_key(&p, "ec-prime256v1"));
	assert_false(cs_profile_takes_key(&p, "ec-secp384r1"));
	assert_false(cs_profile_takes_key(&p, "rsa-1024"));
	assert_false(cs_profile_takes_key(&p, "rsa-3072"));
	assert_false(cs_profile_takes_key(&p, "rsa-4096"));
	assert_false(cs_profile_takes_key(&p, "other"));
	assert_false(cs_profile_takes_key(&p, ""));
	assert_false(cs_profile_takes_key(&p, NULL));
}

static void a_profile_without_key_types_takes_rsa_2048_only(void **state)
{
	cs_profile p;
	char why[256];

	assert_int_equal(load("plain", "", &p, why, sizeof(why)), CS_OK);
	assert_int_equal(p.nkey_types, 0);
	assert_true(cs_profile_takes_key(&p, "rsa-2048"));
	assert_false(cs_profile_takes_key(&p, "rsa-3072"));
	assert_false(cs_profile_takes_key(&p, "ec-prime256v1"));
	/* A profile made in code, all zero, the same. */
	memset(&p, 0, sizeof(p));
	assert_true(cs_profile_takes_key(&p, "rsa-2048"));
	assert_false(cs_profile_takes_key(&p, "rsa-4096"));
}

static void key_types_are_a_list(void **state)
{
	cs_profile p;
	char why[256];

	assert_int_equal(load("two", "key.types = rsa-2048, ec-prime256v1\n", &p,
	    why, sizeof(why)), CS_OK);
	assert_int_equal(p.nkey_types, 2);
	assert_true(cs_profile_takes_key(&p, "rsa-2048"));
	assert_true(cs_profile_takes_key(&p, "ec-prime256v1"));
	assert_false(cs_profile_takes_key(&p, "ec-secp384r1"));
	assert_int_equal(load("spaced", "key.types = ec-secp384r1 rsa-4096,"
	    "rsa-3072\n", &p, why, sizeof(why)), CS_OK);
	assert_int_equal(p.nkey_types, 3);
	assert_string_equal(p.key_types[2], "rsa-3072");
	assert_false(cs_profile_takes_key(&p, "rsa-2048"));
}

static void a_bad_key_type_names_its_line(void **state)
{
	static const char *const bad[] = {
		"dsa-1024", "rsa-", "ec-", "rsa-02048", "rsa-2048x", "RSA-2048",
		"other", "ec-prime256v1!", ",", "ec-a-curve-name-too-long-for-it",
		"rsa-1 rsa-2 rsa-3 rsa-4 rsa-5 rsa-6 rsa-7 rsa-8 rsa-9",
	};
	char line[128], why[256];
	cs_profile p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "key.types = %s\n", bad[i]);
		assert_int_equal(load("bad", line, &p, why, sizeof(why)),
		    CS_ERR_FORMAT);
		assert_non_null(strstr(why, ":10: bad value for 'key.types'"));
	}
}

static void takers_are_the_profiles_that_take_a_key(void **state)
{
	cs_profile ps[3];
	char why[256], out[64];

	assert_int_equal(load("alpha", "", &ps[0], why, sizeof(why)), CS_OK);
	assert_int_equal(load("beta", "key.types = rsa-2048, ec-prime256v1\n",
	    &ps[1], why, sizeof(why)), CS_OK);
	assert_int_equal(load("gamma", "key.types = ec-prime256v1\n", &ps[2],
	    why, sizeof(why)), CS_OK);
	assert_int_equal(cs_profile_takers(ps, 3, "rsa-2048", out, sizeof(out)), 2);
	assert_string_equal(out, "alpha,beta");
	assert_int_equal(cs_profile_takers(ps, 3, "ec-prime256v1", out,
	    sizeof(out)), 2);
	assert_string_equal(out, "beta,gamma");
	assert_int_equal(cs_profile_takers(ps, 3, "rsa-3072", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(cs_profile_takers(ps, 0, "rsa-2048", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Whole names only: "alpha" fits, "alpha,beta" does not. */
	assert_int_equal(cs_profile_takers(ps, 3, "rsa-2048", out, 8), 2);
	assert_string_equal(out, "alpha");
}

static void a_key_no_profile_takes_is_key_unsupported(void **state)
{
	cs_profile ps[2];
	char why[256], takers[64];

	assert_int_equal(load("isoapplet", "key.types = rsa-2048\n", &ps[0], why,
	    sizeof(why)), CS_OK);
	assert_int_equal(load("piv", "key.types = rsa-2048, ec-prime256v1\n",
	    &ps[1], why, sizeof(why)), CS_OK);

	snprintf(why, sizeof(why), "untouched");
	assert_int_equal(cs_profile_key_problem(ps, 2, "ec-prime256v1", takers,
	    sizeof(takers), why, sizeof(why)), CS_PROBLEM_NONE);
	assert_string_equal(takers, "piv");
	assert_string_equal(why, "untouched");

	assert_int_equal(cs_profile_key_problem(ps, 2, "ec-secp384r1", takers,
	    sizeof(takers), why, sizeof(why)), CS_PROBLEM_KEY_UNSUPPORTED);
	assert_string_equal(cs_problem_name(CS_PROBLEM_KEY_UNSUPPORTED),
	    "key-unsupported");
	assert_string_equal(takers, "");
	assert_string_equal(why, "the key is ec-secp384r1 and no card profile "
	    "takes it (isoapplet takes rsa-2048; piv takes rsa-2048, "
	    "ec-prime256v1)");

	assert_int_equal(cs_profile_key_problem(ps, 1, "rsa-3072", takers,
	    sizeof(takers), why, sizeof(why)), CS_PROBLEM_KEY_UNSUPPORTED);
	assert_string_equal(why, "the key is rsa-3072 and no card profile takes "
	    "it (isoapplet takes rsa-2048)");
	assert_int_equal(cs_profile_key_problem(ps, 2, "other", takers,
	    sizeof(takers), why, sizeof(why)), CS_PROBLEM_KEY_UNSUPPORTED);
	assert_non_null(strstr(why, "neither RSA nor on a named EC curve"));
	assert_int_equal(cs_profile_key_problem(ps, 0, "rsa-2048", takers,
	    sizeof(takers), why, sizeof(why)), CS_PROBLEM_KEY_UNSUPPORTED);
	assert_string_equal(why, "the key is rsa-2048 and no card profile is "
	    "loaded to take it");
	/* A short buffer is cut, never overrun. */
	assert_int_equal(cs_profile_key_problem(ps, 2, "rsa-1024", takers,
	    sizeof(takers), why, 20), CS_PROBLEM_KEY_UNSUPPORTED);
	assert_int_equal(strlen(why), 19);
}

static int setup(void **state)
{
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Found by fuzz_profile: a profile asking for PINs of 10-12 digits got
 * random PINs of 8, which its own policy (and the card) refuse. */
static void a_random_pin_is_never_shorter_than_pin_min(void **state)
{
	cs_profile p;
	cs_secret *pin = NULL;
	char why[256];

	assert_int_equal(load("longpin", "pin.min = 10\npin.max = 12\n", &p, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(cs_profile_random_pin(&p, &pin), CS_OK);
	assert_int_equal(pin->len, 10);
	assert_int_equal(cs_profile_check_pin(&p, cs_secret_str(pin), why,
	    sizeof(why)), CS_OK);
	cs_secret_free(pin);
}

/* Found by fuzz_profile: a line longer than the read buffer was read as
 * two, and the tail of a comment became a setting. */
static void a_line_too_long_is_refused_not_split(void **state)
{
	char extra[1200];
	cs_profile p;
	char why[256];
	int n;

	n = snprintf(extra, sizeof(extra), "# ");
	memset(extra + n, 'x', 600);
	snprintf(extra + n + 600, sizeof(extra) - (size_t)n - 600,
	    " pin.min = 1\n");
	assert_int_equal(load("longline", extra, &p, why, sizeof(why)),
	    CS_ERR_FORMAT);
	assert_non_null(strstr(why, "longer than"));
	assert_non_null(strstr(why, ":10:"));
}

/* reuse: whether a returned card is written again. None given: never;
 * IsoApplet: once its applet was reinstalled; a bad word names the line. */
static void reuse_says_how_a_returned_card_is_written_again(void **state)
{
	cs_profile p;
	char why[256];

	(void)state;
	assert_int_equal(load("plain", "", &p, why, sizeof(why)), CS_OK);
	assert_int_equal(p.reuse, CS_PROFILE_REUSE_NEVER);
	assert_int_equal(load("puk", "reuse = institution-puk\n", &p, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(p.reuse, CS_PROFILE_REUSE_PUK);
	assert_int_equal(load("never", "reuse = never\n", &p, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(p.reuse, CS_PROFILE_REUSE_NEVER);
	assert_int_equal(load("bad", "reuse = sometimes\n", &p, why,
	    sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "bad value for 'reuse'"));
	assert_int_equal(cs_profile_find(getenv("CS_PROFILES_SRC"), "isoapplet",
	    &p, why, sizeof(why)), CS_OK);
	assert_int_equal(p.reuse, CS_PROFILE_REUSE_REINSTALL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_isoapplet_card_takes_rsa_2048_only),
		cmocka_unit_test(a_profile_without_key_types_takes_rsa_2048_only),
		cmocka_unit_test(key_types_are_a_list),
		cmocka_unit_test(a_bad_key_type_names_its_line),
		cmocka_unit_test(takers_are_the_profiles_that_take_a_key),
		cmocka_unit_test(a_key_no_profile_takes_is_key_unsupported),
		cmocka_unit_test(a_random_pin_is_never_shorter_than_pin_min),
		cmocka_unit_test(a_line_too_long_is_refused_not_split),
		cmocka_unit_test(reuse_says_how_a_returned_card_is_written_again),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
