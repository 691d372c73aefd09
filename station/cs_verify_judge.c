/* cs_verify_judge.c - the rules of a card-verification verdict: facts in,
 * reasons and verdict out, no I/O. */
#include "cs_verify.h"
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

static void add(cs_vreport *r, cs_vlevel level, const char *code,
    const char *fmt, ...)
{
	cs_vreason *x;
	va_list ap;

	if (r->nreasons == CS_VREASONS)
		return;
	x = &r->reasons[r->nreasons++];
	x->level = level;
	snprintf(x->code, sizeof(x->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(x->text, sizeof(x->text), fmt, ap);
	va_end(ap);
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
		snprintf(why, whylen, "no certificate or mechanism list to judge by");
		return -1;
	}
	if (c->has_key == 0) {
		snprintf(why, whylen, "no private key on the card");
		return 0;
	}
	/* A key that failed the challenge works for nothing. */
	if (c->signed_ok == 0) {
		snprintf(why, whylen, "the key failed the signature check");
		return 0;
	}
	works = c->key_is_ec ? r->mechs.ecdsa : r->mechs.rsa_pkcs;
	switch (u) {
	case CS_VUSE_TLS12_CLIENT:
		if (!c->client_auth) {
			snprintf(why, whylen, "the certificate lacks clientAuth");
			return 0;
		}
		snprintf(why, whylen, works ? "%s signatures" :
		    "the card offers no %s signature", c->key_is_ec ? "ECDSA" :
		    "RSA PKCS#1 v1.5");
		return works;
	case CS_VUSE_TLS13_CLIENT:
		if (!c->client_auth) {
			snprintf(why, whylen, "the certificate lacks clientAuth");
			return 0;
		}
		if (c->key_is_ec) {
			snprintf(why, whylen, r->mechs.ecdsa ? "ECDSA signatures" :
			    "the card offers no ECDSA");
			return r->mechs.ecdsa;
		}
		/* TLS 1.3 allows RSA only as PSS (RFC 8446 4.2.3). */
		snprintf(why, whylen, r->mechs.rsa_pss ? "RSA-PSS signatures" :
		    "TLS 1.3 needs RSA-PSS, which the card does not offer");
		return r->mechs.rsa_pss;
	case CS_VUSE_SMIME_SIGN:
		if (!c->email_protection) {
			snprintf(why, whylen, "the certificate lacks emailProtection");
			return 0;
		}
		snprintf(why, whylen, works ? "signatures work" :
		    "no usable signature mechanism");
		return works;
	case CS_VUSE_SMIME_DECRYPT:
		if (!c->email_protection) {
			snprintf(why, whylen, "the certificate lacks emailProtection");
			return 0;
		}
		if (c->key_is_ec) {
			snprintf(why, whylen, "an EC key does not decrypt S/MIME "
			    "(key agreement is not offered)");
			return 0;
		}
		snprintf(why, whylen, r->mechs.rsa_decrypt ? "RSA decryption" :
		    "the card offers no RSA decryption");
		return r->mechs.rsa_decrypt;
	default:
		snprintf(why, whylen, "unknown use");
		return -1;
	}
}

static void judge_card(cs_vreport *r)
{
	if (r->card_error[0] != '\0') {
		add(r, CS_VL_FAIL, "card-unreadable", "%s", r->card_error);
		return;
	}
	if (r->profile[0] == '\0') {
		add(r, CS_VL_FAIL, "unknown-model", "no card profile's applet "
		    "answers on this card: not a card this station writes");
		return;
	}
	if (!r->pin_set)
		add(r, CS_VL_FAIL, "no-pin", "the card has no PIN: it was never "
		    "personalised (or the write stopped before the PIN)");
	else if (r->pin_tries == 0)
		add(r, CS_VL_FAIL, "pin-blocked", "the PIN is blocked: unblock "
		    "it with the institution PUK");
	else if (r->pin_tries > 0 && r->pin_max > 0 && r->pin_tries < r->pin_max)
		add(r, CS_VL_WARN, "pin-mistyped", "the PIN was mistyped: %d of "
		    "%d tries left", r->pin_tries, r->pin_max);
	if (!r->has_pkcs15)
		add(r, CS_VL_FAIL, "no-pkcs15", "the card has no PKCS#15 "
		    "application: blank or wiped");
	else if (r->p11_error[0] != '\0')
		add(r, CS_VL_FAIL, "pkcs15-unreadable", "OpenSC cannot read the "
		    "card: %s", r->p11_error);
	else if (first_ee(r) == NULL)
		add(r, CS_VL_FAIL, "no-certificate", "the card holds no "
		    "certificate of its own");
}

static void judge_journal_card(cs_vreport *r)
{
	if (r->journal_error[0] != '\0') {
		add(r, CS_VL_WARN, "journal-unavailable", "the journal could not "
		    "be read (%s): card and certificates were not checked "
		    "against it", r->journal_error);
		return;
	}
	if (r->chip_serial[0] == '\0') {
		add(r, CS_VL_FAIL, "no-chip-serial", "the card gives no chip "
		    "serial: the journal cannot tell which card it is");
		return;
	}
	if (!r->card_known) {
		add(r, CS_VL_FAIL, "card-unknown", "the journal has no card with "
		    "chip serial %s: this station did not issue it",
		    r->chip_serial);
		return;
	}
	if (strcmp(r->card_state, "lost") == 0)
		add(r, CS_VL_FAIL, "card-lost", "the journal has this card as "
		    "lost: its certificates were revoked");
	else if ((strcmp(r->card_state, "returned") == 0 ||
	    strcmp(r->card_state, "wiped") == 0) && first_ee(r) != NULL)
		add(r, CS_VL_FAIL, "card-wiped", "the journal has this card as "
		    "%s, yet it holds a certificate", r->card_state);
	for (size_t i = 0; i < r->nmissing; i++)
		add(r, CS_VL_FAIL, "bound-cert-missing", "the journal bound "
		    "certificate %s to this card, but the card does not hold it",
		    r->missing[i]);
}

static void judge_cert(cs_vreport *r, const cs_vcert *c, int journal_ok)
{
	const char *s = c->serial;

	if (!c->parsed) {
		add(r, CS_VL_FAIL, "cert-unreadable", "certificate object %s is "
		    "not a readable X.509 certificate", c->id);
		return;
	}
	if (c->is_ca)
		return;
	if (c->not_yet_valid)
		add(r, CS_VL_FAIL, "cert-not-yet-valid", "certificate %s is not "
		    "valid before %s", s, c->not_before);
	else if (c->days_left < 0)
		add(r, CS_VL_FAIL, "cert-expired", "certificate %s expired on %s",
		    s, c->not_after);
	else if (c->days_left < r->soon_days)
		add(r, CS_VL_WARN, "cert-expires-soon", "certificate %s expires "
		    "in %ld days (%s)", s, c->days_left, c->not_after);
	if (c->chain == 0)
		add(r, CS_VL_FAIL, "chain", "certificate %s does not chain to the "
		    "CA: %s", s, c->chain_error);
	if (c->has_key == 0)
		add(r, CS_VL_FAIL, "no-key", "certificate %s has no private key "
		    "beside it on the card", s);
	if (journal_ok) {
		if (!c->j_known)
			add(r, CS_VL_FAIL, "cert-unknown", "certificate %s is not in "
			    "the journal", s);
		else if (c->j_bound_here == 0)
			add(r, CS_VL_FAIL, "not-bound-card", "not the card the "
			    "journal bound to certificate %s (%s): that is card %s",
			    s, c->j_holder, c->j_bound_chip);
		else if (c->j_bound_here < 0)
			add(r, CS_VL_FAIL, "cert-not-live", "the journal has "
			    "certificate %s (%s) as %s, on no card", s, c->j_holder,
			    c->j_outcome);
		if (c->j_known && c->j_dn_matches == 0)
			add(r, CS_VL_FAIL, "dn-mismatch", "certificate %s's subject "
			    "is not the journal's DN for it (%s)", s, c->j_dn);
	}
	if (c->signed_ok == 0)
		add(r, CS_VL_FAIL, "key-mismatch", "certificate %s: %s", s,
		    c->sign_error);
	else if (c->signed_ok == 1)
		add(r, CS_VL_INFO, "key-ok", "certificate %s: the card signed a "
		    "fresh challenge (%s), verified with the certificate's key",
		    s, c->mechanism);
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
			add(r, CS_VL_FAIL, "several-holders", "the card holds "
			    "certificates of two people: %s (%s) and %s (%s)",
			    a->serial, a->j_holder[0] ? a->j_holder : a->subject,
			    b->serial, b->j_holder[0] ? b->j_holder : b->subject);
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
		add(r, CS_VL_WARN, "chain-unchecked", "the chain to the CA was not "
		    "checked: give --ca FILE");
	if (r->pin_given && r->login_rc != 0)
		add(r, CS_VL_FAIL, r->login_rc == CS_ERR_STATE ? "pin-blocked" :
		    "pin-refused", "%s", r->login_error);
	else if (untested && !r->pin_given)
		add(r, CS_VL_INFO, "key-untested", "the key was not tested: no "
		    "PIN given (--pin env:VAR or --pin-prompt)");
	if (first_ee(r) != NULL && r->mechs_known)
		for (int u = 0; u < CS_VUSE_COUNT; u++) {
			int v = cs_verify_use(r, (cs_vuse)u, why, sizeof(why));

			add(r, CS_VL_INFO, "use", "%s: %s (%s)", cs_vuse_name(u),
			    v > 0 ? "yes" : v == 0 ? "no" : "unknown", why);
		}
	r->verdict = CS_VERDICT_OK;
	for (size_t i = 0; i < r->nreasons; i++)
		if (r->reasons[i].level == CS_VL_FAIL)
			r->verdict = CS_VERDICT_FAIL;
		else if (r->reasons[i].level == CS_VL_WARN &&
		    r->verdict == CS_VERDICT_OK)
			r->verdict = CS_VERDICT_WARN;
}
