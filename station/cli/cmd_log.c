/* cmd_log.c - `cardstation log`: search the journal, export it, check it.
 *
 * The service desk finds who holds which card and certificate; the office
 * exports the issuances for a spreadsheet; an auditor runs `log check`, or
 * `log handovers` to see how each holder was identified when the card was
 * handed over (the kiosk's "card.handover-identity" notes). The journal is
 * opened read-only: looking never changes it. */
#include "cs_cmd.h"
#include "cs_codes.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_json.h"
#include "cs_i18n.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum log_format { FMT_TEXT, FMT_CSV, FMT_CSV_CP932, FMT_JSON };

struct log_args {
	const char *journal;
	cs_jfilter filter;
	enum log_format fmt;
	bool check;
	bool handovers;
};

struct log_out {
	enum log_format fmt;
	int64_t rows;
	int64_t replaced; /* CP932 fields with a 〓 */
	const char *what; /* what a row is, for the CP932 warning */
};

static void usage(FILE *f)
{
	/* The message is one plain string for the translators: the journal's
	 * variable and default path go in as %s. */
	fprintf(f,
	    _("usage: cardstation log [options]         list and search issuances\n"
	    "       cardstation log handovers [--journal PATH] [--run ID] [--chip S]\n"
	    "                     [--holder S] [--csv | --csv-cp932 | --json]\n"
	    "       cardstation log check [--journal PATH] [--json]\n"
	    "       cardstation log --expiring DAYS [--journal PATH] [--run ID]\n"
	    "                     [--csv | --csv-cp932 | --json]\n"
	    "\n"
	    "Lists every card issuance in the journal that matches all the\n"
	    "options given: holder, mail, certificate serial, chip serial,\n"
	    "printed number, reader, operator, times and outcome.\n"
	    "\n"
	    "  --journal PATH   the journal (default $%s, else\n"
	    "                   %s)\n"
	    "  --holder S       holder's name contains S\n"
	    "  --mail S         holder's mail is S\n"
	    "  --serial S       certificate serial (decimal)\n"
	    "  --chip S         card chip serial (hex)\n"
	    "  --printed S      printed card number\n"
	    "  --run ID         issuances of one run\n"
	    "  --live           only certificates live on a card\n"
	    "  --expiring DAYS  live (verified) certificates that expire within\n"
	    "                   DAYS days or have expired, soonest first: holder,\n"
	    "                   mail, certificate, chip, printed number, not_after\n"
	    "  --csv            CSV, UTF-8 (RFC 4180)\n"
	    "  --csv-cp932      CSV, CP932 for spreadsheets in Japan; a character\n"
	    "                   CP932 lacks is written as \xe3\x80\x93 and reported\n"
	    "  --json           JSON array\n"
	    "\n"
	    "`log handovers` lists each card handed over at the kiosk with how\n"
	    "its holder was identified (staff-student-id, photo-id,\n"
	    "known-in-person, other), the note, whether the holder's PIN signed\n"
	    "on the card, and the account of the operator.\n"
	    "\n"
	    "`log check` recomputes the event hash chain and compares every row\n"
	    "with its last recorded snapshot, naming any row edited, added or\n"
	    "deleted behind the station's back.\n"
	    "\n"
	    "Exit status: 0 done (log check: intact), 1 some CSV characters were\n"
	    "replaced (log check: tampered), 2 usage error or unreadable journal.\n"),
	    CS_JOURNAL_ENV, CS_JOURNAL_DEFAULT_PATH);
}

static int parse_args(int argc, char **argv, struct log_args *a)
{
	enum { O_JOURNAL = 256, O_HOLDER, O_MAIL, O_SERIAL, O_CHIP, O_PRINTED,
	    O_RUN, O_LIVE, O_EXPIRING, O_CSV, O_CP932, O_JSON, O_HELP };
	static const struct option longopts[] = {
		{"journal", required_argument, NULL, O_JOURNAL},
		{"holder", required_argument, NULL, O_HOLDER},
		{"mail", required_argument, NULL, O_MAIL},
		{"serial", required_argument, NULL, O_SERIAL},
		{"chip", required_argument, NULL, O_CHIP},
		{"printed", required_argument, NULL, O_PRINTED},
		{"run", required_argument, NULL, O_RUN},
		{"live", no_argument, NULL, O_LIVE},
		{"expiring", required_argument, NULL, O_EXPIRING},
		{"csv", no_argument, NULL, O_CSV},
		{"csv-cp932", no_argument, NULL, O_CP932},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	int c, nfmt = 0;
	char *end;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_JOURNAL: a->journal = optarg; break;
		case O_HOLDER: a->filter.holder = optarg; break;
		case O_MAIL: a->filter.mail = optarg; break;
		case O_SERIAL: a->filter.cert_serial = optarg; break;
		case O_CHIP: a->filter.chip_serial = optarg; break;
		case O_PRINTED: a->filter.printed_no = optarg; break;
		case O_LIVE: a->filter.live_only = true; break;
		case O_EXPIRING:
			errno = 0;
			a->filter.expiring_days = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    a->filter.expiring_days < 0 ||
			    a->filter.expiring_days > 36500) {
				fprintf(stderr, _("cardstation log: --expiring takes a "
				    "number of days (0-36500), not '%s'\n"), optarg);
				return -1;
			}
			a->filter.expiring = true;
			break;
		case O_RUN:
			a->filter.run_id = strtoll(optarg, &end, 10);
			if (*end != '\0' || a->filter.run_id <= 0) {
				fprintf(stderr, _("cardstation log: --run takes a run "
				    "number, not '%s'\n"), optarg);
				return -1;
			}
			break;
		case O_CSV: a->fmt = FMT_CSV; nfmt++; break;
		case O_CP932: a->fmt = FMT_CSV_CP932; nfmt++; break;
		case O_JSON: a->fmt = FMT_JSON; nfmt++; break;
		case O_HELP: case 'h':
			usage(stdout);
			exit(CS_EXIT_OK);
		default:
			return -1;
		}
	}
	/* `log check` and `log handovers` with their options before or
	 * after the word. */
	if (optind < argc && strcmp(argv[optind], "check") == 0) {
		a->check = true;
		optind++;
	} else if (optind < argc && strcmp(argv[optind], "handovers") == 0) {
		a->handovers = true;
		optind++;
	}
	if (optind != argc) {
		fprintf(stderr, _("cardstation log: unexpected '%s'\n"), argv[optind]);
		return -1;
	}
	if (nfmt > 1) {
		fprintf(stderr, _("cardstation log: choose one of --csv, --csv-cp932, "
		    "--json\n"));
		return -1;
	}
	if (a->handovers && (a->filter.mail || a->filter.cert_serial ||
	    a->filter.printed_no || a->filter.live_only || a->filter.expiring)) {
		fprintf(stderr, _("cardstation log handovers: takes --run, --chip, "
		    "--holder, a format and --journal\n"));
		return -1;
	}
	if (a->check && (a->fmt == FMT_CSV || a->fmt == FMT_CSV_CP932 ||
	    a->filter.holder || a->filter.mail || a->filter.cert_serial ||
	    a->filter.chip_serial || a->filter.printed_no || a->filter.run_id ||
	    a->filter.live_only || a->filter.expiring)) {
		fprintf(stderr, _("cardstation log check: takes only --journal and "
		    "--json\n"));
		return -1;
	}
	return 0;
}

static const char *dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static void warn_cp932(void *ctx, int64_t id, const char *column,
    const char *text)
{
	struct log_out *o = ctx;

	o->replaced++;
	fprintf(stderr, "cardstation log: %s %" PRId64 ", %s \"%s\": "
	    "characters with no CP932 form written as \xe3\x80\x93\n", o->what,
	    id, column, text ? text : "");
}

static int print_one(void *ctx, const cs_jissuance_view *v)
{
	struct log_out *o = ctx;
	char outcome[64], reason[1024];
	int r = CS_OK;

	switch (o->fmt) {
	case FMT_TEXT:
		/* The outcome and the reason in the operator's words (a reason
		 * the station recorded with its code, cs_record_text); CSV and
		 * JSON keep the journal's. */
		printf(_("%" PRId64 "\t%s\t%-11s %s <%s>\tcert %s\tchip %s\tprinted "
		    "%s\treader %s\toperator %s%s%s\n"), v->iss.id,
		    dash(v->iss.started), cs_state_text("outcome",
		    cs_jissue_outcome_name(v->iss.outcome), outcome,
		    sizeof(outcome)),
		    dash(v->iss.holder), dash(v->iss.mail), dash(v->iss.cert_serial),
		    dash(v->chip_serial), dash(v->printed_no), dash(v->iss.reader),
		    dash(v->iss.operator_name), v->iss.reason ? _("\treason ") : "",
		    v->iss.reason ? cs_record_text(v->iss.reason, reason,
		    sizeof(reason)) : "");
		break;
	case FMT_CSV:
	case FMT_CSV_CP932:
		r = cs_jexport_csv_row(stdout, v, o->fmt == FMT_CSV ? CS_JCSV_UTF8 :
		    CS_JCSV_CP932, warn_cp932, o);
		break;
	case FMT_JSON:
		r = cs_jexport_json_row(stdout, v, o->rows == 0);
		break;
	}
	o->rows++;
	return r;
}

/* --- expiring: who needs a renewal ------------------------------------ */

#define EX_COLS 8

static const char *const ex_names[EX_COLS] = {
	"issuance", "holder", "mail", "cert_serial", "chip_serial", "printed_no",
	"not_after", "run",
};

static int print_expiring(void *ctx, const cs_jissuance_view *v)
{
	struct log_out *o = ctx;
	char id[24], run[24];
	const char *f[EX_COLS];
	int r = CS_OK;

	snprintf(id, sizeof(id), "%" PRId64, v->iss.id);
	snprintf(run, sizeof(run), "%" PRId64, v->run_id);
	f[0] = id;
	f[1] = v->iss.holder;
	f[2] = v->iss.mail;
	f[3] = v->iss.cert_serial;
	f[4] = v->chip_serial;
	f[5] = v->printed_no;
	f[6] = v->not_after;
	f[7] = v->run_id ? run : NULL;
	switch (o->fmt) {
	case FMT_TEXT:
		printf(_("%s\t%s\t%s <%s>\tcert %s\tchip %s\tprinted %s\n"),
		    f[0], dash(f[6]), dash(f[1]), dash(f[2]), dash(f[3]),
		    dash(f[4]), dash(f[5]));
		break;
	case FMT_CSV:
	case FMT_CSV_CP932:
		r = cs_jexport_csv_line(stdout, ex_names, f, EX_COLS,
		    o->fmt == FMT_CSV ? CS_JCSV_UTF8 : CS_JCSV_CP932, v->iss.id,
		    warn_cp932, o);
		break;
	case FMT_JSON:
		printf("%s{\"issuance\":%s", o->rows ? "," : "", id);
		for (int i = 1; i < EX_COLS - 1; i++)
			cs_json_kv(stdout, 0, ex_names[i], f[i]);
		printf(",\"run\":%s}", f[7] ? f[7] : "null");
		break;
	}
	o->rows++;
	return r;
}

static int list(cs_journal *j, const struct log_args *a)
{
	struct log_out o = {a->fmt, 0, 0, "issuance"};
	int r;

	if (a->fmt == FMT_CSV || a->fmt == FMT_CSV_CP932) {
		if (a->filter.expiring)
			cs_jexport_csv_line(stdout, ex_names, ex_names, EX_COLS,
			    a->fmt == FMT_CSV ? CS_JCSV_UTF8 : CS_JCSV_CP932, 0, NULL,
			    NULL);
		else
			cs_jexport_csv_header(stdout, a->fmt == FMT_CSV ?
			    CS_JCSV_UTF8 : CS_JCSV_CP932);
	} else if (a->fmt == FMT_JSON)
		fputc('[', stdout);
	r = cs_journal_issuances(j, &a->filter, a->filter.expiring ?
	    print_expiring : print_one, &o);
	if (a->fmt == FMT_JSON)
		fputs("]\n", stdout);
	if (fflush(stdout) != 0 && r == CS_OK)
		r = CS_ERR_IO;
	if (r != CS_OK) {
		fprintf(stderr, _("cardstation log: %s\n"), cs_strerror(r));
		return CS_EXIT_FAIL;
	}
	if (o.rows == 0 && a->fmt == FMT_TEXT && a->filter.expiring)
		fprintf(stderr, _("cardstation log: no live certificate expires "
		    "within %" PRId64 " days\n"), a->filter.expiring_days);
	else if (o.rows == 0 && a->fmt == FMT_TEXT)
		fprintf(stderr, _("cardstation log: no issuance matches\n"));
	return o.replaced > 0 ? CS_EXIT_SOME : CS_EXIT_OK;
}

struct check_out {
	bool json;
	int64_t n;
};

static void print_finding(void *ctx, const cs_jfinding *f)
{
	struct check_out *o = ctx;

	if (!o->json) {
		printf("TAMPERED %s", f->table);
		if (f->row_id)
			printf(_(" row %" PRId64), f->row_id);
		if (f->column)
			printf(" column %s", f->column);
		printf(": %s\n", f->what);
	} else {
		printf("%s{\"table\":", o->n ? "," : "");
		cs_json_str(stdout, f->table);
		printf(",\"row\":%" PRId64 ",\"column\":", f->row_id);
		cs_json_str(stdout, f->column);
		printf(",\"event\":%" PRId64 ",\"what\":", f->event_id);
		cs_json_str(stdout, f->what);
		putchar('}');
	}
	o->n++;
}

static int check(cs_journal *j, const char *path, bool json)
{
	struct check_out o = {json, 0};
	cs_jcheck res;
	char why[512] = "";
	int r;

	if (json)
		fputs("{\"findings\":[", stdout);
	r = cs_journal_check(j, print_finding, &o, &res, why, sizeof(why));
	if (r != CS_OK) {
		if (json)
			fputs("]}\n", stdout);
		fprintf(stderr, _("cardstation log check: %s\n"), why);
		return CS_EXIT_FAIL;
	}
	if (json) {
		printf("],\"intact\":%s,\"events\":%" PRId64 ",\"rows\":%" PRId64
		    ",\"head\":", res.findings ? "false" : "true", res.events,
		    res.rows);
		cs_json_str(stdout, res.head);
		fputs("}\n", stdout);
	} else if (res.findings == 0)
		printf(_("journal %s intact: %" PRId64 " events, %" PRId64 " rows "
		    "match their events\nhead hash %s\n"), path, res.events, res.rows,
		    res.head);
	else
		printf(_("journal %s TAMPERED: %" PRId64 " findings (%" PRId64
		    " events, %" PRId64 " rows read)\n"), path, res.findings,
		    res.events, res.rows);
	return res.findings ? CS_EXIT_SOME : CS_EXIT_OK;
}

/* --- handovers --------------------------------------------------------
 *
 * The journal keeps a handover's identity check as a note of the card
 * (kind card.handover-identity, its text a JSON object); the journal reads
 * them back with the members named here. */

#define HO_COLS 13

static const char *const ho_names[HO_COLS] = {
	"event", "at", "run", "card", "chip_serial", "printed_no", "holder",
	"cert_serial", "method", "pin_checked", "verdict", "operator", "note",
};

/* The note's members, in the order of ho_names[6..10] and [12]. */
static const char *const ho_fields[] = {
	"holder", "cert_serial", "method", "pin_checked", "verdict", "note",
};

struct ho_ctx {
	struct log_out o;
	const char *holder;  /* substring filter, or NULL */
};

/* ASCII case is ignored, as `log --holder` does. */
static int has_holder(const char *holder, const char *want)
{
	size_t n = strlen(want);

	for (; holder != NULL && *holder != '\0'; holder++)
		if (strncasecmp(holder, want, n) == 0)
			return 1;
	return 0;
}

static int print_handover(void *ctx, const cs_jnote_view *n)
{
	struct ho_ctx *h = ctx;
	char id[24], run[24], card[24];
	const char *v[HO_COLS];
	const char *pin = n->field[3];
	int r = CS_OK;

	if (h->holder != NULL && !has_holder(n->field[0], h->holder))
		return 0;
	snprintf(id, sizeof(id), "%" PRId64, n->event_id);
	snprintf(run, sizeof(run), "%" PRId64, n->run_id);
	snprintf(card, sizeof(card), "%" PRId64, n->card_id);
	v[0] = id;
	v[1] = n->at;
	v[2] = n->run_id ? run : NULL;
	v[3] = n->card_id ? card : NULL;
	v[4] = n->chip_serial;
	v[5] = n->printed_no;
	v[6] = n->field[0];
	v[7] = n->field[1];
	v[8] = n->field[2];
	v[9] = pin == NULL ? NULL : strcmp(pin, "1") == 0 ? "yes" : "no";
	v[10] = n->field[4];
	v[11] = n->operator_name;
	/* A note that is not a JSON object is shown as it was written. */
	v[12] = n->field[0] || n->field[2] ? n->field[5] : n->text;
	switch (h->o.fmt) {
	case FMT_TEXT:
		printf(_("%s\t%s\t%-16s %s\tcert %s\tchip %s\tprinted %s\tPIN "
		    "checked %s\toperator %s%s%s\n"), v[0], dash(v[1]), dash(v[8]),
		    dash(v[6]), dash(v[7]), dash(v[4]), dash(v[5]), v[9] == NULL ?
		    "-" : strcmp(v[9], "yes") == 0 ? _("yes") : _("no"),
		    dash(v[11]), v[12] ? "\tnote " : "", v[12] ? v[12] : "");
		break;
	case FMT_CSV:
	case FMT_CSV_CP932:
		r = cs_jexport_csv_line(stdout, ho_names, v, HO_COLS,
		    h->o.fmt == FMT_CSV ? CS_JCSV_UTF8 : CS_JCSV_CP932,
		    n->event_id, warn_cp932, &h->o);
		break;
	case FMT_JSON:
		putchar(h->o.rows ? ',' : '[');
		printf("{\"event\":%s", id);
		cs_json_kv(stdout, 0, "at", v[1]);
		printf(",\"run\":%s,\"card\":%s", v[2] ? v[2] : "null",
		    v[3] ? v[3] : "null");
		for (int i = 4; i < HO_COLS; i++) {
			if (i == 9)
				printf(",\"pin_checked\":%s", v[9] == NULL ? "null" :
				    strcmp(v[9], "yes") == 0 ? "true" : "false");
			else
				cs_json_kv(stdout, 0, ho_names[i], v[i]);
		}
		putchar('}');
		break;
	}
	h->o.rows++;
	return r;
}

static int handovers(cs_journal *j, const struct log_args *a)
{
	struct ho_ctx h = {{a->fmt, 0, 0, "handover event"}, a->filter.holder};
	int r;

	if (a->fmt == FMT_CSV || a->fmt == FMT_CSV_CP932)
		cs_jexport_csv_line(stdout, ho_names, ho_names, HO_COLS,
		    a->fmt == FMT_CSV ? CS_JCSV_UTF8 : CS_JCSV_CP932, 0, NULL, NULL);
	r = cs_journal_notes(j, "card.handover-identity", &a->filter, ho_fields,
	    sizeof(ho_fields) / sizeof(ho_fields[0]), print_handover, &h);
	if (a->fmt == FMT_JSON)
		fputs(h.o.rows ? "]\n" : "[]\n", stdout);
	if (fflush(stdout) != 0 && r == CS_OK)
		r = CS_ERR_IO;
	if (r != CS_OK) {
		fprintf(stderr, _("cardstation log: the handovers cannot be read: "
		    "%s\n"), cs_strerror(r));
		return CS_EXIT_FAIL;
	}
	if (h.o.rows == 0 && a->fmt == FMT_TEXT)
		fprintf(stderr, _("cardstation log: no handover matches\n"));
	return h.o.replaced > 0 ? CS_EXIT_SOME : CS_EXIT_OK;
}

int cmd_log(int argc, char **argv)
{
	struct log_args a;
	cs_journal *j = NULL;
	const char *path;
	char why[512] = "";
	int r, status;

	if (parse_args(argc, argv, &a) != 0) {
		usage(stderr);
		return CS_EXIT_FAIL;
	}
	path = cs_journal_path(a.journal);
	if ((r = cs_journal_open(&j, path, CS_JOURNAL_RDONLY, why,
	    sizeof(why))) != CS_OK) {
		fprintf(stderr, _("cardstation log: %s\n"), why[0] ? why :
		    cs_strerror(r));
		return CS_EXIT_FAIL;
	}
	status = a.check ? check(j, path, a.fmt == FMT_JSON) :
	    a.handovers ? handovers(j, &a) : list(j, &a);
	cs_journal_close(j);
	return status;
}
