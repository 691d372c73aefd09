/* sim_blob.c - owned byte strings; key parts are wiped when freed. */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

int sim_blob_set(struct sim_blob *b, const uint8_t *v, size_t len)
{
	uint8_t *p = NULL;

	if (len > 0) {
		if ((p = malloc(len)) == NULL)
			return SIM_ERR_NOMEM;
		if (v != NULL)
			memcpy(p, v, len);
		else
			memset(p, 0, len);
	}
	sim_blob_free(b);
	b->v = p;
	b->len = len;
	return SIM_OK;
}

void sim_blob_free(struct sim_blob *b)
{
	if (b->v != NULL) {
		OPENSSL_cleanse(b->v, b->len);
		free(b->v);
	}
	b->v = NULL;
	b->len = 0;
}
