/* fake_mhd.h - a stand-in for libmicrohttpd, for fuzz_http only.
 *
 * The kiosk's request handling (kiosk/ks_server.c) is reached only
 * through libmicrohttpd's callbacks, and libmicrohttpd is not ours to
 * fuzz. fake_mhd.c implements just the MHD functions ks_server.c,
 * ks_gate.c and ks_hub.c call, against the real <microhttpd.h>: each
 * MHD_start_daemon call (the kiosk starts two: the operator's and the
 * page-file daemon) records its callbacks for the fuzz target, a
 * connection is a list of headers, cookies and arguments the target
 * fills, and a queued response is kept for the target to look at. No
 * socket carries a request: MHD_add_connection (the gate's hand-over)
 * refuses, as libmicrohttpd does on failure, and counts the call. */
#ifndef FAKE_MHD_H
#define FAKE_MHD_H

#include <microhttpd.h>
#include <stddef.h>

/* What one MHD_start_daemon call was given. */
typedef struct fake_daemon_info {
	unsigned flags;
	int lfd;                    /* MHD_OPTION_LISTEN_SOCKET, or -1 */
	MHD_AccessHandlerCallback dh;
	void *dh_cls;
	MHD_RequestCompletedCallback done;
	void *done_cls;
	MHD_NotifyConnectionCallback notify;
	void *notify_cls;
	unsigned conn_limit;        /* MHD_OPTION_CONNECTION_LIMIT, 0: unset */
	unsigned timeout;           /* MHD_OPTION_CONNECTION_TIMEOUT */
} fake_daemon_info;

/* The i-th daemon started (0: the first), or NULL. */
struct MHD_Daemon *fake_mhd_daemon(size_t i);
const fake_daemon_info *fake_mhd_info(const struct MHD_Daemon *d);
/* A connection of d opens or closes: d's MHD_OPTION_NOTIFY_CONNECTION
 * callback, as libmicrohttpd calls it. */
void fake_mhd_open(struct MHD_Daemon *d, struct MHD_Connection *c,
    void **socket_ctx);
void fake_mhd_close(struct MHD_Daemon *d, struct MHD_Connection *c,
    void **socket_ctx);
/* How many times MHD_add_connection was called. */
unsigned fake_mhd_added(void);

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
/* The index-th header of the queued response, NULL past the last. */
const char *fake_conn_reply_header_at(const struct MHD_Connection *c,
    size_t index, const char **value);
/* The body of a buffer response (NULL for a streamed one). */
const char *fake_conn_reply_body(const struct MHD_Connection *c, size_t *len);
/* Release the response and free c. */
void fake_conn_free(struct MHD_Connection *c);

#endif
