/* cs_profile.h - card profiles: what the station needs to know of a model.
 *
 * A profile is a small `key = value` file in cardprofiles/: the OpenSC
 * driver, how to recognise the card, the PIN/PUK policy and the PKCS#15
 * labels and IDs. See cardprofiles/isoapplet.conf for every key. */
#ifndef CS_PROFILE_H
#define CS_PROFILE_H

#include <stddef.h>

#include "cs_problem.h"
#include "cs_secret.h"

#define CS_PROFILE_MAX_KEY_TYPES 8
#define CS_PROFILE_MAX_ID_SOURCES 2

/* Where a card's identity (the journal's key for it) may come from. */
typedef enum cs_profile_idsrc {
	CS_PROFILE_ID_CPLC = 1,   /* the chip's GlobalPlatform CPLC serial */
	CS_PROFILE_ID_ASSIGNED    /* one the station assigns and writes into
	                             the card's PKCS#15 TokenInfo serial */
} cs_profile_idsrc;

/* Whether and how a card returned at the desk is written again. */
typedef enum cs_profile_reuse {
	CS_PROFILE_REUSE_NEVER,    /* it is retired when it comes back */
	CS_PROFILE_REUSE_REINSTALL, /* once its applet was reinstalled (blank) */
	CS_PROFILE_REUSE_PUK       /* with the institution PUK, if it kept its
	                              PKCS#15 application; else as reinstall */
} cs_profile_reuse;

typedef struct cs_profile {
	char name[32];
	char description[96];
	char match_aid[40];       /* hex AID that answers SELECT on this model */
	char opensc_driver[32];
	char p15init_options[64]; /* OpenSC pkcs15.profile options, '+'-joined */
	unsigned pin_min, pin_max, pin_tries;
	char pin_charset[16];     /* digits, alnum or hex */
	int pin_random;           /* 1: new PIN per card; 0: typed at run start */
	unsigned puk_len;
	char puk_charset[16];
	int puk_random;           /* 1: per card; 0: one institution PUK */
	char auth_id[8];
	char key_id[8], key_label[64], cert_label[64];
	int ca_chain;
	/* The key types the card takes, as cs_key_type names them
	 * (`key.types = rsa-2048, ec-prime256v1`). A profile without key.types
	 * takes rsa-2048 only: the one type every supported card holds. */
	char key_types[CS_PROFILE_MAX_KEY_TYPES][24];
	unsigned nkey_types;
	/* `reuse = never | reinstall | institution-puk`; never without it. */
	cs_profile_reuse reuse;
	/* The card's identity sources in order (`identity = cplc, assigned`):
	 * the first that gives one wins; with `assigned` listed, a card that
	 * carries none gets one. A profile without the line: cplc only. */
	cs_profile_idsrc identity[CS_PROFILE_MAX_ID_SOURCES];
	unsigned nidentity;
} cs_profile;

/* Where card profiles are when no --profiles DIR was given:
 * $CARDSTATION_PROFILES if set, else the installed cardprofiles folder (the
 * source tree's for a binary run from its build tree, see cs_paths.h). */
const char *cs_profile_dir(void);

int cs_profile_load(const char *path, cs_profile *p, char *why, size_t whylen);
/* Every *.conf of dir, sorted by name; free *out with free(). */
int cs_profile_load_all(const char *dir, cs_profile **out, size_t *n,
    char *why, size_t whylen);
/* The profile called name in dir. */
int cs_profile_find(const char *dir, const char *name, cs_profile *p,
    char *why, size_t whylen);

/* Whether a PIN or PUK obeys the policy; why says what is wrong. */
int cs_profile_check_pin(const cs_profile *p, const char *pin, char *why,
    size_t whylen);
int cs_profile_check_puk(const cs_profile *p, const char *puk, char *why,
    size_t whylen);
/* Whether the card takes a key of key_type ("rsa-2048", "ec-prime256v1",
 * see cs_key_type); 0 for NULL, "" or "other". */
int cs_profile_takes_key(const cs_profile *p, const char *key_type);
/* The names of the profiles of ps[0..n) that take key_type, joined by ","
 * into out ("" when none; whole names only, as many as fit). Returns how
 * many take it. */
size_t cs_profile_takers(const cs_profile *ps, size_t n, const char *key_type,
    char *out, size_t outlen);
/* For the import and inspect: CS_PROBLEM_NONE with takers filled when some
 * profile takes key_type; else CS_PROBLEM_KEY_UNSUPPORTED, takers "", and
 * why a sentence naming the key type and what each profile takes. why is
 * left alone on NONE. */
cs_problem cs_profile_key_problem(const cs_profile *ps, size_t n,
    const char *key_type, char *takers, size_t takerslen, char *why,
    size_t whylen);
/* The profile's identity sources in order: *n of them (at least one). */
const cs_profile_idsrc *cs_profile_identity(const cs_profile *p, unsigned *n);
/* Whether the profile lists src among its identity sources. */
int cs_profile_has_identity(const cs_profile *p, cs_profile_idsrc src);
const char *cs_profile_idsrc_name(cs_profile_idsrc src);

/* A fresh random PIN or PUK of the profile's kind, in locked memory. */
int cs_profile_random_pin(const cs_profile *p, cs_secret **out);
int cs_profile_random_puk(const cs_profile *p, cs_secret **out);

#endif
