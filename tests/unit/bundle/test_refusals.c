/* test_refusals.c - every record refusal of a download, against a bundle the
 * generator broke on purpose; the good records stay usable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_bundle.h"
#include "cs_err.h"
#include "cs_secret.h"

#define INSTITUTION "National Institute of Informatics, Academe Campus"

static const char *const BREAKS[] = {
	"p12-missing", "p12-orphan", "wrong-pin", "no-pin-row", "no-index-row",
	"name-mismatch", "serial-mismatch", "key-mismatch", "subject-mismatch",
	"foreign-o", "smime-mail-mismatch", "expired", "not-yet-valid",
	"duplicate-serial",
};

static char dir[] = "/tmp/cs-test-refusals-XXXXXX";

struct seen {
	char serial[48], mail[128], verdict[32];
	int matched;
};

static void generate(const char *extra)
{
	char cmd[2048];
	size_t n;

	n = (size_t)snprintf(cmd, sizeof(cmd), "'%s' --out '%s' --people 40 "
	    "--seed 7 %s", getenv("UPKIGEN"), dir, extra);
	for (size_t i = 0; i < sizeof(BREAKS) / sizeof(BREAKS[0]); i++)
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " --break %s",
		    BREAKS[i]);
	snprintf(cmd + n, sizeof(cmd) - n, " >/dev/null");
	assert_int_equal(system(cmd), 0);
}

static size_t read_expect(struct seen *rows, size_t cap)
{
	char path[128], line[2048];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/expect.tsv", dir);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f)); /* header */
	while (n < cap && fgets(line, sizeof(line), f) != NULL) {
		char *col[6], *save = NULL, *s = line;

		for (int i = 0; i < 6; i++, s = NULL)
			col[i] = strtok_r(s, "\t\n", &save);
		snprintf(rows[n].serial, sizeof(rows[n].serial), "%s", col[0]);
		snprintf(rows[n].mail, sizeof(rows[n].mail), "%s", col[2]);
		snprintf(rows[n].verdict, sizeof(rows[n].verdict), "%s", col[4]);
		n++;
	}
	fclose(f);
	return n;
}

/* A person is the record with their serial and mail; a PIN row without an
 * index row has no serial yet, a file without an index row no mail. */
static int same_person(const struct seen *e, const cs_record *r)
{
	if (strcmp(e->verdict, "no-index-row") == 0)
		return r->serial[0] == '\0' && strcmp(r->mail, e->mail) == 0;
	if (strcmp(e->verdict, "p12-orphan") == 0)
		return strcmp(r->serial, e->serial) == 0 && r->mail[0] == '\0';
	return strcmp(r->serial, e->serial) == 0 && strcmp(r->mail, e->mail) == 0;
}

static void check_bundle(const char *pinzip)
{
	struct seen expect[64] = {0};
	size_t nexp = read_expect(expect, 64), usable = 0;
	char certs[128], pins[128], why[512];
	cs_bundle_opts o;
	cs_bundle *b;

	snprintf(certs, sizeof(certs), "%s/clientAll.zip", dir);
	snprintf(pins, sizeof(pins), "%s/%s", dir, pinzip);
	cs_bundle_default_opts(&o);
	o.institution = INSTITUTION;
	assert_int_equal(cs_bundle_open(&b, certs, pins, &o, why, sizeof(why)), CS_OK);
	for (size_t i = 0; i < b->nrec; i++) {
		cs_p12 *p = NULL;
		cs_p12_info info;
		cs_problem pr = cs_bundle_load(b, &b->rec[i], &o, &p, &info, why,
		    sizeof(why));
		const char *got = pr == CS_PROBLEM_NONE ? "OK" : cs_problem_name(pr);
		int found = 0;

		if (p != NULL) {
			/* A usable record is really usable: key and certificate. */
			assert_non_null(p->key);
			assert_non_null(p->cert);
			usable++;
		}
		cs_p12_free(p);
		for (size_t k = 0; k < nexp; k++)
			if (!expect[k].matched && same_person(&expect[k], &b->rec[i])) {
				if (strcmp(expect[k].verdict, got) != 0)
					fail_msg("serial %s mail %s: expected %s, got %s (%s)",
					    expect[k].serial, expect[k].mail,
					    expect[k].verdict, got, why);
				expect[k].matched = found = 1;
				break;
			}
		if (!found)
			fail_msg("record %zu (serial '%s', mail '%s') is not in "
			    "expect.tsv: %s", i, b->rec[i].serial, b->rec[i].mail, got);
	}
	for (size_t k = 0; k < nexp; k++) {
		/* Each break's verdict is matched (a no-index-row row whose
		 * person also lost the file is matched through the PIN row). */
		if (!expect[k].matched)
			fail_msg("expect.tsv row %s/%s (%s) has no record",
			    expect[k].serial, expect[k].mail, expect[k].verdict);
	}
	assert_true(usable >= 20);
	cs_bundle_free(b);
}

static void each_broken_record_is_refused_for_its_own_reason(void **state)
{
	generate("");
	check_bundle("clientAllPin.zip");
}

static void the_individual_pattern_and_utf8_files_work_the_same(void **state)
{
	generate("--pin-file clientPin --utf8");
	check_bundle("clientPin.zip");
}

static void the_access_pin_is_kept_in_locked_memory(void **state)
{
	char certs[128], pins[128], why[512];
	cs_bundle_opts o;
	cs_bundle *b;

	generate("");
	snprintf(certs, sizeof(certs), "%s/clientAll.zip", dir);
	snprintf(pins, sizeof(pins), "%s/clientAllPin.zip", dir);
	cs_bundle_default_opts(&o);
	assert_int_equal(cs_bundle_open(&b, certs, pins, &o, why, sizeof(why)), CS_OK);
	for (size_t i = 0; i < b->nrec; i++) {
		const char *pin = cs_bundle_pin(b, &b->rec[i]);

		if (pin == NULL)
			continue;
		assert_true((const unsigned char *)pin >= b->pinarena->buf);
		assert_true((const unsigned char *)pin <
		    b->pinarena->buf + b->pinarena->cap);
	}
	cs_bundle_free(b);
}

static int setup(void **state)
{
	cs_p12_providers *pv = calloc(1, sizeof(*pv));

	if (pv == NULL || mkdtemp(dir) == NULL || cs_p12_init(pv) != CS_OK)
		return -1;
	*state = pv;
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	cs_p12_fini(*state);
	free(*state);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_broken_record_is_refused_for_its_own_reason),
		cmocka_unit_test(the_individual_pattern_and_utf8_files_work_the_same),
		cmocka_unit_test(the_access_pin_is_kept_in_locked_memory),
	};

	if (getenv("UPKIGEN") == NULL) {
		fprintf(stderr, "UPKIGEN must name the generator\n");
		return 1;
	}
	cs_secret_process_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
