/* cs_desk.h - the service desk: a card reported lost, a card handed back,
 * a PIN forgotten.
 *
 * The command line (`cardstation card lost|returned|pin-reset`) and the
 * kiosk's desk screen are front ends of these calls; the rules live only
 * here.
 *
 *   cs_desk_find_card   the card the operator names: printed number, chip
 *                       serial, part of a holder's name, or the card an
 *                       issuance is live on
 *   cs_desk_lost        the UPKI revocation request (cs_revoke.h) for
 *                       every certificate live on the card, then in one
 *                       journal transaction issuances and records
 *                       'revoked' and the card 'lost'
 *   cs_desk_returned    the card in a reader: PIN reset with the
 *                       institution PUK, its keys overwritten, PKCS#15
 *                       application erased, card 'returned'; a certificate
 *                       still live gets its revocation request or the
 *                       operator's word that it is revoked already
 *   cs_desk_pin_reset   a holder's new PIN, set with the PUK on a card the
 *                       journal has issued to them; key and certificate
 *                       stay
 *
 * The caller opens the journal and names who acts (cs_journal_set_actor).
 * A failure is told in m (cs_codes.h): a code "desk.*" of cs_codes.c
 * with its parameters, the advice when there is one, and the other
 * part's words (the journal's, the card's, OpenSC's) as its detail; each
 * front end renders it in its operator's language. Nothing is printed
 * here. */
#ifndef CS_DESK_H
#define CS_DESK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <PCSC/winscard.h>

#include "cs_codes.h"
#include "cs_journal.h"
#include "cs_p12.h"
#include "cs_secret.h"

/* More live certificates than this on one card is not a card we wrote. */
#define CS_DESK_MAX_LIVE 16

/* One live certificate on a card, with what the operator needs to see. */
typedef struct cs_desk_cert {
	int64_t iss_id, record_id, card_id;
	char cert_serial[CS_SERIAL_SIZE], holder[128], mail[128];
	char chip[32], printed[64];  /* "-" when the journal has none */
	int writing;                 /* a run is writing it right now */
} cs_desk_cert;

typedef struct cs_desk_certs {
	cs_desk_cert c[CS_DESK_MAX_LIVE];
	size_t n;
	int truncated;               /* there were more than CS_DESK_MAX_LIVE */
} cs_desk_certs;

/* Exactly one of the four names the card. */
typedef struct cs_desk_sel {
	const char *printed;         /* printed card number */
	const char *chip;            /* chip serial, hex */
	const char *holder;          /* part of the holder's name */
	int64_t issuance;            /* the card this issuance is live on */
} cs_desk_sel;

/* The card's journal id in *card_id.
 *   CS_ERR_USAGE     not exactly one name in sel
 *   CS_ERR_NOTFOUND  no such card, no live certificate of such a holder,
 *                    or the issuance is not live (m says which)
 *   CS_ERR_MISMATCH  the holder fits several cards: *several (may be NULL)
 *                    lists their live certificates so the operator can
 *                    name one by chip or printed number */
int cs_desk_find_card(cs_journal *j, const cs_desk_sel *sel, int64_t *card_id,
    cs_desk_certs *several, cs_msg *m);

/* Every certificate live on a card, oldest first. */
int cs_desk_live_certs(cs_journal *j, int64_t card_id, cs_desk_certs *out);

typedef struct cs_desk_lost_opts {
	int reason;                  /* revocation reason code (cs_revoke.h) */
	const char *comment;         /* NULL or ""; required for reason 0 */
	const char *admin_mail;      /* column 10 of the request */
	/* Where the request goes, before the journal changes. With out_path
	 * it is written and synced as out_path.tmp and renamed only after the
	 * journal committed, so a file on disk always matches the journal.
	 * With out_fp it is written and flushed; a later journal failure can
	 * no longer take it back (m's advice then says not to send it). Neither:
	 * only *req (below). */
	const char *out_path;
	FILE *out_fp;
	int dry_run;                 /* write the request, leave the journal */
} cs_desk_lost_opts;

/* Mark card_id lost. done (may be NULL) gets the certificates in the
 * request; *req / *reqlen (req may be NULL) the request's bytes (CP932,
 * CRLF), malloc'd, also on a dry run. Every row is checked before any byte
 * is written, so a holder CP932 cannot spell changes nothing.
 *   CS_ERR_NOTFOUND  no certificate is live on the card
 *   CS_ERR_STATE     a run is still writing one of them
 *   CS_ERR_LIMIT     more than CS_DESK_MAX_LIVE
 *   CS_ERR_FORMAT    a row the service would not take (m names it)
 *   CS_ERR_IO, CS_ERR_DB, ...  writing or journaling failed; m says
 *                    what is left behind */
int cs_desk_lost(cs_journal *j, int64_t card_id, const cs_desk_lost_opts *o,
    cs_desk_certs *done, char **req, size_t *reqlen, cs_msg *m);

/* What becomes of a certificate the journal still has live on a card
 * that comes back. */
typedef enum cs_desk_live_rule {
	CS_DESK_LIVE_REFUSE,     /* nothing is done; m names them */
	CS_DESK_LIVE_REQUEST,    /* its UPKI revocation request (request) */
	CS_DESK_LIVE_REVOKED     /* the operator says it is revoked already */
} cs_desk_live_rule;

/* A card handed back is usually a holder who left or moved. */
#define CS_DESK_RETURN_DEFAULT_REASON 3   /* affiliationChanged */

typedef struct cs_desk_return_opts {
	const char *reader;          /* PC/SC name of the reader holding it */
	const char *profiles_dir;    /* NULL: cs_profile_dir() */
	const cs_secret *puk;        /* the institution PUK */
	const cs_secret *new_pin;    /* NULL: a random one nobody is told */
	cs_desk_live_rule live;
	/* For CS_DESK_LIVE_REQUEST: reason, comment, admin_mail and where the
	 * request goes (out_path, out_fp or neither), as for a lost card;
	 * dry_run is not taken: a card is wiped or it is not. */
	cs_desk_lost_opts request;
} cs_desk_return_opts;

typedef struct cs_desk_return {
	char chip_serial[32];        /* "" if the card offers none */
	char profile[32];
	size_t wiped;                /* live issuances turned 'wiped' */
	int keys;                    /* key references overwritten */
	int puk_tries;               /* the PUK was refused (CS_ERR_CARD): the
	                                tries the card has left, 0 blocked;
	                                else -1 */
	/* The certificates that were live: 'revoked' with a request line
	 * each (live = REQUEST), else 'wiped'. */
	cs_desk_certs ended;
	char *req;                   /* the request's bytes (CP932, CRLF),
	                                malloc'd: free() it; NULL if none */
	size_t reqlen;
} cs_desk_return;

/* Wipe the card in o->reader and journal it 'returned' (a card the
 * journal never saw becomes a row). The journal must be open for writing
 * before the card is touched: a wipe nobody can trace is worse than none.
 * In order: the journal's live certificates on the card are read and,
 * with live = REQUEST, their request built (and written to out_path.tmp)
 * before any APDU that changes the card; then the PIN is reset with the
 * PUK, every private key on the applet is overwritten by a fresh one
 * generated on the card, the PKCS#15 application erased; then the
 * request goes to out_fp, the journal marks each certificate ('revoked'
 * and its record revoked, or 'wiped' when revoked already) and the card
 * 'returned' with a note saying which, and out_path gets its name.
 *   CS_ERR_NOTFOUND  not a card this station writes, or it does not answer
 *   CS_ERR_USAGE     no PUK, new_pin breaks the profile's PIN rules, or a
 *                    request without admin mail or a known reason
 *   CS_ERR_STATE     a certificate is live and live = REFUSE, or a run is
 *                    writing to the card; nothing changed
 *   CS_ERR_FORMAT    a request row the service would not take
 *   CS_ERR_CARD      the PUK was refused (nothing changed) or a later
 *                    step failed (m says what is left on the card)
 *   CS_ERR_MISMATCH  another card is in the reader now than the one
 *                    judged (the exec'd writer re-identifies it); nothing
 *                    written
 *   CS_ERR_DB, ...   the card is wiped but the journal refused */
int cs_desk_returned(SCARDCONTEXT ctx, cs_journal *j,
    const cs_desk_return_opts *o, cs_desk_return *res, cs_msg *m);

typedef struct cs_desk_pin_opts {
	const char *reader;          /* PC/SC name of the reader holding it */
	const char *profiles_dir;    /* NULL: cs_profile_dir() */
	const cs_secret *puk;        /* the institution PUK */
	const cs_secret *new_pin;    /* typed by the holder; NULL: random */
} cs_desk_pin_opts;

typedef struct cs_desk_pin {
	char chip_serial[32];
	char profile[32];
	char holder[128];            /* the journal's holder of the card */
	char printed[64];            /* "" when the journal has none */
	int puk_tries;               /* after a wrong PUK: tries left, else -1 */
	cs_secret *random_pin;       /* new_pin NULL: the PIN for the letter,
	                                show it once, then cs_secret_free */
} cs_desk_pin;

/* A holder forgot the PIN (or blocked it): set a new one with the PUK.
 * Key and certificate stay. Before any APDU that changes the card the
 * card must be one the journal knows, in state 'issued', holding exactly
 * the certificates the journal has live on it (all of one holder), so
 * that no PIN is ever reset onto another holder's key; a lost, returned
 * or foreign card is refused untouched. The journal gets a note on the
 * card (operator from cs_journal_set_actor); a wrong PUK is noted too.
 *   CS_ERR_NOTFOUND  no card, not a card this station writes, or one the
 *                    journal does not know
 *   CS_ERR_STATE     lost, returned, not issued, or its certificates are
 *                    not the journal's for this card (m says which)
 *   CS_ERR_USAGE     no PUK, or new_pin breaks the profile's PIN rules
 *   CS_ERR_CARD      the PUK was refused: res->puk_tries says how many
 *                    tries the card has left; the PIN is unchanged
 *   CS_ERR_MISMATCH  another card is in the reader now; nothing written
 *   CS_ERR_DB        the journal could not be read (nothing changed), or
 *                    the PIN was reset but the note failed (m says) */
int cs_desk_pin_reset(SCARDCONTEXT ctx, cs_journal *j,
    const cs_desk_pin_opts *o, cs_desk_pin *res, cs_msg *m);

#endif
