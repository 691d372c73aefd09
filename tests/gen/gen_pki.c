/* gen_pki.c - certificates and PKCS#12 files the way the service issues them. */
#include "gen_pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "cs_err.h"

#define DAY (24 * 60 * 60)
/* OpenSSL's default; what the service uses is not published. */
#define P12_ITER 2048

int gen_pki_init(gen_providers *pv)
{
	pv->dflt = OSSL_PROVIDER_load(NULL, "default");
	pv->legacy = OSSL_PROVIDER_load(NULL, "legacy");
	return pv->dflt && pv->legacy ? CS_OK : CS_ERR_CRYPTO;
}

void gen_pki_fini(gen_providers *pv)
{
	if (pv->legacy != NULL)
		OSSL_PROVIDER_unload(pv->legacy);
	if (pv->dflt != NULL)
		OSSL_PROVIDER_unload(pv->dflt);
	pv->dflt = pv->legacy = NULL;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return CS_ERR_CRYPTO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? CS_OK : CS_ERR_CRYPTO;
}

/* certificatePolicies with one policy OID (the config-string route
 * needs a config database for it). */
static int add_policy(X509 *x, const char *oid)
{
	CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	int ok = 0;

	if (pols != NULL && pi != NULL &&
	    (pi->policyid = OBJ_txt2obj(oid, 1)) != NULL &&
	    sk_POLICYINFO_push(pols, pi) > 0) {
		pi = NULL;
		ok = X509_add1_ext_i2d(x, NID_certificate_policies, pols, 0,
		    X509V3_ADD_APPEND) == 1;
	}
	POLICYINFO_free(pi);
	sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
	return ok ? CS_OK : CS_ERR_CRYPTO;
}

static int add_rdn(X509_NAME *n, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
	    (const unsigned char *)value, -1, -1, 0) ? CS_OK : CS_ERR_CRYPTO;
}

static int make_ca(gen_pki *k)
{
	X509 *x = NULL;
	X509_NAME *n = NULL;
	BIGNUM *bn = NULL;
	int r = CS_ERR_CRYPTO;

	if ((k->ca_key = EVP_RSA_gen(2048)) == NULL)
		goto out;
	if ((x = X509_new()) == NULL || (n = X509_NAME_new()) == NULL ||
	    (bn = BN_new()) == NULL)
		goto out;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !BN_rand(bn, 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	if (add_rdn(n, "C", "JP") != CS_OK ||
	    add_rdn(n, "O", "cardstation test") != CS_OK ||
	    add_rdn(n, "CN", "cardstation Test Client CA - G1") != CS_OK)
		goto out;
	if (!X509_set_subject_name(x, n) || !X509_set_issuer_name(x, n))
		goto out;
	if (!ASN1_TIME_set(X509_getm_notBefore(x), k->today - 3650L * DAY) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), k->today + 3650L * DAY) ||
	    !X509_set_pubkey(x, k->ca_key))
		goto out;
	if (add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
	    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(x, x, NID_subject_key_identifier, "hash"))
		goto out;
	if (!X509_sign(x, k->ca_key, EVP_sha256()))
		goto out;
	k->ca_cert = x;
	x = NULL;
	r = CS_OK;
out:
	X509_free(x);
	X509_NAME_free(n);
	BN_free(bn);
	return r;
}

int gen_pki_new(gen_pki *k, unsigned npool, const char *o, time_t now)
{
	int r;

	memset(k, 0, sizeof(*k));
	k->today = now - now % DAY;
	k->o = o;
	k->foreign_o = "Foreign University, Other Campus";
	if ((r = make_ca(k)) != CS_OK)
		return r;
	/* One more than asked, so key-mismatch always has another key. */
	if ((k->pool = calloc(npool + 1, sizeof(*k->pool))) == NULL)
		return CS_ERR_NOMEM;
	k->npool = npool + 1;
	for (unsigned i = 0; i < k->npool; i++)
		if ((k->pool[i] = EVP_RSA_gen(2048)) == NULL)
			return CS_ERR_CRYPTO;
	return CS_OK;
}

static const struct {
	const char *arg, *name;
	int bits;           /* RSA, or 0 */
	const char *curve;  /* EC, or NULL */
} key_kinds[GEN_KEY_COUNT] = {
	[GEN_KEY_RSA2048] = {"rsa-2048", "rsa-2048", 2048, NULL},
	[GEN_KEY_RSA1024] = {"rsa-1024", "rsa-1024", 1024, NULL},
	[GEN_KEY_RSA3072] = {"rsa-3072", "rsa-3072", 3072, NULL},
	[GEN_KEY_RSA4096] = {"rsa-4096", "rsa-4096", 4096, NULL},
	[GEN_KEY_EC_P256] = {"ec-p256", "ec-prime256v1", 0, "P-256"},
	[GEN_KEY_EC_P384] = {"ec-p384", "ec-secp384r1", 0, "P-384"},
};

int gen_key_parse(const char *name, gen_key *t)
{
	for (int i = 0; i < GEN_KEY_COUNT; i++)
		if (strcmp(name, key_kinds[i].arg) == 0 ||
		    strcmp(name, key_kinds[i].name) == 0) {
			*t = (gen_key)i;
			return 0;
		}
	return -1;
}

const char *gen_key_name(gen_key t)
{
	return key_kinds[t].name;
}

int gen_pki_want(gen_pki *k, gen_key t)
{
	for (int i = 0; t != GEN_KEY_RSA2048 && i < 2; i++) {
		if (k->typed[t][i] != NULL)
			continue;
		k->typed[t][i] = key_kinds[t].curve != NULL ?
		    EVP_EC_gen(key_kinds[t].curve) :
		    EVP_RSA_gen((unsigned)key_kinds[t].bits);
		if (k->typed[t][i] == NULL)
			return CS_ERR_CRYPTO;
	}
	return CS_OK;
}

/* The key p's certificate is for, or with other set the one its PKCS#12
 * wrongly holds (key-mismatch). */
static EVP_PKEY *key_of(const gen_pki *k, const gen_person *p, int other)
{
	if (p->key_type != GEN_KEY_RSA2048)
		return k->typed[p->key_type][other ? 1 : 0];
	return k->pool[other ? (p->key + 1) % k->npool : p->key];
}

void gen_pki_free(gen_pki *k)
{
	EVP_PKEY_free(k->ca_key);
	X509_free(k->ca_cert);
	for (unsigned i = 0; k->pool != NULL && i < k->npool; i++)
		EVP_PKEY_free(k->pool[i]);
	for (int t = 0; t < GEN_KEY_COUNT; t++)
		for (int i = 0; i < 2; i++)
			EVP_PKEY_free(k->typed[t][i]);
	free(k->pool);
	memset(k, 0, sizeof(*k));
}

static const char *o_of(const gen_pki *k, const gen_person *p)
{
	return p->foreign_o ? k->foreign_o : k->o;
}

void gen_pki_dn(const gen_pki *k, const gen_person *p, char *out, size_t cap)
{
	if (p->profile == GEN_SMIME)
		snprintf(out, cap, "CN=%s", p->mail);
	else
		snprintf(out, cap, "CN=%s,OU=%s,O=%s,L=Academe,C=JP", p->roman,
		    p->staff, o_of(k, p));
}

/* Subject in DER order (C first); rendered in reverse it is the DN column. */
static int subject(const gen_pki *k, const gen_person *p, X509_NAME *n)
{
	if (p->profile == GEN_SMIME)
		return add_rdn(n, "CN", p->mail);
	if (add_rdn(n, "C", "JP") != CS_OK ||
	    add_rdn(n, "L", "Academe") != CS_OK ||
	    add_rdn(n, "O", o_of(k, p)) != CS_OK ||
	    add_rdn(n, "OU", p->staff) != CS_OK ||
	    add_rdn(n, "CN", p->roman) != CS_OK)
		return CS_ERR_CRYPTO;
	return CS_OK;
}

static int validity(const gen_pki *k, const gen_person *p, X509 *x)
{
	time_t nb = k->today - (time_t)p->days_ago * DAY;
	/* 13 or 25 months, as the profiles say; a month of 30.5 days. */
	time_t na = nb + (time_t)(p->months * 305 / 10) * DAY - 1;

	if (p->expired) {
		nb = k->today - 400L * DAY;
		na = k->today - 5L * DAY;
	} else if (p->not_yet_valid) {
		nb = k->today + 30L * DAY;
		na = nb + 396L * DAY;
	} else if (p->expires_in > 0) {
		na = time(NULL) + p->expires_in;
	}
	if (!ASN1_TIME_set(X509_getm_notBefore(x), nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), na))
		return CS_ERR_CRYPTO;
	return CS_OK;
}

static X509 *issue(const gen_pki *k, const gen_person *p)
{
	X509 *x = NULL;
	X509_NAME *n = NULL;
	BIGNUM *bn = NULL;
	char san[128];
	const char *eku;
	int r = CS_ERR_CRYPTO;

	if ((x = X509_new()) == NULL || (n = X509_NAME_new()) == NULL)
		goto out;
	if ((bn = BN_bin2bn(p->serial, sizeof(p->serial), NULL)) == NULL ||
	    (p->cert_serial_plus1 && !BN_add_word(bn, 1)) ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	if (subject(k, p, n) != CS_OK || !X509_set_subject_name(x, n) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(k->ca_cert)))
		goto out;
	if (validity(k, p, x) != CS_OK ||
	    !X509_set_pubkey(x, key_of(k, p, 0)))
		goto out;
	eku = p->profile == GEN_CLIENT ? "clientAuth" :
	    p->profile == GEN_SMIME ? "emailProtection" :
	    "clientAuth,emailProtection";
	if (add_ext(x, k->ca_cert, NID_basic_constraints, "CA:FALSE") ||
	    add_ext(x, k->ca_cert, NID_key_usage,
	    key_kinds[p->key_type].curve != NULL ?
	    "critical,digitalSignature,keyAgreement" :
	    "critical,digitalSignature,keyEncipherment") ||
	    add_ext(x, k->ca_cert, NID_ext_key_usage, eku) ||
	    add_ext(x, k->ca_cert, NID_subject_key_identifier, "hash") ||
	    add_ext(x, k->ca_cert, NID_authority_key_identifier,
	    "keyid:always"))
		goto out;
	/* The extensions a production CA adds: a certificate some 250
	 * bytes longer than the same person's without them. */
	if (p->full_ext &&
	    (add_policy(x, "1.3.6.1.4.1.99999.1.3.30") ||
	    add_ext(x, k->ca_cert, NID_crl_distribution_points,
	    "URI:http://repository.academe.example.ac.jp/crl/client-ca.crl") ||
	    add_ext(x, k->ca_cert, NID_info_access,
	    "OCSP;URI:http://ocsp.academe.example.ac.jp/client-ca,"
	    "caIssuers;URI:http://repository.academe.example.ac.jp/"
	    "cert/client-ca.der")))
		goto out;
	if (p->profile != GEN_CLIENT) {
		/* The wrong mail is the right one with a typo in the local
		 * part: close enough to pass a glance. */
		snprintf(san, sizeof(san), "email:%s%s",
		    p->san_other ? "x" : "", p->mail);
		if (add_ext(x, k->ca_cert, NID_subject_alt_name, san))
			goto out;
	}
	if (!X509_sign(x, k->ca_key, EVP_sha256()))
		goto out;
	r = CS_OK;
out:
	X509_NAME_free(n);
	BN_free(bn);
	if (r != CS_OK) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* Built bag by bag rather than with PKCS12_create, which refuses a key that
 * does not match its certificate (the key-mismatch break needs one). */
int gen_pki_p12(const gen_pki *k, const gen_person *p, unsigned char **der,
    size_t *len)
{
	STACK_OF(PKCS12_SAFEBAG) *cbags = NULL, *kbags = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12_SAFEBAG *bag;
	PKCS12 *p12 = NULL;
	X509 *x;
	EVP_PKEY *key;
	unsigned char id[EVP_MAX_MD_SIZE];
	unsigned int idlen;
	unsigned char *w;
	int cert_nid, key_nid, n;
	const EVP_MD *mac;
	int r = CS_ERR_CRYPTO;

	*der = NULL;
	if ((x = issue(k, p)) == NULL)
		return CS_ERR_CRYPTO;
	key = key_of(k, p, p->key_other);
	switch (p->enc) {
	case GEN_ENC_3DES:
		cert_nid = key_nid = NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
		mac = EVP_sha1();
		break;
	case GEN_ENC_RC2:
		/* What Windows and OpenSSL 1.x wrote for years. */
		cert_nid = NID_pbe_WithSHA1And40BitRC2_CBC;
		key_nid = NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
		mac = EVP_sha1();
		break;
	default:
		/* A cipher NID makes OpenSSL use PBES2 + PBKDF2 (HMAC-SHA256). */
		cert_nid = key_nid = NID_aes_256_cbc;
		mac = EVP_sha256();
		break;
	}
	if (!X509_digest(x, EVP_sha1(), id, &idlen))
		goto out;
	if ((bag = PKCS12_add_cert(&cbags, x)) == NULL ||
	    !PKCS12_add_localkeyid(bag, id, (int)idlen) ||
	    !PKCS12_add_friendlyname_utf8(bag, p->roman, -1) ||
	    PKCS12_add_cert(&cbags, k->ca_cert) == NULL)
		goto out;
	if ((bag = PKCS12_add_key(&kbags, key, 0, P12_ITER, key_nid,
	    p->pin)) == NULL ||
	    !PKCS12_add_localkeyid(bag, id, (int)idlen) ||
	    !PKCS12_add_friendlyname_utf8(bag, p->roman, -1))
		goto out;
	if (!PKCS12_add_safe(&safes, cbags, cert_nid, P12_ITER, p->pin) ||
	    !PKCS12_add_safe(&safes, kbags, -1, 0, NULL))
		goto out;
	if ((p12 = PKCS12_add_safes(safes, 0)) == NULL ||
	    !PKCS12_set_mac(p12, p->pin, -1, NULL, 0, P12_ITER, mac))
		goto out;
	/* malloc'ed, not OPENSSL_malloc'ed: libzip frees it. */
	if ((n = i2d_PKCS12(p12, NULL)) <= 0 || (*der = malloc((size_t)n)) == NULL)
		goto out;
	w = *der;
	if (i2d_PKCS12(p12, &w) != n) {
		free(*der);
		*der = NULL;
		goto out;
	}
	*len = (size_t)n;
	r = CS_OK;
out:
	sk_PKCS12_SAFEBAG_pop_free(cbags, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_pop_free(kbags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	X509_free(x);
	return r;
}

int gen_pki_write_ca(const gen_pki *k, const char *path)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return CS_ERR_IO;
	ok = PEM_write_X509(f, k->ca_cert);
	if (fclose(f) != 0)
		ok = 0;
	return ok ? CS_OK : CS_ERR_IO;
}
