/* cs_verify.c - gathering the facts of a card-verification check: PC/SC
 * for identifiers and PIN tries, OpenSC's PKCS#11 for the PKCS#15 objects
 * and the signature, the journal for the bindings, OpenSSL for the chain. */
#include "cs_verify.h"
#include "cs_card.h"
#include "cs_err.h"
#include "cs_p12.h"
#include "cs_profile.h"
#include "cs_token.h"
#include "cs_touch.h"
#include "cs_i18n.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static void render_time(const ASN1_TIME *t, char *out, size_t outlen)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "?");
}

static void fill_from_x509(X509 *x, time_t now, cs_vcert *c)
{
	EVP_PKEY *pub = X509_get0_pubkey(x);
	uint32_t xku = X509_get_extended_key_usage(x);
	ASN1_TIME *at;
	unsigned char *der = c->subject_der;
	int pday = 0, psec = 0, len;

	c->parsed = 1;
	c->is_ca = X509_check_ca(x) != 0;
	if (cs_serial_of_cert(x, c->serial, sizeof(c->serial)) != CS_OK)
		snprintf(c->serial, sizeof(c->serial), "?");
	cs_dn_render(X509_get_subject_name(x), c->subject, sizeof(c->subject));
	c->subject_derlen = 0;
	if ((len = i2d_X509_NAME(X509_get_subject_name(x), NULL)) > 0 &&
	    (size_t)len <= sizeof(c->subject_der) &&
	    i2d_X509_NAME(X509_get_subject_name(x), &der) == len)
		c->subject_derlen = (size_t)len;
	cs_dn_render(X509_get_issuer_name(x), c->issuer, sizeof(c->issuer));
	render_time(X509_get0_notBefore(x), c->not_before, sizeof(c->not_before));
	render_time(X509_get0_notAfter(x), c->not_after, sizeof(c->not_after));
	c->not_yet_valid = X509_cmp_time(X509_get0_notBefore(x), &now) > 0;
	if ((at = ASN1_TIME_set(NULL, now)) != NULL &&
	    ASN1_TIME_diff(&pday, &psec, at, X509_get0_notAfter(x)) == 1)
		c->days_left = pday - (pday <= 0 && psec < 0 ? 1 : 0);
	ASN1_TIME_free(at);
	if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0 && c->days_left >= 0)
		c->days_left = -1;
	if (pub != NULL) {
		c->key_is_ec = EVP_PKEY_base_id(pub) == EVP_PKEY_EC;
		snprintf(c->key_type, sizeof(c->key_type), "%s-%d",
		    c->key_is_ec ? "EC" : EVP_PKEY_base_id(pub) == EVP_PKEY_RSA ?
		    "RSA" : "other", EVP_PKEY_get_bits(pub));
	}
	/* No EKU extension: every use is allowed. */
	c->client_auth = xku == UINT32_MAX || (xku & XKU_SSL_CLIENT) != 0;
	c->email_protection = xku == UINT32_MAX || (xku & XKU_SMIME) != 0;
}

int cs_vcert_dn_matches(const cs_vcert *c, const char *dn)
{
	const unsigned char *p = c->subject_der;
	X509_NAME *name = c->subject_derlen == 0 ? NULL :
	    d2i_X509_NAME(NULL, &p, (long)c->subject_derlen);
	int m = name != NULL && cs_dn_matches(name, dn, NULL, 0);

	X509_NAME_free(name);
	return m;
}

int cs_verify_cert_facts(const unsigned char *der, size_t len, time_t now,
    cs_vcert *c)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	c->parsed = 0;
	c->chain = -1;
	c->signed_ok = -1;
	c->j_dn_matches = -1;
	if (x == NULL)
		return CS_ERR_FORMAT;
	fill_from_x509(x, now, c);
	X509_free(x);
	return CS_OK;
}

int cs_verify_load_ca(const char *path, X509_STORE **out, char *why,
    size_t whylen)
{
	X509_STORE *st = X509_STORE_new();
	X509 *x;
	FILE *f;
	int n = 0;

	*out = NULL;
	if (st == NULL)
		return CS_ERR_NOMEM;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		X509_STORE_free(st);
		return CS_ERR_IO;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		X509_STORE_add_cert(st, x);
		X509_free(x);
		n++;
	}
	fclose(f);
	ERR_clear_error();
	if (n == 0) {
		snprintf(why, whylen, _("%s: no PEM certificate in it"), path);
		X509_STORE_free(st);
		return CS_ERR_FORMAT;
	}
	*out = st;
	return CS_OK;
}

/* Chain to the CA, with the card's other certificates as intermediates.
 * Validity dates are judged on their own, so they are not checked here. */
static void check_chain(X509_STORE *ca, X509 *x, STACK_OF(X509) *others,
    time_t now, cs_vcert *c)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	c->chain = 0;
	if (ctx == NULL || X509_STORE_CTX_init(ctx, ca, x, others) != 1) {
		snprintf(c->chain_error, sizeof(c->chain_error), "out of memory");
		X509_STORE_CTX_free(ctx);
		return;
	}
	X509_STORE_CTX_set_time(ctx, 0, now);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) == 1)
		c->chain = 1;
	else
		snprintf(c->chain_error, sizeof(c->chain_error), "%s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

struct latest {
	int found;
	cs_jissue_outcome outcome;
	int64_t record_id;
	char holder[128];
};

/* Issuances come oldest first: the last one seen is the latest. */
static int keep_latest(void *ctx, const cs_jissuance_view *v)
{
	struct latest *l = ctx;

	l->found = 1;
	l->outcome = v->iss.outcome;
	l->record_id = v->iss.record_id;
	snprintf(l->holder, sizeof(l->holder), "%s",
	    v->iss.holder ? v->iss.holder : "");
	return 0;
}

/* A journal that fails to answer is said so, never read as "no such card"
 * or "no such certificate": CS_OK, CS_ERR_NOTFOUND, or the failure. */
static int answered(int r)
{
	return r == CS_OK || r == CS_ERR_NOTFOUND ? CS_OK : r;
}

static int journal_cert(cs_journal *j, int64_t card_id, cs_vcert *c)
{
	cs_jcard card = {0};
	cs_jissuance iss = {0};
	cs_jrecord rec = {0};
	struct latest l;
	cs_jfilter f;
	int64_t iss_id = 0, rec_id = 0;
	int r;

	memset(&l, 0, sizeof(l));
	if ((r = cs_journal_cert_live_card(j, c->serial, &card, &iss_id)) == CS_OK) {
		c->j_known = 1;
		c->j_bound_here = card.id == card_id ? 1 : 0;
		snprintf(c->j_bound_chip, sizeof(c->j_bound_chip), "%s",
		    card.chip_serial ? card.chip_serial : "(no chip serial)");
		if (cs_journal_issuance_get(j, iss_id, &iss) == CS_OK) {
			snprintf(c->j_outcome, sizeof(c->j_outcome), "%s",
			    cs_jissue_outcome_name(iss.outcome));
			snprintf(c->j_holder, sizeof(c->j_holder), "%s",
			    iss.holder ? iss.holder : "");
			snprintf(c->j_mail, sizeof(c->j_mail), "%s",
			    iss.mail ? iss.mail : "");
			rec_id = iss.record_id;
		}
		cs_jissuance_clear(&iss);
		cs_jcard_clear(&card);
	} else if (r != CS_ERR_NOTFOUND)
		return r;
	else {
		memset(&f, 0, sizeof(f));
		f.cert_serial = c->serial;
		if ((r = cs_journal_issuances(j, &f, keep_latest, &l)) != CS_OK)
			return r;
		if (l.found) {
			c->j_known = 1;
			c->j_bound_here = -1;
			snprintf(c->j_outcome, sizeof(c->j_outcome), "%s",
			    cs_jissue_outcome_name(l.outcome));
			snprintf(c->j_holder, sizeof(c->j_holder), "%s", l.holder);
			rec_id = l.record_id;
		}
	}
	if (rec_id > 0 && (r = cs_journal_record_get(j, rec_id, &rec)) == CS_OK) {
		if (rec.dn != NULL && *rec.dn != '\0') {
			snprintf(c->j_dn, sizeof(c->j_dn), "%s", rec.dn);
			c->j_dn_matches = cs_vcert_dn_matches(c, rec.dn);
		}
		if (c->j_mail[0] == '\0' && rec.mail != NULL)
			snprintf(c->j_mail, sizeof(c->j_mail), "%s", rec.mail);
		cs_jrecord_clear(&rec);
	}
	return rec_id > 0 ? answered(r) : CS_OK;
}

struct missing_ctx {
	cs_vreport *r;
};

static int note_missing(void *ctx, const cs_jissuance_view *v)
{
	cs_vreport *r = ((struct missing_ctx *)ctx)->r;

	if (v->iss.cert_serial == NULL)
		return 0;
	for (size_t i = 0; i < r->ncerts; i++)
		if (strcmp(r->certs[i].serial, v->iss.cert_serial) == 0)
			return 0;
	if (r->nmissing < CS_VMISSING)
		snprintf(r->missing[r->nmissing++], sizeof(r->missing[0]), "%s",
		    v->iss.cert_serial);
	return 0;
}

static void journal_facts(const cs_verify_opts *o, cs_vreport *r)
{
	cs_jcard card = {0};
	cs_jfilter f;
	struct missing_ctx mc = {r};

	if (o->journal == NULL) {
		snprintf(r->journal_error, sizeof(r->journal_error), "%s",
		    o->journal_why ? o->journal_why : "no journal");
		return;
	}
	int rc = CS_ERR_NOTFOUND;

	if (r->chip_serial[0] != '\0' &&
	    (rc = cs_journal_card_find(o->journal, CS_JKEY_CHIP, r->chip_serial,
	    &card)) == CS_OK) {
		r->card_known = 1;
		r->card_id = card.id;
		snprintf(r->card_state, sizeof(r->card_state), "%s",
		    cs_jcard_state_name(card.state));
		snprintf(r->printed_no, sizeof(r->printed_no), "%s",
		    card.printed_no ? card.printed_no : "");
		cs_jcard_clear(&card);
		memset(&f, 0, sizeof(f));
		f.card_id = r->card_id;
		f.live_only = true;
		rc = cs_journal_issuances(o->journal, &f, note_missing, &mc);
	}
	for (size_t i = 0; answered(rc) == CS_OK && i < r->ncerts; i++)
		if (r->certs[i].parsed && !r->certs[i].is_ca)
			rc = journal_cert(o->journal, r->card_known ? r->card_id :
			    -1, &r->certs[i]);
	if (answered(rc) != CS_OK)
		snprintf(r->journal_error, sizeof(r->journal_error), "%s",
		    cs_strerror(rc));
}

/* Before a login OpenSC hides private objects, so a key is known to be
 * there only by a public key beside the certificate: 1 yes, -1 unknown. */
static void key_declared(cs_p11 *m, const cs_p11_cert *pc, int *has_key)
{
	int present = 0;

	if ((cs_p11_has_key(m, pc->id, pc->idlen, &present) == CS_OK &&
	    present) || (cs_p11_has_pubkey(m, pc->id, pc->idlen, &present) ==
	    CS_OK && present))
		*has_key = 1;
	else
		*has_key = -1;
}

/* OpenSC's PKCS#11 module and the environment that points it at one reader
 * (cs_token_env) belong to the whole process: this runs only in the desk's
 * card-touch child (cs_touch.c), one card per process, never in the CLI or
 * the kiosk. The chain is checked by the caller, from the DER kept here. */
static void token_facts(const char *reader, const char *pin,
    const cs_profile *prof, cs_vreport *r)
{
	cs_p11 *m = NULL;
	cs_p11_token ti;
	cs_p11_cert *pc = NULL;
	X509 **xs = NULL;
	size_t n = 0;
	char why[256] = "";

	if (cs_token_env(prof, reader, why, sizeof(why)) != CS_OK ||
	    cs_p11_open(&m, &ti, why, sizeof(why)) != CS_OK ||
	    cs_p11_certs(m, &pc, &n, why, sizeof(why)) != CS_OK) {
		snprintf(r->p11_error, sizeof(r->p11_error), "%s", why);
		goto out;
	}
	snprintf(r->pkcs15_serial, sizeof(r->pkcs15_serial), "%s", ti.serial);
	snprintf(r->token_label, sizeof(r->token_label), "%s", ti.label);
	r->mechs_known = cs_p11_mechanisms(m, &r->mechs) == CS_OK;
	if (n > 0 && ((r->certs = calloc(n, sizeof(*r->certs))) == NULL ||
	    (xs = calloc(n, sizeof(*xs))) == NULL)) {
		snprintf(r->p11_error, sizeof(r->p11_error), "out of memory");
		goto out;
	}
	r->ncerts = n;
	for (size_t i = 0; i < n; i++) {
		cs_vcert *c = &r->certs[i];
		const unsigned char *p = pc[i].der;

		cs_hex_encode(pc[i].id, pc[i].idlen, c->id, sizeof(c->id));
		snprintf(c->label, sizeof(c->label), "%s", pc[i].label);
		cs_verify_cert_facts(pc[i].der, pc[i].derlen, r->now, c);
		key_declared(m, &pc[i], &c->has_key);
		xs[i] = d2i_X509(NULL, &p, (long)pc[i].derlen);
		if ((c->der = malloc(pc[i].derlen)) != NULL) {
			memcpy(c->der, pc[i].der, pc[i].derlen);
			c->derlen = pc[i].derlen;
		}
	}
	if (pin != NULL) {
		r->login_rc = cs_p11_login(m, pin, r->login_error,
		    sizeof(r->login_error));
		for (size_t i = 0; r->login_rc == CS_OK && i < n; i++) {
			cs_vcert *c = &r->certs[i];
			int rc;

			if (xs[i] == NULL || c->is_ca)
				continue;
			/* Logged in, private objects show: now it is known. */
			cs_p11_has_key(m, pc[i].id, pc[i].idlen, &c->has_key);
			if (!c->has_key)
				continue;
			rc = cs_p11_prove_key(m, pc[i].id, pc[i].idlen,
			    X509_get0_pubkey(xs[i]), c->mechanism,
			    sizeof(c->mechanism), c->sign_error,
			    sizeof(c->sign_error));
			c->signed_ok = rc == CS_OK;
		}
	}
out:
	for (size_t i = 0; xs != NULL && i < n; i++)
		X509_free(xs[i]);
	free(xs);
	cs_p11_certs_free(pc, n);
	free(pc);
	cs_p11_close(m);
}

void cs_vreport_clear(cs_vreport *r)
{
	for (size_t i = 0; r->certs != NULL && i < r->ncerts; i++)
		free(r->certs[i].der);
	free(r->certs);
	memset(r, 0, sizeof(*r));
}

static void report_start(cs_vreport *r, const char *reader, const char *pin,
    time_t now)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->reader, sizeof(r->reader), "%s", reader);
	r->now = now ? now : time(NULL);
	r->pin_given = pin != NULL;
	r->pin_tries = -1;
}

void cs_verify_card_touch(SCARDCONTEXT ctx, const char *reader,
    const char *profiles_dir, const char *pin, time_t now, cs_vreport *r)
{
	cs_card_id id;
	cs_profile prof;
	cs_applet_state st;
	char cwhy[256] = "";

	report_start(r, reader, pin, now);
	if (cs_card_probe(ctx, reader, &id, cwhy, sizeof(cwhy)) != CS_OK) {
		snprintf(r->card_error, sizeof(r->card_error), "%s", cwhy);
		return;
	}
	snprintf(r->atr, sizeof(r->atr), "%s", id.atr);
	snprintf(r->chip_serial, sizeof(r->chip_serial), "%s", id.chip_serial);
	if (id.chip_serial[0] != '\0')
		snprintf(r->id_source, sizeof(r->id_source), CS_JCARD_ID_CPLC);
	/* No profile fits: the report still tells what the journal knows. */
	if (cs_card_profile(ctx, reader, profiles_dir, NULL, id.atr, &prof,
	    &st, cwhy, sizeof(cwhy)) != CS_OK)
		return;
	snprintf(r->profile, sizeof(r->profile), "%s", prof.name);
	r->pin_max = (int)prof.pin_tries;
	r->pin_set = st.pin_set;
	r->pin_tries = st.pin_tries;
	r->has_pkcs15 = st.has_pkcs15;
	/* Which card: the profile's identity sources (a chip without CPLC
	 * may carry the identity a station assigned in its TokenInfo). */
	if (cs_card_identity(ctx, reader, &prof, &st, &id, NULL, cwhy,
	    sizeof(cwhy)) == CS_OK) {
		snprintf(r->chip_serial, sizeof(r->chip_serial), "%s",
		    id.chip_serial);
		snprintf(r->id_source, sizeof(r->id_source), "%s", id.source ==
		    CS_CARD_ID_ASSIGNED ? CS_JCARD_ID_ASSIGNED : id.source ==
		    CS_CARD_ID_CPLC ? CS_JCARD_ID_CPLC : "");
	}
	if (st.has_pkcs15)
		token_facts(reader, pin, &prof, r);
	/* A PIN typed at the desk may have been wrong: count again. */
	if (pin != NULL && cs_card_applet_state(ctx, reader, prof.match_aid,
	    &st, cwhy, sizeof(cwhy)) == CS_OK)
		r->pin_tries = st.pin_tries;
}

/* Each end-entity certificate read from the card to the CA, with the
 * card's other certificates as intermediates. */
static void chain_facts(X509_STORE *ca, cs_vreport *r)
{
	STACK_OF(X509) *all = sk_X509_new_null();
	X509 **xs = calloc(r->ncerts ? r->ncerts : 1, sizeof(*xs));

	for (size_t i = 0; all != NULL && xs != NULL && i < r->ncerts; i++) {
		const unsigned char *p = r->certs[i].der;

		if (p != NULL && (xs[i] = d2i_X509(NULL, &p,
		    (long)r->certs[i].derlen)) != NULL)
			sk_X509_push(all, xs[i]);
	}
	for (size_t i = 0; all != NULL && xs != NULL && i < r->ncerts; i++)
		if (xs[i] != NULL && !r->certs[i].is_ca)
			check_chain(ca, xs[i], all, r->now, &r->certs[i]);
	for (size_t i = 0; xs != NULL && i < r->ncerts; i++)
		X509_free(xs[i]);
	free(xs);
	sk_X509_free(all);
}

int cs_verify_card(SCARDCONTEXT ctx, const cs_verify_opts *o, cs_vreport *r,
    char *why, size_t whylen)
{
	char cwhy[256] = "";

	(void)ctx; /* the card is touched by a process of its own */
	(void)why;
	(void)whylen;
	if (cs_touch_card(o->reader, o->profiles_dir, o->pin, o->now, r, cwhy,
	    sizeof(cwhy)) != CS_OK) {
		report_start(r, o->reader, o->pin, o->now);
		snprintf(r->card_error, sizeof(r->card_error), "%s", cwhy);
	}
	r->soon_days = o->soon_days > 0 ? o->soon_days : 30;
	if (r->card_error[0] != '\0')
		goto judge;
	if (o->ca != NULL)
		chain_facts(o->ca, r);
	journal_facts(o, r);
judge:
	cs_verify_judge(r);
	return CS_OK;
}
