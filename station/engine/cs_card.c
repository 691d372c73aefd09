/* cs_card.c - ATR, GlobalPlatform CPLC and applet probing over PC/SC. */
#include "cs_card.h"
#include "cs_err.h"
#include "cs_i18n.h"
#include "cs_piv.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* Card manager (issuer security domain) AIDs cards answer to: the
 * GlobalPlatform one, Open Platform's short and long ones (Visa), the one
 * of Gemplus/Gemalto cards. A card whose manager has yet another AID is
 * reached by what is selected after reset or by an empty SELECT. */
static const char *const ISD_AIDS[] = {"A000000151000000", "A0000000030000",
    "A000000003000000", "A000000018434D00"};

/* The assigned identity: the marker byte, then 7 random ones. A TokenInfo
 * serial of 16 hex digits that starts with it is a station's. */
#define ASSIGNED_MARK "CA"

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
static int xtransmit(cs_card_xfer_fn xfer, void *ctx, const unsigned char *apdu,
    size_t len, unsigned char *resp, size_t *resplen, unsigned short *sw)
{
	unsigned char cmd[5 + 255 + 1];
	size_t got = 0;

	if (len > sizeof(cmd) || len < 4)
		return CS_ERR_USAGE;
	memcpy(cmd, apdu, len);
	for (int round = 0; round < 8; round++) {
		unsigned char buf[258];
		size_t rl = sizeof(buf);

		if (xfer(ctx, cmd, len, buf, &rl) != CS_OK || rl < 2 ||
		    rl > sizeof(buf))
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
		} else if ((*sw >> 8) == 0x6C && len + 1 <= sizeof(cmd)) {
			/* Wrong Le: the same command with the Le the card
			 * names; a command that had none (case 1 or 3) gets
			 * one. */
			if (len == 4 || (len > 5 && len == 5 + (size_t)cmd[4]))
				len++;
			cmd[len - 1] = (unsigned char)*sw;
		} else {
			*resplen = got;
			return CS_OK;
		}
	}
	return CS_ERR_CARD;
}

struct pcsc_link {
	SCARDHANDLE h;
	DWORD proto;
};

static int pcsc_xfer(void *ctx, const unsigned char *cmd, size_t len,
    unsigned char *resp, size_t *resplen)
{
	const struct pcsc_link *l = ctx;
	const SCARD_IO_REQUEST *pci = l->proto == SCARD_PROTOCOL_T0 ?
	    SCARD_PCI_T0 : SCARD_PCI_T1;
	DWORD rl = (DWORD)*resplen;

	if (SCardTransmit(l->h, pci, cmd, (DWORD)len, NULL, resp, &rl) !=
	    SCARD_S_SUCCESS)
		return CS_ERR_CARD;
	*resplen = rl;
	return CS_OK;
}

static int transmit(SCARDHANDLE h, DWORD proto, const unsigned char *apdu,
    size_t len, unsigned char *resp, size_t *resplen, unsigned short *sw)
{
	struct pcsc_link l = {h, proto};

	return xtransmit(pcsc_xfer, &l, apdu, len, resp, resplen, sw);
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
		snprintf(why, whylen, _("%s: cannot connect to the card: %s"), reader,
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
		snprintf(why, whylen, _("%s: the card is held by another process"), reader);
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

/* ---- the CPLC probe ---- */

/* Status words of the probe, as ISO 7816-4 and GlobalPlatform give them. */
#define SW_OK              0x9000
#define SW_CARD_LOCKED     0x6283 /* SELECT of the ISD of a locked card */
#define SW_SECURITY        0x6982 /* GET DATA: a secure channel first */
#define SW_CONDITIONS      0x6985 /* GET DATA: not in this state */
#define SW_REF_NOT_FOUND   0x6A88 /* GET DATA: the card has no such data */
#define SW_CLA_UNSUPPORTED 0x6E00

/* A GET DATA 9F7F answer that holds a CPLC with a serial: tag 9F7F, a
 * length of at least 42, then the data. A CPLC whose fabricator, type and
 * serial are all 00 or all FF identifies nothing. */
static int cplc_take(const unsigned char *r, size_t rl, cs_card_id *out)
{
	unsigned char ids[8];
	int zero = 1, ff = 1;

	if (rl < 45 || r[0] != 0x9F || r[1] != 0x7F || r[2] < 42 ||
	    (size_t)r[2] + 3 > rl)
		return 0;
	memcpy(ids, r + 3, 4);
	memcpy(ids + 4, r + 3 + 12, 4);
	for (size_t i = 0; i < sizeof(ids); i++) {
		zero &= ids[i] == 0x00;
		ff &= ids[i] == 0xFF;
	}
	if (zero || ff)
		return 0;
	cs_card_cplc_serial(r + 3, out->chip_serial, sizeof(out->chip_serial));
	cs_hex_encode(r + 3, 42, out->cplc, sizeof(out->cplc));
	out->source = CS_CARD_ID_CPLC;
	return 1;
}

/* GET DATA 9F7F of what is selected: 1 a CPLC, 0 none, <0 a cs_err. The
 * GlobalPlatform class (80) first; a card that knows no such class (6E00)
 * is asked once more in the interindustry one. A card manager's refusal
 * (locked: 6982 or 6985; no CPLC: 6A88) is kept in out->cplc_sw. */
static int get_cplc(cs_card_xfer_fn xfer, void *ctx, cs_card_id *out)
{
	unsigned char apdu[] = {0x80, 0xCA, 0x9F, 0x7F, 0x00};
	unsigned char resp[258];
	unsigned short sw = 0;
	size_t rl;
	int r;

	for (int k = 0; k < 2; k++) {
		rl = sizeof(resp);
		if ((r = xtransmit(xfer, ctx, apdu, sizeof(apdu), resp, &rl, &sw)) !=
		    CS_OK)
			return r == CS_ERR_LIMIT ? 0 : r;
		if (sw != SW_CLA_UNSUPPORTED)
			break;
		apdu[0] = 0x00;
	}
	if (sw == SW_OK && cplc_take(resp, rl, out))
		return 1;
	if (sw == SW_SECURITY || sw == SW_CONDITIONS || sw == SW_REF_NOT_FOUND ||
	    sw == SW_OK)
		out->cplc_sw = sw;
	return 0;
}

/* SELECT by AID (hex; "" is the empty SELECT): 1 something was selected,
 * 0 not, <0 a cs_err. 6283 is GlobalPlatform's "selected, but the card is
 * locked". 6A82 (not found), 6999 (selection failed), 6A81, 6D00, 6E00 or
 * 6986 (a runtime or applet that does not take the command) are "not". */
static int select_by_aid(cs_card_xfer_fn xfer, void *ctx, const char *aid_hex)
{
	unsigned char apdu[5 + 16 + 1] = {0x00, 0xA4, 0x04, 0x00};
	unsigned char resp[258];
	unsigned short sw = 0;
	size_t aidlen = 0, len, rl = sizeof(resp);
	int r;

	if (cs_hex_decode(aid_hex, apdu + 5, 16, &aidlen) != CS_OK ||
	    (aidlen > 0 && aidlen < 5))
		return CS_ERR_USAGE;
	if (aidlen == 0) {
		apdu[4] = 0x00;      /* no AID, Le: the default (the ISD) */
		len = 5;
	} else {
		apdu[4] = (unsigned char)aidlen;
		apdu[5 + aidlen] = 0x00;
		len = 5 + aidlen + 1;
	}
	if ((r = xtransmit(xfer, ctx, apdu, len, resp, &rl, &sw)) != CS_OK)
		return r == CS_ERR_LIMIT ? 0 : r;
	return sw == SW_OK || sw == SW_CARD_LOCKED;
}

int cs_card_probe_cplc(cs_card_xfer_fn xfer, void *ctx, cs_card_id *out)
{
	int r;

	out->chip_serial[0] = '\0';
	out->cplc[0] = '\0';
	out->source = CS_CARD_ID_NONE;
	out->cplc_sw = 0;
	/* 1. What is selected: after a reset, the card's default applet,
	 * on most JavaCards the card manager, whatever its AID. */
	if ((r = get_cplc(xfer, ctx, out)) != 0)
		return r < 0 ? r : CS_OK;
	out->cplc_sw = 0;   /* whoever answered was not known to be a manager */
	/* 2. The usual card manager AIDs. A manager that was found and
	 * refuses (locked) or has no CPLC will not give it by another name. */
	for (size_t i = 0; i < sizeof(ISD_AIDS) / sizeof(ISD_AIDS[0]); i++) {
		if ((r = select_by_aid(xfer, ctx, ISD_AIDS[i])) < 0)
			return r;
		if (r == 0)
			continue;
		return (r = get_cplc(xfer, ctx, out)) < 0 ? r : CS_OK;
	}
	/* 3. The empty SELECT: GlobalPlatform selects the issuer security
	 * domain, whatever its AID. */
	if ((r = select_by_aid(xfer, ctx, "")) < 0)
		return r;
	if (r == 1 && (r = get_cplc(xfer, ctx, out)) < 0)
		return r;
	return CS_OK;
}

int cs_card_probe(SCARDCONTEXT ctx, const char *reader, cs_card_id *out,
    char *why, size_t whylen)
{
	SCARDHANDLE h;
	DWORD proto, state, atrlen = 33, namelen = 0;
	unsigned char atr[33];
	struct pcsc_link l;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = begin_card(ctx, reader, &h, &proto, why, whylen)) != CS_OK)
		return r;
	if (SCardStatus(h, NULL, &namelen, &state, &proto, atr, &atrlen) ==
	    SCARD_S_SUCCESS)
		cs_hex_encode(atr, atrlen, out->atr, sizeof(out->atr));
	l.h = h;
	l.proto = proto;
	r = cs_card_probe_cplc(pcsc_xfer, &l, out);
	end_card(h);
	if (r != CS_OK) {
		snprintf(why, whylen, _("%s: the card stopped answering"), reader);
		return CS_ERR_CARD;
	}
	return CS_OK;
}

void cs_card_no_cplc_why(const cs_card_id *id, char *out, size_t outlen)
{
	switch (id->cplc_sw) {
	case 0:
		snprintf(out, outlen, "no card manager answers");
		break;
	case SW_SECURITY:
	case SW_CONDITIONS:
		snprintf(out, outlen, "the card manager is locked: it refuses its "
		    "CPLC (%04X)", id->cplc_sw);
		break;
	default:
		snprintf(out, outlen, "the card manager has no CPLC with a serial "
		    "(%04X)", id->cplc_sw);
		break;
	}
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
		snprintf(why, whylen, _("%s: the applet %s does not answer"), reader,
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
	static const unsigned char sel_odf[] = {0x00, 0xA4, 0x08, 0x0C, 0x04,
	    0x50, 0x15, 0x50, 0x31};
	SCARDHANDLE h;
	DWORD proto;
	unsigned short sw = 0;
	int r;

	/* A PIV card's PIN is reference 80, its state its own (cs_piv.h). */
	if (cs_piv_is_aid(aid_hex))
		return cs_piv_applet_state(ctx, reader, st, why, whylen);
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
		st->p15_df = sw == 0x9000 || (sw >> 8) == 0x61;
	/* An application OpenSC can bind has its ODF; a DF 5015 without one
	 * only keeps an assigned identity (cs_card_keep_identity). */
	if (r == CS_OK && st->p15_df &&
	    (r = simple(h, proto, sel_odf, sizeof(sel_odf), &sw)) == CS_OK)
		st->has_pkcs15 = sw == 0x9000 || (sw >> 8) == 0x61;
	end_card(h);
	if (r != CS_OK)
		snprintf(why, whylen, _("%s: the card stopped answering"), reader);
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

	/* PIV has no PKCS#15 files: its wipe is cs_piv_wipe. */
	if (cs_piv_is_aid(aid_hex))
		return CS_OK;
	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) != CS_OK)
		return r;
	if (pin != NULL && ((r = verify_pin(h, proto, pin, &sw)) != CS_OK ||
	    sw != 0x9000)) {
		snprintf(why, whylen, _("%s: the card refused the PIN (%04X)"), reader, sw);
		end_card(h);
		return r != CS_OK ? r : CS_ERR_CARD;
	}
	/* 6A82: already gone, which is what we want. */
	if ((r = simple(h, proto, del_app, sizeof(del_app), &sw)) == CS_OK &&
	    sw != 0x9000 && sw != 0x6A82) {
		snprintf(why, whylen, _("%s: the card refused to delete its PKCS#15 "
		    "application (%04X)"), reader, sw);
		r = CS_ERR_CARD;
	}
	if (r == CS_OK && (r = simple(h, proto, del_dir, sizeof(del_dir), &sw)) ==
	    CS_OK && sw != 0x9000 && sw != 0x6A82) {
		snprintf(why, whylen, _("%s: the card refused to delete EF DIR (%04X)"),
		    reader, sw);
		r = CS_ERR_CARD;
	}
	end_card(h);
	return r;
}

int cs_card_tokeninfo_encode(const char *identity, unsigned char *out,
    size_t cap, size_t *len)
{
	/* TokenInfo ::= SEQUENCE { version INTEGER 0, serialNumber OCTET
	 * STRING, tokenflags BIT STRING (none set) } (PKCS#15 v1.1, 6.9). */
	unsigned char serial[16];
	char hex[2 * sizeof(serial) + 1];
	size_t sl, n = 0;

	cs_card_token_serial(identity, hex, sizeof(hex));
	if (!cs_card_assigned_from_token(hex, NULL, 0) ||
	    cs_hex_decode(hex, serial, sizeof(serial), &sl) != CS_OK ||
	    cap < 2 + 3 + 2 + sl + 3)
		return CS_ERR_USAGE;
	out[n++] = 0x30;
	out[n++] = (unsigned char)(3 + 2 + sl + 3);
	out[n++] = 0x02; out[n++] = 0x01; out[n++] = 0x00;
	out[n++] = 0x04; out[n++] = (unsigned char)sl;
	memcpy(out + n, serial, sl);
	n += sl;
	out[n++] = 0x03; out[n++] = 0x01; out[n++] = 0x00;
	*len = n;
	return CS_OK;
}

int cs_card_keep_identity(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *pin, const char *identity, char *why,
    size_t whylen)
{
	/* CREATE FILE (ISO 7816-9) with an FCI the IsoApplet takes: 81 size,
	 * 82 descriptor (38 DF, 01 transparent EF), 83 file ID, 86 its ACL
	 * (an access mode byte FF, then the conditions of DELETE, TERMINATE,
	 * ACTIVATE, DEACTIVATE, WRITE, UPDATE, READ: 00 always, 90 the
	 * PIN). */
	static const unsigned char mk_df[] = {0x00, 0xE0, 0x00, 0x00, 0x17,
	    0x6F, 0x15, 0x81, 0x02, 0x01, 0x00, 0x82, 0x01, 0x38, 0x83, 0x02,
	    0x50, 0x15, 0x86, 0x08, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x00};
	unsigned char mk_ef[] = {0x00, 0xE0, 0x00, 0x00, 0x17,
	    0x6F, 0x15, 0x81, 0x02, 0x00, 0x00, 0x82, 0x01, 0x01, 0x83, 0x02,
	    0x50, 0x32, 0x86, 0x08, 0xFF, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
	    0x00};
	unsigned char upd[5 + 32] = {0x00, 0xD6, 0x00, 0x00};
	size_t tl;
	SCARDHANDLE h;
	DWORD proto;
	unsigned short sw = 0;
	int r;

	/* A PIV card keeps its identity elsewhere (cs_piv.c). */
	if (cs_piv_is_aid(aid_hex))
		return CS_OK;
	if (cs_card_tokeninfo_encode(identity, upd + 5, sizeof(upd) - 5, &tl) !=
	    CS_OK) {
		snprintf(why, whylen, _("%s is not an identity a station assigned"),
		    identity);
		return CS_ERR_USAGE;
	}
	upd[4] = (unsigned char)tl;
	mk_ef[10] = (unsigned char)tl;
	/* Without a PIN nothing can be protected by it: all free. */
	if (pin == NULL)
		memset(mk_ef + 21, 0x00, 6);
	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) !=
	    CS_OK)
		return r;
	if (pin != NULL && ((r = verify_pin(h, proto, pin, &sw)) != CS_OK ||
	    sw != 0x9000)) {
		snprintf(why, whylen, _("%s: the card refused the PIN (%04X)"),
		    reader, sw);
		end_card(h);
		return r != CS_OK ? r : CS_ERR_CARD;
	}
	/* Each command leaves the file it made selected: the EF goes into
	 * the new DF, the update into the new EF. */
	if ((r = simple(h, proto, mk_df, sizeof(mk_df), &sw)) == CS_OK &&
	    sw == 0x9000 &&
	    (r = simple(h, proto, mk_ef, sizeof(mk_ef), &sw)) == CS_OK &&
	    sw == 0x9000)
		r = simple(h, proto, upd, 5 + tl, &sw);
	end_card(h);
	if (r != CS_OK) {
		snprintf(why, whylen, _("%s: the card stopped answering"), reader);
		return r;
	}
	if (sw != 0x9000) {
		snprintf(why, whylen, _("%s: the card refused to keep its identity "
		    "%s in a new TokenInfo (%04X)"), reader, identity, sw);
		return CS_ERR_CARD;
	}
	return CS_OK;
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
	if (cs_piv_is_aid(aid_hex))
		return cs_piv_reset_pin(ctx, reader, puk, new_pin, puk_tries, why,
		    whylen);
	if (pl != 16 || nl > 16) {
		snprintf(why, whylen, _("the PUK must be 16 characters"));
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
		snprintf(why, whylen, _("%s: the card stopped answering"), reader);
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
			snprintf(why, whylen, _("%s: the card refused the PUK (%04X): "
			    "wrong PUK, and the PUK is now blocked"), reader, sw);
		else
			snprintf(why, whylen, _("%s: the card refused the PUK (%04X): "
			    "wrong PUK, %d %s left"), reader, sw, sw & 0x0F,
			    (sw & 0x0F) == 1 ? "try" : "tries");
	} else {
		snprintf(why, whylen, _("%s: the card refused the PUK (%04X)"),
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
	/* PIV: PIN and PUK blocked, then RESET: no key left at all. */
	if (cs_piv_is_aid(aid_hex))
		return cs_piv_wipe(ctx, reader, pin, overwritten, why, whylen);
	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) != CS_OK)
		return r;
	if ((r = verify_pin(h, proto, pin, &sw)) != CS_OK || sw != 0x9000) {
		snprintf(why, whylen, _("%s: the card refused the PIN (%04X)"), reader, sw);
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
			snprintf(why, whylen, _("%s: the card does not say whether key "
			    "reference %d holds a key (%04X)"), reader, ref, sw);
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
			snprintf(why, whylen, _("%s: the card could not overwrite the key "
			    "in reference %d (%04X)"), reader, ref, sw);
			r = CS_ERR_CARD;
			goto out;
		}
		(*overwritten)++;
	}
	r = CS_OK;
	goto out;
gone:
	snprintf(why, whylen, _("%s: the card stopped answering"), reader);
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
		snprintf(why, whylen, _("the PUK must be 16 characters"));
		return CS_ERR_USAGE;
	}
	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) != CS_OK)
		return r;
	memcpy(apdu + 5, puk, 16);
	r = simple(h, proto, apdu, sizeof(apdu), &sw);
	OPENSSL_cleanse(apdu, sizeof(apdu));
	end_card(h);
	if (r != CS_OK)
		snprintf(why, whylen, _("%s: the card stopped answering"), reader);
	else if (sw == 0x6A86)
		*was_set = 1; /* past the state where a PUK can be set */
	else if (sw != 0x9000) {
		snprintf(why, whylen, _("%s: the card refused the PUK (%04X)"), reader, sw);
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
		/* A PIV card's state is its own (cs_card_applet_state hands
		 * the PIV AID to cs_piv_applet_state). */
		if (all[i].match_aid[0] != '\0' &&
		    cs_card_applet_state(ctx, reader, all[i].match_aid, st, why,
		    whylen) == CS_OK) {
			*out = all[i];
			return CS_OK;
		}
	}
	if (forced != NULL)
		snprintf(why, whylen, _("the card is not a %s card, or there is no "
		    "such profile"), forced);
	else
		snprintf(why, whylen, _("unknown card model (ATR %s): no card profile "
		    "matches it"), atr ? atr : "?");
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

/* ---- identity ---- */

void cs_card_token_serial(const char *identity, char *out, size_t outlen)
{
	size_t k = 0;

	for (const char *c = identity; *c != '\0' && k + 1 < outlen; c++)
		if (isxdigit((unsigned char)*c))
			out[k++] = (char)toupper((unsigned char)*c);
	if (outlen > 0)
		out[k] = '\0';
}

int cs_card_assigned_from_token(const char *serial, char *out, size_t outlen)
{
	size_t n = strlen(serial);

	if (n != 16 || strncasecmp(serial, ASSIGNED_MARK, 2) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)serial[i]))
			return 0;
	if (out != NULL) {
		char u[17];

		for (size_t i = 0; i < n; i++)
			u[i] = (char)toupper((unsigned char)serial[i]);
		u[n] = '\0';
		/* CA-XXXXXX-XXXXXXXX: never the CPLC's 4-4-8 shape. */
		snprintf(out, outlen, "%.2s-%.6s-%.8s", u, u + 2, u + 8);
	}
	return 1;
}

int cs_card_assign_identity(cs_card_id *id)
{
	unsigned char rnd[7];
	char hex[2 * sizeof(rnd) + 1], serial[17];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return CS_ERR_CRYPTO;
	cs_hex_encode(rnd, sizeof(rnd), hex, sizeof(hex));
	snprintf(serial, sizeof(serial), "%s%s", ASSIGNED_MARK, hex);
	cs_card_assigned_from_token(serial, id->chip_serial,
	    sizeof(id->chip_serial));
	id->source = CS_CARD_ID_ASSIGNED;
	id->assigned_now = 1;
	return CS_OK;
}

/* One DER tag and length at *p (end at e): the value's length in *len,
 * *p moved to the value. 0 on a malformed or too long encoding. */
static int der_next(const unsigned char **p, const unsigned char *e,
    unsigned char *tag, size_t *len)
{
	const unsigned char *q = *p;
	size_t n;

	if (e - q < 2)
		return 0;
	*tag = *q++;
	n = *q++;
	if (n & 0x80) {
		size_t k = n & 0x7F;

		if (k == 0 || k > 2 || (size_t)(e - q) < k)
			return 0;
		for (n = 0; k > 0; k--)
			n = n << 8 | *q++;
	}
	if ((size_t)(e - q) < n)
		return 0;
	*p = q;
	*len = n;
	return 1;
}

int cs_card_tokeninfo_serial(const unsigned char *der, size_t len, char *out,
    size_t outlen)
{
	/* TokenInfo ::= SEQUENCE { version INTEGER, serialNumber OCTET
	 * STRING, ... } (PKCS#15 v1.1, section 6.9). */
	const unsigned char *p = der, *e = der + len;
	unsigned char tag;
	size_t n;

	if (!der_next(&p, e, &tag, &n) || tag != 0x30)
		return CS_ERR_FORMAT;
	e = p + n;
	if (!der_next(&p, e, &tag, &n) || tag != 0x02)
		return CS_ERR_FORMAT;
	p += n;
	if (!der_next(&p, e, &tag, &n) || tag != 0x04 || n == 0 ||
	    2 * n + 1 > outlen)
		return CS_ERR_FORMAT;
	cs_hex_encode(p, n, out, outlen);
	return CS_OK;
}

/* The size of an EF from its FCP (62: 80 or 81 file size), or 0. */
static size_t fcp_size(const unsigned char *r, size_t rl)
{
	const unsigned char *p = r, *e = r + rl;
	unsigned char tag;
	size_t n;

	if (!der_next(&p, e, &tag, &n) || tag != 0x62)
		return 0;
	e = p + n;
	while (p < e && der_next(&p, e, &tag, &n)) {
		if ((tag == 0x80 || tag == 0x81) && n >= 1 && n <= 2)
			return n == 1 ? p[0] : (size_t)(p[0] << 8 | p[1]);
		p += n;
	}
	return 0;
}

/* The EF fid of the DF selected now, read whole into buf (at most cap
 * bytes, *got of them): SELECT (its FCP names the size) and READ BINARY.
 * CS_OK with *got 0 when the card has no such file or refuses to read it;
 * an error only when the card stopped answering. */
static int read_ef(SCARDHANDLE h, DWORD proto, unsigned fid,
    unsigned char *buf, size_t cap, size_t *got)
{
	unsigned char sel[] = {0x00, 0xA4, 0x02, 0x00, 0x02,
	    (unsigned char)(fid >> 8), (unsigned char)fid, 0x00};
	unsigned char resp[258];
	size_t rl = sizeof(resp), size;
	unsigned short sw = 0;
	int r;

	*got = 0;
	if ((r = transmit(h, proto, sel, sizeof(sel), resp, &rl, &sw)) !=
	    CS_OK || sw != 0x9000)
		return r;
	/* The FCP names the size; without it, one READ BINARY of what is
	 * there (6282: the file ended before Le, the data is good). */
	size = fcp_size(resp, rl);
	if (size > cap)
		size = cap;
	do {
		unsigned char rb[5] = {0x00, 0xB0, (unsigned char)(*got >> 8),
		    (unsigned char)*got, 0x00};
		size_t want = size == 0 ? 256 : size - *got;

		if (want > 256)
			want = 256;
		rb[4] = (unsigned char)(want & 0xFF);
		rl = sizeof(resp);
		if ((r = transmit(h, proto, rb, sizeof(rb), resp, &rl, &sw)) !=
		    CS_OK)
			return r;
		if ((sw != 0x9000 && sw != 0x6282) || rl == 0 ||
		    *got + rl > cap)
			break;
		memcpy(buf + *got, resp, rl);
		*got += rl;
	} while (size != 0 && *got < size && sw == 0x9000);
	return CS_OK;
}

static const unsigned char sel_p15[] = {0x00, 0xA4, 0x00, 0x00, 0x02, 0x50,
    0x15};

/* The PKCS#15 TokenInfo (EF 5032 in DF 5015) of the applet, its serial
 * as hex in out ("" when the card has none). Only SELECT and READ BINARY:
 * TokenInfo is readable by anyone, as OpenSC reads it before a login. */
static int read_token_serial(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, char *out, size_t outlen, char *why, size_t whylen)
{
	unsigned char ti[1024];
	size_t got = 0;
	SCARDHANDLE h;
	DWORD proto;
	unsigned short sw = 0;
	int r;

	out[0] = '\0';
	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) !=
	    CS_OK)
		return r;
	if ((r = simple(h, proto, sel_p15, sizeof(sel_p15), &sw)) != CS_OK ||
	    (sw != 0x9000 && (sw >> 8) != 0x61))
		goto out;
	if ((r = read_ef(h, proto, 0x5032, ti, sizeof(ti), &got)) == CS_OK &&
	    got > 0 && cs_card_tokeninfo_serial(ti, got, out, outlen) != CS_OK)
		out[0] = '\0';
out:
	end_card(h);
	if (r != CS_OK)
		snprintf(why, whylen, _("%s: the card stopped answering"), reader);
	return r;
}

/* The ODF's entries (PKCS#15 v1.1, 6.2: a [n] PKCS15Objects choice
 * holding a Path) whose tag is in want: the file ID each names, at most
 * max of them. */
static size_t odf_files(const unsigned char *odf, size_t len,
    const unsigned char *want, size_t nwant, unsigned *fids, size_t max)
{
	const unsigned char *p = odf, *e = odf + len;
	unsigned char tag;
	size_t n, count = 0;

	/* The file is zero-padded after its last entry. */
	while (p < e && *p != 0x00 && der_next(&p, e, &tag, &n)) {
		const unsigned char *q = p, *qe = p + n;
		unsigned char t;
		size_t m;

		p += n;
		if (memchr(want, tag, nwant) == NULL || count == max)
			continue;
		/* Path ::= SEQUENCE { path OCTET STRING, ... } */
		if (!der_next(&q, qe, &t, &m) || t != 0x30)
			continue;
		qe = q + m;
		if (!der_next(&q, qe, &t, &m) || t != 0x04 || m < 2)
			continue;
		fids[count++] = (unsigned)(q[m - 2] << 8 | q[m - 1]);
	}
	return count;
}

int cs_card_drop_object_dfs(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *pin, int *dropped, char *why,
    size_t whylen)
{
	/* PrKDF, PuKDF, CDF: the directories of what a re-issue replaces.
	 * AODF (the PIN), TokenInfo and ODF stay. */
	static const unsigned char kinds[] = {0xA0, 0xA1, 0xA4};
	unsigned char odf[512];
	unsigned fids[8];
	size_t got = 0, n;
	SCARDHANDLE h;
	DWORD proto;
	unsigned short sw = 0;
	int r, refused = 0;

	*dropped = 0;
	if (cs_piv_is_aid(aid_hex))
		return CS_OK;
	if ((r = open_applet(ctx, reader, aid_hex, &h, &proto, why, whylen)) !=
	    CS_OK)
		return r;
	if ((r = verify_pin(h, proto, pin, &sw)) != CS_OK || sw != 0x9000) {
		snprintf(why, whylen, _("%s: the card refused the PIN (%04X)"),
		    reader, sw);
		end_card(h);
		return r != CS_OK ? r : CS_ERR_CARD;
	}
	if ((r = simple(h, proto, sel_p15, sizeof(sel_p15), &sw)) != CS_OK ||
	    (sw != 0x9000 && (sw >> 8) != 0x61) ||
	    (r = read_ef(h, proto, 0x5031, odf, sizeof(odf), &got)) != CS_OK)
		goto out;
	n = odf_files(odf, got, kinds, sizeof(kinds), fids,
	    sizeof(fids) / sizeof(fids[0]));
	for (size_t i = 0; i < n && r == CS_OK; i++) {
		/* ISO 7816-9 DELETE FILE by file ID (P1P2 0000), as the
		 * IsoApplet takes it; its ACL asks for the PIN verified above.
		 * 6A82: not there, which is what we want. */
		unsigned char del[] = {0x00, 0xE4, 0x00, 0x00, 0x02,
		    (unsigned char)(fids[i] >> 8), (unsigned char)fids[i]};

		if ((r = simple(h, proto, del, sizeof(del), &sw)) != CS_OK)
			break;
		if (sw == 0x9000)
			(*dropped)++;
		else if (sw != 0x6A82) {
			snprintf(why, whylen, _("%s: the card refused to delete "
			    "file %04X (%04X)"), reader, fids[i], sw);
			r = CS_ERR_CARD;
			refused = 1;
		}
	}
out:
	end_card(h);
	if (r != CS_OK && !refused)
		snprintf(why, whylen, _("%s: the card stopped answering"), reader);
	return r;
}

int cs_card_identity(SCARDCONTEXT ctx, const char *reader,
    const cs_profile *p, const cs_applet_state *st, cs_card_id *id,
    int *may_assign, char *why, size_t whylen)
{
	const cs_profile_idsrc *src;
	unsigned n;
	char cplc_id[sizeof(id->chip_serial)], tok[2 * 64 + 1];
	int r;

	if (may_assign != NULL)
		*may_assign = 0;
	/* A PIV card: its YubiKey serial, else a station's identity in its
	 * CHUID, before the CPLC (cs_piv.h). */
	if (cs_piv_is_profile(p)) {
		cs_card_id piv = *id;

		piv.chip_serial[0] = '\0';
		piv.source = CS_CARD_ID_NONE;
		if ((r = cs_piv_identity(ctx, reader, &piv, why, whylen)) != CS_OK)
			return r;
		if (piv.chip_serial[0] != '\0') {
			snprintf(id->chip_serial, sizeof(id->chip_serial), "%s",
			    piv.chip_serial);
			id->source = piv.source;
			id->assigned_now = 0;
			return CS_OK;
		}
	}
	/* The probe read the CPLC; the profile says whether it counts. */
	snprintf(cplc_id, sizeof(cplc_id), "%s", id->source ==
	    CS_CARD_ID_CPLC ? id->chip_serial : "");
	id->chip_serial[0] = '\0';
	id->source = CS_CARD_ID_NONE;
	id->assigned_now = 0;
	src = cs_profile_identity(p, &n);
	for (unsigned i = 0; i < n; i++) {
		if (src[i] == CS_PROFILE_ID_CPLC && cplc_id[0] != '\0') {
			snprintf(id->chip_serial, sizeof(id->chip_serial), "%s",
			    cplc_id);
			id->source = CS_CARD_ID_CPLC;
			return CS_OK;
		}
		if (src[i] != CS_PROFILE_ID_ASSIGNED || !st->p15_df ||
		    p->match_aid[0] == '\0')
			continue;
		if ((r = read_token_serial(ctx, reader, p->match_aid, tok,
		    sizeof(tok), why, whylen)) != CS_OK)
			return r;
		if (cs_card_assigned_from_token(tok, id->chip_serial,
		    sizeof(id->chip_serial))) {
			id->source = CS_CARD_ID_ASSIGNED;
			return CS_OK;
		}
	}
	if (may_assign != NULL)
		*may_assign = cs_profile_has_identity(p, CS_PROFILE_ID_ASSIGNED);
	return CS_OK;
}
