/* ks_run.c - the encoding run as the page sees it.
 *
 * One run at a time. POST /api/run/start calls cs_run_start and a thread
 * of ours calls cs_run_poll until the run ends; each engine event updates
 * the view (per reader: state, holder, step n of m, the reason of a
 * failure) and the whole view is pushed to the page as a "state" event, so
 * a page that reconnects only needs GET /api/state.
 *
 * PIN letters: the engine hands a random initial PIN over once, during its
 * CS_EV_PIN_LETTER callback. We copy it into locked memory as the letter's
 * JSON and tell the pages only how many letters wait. A letter belongs to
 * the session that started the run and to its account: only that session
 * sees the letter's id (GET /api/state) and may fetch it with POST
 * /api/letter, and the buffer is wiped as soon as the response has been
 * sent: one print, never stored, never logged, never in an event. A
 * letter not fetched in KS_LETTER_TTL_MS is wiped too (the holder then
 * needs a PIN reset at the service desk). */
#include "ks.h"

#include "cs_err.h"
#include "cs_journal.h"
#include "cs_codes.h"
#include "cs_json.h"
#include "cs_p12.h"
#include "cs_profile.h"
#include "cs_reader.h"
#ifdef KS_HAVE_RUN
#include "cs_run.h"
#endif

#include <ctype.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define KS_LETTER_TTL_MS (15 * 60 * 1000)
#define KS_MAX_FAILURES 64
#define KS_MAX_WAITS 64

/* A text's code and parameters (cs_codes.h), beside the text in the
 * kiosk's locale: the page renders the code in the session's language. */
typedef struct ks_msg {
	char code[48], advice[48];
	char params[512], detail[512];
} ks_msg;

typedef struct ks_rview {
	char name[256], state[16], chip[64], printed[64], profile[32];
	char holder[256], mail[256], staff_no[64], cert_serial[CS_SERIAL_SIZE];
	int step, steps, confirm;
	char text[512];
	char outcome[12];         /* the last card's end: "done", "failed"
	                             (a holder's card), "refused" (a card
	                             turned away before it got a holder) or
	                             "skipped" (the operator's このカードを使わない) */
	ks_msg msg;               /* text's code */
	char reason[512];         /* why it failed, kept while it is pulled */
	ks_msg reason_msg;        /* reason's code */
	char notice[16];          /* refused: the card's journal state (lost,
	                             returned, issued, retired...), "" unknown */
	int skipped;              /* the operator refused the card waiting
	                             for its number: its end is no failure */
} ks_rview;

typedef struct ks_failure {
	char holder[256], cert_serial[CS_SERIAL_SIZE], reader[256], text[512];
	ks_msg msg;
} ks_failure;

typedef struct ks_letter {
	char id[33];
	char holder[256], printed[64];
	cs_secret *json;          /* the whole letter, PIN included */
	int64_t born;
	uint64_t owner;           /* the session that started the run */
	char account[KS_ACCOUNT_MAX]; /* and its account */
} ks_letter;

struct ks_runctl {
	ks_server *srv;
	pthread_mutex_t lock;
	int active, ended, stop_asked, cancel_asked;
	int64_t run_id;
	char run_operator[KS_ACCOUNT_MAX]; /* the account that started it */
	uint64_t run_owner;       /* its session: the letters' owner */
	char end_text[1024];
	ks_msg end_msg;
#ifdef KS_HAVE_RUN
	cs_run *run;
	cs_secret *pin, *puk;
	/* one PUK per card profile (puk.NAME fields): o->puks */
	cs_run_puk puks[CS_RUN_MAX_PUKS];
	char puk_profile[CS_RUN_MAX_PUKS][64];
	size_t npuks;
	const char *names[KS_MAX_READERS];
	cs_run_opts opts;
	pthread_cond_t started;     /* cs_run_start has answered */
	int start_done, start_rc;
	char start_why[1024];
#endif
	pthread_t thr;
	int joinable;
	size_t nreaders;
	ks_rview rd[KS_MAX_READERS];
	cs_jprogress progress;
	int done, failed;
	ks_failure fail[KS_MAX_FAILURES];
	size_t nfail;
	/* At the run's end, who waits for which card (CS_EV_WAITING): the
	 * code and params, the page's summary tells them. */
	ks_msg waits[KS_MAX_WAITS];
	size_t nwaits;
	/* The journal's server (CS_EV_JOURNAL): which connections wait for
	 * it (bit 0 the run's own, bit 1 + i reader i's worker), how often
	 * the run lost it, the last word of it. */
	uint64_t journal_lost;
	int journal_outages;
	ks_msg journal_msg;
	/* Each view written (an event's or a GET's) is numbered, under the
	 * lock: a page keeps the newest, as a GET's answer can arrive after
	 * a later event's view. Never reset. */
	uint64_t seq;
	ks_letter letters[KS_MAX_LETTERS];
};

int ks_run_new(ks_runctl **out, ks_server *srv)
{
	ks_runctl *rc;

	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return CS_ERR_NOMEM;
	rc->srv = srv;
	pthread_mutex_init(&rc->lock, NULL);
#ifdef KS_HAVE_RUN
	pthread_cond_init(&rc->started, NULL);
#endif
	*out = rc;
	return CS_OK;
}

static void letter_clear(ks_letter *l)
{
	cs_secret_free(l->json);
	memset(l, 0, sizeof(*l));
}

void ks_run_free(ks_runctl *rc)
{
	if (rc == NULL)
		return;
#ifdef KS_HAVE_RUN
	pthread_mutex_lock(&rc->lock);
	if (rc->run != NULL)
		cs_run_stop(rc->run);
	pthread_mutex_unlock(&rc->lock);
#endif
	if (rc->joinable)
		pthread_join(rc->thr, NULL);
	for (size_t i = 0; i < KS_MAX_LETTERS; i++)
		letter_clear(&rc->letters[i]);
#ifdef KS_HAVE_RUN
	pthread_cond_destroy(&rc->started);
#endif
	pthread_mutex_destroy(&rc->lock);
	free(rc);
}

/* --- the view as JSON (under the lock) ------------------------------ */

static void json_int(FILE *f, const char *key, int64_t v)
{
	fprintf(f, ",\"%s\":%" PRId64, key, v);
}

static const char *nz(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

static int letter_for(const ks_letter *l, const ks_session *se)
{
	return se != NULL && se->serial == l->owner && se->account[0] != '\0' &&
	    strcmp(se->account, l->account) == 0;
}

/* "<prefix>code", "<prefix>params" (an object), "<prefix>advice",
 * "<prefix>detail"; null or {} when the text has none. */
static void msg_json(FILE *f, const char *prefix, const ks_msg *m)
{
	char key[32];

	snprintf(key, sizeof(key), "%scode", prefix);
	cs_json_kv(f, 0, key, m->code[0] ? m->code : NULL);
	fprintf(f, ",\"%sparams\":", prefix);
	cs_params_json_object(f, m->params);
	snprintf(key, sizeof(key), "%sadvice", prefix);
	cs_json_kv(f, 0, key, m->advice[0] ? m->advice : NULL);
	snprintf(key, sizeof(key), "%sdetail", prefix);
	cs_json_kv(f, 0, key, m->detail[0] ? m->detail : NULL);
}

/* The view for one session (its own letters with their ids), or for
 * every page (se NULL: an event; only how many letters wait). */
static void write_view(ks_runctl *rc, FILE *f, const ks_session *se)
{
	int64_t now = ks_now_ms();
	int first = 1, waiting = 0;

	fprintf(f, "{\"seq\":%" PRIu64 ",\"active\":%s,\"ended\":%s", ++rc->seq,
	    rc->active ? "true" : "false", rc->ended ? "true" : "false");
	json_int(f, "run_id", rc->run_id);
	cs_json_kv(f, 0, "end_text", nz(rc->end_text));
	msg_json(f, "end_", &rc->end_msg);
	fprintf(f, ",\"stopping\":%s", rc->stop_asked ? "true" : "false");
	fprintf(f, ",\"progress\":{\"total\":%" PRId64 ",\"refused\":%" PRId64
	    ",\"queued\":%" PRId64 ",\"claimed\":%" PRId64 ",\"done\":%" PRId64
	    ",\"revoked\":%" PRId64 "}", rc->progress.total, rc->progress.refused,
	    rc->progress.queued, rc->progress.claimed, rc->progress.done,
	    rc->progress.revoked);
	fprintf(f, ",\"session\":{\"done\":%d,\"failed\":%d}", rc->done,
	    rc->failed);
	fprintf(f, ",\"readers\":[");
	for (size_t i = 0; i < rc->nreaders; i++) {
		ks_rview *v = &rc->rd[i];

		fprintf(f, "%s{\"index\":%zu", i ? "," : "", i);
		cs_json_kv(f, 0, "name", v->name);
		cs_json_kv(f, 0, "state", nz(v->state));
		cs_json_kv(f, 0, "chip_serial", nz(v->chip));
		cs_json_kv(f, 0, "printed_no", nz(v->printed));
		cs_json_kv(f, 0, "profile", nz(v->profile));
		cs_json_kv(f, 0, "holder", nz(v->holder));
		cs_json_kv(f, 0, "mail", nz(v->mail));
		cs_json_kv(f, 0, "staff_no", nz(v->staff_no));
		cs_json_kv(f, 0, "cert_serial", nz(v->cert_serial));
		cs_json_kv(f, 0, "text", nz(v->text));
		msg_json(f, "", &v->msg);
		cs_json_kv(f, 0, "outcome", nz(v->outcome));
		cs_json_kv(f, 0, "reason", nz(v->reason));
		msg_json(f, "reason_", &v->reason_msg);
		cs_json_kv(f, 0, "notice", nz(v->notice));
		fprintf(f, ",\"step\":%d,\"steps\":%d,\"confirm\":%s}", v->step,
		    v->steps, v->confirm ? "true" : "false");
	}
	fprintf(f, "],\"failures\":[");
	for (size_t i = 0; i < rc->nfail; i++) {
		fprintf(f, "%s{", i ? "," : "");
		cs_json_kv(f, 1, "holder", nz(rc->fail[i].holder));
		cs_json_kv(f, 0, "cert_serial", nz(rc->fail[i].cert_serial));
		cs_json_kv(f, 0, "reader", rc->fail[i].reader);
		cs_json_kv(f, 0, "text", rc->fail[i].text);
		msg_json(f, "", &rc->fail[i].msg);
		fputc('}', f);
	}
	fprintf(f, "],\"journal\":{\"lost\":%s,\"outages\":%d",
	    rc->journal_lost ? "true" : "false", rc->journal_outages);
	msg_json(f, "", &rc->journal_msg);
	fprintf(f, "},\"waiting\":[");
	for (size_t i = 0; i < rc->nwaits; i++) {
		fprintf(f, "%s{\"index\":%zu", i ? "," : "", i);
		msg_json(f, "", &rc->waits[i]);
		fputc('}', f);
	}
	fprintf(f, "],\"letters\":[");
	for (size_t i = 0; i < KS_MAX_LETTERS; i++) {
		ks_letter *l = &rc->letters[i];

		if (l->json != NULL && now - l->born > KS_LETTER_TTL_MS)
			letter_clear(l);
		if (l->json == NULL)
			continue;
		waiting++;
		if (!letter_for(l, se))
			continue;
		fprintf(f, "%s{", first ? "" : ",");
		cs_json_kv(f, 1, "id", l->id);
		cs_json_kv(f, 0, "holder", l->holder);
		cs_json_kv(f, 0, "printed_no", nz(l->printed));
		fputc('}', f);
		first = 0;
	}
	fprintf(f, "],\"letters_waiting\":%d}", waiting);
}

/* The view as JSON text; NULL when out of memory. Takes the lock. */
static char *view_json(ks_runctl *rc, const ks_session *se, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (f == NULL)
		return NULL;
	pthread_mutex_lock(&rc->lock);
	write_view(rc, f, se);
	pthread_mutex_unlock(&rc->lock);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	if (len != NULL)
		*len = n;
	return buf;
}

static void push(ks_runctl *rc)
{
	char *j = view_json(rc, NULL, NULL);

	if (j != NULL)
		ks_hub_publish(ks_srv_hub(rc->srv), "state", j);
	free(j);
}

enum MHD_Result ks_api_run_state(ks_req *rq)
{
	size_t len;
	char *j = view_json(ks_srv_run(rq->srv), &rq->sess, &len);

	if (j == NULL)
		return MHD_NO;
	return ks_reply_take(rq, 200, "application/json", j, len, NULL);
}

/* --- readers -------------------------------------------------------- */

/* Fill names (malloc'd) with the configured readers, or every reader. */
int ks_pick_readers(const ks_config *cfg, char **names, size_t *n,
    char *why, size_t whylen)
{
	SCARDCONTEXT ctx;
	cs_reader_list l = {0};
	int r = CS_OK;

	*n = 0;
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS) {
		snprintf(why, whylen, "pcscd does not answer: is it running?");
		return CS_ERR_CARD;
	}
	if ((r = cs_reader_list_get(ctx, &l)) != CS_OK) {
		snprintf(why, whylen, "the readers cannot be listed");
		goto out;
	}
	if (cfg->nreaders == 0) {
		for (size_t i = 0; i < l.n && *n < KS_MAX_READERS; i++)
			names[(*n)++] = strdup(l.r[i].name);
	} else {
		for (size_t i = 0; i < cfg->nreaders; i++) {
			size_t idx;

			if ((r = cs_reader_select(&l, cfg->readers[i], &idx, why,
			    whylen)) != CS_OK)
				goto out;
			names[(*n)++] = strdup(l.r[idx].name);
		}
	}
	for (size_t i = 0; i < *n; i++)
		if (names[i] == NULL)
			r = CS_ERR_NOMEM;
	if (*n == 0) {
		snprintf(why, whylen, "no card reader is connected");
		r = CS_ERR_NOTFOUND;
	}
out:
	if (r != CS_OK) {
		for (size_t i = 0; i < *n; i++)
			free(names[i]);
		*n = 0;
	}
	cs_reader_list_free(&l);
	SCardReleaseContext(ctx);
	return r;
}

enum MHD_Result ks_api_readers(ks_req *rq)
{
	char *names[KS_MAX_READERS], why[512] = "";
	char *buf = NULL;
	size_t n, len = 0;
	FILE *f;

	if (ks_pick_readers(ks_cfg(rq->srv), names, &n, why, sizeof(why)) != CS_OK)
		return ks_reply_error(rq, 503, "readers", NULL);
	if ((f = open_memstream(&buf, &len)) == NULL)
		return MHD_NO;
	fputs("{\"readers\":[", f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		cs_json_str(f, names[i]);
		free(names[i]);
	}
	fputs("]}", f);
	fclose(f);
	return ks_reply_take(rq, 200, "application/json", buf, len, NULL);
}

#ifdef KS_HAVE_RUN
/* --- engine events -------------------------------------------------- */

static void cpy(char *dst, size_t len, const char *src)
{
	size_t n;

	if (src == NULL || src == dst || len == 0)
		return;
	n = strnlen(src, len - 1);
	memmove(dst, src, n); /* an event may hand back our own field */
	dst[n] = '\0';
}

static void msg_from(ks_msg *m, const cs_run_event *ev)
{
	cpy(m->code, sizeof(m->code), ev->code ? ev->code : "");
	cpy(m->params, sizeof(m->params), ev->params ? ev->params : "");
	cpy(m->advice, sizeof(m->advice), ev->advice ? ev->advice : "");
	cpy(m->detail, sizeof(m->detail), ev->detail ? ev->detail : "");
}

/* Only the characters a PIN policy allows may reach the letter's JSON. */
static int pin_chars_ok(const char *p)
{
	for (; p != NULL && *p; p++)
		if (!isalnum((unsigned char)*p))
			return 0;
	return 1;
}

static void add_letter(ks_runctl *rc, const cs_run_event *ev, ks_rview *v)
{
	ks_letter *l = NULL;
	char *pre = NULL, idraw[16];
	size_t prelen = 0, need;
	FILE *f;
	cs_secret *s = NULL;

	if (ev->pin == NULL || !pin_chars_ok(ev->pin) || !pin_chars_ok(ev->puk))
		return;
	for (size_t i = 0; i < KS_MAX_LETTERS && l == NULL; i++)
		if (rc->letters[i].json == NULL)
			l = &rc->letters[i];
	if (l == NULL || RAND_bytes((unsigned char *)idraw, sizeof(idraw)) != 1)
		return;
	for (size_t i = 0; i < sizeof(idraw); i++)
		snprintf(l->id + 2 * i, 3, "%02x", (unsigned char)idraw[i]);
	l->owner = rc->run_owner;
	cpy(l->account, sizeof(l->account), rc->run_operator);
	cpy(l->holder, sizeof(l->holder), ev->holder ? ev->holder : v->holder);
	cpy(l->printed, sizeof(l->printed), ev->printed_no ? ev->printed_no :
	    v->printed);
	/* The part without secrets is built in ordinary memory. */
	if ((f = open_memstream(&pre, &prelen)) == NULL)
		goto fail;
	fputc('{', f);
	cs_json_kv(f, 1, "holder", l->holder);
	cs_json_kv(f, 0, "printed_no", nz(l->printed));
	cs_json_kv(f, 0, "mail", nz(v->mail));
	cs_json_kv(f, 0, "staff_no", nz(v->staff_no));
	cs_json_kv(f, 0, "cert_serial", nz(v->cert_serial));
	if (fclose(f) != 0)
		goto fail;
	need = prelen + strlen(ev->pin) + (ev->puk ? strlen(ev->puk) : 0) + 32;
	if (cs_secret_new(&s, need) != CS_OK)
		goto fail;
	s->len = (size_t)snprintf((char *)s->buf, s->cap, "%s,\"pin\":\"%s\"%s%s%s}",
	    pre, ev->pin, ev->puk ? ",\"puk\":\"" : "", ev->puk ? ev->puk : "",
	    ev->puk ? "\"" : "");
	l->json = s;
	l->born = ks_now_ms();
	free(pre);
	return;
fail:
	free(pre);
	memset(l, 0, sizeof(*l));
}

/* The journal's state of a card by its chip serial ("" if unknown). */
static void card_notice(ks_runctl *rc, const char *chip, char *out,
    size_t len)
{
	const char *path = cs_journal_path(ks_cfg(rc->srv)->journal);
	cs_journal *j = NULL;
	cs_jcard c;
	char why[256];

	out[0] = '\0';
	memset(&c, 0, sizeof(c));
	if (cs_journal_open(&j, path, CS_JOURNAL_RDONLY, why, sizeof(why)) !=
	    CS_OK)
		return;
	if (cs_journal_card_find(j, CS_JKEY_CHIP, chip, &c) == CS_OK) {
		snprintf(out, len, "%s", cs_jcard_state_name(c.state));
		cs_jcard_clear(&c);
	}
	cs_journal_close(j);
}

static void on_event(void *ctx, const cs_run_event *ev)
{
	ks_runctl *rc = ctx;
	ks_rview *v = NULL;
	char hold[256] = "", notice[16] = "";

	/* A card turned away before it got a holder: what the journal says
	 * of it (read before the lock: the journal is a file). */
	if (ev->kind == CS_EV_FAILED && ev->reader_index >= 0 &&
	    (ev->holder == NULL || ev->holder[0] == '\0') &&
	    ev->chip_serial != NULL && ev->chip_serial[0] != '\0')
		card_notice(rc, ev->chip_serial, notice, sizeof(notice));
	pthread_mutex_lock(&rc->lock);
	if (ev->reader_index >= 0 && (size_t)ev->reader_index < rc->nreaders)
		v = &rc->rd[ev->reader_index];
	switch (ev->kind) {
	case CS_EV_READER:
		if (v == NULL)
			break;
		cpy(v->state, sizeof(v->state), ev->state);
		cpy(v->text, sizeof(v->text), ev->text ? ev->text : "");
		msg_from(&v->msg, ev);
		/* A failure stays on screen (a pulled card goes straight from
		 * failed to waiting) until the next card or Retry. */
		if (ev->state != NULL && strcmp(ev->state, "waiting") == 0 &&
		    strcmp(v->outcome, "failed") != 0) {
			/* A new card starts from nothing. */
			v->outcome[0] = v->reason[0] = v->notice[0] = '\0';
			memset(&v->reason_msg, 0, sizeof(v->reason_msg));
			v->chip[0] = v->printed[0] = v->profile[0] = '\0';
			v->holder[0] = v->mail[0] = v->staff_no[0] = '\0';
			v->cert_serial[0] = '\0';
			v->step = v->steps = v->confirm = 0;
		}
		break;
	case CS_EV_CARD:
		if (v == NULL)
			break;
		cpy(v->chip, sizeof(v->chip), ev->chip_serial ? ev->chip_serial : "");
		cpy(v->profile, sizeof(v->profile), ev->profile ? ev->profile : "");
		cpy(v->state, sizeof(v->state), "reading");
		v->text[0] = v->outcome[0] = v->reason[0] = v->notice[0] = '\0';
		memset(&v->msg, 0, sizeof(v->msg));
		memset(&v->reason_msg, 0, sizeof(v->reason_msg));
		v->holder[0] = v->mail[0] = v->staff_no[0] = '\0';
		v->cert_serial[0] = v->printed[0] = '\0';
		v->step = v->steps = v->skipped = 0;
		break;
	case CS_EV_HOLDER:
		if (v == NULL)
			break;
		cpy(v->holder, sizeof(v->holder), ev->holder ? ev->holder : "");
		cpy(v->mail, sizeof(v->mail), ev->mail ? ev->mail : "");
		cpy(v->staff_no, sizeof(v->staff_no), ev->staff_no ? ev->staff_no : "");
		cpy(v->cert_serial, sizeof(v->cert_serial),
		    ev->cert_serial ? ev->cert_serial : "");
		break;
	case CS_EV_CONFIRM:
		if (v == NULL)
			break;
		v->confirm = 1;
		cpy(v->state, sizeof(v->state), "confirm");
		cpy(v->text, sizeof(v->text), ev->text ? ev->text : "");
		msg_from(&v->msg, ev);
		break;
	case CS_EV_STEP:
		if (v == NULL)
			break;
		/* Step 1 is a new card: the last one's holder and end go. */
		if (ev->step == 1 && (ev->holder == NULL || ev->holder[0] == '\0')) {
			v->holder[0] = v->mail[0] = v->staff_no[0] = '\0';
			v->cert_serial[0] = v->printed[0] = v->chip[0] = '\0';
			v->outcome[0] = v->reason[0] = v->notice[0] = '\0';
			memset(&v->reason_msg, 0, sizeof(v->reason_msg));
			v->skipped = 0;
		}
		v->confirm = 0;
		v->step = ev->step;
		v->steps = ev->steps;
		cpy(v->state, sizeof(v->state), ev->state ? ev->state : "writing");
		cpy(v->text, sizeof(v->text), ev->text ? ev->text : "");
		msg_from(&v->msg, ev);
		if (ev->printed_no)
			cpy(v->printed, sizeof(v->printed), ev->printed_no);
		break;
	case CS_EV_DONE:
		if (v == NULL)
			break;
		cpy(v->state, sizeof(v->state), "done");
		cpy(v->text, sizeof(v->text), ev->text ? ev->text : "");
		msg_from(&v->msg, ev);
		if (ev->printed_no)
			cpy(v->printed, sizeof(v->printed), ev->printed_no);
		v->step = v->steps;
		cpy(v->outcome, sizeof(v->outcome), "done");
		rc->done++;
		break;
	case CS_EV_FAILED:
		if (v == NULL) {
			cpy(rc->end_text, sizeof(rc->end_text), ev->text);
			msg_from(&rc->end_msg, ev);
			break;
		}
		cpy(v->state, sizeof(v->state), "failed");
		cpy(v->text, sizeof(v->text), ev->text ? ev->text : "");
		msg_from(&v->msg, ev);
		cpy(v->reason, sizeof(v->reason), v->text);
		v->reason_msg = v->msg;
		v->confirm = 0;
		/* Not a holder's failure: the operator's このカードを使わない
		 * (the holder is back in the queue), or a card turned away
		 * before any record was claimed for it (lost, returned, already
		 * issued, unreadable): a warning on its reader, no 失敗. */
		if (v->skipped || (v->holder[0] == '\0' && (ev->holder == NULL ||
		    ev->holder[0] == '\0'))) {
			cpy(v->outcome, sizeof(v->outcome), v->skipped ? "skipped" :
			    "refused");
			cpy(v->notice, sizeof(v->notice), v->skipped ? "" : notice);
			v->skipped = 0;
			break;
		}
		cpy(v->outcome, sizeof(v->outcome), "failed");
		rc->failed++;
		if (rc->nfail < KS_MAX_FAILURES) {
			ks_failure *fl = &rc->fail[rc->nfail++];

			cpy(fl->holder, sizeof(fl->holder), v->holder);
			cpy(fl->cert_serial, sizeof(fl->cert_serial), v->cert_serial);
			cpy(fl->reader, sizeof(fl->reader), v->name);
			cpy(fl->text, sizeof(fl->text), v->text);
			fl->msg = v->msg;
		}
		break;
	case CS_EV_PIN_LETTER:
		if (v != NULL)
			add_letter(rc, ev, v);
		snprintf(hold, sizeof(hold), "%s", ev->holder ? ev->holder :
		    v != NULL ? v->holder : "");
		break;
	case CS_EV_PROGRESS:
		rc->progress = ev->progress;
		break;
	case CS_EV_WAITING:
		/* Who waits for which card at the end: the summary's list. */
		if (rc->nwaits < KS_MAX_WAITS)
			msg_from(&rc->waits[rc->nwaits++], ev);
		break;
	case CS_EV_JOURNAL: {
		/* The reader stands still because its journal waits for the
		 * server: the page says so until every connection has it back. */
		uint64_t bit = UINT64_C(1) << (ev->reader_index < 0 ? 0 :
		    (ev->reader_index + 1) % 64);

		if (ev->state != NULL && strcmp(ev->state, "back") == 0)
			rc->journal_lost &= ~bit;
		else {
			if (rc->journal_lost == 0)
				rc->journal_outages++;
			rc->journal_lost |= bit;
		}
		msg_from(&rc->journal_msg, ev);
		break;
	}
	case CS_EV_END:
		cpy(rc->end_text, sizeof(rc->end_text), ev->text ? ev->text : "");
		msg_from(&rc->end_msg, ev);
		break;
	}
	pthread_mutex_unlock(&rc->lock);
	push(rc);
}

static void finish_cancel(ks_runctl *rc)
{
	cs_journal *j = NULL;
	char why[256];

	if (cs_journal_open(&j, cs_journal_path(ks_cfg(rc->srv)->journal), 0,
	    why, sizeof(why)) != CS_OK)
		return;
	cs_journal_set_actor(j, rc->run_operator, NULL);
	cs_journal_run_set_state(j, rc->run_id, CS_JRUN_CANCELLED, why,
	    sizeof(why));
	cs_journal_close(j);
}

/* The run's own thread starts the run and polls it to its end: a
 * request's thread ends with its connection, and the run's events are
 * delivered in the thread that polls. */
static void free_secrets(ks_runctl *rc)
{
	cs_secret_free(rc->pin);
	cs_secret_free(rc->puk);
	rc->pin = rc->puk = NULL;
	for (size_t i = 0; i < rc->npuks; i++)
		cs_secret_free((cs_secret *)rc->puks[i].puk);
	rc->npuks = 0;
}

static void *run_main(void *arg)
{
	ks_runctl *rc = arg;
	cs_run_ui ui = { on_event, rc };
	cs_run *run = NULL;
	char why[1024] = "";
	int r;

	/* The last run's list of who waits goes with it. */
	pthread_mutex_lock(&rc->lock);
	rc->nwaits = 0;
	pthread_mutex_unlock(&rc->lock);
	r = cs_run_start(&rc->opts, &ui, &run, why, sizeof(why));
	pthread_mutex_lock(&rc->lock);
	rc->run = run;
	rc->start_rc = r;
	snprintf(rc->start_why, sizeof(rc->start_why), "%s", why);
	rc->start_done = 1;
	pthread_cond_broadcast(&rc->started);
	pthread_mutex_unlock(&rc->lock);
	if (r == CS_OK) {
		while ((r = cs_run_poll(run, 1000)) == 1)
			;
		pthread_mutex_lock(&rc->lock);
		rc->run = NULL;
		pthread_mutex_unlock(&rc->lock);
		cs_run_free(run);
	}
	pthread_mutex_lock(&rc->lock);
	if (r < 0 && rc->end_text[0] == '\0')
		snprintf(rc->end_text, sizeof(rc->end_text), "%s", why[0] ? why :
		    cs_strerror(r));
	rc->active = 0;
	rc->ended = rc->start_rc == CS_OK;
	for (size_t i = 0; i < rc->nreaders; i++)
		free((char *)rc->names[i]);
	if (rc->start_rc != CS_OK)
		rc->nreaders = 0;
	free_secrets(rc);
	pthread_mutex_unlock(&rc->lock);
	if (rc->start_rc != CS_OK)
		return NULL;
	if (rc->cancel_asked)
		finish_cancel(rc);
	push(rc);
	ks_hub_publish(ks_srv_hub(rc->srv), "end", "{}");
	return NULL;
}

/* The form's profile PUKs, puk.NAME, one per card profile that takes an
 * institution PUK: how many are given (*own), and whether one is missing
 * where no plain puk serves it either (*missing: its profile's name). */
static void profile_puks(ks_req *rq, const cs_profile *pp, size_t npp,
    int plain, int *own, const char **missing)
{
	char key[80];
	const char *v;

	*own = 0;
	*missing = NULL;
	for (size_t i = 0; i < npp; i++) {
		snprintf(key, sizeof(key), "puk.%s", pp[i].name);
		v = ks_form_get(rq->form, key);
		if (v != NULL && *v != '\0')
			(*own)++;
		else if (!plain && *missing == NULL)
			*missing = pp[i].name;
	}
}

static int secret_field(ks_req *rq, const char *key, cs_secret **out)
{
	const char *v = ks_form_get(rq->form, key);

	*out = NULL;
	if (v == NULL || *v == '\0')
		return CS_OK;
	return cs_secret_from(out, v, strlen(v));
}

enum MHD_Result ks_api_run_start(ks_req *rq)
{
	ks_runctl *rc = ks_srv_run(rq->srv);
	const ks_config *cfg = ks_cfg(rq->srv);
	const char *id = ks_form_get(rq->form, "run_id");
	char *names[KS_MAX_READERS], why[1024] = "", *end;
	size_t n = 0;
	cs_run_opts *o;
	cs_secret *pin = NULL, *puk = NULL, *ppuk[CS_RUN_MAX_PUKS] = {NULL};
	cs_profile *pp = NULL;
	size_t npp = 0, nown = 0;
	const char *plain = ks_form_get(rq->form, "puk"), *missing;
	long long run_id;
	int r, own;

	if (id == NULL || (run_id = strtoll(id, &end, 10)) <= 0 || *end != '\0')
		return ks_reply_error(rq, 400, "bad-run", NULL);
	if (plain != NULL && *plain == '\0')
		plain = NULL;
	/* Which profiles take one institution PUK each: a run mixing card
	 * families gets one per profile (puk.NAME), as the command line's
	 * --puk PROFILE=...; puk serves every profile without its own. */
	if (ks_puk_profiles(cfg, &pp, &npp) != CS_OK)
		npp = 0;
	if (npp > CS_RUN_MAX_PUKS)
		npp = CS_RUN_MAX_PUKS;
	profile_puks(rq, pp, npp, plain != NULL, &own, &missing);
	/* The institution PUK goes on every card of the run: the
	 * administrator's to set. */
	if ((plain != NULL || own > 0) && !(rq->sess.roles & KS_ROLE_ADMIN)) {
		free(pp);
		return ks_reply_error(rq, 403, "role", NULL);
	}
	/* The profile wants one institution PUK on every card: an operator
	 * who may type it must (each card would get a random PUK nobody at
	 * the desk knows). */
	if ((rq->sess.roles & KS_ROLE_ADMIN) && missing != NULL) {
		enum MHD_Result ret = ks_reply_error(rq, 400, "puk-needed",
		    missing); /* the profile's name as the detail */

		free(pp);
		return ret;
	}
	if (secret_field(rq, "pin", &pin) != CS_OK ||
	    secret_field(rq, "puk", &puk) != CS_OK) {
		cs_secret_free(pin);
		free(pp);
		return MHD_NO;
	}
	for (size_t i = 0; i < npp; i++) {
		char key[80];

		snprintf(key, sizeof(key), "puk.%s", pp[i].name);
		if (secret_field(rq, key, &ppuk[nown]) != CS_OK) {
			for (size_t k = 0; k < nown; k++)
				cs_secret_free(ppuk[k]);
			cs_secret_free(pin);
			cs_secret_free(puk);
			free(pp);
			return MHD_NO;
		}
		if (ppuk[nown] != NULL)
			nown++;
	}
	if (ks_pick_readers(cfg, names, &n, why, sizeof(why)) != CS_OK) {
		for (size_t k = 0; k < nown; k++)
			cs_secret_free(ppuk[k]);
		cs_secret_free(pin);
		cs_secret_free(puk);
		free(pp);
		return ks_reply_error(rq, 503, "readers", NULL);
	}
	pthread_mutex_lock(&rc->lock);
	if (rc->active) {
		pthread_mutex_unlock(&rc->lock);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		for (size_t k = 0; k < nown; k++)
			cs_secret_free(ppuk[k]);
		cs_secret_free(pin);
		cs_secret_free(puk);
		free(pp);
		return ks_reply_error(rq, 409, "busy", NULL);
	}
	if (rc->joinable) {
		pthread_join(rc->thr, NULL);
		rc->joinable = 0;
	}
	memset(rc->rd, 0, sizeof(rc->rd));
	memset(&rc->progress, 0, sizeof(rc->progress));
	rc->nfail = 0;
	rc->done = rc->failed = rc->ended = rc->stop_asked = rc->cancel_asked = 0;
	rc->end_text[0] = '\0';
	memset(&rc->end_msg, 0, sizeof(rc->end_msg));
	rc->journal_lost = 0;
	rc->journal_outages = 0;
	memset(&rc->journal_msg, 0, sizeof(rc->journal_msg));
	rc->nreaders = n;
	for (size_t i = 0; i < n; i++) {
		rc->names[i] = names[i];
		snprintf(rc->rd[i].name, sizeof(rc->rd[i].name), "%s", names[i]);
		snprintf(rc->rd[i].state, sizeof(rc->rd[i].state), "waiting");
	}
	rc->run_id = run_id;
	snprintf(rc->run_operator, sizeof(rc->run_operator), "%s",
	    rq->sess.account);
	rc->run_owner = rq->sess.serial;
	rc->pin = pin;
	rc->puk = puk;
	/* The profile PUKs, in the order of the profiles' fields. */
	rc->npuks = 0;
	for (size_t i = 0, k = 0; i < npp && k < nown; i++) {
		char key[80];
		const char *v;

		snprintf(key, sizeof(key), "puk.%s", pp[i].name);
		if ((v = ks_form_get(rq->form, key)) == NULL || *v == '\0')
			continue;
		snprintf(rc->puk_profile[k], sizeof(rc->puk_profile[k]), "%s",
		    pp[i].name);
		rc->puks[k].profile = rc->puk_profile[k];
		rc->puks[k].puk = ppuk[k];
		k++;
		rc->npuks = k;
	}
	free(pp);
	memset(&rc->opts, 0, sizeof(rc->opts));
	o = &rc->opts;
	o->journal = cfg->journal;
	o->run_id = run_id;
	o->readers = rc->names;
	o->nreaders = n;
	o->operator_name = rc->run_operator;
	o->profile = cfg->profile;
	o->profiles_dir = cfg->profiles_dir;
	o->pin = pin;
	o->puk = puk;
	o->puks = rc->puks;
	o->npuks = rc->npuks;
	o->confirm_printed = !cfg->no_confirm;
	o->until_done = 1;
	rc->active = 1;
	rc->start_done = 0;
	if (pthread_create(&rc->thr, NULL, run_main, rc) != 0) {
		rc->active = 0;
		for (size_t i = 0; i < n; i++)
			free((char *)rc->names[i]);
		rc->nreaders = 0;
		free_secrets(rc);
		pthread_mutex_unlock(&rc->lock);
		return ks_reply_error(rq, 503, "start", NULL);
	}
	rc->joinable = 1;
	while (!rc->start_done)
		pthread_cond_wait(&rc->started, &rc->lock);
	r = rc->start_rc;
	snprintf(why, sizeof(why), "%s", rc->start_why);
	pthread_mutex_unlock(&rc->lock);
	push(rc);
	if (r != CS_OK)
		return ks_reply_error(rq, 409, "start", why);
	return ks_api_run_state(rq);
}

static int reader_arg(ks_req *rq, ks_runctl *rc, size_t *i)
{
	const char *s = ks_form_get(rq->form, "reader");
	char *end;
	long v;

	if (s == NULL)
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || (size_t)v >= rc->nreaders)
		return -1;
	*i = (size_t)v;
	return 0;
}

enum MHD_Result ks_api_run_answer(ks_req *rq)
{
	ks_runctl *rc = ks_srv_run(rq->srv);
	const char *printed = ks_form_get(rq->form, "printed");
	const char *refuse = ks_form_get(rq->form, "refuse");
	size_t i;
	int r = CS_ERR_STATE;

	if (refuse == NULL && (printed == NULL || *printed == '\0' ||
	    strlen(printed) >= 64))
		return ks_reply_error(rq, 400, "bad-number", NULL);
	pthread_mutex_lock(&rc->lock);
	if (reader_arg(rq, rc, &i) == 0 && rc->run != NULL && rc->rd[i].confirm) {
		r = cs_run_answer(rc->run, (int)i, refuse ? NULL : printed);
		if (r == CS_OK) {
			rc->rd[i].confirm = 0;
			rc->rd[i].skipped = refuse != NULL;
			if (refuse == NULL)
				snprintf(rc->rd[i].printed, sizeof(rc->rd[i].printed),
				    "%s", printed);
		}
	}
	pthread_mutex_unlock(&rc->lock);
	if (r != CS_OK)
		return ks_reply_error(rq, 409, "no-question", NULL);
	push(rc);
	return ks_reply(rq, 200, "application/json", "{}", 2);
}

/* pause: every worker stops after its card, the run stays open and can be
 * started again; cancel: the same, then the run is closed as cancelled;
 * skip: the card waiting for its number is refused and left untouched;
 * retry: a failed card's reason is cleared from its panel (the engine
 * already put the record back, tied to that card: the card is wiped and
 * redone when it is inserted again). */
enum MHD_Result ks_api_run_control(ks_req *rq)
{
	ks_runctl *rc = ks_srv_run(rq->srv);
	const char *act = ks_form_get(rq->form, "action");
	size_t i;
	int r = CS_ERR_STATE;

	if (act == NULL)
		return ks_reply_error(rq, 400, "bad-action", NULL);
	pthread_mutex_lock(&rc->lock);
	if (strcmp(act, "pause") == 0 || strcmp(act, "cancel") == 0) {
		if (rc->run != NULL) {
			rc->stop_asked = 1;
			rc->cancel_asked |= act[0] == 'c';
			cs_run_stop(rc->run);
			r = CS_OK;
		}
	} else if (strcmp(act, "skip") == 0) {
		if (reader_arg(rq, rc, &i) == 0 && rc->run != NULL &&
		    rc->rd[i].confirm) {
			r = cs_run_answer(rc->run, (int)i, NULL);
			rc->rd[i].confirm = 0;
			rc->rd[i].skipped = r == CS_OK;
		}
	} else if (strcmp(act, "retry") == 0) {
		if (reader_arg(rq, rc, &i) == 0 &&
		    strcmp(rc->rd[i].outcome, "failed") == 0) {
			rc->rd[i].outcome[0] = '\0';
			r = CS_OK;
		}
	} else {
		pthread_mutex_unlock(&rc->lock);
		return ks_reply_error(rq, 400, "bad-action", NULL);
	}
	pthread_mutex_unlock(&rc->lock);
	if (r != CS_OK)
		return ks_reply_error(rq, 409, "state", NULL);
	push(rc);
	return ks_reply(rq, 200, "application/json", "{}", 2);
}

#else /* !KS_HAVE_RUN */

enum MHD_Result ks_api_run_start(ks_req *rq)
{
	return ks_reply_error(rq, 503, "no-engine", NULL);
}

enum MHD_Result ks_api_run_answer(ks_req *rq)
{
	return ks_api_run_start(rq);
}

enum MHD_Result ks_api_run_control(ks_req *rq)
{
	return ks_api_run_start(rq);
}

#endif

/* The letter once, to its own session: the buffer leaves the list and is
 * wiped when sent. Another session's request leaves it where it is. */
enum MHD_Result ks_api_letter(ks_req *rq)
{
	ks_runctl *rc = ks_srv_run(rq->srv);
	const char *id = ks_form_get(rq->form, "id");
	cs_secret *s = NULL;
	int foreign = 0;

	pthread_mutex_lock(&rc->lock);
	for (size_t i = 0; id != NULL && i < KS_MAX_LETTERS; i++) {
		ks_letter *l = &rc->letters[i];

		if (l->json != NULL && strcmp(l->id, id) == 0) {
			if (!letter_for(l, &rq->sess)) {
				foreign = 1;
				break;
			}
			if (ks_now_ms() - l->born <= KS_LETTER_TTL_MS) {
				s = l->json;
				l->json = NULL;
			}
			letter_clear(l);
			break;
		}
	}
	pthread_mutex_unlock(&rc->lock);
	if (foreign)
		return ks_reply_error(rq, 403, "not-yours", NULL);
	push(rc);
	if (s == NULL)
		return ks_reply_error(rq, 410, "gone", NULL);
	return ks_reply_secret(rq, s);
}

int ks_run_active(ks_runctl *rc)
{
	int a;

	pthread_mutex_lock(&rc->lock);
	a = rc->active;
	pthread_mutex_unlock(&rc->lock);
	return a;
}
