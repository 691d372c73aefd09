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
 * PIN and is handled the same way. */
#include "ks.h"

#include "cs_err.h"
#include "cs_journal.h"
#include "cs_json.h"
#ifdef KS_HAVE_VERIFY
#include "cs_verify.h"
#endif
#include "cs_desk.h"
#include "cs_revoke.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#ifdef KS_HAVE_VERIFY
static void write_report(FILE *f, const cs_vreport *v)
{
	fputc('{', f);
	cs_json_kv(f, 1, "verdict", cs_verdict_name(v->verdict));
	cs_json_kv(f, 0, "reader", v->reader);
	cs_json_kv(f, 0, "card_error", v->card_error[0] ? v->card_error : NULL);
	cs_json_kv(f, 0, "chip_serial", v->chip_serial[0] ? v->chip_serial : NULL);
	cs_json_kv(f, 0, "pkcs15_serial", v->pkcs15_serial[0] ?
	    v->pkcs15_serial : NULL);
	cs_json_kv(f, 0, "printed_no", v->printed_no[0] ? v->printed_no : NULL);
	cs_json_kv(f, 0, "card_state", v->card_state[0] ? v->card_state : NULL);
	fprintf(f, ",\"card_id\":%lld,\"pin_given\":%s,\"pin_tries\":%d,"
	    "\"pin_max\":%d", (long long)v->card_id, v->pin_given ? "true" :
	    "false", v->pin_tries, v->pin_max);
	cs_json_kv(f, 0, "login_error", v->pin_given && v->login_rc != CS_OK ?
	    v->login_error : NULL);
	fputs(",\"certs\":[", f);
	for (size_t i = 0; i < v->ncerts; i++) {
		const cs_vcert *c = &v->certs[i];

		fprintf(f, "%s{", i ? "," : "");
		cs_json_kv(f, 1, "serial", c->serial);
		cs_json_kv(f, 0, "subject", c->subject);
		cs_json_kv(f, 0, "not_after", c->not_after);
		cs_json_kv(f, 0, "holder", c->j_holder[0] ? c->j_holder : NULL);
		cs_json_kv(f, 0, "mail", c->j_mail[0] ? c->j_mail : NULL);
		fprintf(f, ",\"is_ca\":%d,\"has_key\":%d,\"signed_ok\":%d,"
		    "\"days_left\":%ld}", c->is_ca, c->has_key, c->signed_ok,
		    c->days_left);
	}
	fputs("],\"reasons\":[", f);
	for (size_t i = 0; i < v->nreasons; i++) {
		fprintf(f, "%s{", i ? "," : "");
		cs_json_kv(f, 1, "level", cs_vlevel_name(v->reasons[i].level));
		cs_json_kv(f, 0, "code", v->reasons[i].code);
		cs_json_kv(f, 0, "text", v->reasons[i].text);
		fputc('}', f);
	}
	fputs("]}", f);
}
#endif

enum MHD_Result ks_api_verify(ks_req *rq)
{
#ifdef KS_HAVE_VERIFY
	const ks_config *cfg = ks_cfg(rq->srv);
	const char *pin = ks_form_get(rq->form, "pin");
	char reader[256], why[1024] = "", jwhy[256] = "", *buf = NULL;
	cs_verify_opts o;
	cs_vreport v;
	cs_journal *j = NULL;
	X509_STORE *ca = NULL;
	SCARDCONTEXT ctx;
	size_t len = 0;
	unsigned status;
	FILE *f;
	int r;

	if ((r = form_reader(rq, reader, sizeof(reader), &status, why,
	    sizeof(why))) != CS_OK)
		return ks_reply_error(rq, status, status == 409 ? "busy" :
		    "readers", why);
	if (cfg->ca != NULL && cs_verify_load_ca(cfg->ca, &ca, why,
	    sizeof(why)) != CS_OK)
		return ks_reply_error(rq, 503, "ca", why);
	if (access(cs_journal_path(cfg->journal), F_OK) == 0)
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
	o.pin = pin != NULL && *pin != '\0' ? pin : NULL;
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
	if ((f = open_memstream(&buf, &len)) == NULL) {
		cs_vreport_clear(&v);
		return MHD_NO;
	}
	write_report(f, &v);
	fclose(f);
	cs_vreport_clear(&v);
	return ks_reply_take(rq, 200, "application/json", buf, len, NULL);
#else
	char reader[256], why[256];

	(void)form_reader;
	(void)reader;
	(void)why;
	return ks_reply_error(rq, 503, "not-available",
	    "card verification is not in this build yet");
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
	int64_t card_id;
	size_t len = 0;
	long long iid;
	long reason;
	unsigned status = 422;
	int r;

	if (cfg->admin_mail == NULL)
		return ks_reply_error(rq, 503, "not-available", "the kiosk was "
		    "started without --admin-mail, which a revocation request needs");
	if (id == NULL || (iid = strtoll(id, &end, 10)) <= 0 || *end != '\0')
		return ks_reply_error(rq, 400, "bad-issuance", "which issuance?");
	reason = reason_s != NULL ? strtol(reason_s, &end, 10) :
	    CS_REVOKE_DEFAULT_REASON;
	if (reason_s != NULL && *end != '\0')
		return ks_reply_error(rq, 400, "bad-reason", "reason code");
	if ((r = cs_journal_open(&j, cs_journal_path(cfg->journal), 0, why,
	    sizeof(why))) != CS_OK)
		return ks_reply_error(rq, 503, "journal", why);
	cs_journal_set_actor(j, rq->sess.operator_name, NULL);
	memset(&sel, 0, sizeof(sel));
	sel.issuance = iid;
	if ((r = cs_desk_find_card(j, &sel, &card_id, NULL, why,
	    sizeof(why))) != CS_OK) {
		snprintf(why, sizeof(why), "this card holds no live certificate");
		status = 409;
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.reason = (int)reason;
	o.comment = comment;
	o.admin_mail = cfg->admin_mail;
	r = cs_desk_lost(j, card_id, &o, NULL, &req, &len, why, sizeof(why));
	if (r == CS_ERR_NOTFOUND || r == CS_ERR_STATE)
		status = 409;
out:
	cs_journal_close(j);
	if (r != CS_OK || len == 0) {
		free(req);
		return ks_reply_error(rq, status, "lost", why[0] ? why :
		    cs_strerror(r));
	}
	return ks_reply_take(rq, 200, "text/tab-separated-values; charset=Shift_JIS",
	    req, len, "attachment; filename=\"revocation.tsv\"");
}

/* Wipe the returned card in the chosen reader (cs_desk_returned). The
 * institution PUK comes from the operator in this POST body only: the body
 * is locked memory (ks_form.c), the copy handed to the engine is a
 * cs_secret, and both are wiped when the request ends. It is never logged
 * nor put in a reply, and never kept for the next card. */
enum MHD_Result ks_api_wipe(ks_req *rq)
{
	const ks_config *cfg = ks_cfg(rq->srv);
	const char *puk_s = ks_form_get(rq->form, "puk");
	char reader[256], why[1024] = "", *buf = NULL;
	cs_secret *puk = NULL;
	cs_journal *j = NULL;
	cs_desk_return_opts o;
	cs_desk_return res;
	SCARDCONTEXT ctx = 0;
	unsigned status = 422;
	const char *code = "wipe";
	size_t len = 0;
	FILE *f;
	int r;

	if (puk_s == NULL || *puk_s == '\0')
		return ks_reply_error(rq, 400, "puk-needed", "wiping a returned "
		    "card needs the institution PUK");
	if ((r = form_reader(rq, reader, sizeof(reader), &status, why,
	    sizeof(why))) != CS_OK)
		return ks_reply_error(rq, status, status == 409 ? "busy" :
		    "readers", why);
	status = 422;
	if (cs_secret_from(&puk, puk_s, strlen(puk_s)) != CS_OK)
		return MHD_NO;
	/* Open the journal first: never wipe a card we cannot journal. */
	if ((r = cs_journal_open(&j, cs_journal_path(cfg->journal), 0, why,
	    sizeof(why))) != CS_OK) {
		status = 503;
		code = "journal";
		goto out;
	}
	cs_journal_set_actor(j, rq->sess.operator_name, reader);
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS) {
		ctx = 0;
		r = CS_ERR_CARD;
		status = 503;
		code = "readers";
		snprintf(why, sizeof(why), "pcscd does not answer");
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.reader = reader;
	o.profiles_dir = cfg->profiles_dir;
	o.puk = puk;
	r = cs_desk_returned(ctx, j, &o, &res, why, sizeof(why));
out:
	if (ctx)
		SCardReleaseContext(ctx);
	cs_journal_close(j);
	cs_secret_free(puk);
	if (r != CS_OK)
		return ks_reply_error(rq, status, code, why[0] ? why :
		    cs_strerror(r));
	if ((f = open_memstream(&buf, &len)) == NULL)
		return MHD_NO;
	snprintf(why, sizeof(why), "card %s wiped: PKCS#15 application erased, "
	    "PIN reset to a random PIN nobody knows, journaled 'returned'",
	    res.chip_serial[0] ? res.chip_serial : "(no chip serial)");
	fputc('{', f);
	cs_json_kv(f, 1, "text", why);
	cs_json_kv(f, 0, "chip_serial", res.chip_serial[0] ? res.chip_serial :
	    NULL);
	cs_json_kv(f, 0, "profile", res.profile);
	fprintf(f, ",\"wiped\":%zu}", res.wiped);
	fclose(f);
	return ks_reply_take(rq, 200, "application/json", buf, len, NULL);
}
