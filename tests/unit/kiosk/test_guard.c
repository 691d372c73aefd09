/* test_guard.c - the kiosk never spends a card's last PIN or PUK try
 * unasked, and makes a card wait after wrong tries (kiosk/ks_guard.c).
 * The clock is the test's: every time is given, nothing sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ks.h"

static int setup(void **state)
{
	ks_guard *g = NULL;

	assert_int_equal(ks_guard_new(&g), 0);
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	ks_guard_free(*state);
	return 0;
}

static void waits_double_up_to_five_minutes(void **state)
{
	(void)state;
	assert_int_equal(ks_guard_delay_ms(0), 0);
	assert_int_equal(ks_guard_delay_ms(1), 5000);
	assert_int_equal(ks_guard_delay_ms(2), 10000);
	assert_int_equal(ks_guard_delay_ms(3), 20000);
	assert_int_equal(ks_guard_delay_ms(7), 300000);
	assert_int_equal(ks_guard_delay_ms(40), 300000);
}

static void the_last_pin_try_needs_the_operators_yes(void **state)
{
	ks_guard *g = *state;
	int64_t wait;

	assert_int_equal(ks_guard_check(g, "4790-5040-4B000001", KS_TRY_PIN, 3,
	    0, 1000, &wait), KS_GUARD_GO);
	assert_int_equal(ks_guard_check(g, "4790-5040-4B000001", KS_TRY_PIN, 1,
	    0, 1000, &wait), KS_GUARD_LAST);
	assert_int_equal(ks_guard_check(g, "4790-5040-4B000001", KS_TRY_PIN, 1,
	    1, 1000, &wait), KS_GUARD_GO);
	/* None left: not even with a yes, it would change nothing. */
	assert_int_equal(ks_guard_check(g, "4790-5040-4B000001", KS_TRY_PIN, 0,
	    1, 1000, &wait), KS_GUARD_BLOCKED);
}

static void a_wrong_pin_makes_that_card_wait(void **state)
{
	ks_guard *g = *state;
	int64_t wait;

	ks_guard_result(g, "A", KS_TRY_PIN, 0, 2, 10000);
	assert_int_equal(ks_guard_check(g, "A", KS_TRY_PIN, 2, 0, 11000, &wait),
	    KS_GUARD_WAIT);
	assert_int_equal(wait, 4000);
	/* Another card, or the same card's PUK, does not wait. */
	assert_int_equal(ks_guard_check(g, "B", KS_TRY_PIN, 3, 0, 11000, &wait),
	    KS_GUARD_GO);
	assert_int_equal(ks_guard_check(g, "A", KS_TRY_PUK, -1, 1, 11000, &wait),
	    KS_GUARD_GO);
	assert_int_equal(ks_guard_check(g, "A", KS_TRY_PIN, 2, 0, 15000, &wait),
	    KS_GUARD_GO);
	/* A second wrong one in a row: twice as long. */
	ks_guard_result(g, "A", KS_TRY_PIN, 0, 1, 15000);
	assert_int_equal(ks_guard_check(g, "A", KS_TRY_PIN, 1, 1, 24999, &wait),
	    KS_GUARD_WAIT);
	assert_int_equal(wait, 1);
	/* Waited: now it is the last try, and that needs the yes. */
	assert_int_equal(ks_guard_check(g, "A", KS_TRY_PIN, 1, 0, 25000, &wait),
	    KS_GUARD_LAST);
	/* The right PIN clears the count. */
	ks_guard_result(g, "A", KS_TRY_PIN, 1, -1, 26000);
	assert_int_equal(ks_guard_check(g, "A", KS_TRY_PIN, 3, 0, 26001, &wait),
	    KS_GUARD_GO);
}

/* An IsoApplet cannot say its PUK tries without spending one: the guard
 * keeps what the card said when it refused the last PUK, and a count not
 * known may be the last one: it needs the yes too. */
static void the_puk_count_is_what_the_card_said_last(void **state)
{
	ks_guard *g = *state;
	int64_t wait;

	assert_int_equal(ks_guard_check(g, "C", KS_TRY_PUK, -1, 0, 0, &wait),
	    KS_GUARD_UNKNOWN);
	assert_int_equal(ks_guard_check(g, "C", KS_TRY_PUK, -1, 1, 0, &wait),
	    KS_GUARD_GO);
	/* Four left, as the card said: no question. */
	ks_guard_result(g, "E", KS_TRY_PUK, 0, 4, 0);
	assert_int_equal(ks_guard_check(g, "E", KS_TRY_PUK, -1, 0, 6000, &wait),
	    KS_GUARD_GO);
	ks_guard_result(g, "C", KS_TRY_PUK, 0, 1, 0);
	assert_int_equal(ks_guard_check(g, "C", KS_TRY_PUK, -1, 0, 6000, &wait),
	    KS_GUARD_LAST);
	assert_int_equal(ks_guard_check(g, "C", KS_TRY_PUK, -1, 1, 6000, &wait),
	    KS_GUARD_GO);
	ks_guard_result(g, "C", KS_TRY_PUK, 0, 0, 6000);
	assert_int_equal(ks_guard_check(g, "C", KS_TRY_PUK, -1, 1, 999999, &wait),
	    KS_GUARD_BLOCKED);
	/* A refusal without a count still makes the card wait. */
	ks_guard_result(g, "D", KS_TRY_PUK, 0, -1, 0);
	assert_int_equal(ks_guard_check(g, "D", KS_TRY_PUK, -1, 0, 100, &wait),
	    KS_GUARD_WAIT);
}

/* A full table forgets the card used least recently, not the one that
 * is waiting now. */
static void many_cards_forget_the_oldest(void **state)
{
	ks_guard *g = *state;
	char name[16];
	int64_t wait;

	ks_guard_result(g, "busy", KS_TRY_PIN, 0, 2, 1000);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "card%d", i);
		ks_guard_result(g, name, KS_TRY_PIN, 0, 2, 1000 + i);
		/* The busy card is looked at again and again. */
		assert_int_equal(ks_guard_check(g, "busy", KS_TRY_PIN, 2, 0,
		    1000 + i, &wait), KS_GUARD_WAIT);
	}
	assert_int_equal(ks_guard_check(g, "card99", KS_TRY_PIN, 2, 0, 1100,
	    &wait), KS_GUARD_WAIT);
	assert_int_equal(ks_guard_check(g, "card0", KS_TRY_PIN, 2, 0, 1100,
	    &wait), KS_GUARD_GO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(waits_double_up_to_five_minutes),
		cmocka_unit_test_setup_teardown(the_last_pin_try_needs_the_operators_yes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(a_wrong_pin_makes_that_card_wait,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(the_puk_count_is_what_the_card_said_last,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(many_cards_forget_the_oldest, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
