/* sim_key.h - the card's private keys and what it does with them. */
#ifndef SIM_KEY_H
#define SIM_KEY_H

#include "sim.h"

void sim_key_clear(struct sim_key *k);
/* RSA-2048, e = 65537; n_out gets 256 bytes, e_out 3. */
int sim_key_gen_rsa(struct sim_key *k, uint8_t *n_out, uint8_t *e_out);
/* EC over the given prime curve (parts p a b G n h of k already set);
 * w_out gets the uncompressed public point. */
int sim_key_gen_ec(struct sim_key *k, uint8_t *w_out, size_t *w_len);
/* Raw RSA private-key operation (CRT), 256 bytes in and out. */
int sim_key_rsa_private(const struct sim_key *k, const uint8_t *in,
    uint8_t *out);
/* ECDSA over SHA-1 of msg, DER signature. */
int sim_key_ecdsa_sha1(const struct sim_key *k, const uint8_t *msg,
    size_t len, uint8_t *sig, size_t *sig_len);
/* Field length in bytes of an EC key's prime. */
size_t sim_key_ec_field_bytes(const struct sim_key *k);

#endif
