/* cs_card.h - what a card says about itself before OpenSC touches it.
 *
 * A few APDUs over PC/SC, in a shared connection that leaves the card as it
 * was: the ATR, the chip serial from the GlobalPlatform CPLC (GET DATA 9F7F
 * on the card manager) and which applets answer SELECT. The card profile is
 * chosen from this, and the journal binds the chip serial to the
 * certificate. */
#ifndef CS_CARD_H
#define CS_CARD_H

#include <stddef.h>

#include <PCSC/winscard.h>

#include "cs_profile.h"

typedef struct cs_card_id {
	char atr[2 * 33 + 1];      /* hex */
	char chip_serial[32];      /* "FFFF-TTTT-SSSSSSSS" from CPLC, or "" */
	char cplc[2 * 42 + 1];     /* the whole CPLC, hex, for the journal */
} cs_card_id;

/* Connect shared, read ATR and CPLC, disconnect leaving the card powered. */
int cs_card_probe(SCARDCONTEXT ctx, const char *reader, cs_card_id *out,
    char *why, size_t whylen);

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
	int has_pkcs15;  /* the PKCS#15 application DF 5015 exists */
} cs_applet_state;

int cs_card_applet_state(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, cs_applet_state *st, char *why, size_t whylen);
/* Delete the PKCS#15 application (DF 5015) and EF DIR (2F00) so that the
 * card is blank for pkcs15-init again. Allowed while no PIN is set, or
 * after pin verified it. */
int cs_card_erase_pkcs15(SCARDCONTEXT ctx, const char *reader,
    const char *aid_hex, const char *pin, char *why, size_t whylen);
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

#endif
