/* sim_card.h - the JavaCard runtime: power, reset, applet selection and
 * routing of APDUs to the selected applet. */
#ifndef SIM_CARD_H
#define SIM_CARD_H

#include "sim.h"

/* A blank card: applet installed, nothing personalised. */
int sim_card_init_blank(struct sim_card *c, const uint8_t *serial);
void sim_card_free(struct sim_card *c);
/* Power-on or warm reset: the default applet (card manager) is selected,
 * all transient state is lost. */
void sim_card_reset(struct sim_card *c);
/* One command APDU in, response (data + SW) out. */
void sim_card_apdu(struct sim_card *c, const uint8_t *cmd, size_t len,
    struct sim_resp *r);
/* Parse a short APDU; returns 0 or -1 (not a valid short APDU). */
int sim_apdu_parse(const uint8_t *cmd, size_t len, struct sim_apdu *a);

#endif
