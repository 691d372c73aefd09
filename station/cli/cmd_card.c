/* cmd_card.c - `cardstation card lost`, `card returned` and `card
 * pin-reset`: what the service desk does when a card goes missing, comes
 * back, or its holder forgot the PIN.
 *
 * lost: the revocation request TSV for every certificate live on the card
 * (cs_revoke.h), and in one journal transaction the issuances revoked,
 * the records revoked and the card lost. returned: with the institution
 * PUK the PIN is reset to a random one nobody knows, the applet's keys
 * overwritten, the PKCS#15 application erased, and the card journaled
 * 'returned'; a certificate still live gets its revocation request (or
 * the operator says it is revoked already). pin-reset: a new PIN set with
 * the PUK on a card the journal issued. The rules are the engine's
 * (cs_desk.h), shared with the kiosk's desk screen; this file parses
 * options and prints. */
#include "cs_cli.h"
#include "cs_cmd.h"
#include "cs_codes.h"
#include "cs_desk.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_reader.h"
#include "cs_revoke.h"
#include "cs_i18n.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

static void usage(FILE *f)
{
	fprintf(f,
	    _("usage: cardstation card lost (--printed N | --chip HEX | --holder NAME)\n"
	    "                             --admin-mail MAIL [--reason CODE]\n"
	    "                             [--comment TEXT] [--out FILE]\n"
	    "                             [--journal PATH] [--dry-run]\n"
	    "       cardstation card returned --reader SPEC --puk env:VAR|prompt\n"
	    "                             [--new-pin env:VAR]\n"
	    "                             [--admin-mail MAIL [--reason CODE]\n"
	    "                              [--comment TEXT] [--out FILE]\n"
	    "                              | --already-revoked] [--journal PATH]\n"
	    "                             [--profiles DIR]\n"
	    "       cardstation card pin-reset --reader SPEC --puk env:VAR|prompt\n"
	    "                             [--new-pin env:VAR|prompt] [--journal PATH]\n"
	    "                             [--profiles DIR]\n"
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
	    "--new-pin), overwrites the applet's keys with new ones, erases the\n"
	    "PKCS#15 application, and journals the card 'returned'. A certificate\n"
	    "still live on the card needs a decision first: --admin-mail writes\n"
	    "its revocation request as for a lost card (reason 3\n"
	    "affiliationChanged unless --reason) and marks it revoked;\n"
	    "--already-revoked says it was revoked already (marked wiped).\n"
	    "\n"
	    "pin-reset: the holder forgot the PIN or blocked it. Sets a new PIN\n"
	    "with the institution PUK: the holder types it (--new-pin prompt, asked\n"
	    "twice), or without --new-pin a random PIN is shown once on the\n"
	    "terminal for a PIN letter. Key and certificate stay. Refused, with the\n"
	    "card untouched, when the journal does not know the card, has it lost\n"
	    "or returned, or its certificate is not the journal's for this card.\n"
	    "A wrong PUK says how many tries the card has left.\n"
	    "\n"
	    "--profiles DIR: card profiles (default $CARDSTATION_PROFILES or the\n"
	    "installed cardprofiles folder).\n"
	    "\n"
	    "Exit status: 0 done, 2 usage error or nothing done.\n"));
}

/* The engine's message (a code and its parameters, cs_desk.h) in the
 * operator's language, after the command's name. */
static void say_failed(const char *cmd, const cs_msg *m)
{
	char text[2048];

	fprintf(stderr, _("cardstation card %s: %s\n"), cmd,
	    cs_msg_text(m, text, sizeof(text)));
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
				fprintf(stderr, _("cardstation card lost: --reason is "
				    "0, 1, 3, 4 or 5\n"));
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
		fprintf(stderr, _("cardstation card lost: unexpected '%s'\n"),
		    argv[optind]);
		return -1;
	}
	if ((a->printed != NULL) + (a->chip != NULL) + (a->holder != NULL) != 1) {
		fprintf(stderr, _("cardstation card lost: name the card with one of "
		    "--printed, --chip, --holder\n"));
		return -1;
	}
	if (a->admin_mail == NULL) {
		fprintf(stderr, _("cardstation card lost: --admin-mail is required "
		    "(column 10 of the request)\n"));
		return -1;
	}
	if (a->reason == 0 && (a->comment == NULL || *a->comment == '\0')) {
		fprintf(stderr, _("cardstation card lost: --reason 0 needs "
		    "--comment\n"));
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
	cs_msg m;
	char text[2048];
	int r;

	if ((r = cs_desk_find_card(j, &sel, card_id, &several, &m)) == CS_OK)
		return 0;
	if (r == CS_ERR_MISMATCH) {
		fprintf(stderr, _("cardstation card lost: '%s' fits several cards; "
		    "name one with --chip or --printed:\n"), a->holder);
		for (size_t i = 0; i < several.n; i++)
			fprintf(stderr, _("  chip %-20s printed %-10s certificate %s  "
			    "%s <%s>\n"), several.c[i].chip, several.c[i].printed,
			    several.c[i].cert_serial, several.c[i].holder,
			    several.c[i].mail);
	} else if (r == CS_ERR_NOTFOUND && a->holder != NULL) {
		fprintf(stderr, _("cardstation card lost: %s (see `cardstation log "
		    "--holder`)\n"), cs_msg_text(&m, text, sizeof(text)));
	} else {
		say_failed("lost", &m);
	}
	return -1;
}

/* A card whose first write was never confirmed (partial): no
 * certificate is live on it, but records may wait for it to come back. Its
 * identity may be one the station assigned and the card never got (pulled
 * out during the write): then it never comes back as itself. Declared
 * lost, it is retired (never written again, refused if it ever returns)
 * and what waited for it goes back to the queue (issue 10). 1 when
 * handled (rc set), 0 when the card is not such a card. */
static int lost_unconfirmed(cs_journal *j, int64_t card_id, int dry_run,
    int *rc)
{
	cs_jcard jc;
	cs_desk_certs ll;
	int64_t n = 0;
	char why[512], note[160];
	cs_msg m;
	int r;

	memset(&jc, 0, sizeof(jc));
	if (cs_journal_card_get(j, card_id, &jc) != CS_OK)
		return 0;
	r = jc.state == CS_JCARD_PARTIAL;
	cs_jcard_clear(&jc);
	if (!r)
		return 0;
	*rc = CS_EXIT_FAIL;
	if ((r = cs_journal_trust(j, why, sizeof(why))) != CS_OK ||
	    (!dry_run && (r = cs_journal_begin(j, why, sizeof(why))) != CS_OK)) {
		fprintf(stderr, _("cardstation card lost: %s\n"), why);
		return 1;
	}
	if (cs_desk_live_certs(j, card_id, &ll) != CS_OK) {
		fprintf(stderr, _("cardstation card lost: the journal cannot be "
		    "read\n"));
		goto fail;
	}
	for (size_t i = 0; i < ll.n; i++)
		if (ll.c[i].writing) {
			fprintf(stderr, _("cardstation card lost: certificate %s is "
			    "still being written to this card: stop that run "
			    "first\n"), ll.c[i].cert_serial);
			goto fail;
		}
	if (ll.n != 0) {
		if (!dry_run)
			cs_journal_rollback(j);
		return 0;
	}
	if (dry_run) {
		fprintf(stderr, _("the card's first write was never confirmed: it "
		    "would be retired and the records waiting for it freed; dry "
		    "run: the journal is unchanged\n"));
		*rc = CS_EXIT_OK;
		return 1;
	}
	cs_msg_set(&m, "note.lost-unconfirmed", NULL);
	if (cs_journal_card_retire(j, card_id, cs_msg_record(&m, note,
	    sizeof(note)), &n, why, sizeof(why)) != CS_OK ||
	    cs_journal_commit(j, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, _("cardstation card lost: %s\n"), why);
		goto fail;
	}
	fprintf(stderr, _("the card's first write was never confirmed: it is "
	    "retired; %lld record(s) that waited for it are back in the "
	    "queue\n"), (long long)n);
	*rc = CS_EXIT_OK;
	return 1;
fail:
	if (!dry_run)
		cs_journal_rollback(j);
	return 1;
}

static int card_lost(int argc, char **argv)
{
	struct lost_args a;
	cs_desk_lost_opts o;
	cs_desk_certs done;
	cs_journal *j = NULL;
	int64_t card_id = 0;
	char why[1024], actor[256];
	cs_msg m;
	int r, rc = CS_EXIT_FAIL;

	if (lost_parse(argc, argv, &a) != 0) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	if (cs_journal_open(&j, cs_journal_path(a.journal), a.dry_run ?
	    CS_JOURNAL_RDONLY : 0, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, _("cardstation card lost: %s\n"), why);
		return CS_EXIT_FAIL;
	}
	cs_journal_set_actor(j, cs_cmd_actor(NULL, actor, sizeof(actor)), NULL);
	if (lost_find_card(j, &a, &card_id) != 0 ||
	    lost_unconfirmed(j, card_id, a.dry_run, &rc))
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
	if ((r = cs_desk_lost(j, card_id, &o, &done, NULL, NULL, &m)) !=
	    CS_OK) {
		if (r == CS_ERR_NOTFOUND)
			fprintf(stderr, _("cardstation card lost: %s (see "
			    "`cardstation log --chip`)\n"), cs_msg_text(&m, why,
			    sizeof(why)));
		else
			say_failed("lost", &m);
		goto out;
	}
	for (size_t i = 0; i < done.n; i++)
		fprintf(stderr, _("revocation requested: certificate %s, %s <%s>, "
		    "card %s\n"), done.c[i].cert_serial, done.c[i].holder,
		    done.c[i].mail, done.c[i].chip);
	fprintf(stderr, _("%zu request line(s)%s%s; %s\n"), done.n,
	    a.out ? _(" in ") : "", a.out ? a.out : "", a.dry_run ?
	    _("dry run: the journal is unchanged") :
	    _("the card is journaled lost"));
	rc = CS_EXIT_OK;
out:
	cs_journal_close(j);
	return rc;
}

/* ---- returned ---- */

struct returned_args {
	const char *journal, *reader, *puk_spec, *pin_spec, *profiles;
	const char *admin_mail, *comment, *out;
	int reason, already_revoked;
};

static int returned_parse(int argc, char **argv, struct returned_args *a)
{
	enum { O_JOURNAL = 256, O_READER, O_PUK, O_PIN, O_PROFILES, O_ADMIN,
	    O_REASON, O_COMMENT, O_OUT, O_REVOKED, O_HELP };
	static const struct option longopts[] = {
		{"journal", required_argument, NULL, O_JOURNAL},
		{"reader", required_argument, NULL, O_READER},
		{"puk", required_argument, NULL, O_PUK},
		{"new-pin", required_argument, NULL, O_PIN},
		{"profiles", required_argument, NULL, O_PROFILES},
		{"admin-mail", required_argument, NULL, O_ADMIN},
		{"reason", required_argument, NULL, O_REASON},
		{"comment", required_argument, NULL, O_COMMENT},
		{"out", required_argument, NULL, O_OUT},
		{"already-revoked", no_argument, NULL, O_REVOKED},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c, reason_given = 0;

	memset(a, 0, sizeof(*a));
	a->reason = CS_DESK_RETURN_DEFAULT_REASON;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_JOURNAL: a->journal = optarg; break;
		case O_READER: a->reader = optarg; break;
		case O_PUK: a->puk_spec = optarg; break;
		case O_PIN: a->pin_spec = optarg; break;
		case O_PROFILES: a->profiles = optarg; break;
		case O_ADMIN: a->admin_mail = optarg; break;
		case O_COMMENT: a->comment = optarg; break;
		case O_OUT: a->out = optarg; break;
		case O_REVOKED: a->already_revoked = 1; break;
		case O_REASON:
			a->reason = (int)strtol(optarg, &end, 10);
			reason_given = 1;
			if (*end != '\0' || *optarg == '\0' ||
			    cs_revoke_reason_name(a->reason) == NULL) {
				fprintf(stderr, _("cardstation card returned: --reason "
				    "is 0, 1, 3, 4 or 5\n"));
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
	if (optind != argc || a->reader == NULL || a->puk_spec == NULL) {
		fprintf(stderr, _("cardstation card returned: needs --reader SPEC "
		    "and --puk env:VAR\n"));
		return -1;
	}
	if (a->already_revoked && (a->admin_mail != NULL || reason_given ||
	    a->comment != NULL || a->out != NULL)) {
		fprintf(stderr, _("cardstation card returned: --already-revoked "
		    "writes no request; leave out --admin-mail, --reason, "
		    "--comment and --out\n"));
		return -1;
	}
	if (a->admin_mail == NULL && (reason_given || a->comment != NULL ||
	    a->out != NULL)) {
		fprintf(stderr, _("cardstation card returned: a revocation request "
		    "needs --admin-mail (column 10 of the request)\n"));
		return -1;
	}
	if (a->admin_mail != NULL && a->reason == 0 && (a->comment == NULL ||
	    *a->comment == '\0')) {
		fprintf(stderr, _("cardstation card returned: --reason 0 needs "
		    "--comment\n"));
		return -1;
	}
	return 0;
}

/* What a desk command at a reader needs: the journal (its actor the Unix
 * account, at that reader), PC/SC and the reader SPEC names. Says what
 * failed; the caller frees what was opened. */
static int desk_open(const char *cmd, const char *journal, const char *spec,
    cs_journal **j, SCARDCONTEXT *ctx, cs_reader_list *rl,
    const char **reader)
{
	char why[1024], actor[256];
	size_t idx;

	if (cs_journal_open(j, cs_journal_path(journal), 0, why,
	    sizeof(why)) != CS_OK) {
		fprintf(stderr, _("cardstation card %s: %s\n"), cmd, why);
		return CS_ERR_DB;
	}
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx) !=
	    SCARD_S_SUCCESS || cs_reader_list_get(*ctx, rl) != CS_OK) {
		fprintf(stderr, _("cardstation card %s: PC/SC is not available (is "
		    "pcscd running?)\n"), cmd);
		return CS_ERR_CARD;
	}
	if (cs_reader_select(rl, spec, &idx, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, _("cardstation card %s: %s\n"), cmd, why);
		return CS_ERR_NOTFOUND;
	}
	*reader = rl->r[idx].name;
	cs_journal_set_actor(*j, cs_cmd_actor(NULL, actor, sizeof(actor)),
	    *reader);
	return CS_OK;
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
	char why[1024];
	cs_msg m;
	int r, rc = CS_EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	if (returned_parse(argc, argv, &a) != 0) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	if (cs_cli_secret(a.puk_spec, N_("institution PUK"), &puk, why,
	    sizeof(why)) != CS_OK ||
	    (a.pin_spec != NULL && cs_cli_secret(a.pin_spec, N_("new PIN"), &pin,
	    why, sizeof(why)) != CS_OK)) {
		fprintf(stderr, _("cardstation card returned: %s\n"), why);
		goto out;
	}
	/* The journal first: never wipe a card we cannot journal. */
	if (desk_open("returned", a.journal, a.reader, &j, &ctx, &rl,
	    &o.reader) != CS_OK)
		goto out;
	o.profiles_dir = a.profiles;
	o.puk = puk;
	o.new_pin = pin;
	if (a.already_revoked) {
		o.live = CS_DESK_LIVE_REVOKED;
	} else if (a.admin_mail != NULL) {
		o.live = CS_DESK_LIVE_REQUEST;
		o.request.reason = a.reason;
		o.request.comment = a.comment;
		o.request.admin_mail = a.admin_mail;
		if (a.out != NULL && strcmp(a.out, "-") != 0)
			o.request.out_path = a.out;
		else
			o.request.out_fp = stdout;
	}
	if ((r = cs_desk_returned(ctx, j, &o, &res, &m)) != CS_OK) {
		say_failed("returned", &m);
		if (r == CS_ERR_STATE && o.live == CS_DESK_LIVE_REFUSE &&
		    res.ended.n > 0)
			fprintf(stderr, _("  --admin-mail MAIL [--reason N] for the "
			    "request, or --already-revoked\n"));
		goto out;
	}
	for (size_t i = 0; i < res.ended.n; i++)
		fprintf(stderr, _("%s: certificate %s, %s <%s>\n"),
		    o.live == CS_DESK_LIVE_REQUEST ? _("revocation requested") :
		    _("revoked already"), res.ended.c[i].cert_serial,
		    res.ended.c[i].holder, res.ended.c[i].mail);
	if (res.ended.n > 0 && o.live == CS_DESK_LIVE_REQUEST)
		fprintf(stderr, _("%zu request line(s)%s%s\n"), res.ended.n,
		    o.request.out_path ? _(" in ") : "", o.request.out_path ?
		    o.request.out_path : "");
	fprintf(stderr, _("card %s wiped: PIN reset (%s), %d key%s overwritten, "
	    "PKCS#15 application erased, journaled 'returned'\n"),
	    res.chip_serial[0] ? res.chip_serial : _("(no chip serial)"),
	    a.pin_spec ? _("to --new-pin") : _("to a random PIN nobody knows"),
	    res.keys, res.keys == 1 ? "" : "s");
	free(res.req);
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

/* ---- pin-reset ---- */

struct pin_args {
	const char *journal, *reader, *puk_spec, *pin_spec, *profiles;
};

static int pin_parse(int argc, char **argv, struct pin_args *a)
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
		fprintf(stderr, _("cardstation card pin-reset: needs --reader SPEC "
		    "and --puk env:VAR|prompt\n"));
		return -1;
	}
	return 0;
}

/* The holder types the new PIN twice: a typo would lock them out again. */
static int pin_new(const char *spec, cs_secret **pin, char *why, size_t whylen)
{
	cs_secret *again = NULL;
	int r;

	if ((r = cs_cli_secret(spec, N_("new PIN"), pin, why, whylen)) != CS_OK ||
	    strcmp(spec, "prompt") != 0)
		return r;
	if ((r = cs_cli_secret(spec, N_("new PIN again"), &again, why, whylen)) !=
	    CS_OK)
		return r;
	if ((*pin)->len != again->len || CRYPTO_memcmp((*pin)->buf, again->buf,
	    again->len) != 0) {
		snprintf(why, whylen, _("the two PINs differ. Nothing changed"));
		r = CS_ERR_USAGE;
	}
	cs_secret_free(again);
	return r;
}

/* A random PIN goes to the operator's terminal only, once: stdout may be
 * a log. */
static void pin_show(const cs_desk_pin *res)
{
	FILE *tty = fopen("/dev/tty", "w");

	if (tty == NULL)
		return;
	fprintf(tty, _("\n  *** PIN letter for %s (card %s) ***\n"),
	    res->holder[0] ? res->holder : "?", res->printed[0] ? res->printed :
	    res->chip_serial);
	fprintf(tty, _("      new PIN: %s\n"), cs_secret_str(res->random_pin));
	fprintf(tty, _("  (shown once; not stored anywhere)\n\n"));
	fclose(tty);
}

/* A controlling terminal, not only the /dev/tty node (which every
 * process may open in name, and fails without one). */
static int have_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static int card_pin_reset(int argc, char **argv)
{
	struct pin_args a;
	SCARDCONTEXT ctx = 0;
	cs_reader_list rl = {0};
	cs_secret *puk = NULL, *pin = NULL;
	cs_journal *j = NULL;
	cs_desk_pin_opts o;
	cs_desk_pin res;
	char why[1024];
	cs_msg m;
	int r, rc = CS_EXIT_FAIL;

	memset(&res, 0, sizeof(res));
	if (pin_parse(argc, argv, &a) != 0) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	if (a.pin_spec == NULL && !have_tty()) {
		fprintf(stderr, _("cardstation card pin-reset: a random PIN is shown "
		    "once on the operator's terminal, and there is none: give "
		    "--new-pin env:VAR\n"));
		return CS_EXIT_FAIL;
	}
	if (cs_cli_secret(a.puk_spec, N_("institution PUK"), &puk, why,
	    sizeof(why)) != CS_OK || (a.pin_spec != NULL &&
	    pin_new(a.pin_spec, &pin, why, sizeof(why)) != CS_OK)) {
		fprintf(stderr, _("cardstation card pin-reset: %s\n"), why);
		goto out;
	}
	/* The journal decides whether this card may get a PIN at all. */
	memset(&o, 0, sizeof(o));
	if (desk_open("pin-reset", a.journal, a.reader, &j, &ctx, &rl,
	    &o.reader) != CS_OK)
		goto out;
	o.profiles_dir = a.profiles;
	o.puk = puk;
	o.new_pin = pin;
	r = cs_desk_pin_reset(ctx, j, &o, &res, &m);
	/* Set on the card: the letter is shown even if the journal failed. */
	if (res.random_pin != NULL)
		pin_show(&res);
	if (r != CS_OK) {
		say_failed("pin-reset", &m);
		goto out;
	}
	fprintf(stderr, _("card %s (%s%s%s): new PIN set%s. Key and certificate "
	    "unchanged.\n"), res.chip_serial[0] ? res.chip_serial :
	    _("(no chip serial)"), res.holder, res.printed[0] ? _(", printed ") :
	    "", res.printed, res.random_pin != NULL ? _(", shown once above") :
	    "");
	rc = CS_EXIT_OK;
out:
	if (ctx)
		SCardReleaseContext(ctx);
	cs_reader_list_free(&rl);
	cs_journal_close(j);
	cs_secret_free(res.random_pin);
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
	if (argc >= 2 && strcmp(argv[1], "pin-reset") == 0)
		return card_pin_reset(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return CS_EXIT_OK;
	}
	usage(stderr);
	return CS_EXIT_FAIL;
}
