/* dr_proc.c - which processes run pcscd or hold PC/SC (from /proc). */
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

/* --- processes ----------------------------------------------------- */

static int read_file(const char *path, char *out, size_t outlen)
{
	FILE *f;
	size_t n;

	out[0] = '\0';
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	fclose(f);
	return 0;
}

static void proc_ids(int pid, cs_pcscd_proc *p)
{
	char path[64], buf[4096], *l;

	p->pid = pid;
	p->ngids = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, buf, sizeof(buf)) != 0)
		return;
	if ((l = strstr(buf, "\nUid:")) != NULL)
		p->uid = (unsigned)strtoul(l + 5, NULL, 10);
	if ((l = strstr(buf, "\nGid:")) != NULL && p->ngids < 32)
		p->gids[p->ngids++] = (unsigned)strtoul(l + 5, NULL, 10);
	if ((l = strstr(buf, "\nGroups:")) != NULL) {
		char *e;

		l += 8;
		while (p->ngids < 32) {
			unsigned long g = strtoul(l, &e, 10);

			if (e == l)
				break;
			p->gids[p->ngids++] = (unsigned)g;
			l = e;
		}
	}
}

static int proc_comm(int pid, char *out, size_t outlen)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_file(path, out, outlen) != 0)
		return -1;
	dr_chomp(out);
	return 0;
}

int dr_find_pcscd(cs_pcscd_proc *p)
{
	DIR *d;
	struct dirent *de;
	char comm[64];

	memset(p, 0, sizeof(*p));
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		int pid = atoi(de->d_name);

		if (pid <= 0 || proc_comm(pid, comm, sizeof(comm)) != 0)
			continue;
		if (strcmp(comm, "pcscd") == 0) {
			proc_ids(pid, p);
			break;
		}
	}
	closedir(d);
	return p->pid;
}

/* Programs known to keep cards: they open them exclusively or hold
 * transactions for long (gpg's scdaemon by default). */
static int known_holder(const char *comm)
{
	static const char *const names[] = {"scdaemon", "gpg-agent",
	    "pcsc_scan", "opensc-tool", "pkcs11-tool", "pkcs15-tool",
	    "pkcs15-init", "opensc-notify", "ykman", "yubikey-agent",
	    "p11-kit-server", "sssd_pam", "gnome-keyring-d", "firefox-esr",
	    "firefox", "chromium", "chrome", "ssh-agent", "pcscd-watch"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(comm, names[i]) == 0)
			return 1;
	return 0;
}

/* Does the process have the PC/SC client library mapped? Reading another
 * user's maps needs root; unknown then. */
static int maps_pcsc(int pid)
{
	char path[64], line[512];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "libpcsclite") != NULL)
			found = 1;
	fclose(f);
	return found;
}

/* "scdaemon (pid 812, user alice), ..." of other PC/SC clients. */
void dr_pcsc_clients(char *out, size_t outlen)
{
	DIR *d;
	struct dirent *de;
	size_t off = 0;
	int self = (int)getpid(), parent = (int)getppid();

	out[0] = '\0';
	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL && off + 1 < outlen) {
		int pid = atoi(de->d_name);
		char comm[64];
		cs_pcscd_proc ids;
		struct passwd *pw;

		if (pid <= 0 || pid == self || pid == parent ||
		    proc_comm(pid, comm, sizeof(comm)) != 0 ||
		    strcmp(comm, "pcscd") == 0)
			continue;
		if (!known_holder(comm) && !maps_pcsc(pid))
			continue;
		proc_ids(pid, &ids);
		pw = getpwuid(ids.uid);
		off += (size_t)snprintf(out + off, outlen - off,
		    "%s%s (pid %d, user %s)", off ? ", " : "", comm, pid,
		    pw ? pw->pw_name : "?");
	}
	closedir(d);
	if (off >= outlen && outlen > 4)
		memcpy(out + outlen - 4, "...", 4);
}
