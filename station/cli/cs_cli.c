/* cs_cli.c - secrets from the environment or the terminal, never argv;
 * the version and the shell completion's lists. */
#include "cs_cli.h"
#include "cs_err.h"
#include "cs_reader.h"
#include "cs_i18n.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* Read a secret typed on the terminal: no echo, and no signals from the
 * keyboard while it is typed, so Ctrl-C cancels here, with the terminal
 * restored, instead of killing the process with echo off. Unbuffered reads:
 * no copy of what is typed is left in a stdio buffer outside locked
 * memory. */
static int from_tty(const char *what, cs_secret **out, char *why, size_t whylen)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct termios old, quiet;
	cs_secret *s = NULL;
	int r = CS_OK, restore = 0;
	unsigned char c;
	ssize_t n;

	if (fd < 0) {
		snprintf(why, whylen, _("no terminal to type the %s on; use env:VAR"),
		    what);
		return CS_ERR_USAGE;
	}
	if ((r = cs_secret_new(&s, 128)) != CS_OK)
		goto out;
	/* Quiet first, then the prompt: what is typed after the prompt is
	 * never echoed nor flushed away. */
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		/* Byte by byte (no ICANON): Ctrl-C must be seen when typed,
		 * not when a line ends. Erase and kill are done below. */
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ISIG | ICANON);
		quiet.c_cc[VMIN] = 1;
		quiet.c_cc[VTIME] = 0;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	dprintf(fd, "%s: ", what);
	while ((n = read(fd, &c, 1)) == 1 && c != '\n' && c != '\r') {
		if (restore && (c == old.c_cc[VINTR] || c == old.c_cc[VQUIT] ||
		    c == old.c_cc[VSUSP])) {
			snprintf(why, whylen, _("the %s was not given (cancelled)"), what);
			r = CS_ERR_USAGE;
			break;
		}
		if (restore && c == old.c_cc[VERASE]) {
			if (s->len > 0)
				s->buf[--s->len] = 0;
			continue;
		}
		if (restore && c == old.c_cc[VKILL]) {
			OPENSSL_cleanse(s->buf, s->len);
			s->len = 0;
			continue;
		}
		if (restore && c == old.c_cc[VEOF])
			break;
		if (s->len == s->cap) {
			snprintf(why, whylen, _("the %s is longer than %zu characters"),
			    what, s->cap);
			r = CS_ERR_LIMIT;
			break;
		}
		s->buf[s->len++] = c;
	}
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	if (r == CS_OK && n < 0) {
		snprintf(why, whylen, _("the terminal could not be read"));
		r = CS_ERR_IO;
	}
out:
	c = 0;
	close(fd);
	if (r != CS_OK) {
		cs_secret_free(s);
		return r;
	}
	s->buf[s->len] = '\0';
	*out = s;
	return CS_OK;
}

int cs_cli_secret(const char *spec, const char *what, cs_secret **out,
    char *why, size_t whylen)
{
	char *v;
	int r;

	*out = NULL;
	what = _(what); /* the callers mark it with N_() */
	if (strcmp(spec, "prompt") == 0)
		return from_tty(what, out, why, whylen);
	if (strncmp(spec, "env:", 4) != 0 || spec[4] == '\0') {
		snprintf(why, whylen, _("give the %s as env:VAR or prompt, never on "
		    "the command line"), what);
		return CS_ERR_USAGE;
	}
	if ((v = getenv(spec + 4)) == NULL || *v == '\0') {
		snprintf(why, whylen, _("the variable %s for the %s is not set"),
		    spec + 4, what);
		return CS_ERR_USAGE;
	}
	r = cs_secret_from(out, v, strlen(v));
	/* The environment is readable in /proc by the same user: wipe it. */
	OPENSSL_cleanse(v, strlen(v));
	unsetenv(spec + 4);
	return r;
}

#ifndef CS_VERSION
#define CS_VERSION "unknown"
#endif

int cs_cli_version(void)
{
	printf("cardstation %s\n", CS_VERSION);
	return 0;
}

int cs_cli_complete(const char *what)
{
	SCARDCONTEXT ctx;
	cs_reader_list l = {0};

	if (strcmp(what, "readers") != 0)
		return 0;
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS)
		return 0;
	if (cs_reader_list_get(ctx, &l) == CS_OK)
		for (size_t i = 0; i < l.n; i++)
			printf("%s\n", l.r[i].name);
	cs_reader_list_free(&l);
	SCardReleaseContext(ctx);
	return 0;
}
