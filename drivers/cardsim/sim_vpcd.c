/* sim_vpcd.c - TCP transport to vpcd.
 *
 * vpcd writes the length and the APDU in two send() calls. With Nagle on
 * our side and delayed ACKs, each exchange would stall about 40 ms, so
 * the socket gets TCP_NODELAY, and TCP_QUICKACK again after every read
 * (Linux clears it on its own). */
#include "sim_vpcd.h"
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void quickack(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

int sim_vpcd_connect(const char *host, int port, int *fd)
{
	struct addrinfo hints, *res = NULL, *ai;
	char svc[16];
	int s = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(svc, sizeof(svc), "%d", port);
	if (getaddrinfo(host, svc, &hints, &res) != 0)
		return SIM_ERR_IO;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) < 0)
			continue;
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return SIM_ERR_IO;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	quickack(s);
	*fd = s;
	return SIM_OK;
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = recv(fd, buf + got, len - got, 0);
		if (n == 0)
			return SIM_VPCD_EOF;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECONNRESET ? SIM_VPCD_EOF : SIM_ERR_IO;
		}
		got += (size_t)n;
		quickack(fd);
	}
	return SIM_OK;
}

int sim_vpcd_recv(int fd, const sigset_t *waitmask, uint8_t *buf,
    size_t cap, size_t *len)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint8_t hdr[2];
	size_t n;
	int r;

	for (;;) {
		r = ppoll(&pfd, 1, NULL, waitmask);
		if (r < 0 && errno == EINTR)
			return SIM_VPCD_SIGNAL;
		if (r < 0)
			return SIM_ERR_IO;
		if (r > 0)
			break;
	}
	if ((r = read_full(fd, hdr, 2)) != SIM_OK)
		return r;
	n = (size_t)hdr[0] << 8 | hdr[1];
	if (n > cap)
		return SIM_ERR_FORMAT;
	if ((r = read_full(fd, buf, n)) != SIM_OK)
		return r;
	*len = n;
	return SIM_OK;
}

int sim_vpcd_send(int fd, const uint8_t *buf, size_t len)
{
	uint8_t out[2 + 65536];
	size_t sent = 0, total = len + 2;
	ssize_t n;

	if (len > 0xFFFF)
		return SIM_ERR_USAGE;
	/* One write for header and payload: one segment on the wire. */
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memcpy(out + 2, buf, len);
	while (sent < total) {
		n = send(fd, out + sent, total - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return SIM_ERR_IO;
		sent += (size_t)n;
	}
	return SIM_OK;
}
