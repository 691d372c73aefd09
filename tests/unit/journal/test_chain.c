/* test_chain.c - the event chain verifies after a busy day, and `log
 * check` names what was changed behind the station's back: an event's
 * detail edited, an event deleted (in the middle or the last one), a row
 * of records, cards or issuances edited, deleted or added with sqlite3. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "jt.h"

#define PEOPLE 40

struct finding {
	char table[16];
	int64_t row;
	char column[32];
	int64_t event;
};

struct findings {
	struct finding f[32];
	int n;
};

static void collect(void *ctx, const cs_jfinding *f)
{
	struct findings *fs = ctx;
	struct finding *x;

	if (fs->n >= 32)
		return;
	x = &fs->f[fs->n++];
	snprintf(x->table, sizeof(x->table), "%s", f->table);
	snprintf(x->column, sizeof(x->column), "%s", f->column ? f->column : "");
	x->row = f->row_id;
	x->event = f->event_id;
	print_message("finding: %s\n", f->what);
}

struct day {
	struct jt t;
	char good[300];   /* the untouched journal, closed */
	int64_t lost_card;
	int64_t failed_issuance;
	int64_t events;
};

/* A day of encoding: every kind of change the engine makes. */
static int busy_day(void **state)
{
	struct day *d = calloc(1, sizeof(*d));
	char why[256], chip[32];
	cs_jcheck res;
	cs_jresume rs;
	int64_t card = 0;

	if (d == NULL || jt_setup(&d->t, PEOPLE) != 0)
		return -1;
	for (int i = 0; i < PEOPLE; i++) {
		cs_jrecord r;
		cs_jissuance in;
		int64_t iss;
		int outcome = i % 4;

		if (cs_journal_record_claim_next(d->t.j, d->t.run, i % 2 ? "R1" : "R2",
		    NULL, &r, why, sizeof(why)) != CS_OK)
			return -1;
		snprintf(chip, sizeof(chip), "CHIP%04d", i);
		card = jt_card(d->t.j, chip);
		memset(&in, 0, sizeof(in));
		in.record_id = r.id;
		in.card_id = card;
		in.cert_serial = r.serial;
		if (cs_journal_issuance_begin(d->t.j, &in, &iss, why, sizeof(why)) != CS_OK)
			return -1;
		if (outcome == 3) { /* still writing when the station stops */
			cs_jrecord_clear(&r);
			continue;
		}
		cs_journal_begin(d->t.j, why, sizeof(why));
		if (outcome == 2) {
			cs_journal_issuance_end(d->t.j, iss, CS_JISSUE_FAILED,
			    "card memory error", why, sizeof(why));
			cs_journal_record_release(d->t.j, r.id, "card memory error",
			    why, sizeof(why));
			d->failed_issuance = iss;
		} else {
			cs_journal_issuance_end(d->t.j, iss, CS_JISSUE_VERIFIED, NULL,
			    why, sizeof(why));
			cs_journal_record_done(d->t.j, r.id, card, why, sizeof(why));
			cs_journal_card_set_state(d->t.j, card, CS_JCARD_ISSUED, NULL,
			    why, sizeof(why));
		}
		if (cs_journal_commit(d->t.j, why, sizeof(why)) != CS_OK)
			return -1;
		cs_jrecord_clear(&r);
	}
	if (cs_journal_resume(d->t.j, d->t.run, &rs, why, sizeof(why)) != CS_OK ||
	    rs.interrupted != PEOPLE / 4)
		return -1;
	cs_journal_note(d->t.j, d->t.run, 0, "station.stop", "end of day", why,
	    sizeof(why));
	/* The last change of the day: card 1 reported lost. */
	d->lost_card = 1;
	if (cs_journal_card_set_state(d->t.j, 1, CS_JCARD_LOST, "reported lost",
	    why, sizeof(why)) != CS_OK)
		return -1;
	if (cs_journal_check(d->t.j, NULL, NULL, &res, why, sizeof(why)) != CS_OK ||
	    res.findings != 0)
		return -1;
	d->events = res.events;
	snprintf(d->good, sizeof(d->good), "%s", d->t.path);
	cs_journal_close(d->t.j); /* checkpoints the WAL into the file */
	d->t.j = NULL;
	*state = d;
	return 0;
}

static int end_day(void **state)
{
	struct day *d = *state;

	jt_rm(d->t.dir);
	free(d);
	return 0;
}

/* Copy the good journal, run sql on the copy with plain sqlite3, check. */
static void tamper(struct day *d, const char *name, const char *sql,
    struct findings *fs, cs_jcheck *res)
{
	char path[400], cmd[900], why[256];
	sqlite3 *db;
	char *err = NULL;
	cs_journal *j;

	snprintf(path, sizeof(path), "%s/%s.db", d->t.dir, name);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", d->good, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	memset(fs, 0, sizeof(*fs));
	assert_int_equal(cs_journal_open(&j, path, CS_JOURNAL_RDONLY, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_check(j, collect, fs, res, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(res->findings, fs->n);
	cs_journal_close(j);
}

static void assert_named(const struct findings *fs, const char *table,
    int64_t row, const char *column)
{
	for (int i = 0; i < fs->n; i++)
		if (strcmp(fs->f[i].table, table) == 0 && fs->f[i].row == row &&
		    strcmp(fs->f[i].column, column) == 0)
			return;
	fail_msg("no finding for %s row %lld column '%s'", table, (long long)row,
	    column);
}

static void the_day_verifies(void **state)
{
	struct day *d = *state;
	cs_journal *j;
	cs_jcheck res;
	char why[256];

	assert_int_equal(cs_journal_open(&j, d->good, CS_JOURNAL_RDONLY, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_check(j, NULL, NULL, &res, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(res.findings, 0);
	assert_true(res.events > 6 * PEOPLE);
	assert_int_equal(res.rows, 1 + PEOPLE + PEOPLE + PEOPLE);
	assert_int_equal(strlen(res.head), 64);
	cs_journal_close(j);
}

static void an_edited_event_detail_is_named(void **state)
{
	struct findings fs;
	cs_jcheck res;

	/* Event 3 is record 2's "record.add". */
	tamper(*state, "a", "UPDATE events SET detail = replace(detail, "
	    "'PERSON 1', 'PERSON 9') WHERE id = 3", &fs, &res);
	assert_int_equal(res.findings, 1);
	assert_named(&fs, "events", 3, "");
}

static void an_edited_event_time_is_named(void **state)
{
	struct findings fs;
	cs_jcheck res;

	tamper(*state, "a2", "UPDATE events SET at = '2020-01-01T00:00:00.000Z' "
	    "WHERE id = 50", &fs, &res);
	assert_int_equal(res.findings, 1);
	assert_named(&fs, "events", 50, "");
}

static void a_deleted_event_is_named(void **state)
{
	struct findings fs;
	cs_jcheck res;

	tamper(*state, "b", "DELETE FROM events WHERE id = 20", &fs, &res);
	assert_named(&fs, "events", 20, "");
}

static void a_deleted_last_event_shows_in_its_row(void **state)
{
	struct day *d = *state;
	struct findings fs;
	cs_jcheck res;

	tamper(d, "b2", "DELETE FROM events WHERE id = (SELECT max(id) FROM "
	    "events)", &fs, &res);
	assert_int_equal(res.events, d->events - 1);
	assert_named(&fs, "cards", d->lost_card, "state");
}

static void an_edited_record_is_named(void **state)
{
	struct findings fs;
	cs_jcheck res;

	tamper(*state, "c1", "UPDATE records SET holder = 'SOMEONE ELSE' "
	    "WHERE id = 7", &fs, &res);
	assert_int_equal(res.findings, 1);
	assert_named(&fs, "records", 7, "holder");
}

static void an_edited_card_is_named(void **state)
{
	struct findings fs;
	cs_jcheck res;

	tamper(*state, "c2", "UPDATE cards SET chip_serial = 'FFFF' WHERE id = 12",
	    &fs, &res);
	assert_int_equal(res.findings, 1);
	assert_named(&fs, "cards", 12, "chip_serial");
}

static void an_edited_issuance_is_named(void **state)
{
	struct day *d = *state;
	struct findings fs;
	cs_jcheck res;
	char sql[200];

	/* A failed card made to look verified. */
	snprintf(sql, sizeof(sql), "UPDATE issuances SET outcome = 'verified' "
	    "WHERE id = %lld", (long long)d->failed_issuance);
	tamper(d, "c3", sql, &fs, &res);
	assert_int_equal(res.findings, 1);
	assert_named(&fs, "issuances", d->failed_issuance, "outcome");
}

static void a_type_change_is_named(void **state)
{
	struct findings fs;
	cs_jcheck res;

	/* Same bytes, other type (a BLOB JSON cannot hold): named, and the
	 * check does not stop on it. */
	tamper(*state, "c4", "UPDATE records SET holder = CAST(holder AS BLOB) "
	    "WHERE id = 5", &fs, &res);
	assert_int_equal(res.findings, 1);
	assert_named(&fs, "records", 5, "holder");
}

static void deleted_and_added_rows_are_named(void **state)
{
	struct findings fs;
	cs_jcheck res;

	tamper(*state, "c5", "DELETE FROM issuances WHERE id = 4", &fs, &res);
	assert_int_equal(res.findings, 1);
	assert_named(&fs, "issuances", 4, "");
	tamper(*state, "c6", "INSERT INTO cards (chip_serial, state, first_seen, "
	    "last_seen) VALUES ('EVIL', 'issued', 'x', 'x')", &fs, &res);
	assert_int_equal(res.findings, 1);
	assert_named(&fs, "cards", PEOPLE + 1, "");
	tamper(*state, "c7", "UPDATE runs SET certs_sha256 = 'ff' WHERE id = 1",
	    &fs, &res);
	assert_named(&fs, "runs", 1, "certs_sha256");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_day_verifies),
		cmocka_unit_test(an_edited_event_detail_is_named),
		cmocka_unit_test(an_edited_event_time_is_named),
		cmocka_unit_test(a_deleted_event_is_named),
		cmocka_unit_test(a_deleted_last_event_shows_in_its_row),
		cmocka_unit_test(an_edited_record_is_named),
		cmocka_unit_test(an_edited_card_is_named),
		cmocka_unit_test(an_edited_issuance_is_named),
		cmocka_unit_test(a_type_change_is_named),
		cmocka_unit_test(deleted_and_added_rows_are_named),
	};

	return cmocka_run_group_tests(tests, busy_day, end_day);
}
