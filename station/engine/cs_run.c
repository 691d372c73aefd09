/* cs_run.c - importing a run, and the coordinator of the reader workers. */
#include "cs_run.h"
#include "cs_codes.h"
#include "cs_err.h"
#include "cs_run_int.h"
#include "cs_profile.h"
#include "cs_child.h"
#include "cs_i18n.h"
#include "cs_pairing.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* ---- import ---- */

int cs_run_file_sha256(const char *path, char hex[65])
{
	unsigned char buf[65536], md[32];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	size_t n;
	int r = CS_ERR_IO;

	if (c != NULL && f != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1) {
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			EVP_DigestUpdate(c, buf, n);
		if (!ferror(f) && EVP_DigestFinal_ex(c, md, NULL) == 1) {
			for (int i = 0; i < 32; i++)
				sprintf(hex + 2 * i, "%02x", md[i]);
			r = CS_OK;
		}
	}
	if (f != NULL)
		fclose(f);
	EVP_MD_CTX_free(c);
	return r;
}

static void staff_no_of(X509 *cert, char *out, size_t outlen)
{
	if (cert == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
	    NID_organizationalUnitName, out, (int)outlen) < 0)
		out[0] = '\0';
}

/* What would make every card refuse this record, found at import. */
static cs_problem import_problem(cs_journal *j, const cs_profile *ps,
    size_t nps, const cs_p12_info *info, const char *serial, char *why,
    size_t whylen)
{
	char takers[256];
	cs_jcard card;
	cs_problem p;

	if ((p = cs_profile_key_problem(ps, nps, info->key_type, takers,
	    sizeof(takers), why, whylen)) != CS_PROBLEM_NONE)
		return p;
	if (cs_journal_cert_live_card(j, serial, &card, NULL) != CS_OK)
		return CS_PROBLEM_NONE;
	snprintf(why, whylen, _("certificate %s is already on card %s (imported "
	    "before): it is never put on two cards"), serial,
	    card.chip_serial ? card.chip_serial : "?");
	cs_jcard_clear(&card);
	return CS_PROBLEM_LIVE_ELSEWHERE;
}

static int add_records(cs_journal *j, cs_bundle *b, const cs_bundle_opts *o,
    const cs_profile *ps, size_t nps, int64_t run_id, char *why,
    size_t whylen)
{
	int r = CS_OK;

	for (size_t i = 0; i < b->nrec && r == CS_OK; i++) {
		const cs_record *rec = &b->rec[i];
		char reason[1024] = "", staff[64];
		cs_p12_info info;
		cs_p12 *p = NULL;
		cs_problem pr = cs_bundle_load(b, rec, o, &p, &info, reason,
		    sizeof(reason));
		cs_jrecord jr = {0};

		if (pr == CS_PROBLEM_NONE)
			pr = import_problem(j, ps, nps, &info, rec->serial, reason,
			    sizeof(reason));
		staff_no_of(p ? p->cert : NULL, staff, sizeof(staff));
		jr.run_id = run_id;
		jr.serial = rec->serial[0] ? (char *)rec->serial : NULL;
		jr.holder = rec->name;
		jr.mail = rec->mail;
		jr.dn = rec->dn;
		jr.staff_no = staff[0] ? staff : NULL;
		jr.profile = info.profile[0] ? info.profile : NULL;
		jr.not_after = info.not_after[0] ? info.not_after : NULL;
		jr.key_type = info.key_type[0] ? info.key_type : NULL;
		jr.problem = pr == CS_PROBLEM_NONE ? NULL : (char *)cs_problem_name(pr);
		jr.reason = pr == CS_PROBLEM_NONE ? NULL : reason;
		cs_p12_free(p);
		r = cs_journal_record_add(j, &jr, NULL, why, whylen);
	}
	return r;
}

/* The card profiles a run can use: the one it names, or every one. */
static int import_profiles(const cs_run_import_args *a, cs_profile **ps,
    size_t *n, char *why, size_t whylen)
{
	const char *dir = a->profiles_dir ? a->profiles_dir : cs_profile_dir();

	*ps = NULL;
	*n = 0;
	if (a->profile == NULL)
		return cs_profile_load_all(dir, ps, n, why, whylen);
	if ((*ps = calloc(1, sizeof(**ps))) == NULL)
		return CS_ERR_NOMEM;
	*n = 1;
	return cs_profile_find(dir, a->profile, *ps, why, whylen);
}

int cs_run_import(const cs_run_import_args *a, int64_t *run_id,
    cs_jprogress *counts, char *why, size_t whylen)
{
	cs_bundle *b = NULL;
	cs_journal *j = NULL;
	cs_profile *ps = NULL;
	size_t nps = 0;
	cs_p12_providers pv = {0};
	char certs_sha[65], pins_sha[65];
	cs_jrun run = {0};
	cs_msg refused;
	int r;

	*run_id = 0;
	if ((r = cs_p12_init(&pv)) != CS_OK) {
		snprintf(why, whylen, _("OpenSSL's legacy provider cannot be loaded"));
		return r;
	}
	if (a->refusal != NULL)
		memset(a->refusal, 0, sizeof(*a->refusal));
	if ((r = import_profiles(a, &ps, &nps, why, whylen)) != CS_OK)
		goto out;
	if ((r = cs_bundle_open_msg(&b, a->certs_zip, a->pins_zip, a->opts,
	    &refused)) != CS_OK) {
		cs_msg_text(&refused, why, whylen);
		if (a->refusal != NULL)
			*a->refusal = refused;
		goto out;
	}
	if ((r = cs_run_file_sha256(a->certs_zip, certs_sha)) != CS_OK ||
	    (r = cs_run_file_sha256(a->pins_zip, pins_sha)) != CS_OK) {
		snprintf(why, whylen, _("the archives cannot be read again"));
		goto out;
	}
	if ((r = cs_journal_open(&j, cs_journal_path(a->journal), 0, why,
	    whylen)) != CS_OK)
		goto out;
	cs_journal_set_actor(j, a->operator_name, NULL);
	if ((r = cs_journal_trust(j, why, whylen)) != CS_OK)
		goto out;
	run.certs_zip = realpath(a->certs_zip, NULL);
	run.pins_zip = realpath(a->pins_zip, NULL);
	run.certs_sha256 = certs_sha;
	run.pins_sha256 = pins_sha;
	run.profile = (char *)a->profile;
	run.mode = a->mode;
	run.operator_name = (char *)a->operator_name;
	if ((r = cs_journal_begin(j, why, whylen)) != CS_OK)
		goto out;
	if ((r = cs_journal_run_create(j, &run, run_id, why, whylen)) == CS_OK)
		r = add_records(j, b, a->opts, ps, nps, *run_id, why, whylen);
	if (r == CS_OK)
		r = cs_journal_commit(j, why, whylen);
	else
		cs_journal_rollback(j);
	if (r == CS_OK && counts != NULL)
		r = cs_journal_run_progress(j, *run_id, counts);
out:
	free(run.certs_zip);
	free(run.pins_zip);
	cs_journal_close(j);
	cs_bundle_free(b);
	free(ps);
	cs_p12_fini(&pv);
	return r;
}

/* ---- the coordinator ---- */

struct worker {
	cs_child child;
	int ev_fd, ctl_fd;
	const char *reader;
	cs_secret *buf; /* a line may carry a PIN letter: locked */
	int alive;
};

struct cs_run {
	cs_run_opts o;
	cs_run_ui ui;
	struct worker *w;
	size_t n;
	cs_journal *j;
	volatile sig_atomic_t stop;
	int stopping, ended;
	int said_waiting;
	cs_jprogress last;  /* as of the last count */
	int fresh;          /* last changed since the run looked at it */
	int64_t counted_ms; /* when last was read (monotonic) */
};

/* How often a run that ends when all is done counts again by itself: other
 * stations on the same run change its counts without an event here, and
 * a station whose readers stay empty must still see the run end. */
#define RECOUNT_MS 2000

static void emit(cs_run *r, cs_run_event *ev, int index)
{
	ev->reader_index = index;
	ev->reader = index >= 0 ? r->w[index].reader : NULL;
	if (r->ui.event != NULL)
		r->ui.event(r->ui.ctx, ev);
}

void cs_run_journal_event(cs_run_event *ev, const char *code,
    const char *params, char *text, size_t n)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = CS_EV_JOURNAL;
	ev->state = strcmp(code, "journal.server-back") == 0 ? "back" : "lost";
	ev->code = code;
	ev->params = params;
	ev->text = cs_code_text(code, params, text, n);
}

/* The run's own connection lost the server, or has it back. */
static void run_notice(void *ctx, const char *code, const char *params)
{
	cs_run_event ev;
	char text[512];

	cs_run_journal_event(&ev, code, params, text, sizeof(text));
	emit(ctx, &ev, -1);
}

/* ---- the end: who still waits for which card ---- */

struct waits {
	cs_run *r;
	cs_pairing pl;
	int have_pl;
};

static int tell_one_waiting(void *ctx, const cs_jrecord *rec)
{
	struct waits *wt = ctx;
	cs_run_event ev = {.kind = CS_EV_WAITING};
	cs_jcard card = {0};
	const cs_pair *pair = NULL;
	const char *chip = NULL, *printed = NULL, *shown;
	char params[CS_PARAMS_MAX], text[512], seq[24];

	if (rec->pending_card_id != 0) {
		/* A card set aside half written for it (or given an identity
		 * it may carry): that card only finishes it. */
		if (cs_journal_card_get(wt->r->j, rec->pending_card_id, &card) ==
		    CS_OK) {
			chip = card.chip_serial;
			printed = card.printed_no;
		}
		ev.code = printed != NULL && printed[0] != '\0' ?
		    "run.waits-for-card-printed" : "run.waits-for-card";
	} else if (wt->have_pl) {
		/* Pairing-list mode: the list names each holder's card. */
		if ((pair = cs_pairing_by_person(&wt->pl, rec->staff_no,
		    rec->mail)) != NULL) {
			chip = pair->chip_serial[0] ? pair->chip_serial : NULL;
			printed = pair->printed_no[0] ? pair->printed_no : NULL;
		}
		ev.code = pair != NULL ? "run.waits-for-paired-card" :
		    "run.waits-unpaired";
	} else {
		return CS_OK;  /* any card takes it */
	}
	snprintf(seq, sizeof(seq), "%" PRId64, rec->seq);
	shown = chip != NULL ? chip : printed != NULL ? printed : "?";
	cs_params_pack(params, sizeof(params), "seq", seq, "holder",
	    rec->holder ? rec->holder : "", "chip", chip ? chip : "?",
	    "printed", printed, "card", shown, (const char *)NULL);
	ev.params = params;
	ev.text = cs_code_text(ev.code, params, text, sizeof(text));
	ev.holder = rec->holder;
	ev.mail = rec->mail;
	ev.staff_no = rec->staff_no;
	ev.cert_serial = rec->serial;
	ev.chip_serial = chip;
	ev.printed_no = printed;
	emit(wt->r, &ev, -1);
	cs_jcard_clear(&card);
	return CS_OK;
}

/* Before the run's end: one CS_EV_WAITING per record that waits for one
 * particular card, so that the operator knows which cards to find. */
static void tell_waiting(cs_run *r)
{
	struct waits wt = {.r = r};
	char why[256];

	if (r->o.pairing_csv != NULL)
		wt.have_pl = cs_pairing_load(r->o.pairing_csv, &wt.pl, why,
		    sizeof(why)) == CS_OK;
	(void)cs_journal_run_queued(r->j, r->o.run_id, tell_one_waiting, &wt);
	if (wt.have_pl)
		cs_pairing_free(&wt.pl);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int same_counts(const cs_jprogress *a, const cs_jprogress *b)
{
	return a->total == b->total && a->refused == b->refused &&
	    a->queued == b->queued && a->claimed == b->claimed &&
	    a->done == b->done && a->revoked == b->revoked &&
	    a->waiting == b->waiting;
}

/* This station's counts change when one of its cards ends (done, failed,
 * released): read them then (always), or when RECOUNT_MS have passed
 * (only_changed: other stations' cards), tell the front end, and keep
 * them for the end-of-run test. */
static void count(cs_run *r, int only_changed)
{
	cs_run_event ev = {.kind = CS_EV_PROGRESS};

	r->counted_ms = now_ms();
	if (cs_journal_run_progress(r->j, r->o.run_id, &ev.progress) != CS_OK)
		return;
	if (only_changed && same_counts(&ev.progress, &r->last))
		return;
	r->last = ev.progress;
	r->fresh = 1;
	emit(r, &ev, -1);
}

static void tell(struct worker *w, const char *line)
{
	/* A failed write means a dead worker: its event pipe tells. */
	if (w->alive && write(w->ctl_fd, line, strlen(line)) < 0)
		return;
}

static int spawn(cs_run *r, size_t i, const char *self, char *why,
    size_t whylen)
{
	char *const argv[] = {"cardstation", CS_RUN_WORKER_ARG, NULL};
	int ev[2], ctl[2], st[2], r_;

	if (pipe2(ev, O_CLOEXEC) != 0 || pipe2(ctl, O_CLOEXEC) != 0 ||
	    pipe2(st, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return CS_ERR_IO;
	}
	{
		/* Its own process group: the terminal's Ctrl-C is for the
		 * coordinator, which lets the worker finish its card. No
		 * timeout: it lives as long as the run. Nothing else of the
		 * front end's: no socket, no journal. */
		const cs_child_fd fds[] = {
			{STDOUT_FILENO, STDOUT_FILENO},
			{STDERR_FILENO, STDERR_FILENO},
			{ev[1], CS_WORKER_EV_FD}, {ctl[0], CS_WORKER_CTL_FD},
			{st[0], CS_WORKER_START_FD},
		};
		const cs_child_spec spec = {
			.path = self, .argv = argv, .fds = fds, .nfds = 5,
			.own_pgrp = 1,
		};

		r_ = cs_child_start(&spec, &r->w[i].child, why, whylen);
	}
	close(ev[1]);
	close(ctl[0]);
	close(st[0]);
	if (r_ != CS_OK) {
		close(ev[0]);
		close(ctl[1]);
		close(st[1]);
		return r_;
	}
	r->w[i].ev_fd = ev[0];
	r->w[i].ctl_fd = ctl[1];
	r->w[i].alive = 1;
	r_ = cs_wire_start_send(st[1], &r->o, (int)i, r->w[i].reader);
	close(st[1]);
	if (r_ != CS_OK)
		snprintf(why, whylen, _("cannot start the worker for %s"),
		    r->w[i].reader);
	return r_;
}

const cs_secret *cs_run_puk_for(const cs_run_opts *o, const char *profile)
{
	for (size_t i = 0; profile != NULL && i < o->npuks; i++)
		if (strcmp(o->puks[i].profile, profile) == 0)
			return o->puks[i].puk;
	return o->puk;
}

/* Each PUK given for one card profile suits that profile, and names it
 * once: refused before any card is touched, the profile named. */
static int check_puks(const cs_run_opts *o, char *why, size_t whylen)
{
	const char *dir = o->profiles_dir ? o->profiles_dir : cs_profile_dir();
	char sub[512];
	cs_profile p;
	int r;

	if (o->npuks > CS_RUN_MAX_PUKS) {
		snprintf(why, whylen, _("%zu PUKs: one run takes at most %d, one "
		    "per card profile"), o->npuks, CS_RUN_MAX_PUKS);
		return CS_ERR_USAGE;
	}
	for (size_t i = 0; i < o->npuks; i++) {
		const char *name = o->puks[i].profile;

		for (size_t k = 0; k < i; k++)
			if (strcmp(o->puks[k].profile, name) == 0) {
				snprintf(why, whylen, _("two PUKs for card profile %s"),
				    name);
				return CS_ERR_USAGE;
			}
		if ((r = cs_profile_find(dir, name, &p, sub, sizeof(sub))) !=
		    CS_OK || (r = cs_profile_check_puk(&p,
		    cs_secret_str(o->puks[i].puk), sub, sizeof(sub))) != CS_OK) {
			snprintf(why, whylen, _("the PUK for card profile %s: %s"),
			    name, sub);
			return r;
		}
	}
	return CS_OK;
}

int cs_run_start(const cs_run_opts *o, const cs_run_ui *ui, cs_run **out,
    char *why, size_t whylen)
{
	char self[PATH_MAX];
	cs_run *r;
	cs_jresume res;
	int rc;

	*out = NULL;
	if (o->nreaders == 0 || o->nreaders > CS_RUN_MAX_READERS) {
		snprintf(why, whylen, o->nreaders == 0 ? "no reader to work with" :
		    "%zu readers: one run serves at most %d; start another station "
		    "process for the others", o->nreaders, CS_RUN_MAX_READERS);
		return CS_ERR_USAGE;
	}
	if ((rc = check_puks(o, why, whylen)) != CS_OK)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->w = calloc(o->nreaders, sizeof(*r->w))) == NULL) {
		free(r);
		return CS_ERR_NOMEM;
	}
	r->o = *o;
	r->ui = *ui;
	r->n = o->nreaders;
	if ((rc = cs_journal_open(&r->j, cs_journal_path(o->journal), 0, why,
	    whylen)) != CS_OK)
		goto fail;
	cs_journal_set_actor(r->j, o->operator_name, NULL);
	cs_journal_on_notice(r->j, run_notice, r);
	/* Nothing is written on a journal edited behind the station's back:
	 * a record edited back to 'queued' would be written on a second card. */
	if ((rc = cs_journal_trust(r->j, why, whylen)) != CS_OK)
		goto fail;
	/* Whatever a station that is gone left half done goes back to the
	 * queue, tied to its card, before any worker claims anything; what a
	 * live station on the same run holds stays its own. */
	if ((rc = cs_journal_resume(r->j, o->run_id, &res, why, whylen)) != CS_OK)
		goto fail;
	if (res.interrupted > 0 || res.released > 0) {
		char text[320], params[128], n1[24], n2[24];
		cs_run_event ev = {.kind = CS_EV_READER, .state = "resumed",
		    .code = "run.resumed", .params = params};

		snprintf(n1, sizeof(n1), "%" PRId64, res.interrupted);
		snprintf(n2, sizeof(n2), "%" PRId64, res.released);
		cs_params_pack(params, sizeof(params), "interrupted", n1,
		    "released", n2, NULL);
		ev.text = cs_code_text(ev.code, params, text, sizeof(text));
		emit(r, &ev, -1);
	}
	if (res.held > 0) {
		char text[320], params[64], n1[24];
		cs_run_event ev = {.kind = CS_EV_READER, .state = "joined",
		    .code = "run.joined", .params = params};

		snprintf(n1, sizeof(n1), "%" PRId64, res.held);
		cs_params_pack(params, sizeof(params), "held", n1, NULL);
		ev.text = cs_code_text(ev.code, params, text, sizeof(text));
		emit(r, &ev, -1);
	}
	for (size_t i = 0; i < r->n; i++) {
		r->w[i].reader = o->readers[i];
		if ((rc = cs_secret_new(&r->w[i].buf, CS_WIRE_MAX)) != CS_OK) {
			snprintf(why, whylen, _("cannot lock memory"));
			goto fail;
		}
	}
	if (realpath("/proc/self/exe", self) == NULL) {
		snprintf(why, whylen, _("cannot find this program to start its "
		    "workers: %s"), strerror(errno));
		rc = CS_ERR_IO;
		goto fail;
	}
	for (size_t i = 0; i < r->n; i++)
		if ((rc = spawn(r, i, self, why, whylen)) != CS_OK)
			goto fail;
	count(r, 0);
	*out = r;
	return CS_OK;
fail:
	cs_run_free(r);
	return rc;
}

/* Deliver every complete line in w's buffer. */
static void drain(cs_run *r, size_t i)
{
	struct worker *w = &r->w[i];
	char *nl;

	while ((nl = memchr(w->buf->buf, '\n', w->buf->len)) != NULL) {
		size_t len = (size_t)(nl - (char *)w->buf->buf) + 1;
		cs_run_event ev;

		*nl = '\0';
		if (cs_wire_parse((char *)w->buf->buf, &ev) == CS_OK) {
			emit(r, &ev, (int)i);
			if (ev.kind == CS_EV_DONE || ev.kind == CS_EV_FAILED)
				count(r, 0);
		}
		OPENSSL_cleanse(w->buf->buf, len);
		memmove(w->buf->buf, w->buf->buf + len, w->buf->len - len);
		w->buf->len -= len;
	}
}

static int all_done(cs_run *r)
{
	const cs_jprogress *p = &r->last;

	if (!r->fresh)
		return 0;
	r->fresh = 0;
	/* Only half-written cards left: an unattended run would wait for
	 * ever without a word. Say once what it waits for. */
	if (p->claimed == 0 && p->queued > 0 && p->queued == p->waiting &&
	    !r->said_waiting) {
		char text[320], params[64], n1[24];
		cs_run_event ev = {.kind = CS_EV_READER, .state = "waiting",
		    .code = "run.wait-partial", .params = params};

		snprintf(n1, sizeof(n1), "%" PRId64, p->waiting);
		cs_params_pack(params, sizeof(params), "count", n1, NULL);
		ev.text = cs_code_text(ev.code, params, text, sizeof(text));
		emit(r, &ev, -1);
		r->said_waiting = 1;
	}
	return p->queued == 0 && p->claimed == 0;
}

int cs_run_poll(cs_run *r, int timeout_ms)
{
	struct pollfd pfd[CS_RUN_MAX_READERS];
	size_t alive = 0;

	if (r->ended)
		return 0;
	if (r->stop && !r->stopping) {
		r->stopping = 1;
		for (size_t i = 0; i < r->n; i++)
			tell(&r->w[i], "Q\n");
	}
	for (size_t i = 0; i < r->n; i++) {
		pfd[i].fd = r->w[i].alive ? r->w[i].ev_fd : -1;
		pfd[i].events = POLLIN;
		alive += r->w[i].alive;
	}
	if (alive == 0) {
		cs_run_event ev = {.kind = CS_EV_END};

		char text[160];

		tell_waiting(r);
		ev.code = r->stopping ? "run.stopped" : "run.readers-stopped";
		ev.text = cs_code_text(ev.code, NULL, text, sizeof(text));
		count(r, 0);
		emit(r, &ev, -1);
		r->ended = 1;
		return 0;
	}
	if (poll(pfd, r->n, timeout_ms) < 0)
		return errno == EINTR ? 1 : CS_ERR_IO;
	for (size_t i = 0; i < r->n; i++) {
		struct worker *w = &r->w[i];
		ssize_t got;

		if (!(pfd[i].revents & (POLLIN | POLLHUP)))
			continue;
		got = read(w->ev_fd, w->buf->buf + w->buf->len,
		    w->buf->cap - w->buf->len);
		if (got > 0) {
			w->buf->len += (size_t)got;
			drain(r, i);
			if (w->buf->len == w->buf->cap)
				w->buf->len = 0; /* a line too long: drop it */
		} else if (got == 0) {
			w->alive = 0;
			close(w->ev_fd);
		}
	}
	if (r->o.until_done && !r->stopping &&
	    now_ms() - r->counted_ms >= RECOUNT_MS)
		count(r, 1);
	if (r->o.until_done && !r->stopping && all_done(r))
		r->stop = 1;
	return 1;
}

int cs_run_answer(cs_run *r, int reader_index, const char *printed_no)
{
	char line[256];

	if (reader_index < 0 || (size_t)reader_index >= r->n)
		return CS_ERR_USAGE;
	if (printed_no == NULL)
		snprintf(line, sizeof(line), "S\n");
	else
		snprintf(line, sizeof(line), "C\t%.200s\n", printed_no);
	tell(&r->w[reader_index], line);
	return CS_OK;
}

void cs_run_stop(cs_run *r)
{
	r->stop = 1;
}

void cs_run_free(cs_run *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct worker *w = &r->w[i];

		if (w->child.pid > 0) {
			if (w->alive) {
				tell(w, "Q\n");
				close(w->ev_fd);
			}
			close(w->ctl_fd);
			cs_child_wait(&w->child, NULL);
		}
		cs_secret_free(w->buf);
	}
	cs_journal_close(r->j);
	free(r->w);
	free(r);
}
