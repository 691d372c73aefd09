/* fuzz_http.c - the kiosk's request handling (kiosk/ks_server.c with
 * ks_form.c and ks_hub.c), driven without a socket.
 *
 * What is ours runs unchanged: ks_server_start() (listening on a Unix
 * socket nobody connects to), then its request callback for each fuzzed
 * request, called the way libmicrohttpd calls it (a first call, the body
 * in chunks, a last call, then the completion callback). libmicrohttpd
 * itself is replaced by fake_mhd.c: its HTTP parsing (request line,
 * header syntax, cookies, percent-decoding of the path, chunked bodies)
 * is not ours and is not fuzzed here. The API handlers behind the routes
 * (ks_api.c, ks_run.c, ks_desk.c) are stubs: they reach the journal, the
 * readers and encode workers; the stubs check who got through.
 *
 * Input: requests separated by NUL bytes, each
 *   METHOD SP TARGET LF (Name: value LF)* LF body
 * where $SID and $CSRF stand for the session the target opens first
 * (GET /api/session), a Cookie header gives cookies, the query gives the
 * arguments, X-Fuzz-Chunk: N the body's chunk size and X-Fuzz-Repeat: N
 * repeats the body (to go past the body limit).
 *
 * Properties: a request answered MHD_YES has exactly one response, and no
 * request gets two; every response carries the security headers and no
 * header holds a line break; a handler runs only for our Host, with a
 * session the server handed out, with that session's CSRF token (and our
 * Origin, if any) on a POST, and, behind the login, for a session whose
 * login succeeded; a static file served is one of the page's own files. */
#include "fuzz_util.h"
#include "fake_mhd.h"

#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cs_err.h"
#include "ks.h"

#define HOST "localhost"
#define MAX_KNOWN 16

static MHD_AccessHandlerCallback on_request;
static void *on_request_cls;
static MHD_RequestCompletedCallback on_done;
static void *on_done_cls;

static const struct {
	const char *name, *content;
} www_files[] = {
	{"index.html", "<!doctype html><title>fuzz</title>"},
	{"app.js", "// app"},
	{"style.css", "/* style */"},
};

/* Sessions the server handed out during this input. */
static struct known {
	char sid[65], csrf[65];
	bool logged_in;
} known[MAX_KNOWN];
static size_t nknown;
static int trace; /* FUZZ_HTTP_TRACE=1: print each request and its status */

static struct known *known_by_sid(const char *sid)
{
	for (size_t i = 0; sid != NULL && i < nknown; i++)
		if (strcmp(known[i].sid, sid) == 0)
			return &known[i];
	return NULL;
}

/* --- stubs of the handlers behind the routes ------------------------ */

static int stub_calls;

static enum MHD_Result stub(ks_req *rq, int login)
{
	const char *host = MHD_lookup_connection_value(rq->conn,
	    MHD_HEADER_KIND, "Host");
	const char *sid = MHD_lookup_connection_value(rq->conn,
	    MHD_COOKIE_KIND, "ks_sid");
	const char *tok = MHD_lookup_connection_value(rq->conn,
	    MHD_HEADER_KIND, "X-CSRF-Token");
	const char *origin = MHD_lookup_connection_value(rq->conn,
	    MHD_HEADER_KIND, "Origin");
	struct known *k = known_by_sid(sid);

	stub_calls++;
	FUZZ_CHECK(host != NULL && strcmp(host, HOST) == 0);
	FUZZ_CHECK(rq->has_sess && k != NULL);
	FUZZ_CHECK(strcmp(rq->sess.sid, k->sid) == 0 &&
	    strcmp(rq->sess.csrf, k->csrf) == 0);
	if (strcmp(rq->method, "POST") == 0) {
		FUZZ_CHECK(rq->form != NULL);
		FUZZ_CHECK(tok != NULL && strcmp(tok, k->csrf) == 0);
		FUZZ_CHECK(origin == NULL || strcmp(origin, "http://" HOST) == 0);
		(void)ks_form_get(rq->form, "pin");
	} else {
		FUZZ_CHECK(strcmp(rq->method, "GET") == 0 ||
		    strcmp(rq->method, "HEAD") == 0);
		(void)ks_arg(rq, "q");
	}
	if (login)
		FUZZ_CHECK(k->logged_in);
	return ks_reply(rq, 200, "application/json", "{}", 2);
}

#define STUB(fn, login) \
	enum MHD_Result fn(ks_req *rq) { return stub(rq, login); }
STUB(ks_api_features, 0)
STUB(ks_api_run_state, 1)
STUB(ks_api_readers, 1)
STUB(ks_api_runs, 1)
STUB(ks_api_folders, 1)
STUB(ks_api_inspect, 1)
STUB(ks_api_import, 1)
STUB(ks_api_run_start, 1)
STUB(ks_api_run_answer, 1)
STUB(ks_api_run_control, 1)
STUB(ks_api_letter, 1)
STUB(ks_api_search, 1)
STUB(ks_api_export, 1)
STUB(ks_api_verify, 1)
STUB(ks_api_lost, 1)
STUB(ks_api_wipe, 1)

static char run_stub;

int ks_run_new(ks_runctl **out, ks_server *srv)
{
	(void)srv;
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char www[64], listen[96];
	ks_config cfg = {0};
	ks_server *srv;
	char why[256], path[128];

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_HTTP_TRACE") != NULL;
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
	cfg.listen = listen;
	cfg.www = www;
	cfg.idle_s = 3600;
	if (ks_server_start(&srv, &cfg, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, "fuzz_http: %s\n", why);
		abort();
	}
	/* The socket file is not needed: requests come through the fake. */
	unlink(listen + 5);
	fake_mhd_handlers(&on_request, &on_request_cls, &on_done, &on_done_cls);
	if (on_request == NULL || on_done == NULL)
		abort();
	return 0;
}

/* --- one request ------------------------------------------------------ */

typedef struct req {
	char *method, *target;
	struct MHD_Connection *conn;
	const char *body;
	size_t bodylen, chunk, repeat;
} req;

/* "$SID" and "$CSRF" replaced by the session opened for this input. */
static char *substitute(const uint8_t *p, size_t n, const struct known *k)
{
	size_t cap = n + 1, len = 0;
	char *out = malloc(cap);

	if (out == NULL)
		abort();
	for (size_t i = 0; i < n;) {
		const char *rep = NULL;
		size_t skip = 1;

		if (n - i >= 4 && memcmp(p + i, "$SID", 4) == 0)
			rep = k->sid, skip = 4;
		else if (n - i >= 5 && memcmp(p + i, "$CSRF", 5) == 0)
			rep = k->csrf, skip = 5;
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

/* Whether the reply's body holds needle (bodies need not end in NUL). */
static const char *reply_has(const struct MHD_Connection *c,
    const char *needle)
{
	size_t len;
	const char *body = fake_conn_reply_body(c, &len);

	return body ? memmem(body, len, needle, strlen(needle)) : NULL;
}

static bool is_api(const char *path)
{
	return strncmp(path, "/api/", 5) == 0;
}

/* Run r through the server the way libmicrohttpd would. */
static void run(req *r)
{
	void *con_cls = NULL;
	size_t up = 0, sent = 0, total = r->bodylen * r->repeat;
	enum MHD_Result res;
	const char *sid;
	struct known *k;
	int calls_before = stub_calls;

	res = on_request(on_request_cls, r->conn, r->target, r->method,
	    "HTTP/1.1", NULL, &up, &con_cls);
	while (res == MHD_YES && sent < total) {
		size_t off = sent % r->bodylen, n = r->bodylen - off;

		if (n > r->chunk)
			n = r->chunk;
		up = n;
		res = on_request(on_request_cls, r->conn, r->target, r->method,
		    "HTTP/1.1", r->body + off, &up, &con_cls);
		FUZZ_CHECK(up == 0); /* the body is always taken */
		sent += n;
	}
	if (res == MHD_YES) {
		up = 0;
		res = on_request(on_request_cls, r->conn, r->target, r->method,
		    "HTTP/1.1", NULL, &up, &con_cls);
	}
	on_done(on_done_cls, r->conn, &con_cls,
	    MHD_REQUEST_TERMINATED_COMPLETED_OK);
	FUZZ_CHECK(con_cls == NULL);

	if (trace)
		fprintf(stderr, "%s %s -> %s %u%s\n", r->method, r->target,
		    res == MHD_YES ? "YES" : "NO", fake_conn_status(r->conn),
		    stub_calls > calls_before ? " (handler)" : "");
	FUZZ_CHECK(fake_conn_queued(r->conn) <= 1);
	if (res == MHD_YES)
		FUZZ_CHECK(fake_conn_queued(r->conn) == 1);
	if (fake_conn_queued(r->conn) == 1) {
		FUZZ_CHECK(fake_conn_reply_header(r->conn,
		    "Content-Security-Policy") != NULL);
		FUZZ_CHECK(fake_conn_reply_header(r->conn, "X-Frame-Options"));
		FUZZ_CHECK(fake_conn_reply_header(r->conn, "X-Content-Type-Options"));
		FUZZ_CHECK(fake_conn_reply_header(r->conn, "Cache-Control"));
	}
	if (fake_conn_status(r->conn) != 200)
		return;
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
		return;
	}
	/* Sessions handed out, logins and logouts, for the stubs' checks. */
	if (strcmp(r->target, "/api/session") == 0 && nknown < MAX_KNOWN) {
		const char *cookie = fake_conn_reply_header(r->conn, "Set-Cookie");
		const char *csrf = reply_has(r->conn, "\"csrf\":\"");

		if (cookie != NULL) {
			FUZZ_CHECK(strncmp(cookie, "ks_sid=", 7) == 0 && csrf);
			k = &known[nknown++];
			snprintf(k->sid, sizeof(k->sid), "%.64s", cookie + 7);
			snprintf(k->csrf, sizeof(k->csrf), "%.64s", csrf + 8);
			k->logged_in = false;
		}
	}
	sid = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "ks_sid");
	if ((k = known_by_sid(sid)) == NULL)
		return;
	if (strcmp(r->target, "/api/login") == 0)
		k->logged_in = reply_has(r->conn, "\"operator\":null") == NULL;
	else if (strcmp(r->target, "/api/logout") == 0)
		k->logged_in = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cut c = {data, size};
	const uint8_t *part;
	size_t len;
	req r;
	char open_session[] = "GET /api/session\nHost: " HOST "\n\n";

	/* Every input starts with a session of its own. */
	nknown = 0;
	parse(open_session, strlen(open_session), &r);
	run(&r);
	fake_conn_free(r.conn);
	FUZZ_CHECK(nknown == 1);

	for (int i = 0; i < 16 && fuzz_cut_next(&c, 0, &part, &len); i++) {
		char *text = substitute(part, len, &known[0]);

		parse(text, strlen(text), &r);
		run(&r);
		fake_conn_free(r.conn);
		free(text);
	}
	return 0;
}
