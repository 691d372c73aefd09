/* ks_guard.c - a card's PIN and PUK tries, spent only on purpose.
 *
 * A card blocks its PIN after a few wrong tries (IsoApplet: 3) and its PUK
 * for good after 5: a program that may send PINs can destroy cards. So
 * before a PIN or PUK goes to a card through the API:
 *   - no try left: refused (sending it would change nothing);
 *   - one try left: refused unless the page says the operator confirmed
 *     it (the holder was told this is the last try);
 *   - wrong tries in a row on this card: the next waits 5 s, then 10, 20,
 *     ... up to 5 minutes (per card, whoever sends it, every session).
 * The card itself says how many PIN tries are left (VERIFY without data,
 * read before the PIN is sent). An IsoApplet cannot tell its PUK tries
 * without spending one, so for the PUK the guard keeps what the card said
 * in its last refusal (63Cx); a card it has not seen refuse a PUK since
 * the kiosk started counts as unknown, and an unknown count may be the
 * last try: the PUK needs the page's confirmation then too. Cards are named by chip serial
 * (or "atr:..." for a card without one: then every such card of that
 * model shares the wait). Nothing is kept on disk. */
#include "ks.h"

#include "cs_err.h"

#include <stdlib.h>
#include <string.h>

#define KS_GUARD_CARDS 64
#define KS_GUARD_BASE_MS 5000
#define KS_GUARD_MAX_MS (5 * 60 * 1000)

typedef struct ks_tries {
	unsigned wrong;       /* wrong tries in a row */
	int64_t last_fail;    /* monotonic ms */
	int left;             /* what the card said last, -1 unknown */
} ks_tries;

typedef struct ks_gcard {
	char card[96];
	int64_t used;         /* for eviction: least recently used goes */
	ks_tries t[2];
} ks_gcard;

struct ks_guard {
	pthread_mutex_t lock;
	ks_gcard c[KS_GUARD_CARDS];
};

int ks_guard_new(ks_guard **out)
{
	ks_guard *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return CS_ERR_NOMEM;
	pthread_mutex_init(&g->lock, NULL);
	*out = g;
	return CS_OK;
}

void ks_guard_free(ks_guard *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g);
}

int64_t ks_guard_delay_ms(unsigned wrong)
{
	int64_t d = KS_GUARD_BASE_MS;

	if (wrong == 0)
		return 0;
	for (unsigned i = 1; i < wrong && d < KS_GUARD_MAX_MS; i++)
		d *= 2;
	return d < KS_GUARD_MAX_MS ? d : KS_GUARD_MAX_MS;
}

static ks_gcard *find(ks_guard *g, const char *card, int add, int64_t now)
{
	ks_gcard *empty = NULL, *lru = NULL, *victim;

	for (size_t i = 0; i < KS_GUARD_CARDS; i++) {
		ks_gcard *e = &g->c[i];

		if (e->card[0] == '\0') {
			if (empty == NULL)
				empty = e;
			continue;
		}
		if (strcmp(e->card, card) == 0) {
			e->used = now;
			return e;
		}
		if (lru == NULL || e->used < lru->used)
			lru = e;
	}
	if (!add)
		return NULL;
	victim = empty != NULL ? empty : lru;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->card, sizeof(victim->card), "%s", card);
	victim->used = now;
	victim->t[0].left = victim->t[1].left = -1;
	return victim;
}

ks_guard_verdict ks_guard_check(ks_guard *g, const char *card,
    ks_try_kind kind, int tries, int confirmed, int64_t now_ms,
    int64_t *wait_ms)
{
	ks_guard_verdict v = KS_GUARD_GO;
	ks_gcard *e;
	int left;

	*wait_ms = 0;
	pthread_mutex_lock(&g->lock);
	e = find(g, card, 0, now_ms);
	left = tries >= 0 ? tries : e != NULL ? e->t[kind].left : -1;
	if (left == 0) {
		v = KS_GUARD_BLOCKED;
	} else if (e != NULL && e->t[kind].wrong > 0 &&
	    now_ms < e->t[kind].last_fail + ks_guard_delay_ms(e->t[kind].wrong)) {
		*wait_ms = e->t[kind].last_fail +
		    ks_guard_delay_ms(e->t[kind].wrong) - now_ms;
		v = KS_GUARD_WAIT;
	} else if (left == 1 && !confirmed) {
		v = KS_GUARD_LAST;
	} else if (left < 0 && kind == KS_TRY_PUK && !confirmed) {
		/* Not known is not "many": another station may have spent
		 * all but one. Fail closed. */
		v = KS_GUARD_UNKNOWN;
	}
	pthread_mutex_unlock(&g->lock);
	return v;
}

void ks_guard_result(ks_guard *g, const char *card, ks_try_kind kind,
    int ok, int tries_left, int64_t now_ms)
{
	ks_gcard *e;

	pthread_mutex_lock(&g->lock);
	if ((e = find(g, card, 1, now_ms)) != NULL) {
		ks_tries *t = &e->t[kind];

		if (ok) {
			t->wrong = 0;
			t->left = -1;  /* the card reset its counter */
		} else {
			t->wrong++;
			t->last_fail = now_ms;
			t->left = tries_left;
		}
	}
	pthread_mutex_unlock(&g->lock);
}
