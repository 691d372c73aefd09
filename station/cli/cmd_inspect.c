/* cmd_inspect.c - `cardstation inspect`: check a download pair, no card.
 *
 * One line per record, then a summary; the exit status tells whether every
 * record is usable. Records are checked one PKCS#12 at a time, so memory does
 * not grow with the bundle. */
#include "cs_bundle.h"
#include "cs_cmd.h"
#include "cs_codes.h"
#include "cs_err.h"
#include "cs_json.h"
#include "cs_profile.h"
#include "cs_i18n.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct inspect_args {
	const char *certs, *pins;
	const char *profiles;   /* --profiles DIR, or NULL: cs_profile_dir() */
	bool json;
	cs_bundle_opts opts;
};

/* The card profiles: which card takes each record's key. */
struct cards {
	cs_profile *p;
	size_t n;
	const char *dir;
	bool checked;           /* false: none found where none was asked for */
};

static void usage(FILE *f)
{
	fprintf(f,
	    _("usage: cardstation inspect clientAll.zip clientAllPin.zip [options]\n"
	    "\n"
	    "Reads a UPKI P12-bulk download pair in memory and checks every\n"
	    "record: index and PIN rows, access PIN, certificate serial, key,\n"
	    "subject, institution, S/MIME mail and validity, and which card\n"
	    "profile takes each key (a key no card takes is refused).\n"
	    "\n"
	    "  --institution O    the O value every certificate must carry\n"
	    "  --profiles DIR     card profiles (default $CARDSTATION_PROFILES or\n"
	    "                     the installed cardprofiles folder)\n"
	    "  --json             machine-readable output\n"
	    "  --max-entries N    archive limits (defaults sized for 20,000\n"
	    "  --max-bytes N        people: 25000 entries, 1 GiB in all,\n"
	    "  --max-ratio N        ratio 100 for files over 64 KiB)\n"
	    "\n"
	    "Exit status: 0 every record usable, 1 some refused, 2 the archives\n"
	    "themselves were refused or the command was misused.\n"));
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '-' || *s == '\0')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v == 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct inspect_args *a)
{
	enum { O_INST = 256, O_JSON, O_ENTRIES, O_BYTES, O_RATIO, O_PROFILES,
	    O_HELP };
	static const struct option longopts[] = {
		{"institution", required_argument, NULL, O_INST},
		{"profiles", required_argument, NULL, O_PROFILES},
		{"json", no_argument, NULL, O_JSON},
		{"max-entries", required_argument, NULL, O_ENTRIES},
		{"max-bytes", required_argument, NULL, O_BYTES},
		{"max-ratio", required_argument, NULL, O_RATIO},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	cs_bundle_default_opts(&a->opts);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case O_INST: a->opts.institution = optarg; break;
		case O_PROFILES: a->profiles = optarg; break;
		case O_JSON: a->json = true; break;
		case O_ENTRIES: bad = parse_u64(optarg, &a->opts.limits.max_entries); break;
		case O_BYTES: bad = parse_u64(optarg, &a->opts.limits.max_total);
			if (a->opts.limits.max_entry > a->opts.limits.max_total)
				a->opts.limits.max_entry = a->opts.limits.max_total;
			break;
		case O_RATIO: bad = parse_u64(optarg, &a->opts.limits.max_ratio); break;
		case 'h': case O_HELP: usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
		if (bad) {
			fprintf(stderr, _("cardstation inspect: %s needs a positive "
			    "number\n"), argv[optind - 1]);
			return -1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return -1;
	}
	a->certs = argv[optind];
	a->pins = argv[optind + 1];
	return 0;
}

static const char *or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/* "a,b" as a JSON array of strings. */
static void json_names(FILE *f, const char *list)
{
	char name[sizeof(((cs_profile *)0)->name)];
	bool first = true;

	fputc('[', f);
	while (*list != '\0') {
		size_t n = strcspn(list, ",");

		snprintf(name, sizeof(name), "%.*s", (int)n, list);
		fputs(first ? "" : ",", f);
		cs_json_str(f, name);
		first = false;
		list += n + (list[n] == ',');
	}
	fputc(']', f);
}

static void print_record(const struct inspect_args *a, const struct cards *c,
    const cs_record *r, const cs_p12_info *info, const char *takers,
    cs_problem p, const char *why, bool first)
{
	char expiry[16];

	snprintf(expiry, sizeof(expiry), "%.10s", info->not_after);
	if (a->json) {
		fprintf(stdout, "%s\n  {", first ? "" : ",");
		cs_json_kv(stdout, 1, "serial", r->serial[0] ? r->serial : NULL);
		cs_json_kv(stdout, 0, "holder", r->name);
		cs_json_kv(stdout, 0, "mail", r->mail);
		cs_json_kv(stdout, 0, "dn", r->dn);
		cs_json_kv(stdout, 0, "profile", info->profile[0] ? info->profile : NULL);
		cs_json_kv(stdout, 0, "not_after", info->not_after[0] ? info->not_after : NULL);
		cs_json_kv(stdout, 0, "key_type", info->key_type[0] ? info->key_type : NULL);
		fputs(",\"card_profiles\":", stdout);
		if (c->checked && info->key_type[0])
			json_names(stdout, takers);
		else
			fputs("null", stdout);
		fprintf(stdout, ",\"index_line\":%zu,\"pin_line\":%zu,\"ok\":%s",
		    r->index_line, r->pin_line, p == CS_PROBLEM_NONE ? "true" : "false");
		cs_json_kv(stdout, 0, "problem", p == CS_PROBLEM_NONE ? NULL :
		    cs_problem_name(p));
		/* The code of the message (cs_codes.h); reason is in the
		 * locale's language. */
		cs_json_kv(stdout, 0, "code", p == CS_PROBLEM_NONE ? NULL :
		    cs_problem_code(p));
		cs_json_kv(stdout, 0, "reason", p == CS_PROBLEM_NONE ? NULL : why);
		fputc('}', stdout);
		return;
	}
	/* The key type, then the card profiles that take it: "?" when no
	 * profiles were read, "-" when none takes it or no key was read. */
	printf("%s  %s  %s  %s  %s  %s  %s  ", or_dash(r->serial), or_dash(r->name),
	    or_dash(r->mail), or_dash(info->profile), or_dash(expiry),
	    or_dash(info->key_type), !c->checked && info->key_type[0] ? "?" :
	    or_dash(takers));
	if (p == CS_PROBLEM_NONE)
		printf("OK\n");
	else
		printf(_("REFUSED %s: %s\n"), cs_problem_name(p), why);
}

static void print_summary(const struct inspect_args *a, const struct cards *c,
    size_t total, size_t usable, const size_t *by)
{
	bool first = true;

	if (a->json) {
		printf("\n ],\n \"summary\":{\"records\":%zu,\"usable\":%zu,"
		    "\"refused\":%zu,\"institution_checked\":%s,"
		    "\"card_profiles_checked\":%s,\"card_profiles\":[",
		    total, usable, total - usable,
		    a->opts.institution ? "true" : "false",
		    c->checked ? "true" : "false");
		for (size_t i = 0; i < c->n; i++) {
			fputs(i ? "," : "", stdout);
			cs_json_str(stdout, c->p[i].name);
		}
		printf("],\"by_problem\":{");
		for (int p = 1; p < CS_PROBLEM_COUNT; p++) {
			if (by[p] == 0)
				continue;
			printf("%s\"%s\":%zu", first ? "" : ",", cs_problem_name(p), by[p]);
			first = false;
		}
		printf("}}\n}\n");
		return;
	}
	printf(_("\n%zu records: %zu usable, %zu refused"), total, usable,
	    total - usable);
	for (int p = 1; p < CS_PROBLEM_COUNT; p++)
		if (by[p] != 0) {
			printf("%s%zu %s", first ? " (" : ", ", by[p], cs_problem_name(p));
			first = false;
		}
	printf("%s\n", first ? "" : ")");
	if (a->opts.institution == NULL)
		printf(_("institution (O) not checked: give --institution\n"));
	if (!c->checked)
		printf(_("key types not checked: no card profiles in %s; give "
		    "--profiles DIR\n"), c->dir);
}

/* --profiles DIR must hold profiles; the default place may be empty (a
 * build tree), then key types go unchecked and the summary says so. */
static int load_cards(const struct inspect_args *a, struct cards *c,
    char *why, size_t whylen)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->dir = a->profiles != NULL ? a->profiles : cs_profile_dir();
	r = cs_profile_load_all(c->dir, &c->p, &c->n, why, whylen);
	if (r == CS_OK && c->n == 0 && a->profiles != NULL) {
		snprintf(why, whylen, _("%s: no card profiles (*.conf) there"),
		    c->dir);
		r = CS_ERR_NOTFOUND;
	}
	if (r == CS_ERR_NOTFOUND && a->profiles == NULL)
		return CS_OK;
	c->checked = r == CS_OK && c->n > 0;
	return r;
}

int cmd_inspect(int argc, char **argv)
{
	struct inspect_args a;
	struct cards cards;
	cs_bundle *b = NULL;
	cs_p12_providers pv;
	char why[1024];
	cs_msg refusal;
	size_t usable = 0, by[CS_PROBLEM_COUNT] = {0};
	int r;

	if ((r = parse_args(argc, argv, &a)) != 0)
		return r > 0 ? CS_EXIT_OK : CS_EXIT_FAIL;
	if (load_cards(&a, &cards, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, _("cardstation inspect: card profiles: %s\n"), why);
		return CS_EXIT_FAIL;
	}
	if (cs_p12_init(&pv) != CS_OK) {
		free(cards.p);
		fprintf(stderr, _("cardstation inspect: OpenSSL's default and legacy "
		    "providers cannot be loaded\n"));
		return CS_EXIT_FAIL;
	}
	if ((r = cs_bundle_open_msg(&b, a.certs, a.pins, &a.opts,
	    &refusal)) != CS_OK) {
		/* The refusal's code (bundle.*) and parameters for scripts,
		 * its text in the locale's language for a person; "class" is
		 * the kind of error (err.usage, err.format), as the exit code. */
		cs_msg_text(&refusal, why, sizeof(why));
		if (a.json) {
			printf("{\"error\":");
			cs_json_str(stdout, why);
			putchar(',');
			cs_msg_json(stdout, &refusal);
			printf(",\"class\":");
			cs_json_str(stdout, cs_err_code(r));
			printf("}\n");
		}
		fprintf(stderr, _("cardstation inspect: refused: %s\n"), why);
		cs_p12_fini(&pv);
		free(cards.p);
		return CS_EXIT_FAIL;
	}
	if (a.json) {
		printf("{\"certs\":");
		cs_json_str(stdout, a.certs);
		printf(",\"pins\":");
		cs_json_str(stdout, a.pins);
		printf(",\"records\":[");
	}
	for (size_t i = 0; i < b->nrec; i++) {
		cs_p12 *p12 = NULL;
		cs_p12_info info;
		char takers[256] = "";
		cs_problem p;

		why[0] = '\0';
		p = cs_bundle_load(b, &b->rec[i], &a.opts, &p12, &info, why,
		    sizeof(why));
		cs_p12_free(p12);
		/* A key no card takes would leave its card half written. */
		if (p == CS_PROBLEM_NONE && cards.checked)
			p = cs_profile_key_problem(cards.p, cards.n,
			    info.key_type, takers, sizeof(takers), why,
			    sizeof(why));
		else if (info.key_type[0] != '\0')
			cs_profile_takers(cards.p, cards.n, info.key_type, takers,
			    sizeof(takers));
		print_record(&a, &cards, &b->rec[i], &info, takers, p, why,
		    i == 0);
		by[p]++;
		usable += p == CS_PROBLEM_NONE;
	}
	print_summary(&a, &cards, b->nrec, usable, by);
	r = usable == b->nrec && b->nrec > 0 ? CS_EXIT_OK : CS_EXIT_SOME;
	cs_bundle_free(b);
	cs_p12_fini(&pv);
	free(cards.p);
	return r;
}
