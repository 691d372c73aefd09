/* cmd_doctor.c - `cardstation doctor`: print what cs_doctor finds. */
#include "cs_cmd.h"
#include "cs_json.h"
#include "cs_doctor.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
	    _("usage: cardstation doctor [--json] [--journal PATH] "
	    "[--profiles DIR]\n"
	    "                          [--skip CHECK,...]\n\n"
	    "Checks the station: %s.\n"
	    "Each finding says what was seen and what to do about it.\n\n"
	    "  --json           one JSON object on stdout\n"
	    "  --journal PATH   the journal database (default "
	    "/var/lib/cardstation/journal.db)\n"
	    "  --profiles DIR   card profiles (default $CARDSTATION_PROFILES or\n"
	    "                   the installed cardprofiles folder)\n"
	    "  --skip LIST      checks to leave out (comma separated)\n\n"
	    "Exit status: 0 all fine, 1 warnings or failures found, "
	    "2 doctor could not run.\n"), CS_DOCTOR_CHECKS);
}

static void print_json(FILE *f, const cs_findings *fs)
{
	size_t count[4] = {0, 0, 0, 0};

	fprintf(f, "{\"version\":");
	cs_json_str(f, CS_VERSION);
	fprintf(f, ",\"worst\":\"%s\",\"findings\":[",
	    cs_severity_name(cs_findings_worst(fs)));
	for (size_t i = 0; i < fs->n; i++) {
		const cs_finding *x = &fs->f[i];

		count[x->sev]++;
		fprintf(f, "%s\n{\"check\":", i ? "," : "");
		cs_json_str(f, x->check);
		fprintf(f, ",\"severity\":\"%s\",\"what\":",
		    cs_severity_name(x->sev));
		cs_json_str(f, x->what);
		fprintf(f, ",\"todo\":");
		cs_json_str(f, x->todo);
		fprintf(f, ",\"code\":");
		cs_json_str(f, x->code);
		fputc(',', f);
		cs_params_json(f, x->params);
		/* What to do, as a code too: null when nothing. */
		fprintf(f, ",\"todo_code\":");
		cs_json_str(f, x->todo_code[0] ? x->todo_code : NULL);
		fprintf(f, ",\"todo_params\":");
		cs_params_json_object(f, x->todo_params);
		fputc('}', f);
	}
	fprintf(f, "],\n\"summary\":{\"ok\":%zu,\"info\":%zu,\"warn\":%zu,"
	    "\"fail\":%zu}}\n", count[0], count[1], count[2], count[3]);
}

static void print_text(FILE *f, const cs_findings *fs)
{
	static const char *const tag[] = {"  ok", "info", "WARN", "FAIL"};
	size_t bad = 0;

	for (size_t i = 0; i < fs->n; i++) {
		const cs_finding *x = &fs->f[i];

		fprintf(f, "%s  %-8s %s\n", tag[x->sev], x->check, x->what);
		if (x->todo[0] != '\0')
			fprintf(f, "%*s-> %s\n", 15, "", x->todo);
		if (x->sev >= CS_SEV_WARN)
			bad++;
	}
	if (bad == 0)
		fprintf(f, _("\nAll checks passed.\n"));
	else
		fprintf(f, _("\n%zu finding%s need%s attention.\n"), bad,
		    bad == 1 ? "" : "s", bad == 1 ? "s" : "");
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"journal", required_argument, NULL, 'J'},
		{"profiles", required_argument, NULL, 'p'},
		{"skip", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	cs_doctor_opts o;
	cs_findings fs;
	int c, json = 0, r;

	cs_doctor_opts_init(&o);
	memset(&fs, 0, sizeof(fs));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'J':
			o.journal = optarg;
			break;
		case 'p':
			o.profiles_dir = optarg;
			break;
		case 's':
			o.skip = optarg;
			break;
		case 'h':
			usage(stdout);
			return CS_EXIT_OK;
		default:
			usage(stderr);
			return CS_EXIT_FAIL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	if ((r = cs_doctor_run(&o, &fs)) != CS_OK) {
		fprintf(stderr, _("cardstation doctor: %s\n"), cs_strerror(r));
		cs_findings_free(&fs);
		return CS_EXIT_FAIL;
	}
	if (json)
		print_json(stdout, &fs);
	else
		print_text(stdout, &fs);
	r = cs_findings_worst(&fs) >= CS_SEV_WARN ? CS_EXIT_SOME : CS_EXIT_OK;
	cs_findings_free(&fs);
	return r;
}
