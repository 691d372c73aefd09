/* sim_key.c - key generation and private-key operations with OpenSSL 3.
 *
 * Keys are held as the applet holds them: RSA as CRT parts only (the card
 * never learns e or d of an imported key), EC as explicit prime-curve
 * parameters plus the private value. */
#include "sim_key.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

void sim_key_clear(struct sim_key *k)
{
	int i;

	for (i = 0; i < 7; i++)
		sim_blob_free(&k->part[i]);
	k->type = SIM_KEY_NONE;
}

static int bn_to_blob(const BIGNUM *bn, struct sim_blob *b, size_t width)
{
	size_t n = width ? width : (size_t)BN_num_bytes(bn);

	if (sim_blob_set(b, NULL, n) != SIM_OK)
		return SIM_ERR_NOMEM;
	if (BN_bn2binpad(bn, b->v, (int)n) < 0)
		return SIM_ERR_CRYPTO;
	return SIM_OK;
}

int sim_key_gen_rsa(struct sim_key *k, uint8_t *n_out, uint8_t *e_out)
{
	static const char *names[] = {OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2};
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn = NULL;
	struct sim_key nk = {0};
	int i, ret = SIM_ERR_CRYPTO;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) <= 0 ||
	    EVP_PKEY_generate(ctx, &pkey) <= 0)
		goto out;
	nk.type = SIM_KEY_RSA;
	for (i = 0; i < 5; i++) {
		if (!EVP_PKEY_get_bn_param(pkey, names[i], &bn) ||
		    bn_to_blob(bn, &nk.part[i], 128) != SIM_OK)
			goto out;
		BN_clear_free(bn);
		bn = NULL;
	}
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn) ||
	    BN_bn2binpad(bn, n_out, 256) < 0)
		goto out;
	BN_free(bn);
	bn = NULL;
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &bn) ||
	    BN_bn2binpad(bn, e_out, 3) < 0)
		goto out;
	sim_key_clear(k);
	*k = nk;
	memset(&nk, 0, sizeof(nk));
	ret = SIM_OK;
out:
	sim_key_clear(&nk);
	BN_clear_free(bn);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

int sim_key_rsa_private(const struct sim_key *k, const uint8_t *in,
    uint8_t *out)
{
	BN_CTX *bc = NULL;
	BIGNUM *c, *p, *q, *dp, *dq, *qinv, *m1, *m2, *h;
	int ret = SIM_ERR_CRYPTO;

	if (k->type != SIM_KEY_RSA || (bc = BN_CTX_new()) == NULL)
		return SIM_ERR_CRYPTO;
	BN_CTX_start(bc);
	c = BN_CTX_get(bc);
	p = BN_CTX_get(bc);
	q = BN_CTX_get(bc);
	dp = BN_CTX_get(bc);
	dq = BN_CTX_get(bc);
	qinv = BN_CTX_get(bc);
	m1 = BN_CTX_get(bc);
	m2 = BN_CTX_get(bc);
	if ((h = BN_CTX_get(bc)) == NULL)
		goto out;
	if (!BN_bin2bn(in, 256, c) ||
	    !BN_bin2bn(k->part[SIM_RSA_P].v, (int)k->part[SIM_RSA_P].len, p) ||
	    !BN_bin2bn(k->part[SIM_RSA_Q].v, (int)k->part[SIM_RSA_Q].len, q) ||
	    !BN_bin2bn(k->part[SIM_RSA_DP].v, (int)k->part[SIM_RSA_DP].len, dp) ||
	    !BN_bin2bn(k->part[SIM_RSA_DQ].v, (int)k->part[SIM_RSA_DQ].len, dq) ||
	    !BN_bin2bn(k->part[SIM_RSA_QINV].v, (int)k->part[SIM_RSA_QINV].len,
	    qinv))
		goto out;
	BN_set_flags(dp, BN_FLG_CONSTTIME);
	BN_set_flags(dq, BN_FLG_CONSTTIME);
	/* Garner: m = m2 + q * (qinv * (m1 - m2) mod p). */
	if (!BN_mod_exp(m1, c, dp, p, bc) || !BN_mod_exp(m2, c, dq, q, bc) ||
	    !BN_mod_sub(h, m1, m2, p, bc) || !BN_mod_mul(h, h, qinv, p, bc) ||
	    !BN_mul(h, h, q, bc) || !BN_add(m1, m2, h) ||
	    BN_bn2binpad(m1, out, 256) < 0)
		goto out;
	ret = SIM_OK;
out:
	BN_CTX_end(bc);
	BN_CTX_free(bc);
	return ret;
}

size_t sim_key_ec_field_bytes(const struct sim_key *k)
{
	return k->part[SIM_EC_P].len;
}

/* Explicit-parameter EC key (with private value d when with_priv). */
static EVP_PKEY *ec_pkey(const struct sim_key *k, int with_priv)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *p = NULL, *a = NULL, *b = NULL, *n = NULL, *h = NULL, *d = NULL;

	p = BN_bin2bn(k->part[SIM_EC_P].v, (int)k->part[SIM_EC_P].len, NULL);
	a = BN_bin2bn(k->part[SIM_EC_A].v, (int)k->part[SIM_EC_A].len, NULL);
	b = BN_bin2bn(k->part[SIM_EC_B].v, (int)k->part[SIM_EC_B].len, NULL);
	n = BN_bin2bn(k->part[SIM_EC_N].v, (int)k->part[SIM_EC_N].len, NULL);
	h = BN_bin2bn(k->part[SIM_EC_H].v, (int)k->part[SIM_EC_H].len, NULL);
	if (with_priv && (d = BN_secure_new()) != NULL &&
	    BN_bin2bn(k->part[SIM_EC_D].v, (int)k->part[SIM_EC_D].len,
	    d) == NULL) {
		BN_clear_free(d);
		d = NULL;
	}
	if (!p || !a || !b || !n || !h || (with_priv && !d))
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_EC_FIELD_TYPE,
	    SN_X9_62_prime_field, 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_P, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_A, a) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_B, b) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_EC_GENERATOR,
	    k->part[SIM_EC_G].v, k->part[SIM_EC_G].len) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_ORDER, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_COFACTOR, h) ||
	    (with_priv &&
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)))
		goto out;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, with_priv ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_KEY_PARAMETERS, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(p);
	BN_free(a);
	BN_free(b);
	BN_free(n);
	BN_free(h);
	BN_clear_free(d);
	return pkey;
}

int sim_key_gen_ec(struct sim_key *k, uint8_t *w_out, size_t *w_len)
{
	EVP_PKEY *params = NULL, *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *d = NULL;
	size_t fb = sim_key_ec_field_bytes(k), wl = 0;
	int ret = SIM_ERR_CRYPTO;

	if ((params = ec_pkey(k, 0)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_generate(ctx, &pkey) <= 0)
		goto out;
	if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY,
	    w_out, 1 + 2 * fb, &wl) || wl != 1 + 2 * fb)
		goto out;
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) ||
	    bn_to_blob(d, &k->part[SIM_EC_D], fb) != SIM_OK)
		goto out;
	*w_len = wl;
	k->type = SIM_KEY_EC;
	ret = SIM_OK;
out:
	BN_clear_free(d);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(params);
	return ret;
}

int sim_key_ecdsa_sha1(const struct sim_key *k, const uint8_t *msg,
    size_t len, uint8_t *sig, size_t *sig_len)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pkey = NULL;
	size_t n = *sig_len;
	int ret = SIM_ERR_CRYPTO;

	if (k->type != SIM_KEY_EC || (pkey = ec_pkey(k, 1)) == NULL)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA1", NULL, NULL, pkey,
	    NULL) <= 0 ||
	    EVP_DigestSign(md, sig, &n, msg, len) <= 0)
		goto out;
	*sig_len = n;
	ret = SIM_OK;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return ret;
}
