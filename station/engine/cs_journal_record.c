/* cs_journal_record.c - records: the run's queue, claims, resume. */
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_journal_int.h"
#include "cs_i18n.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define REC_COLS "id, run_id, seq, serial, holder, mail, dn, staff_no, " \
	"profile, not_after, state, problem, reason, claimed_by, " \
	"pending_card_id, card_id, owner_id, key_type"

static int record_from_row(cs_db_stmt *st, cs_jrecord *r)
{
	struct jr_cols c = {st, 0, CS_OK};
	char *state;

	memset(r, 0, sizeof(*r));
	r->id = jr_next_int(&c);
	r->run_id = jr_next_int(&c);
	r->seq = jr_next_int(&c);
	r->serial = jr_next_str(&c);
	r->holder = jr_next_str(&c);
	r->mail = jr_next_str(&c);
	r->dn = jr_next_str(&c);
	r->staff_no = jr_next_str(&c);
	r->profile = jr_next_str(&c);
	r->not_after = jr_next_str(&c);
	state = jr_next_str(&c);
	r->problem = jr_next_str(&c);
	r->reason = jr_next_str(&c);
	r->claimed_by = jr_next_str(&c);
	r->pending_card_id = jr_next_int(&c);
	r->card_id = jr_next_int(&c);
	r->owner_id = jr_next_int(&c);
	r->key_type = jr_next_str(&c);
	r->state = (cs_jrec_state)jr_name_index(jr_rec_states,
	    JR_N(jr_rec_states), state);
	free(state);
	if (c.err != CS_OK)
		cs_jrecord_clear(r);
	return c.err;
}

void cs_jrecord_clear(cs_jrecord *r)
{
	if (r == NULL)
		return;
	free(r->serial);
	free(r->holder);
	free(r->mail);
	free(r->dn);
	free(r->staff_no);
	free(r->profile);
	free(r->not_after);
	free(r->problem);
	free(r->reason);
	free(r->claimed_by);
	free(r->key_type);
	memset(r, 0, sizeof(*r));
}

/* The record a prepared query gives, or CS_ERR_NOTFOUND; st is finalised. */
static int record_one(cs_journal *j, cs_db_stmt *st, cs_jrecord *out)
{
	int r = jr_step(j, st);

	if (r == CS_DB_ROW)
		r = record_from_row(st, out);
	else if (r == CS_DB_DONE)
		r = CS_ERR_NOTFOUND;
	cs_db_finalize(st);
	return r;
}

int cs_journal_record_get(cs_journal *j, int64_t id, cs_jrecord *out)
{
	cs_db_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = jr_prepare(j, &st, "SELECT " REC_COLS " FROM records "
	    "WHERE id = ?1", "i", id)) != CS_OK)
		return r;
	return record_one(j, st, out);
}

/* The one-row event of a record change. */
static int record_event(cs_journal *j, const char *kind, int64_t id,
    const char *reason)
{
	cs_db_stmt *st;
	int64_t run_id = 0, card_id = 0;
	int r;

	if ((r = jr_prepare(j, &st, "SELECT run_id, coalesce(card_id, "
	    "pending_card_id, 0) FROM records WHERE id = ?1", "i", id)) != CS_OK)
		return r;
	if ((r = cs_db_step(st)) == CS_DB_ROW) {
		run_id = cs_db_column_int(st, 0);
		card_id = cs_db_column_int(st, 1);
	}
	cs_db_finalize(st);
	if (r != CS_DB_ROW)
		return r == CS_DB_DONE ? CS_ERR_NOTFOUND : r;
	return jr_event(j, kind, "records", id, run_id, id, card_id, reason);
}

static int record_add_once(cs_journal *j, const cs_jrecord *in, int64_t *id,
    char *why, size_t whylen)
{
	const char *serial = in->serial && *in->serial ? jr_serial(in->serial) :
	    NULL;
	int64_t rid = 0, seq = in->seq;
	cs_db_stmt *st;
	int r;

	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	if (seq == 0) {
		if ((r = jr_prepare(j, &st, "SELECT coalesce(max(seq), 0) + 1 "
		    "FROM records WHERE run_id = ?1", "i", in->run_id)) != CS_OK) {
			r = jr_err(j, r, why, whylen, "cannot number the record");
			goto out;
		}
		if (cs_db_step(st) == CS_DB_ROW)
			seq = cs_db_column_int(st, 0);
		cs_db_finalize(st);
	}
	r = jr_run(j, "INSERT INTO records (run_id, seq, serial, holder, mail, "
	    "dn, staff_no, profile, not_after, state, problem, reason, key_type) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
	    "RETURNING id",
	    "iisssssssssss", in->run_id, seq, serial, in->holder, in->mail,
	    in->dn, in->staff_no, in->profile, in->not_after,
	    in->problem ? "refused" : "queued", in->problem, in->reason,
	    in->key_type);
	if (r != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot add the record");
		if (r == CS_ERR_MISMATCH)
			jr_why(why, whylen, _("run %" PRId64 " already has a record "
			    "with serial %s or seq %" PRId64), in->run_id,
			    serial ? serial : "-", seq);
		else if (r == CS_ERR_NOTFOUND)
			jr_why(why, whylen, _("no run %" PRId64), in->run_id);
		goto out;
	}
	rid = j->last_id;
	r = record_event(j, "record.add", rid, NULL);
out:
	r = jr_tx_leave(j, r, why, whylen);
	if (id != NULL)
		*id = r == CS_OK ? rid : 0;
	return r;
}

int cs_journal_record_add(cs_journal *j, const cs_jrecord *in, int64_t *id,
    char *why, size_t whylen)
{
	JR_REDO_RETURN(j, record_add_once(j, in, id, why, whylen));
}

static int run_is_open(cs_journal *j, int64_t run_id, char *why, size_t whylen)
{
	cs_db_stmt *st;
	int rc, r = CS_OK;

	if ((r = jr_prepare(j, &st, "SELECT state FROM runs WHERE id = ?1", "i",
	    run_id)) != CS_OK)
		return jr_err(j, r, why, whylen, "cannot read the run");
	rc = cs_db_step(st);
	if (rc == CS_DB_DONE) {
		jr_why(why, whylen, _("no run %" PRId64), run_id);
		r = CS_ERR_NOTFOUND;
	} else if (rc != CS_DB_ROW)
		r = jr_err(j, rc, why, whylen, "cannot read the run");
	else if (strcmp(cs_db_column_text(st, 0), "open") != 0) {
		jr_why(why, whylen, _("run %" PRId64 " is %s"), run_id,
		    cs_db_column_text(st, 0));
		r = CS_ERR_STATE;
	}
	cs_db_finalize(st);
	return r;
}

static const char *key_where(cs_jkey key)
{
	switch (key) {
	case CS_JKEY_SERIAL: return "serial = ?3";
	case CS_JKEY_MAIL: return "lower(mail) = lower(?3)";
	case CS_JKEY_STAFF_NO: return "staff_no = ?3";
	default: return NULL;
	}
}

static const char *key_name(cs_jkey key)
{
	switch (key) {
	case CS_JKEY_SERIAL: return "serial";
	case CS_JKEY_MAIL: return "mail";
	case CS_JKEY_STAFF_NO: return "staff number";
	case CS_JKEY_CHIP: return "chip serial";
	case CS_JKEY_PRINTED: return "printed number";
	case CS_JKEY_PKCS15: return "PKCS#15 serial";
	}
	return "?";
}

/* Why a keyed claim found nothing queued: the record's state, if any. */
static int explain_unclaimable(cs_journal *j, int64_t run_id, cs_jkey key,
    const char *value, char *why, size_t whylen)
{
	cs_jrecord rec;
	int r;

	if ((r = cs_journal_record_find(j, run_id, key, value, &rec)) != CS_OK) {
		jr_why(why, whylen, _("run %" PRId64 " has no record with %s %s"),
		    run_id, key_name(key), value);
		return r;
	}
	if (rec.state == CS_JREC_CLAIMED)
		jr_why(why, whylen, _("%s (%s) is being written in reader %s"),
		    rec.holder ? rec.holder : "?", value,
		    rec.claimed_by ? rec.claimed_by : "?");
	else
		jr_why(why, whylen, "%s (%s) is %s%s%s", rec.holder ? rec.holder :
		    "?", value, cs_jrec_state_name(rec.state), rec.reason ? ": " :
		    "", rec.reason ? rec.reason : "");
	cs_jrecord_clear(&rec);
	return CS_ERR_STATE;
}

static int claim(cs_journal *j, int64_t run_id, const char *where,
    cs_jkey key, const char *value, const char *reader, const char *types,
    cs_jrecord *out, char *why, size_t whylen)
{
	cs_db_stmt *st = NULL;
	char sql[640];
	int64_t id = 0;
	int r, rc;

	memset(out, 0, sizeof(*out));
	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	if ((r = run_is_open(j, run_id, why, whylen)) != CS_OK)
		goto out;
	/* Find and take in one statement, under the write lock (SQLite's
	 * BEGIN IMMEDIATE, the chain head's lock on PostgreSQL): no other
	 * connection can take the same record. On PostgreSQL a record another
	 * transaction is taking is skipped besides, never waited for. */
	snprintf(sql, sizeof(sql), "UPDATE records SET state = 'claimed', "
	    "claimed_by = ?2, owner_id = ?4 WHERE state = 'queued' AND id = "
	    "(SELECT id FROM records WHERE run_id = ?1 AND state = 'queued' AND "
	    "%s AND (?5 IS NULL OR key_type IS NULL OR %s(',' || ?5 || ',', ',' "
	    "|| key_type || ',') > 0) ORDER BY seq LIMIT 1%s) RETURNING id",
	    where ? where :
	    /* A record tied to a half-written card waits for that card; one
	     * whose key this card cannot hold waits for a card that can. */
	    "?3 IS NULL AND pending_card_id IS NULL", jr_instr(j),
	    jr_pg(j) ? " FOR UPDATE SKIP LOCKED" : "");
	if ((r = jr_prepare(j, &st, sql, "issns", run_id, reader, value,
	    j->owner_id, types)) != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot claim");
		goto out;
	}
	rc = cs_db_step(st);
	if (rc == CS_DB_ROW)
		id = cs_db_column_int(st, 0);
	cs_db_finalize(st);
	if (rc == CS_DB_DONE) {
		if (where == NULL) {
			jr_why(why, whylen, _("run %" PRId64 " has no record left in "
			    "the queue%s%s"), run_id, types ? " for a card that holds " :
			    "", types ? types : "");
			r = CS_ERR_NOTFOUND;
		} else
			r = explain_unclaimable(j, run_id, key, value, why, whylen);
		goto out;
	}
	if (rc != CS_DB_ROW) {
		r = jr_err(j, rc, why, whylen, "cannot claim");
		goto out;
	}
	r = record_event(j, "record.claim", id, NULL);
out:
	if ((r = jr_tx_leave(j, r, why, whylen)) == CS_OK)
		r = cs_journal_record_get(j, id, out);
	return r;
}

static int record_claim_next_once(cs_journal *j, int64_t run_id,
    const char *reader, const char *key_types, cs_jrecord *out, char *why,
    size_t whylen)
{
	return claim(j, run_id, NULL, CS_JKEY_SERIAL, NULL, reader, key_types,
	    out, why, whylen);
}

int cs_journal_record_claim_next(cs_journal *j, int64_t run_id,
    const char *reader, const char *key_types, cs_jrecord *out, char *why,
    size_t whylen)
{
	JR_REDO_RETURN(j, record_claim_next_once(j, run_id, reader, key_types,
	    out, why, whylen));
}

static int record_claim_once(cs_journal *j, int64_t run_id, cs_jkey key,
    const char *value, const char *reader, cs_jrecord *out, char *why,
    size_t whylen)
{
	const char *where = key_where(key);

	if (where == NULL || value == NULL || *value == '\0') {
		memset(out, 0, sizeof(*out));
		jr_why(why, whylen, _("a record is claimed by serial, mail or "
		    "staff number"));
		return CS_ERR_USAGE;
	}
	if (key == CS_JKEY_SERIAL)
		value = jr_serial(value);
	return claim(j, run_id, where, key, value, reader, NULL, out, why,
	    whylen);
}

int cs_journal_record_claim(cs_journal *j, int64_t run_id, cs_jkey key,
    const char *value, const char *reader, cs_jrecord *out, char *why,
    size_t whylen)
{
	JR_REDO_RETURN(j, record_claim_once(j, run_id, key, value, reader, out,
	    why, whylen));
}

int cs_journal_record_find(cs_journal *j, int64_t run_id, cs_jkey key,
    const char *value, cs_jrecord *out)
{
	const char *where = key_where(key);
	cs_db_stmt *st;
	char sql[512];
	int r;

	memset(out, 0, sizeof(*out));
	if (where == NULL || value == NULL)
		return CS_ERR_USAGE;
	if (key == CS_JKEY_SERIAL)
		value = jr_serial(value);
	/* ?2 unused: the key expressions number their value ?3. */
	snprintf(sql, sizeof(sql), "SELECT " REC_COLS " FROM records WHERE "
	    "run_id = ?1 AND ?2 IS NULL AND %s ORDER BY seq LIMIT 1", where);
	if ((r = jr_prepare(j, &st, sql, "iss", run_id, NULL, value)) != CS_OK)
		return r;
	return record_one(j, st, out);
}

/* The values of a record move: ?1 the record, then what the move's SQL
 * names: ?2 card, ?3 text, ?4 problem, ?5 this connection's owner; fmt
 * binds as many of them as the SQL has. */
struct move {
	const char *from;   /* the state the record must be in */
	const char *fmt;
	const char *sql;
	int64_t card_id;
	const char *text, *problem;
	const char *kind;   /* the event */
};

/* Move a record from one state to another; CS_ERR_STATE names the state
 * it is in when that is not m->from, or says that another station took
 * the claim back. */
static int record_move(cs_journal *j, int64_t id, const struct move *m,
    char *why, size_t whylen)
{
	cs_jrecord rec;
	int r;

	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	/* Each move names only some of the values: fmt binds what it has. */
	if ((r = jr_run(j, m->sql, m->fmt, id, m->card_id, m->text, m->problem,
	    j->owner_id)) != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot change the record");
		goto out;
	}
	if (j->changes == 0) {
		if ((r = cs_journal_record_get(j, id, &rec)) != CS_OK)
			jr_why(why, whylen, _("no record %" PRId64), id);
		else {
			if (strcmp(cs_jrec_state_name(rec.state), m->from) != 0)
				jr_why(why, whylen, _("record %" PRId64 " is %s, not %s"),
				    id, cs_jrec_state_name(rec.state), m->from);
			else
				jr_why(why, whylen, _("record %" PRId64 " is no longer "
				    "claimed by this station: another station took it "
				    "back"), id);
			cs_jrecord_clear(&rec);
			r = CS_ERR_STATE;
		}
		goto out;
	}
	r = record_event(j, m->kind, id, m->text);
out:
	return jr_tx_leave(j, r, why, whylen);
}

/* The claim a move ends must be this connection's owner's. */
#define OWNED "state = 'claimed' AND owner_id IS NOT DISTINCT FROM ?5"

static int record_release_once(cs_journal *j, int64_t id, const char *reason,
    char *why, size_t whylen)
{
	const struct move m = {"claimed", "inssn", "UPDATE records SET state = "
	    "'queued', claimed_by = NULL, owner_id = NULL, reason = ?3 WHERE id = "
	    "?1 AND "
	    "?2 IS NULL AND ?4 IS NULL AND " OWNED, 0, reason, NULL,
	    "record.release"};

	return record_move(j, id, &m, why, whylen);
}

int cs_journal_record_release(cs_journal *j, int64_t id, const char *reason,
    char *why, size_t whylen)
{
	JR_REDO_RETURN(j, record_release_once(j, id, reason, why, whylen));
}

static int record_release_pending_once(cs_journal *j, int64_t id,
    int64_t card_id, const char *reason, char *why, size_t whylen)
{
	const struct move m = {"claimed", "inssn", "UPDATE records SET state = "
	    "'queued', claimed_by = NULL, owner_id = NULL, pending_card_id = ?2, "
	    "reason = ?3 WHERE id = ?1 AND ?4 IS NULL AND " OWNED, card_id,
	    reason, NULL,
	    "record.release"};

	return record_move(j, id, &m, why, whylen);
}

int cs_journal_record_release_pending(cs_journal *j, int64_t id,
    int64_t card_id, const char *reason, char *why, size_t whylen)
{
	JR_REDO_RETURN(j, record_release_pending_once(j, id, card_id, reason,
	    why, whylen));
}

static int record_set_aside_once(cs_journal *j, int64_t id,
    const char *problem, const char *reason, char *why, size_t whylen)
{
	const struct move m = {"claimed", "inssn", "UPDATE records SET state = "
	    "'refused', claimed_by = NULL, owner_id = NULL, pending_card_id = "
	    "?2, reason = ?3, problem = ?4 WHERE id = ?1 AND " OWNED, 0, reason,
	    problem, "record.set-aside"};

	return record_move(j, id, &m, why, whylen);
}

int cs_journal_record_set_aside(cs_journal *j, int64_t id,
    const char *problem, const char *reason, char *why, size_t whylen)
{
	JR_REDO_RETURN(j, record_set_aside_once(j, id, problem, reason, why,
	    whylen));
}

static int record_done_once(cs_journal *j, int64_t id, int64_t card_id,
    char *why, size_t whylen)
{
	const struct move m = {"claimed", "inssn", "UPDATE records SET state = "
	    "'done', "
	    "card_id = ?2, pending_card_id = NULL, reason = ?3, owner_id = "
	    "NULL WHERE id = ?1 AND ?4 IS NULL AND " OWNED,
	    card_id, NULL, NULL, "record.done"};

	return record_move(j, id, &m, why, whylen);
}

int cs_journal_record_done(cs_journal *j, int64_t id, int64_t card_id,
    char *why, size_t whylen)
{
	JR_REDO_RETURN(j, record_done_once(j, id, card_id, why, whylen));
}

static int record_revoke_once(cs_journal *j, int64_t id, const char *reason,
    char *why, size_t whylen)
{
	const struct move m = {"done", "ins", "UPDATE records SET state = "
	    "'revoked', "
	    "reason = ?3 WHERE id = ?1 AND ?2 IS NULL", 0, reason, NULL,
	    "record.revoke"};

	return record_move(j, id, &m, why, whylen);
}

int cs_journal_record_revoke(cs_journal *j, int64_t id, const char *reason,
    char *why, size_t whylen)
{
	JR_REDO_RETURN(j, record_revoke_once(j, id, reason, why, whylen));
}

/* --- resume --------------------------------------------------------- */

struct torn {
	int64_t issuance, card, record, owner;
};

static int collect(cs_journal *j, const char *sql, int64_t run_id,
    struct torn **out, size_t *n)
{
	cs_db_stmt *st;
	struct torn *v = NULL, *nv;
	size_t cap = 0;
	int rc, r = CS_OK;

	*out = NULL;
	*n = 0;
	if ((r = jr_prepare(j, &st, sql, "i", run_id)) != CS_OK)
		return r;
	while ((rc = cs_db_step(st)) == CS_DB_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = CS_ERR_NOMEM;
				break;
			}
			v = nv;
		}
		v[*n].issuance = cs_db_column_int(st, 0);
		v[*n].card = cs_db_column_int(st, 1);
		v[*n].record = cs_db_column_int(st, 2);
		v[*n].owner = cs_db_column_int(st, 3);
		(*n)++;
	}
	if (r == CS_OK && rc != CS_DB_DONE)
		r = rc;
	cs_db_finalize(st);
	if (r != CS_OK) {
		free(v);
		*n = 0;
	} else
		*out = v;
	return r;
}

static const char INTERRUPTED[] = "the station stopped while this card was "
    "being written";
static const char RELEASED[] = "released when the run resumed";

/* A writing issuance whose station is gone: interrupted, its card partial,
 * its record queued for that card alone. */
static int take_back_write(cs_journal *j, int64_t run_id, const struct torn *t,
    const char *now, cs_jresume *out)
{
	int r;

	if ((r = jr_run(j, "UPDATE issuances SET outcome = 'interrupted', "
	    "finished = ?2, reason = ?3 WHERE id = ?1", "iss", t->issuance, now,
	    INTERRUPTED)) != CS_OK)
		return r;
	if ((r = jr_event(j, "issuance.interrupted", "issuances", t->issuance,
	    run_id, t->record, t->card, INTERRUPTED)) != CS_OK)
		return r;
	if ((r = jr_run(j, "UPDATE cards SET state = 'partial' WHERE id = ?1",
	    "i", t->card)) != CS_OK)
		return r;
	if ((r = jr_event(j, "card.state", "cards", t->card, run_id, t->record,
	    t->card, INTERRUPTED)) != CS_OK)
		return r;
	if ((r = jr_run(j, "UPDATE records SET state = 'queued', claimed_by = "
	    "NULL, owner_id = NULL, pending_card_id = ?2, reason = ?3 WHERE id = "
	    "?1 AND state = 'claimed'", "iis", t->record, t->card,
	    INTERRUPTED)) != CS_OK)
		return r;
	out->interrupted++;
	if (j->changes == 0)
		return CS_OK;
	out->released++;
	return record_event(j, "record.resume", t->record, INTERRUPTED);
}

/* A claim whose station is gone before it wrote anything: back in line. */
static int take_back_claim(cs_journal *j, const struct torn *t,
    cs_jresume *out)
{
	int r;

	if ((r = jr_run(j, "UPDATE records SET state = 'queued', claimed_by = "
	    "NULL, owner_id = NULL, reason = ?2 WHERE id = ?1 AND state = "
	    "'claimed'", "is", t->record, RELEASED)) != CS_OK)
		return r;
	if (j->changes == 0)
		return CS_OK;
	out->released++;
	return record_event(j, "record.resume", t->record, RELEASED);
}

static int resume_once(cs_journal *j, int64_t run_id, cs_jresume *out,
    char *why, size_t whylen)
{
	struct torn *t = NULL;
	char now[JR_TIME_LEN];
	cs_owner self;
	size_t n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (cs_owner_self(&self) != CS_OK) {
		jr_why(why, whylen, _("cannot name this process (/proc)"));
		return CS_ERR_IO;
	}
	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	jr_now(now);
	/* Claims only, each judged by its owner: a live station's claim, on
	 * this machine or one this process cannot see into, stays its own. */
	r = collect(j, "SELECT coalesce(i.id, 0), coalesce(i.card_id, 0), r.id, "
	    "coalesce(r.owner_id, 0) FROM records r LEFT JOIN issuances i ON "
	    "i.record_id = r.id AND i.outcome = 'writing' WHERE r.run_id = ?1 "
	    "AND (r.state = 'claimed' OR i.id IS NOT NULL) ORDER BY r.seq",
	    run_id, &t, &n);
	for (size_t k = 0; r == CS_OK && k < n; k++) {
		if (jr_owner_life(j, &self, t[k].owner) != CS_OWNER_GONE)
			out->held++;
		else if (t[k].issuance != 0)
			r = take_back_write(j, run_id, &t[k], now, out);
		else
			r = take_back_claim(j, &t[k], out);
	}
	free(t);
	if (r != CS_OK)
		jr_why(why, whylen, _("journal: cannot resume: %s"),
		    cs_db_errmsg(j->db));
	r = jr_tx_leave(j, r, why, whylen);
	if (r != CS_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

int cs_journal_resume(cs_journal *j, int64_t run_id, cs_jresume *out,
    char *why, size_t whylen)
{
	JR_REDO_RETURN(j, resume_once(j, run_id, out, why, whylen));
}

int cs_journal_run_queued(cs_journal *j, int64_t run_id, cs_jrecord_fn fn,
    void *ctx)
{
	cs_db_stmt *st;
	int rc = CS_DB_DONE, r;

	if ((r = jr_prepare(j, &st, "SELECT " REC_COLS " FROM records WHERE "
	    "run_id = ?1 AND state = 'queued' ORDER BY seq", "i", run_id)) !=
	    CS_OK)
		return r;
	while (r == CS_OK && (rc = jr_step(j, st)) == CS_DB_ROW) {
		cs_jrecord rec;

		if ((r = record_from_row(st, &rec)) == CS_OK)
			r = fn(ctx, &rec);
		cs_jrecord_clear(&rec);
	}
	if (r == CS_OK && rc != CS_DB_DONE)
		r = rc;
	cs_db_finalize(st);
	return r;
}
