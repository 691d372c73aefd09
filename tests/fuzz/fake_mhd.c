/* fake_mhd.c - the MHD functions the kiosk calls, without a network. */
#include "fake_mhd.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz_util.h"

#define FAKE_MAX_KV 64
#define FAKE_MAX_HDR 32

struct MHD_Daemon {
	fake_daemon_info info;
};

struct MHD_Response {
	size_t size;
	char *data;
	int own;                 /* data is ours to free */
	MHD_ContentReaderFreeCallback crfc;
	void *crfc_cls;
	char *hdr[FAKE_MAX_HDR][2];
	size_t nhdr;
	int refs;
};

struct MHD_Connection {
	struct {
		enum MHD_ValueKind kind;
		char *key, *val;
	} kv[FAKE_MAX_KV];
	size_t nkv;
	struct MHD_Response *resp;
	unsigned status;
	int queued;
};

#define FAKE_MAX_DAEMONS 4

static struct MHD_Daemon daemons[FAKE_MAX_DAEMONS];
static size_t ndaemons;
static atomic_uint added;

struct MHD_Daemon *fake_mhd_daemon(size_t i)
{
	return i < ndaemons ? &daemons[i] : NULL;
}

const fake_daemon_info *fake_mhd_info(const struct MHD_Daemon *d)
{
	return &d->info;
}

void fake_mhd_open(struct MHD_Daemon *d, struct MHD_Connection *c,
    void **socket_ctx)
{
	if (d->info.notify != NULL)
		d->info.notify(d->info.notify_cls, c, socket_ctx,
		    MHD_CONNECTION_NOTIFY_STARTED);
}

void fake_mhd_close(struct MHD_Daemon *d, struct MHD_Connection *c,
    void **socket_ctx)
{
	if (d->info.notify != NULL)
		d->info.notify(d->info.notify_cls, c, socket_ctx,
		    MHD_CONNECTION_NOTIFY_CLOSED);
}

unsigned fake_mhd_added(void)
{
	return atomic_load(&added);
}

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
    MHD_AcceptPolicyCallback apc, void *apc_cls, MHD_AccessHandlerCallback dh,
    void *dh_cls, ...)
{
	struct MHD_Daemon *d;
	va_list ap;
	int opt;

	(void)port;
	(void)apc;
	(void)apc_cls;
	if (ndaemons == FAKE_MAX_DAEMONS) {
		fprintf(stderr, "fake_mhd: more than %d daemons\n", FAKE_MAX_DAEMONS);
		abort();
	}
	d = &daemons[ndaemons++];
	memset(d, 0, sizeof(*d));
	d->info.flags = flags;
	d->info.dh = dh;
	d->info.dh_cls = dh_cls;
	d->info.lfd = -1;
	va_start(ap, dh_cls);
	while ((opt = va_arg(ap, int)) != MHD_OPTION_END) {
		switch (opt) {
		case MHD_OPTION_LISTEN_SOCKET:
			d->info.lfd = va_arg(ap, MHD_socket);
			break;
		case MHD_OPTION_NOTIFY_COMPLETED:
			d->info.done = va_arg(ap, MHD_RequestCompletedCallback);
			d->info.done_cls = va_arg(ap, void *);
			break;
		case MHD_OPTION_NOTIFY_CONNECTION:
			d->info.notify = va_arg(ap, MHD_NotifyConnectionCallback);
			d->info.notify_cls = va_arg(ap, void *);
			break;
		case MHD_OPTION_CONNECTION_TIMEOUT:
			d->info.timeout = va_arg(ap, unsigned int);
			break;
		case MHD_OPTION_CONNECTION_LIMIT:
			d->info.conn_limit = va_arg(ap, unsigned int);
			break;
		default:
			/* ks_server.c asks for something new: teach the fake. */
			fprintf(stderr, "fake_mhd: MHD option %d unknown here\n", opt);
			abort();
		}
	}
	va_end(ap);
	return d;
}

void MHD_stop_daemon(struct MHD_Daemon *d)
{
	if (d->info.lfd >= 0)
		close(d->info.lfd);
	d->info.lfd = -1;
}

/* The gate hands a connection over. Nothing connects in fuzz_http (the
 * socket file is removed at once; requests come through the target), so
 * this is refused the way libmicrohttpd refuses: the socket is closed
 * and the connection never opened (no notice). The target checks the
 * count stays 0. */
enum MHD_Result MHD_add_connection(struct MHD_Daemon *d,
    MHD_socket client_socket, const struct sockaddr *addr, socklen_t addrlen)
{
	(void)d;
	(void)addr;
	(void)addrlen;
	atomic_fetch_add(&added, 1);
	close(client_socket);
	return MHD_NO;
}

static struct MHD_Response *resp_new(size_t size, void *data)
{
	struct MHD_Response *r = calloc(1, sizeof(*r));

	if (r == NULL)
		abort();
	r->size = size;
	r->data = data;
	r->refs = 1;
	return r;
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
    enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	char *copy = buffer;

	if (mode == MHD_RESPMEM_MUST_COPY) {
		if ((copy = malloc(size ? size : 1)) == NULL)
			abort();
		if (size)
			memcpy(copy, buffer, size);
	}
	r = resp_new(size, copy);
	r->own = mode != MHD_RESPMEM_PERSISTENT;
	return r;
}

struct MHD_Response *MHD_create_response_from_buffer_with_free_callback(
    size_t size, void *buffer, MHD_ContentReaderFreeCallback crfc)
{
	struct MHD_Response *r = resp_new(size, buffer);

	r->crfc = crfc;
	r->crfc_cls = buffer;
	return r;
}

struct MHD_Response *MHD_create_response_from_buffer_with_free_callback_cls(
    size_t size, void *buffer, MHD_ContentReaderFreeCallback crfc,
    void *crfc_cls)
{
	struct MHD_Response *r = resp_new(size, buffer);

	r->crfc = crfc;
	r->crfc_cls = crfc_cls;
	return r;
}

/* A stream (the event hub): its reader is never called here, since it
 * waits for events; only its clean-up is. */
struct MHD_Response *MHD_create_response_from_callback(uint64_t size,
    size_t block_size, MHD_ContentReaderCallback crc, void *crc_cls,
    MHD_ContentReaderFreeCallback crfc)
{
	struct MHD_Response *r = resp_new(0, NULL);

	(void)size;
	(void)block_size;
	(void)crc;
	r->crfc = crfc;
	r->crfc_cls = crc_cls;
	return r;
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *r,
    const char *header, const char *content)
{
	/* libmicrohttpd refuses a header with a line break: the reply would
	 * go out without it (a missing security header, say). */
	FUZZ_CHECK(strpbrk(header, "\r\n") == NULL);
	FUZZ_CHECK(strpbrk(content, "\r\n") == NULL);
	if (r->nhdr == FAKE_MAX_HDR)
		return MHD_NO;
	r->hdr[r->nhdr][0] = strdup(header);
	r->hdr[r->nhdr][1] = strdup(content);
	if (r->hdr[r->nhdr][0] == NULL || r->hdr[r->nhdr][1] == NULL)
		abort();
	r->nhdr++;
	return MHD_YES;
}

void MHD_destroy_response(struct MHD_Response *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	if (r->crfc != NULL)
		r->crfc(r->crfc_cls);
	else if (r->own)
		free(r->data);
	for (size_t i = 0; i < r->nhdr; i++) {
		free(r->hdr[i][0]);
		free(r->hdr[i][1]);
	}
	free(r);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *c,
    unsigned int status, struct MHD_Response *r)
{
	c->queued++;
	if (r == NULL || c->resp != NULL)
		return MHD_NO;
	r->refs++;
	c->resp = r;
	c->status = status;
	return MHD_YES;
}

const char *MHD_lookup_connection_value(struct MHD_Connection *c,
    enum MHD_ValueKind kind, const char *key)
{
	for (size_t i = 0; i < c->nkv; i++) {
		if (c->kv[i].kind != kind || key == NULL)
			continue;
		/* Header names are case-insensitive in HTTP and in MHD. */
		if (kind == MHD_HEADER_KIND ? strcasecmp(c->kv[i].key, key) == 0 :
		    strcmp(c->kv[i].key, key) == 0)
			return c->kv[i].val;
	}
	return NULL;
}

struct MHD_Connection *fake_conn_new(void)
{
	struct MHD_Connection *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	return c;
}

void fake_conn_add(struct MHD_Connection *c, enum MHD_ValueKind kind,
    const char *key, const char *val)
{
	if (c->nkv == FAKE_MAX_KV)
		return;
	c->kv[c->nkv].kind = kind;
	c->kv[c->nkv].key = strdup(key);
	c->kv[c->nkv].val = strdup(val);
	if (c->kv[c->nkv].key == NULL || c->kv[c->nkv].val == NULL)
		abort();
	c->nkv++;
}

int fake_conn_queued(const struct MHD_Connection *c)
{
	return c->queued;
}

unsigned fake_conn_status(const struct MHD_Connection *c)
{
	return c->status;
}

const char *fake_conn_reply_header(const struct MHD_Connection *c,
    const char *name)
{
	if (c->resp == NULL)
		return NULL;
	for (size_t i = 0; i < c->resp->nhdr; i++)
		if (strcasecmp(c->resp->hdr[i][0], name) == 0)
			return c->resp->hdr[i][1];
	return NULL;
}

const char *fake_conn_reply_header_at(const struct MHD_Connection *c,
    size_t index, const char **value)
{
	if (c->resp == NULL || index >= c->resp->nhdr)
		return NULL;
	*value = c->resp->hdr[index][1];
	return c->resp->hdr[index][0];
}

const char *fake_conn_reply_body(const struct MHD_Connection *c, size_t *len)
{
	*len = c->resp ? c->resp->size : 0;
	return c->resp ? c->resp->data : NULL;
}

void fake_conn_free(struct MHD_Connection *c)
{
	for (size_t i = 0; i < c->nkv; i++) {
		free(c->kv[i].key);
		free(c->kv[i].val);
	}
	MHD_destroy_response(c->resp);
	free(c);
}
