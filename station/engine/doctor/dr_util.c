/* dr_util.c - running a helper program for a check. */
#include "dr.h"
#include "cs_profile.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_child.h"
#include "cs_i18n.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <winscard.h>

/* Run argv with stdout captured (stderr dropped), at most timeout_ms.
 * Returns the exit status, or -1 when it could not run or was killed. No
 * secret ever goes through here: doctor passes none. argv[0] is an absolute
 * path, run as it is: a bare name is refused, not looked up in PATH. */
int dr_run_capture(char *const argv[], char *out, size_t outlen)
{
	int fds[2], status, r;
	char why[256];
	cs_child c;

	out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	{
		const cs_child_fd give[] = {{fds[1], STDOUT_FILENO}};
		const cs_child_spec spec = {
			.path = argv[0], .argv = argv, .fds = give, .nfds = 1,
			.timeout_ms = TOOL_TIMEOUT_MS,
		};

		r = cs_child_start(&spec, &c, why, sizeof(why));
	}
	close(fds[1]);
	if (r != CS_OK) {
		close(fds[0]);
		return -1;
	}
	cs_child_collect(&c, fds[0], out, outlen, 0);
	close(fds[0]);
	if (cs_child_wait(&c, &status) != CS_OK || c.timed_out)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) != 127 ?
	    WEXITSTATUS(status) : -1;
}

void dr_chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

const char *dr_fmt(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return buf;
}
