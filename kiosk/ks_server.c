/* ks_server.c - the kiosk's web server: who may talk to it and how.
 *
 * The page is the operator's only interface, and a browser on the same
 * machine also visits other sites, while any local program can connect
 * to a loopback port. So the server trusts nothing it did not hand out
 * itself:
 *   - it listens on a loopback address or a Unix socket, never on a
 *     network (the listening socket is bound here, not by libmicrohttpd,
 *     so the address is checked before anything is served);
 *   - the gate (ks_gate.c) lets only connections that show this start's
 *     key (ks_auth.c) reach the operator's daemon; every other connection
 *     gets the page's files from a small daemon that refuses the API, so
 *     it takes no session, no operator thread, no connection slot;
 *   - the Host header must name that address (DNS rebinding);
 *   - every POST carries the session's CSRF token in X-CSRF-Token, and an
 *     Origin, if sent, must be ours;
 *   - the operator logs in with a machine account (PAM); each API route
 *     names the roles that may use it, checked here, not on the page;
 *   - every response carries a strict Content-Security-Policy (scripts and
 *     styles only from our own files, nothing inline), no caching, no
 *     framing;
 *   - an operator idle for cfg->idle_s is logged out (the housekeeper
 *     thread), and the page is told so over the event stream. */
#include "ks.h"

#include "cs_codes.h"
#include "cs_err.h"
#include "cs_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define KS_FILE_MAX (4 * 1024 * 1024)
/* The operator's daemon: one browser (Chromium opens 6 connections to a
 * host) and its event stream, with room for a second page. */
#define KS_OP_CONNS 32
#define KS_OP_TIMEOUT_S 60
/* The page-file daemon: one thread, short answers, then the connection
 * is closed. */
#define KS_PUB_CONNS 64
#define KS_PUB_TIMEOUT_S 3
/* The kernel's queue of connections not yet accepted. When it overflows
 * under a flood, the operator's connection attempt is dropped and retried
 * a second later (TCP's first retransmission): a long queue (the kernel
 * caps it at net.core.somaxconn) keeps the gate the one that decides. */
#define KS_BACKLOG 4096


struct ks_server {
	ks_config cfg;
	struct MHD_Daemon *d;       /* the operator's: requests with the key */
	struct MHD_Daemon *pub;     /* everyone else: page files, refusals */
	ks_door door_op, door_pub;
	ks_gate *gate;
	char key[KS_KEY_HEX + 1];
	int lfd;
	char unix_path[108];
	char url[160];
	char hosts[4][80];          /* Host header values we answer to */
	size_t nhosts;
	pthread_mutex_t lock;
	ks_session sess[KS_MAX_SESSIONS];
	uint64_t next_serial;
	pthread_mutex_t auth_lock;  /* one PAM conversation at a time */
	ks_hub *hub;
	ks_app app;                 /* routes and the run part (ks_app.c) */
	ks_runctl *run;
	ks_guard *guard;
	pthread_t keeper;
	pthread_cond_t stopc;
	int stopping, keeper_started;
};

/* Per request: the POST body as it arrives. */
typedef struct ks_reqctx {
	ks_form *form;
	int too_big;
	int answered;               /* refused before the body */
} ks_reqctx;

const ks_config *ks_cfg(const ks_server *s) { return &s->cfg; }
ks_hub *ks_srv_hub(ks_server *s) { return s->hub; }
ks_runctl *ks_srv_run(ks_server *s) { return s->run; }
ks_guard *ks_srv_guard(ks_server *s) { return s->guard; }
const char *ks_server_key(const ks_server *s) { return s->key; }
const char *ks_server_url(const ks_server *s) { return s->url; }

int64_t ks_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- replies -------------------------------------------------------- */

static void add_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy",
	    "default-src 'none'; script-src 'self'; style-src 'self'; "
	    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
	    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(resp, "Permissions-Policy",
	    "camera=(), microphone=(), geolocation=(), usb=(), serial=()");
}

static enum MHD_Result queue(ks_req *rq, unsigned status,
    struct MHD_Response *resp, const char *type)
{
	enum MHD_Result r;

	if (resp == NULL)
		return MHD_NO;
	add_headers(resp);
	if (type != NULL)
		MHD_add_response_header(resp, "Content-Type", type);
	/* Without the key a connection gets one answer, then it is closed:
	 * it cannot sit in a slot. */
	if (rq->pub)
		MHD_add_response_header(resp, "Connection", "close");
	r = MHD_queue_response(rq->conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

enum MHD_Result ks_reply(ks_req *rq, unsigned status, const char *type,
    const void *body, size_t len)
{
	return queue(rq, status, MHD_create_response_from_buffer(len,
	    (void *)body, MHD_RESPMEM_MUST_COPY), type);
}

enum MHD_Result ks_reply_take(ks_req *rq, unsigned status, const char *type,
    char *body, size_t len, const char *disposition)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	if (disposition != NULL)
		MHD_add_response_header(resp, "Content-Disposition", disposition);
	return queue(rq, status, resp, type);
}

static void secret_free_cb(void *cls)
{
	cs_secret_free(cls);
}

enum MHD_Result ks_reply_secret(ks_req *rq, cs_secret *body)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer_with_free_callback_cls(body->len,
	    body->buf, secret_free_cb, body);
	if (resp == NULL) {
		cs_secret_free(body);
		return MHD_NO;
	}
	return queue(rq, MHD_HTTP_OK, resp, "application/json");
}

/* A JSON object answer: object_start opens it in memory (NULL when out
 * of memory), the caller writes its members, object_end closes and sends
 * it. */
static FILE *object_start(char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (f != NULL)
		fputc('{', f);
	return f;
}

static enum MHD_Result object_end(ks_req *rq, unsigned status, FILE *f,
    char **buf, size_t *len)
{
	fputc('}', f);
	if (fclose(f) != 0) {
		free(*buf);
		return MHD_NO;
	}
	return ks_reply_take(rq, status, "application/json", *buf, *len, NULL);
}

enum MHD_Result ks_reply_error(ks_req *rq, unsigned status, const char *code,
    const char *detail)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = object_start(&buf, &len);

	if (f == NULL)
		return MHD_NO;
	cs_json_kv(f, 1, "error", code);
	if (detail != NULL && *detail != '\0')
		cs_json_kv(f, 0, "detail", detail);
	return object_end(rq, status, f, &buf, &len);
}

/* An engine failure as the page needs it (no braces): error, the kiosk's
 * word for what the page does next (ask, wait, show), and the engine's
 * message (cs_codes.h): code, params, advice and detail, which the page
 * renders from the catalogue (GET /api/codes) in the session's language,
 * and text, the same in this process's language, for scripts. */
void ks_write_msg_error(FILE *f, const char *error, const cs_msg *m)
{
	cs_json_kv(f, 1, "error", error);
	fputc(',', f);
	cs_msg_json(f, m);
}

enum MHD_Result ks_reply_msg(ks_req *rq, unsigned status,
    const char *error, const cs_msg *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = object_start(&buf, &len);

	if (f == NULL)
		return MHD_NO;
	ks_write_msg_error(f, error, m);
	return object_end(rq, status, f, &buf, &len);
}

const char *ks_arg(ks_req *rq, const char *key)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* --- sessions ------------------------------------------------------- */

static int random_hex(char *out, size_t bytes)
{
	unsigned char b[32];

	if (bytes > sizeof(b) || RAND_bytes(b, (int)bytes) != 1)
		return -1;
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

static int same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la == lb && la > 0 && CRYPTO_memcmp(a, b, la) == 0;
}

/* The session named by the cookie, under the lock; NULL if none. */
static ks_session *find_session(ks_server *s, struct MHD_Connection *c)
{
	const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
	    "ks_sid");

	if (sid == NULL)
		return NULL;
	for (size_t i = 0; i < KS_MAX_SESSIONS; i++)
		if (s->sess[i].used && same_secret(s->sess[i].sid, sid))
			return &s->sess[i];
	return NULL;
}

static ks_session *new_session(ks_server *s)
{
	ks_session *victim = &s->sess[0];

	/* A kiosk has one screen: the oldest session makes room. */
	for (size_t i = 0; i < KS_MAX_SESSIONS; i++) {
		if (!s->sess[i].used) {
			victim = &s->sess[i];
			break;
		}
		if (s->sess[i].last_active < victim->last_active)
			victim = &s->sess[i];
	}
	explicit_bzero(victim, sizeof(*victim));
	if (random_hex(victim->sid, 32) != 0 ||
	    random_hex(victim->csrf, 32) != 0)
		return NULL;
	victim->serial = ++s->next_serial;
	strcpy(victim->lang, "ja");
	victim->last_active = ks_now_ms();
	victim->used = 1;
	return victim;
}

static void publish_logout(ks_server *s, const char *why)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "{\"why\":\"%s\"}", why);
	ks_hub_publish(s->hub, "logout", buf);
}

static void log_out(ks_session *se)
{
	se->account[0] = se->display[0] = '\0';
	se->roles = 0;
	se->seen_card = 0;
}

void ks_session_saw_card(ks_server *s, uint64_t serial, int64_t card_id,
    int pin_ok, const char *verdict)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < KS_MAX_SESSIONS; i++) {
		ks_session *se = &s->sess[i];

		if (se->used && se->serial == serial && se->account[0] != '\0') {
			se->seen_card = card_id;
			se->seen_at = ks_now_ms();
			se->seen_pin_ok = pin_ok;
			snprintf(se->seen_verdict, sizeof(se->seen_verdict), "%s",
			    verdict);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* Logs idle operators out once a second. */
static void *keeper_main(void *arg)
{
	ks_server *s = arg;
	struct timespec until;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		int64_t now = ks_now_ms();
		int expired = 0;

		for (size_t i = 0; i < KS_MAX_SESSIONS; i++) {
			ks_session *se = &s->sess[i];

			if (se->used && se->account[0] != '\0' &&
			    now - se->last_active > (int64_t)s->cfg.idle_s * 1000) {
				log_out(se);
				expired = 1;
			}
		}
		if (expired) {
			pthread_mutex_unlock(&s->lock);
			publish_logout(s, "idle");
			pthread_mutex_lock(&s->lock);
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&s->stopc, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* --- session API ---------------------------------------------------- */

static enum MHD_Result api_session(ks_req *rq, ks_session *se, int fresh)
{
	char *buf = NULL, cookie[160];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct MHD_Response *resp;

	if (f == NULL)
		return MHD_NO;
	fputc('{', f);
	cs_json_kv(f, 1, "csrf", se->csrf);
	cs_json_kv(f, 0, "account", se->account[0] ? se->account : NULL);
	cs_json_kv(f, 0, "operator", se->account[0] ? se->display : NULL);
	cs_json_kv(f, 0, "lang", se->lang);
	fputs(",\"roles\":[", f);
	for (unsigned b = 1, n = 0; b & KS_ROLE_ANY; b <<= 1)
		if (se->roles & b)
			fprintf(f, "%s\"%s\"", n++ ? "," : "", ks_role_name(b));
	fprintf(f, "],\"idle_s\":%u}", rq->srv->cfg.idle_s);
	fclose(f);
	resp = MHD_create_response_from_buffer_with_free_callback(len, buf, free);
	if (resp == NULL) {
		free(buf);
		return MHD_NO;
	}
	if (fresh) {
		snprintf(cookie, sizeof(cookie), "ks_sid=%s; Path=/; HttpOnly; "
		    "SameSite=Strict", se->sid);
		MHD_add_response_header(resp, "Set-Cookie", cookie);
	}
	return queue(rq, MHD_HTTP_OK, resp, "application/json");
}

/* A name for the log: an account name as typed, or a placeholder when
 * it is not one (someone may type their password into the name). */
static const char *loggable(const char *user)
{
	size_t n = strlen(user);

	if (n == 0 || n >= KS_ACCOUNT_MAX)
		return "(not an account name)";
	for (size_t i = 0; i < n; i++)
		if (!((user[i] >= 'a' && user[i] <= 'z') ||
		    (user[i] >= 'A' && user[i] <= 'Z') ||
		    (user[i] >= '0' && user[i] <= '9') || strchr("._-@", user[i])))
			return "(not an account name)";
	return user;
}

/* POST /api/login user=&password=: PAM checks the account; lang= alone
 * switches the language of a logged-in session. The password is in the
 * locked body and only PAM's own copy leaves it. */
enum MHD_Result ks_api_login(ks_req *rq)
{
	ks_server *s = rq->srv;
	const char *user = ks_form_get(rq->form, "user");
	const char *password = ks_form_get(rq->form, "password");
	const char *lang = ks_form_get(rq->form, "lang");
	char account[KS_ACCOUNT_MAX], display[128], why[256] = "";
	unsigned roles = 0;
	ks_session *se;
	int r = CS_OK, fresh = 0;

	if (lang != NULL && strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0)
		return ks_reply_error(rq, 400, "bad-lang", NULL);
	if (user != NULL) {
		if (*user == '\0' || strlen(user) >= KS_ACCOUNT_MAX ||
		    strpbrk(user, "\r\n\t:") != NULL)
			return ks_reply_error(rq, 400, "bad-user", NULL);
		if (password == NULL || *password == '\0')
			return ks_reply_error(rq, 400, "bad-password", NULL);
		pthread_mutex_lock(&s->auth_lock);
		r = ks_auth_login(&s->cfg, user, password, account,
		    sizeof(account), display, sizeof(display), &roles, why,
		    sizeof(why));
		pthread_mutex_unlock(&s->auth_lock);
		if (r != CS_OK) {
			fprintf(stderr, "cardstation kiosk: login refused for %s: %s\n",
			    loggable(user), why);
			if (r == CS_ERR_CRYPTO)
				return ks_reply_error(rq, 401, "bad-login", NULL);
			if (r == CS_ERR_NOTFOUND)
				return ks_reply_error(rq, 403, "no-role", NULL);
			if (r == CS_ERR_STATE)
				return ks_reply_error(rq, 403, "account", NULL);
			return ks_reply_error(rq, 503, "pam", why);
		}
	} else if (lang == NULL) {
		return ks_reply_error(rq, 400, "bad-user", NULL);
	}
	pthread_mutex_lock(&s->lock);
	se = find_session(s, rq->conn);
	if (se != NULL) {
		if (user != NULL) {
			/* A new sid at login: whoever knew the old one does not
			 * share this login. The serial stays (letters of this
			 * browser's run). */
			if (random_hex(se->sid, 32) != 0) {
				se->used = 0;
				se = NULL;
				goto unlock;
			}
			fresh = 1;
			snprintf(se->account, sizeof(se->account), "%s", account);
			snprintf(se->display, sizeof(se->display), "%s", display);
			se->roles = roles;
			se->seen_card = 0;
			se->last_active = ks_now_ms();
		}
		if (lang != NULL)
			snprintf(se->lang, sizeof(se->lang), "%s", lang);
		rq->sess = *se;
	}
unlock:
	pthread_mutex_unlock(&s->lock);
	if (se == NULL)
		return ks_reply_error(rq, 401, "no-session", NULL);
	if (user != NULL) {
		char rl[64] = "";

		for (unsigned b = 1; b & KS_ROLE_ANY; b <<= 1)
			if (roles & b)
				snprintf(rl + strlen(rl), sizeof(rl) - strlen(rl), "%s%s",
				    rl[0] ? "," : "", ks_role_name(b));
		fprintf(stderr, "cardstation kiosk: %s logged in (%s)\n", account, rl);
	}
	return api_session(rq, &rq->sess, fresh);
}

enum MHD_Result ks_api_logout(ks_req *rq)
{
	ks_server *s = rq->srv;
	ks_session *se;

	pthread_mutex_lock(&s->lock);
	if ((se = find_session(s, rq->conn)) != NULL)
		log_out(se);
	pthread_mutex_unlock(&s->lock);
	return ks_reply(rq, 200, "application/json", "{}", 2);
}

/* --- static files --------------------------------------------------- */

static const char *mime_of(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{".html", "text/html; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* Only flat names like app.js: no slash, no dot-dot, a known type. */
static int safe_name(const char *n)
{
	if (*n == '\0' || *n == '.' || strlen(n) > 64)
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return strstr(n, "..") == NULL && mime_of(n) != NULL;
}

static enum MHD_Result serve_file(ks_req *rq, const char *name)
{
	char path[4096], *buf = NULL;
	struct stat st;
	int fd = -1;
	ssize_t got = 0;

	if (!safe_name(name))
		return ks_reply_error(rq, 404, "not-found", NULL);
	snprintf(path, sizeof(path), "%s/%s", rq->srv->cfg.www, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > KS_FILE_MAX || (buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (got < st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)(st.st_size - got));

		if (n <= 0)
			goto fail;
		got += n;
	}
	close(fd);
	return ks_reply_take(rq, 200, mime_of(name), buf, (size_t)got, NULL);
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ks_reply_error(rq, 404, "not-found", NULL);
}

/* --- routing -------------------------------------------------------- */
/* The routes are the application's (ks_app.c): this file serves whatever
 * table it is given and knows none of the parts behind it. */

static int host_ok(ks_server *s, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");

	for (size_t i = 0; h != NULL && i < s->nhosts; i++)
		if (strcmp(h, s->hosts[i]) == 0)
			return 1;
	return 0;
}

/* This start's key, as the cookie the page got for it, or as the header
 * of the one request that trades it for the cookie. */
static int key_ok(ks_server *s, struct MHD_Connection *c)
{
	const char *k = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "ks_key");

	if (k != NULL && same_secret(k, s->key))
		return 1;
	k = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Kiosk-Key");
	return k != NULL && same_secret(k, s->key);
}

static int origin_ok(struct MHD_Connection *c)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Origin");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	char want[128];

	if (origin == NULL)
		return 1;
	snprintf(want, sizeof(want), "http://%s", host ? host : "");
	return strcmp(origin, want) == 0;
}

/* A POST must carry the session's token, and come from our own page. */
static int csrf_ok(ks_server *s, struct MHD_Connection *c, const ks_session *se)
{
	const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-CSRF-Token");

	(void)s;
	if (tok == NULL || !same_secret(tok, se->csrf))
		return 0;
	return origin_ok(c);
}

/* POST /api/key with X-Kiosk-Key: the page's launcher gave it the key in
 * the address's fragment; it becomes an HttpOnly cookie the page's script
 * cannot read, sent with every request, the event stream's included. */
static enum MHD_Result api_key(ks_req *rq)
{
	struct MHD_Response *resp;
	char cookie[160];

	if (!origin_ok(rq->conn))
		return ks_reply_error(rq, 403, "origin", NULL);
	resp = MHD_create_response_from_buffer(2, (void *)"{}",
	    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	snprintf(cookie, sizeof(cookie), "ks_key=%s; Path=/; HttpOnly; "
	    "SameSite=Strict", rq->srv->key);
	MHD_add_response_header(resp, "Set-Cookie", cookie);
	explicit_bzero(cookie, sizeof(cookie));
	return queue(rq, MHD_HTTP_OK, resp, "application/json");
}

static enum MHD_Result dispatch(ks_req *rq, ks_reqctx *ctx)
{
	ks_server *s = rq->srv;
	ks_session *se;
	int is_post = strcmp(rq->method, "POST") == 0;
	int fresh = 0;

	if (!host_ok(s, rq->conn))
		return ks_reply_error(rq, 403, "foreign-host", NULL);
	if (!is_post && strcmp(rq->method, "GET") != 0 &&
	    strcmp(rq->method, "HEAD") != 0)
		return ks_reply_error(rq, 405, "method", NULL);
	if (strncmp(rq->path, "/api/", 5) != 0) {
		if (is_post)
			return ks_reply_error(rq, 405, "method", NULL);
		return serve_file(rq, strcmp(rq->path, "/") == 0 ?
		    "index.html" : rq->path + 1);
	}
	/* Nothing of the API without this start's key: no session, no
	 * state, no login. The gate sent keyless clients to the page-file
	 * daemon; this holds for every request of every connection. */
	if (rq->pub || !key_ok(s, rq->conn))
		return ks_reply_error(rq, 403, "no-key", NULL);
	if (ctx->too_big)
		return ks_reply_error(rq, 413, "too-big", NULL);
	if (is_post && strcmp(rq->path, "/api/key") == 0)
		return api_key(rq);

	pthread_mutex_lock(&s->lock);
	se = find_session(s, rq->conn);
	if (se == NULL && !is_post && strcmp(rq->path, "/api/session") == 0) {
		se = new_session(s);
		fresh = 1;
	}
	if (se != NULL) {
		if (is_post && !csrf_ok(s, rq->conn, se)) {
			pthread_mutex_unlock(&s->lock);
			return ks_reply_error(rq, 403, "csrf", NULL);
		}
		/* The page's own polling is not the operator at work. */
		if (strcmp(rq->path, "/api/events") != 0 &&
		    strcmp(rq->path, "/api/state") != 0 &&
		    strcmp(rq->path, "/api/session") != 0)
			se->last_active = ks_now_ms();
		rq->sess = *se;
		rq->has_sess = 1;
	}
	pthread_mutex_unlock(&s->lock);

	if (!rq->has_sess)
		return ks_reply_error(rq, is_post ? 403 : 401, is_post ? "csrf" :
		    "no-session", NULL);
	if (strcmp(rq->path, "/api/session") == 0 && !is_post)
		return api_session(rq, &rq->sess, fresh);
	if (strcmp(rq->path, "/api/ping") == 0 && is_post)
		return ks_reply(rq, 200, "application/json", "{}", 2);
	if (strcmp(rq->path, "/api/events") == 0 && !is_post) {
		struct MHD_Response *resp;

		if (rq->sess.account[0] == '\0')
			return ks_reply_error(rq, 401, "login", NULL);
		if ((resp = ks_hub_stream(s->hub)) == NULL)
			return ks_reply_error(rq, 503, "streams", NULL);
		MHD_add_response_header(resp, "X-Accel-Buffering", "no");
		return queue(rq, 200, resp, "text/event-stream");
	}
	if (is_post) {
		if (ks_form_parse(ctx->form) != CS_OK)
			return ks_reply_error(rq, 400, "bad-body", NULL);
		rq->form = ctx->form;
	}
	for (size_t i = 0; i < rq->srv->app.nroutes; i++) {
		const ks_route *rt = &rq->srv->app.routes[i];

		if (strcmp(rt->path, rq->path) != 0)
			continue;
		if (strcmp(rt->method, rq->method) != 0 &&
		    !(strcmp(rq->method, "HEAD") == 0 &&
		    strcmp(rt->method, "GET") == 0))
			return ks_reply_error(rq, 405, "method", NULL);
		if (rt->roles != 0 && rq->sess.account[0] == '\0')
			return ks_reply_error(rq, 401, "login", NULL);
		if (rt->roles != 0 && (rt->roles & rq->sess.roles) == 0)
			return ks_reply_error(rq, 403, "role", NULL);
		return rt->fn(rq);
	}
	return ks_reply_error(rq, 404, "not-found", NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_size, void **con_cls)
{
	ks_door *door = cls;
	ks_server *s = door->s;
	ks_reqctx *ctx = *con_cls;
	ks_req rq;

	(void)version;
	if (ctx == NULL) {
		if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
			return MHD_NO;
		*con_cls = ctx;
		/* Without the key no body is read: answer at once (the
		 * connection is closed after it). Locked memory for bodies is
		 * only ever taken for the operator's requests. */
		if (door->pub && strcmp(method, "GET") != 0 &&
		    strcmp(method, "HEAD") != 0) {
			memset(&rq, 0, sizeof(rq));
			rq.srv = s;
			rq.conn = conn;
			rq.pub = 1;
			ctx->answered = 1;
			return ks_reply_error(&rq, 403, "no-key", NULL);
		}
		if (strcmp(method, "POST") == 0 && ks_form_new(&ctx->form) != CS_OK)
			return MHD_NO;
		return MHD_YES;
	}
	if (ctx->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		if (ctx->form == NULL ||
		    ks_form_append(ctx->form, upload_data, *upload_size) != CS_OK)
			ctx->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&rq, 0, sizeof(rq));
	rq.srv = s;
	rq.conn = conn;
	rq.method = method;
	rq.path = url;
	rq.pub = door->pub;
	return dispatch(&rq, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
    void **con_cls, enum MHD_RequestTerminationCode toe)
{
	ks_reqctx *ctx = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (ctx == NULL)
		return;
	ks_form_free(ctx->form);
	free(ctx);
	*con_cls = NULL;
}

/* --- listening ------------------------------------------------------ */

static int listen_unix(ks_server *s, const char *path, char *why, size_t wl)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, wl, "socket path too long: %s", path);
		return CS_ERR_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0660) != 0 || listen(fd, KS_BACKLOG) != 0)
		goto fail;
	s->lfd = fd;
	snprintf(s->unix_path, sizeof(s->unix_path), "%s", path);
	snprintf(s->hosts[s->nhosts++], sizeof(s->hosts[0]), "localhost");
	snprintf(s->url, sizeof(s->url), "unix:%s", path);
	return CS_OK;
fail:
	snprintf(why, wl, "cannot listen on %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return CS_ERR_IO;
}

static int listen_loopback(ks_server *s, const char *spec, char *why,
    size_t wl)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	char host[64];
	const char *colon;
	char *end;
	long port;
	int fd = -1, one = 1, is6;

	memset(&ss, 0, sizeof(ss));
	if (spec[0] == '[') {
		colon = strstr(spec, "]:");
		if (colon == NULL || (size_t)(colon - spec - 1) >= sizeof(host))
			goto usage;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 1), spec + 1);
		colon++;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
			goto usage;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	}
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535 || colon[1] == '\0')
		goto usage;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		is6 = 0;
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127)
			goto notlocal;
		sl = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		is6 = 1;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
			goto notlocal;
		sl = sizeof(*v6);
	} else {
		goto usage;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, KS_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		snprintf(why, wl, "cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CS_ERR_IO;
	}
	port = ntohs(is6 ? v6->sin6_port : v4->sin_port);
	s->lfd = fd;
	if (is6) {
		snprintf(s->hosts[s->nhosts++], sizeof(s->hosts[0]), "[%s]:%ld",
		    host, port);
		snprintf(s->url, sizeof(s->url), "http://[%s]:%ld/", host, port);
	} else {
		snprintf(s->hosts[s->nhosts++], sizeof(s->hosts[0]), "%s:%ld",
		    host, port);
		snprintf(s->url, sizeof(s->url), "http://%s:%ld/", host, port);
	}
	snprintf(s->hosts[s->nhosts++], sizeof(s->hosts[0]), "localhost:%ld",
	    port);
	return CS_OK;
notlocal:
	snprintf(why, wl, "%s is not a loopback address: the kiosk serves "
	    "this machine only", host);
	return CS_ERR_USAGE;
usage:
	snprintf(why, wl, "cannot read the address '%s' (HOST:PORT, "
	    "[::1]:PORT or unix:PATH)", spec);
	return CS_ERR_USAGE;
}

int ks_server_open(ks_server **out, const ks_config *cfg, const ks_app *app,
    char *why, size_t whylen)
{
	ks_server *s;
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CS_ERR_NOMEM;
	s->cfg = *cfg;
	s->app = *app;
	s->lfd = -1;
	s->door_op.s = s->door_pub.s = s;
	s->door_pub.pub = 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->auth_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->stopc, &ca);
		pthread_condattr_destroy(&ca);
	}
	if ((r = ks_key_new(s->key)) != CS_OK) {
		snprintf(why, whylen, "no random key");
		goto fail;
	}
	if (strncmp(cfg->listen, "unix:", 5) == 0)
		r = listen_unix(s, cfg->listen + 5, why, whylen);
	else
		r = listen_loopback(s, cfg->listen, why, whylen);
	if (r != CS_OK)
		goto fail;
	if ((r = ks_hub_new(&s->hub)) != CS_OK ||
	    (r = ks_guard_new(&s->guard)) != CS_OK ||
	    (r = s->app.part_new(&s->run, s)) != CS_OK) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	if (pthread_create(&s->keeper, NULL, keeper_main, s) != 0) {
		r = CS_ERR_NOMEM;
		snprintf(why, whylen, "cannot start a thread");
		goto fail;
	}
	s->keeper_started = 1;
	/* Neither daemon listens: the gate hands them their connections, and
	 * keeps each under its limit (ks_door); libmicrohttpd's own limit is
	 * set above it and never reached. */
	s->door_op.limit = KS_OP_CONNS;
	s->door_pub.limit = KS_PUB_CONNS;
	s->d = s->door_op.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
	    MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC, 0, NULL, NULL,
	    on_request, &s->door_op,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, ks_door_notify, &s->door_op,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)KS_OP_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)(2 * KS_OP_CONNS),
	    MHD_OPTION_END);
	/* Poll, not epoll: level-triggered, for sockets the gate has already
	 * read the head of (with MSG_PEEK). */
	s->pub = s->door_pub.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC, 0, NULL, NULL,
	    on_request, &s->door_pub,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, ks_door_notify, &s->door_pub,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)KS_PUB_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)(2 * KS_PUB_CONNS),
	    MHD_OPTION_END);
	if (s->d == NULL || s->pub == NULL) {
		r = CS_ERR_IO;
		snprintf(why, whylen, "the web server could not start");
		goto fail;
	}
	if ((r = ks_gate_start(&s->gate, s->lfd, &s->door_op, &s->door_pub,
	    s->key, why, whylen)) != CS_OK)
		goto fail;
	if ((r = ks_key_handout(&s->cfg, s->url, s->key, why, whylen)) != CS_OK)
		goto fail;
	*out = s;
	return CS_OK;
fail:
	ks_server_stop(s);
	return r;
}

void ks_server_stop(ks_server *s)
{
	if (s == NULL)
		return;
	/* The gate first: no connection is handed to a stopping daemon. */
	ks_gate_stop(s->gate);
	ks_key_forget(&s->cfg);
	if (s->hub != NULL)
		ks_hub_close(s->hub);
	if (s->d != NULL)
		MHD_stop_daemon(s->d);
	if (s->pub != NULL)
		MHD_stop_daemon(s->pub);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->unix_path[0] != '\0')
		unlink(s->unix_path);
	if (s->keeper_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_cond_broadcast(&s->stopc);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->keeper, NULL);
	}
	if (s->run != NULL)
		s->app.part_free(s->run);
	ks_hub_free(s->hub);
	ks_guard_free(s->guard);
	pthread_cond_destroy(&s->stopc);
	pthread_mutex_destroy(&s->auth_lock);
	pthread_mutex_destroy(&s->lock);
	explicit_bzero(s->sess, sizeof(s->sess));
	explicit_bzero(s->key, sizeof(s->key));
	free(s);
}
