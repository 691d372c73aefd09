/* card.c - the journal's share of one card, on several journals side by
 * side, for the PostgreSQL bench (issue 16).
 *
 * usage: bench_pg_card CARDS NAME=JOURNAL [NAME=JOURNAL...]
 *
 * Each JOURNAL (a SQLite path or a PostgreSQL URI, its schema made) gets a
 * queue run of CARDS people, made untimed. Then card after card, the
 * journals in turn (the first one first for even cards, the last one first
 * for odd cards, so that neither always follows the other), the journal
 * transactions a station's reader worker makes for one blank card in a
 * queue run, through the same API calls in the same grouping
 * (station/engine/cs_worker.c):
 *   find     the card by its chip serial (not known yet)
 *   claim    the next queued record (cs_journal_record_claim_next)
 *   writing  one transaction: the card's row, the issuance 'writing'
 *   verified one transaction: the card's PKCS#15 serial and state issued,
 *            the issuance verified, what it replaced, the record done
 *   progress the run's counts (the front end's, read once per card)
 * Each call's events (the hash chain) are written inside them. Printed:
 * one line per card and journal, "NAME CARD find claim writing verified
 * progress total" in microseconds (CLOCK_MONOTONIC), each line written
 * as it is made. A failed call ends the bench with status 2. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cs_err.h"
#include "cs_journal.h"

#define MAXJ 8
#define READER "Bench Reader 00 00"

static char why[512];

#define CHECK(call) do { \
	int r_ = (call); \
	if (r_ != CS_OK) { \
		fprintf(stderr, "bench_pg_card: %s: %s (%s)\n", #call, \
		    cs_strerror(r_), why); \
		exit(2); \
	} \
} while (0)

struct jr {
	const char *name, *path;
	cs_journal *j;
	int64_t run;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* A run of n people, as `run new` leaves it: queued records. */
static void setup(struct jr *x, long n)
{
	cs_jrun run = {0};

	CHECK(cs_journal_open(&x->j, x->path, 0, why, sizeof(why)));
	cs_journal_set_actor(x->j, "bench", READER);
	CHECK(cs_journal_owner_start(x->j, READER, why, sizeof(why)));
	CHECK(cs_journal_begin(x->j, why, sizeof(why)));
	run.mode = CS_JMODE_QUEUE;
	run.operator_name = "bench";
	CHECK(cs_journal_run_create(x->j, &run, &x->run, why, sizeof(why)));
	for (long i = 0; i < n; i++) {
		char serial[32], mail[64], holder[64], dn[128];
		cs_jrecord rec = {0};

		snprintf(serial, sizeof(serial), "%ld", 700000 + i);
		snprintf(mail, sizeof(mail), "person%ld@example.ac.jp", i);
		snprintf(holder, sizeof(holder), "KOKURITSU %ld", i);
		snprintf(dn, sizeof(dn), "CN=KOKURITSU %ld,OU=%ld,O=Example "
		    "University,C=JP", i, i);
		rec.run_id = x->run;
		rec.serial = serial;
		rec.holder = holder;
		rec.mail = mail;
		rec.dn = dn;
		rec.not_after = "2027-03-31 23:59:59Z";
		rec.key_type = "rsa-2048";
		CHECK(cs_journal_record_add(x->j, &rec, NULL, why, sizeof(why)));
	}
	CHECK(cs_journal_commit(x->j, why, sizeof(why)));
}

/* One blank card's journal work; t[0..4] the steps' times, t[5] all. */
static void card(struct jr *x, long i, double t[6])
{
	char chip[32], p15[32];
	cs_jcard found = {0}, jc = {0}, done = {0};
	cs_jrecord rec = {0};
	cs_jissuance iss = {0};
	cs_jprogress pr;
	int64_t card_id, iss_id, id;
	double t0, t1;
	int r;

	snprintf(chip, sizeof(chip), "4790-5040-%08lX", 0xB0000000UL + (unsigned long)i);
	snprintf(p15, sizeof(p15), "%016lX", 0xB0000000UL + (unsigned long)i);
	t0 = now_us();
	r = cs_journal_card_find(x->j, CS_JKEY_CHIP, chip, &found);
	cs_jcard_clear(&found);
	if (r != CS_ERR_NOTFOUND) {
		fprintf(stderr, "bench_pg_card: %s: card %s found (%s)\n",
		    x->name, chip, cs_strerror(r));
		exit(2);
	}
	t[0] = (t1 = now_us()) - t0;
	CHECK(cs_journal_record_claim_next(x->j, x->run, READER, "rsa-2048",
	    &rec, why, sizeof(why)));
	t[1] = (t0 = now_us()) - t1;

	jc.chip_serial = chip;
	jc.id_source = CS_JCARD_ID_CPLC;
	jc.atr = "3B:80:80:01:01";
	jc.model = "isoapplet";
	jc.state = CS_JCARD_PARTIAL;
	CHECK(cs_journal_begin(x->j, why, sizeof(why)));
	CHECK(cs_journal_card_upsert(x->j, &jc, &card_id, why, sizeof(why)));
	iss.record_id = rec.id;
	iss.card_id = card_id;
	iss.cert_serial = rec.serial;
	iss.holder = rec.holder;
	iss.mail = rec.mail;
	iss.reader = READER;
	iss.operator_name = "bench";
	CHECK(cs_journal_issuance_begin(x->j, &iss, &iss_id, why, sizeof(why)));
	CHECK(cs_journal_commit(x->j, why, sizeof(why)));
	t[2] = (t1 = now_us()) - t0;

	done.chip_serial = chip;
	done.pkcs15_serial = p15;
	CHECK(cs_journal_begin(x->j, why, sizeof(why)));
	CHECK(cs_journal_card_upsert(x->j, &done, &id, why, sizeof(why)));
	CHECK(cs_journal_card_set_state(x->j, card_id, CS_JCARD_ISSUED, NULL,
	    why, sizeof(why)));
	CHECK(cs_journal_issuance_end(x->j, iss_id, CS_JISSUE_VERIFIED, NULL,
	    why, sizeof(why)));
	CHECK(cs_journal_card_replaced(x->j, card_id, iss_id, why,
	    sizeof(why)));
	CHECK(cs_journal_record_done(x->j, rec.id, card_id, why, sizeof(why)));
	CHECK(cs_journal_commit(x->j, why, sizeof(why)));
	t[3] = (t0 = now_us()) - t1;
	CHECK(cs_journal_run_progress(x->j, x->run, &pr));
	t[4] = now_us() - t0;
	t[5] = t[0] + t[1] + t[2] + t[3] + t[4];
	cs_jrecord_clear(&rec);
	if (pr.done != i + 1) {
		fprintf(stderr, "bench_pg_card: %s: %" PRId64 " records done after "
		    "%ld cards\n", x->name, pr.done, i + 1);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct jr js[MAXJ];
	int n = argc - 2;
	long cards;

	if (argc < 3 || n > MAXJ || (cards = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: %s CARDS NAME=JOURNAL [NAME=JOURNAL...]\n",
		    argv[0]);
		return 2;
	}
	for (int k = 0; k < n; k++) {
		char *eq = strchr(argv[k + 2], '=');

		if (eq == NULL) {
			fprintf(stderr, "bench_pg_card: %s: NAME=JOURNAL\n",
			    argv[k + 2]);
			return 2;
		}
		*eq = '\0';
		js[k].name = argv[k + 2];
		js[k].path = eq + 1;
		setup(&js[k], cards);
	}
	for (long i = 0; i < cards; i++)
		for (int s = 0; s < n; s++) {
			struct jr *x = &js[i % 2 ? n - 1 - s : s];
			double t[6];

			card(x, i, t);
			printf("%s %ld %.0f %.0f %.0f %.0f %.0f %.0f\n", x->name, i,
			    t[0], t[1], t[2], t[3], t[4], t[5]);
			/* One write per card: bench.sh counts the server's
			 * round trips between them (strace). */
			fflush(stdout);
		}
	for (int k = 0; k < n; k++) {
		CHECK(cs_journal_owner_end(js[k].j, why, sizeof(why)));
		cs_journal_close(js[k].j);
	}
	return 0;
}
