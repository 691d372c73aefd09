/* mkbig.c - a journal the size of years of encoding, made through the
 * engine's API, for the trust-check benchmark.
 *
 * usage: bench_journal_mkbig PATH EVENTS
 *
 * One queue run; each person costs 7 events as a real card does: record
 * added, claimed, card seen, issuance begun, then issuance verified, record
 * done and card issued together. All in one transaction: the figure of
 * interest is the check, not making the file. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cs_err.h"
#include "cs_journal.h"

static char why[512];

#define CHECK(call) do { \
	int r_ = (call); \
	if (r_ != CS_OK) { \
		fprintf(stderr, "mkbig: %s: %s (%s)\n", #call, \
		    cs_strerror(r_), why); \
		exit(2); \
	} \
} while (0)

static void person(cs_journal *j, int64_t run, long i)
{
	char serial[32], mail[64], holder[64], chip[32], dn[128];
	cs_jrecord rec = {0}, got;
	cs_jcard card = {0};
	cs_jissuance iss = {0};
	int64_t card_id, iss_id;

	snprintf(serial, sizeof(serial), "%ld", 100000 + i);
	snprintf(mail, sizeof(mail), "person%ld@example.ac.jp", i);
	snprintf(holder, sizeof(holder), "KOKURITSU %ld", i);
	snprintf(chip, sizeof(chip), "4790-5040-%08lX", i);
	snprintf(dn, sizeof(dn), "CN=KOKURITSU %ld,OU=%ld,O=Example University,"
	    "C=JP", i, i);
	rec.run_id = run;
	rec.serial = serial;
	rec.holder = holder;
	rec.mail = mail;
	rec.dn = dn;
	rec.not_after = "2027-03-31 23:59:59Z";
	rec.key_type = "rsa-2048";
	CHECK(cs_journal_record_add(j, &rec, NULL, why, sizeof(why)));
	CHECK(cs_journal_record_claim_next(j, run, "Reader 0", NULL, &got, why,
	    sizeof(why)));
	card.chip_serial = chip;
	card.model = "isoapplet";
	card.state = CS_JCARD_PARTIAL;
	CHECK(cs_journal_card_upsert(j, &card, &card_id, why, sizeof(why)));
	iss.record_id = got.id;
	iss.card_id = card_id;
	iss.cert_serial = serial;
	CHECK(cs_journal_issuance_begin(j, &iss, &iss_id, why, sizeof(why)));
	CHECK(cs_journal_issuance_end(j, iss_id, CS_JISSUE_VERIFIED, NULL, why,
	    sizeof(why)));
	CHECK(cs_journal_record_done(j, got.id, card_id, why, sizeof(why)));
	CHECK(cs_journal_card_set_state(j, card_id, CS_JCARD_ISSUED, NULL, why,
	    sizeof(why)));
	cs_jrecord_clear(&got);
}

int main(int argc, char **argv)
{
	cs_journal *j;
	cs_jrun run = {0};
	int64_t run_id;
	long events;

	if (argc != 3 || (events = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: %s PATH EVENTS\n", argv[0]);
		return 2;
	}
	CHECK(cs_journal_open(&j, argv[1], 0, why, sizeof(why)));
	cs_journal_set_actor(j, "bench", "Reader 0");
	CHECK(cs_journal_begin(j, why, sizeof(why)));
	run.mode = CS_JMODE_QUEUE;
	CHECK(cs_journal_run_create(j, &run, &run_id, why, sizeof(why)));
	for (long i = 0; 1 + 7 * i < events; i++)
		person(j, run_id, i);
	CHECK(cs_journal_commit(j, why, sizeof(why)));
	cs_journal_close(j);
	return 0;
}
