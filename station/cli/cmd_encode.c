/* cmd_encode.c - `cardstation encode`: the command-line front end of the
 * encode engine. One line per event; in queue mode the operator types (or
 * scans) each card's printed number when asked. */
#include "cs_cli.h"
#include "cs_cmd.h"
#include "cs_err.h"
#include "cs_profile.h"
#include "cs_reader.h"
#include "cs_run.h"
#include "cs_i18n.h"

#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_READERS CS_RUN_MAX_READERS

struct cli {
	cs_run *run;
	int waiting_confirm;  /* reader index asking, or -1 */
	int failures, done;
	int waits;            /* records listed as waiting for their card */
	cs_jprogress last;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
	    _("usage: cardstation encode --run ID [options]\n"
	    "\n"
	    "Waits for cards in the readers and writes each holder's key and\n"
	    "certificate, one worker per reader. Ctrl-C stops after the cards\n"
	    "being written; running encode again resumes the run.\n"
	    "\n"
	    "  --reader SPEC      a reader (repeat for several; default: all).\n"
	    "                     SPEC: index, name prefix, serial:S, usb:B-P\n"
	    "  --journal PATH\n"
	    "  --operator NAME    recorded on every journal row\n"
	    "  --profile NAME     card profile for every card (default: by card)\n"
	    "  --profiles DIR     card profiles (default $CARDSTATION_PROFILES or\n"
	    "                     the installed cardprofiles folder)\n"
	    "  --pin env:VAR|prompt  one initial PIN for every card (default:\n"
	    "                     the profile's random PIN, shown once)\n"
	    "  --puk env:VAR|prompt  the institution PUK for every card profile\n"
	    "                     (default: random)\n"
	    "  --puk PROFILE=env:VAR|prompt  the institution PUK for the cards\n"
	    "                     of one card profile (repeat for each; a run\n"
	    "                     mixing card families), before a plain --puk\n"
	    "  --confirm          ask for each card's printed number (queue mode;\n"
	    "                     pairing mode: when the chip is not in the list)\n"
	    "  --pairing FILE     pairing-list mode: CSV with header printed_no,\n"
	    "                     chip_serial, person (staff number or mail)\n"
	    "  --reissue          rewrite cards that already hold a key\n"
	    "  --reprint          accept a known card under a new printed number\n"
	    "                     (the card was printed again; both are kept)\n"
	    "  --until-done       stop when every record is encoded\n"));
}

static void show_letter(const cs_run_event *ev)
{
	FILE *tty = fopen("/dev/tty", "w");

	/* Only the operator's terminal: never stdout, which may be a log. */
	if (tty == NULL)
		return;
	fprintf(tty, _("\n  *** PIN letter for %s (%s, card %s) ***\n"),
	    ev->holder ? ev->holder : "?", ev->mail ? ev->mail : "-",
	    ev->printed_no ? ev->printed_no : ev->chip_serial);
	if (ev->pin != NULL)
		fprintf(tty, "      PIN: %s\n", ev->pin);
	if (ev->puk != NULL)
		fprintf(tty, "      PUK: %s\n", ev->puk);
	fprintf(tty, _("  (shown once; not stored anywhere)\n\n"));
	fclose(tty);
}

static void on_event(void *ctx, const cs_run_event *ev)
{
	struct cli *c = ctx;
	const char *who = ev->holder ? ev->holder : "";

	switch (ev->kind) {
	case CS_EV_READER:
		printf("[%d] %s%s%s\n", ev->reader_index, ev->state ? ev->state : "",
		    ev->text ? ": " : "", ev->text ? ev->text : "");
		break;
	case CS_EV_CARD:
		printf(_("[%d] card %s (%s)\n"), ev->reader_index, ev->chip_serial,
		    ev->profile);
		break;
	case CS_EV_HOLDER:
		printf(_("[%d] for %s <%s> staff %s, certificate %s\n"),
		    ev->reader_index, who, ev->mail ? ev->mail : "-",
		    ev->staff_no ? ev->staff_no : "-", ev->cert_serial);
		break;
	case CS_EV_CONFIRM:
		printf(_("[%d] is this %s's card? type its printed number "
		    "(empty line: no):\n"), ev->reader_index, who);
		c->waiting_confirm = ev->reader_index;
		break;
	case CS_EV_STEP:
		printf(_("[%d] step %d of %d: %s (%s)\n"), ev->reader_index, ev->step,
		    ev->steps, ev->state, ev->text ? ev->text : "");
		break;
	case CS_EV_DONE:
		c->done++;
		printf(_("[%d] DONE %s certificate %s on card %s\n"), ev->reader_index,
		    who, ev->cert_serial, ev->chip_serial);
		break;
	case CS_EV_FAILED:
		c->failures++;
		/* The code too: what the operator reads out to the desk. */
		printf(_("[%d] FAILED %s: %s [%s]\n"), ev->reader_index, who,
		    ev->text ? ev->text : "", ev->code ? ev->code : "-");
		break;
	case CS_EV_PIN_LETTER:
		show_letter(ev);
		break;
	case CS_EV_PROGRESS:
		c->last = ev->progress;
		printf(_("progress: %" PRId64 " of %" PRId64 " done, %" PRId64
		    " to go, %" PRId64 " being written, %" PRId64 " refused"),
		    ev->progress.done, ev->progress.total - ev->progress.refused,
		    ev->progress.queued, ev->progress.claimed, ev->progress.refused);
		if (ev->progress.waiting > 0)
			printf(_(" (%" PRId64 " waiting for their half-written card)"),
			    ev->progress.waiting);
		printf("\n");
		break;
	case CS_EV_WAITING:
		/* The code too: a script finds the record by seq in params. */
		if (c->waits++ == 0)
			printf(_("waiting for their own card:\n"));
		printf("  %s [%s]\n", ev->text ? ev->text : "",
		    ev->code ? ev->code : "-");
		break;
	case CS_EV_END:
		printf(_("run ended: %s\n"), ev->text ? ev->text : "");
		break;
	case CS_EV_JOURNAL:
		/* The engine has said it on stderr, where this terminal shows
		 * it too. */
		break;
	}
	fflush(stdout);
}

static void answer_from_stdin(struct cli *c)
{
	struct pollfd p = {STDIN_FILENO, POLLIN, 0};
	char line[256];

	if (c->waiting_confirm < 0 || poll(&p, 1, 0) <= 0)
		return;
	if (fgets(line, sizeof(line), stdin) == NULL) {
		cs_run_answer(c->run, c->waiting_confirm, NULL);
	} else {
		line[strcspn(line, "\r\n")] = '\0';
		cs_run_answer(c->run, c->waiting_confirm, line[0] ? line : NULL);
	}
	c->waiting_confirm = -1;
}

static int pick_readers(char **specs, size_t nspecs, char names[][CS_READER_NAME],
    size_t *n)
{
	SCARDCONTEXT ctx;
	cs_reader_list l = {0};
	char msg[512];
	int r = CS_OK;

	*n = 0;
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS) {
		fprintf(stderr, _("cardstation encode: pcscd does not answer (is it "
		    "running? `cardstation doctor` tells)\n"));
		return CS_ERR_CARD;
	}
	if ((r = cs_reader_list_get(ctx, &l)) != CS_OK || l.n == 0) {
		fprintf(stderr, _("cardstation encode: no reader\n"));
		r = CS_ERR_NOTFOUND;
	}
	if (r == CS_OK && nspecs == 0 && l.n > MAX_READERS) {
		fprintf(stderr, _("cardstation encode: %zu readers: one run serves at "
		    "most %d; name the ones to use with --reader\n"), l.n,
		    MAX_READERS);
		r = CS_ERR_USAGE;
	}
	for (size_t i = 0; r == CS_OK && i < (nspecs ? nspecs : l.n); i++) {
		size_t idx = i;

		if (nspecs > 0 && (r = cs_reader_select(&l, specs[i], &idx, msg,
		    sizeof(msg))) != CS_OK) {
			fprintf(stderr, _("cardstation encode: %s\n"), msg);
			break;
		}
		snprintf(names[(*n)++], CS_READER_NAME, "%s", l.r[idx].name);
	}
	cs_reader_list_free(&l);
	SCardReleaseContext(ctx);
	return r;
}

/* --puk SPEC: env:VAR or prompt for every card profile, or
 * PROFILE=env:VAR|prompt for one (a run mixing card families). */
static int add_puk(const char *arg, const char **all, char **prof,
    const char **specs, size_t *n)
{
	const char *eq = strchr(arg, '=');

	if (strncmp(arg, "env:", 4) == 0 || eq == NULL) {
		if (*all != NULL) {
			fprintf(stderr, _("cardstation encode: --puk for every card "
			    "profile given twice\n"));
			return CS_ERR_USAGE;
		}
		*all = arg;
		return CS_OK;
	}
	if (eq == arg) {
		fprintf(stderr, _("cardstation encode: --puk %s names no card "
		    "profile\n"), arg);
		return CS_ERR_USAGE;
	}
	if (*n == CS_RUN_MAX_PUKS) {
		fprintf(stderr, _("cardstation encode: at most %d PUKs, one per "
		    "card profile\n"), CS_RUN_MAX_PUKS);
		return CS_ERR_USAGE;
	}
	if ((prof[*n] = strndup(arg, (size_t)(eq - arg))) == NULL)
		return CS_ERR_NOMEM;
	specs[(*n)++] = eq + 1;
	return CS_OK;
}

int cmd_encode(int argc, char **argv)
{
	enum { O_RUN = 256, O_READER, O_JOURNAL, O_OPERATOR, O_PROFILE,
	    O_PROFILES, O_PIN, O_PUK, O_CONFIRM, O_REISSUE, O_REPRINT, O_UNTIL,
	    O_HELP,
	    O_PAIRING };
	static const struct option longopts[] = {
		{"run", required_argument, NULL, O_RUN},
		{"reader", required_argument, NULL, O_READER},
		{"journal", required_argument, NULL, O_JOURNAL},
		{"operator", required_argument, NULL, O_OPERATOR},
		{"profile", required_argument, NULL, O_PROFILE},
		{"profiles", required_argument, NULL, O_PROFILES},
		{"pin", required_argument, NULL, O_PIN},
		{"puk", required_argument, NULL, O_PUK},
		{"confirm", no_argument, NULL, O_CONFIRM},
		{"reissue", no_argument, NULL, O_REISSUE},
		{"reprint", no_argument, NULL, O_REPRINT},
		{"until-done", no_argument, NULL, O_UNTIL},
		{"pairing", required_argument, NULL, O_PAIRING},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	cs_run_opts o = {0};
	struct cli cli = {.waiting_confirm = -1};
	cs_run_ui ui = {on_event, &cli};
	char *specs[MAX_READERS], names[MAX_READERS][CS_READER_NAME];
	const char *readers[MAX_READERS];
	const char *pinspec = NULL, *pukspec = NULL, *pukspecs[CS_RUN_MAX_PUKS];
	char *pukprof[CS_RUN_MAX_PUKS];
	cs_secret *pin = NULL, *puk = NULL, *ppuk[CS_RUN_MAX_PUKS] = {0};
	cs_run_puk puks[CS_RUN_MAX_PUKS];
	size_t nspecs = 0, npuks = 0, n;
	char why[1024], actor[256];
	int c, r, rc = CS_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_RUN: o.run_id = strtoll(optarg, NULL, 10); break;
		case O_READER:
			if (nspecs == MAX_READERS) {
				fprintf(stderr, _("cardstation encode: one run serves at "
				    "most %d readers\n"), MAX_READERS);
				goto out;
			}
			specs[nspecs++] = optarg;
			break;
		case O_JOURNAL: o.journal = optarg; break;
		case O_OPERATOR: o.operator_name = optarg; break;
		case O_PROFILE: o.profile = optarg; break;
		case O_PROFILES: o.profiles_dir = optarg; break;
		case O_PIN: pinspec = optarg; break;
		case O_PUK:
			if (add_puk(optarg, &pukspec, pukprof, pukspecs, &npuks) !=
			    CS_OK)
				goto out;
			break;
		case O_CONFIRM: o.confirm_printed = 1; break;
		case O_REISSUE: o.reissue = 1; break;
		case O_REPRINT: o.reprint = 1; break;
		case O_UNTIL: o.until_done = 1; break;
		case O_PAIRING: o.pairing_csv = optarg; break;
		case O_HELP: usage(stdout); rc = CS_EXIT_OK; goto out;
		default: usage(stderr); goto out;
		}
	}
	if (o.run_id <= 0 || optind != argc) {
		usage(stderr);
		goto out;
	}
	if ((pinspec && cs_cli_secret(pinspec, N_("initial card PIN"), &pin, why,
	    sizeof(why)) != CS_OK) || (pukspec && cs_cli_secret(pukspec,
	    N_("institution PUK"), &puk, why, sizeof(why)) != CS_OK)) {
		fprintf(stderr, _("cardstation encode: %s\n"), why);
		goto out;
	}
	for (size_t i = 0; i < npuks; i++) {
		char what[160];

		/* The label is translated here: cs_cli_secret's _() finds it
		 * already Japanese and leaves it. */
		snprintf(what, sizeof(what), _("institution PUK for card profile %s"),
		    pukprof[i]);
		if (cs_cli_secret(pukspecs[i], what, &ppuk[i], why, sizeof(why)) !=
		    CS_OK) {
			fprintf(stderr, _("cardstation encode: %s\n"), why);
			goto out;
		}
		puks[i] = (cs_run_puk){pukprof[i], ppuk[i]};
	}
	if (pin == NULL && access("/dev/tty", R_OK | W_OK) != 0) {
		fprintf(stderr, _("cardstation encode: random initial PINs are shown "
		    "once on the operator's terminal, and there is none: give "
		    "--pin env:VAR or use the kiosk\n"));
		goto out;
	}
	if (pick_readers(specs, nspecs, names, &n) != CS_OK)
		goto out;
	for (size_t i = 0; i < n; i++)
		readers[i] = names[i];
	o.readers = readers;
	o.nreaders = n;
	o.pin = pin;
	o.puk = puk;
	o.puks = puks;
	o.npuks = npuks;
	o.operator_name = cs_cmd_actor(o.operator_name, actor, sizeof(actor));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if ((r = cs_run_start(&o, &ui, &cli.run, why, sizeof(why))) != CS_OK) {
		fprintf(stderr, _("cardstation encode: %s\n"), why);
		goto out;
	}
	while ((r = cs_run_poll(cli.run, 200)) == 1) {
		if (got_signal)
			cs_run_stop(cli.run);
		answer_from_stdin(&cli);
	}
	cs_run_free(cli.run);
	rc = r < 0 ? CS_EXIT_FAIL : cli.last.queued == 0 && cli.last.claimed == 0 ?
	    CS_EXIT_OK : CS_EXIT_SOME;
out:
	cs_secret_free(pin);
	cs_secret_free(puk);
	for (size_t i = 0; i < npuks; i++) {
		cs_secret_free(ppuk[i]);
		free(pukprof[i]);
	}
	return rc;
}
