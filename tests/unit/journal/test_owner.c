/* test_owner.c - claims have owners: a second station on the same run
 * resumes only what a dead station left, never a live one's claim; a
 * reader is one station's at a time; a claim taken back cannot be
 * finished by its old holder. Child processes stand for other stations;
 * pipes, not sleeps, say when each is where the story needs it. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "cs_owner.h"
#include "jt.h"

/* A station in a child process: opens its own connection, registers at
 * reader, claims the next record (and starts writing it on a card when
 * write is set), tells the parent the record id, then waits for a line on
 * go (EOF: exit). It never says goodbye: it dies as a killed one would. */
struct station {
	pid_t pid;
	int ready, go;   /* parent's ends */
};

static void station_start(struct station *s, const char *path, int64_t run,
    const char *reader, int writes)
{
	int up[2], down[2];

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	if ((s->pid = fork()) == 0) {
		cs_journal *j;
		cs_jrecord rec;
		int64_t id = 0;
		char why[256], c;

		close(up[0]);
		close(down[1]);
		if (cs_journal_open(&j, path, 0, why, sizeof(why)) == CS_OK &&
		    cs_journal_owner_start(j, reader, why, sizeof(why)) == CS_OK &&
		    cs_journal_record_claim_next(j, run, reader, NULL, &rec, why,
		    sizeof(why)) == CS_OK) {
			id = rec.id;
			if (writes) {
				cs_jissuance iss = {0};
				int64_t iid;

				iss.record_id = rec.id;
				iss.card_id = jt_card(j, "CHILDCARD");
				iss.cert_serial = rec.serial;
				if (cs_journal_issuance_begin(j, &iss, &iid, why,
				    sizeof(why)) != CS_OK)
					id = 0;
			}
			cs_jrecord_clear(&rec);
		}
		if (write(up[1], &id, sizeof(id)) != sizeof(id))
			_exit(3);
		while (read(down[0], &c, 1) == 1)
			;
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	s->ready = up[0];
	s->go = down[1];
}

static int64_t station_claimed(struct station *s)
{
	int64_t id = 0;

	assert_int_equal(read(s->ready, &id, sizeof(id)), (ssize_t)sizeof(id));
	return id;
}

/* The child ends; waitpid makes sure it is gone before the test goes on. */
static void station_end(struct station *s)
{
	close(s->go);
	close(s->ready);
	assert_int_equal(waitpid(s->pid, NULL, 0), s->pid);
}

static int setup(void **state)
{
	return jt_new(state, 4);
}

static int teardown(void **state)
{
	return jt_free(state);
}

static cs_jrec_state state_of(cs_journal *j, int64_t id)
{
	cs_jrecord r;
	cs_jrec_state s;

	assert_int_equal(cs_journal_record_get(j, id, &r), CS_OK);
	s = r.state;
	cs_jrecord_clear(&r);
	return s;
}

static void resume_leaves_a_live_station_alone(void **state)
{
	struct jt *t = *state;
	struct station other;
	cs_jresume res;
	char why[256];
	int64_t id;

	station_start(&other, t->path, t->run, "Other reader", 1);
	id = station_claimed(&other);
	assert_true(id > 0);
	/* A second encode on the same run starts: the other's write is its
	 * own, not an interrupted one. */
	assert_int_equal(cs_journal_resume(t->j, t->run, &res, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(res.held, 1);
	assert_int_equal(res.interrupted, 0);
	assert_int_equal(res.released, 0);
	assert_int_equal(state_of(t->j, id), CS_JREC_CLAIMED);
	/* The other station dies mid-write: now it is taken back, tied to
	 * its card. */
	station_end(&other);
	assert_int_equal(cs_journal_resume(t->j, t->run, &res, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(res.held, 0);
	assert_int_equal(res.interrupted, 1);
	assert_int_equal(res.released, 1);
	assert_int_equal(state_of(t->j, id), CS_JREC_QUEUED);
}

static void a_claim_without_a_write_of_a_dead_station_goes_back(void **state)
{
	struct jt *t = *state;
	struct station other;
	cs_jresume res;
	cs_jrecord rec;
	char why[256];
	int64_t id;

	station_start(&other, t->path, t->run, "Other reader", 0);
	id = station_claimed(&other);
	station_end(&other);
	assert_int_equal(cs_journal_resume(t->j, t->run, &res, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(res.released, 1);
	assert_int_equal(res.interrupted, 0);
	/* First in line again: this station takes it. */
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R0", NULL,
	    &rec, why, sizeof(why)), CS_OK);
	assert_int_equal(rec.id, id);
	cs_jrecord_clear(&rec);
}

static void a_live_station_keeps_its_reader(void **state)
{
	struct jt *t = *state;
	struct station other;
	cs_journal *j2;
	char why[256];

	station_start(&other, t->path, t->run, "Shared reader", 0);
	(void)station_claimed(&other);
	assert_int_equal(cs_journal_open(&j2, t->path, 0, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_owner_start(j2, "Shared reader", why,
	    sizeof(why)), CS_ERR_STATE);
	assert_non_null(strstr(why, "Shared reader"));
	assert_non_null(strstr(why, "in use"));
	/* Another reader is free. */
	assert_int_equal(cs_journal_owner_start(j2, "Reader 2", why,
	    sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_owner_end(j2, why, sizeof(why)), CS_OK);
	/* Gone, the other station's reader is free again. */
	station_end(&other);
	assert_int_equal(cs_journal_owner_start(j2, "Shared reader", why,
	    sizeof(why)), CS_OK);
	cs_journal_close(j2);
}

static void a_claim_taken_back_cannot_be_finished(void **state)
{
	struct jt *t = *state;
	struct station other;
	cs_journal *old;
	cs_jresume res;
	cs_jrecord rec;
	cs_jissuance iss = {0};
	int64_t iid;
	char why[256];

	/* This connection claims as a station that is then judged gone (its
	 * registration closed by another station's resume after a kill). */
	assert_int_equal(cs_journal_open(&old, t->path, 0, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_owner_start(old, "R9", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_record_claim_next(old, t->run, "R9", NULL,
	    &rec, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_owner_end(old, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_resume(t->j, t->run, &res, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(res.released, 1);
	/* Another station takes the record... */
	station_start(&other, t->path, t->run, "Other reader", 0);
	assert_int_equal(station_claimed(&other), rec.id);
	/* ...and the old holder may neither start writing nor finish it. */
	iss.record_id = rec.id;
	iss.card_id = jt_card(old, "OLDCARD");
	iss.cert_serial = rec.serial;
	assert_int_equal(cs_journal_issuance_begin(old, &iss, &iid, why,
	    sizeof(why)), CS_ERR_STATE);
	assert_int_equal(cs_journal_record_done(old, rec.id, iss.card_id, why,
	    sizeof(why)), CS_ERR_STATE);
	assert_non_null(strstr(why, "no longer claimed"));
	assert_int_equal(state_of(t->j, rec.id), CS_JREC_CLAIMED);
	station_end(&other);
	cs_jrecord_clear(&rec);
	cs_journal_close(old);
}

static void a_record_set_aside_lets_the_queue_move(void **state)
{
	struct jt *t = *state;
	cs_jrecord a, b;
	char why[256];

	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R0", NULL,
	    &a, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_record_set_aside(t->j, a.id, "expired",
	    "expired on 2026-01-01", why, sizeof(why)), CS_OK);
	assert_int_equal(state_of(t->j, a.id), CS_JREC_REFUSED);
	assert_int_equal(cs_journal_record_claim_next(t->j, t->run, "R0", NULL,
	    &b, why, sizeof(why)), CS_OK);
	assert_true(b.id != a.id);
	cs_jrecord_clear(&a);
	cs_jrecord_clear(&b);
}

static void owner_life_by_proc(void **state)
{
	cs_owner self, o;
	pid_t pid;

	(void)state;
	assert_int_equal(cs_owner_self(&self), CS_OK);
	/* The start time is /proc's field 22 (this program's name has no
	 * space, so a plain scan finds it), and it does not move. */
	{
		FILE *f = fopen("/proc/self/stat", "r");
		long long procpid = 0, start = -1;

		assert_non_null(f);
		assert_int_equal(fscanf(f, "%lld %*s %*c %*d %*d %*d %*d %*d %*u "
		    "%*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %lld", &procpid,
		    &start), 2);
		fclose(f);
		assert_int_equal(self.pid, procpid);
		assert_int_equal(self.start, start);
	}
	assert_int_equal(cs_owner_life_of(&self, &self), CS_OWNER_ALIVE);
	/* A dead process whose pid a later one could re-use: its start time
	 * no longer matches anything. */
	if ((pid = fork()) == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	o = self;
	o.pid = pid;
	assert_int_equal(cs_owner_life_of(&self, &o), CS_OWNER_GONE);
	o = self;
	o.start = self.start + 1; /* same pid, another process */
	assert_int_equal(cs_owner_life_of(&self, &o), CS_OWNER_GONE);
	o = self;
	snprintf(o.boot_id, sizeof(o.boot_id), "another boot");
	assert_int_equal(cs_owner_life_of(&self, &o), CS_OWNER_GONE);
	/* Elsewhere nothing local can tell: never a guess that frees it. */
	o = self;
	snprintf(o.host, sizeof(o.host), "another-host");
	assert_int_equal(cs_owner_life_of(&self, &o), CS_OWNER_UNKNOWN);
	o = self;
	snprintf(o.procfs, sizeof(o.procfs), "pid:[1]");
	assert_int_equal(cs_owner_life_of(&self, &o), CS_OWNER_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(resume_leaves_a_live_station_alone,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    a_claim_without_a_write_of_a_dead_station_goes_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(a_live_station_keeps_its_reader,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(a_claim_taken_back_cannot_be_finished,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    a_record_set_aside_lets_the_queue_move, setup, teardown),
		cmocka_unit_test(owner_life_by_proc),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
