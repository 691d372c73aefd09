/* cs_verify_judge.c - the rules of a card-verification verdict: facts in,
 * reasons and verdict out, no I/O. */
#include "cs_verify.h"
#include "cs_codes.h"
#include "cs_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *cs_verdict_name(cs_verdict v)
{
	switch (v) {
	case CS_VERDICT_OK: return "OK";
	case CS_VERDICT_WARN: return "WARN";
	default: return "FAIL";
	}
}

const char *cs_vlevel_name(cs_vlevel l)
{
	switch (l) {
	case CS_VL_INFO: return "info";
	case CS_VL_WARN: return "warn";
	default: return "fail";
	}
}

const char *cs_vuse_name(cs_vuse u)
{
	switch (u) {
	case CS_VUSE_TLS12_CLIENT: return "tls1.2-client-auth";
	case CS_VUSE_TLS13_CLIENT: return "tls1.3-client-auth";
	case CS_VUSE_SMIME_SIGN: return "smime-sign";
	case CS_VUSE_SMIME_DECRYPT: return "smime-decrypt";
	default: return "?";
	}
}

/* A reason: its code, another part's words (detail, or NULL) and the
 * code's parameters as name, value, ..., NULL. The text is the code's
 * ("verify.<code>" in cs_codes.c) in the locale's language. */
static void add(cs_vreport *r, cs_vlevel level, const char *code,
    const char *detail, ...)
{
	cs_vreason *x;
	cs_msg m;
	char full[64];
	va_list ap;

	if (r->nreasons == CS_VREASONS)
		return;
	x = &r->reasons[r->nreasons++];
	x->level = level;
	snprintf(x->code, sizeof(x->code), "%s", code);
	va_start(ap, detail);
	cs_params_vpack(x->params, sizeof(x->params), ap);
	va_end(ap);
	snprintf(x->detail, sizeof(x->detail), "%s", detail ? detail : "");
	snprintf(full, sizeof(full), "verify.%s", code);
	memset(&m, 0, sizeof(m));
	m.code = full;
	snprintf(m.params, sizeof(m.params), "%s", x->params);
	snprintf(m.detail, sizeof(m.detail), "%s", x->detail);
	cs_msg_text(&m, x->text, sizeof(x->text));
}

static const char *num(char *buf, size_t n, long v)
{
	snprintf(buf, n, "%ld", v);
	return buf;
}

/* The certificate the card is for: the first that is not a CA's. */
static const cs_vcert *first_ee(const cs_vreport *r)
{
	for (size_t i = 0; i < r->ncerts; i++)
		if (r->certs[i].parsed && !r->certs[i].is_ca)
			return &r->certs[i];
	return NULL;
}

int cs_verify_use(const cs_vreport *r, cs_vuse u, char *why, size_t whylen)
{
	const cs_vcert *c = first_ee(r);
	int works;

	if (c == NULL || !r->mechs_known) {
		cs_say(why, whylen, "use.nothing-to-judge", NULL);
		return -1;
	}
	if (c->has_key == 0) {
		cs_say(why, whylen, "use.no-key", NULL);
		return 0;
	}
	/* A key that failed the challenge works for nothing. */
	if (c->signed_ok == 0) {
		cs_say(why, whylen, "use.key-failed", NULL);
		return 0;
	}
	works = c->key_is_ec ? r->mechs.ecdsa : r->mechs.rsa_pkcs;
	switch (u) {
	case CS_VUSE_TLS12_CLIENT:
		if (!c->client_auth) {
			cs_say(why, whylen, "use.no-client-auth", NULL);
			return 0;
		}
		cs_say(why, whylen, works ? "use.signatures" : "use.no-signature",
		    "mechanism", c->key_is_ec ? "ECDSA" : "RSA PKCS#1 v1.5", NULL);
		return works;
	case CS_VUSE_TLS13_CLIENT:
		if (!c->client_auth) {
			cs_say(why, whylen, "use.no-client-auth", NULL);
			return 0;
		}
		if (c->key_is_ec) {
			cs_say(why, whylen, r->mechs.ecdsa ? "use.signatures" :
			    "use.no-signature", "mechanism", "ECDSA", NULL);
			return r->mechs.ecdsa;
		}
		/* TLS 1.3 allows RSA only as PSS (RFC 8446 4.2.3). */
		cs_say(why, whylen, r->mechs.rsa_pss ? "use.signatures" :
		    "use.tls13-no-pss", "mechanism", "RSA-PSS", NULL);
		return r->mechs.rsa_pss;
	case CS_VUSE_SMIME_SIGN:
		if (!c->email_protection) {
			cs_say(why, whylen, "use.no-email-protection", NULL);
			return 0;
		}
		cs_say(why, whylen, works ? "use.sign-works" : "use.no-sign", NULL);
		return works;
	case CS_VUSE_SMIME_DECRYPT:
		if (!c->email_protection) {
			cs_say(why, whylen, "use.no-email-protection", NULL);
			return 0;
		}
		if (c->key_is_ec) {
			cs_say(why, whylen, "use.ec-no-decrypt", NULL);
			return 0;
		}
		cs_say(why, whylen, r->mechs.rsa_decrypt ? "use.decrypt" :
		    "use.no-decrypt", NULL);
		return r->mechs.rsa_decrypt;
	default:
		cs_say(why, whylen, "use.unknown", NULL);
		return -1;
	}
}

static void judge_card(cs_vreport *r)
{
	char n1[24], n2[24];

	if (r->card_error[0] != '\0') {
		add(r, CS_VL_FAIL, "card-unreadable", r->card_error, NULL);
		return;
	}
	if (r->profile[0] == '\0') {
		add(r, CS_VL_FAIL, "unknown-model", NULL, NULL);
		return;
	}
	if (!r->pin_set)
		add(r, CS_VL_FAIL, "no-pin", NULL, NULL);
	else if (r->pin_tries == 0)
		add(r, CS_VL_FAIL, "pin-blocked", NULL, NULL);
	else if (r->pin_tries > 0 && r->pin_max > 0 && r->pin_tries < r->pin_max)
		add(r, CS_VL_WARN, "pin-mistyped", NULL, "left", num(n1, sizeof(n1),
		    r->pin_tries), "max", num(n2, sizeof(n2), r->pin_max), NULL);
	if (!r->has_pkcs15)
		add(r, CS_VL_FAIL, "no-pkcs15", NULL, NULL);
	else if (r->p11_error[0] != '\0')
		add(r, CS_VL_FAIL, "pkcs15-unreadable", r->p11_error, NULL);
	else if (first_ee(r) == NULL)
		add(r, CS_VL_FAIL, "no-certificate", NULL, NULL);
}

/* A retired card is never written again: a warning that the holder needs
 * another card; a failure when a certificate is still live on it (the
 * journal retired it after its issuance, or was edited). */
static void judge_retired(cs_vreport *r)
{
	for (size_t i = 0; i < r->ncerts; i++)
		if (r->certs[i].parsed && !r->certs[i].is_ca &&
		    r->certs[i].j_bound_here == 1) {
			add(r, CS_VL_FAIL, "card-retired-live", NULL, "serial",
			    r->certs[i].serial, NULL);
			return;
		}
	add(r, CS_VL_WARN, "card-retired", NULL, NULL);
}

static void judge_journal_card(cs_vreport *r)
{
	if (r->journal_error[0] != '\0') {
		add(r, CS_VL_WARN, "journal-unavailable", r->journal_error, NULL);
		return;
	}
	if (r->chip_serial[0] == '\0') {
		add(r, CS_VL_FAIL, "no-chip-serial", NULL, NULL);
		return;
	}
	if (!r->card_known) {
		add(r, CS_VL_FAIL, "card-unknown", NULL, "chip", r->chip_serial,
		    NULL);
		return;
	}
	if (strcmp(r->card_state, "lost") == 0)
		add(r, CS_VL_FAIL, "card-lost", NULL, NULL);
	else if ((strcmp(r->card_state, "returned") == 0 ||
	    strcmp(r->card_state, "wiped") == 0) && first_ee(r) != NULL)
		add(r, CS_VL_FAIL, "card-wiped", NULL, "state",
		    cs_state_code("card", r->card_state, (char[64]){0}, 64), NULL);
	else if (strcmp(r->card_state, "retired") == 0)
		judge_retired(r);
	for (size_t i = 0; i < r->nmissing; i++)
		add(r, CS_VL_FAIL, "bound-cert-missing", NULL, "serial",
		    r->missing[i], NULL);
}

static void judge_cert(cs_vreport *r, const cs_vcert *c, int journal_ok)
{
	const char *s = c->serial;
	char n1[24];

	if (!c->parsed) {
		add(r, CS_VL_FAIL, "cert-unreadable", NULL, "id", c->id, NULL);
		return;
	}
	if (c->is_ca)
		return;
	if (c->not_yet_valid)
		add(r, CS_VL_FAIL, "cert-not-yet-valid", NULL, "serial", s, "date",
		    c->not_before, NULL);
	else if (c->days_left < 0)
		add(r, CS_VL_FAIL, "cert-expired", NULL, "serial", s, "date",
		    c->not_after, NULL);
	else if (c->days_left < r->soon_days)
		add(r, CS_VL_WARN, "cert-expires-soon", NULL, "serial", s, "days",
		    num(n1, sizeof(n1), c->days_left), "date", c->not_after, NULL);
	if (c->chain == 0)
		add(r, CS_VL_FAIL, "chain", c->chain_error, "serial", s, NULL);
	if (c->has_key == 0)
		add(r, CS_VL_FAIL, "no-key", NULL, "serial", s, NULL);
	if (journal_ok) {
		if (!c->j_known)
			add(r, CS_VL_FAIL, "cert-unknown", NULL, "serial", s, NULL);
		else if (c->j_bound_here == 0)
			add(r, CS_VL_FAIL, "not-bound-card", NULL, "serial", s,
			    "holder", c->j_holder, "chip", c->j_bound_chip, NULL);
		else if (c->j_bound_here < 0)
			add(r, CS_VL_FAIL, "cert-not-live", NULL, "serial", s,
			    "holder", c->j_holder, "outcome", cs_state_code("outcome",
			    c->j_outcome, (char[64]){0}, 64), NULL);
		if (c->j_known && c->j_dn_matches == 0)
			add(r, CS_VL_FAIL, "dn-mismatch", NULL, "serial", s, "dn",
			    c->j_dn, NULL);
	}
	if (c->signed_ok == 0)
		add(r, CS_VL_FAIL, "key-mismatch", c->sign_error, "serial", s,
		    NULL);
	else if (c->signed_ok == 1)
		add(r, CS_VL_INFO, "key-ok", NULL, "serial", s, "mechanism",
		    c->mechanism, NULL);
}

/* One card, one person: certificates of two people is the worst mistake. */
/* Two certificates name one person when their subjects are the same as
 * encoded: rendered strings can be made equal by a CN that holds
 * ",OU=..." (issue 15). Unknown encodings are never the same. */
static int same_subject(const cs_vcert *a, const cs_vcert *b)
{
	return a->subject_derlen != 0 && a->subject_derlen == b->subject_derlen &&
	    memcmp(a->subject_der, b->subject_der, a->subject_derlen) == 0;
}

static void judge_holders(cs_vreport *r)
{
	const cs_vcert *a = first_ee(r);

	if (a == NULL)
		return;
	for (size_t i = 0; i < r->ncerts; i++) {
		const cs_vcert *b = &r->certs[i];

		if (b == a || !b->parsed || b->is_ca)
			continue;
		if ((a->j_holder[0] != '\0' && b->j_holder[0] != '\0' &&
		    strcmp(a->j_holder, b->j_holder) != 0) ||
		    ((a->j_holder[0] == '\0' || b->j_holder[0] == '\0') &&
		    !same_subject(a, b))) {
			add(r, CS_VL_FAIL, "several-holders", NULL, "serial",
			    a->serial, "holder", a->j_holder[0] ? a->j_holder :
			    a->subject, "serial2", b->serial, "holder2",
			    b->j_holder[0] ? b->j_holder : b->subject, NULL);
			return;
		}
	}
}

void cs_verify_judge(cs_vreport *r)
{
	int chain_unchecked = 0, untested = 0;
	char why[160];

	r->nreasons = 0;
	if (r->soon_days <= 0)
		r->soon_days = 30;
	judge_card(r);
	if (r->card_error[0] == '\0')
		judge_journal_card(r);
	for (size_t i = 0; i < r->ncerts; i++) {
		const cs_vcert *c = &r->certs[i];

		judge_cert(r, c, r->journal_error[0] == '\0');
		if (c->parsed && !c->is_ca) {
			chain_unchecked |= c->chain < 0;
			untested |= c->signed_ok < 0 && c->has_key != 0;
		}
	}
	judge_holders(r);
	if (chain_unchecked)
		add(r, CS_VL_WARN, "chain-unchecked", NULL, NULL);
	if (r->pin_given && r->login_rc != 0)
		add(r, CS_VL_FAIL, r->login_rc == CS_ERR_STATE ? "pin-blocked" :
		    "pin-refused", r->login_error, NULL);
	else if (untested && !r->pin_given)
		add(r, CS_VL_INFO, "key-untested", NULL, NULL);
	if (first_ee(r) != NULL && r->mechs_known)
		for (int u = 0; u < CS_VUSE_COUNT; u++) {
			int v = cs_verify_use(r, (cs_vuse)u, why, sizeof(why));

			const char *answer = v > 0 ? "yes" : v == 0 ? "no" :
			    "unknown";
			char text[32];
			size_t before = r->nreasons;

			/* One code, "use"; its text says the answer. */
			add(r, CS_VL_INFO, "use", NULL, "use", cs_vuse_name(u),
			    "answer", answer, "why", why, NULL);
			snprintf(text, sizeof(text), "verify.use-%s", answer);
			if (r->nreasons > before)
				cs_code_text(text, r->reasons[before].params,
				    r->reasons[before].text,
				    sizeof(r->reasons[before].text));
		}
	r->verdict = CS_VERDICT_OK;
	for (size_t i = 0; i < r->nreasons; i++)
		if (r->reasons[i].level == CS_VL_FAIL)
			r->verdict = CS_VERDICT_FAIL;
		else if (r->reasons[i].level == CS_VL_WARN &&
		    r->verdict == CS_VERDICT_OK)
			r->verdict = CS_VERDICT_WARN;
}
