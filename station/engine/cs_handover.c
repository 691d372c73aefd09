/* cs_handover.c - handover day (cs_handover.h). */
#include "cs_handover.h"
#include "cs_err.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

/* How long one wait on the readers lasts before the front end's
 * descriptors are looked at again: the most a stop waits. */
#define WAIT_MS 200

static void tally_add(cs_handover_tally *t, const cs_vreport *r)
{
	t->n[r->verdict]++;
	if (r->verdict != CS_VERDICT_FAIL || t->nfails == CS_HANDOVER_FAILS)
		return;
	for (size_t i = 0; i < r->nreasons; i++)
		if (r->reasons[i].level == CS_VL_FAIL) {
			snprintf(t->fails[t->nfails++], sizeof(t->fails[0]),
			    "%s (%s): %s", r->chip_serial[0] ? r->chip_serial :
			    "-", r->reader, r->reasons[i].code);
			return;
		}
}

static void verify(SCARDCONTEXT pcsc, const char *reader,
    const cs_verify_opts *tmpl, const cs_handover_ops *ops,
    cs_handover_tally *t)
{
	cs_verify_opts o = *tmpl;
	cs_secret *typed = NULL;
	cs_vreport r;
	char why[512] = "";

	o.reader = reader;
	if (ops->pin != NULL && ops->pin(ops->arg, reader, &typed) == CS_OK)
		o.pin = typed != NULL && typed->len > 0 ? cs_secret_str(typed) :
		    NULL;
	cs_verify_card(pcsc, &o, &r, why, sizeof(why));
	cs_secret_free(typed);
	tally_add(t, &r);
	ops->report(ops->arg, &r);
	cs_vreport_clear(&r);
}

/* Whether a front-end descriptor asks to end the day. */
static int stopped(const int *fds, size_t nfds, const cs_handover_ops *ops)
{
	struct pollfd pf[8];
	size_t n = nfds < 8 ? nfds : 8;

	for (size_t i = 0; i < n; i++)
		pf[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	if (n == 0 || poll(pf, n, 0) <= 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((pf[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    ops->stop(ops->arg, fds[i]))
			return 1;
	return 0;
}

int cs_handover_run(SCARDCONTEXT pcsc, const char *const *readers, size_t n,
    const cs_verify_opts *tmpl, const int *fds, size_t nfds,
    const cs_handover_ops *ops, cs_handover_tally *t)
{
	cs_reader_watch w[CS_READER_WAIT_MAX];

	memset(t, 0, sizeof(*t));
	if (n == 0 || n > CS_READER_WAIT_MAX)
		return CS_ERR_USAGE;
	for (size_t i = 0; i < n; i++)
		cs_reader_watch_init(&w[i], readers[i]);
	while (!stopped(fds, nfds, ops)) {
		cs_reader_event ev;
		size_t i;

		if (cs_reader_wait_any(pcsc, w, n, WAIT_MS, &i, &ev) != CS_OK)
			return CS_ERR_CARD;
		if (ev == CS_READER_EV_GONE || ev == CS_READER_EV_CANCELLED)
			return CS_OK;
		/* A card that does not answer (upside down) is no card. */
		if (ev == CS_READER_EV_INSERTED && !w[i].mute)
			verify(pcsc, readers[i], tmpl, ops, t);
	}
	return CS_OK;
}
