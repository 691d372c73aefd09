/* test_touch.c - the desk's card writes cross to the exec'd child
 * (cs_touch.h): a wipe and a PIN reset request, as cs_desk.c sends them,
 * are read by the child's side (cs_touch_main on fd 3, answering on fd 4);
 * a reader with no card of ours gets an answer that says nothing was
 * written. A request the child cannot read gets no answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "cs_err.h"
#include "cs_secret.h"
#include "cs_touch.h"
#include "cs_wire.h"

/* Run the child's side in this process on a request written by send. */
static int run_child(const cs_touch_write *w, int garbage,
    cs_touch_answer *a)
{
	int req[2], rep[2], rc, got;

	assert_int_equal(pipe(req), 0);
	assert_int_equal(pipe(rep), 0);
	/* Out of the way of fd 3 and 4, which the child's side reads. */
	for (int i = 0; i < 2; i++) {
		int x = fcntl(req[i], F_DUPFD, 10), y = fcntl(rep[i], F_DUPFD, 10);

		assert_true(x >= 10 && y >= 10);
		close(req[i]);
		close(rep[i]);
		req[i] = x;
		rep[i] = y;
	}
	if (garbage)
		assert_int_equal(cs_wire_put_str(req[1], 1, "reader"), CS_OK);
	else
		assert_int_equal(cs_touch_write_request(req[1], w), CS_OK);
	close(req[1]);
	assert_int_equal(dup2(req[0], 3), 3);
	assert_int_equal(dup2(rep[1], 4), 4);
	close(req[0]);
	close(rep[1]);
	rc = cs_touch_main();
	close(4);
	got = cs_touch_read_answer(rep[0], a);
	close(rep[0]);
	return rc != 0 ? -1 : got;
}

static void one(cs_touch_action action)
{
	cs_secret *puk = NULL, *pin = NULL;
	cs_touch_answer a;
	const cs_touch_write w = {
		.action = action, .reader = "no such reader 00 00",
		.aid_hex = "F276A288BCFBA69D34F31001", .expect_atr = "3B00",
		.expect_chip = "4790-5040-4B00FFFF", .pin_set = 1,
	};
	cs_touch_write ww = w;

	assert_int_equal(cs_secret_from(&puk, "12345678", 8), CS_OK);
	assert_int_equal(cs_secret_from(&pin, "246813", 6), CS_OK);
	ww.puk = puk;
	ww.new_pin = pin;
	memset(&a, 0x5a, sizeof(a));
	assert_int_equal(run_child(&ww, 0, &a), CS_OK);
	/* Read and acted on (no usage error), but no card: nothing written. */
	assert_int_not_equal(a.status, CS_OK);
	assert_int_not_equal(a.status, CS_ERR_USAGE);
	assert_int_equal(a.step, CS_TOUCH_STEP_NONE);
	assert_int_equal(a.puk_tries, -1);
	assert_int_equal(a.keys, 0);
	assert_true(a.why[0] != '\0');
	cs_secret_free(puk);
	cs_secret_free(pin);
}

static void wipe(void **state)
{
	(void)state;
	one(CS_TOUCH_WIPE);
}

static void pin_reset(void **state)
{
	(void)state;
	one(CS_TOUCH_PIN_RESET);
}

static void not_a_request(void **state)
{
	cs_touch_answer a;

	(void)state;
	assert_int_equal(run_child(NULL, 1, &a), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wipe),
		cmocka_unit_test(pin_reset),
		cmocka_unit_test(not_a_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
