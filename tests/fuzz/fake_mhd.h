/* fake_mhd.h - a stand-in for libmicrohttpd, for fuzz_http only.
 *
 * The kiosk's request handling (kiosk/ks_server.c) is reached only
 * through libmicrohttpd's callbacks, and libmicrohttpd is not ours to
 * fuzz. fake_mhd.c implements just the MHD functions ks_server.c and
 * ks_hub.c call, against the real <microhttpd.h>: MHD_start_daemon hands
 * the request handler to the fuzz target, a connection is a list of
 * headers, cookies and arguments the target fills, and a queued response
 * is kept for the target to look at. No socket carries a request. */
#ifndef FAKE_MHD_H
#define FAKE_MHD_H

#include <microhttpd.h>
#include <stddef.h>

/* What ks_server_start gave MHD_start_daemon. */
void fake_mhd_handlers(MHD_AccessHandlerCallback *dh, void **dh_cls,
    MHD_RequestCompletedCallback *done, void **done_cls);

struct MHD_Connection *fake_conn_new(void);
/* Add a request header, cookie or query argument (copied). */
void fake_conn_add(struct MHD_Connection *c, enum MHD_ValueKind kind,
    const char *key, const char *val);
/* How many times a response was queued on c (MHD allows one). */
int fake_conn_queued(const struct MHD_Connection *c);
unsigned fake_conn_status(const struct MHD_Connection *c);
/* A header of the queued response, or NULL. */
const char *fake_conn_reply_header(const struct MHD_Connection *c,
    const char *name);
/* The body of a buffer response (NULL for a streamed one). */
const char *fake_conn_reply_body(const struct MHD_Connection *c, size_t *len);
/* Release the response and free c. */
void fake_conn_free(struct MHD_Connection *c);

#endif
