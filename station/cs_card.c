/* cs_card.c - ATR, GlobalPlatform CPLC and applet probing over PC/SC. */
#include "cs_card.h"
#include "cs_err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* GlobalPlatform card manager AIDs: GP 2.1.1+ ISD, then the older one. */
static const char *const ISD_AIDS[] = {"A000000151000000", "A000000003000000"};

int cs_hex_decode(const char *hex, unsigned char *out, size_t outcap,
    size_t *outlen)
{
	size_t n = 0;

	while (*hex != '\0') {
		unsigned int b;

		if (*hex == ':' || *hex == ' ') {
			hex++;
			continue;
		}
		if (!isxdigit((unsigned char)hex[0]) ||
		    !isxdigit((unsigned char)hex[1]) || n == outcap ||
		    sscanf(hex, "%2x", &b) != 1)
			return CS_ERR_FORMAT;
		out[n++] = (unsigned char)b;
		hex += 2;
	}
	*outlen = n;
	return CS_OK;
}

void cs_hex_encode(const unsigned char *in, size_t len, char *out, size_t outcap)
{
	size_t i;

	for (i = 0; i < len && 2 * i + 2 < outcap; i++)
		snprintf(out + 2 * i, 3, "%02X", in[i]);
	out[outcap ? (2 * i < outcap ? 2 * i : outcap - 1) : 0] = '\0';
}

void cs_card_cplc_serial(const unsigned char c[42], char *out, size_t outlen)
{
	/* IC fabricator (0-1), IC type (2-3), IC serial number (12-15). */
	snprintf(out, outlen, "%02X%02X-%02X%02X-%02X%02X%02X%02X", c[0], c[1],
	    c[2], c[3], c[12], c[13], c[14], c[15]);
}

/* One command; follows 61xx (GET RESPONSE) and 6Cxx (wrong Le). */
static int transmit(SCARDHANDLE h, DWORD proto, const unsigned char *apdu,
    size_t len, unsigned char *resp, size_t *resplen, unsigned short *sw)
{
	const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T0 ?
	    SCARD_PCI_T0 : SCARD_PCI_T1;
	unsigned char cmd[5 + 255 + 1];
	DWORD rl;
	size_t got = 0;

	if (len > sizeof(cmd))
		return CS_ERR_USAGE;
	memcpy(cmd, apdu, len);
	for (int round = 0; round < 8; round++) {
		unsigned char buf[258];

		rl = sizeof(buf);
		if (SCardTransmit(h, pci, cmd, (DWORD)len, NULL, buf, &rl) !=
		    SCARD_S_SUCCESS || rl < 2)
			return CS_ERR_CARD;
		*sw = (unsigned short)(buf[rl - 2] << 8 | buf[rl - 1]);
		if (got + rl - 2 > *resplen)
			return CS_ERR_LIMIT;
		memcpy(resp + got, buf, rl - 2);
		got += rl - 2;
		if ((*sw >> 8) == 0x61) {
			unsigned char gr[5] = {0x00, 0xC0, 0x00, 0x00, (unsigned char)*sw};

			memcpy(cmd, gr, 5);
			len = 5;
		} else if ((*sw >> 8) == 0x6C) {
			cmd[len - 1] = (unsigned char)*sw;
		} else {
			*resplen = got;
			return CS_OK;
		}
	}
	return CS_ERR_CARD;
}

static int select_aid(SCARDHANDLE h, DWORD proto, const char *aid_hex,
    unsigned short *sw)
{
	unsigned char apdu[5 + 16 + 1] = {0x00, 0xA4, 0x04, 0x00};
	unsigned char resp[256];
	size_t aidlen, rl = sizeof(resp);

	if (cs_hex_decode(aid_hex, apdu + 5, 16, &aidlen) != CS_OK || aidlen < 5)
		return CS_ERR_USAGE;
	apdu[4] = (unsigned char)aidlen;
	apdu[5 + aidlen] = 0x00;
	return transmit(h, proto, apdu, 5 + aidlen + 1, resp, &rl, sw);
}

static int connect_shared(SCARDCONTEXT ctx, const char *reader, SCARDHANDLE *h,
    DWORD *proto, char *why, size_t whylen)
{
	LONG rv = SCardConnect(ctx, reader, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, h, proto);

	if (rv != SCARD_S_SUCCESS) {
		snprintf(why, whylen, "%s: cannot connect to the card: %s", reader,
		    pcsc_stringify_error(rv));
		return rv == SCARD_E_NO_SMARTCARD || rv == SCARD_W_REMOVED_CARD ?
		    CS_ERR_NOTFOUND : CS_ERR_CARD;
	}
	return CS_OK;
}

/* Connect and open a transaction: the few APDUs that follow go out with no
 * other process talking to the card in between. */
static int begin_card(SCARDCONTEXT ctx, const char *reader, SCARDHANDLE *h,
    DWORD *proto, char *why, size_t whylen)
{
	int r;

	if ((r = connect_shared(ctx, reader, h, proto, why, whylen)) != CS_OK)
		return r;
	if (SCardBeginTransaction(*h) != SCARD_S_SUCCESS) {
		snprintf(why, whylen, "%s: the card is held by another process", reader);
		SCardDisconnect(*h, SCARD_LEAVE_CARD);
		return CS_ERR_CARD;
	}
	return CS_OK;
}

/* End the transaction and leave the card powered as it is. */
static void end_card(SCARDHANDLE h)
{
	SCardEndTransaction(h, SCARD_LEAVE_CARD);
	SCardDisconnect(h, SCARD_LEAVE_CARD);
}

int cs_card_probe(SCARDCONTEXT ctx, const char *reader, cs_card_id *out,
    char *why, size_t whylen)
{
	static const unsigned char get_cplc[] = {0x80, 0xCA, 0x9F, 0x7F, 0x00};
	SCARDHANDLE h;
	DWORD proto, state, atrlen = 33, namelen = 0;
	unsigned char atr[33], resp[256];
	unsigned short sw = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = begin_card(ctx, reader, &h, &proto, why, whylen)) != CS_OK)
		return r;
	if (SCardStatus(h, NULL, &namelen, &state, &proto, atr, &atrlen) ==
	    SCARD_S_SUCCESS)
		cs_hex_encode(atr, atrlen, out->atr, sizeof(out->atr));
	r = CS_ERR_CARD;
	for (size_t i = 0; i < sizeof(ISD_AIDS) / sizeof(ISD_AIDS[0]); i++) {
		size_t rl = sizeof(resp);

		if ((r = select_aid(h, proto, ISD_AIDS[i], &sw)) != CS_OK)
			break;
		if (sw != 0x9000)
			continue;
		r = transmit(h, proto, get_cplc, sizeof(get_cplc), resp, &rl, &sw);
		/* 9F 7F 2A, then the 42 bytes of CPLC data */
		if (r == CS_OK && sw == 0x9000 && rl >= 45 && resp[0] == 0x9F &&
		    resp[1] == 0x7F && resp[2] >= 42) {
			cs_card_cplc_serial(resp + 3, out->chip_serial,
			    sizeof(out->chip_serial));
			cs_hex_encode(resp + 3, 42, out->cplc, sizeof(out->cplc));
		}
		break;
	}
	end_card(h);
	if (r == CS_ERR_CARD) {
		snprintf(why, whylen, "%s: the card stopped answering", reader);
		return r;
	}
	return CS_OK;
}

/* Select the applet inside a transaction; the caller ends both. */
static int open_applet(SCARDCONTEXT ctx, const char *reader, const char *aid_hex,
    SCARDHANDLE *h, DWORD *proto, char *why, size_t whylen)
{
	unsigned short sw = 0;
	int r;

	if ((r = begin_card(ctx, reader, h, proto, why, whylen)) != CS_OK)
		return r;
	if ((r = select_aid(*h, *proto, aid_hex, &sw)) != CS_OK || sw != 0x9000) {
		snprintf(why, whylen, "%s: the applet %s does not answer", reader,
		    aid_hex);
		end_card(*h);
		return r != CS_OK ? r : CS_ERR_NOTFOUND;
	}
	return CS_OK;
}

static int simple(SCARDHANDLE h, DWORD proto, const unsigned char *apdu,
    size_t len, unsigned short *sw)
{
	unsigned char resp[258];
	size_t rl = sizeof(resp);

	return transmit(h, proto, apdu, len, resp, &rl, sw);
}

int cs_card_applet_state(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, cs_applet_state *st, char *why, size_t whylen)
{
	static const unsigned char verify[] = {0x00, 0x20, 0x00, 0x01, 0x00};
	static const unsigned char sel_df[] = {0x00, 0xA4, 0x00, 0x00, 0x02,
	    0x50, 0x15};
	SCARDHANDLE h;
	DWORD proto;
	unsigned short sw = 0;
	int r;

	memset(st, 0, sizeof(*st));
	st->pin_tries = -1;
	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) != CS_OK)
		return r;
	if ((r = simple(h, proto, verify, sizeof(verify), &sw)) == CS_OK) {
		st->pin_set = (sw & 0xFFF0) == 0x63C0 || sw == 0x6983;
		st->pin_tries = (sw & 0xFFF0) == 0x63C0 ? sw & 0x0F :
		    sw == 0x6983 ? 0 : -1;
	}
	if (r == CS_OK && (r = simple(h, proto, sel_df, sizeof(sel_df), &sw)) == CS_OK)
		st->has_pkcs15 = sw == 0x9000 || (sw >> 8) == 0x61;
	end_card(h);
	if (r != CS_OK)
		snprintf(why, whylen, "%s: the card stopped answering", reader);
	return r;
}

static int verify_pin(SCARDHANDLE h, DWORD proto, const char *pin,
    unsigned short *sw)
{
	unsigned char apdu[5 + 16] = {0x00, 0x20, 0x00, 0x01};
	size_t n = strlen(pin);
	int r;

	if (n > 16)
		return CS_ERR_USAGE;
	apdu[4] = (unsigned char)n;
	memcpy(apdu + 5, pin, n);
	r = simple(h, proto, apdu, 5 + n, sw);
	OPENSSL_cleanse(apdu, sizeof(apdu));
	return r;
}

int cs_card_erase_pkcs15(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *pin, char *why, size_t whylen)
{
	static const unsigned char del_app[] = {0x00, 0xE4, 0x00, 0x00, 0x02,
	    0x50, 0x15};
	static const unsigned char del_dir[] = {0x00, 0xE4, 0x00, 0x00, 0x02,
	    0x2F, 0x00};
	SCARDHANDLE h;
	DWORD proto;
	unsigned short sw = 0;
	int r;

	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) != CS_OK)
		return r;
	if (pin != NULL && ((r = verify_pin(h, proto, pin, &sw)) != CS_OK ||
	    sw != 0x9000)) {
		snprintf(why, whylen, "%s: the card refused the PIN (%04X)", reader, sw);
		end_card(h);
		return r != CS_OK ? r : CS_ERR_CARD;
	}
	/* 6A82: already gone, which is what we want. */
	if ((r = simple(h, proto, del_app, sizeof(del_app), &sw)) == CS_OK &&
	    sw != 0x9000 && sw != 0x6A82) {
		snprintf(why, whylen, "%s: the card refused to delete its PKCS#15 "
		    "application (%04X)", reader, sw);
		r = CS_ERR_CARD;
	}
	if (r == CS_OK && (r = simple(h, proto, del_dir, sizeof(del_dir), &sw)) ==
	    CS_OK && sw != 0x9000 && sw != 0x6A82) {
		snprintf(why, whylen, "%s: the card refused to delete EF DIR (%04X)",
		    reader, sw);
		r = CS_ERR_CARD;
	}
	end_card(h);
	return r;
}

int cs_card_reset_pin_tries(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *puk, const char *new_pin, int *puk_tries,
    char *why, size_t whylen)
{
	unsigned char apdu[5 + 16 + 16] = {0x00, 0x2C, 0x00, 0x01};
	size_t pl = strlen(puk), nl = strlen(new_pin);
	SCARDHANDLE h;
	DWORD proto;
	unsigned short sw = 0;
	int r;

	if (puk_tries != NULL)
		*puk_tries = -1;
	if (pl != 16 || nl > 16) {
		snprintf(why, whylen, "the PUK must be 16 characters");
		return CS_ERR_USAGE;
	}
	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) != CS_OK)
		return r;
	apdu[4] = (unsigned char)(pl + nl);
	memcpy(apdu + 5, puk, pl);
	memcpy(apdu + 5 + pl, new_pin, nl);
	r = simple(h, proto, apdu, 5 + pl + nl, &sw);
	OPENSSL_cleanse(apdu, sizeof(apdu));
	end_card(h);
	if (r != CS_OK) {
		snprintf(why, whylen, "%s: the card stopped answering", reader);
		return r;
	}
	if (sw == 0x9000)
		return CS_OK;
	/* 63Cx: the PUK was wrong (or blocked, or never set: 63C0) and the
	 * card has x tries left. The count is the card's, not a profile's. */
	if ((sw & 0xFFF0) == 0x63C0) {
		if (puk_tries != NULL)
			*puk_tries = sw & 0x0F;
		if ((sw & 0x0F) == 0)
			snprintf(why, whylen, "%s: the card refused the PUK (%04X): "
			    "wrong PUK, and the PUK is now blocked", reader, sw);
		else
			snprintf(why, whylen, "%s: the card refused the PUK (%04X): "
			    "wrong PUK, %d %s left", reader, sw, sw & 0x0F,
			    (sw & 0x0F) == 1 ? "try" : "tries");
	} else {
		snprintf(why, whylen, "%s: the card refused the PUK (%04X)",
		    reader, sw);
	}
	return CS_ERR_CARD;
}

int cs_card_reset_pin(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *puk, const char *new_pin, char *why,
    size_t whylen)
{
	return cs_card_reset_pin_tries(ctx, reader, aid_hex, puk, new_pin, NULL,
	    why, whylen);
}

/* MANAGE SECURITY ENVIRONMENT: SET (41) for signing (B6) or key
 * generation (00), algorithm alg, private key reference ref. */
static int mse_set(SCARDHANDLE h, DWORD proto, unsigned char p2,
    unsigned char alg, unsigned char ref, unsigned short *sw)
{
	const unsigned char apdu[] = {0x00, 0x22, 0x41, p2, 0x06, 0x80, 0x01,
	    alg, 0x84, 0x01, ref};

	return simple(h, proto, apdu, sizeof(apdu), sw);
}

/* IsoApplet's algorithm references (IsoApplet.java, ALG_*). */
#define ISO_ALG_RSA_PKCS1	0x11
#define ISO_ALG_GEN_RSA2048	0xF3
#define ISO_KEY_REFS		16	/* KEY_MAX_COUNT: references 0..15 */

int cs_card_overwrite_keys(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *pin, int *overwritten, char *why,
    size_t whylen)
{
	static const unsigned char gen_rsa[] = {0x00, 0x46, 0x42, 0x00, 0x00};
	unsigned char resp[512];
	SCARDHANDLE h;
	DWORD proto;
	unsigned short sw = 0;
	int r, held[ISO_KEY_REFS];

	*overwritten = 0;
	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) != CS_OK)
		return r;
	if ((r = verify_pin(h, proto, pin, &sw)) != CS_OK || sw != 0x9000) {
		snprintf(why, whylen, "%s: the card refused the PIN (%04X)", reader, sw);
		end_card(h);
		return r != CS_OK ? r : CS_ERR_CARD;
	}
	/* Which references hold a key. The applet has no command that lists
	 * or deletes keys; SET for an RSA signature tells: 9000 an RSA key,
	 * 6984 (data invalid) a key of another type (EC), 6F00 none (the
	 * applet asks the empty slot for its type and the JavaCard runtime
	 * answers the exception with 6F00). */
	for (int ref = 0; ref < ISO_KEY_REFS; ref++) {
		if ((r = mse_set(h, proto, 0xB6, ISO_ALG_RSA_PKCS1,
		    (unsigned char)ref, &sw)) != CS_OK)
			goto gone;
		if (sw != 0x9000 && sw != 0x6984 && sw != 0x6F00) {
			snprintf(why, whylen, "%s: the card does not say whether key "
			    "reference %d holds a key (%04X)", reader, ref, sw);
			r = CS_ERR_CARD;
			goto out;
		}
		held[ref] = sw != 0x6F00;
	}
	/* A key generated into a reference replaces the one there: the
	 * applet clears the old key object and keeps only the new one, which
	 * nobody has a certificate for and whose public half we drop. */
	for (int ref = 0; ref < ISO_KEY_REFS; ref++) {
		size_t rl = sizeof(resp);

		if (!held[ref])
			continue;
		if ((r = mse_set(h, proto, 0x00, ISO_ALG_GEN_RSA2048,
		    (unsigned char)ref, &sw)) != CS_OK)
			goto gone;
		if (sw == 0x9000 && (r = transmit(h, proto, gen_rsa,
		    sizeof(gen_rsa), resp, &rl, &sw)) != CS_OK)
			goto gone;
		/* 7F49 (public key template) holding 81 (256-byte modulus). */
		if (sw != 0x9000 || rl < 9 || resp[0] != 0x7F || resp[1] != 0x49) {
			snprintf(why, whylen, "%s: the card could not overwrite the key "
			    "in reference %d (%04X)", reader, ref, sw);
			r = CS_ERR_CARD;
			goto out;
		}
		(*overwritten)++;
	}
	r = CS_OK;
	goto out;
gone:
	snprintf(why, whylen, "%s: the card stopped answering", reader);
out:
	end_card(h);
	return r;
}

int cs_card_set_puk(SCARDCONTEXT ctx, const char *reader, const char *aid_hex,
    const char *puk, int *was_set, char *why, size_t whylen)
{
	unsigned char apdu[5 + 16] = {0x00, 0x24, 0x01, 0x02, 0x10};
	SCARDHANDLE h;
	DWORD proto;
	unsigned short sw = 0;
	int r;

	*was_set = 0;
	if (strlen(puk) != 16) {
		snprintf(why, whylen, "the PUK must be 16 characters");
		return CS_ERR_USAGE;
	}
	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) != CS_OK)
		return r;
	memcpy(apdu + 5, puk, 16);
	r = simple(h, proto, apdu, sizeof(apdu), &sw);
	OPENSSL_cleanse(apdu, sizeof(apdu));
	end_card(h);
	if (r != CS_OK)
		snprintf(why, whylen, "%s: the card stopped answering", reader);
	else if (sw == 0x6A86)
		*was_set = 1; /* past the state where a PUK can be set */
	else if (sw != 0x9000) {
		snprintf(why, whylen, "%s: the card refused the PUK (%04X)", reader, sw);
		r = sw == 0x6581 ? CS_ERR_CARD : CS_ERR_STATE;
	}
	return r;
}

int cs_card_profile_in(SCARDCONTEXT ctx, const char *reader,
    const cs_profile *all, size_t n, const char *forced, const char *atr,
    cs_profile *out, cs_applet_state *st, char *why, size_t whylen)
{
	for (size_t i = 0; i < n; i++) {
		if (forced != NULL && strcmp(all[i].name, forced) != 0)
			continue;
		if (all[i].match_aid[0] != '\0' && cs_card_applet_state(ctx, reader,
		    all[i].match_aid, st, why, whylen) == CS_OK) {
			*out = all[i];
			return CS_OK;
		}
	}
	if (forced != NULL)
		snprintf(why, whylen, "the card is not a %s card, or there is no "
		    "such profile", forced);
	else
		snprintf(why, whylen, "unknown card model (ATR %s): no card profile "
		    "matches it", atr ? atr : "?");
	return CS_ERR_NOTFOUND;
}

int cs_card_profile(SCARDCONTEXT ctx, const char *reader, const char *dir,
    const char *forced, const char *atr, cs_profile *out, cs_applet_state *st,
    char *why, size_t whylen)
{
	cs_profile *all = NULL;
	size_t n = 0;
	int r;

	if ((r = cs_profile_load_all(dir ? dir : cs_profile_dir(), &all, &n, why,
	    whylen)) != CS_OK)
		return r;
	r = cs_card_profile_in(ctx, reader, all, n, forced, atr, out, st, why,
	    whylen);
	free(all);
	return r;
}
