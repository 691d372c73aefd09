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

#include "cs_err.h"
#include "cs_journal.h"

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

	/* Between two changes: the next one waits for the server and is
	 * done once. */
	restart_server();
	if (add(j, run, 2) == 0)
		fail_msg("a change after the restart: %s", why);
	assert_int_equal(records(j, run), 2);

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
