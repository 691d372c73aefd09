/* ks_gate.c - the door: nobody without the key reaches the operator's
 * threads.
 *
 * Any program on the machine can open connections to a loopback port. If
 * libmicrohttpd accepted them itself, idle or slow ones would take its
 * connection slots and threads, and the operator's next reload would be
 * refused (seen: 80 slow requests kept the page away for over a minute).
 * So the gate accepts every connection, holds it without a thread while
 * its request head arrives (MSG_PEEK: the bytes stay for the daemon), and
 * then hands it over whole:
 *   - a head carrying this start's key (cookie ks_key, or X-Kiosk-Key for
 *     the one request that trades it for the cookie) goes to the
 *     operator's daemon (one thread per connection, KS_OP_CONNS at most);
 *   - any other head goes to the page-file daemon (one thread for all,
 *     short timeout, connection closed after each answer), which serves
 *     the page's files and refuses the API.
 * A connection waits here KS_GATE_HEAD_MS at most for its head; when
 * KS_GATE_PENDING wait, the oldest is dropped for the newest. The
 * operator's browser sends its head at once, so it is never the oldest:
 * it is served first, whatever else waits. Memory and threads stay
 * bounded: one thread, a fixed table, one peek buffer. */
#include "ks.h"

#include "cs_err.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define KS_GATE_PENDING 512
#define KS_GATE_HEAD_MS 5000
#define KS_GATE_HEAD_MAX 8192
#define KS_GATE_BATCH 64
#define KS_GATE_EV_LISTEN 0
#define KS_GATE_EV_STOP 1
#define KS_GATE_EV_BASE 2

typedef struct ks_pend {
	int fd;                     /* -1: free slot */
	int64_t born;               /* monotonic ms */
	struct sockaddr_storage addr;
	socklen_t alen;
} ks_pend;

struct ks_gate {
	int lfd, ep, stopfd;
	ks_door *op, *pub;
	char key[KS_KEY_HEX + 1];
	pthread_t thr;
	int started;
	int64_t paused_until;       /* out of descriptors: accept later */
	size_t cap, n;
	ks_pend *p;
	char buf[KS_GATE_HEAD_MAX];
};

/* --- the head --------------------------------------------------------- */

static int same_key(const char *v, size_t vlen, const char *key)
{
	return vlen == KS_KEY_HEX && CRYPTO_memcmp(v, key, KS_KEY_HEX) == 0;
}

/* Cookie: a=b; ks_key=KEY; c=d */
static int cookie_has_key(const char *v, size_t vlen, const char *key)
{
	size_t i = 0;

	while (i < vlen) {
		size_t end, eq;

		while (i < vlen && (v[i] == ' ' || v[i] == ';'))
			i++;
		for (end = i; end < vlen && v[end] != ';'; end++)
			;
		for (eq = i; eq < end && v[eq] != '='; eq++)
			;
		if (eq - i == 6 && memcmp(v + i, "ks_key", 6) == 0 && eq < end) {
			size_t vend = end;

			while (vend > eq + 1 && v[vend - 1] == ' ')
				vend--;
			if (same_key(v + eq + 1, vend - eq - 1, key))
				return 1;
		}
		i = end;
	}
	return 0;
}

int ks_head_has_key(const char *head, size_t len, const char *key)
{
	const char *p = memchr(head, '\n', len), *end = head + len;

	/* The request line is skipped; each header line is NAME: VALUE. */
	while (p != NULL && p + 1 < end) {
		const char *line = p + 1, *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl != NULL ? nl : end, *colon, *v;

		if (le > line && le[-1] == '\r')
			le--;
		colon = memchr(line, ':', (size_t)(le - line));
		if (colon != NULL) {
			size_t nlen = (size_t)(colon - line), vlen;

			for (v = colon + 1; v < le && (*v == ' ' || *v == '\t'); v++)
				;
			vlen = (size_t)(le - v);
			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (nlen == 6 && strncasecmp(line, "Cookie", 6) == 0 &&
			    cookie_has_key(v, vlen, key))
				return 1;
			if (nlen == 11 && strncasecmp(line, "X-Kiosk-Key", 11) == 0 &&
			    same_key(v, vlen, key))
				return 1;
		}
		p = nl;
	}
	return 0;
}

/* The end of the head in the first n bytes, or NULL. */
static const char *head_end(const char *b, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (b[i] != '\n')
			continue;
		if (b[i + 1] == '\n')
			return b + i + 1;
		if (b[i + 1] == '\r' && i + 2 < n && b[i + 2] == '\n')
			return b + i + 2;
	}
	return NULL;
}

/* --- the waiting room ------------------------------------------------- */

static void drop(ks_gate *g, size_t i)
{
	epoll_ctl(g->ep, EPOLL_CTL_DEL, g->p[i].fd, NULL);
	close(g->p[i].fd);
	g->p[i].fd = -1;
	g->n--;
}

static size_t oldest(ks_gate *g)
{
	size_t o = g->cap;

	for (size_t i = 0; i < g->cap; i++)
		if (g->p[i].fd >= 0 && (o == g->cap || g->p[i].born < g->p[o].born))
			o = i;
	return o;
}

void ks_door_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	ks_door *door = cls;

	(void)c;
	(void)socket_ctx;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		atomic_fetch_sub(&door->open, 1);
}

static void hand_over(ks_gate *g, size_t i, int with_key)
{
	ks_pend *e = &g->p[i];
	ks_door *door = with_key ? g->op : g->pub;

	/* A full daemon takes nobody: the connection is closed here, and
	 * libmicrohttpd never meets its own limit (see ks_door). */
	if (atomic_load(&door->open) >= door->limit) {
		drop(g, i);
		return;
	}
	epoll_ctl(g->ep, EPOLL_CTL_DEL, e->fd, NULL);
	atomic_fetch_add(&door->open, 1);
	/* On failure MHD closes the socket itself, and it never opened. */
	if (MHD_add_connection(door->d, e->fd, (struct sockaddr *)&e->addr,
	    e->alen) != MHD_YES)
		atomic_fetch_sub(&door->open, 1);
	e->fd = -1;
	g->n--;
}

/* Has the head arrived? The bytes stay in the socket (MSG_PEEK). hup:
 * the client has closed its side, so a head not complete now never will. */
static void look(ks_gate *g, size_t i, int hup)
{
	ssize_t n = recv(g->p[i].fd, g->buf, sizeof(g->buf), MSG_PEEK |
	    MSG_DONTWAIT);
	const char *end;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		drop(g, i);
		return;
	}
	if ((end = head_end(g->buf, (size_t)n)) == NULL) {
		if ((size_t)n == sizeof(g->buf) || hup)
			drop(g, i);  /* a head this long is nobody's page */
		return;
	}
	hand_over(g, i, ks_head_has_key(g->buf, (size_t)(end - g->buf), g->key));
}

/* Accept a batch (so that heads already waiting are looked at between
 * batches) and look at each new socket at once: an honest client has
 * sent its head by then, and goes through without waiting in the table,
 * so it is never the oldest one there when a flood fills it. */
static void take(ks_gate *g)
{
	for (int batch = 0; batch < KS_GATE_BATCH; batch++) {
		struct sockaddr_storage sa;
		socklen_t sl = sizeof(sa);
		struct epoll_event ev;
		size_t i;
		int fd = accept4(g->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors: make room by the oldest
				 * waiting connection, else pause accepting. */
				if (g->n > 0) {
					drop(g, oldest(g));
					continue;
				}
				g->paused_until = ks_now_ms() + 100;
				epoll_ctl(g->ep, EPOLL_CTL_DEL, g->lfd, NULL);
			}
			return;
		}
		if (g->n == g->cap)
			drop(g, oldest(g));
		for (i = 0; g->p[i].fd >= 0; i++)
			;
		g->p[i].fd = fd;
		g->p[i].born = ks_now_ms();
		memcpy(&g->p[i].addr, &sa, sizeof(sa));
		g->p[i].alen = sl;
		g->n++;
		memset(&ev, 0, sizeof(ev));
		/* Edge-triggered: peeked bytes stay readable, so only new
		 * bytes wake us. */
		ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
		ev.data.u64 = KS_GATE_EV_BASE + i;
		if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			g->p[i].fd = -1;
			g->n--;
			continue;
		}
		look(g, i, 0);
	}
}

/* Drop heads not complete in time; the wait until the next deadline. */
static int expire(ks_gate *g)
{
	int64_t now = ks_now_ms(), next = -1;

	for (size_t i = 0; i < g->cap; i++) {
		int64_t due;

		if (g->p[i].fd < 0)
			continue;
		due = g->p[i].born + KS_GATE_HEAD_MS;
		if (due <= now)
			drop(g, i);
		else if (next < 0 || due < next)
			next = due;
	}
	if (g->paused_until > 0) {
		if (g->paused_until <= now) {
			struct epoll_event ev = {.events = EPOLLIN,
			    .data.u64 = KS_GATE_EV_LISTEN};

			g->paused_until = 0;
			epoll_ctl(g->ep, EPOLL_CTL_ADD, g->lfd, &ev);
		} else if (next < 0 || g->paused_until < next) {
			next = g->paused_until;
		}
	}
	return next < 0 ? -1 : (int)(next - now);
}

static void *gate_main(void *arg)
{
	ks_gate *g = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(g->ep, evs, 64, expire(g)), listen = 0;

		/* Heads that arrived first, new connections after. */
		for (int k = 0; k < n; k++) {
			uint64_t what = evs[k].data.u64;

			if (what == KS_GATE_EV_STOP)
				return NULL;
			if (what == KS_GATE_EV_LISTEN)
				listen = 1;
			else if (g->p[what - KS_GATE_EV_BASE].fd >= 0)
				look(g, (size_t)(what - KS_GATE_EV_BASE),
				    (evs[k].events & (EPOLLRDHUP | EPOLLHUP)) != 0);
		}
		if (listen)
			take(g);
	}
	return NULL;
}

int ks_gate_start(ks_gate **out, int lfd, ks_door *op, ks_door *pub,
    const char *key, char *why, size_t whylen)
{
	struct epoll_event ev;
	struct rlimit rl;
	ks_gate *g;

	*out = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return CS_ERR_NOMEM;
	g->lfd = lfd;
	g->op = op;
	g->pub = pub;
	g->ep = g->stopfd = -1;
	snprintf(g->key, sizeof(g->key), "%s", key);
	/* accept4 in a loop until EAGAIN: the socket must not block. */
	if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) != 0)
		goto io;
	/* Half the descriptors at most may wait here; the daemons, the
	 * journal and the readers need the rest. */
	g->cap = KS_GATE_PENDING;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < g->cap)
		g->cap = rl.rlim_cur / 2 > 16 ? rl.rlim_cur / 2 : 16;
	if ((g->p = calloc(g->cap, sizeof(*g->p))) == NULL)
		goto nomem;
	for (size_t i = 0; i < g->cap; i++)
		g->p[i].fd = -1;
	if ((g->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (g->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto io;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = KS_GATE_EV_LISTEN;
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
		goto io;
	ev.data.u64 = KS_GATE_EV_STOP;
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, g->stopfd, &ev) != 0)
		goto io;
	if (pthread_create(&g->thr, NULL, gate_main, g) != 0)
		goto io;
	g->started = 1;
	*out = g;
	return CS_OK;
io:
	snprintf(why, whylen, "the gate cannot start: %s", strerror(errno));
	ks_gate_stop(g);
	return CS_ERR_IO;
nomem:
	snprintf(why, whylen, "out of memory");
	ks_gate_stop(g);
	return CS_ERR_NOMEM;
}

void ks_gate_stop(ks_gate *g)
{
	if (g == NULL)
		return;
	if (g->started) {
		uint64_t one = 1;

		while (write(g->stopfd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_join(g->thr, NULL);
	}
	for (size_t i = 0; g->p != NULL && i < g->cap; i++)
		if (g->p[i].fd >= 0)
			close(g->p[i].fd);
	if (g->ep >= 0)
		close(g->ep);
	if (g->stopfd >= 0)
		close(g->stopfd);
	free(g->p);
	explicit_bzero(g->key, sizeof(g->key));
	free(g);
}
