/* test_child.c - what a program the station runs is given, and that its
 * deadline ends it.
 *
 * The children are system programs (sh, cat, sleep) that report what they
 * got: their /proc/self/status signal lines, their descriptors, their
 * environment. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_child.h"
#include "cs_err.h"

/* Run argv with its stdout captured; returns the exit status. */
static int run(char *const argv[], const char *const *add,
    const char *const *drop, const cs_child_fd *extra, size_t nextra,
    char *out, size_t outlen)
{
	cs_child_fd fds[4];
	int p[2], status;
	char why[256];
	cs_child c;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fds[0] = (cs_child_fd){p[1], STDOUT_FILENO};
	for (size_t i = 0; i < nextra; i++)
		fds[1 + i] = extra[i];
	cs_child_spec s = {.path = argv[0], .argv = argv, .env_add = add,
	    .env_drop = drop, .fds = fds, .nfds = 1 + nextra,
	    .timeout_ms = 60000};
	assert_int_equal(cs_child_start(&s, &c, why, sizeof(why)), CS_OK);
	close(p[1]);
	cs_child_collect(&c, p[0], out, outlen, 0);
	close(p[0]);
	assert_int_equal(cs_child_wait(&c, &status), CS_OK);
	assert_false(c.timed_out);
	return status;
}

static const char *field(const char *status, const char *name)
{
	const char *f = strstr(status, name);

	assert_non_null(f);
	return f + strlen(name);
}

/* The kiosk blocks SIGINT/SIGTERM/SIGHUP in every thread and the station
 * ignores SIGPIPE: none of it reaches the child. */
static void signals_default(void **state)
{
	char *const argv[] = {"/bin/cat", "/proc/self/status", NULL};
	char out[8192];
	sigset_t block, old;

	(void)state;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	assert_int_equal(WEXITSTATUS(run(argv, NULL, NULL, NULL, 0, out,
	    sizeof(out))), 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	assert_memory_equal(field(out, "SigBlk:\t"), "0000000000000000", 16);
	assert_memory_equal(field(out, "SigIgn:\t"), "0000000000000000", 16);
}

/* Only what was handed over is open in the child: not a descriptor the
 * parent left without close-on-exec. */
static void fds_closed(void **state)
{
	/* A stat of each number: listing the folder would open one. */
	char *const argv[] = {"/bin/sh", "-c",
	    "i=0; while [ $i -lt 64 ]; do [ -e /proc/$$/fd/$i ] && "
	    "printf '%s ' $i; i=$((i+1)); done; echo", NULL};
	char out[512];
	int leak = open("/dev/null", O_RDONLY), given[2];

	(void)state;
	assert_true(leak > 2);
	assert_int_equal(pipe(given), 0);
	cs_child_fd extra[] = {{given[0], 7}};
	assert_int_equal(WEXITSTATUS(run(argv, NULL, NULL, extra, 1, out,
	    sizeof(out))), 0);
	assert_string_equal(out, "0 1 2 7 \n");
	close(leak);
	close(given[0]);
	close(given[1]);
}

/* Additions replace a variable of the same name; dropped prefixes go. */
static void environment(void **state)
{
	char *const argv[] = {"/bin/sh", "-c",
	    "echo \"$CS_T_KEEP/$CS_T_SWAP/${CS_T_GONE-unset}\"", NULL};
	const char *const add[] = {"CS_T_SWAP=new", NULL};
	const char *const drop[] = {"CS_T_GONE", NULL};
	char out[256];

	(void)state;
	setenv("CS_T_KEEP", "kept", 1);
	setenv("CS_T_SWAP", "old", 1);
	setenv("CS_T_GONE", "secret", 1);
	assert_int_equal(WEXITSTATUS(run(argv, add, drop, NULL, 0, out,
	    sizeof(out))), 0);
	assert_string_equal(out, "kept/new/unset\n");
}

/* State letter of a process in /proc, or 0 when it is gone. */
static char proc_state(long pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' ? p[2] : 0;
}

/* A child past its deadline is killed, with its process group. */
static void timeout_kills(void **state)
{
	char *const argv[] = {"/bin/sh", "-c",
	    "/bin/sleep 600 >/dev/null & echo $!; wait", NULL};
	cs_child_fd fds[1];
	char why[256], out[64], st;
	int status, p[2];
	long grandchild;
	cs_child c;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fds[0] = (cs_child_fd){p[1], STDOUT_FILENO};
	cs_child_spec s = {.path = argv[0], .argv = argv, .fds = fds,
	    .nfds = 1, .own_pgrp = 1, .timeout_ms = 300};
	assert_int_equal(cs_child_start(&s, &c, why, sizeof(why)), CS_OK);
	close(p[1]);
	/* The shell keeps its stdout open: only the deadline ends this. */
	cs_child_collect(&c, p[0], out, sizeof(out), 0);
	close(p[0]);
	assert_true(c.timed_out);
	assert_int_equal(cs_child_wait(&c, &status), CS_OK);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	/* The sleep in its group got the kill too: it dies (a zombie until
	 * its new parent reaps it), it does not sleep on. */
	grandchild = strtol(out, NULL, 10);
	assert_true(grandchild > 0);
	while ((st = proc_state(grandchild)) == 'S' || st == 'R')
		sched_yield();
	assert_true(st == 0 || st == 'Z' || st == 'X');
}

/* A program that cannot be exec'd is an error of start, with the reason. */
static void exec_failure(void **state)
{
	char *const argv[] = {"/nonexistent/tool", NULL};
	char *const bare[] = {"sh", NULL};
	cs_child_spec s = {.path = argv[0], .argv = argv};
	char why[256];
	cs_child c;

	(void)state;
	assert_int_equal(cs_child_start(&s, &c, why, sizeof(why)),
	    CS_ERR_NOTFOUND);
	assert_non_null(strstr(why, "/nonexistent/tool"));
	s.path = bare[0];
	s.argv = bare;
	assert_int_equal(cs_child_start(&s, &c, why, sizeof(why)),
	    CS_ERR_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signals_default),
		cmocka_unit_test(fds_closed),
		cmocka_unit_test(environment),
		cmocka_unit_test(timeout_kills),
		cmocka_unit_test(exec_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
