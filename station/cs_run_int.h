/* cs_run_int.h - between the encode coordinator and its reader workers.
 *
 * A worker is a child process serving one reader. It writes events to the
 * coordinator as lines of tab-separated fields (the order of struct
 * cs_wire_fields below) and reads answers as lines: "C\t<printed>" confirms
 * a card, "S" refuses it, "Q" asks it to stop after the current card. A PIN
 * letter crosses the pipe (kernel memory only) and is read into locked
 * memory on the other side. */
#ifndef CS_RUN_INT_H
#define CS_RUN_INT_H

#include "cs_run.h"

#define CS_WIRE_MAX 4096

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

/* Write one event line (fields with tabs or newlines are flattened). */
void cs_wire_send(int fd, const cs_run_event *ev);
/* Parse one line (modified in place) into ev; strings point into line. */
int cs_wire_parse(char *line, cs_run_event *ev);

#endif
