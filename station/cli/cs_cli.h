/* cs_cli.h - small things every subcommand's command line needs. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stddef.h>

#include "cs_secret.h"

/* A secret named on the command line the only ways allowed: "env:VAR"
 * (the variable is read, wiped and unset) or "prompt" (typed on /dev/tty
 * without echo). Never the value itself: argv is public. */
int cs_cli_secret(const char *spec, const char *what, cs_secret **out,
    char *why, size_t whylen);

/* `cardstation --version`: the name and the version of this build (the
 * project() VERSION of CMakeLists.txt). */
int cs_cli_version(void);

/* For the shell's completion (`cardstation --complete readers`, hidden):
 * the readers PC/SC sees now, one name a line; nothing when pcscd is not
 * there. Always exit status 0: a completion has nothing to report. */
int cs_cli_complete(const char *what);

#endif
