/* cmd_verify.c - `cardstation verify`: check the card in a reader, or
 * every card that passes through the readers on handover day.
 *
 * The journal is opened read-only: a check never changes it. */
#include "cs_cli.h"
#include "cs_cmd.h"
#include "cs_codes.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_json.h"
#include "cs_handover.h"
#include "cs_reader.h"
#include "cs_verify.h"
#include "cs_i18n.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <openssl/x509.h>

#define MAX_READERS 16

struct verify_args {
	const char *journal, *pin_spec, *ca, *profiles;
	const char *readers[MAX_READERS];
	size_t nreaders;
	int json, handover, soon_days;
};

static void usage(FILE *f)
{
	fprintf(f, _(
	    "usage: cardstation verify [--reader SPEC] [--journal PATH] [--ca FILE]\n"
	    "                          [--pin env:VAR | --pin-prompt] [--json]\n"
	    "       cardstation verify --handover [--reader SPEC]... [options]\n"
	    "\n"
	    "Checks the card in a reader: chip serial, ATR, card profile, PKCS#15\n"
	    "serial, PIN tries left and every certificate on it; looks card and\n"
	    "certificates up in the journal (holder, whether this is the card\n"
	    "the journal bound to each certificate), checks validity and the\n"
	    "chain to the CA and, with the holder's PIN, has the card sign a\n"
	    "fresh challenge verified with the certificate's key. Reports which\n"
	    "uses the card supports (TLS 1.2/1.3 client authentication, S/MIME).\n"
	    "\n"
	    "  --reader SPEC     the reader (see `cardstation doctor`); default:\n"
	    "                    the only reader holding a card. Repeat it with\n"
	    "                    --handover; default there: every reader\n"
	    "  --journal PATH    the journal (default $%s, else\n"
	    "                    %s)\n"
	    "  --ca FILE         the UPKI CA certificate(s), PEM ($CARDSTATION_CA)\n"
	    "  --profiles DIR    card profiles (default $CARDSTATION_PROFILES or\n"
	    "                    the installed cardprofiles folder)\n"
	    "  --pin env:VAR     the holder's PIN from the environment\n"
	    "  --pin-prompt      the holder types the PIN (no echo, on /dev/tty);\n"
	    "                    with --handover: for every card\n"
	    "  --soon DAYS       warn when a certificate expires sooner (30)\n"
	    "  --json            JSON (with --handover: one object per line,\n"
	    "                    then the summary)\n"
	    "  --handover        verify every card put into the readers, one\n"
	    "                    after another, until Ctrl-C or end of input;\n"
	    "                    then print a summary\n"
	    "\n"
	    "Verdict: OK, WARN (works, but look at the reasons) or FAIL (do not\n"
	    "hand the card out), with every reason.\n"
	    "Exit status: 0 OK, 1 WARN, 2 FAIL or nothing could be checked\n"
	    "(--handover: the worst verdict of the day).\n"),
	    CS_JOURNAL_ENV, CS_JOURNAL_DEFAULT_PATH);
}

static int parse_args(int argc, char **argv, struct verify_args *a)
{
	enum { O_READER = 256, O_JOURNAL, O_CA, O_PIN, O_PIN_PROMPT, O_JSON,
	    O_HANDOVER, O_SOON, O_PROFILES, O_HELP };
	static const struct option longopts[] = {
		{"reader", required_argument, NULL, O_READER},
		{"journal", required_argument, NULL, O_JOURNAL},
		{"ca", required_argument, NULL, O_CA},
		{"pin", required_argument, NULL, O_PIN},
		{"pin-prompt", no_argument, NULL, O_PIN_PROMPT},
		{"json", no_argument, NULL, O_JSON},
		{"handover", no_argument, NULL, O_HANDOVER},
		{"soon", required_argument, NULL, O_SOON},
		{"profiles", required_argument, NULL, O_PROFILES},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_READER:
			if (a->nreaders == MAX_READERS) {
				fprintf(stderr, _("cardstation verify: at most %d "
				    "readers\n"), MAX_READERS);
				return -1;
			}
			a->readers[a->nreaders++] = optarg;
			break;
		case O_JOURNAL: a->journal = optarg; break;
		case O_CA: a->ca = optarg; break;
		case O_PROFILES: a->profiles = optarg; break;
		case O_PIN:
			if (a->pin_spec != NULL)
				goto twice;
			a->pin_spec = optarg;
			break;
		case O_PIN_PROMPT:
			if (a->pin_spec != NULL)
				goto twice;
			a->pin_spec = "prompt";
			break;
		case O_JSON: a->json = 1; break;
		case O_HANDOVER: a->handover = 1; break;
		case O_SOON:
			a->soon_days = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || a->soon_days <= 0) {
				fprintf(stderr, _("cardstation verify: --soon takes a "
				    "number of days\n"));
				return -1;
			}
			break;
		case O_HELP: case 'h':
			usage(stdout);
			exit(CS_EXIT_OK);
		default:
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, _("cardstation verify: unexpected '%s'\n"),
		    argv[optind]);
		return -1;
	}
	if (!a->handover && a->nreaders > 1) {
		fprintf(stderr, _("cardstation verify: one --reader (several only "
		    "with --handover)\n"));
		return -1;
	}
	if (a->pin_spec != NULL && strcmp(a->pin_spec, "prompt") != 0 &&
	    strncmp(a->pin_spec, "env:", 4) != 0) {
		fprintf(stderr, _("cardstation verify: --pin takes env:VAR; a PIN "
		    "is never written on the command line\n"));
		return -1;
	}
	return 0;
twice:
	fprintf(stderr, _("cardstation verify: --pin or --pin-prompt, once\n"));
	return -1;
}

static int exit_of(cs_verdict v)
{
	return v == CS_VERDICT_OK ? CS_EXIT_OK : v == CS_VERDICT_WARN ?
	    CS_EXIT_SOME : CS_EXIT_FAIL;
}

static const char *dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/* ---- output ---- */

static void print_text(FILE *f, const cs_vreport *r)
{
	char word[64];

	fprintf(f, _("Card in %s\n"), r->reader);
	if (r->card_error[0] == '\0') {
		fprintf(f, _("  chip serial    %s%s\n"), dash(r->chip_serial),
		    strcmp(r->id_source, "assigned") == 0 ?
		    _(" (assigned by the station: the chip gives none)") : "");
		fprintf(f, "  ATR            %s\n", dash(r->atr));
		fprintf(f, _("  profile        %s\n"), r->profile[0] ? r->profile :
		    _("(none: no known applet)"));
		fprintf(f, _("  PKCS#15 serial %s\n"), dash(r->pkcs15_serial));
		if (r->pin_set && r->pin_tries >= 0)
			fprintf(f, _("  PIN            %d of %d tries left\n"),
			    r->pin_tries, r->pin_max);
		else
			fprintf(f, _("  PIN            %s\n"), r->pin_set ? _("set") :
			    _("not set"));
		if (r->journal_error[0] != '\0')
			fprintf(f, _("  journal        not read: %s\n"), r->journal_error);
		else if (r->card_known)
			fprintf(f, _("  journal        card %s, printed number %s\n"),
			    cs_state_text("card", r->card_state, word, sizeof(word)),
			    dash(r->printed_no));
		else
			fprintf(f, _("  journal        unknown card\n"));
	}
	for (size_t i = 0; i < r->ncerts; i++) {
		const cs_vcert *c = &r->certs[i];

		fprintf(f, _("Certificate %zu (ID %s, %s)\n"), i + 1, dash(c->id),
		    dash(c->label));
		if (!c->parsed) {
			fprintf(f, _("  (not a readable certificate)\n"));
			continue;
		}
		fprintf(f, _("  serial         %s%s\n"), c->serial, c->is_ca ?
		    _(" (a CA certificate)") : "");
		fprintf(f, _("  subject        %s\n"), c->subject);
		fprintf(f, _("  issuer         %s\n"), c->issuer);
		fprintf(f, _("  valid          %s to %s (%ld days left)\n"),
		    c->not_before, c->not_after, c->days_left);
		if (c->is_ca)
			continue;
		fprintf(f, _("  key            %s, %s\n"), dash(c->key_type),
		    c->has_key > 0 ? _("private key on the card") : c->has_key == 0 ?
		    _("NO private key") : _("private key not seen (no login)"));
		fprintf(f, _("  chain          %s%s\n"), c->chain > 0 ? _("to the CA") :
		    c->chain == 0 ? _("BROKEN: ") : _("not checked"),
		    c->chain == 0 ? c->chain_error : "");
		if (r->journal_error[0] == '\0') {
			if (!c->j_known)
				fprintf(f, _("  journal        not in the journal\n"));
			else {
				fprintf(f, _("  holder         %s <%s>\n"), dash(c->j_holder),
				    dash(c->j_mail));
				fprintf(f, _("  bound to       %s\n"), c->j_bound_here > 0 ?
				    _("this card") : c->j_bound_here == 0 ?
				    c->j_bound_chip : cs_state_text("outcome",
				    c->j_outcome, word, sizeof(word)));
			}
		}
		fprintf(f, _("  signature      %s%s%s\n"), c->signed_ok > 0 ?
		    _("verified, ") : c->signed_ok == 0 ? _("FAILED: ") :
		    _("not tested"),
		    c->signed_ok > 0 ? c->mechanism : c->signed_ok == 0 ?
		    c->sign_error : "", "");
	}
	fprintf(f, _("Verdict: %s\n"), cs_verdict_name(r->verdict));
	for (size_t i = 0; i < r->nreasons; i++)
		fprintf(f, "  %-4s %-20s %s\n", cs_vlevel_name(r->reasons[i].level),
		    r->reasons[i].code, r->reasons[i].text);
	fflush(f);
}

static void print_json(FILE *f, const cs_vreport *r)
{
	fputc('{', f);
	cs_vreport_json_members(f, r);
	fputs("}\n", f);
	fflush(f);
}

/* ---- setting up ---- */

struct ctx {
	struct verify_args a;
	SCARDCONTEXT pcsc;
	cs_journal *j;
	char jwhy[256];
	X509_STORE *ca;
	cs_secret *pin;
	cs_reader_list readers;
};

static int setup(struct ctx *c)
{
	const char *ca = c->a.ca ? c->a.ca : getenv("CARDSTATION_CA");
	char why[512];
	LONG rv;

	if (cs_journal_open(&c->j, cs_journal_path(c->a.journal),
	    CS_JOURNAL_RDONLY, c->jwhy, sizeof(c->jwhy)) != CS_OK)
		c->j = NULL;
	if (ca != NULL && *ca != '\0' &&
	    cs_verify_load_ca(ca, &c->ca, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, _("cardstation verify: --ca %s\n"), why);
		return -1;
	}
	/* --pin-prompt asks per card (the holder types it), env: once. */
	if (c->a.pin_spec != NULL && strcmp(c->a.pin_spec, "prompt") != 0 &&
	    cs_cli_secret(c->a.pin_spec, N_("PIN"), &c->pin, why, sizeof(why)) !=
	    CS_OK) {
		fprintf(stderr, _("cardstation verify: %s\n"), why);
		return -1;
	}
	if ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL,
	    &c->pcsc)) != SCARD_S_SUCCESS) {
		fprintf(stderr, _("cardstation verify: PC/SC: %s (is pcscd "
		    "running?)\n"), pcsc_stringify_error(rv));
		return -1;
	}
	if (cs_reader_list_get(c->pcsc, &c->readers) != CS_OK ||
	    c->readers.n == 0) {
		fprintf(stderr, _("cardstation verify: no reader\n"));
		return -1;
	}
	return 0;
}

static void teardown(struct ctx *c)
{
	if (c->pcsc)
		SCardReleaseContext(c->pcsc);
	cs_reader_list_free(&c->readers);
	cs_secret_free(c->pin);
	X509_STORE_free(c->ca);
	cs_journal_close(c->j);
}

/* What every check of this command gives the engine. */
static void verify_opts(const struct ctx *c, cs_verify_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->journal = c->j;
	o->journal_why = c->jwhy;
	o->ca = c->ca;
	o->profiles_dir = c->a.profiles;
	o->soon_days = c->a.soon_days;
	if (c->pin != NULL)
		o->pin = cs_secret_str(c->pin);
}

static int ask_pin(void *arg, const char *reader, cs_secret **pin);
static void print_report(void *arg, const cs_vreport *r);

/* Verify the card in one reader and print its report. */
static cs_verdict verify_one(struct ctx *c, const char *reader,
    cs_vreport *r)
{
	cs_verify_opts o;
	cs_secret *typed = NULL;
	char why[512] = "";

	verify_opts(c, &o);
	o.reader = reader;
	if (c->a.pin_spec != NULL && strcmp(c->a.pin_spec, "prompt") == 0 &&
	    ask_pin(c, reader, &typed) == CS_OK && typed->len > 0)
		o.pin = cs_secret_str(typed);
	cs_verify_card(c->pcsc, &o, r, why, sizeof(why));
	cs_secret_free(typed);
	print_report(c, r);
	return r->verdict;
}

/* The reader a single check uses: SPEC, else the only one with a card. */
static int pick_reader(struct ctx *c, const char **name)
{
	char msg[512];
	size_t idx, with_card;

	if (c->a.nreaders == 1) {
		if (cs_reader_select(&c->readers, c->a.readers[0], &idx, msg,
		    sizeof(msg)) != CS_OK) {
			fprintf(stderr, _("cardstation verify: %s\n"), msg);
			return -1;
		}
		*name = c->readers.r[idx].name;
		return 0;
	}
	if ((with_card = cs_reader_with_card(c->pcsc, &c->readers, &idx)) == 1) {
		*name = c->readers.r[idx].name;
		return 0;
	}
	fprintf(stderr, _("cardstation verify: %s; name the reader with "
	    "--reader SPEC:\n"), with_card ? "several readers hold a card" :
	    "no reader holds a card");
	for (size_t i = 0; i < c->readers.n; i++)
		fprintf(stderr, "  %zu  %s\n", i, c->readers.r[i].name);
	return -1;
}

/* ---- handover day: the engine's loop (cs_handover.c), printed here ---- */

static int ask_pin(void *arg, const char *reader, cs_secret **pin)
{
	char why[512];

	(void)arg;
	(void)reader;
	if (cs_cli_secret("prompt", N_("Holder's PIN (empty: skip the key "
	    "test)"), pin, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, _("cardstation verify: %s\n"), why);
		return CS_ERR_USAGE;
	}
	return CS_OK;
}

static void print_report(void *arg, const cs_vreport *r)
{
	const struct ctx *c = arg;

	if (c->a.json)
		print_json(stdout, r);
	else
		print_text(stdout, r);
}

/* The signalfd ends the day; so does the end of the terminal's input. */
static int day_over(void *arg, int fd)
{
	char buf[256];

	(void)arg;
	if (fd != STDIN_FILENO)
		return 1;
	return read(STDIN_FILENO, buf, sizeof(buf)) <= 0;
}

static void print_summary(const struct ctx *c, const cs_handover_tally *t)
{
	long total = t->n[0] + t->n[1] + t->n[2];

	if (c->a.json) {
		printf("{\"summary\":{\"cards\":%ld,\"ok\":%ld,\"warn\":%ld,"
		    "\"fail\":%ld,\"failures\":[", total, t->n[0], t->n[1],
		    t->n[2]);
		for (size_t i = 0; i < t->nfails; i++) {
			if (i)
				putchar(',');
			cs_json_str(stdout, t->fails[i]);
		}
		printf("]}}\n");
	} else {
		printf(_("Handover summary: %ld cards, %ld OK, %ld WARN, %ld FAIL\n"),
		    total, t->n[0], t->n[1], t->n[2]);
		for (size_t i = 0; i < t->nfails; i++)
			printf("  FAIL %s\n", t->fails[i]);
	}
	fflush(stdout);
}

static int handover(struct ctx *c)
{
	const char *names[MAX_READERS];
	cs_handover_tally t;
	cs_handover_ops ops = {.report = print_report, .stop = day_over,
	    .arg = c};
	cs_verify_opts o;
	size_t nw = 0;
	int fds[2], sfd = -1, rc = CS_EXIT_FAIL;
	sigset_t mask;
	char msg[512];

	/* SIGINT and SIGTERM end the day through a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		fprintf(stderr, _("cardstation verify: %s\n"), strerror(errno));
		return rc;
	}
	for (size_t i = 0; i < c->readers.n && nw < MAX_READERS; i++) {
		size_t idx = i;

		if (c->a.nreaders > 0) {
			if (nw == c->a.nreaders)
				break;
			if (cs_reader_select(&c->readers, c->a.readers[nw], &idx,
			    msg, sizeof(msg)) != CS_OK) {
				fprintf(stderr, _("cardstation verify: %s\n"), msg);
				goto out;
			}
		}
		names[nw++] = c->readers.r[idx].name;
	}
	if (!c->a.json) {
		fprintf(stderr, _("Handover: put each card into "));
		for (size_t i = 0; i < nw; i++)
			fprintf(stderr, "%s%s", i ? " or " : "", names[i]);
		fprintf(stderr, _("; Ctrl-C or Ctrl-D ends the day.\n"));
	}
	verify_opts(c, &o);
	if (c->a.pin_spec != NULL && strcmp(c->a.pin_spec, "prompt") == 0)
		ops.pin = ask_pin;
	fds[0] = sfd;
	fds[1] = STDIN_FILENO;
	if (cs_handover_run(c->pcsc, names, nw, &o, fds, 2, &ops, &t) != CS_OK)
		fprintf(stderr, _("cardstation verify: the readers cannot be "
		    "watched (is pcscd running?)\n"));
	rc = t.n[2] ? CS_EXIT_FAIL : t.n[1] ? CS_EXIT_SOME : CS_EXIT_OK;
	print_summary(c, &t);
out:
	close(sfd);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	struct ctx c;
	const char *reader = NULL;
	int rc = CS_EXIT_FAIL;

	memset(&c, 0, sizeof(c));
	if (parse_args(argc, argv, &c.a) != 0) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	if (setup(&c) != 0)
		goto out;
	if (c.a.handover)
		rc = handover(&c);
	else if (pick_reader(&c, &reader) == 0) {
		cs_vreport r;

		rc = exit_of(verify_one(&c, reader, &r));
		cs_vreport_clear(&r);
	}
out:
	teardown(&c);
	return rc;
}
