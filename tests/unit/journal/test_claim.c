/* test_claim.c - several reader workers, each with its own connection,
 * take records from one queue at once: every record is taken exactly
 * once, and the event chain they write together still verifies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "jt.h"

#define PEOPLE 120
#define WORKERS 4

struct worker {
	const char *path;
	int64_t run;
	char reader[16];
	pthread_barrier_t *start;
	int64_t got[PEOPLE];
	int n;
	int err;
	char why[256];
};

/* Rounds: in each, every worker passes the barrier and claims at the same
 * moment, so the claims really race (left alone, the first worker to get
 * the write lock would drain the queue while the others back off). */
static void *work(void *arg)
{
	struct worker *w = arg;
	cs_journal *j = NULL;
	cs_jrecord r;
	int rc;

	w->err = cs_journal_open(&j, w->path, 0, w->why, sizeof(w->why));
	if (w->err == CS_OK)
		cs_journal_set_actor(j, "op", w->reader);
	for (int round = 0; round <= PEOPLE / WORKERS; round++) {
		pthread_barrier_wait(w->start);
		if (w->err != CS_OK)
			continue;
		rc = cs_journal_record_claim_next(j, w->run, w->reader, NULL, &r, w->why,
		    sizeof(w->why));
		if (rc == CS_OK) {
			if (w->n < PEOPLE)
				w->got[w->n] = r.id;
			w->n++;
			cs_jrecord_clear(&r);
		} else if (rc != CS_ERR_NOTFOUND || round < PEOPLE / WORKERS)
			w->err = rc; /* only the last round finds the queue empty */
	}
	cs_journal_close(j);
	return NULL;
}

static void every_record_is_claimed_exactly_once(void **state)
{
	struct jt t;
	struct worker w[WORKERS];
	pthread_t th[WORKERS];
	pthread_barrier_t start;
	int seen[PEOPLE + 1];
	int total = 0;
	cs_jprogress p;
	cs_jcheck res;
	char why[256];

	assert_int_equal(jt_setup(&t, PEOPLE), 0);
	memset(seen, 0, sizeof(seen));
	pthread_barrier_init(&start, NULL, WORKERS);
	for (int i = 0; i < WORKERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].path = t.path;
		w[i].run = t.run;
		w[i].start = &start;
		snprintf(w[i].reader, sizeof(w[i].reader), "R%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < WORKERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < WORKERS; i++) {
		if (w[i].err != CS_OK)
			fail_msg("worker %d: %s (%s)", i, cs_strerror(w[i].err),
			    w[i].why);
		total += w[i].n;
		/* One record per round each: every worker raced every time. */
		assert_int_equal(w[i].n, PEOPLE / WORKERS);
		for (int k = 0; k < w[i].n && k < PEOPLE; k++) {
			int64_t id = w[i].got[k];
			cs_jrecord r;

			assert_true(id >= 1 && id <= PEOPLE);
			seen[id]++;
			/* The row says who has it: the worker that got it. */
			assert_int_equal(cs_journal_record_get(t.j, id, &r), CS_OK);
			assert_int_equal(r.state, CS_JREC_CLAIMED);
			assert_string_equal(r.claimed_by, w[i].reader);
			cs_jrecord_clear(&r);
		}
	}
	assert_int_equal(total, PEOPLE);
	for (int id = 1; id <= PEOPLE; id++)
		if (seen[id] != 1)
			fail_msg("record %d claimed %d times", id, seen[id]);
	assert_int_equal(cs_journal_run_progress(t.j, t.run, &p), CS_OK);
	assert_int_equal(p.claimed, PEOPLE);
	assert_int_equal(p.queued, 0);
	/* Four connections appended to one chain: it still links. */
	assert_int_equal(cs_journal_check(t.j, NULL, NULL, &res, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(res.findings, 0);
	assert_int_equal(res.events, 1 + PEOPLE + PEOPLE);
	jt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_record_is_claimed_exactly_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
