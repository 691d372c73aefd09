/* sim_fs.h - the applet's ISO 7816-4 file system and its commands. */
#ifndef SIM_FS_H
#define SIM_FS_H

#include "sim.h"

#define SIM_FIND_EF  1
#define SIM_FIND_DF  2
#define SIM_FIND_ANY 3

/* A file from its FCI as CREATE FILE sends it (62/6F template). */
struct sim_file *sim_fs_new(uint16_t fid, int is_df, int transparent,
    const uint8_t *fci, size_t fci_len, size_t data_len);
struct sim_file *sim_fs_new_mf(void);
void sim_fs_free(struct sim_file *f);
int sim_fs_add(struct sim_file *parent, struct sim_file *f);
/* Depth-first search below (and including, for DFs) root. */
struct sim_file *sim_fs_find(struct sim_file *root, uint16_t fid, int flag);

/* Command handlers: fill resp, return SW. */
uint16_t sim_fs_select(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r);
uint16_t sim_fs_read_binary(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r);
uint16_t sim_fs_update_binary(struct sim_card *c, const struct sim_apdu *a);
uint16_t sim_fs_create(struct sim_card *c, const struct sim_apdu *a);
uint16_t sim_fs_delete(struct sim_card *c, const struct sim_apdu *a);

#endif
