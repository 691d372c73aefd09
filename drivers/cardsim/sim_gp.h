/* sim_gp.h - a GlobalPlatform card manager (issuer security domain) that
 * answers SELECT and GET DATA, CPLC above all: where a station reads the
 * chip serial. */
#ifndef SIM_GP_H
#define SIM_GP_H

#include "sim.h"

/* Whether aid (5+ bytes, a prefix selects) names this card's manager. */
int sim_gp_is_aid(const struct sim_card *c, const uint8_t *aid, size_t len);
/* The manager's FCI for a SELECT by aid (len 0: the empty SELECT). */
void sim_gp_select(const struct sim_card *c, const uint8_t *aid, size_t len,
    struct sim_resp *r);
uint16_t sim_gp_process(const struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r);
/* The 42-byte CPLC of this card. */
void sim_gp_cplc(const struct sim_card *c, uint8_t out[42]);

#endif
