/* cs_doctor.h - what is wrong with this station, as data.
 *
 * Each check adds findings: a severity, the check's name, what was seen and
 * what to do about it. The front end (cmd_doctor.c) only prints them, as
 * text or JSON; tests read the same data. Checks never change the machine
 * and never touch a card beyond a shared connection and `opensc-tool -n`. */
#ifndef CS_DOCTOR_H
#define CS_DOCTOR_H

#include <stddef.h>
#include <time.h>

#include "cs_codes.h"
#include "cs_reader.h"
#include "cs_usb.h"

typedef enum cs_severity {
	CS_SEV_OK = 0,    /* checked, fine */
	CS_SEV_INFO,      /* worth knowing, nothing to do */
	CS_SEV_WARN,      /* will cause trouble in some cases */
	CS_SEV_FAIL,      /* the station cannot work until fixed */
} cs_severity;

#define CS_FINDING_TEXT 640

typedef struct cs_finding {
	cs_severity sev;
	char check[16];               /* "pcscd", "readers", "usb", ... */
	char what[CS_FINDING_TEXT];   /* what was seen, in the locale's
	                                 language: code's text with params */
	char code[48];                /* "doctor.pcscd.not-running" */
	char params[CS_FINDING_TEXT]; /* packed name=value (cs_codes.h) */
	char todo[CS_FINDING_TEXT];   /* what to do, in the locale's
	                                 language; "" when nothing */
	char todo_code[48];           /* "todo.pcscd.start"; "" when none */
	char todo_params[CS_FINDING_TEXT]; /* packed, as params */
} cs_finding;

typedef struct cs_findings {
	cs_finding *f;
	size_t n;
	size_t cap;
	int nomem;                    /* an add failed; report CS_ERR_NOMEM */
} cs_findings;

/* Append a finding: a code of the table (cs_codes.c) and its name, value
 * pairs (a NULL name ends them); what is the code's text with them.
 * Returns the finding so that the caller can fill todo, or NULL when
 * memory ran out (then nomem is set and later adds are dropped). */
cs_finding *cs_findings_add(cs_findings *fs, cs_severity sev,
    const char *check, const char *code, ...)
    __attribute__((sentinel));
/* Say what to do about finding f (may be NULL): a code of the table
 * ("todo.<check>.<what>") and its name, value pairs (a NULL name ends
 * them); todo is the code's text with them. */
void cs_finding_advise(cs_finding *f, const char *code, ...)
    __attribute__((sentinel));
void cs_findings_free(cs_findings *fs);
cs_severity cs_findings_worst(const cs_findings *fs);
const char *cs_severity_name(cs_severity sev);

/* Checks by name, for --skip and --only. */
#define CS_DOCTOR_CHECKS "clock journal journal-server setup pcscd readers usb opensc"

typedef struct cs_doctor_opts {
	const char *journal;      /* journal database path */
	const char *profiles_dir; /* cardprofiles directory */
	const char *drivers_dir;  /* PC/SC driver bundles */
	const char *pcscd;        /* the pcscd binary, for its --version */
	const char *opensc_tool;  /* opensc-tool; both absolute paths, never
	                             looked up in PATH */
	const char *kiosk_group;  /* the group the udev rules grant */
	const char *skip;         /* space/comma separated checks to skip */
	time_t now;               /* the clock to judge */
	time_t built;             /* when this program was built */
} cs_doctor_opts;

/* Defaults for every field (journal /var/lib/cardstation/journal.db,
 * profiles CS_PROFILE_DIR, pcscd and opensc-tool where the build found
 * them, now = time(NULL), built = compile date). */
void cs_doctor_opts_init(cs_doctor_opts *o);

/* Run every check not skipped. CS_OK unless memory ran out; the verdict
 * is in the findings. */
int cs_doctor_run(const cs_doctor_opts *o, cs_findings *out);

/* Single checks, for the unit tests and for other front ends. */
void cs_doctor_check_clock(cs_findings *fs, time_t now, time_t built,
    int ntp_synced);
void cs_doctor_check_journal(cs_findings *fs, const char *path);
/* A journal on PostgreSQL (target a libpq URI; nothing for a path): the
 * server answers, the schema version, the clock skew to the server. */
void cs_doctor_check_journal_server(cs_findings *fs, const char *target);

/* How pcscd runs, for the USB permission check. */
typedef struct cs_pcscd_proc {
	int pid;                  /* 0 when not running */
	unsigned uid;
	unsigned gids[32];
	size_t ngids;
} cs_pcscd_proc;

/* Judge each USB reader: served by pcscd (a reader located on it), or why
 * not: no driver lists its VID:PID, pcscd may not open its device node,
 * or pcscd has not picked it up. Readers must have been located
 * (cs_reader_locate_usb). */
void cs_doctor_check_usb(cs_findings *fs, const cs_usb_list *usb,
    const cs_usb_drivers *drv, const cs_reader_list *readers,
    const cs_pcscd_proc *pcscd);

/* The cardprofile (file name without .conf) whose `driver = NAME` line
 * names the OpenSC driver; CS_ERR_NOTFOUND when none does, CS_ERR_IO
 * when the directory cannot be read. */
int cs_doctor_profile_for_driver(const char *dir, const char *driver,
    char *out, size_t outlen);

/* The compile date of this file as a time_t (from __DATE__, so it follows
 * SOURCE_DATE_EPOCH in reproducible builds). */
time_t cs_doctor_build_time(void);

#endif
