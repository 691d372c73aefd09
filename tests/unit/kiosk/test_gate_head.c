/* test_gate_head.c - the gate sends a connection to the operator's daemon
 * only when its request head carries this start's key (kiosk/ks_gate.c):
 * in the cookie ks_key, or in X-Kiosk-Key, exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ks.h"

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OTHER "f123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int has(const char *head)
{
	return ks_head_has_key(head, strlen(head), KEY);
}

static void the_key_in_a_cookie_or_the_header(void **state)
{
	(void)state;
	assert_true(has("GET /api/state HTTP/1.1\r\nHost: x\r\nCookie: ks_key=" KEY
	    "\r\n\r\n"));
	assert_true(has("GET / HTTP/1.1\r\ncookie: ks_sid=abc; ks_key=" KEY
	    "; lang=ja\r\n"));
	assert_true(has("GET / HTTP/1.1\nHost: x\nCookie:ks_key=" KEY "\n"));
	assert_true(has("POST /api/key HTTP/1.1\r\nX-Kiosk-Key: " KEY " \r\n"));
	assert_true(has("GET / HTTP/1.1\r\nCookie: a=1\r\nCookie: ks_key=" KEY
	    "\r\n"));
}

static void anything_else_is_no_key(void **state)
{
	(void)state;
	assert_false(has("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_false(has("GET / HTTP/1.1\r\nCookie: ks_key=" OTHER "\r\n"));
	/* Longer, shorter, another cookie's name ending in ks_key. */
	assert_false(has("GET / HTTP/1.1\r\nCookie: ks_key=" KEY "0\r\n"));
	assert_false(has("GET / HTTP/1.1\r\nCookie: ks_key=0123456789abcdef\r\n"));
	assert_false(has("GET / HTTP/1.1\r\nCookie: xks_key=" KEY "\r\n"));
	assert_false(has("GET / HTTP/1.1\r\nCookie: ks_keyx=" KEY "\r\n"));
	/* The key in the request line or in another header is not shown. */
	assert_false(has("GET /?Cookie:%20ks_key=" KEY " HTTP/1.1\r\n\r\n"));
	assert_false(has("GET /Cookie: ks_key=" KEY " HTTP/1.1\r\n\r\n"));
	assert_false(has("GET / HTTP/1.1\r\nReferer: ks_key=" KEY "\r\n"));
	assert_false(has("GET / HTTP/1.1\r\nX-Kiosk-Key: " OTHER "\r\n"));
	assert_false(has("GET / HTTP/1.1\r\nX-Kiosk-Keys: " KEY "\r\n"));
	assert_false(has(""));
}

/* The gate looks at what arrived: a head cut inside the key is no key. */
static void a_head_cut_short_is_no_key(void **state)
{
	const char *h = "GET / HTTP/1.1\r\nCookie: ks_key=" KEY "\r\n";

	(void)state;
	for (size_t n = 0; n < strlen(h) - 2; n++)
		assert_false(ks_head_has_key(h, n, KEY));
	assert_true(ks_head_has_key(h, strlen(h), KEY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_key_in_a_cookie_or_the_header),
		cmocka_unit_test(anything_else_is_no_key),
		cmocka_unit_test(a_head_cut_short_is_no_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
