/* cs_journal.c - opening the journal, its schema, transactions, runs. */
#include "cs_err.h"
#include "cs_db.h"
#include "cs_journal.h"
#include "cs_journal_int.h"
#include "cs_journal_chain.h"
#include "cs_db_schema.h"
#include "cs_i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long a writer waits for another connection's transaction. Writes
 * are short (one row and one event), so this is generous on purpose: a
 * reader worker must not give up because a neighbour fsyncs. */
#define BUSY_TIMEOUT_MS 30000

const char *const jr_run_states[3] = {"open", "done", "cancelled"};
const char *const jr_modes[2] = {"queue", "pairing"};
const char *const jr_rec_states[5] = {
	"refused", "queued", "claimed", "done", "revoked"};
const char *const jr_card_states[7] = {
	"blank", "partial", "issued", "wiped", "lost", "returned", "retired"};
const char *const jr_outcomes[7] = {
	"writing", "verified", "failed", "interrupted", "wiped", "revoked",
	"superseded"};

/* Schema migrations: entry k takes a journal from version k to k + 1.
 * Never edit a released entry; append one. A column added to runs,
 * records, cards or issuances must be added to its snapshot too
 * (cs_journal_chain.c), or `log check` cannot see edits of it. */
static const char *const MIGRATIONS[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" created TEXT NOT NULL,"
	" certs_zip TEXT, pins_zip TEXT, certs_sha256 TEXT, pins_sha256 TEXT,"
	" profile TEXT,"
	" mode TEXT NOT NULL CHECK (mode IN ('queue', 'pairing')),"
	" operator TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('open', 'done', 'cancelled')));"
	"CREATE TABLE cards ("
	" id INTEGER PRIMARY KEY,"
	" chip_serial TEXT UNIQUE COLLATE NOCASE,"
	" pkcs15_serial TEXT, printed_no TEXT, atr TEXT, model TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('blank', 'partial', 'issued',"
	"  'wiped', 'lost', 'returned')),"
	" first_seen TEXT NOT NULL, last_seen TEXT NOT NULL);"
	"CREATE INDEX cards_printed ON cards(printed_no);"
	"CREATE TABLE records ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" seq INTEGER NOT NULL,"
	/* up to 20 octets (RFC 5280): decimal text, never an integer column */
	" serial TEXT CHECK (serial IS NULL OR"
	"  (serial <> '' AND serial NOT GLOB '*[^0-9]*')),"
	" holder TEXT, mail TEXT, dn TEXT, staff_no TEXT, profile TEXT,"
	" not_after TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('refused', 'queued', 'claimed',"
	"  'done', 'revoked')),"
	" problem TEXT, reason TEXT, claimed_by TEXT,"
	" pending_card_id INTEGER REFERENCES cards(id),"
	" card_id INTEGER REFERENCES cards(id),"
	" UNIQUE (run_id, seq));"
	/* A refused duplicate may repeat a serial; live records may not. */
	"CREATE UNIQUE INDEX records_serial ON records(run_id, serial)"
	" WHERE serial IS NOT NULL AND state <> 'refused';"
	"CREATE INDEX records_queue ON records(run_id, state, seq);"
	"CREATE TABLE issuances ("
	" id INTEGER PRIMARY KEY,"
	" record_id INTEGER NOT NULL REFERENCES records(id),"
	" card_id INTEGER NOT NULL REFERENCES cards(id),"
	" cert_serial TEXT NOT NULL CHECK (cert_serial <> '' AND"
	"  cert_serial NOT GLOB '*[^0-9]*'),"
	" holder TEXT, mail TEXT, reader TEXT, operator TEXT,"
	" started TEXT NOT NULL, finished TEXT,"
	" outcome TEXT NOT NULL CHECK (outcome IN ('writing', 'verified',"
	"  'failed', 'interrupted', 'wiped', 'revoked')),"
	" reason TEXT);"
	/* The database itself refuses one certificate on two live cards. */
	"CREATE UNIQUE INDEX issuances_live_cert ON issuances(cert_serial)"
	" WHERE outcome IN ('writing', 'verified');"
	"CREATE INDEX issuances_card ON issuances(card_id);"
	"CREATE INDEX issuances_record ON issuances(record_id);"
	"CREATE INDEX issuances_serial ON issuances(cert_serial);"
	/* No foreign keys: the audit trail must outlive anything. */
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" at TEXT NOT NULL,"
	" run_id INTEGER, record_id INTEGER, card_id INTEGER,"
	" reader TEXT, operator TEXT,"
	" kind TEXT NOT NULL, detail TEXT NOT NULL,"
	" prev_hash TEXT NOT NULL, hash TEXT NOT NULL);",
	/* 1 -> 2: claims have owners (the station process that took them, so
	 * that only a claim whose owner is gone is taken back); a record
	 * knows its key type (a card takes only the records its profile can
	 * hold). Old snapshots lack the new columns: check reads a missing
	 * key as NULL. */
	"CREATE TABLE owners ("
	" id INTEGER PRIMARY KEY,"
	" host TEXT NOT NULL, boot_id TEXT NOT NULL, procfs TEXT NOT NULL,"
	" pid INTEGER NOT NULL, start INTEGER NOT NULL,"
	" reader TEXT, started TEXT NOT NULL, ended TEXT);"
	"CREATE INDEX owners_live ON owners(host, reader) WHERE ended IS NULL;"
	"ALTER TABLE records ADD COLUMN owner_id INTEGER REFERENCES owners(id);"
	"ALTER TABLE records ADD COLUMN key_type TEXT;",
	/* 2 -> 3: a card may be retired (never written again) and an
	 * issuance superseded (a renewal took its place on the same card);
	 * a card says how its identity was obtained (NULL or 'cplc': read
	 * from the chip; 'assigned': written by the station). SQLite cannot
	 * change a CHECK, so both tables are rebuilt as its ALTER TABLE page
	 * says: new table, copy, drop, rename, indexes again. migrate() turns
	 * foreign keys off around the transaction and runs
	 * foreign_key_check before it commits. Old snapshots lack id_source:
	 * check reads it as NULL, what the copy gave every old row. */
	"CREATE TABLE cards_v3 ("
	" id INTEGER PRIMARY KEY,"
	" chip_serial TEXT UNIQUE COLLATE NOCASE,"
	" pkcs15_serial TEXT, printed_no TEXT, atr TEXT, model TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('blank', 'partial', 'issued',"
	"  'wiped', 'lost', 'returned', 'retired')),"
	" first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,"
	" id_source TEXT);"
	"INSERT INTO cards_v3 (id, chip_serial, pkcs15_serial, printed_no, atr,"
	" model, state, first_seen, last_seen) SELECT id, chip_serial,"
	" pkcs15_serial, printed_no, atr, model, state, first_seen, last_seen"
	" FROM cards;"
	"DROP TABLE cards;"
	"ALTER TABLE cards_v3 RENAME TO cards;"
	"CREATE INDEX cards_printed ON cards(printed_no);"
	"CREATE TABLE issuances_v3 ("
	" id INTEGER PRIMARY KEY,"
	" record_id INTEGER NOT NULL REFERENCES records(id),"
	" card_id INTEGER NOT NULL REFERENCES cards(id),"
	" cert_serial TEXT NOT NULL CHECK (cert_serial <> '' AND"
	"  cert_serial NOT GLOB '*[^0-9]*'),"
	" holder TEXT, mail TEXT, reader TEXT, operator TEXT,"
	" started TEXT NOT NULL, finished TEXT,"
	" outcome TEXT NOT NULL CHECK (outcome IN ('writing', 'verified',"
	"  'failed', 'interrupted', 'wiped', 'revoked', 'superseded')),"
	" reason TEXT);"
	"INSERT INTO issuances_v3 (id, record_id, card_id, cert_serial, holder,"
	" mail, reader, operator, started, finished, outcome, reason) SELECT id,"
	" record_id, card_id, cert_serial, holder, mail, reader, operator,"
	" started, finished, outcome, reason FROM issuances;"
	"DROP TABLE issuances;"
	"ALTER TABLE issuances_v3 RENAME TO issuances;"
	"CREATE UNIQUE INDEX issuances_live_cert ON issuances(cert_serial)"
	" WHERE outcome IN ('writing', 'verified');"
	"CREATE INDEX issuances_card ON issuances(card_id);"
	"CREATE INDEX issuances_record ON issuances(record_id);"
	"CREATE INDEX issuances_serial ON issuances(cert_serial);",
};
#define SCHEMA_VERSION ((int)JR_N(MIGRATIONS))
#define SCHEMA_VERSION_TABLE "CREATE TABLE IF NOT EXISTS schema_version (" \
	" version INTEGER PRIMARY KEY, applied TEXT NOT NULL)"

int jr_schema_reference(cs_db **out)
{
	int r;

	if ((r = cs_db_open(out, ":memory:", 0, NULL, 0)) != CS_OK)
		return r;
	r = cs_db_exec(*out, SCHEMA_VERSION_TABLE);
	for (int k = 0; r == CS_OK && k < SCHEMA_VERSION; k++)
		r = cs_db_exec(*out, MIGRATIONS[k]);
	if (r != CS_OK) {
		cs_db_close(*out);
		*out = NULL;
	}
	return r;
}

const char *cs_jrun_state_name(cs_jrun_state s)
{
	return (unsigned)s < JR_N(jr_run_states) ? jr_run_states[s] : "?";
}

const char *cs_jmode_name(cs_jmode m)
{
	return (unsigned)m < JR_N(jr_modes) ? jr_modes[m] : "?";
}

const char *cs_jrec_state_name(cs_jrec_state s)
{
	return (unsigned)s < JR_N(jr_rec_states) ? jr_rec_states[s] : "?";
}

const char *cs_jcard_state_name(cs_jcard_state s)
{
	return (unsigned)s < JR_N(jr_card_states) ? jr_card_states[s] : "?";
}

const char *cs_jissue_outcome_name(cs_jissue_outcome o)
{
	return (unsigned)o < JR_N(jr_outcomes) ? jr_outcomes[o] : "?";
}

int cs_jissue_outcome_parse(const char *name)
{
	return jr_name_index(jr_outcomes, JR_N(jr_outcomes), name);
}

const char *cs_journal_path(const char *arg)
{
	const char *env;

	if (arg != NULL && *arg != '\0')
		return arg;
	if ((env = getenv(CS_JOURNAL_ENV)) != NULL && *env != '\0')
		return env;
	return CS_JOURNAL_DEFAULT_PATH;
}

/* Make the directories above path that are missing, 0700: the journal
 * names every holder, so only the station's user may list it. */
static int make_parents(const char *path, char *why, size_t whylen)
{
	char *dir;
	int r = CS_OK;

	if ((dir = strdup(path)) == NULL)
		return CS_ERR_NOMEM;
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			jr_why(why, whylen, _("cannot create %s: %s"), dir,
			    strerror(errno));
			r = CS_ERR_IO;
			break;
		}
		*p = '/';
	}
	free(dir);
	return r;
}

/* The schema version a journal has, 0 for none (an empty file or
 * database). */
static int read_version(cs_journal *j, int *version)
{
	cs_db_stmt *st;
	int r;

	*version = 0;
	r = jr_prepare(j, &st, jr_pg(j) ? "SELECT count(*) FROM "
	    "information_schema.tables WHERE table_schema = current_schema() "
	    "AND table_name = 'schema_version'" : "SELECT count(*) FROM "
	    "sqlite_schema WHERE type = 'table' AND name = 'schema_version'",
	    NULL);
	if (r != CS_OK)
		return r;
	r = jr_step(j, st);
	if (r == CS_DB_ROW && cs_db_column_int(st, 0) == 0) {
		cs_db_finalize(st);
		return CS_OK;
	}
	cs_db_finalize(st);
	if (r != CS_DB_ROW)
		return r;
	if ((r = jr_prepare(j, &st, "SELECT coalesce(max(version), 0) FROM "
	    "schema_version", NULL)) != CS_OK)
		return r;
	if ((r = jr_step(j, st)) == CS_DB_ROW) {
		*version = (int)cs_db_column_int(st, 0);
		r = CS_OK;
	}
	cs_db_finalize(st);
	return r;
}

/* Any row foreign_key_check names: a migration that rebuilt a table
 * must leave every reference whole. */
static int fk_whole(cs_journal *j, char *why, size_t whylen)
{
	cs_db_stmt *st;
	int r;

	if ((r = jr_prepare(j, &st, "PRAGMA foreign_key_check", NULL)) != CS_OK)
		return jr_err(j, r, why, whylen, "cannot check references");
	r = cs_db_step(st);
	if (r == CS_DB_ROW)
		jr_why(why, whylen, _("journal: the migration to schema %d would "
		    "leave %s row %lld referring to a missing %s row; nothing "
		    "was changed"), SCHEMA_VERSION, cs_db_column_text(st, 0),
		    (long long)cs_db_column_int(st, 1), cs_db_column_text(st, 2));
	cs_db_finalize(st);
	if (r == CS_DB_ROW)
		return CS_ERR_STATE;
	return r == CS_DB_DONE ? CS_OK :
	    jr_err(j, r, why, whylen, "cannot check references");
}

/* Create or migrate the schema up to version upto (SCHEMA_VERSION but in
 * tests). Foreign keys are off around the transaction (a rebuilt table is
 * dropped while others refer to it; SQLite ignores the pragma inside a
 * transaction) and foreign_key_check runs before the commit. */
static int migrate(cs_journal *j, int upto, char *why, size_t whylen)
{
	char now[JR_TIME_LEN];
	int r = CS_OK, from;

	cs_db_exec(j->db, "PRAGMA foreign_keys = OFF");
	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		goto fk;
	/* Read again inside the write lock: another process may have just
	 * migrated the same file. */
	if ((r = read_version(j, &j->version)) != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot read the schema version");
		goto out;
	}
	if (j->version > SCHEMA_VERSION) {
		jr_why(why, whylen, _("the journal has schema version %d; this "
		    "cardstation knows up to %d: use a newer cardstation"),
		    j->version, SCHEMA_VERSION);
		r = CS_ERR_STATE;
		goto out;
	}
	from = j->version;
	r = cs_db_exec(j->db, SCHEMA_VERSION_TABLE);
	for (; r == CS_OK && j->version < upto; j->version++) {
		jr_now(now);
		if ((r = cs_db_exec(j->db, MIGRATIONS[j->version])) == CS_OK)
			r = jr_run(j, "INSERT INTO schema_version VALUES (?1, ?2)",
			    "is", (int64_t)j->version + 1, now);
	}
	if (r != CS_OK)
		r = jr_err(j, r, why, whylen, "cannot create or migrate the schema");
	else if (from > 0 && from < j->version)
		r = fk_whole(j, why, whylen);
out:
	r = jr_tx_leave(j, r, why, whylen);
	if (r != CS_OK)
		read_version(j, &j->version);
fk:
	if (cs_db_exec(j->db, "PRAGMA foreign_keys = ON") != CS_OK && r == CS_OK)
		r = jr_err(j, CS_ERR_DB, why, whylen, "cannot configure");
	return r;
}

/* A journal on PostgreSQL: its schema is the administrator's (`journal
 * init`, docs/postgresql.md); a station's role may not change it. */
static int pg_schema(cs_journal *j, const char *target, char *why,
    size_t whylen)
{
	int r;

	if ((r = read_version(j, &j->version)) != CS_OK)
		return jr_err(j, r, why, whylen, "cannot read the schema version");
	if (j->version == 0) {
		jr_why(why, whylen, _("the journal database %s has no tables yet: "
		    "create them with `cardstation journal init` as the role that "
		    "owns them (docs/postgresql.md)"), target);
		return CS_ERR_FORMAT;
	}
	if (j->version != CS_DB_PG_VERSION) {
		jr_why(why, whylen, _("the journal database %s has schema version "
		    "%d; this cardstation uses %d (docs/postgresql.md)"), target,
		    j->version, CS_DB_PG_VERSION);
		return j->version > CS_DB_PG_VERSION ? CS_ERR_FORMAT : CS_ERR_STATE;
	}
	return CS_OK;
}

static int open_at(cs_journal **out, const char *path, int flags,
    int upto, char *why, size_t whylen)
{
	cs_journal *j;
	int r;

	*out = NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return CS_ERR_NOMEM;
	j->rdonly = (flags & CS_JOURNAL_RDONLY) != 0;
	if (!j->rdonly && !cs_db_is_uri(path) &&
	    (r = make_parents(path, why, whylen)) != CS_OK)
		goto fail;
	/* One connection per thread. A SQLite file is created 0600. */
	if ((r = cs_db_open(&j->db, path, j->rdonly ? CS_DB_RDONLY :
	    CS_DB_CREATE, why, whylen)) != CS_OK)
		goto fail;
	if (jr_pg(j)) {
		if ((r = pg_schema(j, path, why, whylen)) != CS_OK)
			goto fail;
	} else if (j->rdonly) {
		if ((r = read_version(j, &j->version)) != CS_OK) {
			r = jr_err(j, r, why, whylen, "cannot read the schema version");
			goto fail;
		}
		if (j->version == 0 || j->version > SCHEMA_VERSION) {
			jr_why(why, whylen, j->version == 0 ?
			    "%s is not a cardstation journal" :
			    "%s is from a newer cardstation", path);
			r = CS_ERR_FORMAT;
			goto fail;
		}
		/* Reading an older schema with this version's queries would
		 * fail on the first new column, less clearly. */
		if (j->version < upto) {
			jr_why(why, whylen, _("%s has schema version %d, older than "
			    "this cardstation's %d: the first command that writes "
			    "it (encode, run new, a card command) migrates it; "
			    "until then it is read by the cardstation that wrote "
			    "it"), path, j->version, upto);
			r = CS_ERR_FORMAT;
			goto fail;
		}
	} else if ((r = migrate(j, upto, why, whylen)) != CS_OK)
		goto fail;
	*out = j;
	return CS_OK;
fail:
	cs_journal_close(j);
	return r;
}

int cs_journal_open(cs_journal **out, const char *path, int flags,
    char *why, size_t whylen)
{
	return open_at(out, path, flags, SCHEMA_VERSION, why, whylen);
}

int jr_open_at(cs_journal **out, const char *path, int version, char *why,
    size_t whylen)
{
	if (version < 1 || version > SCHEMA_VERSION)
		return CS_ERR_USAGE;
	return open_at(out, path, 0, version, why, whylen);
}

void cs_journal_close(cs_journal *j)
{
	if (j == NULL)
		return;
	if ((j->in_tx || j->in_write) && j->db != NULL)
		cs_db_rollback(j->db);
	cs_db_close(j->db);
	free(j->operator_name);
	free(j->reader);
	free(j);
}

int cs_journal_version(cs_journal *j)
{
	return j->version;
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s != NULL && (*out = strdup(s)) == NULL)
		return CS_ERR_NOMEM;
	return CS_OK;
}

int cs_journal_set_actor(cs_journal *j, const char *operator_name,
    const char *reader)
{
	char *o, *r;

	if (dup_opt(operator_name, &o) != CS_OK)
		return CS_ERR_NOMEM;
	if (dup_opt(reader, &r) != CS_OK) {
		free(o);
		return CS_ERR_NOMEM;
	}
	free(j->operator_name);
	free(j->reader);
	j->operator_name = o;
	j->reader = r;
	return CS_OK;
}

int cs_journal_begin(cs_journal *j, char *why, size_t whylen)
{
	int r;

	if (j->in_tx) {
		jr_why(why, whylen, _("a journal transaction is already open"));
		return CS_ERR_STATE;
	}
	if ((r = jr_tx_enter(j, why, whylen)) == CS_OK)
		j->in_tx = true;
	return r;
}

int cs_journal_commit(cs_journal *j, char *why, size_t whylen)
{
	if (!j->in_tx) {
		jr_why(why, whylen, _("no journal transaction is open"));
		return CS_ERR_STATE;
	}
	j->in_tx = false;
	return jr_tx_leave(j, CS_OK, why, whylen);
}

int cs_journal_rollback(cs_journal *j)
{
	if (!j->in_tx)
		return CS_ERR_STATE;
	j->in_tx = false;
	return jr_tx_leave(j, CS_ERR_STATE, NULL, 0) == CS_ERR_STATE ?
	    CS_OK : CS_ERR_DB;
}

/* --- runs ----------------------------------------------------------- */

#define RUN_COLS "id, created, certs_zip, pins_zip, certs_sha256, " \
	"pins_sha256, profile, mode, operator, state"

static int run_from_row(cs_db_stmt *st, cs_jrun *r)
{
	struct jr_cols c = {st, 0, CS_OK};
	char *mode, *state;

	memset(r, 0, sizeof(*r));
	r->id = jr_next_int(&c);
	r->created = jr_next_str(&c);
	r->certs_zip = jr_next_str(&c);
	r->pins_zip = jr_next_str(&c);
	r->certs_sha256 = jr_next_str(&c);
	r->pins_sha256 = jr_next_str(&c);
	r->profile = jr_next_str(&c);
	mode = jr_next_str(&c);
	r->operator_name = jr_next_str(&c);
	state = jr_next_str(&c);
	r->mode = jr_name_index(jr_modes, JR_N(jr_modes), mode) ==
	    CS_JMODE_PAIRING ? CS_JMODE_PAIRING : CS_JMODE_QUEUE;
	r->state = (cs_jrun_state)jr_name_index(jr_run_states,
	    JR_N(jr_run_states), state);
	free(mode);
	free(state);
	if (c.err != CS_OK)
		cs_jrun_clear(r);
	return c.err;
}

void cs_jrun_clear(cs_jrun *r)
{
	if (r == NULL)
		return;
	free(r->created);
	free(r->certs_zip);
	free(r->pins_zip);
	free(r->certs_sha256);
	free(r->pins_sha256);
	free(r->profile);
	free(r->operator_name);
	memset(r, 0, sizeof(*r));
}

static int run_create_once(cs_journal *j, const cs_jrun *in, int64_t *id,
    char *why, size_t whylen)
{
	char now[JR_TIME_LEN];
	int r;
	int64_t rid = 0;

	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	jr_now(now);
	r = jr_run(j, "INSERT INTO runs (created, certs_zip, pins_zip, "
	    "certs_sha256, pins_sha256, profile, mode, operator, state) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'open') RETURNING id",
	    "ssssssss", now, in->certs_zip, in->pins_zip, in->certs_sha256,
	    in->pins_sha256, in->profile, cs_jmode_name(in->mode),
	    in->operator_name);
	if (r != CS_OK) {
		r = jr_err(j, r, why, whylen, "cannot create the run");
		goto out;
	}
	rid = j->last_id;
	if ((r = jr_event(j, "run.create", "runs", rid, rid, 0, 0, NULL)) != CS_OK)
		jr_why(why, whylen, _("journal: cannot write the event"));
out:
	r = jr_tx_leave(j, r, why, whylen);
	if (id != NULL)
		*id = r == CS_OK ? rid : 0;
	return r;
}

int cs_journal_run_create(cs_journal *j, const cs_jrun *in, int64_t *id,
    char *why, size_t whylen)
{
	JR_REDO_RETURN(j, run_create_once(j, in, id, why, whylen));
}

int cs_journal_run_get(cs_journal *j, int64_t id, cs_jrun *out)
{
	cs_db_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = jr_prepare(j, &st, "SELECT " RUN_COLS " FROM runs WHERE id = ?1",
	    "i", id)) != CS_OK)
		return r;
	r = jr_step(j, st);
	if (r == CS_DB_ROW)
		r = run_from_row(st, out);
	else if (r == CS_DB_DONE)
		r = CS_ERR_NOTFOUND;
	cs_db_finalize(st);
	return r;
}

int cs_journal_run_list(cs_journal *j, cs_jrun_fn fn, void *ctx)
{
	cs_db_stmt *st;
	cs_jrun run;
	int rc = CS_DB_DONE, r = CS_OK;

	if ((r = jr_prepare(j, &st, "SELECT " RUN_COLS " FROM runs ORDER BY id",
	    NULL)) != CS_OK)
		return r;
	while (r == CS_OK && (rc = jr_step(j, st)) == CS_DB_ROW) {
		if ((r = run_from_row(st, &run)) != CS_OK)
			break;
		r = fn(ctx, &run);
		cs_jrun_clear(&run);
	}
	if (r == CS_OK && rc != CS_DB_DONE)
		r = rc;
	cs_db_finalize(st);
	return r;
}

static int run_set_state_once(cs_journal *j, int64_t id, cs_jrun_state s,
    char *why, size_t whylen)
{
	int r;

	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	r = jr_run(j, "UPDATE runs SET state = ?2 WHERE id = ?1", "is", id,
	    cs_jrun_state_name(s));
	if (r != CS_OK)
		r = jr_err(j, r, why, whylen, "cannot change the run");
	else if (j->changes == 0) {
		jr_why(why, whylen, _("no run %lld"), (long long)id);
		r = CS_ERR_NOTFOUND;
	} else
		r = jr_event(j, "run.state", "runs", id, id, 0, 0, NULL);
	return jr_tx_leave(j, r, why, whylen);
}

int cs_journal_run_set_state(cs_journal *j, int64_t id, cs_jrun_state s,
    char *why, size_t whylen)
{
	JR_REDO_RETURN(j, run_set_state_once(j, id, s, why, whylen));
}

int cs_journal_run_progress(cs_journal *j, int64_t run_id, cs_jprogress *out)
{
	cs_db_stmt *st;
	int rc, r = CS_OK;

	memset(out, 0, sizeof(*out));
	if ((r = jr_prepare(j, &st, "SELECT state, count(*), "
	    "count(pending_card_id) FROM records WHERE run_id = ?1 GROUP BY "
	    "state", "i", run_id)) != CS_OK)
		return r;
	while ((rc = jr_step(j, st)) == CS_DB_ROW) {
		const char *s = cs_db_column_text(st, 0);
		int64_t n = cs_db_column_int(st, 1);

		out->total += n;
		out->waiting += cs_db_column_int(st, 2);
		switch (jr_name_index(jr_rec_states, JR_N(jr_rec_states), s)) {
		case CS_JREC_REFUSED: out->refused = n; break;
		case CS_JREC_QUEUED: out->queued = n; break;
		case CS_JREC_CLAIMED: out->claimed = n; break;
		case CS_JREC_DONE: out->done = n; break;
		case CS_JREC_REVOKED: out->revoked = n; break;
		}
	}
	if (rc != CS_DB_DONE)
		r = rc;
	cs_db_finalize(st);
	return r;
}

static int note_once(cs_journal *j, int64_t run_id, int64_t card_id,
    const char *kind, const char *text, char *why, size_t whylen)
{
	int r;

	if ((r = jr_tx_enter(j, why, whylen)) != CS_OK)
		return r;
	r = jr_event(j, kind, NULL, 0, run_id, 0, card_id, text);
	return jr_tx_leave(j, r, why, whylen);
}

int cs_journal_note(cs_journal *j, int64_t run_id, int64_t card_id,
    const char *kind, const char *text, char *why, size_t whylen)
{
	JR_REDO_RETURN(j, note_once(j, run_id, card_id, kind, text, why,
	    whylen));
}

/* A note event's text and the members fields names of it when the text
 * is a JSON object (NULL when it is not, or lacks one: never a failed
 * walk), read in C: the two databases share no JSON functions. */
static int note_fields(const char *detail, const char *const *fields,
    size_t nfields, char **text, char **field)
{
	const char *v;
	size_t vlen;
	int r = CS_OK;

	*text = NULL;
	for (size_t i = 0; i < nfields; i++)
		field[i] = NULL;
	if (!jr_json_valid(detail) || jr_json_get(detail, "note", &v, &vlen) != 1)
		return CS_OK;
	if ((r = jr_json_text(v, vlen, text)) != CS_OK || *text == NULL ||
	    *v != '"' || !jr_json_valid(*text))
		return r;
	for (size_t i = 0; r == CS_OK && i < nfields; i++)
		if (jr_json_get(*text, fields[i], &v, &vlen) == 1)
			r = jr_json_text(v, vlen, &field[i]);
	return r;
}

int cs_journal_notes(cs_journal *j, const char *kind, const cs_jfilter *f,
    const char *const *fields, size_t nfields, cs_jnote_fn fn, void *ctx)
{
	cs_db_stmt *st;
	char *text = NULL, *field[CS_JNOTE_FIELDS];
	int rc = CS_DB_DONE, r = CS_OK;

	if (nfields > CS_JNOTE_FIELDS)
		return CS_ERR_USAGE;
	if ((r = jr_prepare(j, &st, "SELECT e.id, e.run_id, e.card_id, e.at, "
	    "e.operator, e.kind, c.chip_serial, c.printed_no, e.detail FROM "
	    "events e LEFT JOIN cards c ON c.id = e.card_id WHERE e.kind = ?1 "
	    "AND (?2 = 0 OR e.run_id = ?2) AND (?3 IS NULL OR "
	    "lower(c.chip_serial) = lower(?3)) ORDER BY e.id", "sis", kind,
	    f ? f->run_id : 0, f ? f->chip_serial : NULL)) != CS_OK)
		return r;
	while (r == CS_OK && (rc = jr_step(j, st)) == CS_DB_ROW) {
		cs_jnote_view v = {0};

		if ((r = note_fields(cs_db_column_text(st, 8), fields, nfields,
		    &text, field)) == CS_OK) {
			v.event_id = cs_db_column_int(st, 0);
			v.run_id = cs_db_column_int(st, 1);
			v.card_id = cs_db_column_int(st, 2);
			v.at = cs_db_column_text(st, 3);
			v.operator_name = cs_db_column_text(st, 4);
			v.kind = cs_db_column_text(st, 5);
			v.chip_serial = cs_db_column_text(st, 6);
			v.printed_no = cs_db_column_text(st, 7);
			v.text = text;
			for (size_t i = 0; i < nfields; i++)
				v.field[i] = field[i];
			r = fn(ctx, &v);
		}
		free(text);
		for (size_t i = 0; i < nfields; i++)
			free(field[i]);
	}
	if (r == CS_OK && rc != CS_DB_DONE)
		r = rc;
	cs_db_finalize(st);
	return r;
}
