/* cs_doctor.c - the station's health checks: findings, options and the
 * walk over the table of checks. Each check is a file of its own in
 * doctor/ (dr_table.c lists them) that looks at one thing and says what it
 * found and what to do. */
#include "cs_doctor.h"
#include "doctor/dr.h"
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

#ifndef CS_OPENSC_TOOL_PATH
#define CS_OPENSC_TOOL_PATH "/usr/bin/opensc-tool"
#endif
#ifndef CS_PCSCD_PATH
#define CS_PCSCD_PATH "/usr/sbin/pcscd"
#endif

/* --- findings ------------------------------------------------------ */

cs_finding *cs_findings_add(cs_findings *fs, cs_severity sev,
    const char *check, const char *code, ...)
{
	cs_finding *f;
	va_list ap;

	if (fs->nomem)
		return NULL;
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 16;
		void *t = realloc(fs->f, cap * sizeof(*fs->f));

		if (t == NULL) {
			fs->nomem = 1;
			return NULL;
		}
		fs->f = t;
		fs->cap = cap;
	}
	f = &fs->f[fs->n++];
	memset(f, 0, sizeof(*f));
	f->sev = sev;
	snprintf(f->check, sizeof(f->check), "%s", check);
	snprintf(f->code, sizeof(f->code), "%s", code);
	va_start(ap, code);
	cs_params_vpack(f->params, sizeof(f->params), ap);
	va_end(ap);
	cs_code_text(f->code, f->params, f->what, sizeof(f->what));
	return f;
}

void cs_finding_advise(cs_finding *f, const char *code, ...)
{
	va_list ap;

	if (f == NULL)
		return;
	snprintf(f->todo_code, sizeof(f->todo_code), "%s", code);
	va_start(ap, code);
	cs_params_vpack(f->todo_params, sizeof(f->todo_params), ap);
	va_end(ap);
	cs_code_text(f->todo_code, f->todo_params, f->todo, sizeof(f->todo));
}

void cs_findings_free(cs_findings *fs)
{
	if (fs == NULL)
		return;
	free(fs->f);
	memset(fs, 0, sizeof(*fs));
}

cs_severity cs_findings_worst(const cs_findings *fs)
{
	cs_severity w = CS_SEV_OK;

	for (size_t i = 0; i < fs->n; i++)
		if (fs->f[i].sev > w)
			w = fs->f[i].sev;
	return w;
}

const char *cs_severity_name(cs_severity sev)
{
	switch (sev) {
	case CS_SEV_OK:
		return "ok";
	case CS_SEV_INFO:
		return "info";
	case CS_SEV_WARN:
		return "warn";
	case CS_SEV_FAIL:
		return "fail";
	}
	return "?";
}

/* --- options ------------------------------------------------------- */

time_t cs_doctor_build_time(void)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *d = __DATE__; /* "Mmm dd yyyy" */
	struct tm tm;
	const char *m;

	memset(&tm, 0, sizeof(tm));
	if ((m = strstr(months, (char[4]){d[0], d[1], d[2], '\0'})) == NULL)
		return 0;
	tm.tm_mon = (int)(m - months) / 3;
	tm.tm_mday = atoi(d + 4);
	tm.tm_year = atoi(d + 7) - 1900;
	return timegm(&tm);
}

void cs_doctor_opts_init(cs_doctor_opts *o)
{
	memset(o, 0, sizeof(*o));
	/* Where every other command looks: $CARDSTATION_JOURNAL and
	 * $CARDSTATION_PROFILES first, then the installed places. */
	o->journal = cs_journal_path(NULL);
	o->profiles_dir = cs_profile_dir();
	o->drivers_dir = CS_PCSC_DRIVERS_DIR;
	o->pcscd = CS_PCSCD_PATH;
	o->opensc_tool = CS_OPENSC_TOOL_PATH;
	o->kiosk_group = "cardstation";
	o->skip = "";
	o->now = time(NULL);
	o->built = cs_doctor_build_time();
}

static int skipped(const cs_doctor_opts *o, const char *check)
{
	const char *p = o->skip;
	size_t l = strlen(check);

	while ((p = strstr(p, check)) != NULL) {
		if ((p == o->skip || p[-1] == ',' || p[-1] == ' ') &&
		    (p[l] == '\0' || p[l] == ',' || p[l] == ' '))
			return 1;
		p += l;
	}
	return 0;
}

/* --- all ------------------------------------------------------------- */

/* Every check of the table (doctor/dr_table.c) in its order. */
int cs_doctor_run(const cs_doctor_opts *o, cs_findings *out)
{
	dr_state s;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.out = out;
	for (size_t i = 0; i < dr_nchecks && s.r == CS_OK; i++) {
		if (skipped(o, dr_checks[i].name)) {
			if (dr_checks[i].flags & DR_GATE)
				break;
			continue;
		}
		dr_checks[i].run(&s);
	}
	if (s.ctx != 0)
		SCardReleaseContext(s.ctx);
	free(s.st);
	cs_reader_list_free(&s.rl);
	cs_usb_list_free(&s.usb);
	cs_usb_drivers_free(&s.drv);
	if (s.r == CS_OK && out->nomem)
		s.r = CS_ERR_NOMEM;
	return s.r;
}
