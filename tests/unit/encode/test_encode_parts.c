/* test_encode_parts.c - card profiles, the pairing list, the worker wire. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_err.h"
#include "cs_pairing.h"
#include "cs_profile.h"
#include "cs_run_int.h"
#include "cs_token.h"

#include <dirent.h>

static char dir[] = "/tmp/cs-test-encode-XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void the_isoapplet_profile_reads_as_documented(void **state)
{
	cs_profile p;
	char why[256];

	assert_int_equal(cs_profile_find(getenv("CS_PROFILES_SRC"), "isoapplet",
	    &p, why, sizeof(why)), CS_OK);
	assert_string_equal(p.opensc_driver, "isoApplet");
	assert_string_equal(p.match_aid, "F276A288BCFBA69D34F31001");
	assert_int_equal(p.puk_len, 16);
	assert_true(p.pin_min >= 4 && p.pin_max <= 16);
	assert_string_equal(p.key_id, "01");
}

static void a_bad_profile_names_its_line(void **state)
{
	cs_profile p;
	char why[256], path[128];

	write_file("bad.conf", "name = x\n# fine\ncolour = blue\n");
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	assert_int_equal(cs_profile_load(path, &p, why, sizeof(why)), CS_ERR_NOTFOUND);
	assert_non_null(strstr(why, ":3: unknown key 'colour'"));
	write_file("bad.conf", "name = x\npin.initial = sometimes\n");
	assert_int_equal(cs_profile_load(path, &p, why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, ":2: bad value"));
	write_file("bad.conf", "name = x\n");
	assert_int_equal(cs_profile_load(path, &p, why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "required"));
}

static void pin_policy_and_random_pins(void **state)
{
	cs_profile p;
	cs_secret *s;
	char why[256];

	assert_int_equal(cs_profile_find(getenv("CS_PROFILES_SRC"), "isoapplet",
	    &p, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_profile_check_pin(&p, "123456", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_profile_check_pin(&p, "12345", why, sizeof(why)), CS_ERR_FORMAT);
	assert_int_equal(cs_profile_check_pin(&p, "12345a", why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "digits"));
	assert_int_equal(cs_profile_check_puk(&p, "0123456789abcdef", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_profile_check_puk(&p, "0123456789abcde", why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "exactly 16"));
	for (int i = 0; i < 50; i++) {
		assert_int_equal(cs_profile_random_pin(&p, &s), CS_OK);
		assert_int_equal(cs_profile_check_pin(&p, cs_secret_str(s), why,
		    sizeof(why)), CS_OK);
		cs_secret_free(s);
		assert_int_equal(cs_profile_random_puk(&p, &s), CS_OK);
		assert_int_equal(cs_profile_check_puk(&p, cs_secret_str(s), why,
		    sizeof(why)), CS_OK);
		cs_secret_free(s);
	}
}

static void the_pairing_list_finds_cards_by_chip_or_printed_number(void **state)
{
	cs_pairing l;
	char why[256], path[128];
	const cs_pair *p;

	/* CP932 with a BOM-less header in another column order, CRLF */
	write_file("pair.csv", "person,chip_serial,printed_no\r\n"
	    "hanako@example.ac.jp,4790-5040-0000000a,A-1\r\n"
	    "40093866,,A-2\r\n\r\n");
	snprintf(path, sizeof(path), "%s/pair.csv", dir);
	assert_int_equal(cs_pairing_load(path, &l, why, sizeof(why)), CS_OK);
	assert_int_equal(l.n, 2);
	assert_non_null(p = cs_pairing_by_chip(&l, "47905040-0000000A"));
	assert_string_equal(p->printed_no, "A-1");
	assert_true(cs_pair_is_mail(p));
	assert_null(cs_pairing_by_chip(&l, "4790-5040-0000000B"));
	assert_non_null(p = cs_pairing_by_printed(&l, "A-2"));
	assert_false(cs_pair_is_mail(p));
	assert_string_equal(p->person, "40093866");
	cs_pairing_free(&l);

	write_file("pair.csv", "who,card\r\nx,y\r\n");
	assert_int_equal(cs_pairing_load(path, &l, why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "header"));
	write_file("pair.csv", "printed_no,person\r\nA-3,\r\n");
	assert_int_equal(cs_pairing_load(path, &l, why, sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "line 2"));
}

static void events_cross_the_wire_whole(void **state)
{
	cs_run_event ev = {.kind = CS_EV_HOLDER, .state = "reading",
	    .holder = "髙﨑\t花子", .mail = "h@example.ac.jp", .step = 2,
	    .steps = 5, .text = "line\nbreak", .cert_serial = "340282366920938463463374607431768211455"};
	cs_run_event got;
	char buf[CS_WIRE_MAX];
	int fds[2];
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	cs_wire_send(fds[1], &ev);
	n = read(fds[0], buf, sizeof(buf) - 1);
	assert_true(n > 0 && buf[n - 1] == '\n');
	buf[n - 1] = '\0';
	assert_null(strchr(buf, '\n')); /* one line, whatever the fields hold */
	assert_int_equal(cs_wire_parse(buf, &got), CS_OK);
	assert_int_equal(got.kind, CS_EV_HOLDER);
	assert_string_equal(got.mail, "h@example.ac.jp");
	assert_string_equal(got.cert_serial, "340282366920938463463374607431768211455");
	assert_int_equal(got.step, 2);
	assert_int_equal(got.steps, 5);
	assert_null(got.pin);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(cs_wire_parse((char[]){"99\tx"}, &got), CS_ERR_FORMAT);
}

/* A worker's start message: every option and both secrets arrive as
 * sent; a message cut short or out of step is refused whole. */
static void a_worker_gets_its_options_and_secrets(void **state)
{
	const char *readers[] = {"R0", "Reader 1"};
	cs_secret *pin, *puk;
	cs_run_opts o = {.journal = "/var/lib/cs/j.db", .run_id = 42,
	    .readers = readers, .nreaders = 2, .operator_name = "tanaka (田中)",
	    .profiles_dir = "/p", .pairing_csv = NULL, .confirm_printed = 1,
	    .reprint = 1};
	cs_wire_start st;
	unsigned char buf[4096];
	int fds[2];
	ssize_t n;

	assert_int_equal(cs_secret_from(&pin, "246810", 6), CS_OK);
	assert_int_equal(cs_secret_from(&puk, "0123456789abcdef", 16), CS_OK);
	o.pin = pin;
	o.puk = puk;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(cs_wire_start_send(fds[1], &o, 1, readers[1]), CS_OK);
	close(fds[1]);
	assert_int_equal(cs_wire_start_recv(fds[0], &st), CS_OK);
	close(fds[0]);
	assert_string_equal(st.o.journal, o.journal);
	assert_int_equal(st.o.run_id, 42);
	assert_int_equal(st.index, 1);
	assert_string_equal(st.reader, "Reader 1");
	assert_int_equal(st.o.nreaders, 1);
	assert_string_equal(st.o.readers[0], "Reader 1");
	assert_string_equal(st.o.operator_name, "tanaka (田中)");
	assert_null(st.o.profile);
	assert_string_equal(st.o.profiles_dir, "/p");
	assert_null(st.o.pairing_csv);
	assert_int_equal(st.o.confirm_printed, 1);
	assert_int_equal(st.o.reissue, 0);
	assert_int_equal(st.o.reprint, 1);
	assert_string_equal(cs_secret_str(st.o.pin), "246810");
	assert_string_equal(cs_secret_str(st.o.puk), "0123456789abcdef");
	cs_wire_start_clear(&st);

	/* A PUK per card profile (a run mixing card families): each arrives
	 * with its profile; the worker picks the card's, else the one for
	 * every profile. */
	{
		cs_secret *iso, *piv;
		cs_run_puk puks[2];

		assert_int_equal(cs_secret_from(&iso, "fedcba9876543210", 16), CS_OK);
		assert_int_equal(cs_secret_from(&piv, "13572468", 8), CS_OK);
		puks[0] = (cs_run_puk){"isoapplet", iso};
		puks[1] = (cs_run_puk){"piv", piv};
		o.puks = puks;
		o.npuks = 2;
		assert_int_equal(pipe(fds), 0);
		assert_int_equal(cs_wire_start_send(fds[1], &o, 0, readers[0]), CS_OK);
		close(fds[1]);
		assert_int_equal(cs_wire_start_recv(fds[0], &st), CS_OK);
		close(fds[0]);
		assert_int_equal(st.o.npuks, 2);
		assert_string_equal(cs_secret_str(cs_run_puk_for(&st.o, "piv")),
		    "13572468");
		assert_string_equal(cs_secret_str(cs_run_puk_for(&st.o,
		    "isoapplet")), "fedcba9876543210");
		assert_string_equal(cs_secret_str(cs_run_puk_for(&st.o, "other")),
		    "0123456789abcdef");
		cs_wire_start_clear(&st);
		o.puk = NULL;
		assert_null(cs_run_puk_for(&o, "other"));
		assert_ptr_equal(cs_run_puk_for(&o, "piv"), piv);
		o.puk = puk;
		o.puks = NULL;
		o.npuks = 0;
		cs_secret_free(iso);
		cs_secret_free(piv);
	}

	/* Without secrets: none arrive. */
	o.pin = o.puk = NULL;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(cs_wire_start_send(fds[1], &o, 0, readers[0]), CS_OK);
	close(fds[1]);
	assert_int_equal(cs_wire_start_recv(fds[0], &st), CS_OK);
	close(fds[0]);
	assert_null(st.o.pin);
	assert_null(st.o.puk);
	cs_wire_start_clear(&st);

	/* Cut short anywhere: refused. */
	o.pin = pin;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(cs_wire_start_send(fds[1], &o, 0, readers[0]), CS_OK);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf));
	close(fds[0]);
	assert_true(n > 10);
	for (ssize_t cut = 0; cut < n; cut += 7) {
		assert_int_equal(pipe(fds), 0);
		assert_int_equal(write(fds[1], buf, (size_t)cut), cut);
		close(fds[1]);
		assert_int_not_equal(cs_wire_start_recv(fds[0], &st), CS_OK);
		assert_null(st.o.pin);
		close(fds[0]);
	}
	/* Out of step (a field's tag changed): refused. */
	buf[0] ^= 0x7f;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], buf, (size_t)n), n);
	close(fds[1]);
	assert_int_equal(cs_wire_start_recv(fds[0], &st), CS_ERR_FORMAT);
	close(fds[0]);
	cs_secret_free(pin);
	cs_secret_free(puk);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void opensc_is_configured_once_per_driver(void **state)
{
	cs_profile p;
	char why[256], conf[64], text[512];
	int before;
	FILE *f;

	assert_int_equal(cs_profile_find(getenv("CS_PROFILES_SRC"), "isoapplet",
	    &p, why, sizeof(why)), CS_OK);
	before = open_fds();
	/* One card after another: one configuration, the reader follows. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(cs_token_env(&p, i % 2 ? "Reader B" : "Reader A",
		    why, sizeof(why)), CS_OK);
	assert_int_equal(open_fds(), before + 1);
	assert_string_equal(getenv("CARDSTATION_READER"), "Reader A");
	snprintf(conf, sizeof(conf), "%s", getenv("OPENSC_CONF"));
	assert_non_null(f = fopen(conf, "r"));
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	assert_non_null(strstr(text, "card_drivers = isoApplet;"));
	assert_non_null(strstr(text, "provider_library = "));
	/* Another driver: a new configuration, the old one closed. */
	snprintf(p.opensc_driver, sizeof(p.opensc_driver), "PIV-II");
	assert_int_equal(cs_token_env(&p, "Reader C", why, sizeof(why)), CS_OK);
	assert_int_equal(open_fds(), before + 1);
	assert_non_null(f = fopen(getenv("OPENSC_CONF"), "r"));
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	assert_non_null(strstr(text, "card_drivers = PIV-II;"));
}

static int setup(void **state)
{
	return mkdtemp(dir) == NULL;
}

static int teardown(void **state)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_isoapplet_profile_reads_as_documented),
		cmocka_unit_test(a_bad_profile_names_its_line),
		cmocka_unit_test(pin_policy_and_random_pins),
		cmocka_unit_test(the_pairing_list_finds_cards_by_chip_or_printed_number),
		cmocka_unit_test(events_cross_the_wire_whole),
		cmocka_unit_test(a_worker_gets_its_options_and_secrets),
		cmocka_unit_test(opensc_is_configured_once_per_driver),
	};

	cs_secret_process_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
