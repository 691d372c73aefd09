/* test_life.c - the rest of a card's life in the journal: a retired card
 * leaves nobody waiting for it; a re-issue onto the same card supersedes
 * the same holder's certificate and wipes another holder's; the search for
 * certificates that expire soon lists live ones only, soonest first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "jt.h"

static int setup3(void **state)
{
	return jt_new(state, 3);
}

static int teardown(void **state)
{
	return jt_free(state);
}

/* Claim the next record of run at reader, start writing it on card. */
static int64_t start(cs_journal *j, int64_t run, const char *reader,
    int64_t card, cs_jrecord *r)
{
	cs_jissuance iss = {0};
	int64_t id = 0;
	char why[256];

	assert_int_equal(cs_journal_record_claim_next(j, run, reader, NULL, r,
	    why, sizeof(why)), CS_OK);
	iss.record_id = r->id;
	iss.card_id = card;
	iss.cert_serial = r->serial;
	assert_int_equal(cs_journal_issuance_begin(j, &iss, &id, why,
	    sizeof(why)), CS_OK);
	return id;
}

/* Write and verify the next record of run on card; the issuance. */
static int64_t issue(cs_journal *j, int64_t run, int64_t card, cs_jrecord *r)
{
	char why[256];
	int64_t id = start(j, run, "R1", card, r);

	assert_int_equal(cs_journal_issuance_end(j, id, CS_JISSUE_VERIFIED, NULL,
	    why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_record_done(j, r->id, card, why,
	    sizeof(why)), CS_OK);
	return id;
}

static cs_jissue_outcome outcome(cs_journal *j, int64_t id)
{
	cs_jissuance i;
	cs_jissue_outcome o;

	assert_int_equal(cs_journal_issuance_get(j, id, &i), CS_OK);
	o = i.outcome;
	cs_jissuance_clear(&i);
	return o;
}

static void a_retired_card_leaves_nobody_waiting(void **state)
{
	struct jt *t = *state;
	int64_t c1 = jt_card(t->j, "C1"), c2 = jt_card(t->j, "C2"), i1, i2, n;
	cs_jrecord a, b, next, got;
	cs_jprogress p;
	cs_jcard card;
	char why[256];

	assert_int_equal(cs_journal_owner_start(t->j, "R1", why, sizeof(why)),
	    CS_OK);
	/* The first holder's write failed halfway: the record waits for C1. */
	i1 = start(t->j, t->run, "R1", c1, &a);
	assert_int_equal(cs_journal_issuance_end(t->j, i1, CS_JISSUE_FAILED,
	    "6581", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_record_release_pending(t->j, a.id, c1,
	    "half written", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_run_progress(t->j, t->run, &p), CS_OK);
	assert_int_equal(p.waiting, 1);
	/* C2 is being written for the second holder when it fails for good. */
	i2 = start(t->j, t->run, "R1", c2, &b);
	assert_int_equal(b.seq, 2);

	/* C1 fails for good: its holder is free for any card at once. */
	if (cs_journal_card_retire(t->j, c1, "PUK blocked", &n, why,
	    sizeof(why)) != CS_OK)
		fail_msg("retire: %s", why);
	assert_int_equal(n, 1);
	assert_int_equal(cs_journal_run_progress(t->j, t->run, &p), CS_OK);
	assert_int_equal(p.waiting, 0);
	assert_int_equal(cs_journal_record_get(t->j, a.id, &got), CS_OK);
	assert_int_equal(got.state, CS_JREC_QUEUED);
	assert_int_equal(got.pending_card_id, 0);
	assert_non_null(strstr(got.reason, "retired: PUK blocked"));
	cs_jrecord_clear(&got);
	assert_int_equal(cs_journal_card_get(t->j, c1, &card), CS_OK);
	assert_int_equal(card.state, CS_JCARD_RETIRED);
	cs_jcard_clear(&card);
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R1", NULL,
	    &next, why, sizeof(why)), CS_OK);
	assert_int_equal(next.id, a.id);
	assert_int_equal(cs_journal_record_release(t->j, next.id, "test", why,
	    sizeof(why)), CS_OK);
	cs_jrecord_clear(&next);

	/* C2 too, in the caller's transaction with the release of its claim:
	 * the write in progress is over. */
	assert_int_equal(cs_journal_begin(t->j, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_record_release(t->j, b.id, "applet gone",
	    why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_card_retire(t->j, c2, "applet gone", &n,
	    why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_commit(t->j, why, sizeof(why)), CS_OK);
	assert_int_equal(n, 0);
	assert_int_equal(outcome(t->j, i2), CS_JISSUE_FAILED);
	assert_int_equal(cs_journal_run_progress(t->j, t->run, &p), CS_OK);
	assert_int_equal(p.queued, 3);
	assert_int_equal(cs_journal_trust(t->j, why, sizeof(why)), CS_OK);
	cs_jrecord_clear(&a);
	cs_jrecord_clear(&b);
}

/* "2026-12-01 09:00:00Z", days from now: how cs_p12 writes not_after. */
static void in_days(char *out, size_t len, long days)
{
	time_t t = time(NULL) + days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* A second run (a renewal download): the first person again under a new
 * serial, expiring in 400 days, and someone else, expiring in 5. */
static int64_t renewal_run(struct jt *t)
{
	cs_jrun run = {0};
	cs_jrecord rec;
	char why[256], later[32], soon[32];
	int64_t id;

	run.mode = CS_JMODE_QUEUE;
	assert_int_equal(cs_journal_run_create(t->j, &run, &id, why,
	    sizeof(why)), CS_OK);
	in_days(later, sizeof(later), 400);
	in_days(soon, sizeof(soon), 5);
	memset(&rec, 0, sizeof(rec));
	rec.run_id = id;
	rec.serial = (char *)"2000";
	rec.mail = (char *)"P0@example.ac.jp"; /* case does not matter */
	rec.holder = (char *)"PERSON 0";
	rec.not_after = later;
	assert_int_equal(cs_journal_record_add(t->j, &rec, NULL, why,
	    sizeof(why)), CS_OK);
	rec.serial = (char *)"2001";
	rec.mail = (char *)"other@example.ac.jp";
	rec.holder = (char *)"OTHER";
	rec.not_after = soon;
	assert_int_equal(cs_journal_record_add(t->j, &rec, NULL, why,
	    sizeof(why)), CS_OK);
	return id;
}

struct seen {
	int n;
	char serials[8][32];
};

static int see(void *ctx, const cs_jissuance_view *v)
{
	struct seen *s = ctx;

	assert_non_null(v->not_after);
	if (s->n < 8)
		snprintf(s->serials[s->n++], sizeof(s->serials[0]), "%s",
		    v->iss.cert_serial);
	return 0;
}

static void a_reissue_supersedes_the_same_holder_only(void **state)
{
	struct jt *t = *state;
	int64_t c1 = jt_card(t->j, "C1"), c2 = jt_card(t->j, "C2");
	int64_t i1, i2, i3, i4, run2;
	cs_jrecord r;
	cs_jfilter f = {0};
	struct seen s = {0};
	char why[256];

	assert_int_equal(cs_journal_owner_start(t->j, "R1", why, sizeof(why)),
	    CS_OK);
	i1 = issue(t->j, t->run, c1, &r);          /* PERSON 0 on C1 */
	cs_jrecord_clear(&r);
	i2 = issue(t->j, t->run, c2, &r);          /* PERSON 1 on C2 */
	cs_jrecord_clear(&r);
	run2 = renewal_run(t);
	i3 = issue(t->j, run2, c1, &r);            /* PERSON 0 renewed on C1 */
	cs_jrecord_clear(&r);
	assert_int_equal(cs_journal_card_replaced(t->j, c1, i3, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(outcome(t->j, i1), CS_JISSUE_SUPERSEDED);
	assert_int_equal(outcome(t->j, i3), CS_JISSUE_VERIFIED);
	i4 = issue(t->j, run2, c2, &r);            /* OTHER onto PERSON 1's */
	cs_jrecord_clear(&r);
	assert_int_equal(cs_journal_card_replaced(t->j, c2, i4, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(outcome(t->j, i2), CS_JISSUE_WIPED);
	/* A superseded certificate ends there. */
	assert_int_equal(cs_journal_issuance_end(t->j, i1, CS_JISSUE_VERIFIED,
	    NULL, why, sizeof(why)), CS_ERR_STATE);

	/* Within 10 days: OTHER's only; within 1000: both live, soonest
	 * first; never the superseded or wiped ones (their records have no
	 * not_after here, and they are not live). */
	f.expiring = true;
	f.expiring_days = 10;
	assert_int_equal(cs_journal_issuances(t->j, &f, see, &s), CS_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serials[0], "2001");
	memset(&s, 0, sizeof(s));
	f.expiring_days = 1000;
	assert_int_equal(cs_journal_issuances(t->j, &f, see, &s), CS_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.serials[0], "2001");
	assert_string_equal(s.serials[1], "2000");
	/* Nothing expires within 0 days. */
	memset(&s, 0, sizeof(s));
	f.expiring_days = 0;
	assert_int_equal(cs_journal_issuances(t->j, &f, see, &s), CS_OK);
	assert_int_equal(s.n, 0);
	assert_int_equal(cs_journal_trust(t->j, why, sizeof(why)), CS_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    a_retired_card_leaves_nobody_waiting, setup3, teardown),
		cmocka_unit_test_setup_teardown(
		    a_reissue_supersedes_the_same_holder_only, setup3, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
