/* test_journal.c - the journal's rules, as the encode engine relies on
 * them: private files, the queue, pairing-list claims, one certificate on
 * at most one live card, resume after a crash, transactions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <sys/stat.h>

#include "jt.h"

static int setup10(void **state)
{
	return jt_new(state, 10);
}

static int teardown(void **state)
{
	return jt_free(state);
}

static void files_are_private_and_versioned(void **state)
{
	struct jt *t = *state;
	char dir[300], why[256];
	struct stat st;
	cs_journal *ro;
	cs_jcard c;

	snprintf(dir, sizeof(dir), "%s/var", t->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(cs_journal_version(t->j) >= 1);

	/* A second connection reads what the first wrote, and cannot write
	 * when opened read-only. */
	assert_int_equal(cs_journal_open(&ro, t->path, CS_JOURNAL_RDONLY, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_version(ro), cs_journal_version(t->j));
	memset(&c, 0, sizeof(c));
	c.chip_serial = (char *)"AA";
	assert_int_equal(cs_journal_card_upsert(ro, &c, NULL, why, sizeof(why)),
	    CS_ERR_STATE);
	cs_journal_close(ro);

	snprintf(dir, sizeof(dir), "%s/none.db", t->dir);
	assert_int_equal(cs_journal_open(&ro, dir, CS_JOURNAL_RDONLY, why,
	    sizeof(why)), CS_ERR_NOTFOUND);
	assert_non_null(strstr(why, "no journal at"));
}

static void queue_claims_in_order_and_release_returns(void **state)
{
	struct jt *t = *state;
	cs_jrecord a, b, c;
	cs_jprogress p;
	char why[256];

	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R1", NULL, &a, why,
	    sizeof(why)), CS_OK);
	assert_string_equal(a.serial, "1000");
	assert_int_equal(a.state, CS_JREC_CLAIMED);
	assert_string_equal(a.claimed_by, "R1");
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R2", NULL, &b, why,
	    sizeof(why)), CS_OK);
	assert_string_equal(b.serial, "1001");
	assert_int_equal(cs_journal_run_progress(t->j, t->run, &p), CS_OK);
	assert_int_equal(p.total, 10);
	assert_int_equal(p.claimed, 2);
	assert_int_equal(p.queued, 8);

	assert_int_equal(cs_journal_record_release(t->j, a.id, "card pulled", why,
	    sizeof(why)), CS_OK);
	/* Releasing twice is a state error that says the state. */
	assert_int_equal(cs_journal_record_release(t->j, a.id, "x", why,
	    sizeof(why)), CS_ERR_STATE);
	assert_non_null(strstr(why, "queued"));
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R3", NULL, &c, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(c.id, a.id); /* lowest seq first again */
	assert_string_equal(c.reason, "card pulled");
	assert_string_equal(c.claimed_by, "R3");

	assert_int_equal(cs_journal_record_done(t->j, c.id, jt_card(t->j, "01"),
	    why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_run_progress(t->j, t->run, &p), CS_OK);
	assert_int_equal(p.done, 1);
	assert_int_equal(p.claimed, 1);
	cs_jrecord_clear(&a);
	cs_jrecord_clear(&b);
	cs_jrecord_clear(&c);
}

static void pairing_claims_by_mail_staff_no_and_serial(void **state)
{
	struct jt *t = *state;
	cs_jrecord r, r2;
	char why[256];

	assert_int_equal(cs_journal_record_claim(t->j, t->run, CS_JKEY_MAIL,
	    "P7@EXAMPLE.AC.JP", "R1", &r, why, sizeof(why)), CS_OK);
	assert_string_equal(r.serial, "1007");
	/* The same person again: already claimed, and by whom. */
	assert_int_equal(cs_journal_record_claim(t->j, t->run, CS_JKEY_MAIL,
	    "p7@example.ac.jp", "R2", &r2, why, sizeof(why)), CS_ERR_STATE);
	assert_non_null(strstr(why, "reader R1"));
	cs_jrecord_clear(&r);

	assert_int_equal(cs_journal_record_claim(t->j, t->run, CS_JKEY_STAFF_NO,
	    "s3", "R1", &r, why, sizeof(why)), CS_OK);
	assert_string_equal(r.mail, "p3@example.ac.jp");
	cs_jrecord_clear(&r);
	assert_int_equal(cs_journal_record_claim(t->j, t->run, CS_JKEY_SERIAL,
	    "0001005", "R1", &r, why, sizeof(why)), CS_OK);
	assert_string_equal(r.serial, "1005");
	cs_jrecord_clear(&r);
	assert_int_equal(cs_journal_record_claim(t->j, t->run, CS_JKEY_STAFF_NO,
	    "nobody", "R1", &r, why, sizeof(why)), CS_ERR_NOTFOUND);
	assert_int_equal(cs_journal_record_claim(t->j, t->run, CS_JKEY_CHIP,
	    "01", "R1", &r, why, sizeof(why)), CS_ERR_USAGE);
}

static void refused_records_are_kept_and_never_claimed(void **state)
{
	struct jt *t = *state;
	cs_jrecord in, r;
	int64_t id, id2;
	char why[256];
	cs_jprogress p;

	memset(&in, 0, sizeof(in));
	in.run_id = t->run;
	in.serial = (char *)"1003"; /* a duplicate of a live record */
	in.holder = (char *)"DUP";
	assert_int_equal(cs_journal_record_add(t->j, &in, &id, why, sizeof(why)),
	    CS_ERR_MISMATCH);
	in.problem = (char *)"duplicate-serial";
	in.reason = (char *)"serial 1003 appears twice in client.txt";
	assert_int_equal(cs_journal_record_add(t->j, &in, &id, why, sizeof(why)),
	    CS_OK);
	in.serial = (char *)"99999999999999999999999999999999999999"; /* 127 bits */
	in.problem = (char *)"wrong-pin";
	assert_int_equal(cs_journal_record_add(t->j, &in, &id2, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(cs_journal_record_get(t->j, id2, &r), CS_OK);
	assert_string_equal(r.serial, "99999999999999999999999999999999999999");
	assert_int_equal(r.state, CS_JREC_REFUSED);
	assert_string_equal(r.problem, "wrong-pin");
	cs_jrecord_clear(&r);
	assert_int_equal(cs_journal_record_claim(t->j, t->run, CS_JKEY_SERIAL,
	    "99999999999999999999999999999999999999", "R1", &r, why, sizeof(why)),
	    CS_ERR_STATE);
	assert_non_null(strstr(why, "refused"));
	assert_int_equal(cs_journal_run_progress(t->j, t->run, &p), CS_OK);
	assert_int_equal(p.refused, 2);
	assert_int_equal(p.total, 12);
	/* Not a decimal serial: the schema refuses it. */
	in.serial = (char *)"12ab";
	assert_int_equal(cs_journal_record_add(t->j, &in, &id, why, sizeof(why)),
	    CS_ERR_USAGE);
}

static void a_closed_run_gives_nothing(void **state)
{
	struct jt *t = *state;
	cs_jrecord r;
	char why[256];

	assert_int_equal(cs_journal_run_set_state(t->j, t->run, CS_JRUN_CANCELLED,
	    why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R1", NULL, &r, why,
	    sizeof(why)), CS_ERR_STATE);
	assert_non_null(strstr(why, "cancelled"));
	assert_int_equal(cs_journal_record_claim_next(t->j, 4242, "R1", NULL, &r, why,
	    sizeof(why)), CS_ERR_NOTFOUND);
}

static int64_t begin(struct jt *t, int64_t rec, int64_t card,
    const char *serial, int want, char *why, size_t whylen)
{
	cs_jissuance in;
	int64_t id = -1;

	memset(&in, 0, sizeof(in));
	in.record_id = rec;
	in.card_id = card;
	in.cert_serial = (char *)serial;
	assert_int_equal(cs_journal_issuance_begin(t->j, &in, &id, why, whylen),
	    want);
	return id;
}

static void a_certificate_is_live_on_one_card_only(void **state)
{
	struct jt *t = *state;
	int64_t c1 = jt_card(t->j, "C1"), c2 = jt_card(t->j, "C2");
	int64_t c3 = jt_card(t->j, "C3"), i1, i2, i3, iss;
	cs_jrecord r;
	cs_jcard card;
	char why[512];
	sqlite3 *raw;
	char *err = NULL;
	int rc;

	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R1", NULL, &r, why,
	    sizeof(why)), CS_OK);
	/* Writing needs a claimed record. */
	begin(t, r.id + 1, c1, "1001", CS_ERR_STATE, why, sizeof(why));
	i1 = begin(t, r.id, c1, r.serial, CS_OK, why, sizeof(why));
	assert_true(i1 > 0);
	begin(t, r.id, c2, r.serial, CS_ERR_MISMATCH, why, sizeof(why));
	assert_non_null(strstr(why, "chip C1"));
	assert_int_equal(cs_journal_cert_live_card(t->j, "01000", &card, &iss),
	    CS_OK);
	assert_int_equal(card.id, c1);
	assert_int_equal(iss, i1);
	cs_jcard_clear(&card);

	/* A failed write frees the certificate for another card. */
	assert_int_equal(cs_journal_issuance_end(t->j, i1, CS_JISSUE_FAILED,
	    "6581", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_issuance_end(t->j, i1, CS_JISSUE_VERIFIED,
	    NULL, why, sizeof(why)), CS_ERR_STATE);
	assert_int_equal(cs_journal_cert_live_card(t->j, "1000", &card, NULL),
	    CS_ERR_NOTFOUND);
	i2 = begin(t, r.id, c2, r.serial, CS_OK, why, sizeof(why));
	assert_int_equal(cs_journal_issuance_end(t->j, i2, CS_JISSUE_VERIFIED,
	    NULL, why, sizeof(why)), CS_OK);
	begin(t, r.id, c3, r.serial, CS_ERR_MISMATCH, why, sizeof(why));
	assert_non_null(strstr(why, "chip C2"));

	/* The database itself refuses, whoever writes to it. */
	assert_int_equal(sqlite3_open(t->path, &raw), SQLITE_OK);
	rc = sqlite3_exec(raw, "INSERT INTO issuances (record_id, card_id, "
	    "cert_serial, started, outcome) VALUES (1, 3, '1000', 'now', "
	    "'verified')", NULL, NULL, &err);
	assert_int_equal(rc, SQLITE_CONSTRAINT);
	sqlite3_free(err);
	sqlite3_close(raw);

	/* Revoked (lost card): no longer live. */
	assert_int_equal(cs_journal_issuance_end(t->j, i2, CS_JISSUE_REVOKED,
	    "card lost", why, sizeof(why)), CS_OK);
	i3 = begin(t, r.id, c3, r.serial, CS_OK, why, sizeof(why));
	assert_true(i3 > i2);
	cs_jrecord_clear(&r);
}

static void resume_puts_everything_back(void **state)
{
	struct jt *t = *state;
	int64_t c1 = jt_card(t->j, "C1"), c2 = jt_card(t->j, "C2"), ia, ic;
	cs_jrecord a, b, c;
	cs_jissuance iss;
	cs_jcard card;
	cs_jresume res;
	cs_jprogress p;
	char why[256];

	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R1", NULL, &a, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R2", NULL, &b, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R3", NULL, &c, why,
	    sizeof(why)), CS_OK);
	ia = begin(t, a.id, c1, a.serial, CS_OK, why, sizeof(why));
	ic = begin(t, c.id, c2, c.serial, CS_OK, why, sizeof(why));
	assert_int_equal(cs_journal_begin(t->j, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_issuance_end(t->j, ic, CS_JISSUE_VERIFIED,
	    NULL, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_record_done(t->j, c.id, c2, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_card_set_state(t->j, c2, CS_JCARD_ISSUED, NULL,
	    why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_commit(t->j, why, sizeof(why)), CS_OK);
	cs_jrecord_clear(&a);
	cs_jrecord_clear(&b);
	cs_jrecord_clear(&c);

	/* kill -9 here: a writing on c1, b claimed, c done. */
	assert_int_equal(cs_journal_resume(t->j, t->run, &res, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(res.interrupted, 1);
	assert_int_equal(res.released, 2);
	assert_int_equal(cs_journal_issuance_get(t->j, ia, &iss), CS_OK);
	assert_int_equal(iss.outcome, CS_JISSUE_INTERRUPTED);
	assert_non_null(iss.finished);
	cs_jissuance_clear(&iss);
	assert_int_equal(cs_journal_card_get(t->j, c1, &card), CS_OK);
	assert_int_equal(card.state, CS_JCARD_PARTIAL);
	cs_jcard_clear(&card);
	assert_int_equal(cs_journal_record_find(t->j, t->run, CS_JKEY_SERIAL,
	    "1000", &a), CS_OK);
	assert_int_equal(a.state, CS_JREC_QUEUED);
	assert_int_equal(a.pending_card_id, c1);
	assert_null(a.claimed_by);
	assert_int_equal(cs_journal_record_find(t->j, t->run, CS_JKEY_SERIAL,
	    "1001", &b), CS_OK);
	assert_int_equal(b.state, CS_JREC_QUEUED);
	assert_int_equal(b.pending_card_id, 0);
	assert_int_equal(cs_journal_record_find(t->j, t->run, CS_JKEY_SERIAL,
	    "1002", &c), CS_OK);
	assert_int_equal(c.state, CS_JREC_DONE);
	assert_int_equal(c.card_id, c2);
	assert_int_equal(cs_journal_issuance_get(t->j, ic, &iss), CS_OK);
	assert_int_equal(iss.outcome, CS_JISSUE_VERIFIED);
	cs_jissuance_clear(&iss);
	assert_int_equal(cs_journal_run_progress(t->j, t->run, &p), CS_OK);
	assert_int_equal(p.claimed, 0);
	assert_int_equal(p.done, 1);
	assert_int_equal(p.queued, 9);

	/* Nothing left to resume. The interrupted certificate waits for its
	 * own card: the queue gives the next person to any other card, and
	 * card c1, when it comes back, claims its record by serial (the
	 * engine wipes it first). */
	assert_int_equal(cs_journal_resume(t->j, t->run, &res, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(res.interrupted + res.released, 0);
	cs_jrecord_clear(&a);
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R2", NULL, &a, why,
	    sizeof(why)), CS_OK);
	assert_string_equal(a.serial, "1001");
	assert_int_equal(cs_journal_record_release(t->j, a.id, "not now", why,
	    sizeof(why)), CS_OK);
	cs_jrecord_clear(&a);
	assert_int_equal(cs_journal_record_claim(t->j, t->run, CS_JKEY_SERIAL,
	    "1000", "R1", &a, why, sizeof(why)), CS_OK);
	assert_string_equal(a.serial, "1000");
	begin(t, a.id, c1, a.serial, CS_OK, why, sizeof(why));
	assert_int_equal(cs_journal_record_done(t->j, a.id, c1, why, sizeof(why)),
	    CS_OK);
	ia = a.id;
	cs_jrecord_clear(&a);
	assert_int_equal(cs_journal_record_get(t->j, ia, &a), CS_OK);
	assert_int_equal(a.state, CS_JREC_DONE);
	assert_int_equal(a.pending_card_id, 0);
	cs_jrecord_clear(&a);
	cs_jrecord_clear(&b);
	cs_jrecord_clear(&c);
}

static void check_ok(cs_journal *j)
{
	cs_jcheck res;
	char why[256];

	assert_int_equal(cs_journal_check(j, NULL, NULL, &res, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(res.findings, 0);
}

static void transactions_commit_or_undo_together(void **state)
{
	struct jt *t = *state;
	cs_jrecord r, r2;
	cs_jprogress p;
	char why[256];
	int64_t iss;
	cs_jissuance in;

	assert_int_equal(cs_journal_begin(t->j, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_begin(t->j, why, sizeof(why)), CS_ERR_STATE);
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R1", NULL, &r, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_rollback(t->j), CS_OK);
	assert_int_equal(cs_journal_run_progress(t->j, t->run, &p), CS_OK);
	assert_int_equal(p.claimed, 0);
	check_ok(t->j);

	/* A failing call inside a transaction undoes only itself. */
	assert_int_equal(cs_journal_begin(t->j, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R1", NULL, &r2, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(r2.id, r.id);
	memset(&in, 0, sizeof(in));
	in.record_id = r2.id;
	in.card_id = 777; /* no such card */
	in.cert_serial = r2.serial;
	assert_int_equal(cs_journal_issuance_begin(t->j, &in, &iss, why,
	    sizeof(why)), CS_ERR_NOTFOUND);
	assert_int_equal(cs_journal_commit(t->j, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_run_progress(t->j, t->run, &p), CS_OK);
	assert_int_equal(p.claimed, 1);
	check_ok(t->j);
	cs_jrecord_clear(&r);
	cs_jrecord_clear(&r2);
}

struct count {
	int n;
	int64_t last;
};

static int count_fn(void *ctx, const cs_jissuance_view *v)
{
	struct count *c = ctx;

	c->n++;
	c->last = v->iss.id;
	return 0;
}

static void searches_find_people_and_cards(void **state)
{
	struct jt *t = *state;
	int64_t c1, c2;
	cs_jcard in, card;
	cs_jrecord r;
	cs_jfilter f;
	struct count n;
	char why[256];
	int64_t i1;

	memset(&in, 0, sizeof(in));
	in.chip_serial = (char *)"ABCDEF01";
	in.printed_no = (char *)"P-1";
	assert_int_equal(cs_journal_card_upsert(t->j, &in, &c1, why, sizeof(why)),
	    CS_OK);
	/* Seen again, lower-case hex, now with a PKCS#15 serial: same card. */
	in.chip_serial = (char *)"abcdef01";
	in.printed_no = NULL;
	in.pkcs15_serial = (char *)"77";
	assert_int_equal(cs_journal_card_upsert(t->j, &in, &c2, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(c1, c2);
	assert_int_equal(cs_journal_card_find(t->j, CS_JKEY_PRINTED, "P-1", &card),
	    CS_OK);
	assert_string_equal(card.pkcs15_serial, "77");
	assert_string_equal(card.printed_no, "P-1");
	cs_jcard_clear(&card);

	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R1", NULL, &r, why,
	    sizeof(why)), CS_OK);
	i1 = begin(t, r.id, c1, r.serial, CS_OK, why, sizeof(why));
	cs_jrecord_clear(&r);

	memset(&f, 0, sizeof(f));
	f.holder = "person 0";
	memset(&n, 0, sizeof(n));
	assert_int_equal(cs_journal_issuances(t->j, &f, count_fn, &n), CS_OK);
	assert_int_equal(n.n, 1);
	assert_int_equal(n.last, i1);
	memset(&f, 0, sizeof(f));
	f.chip_serial = "AbCdEf01";
	memset(&n, 0, sizeof(n));
	assert_int_equal(cs_journal_issuances(t->j, &f, count_fn, &n), CS_OK);
	assert_int_equal(n.n, 1);
	memset(&f, 0, sizeof(f));
	f.printed_no = "P-2";
	memset(&n, 0, sizeof(n));
	assert_int_equal(cs_journal_issuances(t->j, &f, count_fn, &n), CS_OK);
	assert_int_equal(n.n, 0);
	memset(&f, 0, sizeof(f));
	f.card_id = c1;
	f.mail = "P0@example.ac.jp";
	f.cert_serial = "1000";
	f.live_only = true;
	memset(&n, 0, sizeof(n));
	assert_int_equal(cs_journal_issuances(t->j, &f, count_fn, &n), CS_OK);
	assert_int_equal(n.n, 1);
}

struct seen_notes {
	int n;
	char holder[64], method[64], pin[8], chip[32];
	int plain;
};

static int see_note(void *ctx, const cs_jnote_view *v)
{
	struct seen_notes *s = ctx;

	s->n++;
	if (v->field[0] == NULL) {
		s->plain++;
		return 0;
	}
	snprintf(s->holder, sizeof(s->holder), "%s", v->field[0]);
	snprintf(s->method, sizeof(s->method), "%s", v->field[1] ? v->field[1] :
	    "-");
	snprintf(s->pin, sizeof(s->pin), "%s", v->field[2] ? v->field[2] : "-");
	snprintf(s->chip, sizeof(s->chip), "%s", v->chip_serial ?
	    v->chip_serial : "-");
	return 0;
}

/* Notes of a kind are read back with the members of their JSON text and
 * the card they name; a note that is not JSON gives no members. */
static void notes_are_read_back_by_kind(void **state)
{
	struct jt *t = *state;
	static const char *const fields[] = {"holder", "method", "pin_checked"};
	struct seen_notes s = {0};
	cs_jfilter f = {0};
	int64_t card = jt_card(t->j, "4790-5040-000000AA");
	char why[256];

	assert_int_equal(cs_journal_note(t->j, t->run, card, "card.handover-"
	    "identity", "{\"holder\":\"髙﨑 花子\",\"method\":\"staff-id\","
	    "\"pin_checked\":true}", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_note(t->j, t->run, card, "card.handover-"
	    "identity", "not json", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_note(t->j, t->run, card, "card.other",
	    "{\"holder\":\"X\"}", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_notes(t->j, "card.handover-identity", &f,
	    fields, 3, see_note, &s), CS_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.plain, 1);
	assert_string_equal(s.holder, "髙﨑 花子");
	assert_string_equal(s.method, "staff-id");
	assert_string_equal(s.pin, "1");
	assert_string_equal(s.chip, "4790-5040-000000AA");
	/* Another card's chip: none. */
	memset(&s, 0, sizeof(s));
	f.chip_serial = "4790-5040-000000BB";
	assert_int_equal(cs_journal_notes(t->j, "card.handover-identity", &f,
	    fields, 3, see_note, &s), CS_OK);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(files_are_private_and_versioned,
		    setup10, teardown),
		cmocka_unit_test_setup_teardown(
		    queue_claims_in_order_and_release_returns, setup10, teardown),
		cmocka_unit_test_setup_teardown(
		    pairing_claims_by_mail_staff_no_and_serial, setup10, teardown),
		cmocka_unit_test_setup_teardown(
		    refused_records_are_kept_and_never_claimed, setup10, teardown),
		cmocka_unit_test_setup_teardown(a_closed_run_gives_nothing,
		    setup10, teardown),
		cmocka_unit_test_setup_teardown(
		    a_certificate_is_live_on_one_card_only, setup10, teardown),
		cmocka_unit_test_setup_teardown(resume_puts_everything_back,
		    setup10, teardown),
		cmocka_unit_test_setup_teardown(
		    transactions_commit_or_undo_together, setup10, teardown),
		cmocka_unit_test_setup_teardown(searches_find_people_and_cards,
		    setup10, teardown),
		cmocka_unit_test_setup_teardown(notes_are_read_back_by_kind,
		    setup10, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
