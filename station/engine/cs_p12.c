/* cs_p12.c - PKCS#12 decryption and the checks of DESIGN.md's file facts. */
#include "cs_p12.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
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
	[CS_PROBLEM_P12_TOO_COSTLY] = "p12-too-costly",
	[CS_PROBLEM_KEY_UNSUPPORTED] = "key-unsupported",
	[CS_PROBLEM_LIVE_ELSEWHERE] = "live-elsewhere",
	[CS_PROBLEM_NOT_IN_DOWNLOAD] = "not-in-download",
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

/* Entry k of a name counted CN first (certificates store C first): the
 * separator before it ("" for the first, "+" inside a multi-valued RDN,
 * "," between RDNs), its type's short name (the dotted OID when OpenSSL
 * has no name for it) and its value as UTF-8 (OPENSSL_free it). */
struct dn_entry {
	const char *sep;
	char key[80];
	unsigned char *val;
	size_t vlen;
};

static int dn_entry(const X509_NAME *name, int k, struct dn_entry *d)
{
	int n = X509_NAME_entry_count(name), i = n - 1 - k, vlen;
	const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
	const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
	int nid = OBJ_obj2nid(obj);

	d->val = NULL;
	/* Entries of one multi-valued RDN share a set number. */
	d->sep = k == 0 ? "" : X509_NAME_ENTRY_set(e) ==
	    X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i + 1)) ? "+" : ",";
	if (nid != NID_undef)
		snprintf(d->key, sizeof(d->key), "%s", OBJ_nid2sn(nid));
	else if (OBJ_obj2txt(d->key, sizeof(d->key), obj, 1) <= 0)
		return CS_ERR_FORMAT;
	if ((vlen = ASN1_STRING_to_UTF8(&d->val,
	    X509_NAME_ENTRY_get_data(e))) < 0)
		return CS_ERR_FORMAT;
	/* A NUL inside a value would end the rendered string there and show
	 * a shorter subject than the certificate has. */
	if (memchr(d->val, '\0', (size_t)vlen) != NULL) {
		OPENSSL_free(d->val);
		d->val = NULL;
		return CS_ERR_FORMAT;
	}
	d->vlen = (size_t)vlen;
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
	for (int k = 0; k < n && r == CS_OK; k++) {
		struct dn_entry d;

		if ((r = dn_entry(name, k, &d)) != CS_OK)
			break;
		r = append(out, outlen, &pos, d.sep, strlen(d.sep));
		if (r == CS_OK)
			r = append(out, outlen, &pos, d.key, strlen(d.key));
		if (r == CS_OK)
			r = append(out, outlen, &pos, "=", 1);
		if (r == CS_OK)
			r = append(out, outlen, &pos, (char *)d.val, d.vlen);
		OPENSSL_free(d.val);
	}
	return r;
}

static bool type_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Where a value holds "," or "+", maybe spaces, an attribute type and "=":
 * text that reads as the start of another attribute; or NULL. */
static const unsigned char *false_boundary(const unsigned char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i + 1, t;

		if (v[i] != ',' && v[i] != '+')
			continue;
		while (j < n && v[j] == ' ')
			j++;
		for (t = j; j < n && type_char(v[j]); j++)
			;
		if (j > t && j < n && v[j] == '=')
			return v + i;
	}
	return NULL;
}

/* 主体者DN is the subject written CN first, unescaped: a comma inside a
 * value looks like the end of an attribute. Walk the certificate's entries
 * in that order and match each one's separator, type, "=" and value in
 * turn, so the string can be read only as the certificate's own entries.
 * One reading is left only if no value itself holds text like ",OU=":
 * a certificate whose CN is "X,OU=1,O=Foo" would otherwise match a DN
 * naming three attributes, so such a value never matches. A comma
 * followed by anything else (O=Foo, Inc.) is an ordinary character. */
bool cs_dn_matches(const X509_NAME *name, const char *dn, char *why,
    size_t whylen)
{
	int n = X509_NAME_entry_count(name);
	size_t pos = 0, len = strlen(dn);
	char subject[512];
	bool ok = n > 0;

	for (int k = 0; k < n && ok; k++) {
		struct dn_entry d;
		size_t klen, slen;
		const unsigned char *fb;

		if (dn_entry(name, k, &d) != CS_OK) {
			if (why != NULL)
				snprintf(why, whylen, _("the certificate's subject "
				    "has an entry that cannot be read"));
			return false;
		}
		if ((fb = false_boundary(d.val, d.vlen)) != NULL) {
			if (why != NULL)
				snprintf(why, whylen, _("the certificate's %s value "
				    "'%.*s' holds '%.*s', which reads as another "
				    "attribute: it cannot be told apart from "
				    "主体者DN %s"), d.key, (int)d.vlen, (char *)d.val,
				    (int)(d.vlen - (size_t)(fb - d.val) < 8 ?
				    d.vlen - (size_t)(fb - d.val) : 8), (char *)fb,
				    dn);
			OPENSSL_free(d.val);
			return false;
		}
		slen = strlen(d.sep);
		klen = strlen(d.key);
		ok = len - pos >= slen + klen + 1 + d.vlen &&
		    memcmp(dn + pos, d.sep, slen) == 0 &&
		    memcmp(dn + pos + slen, d.key, klen) == 0 &&
		    dn[pos + slen + klen] == '=' &&
		    memcmp(dn + pos + slen + klen + 1, d.val, d.vlen) == 0;
		pos += slen + klen + 1 + d.vlen;
		OPENSSL_free(d.val);
	}
	if (ok && pos == len)
		return true;
	if (why != NULL) {
		if (cs_dn_render(name, subject, sizeof(subject)) != CS_OK)
			snprintf(subject, sizeof(subject), "?");
		snprintf(why, whylen, _("the certificate's subject %s is not "
		    "主体者DN %s"), subject, dn);
	}
	return false;
}

static void openssl_reason(char *why, size_t whylen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[160];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(why, whylen, "%s%s%s", what, e ? ": " : "", e ? buf : "");
	ERR_clear_error();
}

/* Bags nest (safeContentsBag) no deeper than this; OpenSSL's writers do
 * not nest at all. */
#define MAX_BAG_DEPTH 4

/* Price every shrouded key bag of bags: their encryption is only visible
 * once the authsafe holding them is decrypted. */
static cs_problem price_keys(cs_p12_work *w, const STACK_OF(PKCS12_SAFEBAG) *bags,
    int depth, char *why, size_t whylen)
{
	cs_problem p = CS_PROBLEM_NONE;

	if (depth > MAX_BAG_DEPTH) {
		snprintf(why, whylen, _("the PKCS#12 nests its bags more than %d "
		    "deep"), MAX_BAG_DEPTH);
		return CS_PROBLEM_P12_UNREADABLE;
	}
	for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags) && p == CS_PROBLEM_NONE;
	    i++) {
		const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
		const X509_ALGOR *alg;

		switch (PKCS12_SAFEBAG_get_nid(bag)) {
		case NID_pkcs8ShroudedKeyBag:
			X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, NULL);
			p = cs_p12_price_alg(w, alg, "the key bag's encryption",
			    why, whylen);
			break;
		case NID_safeContentsBag:
			p = price_keys(w, PKCS12_SAFEBAG_get0_safes(bag),
			    depth + 1, why, whylen);
			break;
		}
	}
	return p;
}

/* The first key and every X.509 certificate, in file order, as
 * PKCS12_parse takes them; the certificates go to r->chain for now. */
static int take_bags(cs_p12 *r, const STACK_OF(PKCS12_SAFEBAG) *bags,
    const char *pin, int depth)
{
	for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
		PKCS8_PRIV_KEY_INFO *p8;
		X509 *x;

		switch (PKCS12_SAFEBAG_get_nid(bag)) {
		case NID_keyBag:
			if (r->key == NULL && (r->key = EVP_PKCS82PKEY_ex(
			    PKCS12_SAFEBAG_get0_p8inf(bag), NULL, NULL)) == NULL)
				return CS_ERR_CRYPTO;
			break;
		case NID_pkcs8ShroudedKeyBag:
			if (r->key != NULL)
				break;
			if ((p8 = PKCS12_decrypt_skey_ex(bag, pin, -1, NULL,
			    NULL)) == NULL)
				return CS_ERR_CRYPTO;
			r->key = EVP_PKCS82PKEY_ex(p8, NULL, NULL);
			PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses the key */
			if (r->key == NULL)
				return CS_ERR_CRYPTO;
			break;
		case NID_certBag:
			if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
				break;
			if ((x = PKCS12_SAFEBAG_get1_cert(bag)) == NULL)
				return CS_ERR_CRYPTO;
			if (!sk_X509_push(r->chain, x)) {
				X509_free(x);
				return CS_ERR_NOMEM;
			}
			break;
		case NID_safeContentsBag:
			if (depth >= MAX_BAG_DEPTH ||
			    take_bags(r, PKCS12_SAFEBAG_get0_safes(bag), pin,
			    depth + 1) != CS_OK)
				return CS_ERR_CRYPTO;
			break;
		}
	}
	return CS_OK;
}

/* The certificate whose public key is the key's leaves the chain. */
static void pick_cert(cs_p12 *r)
{
	for (int i = 0; r->key != NULL && i < sk_X509_num(r->chain); i++) {
		int match;

		ERR_set_mark();
		match = X509_check_private_key(sk_X509_value(r->chain, i), r->key);
		ERR_pop_to_mark();
		if (match == 1) {
			r->cert = sk_X509_delete(r->chain, i);
			return;
		}
	}
}

static void free_bags(STACK_OF(PKCS12_SAFEBAG) **bags, int n)
{
	for (int i = 0; bags != NULL && i < n; i++)
		sk_PKCS12_SAFEBAG_pop_free(bags[i], PKCS12_SAFEBAG_free);
	free(bags);
}

/* Not PKCS12_parse: it derives before anyone can look at the cost, and
 * derives the MAC key again. Here every derivation is priced first and runs
 * once: the outer ones (MAC, encrypted authsafes) before the MAC is
 * checked, the key bags' once their authsafes are open. */
cs_problem cs_p12_open(const unsigned char *der, size_t len, const char *pin,
    cs_p12 **out, char *why, size_t whylen)
{
	const unsigned char *p = der;
	PKCS12 *p12 = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	STACK_OF(PKCS12_SAFEBAG) **bags = NULL;
	cs_p12_work work = {0};
	cs_p12 *r = NULL;
	cs_problem problem = CS_PROBLEM_P12_UNREADABLE;
	int nsafes = 0;

	*out = NULL;
	ERR_clear_error();
	if ((p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL) {
		openssl_reason(why, whylen, "not a PKCS#12 file");
		goto out;
	}
	if ((problem = cs_p12_price_mac(&work, p12, why, whylen)) !=
	    CS_PROBLEM_NONE)
		goto out;
	problem = CS_PROBLEM_P12_UNREADABLE;
	if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
		openssl_reason(why, whylen, "the PKCS#12's contents cannot be read");
		goto out;
	}
	nsafes = sk_PKCS7_num(safes);
	for (int i = 0; i < nsafes; i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);

		if (OBJ_obj2nid(p7->type) == NID_pkcs7_encrypted &&
		    (problem = cs_p12_price_alg(&work,
		    p7->d.encrypted->enc_data->algorithm,
		    "an encrypted authsafe", why, whylen)) !=
		    CS_PROBLEM_NONE)
			goto out;
	}
	problem = CS_PROBLEM_P12_UNREADABLE;
	if (PKCS12_mac_present(p12) && !PKCS12_verify_mac(p12, pin, -1)) {
		snprintf(why, whylen, _("the access PIN does not open the PKCS#12 "
		    "(its integrity check fails)"));
		ERR_clear_error();
		problem = CS_PROBLEM_WRONG_PIN;
		goto out;
	}
	if ((bags = calloc(nsafes > 0 ? (size_t)nsafes : 1, sizeof(*bags))) ==
	    NULL) {
		snprintf(why, whylen, _("out of memory"));
		goto out;
	}
	for (int i = 0; i < nsafes; i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		int nid = OBJ_obj2nid(p7->type);

		/* PKCS12_parse skips other content types; so do we. */
		if (nid == NID_pkcs7_data)
			bags[i] = PKCS12_unpack_p7data(p7);
		else if (nid == NID_pkcs7_encrypted)
			bags[i] = PKCS12_unpack_p7encdata(p7, pin, -1);
		else
			continue;
		if (bags[i] == NULL) {
			openssl_reason(why, whylen, "the PKCS#12 cannot be "
			    "decrypted");
			goto out;
		}
		if ((problem = price_keys(&work, bags[i], 0, why, whylen)) !=
		    CS_PROBLEM_NONE)
			goto out;
		problem = CS_PROBLEM_P12_UNREADABLE;
	}
	if ((r = OPENSSL_zalloc(sizeof(*r))) == NULL ||
	    (r->chain = sk_X509_new_null()) == NULL) {
		snprintf(why, whylen, _("out of memory"));
		goto out;
	}
	for (int i = 0; i < nsafes; i++)
		if (take_bags(r, bags[i], pin, 0) != CS_OK) {
			openssl_reason(why, whylen, "the PKCS#12 cannot be "
			    "decrypted");
			goto out;
		}
	pick_cert(r);
	/* No certificate is the key's: take the end-entity certificate
	 * anyway, the key check names the real problem. */
	for (int i = 0; r->cert == NULL && i < sk_X509_num(r->chain); i++)
		if (X509_check_ca(sk_X509_value(r->chain, i)) == 0)
			r->cert = sk_X509_delete(r->chain, i);
	if (r->key == NULL || r->cert == NULL) {
		snprintf(why, whylen, _("the PKCS#12 holds no %s"),
		    r->key == NULL ? "private key" : "certificate");
		goto out;
	}
	*out = r;
	r = NULL;
	problem = CS_PROBLEM_NONE;
out:
	cs_p12_free(r);
	free_bags(bags, nsafes);
	sk_PKCS7_pop_free(safes, PKCS7_free);
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

void cs_key_type(const EVP_PKEY *key, char *out, size_t outlen)
{
	char curve[64];

	switch (key != NULL ? EVP_PKEY_get_base_id(key) : EVP_PKEY_NONE) {
	case EVP_PKEY_RSA:
		snprintf(out, outlen, "rsa-%d", EVP_PKEY_get_bits(key));
		return;
	case EVP_PKEY_EC:
		/* Explicit parameters have no name: no card takes them. */
		if (EVP_PKEY_get_utf8_string_param(key,
		    OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), NULL) == 1 &&
		    (size_t)snprintf(out, outlen, "ec-%s", curve) < outlen)
			return;
		break;
	}
	snprintf(out, outlen, "other");
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
		snprintf(why, whylen, _("the S/MIME certificate names no mail "
		    "address (利用者mail is %s)"), mail);
		p = CS_PROBLEM_SMIME_MAIL_MISMATCH;
	}
	for (int i = 0; i < n && p == CS_PROBLEM_NONE; i++) {
		const char *m = sk_OPENSSL_STRING_value(mails, i);

		if (strcasecmp(m, mail) != 0) {
			snprintf(why, whylen, _("the certificate's mail %s is not "
			    "利用者mail %s"), m, mail);
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
	cs_key_type(p->key, info->key_type, sizeof(info->key_type));
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
		snprintf(why, whylen, _("the certificate's serial %s is not the "
		    "index serial %s"), info->serial, e->serial);
		return CS_PROBLEM_SERIAL_MISMATCH;
	}
	if (e->file_serial != NULL && strcmp(e->file_serial, e->serial) != 0) {
		snprintf(why, whylen, _("the file is named for serial %s, the index "
		    "says %s"), e->file_serial, e->serial);
		return CS_PROBLEM_SERIAL_MISMATCH;
	}
	if (X509_check_private_key(p->cert, p->key) != 1) {
		ERR_clear_error();
		snprintf(why, whylen, _("the private key does not belong to the "
		    "certificate"));
		return CS_PROBLEM_KEY_MISMATCH;
	}
	if (!cs_dn_matches(subj, e->dn, why, whylen))
		return CS_PROBLEM_SUBJECT_MISMATCH;
	/* S/MIME profile certificates carry CN=<mail> and no O. */
	if (e->institution != NULL &&
	    (o = subject_o(subj, obuf, sizeof(obuf))) != NULL &&
	    strcmp(o, e->institution) != 0) {
		snprintf(why, whylen, _("O=%s is not this institution (%s)"), o,
		    e->institution);
		return CS_PROBLEM_FOREIGN_O;
	}
	if (strstr(info->profile, "smime") != NULL) {
		cs_problem mp = check_mail(p->cert, e->mail, why, whylen);

		if (mp != CS_PROBLEM_NONE)
			return mp;
	}
	if (X509_cmp_time(X509_get0_notBefore(p->cert), &now) > 0) {
		snprintf(why, whylen, _("not valid before %s"), info->not_before);
		return CS_PROBLEM_NOT_YET_VALID;
	}
	if (X509_cmp_time(X509_get0_notAfter(p->cert), &now) < 0) {
		snprintf(why, whylen, _("expired on %s"), info->not_after);
		return CS_PROBLEM_EXPIRED;
	}
	return CS_PROBLEM_NONE;
}
