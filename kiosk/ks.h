/* ks.h - the kiosk: a small local web server over the engine.
 *
 * One process serves the operator's page (static files from a www folder)
 * and a JSON API under /api/, with live updates as Server-Sent Events.
 * Parts, each a file:
 *
 *   ks_app.c     the routes and the run part, handed to the server
 *   ks_server.c  the daemons: listening (loopback or a Unix socket only),
 *                Host check, security headers, sessions, CSRF, idle
 *                timeout, routing with roles (of a table it is given),
 *                static files
 *   ks_gate.c    who gets served: every connection waits here until its
 *                request head is complete; heads with this start's key go
 *                to the operator's daemon, the rest to a small one that
 *                only serves the page's files and refuses the API
 *   ks_auth.c    the per-start key; operator login through PAM; roles
 *                from Unix groups
 *   ks_guard.c   a card's last PIN or PUK try, and wrong tries per card
 *   ks_form.c    POST bodies (urlencoded) held in locked memory
 *   ks_hub.c     the event stream pushed to every open page
 *   ks_run.c     the encoding run: cs_run's events turned into page state;
 *                PIN letters held once in locked memory
 *   ks_api.c     runs, import with inspect's verdicts, journal search, CSV
 *   ks_desk.c    handover and service desk (verify, lost, wipe, PIN reset)
 *
 * Threads: the gate has one thread; the operator's daemon runs one thread
 * per connection (at most KS_OP_CONNS); the page-file daemon one thread
 * for all of its connections. Every shared field of ks_server is under
 * its lock. Nothing here is global. */
#ifndef KS_H
#define KS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <microhttpd.h>

#include "cs_secret.h"

#define KS_MAX_READERS 16
#define KS_MAX_ROOTS 8
#define KS_MAX_SESSIONS 4
#define KS_MAX_LETTERS 32
#define KS_BODY_MAX (64 * 1024)
#define KS_KEY_HEX 64               /* the per-start key, hex */
#define KS_ACCOUNT_MAX 64

/* Roles, from Unix groups PREFIX-encode, PREFIX-desk, PREFIX-admin. */
enum {
	KS_ROLE_ENCODE = 1 << 0,    /* runs, PIN letters, handover */
	KS_ROLE_DESK = 1 << 1,      /* verify, lost, returned, export */
	KS_ROLE_ADMIN = 1 << 2,     /* import a download, the institution PUK */
	KS_ROLE_ANY = KS_ROLE_ENCODE | KS_ROLE_DESK | KS_ROLE_ADMIN,
};

typedef struct ks_config {
	const char *listen;         /* "127.0.0.1:8470", "[::1]:8470", "unix:PATH" */
	const char *www;            /* the page's files */
	const char *journal;        /* NULL: cs_journal_path(NULL) */
	const char *readers[KS_MAX_READERS]; /* SPECs; none: every reader */
	size_t nreaders;
	const char *roots[KS_MAX_ROOTS];    /* where to look for downloads */
	size_t nroots;
	const char *profile, *profiles_dir, *institution;
	const char *ca;             /* PEM of the issuing CA, for verify */
	const char *admin_mail;     /* column 10 of a revocation request */
	unsigned idle_s;            /* operator idle timeout */
	int no_confirm;             /* queue mode without printed numbers */
	/* The per-start key goes to the browser's launcher, never to stdout
	 * or a log: written to key_fd (a pipe of the launcher) and/or to
	 * key_file (created 0600 in a private runtime folder). */
	int key_fd;                 /* -1: none */
	const char *key_file;
	const char *pam_service;    /* "cardstation" */
	const char *pam_confdir;    /* NULL: PAM's own (/etc/pam.d) */
	const char *role_prefix;    /* "cardstation": groups cardstation-encode... */
} ks_config;

typedef struct ks_server ks_server;
typedef struct ks_hub ks_hub;
typedef struct ks_runctl ks_runctl;

/* One POST body, urlencoded, decoded in place inside locked memory. */
typedef struct ks_form {
	cs_secret *body;
	size_t n;
	char *key[32], *val[32];
} ks_form;

typedef struct ks_session {
	char sid[65], csrf[65];
	uint64_t serial;            /* never reused: letters name their session */
	char account[KS_ACCOUNT_MAX]; /* "" until the operator logs in (PAM) */
	char display[128];          /* the account's full name, for the page */
	unsigned roles;             /* KS_ROLE_* of the account */
	char lang[4];
	int64_t last_active;        /* monotonic ms */
	/* The card this session verified last (handover's identity record
	 * may only name it). */
	int64_t seen_card;
	int64_t seen_at;
	int seen_pin_ok;            /* the holder's PIN signed on it */
	char seen_verdict[8];
	int used;
} ks_session;

/* What a handler gets. sess is a copy taken under the lock. */
typedef struct ks_req {
	ks_server *srv;
	struct MHD_Connection *conn;
	const char *method, *path;
	ks_session sess;
	int has_sess;
	int pub;                    /* came without the key: page files only */
	ks_form *form;              /* POST only */
} ks_req;

/* --- ks_app.c ------------------------------------------------------- */
/* The kiosk put together: ks_server with the routes and the run part.
 * ks_server.c serves what it is given and calls into none of the parts;
 * they call it (replies, configuration), so nothing goes round in a
 * circle. */
int ks_server_start(ks_server **out, const ks_config *cfg, char *why,
    size_t whylen);

/* --- ks_server.c ---------------------------------------------------- */
typedef enum MHD_Result (*ks_handler)(ks_req *);
/* A route names the roles that may use it (0: no login needed). A handler
 * may narrow further (a run's PUK: admin; a letter: the session that
 * started the run). */
typedef struct ks_route {
	const char *method, *path;
	ks_handler fn;
	unsigned roles;
} ks_route;
/* What a server serves: its routes, and the part with a state of its own
 * (the encoding run) made at start and freed at stop. */
typedef struct ks_app {
	const ks_route *routes;
	size_t nroutes;
	int (*part_new)(ks_runctl **out, ks_server *srv);
	void (*part_free)(ks_runctl *rc);
} ks_app;
int ks_server_open(ks_server **out, const ks_config *cfg, const ks_app *app,
    char *why, size_t whylen);
/* Operator login and logout (PAM, sessions): routes of the server's own. */
enum MHD_Result ks_api_login(ks_req *rq);
enum MHD_Result ks_api_logout(ks_req *rq);
/* The address pages use, e.g. "http://127.0.0.1:8470/". */
const char *ks_server_url(const ks_server *s);
void ks_server_stop(ks_server *s);

const ks_config *ks_cfg(const ks_server *s);
ks_hub *ks_srv_hub(ks_server *s);
ks_runctl *ks_srv_run(ks_server *s);

/* Replies. Each adds the security headers and queues the response. */
enum MHD_Result ks_reply(ks_req *rq, unsigned status, const char *type,
    const void *body, size_t len);
/* body is taken over (free()d by MHD). */
enum MHD_Result ks_reply_take(ks_req *rq, unsigned status, const char *type,
    char *body, size_t len, const char *disposition);
/* A secret body: wiped and freed when sent. */
enum MHD_Result ks_reply_secret(ks_req *rq, cs_secret *body);
/* {"error": code}: the page has its own words for each code (i18n.js
 * err.<code>), no sentence travels. detail, or NULL: another layer's
 * words that name what went wrong (the journal's, the inspection's, the
 * engine's why), which the page shows in parentheses beside its own. */
enum MHD_Result ks_reply_error(ks_req *rq, unsigned status, const char *code,
    const char *detail);
/* An engine failure as the page needs it: {"error": the kiosk's word for
 * what the page does next, then the engine's message (cs_codes.h): code,
 * params, advice and detail, which the page renders from the catalogue
 * (GET /api/codes) in the session's language, and text, the same in this
 * process's language, for scripts}. ks_write_msg_error writes the
 * members without braces. */
struct cs_msg;
void ks_write_msg_error(FILE *f, const char *error, const struct cs_msg *m);
enum MHD_Result ks_reply_msg(ks_req *rq, unsigned status, const char *error,
    const struct cs_msg *m);

/* The card a session verified: for the handover record. */
void ks_session_saw_card(ks_server *s, uint64_t serial, int64_t card_id,
    int pin_ok, const char *verdict);
/* The per-start key (hex, KS_KEY_HEX chars). */
const char *ks_server_key(const ks_server *s);

/* --- ks_gate.c ------------------------------------------------------ */
typedef struct ks_gate ks_gate;
/* A daemon the gate hands connections to. The gate counts them (open:
 * handed over, not yet closed, as libmicrohttpd's connection notices say)
 * and never hands over more than limit, which stays below the daemon's
 * own MHD_OPTION_CONNECTION_LIMIT: libmicrohttpd 0.9.75 (Debian 12)
 * deadlocks when a connection added with MHD_add_connection meets that
 * limit (its cleanup mutex is left locked; fixed upstream after 0.9.77). */
typedef struct ks_door {
	ks_server *s;
	struct MHD_Daemon *d;
	int pub;                    /* the page-file daemon */
	unsigned limit;
	atomic_uint open;
} ks_door;
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback for a door. */
void ks_door_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe);
/* Accept on lfd; each connection whose request head is complete goes to
 * op (the head carries key) or pub (it does not). */
int ks_gate_start(ks_gate **out, int lfd, ks_door *op, ks_door *pub,
    const char *key, char *why, size_t whylen);
void ks_gate_stop(ks_gate *g);
/* The head (up to and without the blank line) carries key in a Cookie
 * ks_key=... or an X-Kiosk-Key header. Compared in constant time. */
int ks_head_has_key(const char *head, size_t len, const char *key);

/* --- ks_auth.c ------------------------------------------------------ */
/* A fresh key for this start, hex. */
int ks_key_new(char out[KS_KEY_HEX + 1]);
/* Hand the launch address (url + "#k=" + key) to the launcher. */
int ks_key_handout(const ks_config *cfg, const char *url, const char *key,
    char *why, size_t whylen);
void ks_key_forget(const ks_config *cfg);
/* Log user in through PAM with password; on success the account name
 * PAM settled on, its full name and its roles. CS_ERR_CRYPTO: wrong
 * user or password (why says no more, to not tell which); CS_ERR_STATE:
 * the account may not log in now (expired, locked); CS_ERR_NOTFOUND: no
 * cardstation role. */
int ks_auth_login(const ks_config *cfg, const char *user,
    const char *password, char *account, size_t alen, char *display,
    size_t dlen, unsigned *roles, char *why, size_t whylen);
/* "encode", "desk", "admin" for one bit. */
const char *ks_role_name(unsigned role);

/* --- ks_guard.c ----------------------------------------------------- */
typedef struct ks_guard ks_guard;
typedef enum ks_try_kind { KS_TRY_PIN, KS_TRY_PUK } ks_try_kind;
typedef enum ks_guard_verdict {
	KS_GUARD_GO,               /* send it */
	KS_GUARD_LAST,             /* the card's last try: needs confirm */
	KS_GUARD_BLOCKED,          /* no try left: sending is pointless */
	KS_GUARD_WAIT,             /* wrong tries lately: *wait_ms more */
	KS_GUARD_UNKNOWN,          /* the card does not say how many are
	                              left (a PUK): it may be the last, so
	                              it needs confirm too */
} ks_guard_verdict;
int ks_guard_new(ks_guard **out);
void ks_guard_free(ks_guard *g);
/* May a PIN or PUK go to card (its chip serial or "atr:...")? tries: the
 * tries the card says are left, -1 unknown (then what the guard learned
 * from the card's last refusal counts). */
ks_guard_verdict ks_guard_check(ks_guard *g, const char *card,
    ks_try_kind kind, int tries, int confirmed, int64_t now_ms,
    int64_t *wait_ms);
/* What the card answered: ok, or wrong with tries_left (-1 unknown). */
void ks_guard_result(ks_guard *g, const char *card, ks_try_kind kind,
    int ok, int tries_left, int64_t now_ms);
/* The wait after n wrong tries in a row (exposed for the tests). */
int64_t ks_guard_delay_ms(unsigned wrong);
ks_guard *ks_srv_guard(ks_server *s);

/* --- ks_form.c ------------------------------------------------------ */
int ks_form_new(ks_form **out);
int ks_form_append(ks_form *f, const char *data, size_t len);
/* Split and decode; CS_ERR_FORMAT on a bad body. */
int ks_form_parse(ks_form *f);
/* The value of key, or NULL. Points into locked memory. */
const char *ks_form_get(const ks_form *f, const char *key);
void ks_form_free(ks_form *f);
/* Decode %XX and + in place. -1 if malformed. */
int ks_urldecode(char *s);

/* --- ks_hub.c ------------------------------------------------------- */
#define KS_MAX_STREAMS 8            /* open pages; one per page */
int ks_hub_new(ks_hub **out);
void ks_hub_free(ks_hub *h);
/* Send an event (JSON object text) to every page. Never a secret. */
void ks_hub_publish(ks_hub *h, const char *type, const char *json);
/* Wake every stream so it ends (server stopping). */
void ks_hub_close(ks_hub *h);
/* The response that streams events to one page; NULL when
 * KS_MAX_STREAMS are open (or out of memory). */
struct MHD_Response *ks_hub_stream(ks_hub *h);

/* --- ks_run.c ------------------------------------------------------- */
int ks_run_new(ks_runctl **out, ks_server *srv);
void ks_run_free(ks_runctl *rc);
enum MHD_Result ks_api_run_state(ks_req *rq);
enum MHD_Result ks_api_run_start(ks_req *rq);
enum MHD_Result ks_api_run_answer(ks_req *rq);
enum MHD_Result ks_api_run_control(ks_req *rq);
enum MHD_Result ks_api_letter(ks_req *rq);
enum MHD_Result ks_api_readers(ks_req *rq);
/* The configured readers' PC/SC names (each malloc'd), or every reader. */
int ks_pick_readers(const ks_config *cfg, char **names, size_t *n, char *why,
    size_t whylen);
/* A run is going on (its readers are busy). */
int ks_run_active(ks_runctl *rc);

/* --- ks_api.c ------------------------------------------------------- */
enum MHD_Result ks_api_runs(ks_req *rq);
/* A run's cards need the institution PUK (their profile's puk.mode). */
int ks_puk_needed(const ks_config *cfg);
/* The card profiles a run here may meet that take one institution PUK:
 * the one the kiosk forces, else each of them; *out malloc'd (free it). */
struct cs_profile;
int ks_puk_profiles(const ks_config *cfg, struct cs_profile **out,
    size_t *n);
enum MHD_Result ks_api_codes(ks_req *rq);
enum MHD_Result ks_api_folders(ks_req *rq);
enum MHD_Result ks_api_inspect(ks_req *rq);
enum MHD_Result ks_api_import(ks_req *rq);
enum MHD_Result ks_api_search(ks_req *rq);
enum MHD_Result ks_api_export(ks_req *rq);

/* --- ks_desk.c ------------------------------------------------------ */
enum MHD_Result ks_api_features(ks_req *rq);
enum MHD_Result ks_api_verify(ks_req *rq);
enum MHD_Result ks_api_lost(ks_req *rq);
enum MHD_Result ks_api_wipe(ks_req *rq);
enum MHD_Result ks_api_pin_reset(ks_req *rq);
enum MHD_Result ks_api_handover(ks_req *rq);

/* A query-string argument of the request, or NULL. */
const char *ks_arg(ks_req *rq, const char *key);
/* Monotonic milliseconds. */
int64_t ks_now_ms(void);
/* Find the download pair in dir: clientAll.zip + clientAllPin.zip or
 * clientPin.zip. 0 if both are there. */
int ks_find_pair(const char *dir, char *certs, size_t clen, char *pins,
    size_t plen);

#endif
