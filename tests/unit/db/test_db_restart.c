/* test_db_restart.c - the server restarts under an open connection, as
 * when an office reboots its database machine mid-run: the next statement
 * says the connection is lost (CS_ERR_IO, CS_DB_FAIL_LOST), a transaction
 * that was open is gone whole (nothing half written), and the connection
 * works again after cs_db_reconnect. The server is this test's own
 * (restart.sh), so no other test loses its sessions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cs_db.h"
#include "cs_err.h"

static char why[1024];

static int64_t count(cs_db *db)
{
	cs_db_stmt *st;
	int64_t n = -1;

	assert_int_equal(cs_db_prepare(db, "SELECT count(*) FROM t", &st), CS_OK);
	if (cs_db_step(st) == CS_DB_ROW)
		n = cs_db_column_int(st, 0);
	cs_db_finalize(st);
	return n;
}

static void restart_server(void)
{
	char cmd[4096];
	int rc;

	snprintf(cmd, sizeof(cmd), "'%s' restart '%s'", getenv("CS_PGTEST"),
	    getenv("CS_PG_DIR"));
	rc = system(cmd);
	assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
}

static void server_restart_is_a_lost_connection(void **state)
{
	const char *uri = getenv("CS_PG_URI");
	cs_db *db = NULL;

	(void)state;
	assert_non_null(uri);
	assert_non_null(getenv("CS_PGTEST"));
	if (cs_db_open(&db, uri, 0, why, sizeof(why)) != CS_OK)
		fail_msg("open: %s", why);
	assert_int_equal(cs_db_exec(db, "CREATE TABLE t (v text); "
	    "INSERT INTO t VALUES ('before')"), CS_OK);
	/* A write in flight when the server goes. */
	assert_int_equal(cs_db_begin(db, CS_DB_TX_WRITE), CS_OK);
	assert_int_equal(cs_db_exec(db, "INSERT INTO t VALUES ('half')"), CS_OK);
	restart_server();
	assert_int_equal(cs_db_exec(db, "INSERT INTO t VALUES ('more')"),
	    CS_ERR_IO);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_LOST);
	assert_true(strlen(cs_db_errmsg(db)) > 0);
	/* Back: the open transaction is gone whole, the committed row kept. */
	if (cs_db_reconnect(db, why, sizeof(why)) != CS_OK)
		fail_msg("reconnect: %s", why);
	assert_int_equal(cs_db_last_fail(db), CS_DB_FAIL_NONE);
	assert_int_equal(count(db), 1);
	assert_int_equal(cs_db_exec(db, "INSERT INTO t VALUES ('after')"), CS_OK);
	assert_int_equal(count(db), 2);
	cs_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_restart_is_a_lost_connection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
