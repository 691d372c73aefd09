/* cs_child.c - start, watch and reap another program (see cs_child.h). */
#include "cs_child.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Descriptors a child is given at most: stdio and a few pipes. */
#define MAX_FDS 16

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int cs_child_left_ms(const cs_child *c)
{
	long long left;

	if (c->deadline_ms == 0)
		return -1;
	left = c->deadline_ms - now_ms();
	return left <= 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static size_t name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq != NULL ? (size_t)(eq - kv) : strlen(kv);
}

static int dropped(const char *kv, const cs_child_spec *s)
{
	size_t n = name_len(kv);

	for (size_t i = 0; s->env_drop != NULL && s->env_drop[i] != NULL; i++)
		if (strncmp(kv, s->env_drop[i], strlen(s->env_drop[i])) == 0)
			return 1;
	for (size_t i = 0; s->env_add != NULL && s->env_add[i] != NULL; i++)
		if (name_len(s->env_add[i]) == n &&
		    strncmp(kv, s->env_add[i], n) == 0)
			return 1;
	return 0;
}

/* The child's environment: pointers into environ and env_add, no copy. */
static char **make_env(const cs_child_spec *s)
{
	size_t n = 0, add = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	while (s->env_add != NULL && s->env_add[add] != NULL)
		add++;
	if ((env = calloc(n + add + 1, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!dropped(environ[i], s))
			env[k++] = environ[i];
	for (size_t i = 0; i < add; i++)
		env[k++] = (char *)s->env_add[i];
	env[k] = NULL;
	return env;
}

/* After fork: only async-signal-safe calls. Never returns. */
static void child(const cs_child_spec *s, char **env, int devnull, int errfd,
    int top)
{
	struct sigaction dfl;
	sigset_t none;
	int tmp[MAX_FDS], base = top + 2, e, have[3] = {0, 0, 0};

	if (s->own_pgrp)
		setpgid(0, 0);
	/* Dispositions first, then the mask: a handler of the parent's must
	 * not run here once signals are let through. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Everything handed over goes above every target number first, so
	 * that no dup2 below overwrites a descriptor still to be moved. */
	for (size_t i = 0; i < s->nfds; i++)
		if ((tmp[i] = fcntl(s->fds[i].from, F_DUPFD_CLOEXEC, base)) < 0)
			goto fail;
	if ((devnull = fcntl(devnull, F_DUPFD_CLOEXEC, base)) < 0 ||
	    (errfd = fcntl(errfd, F_DUPFD_CLOEXEC, base)) < 0)
		goto fail;
	for (size_t i = 0; i < s->nfds; i++) {
		if (dup2(tmp[i], s->fds[i].to) < 0)
			goto fail;
		if (s->fds[i].to <= 2)
			have[s->fds[i].to] = 1;
	}
	for (int k = 0; k <= 2; k++)
		if (!have[k] && dup2(devnull, k) < 0)
			goto fail;
	if (dup3(errfd, top + 1, O_CLOEXEC) < 0)
		goto fail;
	errfd = top + 1;
	/* Nothing else of the parent's: no socket, no journal, no pipe of
	 * another child. */
	for (int fd = 3; fd <= top; fd++) {
		size_t i = 0;

		while (i < s->nfds && s->fds[i].to != fd)
			i++;
		if (i == s->nfds)
			close(fd);
	}
	close_range((unsigned)top + 2, ~0U, 0);
	execve(s->path, s->argv, env);
fail:
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int cs_child_start(const cs_child_spec *s, cs_child *c, char *why,
    size_t whylen)
{
	int errp[2], devnull, top = 2, e = 0;
	char **env;
	ssize_t n;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->pidfd = -1;
	if (s->path == NULL || s->path[0] != '/' || s->nfds > MAX_FDS) {
		snprintf(why, whylen, _("cannot run %s: not an absolute path"),
		    s->path ? s->path : "(none)");
		return CS_ERR_USAGE;
	}
	for (size_t i = 0; i < s->nfds; i++)
		if (s->fds[i].to > top)
			top = s->fds[i].to;
	if ((env = make_env(s)) == NULL)
		return CS_ERR_NOMEM;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		snprintf(why, whylen, "/dev/null: %s", strerror(errno));
		free(env);
		return CS_ERR_IO;
	}
	if (pipe2(errp, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		close(devnull);
		free(env);
		return CS_ERR_IO;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(errp[0]);
		close(errp[1]);
		close(devnull);
		free(env);
		return CS_ERR_IO;
	}
	if (pid == 0)
		child(s, env, devnull, errp[1], top);
	close(errp[1]);
	close(devnull);
	free(env);
	/* The exec closes the pipe (nothing read), or the child reports why
	 * it could not exec. */
	while ((n = read(errp[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(errp[0]);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		snprintf(why, whylen, _("cannot run %s: %s"), s->path, strerror(e));
		return CS_ERR_NOTFOUND;
	}
	c->pid = pid;
	c->own_pgrp = s->own_pgrp;
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (s->timeout_ms > 0)
		c->deadline_ms = now_ms() + s->timeout_ms;
	return CS_OK;
}

void cs_child_kill(const cs_child *c, int sig)
{
	if (c->pid > 0)
		kill(c->own_pgrp ? -c->pid : c->pid, sig);
}

static void expire(cs_child *c)
{
	c->timed_out = 1;
	cs_child_kill(c, SIGKILL);
}

size_t cs_child_collect(cs_child *c, int fd, char *buf, size_t buflen,
    int flags)
{
	size_t got = 0;
	char sink[512];

	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int left = cs_child_left_ms(c), pr;
		ssize_t n;

		if (left == 0) {
			expire(c);
			break;
		}
		if ((pr = poll(&p, 1, left)) == 0) {
			expire(c);
			break;
		}
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (got + 1 < buflen)
			n = read(fd, buf + got, buflen - 1 - got);
		else
			n = read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got + 1 < buflen)
			got += (size_t)n;
		/* Full: the tail is what is kept, so begin again. */
		if ((flags & CS_CHILD_KEEP_TAIL) && got + 1 == buflen)
			got = 0;
	}
	if (buflen > 0)
		buf[got] = '\0';
	return got;
}

int cs_child_wait(cs_child *c, int *status)
{
	int st = 0, r = CS_OK;

	if (c->pid <= 0)
		return CS_ERR_STATE;
	if (c->pidfd >= 0) {
		for (;;) {
			struct pollfd p = {c->pidfd, POLLIN, 0};
			int left = cs_child_left_ms(c), pr;

			if (left == 0 || (pr = poll(&p, 1, left)) == 0) {
				expire(c);
				break;
			}
			if (pr > 0 || errno != EINTR)
				break;
		}
		close(c->pidfd);
		c->pidfd = -1;
	}
	while (waitpid(c->pid, &st, 0) < 0)
		if (errno != EINTR) {
			r = CS_ERR_IO;
			break;
		}
	c->pid = -1;
	if (status != NULL)
		*status = st;
	return r;
}
