/* cs_worker.c - one reader's worker: wait for a card, bind it to a record,
 * write, check, journal. See cs_run.h for the story of a card. */
#include "cs_card.h"
#include "cs_codes.h"
#include "cs_err.h"
#include "cs_i18n.h"
#include "cs_pairing.h"
#include "cs_piv.h"
#include "cs_profile.h"
#include "cs_reader.h"
#include "cs_run_int.h"
#include "cs_token.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define STEPS 5

struct worker {
	const cs_worker_args *a;
	const cs_run_opts *o;
	cs_journal *j;
	cs_bundle *b;
	cs_bundle_opts bopts;
	cs_jrun run;
	SCARDCONTEXT ctx;
	cs_profile *profiles;
	size_t nprofiles;
	cs_pairing pairing;       /* pairing-list mode */
	char ctl[512];     /* unread answer bytes from the coordinator */
	size_t ctllen;
	int quit;
	cs_msg m;          /* why the card failed, as a code, when known */
};

/* Everything known of the card in the reader now. */
struct card {
	cs_card_id id;
	cs_profile prof;
	const cs_profile *profile; /* &prof once known */
	cs_applet_state applet;
	cs_jcard j;        /* from the journal; id 0 if new */
	cs_jrecord rec;    /* claimed record */
	int64_t iss_id;
	char printed[128];
	int token_started; /* pkcs15-init (or the PIV writer) was started */
};

static void send_ev(struct worker *w, cs_run_event *ev)
{
	cs_wire_send(w->a->ev_fd, ev);
}

/* A reader's state: its code (cs_codes.h), and another part's words
 * (detail) when they say why. */
static void reader_state(struct worker *w, const char *state, const char *code,
    const char *detail)
{
	cs_msg m;
	char text[1024];
	cs_run_event ev = {.kind = CS_EV_READER, .state = state, .code = code,
	    .detail = detail};

	cs_msg_set(&m, code, NULL);
	if (detail != NULL)
		snprintf(m.detail, sizeof(m.detail), "%s", detail);
	ev.text = cs_msg_text(&m, text, sizeof(text));
	send_ev(w, &ev);
}

static void step(struct worker *w, const struct card *c, int n, const char *state,
    const char *code)
{
	char text[256];
	cs_run_event ev = {.kind = CS_EV_STEP, .state = state, .step = n,
	    .steps = STEPS, .code = code};

	ev.text = cs_code_text(code, NULL, text, sizeof(text));
	ev.chip_serial = c->id.chip_serial;
	ev.holder = c->rec.holder;
	ev.cert_serial = c->rec.serial;
	send_ev(w, &ev);
}

/* A card that failed: m says why (a code and its parameters), what to do
 * next and another part's words. The journal keeps the code. */
static void failed_msg(struct worker *w, const struct card *c, const cs_msg *m)
{
	char text[1024], note[1400];
	cs_run_event ev = {.kind = CS_EV_FAILED, .state = "failed"};

	ev.text = cs_msg_text(m, text, sizeof(text));
	ev.code = m->code;
	ev.params = m->params;
	ev.advice = m->advice;
	ev.detail = m->detail[0] ? m->detail : NULL;
	ev.chip_serial = c->id.chip_serial[0] ? c->id.chip_serial : NULL;
	ev.holder = c->rec.holder;
	ev.mail = c->rec.mail;
	ev.cert_serial = c->rec.serial;
	ev.profile = c->profile ? c->profile->name : NULL;
	send_ev(w, &ev);
	if (w->j != NULL)
		cs_journal_note(w->j, w->run.id, c->j.id, "card.failed",
		    cs_msg_record(m, note, sizeof(note)), NULL, 0);
}

/* The same from parts: failed(w, c, advice, detail, code, name, value,
 * ..., NULL). */
static void failed(struct worker *w, const struct card *c, const char *advice,
    const char *detail, const char *code, ...)
{
	cs_msg m;
	va_list ap;

	memset(&m, 0, sizeof(m));
	m.code = code;
	m.advice = advice;
	if (detail != NULL)
		snprintf(m.detail, sizeof(m.detail), "%s", detail);
	va_start(ap, code);
	cs_params_vpack(m.params, sizeof(m.params), ap);
	va_end(ap);
	failed_msg(w, c, &m);
}

/* Say why in code (into w->m) and in words (into why). */
static void say(struct worker *w, char *why, size_t whylen, const char *advice,
    const char *code, ...)
{
	va_list ap;

	memset(&w->m, 0, sizeof(w->m));
	w->m.code = code;
	w->m.advice = advice;
	va_start(ap, code);
	cs_params_vpack(w->m.params, sizeof(w->m.params), ap);
	va_end(ap);
	cs_code_text(code, w->m.params, why, whylen);
}

/* ---- answers from the coordinator ---- */

/* One answer line; 0 when none came within timeout_ms, -1 on EOF. */
static int read_answer(struct worker *w, int timeout_ms, char *line, size_t len)
{
	for (;;) {
		char *nl = memchr(w->ctl, '\n', w->ctllen);
		struct pollfd p = {w->a->ctl_fd, POLLIN, 0};
		ssize_t n;

		if (nl != NULL) {
			size_t l = (size_t)(nl - w->ctl);

			snprintf(line, len, "%.*s", (int)l, w->ctl);
			memmove(w->ctl, nl + 1, w->ctllen - l - 1);
			w->ctllen -= l + 1;
			if (strcmp(line, "Q") == 0) {
				w->quit = 1;
				continue;
			}
			return 1;
		}
		if (poll(&p, 1, timeout_ms) <= 0)
			return 0;
		n = read(w->a->ctl_fd, w->ctl + w->ctllen, sizeof(w->ctl) - w->ctllen);
		if (n <= 0) {
			w->quit = 1;
			return -1;
		}
		w->ctllen += (size_t)n;
		timeout_ms = 0;
	}
}

static void check_quit(struct worker *w)
{
	char line[256];

	while (read_answer(w, 0, line, sizeof(line)) > 0)
		; /* a stale answer to a card that is gone */
}

/* ---- choosing ---- */

struct find_ctx {
	int64_t live_record, last_record;
	int live;
	char holder[128];
};

static int on_issuance(void *ctx, const cs_jissuance_view *v)
{
	struct find_ctx *f = ctx;

	if (v->iss.outcome == CS_JISSUE_VERIFIED || v->iss.outcome ==
	    CS_JISSUE_WRITING) {
		f->live = 1;
		f->live_record = v->iss.record_id;
		snprintf(f->holder, sizeof(f->holder), "%s",
		    v->iss.holder ? v->iss.holder : "?");
	}
	f->last_record = v->iss.record_id;
	return 0;
}

/* What PC/SC says of the reader now: INSERTED, REMOVED, or 0 when it
 * cannot tell. */
static cs_reader_event card_state(struct worker *w)
{
	cs_reader_watch rw;
	cs_reader_event re;

	cs_reader_watch_init(&rw, w->a->reader);
	return cs_reader_wait(w->ctx, &rw, 0, &re) == CS_OK ? re : 0;
}

static int confirm(struct worker *w, struct card *c);

/* Pairing-list mode: the list names the person for this card. */
static int claim_paired(struct worker *w, struct card *c, char *why,
    size_t whylen)
{
	const cs_pair *p = cs_pairing_by_chip(&w->pairing, c->id.chip_serial);

	if (p == NULL && w->o->confirm_printed && confirm(w, c) == CS_OK)
		p = cs_pairing_by_printed(&w->pairing, c->printed);
	if (p == NULL) {
		say(w, why, whylen, "advice.check-pairing", c->printed[0] ?
		    "card.not-paired-printed" : "card.not-paired", "chip",
		    c->id.chip_serial, "printed", c->printed, NULL);
		return CS_ERR_NOTFOUND;
	}
	if (p->printed_no[0] != '\0')
		snprintf(c->printed, sizeof(c->printed), "%s", p->printed_no);
	return cs_journal_record_claim(w->j, w->run.id, cs_pair_is_mail(p) ?
	    CS_JKEY_MAIL : CS_JKEY_STAFF_NO, p->person, w->a->reader, &c->rec,
	    why, whylen);
}

/* The record this card must carry (a card left half written), the next
 * one of the queue, or the pairing list's. */
static int claim_record(struct worker *w, struct card *c, char *why,
    size_t whylen)
{
	struct find_ctx f = {0};
	cs_jfilter filt = {.card_id = c->j.id};
	int r;

	if (c->j.id != 0) {
		cs_jrecord pend;

		/* The only guard against rewriting a card that holds a live
		 * certificate: a journal that cannot answer refuses the card. */
		if ((r = cs_journal_issuances(w->j, &filt, on_issuance, &f)) != CS_OK) {
			say(w, why, whylen, "advice.doctor", "card.journal-holds",
			    NULL);
			snprintf(w->m.detail, sizeof(w->m.detail), "%s",
			    cs_strerror(r));
			return r;
		}
		if (f.live && !w->o->reissue) {
			say(w, why, whylen, "advice.issued", "card.issued", "holder",
			    f.holder, NULL);
			return CS_ERR_STATE;
		}
		if (f.last_record != 0 &&
		    cs_journal_record_get(w->j, f.last_record, &pend) == CS_OK) {
			int mine = pend.state == CS_JREC_QUEUED &&
			    pend.pending_card_id == c->j.id && pend.run_id == w->run.id;

			if (mine)
				r = cs_journal_record_claim(w->j, w->run.id,
				    CS_JKEY_SERIAL, pend.serial, w->a->reader, &c->rec,
				    why, whylen);
			cs_jrecord_clear(&pend);
			if (mine)
				return r;
		}
	}
	if (w->run.mode == CS_JMODE_PAIRING)
		return claim_paired(w, c, why, whylen);
	{
		/* Only what this card can hold: a record for another kind of
		 * card waits for one. */
		char types[CS_PROFILE_MAX_KEY_TYPES * 25] = "";
		size_t n = 0;

		for (unsigned k = 0; k < c->profile->nkey_types; k++)
			n += (size_t)snprintf(types + n, sizeof(types) - n, "%s%s",
			    k ? "," : "", c->profile->key_types[k]);
		return cs_journal_record_claim_next(w->j, w->run.id, w->a->reader,
		    types, &c->rec, why, whylen);
	}
}

/* Queue mode: the operator confirms with the printed card number. */
static int confirm(struct worker *w, struct card *c)
{
	cs_run_event ev = {.kind = CS_EV_CONFIRM, .state = "confirm"};
	char line[256];
	int got;

	ev.chip_serial = c->id.chip_serial;
	ev.holder = c->rec.holder;
	ev.mail = c->rec.mail;
	ev.staff_no = c->rec.staff_no;
	ev.cert_serial = c->rec.serial;
	send_ev(w, &ev);
	while ((got = read_answer(w, 500, line, sizeof(line))) == 0)
		if (card_state(w) == CS_READER_EV_REMOVED)
			return CS_ERR_NOTFOUND;
	/* A printed number that does not fit is refused, never cut. */
	if (got < 0 || line[0] != 'C' || strlen(line + 2) >= sizeof(c->printed))
		return CS_ERR_STATE;
	memcpy(c->printed, line + 2, strlen(line + 2) + 1);
	return CS_OK;
}

/* ---- the journal around the write ---- */

static int journal_begin_once(struct worker *w, struct card *c, char *why,
    size_t whylen)
{
	cs_jcard jc = {0};
	cs_jissuance iss = {0};
	int64_t card_id;
	int r;

	jc.chip_serial = c->id.chip_serial;
	jc.id_source = c->id.source == CS_CARD_ID_ASSIGNED ?
	    CS_JCARD_ID_ASSIGNED : CS_JCARD_ID_CPLC;
	jc.atr = c->id.atr;
	jc.model = (char *)c->profile->name;
	jc.printed_no = c->printed[0] ? c->printed : NULL;
	jc.state = CS_JCARD_PARTIAL;
	if ((r = cs_journal_begin(w->j, why, whylen)) != CS_OK)
		return r;
	if ((r = cs_journal_card_upsert(w->j, &jc, &card_id, why, whylen)) == CS_OK &&
	    c->j.id != 0 && c->j.state != CS_JCARD_PARTIAL)
		r = cs_journal_card_set_state(w->j, card_id, CS_JCARD_PARTIAL,
		    "being written", why, whylen);
	iss.record_id = c->rec.id;
	iss.card_id = card_id;
	iss.cert_serial = c->rec.serial;
	iss.holder = c->rec.holder;
	iss.mail = c->rec.mail;
	iss.reader = (char *)w->a->reader;
	iss.operator_name = (char *)w->o->operator_name;
	if (r == CS_OK)
		r = cs_journal_issuance_begin(w->j, &iss, &c->iss_id, why, whylen);
	if (r == CS_OK)
		r = cs_journal_commit(w->j, why, whylen);
	else
		cs_journal_rollback(w->j);
	if (r == CS_OK) /* a new card's row exists only once committed */
		c->j.id = card_id;
	return r;
}

/* A transaction the journal server's loss cut before its commit is done
 * again, whole, once the server is back (cs_journal_redo). */
static int journal_begin(struct worker *w, struct card *c, char *why,
    size_t whylen)
{
	int r;

	while ((r = journal_begin_once(w, c, why, whylen)) != CS_OK &&
	    cs_journal_redo(w->j))
		;
	return r;
}

static int journal_done_once(struct worker *w, struct card *c,
    const cs_token_check_result *res, char *why, size_t whylen)
{
	cs_jcard jc = {0};
	int64_t id;
	int r;

	jc.chip_serial = c->id.chip_serial;
	jc.pkcs15_serial = (char *)res->pkcs15_serial;
	if ((r = cs_journal_begin(w->j, why, whylen)) != CS_OK)
		return r;
	if ((r = cs_journal_card_upsert(w->j, &jc, &id, why, whylen)) == CS_OK)
		r = cs_journal_card_set_state(w->j, c->j.id, CS_JCARD_ISSUED, NULL,
		    why, whylen);
	if (r == CS_OK)
		r = cs_journal_issuance_end(w->j, c->iss_id, CS_JISSUE_VERIFIED,
		    NULL, why, whylen);
	/* A re-issue: what the card held before is no longer on it. */
	if (r == CS_OK)
		r = cs_journal_card_replaced(w->j, c->j.id, c->iss_id, why, whylen);
	if (r == CS_OK)
		r = cs_journal_record_done(w->j, c->rec.id, c->j.id, why, whylen);
	if (r == CS_OK)
		r = cs_journal_commit(w->j, why, whylen);
	else
		cs_journal_rollback(w->j);
	return r;
}

static int journal_done(struct worker *w, struct card *c,
    const cs_token_check_result *res, char *why, size_t whylen)
{
	int r;

	while ((r = journal_done_once(w, c, res, why, whylen)) != CS_OK &&
	    cs_journal_redo(w->j))
		;
	return r;
}

/* A card that failed for good (for_good) is retired and its record goes
 * back to the queue free for the next card, as does the record of a card
 * known to hold nothing of it (nothing_on_it). Otherwise the card stays
 * 'partial' and the record goes back to the queue tied to
 * it: no other card may take that certificate until this one is redone.
 * A record that failed before any write for a reason every card would
 * meet (problem set) is set aside, so the queue moves on; any other goes
 * back to the queue. */
static void journal_failed(struct worker *w, struct card *c,
    const char *problem, int for_good, int nothing_on_it, const char *reason)
{
	char why[256];

	if (cs_journal_begin(w->j, why, sizeof(why)) != CS_OK)
		return;
	if (for_good && c->j.id != 0) {
		/* Never writable again: nobody may wait for it. */
		if (c->iss_id != 0)
			cs_journal_issuance_end(w->j, c->iss_id, CS_JISSUE_FAILED,
			    reason, why, sizeof(why));
		cs_journal_record_release(w->j, c->rec.id, reason, why,
		    sizeof(why));
		cs_journal_card_retire(w->j, c->j.id, reason, NULL, why,
		    sizeof(why));
	} else if (c->iss_id != 0) {
		cs_journal_issuance_end(w->j, c->iss_id, CS_JISSUE_FAILED, reason,
		    why, sizeof(why));
		if (nothing_on_it)
			cs_journal_record_release(w->j, c->rec.id, reason, why,
			    sizeof(why));
		else
			cs_journal_record_release_pending(w->j, c->rec.id, c->j.id,
			    reason, why, sizeof(why));
	} else if (problem != NULL)
		cs_journal_record_set_aside(w->j, c->rec.id, problem, reason, why,
		    sizeof(why));
	else
		cs_journal_record_release(w->j, c->rec.id, reason, why, sizeof(why));
	cs_journal_commit(w->j, why, sizeof(why));
}

/* ---- the card ---- */

static const cs_record *bundle_record(const cs_bundle *b, const char *serial)
{
	for (size_t i = 0; i < b->nrec; i++)
		if (strcmp(b->rec[i].serial, serial) == 0 &&
		    b->rec[i].problem == CS_PROBLEM_NONE)
			return &b->rec[i];
	return NULL;
}

static int card_secrets(struct worker *w, const cs_profile *p, cs_secret **pin,
    cs_secret **puk, char *why, size_t whylen)
{
	/* The institution PUK of this card's profile (a run mixing card
	 * families has one per profile), else a random one. */
	const cs_secret *ipuk = cs_run_puk_for(w->o, p->name);
	int r;

	if (w->o->pin != NULL)
		r = cs_secret_from(pin, w->o->pin->buf, w->o->pin->len);
	else
		r = cs_profile_random_pin(p, pin);
	if (r == CS_OK) {
		if (ipuk != NULL)
			r = cs_secret_from(puk, ipuk->buf, ipuk->len);
		else
			r = cs_profile_random_puk(p, puk);
	}
	if (r != CS_OK) {
		say(w, why, whylen, "advice.stop-doctor", "card.no-secrets", NULL);
		return r;
	}
	/* A PIN or PUK typed at run start must suit this card's profile. */
	if ((r = cs_profile_check_pin(p, cs_secret_str(*pin), why, whylen)) != CS_OK ||
	    (r = cs_profile_check_puk(p, cs_secret_str(*puk), why, whylen)) != CS_OK) {
		char sub[200];

		snprintf(sub, sizeof(sub), "%s", why);
		say(w, why, whylen, "advice.new-pin", "card.pin-unfit", "profile",
		    p->name, NULL);
		snprintf(w->m.detail, sizeof(w->m.detail), "%s", sub);
	}
	return r;
}

/* A card given a new identity for this write that does not carry it now
 * (the write stopped before pkcs15-init made its TokenInfo): it will be
 * known by another identity when it comes back, so no record may wait for
 * this one. Nothing of the record reached it either: the key goes in only
 * after the PKCS#15 application exists. A card that cannot be read (pulled
 * out) is not judged. */
static int identity_lost(struct worker *w, const struct card *c)
{
	cs_applet_state st;
	cs_card_id id = c->id;
	char why[256];

	if (c->id.source != CS_CARD_ID_ASSIGNED || !c->id.assigned_now)
		return 0;
	/* A PIV card keeps it in its CHUID, written and read back before
	 * anything of the record (cs_piv_write): without it, it holds
	 * nothing of the record. */
	if (cs_piv_is_profile(c->profile)) {
		id.chip_serial[0] = '\0';
		return cs_piv_identity(w->ctx, w->a->reader, &id, why,
		    sizeof(why)) == CS_OK &&
		    strcmp(id.chip_serial, c->id.chip_serial) != 0;
	}
	if (cs_card_applet_state(w->ctx, w->a->reader, c->profile->match_aid,
	    &st, why, sizeof(why)) != CS_OK)
		return 0;
	if (!st.has_pkcs15)
		return 1;
	return cs_card_identity(w->ctx, w->a->reader, c->profile, &st, &id,
	    NULL, why, sizeof(why)) == CS_OK &&
	    strcmp(id.chip_serial, c->id.chip_serial) != 0;
}

/* Whether the written card's TokenInfo serial holds an assigned identity
 * (a chip serial is the chip's whatever TokenInfo says). */
static int carries_identity(const struct card *c,
    const cs_token_check_result *res)
{
	char want[32];

	if (c->id.source != CS_CARD_ID_ASSIGNED)
		return 1;
	cs_card_token_serial(c->id.chip_serial, want, sizeof(want));
	return strcasecmp(want, res->pkcs15_serial) == 0;
}

/* Bring the card to where pkcs15-init can write it, then write. */
static int write_card(struct worker *w, struct card *c, cs_p12 *p12,
    const char *pin, const char *puk, cs_token_check_result *res, char *why,
    size_t whylen)
{
	const cs_profile *pf = c->profile;
	cs_token_write_args wa = {.reader = w->a->reader, .profile = pf,
	    .key = p12->key, .cert = p12->cert, .chain = p12->chain,
	    .pin = pin, .puk = puk};
	char serial[32];
	int r;

	/* A PIV card: written through libykpiv and checked (res) in the same
	 * session (cs_piv.h). */
	if (cs_piv_is_profile(pf)) {
		c->token_started = 1;
		wa.rekey = c->applet.pin_set; /* not in its factory state */
		memset(res, 0, sizeof(*res));
		/* A serial: written, and the check found a fault. */
		if ((r = cs_piv_write(w->ctx, &wa, c->id.chip_serial, res, why,
		    whylen)) != CS_OK && res->pkcs15_serial[0] != '\0')
			w->m.code = "card.check-failed";
		return r;
	}
	/* TokenInfo carries the card's identity (the chip serial, or the one
	 * the station assigned): OpenSC reports it as the token's serial
	 * number, so any PKCS#11 application sees which card this is. */
	cs_card_token_serial(c->id.chip_serial, serial, sizeof(serial));
	wa.serial = serial;

	if (c->applet.pin_set) {
		/* Personalised before (a re-issue or a card left half done
		 * after its PIN was set): the applet keeps its PIN and PUK for
		 * life, so the PUK sets a new PIN and key and certificate are
		 * replaced. */
		int puk_tries, dropped;

		if (!c->applet.has_pkcs15) {
			say(w, why, whylen, "advice.retired-record",
			    "card.needs-reinstall", NULL);
			return CS_ERR_STATE;
		}
		if (cs_run_puk_for(w->o, pf->name) == NULL) {
			say(w, why, whylen, "advice.restart-puk", "card.needs-puk",
			    NULL);
			return CS_ERR_STATE;
		}
		if ((r = cs_card_reset_pin_tries(w->ctx, w->a->reader,
		    pf->match_aid, puk, pin, &puk_tries, why, whylen)) != CS_OK) {
			/* No PUK try left: nobody can ever set a PIN on it. */
			if (puk_tries == 0) {
				char sub[512];

				snprintf(sub, sizeof(sub), "%s", why);
				say(w, why, whylen, "advice.retired-record",
				    "card.puk-blocked", NULL);
				snprintf(w->m.detail, sizeof(w->m.detail), "%s", sub);
			}
			return r;
		}
		/* The old key's and certificate's directory files go: pkcs15-init
		 * makes them anew at the new content's size (a renewal's longer
		 * certificate does not fit the old CDF). */
		if ((r = cs_card_drop_object_dfs(w->ctx, w->a->reader,
		    pf->match_aid, pin, &dropped, why, whylen)) != CS_OK)
			return r;
		wa.rekey = 1;
	} else {
		int was_set;

		if (c->applet.p15_df &&
		    (r = cs_card_erase_pkcs15(w->ctx, w->a->reader, pf->match_aid,
		    NULL, why, whylen)) != CS_OK)
			return r;
		/* The PUK goes first, by the station itself, and pkcs15-init only
		 * sets the PIN: a write stopped between the two (the applet then
		 * refuses a second PUK) can be finished. */
		if ((r = cs_card_set_puk(w->ctx, w->a->reader, pf->match_aid, puk,
		    &was_set, why, whylen)) != CS_OK)
			return r;
		if (was_set && cs_run_puk_for(w->o, pf->name) == NULL) {
			say(w, why, whylen, "advice.retired-record",
			    "card.unknown-puk", NULL);
			return CS_ERR_STATE;
		}
		wa.puk = NULL;
	}
	if ((r = cs_token_env(pf, w->a->reader, why, whylen)) != CS_OK)
		return r;
	/* From here the card may hold the record's key (issue 10). */
	c->token_started = 1;
	return cs_token_write(&wa, why, whylen);
}

static void pin_letter(struct worker *w, const struct card *c, const char *pin,
    const char *puk)
{
	cs_run_event ev = {.kind = CS_EV_PIN_LETTER};
	const cs_secret *ipuk = cs_run_puk_for(w->o, c->profile->name);

	if (w->o->pin != NULL && (ipuk != NULL || puk == NULL))
		return; /* nothing the operator does not know already */
	ev.holder = c->rec.holder;
	ev.mail = c->rec.mail;
	ev.staff_no = c->rec.staff_no;
	ev.printed_no = c->printed[0] ? c->printed : NULL;
	ev.chip_serial = c->id.chip_serial;
	ev.pin = w->o->pin == NULL ? pin : NULL;
	ev.puk = ipuk == NULL ? puk : NULL;
	send_ev(w, &ev);
}


/* Whether a card that failed with code can never be written again by a
 * station: it is retired, not left partial for a retry. */
static int fails_for_good(const char *code)
{
	static const char *const codes[] = {"card.puk-blocked",
	    "card.needs-reinstall", "card.unknown-puk"};

	for (size_t i = 0; code != NULL && i < sizeof(codes) / sizeof(codes[0]);
	    i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

/* 1 when the record was set aside before anything touched the card: the
 * same card may take the next holder at once. */
static int write_and_check(struct worker *w, struct card *c)
{
	const cs_record *br = bundle_record(w->b, c->rec.serial);
	cs_secret *pin = NULL, *puk = NULL;
	cs_token_check_result res;
	cs_p12 *p12 = NULL;
	cs_p12_info info;
	const char *problem = NULL; /* set: no card can take this record */
	char why[1024] = "";
	cs_problem pr;
	int r = CS_ERR_NOTFOUND;

	memset(&w->m, 0, sizeof(w->m));
	if (br == NULL) {
		say(w, why, sizeof(why), NULL, cs_problem_code(
		    CS_PROBLEM_NOT_IN_DOWNLOAD), "serial", c->rec.serial, NULL);
		problem = cs_problem_name(CS_PROBLEM_NOT_IN_DOWNLOAD);
	} else if ((pr = cs_bundle_load(w->b, br, &w->bopts, &p12, &info, why,
	    sizeof(why))) != CS_PROBLEM_NONE) {
		char sub[sizeof(why)];

		r = CS_ERR_CRYPTO;
		problem = cs_problem_name(pr); /* expired since import, ... */
		snprintf(sub, sizeof(sub), "%s", why);
		say(w, why, sizeof(why), NULL, cs_problem_code(pr), "serial",
		    c->rec.serial, NULL);
		snprintf(w->m.detail, sizeof(w->m.detail), "%s", sub);
	} else if (!cs_profile_takes_key(c->profile, info.key_type)) {
		/* Another card may take it: back in the queue, untouched. */
		say(w, why, sizeof(why), NULL, "card.key-type", "key",
		    info.key_type, "profile", c->profile->name, NULL);
		r = CS_ERR_STATE;
	} else if ((r = card_secrets(w, c->profile, &pin, &puk, why,
	    sizeof(why))) == CS_OK &&
	    (r = journal_begin(w, c, why, sizeof(why))) != CS_OK) {
		/* Live on another card already (the download imported twice):
		 * no card will ever take it in this run. */
		if (r == CS_ERR_MISMATCH && c->iss_id == 0) {
			problem = cs_problem_name(CS_PROBLEM_LIVE_ELSEWHERE);
			w->m.code = cs_problem_code(CS_PROBLEM_LIVE_ELSEWHERE);
		} else if (w->m.code == NULL) {
			w->m.code = "card.journal-failed";
		}
	} else if (r == CS_OK) {
		step(w, c, 3, "writing", "step.write");
		if ((r = write_card(w, c, p12, cs_secret_str(pin),
		    cs_secret_str(puk), &res, why, sizeof(why))) == CS_OK) {
			step(w, c, 4, "checking", "step.check");
			if (!cs_piv_is_profile(c->profile))
				r = cs_token_check(c->profile, p12->cert,
				    cs_secret_str(pin), &res, why, sizeof(why));
			if (r != CS_OK || !(res.cert_matches && res.signature_ok))
				w->m.code = "card.check-failed";
			if (r == CS_OK && !(res.cert_matches && res.signature_ok)) {
				cs_code_text("card.check-failed", NULL, why,
				    sizeof(why));
				r = CS_ERR_MISMATCH;
			}
			/* An assigned identity is only in the TokenInfo: a card
			 * that does not carry it would be nobody's. */
			if (r == CS_OK && !carries_identity(c, &res)) {
				snprintf(why, sizeof(why), _("the card's PKCS#15 serial "
				    "is %s, not its identity %s"), res.pkcs15_serial,
				    c->id.chip_serial);
				w->m.code = "card.check-failed";
				r = CS_ERR_MISMATCH;
			}
		} else if (w->m.code == NULL) {
			w->m.code = "card.write-failed";
		}
		if (r == CS_OK) {
			step(w, c, 5, "checking", "step.journal");
			if ((r = journal_done(w, c, &res, why, sizeof(why))) != CS_OK)
				w->m.code = "card.journal-failed";
		}
	}
	if (r == CS_OK) {
		cs_run_event ev = {.kind = CS_EV_DONE, .state = "done"};
		char done_params[128];

		pin_letter(w, c, cs_secret_str(pin), cs_secret_str(puk));
		ev.chip_serial = c->id.chip_serial;
		ev.printed_no = c->printed[0] ? c->printed : NULL;
		ev.holder = c->rec.holder;
		ev.mail = c->rec.mail;
		ev.cert_serial = c->rec.serial;
		ev.profile = c->profile->name;
		ev.text = res.pkcs15_serial;
		/* text stays the token's serial (what front ends show); the
		 * code says what happened, for a front end's own words. */
		ev.code = "card.done";
		cs_params_pack(done_params, sizeof(done_params), "pkcs15_serial",
		    res.pkcs15_serial, NULL);
		ev.params = done_params;
		send_ev(w, &ev);
	} else {
		int pulled = card_state(w) != CS_READER_EV_INSERTED, gone;
		int nothing_on_it = 0;
		char reason[1400];
		cs_msg m = w->m;

		/* Our own sentence says what happened; the other part's words
		 * (OpenSC, the journal) are the detail. */
		if (m.code == NULL || m.detail[0] == '\0') {
			char own[1024];

			cs_code_text(m.code, m.params, own, sizeof(own));
			if (m.code == NULL || strcmp(own, why) != 0)
				snprintf(m.detail, sizeof(m.detail), "%s", why);
		}
		if (m.code == NULL)
			m.code = "card.write-failed";
		if (pulled) {
			m.code = "card.pulled";
			m.params[0] = '\0';
		}
		/* What to do next, true for this card: one that can never be
		 * written as it is keeps its own advice. */
		if (m.advice == NULL || pulled)
			m.advice = c->iss_id != 0 ? "advice.partial" :
			    problem != NULL ? "advice.record-aside" :
			    "advice.record-back";
		/* A card that can never be written again is retired: its
		 * advice must not send it back into a reader. */
		gone = !pulled && c->j.id != 0 && (fails_for_good(m.code) ||
		    identity_lost(w, c));
		if (gone)
			m.advice = "advice.retired-record";
		/* Stopped before pkcs15-init started (pulled out, or a status
		 * word: the card's answers or its absence may not be seen yet),
		 * a card given its identity for this write holds nothing of the
		 * record and may come back as a new card: the record waits for
		 * no card. */
		else if ((nothing_on_it = !c->token_started &&
		    c->id.source == CS_CARD_ID_ASSIGNED && c->id.assigned_now))
			m.advice = "advice.record-back";
		journal_failed(w, c, problem, gone, nothing_on_it,
		    cs_msg_record(&m, reason, sizeof(reason)));
		failed_msg(w, c, &m);
	}
	cs_p12_free(p12);
	cs_secret_free(pin);
	cs_secret_free(puk);
	return r != CS_OK && problem != NULL && c->iss_id == 0;
}

/* Retire a card that can never be written again, before any APDU that
 * changes it, and say so. */
static void retire_untouched(struct worker *w, struct card *c,
    const char *code, const char *advice)
{
	char why[256], reason[400];
	cs_msg m;

	cs_msg_set(&m, code, NULL);
	m.advice = advice;
	if (cs_journal_card_retire(w->j, c->j.id, cs_msg_record(&m, reason,
	    sizeof(reason)), NULL, why, sizeof(why)) != CS_OK)
		snprintf(m.detail, sizeof(m.detail), "%s", why);
	failed_msg(w, c, &m);
}

/* A card the journal knows, judged on its journal state and the applet's
 * before any APDU that changes it: 1 when it is refused (and said so).
 * Lost and retired cards are never written; a returned one as its
 * profile's `reuse` says; one whose applet has a PIN but no PKCS#15
 * application can never be written by a station and is retired. */
static int refused_by_state(struct worker *w, struct card *c)
{
	const char *seen = c->j.last_seen ? c->j.last_seen : "?";
	int blank = !c->applet.pin_set && !c->applet.has_pkcs15;

	switch (c->j.state) {
	case CS_JCARD_LOST:
		failed(w, c, "advice.to-desk", NULL, "card.marked-lost", "seen",
		    seen, "state", cs_jcard_state_name(c->j.state), NULL);
		return 1;
	case CS_JCARD_RETIRED:
		failed(w, c, "advice.retired", NULL, "card.marked-retired",
		    "seen", seen, NULL);
		return 1;
	case CS_JCARD_RETURNED:
		if (c->profile->reuse == CS_PROFILE_REUSE_NEVER) {
			retire_untouched(w, c, "card.returned-never", "advice.retired");
			return 1;
		}
		/* Its applet reinstalled: a blank card. */
		if (blank)
			return 0;
		if (c->profile->reuse == CS_PROFILE_REUSE_PUK &&
		    c->applet.has_pkcs15) {
			if (cs_run_puk_for(w->o, c->profile->name) != NULL)
				return 0;
			failed(w, c, "advice.restart-puk", NULL, "card.needs-puk",
			    NULL);
			return 1;
		}
		failed(w, c, "advice.reinstall", NULL, "card.marked-returned",
		    "seen", seen, "state", cs_jcard_state_name(c->j.state), NULL);
		return 1;
	default:
		break;
	}
	if (c->applet.pin_set && !c->applet.has_pkcs15) {
		retire_untouched(w, c, "card.needs-reinstall", "advice.retired");
		return 1;
	}
	return 0;
}

/* Which card this is, by its profile's identity sources: the chip's
 * serial, an identity a station wrote into its TokenInfo before, or (the
 * profile allowing) a new random one that pkcs15-init writes there. Made
 * before the journal is asked about the card, so a lost or returned card
 * without CPLC is known as such. CS_ERR_CARD: the card stopped answering;
 * other errors: no identity (why says why). */
static int card_identity(struct worker *w, struct card *c, char *why,
    size_t whylen)
{
	char nocplc[128];
	int may_assign = 0, r;

	cs_card_no_cplc_why(&c->id, nocplc, sizeof(nocplc));
	if ((r = cs_card_identity(w->ctx, w->a->reader, c->profile, &c->applet,
	    &c->id, &may_assign, why, whylen)) != CS_OK)
		return r;
	if (c->id.chip_serial[0] != '\0')
		return CS_OK;
	if (!may_assign) {
		snprintf(why, whylen, _("%s, and card profile %s assigns no "
		    "identity"), nocplc, c->profile->name);
		return CS_ERR_NOTFOUND;
	}
	/* The identity goes into the TokenInfo that pkcs15-init creates; a
	 * card with a PIN keeps the PKCS#15 it has (or has none left). */
	if (c->applet.pin_set) {
		snprintf(why, whylen, _("%s, the card carries no identity a "
		    "station assigned, and a card that has a PIN cannot be given "
		    "one"), nocplc);
		return CS_ERR_STATE;
	}
	for (int k = 0; k < 4; k++) {
		cs_jcard seen = {0};

		if ((r = cs_card_assign_identity(&c->id)) != CS_OK) {
			snprintf(why, whylen, _("no random identity for the card"));
			return r;
		}
		r = cs_journal_card_find(w->j, CS_JKEY_CHIP, c->id.chip_serial,
		    &seen);
		cs_jcard_clear(&seen);
		if (r == CS_ERR_NOTFOUND)
			return CS_OK;
		if (r != CS_OK)
			break;
	}
	c->id.chip_serial[0] = '\0';
	c->id.source = CS_CARD_ID_NONE;
	snprintf(why, whylen, _("the journal cannot say whether a new identity for "
	    "this card is free"));
	return CS_ERR_DB;
}

static void handle_card(struct worker *w)
{
	struct card c;
	char why[1024] = "";
	int r;

	memset(&c, 0, sizeof(c));
	step(w, &c, 1, "reading", "step.chip-serial");
	if ((r = cs_card_probe(w->ctx, w->a->reader, &c.id, why, sizeof(why))) != CS_OK) {
		failed(w, &c, "advice.reinsert", why, "card.unreadable", NULL);
		return;
	}
	if (cs_card_profile_in(w->ctx, w->a->reader, w->profiles, w->nprofiles,
	    w->o->profile, c.id.atr, &c.prof, &c.applet, why, sizeof(why)) != CS_OK) {
		failed(w, &c, "advice.add-profile", why, "card.no-profile", NULL);
		return;
	}
	c.profile = &c.prof;
	if ((r = card_identity(w, &c, why, sizeof(why))) != CS_OK) {
		if (r == CS_ERR_CARD)
			failed(w, &c, "advice.reinsert", why, "card.unreadable", NULL);
		else
			failed(w, &c, "advice.other-model", why,
			    "card.no-chip-serial", NULL);
		return;
	}
	{
		cs_run_event ev = {.kind = CS_EV_CARD, .state = "reading"};

		ev.chip_serial = c.id.chip_serial;
		ev.profile = c.profile->name;
		send_ev(w, &ev);
	}
	/* The card's journal state before any APDU that changes it. A journal
	 * that cannot answer refuses the card: it might be a lost one. */
	if ((r = cs_journal_card_find(w->j, CS_JKEY_CHIP, c.id.chip_serial,
	    &c.j)) != CS_OK) {
		memset(&c.j, 0, sizeof(c.j));
		if (r != CS_ERR_NOTFOUND) {
			failed(w, &c, "advice.doctor", NULL, "card.journal-unknown",
			    NULL);
			goto out;
		}
	}
	if (c.j.id != 0 && refused_by_state(w, &c))
		goto out;
	/* A personalised card the journal does not know is someone's card:
	 * never touched without a re-issue. */
	if (c.applet.pin_set && c.j.id == 0 && !w->o->reissue) {
		failed(w, &c, "advice.blank-or-reissue", NULL, "card.not-blank",
		    NULL);
		goto out;
	}
again:
	step(w, &c, 2, "reading", "step.holder");
	memset(&w->m, 0, sizeof(w->m));
	if ((r = claim_record(w, &c, why, sizeof(why))) != CS_OK) {
		if (w->m.code != NULL)
			failed_msg(w, &c, &w->m);
		else
			failed(w, &c, r == CS_ERR_NOTFOUND ? "advice.queue-empty" :
			    "advice.remove", why, r == CS_ERR_NOTFOUND ?
			    "card.no-record" : "card.claim-failed", NULL);
		goto out;
	}
	{
		cs_run_event ev = {.kind = CS_EV_HOLDER, .state = "reading"};

		ev.chip_serial = c.id.chip_serial;
		ev.holder = c.rec.holder;
		ev.mail = c.rec.mail;
		ev.staff_no = c.rec.staff_no;
		ev.cert_serial = c.rec.serial;
		send_ev(w, &ev);
	}
	if (w->run.mode == CS_JMODE_QUEUE && w->o->confirm_printed &&
	    (r = confirm(w, &c)) != CS_OK) {
		cs_journal_record_release(w->j, c.rec.id, r == CS_ERR_NOTFOUND ?
		    "the card was taken out before it was confirmed" :
		    "the operator did not confirm the card", why, sizeof(why));
		failed(w, &c, "advice.back-in-queue", NULL, r == CS_ERR_NOTFOUND ?
		    "card.taken-out" : "card.not-confirmed", NULL);
		goto out;
	}
	/* A known card under another printed number is a mix-up at the
	 * counter, unless the card was printed again. */
	if (c.j.id != 0 && c.j.printed_no != NULL && c.printed[0] != '\0' &&
	    strcmp(c.j.printed_no, c.printed) != 0) {
		char text[400];

		if (!w->o->reprint) {
			cs_journal_record_release(w->j, c.rec.id, "the printed number "
			    "did not match the card's", why, sizeof(why));
			failed(w, &c, "advice.reprint", NULL, "card.printed-mismatch",
			    "journal", c.j.printed_no, "printed", c.printed, NULL);
			goto out;
		}
		snprintf(text, sizeof(text), "printed again: %s, before %s",
		    c.printed, c.j.printed_no);
		if (cs_journal_note(w->j, w->run.id, c.j.id, "card.reprint", text,
		    why, sizeof(why)) != CS_OK) {
			cs_journal_record_release(w->j, c.rec.id, why, NULL, 0);
			failed(w, &c, "advice.doctor", why, "card.journal-failed",
			    NULL);
			goto out;
		}
	}
	/* A record no card can take was set aside untouched: this card goes
	 * to the next holder (each pass takes a record out of the queue, so
	 * this ends). */
	if (write_and_check(w, &c) && card_state(w) == CS_READER_EV_INSERTED) {
		cs_jrecord_clear(&c.rec);
		goto again;
	}
out:
	cs_jcard_clear(&c.j);
	cs_jrecord_clear(&c.rec);
}

/* ---- the loop ---- */

/* The archives must be the ones the run was imported from: a file
 * replaced since would write certificates nobody checked. */
static int same_archives(const cs_jrun *run, char *why, size_t whylen)
{
	const char *paths[2] = {run->certs_zip, run->pins_zip};
	const char *sums[2] = {run->certs_sha256, run->pins_sha256};

	for (int i = 0; i < 2; i++) {
		char hex[65];

		if (paths[i] == NULL || cs_run_file_sha256(paths[i], hex) != CS_OK) {
			cs_say(why, whylen, "run.archive-unreadable", "file",
			    paths[i] ? paths[i] : "?", NULL);
			return CS_ERR_IO;
		}
		if (sums[i] == NULL || strcmp(hex, sums[i]) != 0) {
			cs_say(why, whylen, "run.archive-changed", "file", paths[i],
			    NULL);
			return CS_ERR_MISMATCH;
		}
	}
	return CS_OK;
}

/* This worker's connection lost the journal's server, or has it back:
 * the front end tells its operator why the reader stands still. */
static void worker_notice(void *ctx, const char *code, const char *params)
{
	cs_run_event ev;
	char text[512];

	cs_run_journal_event(&ev, code, params, text, sizeof(text));
	send_ev(ctx, &ev);
}

static int setup(struct worker *w, char *why, size_t whylen)
{
	const char *dir = w->o->profiles_dir ? w->o->profiles_dir : cs_profile_dir();
	int r;

	cs_bundle_default_opts(&w->bopts);
	if ((r = cs_journal_open(&w->j, cs_journal_path(w->o->journal), 0, why,
	    whylen)) != CS_OK)
		return r;
	cs_journal_set_actor(w->j, w->o->operator_name, w->a->reader);
	cs_journal_on_notice(w->j, worker_notice, w);
	/* This process owns the claims it takes, and its reader: another
	 * station on the same run leaves both alone while this one lives. A
	 * worker of a station that was stopped finishes its card first:
	 * wait for it, saying so. */
	for (int said = 0; (r = cs_journal_owner_start(w->j, w->a->reader, why,
	    whylen)) == CS_ERR_STATE && !w->quit; said = 1) {
		char line[8];

		if (!said)
			reader_state(w, "waiting", "reader.busy", why);
		(void)read_answer(w, 1000, line, sizeof(line));
	}
	if (r != CS_OK)
		return r;
	if ((r = cs_journal_run_get(w->j, w->o->run_id, &w->run)) != CS_OK) {
		char run[24];

		snprintf(run, sizeof(run), "%" PRId64, w->o->run_id);
		cs_say(why, whylen, "run.not-found", "run", run, NULL);
		return r;
	}
	if ((r = same_archives(&w->run, why, whylen)) != CS_OK ||
	    (r = cs_bundle_open(&w->b, w->run.certs_zip, w->run.pins_zip,
	    &w->bopts, why, whylen)) != CS_OK)
		return r;
	/* Read once: a broken profile stops the run here, not at a card. */
	if ((r = cs_profile_load_all(dir, &w->profiles, &w->nprofiles, why,
	    whylen)) != CS_OK)
		return r;
	if (w->run.mode == CS_JMODE_PAIRING) {
		if (w->o->pairing_csv == NULL) {
			char run[24];

			snprintf(run, sizeof(run), "%" PRId64, w->run.id);
			cs_say(why, whylen, "run.needs-pairing", "run", run, NULL);
			return CS_ERR_USAGE;
		}
		if ((r = cs_pairing_load(w->o->pairing_csv, &w->pairing, why,
		    whylen)) != CS_OK)
			return r;
	}
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &w->ctx) !=
	    SCARD_S_SUCCESS) {
		cs_say(why, whylen, "reader.no-pcscd", NULL);
		return CS_ERR_CARD;
	}
	return CS_OK;
}

int cs_worker_main(const cs_worker_args *a)
{
	struct worker w = {.a = a, .o = a->o};
	cs_p12_providers pv = {0};
	cs_reader_watch rw;
	char why[1024];
	int r, next_card = 0;

	if (cs_p12_init(&pv) != CS_OK) {
		reader_state(&w, "failed", "reader.no-legacy-provider", NULL);
		w.quit = 2;
	} else if ((r = setup(&w, why, sizeof(why))) != CS_OK) {
		/* why is this station's own sentence, in the locale's words. */
		reader_state(&w, "failed", "reader.cannot-start", why);
		w.quit = 2;
	}
	cs_reader_watch_init(&rw, a->reader);
	if (!w.quit)
		reader_state(&w, "waiting", "reader.insert", NULL);
	while (!w.quit) {
		cs_reader_event ev;

		check_quit(&w);
		if (w.quit)
			break;
		if (!next_card && cs_reader_wait(w.ctx, &rw, 250, &ev) != CS_OK) {
			reader_state(&w, "failed", "reader.pcscd-lost", NULL);
			break;
		}
		if (next_card)
			ev = CS_READER_EV_INSERTED;
		next_card = 0;
		if (ev == CS_READER_EV_GONE) {
			reader_state(&w, "failed", "reader.gone", NULL);
			break;
		}
		if (ev != CS_READER_EV_INSERTED || rw.mute)
			continue;
		handle_card(&w);
		reader_state(&w, "remove", "reader.remove", NULL);
		/* Until the card leaves; a card swapped for another at once
		 * comes back as an insertion: that is the next card. */
		while (!w.quit) {
			if (cs_reader_wait(w.ctx, &rw, 250, &ev) != CS_OK ||
			    ev == CS_READER_EV_REMOVED || ev == CS_READER_EV_GONE)
				break;
			if (ev == CS_READER_EV_INSERTED) {
				next_card = 1;
				break;
			}
			check_quit(&w);
		}
		if (!w.quit)
			reader_state(&w, "waiting", "reader.insert", NULL);
	}
	if (w.ctx != 0)
		SCardReleaseContext(w.ctx);
	free(w.profiles);
	cs_pairing_free(&w.pairing);
	cs_jrun_clear(&w.run);
	cs_bundle_free(w.b);
	if (w.j != NULL)
		cs_journal_owner_end(w.j, NULL, 0);
	cs_journal_close(w.j);
	cs_p12_fini(&pv);
	return w.quit == 2 ? 2 : 0;
}

int cs_run_worker_main(void)
{
	cs_wire_start st;
	cs_worker_args a;
	int r;

	/* The start message, then that pipe is done with. A worker started
	 * by anything but cs_run_start finds nothing there and stops. */
	r = cs_wire_start_recv(CS_WORKER_START_FD, &st);
	close(CS_WORKER_START_FD);
	if (r != CS_OK) {
		dprintf(STDERR_FILENO, _("cardstation: %s is started by encode, not "
		    "by hand\n"), CS_RUN_WORKER_ARG);
		return 2;
	}
	a.o = &st.o;
	a.index = st.index;
	a.reader = st.reader;
	a.ev_fd = CS_WORKER_EV_FD;
	a.ctl_fd = CS_WORKER_CTL_FD;
	r = cs_worker_main(&a);
	cs_wire_start_clear(&st);
	return r;
}
