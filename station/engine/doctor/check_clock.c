/* check_clock.c - is the clock plausible and synchronised? */
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

static void fmt_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

/* --- clock --------------------------------------------------------- */

void cs_doctor_check_clock(cs_findings *fs, time_t now, time_t built,
    int ntp_synced)
{
	char snow[40], sbuilt[40];
	cs_finding *f;

	fmt_time(now, snow, sizeof(snow));
	fmt_time(built, sbuilt, sizeof(sbuilt));
	/* A day of slack: the build date has no time of day or zone. */
	if (built > 0 && now < built - 24 * 3600) {
		f = cs_findings_add(fs, CS_SEV_FAIL, "clock",
		    "doctor.clock.before-build", "now", snow, "built", sbuilt,
		    NULL);
		cs_finding_advise(f, "todo.clock.set", NULL);
	} else if (built > 0 && now > built + CLOCK_FUTURE_SECS) {
		f = cs_findings_add(fs, CS_SEV_WARN, "clock",
		    "doctor.clock.far-future", "now", snow, "built", sbuilt,
		    NULL);
		cs_finding_advise(f, "todo.clock.check", NULL);
	} else
		cs_findings_add(fs, CS_SEV_OK, "clock", "doctor.clock.ok",
		    "now", snow, NULL);
	if (ntp_synced == 0) {
		f = cs_findings_add(fs, CS_SEV_INFO, "clock",
		    "doctor.clock.not-synced", NULL);
		cs_finding_advise(f, "todo.clock.ntp", NULL);
	}
}

static int ntp_synced(void)
{
	struct timex tx;

	memset(&tx, 0, sizeof(tx));
	/* modes 0 only reads; TIME_ERROR means "not synchronised". */
	return adjtimex(&tx) == TIME_ERROR ? 0 : 1;
}


void dr_clock(dr_state *s)
{
	cs_doctor_check_clock(s->out, s->o->now, s->o->built, ntp_synced());
}
