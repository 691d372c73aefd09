/* dr_table.c - the doctor's checks, in the order they run and report.
 * Each is a file of its own (check_*.c); `--skip NAME` leaves one out. */
#include "dr.h"

const dr_check dr_checks[] = {
	{"clock", dr_clock, 0},
	{"journal", dr_journal, 0},
	/* A journal on PostgreSQL: before the pcscd gate, whose skipping
	 * ends the walk; it has nothing to do with the readers. */
	{"journal-server", dr_journal_server, 0},
	{"setup", dr_setup, 0},
	/* The rest depends on pcscd; skipping it skips them too. */
	{"pcscd", dr_pcscd, DR_GATE},
	{"usb", dr_usb_locate, 0},
	{"readers", dr_readers, 0},
	{"usb", dr_usb, 0},
	{"opensc", dr_opensc, 0},
};

const size_t dr_nchecks = sizeof(dr_checks) / sizeof(dr_checks[0]);
