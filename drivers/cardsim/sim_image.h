/* sim_image.h - the card image: a card's persistent state in a file.
 *
 * A small line-based text format (see docs/cardsim.md), written to a
 * temporary file and renamed over the image after each command that
 * changed the card, so a killed cardsim never leaves half an image. */
#ifndef SIM_IMAGE_H
#define SIM_IMAGE_H

#include <stdio.h>

#include "sim.h"

int sim_image_save(const struct sim_card *c, const char *path);
int sim_image_load(struct sim_card *c, const char *path);
/* Parse 1-4 bytes of hex into a left-zero-padded 4-byte serial. */
int sim_image_parse_serial(const char *hex, uint8_t out[SIM_SERIAL_LEN]);

/* The image's hex fields: " " and hex, or " -" for empty; and back. */
void sim_image_put_hex(FILE *f, const uint8_t *v, size_t len);
int sim_image_get_hex(const char *s, struct sim_blob *b);

#endif
