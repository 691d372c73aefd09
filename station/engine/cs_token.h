/* cs_token.h - writing and checking a card through OpenSC.
 *
 * Measured choice (see docs/design-notes.md): the write is one pkcs15-init
 * run per card that creates the PKCS#15 application, sets PIN and PUK and
 * stores key and certificate, so OpenSC binds the card once; secrets reach
 * it only through its environment (env:) and a pipe, never argv or disk.
 * The check is done in-process through opensc-pkcs11.so: read the
 * certificate back, log in and sign a fresh challenge.
 *
 * Each encode worker serves one reader and calls cs_token_env() once: it
 * gives OpenSC (tool and module alike) a configuration in memory that
 * allows only the profile's card driver and shows only that reader. */
#ifndef CS_TOKEN_H
#define CS_TOKEN_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cs_profile.h"
#include "cs_secret.h"

/* How long one pkcs15-init run may take before it is stopped: a card is
 * written in seconds (about 100 APDUs at up to 200 ms each); a hung card or
 * reader must not hang its worker for ever. */
#define CS_TOKEN_TIMEOUT_S 120

/* Set OPENSC_CONF and CARDSTATION_READER for this process and its children.
 * Call it for every card: the configuration is made once per driver, the
 * reader is set each time. */
int cs_token_env(const cs_profile *p, const char *reader, char *why,
    size_t whylen);

typedef struct cs_token_write_args {
	const char *reader;
	const cs_profile *profile;
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;  /* stored only if the profile says ca_chain */
	const char *pin;        /* the card PIN to set */
	const char *puk;        /* the card PUK to set, NULL: already set */
	const char *serial;     /* PKCS#15 TokenInfo serial (hex), or NULL */
	int rekey;              /* card already has PKCS#15 and its PIN: replace
	                           key and certificate only */
} cs_token_write_args;

int cs_token_write(const cs_token_write_args *a, char *why, size_t whylen);

/* pkcs15-init's absolute path, fixed when the station was built (CMake
 * finds it in the system's directories): it is run with execve, never
 * looked up through PATH. */
const char *cs_token_pkcs15_init_path(void);

/* What pkcs15-init runs with. env is the station's environment without any
 * CS_CARD_ or CS_P12_ entry, plus one entry for each env:NAME that argv
 * names, holding that secret (strings in sec, locked memory): a child gets
 * only the secrets its command line uses. pass is the transport PKCS#12's
 * passphrase. */
typedef struct cs_token_cmd {
	const char *argv[40];
	char **env;
	cs_secret *sec;
	char p15profile[96];     /* storage for the --profile argument */
} cs_token_cmd;

int cs_token_cmd_build(const cs_token_write_args *a, const char *pass,
    cs_token_cmd *c, char *why, size_t whylen);
void cs_token_cmd_free(cs_token_cmd *c);

typedef struct cs_token_check_result {
	char pkcs15_serial[40];  /* TokenInfo serial number */
	char label[40];
	int cert_matches;        /* the certificate read back is the one written */
	int signature_ok;        /* the card signed a fresh challenge */
	int pin_tries_low;       /* PKCS#11 says the PIN has been mistyped */
	int pin_locked;
	char mechanism[32];      /* what the signature used */
} cs_token_check_result;

/* Read the certificate with key.id back and, when pin is given, have the
 * card sign a fresh random challenge verified with cert's public key. */
int cs_token_check(const cs_profile *p, X509 *cert, const char *pin,
    cs_token_check_result *res, char *why, size_t whylen);

#endif
