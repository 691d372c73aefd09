/* cs_wire.h - what crosses the pipes between the encode coordinator and
 * its reader workers.
 *
 * A worker is a fresh exec of the station (cs_worker_exec_main) serving one
 * reader. It gets, once, on a pipe of its own, the start message: the
 * run's options for its reader and the PIN and PUKs (one for every
 * profile, or one per card profile) typed at run start (pipe memory only,
 * read into locked memory). Then it writes events to
 * the coordinator as lines of tab-separated fields and reads answers as
 * lines: "C\t<printed>" confirms a card, "S" refuses it, "Q" asks it to
 * stop after the current card (so does the end of that pipe). A PIN letter
 * crosses the event pipe and is read into locked memory on the other
 * side. */
#ifndef CS_WIRE_H
#define CS_WIRE_H

#include "cs_run.h"
#include "cs_secret.h"

#define CS_WIRE_MAX 4096

/* Write one event line (fields with tabs or newlines are flattened; a line
 * longer than CS_WIRE_MAX is cut and still ends in LF). */
void cs_wire_send(int fd, const cs_run_event *ev);
/* Parse one line (modified in place) into ev; strings point into line. */
int cs_wire_parse(char *line, cs_run_event *ev);

/* A worker's options, as received: o points into the rest. */
typedef struct cs_wire_start {
	cs_run_opts o;
	int index;
	const char *readers[1];
	char *journal, *reader, *operator_name, *profile, *profiles_dir,
	    *pairing_csv;
	cs_secret *pin, *puk;
	char *puk_profile[CS_RUN_MAX_PUKS];    /* each profile's own PUK */
	cs_secret *profile_puk[CS_RUN_MAX_PUKS];
	cs_run_puk puks[CS_RUN_MAX_PUKS];
	size_t npuks;
} cs_wire_start;

int cs_wire_start_send(int fd, const cs_run_opts *o, int index,
    const char *reader);
/* CS_ERR_FORMAT for a message out of step, CS_ERR_IO for one cut short. */
int cs_wire_start_recv(int fd, cs_wire_start *s);
void cs_wire_start_clear(cs_wire_start *s);

/* The start message's framing, for the other messages between the station
 * and a child of its own (the desk's card touch, cs_touch.c): a tag byte,
 * a 4-byte big-endian length (at most CS_WIRE_FIELD_MAX), the bytes. A
 * reader checks every tag; a secret is read straight into locked memory;
 * an absent string is one NUL byte. */
#define CS_WIRE_FIELD_MAX 65536
int cs_wire_put(int fd, int tag, const void *p, size_t n);
int cs_wire_put_str(int fd, int tag, const char *s);
/* The next field's head, which must be tag: its length in *n. */
int cs_wire_get_head(int fd, int tag, size_t *n);
int cs_wire_get_str(int fd, int tag, char **out);
int cs_wire_get_secret(int fd, int tag, cs_secret **out);

#endif
