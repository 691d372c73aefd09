/* check_pcscd.c - is pcscd installed, running and answering? */
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

/* --- pcscd ----------------------------------------------------------- */

static void check_pcscd(cs_findings *fs, const cs_doctor_opts *o,
    SCARDCONTEXT *ctx, cs_pcscd_proc *proc)
{
	const char *sock = getenv("PCSCLITE_CSOCK_NAME");
	char out[512], version[64] = "", *v;
	char *argv[] = {(char *)o->pcscd, "--version", NULL};
	struct stat st;
	cs_finding *f;
	LONG rv;

	if (sock == NULL || *sock == '\0')
		sock = PCSCD_SOCKET;
	if (dr_run_capture(argv, out, sizeof(out)) == 0 &&
	    (v = strstr(out, "version ")) != NULL) {
		snprintf(version, sizeof(version), "%s", v + 8);
		version[strcspn(version, " \n")] = '\0';
		if (version[0] && version[strlen(version) - 1] == '.')
			version[strlen(version) - 1] = '\0';
	}
	/* Establishing a context also starts a socket-activated pcscd. */
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx);
	if (rv != SCARD_S_SUCCESS) {
		*ctx = 0;
		if (stat(sock, &st) != 0) {
			f = cs_findings_add(fs, CS_SEV_FAIL, "pcscd",
			    "doctor.pcscd.not-running", "socket", sock,
			    "detail", pcsc_stringify_error(rv), NULL);
			if (access(o->pcscd, X_OK) != 0)
				cs_finding_advise(f, "todo.pcscd.install", NULL);
			else
				cs_finding_advise(f, "todo.pcscd.start", NULL);
		} else {
			f = cs_findings_add(fs, CS_SEV_FAIL, "pcscd",
			    "doctor.pcscd.no-answer", "socket", sock, "detail",
			    pcsc_stringify_error(rv), NULL);
			cs_finding_advise(f, "todo.pcscd.restart", NULL);
		}
		dr_find_pcscd(proc);
		return;
	}
	dr_find_pcscd(proc);
	if (proc->pid > 0) {
		struct passwd *pw = getpwuid(proc->uid);

		cs_findings_add(fs, CS_SEV_OK, "pcscd", "doctor.pcscd.running",
		    "version", version[0] ? version : "?", "pid",
		    dr_fmt(DR_NUM, "%d", proc->pid), "user",
		    pw ? pw->pw_name : "?", "socket", sock, NULL);
	} else
		/* Another mount or pid namespace: we reach it but cannot
		 * see it. */
		cs_findings_add(fs, CS_SEV_OK, "pcscd", "doctor.pcscd.answers",
		    "version", version[0] ? version : "?", "socket", sock,
		    NULL);
}


/* pcscd, and the readers it lists for the checks after it. */
void dr_pcscd(dr_state *s)
{
	check_pcscd(s->out, s->o, &s->ctx, &s->pcscd);
	if (s->ctx != 0 && cs_reader_list_get(s->ctx, &s->rl) != CS_OK) {
		cs_finding *f = cs_findings_add(s->out, CS_SEV_FAIL, "readers",
		    "doctor.readers.cannot-list", NULL);

		cs_finding_advise(f, "todo.pcscd.restart-readers", NULL);
	}
	if (s->rl.n > 0 && (s->st = calloc(s->rl.n, sizeof(*s->st))) == NULL)
		s->r = CS_ERR_NOMEM;
}
