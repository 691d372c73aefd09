/* gen_rand.c - splitmix64: tiny, fast and the same everywhere. */
#include "gen_rand.h"

void gen_rand_seed(gen_rand *r, uint64_t seed)
{
	r->s = seed ^ 0x6a09e667f3bcc909ULL;
}

uint64_t gen_rand_u64(gen_rand *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint32_t gen_rand_below(gen_rand *r, uint32_t n)
{
	/* Rejection keeps the choice uniform; the bias would be tiny, but a
	 * test-data generator should not need an argument about it. */
	uint64_t lim = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;

	do
		x = gen_rand_u64(r);
	while (x >= lim);
	return (uint32_t)(x % n);
}

void gen_rand_alnum(gen_rand *r, char *buf, size_t len)
{
	static const char set[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	for (size_t i = 0; i < len; i++)
		buf[i] = set[gen_rand_below(r, sizeof(set) - 1)];
	buf[len] = '\0';
}
