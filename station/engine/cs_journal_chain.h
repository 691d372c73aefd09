/* cs_journal_chain.h - the event chain's parts that `log check`
 * (cs_journal_check.c) recomputes: how an event is hashed, how a row is
 * snapshot. Private to cs_journal_chain.c and cs_journal_check.c. */
#ifndef CS_JOURNAL_CHAIN_H
#define CS_JOURNAL_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
bool jr_has_col(const struct jr_table *t, const char *col, int version);
/* The SQL expression of a row's snapshot (see cs_journal_chain.c). */
int jr_snapshot_sql(const struct jr_table *t, int version, char *buf,
    size_t len);

#endif
