/* main.c - the `cardstation` command: dispatch to a subcommand. */
#include "cs_cli.h"
#include "cs_cmd.h"
#include "cs_codes.h"
#include "cs_err.h"
#include "cs_i18n.h"
#include "cs_json.h"
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

static int cmd_codes(int argc, char **argv);

static const struct subcommand commands[] = {
	{"inspect", cmd_inspect, N_("check a UPKI P12-bulk download pair without a card")},
	{"run", cmd_run, N_("import a download pair as an encoding run; list runs")},
	{"encode", cmd_encode, N_("write each holder's key and certificate on their card")},
	{"doctor", cmd_doctor, N_("diagnose readers, pcscd, OpenSC and the machine")},
	{"log", cmd_log, N_("search and export the journal; `log check` finds tampering")},
	{"verify", cmd_verify, N_("check a card: identifiers, certificates, journal binding, key")},
	{"card", cmd_card, N_("a lost card (revocation request) or a returned card (wipe)")},
	{"kiosk", cmd_kiosk, N_("serve the operator's screen on this machine")},
	{"journal", cmd_journal, N_("copy the journal between SQLite and PostgreSQL")},
	{"codes", cmd_codes, N_("list the message codes and their texts in this locale")},
};

static void usage(FILE *f)
{
	fprintf(f, _("usage: cardstation COMMAND [ARGS]\n\ncommands:\n"));
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
	fprintf(f, _("\n`cardstation COMMAND --help` tells more.\n"));
}

/* `cardstation codes [--json]`: every code with its text in the locale's
 * language ({name} for a parameter), for front ends that render codes
 * themselves and for the people who write the catalogue. */
static int cmd_codes(int argc, char **argv)
{
	size_t n;
	const cs_code_def *t = cs_code_table(&n);
	int json = argc == 2 && strcmp(argv[1], "--json") == 0;
	int help = argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0);

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(help ? stdout : stderr, _("usage: cardstation codes "
		    "[--json]\n\nEvery message code with its text in this "
		    "locale's language.\n\n  --json    one JSON object, code to "
		    "text\n"));
		return help ? CS_EXIT_OK : CS_EXIT_FAIL;
	}
	if (json)
		fputc('{', stdout);
	for (size_t i = 0; i < n; i++)
		if (json) {
			cs_json_kv(stdout, i == 0, t[i].code, _(t[i].text));
		} else {
			printf("%s\t%s\n", t[i].code, _(t[i].text));
		}
	/* The error classes, which cs_err.c keeps with its own codes. */
	for (size_t i = 0; ; i++) {
		const char *code, *text = cs_err_source(i, &code);

		if (text == NULL)
			break;
		if (json)
			cs_json_kv(stdout, 0, code, _(text));
		else
			printf("%s\t%s\n", code, _(text));
	}
	if (json)
		fputs("}\n", stdout);
	return CS_EXIT_OK;
}

int main(int argc, char **argv)
{
	/* The operator's language, for every message (a worker too). */
	cs_i18n_init();
	if (cs_secret_process_init() != 0) {
		fprintf(stderr, _("cardstation: cannot harden the process "
		    "(core dumps, secure heap)\n"));
		return CS_EXIT_FAIL;
	}
	/* Process-wide, so the engine need not: a worker or a pkcs15-init
	 * that died closes its pipe, and a write to it must fail, not kill
	 * the station. */
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], CS_RUN_WORKER_ARG) == 0)
		return cs_run_worker_main();
	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		return cs_cli_version();
	if (argc == 3 && strcmp(argv[1], "--complete") == 0)
		return cs_cli_complete(argv[2]);
	if (argc == 2 && strcmp(argv[1], CS_TOUCH_ARG) == 0)
		return cs_touch_main();
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CS_EXIT_FAIL : CS_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, _("cardstation: unknown command '%s'\n"), argv[1]);
	usage(stderr);
	return CS_EXIT_FAIL;
}
