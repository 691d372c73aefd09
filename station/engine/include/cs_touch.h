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
 * not dumpable, secure heap) and ends after the one card. */
#ifndef CS_TOUCH_H
#define CS_TOUCH_H

#include <stddef.h>
#include <time.h>

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

/* `cardstation __desk`: the child's side. The exit status is 0 when a
 * report was sent. */
int cs_touch_main(void);

#endif
