/* cmd_card.c - `cardstation card lost` and `cardstation card returned`:
 * what the service desk does when a card goes missing or comes back.
 *
 * lost: the revocation request TSV for every certificate live on the card
 * (cs_revoke.h), and in one journal transaction the issuances revoked,
 * the records revoked and the card lost. returned: with the institution
 * PUK the PIN is reset to a random one nobody knows, the PKCS#15
 * application erased, and the card journaled 'returned' with its
 * issuances 'wiped'. The rules are the engine's (cs_desk.h), shared with
 * the kiosk's desk screen; this file parses options and prints. */
#include "cs_cli.h"
#include "cs_cmd.h"
#include "cs_desk.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_reader.h"
#include "cs_revoke.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: cardstation card lost (--printed N | --chip HEX | --holder NAME)\n"
	    "                             --admin-mail MAIL [--reason CODE]\n"
	    "                             [--comment TEXT] [--out FILE]\n"
	    "                             [--journal PATH] [--dry-run]\n"
	    "       cardstation card returned --reader SPEC --puk env:VAR|prompt\n"
	    "                             [--new-pin env:VAR] [--journal PATH]\n"
	    "\n"
	    "lost: writes the UPKI revocation request (TSV, CP932, CRLF, 15\n"
	    "columns, no header) for every certificate live on the card and marks\n"
	    "them revoked and the card lost in the journal, in one step. --holder\n"
	    "matches part of the name; a holder with several cards is asked which\n"
	    "one (--chip or --printed). --reason: 0 unspecified (needs --comment),\n"
	    "1 keyCompromise (the default: whoever finds the card holds the key),\n"
	    "3 affiliationChanged, 4 superseded, 5 cessationOfOperation. --out\n"
	    "FILE (default: standard output). --dry-run writes the request and\n"
	    "leaves the journal as it is.\n"
	    "\n"
	    "returned: for the card in the reader, resets the PIN with the\n"
	    "institution PUK to a random one that is never shown (or to\n"
	    "--new-pin), erases the PKCS#15 application, and journals the card\n"
	    "'returned' and its issuances 'wiped'. See docs/service-desk.md for\n"
	    "what stays on the card.\n"
	    "\n"
	    "Exit status: 0 done, 2 usage error or nothing done.\n");
}

/* ---- lost ---- */

struct lost_args {
	const char *journal, *printed, *chip, *holder, *admin_mail, *comment;
	const char *out;
	int reason, dry_run;
};

static int lost_parse(int argc, char **argv, struct lost_args *a)
{
	enum { O_JOURNAL = 256, O_PRINTED, O_CHIP, O_HOLDER, O_ADMIN, O_REASON,
	    O_COMMENT, O_OUT, O_DRY, O_HELP };
	static const struct option longopts[] = {
		{"journal", required_argument, NULL, O_JOURNAL},
		{"printed", required_argument, NULL, O_PRINTED},
		{"chip", required_argument, NULL, O_CHIP},
		{"holder", required_argument, NULL, O_HOLDER},
		{"admin-mail", required_argument, NULL, O_ADMIN},
		{"reason", required_argument, NULL, O_REASON},
		{"comment", required_argument, NULL, O_COMMENT},
		{"out", required_argument, NULL, O_OUT},
		{"dry-run", no_argument, NULL, O_DRY},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	a->reason = CS_REVOKE_DEFAULT_REASON;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_JOURNAL: a->journal = optarg; break;
		case O_PRINTED: a->printed = optarg; break;
		case O_CHIP: a->chip = optarg; break;
		case O_HOLDER: a->holder = optarg; break;
		case O_ADMIN: a->admin_mail = optarg; break;
		case O_COMMENT: a->comment = optarg; break;
		case O_OUT: a->out = optarg; break;
		case O_DRY: a->dry_run = 1; break;
		case O_REASON:
			a->reason = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || *optarg == '\0' ||
			    cs_revoke_reason_name(a->reason) == NULL) {
				fprintf(stderr, "cardstation card lost: --reason is "
				    "0, 1, 3, 4 or 5\n");
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
		fprintf(stderr, "cardstation card lost: unexpected '%s'\n",
		    argv[optind]);
		return -1;
	}
	if ((a->printed != NULL) + (a->chip != NULL) + (a->holder != NULL) != 1) {
		fprintf(stderr, "cardstation card lost: name the card with one of "
		    "--printed, --chip, --holder\n");
		return -1;
	}
	if (a->admin_mail == NULL) {
		fprintf(stderr, "cardstation card lost: --admin-mail is required "
		    "(column 10 of the request)\n");
		return -1;
	}
	if (a->reason == 0 && (a->comment == NULL || *a->comment == '\0')) {
		fprintf(stderr, "cardstation card lost: --reason 0 needs "
		    "--comment\n");
		return -1;
	}
	return 0;
}

/* The card the operator named; for --holder, exactly one card. */
static int lost_find_card(cs_journal *j, const struct lost_args *a,
    int64_t *card_id)
{
	cs_desk_sel sel = { .printed = a->printed, .chip = a->chip,
	    .holder = a->holder };
	cs_desk_certs several;
	char why[512];
	int r;

	if ((r = cs_desk_find_card(j, &sel, card_id, &several, why,
	    sizeof(why))) == CS_OK)
		return 0;
	if (r == CS_ERR_MISMATCH) {
		fprintf(stderr, "cardstation card lost: '%s' fits several cards; "
		    "name one with --chip or --printed:\n", a->holder);
		for (size_t i = 0; i < several.n; i++)
			fprintf(stderr, "  chip %-20s printed %-10s certificate %s  "
			    "%s <%s>\n", several.c[i].chip, several.c[i].printed,
			    several.c[i].cert_serial, several.c[i].holder,
			    several.c[i].mail);
	} else if (r == CS_ERR_NOTFOUND && a->holder != NULL) {
		fprintf(stderr, "cardstation card lost: %s (see `cardstation log "
		    "--holder`)\n", why);
	} else {
		fprintf(stderr, "cardstation card lost: %s\n", why);
	}
	return -1;
}

static int card_lost(int argc, char **argv)
{
	struct lost_args a;
	cs_desk_lost_opts o;
	cs_desk_certs done;
	cs_journal *j = NULL;
	int64_t card_id = 0;
	char why[1024];
	int r, rc = CS_EXIT_FAIL;

	if (lost_parse(argc, argv, &a) != 0) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	if (cs_journal_open(&j, cs_journal_path(a.journal), a.dry_run ?
	    CS_JOURNAL_RDONLY : 0, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, "cardstation card lost: %s\n", why);
		return CS_EXIT_FAIL;
	}
	cs_journal_set_actor(j, getenv("USER"), NULL);
	if (lost_find_card(j, &a, &card_id) != 0)
		goto out;
	memset(&o, 0, sizeof(o));
	o.reason = a.reason;
	o.comment = a.comment;
	o.admin_mail = a.admin_mail;
	o.dry_run = a.dry_run;
	if (a.out != NULL && strcmp(a.out, "-") != 0)
		o.out_path = a.out;
	else
		o.out_fp = stdout;
	if ((r = cs_desk_lost(j, card_id, &o, &done, NULL, NULL, why,
	    sizeof(why))) != CS_OK) {
		fprintf(stderr, "cardstation card lost: %s%s\n", why,
		    r == CS_ERR_NOTFOUND ? "; see `cardstation log --chip`" : "");
		goto out;
	}
	for (size_t i = 0; i < done.n; i++)
		fprintf(stderr, "revocation requested: certificate %s, %s <%s>, "
		    "card %s\n", done.c[i].cert_serial, done.c[i].holder,
		    done.c[i].mail, done.c[i].chip);
	fprintf(stderr, "%zu request line(s)%s%s; %s\n", done.n,
	    a.out ? " in " : "", a.out ? a.out : "", a.dry_run ?
	    "dry run: the journal is unchanged" : "the card is journaled lost");
	rc = CS_EXIT_OK;
out:
	cs_journal_close(j);
	return rc;
}

/* ---- returned ---- */

struct returned_args {
	const char *journal, *reader, *puk_spec, *pin_spec, *profiles;
};

static int returned_parse(int argc, char **argv, struct returned_args *a)
{
	enum { O_JOURNAL = 256, O_READER, O_PUK, O_PIN, O_PROFILES, O_HELP };
	static const struct option longopts[] = {
		{"journal", required_argument, NULL, O_JOURNAL},
		{"reader", required_argument, NULL, O_READER},
		{"puk", required_argument, NULL, O_PUK},
		{"new-pin", required_argument, NULL, O_PIN},
		{"profiles", required_argument, NULL, O_PROFILES},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_JOURNAL: a->journal = optarg; break;
		case O_READER: a->reader = optarg; break;
		case O_PUK: a->puk_spec = optarg; break;
		case O_PIN: a->pin_spec = optarg; break;
		case O_PROFILES: a->profiles = optarg; break;
		case O_HELP: case 'h':
			usage(stdout);
			exit(CS_EXIT_OK);
		default:
			return -1;
		}
	}
	if (optind != argc || a->reader == NULL || a->puk_spec == NULL) {
		fprintf(stderr, "cardstation card returned: needs --reader SPEC "
		    "and --puk env:VAR\n");
		return -1;
	}
	return 0;
}

static int card_returned(int argc, char **argv)
{
	struct returned_args a;
	SCARDCONTEXT ctx = 0;
	cs_reader_list rl = {0};
	cs_secret *puk = NULL, *pin = NULL;
	cs_journal *j = NULL;
	cs_desk_return_opts o;
	cs_desk_return res;
	char why[1024], msg[512];
	size_t idx;
	int r, rc = CS_EXIT_FAIL;

	if (returned_parse(argc, argv, &a) != 0) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	if (cs_cli_secret(a.puk_spec, "institution PUK", &puk, why,
	    sizeof(why)) != CS_OK ||
	    (a.pin_spec != NULL && cs_cli_secret(a.pin_spec, "new PIN", &pin,
	    why, sizeof(why)) != CS_OK)) {
		fprintf(stderr, "cardstation card returned: %s\n", why);
		goto out;
	}
	/* Open the journal first: never wipe a card we cannot journal. */
	if (cs_journal_open(&j, cs_journal_path(a.journal), 0, why,
	    sizeof(why)) != CS_OK) {
		fprintf(stderr, "cardstation card returned: %s\n", why);
		goto out;
	}
	cs_journal_set_actor(j, getenv("USER"), NULL);
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS || cs_reader_list_get(ctx, &rl) != CS_OK) {
		fprintf(stderr, "cardstation card returned: PC/SC is not "
		    "available (is pcscd running?)\n");
		goto out;
	}
	if (cs_reader_select(&rl, a.reader, &idx, msg, sizeof(msg)) != CS_OK) {
		fprintf(stderr, "cardstation card returned: %s\n", msg);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.reader = rl.r[idx].name;
	o.profiles_dir = a.profiles;
	o.puk = puk;
	o.new_pin = pin;
	cs_journal_set_actor(j, getenv("USER"), o.reader);
	if ((r = cs_desk_returned(ctx, j, &o, &res, why, sizeof(why))) !=
	    CS_OK) {
		fprintf(stderr, "cardstation card returned: %s%s\n",
		    r == CS_ERR_USAGE && pin != NULL ? "--new-pin: " : "", why);
		goto out;
	}
	fprintf(stderr, "card %s wiped: PKCS#15 application erased, PIN reset "
	    "(%s), journaled 'returned'\n", res.chip_serial[0] ?
	    res.chip_serial : "(no chip serial)", a.pin_spec ? "to --new-pin" :
	    "to a random PIN nobody knows");
	rc = CS_EXIT_OK;
out:
	if (ctx)
		SCardReleaseContext(ctx);
	cs_reader_list_free(&rl);
	cs_journal_close(j);
	cs_secret_free(pin);
	cs_secret_free(puk);
	return rc;
}

int cmd_card(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "lost") == 0)
		return card_lost(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "returned") == 0)
		return card_returned(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return CS_EXIT_OK;
	}
	usage(stderr);
	return CS_EXIT_FAIL;
}
