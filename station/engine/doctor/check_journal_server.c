/* check_journal_server.c - a journal on PostgreSQL: does the server answer,
 * does its schema match this cardstation, and do the station's and the
 * server's clocks agree? A SQLite journal has nothing to check here. */
#include "dr.h"
#include "cs_db.h"
#include "cs_db_schema.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK "journal-server"
/* Stations stamp the events with their own clocks: beyond this, two
 * stations' events read out of order, and a server certificate may look
 * not yet valid or expired. */
#define SKEW_WARN_MS 2000
#define SKEW_FAIL_MS 60000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t query_int(cs_db *db, const char *sql, int *r)
{
	cs_db_stmt *st;
	int64_t v = 0;

	if ((*r = cs_db_prepare(db, sql, &st)) != CS_OK)
		return 0;
	if ((*r = cs_db_step(st)) == CS_DB_ROW) {
		v = cs_db_column_int(st, 0);
		*r = CS_OK;
	} else if (*r == CS_DB_DONE)
		*r = CS_ERR_NOTFOUND;
	cs_db_finalize(st);
	return v;
}

static void clock_skew(cs_findings *fs, cs_db *db)
{
	int64_t before, after, server, skew, mag;
	cs_finding *f;
	int r;

	before = now_ms();
	server = query_int(db, "SELECT CAST(floor(extract(epoch FROM "
	    "clock_timestamp()) * 1000) AS bigint)", &r);
	after = now_ms();
	if (r != CS_OK) {
		f = cs_findings_add(fs, CS_SEV_WARN, CHECK,
		    "doctor.journal-server.no-clock", "detail",
		    cs_db_errmsg(db), NULL);
		cs_finding_advise(f, "todo.journal-server.select", NULL);
		return;
	}
	/* The server read its clock between before and after. */
	skew = server - (before + (after - before) / 2);
	mag = skew < 0 ? -skew : skew;
	if (mag > SKEW_FAIL_MS || mag > SKEW_WARN_MS) {
		cs_severity sev = mag > SKEW_FAIL_MS ? CS_SEV_FAIL : CS_SEV_WARN;

		if (skew > 0)
			f = cs_findings_add(fs, sev, CHECK,
			    "doctor.journal-server.clock-behind", "seconds",
			    dr_fmt(DR_NUM, "%.1f", (double)mag / 1000), NULL);
		else
			f = cs_findings_add(fs, sev, CHECK,
			    "doctor.journal-server.clock-ahead", "seconds",
			    dr_fmt(DR_NUM, "%.1f", (double)mag / 1000), NULL);
		cs_finding_advise(f, "todo.journal-server.ntp", NULL);
	} else
		cs_findings_add(fs, CS_SEV_OK, CHECK,
		    "doctor.journal-server.clock-ok", "seconds",
		    dr_fmt(DR_NUM, "%.1f", (double)mag / 1000), "ms",
		    dr_fmt(DR_NUM, "%.0f", (double)(after - before)), NULL);
}

void cs_doctor_check_journal_server(cs_findings *fs, const char *target)
{
	char why[512] = "";
	cs_db *db = NULL;
	cs_finding *f;
	int64_t v;
	int r;

	if (!cs_db_is_uri(target))
		return;
	if ((r = cs_db_open(&db, target, CS_DB_RDONLY, why, sizeof(why))) !=
	    CS_OK) {
		f = cs_findings_add(fs, CS_SEV_FAIL, CHECK,
		    "doctor.journal-server.cannot-open", "detail", why, NULL);
		cs_finding_advise(f, r == CS_ERR_USAGE ?
		    "todo.journal-server.uri" : "todo.journal-server.reach", NULL);
		return;
	}
	{
		char ver[64] = "?";
		cs_db_stmt *st;

		if (cs_db_prepare(db, "SELECT current_setting('server_version')",
		    &st) == CS_OK) {
			if (cs_db_step(st) == CS_DB_ROW)
				snprintf(ver, sizeof(ver), "%s",
				    cs_db_column_text(st, 0));
			cs_db_finalize(st);
		}
		cs_findings_add(fs, CS_SEV_OK, CHECK,
		    "doctor.journal-server.answers", "version", ver, NULL);
	}
	v = query_int(db, "SELECT coalesce(max(version), 0) FROM "
	    "schema_version", &r);
	if (r != CS_OK) {
		f = cs_findings_add(fs, CS_SEV_FAIL, CHECK,
		    "doctor.journal-server.no-journal", "detail",
		    cs_db_errmsg(db), NULL);
		cs_finding_advise(f, "todo.journal-server.init", NULL);
	} else if (v != CS_DB_PG_VERSION) {
		f = cs_findings_add(fs, CS_SEV_FAIL, CHECK,
		    "doctor.journal-server.schema-mismatch", "version",
		    dr_fmt(DR_NUM, "%lld", (long long)v), "known",
		    dr_fmt(DR_NUM, "%d", CS_DB_PG_VERSION), NULL);
		cs_finding_advise(f, v > CS_DB_PG_VERSION ?
		    "todo.journal-server.newer" : "todo.journal-server.upgrade",
		    NULL);
	} else
		cs_findings_add(fs, CS_SEV_OK, CHECK,
		    "doctor.journal-server.schema", "version",
		    dr_fmt(DR_NUM, "%lld", (long long)v), NULL);
	clock_skew(fs, db);
	cs_db_close(db);
}

void dr_journal_server(dr_state *s)
{
	cs_doctor_check_journal_server(s->out, s->o->journal);
}
