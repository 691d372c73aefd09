/* cs_child.h - the one way the station runs another program.
 *
 * pkcs15-init, the doctor's tools, the encode workers and the desk's card
 * touch are all started here: an absolute path (never a PATH search), the
 * caller's environment with additions and removals, chosen descriptors at
 * chosen numbers and every other descriptor closed, stdio not handed over
 * on /dev/null, no signal blocked or ignored, optionally a process group of
 * its own, and a deadline after which it is killed. Between fork and exec
 * the child only makes async-signal-safe calls: the kiosk forks from a
 * thread while others may hold locks. */
#ifndef CS_CHILD_H
#define CS_CHILD_H

#include <stddef.h>
#include <sys/types.h>

/* Hand the parent's descriptor `from` to the child as `to`. */
typedef struct cs_child_fd {
	int from;
	int to;
} cs_child_fd;

typedef struct cs_child_spec {
	const char *path;            /* absolute */
	char *const *argv;
	/* "NAME=value" strings put in the child's environment (replacing a
	 * variable of the same name), NULL-terminated, or NULL. Pointed to,
	 * not copied: secrets stay in the caller's locked memory. */
	const char *const *env_add;
	/* Name prefixes left out of the child's environment, or NULL. */
	const char *const *env_drop;
	const cs_child_fd *fds;      /* 0, 1, 2 not named here: /dev/null */
	size_t nfds;
	int own_pgrp;                /* setpgid(0, 0): no terminal signals */
	int timeout_ms;              /* 0: none */
} cs_child_spec;

typedef struct cs_child {
	pid_t pid;
	int pidfd;                   /* readable when it has exited */
	int own_pgrp;
	long long deadline_ms;       /* CLOCK_MONOTONIC; 0: none */
	int timed_out;               /* killed at the deadline */
} cs_child;

/* Start it. CS_OK, or an error with why saying what failed (a program that
 * could not be exec'd is found here, not later as an exit status). */
int cs_child_start(const cs_child_spec *s, cs_child *c, char *why,
    size_t whylen);

/* Read fd until its end or the deadline (then the child is killed and
 * c->timed_out set). buf keeps the first buflen-1 bytes, or with keep_tail
 * the last ones; it is always NUL-terminated. Closes nothing. Returns the
 * number of bytes kept. */
#define CS_CHILD_KEEP_TAIL 1
size_t cs_child_collect(cs_child *c, int fd, char *buf, size_t buflen,
    int flags);

/* Wait for its end (killing it at the deadline) and reap it: *status as
 * waitpid gives it. CS_OK, or CS_ERR_IO when it could not be waited for.
 * The cs_child is finished after this. */
int cs_child_wait(cs_child *c, int *status);

/* Send sig to it (to its group when it has its own). */
void cs_child_kill(const cs_child *c, int sig);

/* Milliseconds left before the deadline (-1: none, 0: passed). */
int cs_child_left_ms(const cs_child *c);

#endif
