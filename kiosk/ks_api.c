/* ks_api.c - runs, importing a download, and the journal at the desk.
 *
 * Import is two steps for the operator: the folder is inspected first
 * (inspect's verdict per record, nothing written), then imported as a new
 * run in the journal. The archives are read where they are (a USB stick);
 * nothing of them is copied. */
#include "ks.h"

#include "cs_bundle.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_codes.h"
#include "cs_db.h"
#include "cs_i18n.h"
#include "cs_json.h"
#include "cs_profile.h"
#ifdef KS_HAVE_RUN
#include "cs_run.h"
#endif

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int ks_find_pair(const char *dir, char *certs, size_t clen, char *pins,
    size_t plen)
{
	static const char *const pinnames[] = {"clientAllPin.zip", "clientPin.zip"};

	snprintf(certs, clen, "%s/clientAll.zip", dir);
	if (!is_file(certs))
		return -1;
	for (size_t i = 0; i < 2; i++) {
		snprintf(pins, plen, "%s/%s", dir, pinnames[i]);
		if (is_file(pins))
			return 0;
	}
	return -1;
}

static int open_journal(ks_req *rq, cs_journal **j, int flags, char *why,
    size_t whylen)
{
	const char *path = cs_journal_path(ks_cfg(rq->srv)->journal);
	int r;

	/* No file yet: nothing to read (a server journal is always there). */
	if ((flags & CS_JOURNAL_RDONLY) && !cs_db_is_uri(path) &&
	    access(path, F_OK) != 0)
		return CS_ERR_NOTFOUND;
	r = cs_journal_open(j, path, flags, why, whylen);
	if (r == CS_OK)
		cs_journal_set_actor(*j, rq->sess.account, NULL);
	return r;
}

static void write_progress(FILE *f, const cs_jprogress *p)
{
	fprintf(f, "{\"total\":%" PRId64 ",\"refused\":%" PRId64 ",\"queued\":%"
	    PRId64 ",\"claimed\":%" PRId64 ",\"done\":%" PRId64 ",\"revoked\":%"
	    PRId64 "}", p->total, p->refused, p->queued, p->claimed, p->done,
	    p->revoked);
}

/* --- runs ----------------------------------------------------------- */

struct runs_ctx {
	FILE *f;
	cs_journal *j;
	int first;
};

static int run_row(void *ctx, const cs_jrun *run)
{
	struct runs_ctx *c = ctx;
	cs_jprogress p = {0};
	const char *base = run->certs_zip ? strrchr(run->certs_zip, '/') : NULL;

	cs_journal_run_progress(c->j, run->id, &p);
	fprintf(c->f, "%s{\"id\":%" PRId64, c->first ? "" : ",", run->id);
	cs_json_kv(c->f, 0, "created", run->created);
	cs_json_kv(c->f, 0, "certs_zip", run->certs_zip);
	cs_json_kv(c->f, 0, "folder", run->certs_zip);
	(void)base;
	cs_json_kv(c->f, 0, "operator", run->operator_name);
	cs_json_kv(c->f, 0, "state", cs_jrun_state_name(run->state));
	cs_json_kv(c->f, 0, "mode", cs_jmode_name(run->mode));
	fputs(",\"progress\":", c->f);
	write_progress(c->f, &p);
	fputc('}', c->f);
	c->first = 0;
	return 0;
}

/* Whether a run here needs the institution PUK: the profile the kiosk
 * forces, else any profile a card may turn out to be, says puk.mode =
 * institution (one PUK for every card, so that the office can reset PINs
 * and wipe returned cards; without it each card would get a random PUK
 * nobody at the desk knows). */
int ks_puk_profiles(const ks_config *cfg, cs_profile **out, size_t *n)
{
	const char *dir = cfg->profiles_dir ? cfg->profiles_dir :
	    cs_profile_dir();
	cs_profile *all = NULL;
	char why[256];
	size_t k = 0, m = 0;

	*out = NULL;
	*n = 0;
	if (cfg->profile != NULL) {
		if ((all = calloc(1, sizeof(*all))) == NULL)
			return CS_ERR_NOMEM;
		if (cs_profile_find(dir, cfg->profile, all, why, sizeof(why)) !=
		    CS_OK) {
			free(all);
			return CS_ERR_NOTFOUND;
		}
		k = 1;
	} else if (cs_profile_load_all(dir, &all, &k, why, sizeof(why)) !=
	    CS_OK)
		return CS_ERR_NOTFOUND;
	for (size_t i = 0; i < k; i++)
		if (!all[i].puk_random)
			all[m++] = all[i];
	*out = all;
	*n = m;
	return CS_OK;
}

int ks_puk_needed(const ks_config *cfg)
{
	cs_profile *p;
	size_t n;

	if (ks_puk_profiles(cfg, &p, &n) != CS_OK)
		return 0;
	free(p);
	return n > 0;
}

enum MHD_Result ks_api_runs(ks_req *rq)
{
	cs_journal *j = NULL;
	char why[512] = "", *buf = NULL;
	size_t len = 0;
	struct runs_ctx c;
	cs_profile *pp = NULL;
	size_t npp = 0;
	int r;

	r = open_journal(rq, &j, CS_JOURNAL_RDONLY, why, sizeof(why));
	if (r == CS_ERR_NOTFOUND)
		return ks_reply(rq, 200, "application/json", "{\"runs\":[]}", 11);
	if (r != CS_OK)
		return ks_reply_error(rq, 503, "journal", why);
	if ((c.f = open_memstream(&buf, &len)) == NULL) {
		cs_journal_close(j);
		return MHD_NO;
	}
	c.j = j;
	c.first = 1;
	/* Each profile's own PUK field in the start dialog (a run mixing
	 * card families, as the command line's --puk PROFILE=...). */
	fputs("{\"puk_profiles\":[", c.f);
	if (ks_puk_profiles(ks_cfg(rq->srv), &pp, &npp) == CS_OK)
		for (size_t i = 0; i < npp; i++) {
			fputs(i ? ",{" : "{", c.f);
			cs_json_kv(c.f, 1, "name", pp[i].name);
			fprintf(c.f, ",\"length\":%u", pp[i].puk_len);
			cs_json_kv(c.f, 0, "charset", pp[i].puk_charset);
			fputc('}', c.f);
		}
	free(pp);
	fprintf(c.f, "],\"puk_needed\":%s,\"runs\":[", npp > 0 ? "true" :
	    "false");
	r = cs_journal_run_list(j, run_row, &c);
	fputs("]}", c.f);
	fclose(c.f);
	cs_journal_close(j);
	if (r != CS_OK) {
		free(buf);
		return ks_reply_error(rq, 503, "journal", NULL);
	}
	return ks_reply_take(rq, 200, "application/json", buf, len, NULL);
}

/* --- the engine's words --------------------------------------------- */

/* GET /api/codes?lang=ja|en: every message code the engine sends (the run
 * view's code, reason_code, end_code, advice) with its text in that
 * language, {name} where a parameter goes, from the engine's own gettext
 * catalogue (po/): one source for each sentence, the page only fills in
 * the parameters. The language is this thread's alone (uselocale), so
 * other requests keep theirs. */
enum MHD_Result ks_api_codes(ks_req *rq)
{
	const char *lang = ks_arg(rq, "lang");
	const cs_code_def *tab;
	locale_t loc, old = (locale_t)0;
	char *buf = NULL;
	size_t n, len = 0;
	FILE *f;

	if (lang == NULL || *lang == '\0')
		lang = rq->sess.lang[0] ? rq->sess.lang : "ja";
	if (strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0)
		return ks_reply_error(rq, 400, "bad-lang", NULL);
	loc = newlocale(LC_MESSAGES_MASK | LC_CTYPE_MASK, strcmp(lang, "ja") == 0 ?
	    "ja_JP.UTF-8" : "C.UTF-8", (locale_t)0);
	if ((f = open_memstream(&buf, &len)) == NULL) {
		if (loc != (locale_t)0)
			freelocale(loc);
		return MHD_NO;
	}
	if (loc != (locale_t)0)
		old = uselocale(loc);
	tab = cs_code_table(&n);
	fputs("{\"lang\":", f);
	cs_json_str(f, loc != (locale_t)0 ? lang : "en");
	fputs(",\"codes\":{", f);
	for (size_t i = 0; i < n; i++)
		cs_json_kv(f, i == 0, tab[i].code, _(tab[i].text));
	fputs("}}", f);
	if (loc != (locale_t)0) {
		uselocale(old);
		freelocale(loc);
	}
	if (fclose(f) != 0) {
		free(buf);
		return MHD_NO;
	}
	return ks_reply_take(rq, 200, "application/json", buf, len, NULL);
}

/* --- folders holding a download ------------------------------------- */

static void scan(FILE *f, const char *dir, int depth, int *first)
{
	char certs[PATH_MAX], pins[PATH_MAX], sub[PATH_MAX];
	DIR *d;
	struct dirent *e;

	if (ks_find_pair(dir, certs, sizeof(certs), pins, sizeof(pins)) == 0) {
		fprintf(f, "%s{", *first ? "" : ",");
		cs_json_kv(f, 1, "dir", dir);
		cs_json_kv(f, 0, "certs", certs);
		cs_json_kv(f, 0, "pins", pins);
		fputc('}', f);
		*first = 0;
	}
	if (depth == 0 || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(sub) || lstat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		scan(f, sub, depth - 1, first);
	}
	closedir(d);
}

enum MHD_Result ks_api_folders(ks_req *rq)
{
	const ks_config *cfg = ks_cfg(rq->srv);
	char *buf = NULL;
	size_t len = 0;
	int first = 1;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return MHD_NO;
	fputs("{\"folders\":[", f);
	for (size_t i = 0; i < cfg->nroots; i++)
		scan(f, cfg->roots[i], 3, &first);
	fputs("]}", f);
	fclose(f);
	return ks_reply_take(rq, 200, "application/json", buf, len, NULL);
}

/* --- inspect and import --------------------------------------------- */

/* Whether path, with every symbolic link resolved, is one of the kiosk's
 * roots (--import-root) or inside one: the page names folders, and a
 * folder (or a zip in it) that leads elsewhere is not one to read. */
static int in_roots(const ks_config *cfg, const char *path)
{
	char real[PATH_MAX], root[PATH_MAX];

	if (realpath(path, real) == NULL)
		return 0;
	for (size_t i = 0; i < cfg->nroots; i++) {
		size_t n;

		if (realpath(cfg->roots[i], root) == NULL)
			continue;
		n = strlen(root);
		if (strcmp(root, "/") == 0 || (strncmp(real, root, n) == 0 &&
		    (real[n] == '/' || real[n] == '\0')))
			return 1;
	}
	return 0;
}

/* The page's folder: *dir, with the pair in it. 0, or the HTTP status of
 * the refusal (dir_refused answers it). */
static unsigned dir_arg(ks_req *rq, const char **dir, char *certs, char *pins)
{
	const ks_config *cfg = ks_cfg(rq->srv);

	*dir = ks_form_get(rq->form, "dir");
	if (*dir == NULL || (*dir)[0] != '/' || strlen(*dir) > PATH_MAX - 32)
		return 404;
	if (!in_roots(cfg, *dir))
		return 403;
	if (ks_find_pair(*dir, certs, PATH_MAX, pins, PATH_MAX) != 0)
		return 404;
	return in_roots(cfg, certs) && in_roots(cfg, pins) ? 0 : 403;
}

static enum MHD_Result dir_refused(ks_req *rq, unsigned status)
{
	if (status == 403)
		return ks_reply_error(rq, 403, "outside-roots", NULL);
	return ks_reply_error(rq, 404, "no-pair", NULL);
}

static void bundle_opts(ks_req *rq, cs_bundle_opts *o)
{
	cs_bundle_default_opts(o);
	o->institution = ks_cfg(rq->srv)->institution;
}

enum MHD_Result ks_api_inspect(ks_req *rq)
{
	char certs[PATH_MAX], pins[PATH_MAX], why[1024], *buf = NULL;
	const char *dir;
	unsigned refused = dir_arg(rq, &dir, certs, pins);
	cs_bundle_opts o;
	cs_bundle *b = NULL;
	cs_msg m;
	size_t len = 0, usable = 0;
	FILE *f;

	if (refused)
		return dir_refused(rq, refused);
	bundle_opts(rq, &o);
	if (cs_bundle_open_msg(&b, certs, pins, &o, &m) != CS_OK)
		return ks_reply_msg(rq, 422, "refused", &m);
	if ((f = open_memstream(&buf, &len)) == NULL) {
		cs_bundle_free(b);
		return MHD_NO;
	}
	fputc('{', f);
	cs_json_kv(f, 1, "dir", dir);
	cs_json_kv(f, 0, "certs", certs);
	cs_json_kv(f, 0, "pins", pins);
	fputs(",\"records\":[", f);
	for (size_t i = 0; i < b->nrec; i++) {
		const cs_record *rec = &b->rec[i];
		cs_p12 *p12 = NULL;
		cs_p12_info info;
		cs_problem p;

		why[0] = '\0';
		memset(&info, 0, sizeof(info));
		p = cs_bundle_load(b, rec, &o, &p12, &info, why, sizeof(why));
		cs_p12_free(p12);
		usable += p == CS_PROBLEM_NONE;
		fprintf(f, "%s{", i ? "," : "");
		cs_json_kv(f, 1, "serial", rec->serial[0] ? rec->serial : NULL);
		cs_json_kv(f, 0, "holder", rec->name);
		cs_json_kv(f, 0, "mail", rec->mail);
		cs_json_kv(f, 0, "profile", info.profile[0] ? info.profile : NULL);
		cs_json_kv(f, 0, "not_after", info.not_after[0] ? info.not_after : NULL);
		fprintf(f, ",\"ok\":%s", p == CS_PROBLEM_NONE ? "true" : "false");
		cs_json_kv(f, 0, "problem", p == CS_PROBLEM_NONE ? NULL :
		    cs_problem_name(p));
		cs_json_kv(f, 0, "reason", p == CS_PROBLEM_NONE ? NULL : why);
		fputc('}', f);
	}
	fprintf(f, "],\"summary\":{\"records\":%zu,\"usable\":%zu,\"refused\":%zu,"
	    "\"institution_checked\":%s}}", b->nrec, usable, b->nrec - usable,
	    o.institution ? "true" : "false");
	fclose(f);
	cs_bundle_free(b);
	return ks_reply_take(rq, 200, "application/json", buf, len, NULL);
}

enum MHD_Result ks_api_import(ks_req *rq)
{
#ifdef KS_HAVE_RUN
	char certs[PATH_MAX], pins[PATH_MAX], why[1024] = "", *buf = NULL;
	const char *dir;
	unsigned refused = dir_arg(rq, &dir, certs, pins);
	const ks_config *cfg = ks_cfg(rq->srv);
	cs_run_import_args a;
	cs_msg m;
	cs_bundle_opts o;
	cs_jprogress counts = {0};
	int64_t run_id = 0;
	size_t len = 0;
	FILE *f;
	int r;

	if (refused)
		return dir_refused(rq, refused);
	bundle_opts(rq, &o);
	memset(&a, 0, sizeof(a));
	a.journal = cfg->journal;
	a.certs_zip = certs;
	a.pins_zip = pins;
	a.opts = &o;
	a.profile = cfg->profile;
	a.mode = CS_JMODE_QUEUE;
	a.operator_name = rq->sess.account;
	a.refusal = &m;
	if ((r = cs_run_import(&a, &run_id, &counts, why, sizeof(why))) != CS_OK)
		return m.code != NULL ? ks_reply_msg(rq, 422, "import", &m) :
		    ks_reply_error(rq, 422, "import", why);
	if ((f = open_memstream(&buf, &len)) == NULL)
		return MHD_NO;
	fprintf(f, "{\"run_id\":%" PRId64 ",\"progress\":", run_id);
	write_progress(f, &counts);
	fputc('}', f);
	fclose(f);
	ks_hub_publish(ks_srv_hub(rq->srv), "runs", "{}");
	return ks_reply_take(rq, 200, "application/json", buf, len, NULL);
#else
	return ks_reply_error(rq, 503, "no-engine", NULL);
#endif
}

/* --- journal search and export -------------------------------------- */

struct iss_ctx {
	FILE *f;
	int n;
	cs_jcsv_enc enc;
};

static int iss_row(void *ctx, const cs_jissuance_view *v)
{
	struct iss_ctx *c = ctx;
	const cs_jissuance *i = &v->iss;

	if (c->n >= 500)
		return 1;  /* the screen shows the newest 500 at most */
	fprintf(c->f, "%s{\"id\":%" PRId64 ",\"run_id\":%" PRId64 ",\"card_id\":%"
	    PRId64, c->n ? "," : "", i->id, v->run_id, i->card_id);
	cs_json_kv(c->f, 0, "cert_serial", i->cert_serial);
	cs_json_kv(c->f, 0, "holder", i->holder);
	cs_json_kv(c->f, 0, "mail", i->mail);
	cs_json_kv(c->f, 0, "reader", i->reader);
	cs_json_kv(c->f, 0, "operator", i->operator_name);
	cs_json_kv(c->f, 0, "started", i->started);
	cs_json_kv(c->f, 0, "finished", i->finished);
	cs_json_kv(c->f, 0, "outcome", cs_jissue_outcome_name(i->outcome));
	cs_json_kv(c->f, 0, "reason", i->reason);
	cs_json_kv(c->f, 0, "chip_serial", v->chip_serial);
	cs_json_kv(c->f, 0, "pkcs15_serial", v->pkcs15_serial);
	cs_json_kv(c->f, 0, "printed_no", v->printed_no);
	fputc('}', c->f);
	c->n++;
	return 0;
}

/* One search box: the field says what the text is. */
static int make_filter(ks_req *rq, cs_jfilter *fl)
{
	const char *q = ks_arg(rq, "q"), *field = ks_arg(rq, "field");
	const char *run = ks_arg(rq, "run");

	memset(fl, 0, sizeof(*fl));
	if (run != NULL && *run != '\0')
		fl->run_id = strtoll(run, NULL, 10);
	if (q == NULL || *q == '\0')
		return 0;
	if (field == NULL || strcmp(field, "holder") == 0)
		fl->holder = q;
	else if (strcmp(field, "mail") == 0)
		fl->mail = q;
	else if (strcmp(field, "serial") == 0)
		fl->cert_serial = q;
	else if (strcmp(field, "chip") == 0)
		fl->chip_serial = q;
	else if (strcmp(field, "printed") == 0)
		fl->printed_no = q;
	else
		return -1;
	return 0;
}

enum MHD_Result ks_api_search(ks_req *rq)
{
	cs_journal *j = NULL;
	cs_jfilter fl;
	struct iss_ctx c = {0};
	char why[512] = "", *buf = NULL;
	size_t len = 0;
	int r;

	if (make_filter(rq, &fl) != 0)
		return ks_reply_error(rq, 400, "bad-field", NULL);
	r = open_journal(rq, &j, CS_JOURNAL_RDONLY, why, sizeof(why));
	if (r == CS_ERR_NOTFOUND)
		return ks_reply(rq, 200, "application/json",
		    "{\"issuances\":[]}", 16);
	if (r != CS_OK)
		return ks_reply_error(rq, 503, "journal", why);
	if ((c.f = open_memstream(&buf, &len)) == NULL) {
		cs_journal_close(j);
		return MHD_NO;
	}
	fputs("{\"issuances\":[", c.f);
	r = cs_journal_issuances(j, &fl, iss_row, &c);
	fprintf(c.f, "],\"truncated\":%s}", r == 1 ? "true" : "false");
	fclose(c.f);
	cs_journal_close(j);
	if (r < 0) {
		free(buf);
		return ks_reply_error(rq, 503, "journal", NULL);
	}
	return ks_reply_take(rq, 200, "application/json", buf, len, NULL);
}

static int csv_row(void *ctx, const cs_jissuance_view *v)
{
	struct iss_ctx *c = ctx;

	return cs_jexport_csv_row(c->f, v, c->enc, NULL, NULL) == CS_OK ? 0 : 1;
}

enum MHD_Result ks_api_export(ks_req *rq)
{
	cs_journal *j = NULL;
	cs_jfilter fl;
	struct iss_ctx c = {0};
	const char *enc = ks_arg(rq, "enc");
	char why[512] = "", *buf = NULL;
	size_t len = 0;
	int r;

	if (make_filter(rq, &fl) != 0)
		return ks_reply_error(rq, 400, "bad-field", NULL);
	c.enc = enc != NULL && strcmp(enc, "utf8") == 0 ? CS_JCSV_UTF8 :
	    CS_JCSV_CP932;
	r = open_journal(rq, &j, CS_JOURNAL_RDONLY, why, sizeof(why));
	if (r != CS_OK && r != CS_ERR_NOTFOUND)
		return ks_reply_error(rq, 503, "journal", why);
	if ((c.f = open_memstream(&buf, &len)) == NULL) {
		cs_journal_close(j);
		return MHD_NO;
	}
	cs_jexport_csv_header(c.f, c.enc);
	if (j != NULL)
		r = cs_journal_issuances(j, &fl, csv_row, &c);
	fclose(c.f);
	cs_journal_close(j);
	if (r != CS_OK && r != CS_ERR_NOTFOUND) {
		free(buf);
		return ks_reply_error(rq, 503, "journal", NULL);
	}
	return ks_reply_take(rq, 200, c.enc == CS_JCSV_UTF8 ?
	    "text/csv; charset=utf-8" : "text/csv; charset=Shift_JIS", buf, len,
	    "attachment; filename=\"cardstation-issuances.csv\"");
}
