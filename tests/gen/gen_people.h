/* gen_people.h - the people of a generated bundle and what is wrong with them.
 *
 * A person is everything the service would know about one certificate
 * holder; the break fields say how the bundle departs from the truth for
 * that person, so that the writers (certificate, P12, TSVs, zip) each read
 * only the fields they need. */
#ifndef GEN_PEOPLE_H
#define GEN_PEOPLE_H

#include <stddef.h>
#include <stdint.h>

#include "gen_rand.h"

typedef enum gen_profile {
	GEN_CLIENT = 0,   /* client certificate, profile 5 / 13 / 14 */
	GEN_CLIENT_SMIME, /* client + S/MIME, profile 7 */
	GEN_SMIME,        /* S/MIME, CN=<mail> only, profile 15 / 16 */
} gen_profile;

typedef enum gen_enc {
	GEN_ENC_3DES = 0, /* pbeWithSHA1And3-KeyTripleDES-CBC, SHA-1 MAC */
	GEN_ENC_RC2,      /* certs RC2-40, key 3DES: legacy provider */
	GEN_ENC_AES,      /* PBES2 AES-256-CBC, HMAC-SHA256 MAC */
} gen_enc;

/* The key a person's certificate is for. The service issues RSA-2048; the
 * others are what a card may not hold (cs_key_type names in expect.tsv). */
typedef enum gen_key {
	GEN_KEY_RSA2048 = 0,
	GEN_KEY_RSA1024,
	GEN_KEY_RSA3072,
	GEN_KEY_RSA4096,
	GEN_KEY_EC_P256,
	GEN_KEY_EC_P384,
	GEN_KEY_COUNT
} gen_key;

typedef struct gen_person {
	unsigned char serial[16]; /* big-endian, what the certificate holds */
	char serial_dec[48];      /* decimal: index column and file name */
	char name[96];            /* 利用者氏名, UTF-8 */
	char roman[64];           /* CN of the client profiles */
	char mail[96];            /* 利用者mail */
	char staff[16];           /* OU: staff or student number */
	char pin[24];             /* the P12's password */
	gen_profile profile;
	gen_enc enc;
	int months;               /* validity: 13 or 25 */
	int days_ago;             /* notBefore, days before today */
	unsigned key;             /* index into the key pool */
	gen_key key_type;         /* not RSA-2048: a key of its own type */

	/* What the breaks change; zero means "as the truth". */
	const char *verdict;      /* "OK" or the break's case name */
	char note[96];            /* for expect.tsv */
	int no_p12;               /* leave the .p12 out */
	int no_index;             /* leave the index row out */
	int no_pin;               /* leave the PIN row out */
	int pin_wrong;            /* the PIN row holds another PIN */
	char pin_row_pin[24];
	int name_differs;         /* the PIN row holds another name */
	char pin_row_name[96];
	int cert_serial_plus1;    /* certificate serial = index serial + 1 */
	int key_other;            /* P12 holds another pool key */
	int dn_differs;           /* the DN column is not the subject */
	int foreign_o;            /* another institution's O */
	int san_other;            /* SAN mail is not 利用者mail */
	int expired;
	int not_yet_valid;
	int full_ext;             /* certificatePolicies, CRL DP, AIA too */
	long expires_in;          /* > 0: valid now, expires this many seconds
	                             from now (--expires-in) */
	long index_serial_of;     /* -1, or the person whose serial the
	                             index row carries (duplicate-serial) */
	int orphan_row;           /* expect.tsv: an extra p12-orphan row */
} gen_person;

typedef struct gen_people_opts {
	size_t n;
	uint64_t seed;
	unsigned key_pool;
	const char *domain;       /* mail domain */
} gen_people_opts;

/* Make n people, deterministic for the seed. */
int gen_people_make(gen_person **out, const gen_people_opts *o);

/* Break names: "p12-missing", ...; returns 0 when known. */
int gen_break_known(const char *name);
/* Apply break `name` to person `who` (0-based), or to a person the seeded
 * generator picks when who < 0. Fails when the person is already broken. */
int gen_break_apply(gen_person *p, size_t n, const char *name, long who,
    gen_rand *r, char *why, size_t whylen);

#endif
