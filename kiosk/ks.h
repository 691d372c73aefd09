/* ks.h - the kiosk: a small local web server over the engine.
 *
 * One process serves the operator's page (static files from a www folder)
 * and a JSON API under /api/, with live updates as Server-Sent Events.
 * Parts, each a file:
 *
 *   ks_server.c  the daemon: listening (loopback or a Unix socket only),
 *                Host check, security headers, sessions, CSRF, idle
 *                timeout, routing, static files
 *   ks_form.c    POST bodies (urlencoded) held in locked memory
 *   ks_hub.c     the event stream pushed to every open page
 *   ks_run.c     the encoding run: cs_run's events turned into page state;
 *                PIN letters held once in locked memory
 *   ks_api.c     runs, import with inspect's verdicts, journal search, CSV
 *   ks_desk.c    handover and service desk (verify, lost, wipe)
 *
 * Threads: libmicrohttpd runs one thread per connection; every shared
 * field of ks_server is under its lock. Nothing here is global. */
#ifndef KS_H
#define KS_H

#include <pthread.h>
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
	char operator_name[128];    /* "" until the operator logs in */
	char lang[4];
	int64_t last_active;        /* monotonic ms */
	int used;
} ks_session;

/* What a handler gets. sess is a copy taken under the lock. */
typedef struct ks_req {
	ks_server *srv;
	struct MHD_Connection *conn;
	const char *method, *path;
	ks_session sess;
	int has_sess;
	ks_form *form;              /* POST only */
} ks_req;

/* --- ks_server.c ---------------------------------------------------- */
int ks_server_start(ks_server **out, const ks_config *cfg, char *why,
    size_t whylen);
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
enum MHD_Result ks_reply_error(ks_req *rq, unsigned status, const char *code,
    const char *text);

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
int ks_hub_new(ks_hub **out);
void ks_hub_free(ks_hub *h);
/* Send an event (JSON object text) to every page. Never a secret. */
void ks_hub_publish(ks_hub *h, const char *type, const char *json);
/* Wake every stream so it ends (server stopping). */
void ks_hub_close(ks_hub *h);
/* The response that streams events to one page. */
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

/* A query-string argument of the request, or NULL. */
const char *ks_arg(ks_req *rq, const char *key);
/* Monotonic milliseconds. */
int64_t ks_now_ms(void);
/* Find the download pair in dir: clientAll.zip + clientAllPin.zip or
 * clientPin.zip. 0 if both are there. */
int ks_find_pair(const char *dir, char *certs, size_t clen, char *pins,
    size_t plen);

#endif
