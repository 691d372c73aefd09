/* jt.h - what the journal unit tests share: a fresh journal in a private
 * temporary directory, a run with people in it. */
#ifndef JT_H
#define JT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_err.h"
#include "cs_journal.h"

struct jt {
	char dir[256];
	char path[300];
	cs_journal *j;
	int64_t run;
};

static inline void jt_rm(const char *dir)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* A new journal (in a subdirectory that does not exist yet) with one open
 * queue run of n people: serials 1000..1000+n-1, mails pK@example.ac.jp,
 * staff numbers sK. Returns 0 or -1. */
static inline int jt_setup(struct jt *t, int n)
{
	const char *tmp = getenv("TMPDIR");
	char why[256];
	cs_jrun run;

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "%s/jt.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/var/journal.db", t->dir);
	if (cs_journal_open(&t->j, t->path, 0, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, "open: %s\n", why);
		return -1;
	}
	cs_journal_set_actor(t->j, "op", "R0");
	memset(&run, 0, sizeof(run));
	run.mode = CS_JMODE_QUEUE;
	run.operator_name = (char *)"op";
	if (cs_journal_run_create(t->j, &run, &t->run, why, sizeof(why)) != CS_OK)
		return -1;
	for (int i = 0; i < n; i++) {
		cs_jrecord rec;
		char serial[32], mail[64], staff[32], holder[64];

		memset(&rec, 0, sizeof(rec));
		snprintf(serial, sizeof(serial), "%d", 1000 + i);
		snprintf(mail, sizeof(mail), "p%d@example.ac.jp", i);
		snprintf(staff, sizeof(staff), "s%d", i);
		snprintf(holder, sizeof(holder), "PERSON %d", i);
		rec.run_id = t->run;
		rec.serial = serial;
		rec.mail = mail;
		rec.staff_no = staff;
		rec.holder = holder;
		if (cs_journal_record_add(t->j, &rec, NULL, why, sizeof(why)) != CS_OK) {
			fprintf(stderr, "add: %s\n", why);
			return -1;
		}
	}
	return 0;
}

static inline void jt_teardown(struct jt *t)
{
	cs_journal_close(t->j);
	t->j = NULL;
	jt_rm(t->dir);
}

/* cmocka's setup and teardown of a struct jt with n people. */
static inline int jt_new(void **state, int n)
{
	struct jt *t = calloc(1, sizeof(*t));

	if (t == NULL || jt_setup(t, n) != 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static inline int jt_free(void **state)
{
	jt_teardown(*state);
	free(*state);
	return 0;
}

/* A card by chip serial; its id. */
static inline int64_t jt_card(cs_journal *j, const char *chip)
{
	cs_jcard c;
	int64_t id = 0;
	char why[256];

	memset(&c, 0, sizeof(c));
	c.chip_serial = (char *)chip;
	if (cs_journal_card_upsert(j, &c, &id, why, sizeof(why)) != CS_OK)
		fprintf(stderr, "card: %s\n", why);
	return id;
}

#endif
