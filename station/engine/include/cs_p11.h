/* cs_p11.h - OpenSC's PKCS#11 module in-process, for reading and testing
 * the one card of a reader.
 *
 * The module is opensc-pkcs11.so (CARDSTATION_PKCS11 names another path).
 * The caller first gives OpenSC its configuration and its one-reader view
 * (cs_token_env), so the first slot holding a token is the card in that
 * reader. A cs_p11 is one C_Initialize .. C_Finalize: open it per card, so
 * OpenSC binds each card afresh and never answers from an old card.
 *
 * Used by the encode check (cs_token_check) and by `cardstation verify`. */
#ifndef CS_P11_H
#define CS_P11_H

#include <stddef.h>

#include <openssl/evp.h>

typedef struct cs_p11 cs_p11;

typedef struct cs_p11_token {
	char serial[40];       /* TokenInfo serial (the PKCS#15 serial) */
	char label[40];
	char model[20];
	int pin_count_low;     /* the PIN was mistyped since the last login */
	int pin_final_try;
	int pin_locked;
} cs_p11_token;

/* A certificate object: its PKCS#15 ID, label and DER value. */
typedef struct cs_p11_cert {
	unsigned char id[64];
	size_t idlen;
	char label[128];
	unsigned char *der;
	size_t derlen;
} cs_p11_cert;

/* Mechanisms the token offers, as they matter for a report of uses. */
typedef struct cs_p11_mechs {
	int rsa_pkcs;          /* PKCS#1 v1.5: TLS 1.2 client auth, S/MIME */
	int rsa_pss;           /* RSA-PSS: what TLS 1.3 requires of RSA keys */
	int ecdsa;
	int rsa_decrypt;       /* RSA PKCS#1 v1.5 decryption: S/MIME reading */
} cs_p11_mechs;

/* Load the module, start it and open a session on the first slot with a
 * token; ti (may be NULL) gets the token's facts. CS_ERR_NOTFOUND when
 * the module is missing, CS_ERR_CARD when OpenSC sees no token. */
int cs_p11_open(cs_p11 **out, cs_p11_token *ti, char *why, size_t whylen);
/* Logs out, closes, finalises and unloads; NULL is fine. */
void cs_p11_close(cs_p11 *m);

/* Every certificate object on the token, in the token's order. */
int cs_p11_certs(cs_p11 *m, cs_p11_cert **out, size_t *n, char *why,
    size_t whylen);
void cs_p11_certs_free(cs_p11_cert *c, size_t n);
/* The one certificate with this ID; CS_ERR_NOTFOUND if none. Clear out
 * with cs_p11_certs_free(out, 1) (it is not freed itself). */
int cs_p11_cert_by_id(cs_p11 *m, const unsigned char *id, size_t idlen,
    cs_p11_cert *out);
/* Whether a private key object with this ID exists. OpenSC shows private
 * objects only after a login: before it, present is 0 for every key. */
int cs_p11_has_key(cs_p11 *m, const unsigned char *id, size_t idlen,
    int *present);
/* The same for a public key object (visible without a login). */
int cs_p11_has_pubkey(cs_p11 *m, const unsigned char *id, size_t idlen,
    int *present);
int cs_p11_mechanisms(cs_p11 *m, cs_p11_mechs *out);

/* Log the user in. CS_ERR_CRYPTO: wrong PIN; CS_ERR_STATE: PIN blocked;
 * CS_ERR_CARD: anything else. why says which. */
int cs_p11_login(cs_p11 *m, const char *pin, char *why, size_t whylen);

/* Have the private key with this ID sign a fresh random challenge and
 * verify the signature with pub (the certificate's key): the proof that
 * the card holds the certificate's key and that it works. mech gets the
 * mechanism's name. Needs cs_p11_login first. CS_OK: verified;
 * CS_ERR_MISMATCH: the card signed, the certificate's key disagrees;
 * CS_ERR_NOTFOUND: no such key; CS_ERR_CARD: the card did not sign. */
int cs_p11_prove_key(cs_p11 *m, const unsigned char *id, size_t idlen,
    EVP_PKEY *pub, char *mech, size_t mechlen, char *why, size_t whylen);

#endif
