/* gen_rand.h - a small seeded generator, so that one --seed gives the same
 * names, serials, PINs and orders on every machine (libc's rand() differs
 * between implementations and OpenSSL's RNG cannot be seeded). Not for keys. */
#ifndef GEN_RAND_H
#define GEN_RAND_H

#include <stddef.h>
#include <stdint.h>

typedef struct gen_rand {
	uint64_t s;
} gen_rand;

void gen_rand_seed(gen_rand *r, uint64_t seed);
uint64_t gen_rand_u64(gen_rand *r);
/* Uniform in [0, n), n > 0. */
uint32_t gen_rand_below(gen_rand *r, uint32_t n);
/* Fill buf with len characters from [0-9A-Za-z] and a NUL. */
void gen_rand_alnum(gen_rand *r, char *buf, size_t len);

#endif
