/* dr.h - the doctor's checks, one per file (station/engine/doctor/), and the one
 * table that lists them in the order they run and report (dr_table.c).
 * Internal to the engine: cs_doctor.h is the interface. */
#ifndef DR_H
#define DR_H

#include "cs_doctor.h"
#include "cs_reader.h"
#include "cs_usb.h"

#include <stddef.h>

#include <winscard.h>

#define PCSCD_SOCKET "/run/pcscd/pcscd.comm"
#define MIB (1024.0 * 1024.0)
/* The journal grows by a few kB per card; these leave room for a term's
 * issuance and for SQLite's WAL and checkpoints. */
#define JOURNAL_FAIL_BYTES (64ull << 20)
#define JOURNAL_WARN_BYTES (512ull << 20)
/* A clock this far past the build is more likely wrong than a station
 * that old. */
#define CLOCK_FUTURE_SECS (15ll * 365 * 24 * 3600)
#define TOOL_TIMEOUT_MS 20000
/* The helpers doctor runs, by the absolute paths the build found
 * (station/CMakeLists.txt): execve, never a PATH search. */
#ifndef CS_OPENSC_TOOL_PATH
#define CS_OPENSC_TOOL_PATH "/usr/bin/opensc-tool"
#endif
#ifndef CS_PCSCD_PATH
#define CS_PCSCD_PATH "/usr/sbin/pcscd"
#endif


typedef struct dr_reader_state {
	int present;
	int mute;
	int exclusive;      /* held exclusively by someone else */
} dr_reader_state;

/* What the checks share in one doctor run: what pcscd and USB gave, for
 * the checks after them. */
typedef struct dr_state {
	const cs_doctor_opts *o;
	cs_findings *out;
	SCARDCONTEXT ctx;
	cs_reader_list rl;
	cs_usb_list usb;
	cs_usb_drivers drv;
	cs_pcscd_proc pcscd;
	dr_reader_state *st;
	int have_usb;
	int r;              /* CS_OK, or the error that ends the run */
} dr_state;

/* One check: its --skip name and its function. A check flagged
 * DR_GATE that is skipped ends the walk: the rest needs it. */
#define DR_GATE 1
typedef struct dr_check {
	const char *name;
	void (*run)(dr_state *s);
	int flags;
} dr_check;

extern const dr_check dr_checks[];
extern const size_t dr_nchecks;

void dr_clock(dr_state *s);
void dr_journal(dr_state *s);
void dr_journal_server(dr_state *s);
void dr_setup(dr_state *s);
void dr_pcscd(dr_state *s);
void dr_usb_locate(dr_state *s);
void dr_readers(dr_state *s);
void dr_usb(dr_state *s);
void dr_opensc(dr_state *s);

/* Shared helpers (dr_util.c, dr_proc.c). */
int dr_run_capture(char *const argv[], char *out, size_t outlen);
void dr_chomp(char *s);
/* A number (or any printf) as a finding's parameter, in buf:
 * dr_fmt(DR_NUM, "%.1f", x). */
#define DR_NUM (char[48]){0}, 48
const char *dr_fmt(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int dr_find_pcscd(cs_pcscd_proc *p);
void dr_pcsc_clients(char *out, size_t outlen);

#endif
