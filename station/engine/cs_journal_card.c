/* cs_journal_card.c - cards, issuances and the searches over them. */
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_journal_int.h"
#include "cs_i18n.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CARD_COLS "id, chip_serial, pkcs15_serial, printed_no, atr, model, " \
	"state, first_seen, last_seen, id_source"
#define ISS_COLS "i.id, i.record_id, i.card_id, i.cert_serial, i.holder, " \
	"i.mail, i.reader, i.operator, i.started, i.finished, i.outcome, " \
	"i.reason"

static int card_from_row(cs_db_stmt *st, cs_jcard *c)
{
	struct jr_cols k = {st, 0, CS_OK};
	char *state;

	memset(c, 0, sizeof(*c));
	c->id = jr_next_int(&k);
	c->chip_serial = jr_next_str(&k);
	c->pkcs15_serial = jr_next_str(&k);
	c->printed_no = jr_next_str(&k);
	c->atr = jr_next_str(&k);
	c->model = jr_next_str(&k);
	state = jr_next_str(&k);
	c->first_seen = jr_next_str(&k);
	c->last_seen = jr_next_str(&k);
	c->id_source = jr_next_str(&k);
	c->state = (cs_jcard_state)jr_name_index(jr_card_states,
	    JR_N(jr_card_states), state);
	free(state);
	if (k.err != CS_OK)
		cs_jcard_clear(c);
	return k.err;
}

void cs_jcard_clear(cs_jcard *c)
{
	if (c == NULL)
		return;
	free(c->chip_serial);
	free(c->pkcs15_serial);
	free(c->printed_no);
	free(c->atr);
	free(c->model);
	free(c->first_seen);
	free(c->last_seen);
	free(c->id_source);
	memset(c, 0, sizeof(*c));
}

/* Read the single card a prepared query yields. */
static int card_one(cs_journal *j, cs_db_stmt *st, cs_jcard *out)
{
	int r = jr_step(j, st);

	if (r == CS_DB_ROW)
		r = card_from_row(st, out);
	else if (r == CS_DB_DONE)
		r = CS_ERR_NOTFOUND;
	cs_db_finalize(st);
	return r;
}

int cs_journal_card_get(cs_journal *j, int64_t id, cs_jcard *out)
{
	cs_db_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = jr_prepare(j, &st, "SELECT " CARD_COLS " FROM cards WHERE "
	    "id = ?1", "i", id)) != CS_OK)
		return r;
	return card_one(j, st, out);
}

int cs_journal_card_find(cs_journal *j, cs_jkey key, const char *value,
    cs_jcard *out)
{
	const char *where;
	cs_db_stmt *st;
	char sql[256];
	int r;

	memset(out, 0, sizeof(*out));
	/* Chip and PKCS#15 serials in any case: ASCII folding on both
	 * databases (SQLite's NOCASE, the C collation's lower()). */
	switch (key) {
	case CS_JKEY_CHIP: where = "lower(chip_serial) = lower(?1)"; break;
	case CS_JKEY_PRINTED: where = "printed_no = ?1"; break;
	case CS_JKEY_PKCS15: where = "lower(pkcs15_serial) = lower(?1)"; break;
	default: return CS_ERR_USAGE;
	}
	if (value == NULL)
		return CS_ERR_USAGE;
	snprintf(sql, sizeof(sql), "SELECT " CARD_COLS " FROM cards WHERE %s "
	    "ORDER BY last_seen DESC, id DESC LIMIT 1", where);
	if ((r = jr_prepare(j, &st, sql, "s", value)) != CS_OK)
		return r;
	return card_one(j, st, out);
}

static int card_upsert_once(cs_journal *j, const cs_jcard *in, int64_t *id,
    char *why, size_t whylen)
{
	char now[JR_TIME_LEN];
	cs_db_stmt *st;
	int64_t cid = 0;
	int r;

	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	jr_now(now);
	if (in->chip_serial != NULL && *in->chip_serial != '\0') {
		if ((r = jr_prepare(j, &st, "SELECT id FROM cards WHERE "
		    "lower(chip_serial) = lower(?1)", "s", in->chip_serial)) !=
		    CS_OK) {
			r = jr_err(j, r, why, whylen, "cannot read cards");
			goto out;
		}
		if (cs_db_step(st) == CS_DB_ROW)
			cid = cs_db_column_int(st, 0);
		cs_db_finalize(st);
	}
	if (cid != 0) {
		r = jr_run(j, "UPDATE cards SET pkcs15_serial = coalesce(?2, "
		    "pkcs15_serial), printed_no = coalesce(?3, printed_no), "
		    "atr = coalesce(?4, atr), model = coalesce(?5, model), "
		    "last_seen = ?6, id_source = coalesce(?7, id_source) WHERE "
		    "id = ?1", "issssss", cid, in->pkcs15_serial, in->printed_no,
		    in->atr, in->model, now, in->id_source);
		if (r != CS_OK) {
			r = jr_err(j, r, why, whylen, "cannot update the card");
			goto out;
		}
		r = jr_event(j, "card.seen", "cards", cid, 0, 0, cid, NULL);
		goto out;
	}
	r = jr_run(j, "INSERT INTO cards (chip_serial, pkcs15_serial, "
	    "printed_no, atr, model, state, first_seen, last_seen, id_source) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) RETURNING id",
	    "ssssssss",
	    in->chip_serial && *in->chip_serial ? in->chip_serial : NULL,
	    in->pkcs15_serial, in->printed_no, in->atr, in->model,
	    cs_jcard_state_name(in->state), now, in->id_source);
	if (r != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot add the card");
		goto out;
	}
	cid = j->last_id;
	r = jr_event(j, "card.add", "cards", cid, 0, 0, cid, NULL);
out:
	r = jr_tx_leave(j, r, why, whylen);
	if (id != NULL)
		*id = r == CS_OK ? cid : 0;
	return r;
}

int cs_journal_card_upsert(cs_journal *j, const cs_jcard *in, int64_t *id,
    char *why, size_t whylen)
{
	JR_REDO_RETURN(j, card_upsert_once(j, in, id, why, whylen));
}

static int card_set_state_once(cs_journal *j, int64_t id, cs_jcard_state s,
    const char *reason, char *why, size_t whylen)
{
	int r;

	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	r = jr_run(j, "UPDATE cards SET state = ?2 WHERE id = ?1", "is", id,
	    cs_jcard_state_name(s));
	if (r != CS_OK)
		r = jr_err(j, r, why, whylen, "cannot change the card");
	else if (j->changes == 0) {
		jr_why(why, whylen, _("no card %" PRId64), id);
		r = CS_ERR_NOTFOUND;
	} else
		r = jr_event(j, "card.state", "cards", id, 0, 0, id, reason);
	return jr_tx_leave(j, r, why, whylen);
}

int cs_journal_card_set_state(cs_journal *j, int64_t id, cs_jcard_state s,
    const char *reason, char *why, size_t whylen)
{
	JR_REDO_RETURN(j, card_set_state_once(j, id, s, reason, why, whylen));
}

/* A change made of other calls of this API: they nest (as savepoints)
 * only inside a cs_journal_begin transaction, so one is opened when the
 * caller has none. */
static int compound_enter(cs_journal *j, bool *outer, char *why,
    size_t whylen)
{
	*outer = !j->in_tx;
	return *outer ? cs_journal_begin(j, why, whylen) :
	    jr_tx_enter(j, why, whylen);
}

static int compound_leave(cs_journal *j, bool outer, int r, char *why,
    size_t whylen)
{
	if (!outer)
		return jr_tx_leave(j, r, why, whylen);
	if (r != CS_OK) {
		cs_journal_rollback(j);
		return r;
	}
	return cs_journal_commit(j, why, whylen);
}

static int card_retire_once(cs_journal *j, int64_t id, const char *reason,
    int64_t *released, char *why, size_t whylen)
{
	bool outer;
	cs_db_stmt *st;
	char note[512];
	int64_t n = 0;
	int r;

	if (released != NULL)
		*released = 0;
	if ((r = compound_enter(j, &outer, why, whylen)) != CS_OK)
		return r;
	snprintf(note, sizeof(note), "its card was retired: %s",
	    reason ? reason : "it cannot be written again");
	/* A write in progress on it is over. */
	if ((r = jr_prepare(j, &st, "SELECT id FROM issuances WHERE card_id = "
	    "?1 AND outcome = 'writing'", "i", id)) != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot read the card's issuances");
		goto out;
	}
	while (r == CS_OK && cs_db_step(st) == CS_DB_ROW)
		r = cs_journal_issuance_end(j, cs_db_column_int(st, 0),
		    CS_JISSUE_FAILED, note, why, whylen);
	cs_db_finalize(st);
	if (r != CS_OK)
		goto out;
	/* Every record that waited for this card: free for any card now. */
	if ((r = jr_prepare(j, &st, "SELECT id, run_id FROM records WHERE "
	    "pending_card_id = ?1 AND state = 'queued'", "i", id)) != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot read the records");
		goto out;
	}
	while (r == CS_OK && cs_db_step(st) == CS_DB_ROW) {
		int64_t rid = cs_db_column_int(st, 0);
		int64_t run = cs_db_column_int(st, 1);

		r = jr_run(j, "UPDATE records SET pending_card_id = NULL, reason = "
		    "?2 WHERE id = ?1", "is", rid, note);
		if (r != CS_OK)
			r = jr_err(j, r, why, whylen, "cannot release the record");
		else if ((r = jr_event(j, "record.release", "records", rid, run,
		    rid, id, note)) == CS_OK)
			n++;
	}
	cs_db_finalize(st);
	if (r == CS_OK)
		r = cs_journal_card_set_state(j, id, CS_JCARD_RETIRED, reason, why,
		    whylen);
out:
	r = compound_leave(j, outer, r, why, whylen);
	if (released != NULL && r == CS_OK)
		*released = n;
	return r;
}

int cs_journal_card_retire(cs_journal *j, int64_t id, const char *reason,
    int64_t *released, char *why, size_t whylen)
{
	JR_REDO_RETURN(j, card_retire_once(j, id, reason, released, why,
	    whylen));
}

static int card_replaced_once(cs_journal *j, int64_t id, int64_t keep_id,
    char *why, size_t whylen)
{
	cs_jissuance keep;
	bool outer;
	cs_db_stmt *st;
	int r;

	if ((r = compound_enter(j, &outer, why, whylen)) != CS_OK)
		return r;
	if ((r = cs_journal_issuance_get(j, keep_id, &keep)) != CS_OK) {
		jr_why(why, whylen, _("no issuance %" PRId64), keep_id);
		goto out;
	}
	if ((r = jr_prepare(j, &st, "SELECT id, CASE WHEN (mail IS NOT NULL AND "
	    "?3 IS NOT NULL AND lower(mail) = lower(?3)) OR ((mail IS NULL OR ?3 "
	    "IS NULL) AND holder IS NOT NULL AND holder = ?4) THEN 1 ELSE 0 END "
	    "FROM issuances WHERE card_id = ?1 AND id <> ?2 AND outcome = "
	    "'verified'", "iiss", id, keep_id, keep.mail, keep.holder)) != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot read the card's issuances");
		goto out;
	}
	while (r == CS_OK && cs_db_step(st) == CS_DB_ROW) {
		int same = (int)cs_db_column_int(st, 1);
		char note[256];

		snprintf(note, sizeof(note), "%s: certificate %s (issuance %"
		    PRId64 ") was written onto the same card", same ?
		    "renewed" : "re-issued to another holder", keep.cert_serial,
		    keep_id);
		r = cs_journal_issuance_end(j, cs_db_column_int(st, 0), same ?
		    CS_JISSUE_SUPERSEDED : CS_JISSUE_WIPED, note, why, whylen);
	}
	cs_db_finalize(st);
out:
	cs_jissuance_clear(&keep);
	return compound_leave(j, outer, r, why, whylen);
}

int cs_journal_card_replaced(cs_journal *j, int64_t id, int64_t keep_id,
    char *why, size_t whylen)
{
	JR_REDO_RETURN(j, card_replaced_once(j, id, keep_id, why, whylen));
}

/* --- issuances ------------------------------------------------------ */

static int issuance_fill(struct jr_cols *c, cs_jissuance *i)
{
	char *outcome;

	i->id = jr_next_int(c);
	i->record_id = jr_next_int(c);
	i->card_id = jr_next_int(c);
	i->cert_serial = jr_next_str(c);
	i->holder = jr_next_str(c);
	i->mail = jr_next_str(c);
	i->reader = jr_next_str(c);
	i->operator_name = jr_next_str(c);
	i->started = jr_next_str(c);
	i->finished = jr_next_str(c);
	outcome = jr_next_str(c);
	i->reason = jr_next_str(c);
	i->outcome = (cs_jissue_outcome)cs_jissue_outcome_parse(outcome);
	free(outcome);
	return c->err;
}

void cs_jissuance_clear(cs_jissuance *i)
{
	if (i == NULL)
		return;
	free(i->cert_serial);
	free(i->holder);
	free(i->mail);
	free(i->reader);
	free(i->operator_name);
	free(i->started);
	free(i->finished);
	free(i->reason);
	memset(i, 0, sizeof(*i));
}

void cs_jissuance_view_clear(cs_jissuance_view *v)
{
	if (v == NULL)
		return;
	cs_jissuance_clear(&v->iss);
	free(v->chip_serial);
	free(v->pkcs15_serial);
	free(v->printed_no);
	free(v->not_after);
	memset(v, 0, sizeof(*v));
}

int cs_journal_issuance_get(cs_journal *j, int64_t id, cs_jissuance *out)
{
	cs_db_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = jr_prepare(j, &st, "SELECT " ISS_COLS " FROM issuances i "
	    "WHERE i.id = ?1", "i", id)) != CS_OK)
		return r;
	if ((r = jr_step(j, st)) == CS_DB_ROW) {
		struct jr_cols c = {st, 0, CS_OK};

		if ((r = issuance_fill(&c, out)) != CS_OK)
			cs_jissuance_clear(out);
	} else if (r == CS_DB_DONE)
		r = CS_ERR_NOTFOUND;
	cs_db_finalize(st);
	return r;
}

/* Say which card holds a certificate the database refused twice. */
static void explain_live(cs_journal *j, const char *serial, char *why,
    size_t whylen)
{
	cs_jcard card;
	int64_t iss = 0;

	if (cs_journal_cert_live_card(j, serial, &card, &iss) != CS_OK) {
		jr_why(why, whylen, _("certificate %s is already live on a card"),
		    serial);
		return;
	}
	jr_why(why, whylen, _("certificate %s is already live on card %" PRId64
	    " (chip %s, printed %s; issuance %" PRId64 "): it is never put on "
	    "two cards"), serial, card.id, card.chip_serial ? card.chip_serial :
	    "-", card.printed_no ? card.printed_no : "-", iss);
	cs_jcard_clear(&card);
}

static int issuance_begin_once(cs_journal *j, const cs_jissuance *in,
    int64_t *id, char *why, size_t whylen)
{
	const char *serial = jr_serial(in->cert_serial);
	char now[JR_TIME_LEN];
	cs_db_stmt *st;
	int64_t iid = 0, run_id = 0;
	int r, rc;

	if (serial == NULL || *serial == '\0') {
		jr_why(why, whylen, _("an issuance needs the certificate serial"));
		return CS_ERR_USAGE;
	}
	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	if ((r = jr_prepare(j, &st, "SELECT state, run_id, CASE WHEN owner_id "
	    "IS NOT DISTINCT FROM ?2 THEN 1 ELSE 0 END FROM records WHERE id = ?1",
	    "in", in->record_id, j->owner_id)) != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot read the record");
		goto out;
	}
	if ((rc = cs_db_step(st)) != CS_DB_ROW) {
		if (rc < 0)
			r = jr_err(j, rc, why, whylen, "cannot read the record");
		else {
			jr_why(why, whylen, _("no record %" PRId64), in->record_id);
			r = CS_ERR_NOTFOUND;
		}
	} else if (strcmp(cs_db_column_text(st, 0), "claimed") != 0) {
		jr_why(why, whylen, _("record %" PRId64 " is %s: claim it before "
		    "writing a card"), in->record_id, cs_db_column_text(st, 0));
		r = CS_ERR_STATE;
	} else if (cs_db_column_int(st, 2) == 0) {
		/* Another station judged this one gone and took the claim back:
		 * writing now could put its certificate on two cards. */
		jr_why(why, whylen, _("record %" PRId64 " is no longer claimed by "
		    "this station"), in->record_id);
		r = CS_ERR_STATE;
	} else
		run_id = cs_db_column_int(st, 1);
	cs_db_finalize(st);
	if (r != CS_OK)
		goto out;
	jr_now(now);
	/* In a savepoint: the database's refusal is explained with another
	 * query, which PostgreSQL runs only after the failed statement is
	 * rolled back. */
	if ((r = cs_db_exec(j->db, "SAVEPOINT cs_step")) != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot start the issuance");
		goto out;
	}
	r = jr_run(j, "INSERT INTO issuances (record_id, card_id, cert_serial, "
	    "holder, mail, reader, operator, started, outcome) SELECT ?1, ?2, ?3, "
	    "coalesce(?4, holder), coalesce(?5, mail), coalesce(?6, claimed_by, ?9), "
	    "?7, ?8, 'writing' FROM records WHERE id = ?1 RETURNING id",
	    "iisssssss", in->record_id, in->card_id, serial, in->holder, in->mail,
	    in->reader, in->operator_name ? in->operator_name : j->operator_name,
	    now, j->reader);
	if (r != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot start the issuance");
		cs_db_exec(j->db, "ROLLBACK TO cs_step");
		if (r == CS_ERR_MISMATCH)
			explain_live(j, serial, why, whylen);
		else if (r == CS_ERR_NOTFOUND)
			jr_why(why, whylen, _("no card %" PRId64), in->card_id);
		goto out;
	}
	/* Not released: the commit ends it (a round trip less). */
	iid = j->last_id;
	r = jr_event(j, "issuance.begin", "issuances", iid, run_id,
	    in->record_id, in->card_id, NULL);
out:
	r = jr_tx_leave(j, r, why, whylen);
	if (id != NULL)
		*id = r == CS_OK ? iid : 0;
	return r;
}

int cs_journal_issuance_begin(cs_journal *j, const cs_jissuance *in,
    int64_t *id, char *why, size_t whylen)
{
	JR_REDO_RETURN(j, issuance_begin_once(j, in, id, why, whylen));
}

static bool may_end(cs_jissue_outcome from, cs_jissue_outcome to)
{
	if (from == CS_JISSUE_WRITING)
		return to == CS_JISSUE_VERIFIED || to == CS_JISSUE_FAILED ||
		    to == CS_JISSUE_INTERRUPTED;
	if (from == CS_JISSUE_VERIFIED)
		return to == CS_JISSUE_WIPED || to == CS_JISSUE_REVOKED ||
		    to == CS_JISSUE_SUPERSEDED;
	return false;
}

static int issuance_end_once(cs_journal *j, int64_t id, cs_jissue_outcome o,
    const char *reason, char *why, size_t whylen)
{
	cs_jissuance iss;
	char now[JR_TIME_LEN];
	cs_db_stmt *st;
	int64_t run_id = 0;
	int r;

	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	if ((r = cs_journal_issuance_get(j, id, &iss)) != CS_OK) {
		jr_why(why, whylen, _("no issuance %" PRId64), id);
		goto out;
	}
	if (!may_end(iss.outcome, o)) {
		jr_why(why, whylen, _("issuance %" PRId64 " is %s; it cannot become %s"),
		    id, cs_jissue_outcome_name(iss.outcome),
		    cs_jissue_outcome_name(o));
		r = CS_ERR_STATE;
		goto out;
	}
	jr_now(now);
	r = jr_run(j, "UPDATE issuances SET outcome = ?2, reason = ?3, "
	    "finished = coalesce(finished, ?4) WHERE id = ?1", "isss", id,
	    cs_jissue_outcome_name(o), reason, now);
	if (r != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot end the issuance");
		goto out;
	}
	if ((r = jr_prepare(j, &st, "SELECT run_id FROM records WHERE id = ?1",
	    "i", iss.record_id)) == CS_OK) {
		if ((r = cs_db_step(st)) == CS_DB_ROW)
			run_id = cs_db_column_int(st, 0);
		cs_db_finalize(st);
	}
	if (r < 0)
		goto out;
	r = jr_event(j, o == CS_JISSUE_VERIFIED || o == CS_JISSUE_FAILED ||
	    o == CS_JISSUE_INTERRUPTED ? "issuance.end" : "issuance.change",
	    "issuances", id, run_id, iss.record_id, iss.card_id, reason);
out:
	cs_jissuance_clear(&iss);
	return jr_tx_leave(j, r, why, whylen);
}

int cs_journal_issuance_end(cs_journal *j, int64_t id, cs_jissue_outcome o,
    const char *reason, char *why, size_t whylen)
{
	JR_REDO_RETURN(j, issuance_end_once(j, id, o, reason, why, whylen));
}

/* The time days from now as records keep not_after ("2027-03-31
 * 14:59:59Z", cs_p12): text in that form sorts and compares as time. */
static void days_from_now(int64_t days, char out[JR_TIME_LEN])
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, JR_TIME_LEN, "%Y-%m-%d %H:%M:%SZ", &tm);
}

int cs_journal_issuances(cs_journal *j, const cs_jfilter *f,
    cs_jissuance_fn fn, void *ctx)
{
	cs_db_stmt *st;
	cs_jissuance_view v;
	char sql[1536], limit[JR_TIME_LEN];
	int rc = CS_DB_DONE, r = CS_OK;

	days_from_now(f->expiring ? f->expiring_days : 0, limit);
	/* LEFT JOINs: a search must still show an issuance whose card or
	 * record row is damaged; `log check` tells why. */
	snprintf(sql, sizeof(sql), "SELECT " ISS_COLS ", r.run_id, "
	    "c.chip_serial, c.pkcs15_serial, c.printed_no, r.not_after FROM "
	    "issuances i LEFT JOIN records r ON r.id = i.record_id "
	    "LEFT JOIN cards c ON c.id = i.card_id WHERE "
	    "(?1 IS NULL OR %s(lower(i.holder), lower(?1)) > 0) AND "
	    "(?2 IS NULL OR lower(i.mail) = lower(?2)) AND "
	    "(?3 IS NULL OR i.cert_serial = ?3) AND "
	    "(?4 IS NULL OR lower(c.chip_serial) = lower(?4)) AND "
	    "(?5 IS NULL OR c.printed_no = ?5) AND "
	    "(?6 IS NULL OR r.run_id = ?6) AND "
	    "(?7 IS NULL OR i.card_id = ?7) AND "
	    "(?8 = 0 OR i.outcome IN ('writing', 'verified')) AND "
	    "(?9 = 0 OR (i.outcome = 'verified' AND r.not_after <= ?10)) "
	    "ORDER BY CASE WHEN ?9 <> 0 THEN r.not_after END, i.id", jr_instr(j));
	if ((r = jr_prepare(j, &st, sql, "sssssnniis", f->holder, f->mail,
	    jr_serial(f->cert_serial), f->chip_serial, f->printed_no, f->run_id,
	    f->card_id, (int64_t)f->live_only, (int64_t)f->expiring, limit)) !=
	    CS_OK)
		return r;
	while (r == CS_OK && (rc = jr_step(j, st)) == CS_DB_ROW) {
		struct jr_cols c = {st, 0, CS_OK};

		memset(&v, 0, sizeof(v));
		issuance_fill(&c, &v.iss);
		v.run_id = jr_next_int(&c);
		v.chip_serial = jr_next_str(&c);
		v.pkcs15_serial = jr_next_str(&c);
		v.printed_no = jr_next_str(&c);
		v.not_after = jr_next_str(&c);
		if ((r = c.err) == CS_OK)
			r = fn(ctx, &v);
		cs_jissuance_view_clear(&v);
	}
	if (r == CS_OK && rc != CS_DB_DONE)
		r = rc;
	cs_db_finalize(st);
	return r;
}

int cs_journal_cert_live_card(cs_journal *j, const char *cert_serial,
    cs_jcard *card, int64_t *issuance_id)
{
	cs_db_stmt *st;
	int r;

	memset(card, 0, sizeof(*card));
	if ((r = jr_prepare(j, &st, "SELECT c.id, c.chip_serial, "
	    "c.pkcs15_serial, c.printed_no, c.atr, c.model, c.state, "
	    "c.first_seen, c.last_seen, c.id_source, i.id FROM issuances i "
	    "JOIN cards c ON "
	    "c.id = i.card_id WHERE i.cert_serial = ?1 AND i.outcome IN "
	    "('writing', 'verified')", "s", jr_serial(cert_serial))) != CS_OK)
		return r;
	if ((r = jr_step(j, st)) == CS_DB_ROW) {
		r = card_from_row(st, card);
		if (issuance_id != NULL)
			*issuance_id = cs_db_column_int(st, 10);
	} else if (r == CS_DB_DONE)
		r = CS_ERR_NOTFOUND;
	cs_db_finalize(st);
	return r;
}
