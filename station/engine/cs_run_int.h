/* cs_run_int.h - between the encode coordinator and its reader workers;
 * what crosses their pipes is cs_wire.h's. */
#ifndef CS_RUN_INT_H
#define CS_RUN_INT_H

#include "cs_run.h"
#include "cs_wire.h"

/* A worker exec'd as `cardstation __worker` finds the event pipe on fd
 * 3, the answers on fd 4 and the start message on fd 5. */
enum { CS_WORKER_EV_FD = 3, CS_WORKER_CTL_FD = 4, CS_WORKER_START_FD = 5 };

typedef struct cs_worker_args {
	const cs_run_opts *o;
	int index;
	const char *reader;
	int ev_fd;   /* worker -> coordinator */
	int ctl_fd;  /* coordinator -> worker */
} cs_worker_args;

/* SHA-256 of a file, hex: the journal remembers the archives by it. */
int cs_run_file_sha256(const char *path, char hex[65]);

/* The worker's whole life; returns its exit status. */
int cs_worker_main(const cs_worker_args *a);

/* The run event of a journal notice (cs_journal_on_notice): text in the
 * caller's buffer. */
void cs_run_journal_event(cs_run_event *ev, const char *code,
    const char *params, char *text, size_t n);

#endif
