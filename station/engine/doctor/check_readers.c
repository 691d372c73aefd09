/* check_readers.c - does each reader see its card, and share it? */
#include "dr.h"
#include "cs_profile.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_child.h"
#include "cs_i18n.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <winscard.h>

/* --- readers, sharing ---------------------------------------------- */

static void hexstr(const unsigned char *p, size_t n, char *out,
    size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o + 3 <= outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%02X", p[i]);
}


static void check_readers(cs_findings *fs, SCARDCONTEXT ctx,
    cs_reader_list *rl, dr_reader_state *st)
{
	char spec[CS_READER_NAME + 8], atr[2 * MAX_ATR_SIZE + 1];
	char holders[1024];
	cs_finding *f;

	if (rl->n == 0) {
		f = cs_findings_add(fs, CS_SEV_WARN, "readers",
		    "doctor.readers.none", NULL);
		cs_finding_advise(f, "todo.readers.plug", NULL);
		return;
	}
	for (size_t i = 0; i < rl->n; i++) {
		cs_reader_watch w;
		cs_reader_event ev;
		const cs_reader *r = &rl->r[i];
		SCARDHANDLE h;
		DWORD proto;
		LONG rv;

		cs_reader_stable_spec(rl, r, spec, sizeof(spec));
		cs_reader_watch_init(&w, r->name);
		if (cs_reader_wait(ctx, &w, 0, &ev) != CS_OK ||
		    ev == CS_READER_EV_GONE) {
			cs_findings_add(fs, CS_SEV_INFO, "readers",
			    "doctor.readers.gone", "index",
			    dr_fmt(DR_NUM, "%zu", i), "reader", r->name, NULL);
			continue;
		}
		st[i].present = w.present;
		st[i].mute = w.mute;
		if (!w.present) {
			cs_findings_add(fs, CS_SEV_OK, "readers",
			    "doctor.readers.empty", "index",
			    dr_fmt(DR_NUM, "%zu", i), "reader", r->name, "spec",
			    spec, NULL);
			continue;
		}
		hexstr(w.atr, w.atrlen, atr, sizeof(atr));
		if (w.mute) {
			f = cs_findings_add(fs, CS_SEV_WARN, "readers",
			    "doctor.readers.mute-card", "index",
			    dr_fmt(DR_NUM, "%zu", i), "reader", r->name, NULL);
			cs_finding_advise(f, "todo.readers.turn-card", NULL);
			continue;
		}
		/* A shared connection is what cardstation and OpenSC use;
		 * if it is refused, someone holds the card exclusively. */
		rv = SCardConnect(ctx, r->name, SCARD_SHARE_SHARED,
		    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto);
		if (rv == SCARD_S_SUCCESS) {
			SCardDisconnect(h, SCARD_LEAVE_CARD);
			cs_findings_add(fs, CS_SEV_OK, "readers",
			    "doctor.readers.card", "index",
			    dr_fmt(DR_NUM, "%zu", i), "reader", r->name, "spec",
			    spec, "atr", atr, NULL);
		} else if (rv == SCARD_E_SHARING_VIOLATION || w.exclusive) {
			st[i].exclusive = 1;
			dr_pcsc_clients(holders, sizeof(holders));
			f = cs_findings_add(fs, CS_SEV_FAIL, "readers",
			    holders[0] ? "doctor.readers.exclusive-by" :
			    "doctor.readers.exclusive",
			    "index", dr_fmt(DR_NUM, "%zu", i), "reader",
			    r->name, "holders", holders, NULL);
			cs_finding_advise(f, "todo.readers.close-holder", NULL);
		} else {
			f = cs_findings_add(fs, CS_SEV_WARN, "readers",
			    "doctor.readers.cannot-connect", "index",
			    dr_fmt(DR_NUM, "%zu", i), "reader", r->name,
			    "detail", pcsc_stringify_error(rv), NULL);
			cs_finding_advise(f, "todo.readers.reinsert", NULL);
		}
	}
	/* Identical readers without serial or known position can only be
	 * told apart by index, which changes with plugging order. */
	for (size_t i = 0; i < rl->n; i++) {
		size_t same = 0;

		if (rl->r[i].serial[0] || rl->r[i].position[0])
			continue;
		for (size_t k = 0; k < rl->n; k++)
			if (strcmp(rl->r[k].model, rl->r[i].model) == 0 &&
			    rl->r[k].slot == rl->r[i].slot)
				same++;
		if (same > 1) {
			f = cs_findings_add(fs, CS_SEV_INFO, "readers",
			    "doctor.readers.same-name", "count",
			    dr_fmt(DR_NUM, "%zu", same), "model",
			    rl->r[i].model, NULL);
			cs_finding_advise(f, "todo.readers.same-socket", NULL);
			break;
		}
	}
}


void dr_readers(dr_state *s)
{
	if (s->ctx != 0)
		check_readers(s->out, s->ctx, &s->rl, s->st);
}
