/* sim_pin.c - PIN and PUK, with a persistent try counter. */
#include "sim_pin.h"

#include <string.h>

#include <openssl/crypto.h>

void sim_pin_update(struct sim_pin *p, const uint8_t *v, size_t len,
    int max_tries)
{
	OPENSSL_cleanse(p->value, sizeof(p->value));
	memcpy(p->value, v, len);
	p->len = len;
	p->set = 1;
	p->max_tries = max_tries;
	p->tries = max_tries;
	p->validated = 0;
}

int sim_pin_check(struct sim_pin *p, const uint8_t *v, size_t len)
{
	p->validated = 0;
	if (!p->set || p->tries == 0)
		return 0;
	p->tries--;
	if (len != p->len || CRYPTO_memcmp(v, p->value, len) != 0)
		return 0;
	p->tries = p->max_tries;
	p->validated = 1;
	return 1;
}

void sim_pin_reset(struct sim_pin *p)
{
	p->validated = 0;
}
