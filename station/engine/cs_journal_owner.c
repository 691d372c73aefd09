/* cs_journal_owner.c - the station processes that hold claims. */
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_journal_int.h"
#include "cs_owner.h"
#include "cs_i18n.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void owner_text(cs_db_stmt *st, int col, char *out, size_t len)
{
	const char *t = cs_db_column_text(st, col);

	snprintf(out, len, "%s", t ? t : "");
}

/* Owner id's process as a cs_owner; CS_ERR_NOTFOUND if there is no such
 * row, ended 1 if it said goodbye. */
static int owner_get(cs_journal *j, int64_t id, cs_owner *o, int *ended)
{
	cs_db_stmt *st;
	int r;

	memset(o, 0, sizeof(*o));
	if ((r = jr_prepare(j, &st, "SELECT host, boot_id, procfs, pid, start, "
	    "CASE WHEN ended IS NOT NULL THEN 1 ELSE 0 END FROM owners WHERE "
	    "id = ?1", "i", id)) != CS_OK)
		return r;
	if ((r = jr_step(j, st)) == CS_DB_ROW) {
		owner_text(st, 0, o->host, sizeof(o->host));
		owner_text(st, 1, o->boot_id, sizeof(o->boot_id));
		owner_text(st, 2, o->procfs, sizeof(o->procfs));
		o->pid = cs_db_column_int(st, 3);
		o->start = cs_db_column_int(st, 4);
		*ended = (int)cs_db_column_int(st, 5);
		r = CS_OK;
	} else if (r == CS_DB_DONE)
		r = CS_ERR_NOTFOUND;
	cs_db_finalize(st);
	return r;
}

/* PostgreSQL: while an owner lives, its connection holds a session lock
 * named by its id (taken at its start, again after a lost server). The
 * host name alone does not say one machine: two PCs cloned from one image
 * share it, and another boot id then means another machine, not this one
 * rebooted. The lock tells them apart. */
#define OWNER_LOCK(id) ((INT64_C(0x4353) << 32) | (id)) /* "CS", owner */

int jr_owner_lock(cs_journal *j)
{
	cs_db_stmt *st;
	int r;

	if (!jr_pg(j) || j->owner_id == 0)
		return CS_OK;
	/* cs_db's own step: a lost server is the caller's (jr_wait_server
	 * calls this), not waited for here. */
	if ((r = cs_db_prepare_fmt(j->db, &st, "SELECT pg_advisory_lock(?1)",
	    "i", OWNER_LOCK(j->owner_id))) != CS_OK)
		return r;
	while ((r = cs_db_step(st)) == CS_DB_ROW)
		;
	cs_db_finalize(st);
	return r == CS_DB_DONE ? CS_OK : r;
}

/* Whether no session holds owner id's lock (taken and let go at once
 * outside a transaction, at its end inside one). */
static bool owner_session_gone(cs_journal *j, int64_t id)
{
	cs_db_stmt *st;
	bool gone = false;

	if (jr_prepare(j, &st, "SELECT CASE WHEN pg_try_advisory_xact_lock(?1) "
	    "THEN 1 ELSE 0 END", "i", OWNER_LOCK(id)) != CS_OK)
		return false;
	if (jr_step(j, st) == CS_DB_ROW)
		gone = cs_db_column_int(st, 0) == 1;
	cs_db_finalize(st);
	return gone;
}

cs_owner_life jr_owner_life(cs_journal *j, const cs_owner *self, int64_t id)
{
	cs_owner o;
	cs_owner_life life;
	int ended = 0, r;

	/* A claim from before owners existed (id 0) belongs to a station of
	 * an older version, which cannot be running on this journal now. */
	if (id == 0)
		return CS_OWNER_GONE;
	if ((r = owner_get(j, id, &o, &ended)) == CS_ERR_NOTFOUND)
		return CS_OWNER_GONE;
	if (r != CS_OK)
		return CS_OWNER_UNKNOWN; /* fail closed: nothing is taken back */
	if (ended)
		return CS_OWNER_GONE;
	life = cs_owner_life_of(self, &o);
	/* "This host, an earlier boot" on a shared server: unless its
	 * session is gone too, a PC of the same name still runs it. */
	if (life == CS_OWNER_GONE && jr_pg(j) &&
	    strcmp(self->boot_id, o.boot_id) != 0 && !owner_session_gone(j, id))
		return CS_OWNER_UNKNOWN;
	return life;
}

static int owner_close(cs_journal *j, int64_t id, const char *reason)
{
	char now[JR_TIME_LEN];
	int r;

	jr_now(now);
	if ((r = jr_run(j, "UPDATE owners SET ended = ?2 WHERE id = ?1 AND "
	    "ended IS NULL", "is", id, now)) != CS_OK)
		return r;
	if (j->changes == 0)
		return CS_OK;
	return jr_event(j, "owner.end", "owners", id, 0, 0, 0, reason);
}

/* Owners on this host still registered at reader: close the gone ones,
 * refuse when one lives. */
static int reader_free(cs_journal *j, const cs_owner *self, const char *reader,
    char *why, size_t whylen)
{
	cs_db_stmt *st;
	int64_t ids[64];
	size_t n = 0;
	int rc, r = CS_OK;

	if ((r = jr_prepare(j, &st, "SELECT id FROM owners WHERE host = ?1 AND "
	    "reader = ?2 AND ended IS NULL ORDER BY id LIMIT 64", "ss",
	    self->host, reader)) != CS_OK)
		return jr_err(j, r, why, whylen, "cannot read the owners");
	while ((rc = cs_db_step(st)) == CS_DB_ROW)
		ids[n++] = cs_db_column_int(st, 0);
	cs_db_finalize(st);
	if (rc != CS_DB_DONE)
		return jr_err(j, rc, why, whylen, "cannot read the owners");
	for (size_t k = 0; k < n && r == CS_OK; k++) {
		cs_owner o;
		int ended;

		if (jr_owner_life(j, self, ids[k]) == CS_OWNER_GONE) {
			r = owner_close(j, ids[k], "the process is gone");
			continue;
		}
		owner_get(j, ids[k], &o, &ended);
		jr_why(why, whylen, _("reader %s is in use by another station "
		    "process (pid %" PRId64 " on %s): stop it, or give another "
		    "reader"), reader, o.pid, o.host);
		r = CS_ERR_STATE;
	}
	return r;
}

static int owner_start_once(cs_journal *j, const char *reader, char *why,
    size_t whylen)
{
	char now[JR_TIME_LEN];
	cs_owner self;
	int r;

	if (j->owner_id != 0) {
		jr_why(why, whylen, _("this connection already has an owner"));
		return CS_ERR_STATE;
	}
	if (cs_owner_self(&self) != CS_OK) {
		jr_why(why, whylen, _("cannot name this process (/proc)"));
		return CS_ERR_IO;
	}
	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	if (reader != NULL && (r = reader_free(j, &self, reader, why,
	    whylen)) != CS_OK)
		goto out;
	jr_now(now);
	if ((r = jr_run(j, "INSERT INTO owners (host, boot_id, procfs, pid, "
	    "start, reader, started) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
	    "RETURNING id", "sssiiss", self.host, self.boot_id, self.procfs,
	    self.pid, self.start, reader, now)) != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot register this station");
		goto out;
	}
	j->owner_id = j->last_id;
	r = jr_event(j, "owner.start", "owners", j->owner_id, 0, 0, 0, NULL);
out:
	r = jr_tx_leave(j, r, why, whylen);
	/* The row is in: a server lost just now gives the lock on its
	 * reconnect (jr_wait_server), so a failure here is not the start's. */
	if (r == CS_OK)
		jr_owner_lock(j);
	if (r != CS_OK)
		j->owner_id = 0;
	return r;
}

int cs_journal_owner_start(cs_journal *j, const char *reader, char *why,
    size_t whylen)
{
	JR_REDO_RETURN(j, owner_start_once(j, reader, why, whylen));
}

static int owner_end_once(cs_journal *j, char *why, size_t whylen)
{
	int r;

	if (j->owner_id == 0)
		return CS_OK;
	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	r = owner_close(j, j->owner_id, NULL);
	if ((r = jr_tx_leave(j, r, why, whylen)) == CS_OK)
		j->owner_id = 0;
	return r;
}

int cs_journal_owner_end(cs_journal *j, char *why, size_t whylen)
{
	JR_REDO_RETURN(j, owner_end_once(j, why, whylen));
}
