/* fuzz_http.c - the kiosk's request handling, driven without a socket:
 * kiosk/ks_server.c with the gate's key test (ks_gate.c), the per-start
 * key (ks_auth.c), the card-try guard (ks_guard.c), ks_form.c and
 * ks_hub.c.
 *
 * What is ours runs unchanged: ks_server_start() listens on a Unix socket
 * nobody connects to (its file is removed at once), makes its key, hands
 * it out over a pipe that this target reads as kiosk-browser would, and
 * starts its two daemons and the gate's thread, which waits on that
 * socket for good. For each fuzzed request the target then does the
 * gate's part: the request head goes through ks_head_has_key(), the
 * gate's own test, and the connection to the door it picks (the
 * operator's daemon with the key, the page-file daemon without), counted
 * as the gate's hand-over counts it; then that daemon's request callback
 * runs the way libmicrohttpd calls it (a first call, the body in chunks,
 * a last call, the completion callback, the connection notices).
 *
 * Linked as they are: ks_gate.c, ks_auth.c, ks_guard.c, and libpam (for
 * ks_auth.c). Replaced, because only a real network or a real PAM has
 * them:
 *   - libmicrohttpd, by fake_mhd.c: its HTTP parsing (request line,
 *     header syntax, cookies, percent-decoding, chunked bodies) and its
 *     sockets are not ours and are not fuzzed here; MHD_add_connection,
 *     the gate's hand-over of a real socket, is never reached (the
 *     target checks that) since no socket connects;
 *   - ks_auth_login, by __wrap_ks_auth_login below (-Wl,--wrap): a real
 *     login needs this machine's PAM stack (pam_unix, /etc/shadow, 2 s
 *     after each wrong password) and operator accounts in Unix groups
 *     cardstation-encode/-desk/-admin, which a fuzzer cannot make. The
 *     fake answers as ks.h says the real one does (CS_OK with roles,
 *     CS_ERR_CRYPTO, _STATE, _NOTFOUND, _IO) for fixed accounts;
 *   - the API handlers behind the routes (ks_api.c, ks_run.c, ks_desk.c):
 *     they reach the journal, the readers and encode workers. The stubs
 *     check who got through.
 *
 * Input: requests separated by NUL bytes (16 at most), each
 *   METHOD SP TARGET LF (Name: value LF)* LF body
 * where $KEY stands for this start's key, $XKEY for the key with its last
 * digit changed, $SID and $CSRF for the session the target opens first
 * (GET /api/session with the key; $SID follows it when a login gives it a
 * new id) and $OLDSID for its id before the last login. A Cookie header
 * gives cookies, the query the arguments, X-Fuzz-Chunk: N the body's
 * chunk size, X-Fuzz-Repeat: N repeats the body (past the body limit),
 * and X-Fuzz-Same-Connection: 1 sends the request on the operator's
 * connection of the request before, if open (keep-alive: the gate saw
 * only the first head). A head without its blank line never leaves the
 * gate. The fake PAM's accounts: enc, desk, adm, all, encadm (roles as
 * named; password "secret"), none (no role), locked (may not log in now),
 * broken (PAM cannot start); a name in upper case is mapped to lower case,
 * as a PAM module may map it.
 *
 * Properties:
 *   - libmicrohttpd's contract: a request answered MHD_YES has exactly
 *     one response and none gets two; the body is always taken; the
 *     request's context is freed at completion; each door counts its
 *     open connection until libmicrohttpd's notice that it closed
 *     (ks_door_notify), then 0, and stays below the daemon's own
 *     connection limit (libmicrohttpd 0.9.75 hangs on it);
 *   - every response carries the security headers and no header holds a
 *     line break; every answer of the page-file daemon says
 *     Connection: close;
 *   - the gate: ks_head_has_key admits a head only if a Cookie or
 *     X-Kiosk-Key line of it holds the key, and admits the plain forms
 *     (Cookie: ...; ks_key=KEY, X-Kiosk-Key: KEY);
 *   - no API without the key: an /api/ request that did not come through
 *     the operator's door with the key (ks_key cookie or X-Kiosk-Key) is
 *     answered 403 or 405, with no cookie, no handler and no PAM call;
 *   - the key appears in no answer but the ks_key cookie of POST /api/key
 *     (unless the request's own target or method held it: 404 and 405
 *     name them); a ks_sid cookie comes only with a new session (GET
 *     /api/session) or a successful login;
 *   - a handler (and PAM) runs only for our Host, with a current session
 *     the server handed out (an id replaced at login is dead), with that
 *     session's CSRF token (and our Origin, if any) on a POST;
 *   - a session is logged in only after a login PAM accepted: a login
 *     answers a new session id, the account PAM settled on and exactly its
 *     roles; a refused one changes nothing; logout ends it; the event
 *     stream and every route with roles run only for a logged-in session;
 *   - every route's role, as docs/kiosk.md's table gives it (routes[]
 *     below, the target's own copy): a handler runs only for a session
 *     holding one of the route's roles, and 403 role is answered only to
 *     one holding none; a stub runs only for its own path;
 *   - handover sees exactly the card this session verified last (verify's
 *     stub records one, as ks_desk.c does), none after a logout or login;
 *   - the kiosk's log (its stderr, read per request) holds neither the
 *     password nor the key, unless typed as the account name;
 *   - a static file served is one of the page's own files. */
#include "fuzz_util.h"
#include "fake_mhd.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cs_err.h"
#include "ks.h"

#define HOST "localhost"
#define MAX_KNOWN 20
#define PASSWORD "secret"
#define GATE_HEAD_MAX 8192          /* ks_gate.c's KS_GATE_HEAD_MAX */

static const struct {
	const char *name, *content;
} www_files[] = {
	{"index.html", "<!doctype html><title>fuzz</title>"},
	{"app.js", "// app"},
	{"style.css", "/* style */"},
};

#define E KS_ROLE_ENCODE
#define D KS_ROLE_DESK
#define A KS_ROLE_ADMIN

/* The roles of each route, from docs/kiosk.md ("Operators and roles"). */
static const struct route {
	const char *method, *path;
	unsigned roles;
} routes[] = {
	{"GET", "/api/features", 0},
	{"GET", "/api/state", E},
	{"GET", "/api/readers", E | D},
	{"GET", "/api/runs", E | A},
	{"GET", "/api/folders", A},
	{"POST", "/api/inspect", A},
	{"POST", "/api/import", A},
	{"POST", "/api/run/start", E},
	{"POST", "/api/run/answer", E},
	{"POST", "/api/run/control", E},
	{"POST", "/api/letter", E},
	{"POST", "/api/handover", E},
	{"GET", "/api/search", D},
	{"GET", "/api/export.csv", D},
	{"POST", "/api/verify", E | D},
	{"POST", "/api/lost", D},
	{"POST", "/api/wipe", D},
};

static const struct route *route_of(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	return NULL;
}

/* --- the server, its key and its doors ------------------------------- */

static ks_server *srv;
static char key[KS_KEY_HEX + 1], xkey[KS_KEY_HEX + 1];

typedef struct door {
	const char *name;
	struct MHD_Daemon *d;
	const fake_daemon_info *info;
	ks_door *door;
} door;
static door op = {.name = "op"}, pub = {.name = "pub"};

/* The connection open now (the operator's stays open for the next
 * request; the page-file daemon's closes after each answer). */
static struct {
	door *dr;                   /* NULL: none */
	struct MHD_Connection *sock;
	void *sock_ctx;
} conn;

/* --- sessions --------------------------------------------------------- */

/* Sessions the server handed out during this input. */
static struct known {
	char sid[65], oldsid[65], csrf[65];
	bool logged_in;
	char account[KS_ACCOUNT_MAX];
	unsigned roles;
	int64_t seen_card;
} known[MAX_KNOWN];
static size_t nknown;
static int trace; /* FUZZ_HTTP_TRACE=1: print each request and its status */
static FILE *real_stderr; /* while a request runs, stderr is its log */

static struct known *known_by_sid(const char *sid)
{
	for (size_t i = 0; sid != NULL && i < nknown; i++)
		if (strcmp(known[i].sid, sid) == 0)
			return &known[i];
	return NULL;
}

static void log_out(struct known *k)
{
	k->logged_in = false;
	k->account[0] = '\0';
	k->roles = 0;
	k->seen_card = 0;
}

/* The request being served, as the target sees it. */
static struct {
	struct MHD_Connection *conn;
	bool via_op;                /* the gate handed it to the operator's daemon */
	bool key;                   /* its ks_key cookie or X-Kiosk-Key is the key */
	int auth_calls, auth_r;
	char auth_user[KS_ACCOUNT_MAX], auth_account[KS_ACCOUNT_MAX];
	unsigned auth_roles;
} cur;

/* The request's session, its CSRF token and Origin are what a handler
 * (or PAM) may be reached with. */
static struct known *check_admitted(const ks_req *rq, struct MHD_Connection *c,
    const char *method)
{
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "ks_sid");
	const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-CSRF-Token");
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Origin");
	struct known *k = known_by_sid(sid);

	FUZZ_CHECK(c == cur.conn && cur.via_op && cur.key);
	FUZZ_CHECK(rq == NULL || !rq->pub);
	FUZZ_CHECK(host != NULL && strcmp(host, HOST) == 0);
	FUZZ_CHECK(k != NULL);
	if (strcmp(method, "POST") == 0) {
		FUZZ_CHECK(tok != NULL && strcmp(tok, k->csrf) == 0);
		FUZZ_CHECK(origin == NULL || strcmp(origin, "http://" HOST) == 0);
	}
	return k;
}

/* --- the fake PAM ----------------------------------------------------- */

int __wrap_ks_auth_login(const ks_config *cfg, const char *user,
    const char *password, char *account, size_t alen, char *display,
    size_t dlen, unsigned *roles, char *why, size_t whylen);

static const struct account {
	const char *name;
	int r;
	unsigned roles;
	const char *display;
} accounts[] = {
	{"enc", CS_OK, E, "田中 一郎"},
	{"desk", CS_OK, D, "Desk, Service"},
	{"adm", CS_OK, A, "Admin"},
	{"all", CS_OK, E | D | A, "All \"roles\" \\ 全部"},
	{"encadm", CS_OK, E | A, ""},
	{"none", CS_ERR_NOTFOUND, 0, ""},
	{"locked", CS_ERR_STATE, 0, ""},
	{"broken", CS_ERR_IO, 0, ""},
};

int __wrap_ks_auth_login(const ks_config *cfg, const char *user,
    const char *password, char *account, size_t alen, char *display,
    size_t dlen, unsigned *roles, char *why, size_t whylen)
{
	char name[KS_ACCOUNT_MAX];
	const struct account *a = NULL;
	size_t n = strlen(user);
	int r;

	/* Who gets this far, and with what. */
	(void)check_admitted(NULL, cur.conn, "POST");
	FUZZ_CHECK(cfg->pam_service != NULL &&
	    strcmp(cfg->pam_service, "cardstation") == 0);
	FUZZ_CHECK(n > 0 && n < KS_ACCOUNT_MAX && n < sizeof(name));
	FUZZ_CHECK(strpbrk(user, "\r\n\t:") == NULL);
	FUZZ_CHECK(password != NULL && *password != '\0');
	cur.auth_calls++;
	snprintf(cur.auth_user, sizeof(cur.auth_user), "%s", user);

	*roles = 0;
	account[0] = display[0] = '\0';
	for (size_t i = 0; i <= n; i++)
		name[i] = user[i] >= 'A' && user[i] <= 'Z' ?
		    (char)(user[i] - 'A' + 'a') : user[i];
	for (size_t i = 0; i < sizeof(accounts) / sizeof(accounts[0]); i++)
		if (strcmp(accounts[i].name, name) == 0)
			a = &accounts[i];
	if (a != NULL && a->r == CS_ERR_IO) {
		snprintf(why, whylen, "PAM service '%s' cannot start",
		    cfg->pam_service);
		r = CS_ERR_IO;
	} else if (a == NULL || strcmp(password, PASSWORD) != 0) {
		snprintf(why, whylen, "wrong account or password");
		r = CS_ERR_CRYPTO;
	} else if (a->r == CS_ERR_STATE) {
		snprintf(why, whylen, "this account may not log in now");
		r = CS_ERR_STATE;
	} else if (a->r == CS_ERR_NOTFOUND) {
		snprintf(why, whylen, "the account %s is in none of the groups", name);
		r = CS_ERR_NOTFOUND;
	} else {
		snprintf(account, alen, "%s", a->name);
		snprintf(display, dlen, "%s", *a->display ? a->display : a->name);
		*roles = a->roles;
		r = CS_OK;
	}
	cur.auth_r = r;
	snprintf(cur.auth_account, sizeof(cur.auth_account), "%s", account);
	cur.auth_roles = *roles;
	return r;
}

/* --- stubs of the handlers behind the routes ------------------------ */

static int stub_calls;

static enum MHD_Result stub(ks_req *rq, const char *path)
{
	const struct route *rt = route_of(path);
	struct known *k = check_admitted(rq, rq->conn, rq->method);

	stub_calls++;
	FUZZ_CHECK(rt != NULL && strcmp(rq->path, path) == 0);
	FUZZ_CHECK(strcmp(rq->method, rt->method) == 0 ||
	    (strcmp(rq->method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0));
	FUZZ_CHECK(rq->has_sess);
	FUZZ_CHECK(strcmp(rq->sess.sid, k->sid) == 0 &&
	    strcmp(rq->sess.csrf, k->csrf) == 0);
	if (strcmp(rq->method, "POST") == 0) {
		FUZZ_CHECK(rq->form != NULL);
		(void)ks_form_get(rq->form, "pin");
	} else {
		FUZZ_CHECK(rq->form == NULL);
		(void)ks_arg(rq, "q");
	}
	if (rt->roles != 0) {
		FUZZ_CHECK(k->logged_in);
		FUZZ_CHECK(strcmp(rq->sess.account, k->account) == 0);
		FUZZ_CHECK(rq->sess.roles == k->roles);
		FUZZ_CHECK((rq->sess.roles & rt->roles) != 0);
	}
	return ks_reply(rq, 200, "application/json", "{}", 2);
}

#define STUB(fn, path) \
	enum MHD_Result fn(ks_req *rq) { return stub(rq, path); }
STUB(ks_api_features, "/api/features")
STUB(ks_api_run_state, "/api/state")
STUB(ks_api_readers, "/api/readers")
STUB(ks_api_runs, "/api/runs")
STUB(ks_api_folders, "/api/folders")
STUB(ks_api_inspect, "/api/inspect")
STUB(ks_api_import, "/api/import")
STUB(ks_api_run_start, "/api/run/start")
STUB(ks_api_run_answer, "/api/run/answer")
STUB(ks_api_run_control, "/api/run/control")
STUB(ks_api_letter, "/api/letter")
STUB(ks_api_search, "/api/search")
STUB(ks_api_export, "/api/export.csv")
STUB(ks_api_lost, "/api/lost")
STUB(ks_api_wipe, "/api/wipe")
STUB(ks_api_pin_reset, "/api/pin-reset")
STUB(ks_api_codes, "/api/codes")

/* verify records the card it checked for the session, as ks_desk.c does
 * (card_id=N stands for the card in the reader). */
enum MHD_Result ks_api_verify(ks_req *rq)
{
	const char *id = ks_form_get(rq->form, "card_id");
	enum MHD_Result r = stub(rq, "/api/verify");
	char *end;
	long long card;

	if (id != NULL && (card = strtoll(id, &end, 10)) > 0 && *end == '\0') {
		ks_session_saw_card(rq->srv, rq->sess.serial, card,
		    ks_form_get(rq->form, "pin") != NULL, "OK");
		known_by_sid(rq->sess.sid)->seen_card = card;
	}
	return r;
}

enum MHD_Result ks_api_handover(ks_req *rq)
{
	enum MHD_Result r = stub(rq, "/api/handover");

	FUZZ_CHECK(rq->sess.seen_card == known_by_sid(rq->sess.sid)->seen_card);
	return r;
}

static char run_stub;

int ks_run_new(ks_runctl **out, ks_server *s)
{
	(void)s;
	*out = (ks_runctl *)&run_stub;
	return CS_OK;
}

void ks_run_free(ks_runctl *rc)
{
	(void)rc;
}

/* --- set-up ---------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) < 0 || fclose(f))
		abort();
}

static char dir[] = "/tmp/fuzz-kiosk-XXXXXX";

/* The page folder goes when the run ends (not after a crash: then it
 * shows what the server saw). */
static void remove_dir(void)
{
	char path[128];

	for (size_t i = 0; i < sizeof(www_files) / sizeof(www_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/www/%s", dir, www_files[i].name);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/www/evil.js", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/www/dir.css", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/www", dir);
	rmdir(path);
	rmdir(dir);
}

/* The launch line from the key pipe, as kiosk-browser reads it. */
static void read_key(int fd)
{
	char line[512], want[512];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(line) - 1 &&
	    (n = read(fd, line + got, sizeof(line) - 1 - got)) > 0)
		got += (size_t)n;
	line[got] = '\0';
	close(fd);
	snprintf(key, sizeof(key), "%s", ks_server_key(srv));
	FUZZ_CHECK(strlen(key) == KS_KEY_HEX &&
	    strspn(key, "0123456789abcdef") == KS_KEY_HEX);
	snprintf(want, sizeof(want), "%s#k=%s\n", ks_server_url(srv), key);
	FUZZ_CHECK(strcmp(line, want) == 0);
	memcpy(xkey, key, sizeof(key));
	xkey[KS_KEY_HEX - 1] = key[KS_KEY_HEX - 1] == '0' ? '1' : '0';
}

/* The two daemons the server started, and their doors. */
static void find_doors(void)
{
	for (size_t i = 0; i < 2; i++) {
		struct MHD_Daemon *d = fake_mhd_daemon(i);
		const fake_daemon_info *in;
		ks_door *kd;
		door *dr;

		FUZZ_CHECK(d != NULL);
		in = fake_mhd_info(d);
		kd = in->dh_cls;
		dr = kd->pub ? &pub : &op;
		FUZZ_CHECK(dr->d == NULL);
		dr->d = d;
		dr->info = in;
		dr->door = kd;
		FUZZ_CHECK(kd->s == srv && kd->d == d);
		/* The gate hands them their connections: they do not listen. */
		FUZZ_CHECK((in->flags & MHD_USE_NO_LISTEN_SOCKET) && in->lfd < 0);
		FUZZ_CHECK(in->notify == ks_door_notify && in->notify_cls == kd);
		FUZZ_CHECK(in->done != NULL);
		/* libmicrohttpd's own limit is never met (see ks_door). */
		FUZZ_CHECK(kd->limit > 0 && kd->limit < in->conn_limit);
		FUZZ_CHECK(atomic_load(&kd->open) == 0);
	}
	FUZZ_CHECK(fake_mhd_daemon(2) == NULL && op.d != NULL && pub.d != NULL);
	/* One thread per operator connection; one for all page-file ones. */
	FUZZ_CHECK(op.info->flags & MHD_USE_THREAD_PER_CONNECTION);
	FUZZ_CHECK(!(pub.info->flags & MHD_USE_THREAD_PER_CONNECTION));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char www[64], listen[96];
	ks_config cfg = {0};
	char why[256], path[128];
	int kp[2];

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_HTTP_TRACE") != NULL;
	real_stderr = stderr;
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(remove_dir);
	snprintf(www, sizeof(www), "%s/www", dir);
	snprintf(listen, sizeof(listen), "unix:%s/kiosk.sock", dir);
	if (mkdir(www, 0700) != 0)
		abort();
	for (size_t i = 0; i < sizeof(www_files) / sizeof(www_files[0]); i++)
		write_file(www, www_files[i].name, www_files[i].content);
	/* Neither a link out of the folder nor a folder is a page file. */
	snprintf(path, sizeof(path), "%s/evil.js", www);
	if (symlink("/etc/passwd", path) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/dir.css", www);
	if (mkdir(path, 0700) != 0)
		abort();
	if (pipe(kp) != 0)
		abort();
	cfg.listen = listen;
	cfg.www = www;
	cfg.idle_s = 3600;
	cfg.key_fd = kp[1];         /* closed by ks_key_handout */
	cfg.pam_service = "cardstation";
	cfg.role_prefix = "cardstation";
	if (ks_server_start(&srv, &cfg, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, "fuzz_http: %s\n", why);
		abort();
	}
	/* The socket file is not needed: requests come through the fake, and
	 * nothing can connect to the gate. */
	unlink(listen + 5);
	read_key(kp[0]);
	find_doors();
	return 0;
}

/* --- one request ------------------------------------------------------ */

typedef struct req {
	char *method, *target;
	struct MHD_Connection *conn;
	const char *body;
	size_t bodylen, chunk, repeat;
	bool same_conn;
} req;

/* The $-names replaced by this input's key and session. */
static char *substitute(const uint8_t *p, size_t n, const struct known *k)
{
	static const char *const names[] = {"$KEY", "$XKEY", "$SID", "$OLDSID",
	    "$CSRF"};
	const char *vals[] = {key, xkey, k->sid, k->oldsid, k->csrf};
	size_t cap = n + 1, len = 0;
	char *out = malloc(cap);

	if (out == NULL)
		abort();
	for (size_t i = 0; i < n;) {
		const char *rep = NULL;
		size_t skip = 1;

		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			size_t nl = strlen(names[j]);

			if (n - i >= nl && memcmp(p + i, names[j], nl) == 0) {
				rep = vals[j];
				skip = nl;
				break;
			}
		}
		if (len + (rep ? strlen(rep) : 1) + 1 > cap) {
			cap = 2 * cap + 128;
			if ((out = realloc(out, cap)) == NULL)
				abort();
		}
		if (rep != NULL) {
			memcpy(out + len, rep, strlen(rep));
			len += strlen(rep);
		} else {
			out[len++] = (char)p[i];
		}
		i += skip;
	}
	out[len] = '\0';
	return out;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void add_cookies(struct MHD_Connection *c, char *v)
{
	for (char *save = NULL, *kv = strtok_r(v, ";", &save); kv != NULL;
	    kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		fake_conn_add(c, MHD_COOKIE_KIND, trim(kv), trim(eq + 1));
	}
}

static void add_args(struct MHD_Connection *c, char *q)
{
	for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv != NULL;
	    kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');

		if (eq != NULL)
			*eq = '\0';
		fake_conn_add(c, MHD_GET_ARGUMENT_KIND, kv, eq ? eq + 1 : "");
	}
}

/* Parse text (modified in place) into r. */
static void parse(char *text, size_t len, req *r)
{
	char *end = text + len, *line = text, *nl, *q;
	bool first = true;

	memset(r, 0, sizeof(*r));
	r->conn = fake_conn_new();
	r->chunk = 4096;
	r->repeat = 1;
	r->method = "GET";
	r->target = "/";
	while (line < end) {
		char *colon;

		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		*nl = '\0';
		if (first) {
			char *sp = strchr(line, ' ');

			if (sp != NULL) {
				*sp = '\0';
				r->target = sp + 1;
			}
			r->method = line;
			first = false;
		} else if (*line == '\0' || strcmp(line, "\r") == 0) {
			line = nl + 1;
			break;
		} else if ((colon = strchr(line, ':')) != NULL) {
			*colon = '\0';
			if (strcasecmp(line, "Cookie") == 0) {
				add_cookies(r->conn, colon + 1);
			} else {
				fake_conn_add(r->conn, MHD_HEADER_KIND, trim(line),
				    trim(colon + 1));
				if (strcasecmp(line, "X-Fuzz-Chunk") == 0)
					r->chunk = (size_t)strtoul(colon + 1, NULL, 10);
				if (strcasecmp(line, "X-Fuzz-Repeat") == 0)
					r->repeat = (size_t)strtoul(colon + 1, NULL, 10);
				if (strcasecmp(line, "X-Fuzz-Same-Connection") == 0)
					r->same_conn = true;
			}
		}
		line = nl + 1;
	}
	if (r->chunk == 0 || r->chunk > 65536)
		r->chunk = 4096;
	if (r->repeat == 0 || r->repeat > 70000)
		r->repeat = 1;
	r->body = line < end ? line : "";
	r->bodylen = line < end ? (size_t)(end - line) : 0;
	if ((q = strchr(r->target, '?')) != NULL) {
		*q = '\0';
		add_args(r->conn, q + 1);
	}
}

/* The head as the gate hands it to ks_head_has_key (through the last
 * header line's LF), or 0 if its blank line never comes. */
static size_t head_len(const char *b, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (b[i] != '\n')
			continue;
		if (b[i + 1] == '\n')
			return i + 1;
		if (b[i + 1] == '\r' && i + 2 < n && b[i + 2] == '\n')
			return i + 2;
	}
	return 0;
}

/* Whether the head's line NAME: ... (NAME exactly, any case) holds
 * needle; with exact, whether its value is needle, blanks around. */
static bool head_line_has(const char *head, size_t len, const char *name,
    const char *needle, bool exact)
{
	const char *p = memchr(head, '\n', len), *end = head + len;
	size_t nl = strlen(name);

	while (p != NULL && p + 1 < end) {
		const char *line = p + 1, *e = memchr(line, '\n', (size_t)(end - line));
		size_t ll = (size_t)((e ? e : end) - line);
		char *copy;
		bool hit = false;

		if (ll > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			char *v, *e2;

			copy = fuzz_strndup(line + nl + 1, ll - nl - 1);
			/* As the gate reads a value: one CR off the line's end,
			 * then blanks off both ends. */
			e2 = copy + strlen(copy);
			if (e2 > copy && e2[-1] == '\r')
				*--e2 = '\0';
			while (e2 > copy && (e2[-1] == ' ' || e2[-1] == '\t'))
				*--e2 = '\0';
			for (v = copy; *v == ' ' || *v == '\t'; v++)
				;
			hit = exact ? strcmp(v, needle) == 0 :
			    strstr(copy, needle) != NULL;
			free(copy);
		}
		if (hit)
			return true;
		p = e;
	}
	return false;
}

/* A Cookie line whose cookies, split at ';' with spaces around, include
 * exactly ks_key=KEY: the form the page's browser sends. */
static bool head_has_plain_cookie(const char *head, size_t len)
{
	const char *p = memchr(head, '\n', len), *end = head + len;

	while (p != NULL && p + 1 < end) {
		const char *line = p + 1, *e = memchr(line, '\n', (size_t)(end - line));
		size_t ll = (size_t)((e ? e : end) - line);
		bool hit = false;

		if (ll > 7 && strncasecmp(line, "Cookie:", 7) == 0) {
			char *copy = fuzz_strndup(line + 7, ll - 7), *save = NULL;
			char want[KS_KEY_HEX + 8];

			snprintf(want, sizeof(want), "ks_key=%s", key);
			for (char *c = strtok_r(copy, ";", &save); c != NULL && !hit;
			    c = strtok_r(NULL, ";", &save)) {
				while (*c == ' ')
					c++;
				for (size_t n = strlen(c); n > 0 && c[n - 1] == ' ';)
					c[--n] = '\0';
				hit = strcmp(c, want) == 0;
			}
			free(copy);
		}
		if (hit)
			return true;
		p = e;
	}
	return false;
}

/* The gate's decision on a head, and what it must be. */
static bool gate_says_key(const char *head, size_t len)
{
	bool has = ks_head_has_key(head, len, key) != 0;
	char kv[KS_KEY_HEX + 8];

	snprintf(kv, sizeof(kv), "ks_key=%s", key);
	if (has)
		FUZZ_CHECK(head_line_has(head, len, "Cookie", kv, false) ||
		    head_line_has(head, len, "X-Kiosk-Key", key, false));
	if (head_line_has(head, len, "X-Kiosk-Key", key, true) ||
	    head_has_plain_cookie(head, len))
		FUZZ_CHECK(has);
	return has;
}

static void conn_close(void)
{
	if (conn.dr == NULL)
		return;
	fake_mhd_close(conn.dr->d, conn.sock, &conn.sock_ctx);
	fake_conn_free(conn.sock);
	conn.dr = NULL;
	FUZZ_CHECK(atomic_load(&op.door->open) == 0);
	FUZZ_CHECK(atomic_load(&pub.door->open) == 0);
}

/* The gate's hand-over (ks_gate.c hand_over): counted, then opened. */
static void conn_open(door *dr)
{
	FUZZ_CHECK(atomic_load(&dr->door->open) < dr->door->limit);
	atomic_fetch_add(&dr->door->open, 1);
	conn.dr = dr;
	conn.sock = fake_conn_new();
	conn.sock_ctx = NULL;
	fake_mhd_open(dr->d, conn.sock, &conn.sock_ctx);
	/* Counted for as long as it is open. */
	FUZZ_CHECK(atomic_load(&dr->door->open) == 1);
}

/* Whether the reply's body holds needle (bodies need not end in NUL). */
static const char *reply_has(const struct MHD_Connection *c,
    const char *needle)
{
	size_t len;
	const char *body = fake_conn_reply_body(c, &len);

	return body ? memmem(body, len, needle, strlen(needle)) : NULL;
}

/* The roles an answer's "roles":[...] lists; ~0u if it lists none, or
 * anything but role names. */
static unsigned roles_in_reply(const struct MHD_Connection *c)
{
	size_t len;
	const char *body = fake_conn_reply_body(c, &len);
	const char *p = reply_has(c, "\"roles\":["), *end;
	unsigned roles = 0;

	if (p == NULL)
		return ~0u;
	p += 9;
	if ((end = memchr(p, ']', len - (size_t)(p - body))) == NULL)
		return ~0u;
	while (p < end) {
		unsigned b;

		for (b = 1; b & KS_ROLE_ANY; b <<= 1) {
			size_t n = strlen(ks_role_name(b));

			if ((size_t)(end - p) >= n + 2 && p[0] == '"' &&
			    memcmp(p + 1, ks_role_name(b), n) == 0 && p[n + 1] == '"' &&
			    !(roles & b))
				break;
		}
		if (!(b & KS_ROLE_ANY))
			return ~0u;
		roles |= b;
		p += strlen(ks_role_name(b)) + 2;
		if (p < end && *p++ != ',')
			return ~0u;
	}
	return roles;
}

static bool is_api(const char *path)
{
	return strncmp(path, "/api/", 5) == 0;
}

/* The answer's cookies and where the key shows. */
static void check_cookies(const req *r, bool admitted, bool new_sid_ok,
    const char **sid_cookie)
{
	const char *name, *val;
	bool is_post = strcmp(r->method, "POST") == 0;
	bool echo = strstr(r->target, key) != NULL ||
	    strstr(r->method, key) != NULL;

	*sid_cookie = NULL;
	for (size_t i = 0; (name = fake_conn_reply_header_at(r->conn, i, &val));
	    i++) {
		if (strcasecmp(name, "Set-Cookie") != 0) {
			FUZZ_CHECK(echo || strstr(val, key) == NULL);
			continue;
		}
		FUZZ_CHECK(admitted);
		if (strncmp(val, "ks_key=", 7) == 0) {
			FUZZ_CHECK(is_post && strcmp(r->target, "/api/key") == 0);
			FUZZ_CHECK(strncmp(val + 7, key, KS_KEY_HEX) == 0 &&
			    val[7 + KS_KEY_HEX] == ';');
		} else {
			FUZZ_CHECK(strncmp(val, "ks_sid=", 7) == 0 && new_sid_ok);
			FUZZ_CHECK(strstr(val, key) == NULL);
			FUZZ_CHECK(*sid_cookie == NULL);
			*sid_cookie = val + 7;
		}
	}
	if (reply_has(r->conn, key) != NULL)
		FUZZ_CHECK(echo);
}

/* Neither the password nor the key is in the log, unless the operator
 * typed it as the account name, which is logged if it looks like one. */
static void check_log(const char *log, size_t len)
{
	char *text = fuzz_strndup(log, len);

	if (strstr(text, PASSWORD) != NULL)
		FUZZ_CHECK(strcasestr(cur.auth_user, PASSWORD) != NULL);
	if (strstr(text, key) != NULL)
		FUZZ_CHECK(strcasestr(cur.auth_user, key) != NULL);
	free(text);
}

/* Run r through the door's daemon the way libmicrohttpd would. */
static enum MHD_Result serve(req *r, door *dr)
{
	const fake_daemon_info *in = dr->info;
	void *con_cls = NULL;
	size_t up = 0, sent = 0, total = r->bodylen * r->repeat;
	enum MHD_Result res;

	res = in->dh(in->dh_cls, r->conn, r->target, r->method, "HTTP/1.1", NULL,
	    &up, &con_cls);
	while (res == MHD_YES && sent < total) {
		size_t off = sent % r->bodylen, n = r->bodylen - off;

		if (n > r->chunk)
			n = r->chunk;
		up = n;
		res = in->dh(in->dh_cls, r->conn, r->target, r->method, "HTTP/1.1",
		    r->body + off, &up, &con_cls);
		FUZZ_CHECK(up == 0); /* the body is always taken */
		sent += n;
	}
	if (res == MHD_YES) {
		up = 0;
		res = in->dh(in->dh_cls, r->conn, r->target, r->method, "HTTP/1.1",
		    NULL, &up, &con_cls);
	}
	in->done(in->done_cls, r->conn, &con_cls,
	    MHD_REQUEST_TERMINATED_COMPLETED_OK);
	FUZZ_CHECK(con_cls == NULL);
	return res;
}

static enum MHD_Result run(req *r, door *dr)
{
	const char *sid, *kv, *new_sid;
	struct known *k;
	int calls_before = stub_calls;
	unsigned status;
	bool admitted, is_post = strcmp(r->method, "POST") == 0;
	bool login = is_post && strcmp(r->target, "/api/login") == 0;
	bool fresh_ok;
	enum MHD_Result res;
	FILE *logf;
	char *log = NULL;
	size_t loglen = 0;

	memset(&cur, 0, sizeof(cur));
	cur.conn = r->conn;
	cur.via_op = dr == &op;
	kv = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "ks_key");
	cur.key = kv != NULL && strcmp(kv, key) == 0;
	kv = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Kiosk-Key");
	cur.key |= kv != NULL && strcmp(kv, key) == 0;
	admitted = cur.via_op && cur.key;

	/* The kiosk's log (its stderr) of this request, kept to look at. */
	if ((logf = open_memstream(&log, &loglen)) == NULL)
		abort();
	stderr = logf;
	res = serve(r, dr);
	stderr = real_stderr;
	fclose(logf);
	check_log(log, loglen);
	if (trace)
		fwrite(log, 1, loglen, stderr);
	free(log);
	status = fake_conn_status(r->conn);
	if (trace)
		fprintf(stderr, "%s %s [%s%s] -> %s %u%s%s\n", r->method, r->target,
		    dr->name, cur.key ? ", key" : "", res == MHD_YES ? "YES" : "NO",
		    status, stub_calls > calls_before ? " (handler)" : "",
		    cur.auth_calls ? " (PAM)" : "");

	FUZZ_CHECK(fake_conn_queued(r->conn) <= 1);
	if (res == MHD_YES)
		FUZZ_CHECK(fake_conn_queued(r->conn) == 1);
	if (fake_conn_queued(r->conn) == 1) {
		FUZZ_CHECK(fake_conn_reply_header(r->conn,
		    "Content-Security-Policy") != NULL);
		FUZZ_CHECK(fake_conn_reply_header(r->conn, "X-Frame-Options"));
		FUZZ_CHECK(fake_conn_reply_header(r->conn, "X-Content-Type-Options"));
		FUZZ_CHECK(fake_conn_reply_header(r->conn, "Cache-Control"));
		if (dr == &pub) {
			const char *c = fake_conn_reply_header(r->conn, "Connection");

			FUZZ_CHECK(c != NULL && strcmp(c, "close") == 0);
		}
	}

	/* No API without the key. */
	if (is_api(r->target) && !admitted) {
		FUZZ_CHECK(status == 403 || status == 405);
		FUZZ_CHECK(stub_calls == calls_before && cur.auth_calls == 0);
	}
	fresh_ok = (is_api(r->target) && !is_post &&
	    strcmp(r->target, "/api/session") == 0) ||
	    (login && cur.auth_calls == 1 && cur.auth_r == CS_OK);
	check_cookies(r, admitted, fresh_ok, &new_sid);

	sid = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "ks_sid");
	k = known_by_sid(sid);
	/* Refusals that name the session's state must be right about it. */
	if (admitted && k != NULL) {
		const struct route *rt = route_of(r->target);

		if (reply_has(r->conn, "\"error\":\"role\"") != NULL)
			FUZZ_CHECK(rt != NULL && k->logged_in &&
			    (rt->roles & k->roles) == 0);
		if (reply_has(r->conn, "\"error\":\"login\"") != NULL)
			FUZZ_CHECK(!k->logged_in);
	}
	/* A login: what PAM said, and nothing else, makes the session. */
	if (login && cur.auth_calls > 0) {
		FUZZ_CHECK(cur.auth_calls == 1 && k != NULL);
		if (cur.auth_r == CS_OK) {
			char want[KS_ACCOUNT_MAX + 16];

			FUZZ_CHECK(status == 200 && new_sid != NULL);
			snprintf(want, sizeof(want), "\"account\":\"%s\"",
			    cur.auth_account);
			FUZZ_CHECK(reply_has(r->conn, want) != NULL);
			FUZZ_CHECK(roles_in_reply(r->conn) == cur.auth_roles);
			snprintf(k->oldsid, sizeof(k->oldsid), "%s", k->sid);
			snprintf(k->sid, sizeof(k->sid), "%.64s", new_sid);
			FUZZ_CHECK(strcmp(k->sid, k->oldsid) != 0);
			k->logged_in = true;
			snprintf(k->account, sizeof(k->account), "%s", cur.auth_account);
			k->roles = cur.auth_roles;
			k->seen_card = 0;
		} else {
			FUZZ_CHECK(status == 401 || status == 403 || status == 503);
		}
	}
	if (status != 200)
		return res;
	/* A page file: one of ours, never what a link points to. */
	if (!is_api(r->target)) {
		size_t len;
		const char *body = fake_conn_reply_body(r->conn, &len);
		bool ours = false;

		for (size_t i = 0; i < sizeof(www_files) / sizeof(www_files[0]);
		    i++)
			ours |= len == strlen(www_files[i].content) &&
			    memcmp(body, www_files[i].content, len) == 0;
		FUZZ_CHECK(ours);
		FUZZ_CHECK(stub_calls == calls_before);
		return res;
	}
	FUZZ_CHECK(admitted);
	/* A new session. */
	if (new_sid != NULL && !login) {
		const char *csrf = reply_has(r->conn, "\"csrf\":\"");

		FUZZ_CHECK(csrf != NULL && known_by_sid(new_sid) == NULL);
		if (nknown < MAX_KNOWN) {
			k = &known[nknown++];
			memset(k, 0, sizeof(*k));
			snprintf(k->sid, sizeof(k->sid), "%.64s", new_sid);
			snprintf(k->csrf, sizeof(k->csrf), "%.64s", csrf + 8);
		}
		return res;
	}
	if (k == NULL)
		return res;
	if (strcmp(r->target, "/api/events") == 0)
		FUZZ_CHECK(k->logged_in);
	else if (is_post && strcmp(r->target, "/api/logout") == 0)
		log_out(k);
	return res;
}

/* One request: through the gate, then its door's daemon. */
static void one_request(char *text)
{
	size_t len = strlen(text), hl = head_len(text, len);
	bool with_key = false;
	door *dr;
	req r;

	if (hl != 0)
		with_key = gate_says_key(text, hl);
	parse(text, len, &r);
	if (hl == 0) {
		/* The head never completes: the gate (or, on a kept
		 * connection, libmicrohttpd) drops the connection. */
		conn_close();
		fake_conn_free(r.conn);
		return;
	}
	if (!(r.same_conn && conn.dr == &op)) {
		conn_close();
		/* A head longer than the gate's buffer never leaves it. */
		if (hl + 1 > GATE_HEAD_MAX) {
			fake_conn_free(r.conn);
			return;
		}
		conn_open(with_key ? &op : &pub);
	}
	dr = conn.dr;
	/* The page-file daemon closes after each answer; MHD_NO closes. */
	if (run(&r, dr) != MHD_YES || dr == &pub)
		conn_close();
	fake_conn_free(r.conn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t open_session[] =
	    "GET /api/session\nHost: " HOST "\nCookie: ks_key=$KEY\n\n";
	fuzz_cut c = {data, size};
	const uint8_t *part;
	size_t len;
	char *text;

	/* Every input starts with a session of its own, on a connection of
	 * its own. */
	nknown = 0;
	memset(known, 0, sizeof(known));
	conn_close();
	text = substitute(open_session, sizeof(open_session) - 1, &known[0]);
	one_request(text);
	free(text);
	FUZZ_CHECK(nknown == 1);

	for (int i = 0; i < 16 && fuzz_cut_next(&c, 0, &part, &len); i++) {
		text = substitute(part, len, &known[0]);
		one_request(text);
		free(text);
	}
	conn_close();
	FUZZ_CHECK(fake_mhd_added() == 0);
	return 0;
}
