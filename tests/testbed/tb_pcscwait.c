/* tb_pcscwait.c - the test bench's waits on PC/SC, so no test sleeps.
 *
 *   tb-pcscwait ports N              print N free even base ports (PORT and
 *                                    PORT+1 both bindable), one a line
 *   tb-pcscwait serve SOCK PIDFILE -- PCSCD ARGS...
 *                                    create pcscd's listening socket SOCK,
 *                                    start pcscd in the background with it
 *                                    (socket activation), write its pid to
 *                                    PIDFILE and return: from then on clients
 *                                    may connect, they queue until pcscd
 *                                    serves them
 *   tb-pcscwait stop PID             SIGTERM PID (not our child) and wait
 *                                    for its end through a pidfd; SIGKILL
 *                                    after the timeout
 *   tb-pcscwait readers N            wait until pcscd lists at least N readers
 *   tb-pcscwait list                 print the reader names, one a line
 *   tb-pcscwait card READER present|absent
 *                                    wait until READER has / has no card
 *
 * Every wait blocks in SCardGetStatusChange and gives up after
 * TB_TIMEOUT_MS (default 30000) milliseconds with exit status 2. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <PCSC/winscard.h>

#define TB_EXIT_OK 0
#define TB_EXIT_FAIL 1
#define TB_EXIT_TIMEOUT 2
#define TB_PNP "\\\\?PnP?\\Notification"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long timeout_ms(void)
{
	const char *s = getenv("TB_TIMEOUT_MS");
	long v;

	if (s == NULL || (v = strtol(s, NULL, 10)) <= 0)
		return 30000;
	return v;
}

static int port_free(unsigned port)
{
	struct sockaddr_in sa;
	int fd, ok, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 0;
	/* vpcd binds with SO_REUSEADDR; do the same so that a port in
	 * TIME_WAIT from an earlier test counts as free, as it is for vpcd. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    listen(fd, 1) == 0;
	close(fd);
	return ok;
}

static int cmd_ports(int n)
{
	/* A random start spreads parallel test benches over the range; the
	 * caller still checks that pcscd really got the ports (a race with
	 * another bench is possible) and retries with new ones. */
	unsigned span = 20000, base, i, tries;
	int found = 0;

	srand((unsigned)(getpid() ^ now_ms()));
	base = 20000 + ((unsigned)rand() % span & ~1u);
	for (tries = 0, i = base; found < n && tries < span / 2; tries++) {
		if (port_free(i) && port_free(i + 1)) {
			printf("%u\n", i);
			found++;
		}
		i += 2;
		if (i >= 20000 + span)
			i = 20000;
	}
	return found == n ? TB_EXIT_OK : TB_EXIT_FAIL;
}

static int cmd_serve(const char *path, const char *pidfile, char **argv)
{
	struct sockaddr_un sa;
	char pid[32];
	FILE *f;
	pid_t child;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return TB_EXIT_FAIL;
	strcpy(sa.sun_path, path);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, 64) != 0) {
		perror("tb-pcscwait: pcscd socket");
		return TB_EXIT_FAIL;
	}
	if ((child = fork()) < 0)
		return TB_EXIT_FAIL;
	if (child > 0) {
		/* The socket exists and listens before we return, so the
		 * caller's next client cannot race pcscd's start-up. */
		if ((f = fopen(pidfile, "w")) == NULL)
			return TB_EXIT_FAIL;
		fprintf(f, "%ld\n", (long)child);
		return fclose(f) == 0 ? TB_EXIT_OK : TB_EXIT_FAIL;
	}
	/* sd_listen_fds() in pcscd takes fd 3 when LISTEN_PID is its pid;
	 * exec keeps the child's pid. */
	if (fd != 3) {
		if (dup2(fd, 3) < 0)
			_exit(TB_EXIT_FAIL);
		close(fd);
	}
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	execvp(argv[0], argv);
	perror("tb-pcscwait: exec");
	_exit(TB_EXIT_FAIL);
}

static int cmd_stop(pid_t pid)
{
	struct pollfd pfd;
	int fd, n;

	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return errno == ESRCH ? TB_EXIT_OK : TB_EXIT_FAIL;
	if (kill(pid, SIGTERM) != 0 && errno != ESRCH) {
		close(fd);
		return TB_EXIT_FAIL;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, (int)timeout_ms())) < 0 && errno == EINTR)
		;
	if (n == 0) {
		kill(pid, SIGKILL);
		poll(&pfd, 1, -1);
	}
	close(fd);
	return n > 0 ? TB_EXIT_OK : TB_EXIT_TIMEOUT;
}

/* Reader names as a malloc'ed multi-string, or NULL when there are none. */
static LONG list_readers(SCARDCONTEXT ctx, char **out, int *count)
{
	DWORD len = SCARD_AUTOALLOCATE;
	char *buf = NULL, *p;
	LONG rv;

	*out = NULL;
	*count = 0;
	rv = SCardListReaders(ctx, NULL, (LPSTR)&buf, &len);
	if (rv == SCARD_E_NO_READERS_AVAILABLE)
		return SCARD_S_SUCCESS;
	if (rv != SCARD_S_SUCCESS)
		return rv;
	for (p = buf; *p != '\0'; p += strlen(p) + 1)
		(*count)++;
	*out = buf;
	return SCARD_S_SUCCESS;
}

static int cmd_readers(SCARDCONTEXT ctx, int want, int print)
{
	SCARD_READERSTATE rs;
	long deadline = now_ms() + timeout_ms(), left;
	char *names = NULL, *p;
	int count = 0, ret = TB_EXIT_FAIL;
	LONG rv;

	for (;;) {
		if ((rv = list_readers(ctx, &names, &count)) != SCARD_S_SUCCESS)
			goto out;
		if (count >= want)
			break;
		SCardFreeMemory(ctx, names);
		names = NULL;
		if ((left = deadline - now_ms()) <= 0) {
			ret = TB_EXIT_TIMEOUT;
			goto out;
		}
		memset(&rs, 0, sizeof(rs));
		rs.szReader = TB_PNP;
		/* pcsc-lite compares the high word with its reader count and
		 * returns as soon as they differ. */
		rs.dwCurrentState = (DWORD)count << 16;
		rv = SCardGetStatusChange(ctx, (DWORD)left, &rs, 1);
		if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
			goto out;
	}
	if (print && names != NULL)
		for (p = names; *p != '\0'; p += strlen(p) + 1)
			printf("%s\n", p);
	ret = TB_EXIT_OK;
out:
	if (names != NULL)
		SCardFreeMemory(ctx, names);
	if (ret == TB_EXIT_FAIL)
		fprintf(stderr, "tb-pcscwait: %s\n", pcsc_stringify_error(rv));
	return ret;
}

static int cmd_card(SCARDCONTEXT ctx, const char *reader, int present)
{
	SCARD_READERSTATE rs;
	long deadline = now_ms() + timeout_ms(), left;
	LONG rv;

	memset(&rs, 0, sizeof(rs));
	rs.szReader = reader;
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	for (;;) {
		if ((left = deadline - now_ms()) < 0)
			left = 0;
		rv = SCardGetStatusChange(ctx, (DWORD)left, &rs, 1);
		if (rv == SCARD_E_TIMEOUT)
			return TB_EXIT_TIMEOUT;
		if (rv != SCARD_S_SUCCESS) {
			fprintf(stderr, "tb-pcscwait: %s: %s\n", reader,
			    pcsc_stringify_error(rv));
			return TB_EXIT_FAIL;
		}
		if (rs.dwEventState & SCARD_STATE_UNKNOWN) {
			fprintf(stderr, "tb-pcscwait: no reader '%s'\n", reader);
			return TB_EXIT_FAIL;
		}
		/* A card that is present but still mute (vpcd has not yet
		 * read its ATR) does not count as inserted. */
		if (present && (rs.dwEventState & SCARD_STATE_PRESENT) &&
		    !(rs.dwEventState & SCARD_STATE_MUTE))
			return TB_EXIT_OK;
		if (!present && (rs.dwEventState & SCARD_STATE_EMPTY))
			return TB_EXIT_OK;
		rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: tb-pcscwait ports N | serve SOCK PIDFILE -- CMD... | "
	    "readers N | list | card READER present|absent\n");
	return TB_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	SCARDCONTEXT ctx;
	int ret;
	LONG rv;

	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "ports") == 0 && argc == 3)
		return cmd_ports(atoi(argv[2]));
	if (strcmp(argv[1], "serve") == 0 && argc >= 6 &&
	    strcmp(argv[4], "--") == 0)
		return cmd_serve(argv[2], argv[3], argv + 5);

	if (strcmp(argv[1], "stop") == 0 && argc == 3)
		return cmd_stop((pid_t)atol(argv[2]));

	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv != SCARD_S_SUCCESS) {
		fprintf(stderr, "tb-pcscwait: %s\n", pcsc_stringify_error(rv));
		return TB_EXIT_FAIL;
	}
	if (strcmp(argv[1], "readers") == 0 && argc == 3)
		ret = cmd_readers(ctx, atoi(argv[2]), 0);
	else if (strcmp(argv[1], "list") == 0 && argc == 2)
		ret = cmd_readers(ctx, 0, 1);
	else if (strcmp(argv[1], "card") == 0 && argc == 4 &&
	    (strcmp(argv[3], "present") == 0 || strcmp(argv[3], "absent") == 0))
		ret = cmd_card(ctx, argv[2], strcmp(argv[3], "present") == 0);
	else
		ret = usage();
	SCardReleaseContext(ctx);
	return ret;
}
