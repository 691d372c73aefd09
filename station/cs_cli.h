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

#endif
