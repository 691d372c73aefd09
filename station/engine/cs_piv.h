/* cs_piv.h - the PIV card family (issue 14): PIV cards and tokens written
 * through YubiKey's key import, with Yubico's libykpiv.
 *
 * A profile is a PIV profile when its OpenSC driver is OpenSC's PIV driver
 * (`opensc.driver = PIV-II`, cardprofiles/piv.conf): the card is chosen by
 * the PIV AID answering SELECT, written and checked here (cs_piv_write),
 * read through OpenSC's PIV driver by verify.
 *
 * libykpiv works on a PC/SC card handle the station opens itself
 * (ykpiv_connect_with_external_card), by the reader's exact name: the same
 * PC/SC model as the rest of the station, no reader matched by substring.
 *
 * The card's identity, first that answers:
 *   "YK-12345678"         the YubiKey serial (GET SERIAL, F8), decimal;
 *   "CA-XXXXXX-XXXXXXXX"  an identity a station assigned and wrote into
 *                         the CHUID's GUID (its last 8 bytes), so that
 *                         OpenSC reports it as the token's serial number;
 *   the CPLC, as for every card (cs_card_identity).
 *
 * Management key (9B): a factory card has the published default; the
 * station replaces it by a per-card 3DES key derived from the institution
 * PUK and the card's identity (HMAC-SHA256, docs/piv.md), so the office
 * recovers any card's key from the PUK it already keeps and the identity
 * the journal holds, and no key is stored anywhere. */
#ifndef CS_PIV_H
#define CS_PIV_H

#include <stddef.h>

#include <PCSC/winscard.h>

#include "cs_card.h"
#include "cs_profile.h"
#include "cs_token.h"

/* Whether p is a PIV profile (written here, not by pkcs15-init). */
int cs_piv_is_profile(const cs_profile *p);

/* The card's state in the terms the encode path judges cards by: pin_set
 * and has_pkcs15 (both the same for PIV) when the card is not in its
 * factory state (its management key is not the default, or slot 9A holds
 * a certificate). pin_tries: the PIN's tries left (VERIFY without data). */
int cs_piv_applet_state(SCARDCONTEXT ctx, const char *reader,
    cs_applet_state *st, char *why, size_t whylen);

/* The YubiKey serial, else a station's identity from the CHUID, into id
 * (chip_serial "" when neither: the CPLC and assignment come next). */
int cs_piv_identity(SCARDCONTEXT ctx, const char *reader, cs_card_id *id,
    char *why, size_t whylen);

/* Write a CHUID (GUID carrying identity when it is an assigned one: read
 * back before anything else is written) and a CCC, a->key into slot 9A
 * and a->cert into its certificate object, the PUK (a->puk, from the
 * default on a factory card) and the PIN (a->pin, set with the PUK), and
 * the card's derived management key. A card that is not in its factory
 * state is rewritten when its management key is the one derived from
 * a->puk and identity (a->rekey: the probe found it so, that key is tried
 * first). a->puk is required.
 * With res, then check the card in the same session, as cs_token_check
 * does through OpenSC for other cards: the certificate read back byte for
 * byte (cert_matches), the PIN and a signature over a fresh challenge
 * verified with the certificate's key (signature_ok); pkcs15_serial is the
 * token serial OpenSC's PIV driver reports (the GUID's last 8 bytes,
 * lower-case hex).
 * OpenSC's PIV driver is left to verify and the handover: its binding of
 * a PIV card costs some 27 APDUs (discovery object at every lock, key
 * history, every certificate object) and proves nothing of the write that
 * the check does not (tests/bench/piv). */
int cs_piv_write(SCARDCONTEXT ctx, const cs_token_write_args *a,
    const char *identity, cs_token_check_result *res, char *why,
    size_t whylen);

/* Whether aid_hex (a profile's match.aid) is the PIV application's: the
 * card functions of cs_card.h that take an AID hand such a card to the
 * three below, and cs_card_applet_state to cs_piv_applet_state. */
int cs_piv_is_aid(const char *aid_hex);
/* RESET RETRY COUNTER with the PUK: a new PIN. On a wrong PUK, *puk_tries
 * (may be NULL) gets the tries left (0: blocked), else -1. */
int cs_piv_reset_pin(SCARDCONTEXT ctx, const char *reader, const char *puk,
    const char *new_pin, int *puk_tries, char *why, size_t whylen);
/* Leave no usable key: block the PIN (pin: the PIN it has now, so that the
 * values tried are surely wrong) and the PUK, then RESET (INS FB): keys,
 * certificates and objects gone, PIN, PUK and management key back to the
 * factory defaults. *wiped: 1 when the card was reset. */
int cs_piv_wipe(SCARDCONTEXT ctx, const char *reader, const char *pin,
    int *wiped, char *why, size_t whylen);

/* The management key of the card with this identity under this
 * institution PUK: 24 bytes into key. */
int cs_piv_mgm_key(const char *puk, const char *identity,
    unsigned char key[24]);

#endif
