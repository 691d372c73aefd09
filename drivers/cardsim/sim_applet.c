/* sim_applet.c - IsoApplet command processing.
 *
 * Behaviour follows the applet as a real JavaCard runs it, including the
 * status words of unhandled Java exceptions (6F00) where the applet would
 * dereference a missing key or file. */
#include "sim_applet.h"
#include "sim_fs.h"
#include "sim_key.h"
#include "sim_pin.h"
#include "sim_tlv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define API_MAJOR		0x00
#define API_MINOR		0x06
#define API_FEATURE_RNG		0x02
#define API_FEATURE_ECC		0x04

#define PIN_MAX_TRIES	3
#define PIN_MIN_LENGTH	4
#define PUK_MAX_TRIES	5

const uint8_t sim_applet_aid[12] = {0xF2, 0x76, 0xA2, 0x88, 0xBC, 0xFB,
    0xA6, 0x9D, 0x34, 0xF3, 0x10, 0x01};

static int is_chaining(const struct sim_apdu *a)
{
	return (a->cla & 0x10) != 0;
}

static void clear_transient(struct sim_card *c)
{
	OPENSSL_cleanse(c->ram, sizeof(c->ram));
	c->bytes_remaining = 0;
	c->cur_pos = 0;
	c->chain_ins = 0;
	c->chain_p1p2 = 0;
	c->alg_ref = 0;
	c->key_ref = 0;
	c->cur_df = c->mf;
	c->cur_ef = NULL;
	c->user_auth = 0;
	if (c->sig_buf != NULL) {
		OPENSSL_cleanse(c->sig_buf, c->sig_len);
		free(c->sig_buf);
	}
	c->sig_buf = NULL;
	c->sig_len = 0;
}

void sim_applet_deselect(struct sim_card *c)
{
	sim_pin_reset(&c->pin);
	sim_pin_reset(&c->puk);
	clear_transient(c);
}

void sim_applet_select(struct sim_card *c, struct sim_resp *r)
{
	clear_transient(c);
	/* Before a PIN exists, the file system is open to everyone. */
	c->user_auth = c->state == SIM_STATE_CREATION ||
	    c->state == SIM_STATE_INIT;
	r->data[0] = API_MAJOR;
	r->data[1] = API_MINOR;
	r->data[2] = API_FEATURE_RNG | API_FEATURE_ECC;
	r->len = 3;
}

int sim_applet_is_write(uint8_t ins)
{
	switch (ins) {
	case 0xE0: case 0xE4: case 0xD6: case 0xDB: case 0x46: case 0x24:
	case 0x2C:
		return 1;
	default:
		return 0;
	}
}

/* Up to 256 bytes of ram[pos..pos+len) now, the rest by GET RESPONSE. */
static uint16_t send_large(struct sim_card *c, size_t pos, size_t len,
    struct sim_resp *r)
{
	size_t n = len > 256 ? 256 : len, left = len - n;

	memcpy(r->data, c->ram + pos, n);
	r->len = n;
	if (left > 0) {
		c->bytes_remaining = (uint16_t)left;
		c->cur_pos = (uint16_t)(pos + n);
		return (uint16_t)(SW_BYTES_REMAINING_00 |
		    (left > 256 ? 0 : left & 0xFF));
	}
	c->bytes_remaining = 0;
	c->cur_pos = 0;
	return SW_OK;
}

/* Gather command data over a chain into ram. Returns 0 with *total set
 * when the chain is complete, 1 when more is to come, or a SW. */
static int gather(struct sim_card *c, const struct sim_apdu *a, size_t *total,
    uint16_t *sw)
{
	if ((size_t)c->cur_pos + a->lc > SIM_RAM_BUF) {
		*sw = SW_WRONG_LENGTH;
		return -1;
	}
	if (a->lc > 0)
		memcpy(c->ram + c->cur_pos, a->data, a->lc);
	c->cur_pos = (uint16_t)(c->cur_pos + a->lc);
	if (is_chaining(a)) {
		*sw = SW_OK;
		return 1;
	}
	*total = c->cur_pos;
	c->cur_pos = 0;
	return 0;
}

static uint16_t verify(struct sim_card *c, const struct sim_apdu *a)
{
	uint8_t buf[SIM_PIN_MAX] = {0};
	int ok;

	if (a->p1 != 0x00 || a->p2 != 0x01)
		return SW_INCORRECT_P1P2;
	if ((a->lc > 0 && a->lc < PIN_MIN_LENGTH) || a->lc > SIM_PIN_MAX)
		return SW_WRONG_LENGTH;
	if (a->lc == 0) {
		if (c->state != SIM_STATE_CREATION &&
		    c->state != SIM_STATE_INIT)
			return (uint16_t)(SW_PIN_TRIES | c->pin.tries);
		return SW_OK;
	}
	/* The applet pads to the maximum length with zeros. */
	memcpy(buf, a->data, a->lc);
	ok = sim_pin_check(&c->pin, buf, SIM_PIN_MAX);
	OPENSSL_cleanse(buf, sizeof(buf));
	c->dirty = 1;		/* the try counter is in EEPROM */
	c->user_auth = ok;
	return ok ? SW_OK : (uint16_t)(SW_PIN_TRIES | c->pin.tries);
}

static uint16_t set_pin(struct sim_card *c, const uint8_t *v, size_t len)
{
	uint8_t buf[SIM_PIN_MAX] = {0};

	if (len > SIM_PIN_MAX || len < PIN_MIN_LENGTH)
		return SW_WRONG_LENGTH;
	memcpy(buf, v, len);
	sim_pin_update(&c->pin, buf, SIM_PIN_MAX, PIN_MAX_TRIES);
	OPENSSL_cleanse(buf, sizeof(buf));
	c->state = SIM_STATE_OPERATIONAL;
	c->dirty = 1;
	c->eeprom_bytes += SIM_PIN_MAX;
	return SW_OK;
}

static uint16_t change_reference_data(struct sim_card *c,
    const struct sim_apdu *a)
{
	if (c->state == SIM_STATE_CREATION) {
		if (a->p1 != 0x01 || (a->p2 != 0x01 && a->p2 != 0x02))
			return SW_INCORRECT_P1P2;
		if (a->p2 == 0x02) {
			if (a->lc != SIM_PUK_LEN)
				return SW_WRONG_LENGTH;
			sim_pin_update(&c->puk, a->data, SIM_PUK_LEN,
			    PUK_MAX_TRIES);
			c->state = SIM_STATE_INIT;
			c->dirty = 1;
			c->eeprom_bytes += SIM_PUK_LEN;
			return SW_OK;
		}
		/* PIN first: this card will never have a PUK. */
		return set_pin(c, a->data, a->lc);
	}
	if (c->state == SIM_STATE_INIT) {
		if (a->p1 != 0x01 || a->p2 != 0x01)
			return SW_INCORRECT_P1P2;
		return set_pin(c, a->data, a->lc);
	}
	/* Change: old and new PIN, both padded to 16 bytes. */
	if (a->p1 != 0x00 || a->p2 != 0x01)
		return SW_INCORRECT_P1P2;
	if (a->lc != 2 * SIM_PIN_MAX)
		return SW_WRONG_LENGTH;
	c->dirty = 1;
	if (!sim_pin_check(&c->pin, a->data, SIM_PIN_MAX))
		return (uint16_t)(SW_PIN_TRIES | c->pin.tries);
	/* OwnerPIN.update() leaves the new PIN unvalidated. */
	sim_pin_update(&c->pin, a->data + SIM_PIN_MAX, SIM_PIN_MAX,
	    PIN_MAX_TRIES);
	c->eeprom_bytes += SIM_PIN_MAX;
	return SW_OK;
}

static uint16_t reset_retry_counter(struct sim_card *c,
    const struct sim_apdu *a)
{
	uint8_t buf[SIM_PIN_MAX] = {0};

	if (c->state != SIM_STATE_OPERATIONAL)
		return SW_COMMAND_NOT_ALLOWED;
	if (a->lc < SIM_PUK_LEN + PIN_MIN_LENGTH ||
	    a->lc > SIM_PUK_LEN + SIM_PIN_MAX)
		return SW_WRONG_LENGTH;
	if (a->p1 != 0x00 || a->p2 != 0x01)
		return SW_INCORRECT_P1P2;
	if (!c->puk.set)
		return SW_PIN_TRIES;
	c->dirty = 1;
	if (!sim_pin_check(&c->puk, a->data, SIM_PUK_LEN))
		return (uint16_t)(SW_PIN_TRIES | c->puk.tries);
	memcpy(buf, a->data + SIM_PUK_LEN, a->lc - SIM_PUK_LEN);
	sim_pin_update(&c->pin, buf, SIM_PIN_MAX, PIN_MAX_TRIES);
	OPENSSL_cleanse(buf, sizeof(buf));
	c->eeprom_bytes += SIM_PIN_MAX;
	return SW_OK;
}

static int ec_field_ok(size_t bytes)
{
	switch (bytes) {
	case 24: case 28: case 32: case 40: case 48: case 64: case 66:
		return 1;
	default:
		return 0;
	}
}

/* EC domain parameters (tags 81-85, 87) from a TLV list into k. */
static uint16_t ec_params(struct sim_key *k, const uint8_t *buf, size_t len)
{
	static const uint8_t tags[] = {0x81, 0x82, 0x83, 0x84, 0x85, 0x87};
	static const int parts[] = {SIM_EC_P, SIM_EC_A, SIM_EC_B, SIM_EC_G,
	    SIM_EC_N, SIM_EC_H};
	const uint8_t *v;
	size_t vl;
	int i;

	for (i = 0; i < 6; i++) {
		if (sim_tlv_value(buf, len, 0, len, tags[i], &v, &vl) != 0)
			return SW_DATA_INVALID;
		if (tags[i] == 0x87 && vl != 1 && vl != 2)
			return SW_DATA_INVALID;
		if (sim_blob_set(&k->part[parts[i]], v, vl) != SIM_OK)
			return SW_UNKNOWN;
	}
	if (!ec_field_ok(k->part[SIM_EC_P].len))
		return SW_FUNC_NOT_SUPPORTED;
	return SW_OK;
}

/* Left-pad part into out (width bytes); returns width. */
static size_t put_padded(uint8_t *out, const struct sim_blob *b, size_t width)
{
	size_t n = b->len > width ? width : b->len;

	memset(out, 0, width);
	memcpy(out + width - n, b->v + b->len - n, n);
	return width;
}

static uint16_t send_ec_public(struct sim_card *c, const struct sim_key *k,
    const uint8_t *w, size_t wl, struct sim_resp *r)
{
	size_t fb = sim_key_ec_field_bytes(k), pos = 0, bits = fb * 8;
	uint8_t cof[2] = {0, 0};
	const struct sim_blob *h = &k->part[SIM_EC_H];

	pos += sim_tlv_put_hdr(c->ram + pos, 0x7F49,
	    7 + (bits >= 512 ? 9 : 7) + 8 * fb + 4);
	pos += sim_tlv_put_hdr(c->ram + pos, 0x81, fb);
	pos += put_padded(c->ram + pos, &k->part[SIM_EC_P], fb);
	pos += sim_tlv_put_hdr(c->ram + pos, 0x82, fb);
	pos += put_padded(c->ram + pos, &k->part[SIM_EC_A], fb);
	pos += sim_tlv_put_hdr(c->ram + pos, 0x83, fb);
	pos += put_padded(c->ram + pos, &k->part[SIM_EC_B], fb);
	pos += sim_tlv_put_hdr(c->ram + pos, 0x84, 1 + 2 * fb);
	pos += put_padded(c->ram + pos, &k->part[SIM_EC_G], 1 + 2 * fb);
	pos += sim_tlv_put_hdr(c->ram + pos, 0x85, fb);
	pos += put_padded(c->ram + pos, &k->part[SIM_EC_N], fb);
	pos += sim_tlv_put_hdr(c->ram + pos, 0x86, wl);
	memcpy(c->ram + pos, w, wl);
	pos += wl;
	/* The cofactor goes back as a Java short. */
	if (h->len == 1)
		cof[1] = h->v[0];
	else if (h->len == 2)
		memcpy(cof, h->v, 2);
	pos += sim_tlv_put_hdr(c->ram + pos, 0x87, 2);
	memcpy(c->ram + pos, cof, 2);
	pos += 2;
	return send_large(c, 0, pos, r);
}

static uint16_t generate(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	struct sim_key nk = {0};
	uint8_t w[1 + 2 * 66];
	size_t total = 0, wl = 0, pos = 0;
	uint16_t sw = SW_OK;
	int g;

	if (!c->pin.validated)
		return SW_SECURITY_STATUS;
	switch (c->alg_ref) {
	case SIM_ALG_GEN_RSA2048:
		if (a->p1 != 0x42 || a->p2 != 0x00)
			return SW_INCORRECT_P1P2;
		if (is_chaining(a))
			return SW_CHAINING_UNSUPPORTED;
		if (sim_key_gen_rsa(&nk, c->ram + 9, c->ram + 9 + 256 + 2)
		    != SIM_OK)
			return SW_UNKNOWN;
		sim_key_clear(&c->key[c->key_ref]);
		c->key[c->key_ref] = nk;
		c->dirty = 1;
		c->keygen_ops++;
		c->eeprom_bytes += 5 * 128;
		pos = sim_tlv_put_hdr(c->ram, 0x7F49, 265);
		pos += sim_tlv_put_hdr(c->ram + pos, 0x81, 256);
		pos += 256;
		pos += sim_tlv_put_hdr(c->ram + pos, 0x82, 3);
		pos += 3;
		return send_large(c, 0, pos, r);
	case SIM_ALG_GEN_EC:
		if (a->p1 != 0x00 || a->p2 != 0x00)
			return SW_INCORRECT_P1P2;
		if ((g = gather(c, a, &total, &sw)) != 0)
			return sw;
		if ((sw = ec_params(&nk, c->ram, total)) != SW_OK)
			goto ec_out;
		if (sim_key_gen_ec(&nk, w, &wl) != SIM_OK) {
			sw = SW_DATA_INVALID;
			goto ec_out;
		}
		sim_key_clear(&c->key[c->key_ref]);
		c->key[c->key_ref] = nk;
		memset(&nk, 0, sizeof(nk));
		c->dirty = 1;
		c->keygen_ops++;
		c->eeprom_bytes += 7 * sim_key_ec_field_bytes(&c->key[c->key_ref]);
		OPENSSL_cleanse(c->ram, sizeof(c->ram));
		c->cur_pos = 0;
		return send_ec_public(c, &c->key[c->key_ref], w, wl, r);
	ec_out:
		sim_key_clear(&nk);
		return sw;
	default:
		return SW_CONDITIONS;
	}
}

static uint16_t get_response(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	size_t le = a->has_le ? a->le : 256, expected;

	if (!c->pin.validated)
		return SW_SECURITY_STATUS;
	if (c->bytes_remaining == 0)
		return SW_CONDITIONS;
	expected = c->bytes_remaining > 256 ? 256 : c->bytes_remaining;
	if (le != expected)
		return (uint16_t)(SW_CORRECT_LENGTH_00 | (expected & 0xFF));
	return send_large(c, c->cur_pos, c->bytes_remaining, r);
}

static uint16_t mse(struct sim_card *c, const struct sim_apdu *a)
{
	uint8_t alg = 0;
	int ref = -1;
	long pos;
	const struct sim_key *k;

	if (!c->pin.validated)
		return SW_SECURITY_STATUS;
	if (!sim_tlv_consistent(a->data, a->lc, 0, a->lc))
		return SW_DATA_INVALID;
	switch (a->p1) {
	case 0x41:
		pos = sim_tlv_find(a->data, a->lc, 0, a->lc, 0x80);
		if (pos < 0 || (size_t)pos + 2 >= a->lc || a->data[pos + 1] != 1)
			return SW_DATA_INVALID;
		alg = a->data[pos + 2];
		pos = sim_tlv_find(a->data, a->lc, 0, a->lc, 0x84);
		/* The reference is a Java byte: 80-FF are negative, pass the
		 * "< KEY_MAX_COUNT" check and stay negative. */
		if (pos < 0 || (size_t)pos + 2 >= a->lc ||
		    a->data[pos + 1] != 1 ||
		    (int8_t)a->data[pos + 2] >= SIM_KEY_MAX)
			return SW_DATA_INVALID;
		ref = (int8_t)a->data[pos + 2];
		break;
	case 0xF3:
		break;
	default:
		return SW_FUNC_NOT_SUPPORTED;
	}
	switch (a->p2) {
	case 0x00:
		if (alg != SIM_ALG_GEN_EC && alg != SIM_ALG_GEN_RSA2048)
			return SW_FUNC_NOT_SUPPORTED;
		if (ref < 0)
			return SW_DATA_INVALID;
		break;
	case 0xB6:
		if (ref == -1)
			return SW_DATA_INVALID;
		if (alg != SIM_ALG_RSA_PKCS1 && alg != SIM_ALG_ECDSA_SHA1)
			return SW_FUNC_NOT_SUPPORTED;
		/* keys[ref] out of the array: the runtime answers 6F00. */
		if (ref < 0)
			return SW_UNKNOWN;
		k = &c->key[ref];
		if (k->type == SIM_KEY_NONE)
			return SW_UNKNOWN;	/* null key in the applet */
		if ((alg == SIM_ALG_RSA_PKCS1 && k->type != SIM_KEY_RSA) ||
		    (alg == SIM_ALG_ECDSA_SHA1 && k->type != SIM_KEY_EC))
			return SW_DATA_INVALID;
		break;
	case 0xB8:
		if (alg != SIM_ALG_RSA_PKCS1)
			return SW_FUNC_NOT_SUPPORTED;
		if (ref == -1)
			return SW_DATA_INVALID;
		if (ref < 0)
			return SW_UNKNOWN;
		if (c->key[ref].type == SIM_KEY_NONE)
			return SW_UNKNOWN;
		if (c->key[ref].type != SIM_KEY_RSA)
			return SW_DATA_INVALID;
		break;
	default:
		return SW_FUNC_NOT_SUPPORTED;
	}
	c->alg_ref = alg;
	c->key_ref = ref < 0 ? 0 : ref;
	return SW_OK;
}

static uint16_t sign(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	const struct sim_key *k = &c->key[c->key_ref];
	uint8_t block[256];
	size_t le, n;
	uint8_t *nb;

	switch (c->alg_ref) {
	case SIM_ALG_RSA_PKCS1:
		if (a->lc > 247)
			return SW_WRONG_LENGTH;
		/* PKCS#1 v1.5 block type 1; JavaCard throws (6F00) when
		 * fewer than 8 padding bytes fit. */
		if (a->lc > 256 - 11 || k->type != SIM_KEY_RSA)
			return SW_UNKNOWN;
		block[0] = 0x00;
		block[1] = 0x01;
		memset(block + 2, 0xFF, 256 - 3 - a->lc);
		block[256 - a->lc - 1] = 0x00;
		memcpy(block + 256 - a->lc, a->data, a->lc);
		if (sim_key_rsa_private(k, block, c->ram) != SIM_OK)
			return SW_UNKNOWN;
		c->crypto_ops++;
		le = a->has_le ? a->le : 256;
		if (le < 256)
			return SW_CORRECT_LENGTH_00;
		memcpy(r->data, c->ram, 256);
		r->len = 256;
		return SW_OK;
	case SIM_ALG_ECDSA_SHA1:
		if (c->cur_pos == 0) {
			free(c->sig_buf);
			c->sig_buf = NULL;
			c->sig_len = 0;
			if (is_chaining(a))
				c->cur_pos = 1;
		}
		if (a->lc > 0) {
			if ((nb = realloc(c->sig_buf, c->sig_len + a->lc)) ==
			    NULL)
				return SW_UNKNOWN;
			memcpy(nb + c->sig_len, a->data, a->lc);
			c->sig_buf = nb;
			c->sig_len += a->lc;
		}
		if (is_chaining(a)) {
			c->cur_pos++;
			return SW_OK;
		}
		c->cur_pos = 0;
		n = sizeof(r->data);
		if (k->type != SIM_KEY_EC ||
		    sim_key_ecdsa_sha1(k, c->sig_buf ? c->sig_buf :
		    (const uint8_t *)"", c->sig_len, r->data, &n) != SIM_OK)
			return SW_UNKNOWN;
		c->crypto_ops++;
		r->len = n;
		return SW_OK;
	default:
		return SW_CONDITIONS;
	}
}

static uint16_t decipher(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	const struct sim_key *k = &c->key[c->key_ref];
	uint8_t block[256];
	size_t total = 0, i;
	uint16_t sw = SW_OK;

	if (gather(c, a, &total, &sw) != 0)
		return sw;
	if (c->ram[0] != 0x00)
		return SW_WRONG_DATA;
	if (c->alg_ref != SIM_ALG_RSA_PKCS1)
		return SW_FUNC_NOT_SUPPORTED;
	if (k->type != SIM_KEY_RSA)
		return SW_UNKNOWN;
	if (total - 1 != 256)
		return SW_WRONG_LENGTH;
	if (sim_key_rsa_private(k, c->ram + 1, block) != SIM_OK)
		return SW_WRONG_DATA;
	c->crypto_ops++;
	/* PKCS#1 v1.5 block type 2: 00 02, 8+ non-zero bytes, 00, data. */
	if (block[0] != 0x00 || block[1] != 0x02)
		goto bad;
	for (i = 2; i < 256 && block[i] != 0x00; i++)
		;
	if (i == 256 || i < 10)
		goto bad;
	i++;
	memcpy(r->data, block + i, 256 - i);
	r->len = 256 - i;
	OPENSSL_cleanse(block, sizeof(block));
	return SW_OK;
bad:
	OPENSSL_cleanse(block, sizeof(block));
	return SW_WRONG_DATA;
}

static uint16_t pso(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	if (!c->pin.validated)
		return SW_SECURITY_STATUS;
	if (a->p1 == 0x9E && a->p2 == 0x9A)
		return sign(c, a, r);
	if (a->p1 == 0x80 && a->p2 == 0x86)
		return decipher(c, a, r);
	return SW_INCORRECT_P1P2;
}

static uint16_t import_rsa(struct sim_card *c, const uint8_t *buf,
    size_t len)
{
	static const uint8_t tags[] = {0x92, 0x93, 0x94, 0x95, 0x96};
	static const int parts[] = {SIM_RSA_P, SIM_RSA_Q, SIM_RSA_QINV,
	    SIM_RSA_DP, SIM_RSA_DQ};
	struct sim_key nk = {0};
	const uint8_t *v;
	size_t vl;
	int i;

	for (i = 0; i < 5; i++) {
		if (sim_tlv_value(buf, len, 0, len, tags[i], &v, &vl) != 0) {
			sim_key_clear(&nk);
			return SW_DATA_INVALID;
		}
		/* A 2048-bit CRT key holds 1024-bit parts. */
		if (vl > 128) {
			sim_key_clear(&nk);
			return SW_UNKNOWN;
		}
		if (sim_blob_set(&nk.part[parts[i]], v, vl) != SIM_OK) {
			sim_key_clear(&nk);
			return SW_UNKNOWN;
		}
	}
	nk.type = SIM_KEY_RSA;
	sim_key_clear(&c->key[c->key_ref]);
	c->key[c->key_ref] = nk;
	return SW_OK;
}

static uint16_t import_ec(struct sim_card *c, const uint8_t *buf, size_t len)
{
	struct sim_key nk = {0};
	const uint8_t *v;
	size_t vl;
	uint16_t sw;

	if ((sw = ec_params(&nk, buf, len)) != SW_OK)
		goto out;
	if (sim_tlv_value(buf, len, 0, len, 0x88, &v, &vl) != 0) {
		sw = SW_DATA_INVALID;
		goto out;
	}
	if (sim_blob_set(&nk.part[SIM_EC_D], v, vl) != SIM_OK) {
		sw = SW_UNKNOWN;
		goto out;
	}
	nk.type = SIM_KEY_EC;
	sim_key_clear(&c->key[c->key_ref]);
	c->key[c->key_ref] = nk;
	return SW_OK;
out:
	sim_key_clear(&nk);
	return sw;
}

static uint16_t put_data(struct sim_card *c, const struct sim_apdu *a)
{
	size_t total = 0, off;
	long len;
	uint16_t sw = SW_OK;

	if (!c->pin.validated)
		return SW_SECURITY_STATUS;
	if (a->p1 != 0x3F || a->p2 != 0xFF)
		return SW_INCORRECT_P1P2;
	if (!c->import_allowed)
		return SW_NOT_ALLOWED_GENERAL;
	if (c->alg_ref != SIM_ALG_GEN_RSA2048 && c->alg_ref != SIM_ALG_GEN_EC)
		return SW_CONDITIONS;
	if (gather(c, a, &total, &sw) != 0)
		return sw;
	if (c->alg_ref == SIM_ALG_GEN_RSA2048) {
		if (total < 2 || c->ram[0] != 0x7F || c->ram[1] != 0x48)
			return SW_WRONG_DATA;
		off = 2;
	} else {
		if (total < 1 || c->ram[0] != 0xE0)
			return SW_WRONG_DATA;
		off = 1;
	}
	if ((len = sim_tlv_len(c->ram, total, off)) < 0)
		return SW_DATA_INVALID;
	off += sim_tlv_len_size(len);
	if ((size_t)len != total - off ||
	    !sim_tlv_consistent(c->ram, total, off, (size_t)len))
		return SW_DATA_INVALID;
	sw = c->alg_ref == SIM_ALG_GEN_RSA2048 ?
	    import_rsa(c, c->ram + off, (size_t)len) :
	    import_ec(c, c->ram + off, (size_t)len);
	if (sw == SW_OK) {
		/* The key must not stay in the transfer buffer. */
		OPENSSL_cleanse(c->ram, sizeof(c->ram));
		c->dirty = 1;
		c->eeprom_bytes += (size_t)len;
	}
	return sw;
}

static uint16_t get_challenge(const struct sim_apdu *a, struct sim_resp *r)
{
	size_t le = a->has_le ? a->le : 0;

	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_INCORRECT_P1P2;
	if (le == 0 || le > 256)
		return SW_WRONG_LENGTH;
	if (RAND_bytes(r->data, (int)le) != 1)
		return SW_UNKNOWN;
	r->len = le;
	return SW_OK;
}

uint16_t sim_applet_process(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	uint16_t p1p2 = (uint16_t)(a->p1 << 8 | a->p2);

	if ((a->cla & 0x80) == 0 && (a->cla & 0x0C) != 0)
		return SW_SECURE_MESSAGING;
	/* One chain at a time, for one INS and P1P2. */
	if (c->chain_ins != 0 || is_chaining(a)) {
		if (c->chain_ins == 0 && c->chain_p1p2 == 0) {
			if (a->ins == 0)
				return SW_INS_NOT_SUPPORTED;
			c->chain_ins = a->ins;
			c->chain_p1p2 = p1p2;
		} else if (c->chain_ins != a->ins || c->chain_p1p2 != p1p2) {
			return SW_NOT_ALLOWED_GENERAL;
		} else if (!is_chaining(a)) {
			c->chain_ins = 0;
			c->chain_p1p2 = 0;
		}
	}
	if (c->bytes_remaining > 0 && a->ins != 0xC0)
		return SW_NOT_ALLOWED_GENERAL;
	if (a->cla & 0x80)
		return SW_CLA_NOT_SUPPORTED;
	switch (a->ins) {
	case 0xA4: return sim_fs_select(c, a, r);
	case 0xB0: return sim_fs_read_binary(c, a, r);
	case 0x20: return verify(c, a);
	case 0x22: return mse(c, a);
	case 0x2A: return pso(c, a, r);
	case 0xE0: return sim_fs_create(c, a);
	case 0xD6: return sim_fs_update_binary(c, a);
	case 0x24: return change_reference_data(c, a);
	case 0xE4: return sim_fs_delete(c, a);
	case 0x46: return generate(c, a, r);
	case 0x2C: return reset_retry_counter(c, a);
	case 0xC0: return get_response(c, a, r);
	case 0xDB: return put_data(c, a);
	case 0x84: return get_challenge(a, r);
	default: return SW_INS_NOT_SUPPORTED;
	}
}
