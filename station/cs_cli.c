/* cs_cli.c - secrets from the environment or the terminal, never argv. */
#include "cs_cli.h"
#include "cs_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

static int from_tty(const char *what, cs_secret **out, char *why, size_t whylen)
{
	FILE *tty = fopen("/dev/tty", "r+");
	struct termios old, quiet;
	cs_secret *s = NULL;
	int c, r;

	if (tty == NULL) {
		snprintf(why, whylen, "no terminal to type the %s on; use env:VAR",
		    what);
		return CS_ERR_USAGE;
	}
	if ((r = cs_secret_new(&s, 128)) != CS_OK) {
		fclose(tty);
		return r;
	}
	fprintf(tty, "%s: ", what);
	fflush(tty);
	tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	while ((c = fgetc(tty)) != EOF && c != '\n' && c != '\r' && s->len < s->cap)
		s->buf[s->len++] = (unsigned char)c;
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
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
	if (strcmp(spec, "prompt") == 0)
		return from_tty(what, out, why, whylen);
	if (strncmp(spec, "env:", 4) != 0 || spec[4] == '\0') {
		snprintf(why, whylen, "give the %s as env:VAR or prompt, never on "
		    "the command line", what);
		return CS_ERR_USAGE;
	}
	if ((v = getenv(spec + 4)) == NULL || *v == '\0') {
		snprintf(why, whylen, "the variable %s for the %s is not set",
		    spec + 4, what);
		return CS_ERR_USAGE;
	}
	r = cs_secret_from(out, v, strlen(v));
	/* The environment is readable in /proc by the same user: wipe it. */
	OPENSSL_cleanse(v, strlen(v));
	unsetenv(spec + 4);
	return r;
}
