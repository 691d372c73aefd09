/* check_setup.c - are the udev rules and the kiosk group in place? */
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

/* --- setup: udev rules and group ----------------------------------- */

static void check_setup(cs_findings *fs, const cs_doctor_opts *o)
{
	/* Where udev reads rules; /usr/local is not among them, a common
	 * trap after `cmake --install` with the default prefix. */
	static const char *const dirs[] = {"/etc/udev/rules.d",
	    "/run/udev/rules.d", "/usr/lib/udev/rules.d",
	    "/lib/udev/rules.d"};
	char path[256];
	const char *found = NULL;
	cs_finding *f;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !found;
	    i++) {
		snprintf(path, sizeof(path), "%s/70-cardstation.rules",
		    dirs[i]);
		if (access(path, R_OK) == 0)
			found = dirs[i];
	}
	if (found)
		cs_findings_add(fs, CS_SEV_OK, "setup", "doctor.setup.udev",
		    "dir", found, NULL);
	else if (access("/usr/local/lib/udev/rules.d/70-cardstation.rules",
	    R_OK) == 0) {
		f = cs_findings_add(fs, CS_SEV_WARN, "setup",
		    "doctor.setup.udev-local", NULL);
		cs_finding_advise(f, "todo.setup.udev-prefix", NULL);
	} else {
		f = cs_findings_add(fs, CS_SEV_WARN, "setup",
		    "doctor.setup.no-udev", NULL);
		cs_finding_advise(f, "todo.setup.udev-install", NULL);
	}
	if (getgrnam(o->kiosk_group) == NULL) {
		f = cs_findings_add(fs, CS_SEV_WARN, "setup",
		    "doctor.setup.no-group", "group", o->kiosk_group, NULL);
		cs_finding_advise(f, "todo.setup.group", "group",
		    o->kiosk_group, NULL);
	} else
		cs_findings_add(fs, CS_SEV_OK, "setup", "doctor.setup.group",
		    "group", o->kiosk_group, NULL);
}


void dr_setup(dr_state *s)
{
	check_setup(s->out, s->o);
}
