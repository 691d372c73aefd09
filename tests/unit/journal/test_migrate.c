/* test_migrate.c - a journal written by an older cardstation (schema 1 or
 * 2, with runs, records, cards and issuances in every state, each row
 * with the event an old station wrote for it) migrates to this version's
 * schema, keeps every row, and passes `log check` and the trust a station
 * demands before it writes: the schema equals the one a new journal gets,
 * old snapshots without the new column read as NULL. The new states
 * (retired card, superseded issuance) and a card's id_source then work. A
 * migration that would leave a dangling reference changes nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>


#include "cs_journal_int.h"
#include "jt.h"

struct old {
	char dir[256];
	char path[300];
	int64_t issued_card, partial_card, lost_card;
	int64_t live_issuance;
};

static int64_t count(cs_journal *j, const char *sql)
{
	cs_db_stmt *st;
	int64_t n = -1;

	assert_int_equal(cs_db_prepare(j->db, sql, &st), CS_OK);
	if (cs_db_step(st) == CS_DB_ROW)
		n = cs_db_column_int(st, 0);
	cs_db_finalize(st);
	return n;
}

/* One row inserted as the old station did: its SQL, then its event. */
static void row(cs_journal *j, const char *kind, const char *table,
    const char *sql, int64_t run, int64_t rec, int64_t card)
{
	char last[64];
	int64_t id;

	assert_int_equal(cs_db_exec(j->db, sql), CS_OK);
	snprintf(last, sizeof(last), "SELECT max(id) FROM %s", table);
	id = count(j, last);
	assert_int_equal(jr_event(j, kind, table, id, run, rec, card, NULL),
	    CS_OK);
}

static void change(cs_journal *j, const char *kind, const char *table,
    int64_t id, const char *sql, int64_t run, int64_t rec, int64_t card)
{
	assert_int_equal(cs_db_exec(j->db, sql), CS_OK);
	assert_int_equal(jr_event(j, kind, table, id, run, rec, card, "old"),
	    CS_OK);
}

/* A journal of schema version: a run of four people, one on an issued
 * card, one waiting for its half-written card, one revoked with its lost
 * card, one claimed (with an owner and a key type from version 2). */
static void make_old(struct old *o, int version, int dangling)
{
	const char *tmp = getenv("TMPDIR");
	cs_journal *j;
	char why[256];

	memset(o, 0, sizeof(*o));
	snprintf(o->dir, sizeof(o->dir), "%s/jm.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(o->dir));
	snprintf(o->path, sizeof(o->path), "%s/journal.db", o->dir);
	assert_int_equal(jr_open_at(&j, o->path, version, why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_version(j), version);
	cs_journal_set_actor(j, "op", "R0");
	assert_int_equal(jr_tx_enter(j, why, sizeof(why)), CS_OK);
	row(j, "run.create", "runs", "INSERT INTO runs (created, profile, mode, "
	    "operator, state) VALUES ('2024-04-01T09:00:00.000Z', 'isoapplet', "
	    "'queue', 'op', 'open')", 1, 0, 0);
	row(j, "card.add", "cards", "INSERT INTO cards (chip_serial, printed_no, "
	    "state, first_seen, last_seen) VALUES ('4790AA', 'P-1', 'issued', "
	    "'2024-04-01T09:01:00.000Z', '2024-04-01T09:01:00.000Z')", 0, 0, 1);
	o->issued_card = 1;
	row(j, "card.add", "cards", "INSERT INTO cards (chip_serial, printed_no, "
	    "state, first_seen, last_seen) VALUES ('4790BB', 'P-2', 'partial', "
	    "'2024-04-01T09:02:00.000Z', '2024-04-01T09:02:00.000Z')", 0, 0, 2);
	o->partial_card = 2;
	row(j, "card.add", "cards", "INSERT INTO cards (chip_serial, printed_no, "
	    "state, first_seen, last_seen) VALUES ('4790CC', 'P-3', 'lost', "
	    "'2024-04-01T09:03:00.000Z', '2024-04-01T09:03:00.000Z')", 0, 0, 3);
	o->lost_card = 3;
	row(j, "record.add", "records", "INSERT INTO records (run_id, seq, serial, "
	    "holder, mail, state, card_id) VALUES (1, 1, '1000', '山田 太郎', "
	    "'p0@example.ac.jp', 'done', 1)", 1, 1, 0);
	row(j, "record.add", "records", "INSERT INTO records (run_id, seq, serial, "
	    "holder, mail, state, pending_card_id, reason) VALUES (1, 2, '1001', "
	    "'PERSON 1', 'p1@example.ac.jp', 'queued', 2, 'card removed')", 1, 2, 0);
	row(j, "record.add", "records", "INSERT INTO records (run_id, seq, serial, "
	    "holder, mail, state, card_id) VALUES (1, 3, '1002', 'PERSON 2', "
	    "'p2@example.ac.jp', 'revoked', 3)", 1, 3, 0);
	row(j, "record.add", "records", "INSERT INTO records (run_id, seq, serial, "
	    "holder, mail, state, claimed_by) VALUES (1, 4, '1003', 'PERSON 3', "
	    "'p3@example.ac.jp', 'claimed', 'R0')", 1, 4, 0);
	if (version >= 2) {
		row(j, "owner.start", "owners", "INSERT INTO owners (host, boot_id, "
		    "procfs, pid, start, reader, started) VALUES ('h', 'b', 'p', 1, "
		    "1, 'R0', '2024-04-01T09:00:00.000Z')", 0, 0, 0);
		change(j, "record.claim", "records", 4, "UPDATE records SET "
		    "owner_id = 1, key_type = 'rsa-2048' WHERE id = 4", 1, 4, 0);
	}
	row(j, "issuance.begin", "issuances", "INSERT INTO issuances (record_id, "
	    "card_id, cert_serial, holder, mail, reader, operator, started, "
	    "finished, outcome) VALUES (1, 1, '1000', '山田 太郎', "
	    "'p0@example.ac.jp', 'R0', 'op', '2024-04-01T09:01:00.000Z', "
	    "'2024-04-01T09:01:30.000Z', 'verified')", 1, 1, 1);
	o->live_issuance = 1;
	row(j, "issuance.begin", "issuances", "INSERT INTO issuances (record_id, "
	    "card_id, cert_serial, started, outcome, reason) VALUES (2, 2, '1001', "
	    "'2024-04-01T09:02:00.000Z', 'interrupted', 'station stopped')", 1, 2, 2);
	row(j, "issuance.begin", "issuances", "INSERT INTO issuances (record_id, "
	    "card_id, cert_serial, started, outcome, reason) VALUES (3, 3, '1002', "
	    "'2024-04-01T09:03:00.000Z', 'revoked', 'keyCompromise')", 1, 3, 3);
	assert_int_equal(jr_tx_leave(j, CS_OK, why, sizeof(why)), CS_OK);
	if (dangling) /* what a file edited with foreign keys off may hold */
		assert_int_equal(cs_db_exec(j->db, "PRAGMA foreign_keys = OFF;"
		    "INSERT INTO issuances (record_id, card_id, cert_serial, "
		    "started, outcome) VALUES (4, 99, '1003', "
		    "'2024-04-01T09:04:00.000Z', 'failed')"), CS_OK);
	/* The old journal is whole as its station left it. */
	if (cs_journal_check(j, NULL, NULL, &(cs_jcheck){0}, why,
	    sizeof(why)) != CS_OK)
		fail_msg("check of the old journal: %s", why);
	cs_journal_close(j);
}

static void print_finding(void *ctx, const cs_jfinding *f)
{
	(void)ctx;
	print_message("finding: %s\n", f->what);
}

static void migrates_and_stays_trusted(int version)
{
	struct old o;
	cs_journal *j, *ro;
	cs_jcard c, n;
	cs_jcheck res;
	int64_t id;
	char why[512];

	make_old(&o, version, 0);
	/* Read-only, this version refuses the old schema with a reason. */
	assert_int_equal(cs_journal_open(&ro, o.path, CS_JOURNAL_RDONLY, why,
	    sizeof(why)), CS_ERR_FORMAT);
	assert_non_null(strstr(why, "older than this cardstation"));

	assert_int_equal(cs_journal_open(&j, o.path, 0, why, sizeof(why)), CS_OK);
	assert_true(cs_journal_version(j) >= 3);
	assert_int_equal(count(j, "PRAGMA foreign_keys"), 1);
	assert_int_equal(count(j, "SELECT count(*) FROM cards"), 3);
	assert_int_equal(count(j, "SELECT count(*) FROM records"), 4);
	assert_int_equal(count(j, "SELECT count(*) FROM issuances"), 3);
	assert_int_equal(count(j, "SELECT count(*) FROM cards WHERE "
	    "id_source IS NULL"), 3);
	assert_int_equal(cs_journal_check(j, print_finding, NULL, &res, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(res.findings, 0);
	assert_int_equal(cs_journal_trust(j, why, sizeof(why)), CS_OK);

	/* Every row as it was. */
	assert_int_equal(cs_journal_card_get(j, o.lost_card, &c), CS_OK);
	assert_int_equal(c.state, CS_JCARD_LOST);
	assert_string_equal(c.printed_no, "P-3");
	assert_null(c.id_source);
	cs_jcard_clear(&c);
	assert_int_equal(cs_journal_cert_live_card(j, "1000", &c, &id), CS_OK);
	assert_int_equal(c.id, o.issued_card);
	assert_int_equal(id, o.live_issuance);
	cs_jcard_clear(&c);

	/* The new states and column work and are journaled. */
	cs_journal_set_actor(j, "op2", "R1");
	assert_int_equal(cs_journal_card_set_state(j, o.partial_card,
	    CS_JCARD_RETIRED, "applet gone", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_issuance_end(j, o.live_issuance,
	    CS_JISSUE_SUPERSEDED, "renewed", why, sizeof(why)), CS_OK);
	assert_int_equal(cs_journal_cert_live_card(j, "1000", &c, NULL),
	    CS_ERR_NOTFOUND);
	memset(&n, 0, sizeof(n));
	n.chip_serial = (char *)"ASSIGNED-0001";
	n.id_source = (char *)CS_JCARD_ID_ASSIGNED;
	assert_int_equal(cs_journal_card_upsert(j, &n, &id, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(cs_journal_card_get(j, id, &c), CS_OK);
	assert_string_equal(c.id_source, "assigned");
	cs_jcard_clear(&c);
	/* Seen again without a source: the stored one stays. */
	n.id_source = NULL;
	assert_int_equal(cs_journal_card_upsert(j, &n, &id, why, sizeof(why)),
	    CS_OK);
	assert_int_equal(cs_journal_card_get(j, id, &c), CS_OK);
	assert_string_equal(c.id_source, "assigned");
	cs_jcard_clear(&c);
	assert_int_equal(cs_journal_trust(j, why, sizeof(why)), CS_OK);

	/* An old row's snapshot lacks id_source, read as NULL: an edit of it
	 * behind the station's back is still named. */
	assert_int_equal(cs_db_exec(j->db, "UPDATE cards SET id_source = "
	    "'assigned' WHERE id = 3"), CS_OK);
	assert_int_equal(cs_journal_check(j, print_finding, NULL, &res, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(res.findings, 1);
	assert_int_equal(cs_journal_trust(j, why, sizeof(why)), CS_ERR_STATE);
	assert_non_null(strstr(why, "id_source"));
	cs_journal_close(j);

	/* Read-only opens of the migrated file work. */
	assert_int_equal(cs_journal_open(&ro, o.path, CS_JOURNAL_RDONLY, why,
	    sizeof(why)), CS_OK);
	cs_journal_close(ro);
	jt_rm(o.dir);
}

static void version1_migrates(void **state)
{
	(void)state;
	migrates_and_stays_trusted(1);
}

static void version2_migrates(void **state)
{
	(void)state;
	migrates_and_stays_trusted(2);
}

/* A reference to a missing card: foreign_key_check stops the migration
 * before its commit, and the file stays at its old version, untouched. */
static void a_dangling_reference_stops_the_migration(void **state)
{
	struct old o;
	cs_journal *j;
	char why[512];

	(void)state;
	make_old(&o, 2, 1);
	assert_int_equal(cs_journal_open(&j, o.path, 0, why, sizeof(why)),
	    CS_ERR_STATE);
	assert_non_null(strstr(why, "issuances row"));
	assert_non_null(strstr(why, "nothing was changed"));
	if (jr_open_at(&j, o.path, 2, why, sizeof(why)) != CS_OK)
		fail_msg("open at 2: %s", why);
	assert_int_equal(cs_journal_version(j), 2);
	assert_int_equal(count(j, "SELECT count(*) FROM sqlite_schema WHERE "
	    "name LIKE '%_v3'"), 0);
	assert_int_equal(count(j, "SELECT count(*) FROM issuances"), 4);
	cs_journal_close(j);
	jt_rm(o.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(version1_migrates),
		cmocka_unit_test(version2_migrates),
		cmocka_unit_test(a_dangling_reference_stops_the_migration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
