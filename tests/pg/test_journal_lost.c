/* test_journal_lost.c - a station's journal server restarts under it, as
 * when an office reboots its database machine mid-run (issue 16): the
 * station says so, waits, reconnects and goes on; a change cut by the
 * restart is either done again whole or, inside the caller's own
 * transaction, gone whole; nothing is half journaled and `log check`
 * finds the chain intact. The server is this test's own
 * (tests/unit/db/restart.sh), so no other test loses its sessions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <stdbool.h>
#include "cs_db.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_journal_int.h"

static char why[1024];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
}

static void restart_server(void)
{
	sh("'%s' restart '%s' >/dev/null", getenv("CS_PGTEST"),
	    getenv("CS_PG_DIR"));
}

static int64_t add(cs_journal *j, int64_t run, int seq)
{
	cs_jrecord rec;
	char serial[16], holder[32];
	int64_t id = 0;

	memset(&rec, 0, sizeof(rec));
	snprintf(serial, sizeof(serial), "%d", 1000 + seq);
	snprintf(holder, sizeof(holder), "PERSON %d", seq);
	rec.run_id = run;
	rec.serial = serial;
	rec.holder = holder;
	rec.key_type = "rsa-2048";
	if (cs_journal_record_add(j, &rec, &id, why, sizeof(why)) != CS_OK)
		return 0;
	return id;
}

static int64_t records(cs_journal *j, int64_t run)
{
	cs_jprogress p;

	assert_int_equal(cs_journal_run_progress(j, run, &p), CS_OK);
	return p.total;
}

/* Whether a session holds owner id's lock (cs_journal_owner.c), asked
 * from a connection of another station. */
static bool owner_lock_held(const char *uri, int64_t id)
{
	cs_db *db = NULL;
	cs_db_stmt *st;
	bool held;

	if (cs_db_open(&db, uri, 0, why, sizeof(why)) != CS_OK)
		fail_msg("open: %s", why);
	assert_int_equal(cs_db_prepare_fmt(db, &st, "SELECT CASE WHEN "
	    "pg_try_advisory_xact_lock(?1) THEN 0 ELSE 1 END", "i",
	    (INT64_C(0x4353) << 32) | id), CS_OK);
	assert_int_equal(cs_db_step(st), CS_DB_ROW);
	held = cs_db_column_int(st, 0) == 1;
	cs_db_finalize(st);
	cs_db_close(db);
	return held;
}

static void a_restarted_server_is_waited_for(void **state)
{
	const char *uri = getenv("CS_PG_URI");
	cs_jrun in = {0};
	cs_jcheck res;
	cs_journal *j = NULL;
	int64_t run = 0;

	(void)state;
	assert_non_null(uri);
	assert_non_null(getenv("CS_PGTEST"));
	sh("CARDSTATION_JOURNAL='%s' '%s' journal init >/dev/null", uri,
	    getenv("CS_BIN"));
	if (cs_journal_open(&j, uri, 0, why, sizeof(why)) != CS_OK)
		fail_msg("open: %s", why);
	cs_journal_set_actor(j, "op", "R0");
	in.mode = CS_JMODE_QUEUE;
	in.profile = "isoapplet";
	assert_int_equal(cs_journal_run_create(j, &in, &run, why, sizeof(why)),
	    CS_OK);
	assert_true(add(j, run, 1) > 0);
	/* A station process: its session holds its owner lock. */
	assert_int_equal(cs_journal_owner_start(j, "R0", why, sizeof(why)),
	    CS_OK);
	assert_true(owner_lock_held(uri, j->owner_id));

	/* Between two changes: the next one waits for the server and is
	 * done once; the new session holds the owner lock again, so another
	 * station still sees this one live. */
	restart_server();
	if (add(j, run, 2) == 0)
		fail_msg("a change after the restart: %s", why);
	assert_int_equal(records(j, run), 2);
	assert_true(owner_lock_held(uri, j->owner_id));

	/* Inside the caller's transaction: gone whole, the caller is told. */
	assert_int_equal(cs_journal_begin(j, why, sizeof(why)), CS_OK);
	assert_true(add(j, run, 3) > 0);
	restart_server();
	assert_int_equal(add(j, run, 4), 0);
	assert_int_equal(cs_journal_rollback(j), CS_OK); /* the server did */

	/* Reads wait too; nothing of the cut transaction is in. */
	assert_int_equal(records(j, run), 2);
	assert_true(add(j, run, 5) > 0);
	assert_int_equal(records(j, run), 3);

	assert_int_equal(cs_journal_check(j, NULL, NULL, &res, why,
	    sizeof(why)), CS_OK);
	assert_int_equal(res.findings, 0);
	assert_true(res.events >= 4);
	cs_journal_close(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_restarted_server_is_waited_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
