/* check_opensc.c - which OpenSC, and does a card profile fit each card? */
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

/* --- OpenSC and cardprofiles -------------------------------------- */

int cs_doctor_profile_for_driver(const char *dir, const char *driver,
    char *out, size_t outlen)
{
	cs_profile *all;
	size_t n;
	char why[256];
	int r;

	out[0] = '\0';
	if ((r = cs_profile_load_all(dir, &all, &n, why, sizeof(why))) != CS_OK)
		return r == CS_ERR_NOTFOUND ? CS_ERR_IO : r;
	r = CS_ERR_NOTFOUND;
	for (size_t i = 0; i < n && r != CS_OK; i++)
		if (strcasecmp(all[i].opensc_driver, driver) == 0) {
			snprintf(out, outlen, "%s", all[i].name);
			r = CS_OK;
		}
	free(all);
	return r;
}

/* OpenSC's short driver name ("isoApplet") for the long name opensc-tool
 * prints ("JavaCard with IsoApplet"), from `opensc-tool -D`. */
static void short_driver(const char *list, const char *longname, char *out,
    size_t outlen)
{
	const char *p = list;

	snprintf(out, outlen, "%s", longname);
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		char line[256], name[64];
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		char *rest;

		snprintf(line, sizeof(line), "%.*s", (int)l, p);
		p = eol ? eol + 1 : NULL;
		if (sscanf(line, " %63s", name) != 1)
			continue;
		rest = strstr(line, name) + strlen(name);
		while (isspace((unsigned char)*rest))
			rest++;
		dr_chomp(rest);
		if (strcmp(rest, longname) == 0) {
			snprintf(out, outlen, "%s", name);
			return;
		}
	}
}

static void check_opensc(cs_findings *fs, const cs_doctor_opts *o,
    const cs_reader_list *rl, const dr_reader_state *st)
{
	char out[4096], drivers[8192], version[64] = "", *v;
	char *info_argv[] = {(char *)o->opensc_tool, "--info", NULL};
	char *list_argv[] = {(char *)o->opensc_tool, "--list-drivers", NULL};
	cs_finding *f;
	int profiles_ok;
	DIR *pd;

	if (dr_run_capture(info_argv, out, sizeof(out)) != 0) {
		f = cs_findings_add(fs, CS_SEV_FAIL, "opensc",
		    "doctor.opensc.missing", "path", o->opensc_tool, NULL);
		cs_finding_advise(f, "todo.opensc.install", NULL);
		return;
	}
	if ((v = strstr(out, "OpenSC ")) != NULL) {
		snprintf(version, sizeof(version), "%s", v + 7);
		version[strcspn(version, " \n")] = '\0';
	}
	cs_findings_add(fs, CS_SEV_OK, "opensc", "doctor.opensc.version",
	    "version", version[0] ? version : "?", NULL);
	if ((pd = opendir(o->profiles_dir)) != NULL) {
		closedir(pd);
		profiles_ok = 1;
	} else {
		profiles_ok = 0;
		f = cs_findings_add(fs, CS_SEV_INFO, "opensc",
		    "doctor.opensc.no-profiles", "dir", o->profiles_dir, NULL);
		cs_finding_advise(f, "todo.opensc.profiles", NULL);
	}
	if (dr_run_capture(list_argv, drivers, sizeof(drivers)) != 0)
		drivers[0] = '\0';
	for (size_t i = 0; i < rl->n; i++) {
		char idx[24], name[128] = "", drv[64], prof[128];
		char *argv[] = {(char *)o->opensc_tool, "--reader", idx,
		    "--name", "--verbose", NULL};
		char *l;

		if (!st[i].present || st[i].mute || st[i].exclusive)
			continue;
		/* OpenSC numbers readers in PC/SC's order. */
		snprintf(idx, sizeof(idx), "%zu", i);
		if (dr_run_capture(argv, out, sizeof(out)) != 0) {
			f = cs_findings_add(fs, CS_SEV_WARN, "opensc",
			    "doctor.opensc.no-driver", "reader", rl->r[i].name,
			    NULL);
			cs_finding_advise(f, "todo.opensc.unsupported", NULL);
			continue;
		}
		/* "Using card driver X." then the card's name. */
		if ((l = strstr(out, "Using card driver ")) != NULL) {
			snprintf(name, sizeof(name), "%s", l + 18);
			name[strcspn(name, "\n")] = '\0';
			if (name[0] && name[strlen(name) - 1] == '.')
				name[strlen(name) - 1] = '\0';
		}
		short_driver(drivers, name, drv, sizeof(drv));
		if (!profiles_ok ||
		    cs_doctor_profile_for_driver(o->profiles_dir, drv, prof,
		    sizeof(prof)) != CS_OK) {
			f = cs_findings_add(fs, CS_SEV_WARN, "opensc",
			    "doctor.opensc.no-profile", "reader", rl->r[i].name,
			    "driver", drv, "name", name, NULL);
			cs_finding_advise(f, "todo.opensc.add-profile",
			    "driver", drv, NULL);
		} else
			cs_findings_add(fs, CS_SEV_OK, "opensc",
			    "doctor.opensc.card", "reader", rl->r[i].name,
			    "driver", drv, "name", name, "profile", prof, NULL);
	}
}


void dr_opensc(dr_state *s)
{
	/* Without pcscd there are no cards to ask about, but the version
	 * is still worth knowing. */
	cs_reader_list none = {NULL, 0};

	check_opensc(s->out, s->o, s->st != NULL ? &s->rl : &none, s->st);
}
