/* test_reader_spec.c - PC/SC reader names, USB location and --reader SPEC
 * on synthetic reader lists: three identical readers, two with serials and
 * one without, plus a virtual one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cs_err.h"
#include "cs_reader.h"
#include "cs_usb.h"

/* As SCardListReaders gives them. */
static const char readers_msz[] =
    "SCM Microsystems Inc. SCR 3310 (53311750200001) 00 00\0"
    "SCM Microsystems Inc. SCR 3310 (53311750200002) 01 00\0"
    "SCM Microsystems Inc. SCR 3310 02 00\0"
    "ACS CryptoMate (T2) 03 00\0"
    "Testbed 0 00 00\0";

static void usb_fill(cs_usb_dev *d, const char *pos, uint8_t addr,
    uint16_t vid, uint16_t pid, const char *serial)
{
	memset(d, 0, sizeof(*d));
	d->bus = 1;
	d->address = addr;
	snprintf(d->position, sizeof(d->position), "%s", pos);
	d->vid = vid;
	d->pid = pid;
	d->ccid_interfaces = 1;
	snprintf(d->serial, sizeof(d->serial), "%s", serial);
}

static cs_usb_dev devs[5];
static cs_usb_list usb = {devs, 5};
static cs_usb_driver_entry entries[] = {
	{0x04e6, 0x5116, "SCM Microsystems Inc. SCR 3310", "ifd-ccid.bundle",
	    "1.5.2"},
	{0x072f, 0x90cc, "ACS CryptoMate (T2)", "ifd-ccid.bundle", "1.5.2"},
};
static cs_usb_drivers drivers = {entries, 2, 1};

static int setup(void **state)
{
	cs_reader_list *l = calloc(1, sizeof(*l));

	usb_fill(&devs[0], "1-2", 3, 0x04e6, 0x5116, "53311750200001");
	usb_fill(&devs[1], "1-3", 4, 0x04e6, 0x5116, "53311750200002");
	usb_fill(&devs[2], "1-4.1", 7, 0x04e6, 0x5116, "");
	usb_fill(&devs[3], "2-1", 2, 0x072f, 0x90cc, "");
	usb_fill(&devs[4], "1-5", 9, 0x046d, 0xc31c, "");
	devs[4].ccid_interfaces = 0;
	assert_int_equal(cs_reader_list_from_mszstr(readers_msz,
	    sizeof(readers_msz), l), CS_OK);
	assert_int_equal(l->n, 5);
	assert_int_equal(cs_reader_locate_usb(l, &usb, &drivers, 0), CS_OK);
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	cs_reader_list_free(*state);
	free(*state);
	return 0;
}

static void parse_parts(void **state)
{
	cs_reader r;

	(void)state;
	assert_int_equal(cs_reader_parse_name(
	    "Gemalto PC Twin Reader [CCID Interface] (ABC123) 0A 01", &r),
	    CS_OK);
	assert_string_equal(r.model, "Gemalto PC Twin Reader");
	assert_string_equal(r.interface, "CCID Interface");
	assert_string_equal(r.serial, "ABC123");
	assert_int_equal(r.nn, 10);
	assert_int_equal(r.slot, 1);
	assert_int_equal(cs_reader_parse_name("Testbed 0 00 01", &r), CS_OK);
	assert_string_equal(r.model, "Testbed 0");
	assert_string_equal(r.serial, "");
	assert_int_equal(r.slot, 1);
	/* Not pcsc-lite's shape: kept whole. */
	assert_int_equal(cs_reader_parse_name("Some Reader", &r), CS_OK);
	assert_string_equal(r.model, "Some Reader");
	assert_int_equal(r.nn, -1);
}

static void located(void **state)
{
	cs_reader_list *l = *state;

	assert_string_equal(l->r[0].position, "1-2");
	assert_string_equal(l->r[1].position, "1-3");
	/* Only one serial-less SCR 3310 is plugged in: it is that one. */
	assert_string_equal(l->r[2].position, "1-4.1");
	/* "(T2)" is part of the model's name, not a serial: the device
	 * has none, and the reader is still found. */
	assert_string_equal(l->r[3].position, "2-1");
	assert_string_equal(l->r[3].serial, "");
	assert_string_equal(l->r[4].position, "");
	assert_int_equal(l->r[4].usb, -1);
}

static void two_serialless_stay_unplaced(void **state)
{
	static const char msz[] = "SCM Microsystems Inc. SCR 3310 00 00\0"
	    "SCM Microsystems Inc. SCR 3310 01 00\0";
	cs_usb_dev two[2];
	cs_usb_list u = {two, 2};
	cs_reader_list l;
	char spec[300];

	(void)state;
	usb_fill(&two[0], "1-2", 3, 0x04e6, 0x5116, "");
	usb_fill(&two[1], "1-3", 4, 0x04e6, 0x5116, "");
	assert_int_equal(cs_reader_list_from_mszstr(msz, sizeof(msz), &l),
	    CS_OK);
	/* Without PC/SC to ask for the bus address, guessing would be
	 * wrong half the time: no position rather than a wrong one. */
	cs_reader_locate_usb(&l, &u, &drivers, 0);
	assert_string_equal(l.r[0].position, "");
	assert_string_equal(l.r[1].position, "");
	cs_reader_stable_spec(&l, &l.r[1], spec, sizeof(spec));
	assert_string_equal(spec, "SCM Microsystems Inc. SCR 3310 01 00");
	cs_reader_list_free(&l);
}

static size_t sel(cs_reader_list *l, const char *spec, int want)
{
	size_t idx = 999;
	char msg[512];

	assert_int_equal(cs_reader_select(l, spec, &idx, msg, sizeof(msg)),
	    want);
	return idx;
}

static void select_specs(void **state)
{
	cs_reader_list *l = *state;
	size_t idx = 0;
	char msg[512];

	assert_int_equal(sel(l, "0", CS_OK), 0);
	assert_int_equal(sel(l, "4", CS_OK), 4);
	sel(l, "5", CS_ERR_NOTFOUND);
	assert_int_equal(sel(l, "serial:53311750200002", CS_OK), 1);
	assert_int_equal(sel(l, "usb:1-4.1", CS_OK), 2);
	assert_int_equal(sel(l, "usb:2-1", CS_OK), 3);
	sel(l, "usb:1-9", CS_ERR_NOTFOUND);
	sel(l, "usb:1-", CS_ERR_USAGE);
	sel(l, "usb:x", CS_ERR_USAGE);
	sel(l, "serial:", CS_ERR_USAGE);
	sel(l, "serial:nope", CS_ERR_NOTFOUND);
	assert_int_equal(sel(l, "Testbed", CS_OK), 4);
	assert_int_equal(sel(l, "ACS", CS_OK), 3);
	assert_int_equal(sel(l,
	    "SCM Microsystems Inc. SCR 3310 02 00", CS_OK), 2);
	assert_int_equal(sel(l, "name:Testbed 0 00 00", CS_OK), 4);
	/* Three identical models: a prefix is refused, never guessed, and
	 * the message names each candidate. */
	assert_int_equal(cs_reader_select(l, "SCM", &idx, msg, sizeof(msg)),
	    CS_ERR_MISMATCH);
	assert_non_null(strstr(msg, "3 readers fit"));
	assert_non_null(strstr(msg, "(53311750200002) 01 00"));
	sel(l, "", CS_ERR_USAGE);
}

static void stable_specs(void **state)
{
	cs_reader_list *l = *state;
	char spec[300];

	cs_reader_stable_spec(l, &l->r[0], spec, sizeof(spec));
	assert_string_equal(spec, "serial:53311750200001");
	cs_reader_stable_spec(l, &l->r[2], spec, sizeof(spec));
	assert_string_equal(spec, "usb:1-4.1");
	cs_reader_stable_spec(l, &l->r[4], spec, sizeof(spec));
	assert_string_equal(spec, "Testbed 0 00 00");
	/* Each stable spec selects its own reader back. */
	for (size_t i = 0; i < l->n; i++) {
		cs_reader_stable_spec(l, &l->r[i], spec, sizeof(spec));
		assert_int_equal(sel(l, spec, CS_OK), i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_parts),
		cmocka_unit_test(two_serialless_stay_unplaced),
		cmocka_unit_test_setup_teardown(located, setup, teardown),
		cmocka_unit_test_setup_teardown(select_specs, setup, teardown),
		cmocka_unit_test_setup_teardown(stable_specs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
