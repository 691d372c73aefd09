/* gen_pki.h - the private test CA, a pool of reusable keys, and each
 * person's certificate and PKCS#12. */
#ifndef GEN_PKI_H
#define GEN_PKI_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "gen_people.h"

/* Default and legacy providers (RC2-40 lives in legacy); kept to be
 * unloaded by gen_pki_fini. */
typedef struct gen_providers {
	OSSL_PROVIDER *dflt, *legacy;
} gen_providers;

int gen_pki_init(gen_providers *pv);
void gen_pki_fini(gen_providers *pv);

typedef struct gen_pki {
	EVP_PKEY *ca_key;
	X509 *ca_cert;
	/* RSA-2048 generation costs ~0.1 s per key: a few are made and every
	 * person reuses one, so 20,000 people take seconds. */
	EVP_PKEY **pool;
	unsigned npool;
	/* Other key types (--key-type): two keys each, made on demand by
	 * gen_pki_want (the second for key-mismatch). */
	EVP_PKEY *typed[GEN_KEY_COUNT][2];
	time_t today;       /* midnight UTC: same seed, same day, same dates */
	const char *o;      /* the institution's O */
	const char *foreign_o;
} gen_pki;

int gen_pki_new(gen_pki *k, unsigned npool, const char *o, time_t now);
void gen_pki_free(gen_pki *k);

/* "ec-p256" ... into t; 0 when known. */
int gen_key_parse(const char *name, gen_key *t);
/* What cardstation calls the type: "rsa-2048", "ec-prime256v1", ... */
const char *gen_key_name(gen_key t);
/* Make the keys of type t if not made yet. */
int gen_pki_want(gen_pki *k, gen_key t);

/* The DN column for p, CN first as the service writes it (before breaks
 * that change the column alone). */
void gen_pki_dn(const gen_pki *k, const gen_person *p, char *out, size_t cap);

/* p's certificate and PKCS#12 (DER, malloc'ed) with every break that lives
 * inside the file applied. */
int gen_pki_p12(const gen_pki *k, const gen_person *p, unsigned char **der,
    size_t *len);

int gen_pki_write_ca(const gen_pki *k, const char *path);

#endif
