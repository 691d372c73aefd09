/* cs_p12.h - a person's PKCS#12: decrypt in memory and check it.
 *
 * The service does not say how it encrypts, so both legacy (3DES, RC2-40,
 * through OpenSSL's legacy provider) and PBES2/AES are accepted. The key
 * lives in OpenSSL's secure heap (cs_secret_process_init) and is freed with
 * cs_p12_free as soon as its card is written. */
#ifndef CS_P12_H
#define CS_P12_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
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
	char key_type[24];    /* rsa-<bits>, ec-<curve> or other (cs_key_type) */
} cs_p12_info;

/* Bounded work per file. A PKCS#12 names its own key-derivation costs, so
 * cs_p12_open prices every derivation (MAC, each encrypted authsafe, each
 * shrouded key bag) from the DER before running any, and refuses with
 * CS_PROBLEM_P12_TOO_COSTLY a parameter over its cap or a file whose
 * derivations add up to more than CS_P12_MAX_WORK. UPKI and OpenSSL write
 * 2048 iterations; the caps sit far above anything an issuer writes, and a
 * file at the budget costs about one second of CPU. Work units are about one
 * hash compression (see cs_p12_cost.c). */
#define CS_P12_MAX_ITER 1000000u        /* MAC, PBES1, PKCS#12 PBE, PBKDF2 */
/* scrypt: no PKCS#12 writer uses it by default; `openssl pkcs8 -scrypt`
 * writes N 2^14, r 8, p 1 (N*r*p 2^17, 16 MiB, 0.1 s). Memory is OpenSSL's
 * own ceiling (it refuses more); N*r*p allows 4x its default. */
#define CS_P12_MAX_SCRYPT_N (1u << 20)
#define CS_P12_MAX_SCRYPT_R 32u
#define CS_P12_MAX_SCRYPT_P 16u
#define CS_P12_MAX_SCRYPT_MEM (32u << 20)  /* bytes, as 128*r*(N+2+p) */
#define CS_P12_MAX_SCRYPT_WORK (1u << 19)  /* N*r*p */
#define CS_P12_MAX_WORK 10000000u          /* units per file */
#define CS_P12_WORK_FIXED 1000u            /* units per derivation, setup */

typedef struct cs_p12_work {
	uint64_t units;          /* charged so far */
	unsigned derivations;
} cs_p12_work;

/* Charge the MAC's derivation, or one encryption's (an authsafe's or a
 * shrouded key bag's AlgorithmIdentifier; what names it for why). Returns
 * CS_PROBLEM_P12_TOO_COSTLY (a cap or the budget), CS_PROBLEM_P12_UNREADABLE
 * (parameters or algorithm OpenSSL could not use either) or NONE. */
cs_problem cs_p12_price_mac(cs_p12_work *w, const PKCS12 *p12, char *why,
    size_t whylen);
cs_problem cs_p12_price_alg(cs_p12_work *w, const X509_ALGOR *alg,
    const char *what, char *why, size_t whylen);

/* Decrypt and parse, within the work bound above. CS_PROBLEM_WRONG_PIN when
 * the PIN does not open it. */
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
 * way UPKI writes 主体者DN. For the operator's eyes: compare with
 * cs_dn_matches, never by this string. */
int cs_dn_render(const X509_NAME *name, char *out, size_t outlen);
/* Whether 主体者DN dn names exactly the entries of name, in CN-first order.
 * A value holding text that reads as another attribute (",OU=") never
 * matches: the unescaped string could be read two ways. On false, why (may
 * be NULL) says what differs. */
bool cs_dn_matches(const X509_NAME *name, const char *dn, char *why,
    size_t whylen);
/* What kind of key a card must hold: "rsa-2048", "ec-prime256v1" (OpenSSL's
 * curve name), or "other" (RSA-PSS, EdDSA, explicit curves, ...). */
void cs_key_type(const EVP_PKEY *key, char *out, size_t outlen);

#endif
