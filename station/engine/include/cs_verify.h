/* cs_verify.h - card-verification checks for the service desk.
 *
 * Is this the right card, with the right key and certificate, and does the
 * key work? cs_verify_card() gathers facts about the card in one reader:
 * its identifiers (ATR, chip serial, PKCS#15 serial), its applet state (PIN
 * tries), every certificate on it, whether each has its private key, what
 * the journal says about card and certificates, the chain to the CA and,
 * with the holder's PIN, a fresh challenge signed by the card and verified
 * with the certificate's key. cs_verify_judge() then turns the facts into
 * reasons and a verdict; it does no I/O, so every rule is unit-tested.
 *
 * Verdict: FAIL when anything says the card must not be handed out or
 * used (not the card the journal bound, unknown, wrong key, expired, no
 * chain, PIN blocked...), WARN when it works but someone should look (PIN
 * mistyped, expiring soon, chain or journal not checkable), OK otherwise.
 * INFO reasons (the key not tested for lack of a PIN, supported uses)
 * never change the verdict. */
#ifndef CS_VERIFY_H
#define CS_VERIFY_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include <PCSC/winscard.h>
#include <openssl/x509.h>

#include "cs_journal.h"
#include "cs_p11.h"
#include "cs_p12.h"

typedef enum cs_verdict {
	CS_VERDICT_OK, CS_VERDICT_WARN, CS_VERDICT_FAIL
} cs_verdict;

typedef enum cs_vlevel {
	CS_VL_INFO, CS_VL_WARN, CS_VL_FAIL
} cs_vlevel;

#define CS_VREASONS 48
#define CS_VMISSING 8

typedef struct cs_vreason {
	cs_vlevel level;
	char code[32];   /* stable word for scripts: "not-bound-card"; its
	                    text is cs_codes.h's "verify.<code>" */
	char params[512]; /* its parameters, packed (cs_codes.h) */
	char detail[256]; /* another part's words (OpenSC, the journal) */
	char text[320];  /* a sentence for the operator, in the locale's
	                    language */
} cs_vreason;

typedef struct cs_vcert {
	char id[129];           /* PKCS#15 ID, hex */
	char label[128];
	int parsed;             /* the DER is an X.509 certificate */
	int is_ca;              /* basicConstraints CA: a chain certificate */
	char serial[CS_SERIAL_SIZE]; /* decimal */
	char subject[512];      /* rendered as UPKI writes DNs, to show */
	unsigned char subject_der[1024]; /* as encoded, to compare */
	size_t subject_derlen;  /* 0 when unknown (or longer than the buffer) */
	char issuer[512];
	char not_before[24], not_after[24]; /* YYYY-MM-DD HH:MM:SSZ */
	long days_left;         /* until notAfter; negative once expired */
	int not_yet_valid;
	char key_type[24];      /* "RSA-2048", "EC-256" */
	int key_is_ec;
	int client_auth;        /* EKU allows TLS client authentication */
	int email_protection;   /* EKU allows S/MIME */
	int chain;              /* 1 to the CA, 0 not, -1 not checked */
	char chain_error[128];
	int has_key;            /* a private key with the same ID: 1 yes,
	                           0 no, -1 unknown (no login: OpenSC hides
	                           private objects) */
	/* the journal */
	int j_known;            /* some issuance of this serial exists */
	int j_bound_here;       /* 1 live on this card, 0 live on another
	                           card, -1 live on none */
	char j_bound_chip[32];  /* the card it is live on */
	char j_outcome[16];     /* latest issuance's outcome */
	char j_holder[128], j_mail[128], j_dn[512];
	int j_dn_matches;       /* -1 when the journal has no DN */
	/* the key test */
	int signed_ok;          /* 1 verified, 0 failed, -1 not tried */
	char mechanism[32];
	char sign_error[256];
	/* the certificate as read from the card (freed by cs_vreport_clear) */
	unsigned char *der;
	size_t derlen;
} cs_vcert;

typedef struct cs_vreport {
	char reader[256];
	time_t now;
	char card_error[256];   /* the card could not be read at all */
	char atr[67];
	/* The card's identity by its profile: the chip serial (CPLC) or the
	 * one a station assigned, read from its TokenInfo; "" when none. */
	char chip_serial[32];
	char id_source[12];     /* "cplc", "assigned" or "" */
	char profile[32];       /* "" when no profile's applet answers */
	int pin_set, pin_tries, pin_max, has_pkcs15;
	char p11_error[256];    /* OpenSC could not read the PKCS#15 */
	char pkcs15_serial[40], token_label[40];
	cs_p11_mechs mechs;
	int mechs_known;
	cs_vcert *certs;
	size_t ncerts;
	/* the journal */
	char journal_error[256]; /* "" when the journal was read */
	int card_known;
	int64_t card_id;
	char card_state[16], printed_no[64];
	char missing[CS_VMISSING][CS_SERIAL_SIZE]; /* live on this card per
	                                  the journal, absent from it */
	size_t nmissing;
	/* the PIN */
	int pin_given;
	int login_rc;           /* cs_p11_login's result when pin_given */
	char login_error[128];
	int soon_days;          /* WARN when a certificate expires sooner */
	/* cs_verify_judge's output */
	cs_vreason reasons[CS_VREASONS];
	size_t nreasons;
	cs_verdict verdict;
} cs_vreport;

typedef struct cs_verify_opts {
	const char *reader;        /* PC/SC reader name */
	cs_journal *journal;       /* NULL: not available, journal_why says why */
	const char *journal_why;
	X509_STORE *ca;            /* NULL: the chain is not checked */
	const char *profiles_dir;  /* NULL: cs_profile_dir() */
	const char *pin;           /* the holder's PIN, or NULL */
	time_t now;                /* 0: time(NULL) */
	int soon_days;             /* 0: 30 */
} cs_verify_opts;

const char *cs_verdict_name(cs_verdict v);
const char *cs_vlevel_name(cs_vlevel l);

/* Gather every fact about the card in o->reader and judge it. CS_OK when
 * a report was made (look at r->verdict), else a cs_err for the command
 * (nothing could be done: why). Clear r with cs_vreport_clear. The card is
 * read by a fresh exec of the station (cs_touch.c), which alone loads
 * OpenSC; this process keeps the journal and the chain. ctx is not used
 * for it and may be 0. */
int cs_verify_card(SCARDCONTEXT ctx, const cs_verify_opts *o, cs_vreport *r,
    char *why, size_t whylen);
void cs_vreport_clear(cs_vreport *r);

/* The card's part of cs_verify_card: PC/SC identifiers and PIN tries,
 * OpenSC's PKCS#11 objects and the key test, nothing of the journal or the
 * chain. It loads OpenSC and sets its environment, so it runs only in the
 * desk's card-touch child (cs_touch.c), never in the CLI or the kiosk. */
void cs_verify_card_touch(SCARDCONTEXT ctx, const char *reader,
    const char *profiles_dir, const char *pin, time_t now, cs_vreport *r);

/* The report as the members of a JSON object (no braces: a front end may
 * add its own after them): the one shape of `verify --json` and the
 * kiosk's desk answer (cs_verify_json.c). */
void cs_vreport_json_members(FILE *f, const cs_vreport *r);

/* Facts -> reasons and verdict (pure). */
void cs_verify_judge(cs_vreport *r);

/* What the card supports, from its mechanisms and its first end-entity
 * certificate: 1 yes, 0 no, -1 unknown; why says on what grounds. */
typedef enum cs_vuse {
	CS_VUSE_TLS12_CLIENT, CS_VUSE_TLS13_CLIENT, CS_VUSE_SMIME_SIGN,
	CS_VUSE_SMIME_DECRYPT, CS_VUSE_COUNT
} cs_vuse;
const char *cs_vuse_name(cs_vuse u);
int cs_verify_use(const cs_vreport *r, cs_vuse u, char *why, size_t whylen);

/* Whether the certificate's subject is dn (主体者DN, as the journal keeps
 * it from the index), by cs_dn_matches: 1 yes, 0 no. */
int cs_vcert_dn_matches(const cs_vcert *c, const char *dn);

/* Facts of one certificate (no journal, no chain) from its DER. */
int cs_verify_cert_facts(const unsigned char *der, size_t len, time_t now,
    cs_vcert *c);

/* A PEM file of CA certificates as a trust store. */
int cs_verify_load_ca(const char *path, X509_STORE **out, char *why,
    size_t whylen);

#endif
