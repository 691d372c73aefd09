/* test_codes.c - the code table (cs_codes.c): parameters, rendering in
 * English and in Japanese, and the Japanese of every code with the same
 * {parameters}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_codes.h"
#include "cs_err.h"
#include "cs_i18n.h"
#include "cs_wire.h"

#include <unistd.h>

static void english(void)
{
	setlocale(LC_ALL, "C");
}

static int japanese(void)
{
	if (setlocale(LC_ALL, "ja_JP.UTF-8") == NULL)
		return -1;
	setlocale(LC_NUMERIC, "C");
	return 0;
}

static void test_params(void **state)
{
	char p[CS_PARAMS_MAX], v[64];

	(void)state;
	cs_params_pack(p, sizeof(p), "chip", "4790-5040-0000002A", "skip", NULL,
	    "holder", "山田\t太郎\n", NULL);
	assert_string_equal(cs_params_get(p, "chip", v, sizeof(v)),
	    "4790-5040-0000002A");
	/* A tab or newline would break the event line: a space. */
	assert_string_equal(cs_params_get(p, "holder", v, sizeof(v)),
	    "山田 太郎 ");
	assert_null(cs_params_get(p, "skip", v, sizeof(v)));
	assert_null(cs_params_get(p, "chi", v, sizeof(v)));
	cs_params_add(p, sizeof(p), "x", "a\037b");
	assert_string_equal(cs_params_get(p, "x", v, sizeof(v)), "a b");
	/* A value cut at the buffer's end stays a string. */
	cs_params_pack(v, 12, "chip", "0123456789", NULL);
	assert_true(strlen(v) < 12);
}

static void test_render_english(void **state)
{
	char out[256];

	(void)state;
	english();
	assert_string_equal(cs_say(out, sizeof(out), "card.not-paired", "chip",
	    "X-1", NULL), "card X-1 is not in the pairing list");
	/* A parameter not given shows as "?", an unknown code as itself. */
	assert_string_equal(cs_say(out, sizeof(out), "card.not-paired", NULL),
	    "card ? is not in the pairing list");
	assert_string_equal(cs_say(out, sizeof(out), "no.such-code", NULL),
	    "no.such-code");
	assert_null(cs_code_source("no.such-code"));
	/* The error classes are codes of the table too. */
	assert_string_equal(cs_err_code(CS_ERR_IO), "err.io");
	assert_string_equal(cs_code_source("err.io"), "input/output error");
	assert_string_equal(cs_problem_code(CS_PROBLEM_WRONG_PIN),
	    "problem.wrong-pin");
}

static void test_msg(void **state)
{
	cs_msg m;
	char out[512], *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	english();
	cs_msg_set(&m, "card.key-type", "key", "ec-p256", "profile", "isoapplet",
	    NULL);
	m.advice = "advice.record-back";
	snprintf(m.detail, sizeof(m.detail), "%s", "pkcs15-init: Transmit failed");
	assert_string_equal(cs_msg_text(&m, out, sizeof(out)),
	    "a ec-p256 key does not go on a isoapplet card (pkcs15-init: "
	    "Transmit failed) - the record is back in the queue");
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	fputc('{', f);
	cs_msg_json(f, &m);
	fputc('}', f);
	fclose(f);
	assert_non_null(strstr(buf, "\"code\":\"card.key-type\""));
	assert_non_null(strstr(buf, "\"params\":{\"key\":\"ec-p256\","
	    "\"profile\":\"isoapplet\"}"));
	assert_non_null(strstr(buf, "\"advice\":\"advice.record-back\""));
	assert_non_null(strstr(buf, "\"detail\":\"pkcs15-init: Transmit failed\""));
	free(buf);
	/* The journal's record is the code and the English, in any locale. */
	if (japanese() == 0) {
		assert_string_equal(cs_msg_record(&m, out, sizeof(out)),
		    "card.key-type: a ec-p256 key does not go on a isoapplet card "
		    "(pkcs15-init: Transmit failed) - the record is back in the "
		    "queue");
		cs_msg_text(&m, out, sizeof(out));
		assert_non_null(strstr(out, "ec-p256 の鍵は isoapplet のカード"));
		assert_non_null(strstr(out, "記録は待ち行列に戻りました"));
	}
	english();
}

/* A state word travels as its code (state.card.partial): each renderer
 * tells it in its language, the journal's record in English. */
static void test_state_param(void **state)
{
	cs_msg m;
	char out[512];

	(void)state;
	english();
	assert_string_equal(cs_say(out, sizeof(out), "desk.pin-card-state",
	    "state", "state.card.partial", NULL), "this card is 'partial' in "
	    "the journal, not issued. Nothing changed");
	/* A word that is no code stays as it came. */
	assert_string_equal(cs_say(out, sizeof(out), "desk.pin-card-state",
	    "state", "state.card.nonesuch", NULL), "this card is "
	    "'state.card.nonesuch' in the journal, not issued. Nothing changed");
	cs_msg_set(&m, "desk.pin-cert-not-live", "serial", "11", "outcome",
	    "state.outcome.revoked", NULL);
	if (japanese() == 0) {
		assert_non_null(strstr(cs_say(out, sizeof(out),
		    "desk.pin-card-state", "state", "state.card.partial", NULL),
		    "「書きかけ」"));
		assert_non_null(strstr(cs_msg_text(&m, out, sizeof(out)),
		    "（失効）"));
		assert_null(strstr(out, "revoked"));
		assert_non_null(strstr(cs_msg_record(&m, out, sizeof(out)),
		    "not live in the journal (revoked)"));
	}
	english();
}

/* A journal record (the code and the English) told again for a person:
 * the parameters read back from the English by the code's template, the
 * advice by its text, the detail as it was. Anything else as it is. */
static void test_record(void **state)
{
	cs_msg m;
	char rec[1024], out[1024];

	(void)state;
	english();
	cs_msg_set(&m, "card.key-type", "key", "ec-p256", "profile", "isoapplet",
	    NULL);
	m.advice = "advice.record-back";
	snprintf(m.detail, sizeof(m.detail), "%s", "pkcs15-init: Transmit (failed)");
	cs_msg_record(&m, rec, sizeof(rec));
	assert_string_equal(cs_record_text(rec, out, sizeof(out)),
	    "a ec-p256 key does not go on a isoapplet card (pkcs15-init: "
	    "Transmit (failed)) - the record is back in the queue");
	/* Two parameters side by side, a value with spaces. */
	cs_msg_set(&m, "verify.several-holders", "serial", "11", "holder",
	    "山田 太郎", "serial2", "12", "holder2", "Kokuritsu Hanako", NULL);
	cs_msg_record(&m, rec, sizeof(rec));
	assert_string_equal(cs_record_text(rec, out, sizeof(out)),
	    "the card holds certificates of two people: 11 (山田 太郎) and 12 "
	    "(Kokuritsu Hanako)");
	/* Not a record, an unknown code, a text its template does not fit. */
	assert_string_equal(cs_record_text("superseded by a renewal", out,
	    sizeof(out)), "superseded by a renewal");
	assert_string_equal(cs_record_text("no.such-code: x", out, sizeof(out)),
	    "no.such-code: x");
	assert_string_equal(cs_record_text("card.key-type: something else", out,
	    sizeof(out)), "card.key-type: something else");
	if (japanese() == 0) {
		cs_msg_set(&m, "card.key-type", "key", "ec-p256", "profile",
		    "isoapplet", NULL);
		m.advice = "advice.record-back";
		snprintf(m.detail, sizeof(m.detail), "%s", "pkcs15-init: failed");
		cs_msg_record(&m, rec, sizeof(rec));
		cs_record_text(rec, out, sizeof(out));
		assert_non_null(strstr(out, "ec-p256 の鍵は isoapplet のカード"));
		assert_non_null(strstr(out, "pkcs15-init: failed"));
		assert_non_null(strstr(out, "記録は待ち行列に戻りました"));
		assert_null(strstr(out, "does not go"));
		/* The desk's note of a lost card. */
		cs_msg_set(&m, "note.lost", "reason", "1", "reason_name",
		    "keyCompromise", NULL);
		cs_msg_record(&m, rec, sizeof(rec));
		assert_string_equal(rec, "note.lost: card lost: revocation "
		    "requested, reason 1 keyCompromise");
		cs_record_text(rec, out, sizeof(out));
		assert_non_null(strstr(out, "keyCompromise"));
		assert_null(strstr(out, "revocation requested"));
	}
	english();
}

/* The {names} of a text, sorted into one string. */
static void names(const char *t, char *out, size_t n)
{
	char list[32][32];
	size_t k = 0, at = 0;

	for (const char *p = t; (p = strchr(p, '{')) != NULL && k < 32; p++) {
		const char *e = strchr(p, '}');

		if (e == NULL)
			break;
		snprintf(list[k++], sizeof(list[0]), "%.*s", (int)(e - p - 1), p + 1);
	}
	qsort(list, k, sizeof(list[0]), (int (*)(const void *, const void *))strcmp);
	out[0] = '\0';
	for (size_t i = 0; i < k && at + 34 < n; i++)
		at += (size_t)snprintf(out + at, n - at, "%s,", list[i]);
}

static void test_japanese_table(void **state)
{
	size_t n;
	const cs_code_def *t = cs_code_table(&n);
	char a[512], b[512], out[256];

	(void)state;
	assert_int_equal(japanese(), 0); /* tests/setup.sh generates it */
	assert_non_null(bindtextdomain(CS_TEXTDOMAIN, getenv("CARDSTATION_LOCALEDIR")));
	bind_textdomain_codeset(CS_TEXTDOMAIN, "UTF-8");
	assert_true(n > 100);
	for (size_t i = 0; i < n; i++) {
		const char *ja = _(t[i].text);

		if (ja == t[i].text || strcmp(ja, t[i].text) == 0)
			fail_msg("code %s has no Japanese text", t[i].code);
		names(t[i].text, a, sizeof(a));
		names(ja, b, sizeof(b));
		if (strcmp(a, b) != 0)
			fail_msg("code %s: parameters {%s} in English, {%s} in "
			    "Japanese", t[i].code, a, b);
		for (size_t j = 0; j < i; j++)
			if (strcmp(t[i].code, t[j].code) == 0)
				fail_msg("code %s is in the table twice", t[i].code);
	}
	assert_string_equal(cs_say(out, sizeof(out), "reader.insert", NULL),
	    "カードを入れてください");
	assert_string_equal(cs_strerror(CS_ERR_IO), "入出力エラー");
	english();
	assert_string_equal(cs_strerror(CS_ERR_IO), "input/output error");
}

/* The event line between a worker and the coordinator carries the code,
 * its parameters, the advice and the detail, beside the text. */
static void test_wire(void **state)
{
	char params[CS_PARAMS_MAX], line[CS_WIRE_MAX + 1];
	cs_run_event ev = {.kind = CS_EV_FAILED, .state = "failed",
	    .text = "the card was pulled out", .code = "card.pulled",
	    .params = params, .advice = "advice.partial",
	    .detail = "pkcs15-init: Transmit failed"}, got;
	int fds[2];
	ssize_t n;
	char v[64];

	(void)state;
	cs_params_pack(params, sizeof(params), "chip", "4790-5040-0000002A",
	    "holder", "山田 太郎", NULL);
	assert_int_equal(pipe(fds), 0);
	cs_wire_send(fds[1], &ev);
	n = read(fds[0], line, CS_WIRE_MAX);
	assert_true(n > 0);
	line[n - 1] = '\0'; /* the LF */
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(cs_wire_parse(line, &got), CS_OK);
	assert_string_equal(got.code, "card.pulled");
	assert_string_equal(got.advice, "advice.partial");
	assert_string_equal(got.detail, "pkcs15-init: Transmit failed");
	assert_string_equal(got.text, "the card was pulled out");
	assert_string_equal(cs_params_get(got.params, "holder", v, sizeof(v)),
	    "山田 太郎");
	assert_string_equal(cs_params_get(got.params, "chip", v, sizeof(v)),
	    "4790-5040-0000002A");
	assert_null(got.pin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_render_english),
		cmocka_unit_test(test_msg),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_state_param),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_japanese_table),
	};

	/* The catalogue of the build (CS_TEST_ENV names it). */
	if (getenv("CARDSTATION_LOCALEDIR") == NULL)
		setenv("CARDSTATION_LOCALEDIR", "locale", 0);
	bindtextdomain(CS_TEXTDOMAIN, getenv("CARDSTATION_LOCALEDIR"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
