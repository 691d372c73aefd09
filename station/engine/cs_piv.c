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
#include <openssl/sha.h>
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
	DWORD proto;
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

static int piv_select(struct piv *c, const char *reader, char *why,
    size_t whylen)
{
	static const unsigned char select[4] = {0x00, 0xA4, 0x04, 0x00};
	static const unsigned char piv_aid[] = {0xA0, 0x00, 0x00, 0x03, 0x08};
	unsigned char resp[256];
	unsigned long rlen = sizeof(resp);
	int sw = 0;
	ykpiv_rc yr;

	if ((yr = ykpiv_transfer_data(c->st, select, piv_aid, sizeof(piv_aid),
	    resp, &rlen, &sw)) != YKPIV_OK || sw != 0x9000) {
		snprintf(why, whylen, _("%s: the PIV application does not answer "
		    "(%s, %04X)"), reader, ykpiv_strerror(yr), (unsigned)sw);
		return CS_ERR_CARD;
	}
	return CS_OK;
}

/* Connect to reader (by its exact PC/SC name), hold the card for the whole
 * exchange, select the PIV application unless told not to (the caller's
 * first command then proves it is still the card's current one). */
static int piv_open_as(SCARDCONTEXT ctx, const char *reader, struct piv *c,
    int select, char *why, size_t whylen)
{
	LONG rv;
	ykpiv_rc yr = YKPIV_OK;

	memset(c, 0, sizeof(*c));
	rv = SCardConnect(ctx, reader, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &c->h, &c->proto);
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
	    (uintptr_t)c->h)) != YKPIV_OK) {
		snprintf(why, whylen, _("%s: the PIV application does not answer "
		    "(%s, %04X)"), reader, ykpiv_strerror(yr), 0u);
		piv_close(c);
		return CS_ERR_CARD;
	}
	if (select && piv_select(c, reader, why, whylen) != CS_OK) {
		piv_close(c);
		return CS_ERR_CARD;
	}
	return CS_OK;
}

static int piv_open(SCARDCONTEXT ctx, const char *reader, struct piv *c,
    char *why, size_t whylen)
{
	return piv_open_as(ctx, reader, c, 1, why, whylen);
}

/* GET SERIAL (YubiKey 5), sent as is (libykpiv's own asks the firmware
 * version first): the serial, 0 when the card has none. */
static uint32_t get_serial(struct piv *c)
{
	static const unsigned char apdu[4] = {0x00, 0xF8, 0x00, 0x00};
	unsigned char sbuf[16] = {0};
	unsigned long slen = sizeof(sbuf);
	int sw = 0;

	if (ykpiv_transfer_data(c->st, apdu, sbuf, 0, sbuf, &slen, &sw) !=
	    YKPIV_OK || sw != 0x9000 || slen != 4)
		return 0;
	return (uint32_t)sbuf[0] << 24 | (uint32_t)sbuf[1] << 16 |
	    (uint32_t)sbuf[2] << 8 | sbuf[3];
}

/* The YubiKey serial the last cs_piv_applet_state of this thread read, so
 * that cs_piv_identity, asked next, need not open the card again. Good
 * while the reader's event counter is the same: pcsc-lite counts every
 * insertion and removal in the upper 16 bits of dwEventState, so the
 * same count is the same card, never taken out since. */
static _Thread_local struct {
	char reader[256];
	DWORD events;
	uint32_t serial;
	int valid;
} memo;

static int reader_events(SCARDCONTEXT ctx, const char *reader, DWORD *ev)
{
	SCARD_READERSTATE rs;

	memset(&rs, 0, sizeof(rs));
	rs.szReader = reader;
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	if (SCardGetStatusChange(ctx, 0, &rs, 1) != SCARD_S_SUCCESS ||
	    !(rs.dwEventState & SCARD_STATE_PRESENT))
		return -1;
	*ev = rs.dwEventState >> 16;
	return 0;
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
	/* GET DATA of 9A's certificate (5FC105). */
	static const unsigned char get_9a[] = {0x00, 0xCB, 0x3F, 0xFF, 0x05,
	    0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x00};
	struct piv c;
	unsigned char buf[258];
	DWORD len = sizeof(buf);
	int tries = -1, r;
	ykpiv_rc yr;

	memset(st, 0, sizeof(*st));
	st->pin_tries = -1;
	memo.valid = 0;
	if ((r = piv_open(ctx, reader, &c, why, whylen)) != CS_OK)
		return r;
	/* VERIFY without data: the PIN's tries left. */
	yr = ykpiv_verify_select(c.st, NULL, 0, &tries, false);
	if (yr == YKPIV_WRONG_PIN || yr == YKPIV_PIN_LOCKED)
		st->pin_tries = tries;
	/* Factory state: the default management key works and 9A holds no
	 * certificate (GET DATA's first answer says whether it is there).
	 * Trying a key costs nothing (9B has no try counter). */
	if (ykpiv_authenticate(c.st, default_mgm) != YKPIV_OK ||
	    (SCardTransmit(c.h, c.proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 :
	    SCARD_PCI_T0, get_9a, sizeof(get_9a), NULL,
	    buf, &len) == SCARD_S_SUCCESS && len >= 2 &&
	    (buf[len - 2] == 0x61 || buf[len - 2] == 0x90)))
		st->pin_set = st->has_pkcs15 = 1;
	/* The identity, asked next (cs_piv_identity), in this session. */
	if (reader_events(ctx, reader, &memo.events) == 0 &&
	    strlen(reader) < sizeof(memo.reader)) {
		memo.serial = get_serial(&c);
		snprintf(memo.reader, sizeof(memo.reader), "%s", reader);
		memo.valid = 1;
	}
	piv_close(&c);
	return CS_OK;
}

int cs_piv_identity(SCARDCONTEXT ctx, const char *reader, cs_card_id *id,
    char *why, size_t whylen)
{
	struct piv c = {0};
	ykpiv_cardid cid;
	uint32_t serial = 0;
	DWORD events;
	int r;

	/* The serial the probe just read, the card not taken out since. */
	if (memo.valid && memo.serial != 0 && strcmp(memo.reader, reader) == 0 &&
	    reader_events(ctx, reader, &events) == 0 && events == memo.events)
		serial = memo.serial;
	else if ((r = piv_open(ctx, reader, &c, why, whylen)) != CS_OK)
		return r;
	else
		serial = get_serial(&c);
	if (serial != 0) {
		/* The chip's own number, as the CPLC is on a JavaCard. */
		snprintf(id->chip_serial, sizeof(id->chip_serial), "YK-%" PRIu32,
		    serial);
		id->source = CS_CARD_ID_CPLC;
	} else if (c.st != NULL && ykpiv_util_get_cardid(c.st, &cid) == YKPIV_OK &&
	    memcmp(cid.data, guid_mark, sizeof(guid_mark)) == 0) {
		char hex[17], ident[32];

		cs_hex_encode(cid.data + 8, 8, hex, sizeof(hex));
		if (cs_card_assigned_from_token(hex, ident, sizeof(ident))) {
			snprintf(id->chip_serial, sizeof(id->chip_serial), "%s",
			    ident);
			id->source = CS_CARD_ID_ASSIGNED;
		}
	}
	if (c.connected)
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
static int make_guid(const char *identity, ykpiv_cardid *cid, int *assigned)
{
	char hex[40];
	size_t n = 0;

	*assigned = 0;
	if (identity != NULL &&
	    cs_card_assigned_from_token((cs_card_token_serial(identity, hex,
	    sizeof(hex)), hex), NULL, 0) &&
	    cs_hex_decode(hex, cid->data + 8, 8, &n) == CS_OK && n == 8) {
		memcpy(cid->data, guid_mark, sizeof(guid_mark));
		*assigned = 1;
		return CS_OK;
	}
	return RAND_bytes(cid->data, sizeof(cid->data)) == 1 ? CS_OK :
	    CS_ERR_CRYPTO;
}

/* The card signs a fresh challenge with slot 9A (the PIN verified): RSA
 * as PKCS#1 v1.5 over SHA-256, padded here (the card does raw RSA), EC
 * as ECDSA over its SHA-256; the certificate's key must verify it. */
static int prove_key(ykpiv_state *st, EVP_PKEY *pub, char *mech,
    size_t mechlen, char *why, size_t whylen)
{
	/* DigestInfo of SHA-256 (RFC 8017, 9.2 note 1). */
	static const unsigned char sha256_info[19] = {0x30, 0x31, 0x30, 0x0d,
	    0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
	    0x05, 0x00, 0x04, 0x20};
	unsigned char challenge[32], digest[32], in[256], sig[512];
	size_t inlen, siglen = sizeof(sig);
	int ec = EVP_PKEY_is_a(pub, "EC"), bits = EVP_PKEY_get_bits(pub), r;
	unsigned char algo;
	EVP_MD_CTX *md = NULL;
	ykpiv_rc yr;

	snprintf(mech, mechlen, "%s", ec ? "ECDSA-SHA256" : "SHA256-RSA-PKCS");
	if (ec)
		algo = bits == 384 ? YKPIV_ALGO_ECCP384 : YKPIV_ALGO_ECCP256;
	else if (bits == 2048)
		algo = YKPIV_ALGO_RSA2048;
	else
		return CS_ERR_USAGE; /* import_key took no other */
	/* Fresh each time: a replayed signature proves nothing. */
	if (RAND_bytes(challenge, sizeof(challenge)) != 1) {
		snprintf(why, whylen, _("no randomness for the challenge"));
		return CS_ERR_CRYPTO;
	}
	SHA256(challenge, sizeof(challenge), digest);
	if (ec) {
		memcpy(in, digest, sizeof(digest));
		inlen = sizeof(digest);
	} else {
		/* 00 01 FF..FF 00 DigestInfo hash: EMSA-PKCS1-v1_5. */
		inlen = sizeof(in);
		memset(in, 0xFF, inlen);
		in[0] = 0x00;
		in[1] = 0x01;
		in[inlen - sizeof(digest) - sizeof(sha256_info) - 1] = 0x00;
		memcpy(in + inlen - sizeof(digest) - sizeof(sha256_info),
		    sha256_info, sizeof(sha256_info));
		memcpy(in + inlen - sizeof(digest), digest, sizeof(digest));
	}
	if ((yr = ykpiv_sign_data(st, in, inlen, sig, &siglen, algo,
	    YKPIV_KEY_AUTHENTICATION)) != YKPIV_OK) {
		snprintf(why, whylen, _("the card did not sign (%s)"),
		    ykpiv_strerror(yr));
		return CS_ERR_CARD;
	}
	r = CS_ERR_MISMATCH;
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, challenge, sizeof(challenge)) == 1)
		r = CS_OK;
	else
		snprintf(why, whylen, _("the card's signature does not verify with "
		    "the certificate's key: key and certificate do not match"));
	EVP_MD_CTX_free(md);
	return r;
}

/* The check, in the session that wrote the card (no SELECT, no management
 * key again): the certificate read back from the card is, byte for byte,
 * the one written; the holder's PIN opens the key; the key signs a fresh
 * challenge that the certificate's key verifies. The token serial is what
 * OpenSC's PIV driver reports: the CHUID GUID's last 8 bytes (read back
 * after it was written when they carry an assigned identity). */
static int piv_check(struct piv *c, const cs_token_write_args *a,
    const unsigned char *der, size_t derlen, const ykpiv_cardid *cid,
    cs_token_check_result *res, char *why, size_t whylen)
{
	uint8_t *oncard = NULL;
	size_t oclen = 0;
	int tries = -1, r;
	ykpiv_rc yr;

	memset(res, 0, sizeof(*res));
	cs_hex_encode(cid->data + 8, 8, res->pkcs15_serial,
	    sizeof(res->pkcs15_serial));
	for (char *p = res->pkcs15_serial; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	yr = ykpiv_util_read_cert(c->st, YKPIV_KEY_AUTHENTICATION, &oncard,
	    &oclen);
	res->cert_matches = yr == YKPIV_OK && oclen == derlen &&
	    memcmp(oncard, der, derlen) == 0;
	if (oncard != NULL)
		ykpiv_util_free(c->st, oncard);
	if (!res->cert_matches) {
		snprintf(why, whylen, _("the certificate on the card is not the "
		    "one written"));
		return CS_ERR_MISMATCH;
	}
	if ((yr = ykpiv_verify(c->st, a->pin, &tries)) != YKPIV_OK) {
		res->pin_locked = yr == YKPIV_PIN_LOCKED;
		snprintf(why, whylen, _("%s: the card refused the PIN it was just "
		    "given (%s)"), a->reader, ykpiv_strerror(yr));
		return CS_ERR_CARD;
	}
	if ((r = prove_key(c->st, X509_get0_pubkey(a->cert), res->mechanism,
	    sizeof(res->mechanism), why, whylen)) == CS_OK)
		res->signature_ok = 1;
	return r;
}

int cs_piv_write(SCARDCONTEXT ctx, const cs_token_write_args *a,
    const char *identity, cs_token_check_result *res, char *why,
    size_t whylen)
{
	struct piv c;
	unsigned char mgm[24], *der = NULL;
	const unsigned char *keys[2];
	ykpiv_cardid cid, back;
	ykpiv_cccid ccc;
	int factory = 0, tries = 0, derlen, r, assigned = 0;
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
	/* No SELECT first: the probe left the PIV application the card's
	 * current one, and the management-key authentication, the first
	 * command, succeeds only there (a GENERAL AUTHENTICATE witness request
	 * changes nothing anywhere). The key the probe expects first: the
	 * default on a factory card, this card's own on one written before
	 * (a->rekey). Else another key, or another application current:
	 * SELECT, then the other key, then the first again. */
	keys[0] = a->rekey ? mgm : default_mgm;
	keys[1] = a->rekey ? default_mgm : mgm;
	if ((r = piv_open_as(ctx, a->reader, &c, 0, why, whylen)) != CS_OK)
		goto out;
	if (ykpiv_authenticate(c.st, keys[0]) == YKPIV_OK)
		factory = keys[0] == default_mgm;
	else if ((r = piv_select(&c, a->reader, why, whylen)) != CS_OK)
		goto out;
	else if ((yr = ykpiv_authenticate(c.st, keys[1])) == YKPIV_OK)
		factory = keys[1] == default_mgm;
	else if ((yr = ykpiv_authenticate(c.st, keys[0])) == YKPIV_OK)
		factory = keys[0] == default_mgm;
	else {
		snprintf(why, whylen, _("%s: the card refuses the default "
		    "management key and the one this institution's PUK gives "
		    "card %s (%s)"), a->reader, identity, ykpiv_strerror(yr));
		r = CS_ERR_STATE;
		goto out;
	}
	/* The CHUID first (with the CCC, what Windows' built-in PIV driver
	 * looks for): an identity the station assigned lives only in its
	 * GUID, so it is on the card, read back, before anything of the
	 * record is; a card without it holds nothing of the record (the
	 * worker's identity_lost). */
	r = CS_ERR_CARD;
	if (make_guid(identity, &cid, &assigned) != CS_OK ||
	    RAND_bytes(ccc.data, sizeof(ccc.data)) != 1 ||
	    (yr = ykpiv_util_set_cardid(c.st, &cid)) != YKPIV_OK ||
	    (yr = ykpiv_util_set_cccid(c.st, &ccc)) != YKPIV_OK) {
		snprintf(why, whylen, _("%s: the card refused its CHUID or CCC"),
		    a->reader);
		goto out;
	}
	if (assigned && (ykpiv_util_get_cardid(c.st, &back) != YKPIV_OK ||
	    memcmp(back.data, cid.data, sizeof(back.data)) != 0)) {
		snprintf(why, whylen, _("%s: the card's CHUID is not the one "
		    "written"), a->reader);
		r = CS_ERR_MISMATCH;
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
	r = res != NULL ? piv_check(&c, a, der, (size_t)derlen, &cid, res, why,
	    whylen) : CS_OK;
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
