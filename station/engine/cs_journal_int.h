/* cs_journal_int.h - what the cs_journal*.c files share; not for callers. */
#ifndef CS_JOURNAL_INT_H
#define CS_JOURNAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cs_db.h"
#include "cs_journal.h"
#include "cs_owner.h"

struct cs_journal {
	cs_db *db;           /* SQLite file or PostgreSQL (cs_db.h) */
	bool rdonly;
	bool in_tx;          /* inside cs_journal_begin() */
	bool in_write;       /* a write transaction is open (jr_tx_enter) */
	bool in_read;        /* check's read transaction is open */
	int depth;           /* savepoints jr_tx_enter holds inside it */
	bool lost;           /* the server was lost in the last write
	                        transaction, before its commit */
	int version;
	char *operator_name; /* actor of this connection's events */
	char *reader;
	int64_t owner_id;    /* the owner row of this process's claims, or 0 */
	int64_t changes;     /* rows jr_run's statement changed */
	int64_t last_id;     /* what jr_run's statement returned first
	                        (INSERT ... RETURNING id), or 0 */
	cs_jnotice_fn notice; /* the server lost and back (on_notice) */
	void *notice_ctx;
	/* The chain's last event as the open write transaction sees it:
	 * taken with the chain lock (PostgreSQL's chain_head) or read once,
	 * then moved by each event this transaction adds (jr_event). */
	bool head_known;
	bool head_moved;     /* events added: chain_head to update before
	                        the commit (PostgreSQL) */
	int64_t head_id;
	char head_hash[65];
};

/* Whether the journal is on PostgreSQL. */
bool jr_pg(const cs_journal *j);

/* Timestamps: "2024-04-01T09:30:00.123Z" and its NUL. */
#define JR_TIME_LEN 32
void jr_now(char buf[JR_TIME_LEN]);

void jr_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepare sql and bind the arguments fmt lists, one letter each:
 * i int64_t, n int64_t where 0 binds NULL, s const char * (NULL binds
 * NULL); cs_db_prepare_fmt's letters. Returns a cs_err. */
int jr_prepare(cs_journal *j, cs_db_stmt **st, const char *sql,
    const char *fmt, ...);
/* Prepare, bind, step until done, finalize: CS_OK when the statement
 * ran; j->changes has the rows it changed and j->last_id the first
 * column of its first row (INSERT ... RETURNING id). */
int jr_run(cs_journal *j, const char *sql, const char *fmt, ...);
/* cs_db_step, and outside a transaction, on a lost connection, wait for
 * the server and step again (a read is safe to redo). */
int jr_step(cs_journal *j, cs_db_stmt *st);
/* Say what failed into why: returns r. */
int jr_err(cs_journal *j, int r, char *why, size_t whylen,
    const char *doing);
/* The function of the backend's SQL that finds b in a: instr(a, b) on
 * SQLite, strpos(a, b) on PostgreSQL. */
const char *jr_instr(const cs_journal *j);

/* A change of this API: a write transaction (SQLite's BEGIN IMMEDIATE;
 * on PostgreSQL READ COMMITTED and the chain head's row lock, which
 * serialises writers as SQLite does), or a savepoint inside the caller's
 * transaction. jr_tx_leave commits or rolls back by r and returns r (or
 * the commit's failure). A connection to the server found lost when a
 * transaction starts is waited for (jr_wait_server) before it starts. */
int jr_tx_enter(cs_journal *j, char *why, size_t whylen);
/* The connection to the journal server is lost: say so (code
 * journal.server-lost), reconnect until the server answers again
 * (journal.server-back) or $JR_WAIT_ENV seconds (default JR_WAIT_S)
 * have passed. */
#define JR_WAIT_ENV "CARDSTATION_JOURNAL_WAIT"
#define JR_WAIT_S 600
int jr_wait_server(cs_journal *j, char *why, size_t whylen);
/* After a change of this API failed: whether it should be done again,
 * because the server was lost before its transaction's commit (so none
 * of it is in) and is back now. Not inside the caller's transaction
 * (cs_journal_begin), which is gone whole: the caller redoes it. A commit
 * whose answer was lost is not redone: it may be in. */
bool jr_redo(cs_journal *j);
/* The body of each change of this API: its one transaction, called
 * again while jr_redo says so; returns the last answer. */
#define JR_REDO_RETURN(j, call) do { \
		int jr_r_; \
		while ((jr_r_ = (call)) != CS_OK && jr_redo(j)) \
			; \
		return jr_r_; \
	} while (0)
int jr_tx_leave(cs_journal *j, int r, char *why, size_t whylen);
bool jr_writable(cs_journal *j, char *why, size_t whylen);

/* Reading a row column by column; err keeps the first failure. */
struct jr_cols {
	cs_db_stmt *s;
	int i;
	int err;
};
char *jr_next_str(struct jr_cols *c);
int64_t jr_next_int(struct jr_cols *c);
int jr_name_index(const char *const *names, size_t n, const char *s);
/* A decimal serial without its leading zeros (the stored form); anything
 * else as it is. */
const char *jr_serial(const char *s);

/* State names, in enum order (cs_journal.c). */
extern const char *const jr_run_states[3];
extern const char *const jr_modes[2];
extern const char *const jr_rec_states[5];
extern const char *const jr_card_states[7];
extern const char *const jr_outcomes[7];
#define JR_N(a) (sizeof(a) / sizeof((a)[0]))

/* A new in-memory SQLite database with the schema this version creates
 * (every migration applied): what a journal's own schema must equal. */
int jr_schema_reference(cs_db **out);
/* Open or create the journal at path migrated only up to version: what
 * the unit tests use to make the journal of an older cardstation. */
int jr_open_at(cs_journal **out, const char *path, int version, char *why,
    size_t whylen);

/* The tables whose rows the events snapshot (cs_journal_chain.c): those
 * of cs_db_schema.h (columns and their kinds), in the order check reads
 * them. */
struct cs_db_table;
const struct cs_db_table *jr_table(const char *name);
extern const char *const jr_snap_tables[5];

/* Whether owner id (0: a claim from before owners) still runs, seen from
 * self (cs_journal_owner.c). A journal read error is UNKNOWN: nothing is
 * taken back on it. */
cs_owner_life jr_owner_life(cs_journal *j, const cs_owner *self, int64_t id);
/* PostgreSQL: take this connection's owner lock (its session holds it
 * while the owner lives), at the owner's start and after a lost server. */
int jr_owner_lock(cs_journal *j);

/* Append the event for a row change of table (row_id), with the row's new
 * snapshot; or, with table NULL, a note whose detail is {"note": reason}.
 * Inside the caller's transaction. */
int jr_event(cs_journal *j, const char *kind, const char *table,
    int64_t row_id, int64_t run_id, int64_t record_id, int64_t card_id,
    const char *reason);
/* Make j->head_id/head_hash the chain's last event (read once in a write
 * transaction, unless the chain lock gave it). */
int jr_chain_head(cs_journal *j);
/* PostgreSQL: lock chain_head (the one write lock), its row the head. */
int jr_chain_lock(cs_journal *j);
/* PostgreSQL: write the head the transaction's events moved into
 * chain_head (before its commit, or a check inside it). */
int jr_chain_head_store(cs_journal *j);

#endif
