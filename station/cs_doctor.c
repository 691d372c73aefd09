/* cs_doctor.c - the station's health checks. Each check_* function looks
 * at one thing and says what it found and what to do. */
#include "cs_doctor.h"
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

#define PCSCD_SOCKET "/run/pcscd/pcscd.comm"
#define MIB (1024.0 * 1024.0)
/* The journal grows by a few kB per card; these leave room for a term's
 * issuance and for SQLite's WAL and checkpoints. */
#define JOURNAL_FAIL_BYTES (64ull << 20)
#define JOURNAL_WARN_BYTES (512ull << 20)
/* A clock this far past the build is more likely wrong than a station
 * that old. */
#define CLOCK_FUTURE_SECS (15ll * 365 * 24 * 3600)
#define TOOL_TIMEOUT_MS 20000
/* The helpers doctor runs, by the absolute paths the build found
 * (station/CMakeLists.txt): execve, never a PATH search. */
#ifndef CS_OPENSC_TOOL_PATH
#define CS_OPENSC_TOOL_PATH "/usr/bin/opensc-tool"
#endif
#ifndef CS_PCSCD_PATH
#define CS_PCSCD_PATH "/usr/sbin/pcscd"
#endif

/* --- findings ------------------------------------------------------ */

cs_finding *cs_findings_add(cs_findings *fs, cs_severity sev,
    const char *check, const char *fmt, ...)
{
	cs_finding *f;
	va_list ap;

	if (fs->nomem)
		return NULL;
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 16;
		void *t = realloc(fs->f, cap * sizeof(*fs->f));

		if (t == NULL) {
			fs->nomem = 1;
			return NULL;
		}
		fs->f = t;
		fs->cap = cap;
	}
	f = &fs->f[fs->n++];
	memset(f, 0, sizeof(*f));
	f->sev = sev;
	snprintf(f->check, sizeof(f->check), "%s", check);
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
	return f;
}

void cs_finding_todo(cs_finding *f, const char *fmt, ...)
{
	va_list ap;

	if (f == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(f->todo, sizeof(f->todo), fmt, ap);
	va_end(ap);
}

void cs_findings_free(cs_findings *fs)
{
	if (fs == NULL)
		return;
	free(fs->f);
	memset(fs, 0, sizeof(*fs));
}

cs_severity cs_findings_worst(const cs_findings *fs)
{
	cs_severity w = CS_SEV_OK;

	for (size_t i = 0; i < fs->n; i++)
		if (fs->f[i].sev > w)
			w = fs->f[i].sev;
	return w;
}

const char *cs_severity_name(cs_severity sev)
{
	switch (sev) {
	case CS_SEV_OK:
		return "ok";
	case CS_SEV_INFO:
		return "info";
	case CS_SEV_WARN:
		return "warn";
	case CS_SEV_FAIL:
		return "fail";
	}
	return "?";
}

/* --- options ------------------------------------------------------- */

time_t cs_doctor_build_time(void)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *d = __DATE__; /* "Mmm dd yyyy" */
	struct tm tm;
	const char *m;

	memset(&tm, 0, sizeof(tm));
	if ((m = strstr(months, (char[4]){d[0], d[1], d[2], '\0'})) == NULL)
		return 0;
	tm.tm_mon = (int)(m - months) / 3;
	tm.tm_mday = atoi(d + 4);
	tm.tm_year = atoi(d + 7) - 1900;
	return timegm(&tm);
}

void cs_doctor_opts_init(cs_doctor_opts *o)
{
	memset(o, 0, sizeof(*o));
	/* Where every other command looks: $CARDSTATION_JOURNAL and
	 * $CARDSTATION_PROFILES first, then the installed places. */
	o->journal = cs_journal_path(NULL);
	o->profiles_dir = cs_profile_dir();
	o->drivers_dir = CS_PCSC_DRIVERS_DIR;
	o->pcscd = CS_PCSCD_PATH;
	o->opensc_tool = CS_OPENSC_TOOL_PATH;
	o->kiosk_group = "cardstation";
	o->skip = "";
	o->now = time(NULL);
	o->built = cs_doctor_build_time();
}

static int skipped(const cs_doctor_opts *o, const char *check)
{
	const char *p = o->skip;
	size_t l = strlen(check);

	while ((p = strstr(p, check)) != NULL) {
		if ((p == o->skip || p[-1] == ',' || p[-1] == ' ') &&
		    (p[l] == '\0' || p[l] == ',' || p[l] == ' '))
			return 1;
		p += l;
	}
	return 0;
}

/* --- helpers ------------------------------------------------------- */

static void fmt_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

/* Run argv with stdout captured (stderr dropped), at most timeout_ms.
 * Returns the exit status, or -1 when it could not run or was killed. No
 * secret ever goes through here: doctor passes none. argv[0] is an absolute
 * path, run as it is: a bare name is refused, not looked up in PATH. */
static int run_capture(char *const argv[], char *out, size_t outlen)
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

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* --- clock --------------------------------------------------------- */

void cs_doctor_check_clock(cs_findings *fs, time_t now, time_t built,
    int ntp_synced)
{
	char snow[40], sbuilt[40];
	cs_finding *f;

	fmt_time(now, snow, sizeof(snow));
	fmt_time(built, sbuilt, sizeof(sbuilt));
	/* A day of slack: the build date has no time of day or zone. */
	if (built > 0 && now < built - 24 * 3600) {
		f = cs_findings_add(fs, CS_SEV_FAIL, "clock", _("the system "
		    "clock says %s, before this program was built (%s)"),
		    snow, sbuilt);
		cs_finding_todo(f, _("set the clock: `timedatectl set-ntp true` "
		    "with network access, or `timedatectl set-time`; "
		    "certificate validity checks are wrong until then"));
	} else if (built > 0 && now > built + CLOCK_FUTURE_SECS) {
		f = cs_findings_add(fs, CS_SEV_WARN, "clock", _("the system "
		    "clock says %s, more than 15 years after this program "
		    "was built (%s)"), snow, sbuilt);
		cs_finding_todo(f, _("check the clock (`timedatectl`); a wrong "
		    "date makes valid certificates look expired"));
	} else
		cs_findings_add(fs, CS_SEV_OK, "clock", _("system clock %s"),
		    snow);
	if (ntp_synced == 0) {
		f = cs_findings_add(fs, CS_SEV_INFO, "clock", _("the kernel "
		    "reports the clock as not synchronised (no NTP)"));
		cs_finding_todo(f, _("if the station has network, enable time "
		    "sync: `timedatectl set-ntp true`"));
	}
}

static int ntp_synced(void)
{
	struct timex tx;

	memset(&tx, 0, sizeof(tx));
	/* modes 0 only reads; TIME_ERROR means "not synchronised". */
	return adjtimex(&tx) == TIME_ERROR ? 0 : 1;
}

/* --- journal ------------------------------------------------------- */

void cs_doctor_check_journal(cs_findings *fs, const char *path)
{
	char dir[4096], want[4096], *slash;
	struct statvfs vfs;
	struct stat st;
	unsigned long long avail, total;
	cs_finding *f;
	int exists_dir;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	exists_dir = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	snprintf(want, sizeof(want), "%s", dir);
	/* Judge the filesystem the journal will live on: the nearest
	 * directory that exists. */
	while (stat(dir, &st) != 0 && (slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	if (statvfs(dir, &vfs) != 0) {
		f = cs_findings_add(fs, CS_SEV_FAIL, "journal", _("cannot look "
		    "at the filesystem of %s: %s"), path, strerror(errno));
		cs_finding_todo(f, _("give --journal a path on a local, "
		    "writable disk"));
		return;
	}
	avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	total = (unsigned long long)vfs.f_blocks * vfs.f_frsize;
	if (vfs.f_flag & ST_RDONLY) {
		f = cs_findings_add(fs, CS_SEV_FAIL, "journal", _("the journal "
		    "%s is on a read-only filesystem (%s)"), path, dir);
		cs_finding_todo(f, _("put the journal on a writable disk "
		    "(--journal PATH) or remount it read-write"));
	} else if (avail < JOURNAL_FAIL_BYTES) {
		f = cs_findings_add(fs, CS_SEV_FAIL, "journal", _("only %.1f "
		    "MiB free for the journal %s (filesystem of %s)"),
		    avail / MIB, path, dir);
		cs_finding_todo(f, _("free disk space: the journal must never "
		    "fail a write in the middle of a card"));
	} else if (avail < JOURNAL_WARN_BYTES) {
		f = cs_findings_add(fs, CS_SEV_WARN, "journal", _("%.0f MiB "
		    "free of %.0f MiB for the journal %s"), avail / MIB,
		    total / MIB, path);
		cs_finding_todo(f, _("free disk space before a large run"));
	} else
		cs_findings_add(fs, CS_SEV_OK, "journal", _("%.1f GiB free of "
		    "%.1f GiB for the journal %s"), avail / MIB / 1024,
		    total / MIB / 1024, path);
	if (!exists_dir) {
		f = cs_findings_add(fs, CS_SEV_INFO, "journal", _("the journal's "
		    "directory %s does not exist yet"), want);
		cs_finding_todo(f, _("create it for the kiosk user, e.g. "
		    "`install -d -o kiosk -g cardstation -m 0750 %s`"), want);
	} else if (access(dir, W_OK) != 0) {
		f = cs_findings_add(fs, CS_SEV_WARN, "journal", _("this user "
		    "cannot write in %s"), dir);
		cs_finding_todo(f, _("run as the kiosk user, or give that "
		    "user the directory (chown/chmod)"));
	} else if (stat(path, &st) == 0)
		cs_findings_add(fs, CS_SEV_INFO, "journal", _("journal %s holds "
		    "%.1f MiB"), path, st.st_size / MIB);
}

/* --- setup: udev rules and group ----------------------------------- */

static void check_setup(cs_findings *fs, const cs_doctor_opts *o)
{
	/* Where udev reads rules; /usr/local is not among them, a common
	 * trap after `cmake --install` with the default prefix. */
	static const char *const dirs[] = {"/etc/udev/rules.d",
	    "/run/udev/rules.d", "/usr/lib/udev/rules.d",
	    "/lib/udev/rules.d"};
	char path[256];
	const char *found = NULL;
	cs_finding *f;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !found;
	    i++) {
		snprintf(path, sizeof(path), "%s/70-cardstation.rules",
		    dirs[i]);
		if (access(path, R_OK) == 0)
			found = dirs[i];
	}
	if (found)
		cs_findings_add(fs, CS_SEV_OK, "setup", _("cardstation's udev "
		    "rules are installed in %s"), found);
	else if (access("/usr/local/lib/udev/rules.d/70-cardstation.rules",
	    R_OK) == 0) {
		f = cs_findings_add(fs, CS_SEV_WARN, "setup", _("cardstation's "
		    "udev rules are in /usr/local/lib/udev/rules.d, where "
		    "udev does not read them"));
		cs_finding_todo(f, _("reinstall with -DCMAKE_INSTALL_PREFIX=/usr "
		    "or copy the files to /etc/udev/rules.d, then "
		    "`udevadm control --reload && udevadm trigger`"));
	} else {
		f = cs_findings_add(fs, CS_SEV_WARN, "setup", _("cardstation's "
		    "udev rules (70-cardstation.rules) are not installed"));
		cs_finding_todo(f, _("install them (`cmake --install`, prefix "
		    "/usr) and run `udevadm control --reload && udevadm "
		    "trigger`; see docs/kiosk-setup.md"));
	}
	if (getgrnam(o->kiosk_group) == NULL) {
		f = cs_findings_add(fs, CS_SEV_WARN, "setup", _("the group '%s' "
		    "that the udev and polkit rules grant does not exist"),
		    o->kiosk_group);
		cs_finding_todo(f, _("`groupadd --system %s` and add the kiosk "
		    "user to it (`usermod -aG %s kiosk`)"), o->kiosk_group,
		    o->kiosk_group);
	} else
		cs_findings_add(fs, CS_SEV_OK, "setup", _("group '%s' exists"),
		    o->kiosk_group);
}

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
	chomp(out);
	return 0;
}

static int find_pcscd(cs_pcscd_proc *p)
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
static void pcsc_clients(char *out, size_t outlen)
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

/* --- pcscd ----------------------------------------------------------- */

static void check_pcscd(cs_findings *fs, const cs_doctor_opts *o,
    SCARDCONTEXT *ctx, cs_pcscd_proc *proc)
{
	const char *sock = getenv("PCSCLITE_CSOCK_NAME");
	char out[512], version[64] = "", *v;
	char *argv[] = {(char *)o->pcscd, "--version", NULL};
	struct stat st;
	cs_finding *f;
	LONG rv;

	if (sock == NULL || *sock == '\0')
		sock = PCSCD_SOCKET;
	if (run_capture(argv, out, sizeof(out)) == 0 &&
	    (v = strstr(out, "version ")) != NULL) {
		snprintf(version, sizeof(version), "%s", v + 8);
		version[strcspn(version, " \n")] = '\0';
		if (version[0] && version[strlen(version) - 1] == '.')
			version[strlen(version) - 1] = '\0';
	}
	/* Establishing a context also starts a socket-activated pcscd. */
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx);
	if (rv != SCARD_S_SUCCESS) {
		*ctx = 0;
		if (stat(sock, &st) != 0) {
			f = cs_findings_add(fs, CS_SEV_FAIL, "pcscd", _("pcscd is "
			    "not running and its socket %s does not exist "
			    "(%s)"), sock, pcsc_stringify_error(rv));
			if (access(o->pcscd, X_OK) != 0)
				cs_finding_todo(f, _("install it: `apt install "
				    "pcscd libccid`"));
			else
				cs_finding_todo(f, _("start it: `systemctl "
				    "enable --now pcscd.socket`"));
		} else {
			f = cs_findings_add(fs, CS_SEV_FAIL, "pcscd", _("pcscd "
			    "does not answer on %s (%s)"), sock,
			    pcsc_stringify_error(rv));
			cs_finding_todo(f, _("restart it: `systemctl restart "
			    "pcscd.socket pcscd.service`; see `journalctl "
			    "-u pcscd`"));
		}
		find_pcscd(proc);
		return;
	}
	find_pcscd(proc);
	if (proc->pid > 0) {
		struct passwd *pw = getpwuid(proc->uid);

		cs_findings_add(fs, CS_SEV_OK, "pcscd", _("pcscd %s running "
		    "(pid %d, user %s), socket %s"), version[0] ? version :
		    "(version unknown)", proc->pid, pw ? pw->pw_name : "?",
		    sock);
	} else
		/* Another mount or pid namespace: we reach it but cannot
		 * see it. */
		cs_findings_add(fs, CS_SEV_OK, "pcscd", _("pcscd %s answers on "
		    "%s"), version[0] ? version : "(version unknown)", sock);
}

/* --- readers, sharing ---------------------------------------------- */

static void hexstr(const unsigned char *p, size_t n, char *out,
    size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o + 3 <= outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%02X", p[i]);
}

typedef struct reader_state {
	int present;
	int mute;
	int exclusive;      /* held exclusively by someone else */
} reader_state;

static void check_readers(cs_findings *fs, SCARDCONTEXT ctx,
    cs_reader_list *rl, reader_state *st)
{
	char spec[CS_READER_NAME + 8], atr[2 * MAX_ATR_SIZE + 1];
	char holders[1024];
	cs_finding *f;

	if (rl->n == 0) {
		f = cs_findings_add(fs, CS_SEV_WARN, "readers", _("PC/SC sees "
		    "no reader"));
		cs_finding_todo(f, _("plug in a reader; if one is plugged in, "
		    "the usb findings say why pcscd does not use it"));
		return;
	}
	for (size_t i = 0; i < rl->n; i++) {
		cs_reader_watch w;
		cs_reader_event ev;
		const cs_reader *r = &rl->r[i];
		SCARDHANDLE h;
		DWORD proto;
		LONG rv;

		cs_reader_stable_spec(rl, r, spec, sizeof(spec));
		cs_reader_watch_init(&w, r->name);
		if (cs_reader_wait(ctx, &w, 0, &ev) != CS_OK ||
		    ev == CS_READER_EV_GONE) {
			cs_findings_add(fs, CS_SEV_INFO, "readers", _("reader %zu "
			    "'%s' went away while looking"), i, r->name);
			continue;
		}
		st[i].present = w.present;
		st[i].mute = w.mute;
		if (!w.present) {
			cs_findings_add(fs, CS_SEV_OK, "readers", _("reader %zu "
			    "'%s' (--reader %s): no card"), i, r->name, spec);
			continue;
		}
		hexstr(w.atr, w.atrlen, atr, sizeof(atr));
		if (w.mute) {
			f = cs_findings_add(fs, CS_SEV_WARN, "readers", _("reader "
			    "%zu '%s': a card is in but does not answer"),
			    i, r->name);
			cs_finding_todo(f, _("turn the card round (chip first, "
			    "facing up) or try another card"));
			continue;
		}
		/* A shared connection is what cardstation and OpenSC use;
		 * if it is refused, someone holds the card exclusively. */
		rv = SCardConnect(ctx, r->name, SCARD_SHARE_SHARED,
		    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto);
		if (rv == SCARD_S_SUCCESS) {
			SCardDisconnect(h, SCARD_LEAVE_CARD);
			cs_findings_add(fs, CS_SEV_OK, "readers", _("reader %zu "
			    "'%s' (--reader %s): card present, ATR %s"), i,
			    r->name, spec, atr);
		} else if (rv == SCARD_E_SHARING_VIOLATION || w.exclusive) {
			st[i].exclusive = 1;
			pcsc_clients(holders, sizeof(holders));
			f = cs_findings_add(fs, CS_SEV_FAIL, "readers", _("reader "
			    "%zu '%s': another process holds the card "
			    "exclusively%s%s"), i, r->name, holders[0] ?
			    "; PC/SC clients running: " : "", holders);
			cs_finding_todo(f, _("close that program; for gpg's "
			    "scdaemon: `gpgconf --kill scdaemon` and put "
			    "`pcsc-shared` (or `disable-ccid`) in "
			    "~/.gnupg/scdaemon.conf of that user"));
		} else {
			f = cs_findings_add(fs, CS_SEV_WARN, "readers", _("reader "
			    "%zu '%s': cannot connect to the card (%s)"), i,
			    r->name, pcsc_stringify_error(rv));
			cs_finding_todo(f, _("take the card out and put it in "
			    "again; if it persists, the card may be broken"));
		}
	}
	/* Identical readers without serial or known position can only be
	 * told apart by index, which changes with plugging order. */
	for (size_t i = 0; i < rl->n; i++) {
		size_t same = 0;

		if (rl->r[i].serial[0] || rl->r[i].position[0])
			continue;
		for (size_t k = 0; k < rl->n; k++)
			if (strcmp(rl->r[k].model, rl->r[i].model) == 0 &&
			    rl->r[k].slot == rl->r[i].slot)
				same++;
		if (same > 1) {
			f = cs_findings_add(fs, CS_SEV_INFO, "readers", _("%zu "
			    "readers are called '%s' and have no serial "
			    "number: only their index tells them apart"),
			    same, rl->r[i].model);
			cs_finding_todo(f, _("keep each in the same USB socket "
			    "and choose them with --reader usb:BUS-PORT"));
			break;
		}
	}
}

/* --- USB ------------------------------------------------------------- */

static int may_open(const struct stat *st, const cs_pcscd_proc *p)
{
	if (p->uid == 0)
		return 1;
	if (st->st_uid == p->uid)
		return (st->st_mode & 0600) == 0600;
	for (size_t i = 0; i < p->ngids; i++)
		if (st->st_gid == p->gids[i])
			return (st->st_mode & 0060) == 0060;
	return (st->st_mode & 0006) == 0006;
}

void cs_doctor_check_usb(cs_findings *fs, const cs_usb_list *usb,
    const cs_usb_drivers *drv, const cs_reader_list *readers,
    const cs_pcscd_proc *pcscd)
{
	size_t others = 0, nreaders = 0;

	for (size_t k = 0; k < usb->n; k++) {
		const cs_usb_dev *d = &usb->dev[k];
		const cs_usb_driver_entry *e = cs_usb_drivers_find(drv, d->vid,
		    d->pid);
		const char *served = NULL;
		char label[CS_USB_STR * 3 + 96];
		struct stat st;
		cs_finding *f;

		if (!cs_usb_is_ccid(d) && e == NULL) {
			if (strchr(d->position, '-') != NULL)
				others++;
			continue;
		}
		nreaders++;
		snprintf(label, sizeof(label), "%04x:%04x '%s%s%s'%s%s at "
		    "usb:%s", d->vid, d->pid, d->manufacturer,
		    d->manufacturer[0] ? " " : "", d->product,
		    d->serial[0] ? " serial " : "", d->serial, d->position);
		for (size_t i = 0; readers && i < readers->n && !served; i++)
			if (readers->r[i].usb == (int)k)
				served = readers->r[i].name;
		if (served) {
			cs_findings_add(fs, CS_SEV_OK, "usb", _("USB reader %s is "
			    "served by pcscd as '%s'"), label, served);
			continue;
		}
		if (e == NULL) {
			char bundles[256] = "";
			size_t off = 0;

			/* Name the Info.plist files that were asked. */
			for (size_t i = 0; i < drv->n && off < sizeof(bundles);
			    i++)
				if (i == 0 || strcmp(drv->e[i].bundle,
				    drv->e[i - 1].bundle) != 0)
					off += (size_t)snprintf(bundles + off,
					    sizeof(bundles) - off, "%s%s %s",
					    off ? ", " : "", drv->e[i].bundle,
					    drv->e[i].version);
			f = cs_findings_add(fs, CS_SEV_FAIL, "usb", _("USB "
			    "smart-card reader %s has no PC/SC driver: the "
			    "Info.plist of no installed driver (%s) lists "
			    "%04x:%04x"), label, bundles[0] ? bundles : "none",
			    d->vid, d->pid);
			cs_finding_todo(f, _("this model is not in the installed "
			    "CCID driver's list: use a supported reader, a "
			    "newer libccid, or the vendor's PC/SC driver"));
			continue;
		}
		if (stat(d->devnode, &st) == 0 && pcscd->pid > 0 &&
		    !may_open(&st, pcscd)) {
			struct passwd *pw = getpwuid(pcscd->uid);
			struct group *gr = getgrgid(st.st_gid);

			f = cs_findings_add(fs, CS_SEV_FAIL, "usb", _("USB reader "
			    "%s: pcscd (user %s) may not open %s (mode %04o, "
			    "group %s)"), label, pw ? pw->pw_name : "?",
			    d->devnode, (unsigned)(st.st_mode & 07777),
			    gr ? gr->gr_name : "?");
			cs_finding_todo(f, _("install cardstation's udev rules "
			    "and run `udevadm trigger`, or replug the reader"));
			continue;
		}
		f = cs_findings_add(fs, CS_SEV_WARN, "usb", _("USB reader %s "
		    "has a driver (%s %s, '%s') but pcscd does not show it"),
		    label, e->bundle, e->version, e->name);
		if (pcscd->pid == 0)
			cs_finding_todo(f, _("start pcscd (`systemctl start "
			    "pcscd.socket`) and run doctor again"));
		else
			cs_finding_todo(f, _("replug the reader or run `pcscd "
			    "--hotplug`; if it stays away, see `journalctl "
			    "-u pcscd` for why the driver refused it"));
	}
	if (nreaders == 0)
		cs_findings_add(fs, CS_SEV_INFO, "usb", _("no USB smart-card "
		    "reader is plugged in (%zu other USB device%s)"), others,
		    others == 1 ? "" : "s");
	else if (others > 0)
		cs_findings_add(fs, CS_SEV_INFO, "usb", _("%zu other USB "
		    "device%s (not smart-card readers)"), others,
		    others == 1 ? "" : "s");
}

/* --- OpenSC and cardprofiles -------------------------------------- */

int cs_doctor_profile_for_driver(const char *dir, const char *driver,
    char *out, size_t outlen)
{
	cs_profile *all;
	size_t n;
	char why[256];
	int r;

	out[0] = '\0';
	if ((r = cs_profile_load_all(dir, &all, &n, why, sizeof(why))) != CS_OK)
		return r == CS_ERR_NOTFOUND ? CS_ERR_IO : r;
	r = CS_ERR_NOTFOUND;
	for (size_t i = 0; i < n && r != CS_OK; i++)
		if (strcasecmp(all[i].opensc_driver, driver) == 0) {
			snprintf(out, outlen, "%s", all[i].name);
			r = CS_OK;
		}
	free(all);
	return r;
}

/* OpenSC's short driver name ("isoApplet") for the long name opensc-tool
 * prints ("JavaCard with IsoApplet"), from `opensc-tool -D`. */
static void short_driver(const char *list, const char *longname, char *out,
    size_t outlen)
{
	const char *p = list;

	snprintf(out, outlen, "%s", longname);
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		char line[256], name[64];
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		char *rest;

		snprintf(line, sizeof(line), "%.*s", (int)l, p);
		p = eol ? eol + 1 : NULL;
		if (sscanf(line, " %63s", name) != 1)
			continue;
		rest = strstr(line, name) + strlen(name);
		while (isspace((unsigned char)*rest))
			rest++;
		chomp(rest);
		if (strcmp(rest, longname) == 0) {
			snprintf(out, outlen, "%s", name);
			return;
		}
	}
}

static void check_opensc(cs_findings *fs, const cs_doctor_opts *o,
    const cs_reader_list *rl, const reader_state *st)
{
	char out[4096], drivers[8192], version[64] = "", *v;
	char *info_argv[] = {(char *)o->opensc_tool, "--info", NULL};
	char *list_argv[] = {(char *)o->opensc_tool, "--list-drivers", NULL};
	cs_finding *f;
	int profiles_ok;
	DIR *pd;

	if (run_capture(info_argv, out, sizeof(out)) != 0) {
		f = cs_findings_add(fs, CS_SEV_FAIL, "opensc", _("OpenSC's "
		    "opensc-tool (%s) cannot be run"), o->opensc_tool);
		cs_finding_todo(f, _("install OpenSC: `apt install opensc "
		    "opensc-pkcs11`"));
		return;
	}
	if ((v = strstr(out, "OpenSC ")) != NULL) {
		snprintf(version, sizeof(version), "%s", v + 7);
		version[strcspn(version, " \n")] = '\0';
	}
	cs_findings_add(fs, CS_SEV_OK, "opensc", "OpenSC %s", version[0] ?
	    version : "(version unknown)");
	if ((pd = opendir(o->profiles_dir)) != NULL) {
		closedir(pd);
		profiles_ok = 1;
	} else {
		profiles_ok = 0;
		f = cs_findings_add(fs, CS_SEV_INFO, "opensc", _("no cardprofiles "
		    "directory at %s"), o->profiles_dir);
		cs_finding_todo(f, _("install cardstation completely, or give "
		    "--profiles DIR"));
	}
	if (run_capture(list_argv, drivers, sizeof(drivers)) != 0)
		drivers[0] = '\0';
	for (size_t i = 0; i < rl->n; i++) {
		char idx[24], name[128] = "", drv[64], prof[128];
		char *argv[] = {(char *)o->opensc_tool, "--reader", idx,
		    "--name", "--verbose", NULL};
		char *l;

		if (!st[i].present || st[i].mute || st[i].exclusive)
			continue;
		/* OpenSC numbers readers in PC/SC's order. */
		snprintf(idx, sizeof(idx), "%zu", i);
		if (run_capture(argv, out, sizeof(out)) != 0) {
			f = cs_findings_add(fs, CS_SEV_WARN, "opensc", _("OpenSC "
			    "knows no driver for the card in '%s'"),
			    rl->r[i].name);
			cs_finding_todo(f, _("this card model is not supported: "
			    "use cards of a supported model (see "
			    "cardprofiles/)"));
			continue;
		}
		/* "Using card driver X." then the card's name. */
		if ((l = strstr(out, "Using card driver ")) != NULL) {
			snprintf(name, sizeof(name), "%s", l + 18);
			name[strcspn(name, "\n")] = '\0';
			if (name[0] && name[strlen(name) - 1] == '.')
				name[strlen(name) - 1] = '\0';
		}
		short_driver(drivers, name, drv, sizeof(drv));
		if (!profiles_ok ||
		    cs_doctor_profile_for_driver(o->profiles_dir, drv, prof,
		    sizeof(prof)) != CS_OK) {
			f = cs_findings_add(fs, CS_SEV_WARN, "opensc", _("card in "
			    "'%s': OpenSC driver %s ('%s'); no cardprofile "
			    "names this driver"), rl->r[i].name, drv, name);
			cs_finding_todo(f, _("cardstation cannot encode this card "
			    "model yet: use a supported card, or add a "
			    "cardprofile with `driver = %s`"), drv);
		} else
			cs_findings_add(fs, CS_SEV_OK, "opensc", _("card in '%s': "
			    "OpenSC driver %s ('%s'), cardprofile %s"),
			    rl->r[i].name, drv, name, prof);
	}
}

/* --- all ------------------------------------------------------------- */

int cs_doctor_run(const cs_doctor_opts *o, cs_findings *out)
{
	SCARDCONTEXT ctx = 0;
	cs_reader_list rl = {NULL, 0};
	cs_usb_list usb = {NULL, 0};
	cs_usb_drivers drv = {NULL, 0, 0};
	cs_pcscd_proc pcscd;
	reader_state *st = NULL;
	char msg[256];
	int r = CS_OK, have_usb = 0;

	memset(&pcscd, 0, sizeof(pcscd));
	if (!skipped(o, "clock"))
		cs_doctor_check_clock(out, o->now, o->built, ntp_synced());
	if (!skipped(o, "journal"))
		cs_doctor_check_journal(out, o->journal);
	if (!skipped(o, "setup"))
		check_setup(out, o);
	/* The rest depends on pcscd; skipping it skips them too. */
	if (skipped(o, "pcscd"))
		goto out;
	check_pcscd(out, o, &ctx, &pcscd);
	if (ctx != 0 && (r = cs_reader_list_get(ctx, &rl)) != CS_OK) {
		cs_finding *f = cs_findings_add(out, CS_SEV_FAIL, "readers",
		    "cannot list PC/SC readers");

		cs_finding_todo(f, _("restart pcscd: `systemctl restart pcscd`"));
		r = CS_OK;
	}
	if (rl.n > 0 && (st = calloc(rl.n, sizeof(*st))) == NULL) {
		r = CS_ERR_NOMEM;
		goto out;
	}
	if (!skipped(o, "usb")) {
		if ((r = cs_usb_drivers_load(o->drivers_dir, &drv)) ==
		    CS_ERR_NOMEM)
			goto out;
		r = CS_OK;
		if (drv.nbundles == 0) {
			cs_finding *f = cs_findings_add(out, CS_SEV_FAIL, "usb",
			    "no PC/SC driver is installed in %s",
			    o->drivers_dir);

			cs_finding_todo(f, _("install the CCID driver: `apt "
			    "install libccid`"));
		}
		if (cs_usb_enumerate(&usb, msg, sizeof(msg)) == CS_OK)
			have_usb = 1;
		else
			cs_findings_add(out, CS_SEV_INFO, "usb", "%s", msg);
		cs_reader_locate_usb(&rl, &usb, &drv, ctx);
	}
	if (ctx != 0 && !skipped(o, "readers"))
		check_readers(out, ctx, &rl, st);
	if (have_usb)
		cs_doctor_check_usb(out, &usb, &drv, &rl, &pcscd);
	if (!skipped(o, "opensc")) {
		/* Without pcscd there are no cards to ask about, but the
		 * version is still worth knowing. */
		cs_reader_list none = {NULL, 0};

		check_opensc(out, o, st != NULL ? &rl : &none, st);
	}
out:
	if (ctx != 0)
		SCardReleaseContext(ctx);
	free(st);
	cs_reader_list_free(&rl);
	cs_usb_list_free(&usb);
	cs_usb_drivers_free(&drv);
	if (r == CS_OK && out->nomem)
		r = CS_ERR_NOMEM;
	return r;
}
