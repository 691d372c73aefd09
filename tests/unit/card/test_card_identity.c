/* test_card_identity.c - which card is this, when the chip may not say.
 *
 * The probe asks for the GlobalPlatform CPLC (GET DATA 9F7F) of what is
 * selected, then of each usual card manager AID, then of what an empty
 * SELECT selects. These tests run it against scripted cards that answer
 * as real ones do (a manager with another AID, a locked one, none at all
 * like the jcardsim runtime, T=0 cards that answer 61xx and 6Cxx), count
 * the APDUs it spends, and check the assigned identity's form and the
 * profile's `identity` key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "cs_card.h"
#include "cs_err.h"
#include "cs_profile.h"

/* ---- a scripted card ---- */

enum sel { SEL_NONE, SEL_MANAGER, SEL_APPLET };

struct card {
	/* how it behaves */
	const unsigned char *isd_aid;  /* NULL: no card manager */
	size_t isd_len;
	enum sel after_reset;
	unsigned short get_data_sw;    /* 0: answers the CPLC */
	int select_locked;             /* SELECT of the ISD answers 6283 */
	int t0;                        /* answers 61xx, wants Le by 6Cxx */
	int zero_serial;               /* a CPLC that identifies nothing */
	int dies_after;                /* stops answering after N APDUs */
	/* its state */
	enum sel sel;
	unsigned char pending[64];
	size_t npending;
	int apdus;
	unsigned char ins[32];         /* INS of each APDU */
};

static const unsigned char GP_ISD[] = {0xA0, 0, 0, 0x01, 0x51, 0, 0, 0};
static const unsigned char OTHER_ISD[] = {0xA0, 0, 0, 0x02, 0x77, 0x10,
    0x20, 0x30};
static const unsigned char APPLET[] = {0xF2, 0x76, 0xA2, 0x88, 0xBC, 0xFB,
    0xA6, 0x9D, 0x34, 0xF3, 0x10, 0x01};

static void cplc(const struct card *c, unsigned char out[45])
{
	memset(out, 0, 45);
	out[0] = 0x9F;
	out[1] = 0x7F;
	out[2] = 0x2A;
	if (c->zero_serial)
		return;
	out[3] = 0x47;
	out[4] = 0x90;
	out[5] = 0x50;
	out[6] = 0x40;
	out[3 + 12] = 0x00;
	out[3 + 13] = 0x4B;
	out[3 + 14] = 0x00;
	out[3 + 15] = 0x01;
}

static size_t answer(unsigned char *resp, const unsigned char *data,
    size_t n, unsigned short sw)
{
	if (n > 0)
		memcpy(resp, data, n);
	resp[n] = (unsigned char)(sw >> 8);
	resp[n + 1] = (unsigned char)sw;
	return n + 2;
}

static int xfer(void *ctx, const unsigned char *cmd, size_t len,
    unsigned char *resp, size_t *resplen)
{
	struct card *c = ctx;
	unsigned char data[64];

	if (c->dies_after > 0 && c->apdus >= c->dies_after)
		return CS_ERR_CARD;
	assert_true(len >= 4);
	if (c->apdus < (int)sizeof(c->ins))
		c->ins[c->apdus] = cmd[1];
	c->apdus++;
	/* GET RESPONSE: what a 61xx left. */
	if (cmd[1] == 0xC0) {
		assert_int_equal(len, 5);
		assert_int_equal(cmd[4], c->npending);
		*resplen = answer(resp, c->pending, c->npending, 0x9000);
		c->npending = 0;
		return CS_OK;
	}
	if (cmd[1] == 0xA4 && cmd[2] == 0x04) {
		size_t lc = len > 5 ? cmd[4] : 0;
		const unsigned char *aid = cmd + 5;
		int isd = c->isd_aid != NULL && ((lc == 0 &&
		    c->after_reset == SEL_MANAGER) || (lc >= 5 &&
		    lc <= c->isd_len && memcmp(aid, c->isd_aid, lc) == 0));

		if (lc >= 5 && lc <= sizeof(APPLET) && memcmp(aid, APPLET, lc) == 0) {
			c->sel = SEL_APPLET;
			*resplen = answer(resp, NULL, 0, 0x9000);
		} else if (isd) {
			c->sel = SEL_MANAGER;
			data[0] = 0x6F;
			data[1] = 0x00;
			if (c->t0) {
				memcpy(c->pending, data, 2);
				c->npending = 2;
				*resplen = answer(resp, NULL, 0, 0x6102);
			} else
				*resplen = answer(resp, data, 2,
				    c->select_locked ? 0x6283 : 0x9000);
		} else if (c->sel == SEL_APPLET) {
			*resplen = answer(resp, NULL, 0, 0x6A82);
		} else if (c->sel == SEL_MANAGER) {
			*resplen = answer(resp, NULL, 0, 0x6A82);
		} else {
			*resplen = answer(resp, NULL, 0, 0x6999);
		}
		return CS_OK;
	}
	if (cmd[1] == 0xCA && cmd[2] == 0x9F && cmd[3] == 0x7F) {
		if (c->sel == SEL_NONE)
			*resplen = answer(resp, NULL, 0, 0x6986);
		else if (c->sel == SEL_APPLET)
			*resplen = answer(resp, NULL, 0, cmd[0] == 0x80 ? 0x6E00 :
			    0x6D00);
		else if (c->get_data_sw != 0)
			*resplen = answer(resp, NULL, 0, c->get_data_sw);
		else if (c->t0 && (len != 5 || cmd[4] != 0x2D))
			*resplen = answer(resp, NULL, 0, 0x6C2D);
		else {
			cplc(c, data);
			*resplen = answer(resp, data, 45, 0x9000);
		}
		return CS_OK;
	}
	*resplen = answer(resp, NULL, 0, 0x6D00);
	return CS_OK;
}

static void card_reset(struct card *c)
{
	c->sel = c->after_reset;
	c->apdus = 0;
}

static int probe(struct card *c, cs_card_id *id)
{
	memset(id, 0, sizeof(*id));
	card_reset(c);
	return cs_card_probe_cplc(xfer, c, id);
}

/* ---- the probe ---- */

static void the_manager_selected_after_reset_answers_at_once(void **state)
{
	struct card c = {.isd_aid = GP_ISD, .isd_len = 8,
	    .after_reset = SEL_MANAGER};
	cs_card_id id;

	(void)state;
	assert_int_equal(probe(&c, &id), CS_OK);
	assert_string_equal(id.chip_serial, "4790-5040-004B0001");
	assert_int_equal(id.source, CS_CARD_ID_CPLC);
	assert_int_equal(c.apdus, 1);
}

static void an_applet_left_selected_sends_the_probe_to_the_manager(void **state)
{
	struct card c = {.isd_aid = GP_ISD, .isd_len = 8,
	    .after_reset = SEL_APPLET};
	cs_card_id id;

	(void)state;
	assert_int_equal(probe(&c, &id), CS_OK);
	assert_string_equal(id.chip_serial, "4790-5040-004B0001");
	/* GET DATA (6E00), again as CLA 00 (6D00), SELECT, GET DATA */
	assert_int_equal(c.apdus, 4);
	assert_int_equal(c.ins[2], 0xA4);
}

static void a_manager_with_another_aid_is_found_by_the_empty_select(void **state)
{
	struct card c = {.isd_aid = OTHER_ISD, .isd_len = 8,
	    .after_reset = SEL_MANAGER};
	cs_card_id id;

	(void)state;
	/* Reached at once when it is what a reset selects... */
	assert_int_equal(probe(&c, &id), CS_OK);
	assert_string_equal(id.chip_serial, "4790-5040-004B0001");
	assert_int_equal(c.apdus, 1);
	/* ...and through the empty SELECT when an applet was left selected:
	 * 2 GET DATA, 4 AIDs (6A82), the empty SELECT, GET DATA. */
	memset(&id, 0, sizeof(id));
	c.sel = SEL_APPLET;
	c.apdus = 0;
	assert_int_equal(cs_card_probe_cplc(xfer, &c, &id), CS_OK);
	assert_string_equal(id.chip_serial, "4790-5040-004B0001");
	assert_int_equal(c.apdus, 8);
}

static void a_locked_manager_gives_no_cplc_and_says_why(void **state)
{
	unsigned short sws[] = {0x6982, 0x6985};
	char why[128];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct card c = {.isd_aid = GP_ISD, .isd_len = 8,
		    .after_reset = SEL_APPLET, .get_data_sw = sws[i]};
		cs_card_id id;

		assert_int_equal(probe(&c, &id), CS_OK);
		assert_string_equal(id.chip_serial, "");
		assert_int_equal(id.source, CS_CARD_ID_NONE);
		assert_int_equal(id.cplc_sw, sws[i]);
		/* The manager was found: no other name is tried. */
		assert_int_equal(c.apdus, 4);
		cs_card_no_cplc_why(&id, why, sizeof(why));
		assert_non_null(strstr(why, "locked"));
	}
}

static void a_card_locked_by_globalplatform_still_gives_its_cplc(void **state)
{
	struct card c = {.isd_aid = GP_ISD, .isd_len = 8,
	    .after_reset = SEL_APPLET, .select_locked = 1};
	cs_card_id id;

	(void)state;
	/* SELECT answers 6283 (CARD_LOCKED): selected, with a warning. */
	assert_int_equal(probe(&c, &id), CS_OK);
	assert_string_equal(id.chip_serial, "4790-5040-004B0001");
}

static void no_manager_at_all_like_jcardsim(void **state)
{
	struct card c = {.after_reset = SEL_NONE};
	cs_card_id id;
	char why[128];

	(void)state;
	assert_int_equal(probe(&c, &id), CS_OK);
	assert_string_equal(id.chip_serial, "");
	assert_int_equal(id.cplc_sw, 0);
	/* GET DATA (6986), 4 AIDs (6999), the empty SELECT (6999) */
	assert_int_equal(c.apdus, 6);
	cs_card_no_cplc_why(&id, why, sizeof(why));
	assert_string_equal(why, "no card manager answers");
}

static void a_t0_card_is_followed_through_61xx_and_6Cxx(void **state)
{
	struct card c = {.isd_aid = GP_ISD, .isd_len = 8,
	    .after_reset = SEL_APPLET, .t0 = 1};
	cs_card_id id;

	(void)state;
	assert_int_equal(probe(&c, &id), CS_OK);
	assert_string_equal(id.chip_serial, "4790-5040-004B0001");
	/* 2 GET DATA to the applet, SELECT (6102), GET RESPONSE, GET DATA
	 * (6C2D), GET DATA with Le 2D. */
	assert_int_equal(c.apdus, 6);
	assert_int_equal(c.ins[3], 0xC0);
}

static void a_cplc_without_a_serial_is_no_identity(void **state)
{
	struct card c = {.isd_aid = GP_ISD, .isd_len = 8,
	    .after_reset = SEL_MANAGER, .zero_serial = 1};
	cs_card_id id;

	(void)state;
	assert_int_equal(probe(&c, &id), CS_OK);
	assert_string_equal(id.chip_serial, "");
	assert_int_equal(id.source, CS_CARD_ID_NONE);
}

static void a_card_that_stops_answering_is_an_error(void **state)
{
	struct card c = {.after_reset = SEL_NONE, .dies_after = 3};
	cs_card_id id;

	(void)state;
	assert_int_equal(probe(&c, &id), CS_ERR_CARD);
}

/* ---- the assigned identity ---- */

static void an_assigned_identity_has_a_form_of_its_own(void **state)
{
	cs_card_id a, b;
	char tok[40], back[32];

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(cs_card_assign_identity(&a), CS_OK);
	assert_int_equal(cs_card_assign_identity(&b), CS_OK);
	assert_int_equal(a.source, CS_CARD_ID_ASSIGNED);
	assert_true(a.assigned_now);
	assert_int_equal(strlen(a.chip_serial), 18);
	assert_memory_equal(a.chip_serial, "CA-", 3);
	assert_int_equal(a.chip_serial[9], '-');
	assert_string_not_equal(a.chip_serial, b.chip_serial);
	/* Its TokenInfo serial: 16 hex digits, what PKCS#11 shows whole. */
	cs_card_token_serial(a.chip_serial, tok, sizeof(tok));
	assert_int_equal(strlen(tok), 16);
	/* Read back in any case, it is the same identity. */
	for (char *p = tok; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	assert_true(cs_card_assigned_from_token(tok, back, sizeof(back)));
	assert_string_equal(back, a.chip_serial);
	/* A CPLC-based serial is never taken for an assigned one. */
	cs_card_token_serial("4790-5040-004B0001", tok, sizeof(tok));
	assert_string_equal(tok, "47905040004B0001");
	assert_false(cs_card_assigned_from_token(tok, NULL, 0));
	assert_false(cs_card_assigned_from_token("CA1B2C", NULL, 0));
	assert_false(cs_card_assigned_from_token("CA1B2C3D4E5F6A7G", NULL, 0));
}

static void the_tokeninfo_serial_is_read_from_der(void **state)
{
	/* SEQUENCE { INTEGER 0, OCTET STRING CA..., UTF8String "x",
	 * [0] "label", BIT STRING } as pkcs15-init writes it */
	const unsigned char ti[] = {0x30, 0x1B, 0x02, 0x01, 0x00, 0x04, 0x08,
	    0xCA, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F, 0x6A, 0x7B, 0x0C, 0x01, 'x',
	    0x80, 0x05, 'l', 'a', 'b', 'e', 'l', 0x03, 0x02, 0x06, 0x40};
	char out[40];

	(void)state;
	assert_int_equal(cs_card_tokeninfo_serial(ti, sizeof(ti), out,
	    sizeof(out)), CS_OK);
	assert_string_equal(out, "CA1B2C3D4E5F6A7B");
	/* Cut short, or another structure: no serial. */
	assert_int_equal(cs_card_tokeninfo_serial(ti, 10, out, sizeof(out)),
	    CS_ERR_FORMAT);
	assert_int_equal(cs_card_tokeninfo_serial(ti + 2, sizeof(ti) - 2, out,
	    sizeof(out)), CS_ERR_FORMAT);
}

/* ---- the profile ---- */

/* The TokenInfo a return leaves for an assigned identity reads back as
 * that identity; a chip's identity or a short buffer gets none. */
static void a_kept_identity_reads_back(void **state)
{
	unsigned char ti[64];
	char hex[64], id[32];
	size_t n = 0;

	(void)state;
	assert_int_equal(cs_card_tokeninfo_encode("CA-1B2C3D-4E5F6A7B", ti,
	    sizeof(ti), &n), CS_OK);
	assert_int_equal(n, 2 + 3 + 10 + 3);
	assert_int_equal(cs_card_tokeninfo_serial(ti, n, hex, sizeof(hex)),
	    CS_OK);
	assert_string_equal(hex, "CA1B2C3D4E5F6A7B");
	assert_true(cs_card_assigned_from_token(hex, id, sizeof(id)));
	assert_string_equal(id, "CA-1B2C3D-4E5F6A7B");
	assert_int_equal(cs_card_tokeninfo_encode("4790-5040-0000009A", ti,
	    sizeof(ti), &n), CS_ERR_USAGE);
	assert_int_equal(cs_card_tokeninfo_encode("CA-1B2C3D-4E5F6A7B", ti, 17,
	    &n), CS_ERR_USAGE);
}

static char dir[] = "/tmp/cs-test-card-identity-XXXXXX";

static int load(const char *extra, cs_profile *p)
{
	char path[128], why[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "name = t\nopensc.driver = isoApplet\npin.min = 6\n"
	    "pin.max = 8\npin.charset = digits\npuk.length = 16\n"
	    "puk.charset = hex\nauth.id = 01\nkey.id = 01\n%s", extra);
	fclose(f);
	return cs_profile_load(path, p, why, sizeof(why));
}

static void a_profile_names_its_identity_sources_in_order(void **state)
{
	cs_profile p;
	const cs_profile_idsrc *s;
	unsigned n;
	char why[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(load("", &p), CS_OK);
	s = cs_profile_identity(&p, &n);
	assert_int_equal(n, 1);
	assert_int_equal(s[0], CS_PROFILE_ID_CPLC);
	assert_false(cs_profile_has_identity(&p, CS_PROFILE_ID_ASSIGNED));
	assert_int_equal(load("identity = assigned cplc\n", &p), CS_OK);
	s = cs_profile_identity(&p, &n);
	assert_int_equal(n, 2);
	assert_int_equal(s[0], CS_PROFILE_ID_ASSIGNED);
	assert_int_equal(s[1], CS_PROFILE_ID_CPLC);
	assert_int_equal(load("identity = cplc\n", &p), CS_OK);
	assert_int_equal(load("identity = cplc, cplc\n", &p), CS_ERR_FORMAT);
	assert_int_equal(load("identity = serial\n", &p), CS_ERR_FORMAT);
	assert_int_equal(load("identity =\n", &p), CS_ERR_FORMAT);
	/* The station's own profile: the chip's serial, else its own. */
	assert_non_null(getenv("CS_PROFILES_SRC"));
	assert_int_equal(cs_profile_find(getenv("CS_PROFILES_SRC"), "isoapplet",
	    &p, why, sizeof(why)), CS_OK);
	s = cs_profile_identity(&p, &n);
	assert_int_equal(n, 2);
	assert_int_equal(s[0], CS_PROFILE_ID_CPLC);
	assert_int_equal(s[1], CS_PROFILE_ID_ASSIGNED);
	{
		char path[160];

		snprintf(path, sizeof(path), "%s/t.conf", dir);
		unlink(path);
		rmdir(dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_manager_selected_after_reset_answers_at_once),
		cmocka_unit_test(an_applet_left_selected_sends_the_probe_to_the_manager),
		cmocka_unit_test(a_manager_with_another_aid_is_found_by_the_empty_select),
		cmocka_unit_test(a_locked_manager_gives_no_cplc_and_says_why),
		cmocka_unit_test(a_card_locked_by_globalplatform_still_gives_its_cplc),
		cmocka_unit_test(no_manager_at_all_like_jcardsim),
		cmocka_unit_test(a_t0_card_is_followed_through_61xx_and_6Cxx),
		cmocka_unit_test(a_cplc_without_a_serial_is_no_identity),
		cmocka_unit_test(a_card_that_stops_answering_is_an_error),
		cmocka_unit_test(an_assigned_identity_has_a_form_of_its_own),
		cmocka_unit_test(the_tokeninfo_serial_is_read_from_der),
		cmocka_unit_test(a_kept_identity_reads_back),
		cmocka_unit_test(a_profile_names_its_identity_sources_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
