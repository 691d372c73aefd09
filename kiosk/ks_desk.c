/* ks_desk.c - handover and the service desk: is this the right card, and
 * does its key work?
 *
 * Verification reads the card in one reader (cs_verify_card). At handover
 * the holder types their PIN on the screen's keypad: it comes in the POST
 * body (locked memory, see ks_form.c), goes to the card through OpenSC and
 * is wiped with the body; it is never logged nor put into a reply. A wrong
 * PIN is a reason in the report (and the tries left), never an error page.
 *
 * Lost and returned cards are the engine's (cs_desk.h, as for `cardstation
 * card`): a lost card is marked in the journal and its revocation request
 * is the reply (a download); a returned card is wiped with the institution
 * PUK the operator types, which comes in the POST body like the keypad
 * PIN and is handled the same way.
 *
 * A PIN or PUK goes to a card only past the guard (ks_guard.c): never the
 * card's last try without confirm_last=1 from the page, and after wrong
 * tries the card waits.
 *
 * Handover: once the card checked out, the operator records how the
 * holder was identified; the journal keeps it as a note of the card
 * ("card.handover-identity") and `cardstation log handovers` lists it. */
#include "ks.h"

#include "cs_card.h"
#include "cs_codes.h"
#include "cs_db.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_json.h"
#ifdef KS_HAVE_VERIFY
#include "cs_verify.h"
#endif
#include "cs_desk.h"
#include "cs_revoke.h"

#include <openssl/evp.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KS_HANDOVER_MS (15 * 60 * 1000)  /* verify, then record, in time */
#define KS_NOTE_MAX 200

enum MHD_Result ks_api_features(ks_req *rq)
{
	char buf[160];
	int have_run = 0, have_verify = 0, have_revoke = 0;

#ifdef KS_HAVE_RUN
	have_run = 1;
#endif
#ifdef KS_HAVE_VERIFY
	have_verify = 1;
#endif
#ifdef KS_HAVE_REVOKE
	have_revoke = 1;
#endif
	snprintf(buf, sizeof(buf), "{\"encode\":%s,\"verify\":%s,\"revoke\":%s}",
	    have_run ? "true" : "false", have_verify ? "true" : "false",
	    have_revoke ? "true" : "false");
	return ks_reply(rq, 200, "application/json", buf, strlen(buf));
}

/* The reader the form names by index among the configured readers, if
 * no run holds the readers; *status is the HTTP answer when not. */
static int form_reader(ks_req *rq, char *name, size_t len, unsigned *status,
    char *why, size_t whylen)
{
	char *names[KS_MAX_READERS];
	const char *s = ks_form_get(rq->form, "reader");
	size_t n = 0, idx;
	char *end;
	int r;

	*status = 409;
	if (ks_run_active(ks_srv_run(rq->srv))) {
		snprintf(why, whylen, "a run is using the readers: pause it first");
		return CS_ERR_STATE;
	}
	*status = 503;
	if ((r = ks_pick_readers(ks_cfg(rq->srv), names, &n, why, whylen)) !=
	    CS_OK)
		return r;
	idx = s != NULL ? strtoul(s, &end, 10) : 0;
	if (s != NULL && (*end != '\0' || idx >= n)) {
		snprintf(why, whylen, "no such reader");
		r = CS_ERR_USAGE;
	} else {
		snprintf(name, len, "%s", names[idx]);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return r;
}

/* --- the guard ------------------------------------------------------- */

/* How the guard knows the card in the reader: its chip serial, else its
 * ATR. *pin_tries: what the applet says is left (-1 unknown). Reads only,
 * spends nothing. CS_ERR_NOTFOUND: no card that answers. */
static int card_name(SCARDCONTEXT ctx, const char *reader,
    const char *profiles_dir, char *name, size_t len, int *pin_tries)
{
	cs_card_id id;
	cs_profile prof;
	cs_applet_state st;
	char why[256];

	*pin_tries = -1;
	if (cs_card_probe(ctx, reader, &id, why, sizeof(why)) != CS_OK)
		return CS_ERR_NOTFOUND;
	if (id.chip_serial[0] != '\0')
		snprintf(name, len, "%s", id.chip_serial);
	else
		snprintf(name, len, "atr:%s", id.atr);
	if (pin_tries != NULL && cs_card_profile(ctx, reader, profiles_dir, NULL,
	    id.atr, &prof, &st, why, sizeof(why)) == CS_OK && st.pin_set)
		*pin_tries = st.pin_tries;
	return CS_OK;
}

/* The guard's no, as the page needs it: 429 wait (retry_ms), 409
 * last-try (confirm and send again), 409 unknown-tries, 409 blocked; the
 * page has its words for each (guard.*), no sentence travels. */
static enum MHD_Result guard_reply(ks_req *rq, ks_guard_verdict v,
    ks_try_kind kind, int64_t wait_ms)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	unsigned status = 409;

	if (f == NULL)
		return MHD_NO;
	fputc('{', f);
	switch (v) {
	case KS_GUARD_WAIT:
		status = 429;
		cs_json_kv(f, 1, "error", "wait");
		fprintf(f, ",\"retry_ms\":%" PRId64, wait_ms);
		break;
	case KS_GUARD_LAST:
		cs_json_kv(f, 1, "error", "last-try");
		fprintf(f, ",\"tries\":1");
		break;
	case KS_GUARD_UNKNOWN:
		cs_json_kv(f, 1, "error", "unknown-tries");
		break;
	default:
		cs_json_kv(f, 1, "error", "blocked");
		fprintf(f, ",\"tries\":0");
		break;
	}
	cs_json_kv(f, 0, "kind", kind == KS_TRY_PIN ? "pin" : "puk");
	fputc('}', f);
	fclose(f);
	return ks_reply_take(rq, status, "application/json", buf, len, NULL);
}

static int confirmed(ks_req *rq)
{
	const char *c = ks_form_get(rq->form, "confirm_last");

	return c != NULL && strcmp(c, "1") == 0;
}

#ifdef KS_HAVE_VERIFY
/* The report in verify --json's shape (cs_vreport_json_members), and
 * after a wrong PIN when the card takes the next (ks_guard.c). */
static void write_report(FILE *f, const cs_vreport *v, int64_t next_try_ms)
{
	fputc('{', f);
	cs_vreport_json_members(f, v);
	fprintf(f, ",\"next_try_ms\":%" PRId64 "}", next_try_ms);
}
#endif

enum MHD_Result ks_api_verify(ks_req *rq)
{
#ifdef KS_HAVE_VERIFY
	const ks_config *cfg = ks_cfg(rq->srv);
	const char *pin = ks_form_get(rq->form, "pin");
	char reader[256], why[1024] = "", jwhy[256] = "", *buf = NULL;
	char card[96] = "";
	cs_verify_opts o;
	cs_vreport v;
	cs_journal *j = NULL;
	X509_STORE *ca = NULL;
	SCARDCONTEXT ctx;
	size_t len = 0;
	unsigned status;
	FILE *f;
	int64_t next_try = 0;
	int r, tries = -1, pin_ok = 0;

	if (pin != NULL && *pin == '\0')
		pin = NULL;
	if ((r = form_reader(rq, reader, sizeof(reader), &status, why,
	    sizeof(why))) != CS_OK)
		return ks_reply_error(rq, status, status == 409 ? "busy" :
		    "readers", NULL);
	/* Before the PIN goes: which card, and how many tries it has left. */
	if (pin != NULL) {
		ks_guard_verdict gv;
		int64_t wait = 0;

		if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
		    SCARD_S_SUCCESS)
			return ks_reply_error(rq, 503, "readers", NULL);
		r = card_name(ctx, reader, cfg->profiles_dir, card, sizeof(card),
		    &tries);
		SCardReleaseContext(ctx);
		/* No card that answers: the PIN cannot be spent either. */
		if (r == CS_OK && (gv = ks_guard_check(ks_srv_guard(rq->srv), card,
		    KS_TRY_PIN, tries, confirmed(rq), ks_now_ms(), &wait)) !=
		    KS_GUARD_GO)
			return guard_reply(rq, gv, KS_TRY_PIN, wait);
	}
	if (cfg->ca != NULL && cs_verify_load_ca(cfg->ca, &ca, why,
	    sizeof(why)) != CS_OK)
		return ks_reply_error(rq, 503, "ca", why);
	if (cs_db_is_uri(cs_journal_path(cfg->journal)) ||
	    access(cs_journal_path(cfg->journal), F_OK) == 0)
		cs_journal_open(&j, cs_journal_path(cfg->journal),
		    CS_JOURNAL_RDONLY, jwhy, sizeof(jwhy));
	else
		snprintf(jwhy, sizeof(jwhy), "no journal on this station");
	memset(&o, 0, sizeof(o));
	o.reader = reader;
	o.journal = j;
	o.journal_why = jwhy;
	o.ca = ca;
	o.profiles_dir = cfg->profiles_dir;
	o.pin = pin;
	memset(&v, 0, sizeof(v));
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS) {
		r = CS_ERR_CARD;
		snprintf(why, sizeof(why), "pcscd does not answer");
	} else {
		r = cs_verify_card(ctx, &o, &v, why, sizeof(why));
		SCardReleaseContext(ctx);
	}
	cs_journal_close(j);
	if (ca != NULL)
		X509_STORE_free(ca);
	if (r != CS_OK) {
		cs_vreport_clear(&v);
		return ks_reply_error(rq, 422, "verify", why);
	}
	for (size_t i = 0; i < v.ncerts; i++)
		pin_ok |= !v.certs[i].is_ca && v.certs[i].signed_ok == 1;
	/* What the card said about the PIN: right, or one try less. */
	if (pin != NULL && card[0] != '\0' && v.pin_given) {
		if (v.login_rc == CS_OK)
			ks_guard_result(ks_srv_guard(rq->srv), card, KS_TRY_PIN, 1, -1,
			    ks_now_ms());
		else if (v.pin_tries >= 0 && (tries < 0 || v.pin_tries < tries)) {
			ks_guard_result(ks_srv_guard(rq->srv), card, KS_TRY_PIN, 0,
			    v.pin_tries, ks_now_ms());
			if (ks_guard_check(ks_srv_guard(rq->srv), card, KS_TRY_PIN,
			    v.pin_tries, 1, ks_now_ms(), &next_try) != KS_GUARD_WAIT)
				next_try = 0;
		}
	}
	if (v.card_id > 0)
		ks_session_saw_card(rq->srv, rq->sess.serial, v.card_id,
		    pin != NULL && pin_ok, cs_verdict_name(v.verdict));
	if ((f = open_memstream(&buf, &len)) == NULL) {
		cs_vreport_clear(&v);
		return MHD_NO;
	}
	write_report(f, &v, next_try);
	fclose(f);
	cs_vreport_clear(&v);
	return ks_reply_take(rq, 200, "application/json", buf, len, NULL);
#else
	char reader[256], why[256];

	(void)form_reader;
	(void)card_name;
	(void)guard_reply;
	(void)confirmed;
	(void)reader;
	(void)why;
	return ks_reply_error(rq, 503, "not-available", NULL);
#endif
}

/* Mark the card of a verified issuance lost: every certificate live on
 * it is revoked (whoever finds the card holds all its keys), their records
 * too, and the card becomes 'lost', in one transaction (cs_desk_lost). The
 * reply is the revocation request (CP932 TSV) for the UPKI service; it is
 * made before anything changes, so a holder that cannot be written in
 * CP932 changes nothing. */
enum MHD_Result ks_api_lost(ks_req *rq)
{
	const ks_config *cfg = ks_cfg(rq->srv);
	const char *id = ks_form_get(rq->form, "issuance");
	const char *reason_s = ks_form_get(rq->form, "reason");
	const char *comment = ks_form_get(rq->form, "comment");
	char why[1024] = "", *req = NULL, *end;
	cs_journal *j = NULL;
	cs_desk_sel sel;
	cs_desk_lost_opts o;
	cs_msg m;
	int64_t card_id;
	size_t len = 0;
	long long iid;
	long reason;
	unsigned status = 422;
	int r;

	if (cfg->admin_mail == NULL)
		return ks_reply_error(rq, 503, "no-admin-mail", NULL);
	if (id == NULL || (iid = strtoll(id, &end, 10)) <= 0 || *end != '\0')
		return ks_reply_error(rq, 400, "bad-issuance", NULL);
	reason = reason_s != NULL ? strtol(reason_s, &end, 10) :
	    CS_REVOKE_DEFAULT_REASON;
	if (reason_s != NULL && *end != '\0')
		return ks_reply_error(rq, 400, "bad-reason", NULL);
	if ((r = cs_journal_open(&j, cs_journal_path(cfg->journal), 0, why,
	    sizeof(why))) != CS_OK)
		return ks_reply_error(rq, 503, "journal", why);
	cs_journal_set_actor(j, rq->sess.account, NULL);
	memset(&sel, 0, sizeof(sel));
	sel.issuance = iid;
	if ((r = cs_desk_find_card(j, &sel, &card_id, NULL, &m)) != CS_OK) {
		status = 409;
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.reason = (int)reason;
	o.comment = comment;
	o.admin_mail = cfg->admin_mail;
	r = cs_desk_lost(j, card_id, &o, NULL, &req, &len, &m);
	if (r == CS_ERR_NOTFOUND || r == CS_ERR_STATE)
		status = 409;
out:
	cs_journal_close(j);
	if (r != CS_OK || len == 0) {
		free(req);
		if (r == CS_OK)
			cs_msg_set(&m, "desk.nothing-live", NULL);
		return ks_reply_msg(rq, status, "lost", &m);
	}
	return ks_reply_take(rq, 200, "text/tab-separated-values; charset=Shift_JIS",
	    req, len, "attachment; filename=\"revocation.tsv\"");
}

/* The card the page named (chip=, the card the operator saw in the
 * confirmation) is the one in the reader: a card swapped in between is
 * not wiped nor given a PIN. A card known here only by its ATR (no chip
 * serial; verify may show an identity the station assigned) cannot be
 * told from another of its model, and is not checked. */
static int same_card(ks_req *rq, const char *card)
{
	const char *want = ks_form_get(rq->form, "chip");

	return want == NULL || *want == '\0' || card[0] == '\0' ||
	    strncmp(card, "atr:", 4) == 0 || strcmp(want, card) == 0;
}

/* The PUK guard, before any PUK goes to the card in reader: *card gets
 * the guard's name of the card ("" if none answers). KS_GUARD_GO or the
 * guard's no; *wait_ms with it. */
static ks_guard_verdict puk_guard(ks_req *rq, const char *reader, char *card,
    size_t len, int64_t *wait_ms)
{
	SCARDCONTEXT ctx;
	ks_guard_verdict gv = KS_GUARD_GO;
	int tries;

	card[0] = '\0';
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS)
		return KS_GUARD_GO;  /* the engine says pcscd is gone */
	if (card_name(ctx, reader, ks_cfg(rq->srv)->profiles_dir, card, len,
	    &tries) == CS_OK)
		gv = ks_guard_check(ks_srv_guard(rq->srv), card, KS_TRY_PUK, -1,
		    confirmed(rq), ks_now_ms(), wait_ms);
	SCardReleaseContext(ctx);
	return gv;
}

/* The certificates of a card as the page lists them. */
static void write_certs(FILE *f, const char *key, const cs_desk_certs *c)
{
	fprintf(f, ",\"%s\":[", key);
	for (size_t i = 0; i < c->n; i++) {
		fprintf(f, "%s{", i ? "," : "");
		cs_json_kv(f, 1, "cert_serial", c->c[i].cert_serial);
		cs_json_kv(f, 0, "holder", c->c[i].holder);
		cs_json_kv(f, 0, "mail", c->c[i].mail);
		cs_json_kv(f, 0, "printed_no", strcmp(c->c[i].printed, "-") ?
		    c->c[i].printed : NULL);
		fputc('}', f);
	}
	fputc(']', f);
}

/* What a returned card's live certificate becomes: live=request (its UPKI
 * revocation line, reason= default affiliationChanged, comment=) or
 * live=revoked (the operator says it is revoked already); neither: the
 * card is refused with the certificates listed, so the page can ask. On a
 * bad choice *code is the reply's error (the page's words, i18n.js). */
static int live_choice(ks_req *rq, cs_desk_return_opts *o, char *why,
    size_t whylen, const char **code)
{
	const ks_config *cfg = ks_cfg(rq->srv);
	const char *live = ks_form_get(rq->form, "live");
	const char *reason_s = ks_form_get(rq->form, "reason");
	const char *comment = ks_form_get(rq->form, "comment");
	char *end;
	long reason = CS_DESK_RETURN_DEFAULT_REASON;

	if (live == NULL || *live == '\0')
		return CS_OK;
	if (strcmp(live, "revoked") == 0) {
		o->live = CS_DESK_LIVE_REVOKED;
		return CS_OK;
	}
	if (strcmp(live, "request") != 0) {
		*code = "bad-live";
		snprintf(why, whylen, "live: request or revoked");
		return CS_ERR_USAGE;
	}
	if (cfg->admin_mail == NULL) {
		*code = "no-admin-mail";
		snprintf(why, whylen, "the kiosk was started without --admin-mail, "
		    "which a revocation request needs");
		return CS_ERR_STATE;
	}
	if (reason_s != NULL && *reason_s != '\0' && ((reason = strtol(reason_s,
	    &end, 10)) < 0 || *end != '\0' || cs_revoke_reason_name((int)reason) ==
	    NULL)) {
		*code = "bad-reason";
		snprintf(why, whylen, "reason code");
		return CS_ERR_USAGE;
	}
	if (reason == 0 && (comment == NULL || *comment == '\0')) {
		*code = "comment-needed";
		snprintf(why, whylen, "reason 0 needs a comment");
		return CS_ERR_USAGE;
	}
	o->live = CS_DESK_LIVE_REQUEST;
	o->request.reason = (int)reason;
	o->request.comment = comment != NULL && *comment != '\0' ? comment : NULL;
	o->request.admin_mail = cfg->admin_mail;
	return CS_OK;
}

/* Wipe the returned card in the chosen reader (cs_desk_returned). The
 * institution PUK comes from the operator in this POST body only: the body
 * is locked memory (ks_form.c), the copy handed to the engine is a
 * cs_secret, and both are wiped when the request ends. It is never logged
 * nor put in a reply, and never kept for the next card. A certificate
 * still live on the card needs the operator's choice (live_choice): 409
 * live-cert lists them, and the answer carries the revocation request
 * (request_b64: CP932 TSV, 15 columns, CRLF) when one was made. */
/* The journal (as the desk account, at reader) and PC/SC for a desk
 * action that changes a card. The journal first: never change a card we
 * cannot journal. On failure status and code say which for the reply. */
static int desk_open(ks_req *rq, const char *reader, cs_journal **j,
    SCARDCONTEXT *ctx, cs_msg *m, unsigned *status, const char **code)
{
	const ks_config *cfg = ks_cfg(rq->srv);
	char why[512];
	int r;

	*ctx = 0;
	if ((r = cs_journal_open(j, cs_journal_path(cfg->journal), 0, why,
	    sizeof(why))) != CS_OK) {
		*status = 503;
		*code = "journal";
		cs_msg_set(m, "desk.journal-unusable", NULL);
		snprintf(m->detail, sizeof(m->detail), "%s", why);
		return r;
	}
	cs_journal_set_actor(*j, rq->sess.account, reader);
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx) !=
	    SCARD_S_SUCCESS) {
		*ctx = 0;
		*status = 503;
		*code = "readers";
		cs_msg_set(m, "reader.no-pcscd", NULL);
		return CS_ERR_CARD;
	}
	return CS_OK;
}

enum MHD_Result ks_api_wipe(ks_req *rq)
{
	const ks_config *cfg = ks_cfg(rq->srv);
	const char *puk_s = ks_form_get(rq->form, "puk");
	char reader[256], why[1024] = "", *buf = NULL, card[96] = "";
	cs_secret *puk = NULL;
	cs_journal *j = NULL;
	cs_desk_return_opts o;
	cs_desk_return res;
	cs_msg m;
	SCARDCONTEXT ctx = 0;
	ks_guard_verdict gv;
	unsigned status = 422;
	const char *code = "wipe";
	int64_t wait = 0;
	size_t len = 0;
	FILE *f;
	int r;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	memset(&m, 0, sizeof(m));
	res.puk_tries = -1;
	if (puk_s == NULL || *puk_s == '\0')
		return ks_reply_error(rq, 400, "puk-needed", NULL);
	if ((r = live_choice(rq, &o, why, sizeof(why), &code)) != CS_OK)
		return ks_reply_error(rq, r == CS_ERR_USAGE ? 400 : 503, code, NULL);
	if ((r = form_reader(rq, reader, sizeof(reader), &status, why,
	    sizeof(why))) != CS_OK)
		return ks_reply_error(rq, status, status == 409 ? "busy" :
		    "readers", NULL);
	status = 422;
	if ((gv = puk_guard(rq, reader, card, sizeof(card), &wait)) !=
	    KS_GUARD_GO)
		return guard_reply(rq, gv, KS_TRY_PUK, wait);
	if (!same_card(rq, card))
		return ks_reply_error(rq, 409, "other-card", NULL);
	if (cs_secret_from(&puk, puk_s, strlen(puk_s)) != CS_OK)
		return MHD_NO;
	if ((r = desk_open(rq, reader, &j, &ctx, &m, &status, &code)) != CS_OK)
		goto out;
	o.reader = reader;
	o.profiles_dir = cfg->profiles_dir;
	o.puk = puk;
	r = cs_desk_returned(ctx, j, &o, &res, &m);
	/* What the card said to the PUK: right, or wrong with tries left. */
	if (card[0] != '\0' && (r == CS_OK || res.puk_tries >= 0))
		ks_guard_result(ks_srv_guard(rq->srv), card, KS_TRY_PUK, r == CS_OK,
		    res.puk_tries, ks_now_ms());
	/* A live certificate and no choice yet: nothing changed; the page
	 * asks the operator. */
	if (r == CS_ERR_STATE && o.live == CS_DESK_LIVE_REFUSE &&
	    res.ended.n > 0) {
		status = 409;
		code = "live-cert";
	} else if (r == CS_ERR_STATE) {
		status = 409;
		code = "card-state";
	} else if (r == CS_ERR_NOTFOUND) {
		code = "not-ours";
	} else if (r == CS_ERR_CARD && res.puk_tries >= 0) {
		code = "puk-refused";
	}
out:
	if (ctx)
		SCardReleaseContext(ctx);
	cs_journal_close(j);
	cs_secret_free(puk);
	if ((f = open_memstream(&buf, &len)) == NULL) {
		free(res.req);
		return MHD_NO;
	}
	fputc('{', f);
	if (r != CS_OK) {
		if (m.code == NULL)
			cs_msg_set(&m, cs_err_code(r), NULL);
		ks_write_msg_error(f, code, &m);
		if (strcmp(code, "live-cert") == 0)
			write_certs(f, "certs", &res.ended);
		if (res.puk_tries >= 0)
			fprintf(f, ",\"tries\":%d", res.puk_tries);
	} else {
		/* The page says it in its own words (wipe.done). */
		cs_json_kv(f, 1, "chip_serial", res.chip_serial[0] ?
		    res.chip_serial : NULL);
		cs_json_kv(f, 0, "profile", res.profile);
		fprintf(f, ",\"wiped\":%zu,\"keys\":%d", res.wiped, res.keys);
		cs_json_kv(f, 0, "live", res.ended.n == 0 ? NULL :
		    o.live == CS_DESK_LIVE_REQUEST ? "request" : "revoked");
		write_certs(f, "ended", &res.ended);
		if (res.req != NULL && res.reqlen > 0) {
			/* CP932 bytes inside JSON: base64, the page makes the file. */
			unsigned char *b64 = malloc(4 * ((res.reqlen + 2) / 3) + 1);

			if (b64 != NULL) {
				EVP_EncodeBlock(b64, (const unsigned char *)res.req,
				    (int)res.reqlen);
				cs_json_kv(f, 0, "request_b64", (const char *)b64);
				free(b64);
			}
		}
	}
	fputc('}', f);
	free(res.req);
	if (fclose(f) != 0) {
		free(buf);
		return MHD_NO;
	}
	return ks_reply_take(rq, r == CS_OK ? 200 : status, "application/json",
	    buf, len, NULL);
}

/* POST /api/pin-reset reader=&puk=&new_pin=&new_pin2=&chip=: the holder
 * forgot the PIN (or blocked it). The same engine call as `cardstation
 * card pin-reset` (cs_desk_pin_reset): the journal must have issued the
 * card to a holder and the card must hold exactly that, or nothing
 * changes. The holder types the new PIN twice (new_pin, new_pin2), or
 * with neither a random PIN comes back once in the reply (pin) for a PIN
 * letter: the reply is then a secret body, wiped when sent. The PUK and
 * the PINs live in the request's locked body only and go past the guard
 * like the wipe's PUK. Journaled with the account logged in. */
enum MHD_Result ks_api_pin_reset(ks_req *rq)
{
	const ks_config *cfg = ks_cfg(rq->srv);
	const char *puk_s = ks_form_get(rq->form, "puk");
	const char *p1 = ks_form_get(rq->form, "new_pin");
	const char *p2 = ks_form_get(rq->form, "new_pin2");
	char reader[256], why[1024] = "", card[96] = "", *pre = NULL;
	cs_secret *puk = NULL, *pin = NULL, *out = NULL;
	cs_journal *j = NULL;
	cs_desk_pin_opts o;
	cs_desk_pin res;
	cs_msg m;
	SCARDCONTEXT ctx = 0;
	ks_guard_verdict gv;
	unsigned status = 422;
	const char *code = "pin-reset";
	int64_t wait = 0;
	size_t prelen = 0;
	FILE *f;
	int r;

	memset(&res, 0, sizeof(res));
	memset(&m, 0, sizeof(m));
	res.puk_tries = -1;
	if (puk_s == NULL || *puk_s == '\0')
		return ks_reply_error(rq, 400, "puk-needed", NULL);
	if (p1 != NULL && *p1 == '\0')
		p1 = NULL;
	if (p2 != NULL && *p2 == '\0')
		p2 = NULL;
	/* Typed twice: a typo would lock the holder out again. */
	if ((p1 != NULL || p2 != NULL) && (p1 == NULL || p2 == NULL ||
	    strcmp(p1, p2) != 0))
		return ks_reply_error(rq, 400, "pin-differ", NULL);
	if ((r = form_reader(rq, reader, sizeof(reader), &status, why,
	    sizeof(why))) != CS_OK)
		return ks_reply_error(rq, status, status == 409 ? "busy" :
		    "readers", NULL);
	if ((gv = puk_guard(rq, reader, card, sizeof(card), &wait)) !=
	    KS_GUARD_GO)
		return guard_reply(rq, gv, KS_TRY_PUK, wait);
	if (!same_card(rq, card))
		return ks_reply_error(rq, 409, "other-card", NULL);
	if (cs_secret_from(&puk, puk_s, strlen(puk_s)) != CS_OK ||
	    (p1 != NULL && cs_secret_from(&pin, p1, strlen(p1)) != CS_OK)) {
		cs_secret_free(puk);
		return MHD_NO;
	}
	if ((r = desk_open(rq, reader, &j, &ctx, &m, &status, &code)) != CS_OK)
		goto fail;
	memset(&o, 0, sizeof(o));
	o.reader = reader;
	o.profiles_dir = cfg->profiles_dir;
	o.puk = puk;
	o.new_pin = pin;
	r = cs_desk_pin_reset(ctx, j, &o, &res, &m);
	/* What the card said to the PUK, as the engine counted it. */
	if (card[0] != '\0' && (r == CS_OK || res.puk_tries >= 0))
		ks_guard_result(ks_srv_guard(rq->srv), card, KS_TRY_PUK, r == CS_OK,
		    res.puk_tries, ks_now_ms());
	switch (r) {
	case CS_OK:
		break;
	case CS_ERR_NOTFOUND:
		code = "card-unknown";
		status = 409;
		break;
	case CS_ERR_STATE:
		code = "card-state";
		status = 409;
		break;
	case CS_ERR_USAGE:
		code = "pin-rules";
		status = 400;
		break;
	case CS_ERR_CARD:
		code = res.puk_tries >= 0 ? "puk-refused" : "pin-reset";
		break;
	default:
		/* CS_ERR_DB with a random PIN: the card has it, the holder
		 * needs the letter all the same (the reply below). */
		code = "journal";
		status = 503;
		break;
	}
fail:
	if (r != CS_OK && res.random_pin == NULL) {
		if ((f = open_memstream(&pre, &prelen)) == NULL)
			goto out;
		fputc('{', f);
		if (m.code == NULL)
			cs_msg_set(&m, cs_err_code(r), NULL);
		ks_write_msg_error(f, code, &m);
		if (res.puk_tries >= 0)
			fprintf(f, ",\"tries\":%d", res.puk_tries);
		fputc('}', f);
		fclose(f);
		goto out;
	}
	/* Done (or done on the card, not in the journal): what the page
	 * shows; a random PIN goes in a secret body, once. */
	if ((f = open_memstream(&pre, &prelen)) == NULL)
		goto out;
	fputc('{', f);
	cs_json_kv(f, 1, "holder", res.holder[0] ? res.holder : NULL);
	cs_json_kv(f, 0, "printed_no", res.printed[0] ? res.printed : NULL);
	cs_json_kv(f, 0, "chip_serial", res.chip_serial[0] ? res.chip_serial :
	    NULL);
	/* The PIN is set but the note is not: the engine's message. */
	if (r != CS_OK) {
		fputs(",\"journal_error\":{", f);
		cs_msg_json(f, &m);
		fputc('}', f);
	}
	fprintf(f, ",\"random\":%s", res.random_pin != NULL ? "true" : "false");
	if (fclose(f) != 0) {
		free(pre);
		pre = NULL;
		goto out;
	}
	if (cs_secret_new(&out, prelen + (res.random_pin ?
	    res.random_pin->len : 0) + 16) != CS_OK) {
		free(pre);
		pre = NULL;
		goto out;
	}
	out->len = (size_t)snprintf((char *)out->buf, out->cap, "%.*s%s%s%s}",
	    (int)prelen, pre, res.random_pin ? ",\"pin\":\"" : "",
	    res.random_pin ? cs_secret_str(res.random_pin) : "",
	    res.random_pin ? "\"" : "");
	fprintf(stderr, "cardstation kiosk: %s reset the PIN of card %s (%s)\n",
	    rq->sess.account, res.chip_serial[0] ? res.chip_serial : "?",
	    res.random_pin ? "random, for a PIN letter" : "typed by the holder");
out:
	if (ctx)
		SCardReleaseContext(ctx);
	cs_journal_close(j);
	cs_secret_free(res.random_pin);
	cs_secret_free(pin);
	cs_secret_free(puk);
	if (out != NULL) {
		free(pre);
		return ks_reply_secret(rq, out);
	}
	if (pre == NULL)
		return MHD_NO;
	return ks_reply_take(rq, status, "application/json", pre, prelen, NULL);
}

/* --- handover: how the holder was identified ---------------------------- */

static const char *const id_methods[] = {
	"staff-student-id",   /* the university's own staff or student ID */
	"photo-id",           /* another photo ID (licence, passport, ...) */
	"known-in-person",    /* the operator knows the holder */
	"other",              /* the note says how */
};

struct live_ctx {
	int64_t run_id;
	char cert_serial[CS_SERIAL_SIZE], holder[256];
};

static int live_row(void *ctx, const cs_jissuance_view *v)
{
	struct live_ctx *c = ctx;

	/* Oldest first: the last one seen is the newest live issuance. */
	c->run_id = v->run_id;
	snprintf(c->cert_serial, sizeof(c->cert_serial), "%s",
	    v->iss.cert_serial ? v->iss.cert_serial : "");
	snprintf(c->holder, sizeof(c->holder), "%s", v->iss.holder ?
	    v->iss.holder : "");
	return 0;
}

/* POST /api/handover card_id=&method=&note=: the card this session just
 * verified is handed over; the journal notes how its holder was
 * identified (method, note), by whom (the account, as the note's
 * operator), whether the holder's PIN signed on it, and which certificate
 * and holder it carries. No secret: the note is words the operator typed
 * about an ID document, never its number's check digits or a PIN. */
enum MHD_Result ks_api_handover(ks_req *rq)
{
	const ks_config *cfg = ks_cfg(rq->srv);
	const char *id = ks_form_get(rq->form, "card_id");
	const char *method = ks_form_get(rq->form, "method");
	const char *note = ks_form_get(rq->form, "note");
	char why[512] = "", *text = NULL, *end;
	struct live_ctx live;
	cs_journal *j = NULL;
	cs_jfilter fl;
	size_t tlen = 0, mi;
	long long card_id;
	FILE *f;
	int r;

	if (id == NULL || (card_id = strtoll(id, &end, 10)) <= 0 || *end != '\0')
		return ks_reply_error(rq, 400, "bad-card", NULL);
	for (mi = 0; method != NULL && mi < sizeof(id_methods) /
	    sizeof(id_methods[0]); mi++)
		if (strcmp(method, id_methods[mi]) == 0)
			break;
	if (method == NULL || mi == sizeof(id_methods) / sizeof(id_methods[0]))
		return ks_reply_error(rq, 400, "bad-method", NULL);
	if (note != NULL && (strlen(note) > KS_NOTE_MAX ||
	    strpbrk(note, "\r\n\t") != NULL))
		return ks_reply_error(rq, 400, "bad-note", NULL);
	if (note != NULL && *note == '\0')
		note = NULL;
	if (strcmp(method, "other") == 0 && note == NULL)
		return ks_reply_error(rq, 400, "note-needed", NULL);
	/* Only the card this session checked, a moment ago, and only if the
	 * check did not say to keep it. */
	if (rq->sess.seen_card != card_id ||
	    ks_now_ms() - rq->sess.seen_at > KS_HANDOVER_MS)
		return ks_reply_error(rq, 409, "verify-first", NULL);
	if (strcmp(rq->sess.seen_verdict, "FAIL") == 0)
		return ks_reply_error(rq, 409, "verdict-fail", NULL);
	if ((r = cs_journal_open(&j, cs_journal_path(cfg->journal), 0, why,
	    sizeof(why))) != CS_OK)
		return ks_reply_error(rq, 503, "journal", why);
	cs_journal_set_actor(j, rq->sess.account, NULL);
	memset(&fl, 0, sizeof(fl));
	memset(&live, 0, sizeof(live));
	fl.card_id = card_id;
	fl.live_only = true;
	if ((r = cs_journal_issuances(j, &fl, live_row, &live)) != CS_OK ||
	    live.run_id == 0) {
		cs_journal_close(j);
		return ks_reply_error(rq, 409, "no-live-cert", NULL);
	}
	if ((f = open_memstream(&text, &tlen)) == NULL) {
		cs_journal_close(j);
		return MHD_NO;
	}
	fputc('{', f);
	cs_json_kv(f, 1, "method", method);
	cs_json_kv(f, 0, "note", note);
	cs_json_kv(f, 0, "holder", live.holder[0] ? live.holder : NULL);
	cs_json_kv(f, 0, "cert_serial", live.cert_serial[0] ? live.cert_serial :
	    NULL);
	fprintf(f, ",\"pin_checked\":%s", rq->sess.seen_pin_ok ? "true" : "false");
	cs_json_kv(f, 0, "verdict", rq->sess.seen_verdict);
	fputc('}', f);
	if (fclose(f) != 0) {
		cs_journal_close(j);
		free(text);
		return MHD_NO;
	}
	r = cs_journal_note(j, live.run_id, card_id, "card.handover-identity",
	    text, why, sizeof(why));
	cs_journal_close(j);
	if (r != CS_OK) {
		free(text);
		return ks_reply_error(rq, 503, "journal", why);
	}
	fprintf(stderr, "cardstation kiosk: %s recorded the handover of card %lld "
	    "(%s)\n", rq->sess.account, card_id, method);
	return ks_reply_take(rq, 200, "application/json", text, tlen, NULL);
}
