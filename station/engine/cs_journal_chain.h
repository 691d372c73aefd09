/* cs_journal_chain.h - the event chain's parts that `log check`
 * (cs_journal_check.c) recomputes: how an event is hashed, how a row is
 * snapshot. Private to cs_journal_chain.c and cs_journal_check.c. */
#ifndef CS_JOURNAL_CHAIN_H
#define CS_JOURNAL_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cs_db_schema.h"
#include "cs_journal_int.h"

#define JR_ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define JR_SNAPSHOT_MAX 4096

/* The fields of one event as hashed. Integers are hashed as decimal text;
 * NULL is a distinct tag, so NULL and "" never collide. */
struct jr_ev {
	int64_t id;
	const char *at;
	int64_t run_id, record_id, card_id; /* 0: NULL */
	const char *reader, *op, *kind, *detail, *prev_hash;
};

int jr_ev_hash(const struct jr_ev *e, char out[65]);
/* Whether table t has column col (NULL: the table itself) in version. */
bool jr_has_col(const struct cs_db_table *t, const char *col, int version);
/* The columns of t's snapshot in version: "SELECT c1, c2 ... FROM t" into
 * sql, and their names and kinds for cs_db_json_row. */
struct jr_snap {
	const char *cols[32];
	char kinds[32];
};
int jr_snap_cols(const struct cs_db_table *t, int version, bool pg,
    char *sql, size_t len, struct jr_snap *out);

/* Reading JSON text (event details and notes) without the database's
 * JSON functions, which PostgreSQL does not share with SQLite. */
/* Whether s is one JSON value (with white space around). */
bool jr_json_valid(const char *s);
/* The value of key in the object s: 1 and its text (*v, *vlen), 0 when s
 * has no such member or is no object. */
int jr_json_get(const char *s, const char *key, const char **v,
    size_t *vlen);
/* A value as SQLite's json_extract gives it: NULL for null (*out NULL),
 * a string unescaped, true 1, false 0, a number or an object as its
 * text. */
int jr_json_text(const char *v, size_t vlen, char **out);
/* The first member key whose value differs between two objects, by type
 * and value; a member one lacks and the other has as null is no
 * difference. "" when none. */
void jr_json_diff(const char *a, const char *b, char *key, size_t keylen);

#endif
