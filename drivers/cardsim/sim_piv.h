/* sim_piv.h - a PIV applet (NIST SP 800-73-4) with YubiKey 5's extensions
 * (import FE, version FD, serial F8, management key FF, reset FB, PIN
 * tries FA), answering as a YubiKey 5 with firmware 5.2.7 does.
 *
 * A card made with `cardsim --create FILE --serial HEX --applet piv` has
 * this applet instead of the IsoApplet; the runtime (sim_card.c) selects
 * it by the PIV AID. Its persistent state is saved in the card image as
 * `piv-*` lines (docs/cardsim.md). */
#ifndef SIM_PIV_H
#define SIM_PIV_H

#include <stdio.h>

#include "sim.h"

/* The ATR of a YubiKey 5 over USB: OpenSC's PIV driver and libykpiv both
 * know the card by it. */
extern const uint8_t sim_piv_atr[23];

/* A blank (factory state) PIV applet on card c. generic: a JavaCard PIV
 * applet with YubiKey's import but no YubiKey serial (GET SERIAL answers
 * 6D00) and the JavaCard ATR (`--applet piv-generic`). */
int sim_piv_init(struct sim_card *c, int generic);
/* Whether the card shows a YubiKey (its ATR): a PIV card, not generic. */
int sim_piv_is_yubikey(const struct sim_card *c);
void sim_piv_free(struct sim_card *c);
/* Whether aid (len bytes, a prefix of at least 5 bytes) names the applet. */
int sim_piv_is_aid(const uint8_t *aid, size_t len);
void sim_piv_select(struct sim_card *c, struct sim_resp *r);
void sim_piv_deselect(struct sim_card *c);
uint16_t sim_piv_process(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r);
/* Whether ins changes the applet's persistent state (fault injection). */
int sim_piv_is_write(uint8_t ins);
/* Whether the last private-key operation used an EC key (latency). */
int sim_piv_last_ec(const struct sim_card *c);

/* The image's piv-* lines. */
void sim_piv_save(const struct sim_card *c, FILE *f);
/* One piv-* line whose first token is tok; the rest via strtok_r(save). */
int sim_piv_load_line(struct sim_card *c, const char *tok, char **save);

#endif
