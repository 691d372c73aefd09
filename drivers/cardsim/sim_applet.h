/* sim_applet.h - the IsoApplet (API 0.6) as OpenSC 0.23's isoApplet
 * driver and pkcs15init speak to it. */
#ifndef SIM_APPLET_H
#define SIM_APPLET_H

#include "sim.h"

extern const uint8_t sim_applet_aid[12];

/* JavaCard select()/deselect(): what the runtime calls around SELECT. */
void sim_applet_select(struct sim_card *c, struct sim_resp *r);
void sim_applet_deselect(struct sim_card *c);
/* process() for every other command while the applet is selected. */
uint16_t sim_applet_process(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r);
/* Whether ins changes the card's persistent state (for fault injection). */
int sim_applet_is_write(uint8_t ins);

#endif
