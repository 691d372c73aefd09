/* cs_p12_cost.c - pricing a PKCS#12's key derivations before any runs.
 *
 * A PKCS#12 names its own work factors: the MAC's iteration count, and for
 * every encryption (an encrypted authsafe, a shrouded key bag) a PBE
 * AlgorithmIdentifier with an iteration count or scrypt's N, r and p. The
 * file is hostile input, so each factor is read from the DER and checked
 * against a cap, and every derivation is charged to the file's budget,
 * before OpenSSL is asked to derive anything (a MAC iteration count of
 * 2^31-1 costs three minutes of CPU to say "wrong PIN").
 *
 * Work units: one unit is about one hash compression (0.12 us on the
 * station's EPYC reference machine). An iteration of the PKCS#12 KDF or of
 * PBES1 costs one unit per hash output block it must fill; an iteration of
 * PBKDF2 two (HMAC hashes twice); scrypt costs 7 units per N*r*p (measured:
 * 0.3-0.8 us per N*r*p against 0.115 us per PKCS#12 KDF iteration). Each
 * derivation also pays CS_P12_WORK_FIXED for its setup, so that thousands of
 * cheap ones cannot add up unseen. */
#include "cs_p12.h"
#include "cs_i18n.h"

#include <inttypes.h>
#include <stdio.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>

#define UNITS_PBKDF2 2   /* per iteration and output block */
#define UNITS_SCRYPT 7   /* per N*r*p */

/* A decoded count: < 0 when it is negative or does not fit 64 bits. */
static int64_t integer(const ASN1_INTEGER *a, int64_t absent)
{
	int64_t v;

	if (a == NULL)
		return absent;
	if (ASN1_INTEGER_get_int64(&v, a) != 1)
		return -1;
	return v;
}

static const char *alg_name(const ASN1_OBJECT *o, char *buf, size_t buflen)
{
	if (OBJ_obj2txt(buf, (int)buflen, o, 0) <= 0)
		snprintf(buf, buflen, "?");
	return buf;
}

/* Add one derivation's units; refuse when the file's total passes the
 * budget. */
static cs_problem charge(cs_p12_work *w, uint64_t units, const char *what,
    char *why, size_t whylen)
{
	w->units += units + CS_P12_WORK_FIXED;
	w->derivations++;
	if (w->units <= CS_P12_MAX_WORK)
		return CS_PROBLEM_NONE;
	snprintf(why, whylen, _("the PKCS#12's %u key derivations (the last: %s) "
	    "add up to %" PRIu64 " work units, over the limit of %u per file"),
	    w->derivations, what, w->units, CS_P12_MAX_WORK);
	return CS_PROBLEM_P12_TOO_COSTLY;
}

static cs_problem check_iter(int64_t iter, const char *kdf, const char *what,
    char *why, size_t whylen)
{
	if (iter < 0 || iter > CS_P12_MAX_ITER) {
		if (iter < 0)
			snprintf(why, whylen, _("%s: the %s iteration count is "
			    "negative or over 2^63"), what, kdf);
		else
			snprintf(why, whylen, _("%s: the %s iteration count %" PRId64
			    " is over the limit of %u"), what, kdf, iter,
			    CS_P12_MAX_ITER);
		return CS_PROBLEM_P12_TOO_COSTLY;
	}
	return CS_PROBLEM_NONE;
}

static uint64_t blocks(int len, int mdsize)
{
	if (len <= 0)
		return 0;
	return ((uint64_t)len + (uint64_t)mdsize - 1) / (uint64_t)mdsize;
}

/* The digest size a PBE or PRF NID hashes with; 16 (the smallest, so the
 * most blocks) when OpenSSL does not know it. */
static int md_size_of(int md_nid)
{
	const EVP_MD *md = md_nid != NID_undef ? EVP_get_digestbynid(md_nid) : NULL;
	int n = md != NULL ? EVP_MD_get_size(md) : 0;

	return n > 0 ? n : 16;
}

/* PBES1 and the PKCS#12 PBEs: PBEPARAM {salt, iterations}; the key and the
 * IV are each derived with that many iterations of the PBE's hash. */
static cs_problem price_pbe1(cs_p12_work *w, const X509_ALGOR *alg, int nid,
    const char *what, char *why, size_t whylen)
{
	PBEPARAM *pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM),
	    alg->parameter);
	int cnid = NID_undef, mnid = NID_undef, mdsize;
	const EVP_CIPHER *c;
	uint64_t nblocks;
	int64_t iter;
	cs_problem p;

	if (pbe == NULL) {
		snprintf(why, whylen, _("%s: its PBE parameters cannot be read"), what);
		return CS_PROBLEM_P12_UNREADABLE;
	}
	/* OpenSSL reads a missing count as 1. */
	iter = integer(pbe->iter, 1);
	PBEPARAM_free(pbe);
	if ((p = check_iter(iter, "PBE", what, why, whylen)) != CS_PROBLEM_NONE)
		return p;
	EVP_PBE_find(EVP_PBE_TYPE_OUTER, nid, &cnid, &mnid, NULL);
	mdsize = md_size_of(mnid);
	c = cnid != NID_undef ? EVP_get_cipherbynid(cnid) : NULL;
	nblocks = c != NULL ? blocks(EVP_CIPHER_get_key_length(c), mdsize) +
	    blocks(EVP_CIPHER_get_iv_length(c), mdsize) :
	    blocks(EVP_MAX_KEY_LENGTH, mdsize) + blocks(EVP_MAX_IV_LENGTH, mdsize);
	return charge(w, (uint64_t)(iter > 0 ? iter : 1) * nblocks, what, why,
	    whylen);
}

static cs_problem price_pbkdf2(cs_p12_work *w, const X509_ALGOR *kdf,
    int keylen, const char *what, char *why, size_t whylen)
{
	PBKDF2PARAM *kp = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
	    kdf->parameter);
	int mnid = NID_sha1, mdsize;
	int64_t iter;
	cs_problem p;

	if (kp == NULL) {
		snprintf(why, whylen, _("%s: its PBKDF2 parameters cannot be read"),
		    what);
		return CS_PROBLEM_P12_UNREADABLE;
	}
	iter = integer(kp->iter, 1);
	/* The PRF is HMAC with a digest; SHA-1 when absent. */
	if (kp->prf != NULL && !EVP_PBE_find(EVP_PBE_TYPE_PRF,
	    OBJ_obj2nid(kp->prf->algorithm), NULL, &mnid, NULL))
		mnid = NID_undef;
	PBKDF2PARAM_free(kp);
	if ((p = check_iter(iter, "PBKDF2", what, why, whylen)) != CS_PROBLEM_NONE)
		return p;
	mdsize = md_size_of(mnid);
	return charge(w, (uint64_t)(iter > 0 ? iter : 1) * UNITS_PBKDF2 *
	    blocks(keylen, mdsize), what, why, whylen);
}

static cs_problem price_scrypt(cs_p12_work *w, const X509_ALGOR *kdf,
    const char *what, char *why, size_t whylen)
{
	SCRYPT_PARAMS *sp = ASN1_TYPE_unpack_sequence(
	    ASN1_ITEM_rptr(SCRYPT_PARAMS), kdf->parameter);
	int64_t n, r, par;
	uint64_t mem;

	if (sp == NULL) {
		snprintf(why, whylen, _("%s: its scrypt parameters cannot be read"),
		    what);
		return CS_PROBLEM_P12_UNREADABLE;
	}
	n = integer(sp->costParameter, -1);
	r = integer(sp->blockSize, -1);
	par = integer(sp->parallelizationParameter, -1);
	SCRYPT_PARAMS_free(sp);
	if (n < 2 || n > CS_P12_MAX_SCRYPT_N || (n & (n - 1)) != 0) {
		snprintf(why, whylen, _("%s: scrypt N %" PRId64 " is not a power of "
		    "two up to %u"), what, n, CS_P12_MAX_SCRYPT_N);
		return CS_PROBLEM_P12_TOO_COSTLY;
	}
	if (r < 1 || r > CS_P12_MAX_SCRYPT_R) {
		snprintf(why, whylen, _("%s: scrypt r %" PRId64 " is not 1 to %u"),
		    what, r, CS_P12_MAX_SCRYPT_R);
		return CS_PROBLEM_P12_TOO_COSTLY;
	}
	if (par < 1 || par > CS_P12_MAX_SCRYPT_P) {
		snprintf(why, whylen, _("%s: scrypt p %" PRId64 " is not 1 to %u"),
		    what, par, CS_P12_MAX_SCRYPT_P);
		return CS_PROBLEM_P12_TOO_COSTLY;
	}
	/* What OpenSSL allocates: V of 128*r*(N+2) bytes and B of 128*r*p. */
	mem = 128 * (uint64_t)r * ((uint64_t)n + 2 + (uint64_t)par);
	if (mem > CS_P12_MAX_SCRYPT_MEM) {
		snprintf(why, whylen, _("%s: scrypt N %" PRId64 ", r %" PRId64
		    ", p %" PRId64 " need %" PRIu64 " bytes, over the limit of %u"),
		    what, n, r, par, mem, CS_P12_MAX_SCRYPT_MEM);
		return CS_PROBLEM_P12_TOO_COSTLY;
	}
	if ((uint64_t)n * (uint64_t)r * (uint64_t)par > CS_P12_MAX_SCRYPT_WORK) {
		snprintf(why, whylen, _("%s: scrypt N*r*p = %" PRIu64 " is over "
		    "the limit of %u"), what,
		    (uint64_t)n * (uint64_t)r * (uint64_t)par,
		    CS_P12_MAX_SCRYPT_WORK);
		return CS_PROBLEM_P12_TOO_COSTLY;
	}
	return charge(w, (uint64_t)n * (uint64_t)r * (uint64_t)par *
	    UNITS_SCRYPT, what, why, whylen);
}

/* PBES2: PBE2PARAM {keyfunc, encryption}; OpenSSL derives with PBKDF2 or
 * scrypt and refuses any other key function. */
static cs_problem price_pbes2(cs_p12_work *w, const X509_ALGOR *alg,
    const char *what, char *why, size_t whylen)
{
	PBE2PARAM *pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
	    alg->parameter);
	const EVP_CIPHER *c;
	char name[80];
	int kdf, keylen;
	cs_problem p;

	if (pbe2 == NULL || pbe2->keyfunc == NULL || pbe2->encryption == NULL) {
		PBE2PARAM_free(pbe2);
		snprintf(why, whylen, _("%s: its PBES2 parameters cannot be read"),
		    what);
		return CS_PROBLEM_P12_UNREADABLE;
	}
	c = EVP_get_cipherbynid(OBJ_obj2nid(pbe2->encryption->algorithm));
	keylen = c != NULL ? EVP_CIPHER_get_key_length(c) : EVP_MAX_KEY_LENGTH;
	kdf = OBJ_obj2nid(pbe2->keyfunc->algorithm);
	if (kdf == NID_id_pbkdf2)
		p = price_pbkdf2(w, pbe2->keyfunc, keylen, what, why, whylen);
	else if (kdf == NID_id_scrypt)
		p = price_scrypt(w, pbe2->keyfunc, what, why, whylen);
	else {
		snprintf(why, whylen, _("%s: PBES2 with the unknown key function "
		    "%s"), what, alg_name(pbe2->keyfunc->algorithm, name,
		    sizeof(name)));
		p = CS_PROBLEM_P12_UNREADABLE;
	}
	PBE2PARAM_free(pbe2);
	return p;
}

cs_problem cs_p12_price_alg(cs_p12_work *w, const X509_ALGOR *alg,
    const char *what, char *why, size_t whylen)
{
	int nid = OBJ_obj2nid(alg->algorithm);
	char name[80];

	if (nid == NID_pbes2)
		return price_pbes2(w, alg, what, why, whylen);
	/* Every other PBE OpenSSL would run is an "outer" PBE of its table
	 * with PBEPARAM; anything else it cannot decrypt, so it is refused
	 * here the same. */
	if (nid != NID_undef && EVP_PBE_find(EVP_PBE_TYPE_OUTER, nid, NULL,
	    NULL, NULL))
		return price_pbe1(w, alg, nid, what, why, whylen);
	snprintf(why, whylen, _("%s: encrypted with the unknown algorithm %s"),
	    what, alg_name(alg->algorithm, name, sizeof(name)));
	return CS_PROBLEM_P12_UNREADABLE;
}

cs_problem cs_p12_price_mac(cs_p12_work *w, const PKCS12 *p12, char *why,
    size_t whylen)
{
	const ASN1_INTEGER *iter = NULL;
	int64_t n;
	cs_problem p;

	if (!PKCS12_mac_present(p12))
		return CS_PROBLEM_NONE;
	PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
	n = integer(iter, 1);
	if ((p = check_iter(n, "MAC", "the PKCS#12's integrity check", why,
	    whylen)) != CS_PROBLEM_NONE)
		return p;
	/* The PKCS#12 KDF fills one output block: a key as long as the MAC's
	 * digest. */
	return charge(w, (uint64_t)(n > 0 ? n : 1), "the MAC", why, whylen);
}
