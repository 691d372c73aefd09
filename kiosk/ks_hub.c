/* ks_hub.c - live updates pushed to the page as Server-Sent Events.
 *
 * Events go into a ring of the latest KS_HUB_RING; each open page has a
 * stream that remembers the next sequence number it needs. A page that
 * fell further behind than the ring gets a "resync" event and reloads its
 * state with GET /api/state, so nothing is lost silently. Streams wait on
 * a condition variable (libmicrohttpd gives each connection its own
 * thread) and send a comment line every 15 s so that a dead page is
 * noticed and proxies keep the connection. Events never carry a secret:
 * the PIN of a letter is fetched once over its own POST. */
#include "ks.h"

#include "cs_err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KS_HUB_RING 256
#define KS_HUB_KEEPALIVE_S 15

struct ks_hub {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *ring[KS_HUB_RING];  /* formatted "id: ..\nevent: ..\ndata: ..\n\n" */
	uint64_t next;            /* sequence of the next event */
	int closed;
	int streams;              /* open, at most KS_MAX_STREAMS */
};

typedef struct ks_stream {
	ks_hub *hub;
	uint64_t want;            /* next sequence to send */
	char *pend;               /* what did not fit into the last buffer */
	size_t pendlen, pendoff;
	int hello;
} ks_stream;

int ks_hub_new(ks_hub **out)
{
	ks_hub *h;
	pthread_condattr_t ca;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return CS_ERR_NOMEM;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	h->next = 1;
	*out = h;
	return CS_OK;
}

void ks_hub_free(ks_hub *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < KS_HUB_RING; i++)
		free(h->ring[i]);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void ks_hub_publish(ks_hub *h, const char *type, const char *json)
{
	char *text = NULL;

	pthread_mutex_lock(&h->lock);
	if (asprintf(&text, "id: %llu\nevent: %s\ndata: %s\n\n",
	    (unsigned long long)h->next, type, json) >= 0) {
		size_t slot = h->next % KS_HUB_RING;

		free(h->ring[slot]);
		h->ring[slot] = text;
		h->next++;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
}

void ks_hub_close(ks_hub *h)
{
	pthread_mutex_lock(&h->lock);
	h->closed = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static ssize_t emit(ks_stream *s, char *buf, size_t max)
{
	size_t n = s->pendlen - s->pendoff;

	if (n > max)
		n = max;
	memcpy(buf, s->pend + s->pendoff, n);
	s->pendoff += n;
	if (s->pendoff == s->pendlen) {
		free(s->pend);
		s->pend = NULL;
		s->pendlen = s->pendoff = 0;
	}
	return (ssize_t)n;
}

static int pend(ks_stream *s, const char *text)
{
	if ((s->pend = strdup(text)) == NULL)
		return -1;
	s->pendlen = strlen(text);
	s->pendoff = 0;
	return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	ks_stream *s = cls;
	ks_hub *h = s->hub;
	struct timespec until;
	int r = 0;

	(void)pos;
	if (s->pend != NULL)
		return emit(s, buf, max);
	pthread_mutex_lock(&h->lock);
	if (!s->hello) {
		/* The page learns where the stream starts, then fetches state. */
		s->hello = 1;
		s->want = h->next;
		pthread_mutex_unlock(&h->lock);
		if (pend(s, "retry: 2000\nevent: hello\ndata: {}\n\n") != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		return emit(s, buf, max);
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += KS_HUB_KEEPALIVE_S;
	while (!h->closed && s->want >= h->next && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&h->cond, &h->lock, &until);
	if (h->closed) {
		pthread_mutex_unlock(&h->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (s->want >= h->next) {
		r = pend(s, ": keepalive\n\n");
	} else if (h->next - s->want > KS_HUB_RING) {
		s->want = h->next;
		r = pend(s, "event: resync\ndata: {}\n\n");
	} else {
		r = pend(s, h->ring[s->want % KS_HUB_RING]);
		s->want++;
	}
	pthread_mutex_unlock(&h->lock);
	if (r != 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return emit(s, buf, max);
}

static void stream_free(void *cls)
{
	ks_stream *s = cls;

	pthread_mutex_lock(&s->hub->lock);
	s->hub->streams--;
	pthread_mutex_unlock(&s->hub->lock);
	free(s->pend);
	free(s);
}

/* Each stream holds a connection and its thread for as long as the page
 * is open: a kiosk has one page, so a few streams are plenty. */
struct MHD_Response *ks_hub_stream(ks_hub *h)
{
	ks_stream *s;
	struct MHD_Response *resp;

	pthread_mutex_lock(&h->lock);
	if (h->streams >= KS_MAX_STREAMS) {
		pthread_mutex_unlock(&h->lock);
		return NULL;
	}
	h->streams++;
	pthread_mutex_unlock(&h->lock);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto undo;
	s->hub = h;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    stream_read, s, stream_free);
	if (resp != NULL)
		return resp;
	free(s);
undo:
	pthread_mutex_lock(&h->lock);
	h->streams--;
	pthread_mutex_unlock(&h->lock);
	return NULL;
}
