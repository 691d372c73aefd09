/* cs_touch.h - the desk's card touch, in a process of its own.
 *
 * verify, handover, lost/returned/pin-reset and the kiosk's desk read a
 * card through OpenSC's PKCS#11 module, which is loaded into the process
 * and pointed at one reader by its environment (cs_token_env). Neither the
 * command line nor the kiosk (a threaded server) does that itself: each
 * card check is a fresh exec of the station, `cardstation __desk`, which
 * gets the reader, the profiles folder, the time and the holder's PIN on
 * fd 3 (cs_wire's framing, the PIN into locked memory), reads the card
 * (cs_verify_card_touch) and answers the report on fd 4. It hardens
 * itself as every station process does (cs_secret_process_init: no core,
 * not dumpable, secure heap) and ends after the one card.
 *
 * The desk's card writes (a returned card's wipe, a PIN reset) go through
 * the same child: the request's first field names the action (verify,
 * wipe, pin-reset); for a write it carries the reader, the applet's AID,
 * the card the caller identified and the PUK and new PIN (into locked
 * memory in the child). The child checks that the card in the reader is
 * that card, sends the APDUs and answers what it did; the caller keeps
 * every journal step. */
#ifndef CS_TOUCH_H
#define CS_TOUCH_H

#include <stddef.h>
#include <time.h>

#include "cs_secret.h"
#include "cs_verify.h"

#define CS_TOUCH_ARG "__desk"
/* A card check with a login and a signature takes seconds; one that hangs
 * (a reader that stopped answering) is killed. */
#define CS_TOUCH_TIMEOUT_S 120

/* Run the card check of reader in a child and receive its report into r
 * (certificates and their DER included; nothing of the journal or the
 * chain). CS_OK, or an error with why when no report came. */
int cs_touch_card(const char *reader, const char *profiles_dir,
    const char *pin, time_t now, cs_vreport *r, char *why, size_t whylen);

typedef enum cs_touch_action {
	CS_TOUCH_VERIFY = 0,
	CS_TOUCH_WIPE,       /* PIN reset with the PUK, keys overwritten,
	                        PKCS#15 erased (only the erase without a PIN) */
	CS_TOUCH_PIN_RESET   /* PIN reset with the PUK */
} cs_touch_action;

/* Writing to a card: a wipe generates up to 16 keys on the card. */
#define CS_TOUCH_WRITE_TIMEOUT_S 600

typedef struct cs_touch_write {
	cs_touch_action action;      /* CS_TOUCH_WIPE or CS_TOUCH_PIN_RESET */
	const char *reader;
	const char *profiles_dir;    /* NULL: cs_profile_dir() */
	const char *aid_hex;         /* the profile's applet (match_aid) */
	/* The card the caller decided on: its ATR (hex) and its identity by
	 * the profile's sources (cs_card_identity's chip_serial, "" none); a
	 * card that differs is not touched. */
	const char *expect_atr, *expect_chip;
	int pin_set;                 /* wipe: the card has a PIN */
	const cs_secret *puk, *new_pin;
} cs_touch_write;

/* The step an answer's status belongs to. */
enum { CS_TOUCH_STEP_NONE = 0, CS_TOUCH_STEP_PUK, CS_TOUCH_STEP_KEYS,
	CS_TOUCH_STEP_ERASE };

typedef struct cs_touch_answer {
	int status;                  /* CS_OK, or the failing step's error */
	int step;                    /* CS_TOUCH_STEP_NONE: nothing written */
	int puk_tries;               /* a wrong PUK: tries left; else -1 */
	int keys;                    /* key references overwritten */
	char atr[67], chip_serial[32]; /* the card the child saw */
	char why[512];
} cs_touch_answer;

/* Run w in a child. CS_OK with the child's answer in *a (whose status may
 * be an error), or an error with why when no answer came (the card may
 * have been written in part). */
int cs_touch_write_card(const cs_touch_write *w, cs_touch_answer *a,
    char *why, size_t whylen);

/* The write request and its answer as they cross the pipes (fd 3 and 4
 * of the child); the unit tests drive the child with them. */
int cs_touch_write_request(int fd, const cs_touch_write *w);
int cs_touch_read_answer(int fd, cs_touch_answer *a);

/* `cardstation __desk`: the child's side. The exit status is 0 when a
 * report was sent. */
int cs_touch_main(void);

#endif
