/* sim_pin.h - JavaCard OwnerPIN semantics for the PIN and the PUK. */
#ifndef SIM_PIN_H
#define SIM_PIN_H

#include "sim.h"

/* Set value (len bytes) and unblock: tries back to max. */
void sim_pin_update(struct sim_pin *p, const uint8_t *v, size_t len,
    int max_tries);
/* Compare len bytes; a try is spent before comparing, a match restores
 * all tries and validates. A blocked PIN never matches. */
int sim_pin_check(struct sim_pin *p, const uint8_t *v, size_t len);
void sim_pin_reset(struct sim_pin *p);

#endif
