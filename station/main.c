/* main.c - the `cardstation` command: dispatch to a subcommand. */
#include "cs_cli.h"
#include "cs_cmd.h"
#include "cs_run.h"
#include "cs_secret.h"
#include "cs_touch.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

struct subcommand {
	const char *name;
	int (*run)(int, char **);
	const char *summary;
};

static const struct subcommand commands[] = {
	{"inspect", cmd_inspect, "check a UPKI P12-bulk download pair without a card"},
	{"run", cmd_run, "import a download pair as an encoding run; list runs"},
	{"encode", cmd_encode, "write each holder's key and certificate on their card"},
	{"doctor", cmd_doctor, "diagnose readers, pcscd, OpenSC and the machine"},
	{"log", cmd_log, "search and export the journal; `log check` finds tampering"},
	{"verify", cmd_verify, "check a card: identifiers, certificates, journal binding, key"},
	{"card", cmd_card, "a lost card (revocation request) or a returned card (wipe)"},
	{"kiosk", cmd_kiosk, "serve the operator's screen on this machine"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cardstation COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`cardstation COMMAND --help` tells more.\n");
}

int main(int argc, char **argv)
{
	if (cs_secret_process_init() != 0) {
		fprintf(stderr, "cardstation: cannot harden the process "
		    "(core dumps, secure heap)\n");
		return CS_EXIT_FAIL;
	}
	/* Process-wide, so the engine need not: a worker or a pkcs15-init
	 * that died closes its pipe, and a write to it must fail, not kill
	 * the station. */
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], CS_RUN_WORKER_ARG) == 0)
		return cs_run_worker_main();
	if (argc == 2 && strcmp(argv[1], CS_TOUCH_ARG) == 0)
		return cs_touch_main();
	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		return cs_cli_version();
	if (argc == 3 && strcmp(argv[1], "--complete") == 0)
		return cs_cli_complete(argv[2]);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CS_EXIT_FAIL : CS_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cardstation: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CS_EXIT_FAIL;
}
