/* cs_p12.c - PKCS#12 decryption and the checks of DESIGN.md's file facts. */
#include "cs_p12.h"
#include "cs_err.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

static const char *const problem_names[CS_PROBLEM_COUNT] = {
	[CS_PROBLEM_NONE] = "ok",
	[CS_PROBLEM_MALFORMED_ROW] = "malformed-row",
	[CS_PROBLEM_BAD_SERIAL] = "bad-serial",
	[CS_PROBLEM_DUPLICATE_SERIAL] = "duplicate-serial",
	[CS_PROBLEM_P12_MISSING] = "p12-missing",
	[CS_PROBLEM_P12_ORPHAN] = "p12-orphan",
	[CS_PROBLEM_NO_PIN_ROW] = "no-pin-row",
	[CS_PROBLEM_NO_INDEX_ROW] = "no-index-row",
	[CS_PROBLEM_NAME_MISMATCH] = "name-mismatch",
	[CS_PROBLEM_P12_UNREADABLE] = "p12-unreadable",
	[CS_PROBLEM_WRONG_PIN] = "wrong-pin",
	[CS_PROBLEM_SERIAL_MISMATCH] = "serial-mismatch",
	[CS_PROBLEM_KEY_MISMATCH] = "key-mismatch",
	[CS_PROBLEM_SUBJECT_MISMATCH] = "subject-mismatch",
	[CS_PROBLEM_FOREIGN_O] = "foreign-o",
	[CS_PROBLEM_SMIME_MAIL_MISMATCH] = "smime-mail-mismatch",
	[CS_PROBLEM_EXPIRED] = "expired",
	[CS_PROBLEM_NOT_YET_VALID] = "not-yet-valid",
};

const char *cs_problem_name(cs_problem p)
{
	return p < CS_PROBLEM_COUNT ? problem_names[p] : "unknown";
}

int cs_p12_init(cs_p12_providers *pv)
{
	/* Loading legacy explicitly unloads the implicit default: load both. */
	pv->deflt = OSSL_PROVIDER_load(NULL, "default");
	pv->legacy = OSSL_PROVIDER_load(NULL, "legacy");
	if (pv->deflt == NULL || pv->legacy == NULL) {
		cs_p12_fini(pv);
		return CS_ERR_CRYPTO;
	}
	return CS_OK;
}

void cs_p12_fini(cs_p12_providers *pv)
{
	if (pv->legacy != NULL)
		OSSL_PROVIDER_unload(pv->legacy);
	if (pv->deflt != NULL)
		OSSL_PROVIDER_unload(pv->deflt);
	pv->legacy = pv->deflt = NULL;
}

int cs_serial_canon(const char *in, char *out, size_t outlen)
{
	size_t n;

	while (*in == '0' && in[1] != '\0')
		in++;
	n = strlen(in);
	if (n == 0 || n > CS_SERIAL_DIGITS || n >= outlen)
		return CS_ERR_FORMAT;
	for (size_t i = 0; i < n; i++)
		if (in[i] < '0' || in[i] > '9')
			return CS_ERR_FORMAT;
	/* The largest serial has 48 digits; a 48-digit string may exceed it.
	 * Same length and no leading zeros: strcmp orders them as numbers. */
	if (n == CS_SERIAL_DIGITS && strcmp(in, CS_SERIAL_MAX) > 0)
		return CS_ERR_FORMAT;
	memmove(out, in, n + 1); /* out may be in */
	return CS_OK;
}

int cs_serial_of_cert(const X509 *cert, char *out, size_t outlen)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *dec = bn ? BN_bn2dec(bn) : NULL;
	int r = CS_ERR_FORMAT;

	if (dec != NULL && strlen(dec) < outlen) {
		memcpy(out, dec, strlen(dec) + 1);
		r = CS_OK;
	}
	OPENSSL_free(dec);
	BN_free(bn);
	return r;
}

static int append(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
	if (*pos + n >= outlen)
		return CS_ERR_LIMIT;
	memcpy(out + *pos, s, n);
	*pos += n;
	out[*pos] = '\0';
	return CS_OK;
}

int cs_dn_render(const X509_NAME *name, char *out, size_t outlen)
{
	int n = X509_NAME_entry_count(name);
	size_t pos = 0;
	int r = CS_OK;

	if (outlen == 0)
		return CS_ERR_LIMIT;
	out[0] = '\0';
	for (int i = n - 1; i >= 0 && r == CS_OK; i--) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		const char *key = nid != NID_undef ? OBJ_nid2sn(nid) : "?";
		unsigned char *val = NULL;
		int vlen;

		if (i < n - 1) {
			/* Entries of one multi-valued RDN share a set number. */
			bool same = X509_NAME_ENTRY_set(e) ==
			    X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i + 1));

			r = append(out, outlen, &pos, same ? "+" : ",", 1);
		}
		if ((vlen = ASN1_STRING_to_UTF8(&val,
		    X509_NAME_ENTRY_get_data(e))) < 0)
			return CS_ERR_FORMAT;
		if (r == CS_OK)
			r = append(out, outlen, &pos, key, strlen(key));
		if (r == CS_OK)
			r = append(out, outlen, &pos, "=", 1);
		if (r == CS_OK)
			r = append(out, outlen, &pos, (char *)val, (size_t)vlen);
		OPENSSL_free(val);
	}
	return r;
}

static void openssl_reason(char *why, size_t whylen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[160];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(why, whylen, "%s%s%s", what, e ? ": " : "", e ? buf : "");
	ERR_clear_error();
}

cs_problem cs_p12_open(const unsigned char *der, size_t len, const char *pin,
    cs_p12 **out, char *why, size_t whylen)
{
	const unsigned char *p = der;
	PKCS12 *p12 = NULL;
	cs_p12 *r = NULL;
	cs_problem problem = CS_PROBLEM_P12_UNREADABLE;

	*out = NULL;
	ERR_clear_error();
	if ((p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL) {
		openssl_reason(why, whylen, "not a PKCS#12 file");
		goto out;
	}
	if (PKCS12_mac_present(p12) && !PKCS12_verify_mac(p12, pin, -1)) {
		snprintf(why, whylen, "the access PIN does not open the PKCS#12 "
		    "(its integrity check fails)");
		ERR_clear_error();
		problem = CS_PROBLEM_WRONG_PIN;
		goto out;
	}
	if ((r = OPENSSL_zalloc(sizeof(*r))) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (!PKCS12_parse(p12, pin, &r->key, &r->cert, &r->chain)) {
		openssl_reason(why, whylen, "the PKCS#12 cannot be decrypted");
		goto out;
	}
	/* PKCS12_parse pairs key and certificate by localKeyID; a file whose
	 * key is not its certificate's leaves the certificate among the CAs.
	 * Take the end-entity certificate anyway: the key check names the
	 * real problem. */
	for (int i = 0; r->cert == NULL && i < sk_X509_num(r->chain); i++)
		if (X509_check_ca(sk_X509_value(r->chain, i)) == 0)
			r->cert = sk_X509_delete(r->chain, i);
	if (r->key == NULL || r->cert == NULL) {
		snprintf(why, whylen, "the PKCS#12 holds no %s",
		    r->key == NULL ? "private key" : "certificate");
		goto out;
	}
	*out = r;
	r = NULL;
	problem = CS_PROBLEM_NONE;
out:
	cs_p12_free(r);
	PKCS12_free(p12);
	return problem;
}

void cs_p12_free(cs_p12 *p)
{
	if (p == NULL)
		return;
	EVP_PKEY_free(p->key);
	X509_free(p->cert);
	sk_X509_pop_free(p->chain, X509_free);
	OPENSSL_free(p);
}

static void render_time(const ASN1_TIME *t, char *out, size_t outlen)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "?");
}

/* client, smime or both, by Extended Key Usage. */
static void profile_of(X509 *cert, char *out, size_t outlen)
{
	uint32_t xku = X509_get_extended_key_usage(cert);
	bool client = (xku & XKU_SSL_CLIENT) != 0, smime = (xku & XKU_SMIME) != 0;

	if (xku == UINT32_MAX) /* no EKU extension: anything goes */
		client = smime = false;
	snprintf(out, outlen, "%s", client && smime ? "client+smime" :
	    client ? "client" : smime ? "smime" : "unknown");
}

static const char *subject_o(X509_NAME *name, char *buf, size_t buflen)
{
	int i = X509_NAME_get_index_by_NID(name, NID_organizationName, -1);
	unsigned char *val = NULL;
	int n;

	if (i < 0)
		return NULL;
	n = ASN1_STRING_to_UTF8(&val,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n < 0)
		return NULL;
	snprintf(buf, buflen, "%.*s", n, (char *)val);
	OPENSSL_free(val);
	return buf;
}

/* Every mail address an S/MIME certificate speaks for must be the holder's. */
static cs_problem check_mail(X509 *cert, const char *mail, char *why,
    size_t whylen)
{
	STACK_OF(OPENSSL_STRING) *mails = X509_get1_email(cert);
	cs_problem p = CS_PROBLEM_NONE;
	int n = sk_OPENSSL_STRING_num(mails);

	if (n == 0) {
		snprintf(why, whylen, "the S/MIME certificate names no mail "
		    "address (利用者mail is %s)", mail);
		p = CS_PROBLEM_SMIME_MAIL_MISMATCH;
	}
	for (int i = 0; i < n && p == CS_PROBLEM_NONE; i++) {
		const char *m = sk_OPENSSL_STRING_value(mails, i);

		if (strcasecmp(m, mail) != 0) {
			snprintf(why, whylen, "the certificate's mail %s is not "
			    "利用者mail %s", m, mail);
			p = CS_PROBLEM_SMIME_MAIL_MISMATCH;
		}
	}
	X509_email_free(mails);
	return p;
}

cs_problem cs_p12_check(const cs_p12 *p, const cs_p12_expect *e,
    cs_p12_info *info, char *why, size_t whylen)
{
	X509_NAME *subj = X509_get_subject_name(p->cert);
	char obuf[256];
	const char *o;
	time_t now = e->now;

	memset(info, 0, sizeof(*info));
	if (cs_serial_of_cert(p->cert, info->serial, sizeof(info->serial)) != CS_OK)
		snprintf(info->serial, sizeof(info->serial), "?");
	profile_of(p->cert, info->profile, sizeof(info->profile));
	render_time(X509_get0_notBefore(p->cert), info->not_before,
	    sizeof(info->not_before));
	render_time(X509_get0_notAfter(p->cert), info->not_after,
	    sizeof(info->not_after));
	if (cs_dn_render(subj, info->subject, sizeof(info->subject)) != CS_OK)
		snprintf(info->subject, sizeof(info->subject), "?");

	if (strcmp(info->serial, e->serial) != 0) {
		snprintf(why, whylen, "the certificate's serial %s is not the "
		    "index serial %s", info->serial, e->serial);
		return CS_PROBLEM_SERIAL_MISMATCH;
	}
	if (e->file_serial != NULL && strcmp(e->file_serial, e->serial) != 0) {
		snprintf(why, whylen, "the file is named for serial %s, the index "
		    "says %s", e->file_serial, e->serial);
		return CS_PROBLEM_SERIAL_MISMATCH;
	}
	if (X509_check_private_key(p->cert, p->key) != 1) {
		ERR_clear_error();
		snprintf(why, whylen, "the private key does not belong to the "
		    "certificate");
		return CS_PROBLEM_KEY_MISMATCH;
	}
	if (strcmp(info->subject, e->dn) != 0) {
		snprintf(why, whylen, "the certificate's subject %s is not "
		    "主体者DN %s", info->subject, e->dn);
		return CS_PROBLEM_SUBJECT_MISMATCH;
	}
	/* S/MIME profile certificates carry CN=<mail> and no O. */
	if (e->institution != NULL &&
	    (o = subject_o(subj, obuf, sizeof(obuf))) != NULL &&
	    strcmp(o, e->institution) != 0) {
		snprintf(why, whylen, "O=%s is not this institution (%s)", o,
		    e->institution);
		return CS_PROBLEM_FOREIGN_O;
	}
	if (strstr(info->profile, "smime") != NULL) {
		cs_problem mp = check_mail(p->cert, e->mail, why, whylen);

		if (mp != CS_PROBLEM_NONE)
			return mp;
	}
	if (X509_cmp_time(X509_get0_notBefore(p->cert), &now) > 0) {
		snprintf(why, whylen, "not valid before %s", info->not_before);
		return CS_PROBLEM_NOT_YET_VALID;
	}
	if (X509_cmp_time(X509_get0_notAfter(p->cert), &now) < 0) {
		snprintf(why, whylen, "expired on %s", info->not_after);
		return CS_PROBLEM_EXPIRED;
	}
	return CS_PROBLEM_NONE;
}
