/* cmd_log.c - `cardstation log`: search the journal, export it, check it.
 *
 * The service desk finds who holds which card and certificate; the office
 * exports the issuances for a spreadsheet; an auditor runs `log check`, or
 * `log handovers` to see how each holder was identified when the card was
 * handed over (the kiosk's "card.handover-identity" notes). The journal is
 * opened read-only: looking never changes it. */
#include "cs_cmd.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_json.h"

#include <errno.h>
#include <getopt.h>
#include <iconv.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: cardstation log [options]         list and search issuances\n"
	    "       cardstation log handovers [--journal PATH] [--run ID] [--chip S]\n"
	    "                     [--holder S] [--csv | --csv-cp932 | --json]\n"
	    "       cardstation log check [--journal PATH] [--json]\n"
	    "\n"
	    "Lists every card issuance in the journal that matches all the\n"
	    "options given: holder, mail, certificate serial, chip serial,\n"
	    "printed number, reader, operator, times and outcome.\n"
	    "\n"
	    "  --journal PATH   the journal (default $" CS_JOURNAL_ENV ", else\n"
	    "                   " CS_JOURNAL_DEFAULT_PATH ")\n"
	    "  --holder S       holder's name contains S\n"
	    "  --mail S         holder's mail is S\n"
	    "  --serial S       certificate serial (decimal)\n"
	    "  --chip S         card chip serial (hex)\n"
	    "  --printed S      printed card number\n"
	    "  --run ID         issuances of one run\n"
	    "  --live           only certificates live on a card\n"
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
	    "replaced (log check: tampered), 2 usage error or unreadable journal.\n");
}

static int parse_args(int argc, char **argv, struct log_args *a)
{
	enum { O_JOURNAL = 256, O_HOLDER, O_MAIL, O_SERIAL, O_CHIP, O_PRINTED,
	    O_RUN, O_LIVE, O_CSV, O_CP932, O_JSON, O_HELP };
	static const struct option longopts[] = {
		{"journal", required_argument, NULL, O_JOURNAL},
		{"holder", required_argument, NULL, O_HOLDER},
		{"mail", required_argument, NULL, O_MAIL},
		{"serial", required_argument, NULL, O_SERIAL},
		{"chip", required_argument, NULL, O_CHIP},
		{"printed", required_argument, NULL, O_PRINTED},
		{"run", required_argument, NULL, O_RUN},
		{"live", no_argument, NULL, O_LIVE},
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
		case O_RUN:
			a->filter.run_id = strtoll(optarg, &end, 10);
			if (*end != '\0' || a->filter.run_id <= 0) {
				fprintf(stderr, "cardstation log: --run takes a run "
				    "number, not '%s'\n", optarg);
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
		fprintf(stderr, "cardstation log: unexpected '%s'\n", argv[optind]);
		return -1;
	}
	if (nfmt > 1) {
		fprintf(stderr, "cardstation log: choose one of --csv, --csv-cp932, "
		    "--json\n");
		return -1;
	}
	if (a->handovers && (a->filter.mail || a->filter.cert_serial ||
	    a->filter.printed_no || a->filter.live_only)) {
		fprintf(stderr, "cardstation log handovers: takes --run, --chip, "
		    "--holder, a format and --journal\n");
		return -1;
	}
	if (a->check && (a->fmt == FMT_CSV || a->fmt == FMT_CSV_CP932 ||
	    a->filter.holder || a->filter.mail || a->filter.cert_serial ||
	    a->filter.chip_serial || a->filter.printed_no || a->filter.run_id ||
	    a->filter.live_only)) {
		fprintf(stderr, "cardstation log check: takes only --journal and "
		    "--json\n");
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
	fprintf(stderr, "cardstation log: issuance %" PRId64 ", %s \"%s\": "
	    "characters with no CP932 form written as \xe3\x80\x93\n", id,
	    column, text ? text : "");
}

static int print_one(void *ctx, const cs_jissuance_view *v)
{
	struct log_out *o = ctx;
	int r = CS_OK;

	switch (o->fmt) {
	case FMT_TEXT:
		printf("%" PRId64 "\t%s\t%-11s %s <%s>\tcert %s\tchip %s\tprinted "
		    "%s\treader %s\toperator %s%s%s\n", v->iss.id,
		    dash(v->iss.started), cs_jissue_outcome_name(v->iss.outcome),
		    dash(v->iss.holder), dash(v->iss.mail), dash(v->iss.cert_serial),
		    dash(v->chip_serial), dash(v->printed_no), dash(v->iss.reader),
		    dash(v->iss.operator_name), v->iss.reason ? "\treason " : "",
		    v->iss.reason ? v->iss.reason : "");
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

static int list(cs_journal *j, const struct log_args *a)
{
	struct log_out o = {a->fmt, 0, 0};
	int r;

	if (a->fmt == FMT_CSV || a->fmt == FMT_CSV_CP932)
		cs_jexport_csv_header(stdout, a->fmt == FMT_CSV ? CS_JCSV_UTF8 :
		    CS_JCSV_CP932);
	else if (a->fmt == FMT_JSON)
		fputc('[', stdout);
	r = cs_journal_issuances(j, &a->filter, print_one, &o);
	if (a->fmt == FMT_JSON)
		fputs("]\n", stdout);
	if (fflush(stdout) != 0 && r == CS_OK)
		r = CS_ERR_IO;
	if (r != CS_OK) {
		fprintf(stderr, "cardstation log: %s\n", cs_strerror(r));
		return CS_EXIT_FAIL;
	}
	if (o.rows == 0 && a->fmt == FMT_TEXT)
		fprintf(stderr, "cardstation log: no issuance matches\n");
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
			printf(" row %" PRId64, f->row_id);
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
		fprintf(stderr, "cardstation log check: %s\n", why);
		return CS_EXIT_FAIL;
	}
	if (json) {
		printf("],\"intact\":%s,\"events\":%" PRId64 ",\"rows\":%" PRId64
		    ",\"head\":", res.findings ? "false" : "true", res.events,
		    res.rows);
		cs_json_str(stdout, res.head);
		fputs("}\n", stdout);
	} else if (res.findings == 0)
		printf("journal %s intact: %" PRId64 " events, %" PRId64 " rows "
		    "match their events\nhead hash %s\n", path, res.events, res.rows,
		    res.head);
	else
		printf("journal %s TAMPERED: %" PRId64 " findings (%" PRId64
		    " events, %" PRId64 " rows read)\n", path, res.findings,
		    res.events, res.rows);
	return res.findings ? CS_EXIT_SOME : CS_EXIT_OK;
}

/* --- handovers --------------------------------------------------------
 *
 * The journal keeps a handover's identity check as a note event of the
 * card (kind card.handover-identity, detail {"note": "<JSON object>"}), and
 * has no call that reads notes back; so this reads the events table
 * itself, through a second read-only connection, after cs_journal_open
 * has accepted the file and its schema. */

#define HO_COLS 13

static const char *const ho_names[HO_COLS] = {
	"event", "at", "run", "card", "chip_serial", "printed_no", "holder",
	"cert_serial", "method", "pin_checked", "verdict", "operator", "note",
};

/* Each column's text from the event; the note's fields through SQLite's
 * JSON functions, guarded so one malformed note cannot stop the list. */
static const char ho_sql[] =
	"WITH h AS (SELECT id, at, run_id, card_id, operator,"
	" json_extract(detail, '$.note') AS t FROM events"
	" WHERE kind = 'card.handover-identity')"
	" SELECT h.id, h.at, h.run_id, h.card_id, c.chip_serial, c.printed_no,"
	" CASE WHEN json_valid(h.t) THEN json_extract(h.t, '$.holder') END,"
	" CASE WHEN json_valid(h.t) THEN json_extract(h.t, '$.cert_serial') END,"
	" CASE WHEN json_valid(h.t) THEN json_extract(h.t, '$.method') END,"
	" CASE WHEN json_valid(h.t) THEN"
	"  CASE json_extract(h.t, '$.pin_checked') WHEN 1 THEN 'yes'"
	"  WHEN 0 THEN 'no' END END,"
	" CASE WHEN json_valid(h.t) THEN json_extract(h.t, '$.verdict') END,"
	" h.operator,"
	" CASE WHEN json_valid(h.t) THEN json_extract(h.t, '$.note') ELSE h.t END"
	" FROM h LEFT JOIN cards c ON c.id = h.card_id"
	" WHERE (?1 = 0 OR h.run_id = ?1)"
	" AND (?2 IS NULL OR lower(c.chip_serial) = lower(?2))"
	" AND (?3 IS NULL OR instr(lower(CASE WHEN json_valid(h.t) THEN"
	"  json_extract(h.t, '$.holder') END), lower(?3)) > 0)"
	" ORDER BY h.id";

struct ho_out {
	enum log_format fmt;
	iconv_t cd;
	int64_t rows, replaced;
};

/* One CSV field, RFC 4180; in CP932 a character it lacks becomes 〓. */
static void ho_csv_field(struct ho_out *o, const char *v, int64_t event,
    const char *column)
{
	char out[4096];
	int quote = v != NULL && strpbrk(v, ",\"\r\n") != NULL, bad = 0;

	if (quote)
		putchar('"');
	for (const char *p = v; p != NULL && *p != '\0';) {
		size_t step = 1;

		if (*p == '"') {
			fputs("\"\"", stdout);
		} else if (o->fmt == FMT_CSV_CP932) {
			/* One UTF-8 character at a time. */
			unsigned char c = (unsigned char)*p;
			char *ip = (char *)p, *op = out;
			size_t il, ol = sizeof(out);

			step = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
			if (strnlen(p, step) < step)
				step = strlen(p);
			il = step;
			iconv(o->cd, NULL, NULL, NULL, NULL);
			if (iconv(o->cd, &ip, &il, &op, &ol) == (size_t)-1) {
				fputs("\x81\xac", stdout);
				bad = 1;
			} else {
				fwrite(out, 1, (size_t)(op - out), stdout);
			}
		} else {
			putchar(*p);
		}
		p += step;
	}
	if (quote)
		putchar('"');
	if (bad) {
		o->replaced++;
		fprintf(stderr, "cardstation log: handover %" PRId64 ", %s \"%s\": "
		    "characters with no CP932 form written as \xe3\x80\x93\n",
		    event, column, v);
	}
}

static void ho_row(struct ho_out *o, sqlite3_stmt *st)
{
	const char *v[HO_COLS];
	int64_t id = sqlite3_column_int64(st, 0);

	for (int i = 0; i < HO_COLS; i++)
		v[i] = (const char *)sqlite3_column_text(st, i);
	switch (o->fmt) {
	case FMT_TEXT:
		printf("%s\t%s\t%-16s %s\tcert %s\tchip %s\tprinted %s\tPIN "
		    "checked %s\toperator %s%s%s\n", v[0], dash(v[1]), dash(v[8]),
		    dash(v[6]), dash(v[7]), dash(v[4]), dash(v[5]), dash(v[9]),
		    dash(v[11]), v[12] ? "\tnote " : "", v[12] ? v[12] : "");
		break;
	case FMT_CSV:
	case FMT_CSV_CP932:
		for (int i = 0; i < HO_COLS; i++) {
			if (i)
				putchar(',');
			ho_csv_field(o, v[i], id, ho_names[i]);
		}
		fputs("\r\n", stdout);
		break;
	case FMT_JSON:
		putchar(o->rows ? ',' : '[');
		printf("{\"event\":%" PRId64, id);
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
	o->rows++;
}

static int handovers(const char *path, const struct log_args *a)
{
	struct ho_out o = {a->fmt, (iconv_t)-1, 0, 0};
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (a->fmt == FMT_CSV_CP932 &&
	    (o.cd = iconv_open("CP932", "UTF-8")) == (iconv_t)-1) {
		fprintf(stderr, "cardstation log: no CP932 converter: %s\n",
		    strerror(errno));
		return CS_EXIT_FAIL;
	}
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, 30000);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, ho_sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, a->filter.run_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, a->filter.chip_serial, -1,
		    SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, a->filter.holder, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		goto fail;
	if (a->fmt == FMT_CSV || a->fmt == FMT_CSV_CP932) {
		for (int i = 0; i < HO_COLS; i++)
			printf("%s%s", i ? "," : "", ho_names[i]);
		fputs("\r\n", stdout);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ho_row(&o, st);
	if (rc != SQLITE_DONE)
		goto fail;
	if (a->fmt == FMT_JSON)
		fputs(o.rows ? "]\n" : "[]\n", stdout);
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (o.cd != (iconv_t)-1)
		iconv_close(o.cd);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "cardstation log: %s\n", strerror(errno));
		return CS_EXIT_FAIL;
	}
	if (o.rows == 0 && a->fmt == FMT_TEXT)
		fprintf(stderr, "cardstation log: no handover matches\n");
	return o.replaced > 0 ? CS_EXIT_SOME : CS_EXIT_OK;
fail:
	fprintf(stderr, "cardstation log: the handovers cannot be read: %s\n",
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (o.cd != (iconv_t)-1)
		iconv_close(o.cd);
	return CS_EXIT_FAIL;
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
		fprintf(stderr, "cardstation log: %s\n", why[0] ? why :
		    cs_strerror(r));
		return CS_EXIT_FAIL;
	}
	status = a.check ? check(j, path, a.fmt == FMT_JSON) :
	    a.handovers ? handovers(path, &a) : list(j, &a);
	cs_journal_close(j);
	return status;
}
