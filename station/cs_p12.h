/* cs_p12.h - a person's PKCS#12: decrypt in memory and check it.
 *
 * The service does not say how it encrypts, so both legacy (3DES, RC2-40,
 * through OpenSSL's legacy provider) and PBES2/AES are accepted. The key
 * lives in OpenSSL's secure heap (cs_secret_process_init) and is freed with
 * cs_p12_free as soon as its card is written. */
#ifndef CS_P12_H
#define CS_P12_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "cs_problem.h"

/* Certificate serials. RFC 5280 lets a CA use up to 20 octets; the DER
 * INTEGER is positive, so its top bit is clear: 2^159 - 1 is the largest
 * (48 decimal digits). 0 is let through: no conforming CA uses it, but
 * RFC 5280 asks users to cope with such serials, and the certificate must
 * still carry the index's serial. */
#define CS_SERIAL_MAX "730750818665451459101842416358141509827966271487"
#define CS_SERIAL_DIGITS 48
#define CS_SERIAL_SIZE (CS_SERIAL_DIGITS + 1) /* a buffer for one, with NUL */

/* The OpenSSL providers PKCS#12 needs: default and legacy (3DES, RC2). */
typedef struct cs_p12_providers {
	OSSL_PROVIDER *deflt, *legacy;
} cs_p12_providers;

int cs_p12_init(cs_p12_providers *pv);
void cs_p12_fini(cs_p12_providers *pv);

typedef struct cs_p12 {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain; /* CA certificates in the file, may be empty */
} cs_p12;

/* What the index and PIN file say the P12 must hold. */
typedef struct cs_p12_expect {
	const char *serial;      /* canonical decimal, from the index */
	const char *file_serial; /* canonical decimal, from the file name */
	const char *dn;          /* 主体者DN as written in the index */
	const char *mail;        /* 利用者mail */
	const char *institution; /* required O value, or NULL: not checked */
	time_t now;
} cs_p12_expect;

/* Facts for the operator, filled as far as the file could be read. */
typedef struct cs_p12_info {
	char serial[CS_SERIAL_SIZE]; /* decimal */
	char profile[16];     /* client, client+smime, smime, unknown */
	char not_before[24];  /* YYYY-MM-DD HH:MM:SSZ */
	char not_after[24];
	char subject[512];    /* rendered as the index writes DNs */
} cs_p12_info;

/* Decrypt and parse. CS_PROBLEM_WRONG_PIN when the PIN does not open it. */
cs_problem cs_p12_open(const unsigned char *der, size_t len, const char *pin,
    cs_p12 **out, char *why, size_t whylen);
/* Every check of DESIGN.md's file facts; the first failure is returned. */
cs_problem cs_p12_check(const cs_p12 *p, const cs_p12_expect *e,
    cs_p12_info *info, char *why, size_t whylen);
void cs_p12_free(cs_p12 *p);

/* Helpers shared with the index reading and verify. */
/* Canonical decimal (no sign, no leading zeros) of a decimal string of at
 * most CS_SERIAL_MAX; CS_OK or CS_ERR_FORMAT. */
int cs_serial_canon(const char *in, char *out, size_t outlen);
int cs_serial_of_cert(const X509 *cert, char *out, size_t outlen);
/* Subject rendered CN first, "KEY=value" joined by "," without escaping: the
 * way UPKI writes 主体者DN. */
int cs_dn_render(const X509_NAME *name, char *out, size_t outlen);

#endif
