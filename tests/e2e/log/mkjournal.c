/* mkjournal.c - make a journal the way a day of encoding makes one, through
 * the engine's own API, for the `cardstation log` end-to-end test.
 *
 * usage: log_mkjournal JOURNAL   (a SQLite path or a PostgreSQL URI)
 *
 * One queue run of five people: one refused (wrong access PIN), one card
 * written and verified, one card that failed and was redone on another
 * card, one card still being written when the station "stopped" (resumed:
 * interrupted, card partial, record back in the queue), one holder whose
 * name has a character CP932 lacks (𠮷). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_err.h"
#include "cs_journal.h"

static char why[512];

#define CHECK(call) do { \
	int r_ = (call); \
	if (r_ != CS_OK) { \
		fprintf(stderr, "mkjournal: %s: %s (%s)\n", #call, \
		    cs_strerror(r_), why); \
		exit(2); \
	} \
} while (0)

struct person {
	const char *serial, *holder, *mail, *dn, *staff_no, *problem, *reason;
};

static const struct person PEOPLE[] = {
	{"123456789012345678901234567890123456789", "髙﨑 花子",
	    "takasaki@example.ac.jp", "CN=TAKASAKI HANAKO,OU=1001,O=Example "
	    "University,C=JP", "1001", NULL, NULL},
	{"2001", "KOKURITSU TARO", "Taro.Kokuritsu@example.ac.jp",
	    "CN=KOKURITSU TARO,OU=1002,O=Example University, Inc.,C=JP", "1002",
	    NULL, NULL},
	{"3001", "山田 \"Yamada, Jr.\"", "yamada@example.ac.jp",
	    "CN=YAMADA JR,OU=1003,O=Example University,C=JP", "1003", NULL,
	    NULL},
	{"4001", "REFUSED PERSON", "refused@example.ac.jp",
	    "CN=REFUSED PERSON,OU=1004,O=Example University,C=JP", "1004",
	    "wrong-pin", "the access PIN does not open the PKCS#12"},
	{"5001", "𠮷田 太郎", "yoshida@example.ac.jp",
	    "CN=YOSHIDA TARO,OU=1005,O=Example University,C=JP", "1005", NULL,
	    NULL},
};

static int64_t card(cs_journal *j, const char *chip, const char *printed)
{
	cs_jcard c;
	int64_t id;

	memset(&c, 0, sizeof(c));
	c.chip_serial = (char *)chip;
	c.printed_no = (char *)printed;
	c.pkcs15_serial = (char *)"00001111";
	c.atr = (char *)"3B:80:80:01:01";
	c.model = (char *)"isoapplet";
	c.state = CS_JCARD_BLANK;
	CHECK(cs_journal_card_upsert(j, &c, &id, why, sizeof(why)));
	return id;
}

/* Claim, write, verify: the good path of one card. */
static void issue(cs_journal *j, cs_jrecord *rec, int64_t card_id,
    cs_jissue_outcome outcome, const char *reason)
{
	cs_jissuance in;
	int64_t iss;

	memset(&in, 0, sizeof(in));
	in.record_id = rec->id;
	in.card_id = card_id;
	in.cert_serial = rec->serial;
	CHECK(cs_journal_issuance_begin(j, &in, &iss, why, sizeof(why)));
	if (outcome == CS_JISSUE_WRITING)
		return;
	CHECK(cs_journal_begin(j, why, sizeof(why)));
	CHECK(cs_journal_issuance_end(j, iss, outcome, reason, why, sizeof(why)));
	if (outcome == CS_JISSUE_VERIFIED) {
		CHECK(cs_journal_record_done(j, rec->id, card_id, why, sizeof(why)));
		CHECK(cs_journal_card_set_state(j, card_id, CS_JCARD_ISSUED, NULL,
		    why, sizeof(why)));
	} else {
		CHECK(cs_journal_record_release(j, rec->id, reason, why,
		    sizeof(why)));
		CHECK(cs_journal_card_set_state(j, card_id, CS_JCARD_PARTIAL,
		    reason, why, sizeof(why)));
	}
	CHECK(cs_journal_commit(j, why, sizeof(why)));
}

int main(int argc, char **argv)
{
	cs_journal *j;
	cs_jrun run;
	cs_jrecord rec;
	cs_jresume res;
	int64_t run_id;

	if (argc != 2) {
		fprintf(stderr, "usage: log_mkjournal JOURNAL\n");
		return 2;
	}
	CHECK(cs_journal_open(&j, argv[1], 0, why, sizeof(why)));
	CHECK(cs_journal_set_actor(j, "office-1", "Reader A"));
	memset(&run, 0, sizeof(run));
	run.certs_zip = (char *)"/media/usb/clientAll.zip";
	run.pins_zip = (char *)"/media/usb/clientAllPin.zip";
	run.certs_sha256 = (char *)"aa";
	run.pins_sha256 = (char *)"bb";
	run.profile = (char *)"isoapplet";
	run.mode = CS_JMODE_QUEUE;
	run.operator_name = (char *)"office-1";
	CHECK(cs_journal_run_create(j, &run, &run_id, why, sizeof(why)));
	for (size_t i = 0; i < sizeof(PEOPLE) / sizeof(PEOPLE[0]); i++) {
		const struct person *p = &PEOPLE[i];

		memset(&rec, 0, sizeof(rec));
		rec.run_id = run_id;
		rec.serial = (char *)p->serial;
		rec.holder = (char *)p->holder;
		rec.mail = (char *)p->mail;
		rec.dn = (char *)p->dn;
		rec.staff_no = (char *)p->staff_no;
		rec.profile = (char *)"7";
		rec.not_after = (char *)"2026-04-01T00:00:00Z";
		rec.problem = (char *)p->problem;
		rec.reason = (char *)p->reason;
		CHECK(cs_journal_record_add(j, &rec, NULL, why, sizeof(why)));
	}

	/* 髙﨑: first in the queue, written and verified. */
	CHECK(cs_journal_record_claim_next(j, run_id, "Reader A", NULL, &rec, why,
	    sizeof(why)));
	issue(j, &rec, card(j, "0A0B0C0D0E0F1011", "P-0001"), CS_JISSUE_VERIFIED,
	    NULL);
	cs_jrecord_clear(&rec);

	/* KOKURITSU: a card memory error, then a second card. */
	CHECK(cs_journal_record_claim_next(j, run_id, "Reader A", NULL, &rec, why,
	    sizeof(why)));
	issue(j, &rec, card(j, "0A0B0C0D0E0F2022", "P-0002"), CS_JISSUE_FAILED,
	    "card memory error (6581)");
	cs_jrecord_clear(&rec);
	CHECK(cs_journal_record_claim(j, run_id, CS_JKEY_MAIL,
	    "taro.kokuritsu@example.ac.jp", "Reader B", &rec, why, sizeof(why)));
	issue(j, &rec, card(j, "0A0B0C0D0E0F3033", "P-0003"), CS_JISSUE_VERIFIED,
	    NULL);
	cs_jrecord_clear(&rec);

	/* 𠮷田: by staff number (pairing list), verified. */
	CHECK(cs_journal_record_claim(j, run_id, CS_JKEY_STAFF_NO, "1005",
	    "Reader B", &rec, why, sizeof(why)));
	issue(j, &rec, card(j, "0A0B0C0D0E0F5055", "P-0005"), CS_JISSUE_VERIFIED,
	    NULL);
	cs_jrecord_clear(&rec);

	/* 山田: the station stops while the card is written; resume. */
	CHECK(cs_journal_record_claim_next(j, run_id, "Reader A", NULL, &rec, why,
	    sizeof(why)));
	issue(j, &rec, card(j, "0A0B0C0D0E0F4044", "P-0004"), CS_JISSUE_WRITING,
	    NULL);
	cs_jrecord_clear(&rec);
	CHECK(cs_journal_resume(j, run_id, &res, why, sizeof(why)));
	if (res.interrupted != 1 || res.released != 1) {
		fprintf(stderr, "mkjournal: resume: %lld interrupted, %lld "
		    "released\n", (long long)res.interrupted,
		    (long long)res.released);
		return 2;
	}
	cs_journal_close(j);
	return 0;
}
