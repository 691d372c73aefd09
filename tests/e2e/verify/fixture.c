/* fixture.c - journal rows for cards the tests write with OpenSC's own
 * tools, made through the engine's journal API as an encode run would.
 *
 * usage: verify_fixture JOURNAL issue CHIP SERIAL HOLDER MAIL DN [PRINTED]
 *
 * The first call makes run 1; every call adds the holder's record to it,
 * claims it, binds the certificate to the card with that chip serial and
 * ends the issuance 'verified' (record done, card issued), in one
 * transaction per step as the engine does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_err.h"
#include "cs_journal.h"

static char why[512];

#define CHECK(call) do { \
	int r_ = (call); \
	if (r_ != CS_OK) { \
		fprintf(stderr, "verify_fixture: %s: %s (%s)\n", #call, \
		    cs_strerror(r_), why); \
		exit(2); \
	} \
} while (0)

static int64_t the_run(cs_journal *j)
{
	cs_jrun run;
	int64_t id;

	memset(&run, 0, sizeof(run));
	if (cs_journal_run_get(j, 1, &run) == CS_OK) {
		cs_jrun_clear(&run);
		return 1;
	}
	run.certs_zip = (char *)"clientAll.zip";
	run.pins_zip = (char *)"clientAllPin.zip";
	run.certs_sha256 = (char *)"00";
	run.pins_sha256 = (char *)"00";
	run.profile = (char *)"isoapplet";
	run.mode = CS_JMODE_QUEUE;
	run.operator_name = (char *)"desk-test";
	CHECK(cs_journal_run_create(j, &run, &id, why, sizeof(why)));
	return id;
}

int main(int argc, char **argv)
{
	cs_journal *j;
	cs_jrecord in, rec;
	cs_jcard card;
	cs_jissuance iss;
	int64_t run, rec_id, card_id, iss_id;

	if (argc < 8 || strcmp(argv[2], "issue") != 0) {
		fprintf(stderr, "usage: verify_fixture JOURNAL issue CHIP SERIAL "
		    "HOLDER MAIL DN [PRINTED]\n");
		return 2;
	}
	CHECK(cs_journal_open(&j, argv[1], 0, why, sizeof(why)));
	CHECK(cs_journal_set_actor(j, "desk-test", "Testbed"));
	run = the_run(j);
	memset(&in, 0, sizeof(in));
	in.run_id = run;
	in.serial = argv[4];
	in.holder = argv[5];
	in.mail = argv[6];
	in.dn = argv[7];
	in.profile = (char *)"client";
	CHECK(cs_journal_record_add(j, &in, &rec_id, why, sizeof(why)));
	CHECK(cs_journal_record_claim(j, run, CS_JKEY_SERIAL, argv[4],
	    "Testbed", &rec, why, sizeof(why)));
	memset(&card, 0, sizeof(card));
	card.chip_serial = argv[3];
	card.printed_no = argc > 8 ? argv[8] : NULL;
	card.model = (char *)"isoapplet";
	card.state = CS_JCARD_BLANK;
	CHECK(cs_journal_card_upsert(j, &card, &card_id, why, sizeof(why)));
	memset(&iss, 0, sizeof(iss));
	iss.record_id = rec.id;
	iss.card_id = card_id;
	iss.cert_serial = argv[4];
	CHECK(cs_journal_issuance_begin(j, &iss, &iss_id, why, sizeof(why)));
	CHECK(cs_journal_begin(j, why, sizeof(why)));
	CHECK(cs_journal_issuance_end(j, iss_id, CS_JISSUE_VERIFIED, NULL, why,
	    sizeof(why)));
	CHECK(cs_journal_record_done(j, rec.id, card_id, why, sizeof(why)));
	CHECK(cs_journal_card_set_state(j, card_id, CS_JCARD_ISSUED, NULL, why,
	    sizeof(why)));
	CHECK(cs_journal_commit(j, why, sizeof(why)));
	cs_jrecord_clear(&rec);
	cs_journal_close(j);
	return 0;
}
