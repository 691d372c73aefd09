/* test_doctor_checks.c - doctor's judgements on synthetic facts: the
 * clock, cardprofiles, driver lists and each USB verdict. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cs_codes.h"
#include "cs_doctor.h"
#include "cs_err.h"

/* Every finding travels as a code of the one table, its text that
 * code's with the finding's parameters (issue 13). */
static void all_coded(const cs_findings *fs)
{
	char text[CS_FINDING_TEXT];

	for (size_t i = 0; i < fs->n; i++) {
		if (cs_code_source(fs->f[i].code) == NULL)
			fail_msg("finding '%s' has code '%s', not in the table",
			    fs->f[i].what, fs->f[i].code);
		assert_string_equal(fs->f[i].what, cs_code_text(fs->f[i].code,
		    fs->f[i].params, text, sizeof(text)));
	}
}

static const cs_finding *find(const cs_findings *fs, cs_severity sev,
    const char *check, const char *needle)
{
	all_coded(fs);
	for (size_t i = 0; i < fs->n; i++)
		if (fs->f[i].sev == sev && strcmp(fs->f[i].check, check) == 0 &&
		    strstr(fs->f[i].what, needle) != NULL)
			return &fs->f[i];
	return NULL;
}

static void clock_checks(void **state)
{
	cs_findings fs = {0};
	time_t built = 1764000000; /* 2025-11-24 */
	const cs_finding *f;

	(void)state;
	cs_doctor_check_clock(&fs, built + 86400 * 30, built, 1);
	assert_int_equal(cs_findings_worst(&fs), CS_SEV_OK);
	cs_findings_free(&fs);
	/* A station whose battery died boots in 1970. */
	cs_doctor_check_clock(&fs, 86400, built, 1);
	assert_non_null(f = find(&fs, CS_SEV_FAIL, "clock", "before this "
	    "program was built"));
	assert_non_null(strstr(f->todo, "timedatectl"));
	/* What to do has its code too, for front ends and monitoring. */
	assert_string_equal(f->todo_code, "todo.clock.set");
	{
		char v[64];

		assert_string_equal(f->code, "doctor.clock.before-build");
		assert_string_equal(cs_params_get(f->params, "now", v,
		    sizeof(v)), "1970-01-02 00:00:00 UTC");
	}
	cs_findings_free(&fs);
	cs_doctor_check_clock(&fs, built + 40ll * 365 * 86400, built, 1);
	assert_non_null(find(&fs, CS_SEV_WARN, "clock", "15 years"));
	cs_findings_free(&fs);
	cs_doctor_check_clock(&fs, built, built, 0);
	assert_non_null(find(&fs, CS_SEV_INFO, "clock", "not synchronised"));
	assert_int_equal(cs_findings_worst(&fs), CS_SEV_INFO);
	cs_findings_free(&fs);
	assert_true(cs_doctor_build_time() > 1700000000);
}

static void journal_checks(void **state)
{
	cs_findings fs = {0};
	char dir[] = "/tmp/cs-doctor-XXXXXX", path[64], sub[64], v[128];
	const cs_finding *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	cs_doctor_check_journal(&fs, path);
	assert_non_null(find(&fs, CS_SEV_OK, "journal", "free"));
	cs_findings_free(&fs);
	snprintf(path, sizeof(path), "%s/sub/journal.db", dir);
	cs_doctor_check_journal(&fs, path);
	assert_non_null(f = find(&fs, CS_SEV_INFO, "journal", "does not exist"));
	/* The advice's parameter: the folder to make, in its command. */
	assert_string_equal(f->todo_code, "todo.journal.create-dir");
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_string_equal(cs_params_get(f->todo_params, "dir", v, sizeof(v)),
	    sub);
	assert_non_null(strstr(f->todo, sub));
	cs_findings_free(&fs);
	rmdir(dir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* What every profile must say besides its name and driver. */
#define PROFILE_REST "pin.min = 6\npin.max = 8\npin.charset = digits\n" \
	"puk.length = 16\npuk.charset = hex\nauth.id = 01\nkey.id = 01\n"

static void profiles(void **state)
{
	char dir[] = "/tmp/cs-prof-XXXXXX", path[64], name[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* No profiles yet: not found, not an error. */
	assert_int_equal(cs_doctor_profile_for_driver(dir, "isoApplet", name,
	    sizeof(name)), CS_ERR_NOTFOUND);
	snprintf(path, sizeof(path), "%s/other.conf", dir);
	write_file(path, "# opensc.driver = isoApplet in a comment\n"
	    PROFILE_REST "name = other\nopensc.driver = PIV-II\n");
	snprintf(path, sizeof(path), "%s/isoapplet.conf", dir);
	write_file(path, PROFILE_REST "name = isoapplet\n"
	    "  opensc.driver\t=  isoApplet   # OpenSC\n");
	assert_int_equal(cs_doctor_profile_for_driver(dir, "isoapplet", name,
	    sizeof(name)), CS_OK);
	assert_string_equal(name, "isoapplet");
	assert_int_equal(cs_doctor_profile_for_driver(dir, "PIV-II", name,
	    sizeof(name)), CS_OK);
	assert_string_equal(name, "other");
	assert_int_equal(cs_doctor_profile_for_driver(dir, "cardos", name,
	    sizeof(name)), CS_ERR_NOTFOUND);
	assert_int_equal(cs_doctor_profile_for_driver("/nonexistent/x",
	    "isoApplet", name, sizeof(name)), CS_ERR_IO);
	unlink(path);
	snprintf(path, sizeof(path), "%s/other.conf", dir);
	unlink(path);
	rmdir(dir);
}

static const char plist[] =
    "<plist><dict>\n"
    "<key>CFBundleShortVersionString</key><string>9.9</string>\n"
    "<!-- <key>ifdVendorID</key> in a comment must not count -->\n"
    "<key>ifdVendorID</key>\n<array>\n<string>0x04E6</string>\n"
    "<string>0x0BDA</string>\n</array>\n"
    "<key>ifdProductID</key>\n<array>\n<string>0x5116</string>\n"
    "<string>0x0169</string>\n</array>\n"
    "<key>ifdFriendlyName</key>\n<array>\n"
    "<string>SCM Microsystems Inc. SCR 3310</string>\n"
    "<string>Generic USB2.0-CRW &amp; Co</string>\n</array>\n"
    "</dict></plist>\n";

/* The doctor looks where the other commands look: the environment's
 * journal and profiles first (it ignored them, and judged a station
 * configured by environment against the installed folders). */
static void the_doctor_looks_where_the_station_looks(void **state)
{
	cs_doctor_opts o;

	(void)state;
	setenv("CARDSTATION_JOURNAL", "/srv/office/journal.db", 1);
	setenv("CARDSTATION_PROFILES", "/srv/office/cardprofiles", 1);
	cs_doctor_opts_init(&o);
	assert_string_equal(o.journal, "/srv/office/journal.db");
	assert_string_equal(o.profiles_dir, "/srv/office/cardprofiles");
	unsetenv("CARDSTATION_JOURNAL");
	unsetenv("CARDSTATION_PROFILES");
	cs_doctor_opts_init(&o);
	assert_string_equal(o.journal, "/var/lib/cardstation/journal.db");
}

static void driver_list(void **state)
{
	cs_usb_drivers d = {0};
	const cs_usb_driver_entry *e;

	(void)state;
	assert_int_equal(cs_usb_drivers_parse(plist, "x.bundle", &d), CS_OK);
	assert_int_equal(d.n, 2);
	assert_non_null(e = cs_usb_drivers_find(&d, 0x0bda, 0x0169));
	assert_string_equal(e->name, "Generic USB2.0-CRW & Co");
	assert_string_equal(e->version, "9.9");
	assert_null(cs_usb_drivers_find(&d, 0x1209, 0x0001));
	assert_int_equal(cs_usb_drivers_parse("<plist/>", "y.bundle", &d),
	    CS_ERR_FORMAT);
	cs_usb_drivers_free(&d);
	/* The real CCID driver of this machine lists hundreds. */
	assert_int_equal(cs_usb_drivers_load(CS_PCSC_DRIVERS_DIR, &d), CS_OK);
	assert_true(d.n == 0 || cs_usb_drivers_find(&d, 0x04e6, 0x5116));
	cs_usb_drivers_free(&d);
}

static void usb_verdicts(void **state)
{
	static const char msz[] =
	    "SCM Microsystems Inc. SCR 3310 (S1) 00 00\0";
	cs_usb_driver_entry ent[] = {{0x04e6, 0x5116,
	    "SCM Microsystems Inc. SCR 3310", "ifd-ccid.bundle", "1.5.2"}};
	cs_usb_drivers drv = {ent, 1, 1};
	cs_usb_dev dev[4];
	cs_usb_list usb = {dev, 4};
	cs_reader_list rl;
	cs_pcscd_proc root = {.pid = 1, .uid = 0}, user = {.pid = 1,
	    .uid = 4242, .gids = {4242}, .ngids = 1};
	cs_findings fs = {0};
	char node[] = "/tmp/cs-node-XXXXXX";
	int fd;

	(void)state;
	assert_true((fd = mkstemp(node)) >= 0);
	close(fd);
	chmod(node, 0600);
	memset(dev, 0, sizeof(dev));
	for (int i = 0; i < 3; i++) {
		dev[i].bus = 1;
		dev[i].address = (uint8_t)(3 + i);
		dev[i].vid = 0x04e6;
		dev[i].pid = 0x5116;
		dev[i].ccid_interfaces = 1;
		snprintf(dev[i].position, sizeof(dev[i].position), "1-%d",
		    2 + i);
		snprintf(dev[i].serial, sizeof(dev[i].serial), "S%d", 1 + i);
		snprintf(dev[i].devnode, sizeof(dev[i].devnode), "%s", node);
	}
	dev[2].pid = 0x9999;
	snprintf(dev[3].position, sizeof(dev[3].position), "1-9");
	dev[3].vid = 0x046d;
	assert_int_equal(cs_reader_list_from_mszstr(msz, sizeof(msz), &rl),
	    CS_OK);
	cs_reader_locate_usb(&rl, &usb, &drv, 0);
	assert_int_equal(rl.r[0].usb, 0);

	/* pcscd as root: served, listed-but-not-shown, no driver. */
	cs_doctor_check_usb(&fs, &usb, &drv, &rl, &root);
	assert_non_null(find(&fs, CS_SEV_OK, "usb", "at usb:1-2 is served "
	    "by pcscd as 'SCM Microsystems Inc. SCR 3310 (S1) 00 00'"));
	assert_non_null(find(&fs, CS_SEV_WARN, "usb", "at usb:1-3 has a "
	    "driver (ifd-ccid.bundle 1.5.2"));
	assert_non_null(find(&fs, CS_SEV_FAIL, "usb", "04e6:9999"));
	assert_non_null(find(&fs, CS_SEV_INFO, "usb", "1 other USB device"));
	cs_findings_free(&fs);

	/* pcscd under its own user, the node root's 0600: permission. */
	cs_doctor_check_usb(&fs, &usb, &drv, &rl, &user);
	assert_non_null(find(&fs, CS_SEV_FAIL, "usb", "may not open"));
	assert_null(find(&fs, CS_SEV_WARN, "usb", "at usb:1-3"));
	cs_findings_free(&fs);
	/* ... and with the group granted by the rules, it may. */
	chmod(node, 0666);
	cs_doctor_check_usb(&fs, &usb, &drv, &rl, &user);
	assert_null(find(&fs, CS_SEV_FAIL, "usb", "may not open"));
	cs_findings_free(&fs);
	unlink(node);
	cs_reader_list_free(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clock_checks),
		cmocka_unit_test(journal_checks),
		cmocka_unit_test(profiles),
		cmocka_unit_test(the_doctor_looks_where_the_station_looks),
		cmocka_unit_test(driver_list),
		cmocka_unit_test(usb_verdicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
