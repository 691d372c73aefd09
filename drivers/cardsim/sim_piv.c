/* sim_piv.c - the PIV applet: commands of NIST SP 800-73-4 part 2 and
 * YubiKey's extensions, with the status words a YubiKey 5 answers.
 *
 * Facts learnt from the specification, OpenSC's card-piv.c and
 * yubico-piv-tool's libykpiv (what they send and accept); the code is our
 * own. Deliberate limits, all answered as a YubiKey answers an algorithm it
 * does not take (6A80): RSA-1024 and attestation (F9) are not offered; the
 * management key is 3DES only (a 5.2 firmware has no AES key); GET METADATA
 * (F7, firmware 5.3) answers 6D00 as 5.2.7 does. */
#include "sim_piv.h"
#include "sim_image.h"
#include "sim_key.h"
#include "sim_pin.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#define PIV_SLOTS	24	/* 9A 9C 9D 9E, retired 82..95 */
#define PIV_OBJ_MAX	48
#define PIV_BUF		4096	/* chained command / response buffer */
#define PIV_OBJ_SIZE	3052	/* YubiKey 5: largest data object */
#define PIV_PIN_TRIES	3
#define PIV_PUK_TRIES	3

#define ALG_3DES	0x03
#define ALG_RSA2048	0x07
#define ALG_P256	0x11
#define ALG_P384	0x14

#define POLICY_DEFAULT	0
#define POLICY_NEVER	1
#define POLICY_ONCE	2
#define POLICY_ALWAYS	3

const uint8_t sim_piv_atr[23] = {0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31,
    0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69,
    0x4B, 0x65, 0x79, 0x40};

static const uint8_t piv_aid[11] = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
    0x00, 0x10, 0x00, 0x01, 0x00};
static const uint8_t default_mgm[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
    5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t version[3] = {5, 2, 7};

struct piv_key {
	uint8_t alg;		/* 0: empty slot */
	uint8_t pin_policy;
	uint8_t touch_policy;
	struct sim_key k;	/* RSA: CRT parts; EC: part[SIM_EC_D] only */
};

struct piv_obj {
	uint32_t tag;
	struct sim_blob v;	/* the 53 TLV's value */
};

struct sim_piv {
	/* persistent */
	struct sim_pin pin, puk;
	uint8_t mgm[24];
	uint8_t mgm_touch;
	int generic;		/* no YubiKey serial, JavaCard ATR */
	struct piv_key key[PIV_SLOTS];
	struct piv_obj obj[PIV_OBJ_MAX];
	/* transient */
	int mgm_auth;
	int pin_fresh;		/* PIN verified since the last "always" use */
	uint8_t chal[8];
	int chal_state;		/* 0, CHAL_WITNESS or CHAL_CHALLENGE */
	uint8_t cmd[PIV_BUF];
	size_t cmd_len;
	int chaining;
	uint8_t chain_ins, chain_p1, chain_p2;
	uint8_t out[PIV_BUF];
	size_t out_len, out_pos;
	int last_ec;
};

#define CHAL_WITNESS	1
#define CHAL_CHALLENGE	2

static int slot_index(uint8_t ref)
{
	switch (ref) {
	case 0x9A: return 0;
	case 0x9C: return 1;
	case 0x9D: return 2;
	case 0x9E: return 3;
	default:
		return ref >= 0x82 && ref <= 0x95 ? 4 + (ref - 0x82) : -1;
	}
}

static uint8_t slot_ref(int i)
{
	static const uint8_t first[4] = {0x9A, 0x9C, 0x9D, 0x9E};

	return i < 4 ? first[i] : (uint8_t)(0x82 + i - 4);
}

/* The slot's PIN policy when the key did not name one. */
static uint8_t effective_policy(int idx, uint8_t policy)
{
	if (policy != POLICY_DEFAULT)
		return policy;
	return idx == 1 ? POLICY_ALWAYS : idx == 3 ? POLICY_NEVER :
	    POLICY_ONCE;
}

static void set_default_pin(struct sim_pin *p, const char *v, int tries)
{
	uint8_t buf[8];

	memset(buf, 0xFF, sizeof(buf));
	memcpy(buf, v, strlen(v));
	sim_pin_update(p, buf, sizeof(buf), tries);
}

static void clear_transient(struct sim_piv *p)
{
	p->mgm_auth = 0;
	p->pin_fresh = 0;
	p->chal_state = 0;
	p->chaining = 0;
	p->cmd_len = 0;
	p->out_len = p->out_pos = 0;
	OPENSSL_cleanse(p->chal, sizeof(p->chal));
	OPENSSL_cleanse(p->cmd, sizeof(p->cmd));
	OPENSSL_cleanse(p->out, sizeof(p->out));
	sim_pin_reset(&p->pin);
	sim_pin_reset(&p->puk);
}

static void clear_keys_and_objects(struct sim_piv *p)
{
	int i;

	for (i = 0; i < PIV_SLOTS; i++) {
		sim_key_clear(&p->key[i].k);
		p->key[i].alg = 0;
		p->key[i].pin_policy = p->key[i].touch_policy = 0;
	}
	for (i = 0; i < PIV_OBJ_MAX; i++) {
		sim_blob_free(&p->obj[i].v);
		p->obj[i].tag = 0;
	}
}

/* Factory state: default PIN, PUK and management key, nothing stored. */
static void factory(struct sim_piv *p)
{
	clear_keys_and_objects(p);
	set_default_pin(&p->pin, "123456", PIV_PIN_TRIES);
	set_default_pin(&p->puk, "12345678", PIV_PUK_TRIES);
	memcpy(p->mgm, default_mgm, sizeof(p->mgm));
	p->mgm_touch = 0;
}

int sim_piv_init(struct sim_card *c, int generic)
{
	if (c->piv == NULL) {
		if ((c->piv = calloc(1, sizeof(*c->piv))) == NULL)
			return SIM_ERR_NOMEM;
		factory(c->piv);
	}
	c->piv->generic = generic;
	return SIM_OK;
}

int sim_piv_is_yubikey(const struct sim_card *c)
{
	return c->piv != NULL && !c->piv->generic;
}

void sim_piv_free(struct sim_card *c)
{
	if (c->piv == NULL)
		return;
	clear_keys_and_objects(c->piv);
	OPENSSL_cleanse(c->piv, sizeof(*c->piv));
	free(c->piv);
	c->piv = NULL;
}

int sim_piv_is_aid(const uint8_t *aid, size_t len)
{
	return len >= 5 && len <= sizeof(piv_aid) &&
	    memcmp(aid, piv_aid, len) == 0;
}

void sim_piv_deselect(struct sim_card *c)
{
	if (c->piv != NULL)
		clear_transient(c->piv);
}

void sim_piv_select(struct sim_card *c, struct sim_resp *r)
{
	/* Application property template: PIX of the applet and the
	 * coexistent tag allocation authority (NIST's RID). */
	static const uint8_t apt[] = {0x61, 0x11, 0x4F, 0x06, 0x00, 0x00,
	    0x10, 0x00, 0x01, 0x00, 0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00,
	    0x03, 0x08};

	clear_transient(c->piv);
	memcpy(r->data, apt, sizeof(apt));
	r->len = sizeof(apt);
}

int sim_piv_is_write(uint8_t ins)
{
	switch (ins) {
	case 0x20: case 0x24: case 0x2C: case 0x47: case 0xDB: case 0xFA:
	case 0xFB: case 0xFE: case 0xFF:
		return 1;
	default:
		return 0;
	}
}

int sim_piv_last_ec(const struct sim_card *c)
{
	return c->piv != NULL && c->piv->last_ec;
}

/* ---- BER-TLV (tags of one or two bytes, lengths up to 82 xx xx) ---- */

/* Parse one TLV at buf[*off]; returns 0 and advances *off, or -1. */
static int tlv_next(const uint8_t *buf, size_t len, size_t *off,
    unsigned *tag, const uint8_t **val, size_t *vlen)
{
	size_t o = *off, l;

	if (o >= len)
		return -1;
	*tag = buf[o++];
	if ((*tag & 0x1F) == 0x1F) {
		if (o >= len)
			return -1;
		*tag = *tag << 8 | buf[o++];
	}
	if (o >= len)
		return -1;
	if (buf[o] < 0x80) {
		l = buf[o++];
	} else if (buf[o] == 0x81 && o + 1 < len) {
		l = buf[o + 1];
		o += 2;
	} else if (buf[o] == 0x82 && o + 2 < len) {
		l = (size_t)buf[o + 1] << 8 | buf[o + 2];
		o += 3;
	} else {
		return -1;
	}
	if (l > len - o)
		return -1;
	*val = buf + o;
	*vlen = l;
	*off = o + l;
	return 0;
}

static size_t put_len(uint8_t *out, size_t len)
{
	if (len < 0x80) {
		out[0] = (uint8_t)len;
		return 1;
	}
	if (len < 0x100) {
		out[0] = 0x81;
		out[1] = (uint8_t)len;
		return 2;
	}
	out[0] = 0x82;
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)len;
	return 3;
}

/* ---- responses longer than one APDU: 61xx and GET RESPONSE ---- */

static uint16_t send_out(struct sim_piv *p, const struct sim_apdu *a,
    struct sim_resp *r)
{
	size_t left = p->out_len - p->out_pos, n = 256;

	if (a->has_le && a->le < n)
		n = a->le;
	if (n > left)
		n = left;
	memcpy(r->data, p->out + p->out_pos, n);
	r->len = n;
	p->out_pos += n;
	left -= n;
	if (left == 0) {
		OPENSSL_cleanse(p->out, p->out_len);
		p->out_len = p->out_pos = 0;
		return SW_OK;
	}
	return (uint16_t)(SW_BYTES_REMAINING_00 | (left > 0xFF ? 0 : left));
}

/* ---- crypto ---- */

static int des3(const uint8_t key[24], int enc, const uint8_t in[8],
    uint8_t out[8])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	ok = ctx != NULL &&
	    EVP_CipherInit_ex(ctx, EVP_des_ede3_ecb(), NULL, key, NULL,
	    enc) > 0 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) > 0 &&
	    EVP_CipherUpdate(ctx, out, &n, in, 8) > 0 && n == 8;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? SIM_OK : SIM_ERR_CRYPTO;
}

static const char *curve_name(uint8_t alg)
{
	return alg == ALG_P256 ? "prime256v1" : "secp384r1";
}

static size_t curve_bytes(uint8_t alg)
{
	return alg == ALG_P256 ? 32 : 48;
}

/* A named-curve key from its private value (no public point needed to
 * sign or derive). */
static EVP_PKEY *ec_private(uint8_t alg, const struct sim_blob *d)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn = BN_secure_new();

	if (bn == NULL || BN_bin2bn(d->v, (int)d->len, bn) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    curve_name(alg), 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(bn);
	return pkey;
}

static int ec_generate(uint8_t alg, struct sim_key *k, uint8_t *w,
    size_t *wlen)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;
	size_t fb = curve_bytes(alg), wl = 0;
	int ret = SIM_ERR_CRYPTO;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_group_name(ctx, curve_name(alg)) <= 0 ||
	    EVP_PKEY_generate(ctx, &pkey) <= 0 ||
	    !EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, w,
	    1 + 2 * fb, &wl) || wl != 1 + 2 * fb ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) ||
	    sim_blob_set(&k->part[SIM_EC_D], NULL, fb) != SIM_OK ||
	    BN_bn2binpad(d, k->part[SIM_EC_D].v, (int)fb) < 0)
		goto out;
	k->type = SIM_KEY_EC;
	*wlen = wl;
	ret = SIM_OK;
out:
	BN_clear_free(d);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

/* ECDSA over a digest the host computed (truncated by the curve's order,
 * as the card does); DER signature out. */
static int ec_sign(const struct piv_key *k, const uint8_t *hash,
    size_t hlen, uint8_t *sig, size_t *siglen)
{
	EVP_PKEY *pkey = ec_private(k->alg, &k->k.part[SIM_EC_D]);
	EVP_PKEY_CTX *ctx = NULL;
	int ok;

	ok = pkey != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) != NULL &&
	    EVP_PKEY_sign_init(ctx) > 0 &&
	    EVP_PKEY_sign(ctx, sig, siglen, hash, hlen) > 0;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ok ? SIM_OK : SIM_ERR_CRYPTO;
}

/* ECDH with the peer's uncompressed point; the x coordinate out. */
static int ec_derive(const struct piv_key *k, const uint8_t *pt, size_t ptlen,
    uint8_t *out, size_t *outlen)
{
	EVP_PKEY *pkey = ec_private(k->alg, &k->k.part[SIM_EC_D]);
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *pctx = NULL, *ctx = NULL;
	OSSL_PARAM params[3];
	int ok = 0;

	if (pkey == NULL || ptlen != 1 + 2 * curve_bytes(k->alg))
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve_name(k->alg), 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pt, ptlen);
	params[2] = OSSL_PARAM_construct_end();
	ok = (pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(pctx) > 0 &&
	    EVP_PKEY_fromdata(pctx, &peer, EVP_PKEY_PUBLIC_KEY, params) > 0 &&
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) != NULL &&
	    EVP_PKEY_derive_init(ctx) > 0 &&
	    EVP_PKEY_derive_set_peer(ctx, peer) > 0 &&
	    EVP_PKEY_derive(ctx, out, outlen) > 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(pkey);
	return ok ? SIM_OK : SIM_ERR_CRYPTO;
}

/* ---- PIN and PUK ---- */

/* A PIN or PUK as sent: 6 to 8 bytes, padded with FF to 8. */
static int pin_format_ok(const uint8_t *v)
{
	size_t n = 0;

	while (n < 8 && v[n] != 0xFF)
		n++;
	for (size_t i = n; i < 8; i++)
		if (v[i] != 0xFF)
			return 0;
	return n >= 6;
}

/* Spend a try on p with v; the SW a YubiKey answers. */
static uint16_t pin_try(struct sim_piv *piv, struct sim_pin *p,
    const uint8_t *v, struct sim_card *c)
{
	if (p->tries == 0)
		return 0x6983;
	c->dirty = 1;
	c->eeprom_bytes += 2;
	if (sim_pin_check(p, v, 8)) {
		if (p == &piv->pin)
			piv->pin_fresh = 1;
		return SW_OK;
	}
	return (uint16_t)(SW_PIN_TRIES | p->tries);
}

static uint16_t cmd_verify(struct sim_card *c, struct sim_piv *p,
    const struct sim_apdu *a, const uint8_t *d, size_t n)
{
	if (a->p2 != 0x80)
		return SW_REF_NOT_FOUND;
	if (a->p1 == 0xFF) {
		if (n != 0)
			return SW_WRONG_DATA;
		sim_pin_reset(&p->pin);
		p->pin_fresh = 0;
		return SW_OK;
	}
	if (a->p1 != 0x00)
		return SW_INCORRECT_P1P2;
	if (n == 0) {
		if (p->pin.validated)
			return SW_OK;
		return p->pin.tries == 0 ? 0x6983 :
		    (uint16_t)(SW_PIN_TRIES | p->pin.tries);
	}
	if (n != 8 || !pin_format_ok(d))
		return SW_WRONG_DATA;
	return pin_try(p, &p->pin, d, c);
}

static uint16_t cmd_change(struct sim_card *c, struct sim_piv *p,
    const struct sim_apdu *a, const uint8_t *d, size_t n)
{
	struct sim_pin *pin;
	uint16_t sw;

	if (a->p1 != 0x00)
		return SW_INCORRECT_P1P2;
	if (a->p2 == 0x80)
		pin = &p->pin;
	else if (a->p2 == 0x81)
		pin = &p->puk;
	else
		return SW_REF_NOT_FOUND;
	if (n != 16 || !pin_format_ok(d) || !pin_format_ok(d + 8))
		return SW_WRONG_DATA;
	if ((sw = pin_try(p, pin, d, c)) != SW_OK)
		return sw;
	sim_pin_update(pin, d + 8, 8, pin->max_tries);
	if (pin == &p->pin) {
		pin->validated = 1;
		p->pin_fresh = 1;
	}
	c->eeprom_bytes += 8;
	return SW_OK;
}

static uint16_t cmd_reset_retry(struct sim_card *c, struct sim_piv *p,
    const struct sim_apdu *a, const uint8_t *d, size_t n)
{
	uint16_t sw;

	if (a->p1 != 0x00 || a->p2 != 0x80)
		return a->p1 != 0x00 ? SW_INCORRECT_P1P2 : SW_REF_NOT_FOUND;
	if (n != 16 || !pin_format_ok(d) || !pin_format_ok(d + 8))
		return SW_WRONG_DATA;
	if ((sw = pin_try(p, &p->puk, d, c)) != SW_OK)
		return sw;
	sim_pin_reset(&p->puk);
	sim_pin_update(&p->pin, d + 8, 8, p->pin.max_tries);
	c->eeprom_bytes += 8;
	return SW_OK;
}

/* ---- data objects ---- */

static int object_tag_ok(uint32_t tag)
{
	return (tag >= 0x5FC101 && tag <= 0x5FC123) ||
	    (tag >= 0x5FFF00 && tag <= 0x5FFF15);
}

static struct piv_obj *find_obj(struct sim_piv *p, uint32_t tag)
{
	int i;

	for (i = 0; i < PIV_OBJ_MAX; i++)
		if (p->obj[i].tag == tag)
			return &p->obj[i];
	return NULL;
}

/* The tag list of GET DATA and PUT DATA: 5C, one to three bytes. */
static int parse_tag_list(const uint8_t *d, size_t n, size_t *off,
    uint32_t *tag)
{
	unsigned t;
	const uint8_t *v;
	size_t vl, i;

	if (tlv_next(d, n, off, &t, &v, &vl) != 0 || t != 0x5C || vl < 1 ||
	    vl > 3)
		return -1;
	*tag = 0;
	for (i = 0; i < vl; i++)
		*tag = *tag << 8 | v[i];
	return 0;
}

static uint16_t cmd_get_data(struct sim_piv *p, const struct sim_apdu *a,
    const uint8_t *d, size_t n, struct sim_resp *r)
{
	/* Discovery object: the AID and the PIN usage policy (PIV PIN
	 * only, no global PIN). */
	static const uint8_t discovery[] = {0x7E, 0x12, 0x4F, 0x0B, 0xA0,
	    0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x5F,
	    0x2F, 0x02, 0x40, 0x00};
	struct piv_obj *o;
	uint32_t tag;
	size_t off = 0;

	if (a->p1 != 0x3F || a->p2 != 0xFF)
		return SW_INCORRECT_P1P2;
	if (parse_tag_list(d, n, &off, &tag) != 0 || off != n)
		return SW_WRONG_DATA;
	if (tag == 0x7E) {
		memcpy(p->out, discovery, sizeof(discovery));
		p->out_len = sizeof(discovery);
		p->out_pos = 0;
		return send_out(p, a, r);
	}
	if (tag == 0x7F61)
		return SW_FILE_NOT_FOUND;
	if (!object_tag_ok(tag))
		return SW_WRONG_DATA;
	/* Fingerprints, facial image, printed information: PIN only. */
	if ((tag == 0x5FC103 || tag == 0x5FC108 || tag == 0x5FC109) &&
	    !p->pin.validated)
		return SW_SECURITY_STATUS;
	if ((o = find_obj(p, tag)) == NULL)
		return SW_FILE_NOT_FOUND;
	p->out[0] = 0x53;
	p->out_len = 1 + put_len(p->out + 1, o->v.len);
	memcpy(p->out + p->out_len, o->v.v, o->v.len);
	p->out_len += o->v.len;
	p->out_pos = 0;
	return send_out(p, a, r);
}

static uint16_t cmd_put_data(struct sim_card *c, struct sim_piv *p,
    const struct sim_apdu *a, const uint8_t *d, size_t n)
{
	struct piv_obj *o;
	const uint8_t *v;
	size_t off = 0, vl;
	uint32_t tag;
	unsigned t;

	if (a->p1 != 0x3F || a->p2 != 0xFF)
		return SW_INCORRECT_P1P2;
	if (!p->mgm_auth)
		return SW_SECURITY_STATUS;
	if (parse_tag_list(d, n, &off, &tag) != 0 || !object_tag_ok(tag) ||
	    tlv_next(d, n, &off, &t, &v, &vl) != 0 || t != 0x53 || off != n)
		return SW_WRONG_DATA;
	if (vl > PIV_OBJ_SIZE)
		return SW_FILE_FULL;
	if ((o = find_obj(p, tag)) == NULL && vl > 0 &&
	    (o = find_obj(p, 0)) == NULL)
		return SW_FILE_FULL;
	if (o == NULL)
		return SW_OK;	/* deleting an object that is not there */
	/* An empty object deletes it. */
	if (vl == 0) {
		sim_blob_free(&o->v);
		o->tag = 0;
	} else {
		if (sim_blob_set(&o->v, v, vl) != SIM_OK)
			return SW_MEMORY_FAILURE;
		o->tag = tag;
	}
	c->dirty = 1;
	c->eeprom_bytes += vl + 4;
	return SW_OK;
}

/* ---- keys ---- */

static int alg_supported(uint8_t alg)
{
	return alg == ALG_RSA2048 || alg == ALG_P256 || alg == ALG_P384;
}

/* The optional policy TLVs (AA PIN policy, AB touch policy). */
static int parse_policies(unsigned tag, const uint8_t *v, size_t vl,
    uint8_t *pin_policy, uint8_t *touch_policy)
{
	if (vl != 1)
		return -1;
	if (tag == 0xAA && v[0] <= POLICY_ALWAYS)
		*pin_policy = v[0];
	else if (tag == 0xAB && v[0] <= 3)
		*touch_policy = v[0];
	else
		return -1;
	return 0;
}

static uint16_t cmd_generate(struct sim_card *c, struct sim_piv *p,
    const struct sim_apdu *a, const uint8_t *d, size_t n, struct sim_resp *r)
{
	const uint8_t *v, *tv;
	size_t off = 0, vl, toff = 0, tvl, o;
	unsigned tag, t;
	uint8_t alg = 0, pin_pol = 0, touch_pol = 0, e[3], w[97];
	struct piv_key nk;
	int idx;

	memset(&nk, 0, sizeof(nk));
	if (a->p1 != 0x00 || (idx = slot_index(a->p2)) < 0)
		return SW_INCORRECT_P1P2;
	if (!p->mgm_auth)
		return SW_SECURITY_STATUS;
	if (tlv_next(d, n, &off, &tag, &v, &vl) != 0 || tag != 0xAC ||
	    off != n)
		return SW_WRONG_DATA;
	while (toff < vl) {
		if (tlv_next(v, vl, &toff, &t, &tv, &tvl) != 0)
			return SW_WRONG_DATA;
		if (t == 0x80 && tvl == 1)
			alg = tv[0];
		else if (parse_policies(t, tv, tvl, &pin_pol, &touch_pol) != 0)
			return SW_WRONG_DATA;
	}
	if (!alg_supported(alg))
		return SW_WRONG_DATA;
	nk.alg = alg;
	nk.pin_policy = pin_pol;
	nk.touch_policy = touch_pol;
	p->out[0] = 0x7F;
	p->out[1] = 0x49;
	if (alg == ALG_RSA2048) {
		if (sim_key_gen_rsa(&nk.k, p->out + 9, e) != SIM_OK)
			return SW_UNKNOWN;
		/* 7F49 82 0109 { 81 82 0100 n, 82 03 e } */
		o = 2 + put_len(p->out + 2, 4 + 256 + 5);
		p->out[o++] = 0x81;
		o += put_len(p->out + o, 256);
		o += 256;
		p->out[o++] = 0x82;
		p->out[o++] = 3;
		memcpy(p->out + o, e, 3);
		o += 3;
	} else {
		size_t wl = 0;

		if (ec_generate(alg, &nk.k, w, &wl) != SIM_OK) {
			sim_key_clear(&nk.k);
			return SW_UNKNOWN;
		}
		o = 2 + put_len(p->out + 2, 2 + wl);
		p->out[o++] = 0x86;
		p->out[o++] = (uint8_t)wl;
		memcpy(p->out + o, w, wl);
		o += wl;
	}
	sim_key_clear(&p->key[idx].k);
	p->key[idx] = nk;
	p->out_len = o;
	p->out_pos = 0;
	c->dirty = 1;
	c->keygen_ops++;
	c->eeprom_bytes += alg == ALG_RSA2048 ? 5 * 128 : curve_bytes(alg);
	return send_out(p, a, r);
}

/* Left-pad v to width bytes into a blob; -1 if longer. */
static int padded(struct sim_blob *b, const uint8_t *v, size_t vl,
    size_t width)
{
	if (vl > width || vl == 0 || sim_blob_set(b, NULL, width) != SIM_OK)
		return -1;
	memcpy(b->v + width - vl, v, vl);
	return 0;
}

static uint16_t cmd_import(struct sim_card *c, struct sim_piv *p,
    const struct sim_apdu *a, const uint8_t *d, size_t n)
{
	/* Tags 01..05 carry p q dp dq qinv; the card keeps CRT parts in
	 * sim_key's order p q qinv dp dq. */
	static const int rsa_part[5] = {SIM_RSA_P, SIM_RSA_Q, SIM_RSA_DP,
	    SIM_RSA_DQ, SIM_RSA_QINV};
	struct piv_key nk;
	const uint8_t *v;
	size_t off = 0, vl;
	unsigned tag;
	int idx, seen = 0;
	uint16_t sw = SW_WRONG_DATA;

	memset(&nk, 0, sizeof(nk));
	if ((idx = slot_index(a->p2)) < 0)
		return SW_INCORRECT_P1P2;
	if (!p->mgm_auth)
		return SW_SECURITY_STATUS;
	if (!alg_supported(a->p1))
		return SW_WRONG_DATA;
	nk.alg = a->p1;
	while (off < n) {
		if (tlv_next(d, n, &off, &tag, &v, &vl) != 0)
			goto out;
		if (nk.alg == ALG_RSA2048 && tag >= 1 && tag <= 5) {
			if (padded(&nk.k.part[rsa_part[tag - 1]], v, vl,
			    128) != 0)
				goto out;
			seen |= 1 << tag;
		} else if (nk.alg != ALG_RSA2048 && tag == 6) {
			if (vl != curve_bytes(nk.alg) ||
			    sim_blob_set(&nk.k.part[SIM_EC_D], v, vl) != SIM_OK)
				goto out;
			seen |= 1 << 6;
		} else if (parse_policies(tag, v, vl, &nk.pin_policy,
		    &nk.touch_policy) != 0) {
			goto out;
		}
	}
	if (seen != (nk.alg == ALG_RSA2048 ? 0x3E : 0x40))
		goto out;
	nk.k.type = nk.alg == ALG_RSA2048 ? SIM_KEY_RSA : SIM_KEY_EC;
	sim_key_clear(&p->key[idx].k);
	p->key[idx] = nk;
	memset(&nk, 0, sizeof(nk));
	c->dirty = 1;
	c->eeprom_bytes += n;
	sw = SW_OK;
out:
	sim_key_clear(&nk.k);
	return sw;
}

/* GENERAL AUTHENTICATE with the management key (9B): the host proves it
 * holds the key (witness, or challenge), and may have the card prove it
 * in turn (mutual authentication). */
static uint16_t auth_mgm(struct sim_piv *p, const struct sim_apdu *a,
    const uint8_t *wit, size_t witl, const uint8_t *chal, size_t chall,
    const uint8_t *resp, size_t respl, struct sim_resp *r)
{
	uint8_t buf[8];
	int have_wit = wit != NULL, have_chal = chal != NULL,
	    have_resp = resp != NULL;

	/* P1 names the key's algorithm; a bare challenge request is also
	 * taken with P1 00 (what SP 800-73 before -3 sent and OpenSC's
	 * GET CHALLENGE still sends). */
	if (a->p1 != ALG_3DES && !(a->p1 == 0x00 && have_chal && chall == 0 &&
	    !have_wit && !have_resp))
		return SW_INCORRECT_P1P2;
	if (have_wit && witl == 0 && !have_chal && !have_resp) {
		/* Step 1 of mutual: the card's witness, encrypted. */
		if (RAND_bytes(p->chal, 8) != 1 ||
		    des3(p->mgm, 1, p->chal, buf) != SIM_OK)
			return SW_UNKNOWN;
		p->chal_state = CHAL_WITNESS;
		memcpy(p->out, "\x7C\x0A\x80\x08", 4);
		memcpy(p->out + 4, buf, 8);
		p->out_len = 12;
		p->out_pos = 0;
		return send_out(p, a, r);
	}
	if (have_wit && witl == 8 && have_chal && chall == 8 && !have_resp) {
		/* Step 2 of mutual: the host decrypted the witness; the card
		 * encrypts the host's challenge. */
		int ok = p->chal_state == CHAL_WITNESS &&
		    CRYPTO_memcmp(wit, p->chal, 8) == 0;
		p->chal_state = 0;
		if (!ok)
			return SW_SECURITY_STATUS;
		if (des3(p->mgm, 1, chal, buf) != SIM_OK)
			return SW_UNKNOWN;
		p->mgm_auth = 1;
		memcpy(p->out, "\x7C\x0A\x82\x08", 4);
		memcpy(p->out + 4, buf, 8);
		p->out_len = 12;
		p->out_pos = 0;
		return send_out(p, a, r);
	}
	if (have_chal && chall == 0 && !have_wit && !have_resp) {
		/* External authenticate, step 1: a plain challenge. */
		if (RAND_bytes(p->chal, 8) != 1)
			return SW_UNKNOWN;
		p->chal_state = CHAL_CHALLENGE;
		memcpy(p->out, "\x7C\x0A\x81\x08", 4);
		memcpy(p->out + 4, p->chal, 8);
		p->out_len = 12;
		p->out_pos = 0;
		return send_out(p, a, r);
	}
	if (have_resp && respl == 8 && !have_wit && !have_chal) {
		int ok = p->chal_state == CHAL_CHALLENGE &&
		    des3(p->mgm, 1, p->chal, buf) == SIM_OK &&
		    CRYPTO_memcmp(buf, resp, 8) == 0;
		p->chal_state = 0;
		if (!ok)
			return SW_SECURITY_STATUS;
		p->mgm_auth = 1;
		return SW_OK;
	}
	p->chal_state = 0;
	return SW_WRONG_DATA;
}

static uint16_t cmd_general_auth(struct sim_card *c, struct sim_piv *p,
    const struct sim_apdu *a, const uint8_t *d, size_t n, struct sim_resp *r)
{
	const uint8_t *v, *tv, *item[6] = {0};
	size_t off = 0, vl, toff = 0, tvl, ilen[6] = {0}, o, outl;
	unsigned tag, t;
	struct piv_key *k;
	uint8_t res[512];
	int idx;

	if (tlv_next(d, n, &off, &tag, &v, &vl) != 0 || tag != 0x7C ||
	    off != n)
		return SW_WRONG_DATA;
	while (toff < vl) {
		if (tlv_next(v, vl, &toff, &t, &tv, &tvl) != 0 || t < 0x80 ||
		    t > 0x85)
			return SW_WRONG_DATA;
		item[t - 0x80] = tv;
		ilen[t - 0x80] = tvl;
	}
	if (a->p2 == 0x9B)
		return auth_mgm(p, a, item[0], ilen[0], item[1], ilen[1],
		    item[2], ilen[2], r);
	if ((idx = slot_index(a->p2)) < 0)
		return SW_INCORRECT_P1P2;
	k = &p->key[idx];
	if (k->alg == 0 || k->alg != a->p1)
		return SW_WRONG_DATA;
	/* Sign/decrypt: 82 empty (the response wanted), 81 the input; key
	 * agreement: 82 empty, 85 the peer's point. */
	if (item[2] == NULL || ilen[2] != 0 ||
	    (item[1] == NULL) == (item[5] == NULL))
		return SW_WRONG_DATA;
	switch (effective_policy(idx, k->pin_policy)) {
	case POLICY_ONCE:
		if (!p->pin.validated)
			return SW_SECURITY_STATUS;
		break;
	case POLICY_ALWAYS:
		if (!p->pin.validated || !p->pin_fresh)
			return SW_SECURITY_STATUS;
		p->pin_fresh = 0;
		break;
	default:
		break;
	}
	outl = sizeof(res);
	p->last_ec = k->alg != ALG_RSA2048;
	if (k->alg == ALG_RSA2048) {
		if (item[1] == NULL || ilen[1] != 256)
			return SW_WRONG_DATA;
		if (sim_key_rsa_private(&k->k, item[1], res) != SIM_OK)
			return SW_UNKNOWN;
		outl = 256;
	} else if (item[1] != NULL) {
		if (ilen[1] == 0 || ilen[1] > curve_bytes(k->alg))
			return SW_WRONG_DATA;
		if (ec_sign(k, item[1], ilen[1], res, &outl) != SIM_OK)
			return SW_UNKNOWN;
	} else {
		if (ec_derive(k, item[5], ilen[5], res, &outl) != SIM_OK)
			return SW_WRONG_DATA;
	}
	c->crypto_ops++;
	/* 7C { 82 result } */
	p->out[0] = 0x7C;
	o = 1 + put_len(p->out + 1, 1 + (outl < 0x80 ? 1 : outl < 0x100 ? 2 :
	    3) + outl);
	p->out[o++] = 0x82;
	o += put_len(p->out + o, outl);
	memcpy(p->out + o, res, outl);
	OPENSSL_cleanse(res, sizeof(res));
	p->out_len = o + outl;
	p->out_pos = 0;
	return send_out(p, a, r);
}

/* ---- YubiKey's own commands ---- */

static uint16_t cmd_set_mgm(struct sim_card *c, struct sim_piv *p,
    const struct sim_apdu *a, const uint8_t *d, size_t n)
{
	if (a->p1 != 0xFF || (a->p2 != 0xFF && a->p2 != 0xFE))
		return SW_INCORRECT_P1P2;
	if (!p->mgm_auth)
		return SW_SECURITY_STATUS;
	if (n != 27 || d[0] != ALG_3DES || d[1] != 0x9B || d[2] != 24)
		return SW_WRONG_DATA;
	memcpy(p->mgm, d + 3, 24);
	p->mgm_touch = a->p2 == 0xFE;
	c->dirty = 1;
	c->eeprom_bytes += 24;
	return SW_OK;
}

static uint16_t cmd_set_pin_retries(struct sim_card *c, struct sim_piv *p,
    const struct sim_apdu *a)
{
	if (!p->mgm_auth || !p->pin.validated)
		return SW_SECURITY_STATUS;
	if (a->p1 == 0 || a->p2 == 0 || a->p1 > 15 || a->p2 > 15)
		return SW_INCORRECT_P1P2;
	/* As on a YubiKey: both go back to their defaults with the new
	 * counts. */
	set_default_pin(&p->pin, "123456", a->p1);
	set_default_pin(&p->puk, "12345678", a->p2);
	c->dirty = 1;
	c->eeprom_bytes += 16;
	return SW_OK;
}

static uint16_t cmd_reset(struct sim_card *c, struct sim_piv *p)
{
	if (p->pin.tries != 0 || p->puk.tries != 0)
		return SW_CONDITIONS;
	factory(p);
	clear_transient(p);
	c->dirty = 1;
	c->eeprom_bytes += 256;
	return SW_OK;
}

static uint16_t dispatch(struct sim_card *c, struct sim_piv *p,
    const struct sim_apdu *a, const uint8_t *d, size_t n, struct sim_resp *r)
{
	switch (a->ins) {
	case 0x20: return cmd_verify(c, p, a, d, n);
	case 0x24: return cmd_change(c, p, a, d, n);
	case 0x2C: return cmd_reset_retry(c, p, a, d, n);
	case 0x47: return cmd_generate(c, p, a, d, n, r);
	case 0x87: return cmd_general_auth(c, p, a, d, n, r);
	case 0xCB: return cmd_get_data(p, a, d, n, r);
	case 0xDB: return cmd_put_data(c, p, a, d, n);
	case 0xFA: return cmd_set_pin_retries(c, p, a);
	case 0xFB: return cmd_reset(c, p);
	case 0xFE: return cmd_import(c, p, a, d, n);
	case 0xFF: return cmd_set_mgm(c, p, a, d, n);
	case 0xFD:
		memcpy(r->data, version, sizeof(version));
		r->len = sizeof(version);
		return SW_OK;
	case 0xF8:
		if (p->generic)
			return SW_INS_NOT_SUPPORTED;
		memcpy(r->data, c->serial, SIM_SERIAL_LEN);
		r->len = SIM_SERIAL_LEN;
		return SW_OK;
	default:
		return SW_INS_NOT_SUPPORTED;
	}
}

uint16_t sim_piv_process(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	struct sim_piv *p = c->piv;
	uint16_t sw;

	if ((a->cla & ~0x10) != 0x00)
		return SW_CLA_NOT_SUPPORTED;
	/* Another applet's AID (the runtime took the PIV AID): not here. */
	if (a->ins == 0xA4)
		return SW_FILE_NOT_FOUND;
	if (a->ins == 0xC0) {
		if (p->out_pos >= p->out_len)
			return SW_CONDITIONS;
		return send_out(p, a, r);
	}
	/* Any other command drops what was left to get. */
	OPENSSL_cleanse(p->out, p->out_len);
	p->out_len = p->out_pos = 0;
	/* Command chaining (CLA 10): gather, answer 9000, run at the last. */
	if (p->chaining && (a->ins != p->chain_ins || a->p1 != p->chain_p1 ||
	    a->p2 != p->chain_p2)) {
		OPENSSL_cleanse(p->cmd, p->cmd_len);
		p->chaining = 0;
		p->cmd_len = 0;
	}
	if (p->cmd_len + a->lc > sizeof(p->cmd)) {
		OPENSSL_cleanse(p->cmd, p->cmd_len);
		p->chaining = 0;
		p->cmd_len = 0;
		return SW_WRONG_LENGTH;
	}
	if (a->lc > 0)
		memcpy(p->cmd + p->cmd_len, a->data, a->lc);
	p->cmd_len += a->lc;
	if (a->cla & 0x10) {
		p->chaining = 1;
		p->chain_ins = a->ins;
		p->chain_p1 = a->p1;
		p->chain_p2 = a->p2;
		return SW_OK;
	}
	sw = dispatch(c, p, a, p->cmd, p->cmd_len, r);
	OPENSSL_cleanse(p->cmd, p->cmd_len);
	p->chaining = 0;
	p->cmd_len = 0;
	return sw;
}

/* ---- the image ---- */

static void save_pin(FILE *f, const char *name, const struct sim_pin *p)
{
	fprintf(f, "%s %d %d", name, p->tries, p->max_tries);
	sim_image_put_hex(f, p->value, p->len);
	fputc('\n', f);
}

void sim_piv_save(const struct sim_card *c, FILE *f)
{
	const struct sim_piv *p = c->piv;
	int i, j;

	fputs(p->generic ? "applet piv-generic\n" : "applet piv\n", f);
	save_pin(f, "piv-pin", &p->pin);
	save_pin(f, "piv-puk", &p->puk);
	fprintf(f, "piv-mgm %d", p->mgm_touch);
	sim_image_put_hex(f, p->mgm, sizeof(p->mgm));
	fputc('\n', f);
	for (i = 0; i < PIV_SLOTS; i++) {
		const struct piv_key *k = &p->key[i];
		if (k->alg == 0)
			continue;
		fprintf(f, "piv-key %02x %02x %d %d", slot_ref(i), k->alg,
		    k->pin_policy, k->touch_policy);
		for (j = 0; j < 7; j++)
			sim_image_put_hex(f, k->k.part[j].v, k->k.part[j].len);
		fputc('\n', f);
	}
	for (i = 0; i < PIV_OBJ_MAX; i++) {
		if (p->obj[i].tag == 0)
			continue;
		fprintf(f, "piv-obj %06x", (unsigned)p->obj[i].tag);
		sim_image_put_hex(f, p->obj[i].v.v, p->obj[i].v.len);
		fputc('\n', f);
	}
}

static int load_pin(struct sim_pin *p, char **save)
{
	struct sim_blob b = {0};
	char *t0 = strtok_r(NULL, " \n", save), *t1 = strtok_r(NULL, " \n",
	    save);
	int ret = SIM_ERR_FORMAT;

	if (t0 != NULL && t1 != NULL &&
	    sim_image_get_hex(strtok_r(NULL, " \n", save), &b) == SIM_OK &&
	    b.len == 8) {
		sim_pin_update(p, b.v, 8, atoi(t1));
		p->tries = atoi(t0);
		ret = SIM_OK;
	}
	sim_blob_free(&b);
	return ret;
}

int sim_piv_load_line(struct sim_card *c, const char *tok, char **save)
{
	struct sim_piv *p = c->piv;
	struct sim_blob b = {0};
	char *t[4];
	int i, idx, ret = SIM_ERR_FORMAT;

	if (p == NULL)
		return SIM_ERR_FORMAT;
	if (strcmp(tok, "piv-pin") == 0)
		return load_pin(&p->pin, save);
	if (strcmp(tok, "piv-puk") == 0)
		return load_pin(&p->puk, save);
	if (strcmp(tok, "piv-mgm") == 0) {
		if ((t[0] = strtok_r(NULL, " \n", save)) != NULL &&
		    sim_image_get_hex(strtok_r(NULL, " \n", save), &b) ==
		    SIM_OK && b.len == sizeof(p->mgm)) {
			p->mgm_touch = (uint8_t)atoi(t[0]);
			memcpy(p->mgm, b.v, b.len);
			ret = SIM_OK;
		}
	} else if (strcmp(tok, "piv-key") == 0) {
		for (i = 0; i < 4; i++)
			if ((t[i] = strtok_r(NULL, " \n", save)) == NULL)
				return SIM_ERR_FORMAT;
		if ((idx = slot_index((uint8_t)strtoul(t[0], NULL, 16))) < 0)
			return SIM_ERR_FORMAT;
		struct piv_key *k = &p->key[idx];
		sim_key_clear(&k->k);
		k->alg = (uint8_t)strtoul(t[1], NULL, 16);
		if (!alg_supported(k->alg))
			return SIM_ERR_FORMAT;
		k->pin_policy = (uint8_t)atoi(t[2]);
		k->touch_policy = (uint8_t)atoi(t[3]);
		k->k.type = k->alg == ALG_RSA2048 ? SIM_KEY_RSA : SIM_KEY_EC;
		for (i = 0; i < 7; i++)
			if (sim_image_get_hex(strtok_r(NULL, " \n", save),
			    &k->k.part[i]) != SIM_OK)
				return SIM_ERR_FORMAT;
		ret = SIM_OK;
	} else if (strcmp(tok, "piv-obj") == 0) {
		uint32_t tag;
		struct piv_obj *o;
		if ((t[0] = strtok_r(NULL, " \n", save)) == NULL ||
		    !object_tag_ok(tag = (uint32_t)strtoul(t[0], NULL, 16)) ||
		    sim_image_get_hex(strtok_r(NULL, " \n", save), &b) !=
		    SIM_OK || (o = find_obj(p, tag)) != NULL ||
		    (o = find_obj(p, 0)) == NULL)
			goto out;
		o->tag = tag;
		o->v = b;
		memset(&b, 0, sizeof(b));
		ret = SIM_OK;
	}
out:
	sim_blob_free(&b);
	return ret;
}
