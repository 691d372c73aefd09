/* cs_run.h - encoding runs: the engine's API for its front ends.
 *
 * A run is a validated download pair in the journal (cs_run_import). The
 * encode engine (cs_run_start) serves one or more readers, one worker
 * process per reader: OpenSC's PKCS#11 module serialises every call under
 * one lock and binds every card it sees, so readers only work in parallel
 * when each has its own OpenSC, limited to its own reader (pcsc_view.c).
 * Workers claim records atomically in the journal, write and check cards,
 * and report events over a pipe; the front end (command line, kiosk) gets
 * them through cs_run_ui.event, in the thread that calls cs_run_poll.
 *
 * Per card: chip serial (CPLC) and card profile; the record (queue mode:
 * the next holder, confirmed by the operator with the printed card number;
 * pairing mode: the pairing list's line for the chip serial or printed
 * number); a blank card is written per its profile (PIN, PUK, key and
 * certificate, one OpenSC bind), read back and made to sign a fresh
 * challenge; then card, issuance and record are journaled together.
 *
 * Faults never lose a record: a failed or interrupted card is journaled
 * 'partial' and its record goes back to the queue tied to that card; when
 * the card comes back it is wiped and redone. A card holding a key is never
 * overwritten unless the run was started with reissue. */
#ifndef CS_RUN_H
#define CS_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "cs_bundle.h"
#include "cs_journal.h"
#include "cs_secret.h"

/* Validate the pair as `inspect` does and store it as a new run: every
 * record, refused ones with their reason. Refused besides what inspect
 * refuses: a key no card profile (or not the run's profile) can hold
 * (key-unsupported), and a certificate already live on a card
 * (live-elsewhere: the same download imported again). So no record is
 * queued that no card will ever take. The archives stay where they are:
 * encode reads each PKCS#12 from them again (their SHA-256 is checked). */
typedef struct cs_run_import_args {
	const char *journal;       /* path, NULL: cs_journal_path(NULL) */
	const char *certs_zip, *pins_zip;
	const cs_bundle_opts *opts;
	const char *profile;       /* card profile name, NULL: by card */
	const char *profiles_dir;  /* NULL: cs_profile_dir() */
	cs_jmode mode;
	const char *operator_name;
	cs_msg *refusal;           /* or NULL: when the download is refused
	                              whole, its message (code bundle.*);
	                              its code stays NULL on other errors */
} cs_run_import_args;

int cs_run_import(const cs_run_import_args *a, int64_t *run_id,
    cs_jprogress *counts, char *why, size_t whylen);

/* The institution PUK of one card profile's cards. */
typedef struct cs_run_puk {
	const char *profile;        /* a card profile's name */
	const cs_secret *puk;
} cs_run_puk;

#define CS_RUN_MAX_PUKS 8

typedef struct cs_run_opts {
	const char *journal;
	int64_t run_id;
	const char *const *readers; /* PC/SC reader names, one worker each */
	size_t nreaders;
	const char *operator_name;
	const char *profile;        /* force a card profile; NULL: by card */
	const char *profiles_dir;   /* NULL: cs_profile_dir() */
	const cs_secret *pin;       /* initial PIN typed at run start, or NULL
	                               for the profile's random PIN */
	const cs_secret *puk;       /* institution PUK for every profile, or
	                               NULL (random) */
	const struct cs_run_puk *puks; /* per card profile: the institution
	                               PUK of that profile's cards, before puk
	                               (a run mixing card families) */
	size_t npuks;               /* at most CS_RUN_MAX_PUKS */
	const char *pairing_csv;    /* pairing-list mode */
	int confirm_printed;        /* queue mode: ask for the printed number */
	int reissue;                /* wipe and rewrite cards holding a key */
	int reprint;                /* a known card may come under a new
	                               printed number (journaled, both kept) */
	int until_done;             /* stop when nothing is queued or claimed,
	                               by this or another station (counted
	                               again every 2 s) */
} cs_run_opts;

typedef enum cs_run_ev_kind {
	CS_EV_READER = 1, /* a reader's state: state, text */
	CS_EV_CARD,       /* a card came in: chip_serial, profile */
	CS_EV_HOLDER,     /* its record: holder, mail, staff_no, cert_serial */
	CS_EV_CONFIRM,    /* queue mode: answer with cs_run_answer() */
	CS_EV_STEP,       /* step of steps, text */
	CS_EV_DONE,       /* verified and journaled */
	CS_EV_FAILED,     /* text: the reason and what to do */
	CS_EV_PIN_LETTER, /* pin (and puk) to show once for the holder */
	CS_EV_PROGRESS,   /* progress of the run */
	CS_EV_END,        /* the run stopped: text says why */
	/* Sent just before CS_EV_END, once per record still waiting for one
	 * particular card: holder, cert_serial, chip_serial and printed_no of
	 * that card; code run.waits-*, params with seq (the record's place in
	 * the run), holder, chip, printed. */
	CS_EV_WAITING,
	/* The journal's server lost or back (cs_journal_on_notice): state
	 * "lost" or "back", code journal.server-lost or -back, params
	 * journal; reader_index -1 for the run's own connection, else that
	 * reader's worker (each keeps its own). */
	CS_EV_JOURNAL,
} cs_run_ev_kind;

typedef struct cs_run_event {
	cs_run_ev_kind kind;
	int reader_index;         /* -1 for run-wide events */
	const char *reader;
	const char *state;        /* waiting reading confirm writing checking
	                             done failed */
	const char *chip_serial, *printed_no, *profile;
	const char *holder, *mail, *staff_no, *cert_serial;
	int step, steps;
	const char *text;         /* in the locale's language, for a person */
	/* The same as a code and its parameters (cs_codes.h): what front ends
	 * render in their own language. advice: what to do next (a code),
	 * detail: another program's words (OpenSC, pcsc-lite), untranslated. */
	const char *code, *params, *advice, *detail;
	const char *pin, *puk;    /* CS_EV_PIN_LETTER only; valid during the
	                             callback, never to be stored or logged */
	cs_jprogress progress;
} cs_run_event;

typedef struct cs_run_ui {
	void (*event)(void *ctx, const cs_run_event *ev);
	void *ctx;
} cs_run_ui;

typedef struct cs_run cs_run;

/* Readers one run serves at most: a worker process each, on a machine of
 * two to eight cores (8 readers were measured at 19% busy). */
#define CS_RUN_MAX_READERS 32

/* The institution PUK for a card of profile: its own from o->puks, else
 * o->puk, else NULL (a random PUK per card). */
const cs_secret *cs_run_puk_for(const cs_run_opts *o, const char *profile);

/* Start the workers. The process must ignore SIGPIPE (a worker that died
 * closes its pipe): the front end sets that for its whole process. A PUK
 * of o->puks that does not suit its profile (or names no profile) is
 * refused here, with a sentence naming the profile. */
int cs_run_start(const cs_run_opts *o, const cs_run_ui *ui, cs_run **out,
    char *why, size_t whylen);
/* Wait up to timeout_ms for worker events and deliver them; returns 1
 * while the run goes on, 0 once it has ended, or a cs_err. */
int cs_run_poll(cs_run *r, int timeout_ms);
/* Answer a CS_EV_CONFIRM of reader_index: the printed card number, or
 * NULL to refuse the card (it is left untouched). Any thread. */
int cs_run_answer(cs_run *r, int reader_index, const char *printed_no);
/* Ask every worker to stop after its current card (async-signal-safe). */
void cs_run_stop(cs_run *r);
/* Wait for the workers to end and free. */
void cs_run_free(cs_run *r);

/* A reader worker is a fresh exec of this program, `cardstation __worker`:
 * no lock, thread or OpenSC state of the front end comes with it, and it
 * sets up its own locked memory for the secrets it gets over a pipe. The
 * command line's main() hands that argument to cs_run_worker_main. Workers
 * run in a process group of their own: the terminal's Ctrl-C reaches the
 * coordinator, which lets each finish its card; if the coordinator dies,
 * each worker finishes its card and stops. */
#define CS_RUN_WORKER_ARG "__worker"
int cs_run_worker_main(void);

#endif
