/* ks_server.c - the kiosk's web server: who may talk to it and how.
 *
 * The page is the operator's only interface, and a browser on the same
 * machine also visits other sites, so the server trusts nothing it did not
 * hand out itself:
 *   - it listens on a loopback address or a Unix socket, never on a
 *     network (the listening socket is bound here, not by libmicrohttpd,
 *     so the address is checked before anything is served);
 *   - the Host header must name that address (DNS rebinding);
 *   - every POST carries the session's CSRF token in X-CSRF-Token, and an
 *     Origin, if sent, must be ours;
 *   - every response carries a strict Content-Security-Policy (scripts and
 *     styles only from our own files, nothing inline), no caching, no
 *     framing;
 *   - an operator idle for cfg->idle_s is logged out (the housekeeper
 *     thread), and the page is told so over the event stream. */
#include "ks.h"

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

struct ks_server {
	ks_config cfg;
	struct MHD_Daemon *d;
	int lfd;
	char unix_path[108];
	char url[160];
	char hosts[4][80];          /* Host header values we answer to */
	size_t nhosts;
	pthread_mutex_t lock;
	ks_session sess[KS_MAX_SESSIONS];
	ks_hub *hub;
	ks_runctl *run;
	pthread_t keeper;
	pthread_cond_t stopc;
	int stopping, keeper_started;
};

/* Per request: the POST body as it arrives. */
typedef struct ks_reqctx {
	ks_form *form;
	int too_big;
} ks_reqctx;

const ks_config *ks_cfg(const ks_server *s) { return &s->cfg; }
ks_hub *ks_srv_hub(ks_server *s) { return s->hub; }
ks_runctl *ks_srv_run(ks_server *s) { return s->run; }
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

enum MHD_Result ks_reply_error(ks_req *rq, unsigned status, const char *code,
    const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return MHD_NO;
	fputc('{', f);
	cs_json_kv(f, 1, "error", code);
	cs_json_kv(f, 0, "text", text);
	fputc('}', f);
	fclose(f);
	return ks_reply_take(rq, status, "application/json", buf, len, NULL);
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
	memset(victim, 0, sizeof(*victim));
	if (random_hex(victim->sid, 32) != 0 ||
	    random_hex(victim->csrf, 32) != 0)
		return NULL;
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

			if (se->used && se->operator_name[0] != '\0' &&
			    now - se->last_active > (int64_t)s->cfg.idle_s * 1000) {
				se->operator_name[0] = '\0';
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
	cs_json_kv(f, 0, "operator", se->operator_name[0] ? se->operator_name : NULL);
	cs_json_kv(f, 0, "lang", se->lang);
	fprintf(f, ",\"idle_s\":%u}", rq->srv->cfg.idle_s);
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

static enum MHD_Result api_login(ks_req *rq)
{
	ks_server *s = rq->srv;
	const char *name = ks_form_get(rq->form, "name");
	const char *lang = ks_form_get(rq->form, "lang");
	ks_session *se;
	size_t n;

	if (lang != NULL && strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0)
		return ks_reply_error(rq, 400, "bad-lang", "ja or en");
	if (name != NULL) {
		while (*name == ' ')
			name++;
		n = strlen(name);
		if (n == 0 || n >= sizeof(se->operator_name))
			return ks_reply_error(rq, 400, "bad-name",
			    "the operator name is empty or too long");
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)name[i] < 0x20)
				return ks_reply_error(rq, 400, "bad-name",
				    "control characters in the name");
	}
	pthread_mutex_lock(&s->lock);
	se = find_session(s, rq->conn);
	if (se != NULL) {
		if (name != NULL)
			snprintf(se->operator_name, sizeof(se->operator_name),
			    "%s", name);
		if (lang != NULL)
			snprintf(se->lang, sizeof(se->lang), "%s", lang);
		rq->sess = *se;
	}
	pthread_mutex_unlock(&s->lock);
	if (se == NULL)
		return ks_reply_error(rq, 401, "no-session", "reload the page");
	return api_session(rq, &rq->sess, 0);
}

static enum MHD_Result api_logout(ks_req *rq)
{
	ks_server *s = rq->srv;
	ks_session *se;

	pthread_mutex_lock(&s->lock);
	if ((se = find_session(s, rq->conn)) != NULL)
		se->operator_name[0] = '\0';
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
		return ks_reply_error(rq, 404, "not-found", name);
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
	return ks_reply_error(rq, 404, "not-found", name);
}

/* --- routing -------------------------------------------------------- */

typedef enum MHD_Result (*ks_handler)(ks_req *);

static const struct route {
	const char *method, *path;
	ks_handler fn;
	int login;  /* needs a logged-in operator */
} routes[] = {
	{"POST", "/api/login", api_login, 0},
	{"POST", "/api/logout", api_logout, 0},
	{"GET", "/api/features", ks_api_features, 0},
	{"GET", "/api/state", ks_api_run_state, 1},
	{"GET", "/api/readers", ks_api_readers, 1},
	{"GET", "/api/runs", ks_api_runs, 1},
	{"GET", "/api/folders", ks_api_folders, 1},
	{"POST", "/api/inspect", ks_api_inspect, 1},
	{"POST", "/api/import", ks_api_import, 1},
	{"POST", "/api/run/start", ks_api_run_start, 1},
	{"POST", "/api/run/answer", ks_api_run_answer, 1},
	{"POST", "/api/run/control", ks_api_run_control, 1},
	{"POST", "/api/letter", ks_api_letter, 1},
	{"GET", "/api/search", ks_api_search, 1},
	{"GET", "/api/export.csv", ks_api_export, 1},
	{"POST", "/api/verify", ks_api_verify, 1},
	{"POST", "/api/lost", ks_api_lost, 1},
	{"POST", "/api/wipe", ks_api_wipe, 1},
};

static int host_ok(ks_server *s, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");

	for (size_t i = 0; h != NULL && i < s->nhosts; i++)
		if (strcmp(h, s->hosts[i]) == 0)
			return 1;
	return 0;
}

/* A POST must carry the session's token, and come from our own page. */
static int csrf_ok(ks_server *s, struct MHD_Connection *c, const ks_session *se)
{
	const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-CSRF-Token");
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Origin");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	char want[128];

	if (tok == NULL || !same_secret(tok, se->csrf))
		return 0;
	if (origin != NULL) {
		snprintf(want, sizeof(want), "http://%s", host);
		if (strcmp(origin, want) != 0)
			return 0;
	}
	return 1;
}

static enum MHD_Result dispatch(ks_req *rq, ks_reqctx *ctx)
{
	ks_server *s = rq->srv;
	ks_session *se;
	int is_post = strcmp(rq->method, "POST") == 0;
	int fresh = 0;

	if (!host_ok(s, rq->conn))
		return ks_reply_error(rq, 403, "foreign-host",
		    "this server answers only to its own local address");
	if (!is_post && strcmp(rq->method, "GET") != 0 &&
	    strcmp(rq->method, "HEAD") != 0)
		return ks_reply_error(rq, 405, "method", rq->method);
	if (strncmp(rq->path, "/api/", 5) != 0) {
		if (is_post)
			return ks_reply_error(rq, 405, "method", rq->method);
		return serve_file(rq, strcmp(rq->path, "/") == 0 ?
		    "index.html" : rq->path + 1);
	}
	if (ctx->too_big)
		return ks_reply_error(rq, 413, "too-big", "request body too big");

	pthread_mutex_lock(&s->lock);
	se = find_session(s, rq->conn);
	if (se == NULL && !is_post && strcmp(rq->path, "/api/session") == 0) {
		se = new_session(s);
		fresh = 1;
	}
	if (se != NULL) {
		if (is_post && !csrf_ok(s, rq->conn, se)) {
			pthread_mutex_unlock(&s->lock);
			return ks_reply_error(rq, 403, "csrf",
			    "missing or wrong CSRF token");
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
		    "no-session", "no session: reload the page");
	if (strcmp(rq->path, "/api/session") == 0 && !is_post)
		return api_session(rq, &rq->sess, fresh);
	if (strcmp(rq->path, "/api/ping") == 0 && is_post)
		return ks_reply(rq, 200, "application/json", "{}", 2);
	if (strcmp(rq->path, "/api/events") == 0 && !is_post) {
		struct MHD_Response *resp = ks_hub_stream(s->hub);

		if (resp != NULL)
			MHD_add_response_header(resp, "X-Accel-Buffering", "no");
		return queue(rq, 200, resp, "text/event-stream");
	}
	if (is_post) {
		if (ks_form_parse(ctx->form) != CS_OK)
			return ks_reply_error(rq, 400, "bad-body",
			    "the form could not be read");
		rq->form = ctx->form;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, rq->path) != 0)
			continue;
		if (strcmp(routes[i].method, rq->method) != 0 &&
		    !(strcmp(rq->method, "HEAD") == 0 &&
		    strcmp(routes[i].method, "GET") == 0))
			return ks_reply_error(rq, 405, "method", rq->method);
		if (routes[i].login && rq->sess.operator_name[0] == '\0')
			return ks_reply_error(rq, 401, "login",
			    "the operator is not logged in");
		return routes[i].fn(rq);
	}
	return ks_reply_error(rq, 404, "not-found", rq->path);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_size, void **con_cls)
{
	ks_server *s = cls;
	ks_reqctx *ctx = *con_cls;
	ks_req rq;

	(void)version;
	if (ctx == NULL) {
		if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
			return MHD_NO;
		if (strcmp(method, "POST") == 0 && ks_form_new(&ctx->form) != CS_OK) {
			free(ctx);
			return MHD_NO;
		}
		*con_cls = ctx;
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
	    chmod(path, 0660) != 0 || listen(fd, 32) != 0)
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
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 32) != 0 ||
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

int ks_server_start(ks_server **out, const ks_config *cfg, char *why,
    size_t whylen)
{
	ks_server *s;
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CS_ERR_NOMEM;
	s->cfg = *cfg;
	s->lfd = -1;
	pthread_mutex_init(&s->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->stopc, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (strncmp(cfg->listen, "unix:", 5) == 0)
		r = listen_unix(s, cfg->listen + 5, why, whylen);
	else
		r = listen_loopback(s, cfg->listen, why, whylen);
	if (r != CS_OK)
		goto fail;
	if ((r = ks_hub_new(&s->hub)) != CS_OK ||
	    (r = ks_run_new(&s->run, s)) != CS_OK) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	if (pthread_create(&s->keeper, NULL, keeper_main, s) != 0) {
		r = CS_ERR_NOMEM;
		snprintf(why, whylen, "cannot start a thread");
		goto fail;
	}
	s->keeper_started = 1;
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0, NULL, NULL,
	    on_request, s,
	    MHD_OPTION_LISTEN_SOCKET, s->lfd,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
	    MHD_OPTION_END);
	if (s->d == NULL) {
		r = CS_ERR_IO;
		snprintf(why, whylen, "the web server could not start");
		goto fail;
	}
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
	if (s->hub != NULL)
		ks_hub_close(s->hub);
	if (s->d != NULL)
		MHD_stop_daemon(s->d);  /* closes the listening socket too */
	else if (s->lfd >= 0)
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
	ks_run_free(s->run);
	ks_hub_free(s->hub);
	pthread_cond_destroy(&s->stopc);
	pthread_mutex_destroy(&s->lock);
	explicit_bzero(s->sess, sizeof(s->sess));
	free(s);
}
