/* cs_handover.h - handover day: every card that passes through the
 * readers is verified in turn, until the front end says stop.
 *
 * The engine watches the readers (one wait on all of them, no thread per
 * reader), verifies each inserted card with cs_verify_card and keeps the
 * tally; the front end only supplies the holder's PIN when it asks per
 * card, prints each report, and says when the day ends. */
#ifndef CS_HANDOVER_H
#define CS_HANDOVER_H

#include "cs_reader.h"
#include "cs_secret.h"
#include "cs_verify.h"

#include <stddef.h>

#define CS_HANDOVER_FAILS 64

typedef struct cs_handover_tally {
	long n[3];                          /* by cs_verdict: OK, WARN, FAIL */
	/* The first failures: chip serial, reader and the first FAIL code. */
	char fails[CS_HANDOVER_FAILS][400];
	size_t nfails;
} cs_handover_tally;

typedef struct cs_handover_ops {
	/* The holder's PIN for the card in reader (*pin NULL: no key test);
	 * NULL: tmpl->pin serves every card. */
	int (*pin)(void *arg, const char *reader, cs_secret **pin);
	/* One card's report, as soon as it is made. */
	void (*report)(void *arg, const cs_vreport *r);
	/* fds[i] is readable (or hung up): nonzero ends the day. */
	int (*stop)(void *arg, int fd);
	void *arg;
} cs_handover_ops;

/* Watch readers[0..n) (PC/SC names) until ops->stop says so or a reader
 * goes away; verify each card put in (tmpl gives journal, CA, profiles,
 * PIN; its reader is set per card). fds: descriptors the front end waits
 * on beside the readers (a signalfd, the terminal). CS_OK when the day
 * ended as asked, CS_ERR_CARD when PC/SC failed, CS_ERR_USAGE for too many
 * readers (above CS_READER_WAIT_MAX). */
int cs_handover_run(SCARDCONTEXT pcsc, const char *const *readers, size_t n,
    const cs_verify_opts *tmpl, const int *fds, size_t nfds,
    const cs_handover_ops *ops, cs_handover_tally *t);

#endif
