/* cs_journal.h - the station's journal: runs, records, cards, issuances and
 * a hash-chained event log in one SQLite file. It is the single source of
 * truth for resume after a crash, for search at the service desk and for
 * audit.
 *
 * Secrets: the journal never holds a secret. No access PIN, card PIN or
 * PUK, no private key, no PKCS#12 bytes, no challenge signature: only
 * identifiers (serials, names, mails, DNs), states, times and reasons.
 * Callers must not put a secret into a `reason` or a note either.
 *
 * Threads and processes: a cs_journal is one SQLite connection and belongs
 * to one thread at a time. Reader workers each open their own on the same
 * file (or share one under the caller's lock). SQLite's locking (WAL,
 * BEGIN IMMEDIATE for every write, a busy timeout) serialises writers, so a
 * record claim is atomic across threads and processes.
 *
 * Integrity: every change to runs, records, cards and issuances goes
 * through this API, in one transaction with an event whose detail carries
 * the row's new full snapshot (JSON). Events form a SHA-256 hash chain.
 * cs_journal_check() recomputes the chain and compares each current row
 * with its latest snapshot, so an edit of any table made behind the API's
 * back is named (table, row, column). docs/journal.md has the schema.
 *
 * Strings in the structs below are UTF-8 and owned by the struct: clear a
 * struct filled by the journal with its *_clear() function. Ids are > 0;
 * 0 means "none". Times are UTC, ISO 8601 with milliseconds
 * ("2024-04-01T09:30:00.123Z"). Functions return CS_OK or a cs_err; on
 * failure `why` (may be NULL) says what for the operator. */
#ifndef CS_JOURNAL_H
#define CS_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CS_JOURNAL_DEFAULT_PATH "/var/lib/cardstation/journal.db"
#define CS_JOURNAL_ENV "CARDSTATION_JOURNAL"

typedef struct cs_journal cs_journal;

typedef enum cs_jrun_state {
	CS_JRUN_OPEN, CS_JRUN_DONE, CS_JRUN_CANCELLED
} cs_jrun_state;

typedef enum cs_jmode {
	CS_JMODE_QUEUE,   /* the station names the next holder */
	CS_JMODE_PAIRING  /* a pairing list binds card to person */
} cs_jmode;

typedef enum cs_jrec_state {
	CS_JREC_REFUSED,  /* failed validation; problem and reason say why */
	CS_JREC_QUEUED,
	CS_JREC_CLAIMED,  /* a reader works on it */
	CS_JREC_DONE,     /* on exactly one verified card */
	CS_JREC_REVOKED
} cs_jrec_state;

typedef enum cs_jcard_state {
	CS_JCARD_BLANK, CS_JCARD_PARTIAL, CS_JCARD_ISSUED, CS_JCARD_WIPED,
	CS_JCARD_LOST, CS_JCARD_RETURNED,
	CS_JCARD_RETIRED  /* never written again: its profile does not re-use
	                     it, or it failed for good (applet gone, PUK
	                     blocked) */
} cs_jcard_state;

typedef enum cs_jissue_outcome {
	CS_JISSUE_WRITING,     /* live: the card is being written */
	CS_JISSUE_VERIFIED,    /* live: read back and signed a challenge */
	CS_JISSUE_FAILED,
	CS_JISSUE_INTERRUPTED, /* the station stopped while writing */
	CS_JISSUE_WIPED,
	CS_JISSUE_REVOKED,
	CS_JISSUE_SUPERSEDED   /* a renewal took its place on the same card */
} cs_jissue_outcome;

/* Which field picks a record or a card. */
typedef enum cs_jkey {
	CS_JKEY_SERIAL,    /* record: certificate serial (decimal) */
	CS_JKEY_MAIL,      /* record: holder's mail, ASCII case-insensitive */
	CS_JKEY_STAFF_NO,  /* record: staff or student number */
	CS_JKEY_CHIP,      /* card: chip serial, hex case-insensitive */
	CS_JKEY_PRINTED,   /* card: printed card number */
	CS_JKEY_PKCS15     /* card: PKCS#15 TokenInfo serial */
} cs_jkey;

typedef struct cs_jrun {
	int64_t id;
	char *created;
	char *certs_zip, *pins_zip;       /* paths as given at run start */
	char *certs_sha256, *pins_sha256; /* hex digests of both archives */
	char *profile;                    /* card profile name, or NULL */
	cs_jmode mode;
	char *operator_name;
	cs_jrun_state state;
} cs_jrun;

typedef struct cs_jrecord {
	int64_t id, run_id;
	int64_t seq;          /* order in the run; 0 on add: next free */
	char *serial;         /* certificate serial, decimal; NULL unknown */
	char *holder;         /* 利用者氏名 */
	char *mail, *dn, *staff_no, *profile, *not_after;
	cs_jrec_state state;  /* on add: refused if problem, else queued */
	char *problem;        /* cs_problem_name(), or NULL */
	char *reason;         /* why refused or last released */
	char *claimed_by;     /* reader */
	int64_t pending_card_id; /* a card left half-written for it */
	int64_t card_id;      /* the verified card, once done */
	int64_t owner_id;     /* the station process that claimed it */
	char *key_type;       /* "rsa-2048", "ec-prime256v1", ...; NULL unknown */
} cs_jrecord;

typedef struct cs_jcard {
	int64_t id;
	char *chip_serial;    /* NULL if the card offers none */
	char *pkcs15_serial, *printed_no, *atr, *model;
	cs_jcard_state state;
	char *first_seen, *last_seen;
	/* How the card's identity (chip_serial) was obtained: NULL or
	 * CS_JCARD_ID_CPLC read from the chip (GET DATA 9F7F),
	 * CS_JCARD_ID_ASSIGNED a random identity the station wrote into the
	 * card's PKCS#15 TokenInfo serial. */
	char *id_source;
} cs_jcard;

#define CS_JCARD_ID_CPLC "cplc"
#define CS_JCARD_ID_ASSIGNED "assigned"

typedef struct cs_jissuance {
	int64_t id, record_id, card_id;
	char *cert_serial, *holder, *mail, *reader, *operator_name;
	char *started, *finished;
	cs_jissue_outcome outcome;
	char *reason;
} cs_jissuance;

/* An issuance with what a person searching for it wants beside it. */
typedef struct cs_jissuance_view {
	cs_jissuance iss;
	int64_t run_id;
	char *chip_serial, *pkcs15_serial, *printed_no;
	char *not_after;         /* the record's certificate expiry, or NULL */
} cs_jissuance_view;

typedef struct cs_jfilter {
	const char *holder;      /* substring, ASCII case-insensitive */
	const char *mail;        /* whole mail, ASCII case-insensitive */
	const char *cert_serial; /* decimal; leading zeros ignored */
	const char *chip_serial; /* hex, case-insensitive */
	const char *printed_no;
	int64_t run_id, card_id; /* 0: any */
	bool live_only;          /* outcome writing or verified */
	/* Only verified certificates whose not_after is within expiring_days
	 * days from now (or past), soonest first: who needs a renewal. */
	bool expiring;
	int64_t expiring_days;
} cs_jfilter;

typedef struct cs_jprogress {
	int64_t total, refused, queued, claimed, done, revoked;
	int64_t waiting; /* queued, but waiting for a card left half written */
} cs_jprogress;

typedef struct cs_jresume {
	int64_t interrupted; /* issuances 'writing' turned 'interrupted' */
	int64_t released;    /* records put back in the queue */
	int64_t held;        /* claims left alone: their owner still runs, or
	                        runs where this process cannot tell */
} cs_jresume;

/* A finding of cs_journal_check(). */
typedef struct cs_jfinding {
	const char *table;  /* "events", "runs", "records", "cards", "issuances" */
	int64_t row_id;     /* the row named; 0 if none */
	const char *column; /* the column that differs, or NULL */
	int64_t event_id;   /* the event whose snapshot disagrees, or 0 */
	const char *what;   /* a sentence for the operator */
} cs_jfinding;

typedef struct cs_jcheck {
	int64_t events;     /* events read */
	int64_t rows;       /* table rows compared */
	int64_t findings;
	char head[65];      /* hash of the last event: note it out of band */
} cs_jcheck;

typedef int (*cs_jrun_fn)(void *ctx, const cs_jrun *run);
typedef int (*cs_jissuance_fn)(void *ctx, const cs_jissuance_view *v);
typedef void (*cs_jfinding_fn)(void *ctx, const cs_jfinding *f);

/* --- names of states, as stored ------------------------------------- */
const char *cs_jrun_state_name(cs_jrun_state s);
const char *cs_jmode_name(cs_jmode m);
const char *cs_jrec_state_name(cs_jrec_state s);
const char *cs_jcard_state_name(cs_jcard_state s);
const char *cs_jissue_outcome_name(cs_jissue_outcome o);
/* -1 if the name is unknown. */
int cs_jissue_outcome_parse(const char *name);

/* --- opening -------------------------------------------------------- */
enum {
	CS_JOURNAL_RDONLY = 1 << 0, /* read only; the file must exist */
};

/* --journal if given, else $CARDSTATION_JOURNAL, else the default. */
const char *cs_journal_path(const char *arg);

/* Open or create the journal at path: missing directories are made 0700,
 * a new file 0600; the schema is created or migrated. */
int cs_journal_open(cs_journal **out, const char *path, int flags,
    char *why, size_t whylen);
void cs_journal_close(cs_journal *j);
/* The schema version of the open file. */
int cs_journal_version(cs_journal *j);

/* The journal's server lost, and back (PostgreSQL): code
 * journal.server-lost, then journal.server-back once it answers again;
 * params journal=the server (cs_codes.h). The engine also writes the line
 * on stderr; a front end that shows a run tells its operator too. */
typedef void (*cs_jnotice_fn)(void *ctx, const char *code,
    const char *params);
void cs_journal_on_notice(cs_journal *j, cs_jnotice_fn fn, void *ctx);

/* Who acts on this connection: every event it writes carries them. */
int cs_journal_set_actor(cs_journal *j, const char *operator_name,
    const char *reader);

/* Group several calls into one transaction (BEGIN IMMEDIATE). Without
 * one, every call below is a transaction of its own. Inside one, a call
 * that fails undoes only itself; the caller still decides to commit. */
int cs_journal_begin(cs_journal *j, char *why, size_t whylen);
int cs_journal_commit(cs_journal *j, char *why, size_t whylen);
int cs_journal_rollback(cs_journal *j);
/* After a transaction of the caller's failed: whether the journal's server
 * was lost before its commit (the server rolled all of it back) and
 * answers again, so that the caller does the whole transaction again. A
 * commit whose answer was lost is not to be redone (it may be in). False
 * on SQLite. */
bool cs_journal_redo(cs_journal *j);

/* --- runs ----------------------------------------------------------- */
int cs_journal_run_create(cs_journal *j, const cs_jrun *in, int64_t *id,
    char *why, size_t whylen);
int cs_journal_run_get(cs_journal *j, int64_t id, cs_jrun *out);
/* Every run, oldest first; a nonzero return of fn stops and is returned. */
int cs_journal_run_list(cs_journal *j, cs_jrun_fn fn, void *ctx);
int cs_journal_run_set_state(cs_journal *j, int64_t id, cs_jrun_state s,
    char *why, size_t whylen);
int cs_journal_run_progress(cs_journal *j, int64_t run_id,
    cs_jprogress *out);
void cs_jrun_clear(cs_jrun *r);

/* --- records -------------------------------------------------------- */
/* Add a record to a run. in->problem set makes it 'refused' (in->reason
 * says why), else 'queued'. Two live records of a run with one serial are
 * refused by the database (CS_ERR_MISMATCH). */
int cs_journal_record_add(cs_journal *j, const cs_jrecord *in, int64_t *id,
    char *why, size_t whylen);
int cs_journal_record_get(cs_journal *j, int64_t id, cs_jrecord *out);
/* Atomically take the queued record of the run with the lowest seq for a
 * reader, skipping records that wait for their own half-written card and,
 * when key_types (a comma-separated list, e.g. "rsa-2048") is given,
 * records whose key the card cannot hold: it becomes 'claimed' by that
 * reader and this connection's owner. CS_ERR_NOTFOUND when no such record
 * is queued; CS_ERR_STATE if the run is not open. */
int cs_journal_record_claim_next(cs_journal *j, int64_t run_id,
    const char *reader, const char *key_types, cs_jrecord *out, char *why,
    size_t whylen);
/* Pairing-list mode: claim the queued record whose serial, mail or staff
 * number is value. CS_ERR_NOTFOUND if the run has no such record,
 * CS_ERR_STATE (why says which state, which reader) if it is not queued. */
int cs_journal_record_claim(cs_journal *j, int64_t run_id, cs_jkey key,
    const char *value, const char *reader, cs_jrecord *out, char *why,
    size_t whylen);
/* A claimed record that would fail on every card (its certificate expired
 * or is live on another card, the download no longer holds it) is set
 * aside: 'refused' with problem (a cs_problem_name) and reason, so the
 * queue moves on. The moves below (release, release_pending, done, set
 * aside) apply only to a record claimed by this connection's owner:
 * CS_ERR_STATE otherwise (another station took it back). */
int cs_journal_record_set_aside(cs_journal *j, int64_t id,
    const char *problem, const char *reason, char *why, size_t whylen);
/* A claimed record goes back to the queue, with the reason. */
int cs_journal_record_release(cs_journal *j, int64_t id, const char *reason,
    char *why, size_t whylen);
/* A claimed record goes back to the queue tied to card_id, a card left
 * half written for it: claim_next skips it; only that card, when it comes
 * back, claims it again (by serial). */
int cs_journal_record_release_pending(cs_journal *j, int64_t id,
    int64_t card_id, const char *reason, char *why, size_t whylen);
/* A claimed record is on the verified card card_id. */
int cs_journal_record_done(cs_journal *j, int64_t id, int64_t card_id,
    char *why, size_t whylen);
/* A done record whose certificate was revoked (lost card). */
int cs_journal_record_revoke(cs_journal *j, int64_t id, const char *reason,
    char *why, size_t whylen);
/* The first record of the run (lowest seq) with key = value, any state. */
int cs_journal_record_find(cs_journal *j, int64_t run_id, cs_jkey key,
    const char *value, cs_jrecord *out);
void cs_jrecord_clear(cs_jrecord *r);
/* Each record of the run still queued, in seq order (encode's end lists
 * those that wait for one particular card); fn's non-CS_OK ends the walk
 * and is returned. */
typedef int (*cs_jrecord_fn)(void *ctx, const cs_jrecord *rec);
int cs_journal_run_queued(cs_journal *j, int64_t run_id, cs_jrecord_fn fn,
    void *ctx);

/* --- cards ---------------------------------------------------------- */
/* Insert the card, or update the one with the same chip serial: non-NULL
 * pkcs15_serial, printed_no, atr, model, id_source replace the stored ones and
 * last_seen moves on. A new card takes in->state; an existing one keeps
 * its state (cs_journal_card_set_state changes it). A card without a chip
 * serial is always a new row. */
int cs_journal_card_upsert(cs_journal *j, const cs_jcard *in, int64_t *id,
    char *why, size_t whylen);
int cs_journal_card_get(cs_journal *j, int64_t id, cs_jcard *out);
/* key: CS_JKEY_CHIP, CS_JKEY_PRINTED or CS_JKEY_PKCS15; the most recently
 * seen card if several match. */
int cs_journal_card_find(cs_journal *j, cs_jkey key, const char *value,
    cs_jcard *out);
int cs_journal_card_set_state(cs_journal *j, int64_t id, cs_jcard_state s,
    const char *reason, char *why, size_t whylen);
/* The card can never be written again (its profile does not re-use it, or
 * it failed for good): it becomes 'retired' with reason, an issuance still
 * 'writing' on it 'failed', and every record that waited for it
 * (pending_card_id) goes back to the queue free for any card, so that no
 * run waits for it. *released (may be NULL) counts those records. A
 * record the caller has claimed for the card is the caller's to release,
 * in the same transaction. */
int cs_journal_card_retire(cs_journal *j, int64_t id, const char *reason,
    int64_t *released, char *why, size_t whylen);
/* The card now holds issuance keep_id (verified): every other verified
 * issuance on it ends, 'superseded' when it was the same holder's (same
 * mail, or same name when either has no mail: a renewal), 'wiped' when
 * another holder's. Each gets an event saying which took its place. */
int cs_journal_card_replaced(cs_journal *j, int64_t id, int64_t keep_id,
    char *why, size_t whylen);
void cs_jcard_clear(cs_jcard *c);

/* --- issuances ------------------------------------------------------ */
/* Start writing in->cert_serial for in->record_id (claimed) onto
 * in->card_id: outcome 'writing'. If that certificate is already live
 * (writing or verified) on a card, the database refuses: CS_ERR_MISMATCH,
 * why names the card. */
int cs_journal_issuance_begin(cs_journal *j, const cs_jissuance *in,
    int64_t *id, char *why, size_t whylen);
/* writing -> verified | failed | interrupted; verified -> wiped | revoked
 * | superseded.
 * Other moves are CS_ERR_STATE. Record and card states are the caller's
 * to set, in the same transaction (see docs/journal.md). */
int cs_journal_issuance_end(cs_journal *j, int64_t id, cs_jissue_outcome o,
    const char *reason, char *why, size_t whylen);
int cs_journal_issuance_get(cs_journal *j, int64_t id, cs_jissuance *out);
/* Issuances matching f, oldest first; a nonzero return of fn stops the
 * walk and is returned. */
int cs_journal_issuances(cs_journal *j, const cs_jfilter *f,
    cs_jissuance_fn fn, void *ctx);
/* The card a certificate is live on; CS_ERR_NOTFOUND if none.
 * issuance_id may be NULL. */
int cs_journal_cert_live_card(cs_journal *j, const char *cert_serial,
    cs_jcard *card, int64_t *issuance_id);
void cs_jissuance_clear(cs_jissuance *i);
void cs_jissuance_view_clear(cs_jissuance_view *v);

/* --- owners --------------------------------------------------------- */
/* Register this process (host, boot, PID namespace, pid, start time) as
 * the owner of the claims this connection takes, working at reader (NULL:
 * none). Refused (CS_ERR_STATE, why names it) while another live process
 * on this host is registered at the same reader; registrations whose
 * process is gone are closed on the way. cs_journal_owner_end says goodbye
 * (a process killed never does: its registration is judged by /proc). */
int cs_journal_owner_start(cs_journal *j, const char *reader, char *why,
    size_t whylen);
int cs_journal_owner_end(cs_journal *j, char *why, size_t whylen);

/* --- resume --------------------------------------------------------- */
/* After a crash, before workers start: in the run, every claim whose owner
 * is gone is taken back. Its issuance still 'writing' becomes
 * 'interrupted', its card 'partial' and its record 'queued' with
 * pending_card_id = that card; a claim that had not started writing goes
 * back to 'queued'. Claims of live owners (another station process on the
 * same run) are left alone. One transaction. */
int cs_journal_resume(cs_journal *j, int64_t run_id, cs_jresume *out,
    char *why, size_t whylen);

/* --- notes ---------------------------------------------------------- */
/* An event that changes no row (a refused card, a station start): kind
 * is a short dotted word ("card.unknown-model"), text free. */
int cs_journal_note(cs_journal *j, int64_t run_id, int64_t card_id,
    const char *kind, const char *text, char *why, size_t whylen);

/* A note's event, with the card it names. */
#define CS_JNOTE_FIELDS 12
typedef struct cs_jnote_view {
	int64_t event_id, run_id, card_id;
	const char *at, *operator_name, *kind;
	const char *chip_serial, *printed_no; /* of card_id; NULL if none */
	const char *text;                     /* the note as written */
	/* When text is a JSON object: its members the caller named, as text
	 * (true/false as "1"/"0"); NULL when absent or text is not JSON. */
	const char *field[CS_JNOTE_FIELDS];
} cs_jnote_view;

typedef int (*cs_jnote_fn)(void *ctx, const cs_jnote_view *n);

/* The notes of kind, oldest first, of run f->run_id and card chip
 * f->chip_serial when given (other filter fields are ignored), with the
 * JSON members fields[0..nfields) of each; a nonzero return of fn stops
 * the walk and is returned. Valid during the callback only. */
int cs_journal_notes(cs_journal *j, const char *kind, const cs_jfilter *f,
    const char *const *fields, size_t nfields, cs_jnote_fn fn, void *ctx);

/* --- integrity ------------------------------------------------------ */
/* Recompute the chain and compare every row with its latest snapshot.
 * Each finding goes to fn. CS_OK when the walk completed (look at
 * out->findings), else a cs_err. */
int cs_journal_check(cs_journal *j, cs_jfinding_fn fn, void *ctx,
    cs_jcheck *out, char *why, size_t whylen);

/* Before a station writes: the whole check, and no finding. Otherwise
 * CS_ERR_STATE, why naming the first finding and how many there are; a
 * journal edited behind the station's back is never written on (the
 * administrator restores it from a backup). Costs about a second at
 * 100,000 events (tests/bench/journal). */
int cs_journal_trust(cs_journal *j, char *why, size_t whylen);

/* --- export (cs_journal_export.c) ----------------------------------- */
typedef enum cs_jcsv_enc { CS_JCSV_UTF8, CS_JCSV_CP932 } cs_jcsv_enc;

/* A character with no CP932 form was written as 〓 (GETA MARK, 0x81AC). */
typedef void (*cs_jexport_warn_fn)(void *ctx, int64_t issuance_id,
    const char *column, const char *text);

/* One CSV line of n fields (NULL: empty), RFC 4180: CRLF, fields with ,
 * " CR or LF quoted, " doubled; in CP932, a character without a form is
 * 〓 and warn (may be NULL) gets the row id and names[i]. */
int cs_jexport_csv_line(FILE *f, const char *const *names,
    const char *const *field, size_t n, cs_jcsv_enc enc, int64_t id,
    cs_jexport_warn_fn warn, void *ctx);
/* One CSV line of the column names, then one per issuance. */
int cs_jexport_csv_header(FILE *f, cs_jcsv_enc enc);
int cs_jexport_csv_row(FILE *f, const cs_jissuance_view *v, cs_jcsv_enc enc,
    cs_jexport_warn_fn warn, void *ctx);
/* A JSON object; first = 0 writes a leading comma. */
int cs_jexport_json_row(FILE *f, const cs_jissuance_view *v, int first);

#endif
