/* cs_owner.c - naming a station process, and telling whether one is alive. */
#include "cs_owner.h"
#include "cs_err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Field 22 (starttime) of /proc/PID/stat; -1 if there is no such process.
 * The command name (field 2) may hold spaces and parentheses: count the
 * fields after its last ')'. */
static int64_t start_of(int64_t pid)
{
	char path[64], buf[1024], *p;
	long long v = -1;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%" PRId64 "/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* ") " then field 3 (state); starttime is field 22. */
	p += 2;
	for (int field = 3; field < 22 && p != NULL; field++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	if (p == NULL || sscanf(p, "%lld", &v) != 1)
		return -1;
	return v;
}

static int read_line(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "re");
	int r = CS_ERR_IO;

	if (f == NULL)
		return CS_ERR_IO;
	if (fgets(out, (int)outlen, f) != NULL) {
		out[strcspn(out, "\n")] = '\0';
		r = out[0] != '\0' ? CS_OK : CS_ERR_IO;
	}
	fclose(f);
	return r;
}

int cs_owner_self(cs_owner *o)
{
	struct stat st;
	long long pid;
	char buf[64];
	FILE *f;

	memset(o, 0, sizeof(*o));
	if (gethostname(o->host, sizeof(o->host) - 1) != 0)
		return CS_ERR_IO;
	if (read_line("/proc/sys/kernel/random/boot_id", o->boot_id,
	    sizeof(o->boot_id)) != CS_OK)
		return CS_ERR_IO;
	/* Our pid as this /proc numbers it, which is not getpid() when /proc
	 * belongs to another PID namespace than ours (a test bench made with
	 * unshare --pid): liveness is judged through /proc, so its numbers. */
	if ((f = fopen("/proc/self/stat", "re")) == NULL)
		return CS_ERR_IO;
	pid = fgets(buf, sizeof(buf), f) != NULL ? atoll(buf) : 0;
	fclose(f);
	if (pid <= 0 || stat("/proc/self", &st) != 0)
		return CS_ERR_IO;
	/* Every mount of one PID namespace's /proc shares one device number,
	 * and another namespace's has another. */
	snprintf(o->procfs, sizeof(o->procfs), "proc:%ju:%ju",
	    (uintmax_t)major(st.st_dev), (uintmax_t)minor(st.st_dev));
	o->pid = pid;
	if ((o->start = start_of(o->pid)) < 0)
		return CS_ERR_IO;
	return CS_OK;
}

cs_owner_life cs_owner_life_of(const cs_owner *self, const cs_owner *o)
{
	if (strcmp(self->host, o->host) != 0)
		return CS_OWNER_UNKNOWN;
	/* The same host booted since: every process of the old boot is gone. */
	if (strcmp(self->boot_id, o->boot_id) != 0)
		return CS_OWNER_GONE;
	/* Numbered by another /proc (PID namespace): its pids mean other
	 * processes here. */
	if (strcmp(self->procfs, o->procfs) != 0)
		return CS_OWNER_UNKNOWN;
	/* A re-used pid has another start time. */
	return start_of(o->pid) == o->start ? CS_OWNER_ALIVE : CS_OWNER_GONE;
}
