/* test_token_cmd.c - pkcs15-init gets the secrets its command line uses,
 * and nothing finds it through PATH.
 *
 * A rewritten card logs in with its new PIN; the command line names no PUK,
 * yet the institution PUK used to ride along in pkcs15-init's environment.
 * The environment is now built from the command line: every env:NAME there
 * is in it, and no other CS_CARD_ or CS_P12_ entry is, not even one the
 * station itself inherited. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cs_doctor.h"
#include "cs_err.h"
#include "cs_token.h"

#define PIN "482913"
#define PUK "0123456789abcdef"
#define PASS "f00dfeedf00dfeedf00dfeedf00dfeed"

static cs_profile profile;

static int setup(void **state)
{
	char why[256];

	/* What a careless parent could leave in the station's environment. */
	setenv("CS_CARD_PUK", "inherited-puk", 1);
	setenv("CS_P12_OTHER", "inherited", 1);
	return cs_profile_find(getenv("CS_PROFILES_SRC"), "isoapplet", &profile,
	    why, sizeof(why)) == CS_OK ? 0 : -1;
}

static int in_argv(const cs_token_cmd *c, const char *s)
{
	for (size_t i = 0; c->argv[i] != NULL; i++)
		if (strcmp(c->argv[i], s) == 0)
			return 1;
	return 0;
}

/* The value of NAME in the child's environment, or NULL. */
static const char *env_of(const cs_token_cmd *c, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; c->env[i] != NULL; i++)
		if (strncmp(c->env[i], name, n) == 0 && c->env[i][n] == '=')
			return c->env[i] + n + 1;
	return NULL;
}

/* Every secret entry is named by argv, every env: in argv is there. */
static void env_follows_argv(const cs_token_cmd *c)
{
	char want[64];

	for (size_t i = 0; c->env[i] != NULL; i++) {
		const char *e = c->env[i];

		if (strncmp(e, "CS_CARD_", 8) != 0 && strncmp(e, "CS_P12_", 7) != 0)
			continue;
		snprintf(want, sizeof(want), "env:%.*s", (int)strcspn(e, "="), e);
		if (!in_argv(c, want))
			fail_msg("%s is in the environment, %s not on the command "
			    "line", e, want);
	}
	for (size_t i = 0; c->argv[i] != NULL; i++)
		if (strncmp(c->argv[i], "env:", 4) == 0)
			assert_non_null(env_of(c, c->argv[i] + 4));
}

static void a_rewrite_gets_no_puk(void **state)
{
	cs_token_write_args a = {.reader = "Virtual PCD 00 00",
	    .profile = &profile, .pin = PIN, .puk = PUK, .rekey = 1};
	cs_token_cmd c;
	char why[256];

	assert_int_equal(cs_token_cmd_build(&a, PASS, &c, why, sizeof(why)),
	    CS_OK);
	assert_false(in_argv(&c, "--puk"));
	assert_null(env_of(&c, "CS_CARD_PUK"));
	assert_null(env_of(&c, "CS_P12_OTHER"));
	for (size_t i = 0; c.env[i] != NULL; i++)
		assert_null(strstr(c.env[i], PUK));
	assert_string_equal(env_of(&c, "CS_CARD_PIN"), PIN);
	assert_string_equal(env_of(&c, "CS_P12_PASS"), PASS);
	env_follows_argv(&c);
	/* The station's other settings reach the child. */
	assert_non_null(env_of(&c, "CS_PROFILES_SRC"));
	cs_token_cmd_free(&c);
}

static void a_first_write_gets_the_puk_its_command_line_names(void **state)
{
	cs_token_write_args a = {.reader = "Virtual PCD 00 00",
	    .profile = &profile, .pin = PIN, .puk = PUK};
	cs_token_cmd c;
	char why[256];

	assert_int_equal(cs_token_cmd_build(&a, PASS, &c, why, sizeof(why)),
	    CS_OK);
	assert_true(in_argv(&c, "--puk"));
	assert_true(in_argv(&c, "env:CS_CARD_PUK"));
	assert_string_equal(env_of(&c, "CS_CARD_PUK"), PUK);
	assert_null(env_of(&c, "CS_P12_OTHER"));
	env_follows_argv(&c);
	cs_token_cmd_free(&c);

	/* The PUK set by the station beforehand (puk NULL): named empty, as
	 * pkcs15-init always got it; never the inherited one. */
	a.puk = NULL;
	assert_int_equal(cs_token_cmd_build(&a, PASS, &c, why, sizeof(why)),
	    CS_OK);
	assert_string_equal(env_of(&c, "CS_CARD_PUK"), "");
	env_follows_argv(&c);
	cs_token_cmd_free(&c);
}

static void secrets_never_ride_on_argv(void **state)
{
	cs_token_write_args a = {.reader = "Virtual PCD 00 00",
	    .profile = &profile, .pin = PIN, .puk = PUK};
	cs_token_cmd c;
	char why[256];

	assert_int_equal(cs_token_cmd_build(&a, PASS, &c, why, sizeof(why)),
	    CS_OK);
	for (size_t i = 0; c.argv[i] != NULL; i++) {
		assert_null(strstr(c.argv[i], PIN));
		assert_null(strstr(c.argv[i], PUK));
		assert_null(strstr(c.argv[i], PASS));
	}
	cs_token_cmd_free(&c);
}

static void helpers_run_by_absolute_path(void **state)
{
	const char *p = cs_token_pkcs15_init_path();
	cs_doctor_opts o;

	assert_non_null(p);
	assert_int_equal(p[0], '/');
	assert_string_equal(strrchr(p, '/'), "/pkcs15-init");
	cs_doctor_opts_init(&o);
	assert_int_equal(o.pcscd[0], '/');
	assert_int_equal(o.opensc_tool[0], '/');
	assert_string_equal(strrchr(o.opensc_tool, '/'), "/opensc-tool");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_rewrite_gets_no_puk),
		cmocka_unit_test(a_first_write_gets_the_puk_its_command_line_names),
		cmocka_unit_test(secrets_never_ride_on_argv),
		cmocka_unit_test(helpers_run_by_absolute_path),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
