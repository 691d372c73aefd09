/* cs_card.h - what a card says about itself before OpenSC touches it.
 *
 * A few APDUs over PC/SC, in a shared connection that leaves the card as it
 * was: the ATR, the chip serial from the GlobalPlatform CPLC (GET DATA 9F7F
 * on the card manager) and which applets answer SELECT. The card profile is
 * chosen from this, and the journal binds the card's identity to the
 * certificate.
 *
 * A card's identity is its chip serial when the chip gives one (CPLC), or
 * one a station assigned and wrote into the card's PKCS#15 TokenInfo
 * serial, as the card profile's `identity` list allows (cs_card_identity).
 * The two forms cannot be mistaken for each other: "FFFF-TTTT-SSSSSSSS"
 * from the CPLC, "CA-XXXXXX-XXXXXXXX" assigned. */
#ifndef CS_CARD_H
#define CS_CARD_H

#include <stddef.h>

#include <PCSC/winscard.h>

#include "cs_profile.h"

/* Where the identity in cs_card_id.chip_serial comes from. */
typedef enum cs_card_idsrc {
	CS_CARD_ID_NONE,     /* none: chip_serial is "" */
	CS_CARD_ID_CPLC,     /* the chip's GlobalPlatform CPLC */
	CS_CARD_ID_ASSIGNED  /* a station's own, kept in the TokenInfo serial */
} cs_card_idsrc;

typedef struct cs_card_id {
	char atr[2 * 33 + 1];      /* hex */
	/* The card's identity: "FFFF-TTTT-SSSSSSSS" from CPLC,
	 * "CA-XXXXXX-XXXXXXXX" assigned by a station, or "". */
	char chip_serial[32];
	char cplc[2 * 42 + 1];     /* the whole CPLC, hex, for the journal */
	cs_card_idsrc source;
	int assigned_now;          /* cs_card_assign_identity made it: the card
	                              does not carry it yet */
	/* Why there is no CPLC: the status word a card manager answered GET
	 * DATA 9F7F with (6982 security status, 6985 conditions of use: a
	 * locked card manager; 6A88 no such data), 0 when no card manager
	 * answered at all. */
	unsigned short cplc_sw;
} cs_card_id;

/* Connect shared, read ATR and CPLC, disconnect leaving the card powered.
 * The CPLC is asked of (1) whatever is selected (after a reset, the
 * card's default applet: usually the card manager), (2) each usual card
 * manager AID, (3) what a SELECT with an empty AID selects (GlobalPlatform:
 * the issuer security domain). A card without one is CS_OK with
 * chip_serial "": the profile says whether it may have another identity. */
int cs_card_probe(SCARDCONTEXT ctx, const char *reader, cs_card_id *out,
    char *why, size_t whylen);

/* One exchange with a card: command in, response data and SW out (*resplen
 * bytes, at most 258). CS_OK, or CS_ERR_CARD when the card stopped
 * answering. The probe runs over this so that its decisions can be tested
 * against a scripted card. */
typedef int (*cs_card_xfer_fn)(void *ctx, const unsigned char *cmd,
    size_t len, unsigned char *resp, size_t *resplen);
/* The probe's APDUs over xfer (61xx and 6Cxx followed): CS_OK (with or
 * without a CPLC in out), or CS_ERR_CARD. */
int cs_card_probe_cplc(cs_card_xfer_fn xfer, void *ctx, cs_card_id *out);

/* Render the chip serial of a 42-byte CPLC. */
void cs_card_cplc_serial(const unsigned char cplc[42], char *out, size_t outlen);

/* hex <-> bytes helpers used by profiles and the journal. */
int cs_hex_decode(const char *hex, unsigned char *out, size_t outcap,
    size_t *outlen);
void cs_hex_encode(const unsigned char *in, size_t len, char *out, size_t outcap);


/* ---- the applet's own state, through ISO 7816-4 commands ----
 * For applets that keep one PIN (reference 1) like IsoApplet: a VERIFY with
 * no data tells whether a PIN is set (63Cx) or not (9000). */
typedef struct cs_applet_state {
	int pin_set;     /* a PIN exists: the card has been personalised */
	int pin_tries;   /* tries left when pin_set, -1 if unknown */
	int has_pkcs15;  /* a PKCS#15 application: DF 5015 with its ODF */
	int p15_df;      /* DF 5015 exists, perhaps holding only the TokenInfo
	                    that keeps an assigned identity through a return
	                    (cs_card_keep_identity) */
} cs_applet_state;

int cs_card_applet_state(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, cs_applet_state *st, char *why, size_t whylen);
/* Delete the PKCS#15 application (DF 5015) and EF DIR (2F00) so that the
 * card is blank for pkcs15-init again. Allowed while no PIN is set, or
 * after pin verified it. */
int cs_card_erase_pkcs15(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *pin, char *why, size_t whylen);
/* After cs_card_erase_pkcs15 on a card whose identity a station assigned
 * (CA-XXXXXX-XXXXXXXX, kept in the TokenInfo serial): create DF 5015 again
 * with only an EF TokenInfo (5032) that holds that serial, so that the
 * card is still found as itself (verify, lost, a later run). No ODF: it
 * is no PKCS#15 application OpenSC binds, and nothing of the holder is
 * on it. With pin (the PIN is set: VERIFY first) only the PIN may change
 * or delete the TokenInfo. */
int cs_card_keep_identity(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *pin, const char *identity, char *why,
    size_t whylen);
/* The TokenInfo that keeps an assigned identity (CA-XXXXXX-XXXXXXXX), DER,
 * in out (*len bytes): what cs_card_tokeninfo_serial reads back.
 * CS_ERR_USAGE for any other identity or too small a buffer. */
int cs_card_tokeninfo_encode(const char *identity, unsigned char *out,
    size_t cap, size_t *len);
/* Set the PUK (CHANGE REFERENCE DATA, reference 2) on a card whose PIN is
 * not set yet. *was_set: the applet had a PUK already (a write that stopped
 * between PUK and PIN); it keeps that one. */
int cs_card_set_puk(SCARDCONTEXT ctx, const char *reader, const char *aid_hex,
    const char *puk, int *was_set, char *why, size_t whylen);
/* RESET RETRY COUNTER with the PUK: unblock and set a new PIN. */
int cs_card_reset_pin(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *puk, const char *new_pin, char *why,
    size_t whylen);
/* The same; on a wrong PUK (63Cx, CS_ERR_CARD) *puk_tries gets the tries
 * the card says are left (0: blocked), else -1. The IsoApplet's PUK has 5
 * tries; only its answer to a wrong one tells how many are left. */
int cs_card_reset_pin_tries(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *puk, const char *new_pin, int *puk_tries,
    char *why, size_t whylen);
/* Before a re-issue writes a new key and certificate over a card's old
 * ones: VERIFY pin, then DELETE FILE each PKCS#15 directory file the ODF
 * names for private keys, public keys and certificates (PrKDF, PuKDF,
 * CDF). pkcs15-init creates such a file sized to its first content and
 * never resizes it, so a longer renewal certificate would not fit; it
 * creates them anew, sized to the new content. The AODF (the PIN),
 * TokenInfo and ODF stay. *dropped counts the files deleted. */
int cs_card_drop_object_dfs(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *pin, int *dropped, char *why,
    size_t whylen);
/* Replace every private key the applet holds (IsoApplet key references
 * 0-15) by a fresh RSA-2048 key generated on the card, after VERIFY with
 * pin: the applet cannot delete a key, but GENERATE ASYMMETRIC KEY PAIR
 * into a reference clears the key that was there. Nobody learns the new
 * keys' public halves. *overwritten counts the references. A card that
 * cannot generate (or stops answering) is CS_ERR_CARD and may keep old
 * keys in the references not yet done. */
int cs_card_overwrite_keys(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *pin, int *overwritten, char *why,
    size_t whylen);

/* Which card profile the card in reader is: the first of dir's profiles
 * (or the one named forced) whose applet answers SELECT, with the applet's
 * state read in the same transaction. CS_ERR_NOTFOUND when none fits; why
 * says so in the operator's words. */
int cs_card_profile(SCARDCONTEXT ctx, const char *reader, const char *dir,
    const char *forced, const char *atr, cs_profile *out, cs_applet_state *st,
    char *why, size_t whylen);
/* The same among profiles already loaded (an encode worker reads its
 * profiles once, not for every card). */
int cs_card_profile_in(SCARDCONTEXT ctx, const char *reader,
    const cs_profile *all, size_t n, const char *forced, const char *atr,
    cs_profile *out, cs_applet_state *st, char *why, size_t whylen);

/* ---- identity ---- */

/* The card's identity by the profile's identity sources, after
 * cs_card_probe and cs_card_profile (st: the applet state read then): the
 * first source in order that gives one (cplc: the probe's CPLC; assigned:
 * a station's identity in the PKCS#15 TokenInfo serial, read with a few
 * APDUs). *may_assign (may be NULL): none was found and the profile lets
 * the station assign one (cs_card_assign_identity). CS_OK also when none
 * was found; an error only when the card stopped answering. */
int cs_card_identity(SCARDCONTEXT ctx, const char *reader,
    const cs_profile *p, const cs_applet_state *st, cs_card_id *id,
    int *may_assign, char *why, size_t whylen);
/* A fresh random identity (OpenSSL RAND_bytes: 56 bits) in the assigned
 * form, into id (source ASSIGNED, assigned_now set). */
int cs_card_assign_identity(cs_card_id *id);
/* The PKCS#15 TokenInfo serial (hex digits) that carries an identity:
 * "CA-1B2C3D-4E5F6A7B" -> "CA1B2C3D4E5F6A7B". */
void cs_card_token_serial(const char *identity, char *out, size_t outlen);
/* Whether a TokenInfo serial (hex, any case) is in the assigned form; if
 * so and out is not NULL, its identity. 1 yes, 0 no. */
int cs_card_assigned_from_token(const char *serial, char *out, size_t outlen);
/* The serialNumber of a DER PKCS#15 TokenInfo, as uppercase hex. */
int cs_card_tokeninfo_serial(const unsigned char *der, size_t len, char *out,
    size_t outlen);
/* A sentence on why the probe found no CPLC ("the card manager refuses
 * its CPLC (6982)", "no card manager answers"). */
void cs_card_no_cplc_why(const cs_card_id *id, char *out, size_t outlen);

#endif
