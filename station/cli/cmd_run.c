/* cmd_run.c - `cardstation run`: import a download pair as a run, list
 * runs, show one's progress. */
#include "cs_cmd.h"
#include "cs_codes.h"
#include "cs_err.h"
#include "cs_json.h"
#include "cs_run.h"
#include "cs_i18n.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, _(
	    "usage: cardstation run new clientAll.zip clientAllPin.zip [options]\n"
	    "       cardstation run list [--journal PATH]\n"
	    "       cardstation run status ID [--journal PATH]\n"
	    "\n"
	    "`run new` validates the pair as `inspect` does and stores every\n"
	    "record in the journal (refused ones with their reason); the\n"
	    "archives stay where they are and `encode` reads them again.\n"
	    "\n"
	    "  --journal PATH      (default $CARDSTATION_JOURNAL or\n"
	    "                      %s)\n"
	    "  --institution O     the O value every certificate must carry\n"
	    "  --profile NAME      card profile for every card (default: by card)\n"
	    "  --profiles DIR      card profiles (default $CARDSTATION_PROFILES or\n"
	    "                      the installed cardprofiles folder)\n"
	    "  --mode queue|pairing\n"
	    "  --operator NAME     recorded on every journal row\n"),
	    CS_JOURNAL_DEFAULT_PATH);
}

static void print_counts(int64_t id, const cs_jprogress *p)
{
	printf(_("run %" PRId64 ": %" PRId64 " records: %" PRId64 " to encode, %"
	    PRId64 " refused, %" PRId64 " being written, %" PRId64 " done, %"
	    PRId64 " revoked\n"), id, p->total, p->queued, p->refused, p->claimed,
	    p->done, p->revoked);
}

static int run_new(int argc, char **argv)
{
	enum { O_JOURNAL = 256, O_INST, O_PROFILE, O_PROFILES, O_MODE, O_OPERATOR };
	static const struct option longopts[] = {
		{"journal", required_argument, NULL, O_JOURNAL},
		{"institution", required_argument, NULL, O_INST},
		{"profile", required_argument, NULL, O_PROFILE},
		{"profiles", required_argument, NULL, O_PROFILES},
		{"mode", required_argument, NULL, O_MODE},
		{"operator", required_argument, NULL, O_OPERATOR},
		{NULL, 0, NULL, 0},
	};
	cs_bundle_opts bo;
	cs_run_import_args a = {.opts = &bo, .mode = CS_JMODE_QUEUE};
	cs_jprogress p;
	int64_t id;
	char why[1024], actor[256];
	int c;

	cs_bundle_default_opts(&bo);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_JOURNAL: a.journal = optarg; break;
		case O_INST: bo.institution = optarg; break;
		case O_PROFILE: a.profile = optarg; break;
		case O_PROFILES: a.profiles_dir = optarg; break;
		case O_OPERATOR: a.operator_name = optarg; break;
		case O_MODE:
			if (strcmp(optarg, "queue") == 0)
				a.mode = CS_JMODE_QUEUE;
			else if (strcmp(optarg, "pairing") == 0)
				a.mode = CS_JMODE_PAIRING;
			else {
				fprintf(stderr, _("cardstation run: --mode is queue or "
				    "pairing\n"));
				return CS_EXIT_FAIL;
			}
			break;
		default: usage(stderr); return CS_EXIT_FAIL;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	a.certs_zip = argv[optind];
	a.pins_zip = argv[optind + 1];
	a.operator_name = cs_cmd_actor(a.operator_name, actor, sizeof(actor));
	if (cs_run_import(&a, &id, &p, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, _("cardstation run: refused: %s\n"), why);
		return CS_EXIT_FAIL;
	}
	print_counts(id, &p);
	if (bo.institution == NULL)
		printf(_("institution (O) not checked: give --institution\n"));
	return p.refused > 0 ? CS_EXIT_SOME : CS_EXIT_OK;
}

static int show_run(void *ctx, const cs_jrun *r)
{
	cs_jprogress p;
	char state[64];

	if (cs_journal_run_progress(ctx, r->id, &p) != CS_OK)
		return 0;
	/* The state in the operator's words (the journal keeps its own). */
	printf("%s  %s  %s  %s  ", r->created, cs_state_text("run",
	    cs_jrun_state_name(r->state), state, sizeof(state)),
	    cs_jmode_name(r->mode), r->certs_zip ? r->certs_zip : "-");
	print_counts(r->id, &p);
	return 0;
}

static int run_list_or_status(int argc, char **argv, int status)
{
	static const struct option longopts[] = {
		{"journal", required_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	const char *journal = NULL;
	cs_journal *j;
	char why[512];
	int c, r = CS_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'j') {
			usage(stderr);
			return CS_EXIT_FAIL;
		}
		journal = optarg;
	}
	if (argc - optind != (status ? 1 : 0)) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	if (cs_journal_open(&j, cs_journal_path(journal), CS_JOURNAL_RDONLY, why,
	    sizeof(why)) != CS_OK) {
		fprintf(stderr, _("cardstation run: %s\n"), why);
		return CS_EXIT_FAIL;
	}
	if (status) {
		cs_jrun run;

		if ((r = cs_journal_run_get(j, strtoll(argv[optind], NULL, 10),
		    &run)) == CS_OK) {
			show_run(j, &run);
			cs_jrun_clear(&run);
		} else
			fprintf(stderr, _("cardstation run: no run %s\n"), argv[optind]);
	} else
		cs_journal_run_list(j, show_run, j);
	cs_journal_close(j);
	return r == CS_OK ? CS_EXIT_OK : CS_EXIT_FAIL;
}

int cmd_run(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	if (strcmp(argv[1], "new") == 0)
		return run_new(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return run_list_or_status(argc - 1, argv + 1, 0);
	if (strcmp(argv[1], "status") == 0)
		return run_list_or_status(argc - 1, argv + 1, 1);
	if (strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return CS_EXIT_OK;
	}
	usage(stderr);
	return CS_EXIT_FAIL;
}
