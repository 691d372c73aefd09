/* check_journal.c - is the journal there, readable and with room to grow? */
#include "dr.h"
#include "cs_profile.h"
#include "cs_err.h"
#include "cs_db.h"
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

/* --- journal ------------------------------------------------------- */

void cs_doctor_check_journal(cs_findings *fs, const char *path)
{
	char dir[4096], want[4096], *slash;
	struct statvfs vfs;
	struct stat st;
	unsigned long long avail, total;
	cs_finding *f;
	int exists_dir;

	/* A journal on a server: journal-server judges it, no disk here. */
	if (cs_db_is_uri(path))
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	exists_dir = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	snprintf(want, sizeof(want), "%s", dir);
	/* Judge the filesystem the journal will live on: the nearest
	 * directory that exists. */
	while (stat(dir, &st) != 0 && (slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	if (statvfs(dir, &vfs) != 0) {
		f = cs_findings_add(fs, CS_SEV_FAIL, "journal",
		    "doctor.journal.statvfs-failed", "journal", path, "detail",
		    strerror(errno), NULL);
		cs_finding_advise(f, "todo.journal.local-disk", NULL);
		return;
	}
	avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	total = (unsigned long long)vfs.f_blocks * vfs.f_frsize;
	if (vfs.f_flag & ST_RDONLY) {
		f = cs_findings_add(fs, CS_SEV_FAIL, "journal",
		    "doctor.journal.read-only", "journal", path, "dir", dir,
		    NULL);
		cs_finding_advise(f, "todo.journal.writable", NULL);
	} else if (avail < JOURNAL_FAIL_BYTES) {
		f = cs_findings_add(fs, CS_SEV_FAIL, "journal",
		    "doctor.journal.disk-full", "free",
		    dr_fmt(DR_NUM, "%.1f", avail / MIB), "journal", path, "dir",
		    dir, NULL);
		cs_finding_advise(f, "todo.journal.free-now", NULL);
	} else if (avail < JOURNAL_WARN_BYTES) {
		f = cs_findings_add(fs, CS_SEV_WARN, "journal",
		    "doctor.journal.disk-low", "free",
		    dr_fmt(DR_NUM, "%.0f", avail / MIB), "total",
		    dr_fmt(DR_NUM, "%.0f", total / MIB), "journal", path, NULL);
		cs_finding_advise(f, "todo.journal.free-soon", NULL);
	} else
		cs_findings_add(fs, CS_SEV_OK, "journal",
		    "doctor.journal.space", "free",
		    dr_fmt(DR_NUM, "%.1f", avail / MIB / 1024), "total",
		    dr_fmt(DR_NUM, "%.1f", total / MIB / 1024), "journal", path,
		    NULL);
	if (!exists_dir) {
		f = cs_findings_add(fs, CS_SEV_INFO, "journal",
		    "doctor.journal.no-dir", "dir", want, NULL);
		cs_finding_advise(f, "todo.journal.create-dir", "dir",
		    want, NULL);
	} else if (access(dir, W_OK) != 0) {
		f = cs_findings_add(fs, CS_SEV_WARN, "journal",
		    "doctor.journal.not-writable", "dir", dir, NULL);
		cs_finding_advise(f, "todo.journal.owner", NULL);
	} else if (stat(path, &st) == 0)
		cs_findings_add(fs, CS_SEV_INFO, "journal",
		    "doctor.journal.size", "journal", path, "size",
		    dr_fmt(DR_NUM, "%.1f", st.st_size / MIB), NULL);
}


void dr_journal(dr_state *s)
{
	cs_doctor_check_journal(s->out, s->o->journal);
}
