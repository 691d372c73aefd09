/* cs_piv.c - writing PIV cards with Yubico's libykpiv (cs_piv.h). */
#include "cs_piv.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <ykpiv.h>

/* A factory PIV card's published defaults (YubiKey). */
static const unsigned char default_mgm[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2,
    3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
static const char default_puk[] = "12345678";

#define PIV_CERT_9A 0x5FC105

/* Marks the CHUID GUIDs a station writes (first 8 bytes); the last 8 are
 * the card's identity. */
static const unsigned char guid_mark[8] = {'c', 's', 'P', 'I', 'V', 'i',
    'd', 0x01};

int cs_piv_is_profile(const cs_profile *p)
{
	return p != NULL && strcmp(p->opensc_driver, "PIV-II") == 0;
}

struct piv {
	ykpiv_state *st;
	SCARDHANDLE h;
	int connected;
	int in_tx;
};

static void piv_close(struct piv *c)
{
	if (c->st != NULL)
		ykpiv_done_with_external_card(c->st);
	if (c->in_tx)
		SCardEndTransaction(c->h, SCARD_LEAVE_CARD);
	if (c->connected)
		SCardDisconnect(c->h, SCARD_LEAVE_CARD);
	memset(c, 0, sizeof(*c));
}

/* Connect to reader (by its exact PC/SC name), hold the card for the whole
 * exchange, select the PIV application. */
static int piv_open(SCARDCONTEXT ctx, const char *reader, struct piv *c,
    char *why, size_t whylen)
{
	static const unsigned char select[4] = {0x00, 0xA4, 0x04, 0x00};
	static const unsigned char piv_aid[] = {0xA0, 0x00, 0x00, 0x03, 0x08};
	unsigned char resp[256];
	unsigned long rlen = sizeof(resp);
	DWORD proto;
	LONG rv;
	int sw = 0;
	ykpiv_rc yr = YKPIV_OK;

	memset(c, 0, sizeof(*c));
	rv = SCardConnect(ctx, reader, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &c->h, &proto);
	if (rv != SCARD_S_SUCCESS) {
		snprintf(why, whylen, _("%s: cannot connect to the card: %s"),
		    reader, pcsc_stringify_error(rv));
		return CS_ERR_CARD;
	}
	c->connected = 1;
	if (SCardBeginTransaction(c->h) == SCARD_S_SUCCESS)
		c->in_tx = 1;
	if (ykpiv_init(&c->st, 0) != YKPIV_OK) {
		piv_close(c);
		snprintf(why, whylen, _("libykpiv could not start"));
		return CS_ERR_NOMEM;
	}
	/* libykpiv selects nothing on a card it is handed: SELECT here. */
	if ((yr = ykpiv_connect_with_external_card(c->st, (uintptr_t)ctx,
	    (uintptr_t)c->h)) != YKPIV_OK ||
	    (yr = ykpiv_transfer_data(c->st, select, piv_aid, sizeof(piv_aid),
	    resp, &rlen, &sw)) != YKPIV_OK || sw != 0x9000) {
		snprintf(why, whylen, _("%s: the PIV application does not answer "
		    "(%s, %04X)"), reader, ykpiv_strerror(yr), (unsigned)sw);
		piv_close(c);
		return CS_ERR_CARD;
	}
	return CS_OK;
}

int cs_piv_mgm_key(const char *puk, const char *identity,
    unsigned char key[24])
{
	static const char label[] = "cardstation PIV management key 9B";
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	unsigned char msg[128];
	size_t ll = sizeof(label), il = strlen(identity);

	if (puk == NULL || *puk == '\0' || il == 0 || ll + il > sizeof(msg))
		return CS_ERR_USAGE;
	memcpy(msg, label, ll);        /* with its NUL: label, then identity */
	memcpy(msg + ll, identity, il);
	if (HMAC(EVP_sha256(), puk, (int)strlen(puk), msg, ll + il, mac,
	    &maclen) == NULL)
		return CS_ERR_CRYPTO;
	memcpy(key, mac, 24);
	OPENSSL_cleanse(mac, sizeof(mac));
	return CS_OK;
}

int cs_piv_applet_state(SCARDCONTEXT ctx, const char *reader,
    cs_applet_state *st, char *why, size_t whylen)
{
	struct piv c;
	unsigned char buf[3072];
	unsigned long len = sizeof(buf);
	int tries = -1, r;
	ykpiv_rc yr;

	memset(st, 0, sizeof(*st));
	st->pin_tries = -1;
	if ((r = piv_open(ctx, reader, &c, why, whylen)) != CS_OK)
		return r;
	/* VERIFY without data: the PIN's tries left. */
	yr = ykpiv_verify_select(c.st, NULL, 0, &tries, false);
	if (yr == YKPIV_WRONG_PIN || yr == YKPIV_PIN_LOCKED)
		st->pin_tries = tries;
	/* Factory state: the default management key works and 9A holds no
	 * certificate. Trying a key costs nothing (9B has no try counter). */
	if (ykpiv_authenticate(c.st, default_mgm) != YKPIV_OK ||
	    ykpiv_fetch_object(c.st, PIV_CERT_9A, buf, &len) == YKPIV_OK)
		st->pin_set = st->has_pkcs15 = 1;
	piv_close(&c);
	return CS_OK;
}

int cs_piv_identity(SCARDCONTEXT ctx, const char *reader, cs_card_id *id,
    char *why, size_t whylen)
{
	struct piv c;
	static const unsigned char get_serial[4] = {0x00, 0xF8, 0x00, 0x00};
	unsigned char sbuf[16];
	unsigned long slen = sizeof(sbuf);
	ykpiv_cardid cid;
	uint32_t serial = 0;
	int r, sw = 0;

	if ((r = piv_open(ctx, reader, &c, why, whylen)) != CS_OK)
		return r;
	/* GET SERIAL (YubiKey 5): sent as is, libykpiv's own would ask the
	 * firmware version first. */
	if (ykpiv_transfer_data(c.st, get_serial, sbuf, 0, sbuf, &slen, &sw) ==
	    YKPIV_OK && sw == 0x9000 && slen == 4)
		serial = (uint32_t)sbuf[0] << 24 | (uint32_t)sbuf[1] << 16 |
		    (uint32_t)sbuf[2] << 8 | sbuf[3];
	if (serial != 0) {
		/* The chip's own number, as the CPLC is on a JavaCard. */
		snprintf(id->chip_serial, sizeof(id->chip_serial), "YK-%" PRIu32,
		    serial);
		id->source = CS_CARD_ID_CPLC;
	} else if (ykpiv_util_get_cardid(c.st, &cid) == YKPIV_OK &&
	    memcmp(cid.data, guid_mark, sizeof(guid_mark)) == 0) {
		char hex[17], ident[32];

		cs_hex_encode(cid.data + 8, 8, hex, sizeof(hex));
		if (cs_card_assigned_from_token(hex, ident, sizeof(ident))) {
			snprintf(id->chip_serial, sizeof(id->chip_serial), "%s",
			    ident);
			id->source = CS_CARD_ID_ASSIGNED;
		}
	}
	piv_close(&c);
	return CS_OK;
}

/* p q dp dq qinv, each left-padded to half the modulus, or an EC private
 * value of the curve's size: what IMPORT ASYMMETRIC KEY takes. */
static int import_key(ykpiv_state *st, EVP_PKEY *key, char *why,
    size_t whylen)
{
	static const char *const names[5] = {OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
	unsigned char part[5][256];
	size_t plen = 0;
	BIGNUM *bn = NULL;
	ykpiv_rc yr = YKPIV_GENERIC_ERROR;
	int bits = EVP_PKEY_get_bits(key), r = CS_ERR_CRYPTO;

	if (EVP_PKEY_is_a(key, "RSA") && bits == 2048) {
		plen = 128;
		for (int i = 0; i < 5; i++) {
			if (!EVP_PKEY_get_bn_param(key, names[i], &bn) ||
			    BN_bn2binpad(bn, part[i], (int)plen) < 0)
				goto out;
			BN_clear_free(bn);
			bn = NULL;
		}
		yr = ykpiv_import_private_key(st, YKPIV_KEY_AUTHENTICATION,
		    YKPIV_ALGO_RSA2048, part[0], plen, part[1], plen, part[2],
		    plen, part[3], plen, part[4], plen, NULL, 0,
		    YKPIV_PINPOLICY_DEFAULT, YKPIV_TOUCHPOLICY_DEFAULT);
	} else if (EVP_PKEY_is_a(key, "EC") && (bits == 256 || bits == 384)) {
		plen = bits / 8;
		if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &bn) ||
		    BN_bn2binpad(bn, part[0], (int)plen) < 0)
			goto out;
		yr = ykpiv_import_private_key(st, YKPIV_KEY_AUTHENTICATION,
		    bits == 256 ? YKPIV_ALGO_ECCP256 : YKPIV_ALGO_ECCP384, NULL,
		    0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, part[0], plen,
		    YKPIV_PINPOLICY_DEFAULT, YKPIV_TOUCHPOLICY_DEFAULT);
	} else {
		snprintf(why, whylen, _("a PIV card takes RSA-2048, EC P-256 or "
		    "P-384 keys, not this one (%d bits)"), bits);
		r = CS_ERR_USAGE;
		goto out;
	}
	if (yr == YKPIV_OK)
		r = CS_OK;
	else
		snprintf(why, whylen, _("the card refused the key (%s)"),
		    ykpiv_strerror(yr));
out:
	if (r == CS_ERR_CRYPTO && yr == YKPIV_GENERIC_ERROR && why[0] == '\0')
		snprintf(why, whylen, _("the key cannot be read"));
	BN_clear_free(bn);
	OPENSSL_cleanse(part, sizeof(part));
	return r;
}

/* A CHUID GUID: the station's mark and the identity when it is one a
 * station assigned, else random. */
static int make_guid(const char *identity, ykpiv_cardid *cid)
{
	char hex[40];
	size_t n = 0;

	if (identity != NULL &&
	    cs_card_assigned_from_token((cs_card_token_serial(identity, hex,
	    sizeof(hex)), hex), NULL, 0) &&
	    cs_hex_decode(hex, cid->data + 8, 8, &n) == CS_OK && n == 8) {
		memcpy(cid->data, guid_mark, sizeof(guid_mark));
		return CS_OK;
	}
	return RAND_bytes(cid->data, sizeof(cid->data)) == 1 ? CS_OK :
	    CS_ERR_CRYPTO;
}

int cs_piv_write(SCARDCONTEXT ctx, const cs_token_write_args *a,
    const char *identity, char *why, size_t whylen)
{
	struct piv c;
	unsigned char mgm[24], *der = NULL;
	ykpiv_cardid cid;
	ykpiv_cccid ccc;
	int factory = 0, tries = 0, derlen, r;
	ykpiv_rc yr;

	why[0] = '\0';
	if (a->puk == NULL || a->pin == NULL || identity == NULL ||
	    *identity == '\0') {
		snprintf(why, whylen, _("a PIV card needs a PIN, a PUK and an "
		    "identity"));
		return CS_ERR_USAGE;
	}
	if ((r = cs_piv_mgm_key(a->puk, identity, mgm)) != CS_OK) {
		snprintf(why, whylen, _("no management key for %s"), identity);
		return r;
	}
	if ((r = piv_open(ctx, a->reader, &c, why, whylen)) != CS_OK)
		goto out;
	/* Factory card: the default key; else the key this card was given. */
	if (ykpiv_authenticate(c.st, default_mgm) == YKPIV_OK)
		factory = 1;
	else if ((yr = ykpiv_authenticate(c.st, mgm)) != YKPIV_OK) {
		snprintf(why, whylen, _("%s: the card refuses the default "
		    "management key and the one this institution's PUK gives "
		    "card %s (%s)"), a->reader, identity, ykpiv_strerror(yr));
		r = CS_ERR_STATE;
		goto out;
	}
	if ((r = import_key(c.st, a->key, why, whylen)) != CS_OK)
		goto out;
	if ((derlen = i2d_X509(a->cert, &der)) <= 0) {
		snprintf(why, whylen, _("the certificate cannot be encoded"));
		r = CS_ERR_CRYPTO;
		goto out;
	}
	r = CS_ERR_CARD;
	if ((yr = ykpiv_util_write_cert(c.st, YKPIV_KEY_AUTHENTICATION, der,
	    (size_t)derlen, YKPIV_CERTINFO_UNCOMPRESSED)) != YKPIV_OK) {
		snprintf(why, whylen, _("%s: the card refused the certificate "
		    "(%s)"), a->reader, ykpiv_strerror(yr));
		goto out;
	}
	/* CHUID and CCC: what Windows' built-in PIV driver looks for. */
	if (make_guid(identity, &cid) != CS_OK ||
	    RAND_bytes(ccc.data, sizeof(ccc.data)) != 1 ||
	    (yr = ykpiv_util_set_cardid(c.st, &cid)) != YKPIV_OK ||
	    (yr = ykpiv_util_set_cccid(c.st, &ccc)) != YKPIV_OK) {
		snprintf(why, whylen, _("%s: the card refused its CHUID or CCC"),
		    a->reader);
		goto out;
	}
	/* The PUK: from the default on a factory card. A card stopped here
	 * before (its management key still the default) may have the
	 * institution's PUK already: that try comes back with the PUK's next
	 * good use, just below. */
	if (factory && (yr = ykpiv_change_puk(c.st, default_puk,
	    strlen(default_puk), a->puk, strlen(a->puk), &tries)) != YKPIV_OK &&
	    yr != YKPIV_WRONG_PIN) {
		snprintf(why, whylen, _("%s: the card refused the new PUK (%s)"),
		    a->reader, ykpiv_strerror(yr));
		goto out;
	}
	/* The PIN, set with the PUK: whatever it was before. */
	if ((yr = ykpiv_unblock_pin(c.st, a->puk, strlen(a->puk), a->pin,
	    strlen(a->pin), &tries)) != YKPIV_OK) {
		if (yr == YKPIV_WRONG_PIN || yr == YKPIV_PIN_LOCKED)
			snprintf(why, whylen, _("%s: the card refused the PUK "
			    "(%d tries left)"), a->reader, tries);
		else
			snprintf(why, whylen, _("%s: the card refused the new PIN "
			    "(%s)"), a->reader, ykpiv_strerror(yr));
		r = yr == YKPIV_WRONG_PIN || yr == YKPIV_PIN_LOCKED ?
		    CS_ERR_STATE : CS_ERR_CARD;
		goto out;
	}
	if (factory && (yr = ykpiv_set_mgmkey(c.st, mgm)) != YKPIV_OK) {
		snprintf(why, whylen, _("%s: the card refused its management key "
		    "(%s)"), a->reader, ykpiv_strerror(yr));
		goto out;
	}
	r = CS_OK;
out:
	if (c.st != NULL || c.connected)
		piv_close(&c);
	OPENSSL_free(der);
	OPENSSL_cleanse(mgm, sizeof(mgm));
	return r;
}

int cs_piv_is_aid(const char *aid_hex)
{
	static const char pix[] = "A000000308";

	if (aid_hex == NULL || strlen(aid_hex) < sizeof(pix) - 1)
		return 0;
	for (size_t i = 0; i < sizeof(pix) - 1; i++)
		if (toupper((unsigned char)aid_hex[i]) != pix[i])
			return 0;
	return 1;
}

int cs_piv_reset_pin(SCARDCONTEXT ctx, const char *reader, const char *puk,
    const char *new_pin, int *puk_tries, char *why, size_t whylen)
{
	struct piv c;
	int tries = -1, r;
	ykpiv_rc yr;

	if (puk_tries != NULL)
		*puk_tries = -1;
	if ((r = piv_open(ctx, reader, &c, why, whylen)) != CS_OK)
		return r;
	yr = ykpiv_unblock_pin(c.st, puk, strlen(puk), new_pin, strlen(new_pin),
	    &tries);
	piv_close(&c);
	if (yr == YKPIV_OK)
		return CS_OK;
	if (yr == YKPIV_WRONG_PIN || yr == YKPIV_PIN_LOCKED) {
		if (puk_tries != NULL)
			*puk_tries = yr == YKPIV_PIN_LOCKED ? 0 : tries;
		snprintf(why, whylen, _("%s: the card refused the PUK (%d tries "
		    "left)"), reader, yr == YKPIV_PIN_LOCKED ? 0 : tries);
		return CS_ERR_CARD;
	}
	snprintf(why, whylen, _("%s: the card refused the new PIN (%s)"), reader,
	    ykpiv_strerror(yr));
	return CS_ERR_CARD;
}

/* A PIN or PUK value that is not known: 8 digits, the k-th of a series,
 * never equal to known. */
static void other_than(const char *known, unsigned k, char out[16])
{
	unsigned v = (12345670u + k * 7919u) % 100000000u;

	snprintf(out, 16, "%08u", v);
	if (known != NULL && strcmp(out, known) == 0)
		snprintf(out, 16, "%08u", (v + 1) % 100000000u);
}

int cs_piv_wipe(SCARDCONTEXT ctx, const char *reader, const char *pin,
    int *wiped, char *why, size_t whylen)
{
	struct piv c;
	char wrong[16];
	int tries = 1, r;
	unsigned k;
	ykpiv_rc yr = YKPIV_OK;

	*wiped = 0;
	if ((r = piv_open(ctx, reader, &c, why, whylen)) != CS_OK)
		return r;
	/* The PIN: wrong values until it is blocked (a PIV card allows at
	 * most 255 tries; YubiKey 15). */
	for (k = 0; k < 256 && yr != YKPIV_PIN_LOCKED; k++) {
		other_than(pin, k, wrong);
		yr = ykpiv_verify(c.st, wrong, &tries);
		if (yr != YKPIV_WRONG_PIN && yr != YKPIV_PIN_LOCKED)
			break;
	}
	if (yr != YKPIV_PIN_LOCKED) {
		snprintf(why, whylen, _("%s: the card's PIN could not be blocked "
		    "(%s)"), reader, ykpiv_strerror(yr));
		r = CS_ERR_CARD;
		goto out;
	}
	/* The PUK: nobody here knows it; a value that happens to be it sets
	 * a PIN nobody knows and restores its tries: try another. */
	for (k = 0, yr = YKPIV_OK; k < 256 && yr != YKPIV_PIN_LOCKED; k++) {
		char pin2[16];

		other_than(NULL, k, wrong);
		other_than(NULL, k + 7, pin2);
		yr = ykpiv_unblock_pin(c.st, wrong, strlen(wrong), pin2,
		    strlen(pin2), &tries);
		if (yr == YKPIV_OK) {
			/* That was the PUK: the PIN must be blocked again. */
			snprintf(why, whylen, _("%s: the PUK was guessed while "
			    "blocking it; wipe the card again"), reader);
			r = CS_ERR_STATE;
			goto out;
		}
		if (yr != YKPIV_WRONG_PIN && yr != YKPIV_PIN_LOCKED)
			break;
	}
	if (yr != YKPIV_PIN_LOCKED) {
		snprintf(why, whylen, _("%s: the card's PUK could not be blocked "
		    "(%s)"), reader, ykpiv_strerror(yr));
		r = CS_ERR_CARD;
		goto out;
	}
	if ((yr = ykpiv_util_reset(c.st)) != YKPIV_OK) {
		snprintf(why, whylen, _("%s: the card refused RESET with its PIN "
		    "and PUK blocked (%s)"), reader, ykpiv_strerror(yr));
		r = CS_ERR_CARD;
		goto out;
	}
	*wiped = 1;
	r = CS_OK;
out:
	piv_close(&c);
	return r;
}
