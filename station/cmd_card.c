/* cmd_card.c - `cardstation card lost` and `cardstation card returned`:
 * what the service desk does when a card goes missing or comes back.
 *
 * lost: the revocation request TSV for every certificate live on the card
 * (cs_revoke.h), and in one journal transaction the issuances revoked,
 * the records revoked and the card lost. returned: with the institution
 * PUK the PIN is reset to a random one nobody knows, the PKCS#15
 * application erased, and the card journaled 'returned' with its
 * issuances 'wiped'. */
#include "cs_card.h"
#include "cs_cli.h"
#include "cs_cmd.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_profile.h"
#include "cs_reader.h"
#include "cs_revoke.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LIVE 16

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

struct live {
	int64_t iss_id, record_id, card_id;
	char cert_serial[48], holder[128], mail[128];
	char chip[32], printed[64];
	int writing;
};

struct live_list {
	struct live l[MAX_LIVE];
	size_t n;
	int truncated;
};

static int collect_live(void *ctx, const cs_jissuance_view *v)
{
	struct live_list *ll = ctx;
	struct live *x;

	if (ll->n == MAX_LIVE) {
		ll->truncated = 1;
		return 0;
	}
	x = &ll->l[ll->n++];
	x->iss_id = v->iss.id;
	x->record_id = v->iss.record_id;
	x->card_id = v->iss.card_id;
	x->writing = v->iss.outcome == CS_JISSUE_WRITING;
	snprintf(x->cert_serial, sizeof(x->cert_serial), "%s",
	    v->iss.cert_serial ? v->iss.cert_serial : "");
	snprintf(x->holder, sizeof(x->holder), "%s",
	    v->iss.holder ? v->iss.holder : "");
	snprintf(x->mail, sizeof(x->mail), "%s", v->iss.mail ? v->iss.mail : "");
	snprintf(x->chip, sizeof(x->chip), "%s",
	    v->chip_serial ? v->chip_serial : "-");
	snprintf(x->printed, sizeof(x->printed), "%s",
	    v->printed_no ? v->printed_no : "-");
	return 0;
}

/* The card the operator named; for --holder, exactly one card. */
static int lost_find_card(cs_journal *j, const struct lost_args *a,
    int64_t *card_id)
{
	cs_jcard card = {0};
	struct live_list ll;
	cs_jfilter f;
	int64_t first = 0;
	int several = 0;

	if (a->chip != NULL || a->printed != NULL) {
		if (cs_journal_card_find(j, a->chip ? CS_JKEY_CHIP :
		    CS_JKEY_PRINTED, a->chip ? a->chip : a->printed, &card) !=
		    CS_OK) {
			fprintf(stderr, "cardstation card lost: the journal has no "
			    "card with %s %s\n", a->chip ? "chip serial" :
			    "printed number", a->chip ? a->chip : a->printed);
			return -1;
		}
		*card_id = card.id;
		cs_jcard_clear(&card);
		return 0;
	}
	memset(&ll, 0, sizeof(ll));
	memset(&f, 0, sizeof(f));
	f.holder = a->holder;
	f.live_only = true;
	cs_journal_issuances(j, &f, collect_live, &ll);
	for (size_t i = 0; i < ll.n; i++) {
		if (first == 0)
			first = ll.l[i].card_id;
		else if (ll.l[i].card_id != first)
			several = 1;
	}
	if (ll.n == 0) {
		fprintf(stderr, "cardstation card lost: no certificate of a holder "
		    "named like '%s' is live on a card (see `cardstation log "
		    "--holder`)\n", a->holder);
		return -1;
	}
	if (several) {
		fprintf(stderr, "cardstation card lost: '%s' fits several cards; "
		    "name one with --chip or --printed:\n", a->holder);
		for (size_t i = 0; i < ll.n; i++)
			fprintf(stderr, "  chip %-20s printed %-10s certificate %s  "
			    "%s <%s>\n", ll.l[i].chip, ll.l[i].printed,
			    ll.l[i].cert_serial, ll.l[i].holder, ll.l[i].mail);
		return -1;
	}
	*card_id = first;
	return 0;
}

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

/* The request in memory: every row is checked before anything changes. */
static int lost_build(cs_journal *j, const struct lost_args *a,
    const struct live_list *ll, char **buf, size_t *len)
{
	char why[512];
	size_t cap = 4096 * (ll->n + 1), n;
	int r = 0;

	if ((*buf = malloc(cap)) == NULL)
		return -1;
	*len = 0;
	for (size_t i = 0; i < ll->n && r == 0; i++) {
		cs_jrecord rec = {0};
		cs_revoke_row row;

		if (cs_journal_record_get(j, ll->l[i].record_id, &rec) != CS_OK) {
			fprintf(stderr, "cardstation card lost: record %" PRId64
			    " of certificate %s is missing\n", ll->l[i].record_id,
			    ll->l[i].cert_serial);
			return -1;
		}
		memset(&row, 0, sizeof(row));
		row.dn = rec.dn;
		row.serial = ll->l[i].cert_serial;
		row.reason = a->reason;
		row.comment = a->comment;
		row.admin_mail = a->admin_mail;
		row.user_mail = rec.mail ? rec.mail : ll->l[i].mail;
		if (cs_revoke_format(&row, *buf + *len, cap - *len, &n, why,
		    sizeof(why)) != CS_OK) {
			fprintf(stderr, "cardstation card lost: certificate %s: "
			    "%s\n", ll->l[i].cert_serial, why);
			r = -1;
		}
		*len += n;
		cs_jrecord_clear(&rec);
	}
	return r;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int lost_mark(cs_journal *j, const struct lost_args *a,
    const struct live_list *ll, int64_t card_id, char *why, size_t whylen)
{
	char reason[160];
	int r;

	snprintf(reason, sizeof(reason), "card lost: revocation requested, "
	    "reason %d %s", a->reason, cs_revoke_reason_name(a->reason));
	if ((r = cs_journal_begin(j, why, whylen)) != CS_OK)
		return r;
	for (size_t i = 0; i < ll->n && r == CS_OK; i++)
		if ((r = cs_journal_issuance_end(j, ll->l[i].iss_id,
		    CS_JISSUE_REVOKED, reason, why, whylen)) == CS_OK)
			r = cs_journal_record_revoke(j, ll->l[i].record_id, reason,
			    why, whylen);
	if (r == CS_OK)
		r = cs_journal_card_set_state(j, card_id, CS_JCARD_LOST, reason,
		    why, whylen);
	if (r != CS_OK) {
		cs_journal_rollback(j);
		return r;
	}
	return cs_journal_commit(j, why, whylen);
}

static int card_lost(int argc, char **argv)
{
	struct lost_args a;
	struct live_list ll;
	cs_journal *j = NULL;
	cs_jfilter f;
	int64_t card_id = 0;
	char why[512], tmp[4096] = "", *buf = NULL;
	size_t len = 0;
	int fd = -1, rc = CS_EXIT_FAIL;

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
	memset(&ll, 0, sizeof(ll));
	memset(&f, 0, sizeof(f));
	f.card_id = card_id;
	f.live_only = true;
	cs_journal_issuances(j, &f, collect_live, &ll);
	for (size_t i = 0; i < ll.n; i++)
		if (ll.l[i].writing) {
			fprintf(stderr, "cardstation card lost: certificate %s is "
			    "still being written to this card: stop that run "
			    "first\n", ll.l[i].cert_serial);
			goto out;
		}
	if (ll.n == 0) {
		fprintf(stderr, "cardstation card lost: no certificate is live on "
		    "that card (already lost, returned or never issued; see "
		    "`cardstation log --chip`)\n");
		goto out;
	}
	if (ll.truncated || lost_build(j, &a, &ll, &buf, &len) != 0)
		goto out;
	/* The file is complete on disk before the journal says "requested";
	 * it gets its name only once the journal agrees. */
	if (a.out != NULL && strcmp(a.out, "-") != 0) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", a.out);
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0640)) < 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
			fprintf(stderr, "cardstation card lost: %s: %s\n", tmp,
			    strerror(errno));
			goto out;
		}
	} else if (write_all(STDOUT_FILENO, buf, len) != 0) {
		fprintf(stderr, "cardstation card lost: cannot write the request: "
		    "%s\n", strerror(errno));
		goto out;
	}
	if (!a.dry_run && lost_mark(j, &a, &ll, card_id, why, sizeof(why)) !=
	    CS_OK) {
		fprintf(stderr, "cardstation card lost: the journal refused: %s; "
		    "nothing was marked%s\n", why, tmp[0] ? ", no request written" :
		    ": do not send the request above");
		goto out;
	}
	if (tmp[0] != '\0' && rename(tmp, a.out) != 0) {
		fprintf(stderr, "cardstation card lost: the journal is marked but "
		    "%s cannot be renamed to %s: %s\n", tmp, a.out, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	tmp[0] = '\0';
	for (size_t i = 0; i < ll.n; i++)
		fprintf(stderr, "revocation requested: certificate %s, %s <%s>, "
		    "card %s\n", ll.l[i].cert_serial, ll.l[i].holder, ll.l[i].mail,
		    ll.l[i].chip);
	fprintf(stderr, "%zu request line(s)%s%s; %s\n", ll.n,
	    a.out ? " in " : "", a.out ? a.out : "", a.dry_run ?
	    "dry run: the journal is unchanged" : "the card is journaled lost");
	rc = CS_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	free(buf);
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

static int find_profile(SCARDCONTEXT ctx, const char *reader,
    const char *dir, cs_profile *out)
{
	cs_profile *all = NULL;
	size_t n = 0;
	char why[256];
	int found = 0;

	if (cs_profile_load_all(dir ? dir : cs_profile_dir(), &all, &n, why,
	    sizeof(why)) != CS_OK)
		return CS_ERR_NOTFOUND;
	for (size_t i = 0; i < n && !found; i++) {
		int present = 0;

		if (cs_card_has_applet(ctx, reader, all[i].match_aid, &present,
		    why, sizeof(why)) == CS_OK && present) {
			*out = all[i];
			found = 1;
		}
	}
	free(all);
	return found ? CS_OK : CS_ERR_NOTFOUND;
}

static int returned_journal(cs_journal *j, const cs_card_id *id,
    const char *profile, char *why, size_t whylen)
{
	struct live_list ll;
	cs_jcard in = {0};
	cs_jfilter f;
	int64_t card_id;
	const char *reason = "card returned: PIN reset with the PUK, PKCS#15 "
	    "application erased";
	int r;

	if ((r = cs_journal_begin(j, why, whylen)) != CS_OK)
		return r;
	/* An unknown card becomes a row too: the wipe happened. */
	in.chip_serial = id->chip_serial[0] ? (char *)id->chip_serial : NULL;
	in.atr = (char *)id->atr;
	in.model = (char *)profile;
	in.state = CS_JCARD_RETURNED;
	if ((r = cs_journal_card_upsert(j, &in, &card_id, why, whylen)) !=
	    CS_OK)
		goto fail;
	memset(&ll, 0, sizeof(ll));
	memset(&f, 0, sizeof(f));
	f.card_id = card_id;
	f.live_only = true;
	cs_journal_issuances(j, &f, collect_live, &ll);
	for (size_t i = 0; i < ll.n && r == CS_OK; i++)
		r = cs_journal_issuance_end(j, ll.l[i].iss_id, ll.l[i].writing ?
		    CS_JISSUE_INTERRUPTED : CS_JISSUE_WIPED, reason, why, whylen);
	if (r == CS_OK)
		r = cs_journal_card_set_state(j, card_id, CS_JCARD_RETURNED,
		    reason, why, whylen);
	if (r != CS_OK)
		goto fail;
	return cs_journal_commit(j, why, whylen);
fail:
	cs_journal_rollback(j);
	return r;
}

static int card_returned(int argc, char **argv)
{
	struct returned_args a;
	SCARDCONTEXT ctx = 0;
	cs_reader_list rl = {0};
	cs_secret *puk = NULL, *pin = NULL;
	cs_journal *j = NULL;
	cs_profile prof;
	cs_card_id id;
	cs_applet_state st;
	char why[512], msg[512];
	const char *reader;
	size_t idx;
	int rc = CS_EXIT_FAIL;

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
	reader = rl.r[idx].name;
	cs_journal_set_actor(j, getenv("USER"), reader);
	if (cs_card_probe(ctx, reader, &id, why, sizeof(why)) != CS_OK ||
	    find_profile(ctx, reader, a.profiles, &prof) != CS_OK ||
	    cs_card_applet_state(ctx, reader, prof.match_aid, &st, why,
	    sizeof(why)) != CS_OK) {
		fprintf(stderr, "cardstation card returned: not a card this "
		    "station writes, or it does not answer\n");
		goto out;
	}
	if (pin != NULL && cs_profile_check_pin(&prof, cs_secret_str(pin), why,
	    sizeof(why)) != CS_OK) {
		fprintf(stderr, "cardstation card returned: --new-pin: %s\n", why);
		goto out;
	}
	if (pin == NULL && cs_profile_random_pin(&prof, &pin) != CS_OK) {
		fprintf(stderr, "cardstation card returned: no random PIN\n");
		goto out;
	}
	/* A card without a PIN has nobody's secret: erase is enough. */
	if (st.pin_set && cs_card_reset_pin(ctx, reader, prof.match_aid,
	    cs_secret_str(puk), cs_secret_str(pin), why, sizeof(why)) != CS_OK) {
		fprintf(stderr, "cardstation card returned: %s; nothing changed\n",
		    why);
		goto out;
	}
	if (cs_card_erase_pkcs15(ctx, reader, prof.match_aid, st.pin_set ?
	    cs_secret_str(pin) : NULL, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, "cardstation card returned: %s (the PIN was "
		    "already reset)\n", why);
		goto out;
	}
	if (returned_journal(j, &id, prof.name, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, "cardstation card returned: the card is wiped but "
		    "the journal refused: %s\n", why);
		goto out;
	}
	fprintf(stderr, "card %s wiped: PKCS#15 application erased, PIN reset "
	    "(%s), journaled 'returned'\n", id.chip_serial[0] ? id.chip_serial :
	    "(no chip serial)", a.pin_spec ? "to --new-pin" :
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
