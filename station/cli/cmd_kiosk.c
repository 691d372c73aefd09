/* cmd_kiosk.c - `cardstation kiosk`: the operator's screen.
 *
 * Starts the kiosk's local web server (kiosk/ks.h) and runs until SIGINT
 * or SIGTERM. The first line on stdout is the address to open, so that a
 * launcher (or a test) can wait for it instead of guessing. The address
 * with this start's key goes only where --key-fd / --key-file say: stdout
 * may be the system journal. */
#include "cs_cmd.h"
#include "cs_err.h"
#include "cs_p12.h"
#include "cs_paths.h"
#include "ks.h"
#include "cs_i18n.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef KS_WWW_DIR
#define KS_WWW_DIR "/usr/share/cardstation/kiosk/www"
#endif

/* The page's files: installed, or the source tree's for a build tree. */
static const char *ks_www_dir(void)
{
	return cs_paths_data(KS_WWW_DIR, "kiosk/www");
}

static void usage(FILE *f)
{
	fprintf(f,
	    _("usage: cardstation kiosk [options]\n"
	    "\n"
	    "Serves the operator's screen on this machine only: start a run or\n"
	    "import a download, encode cards, hand them over, the service desk.\n"
	    "Open the address printed on the first line in the kiosk browser.\n"
	    "\n"
	    "  --listen ADDR       127.0.0.1:PORT (default 127.0.0.1:8470),\n"
	    "                      [::1]:PORT or unix:PATH; PORT 0 picks one\n"
	    "  --reader SPEC       a reader to encode with (repeat; default: all)\n"
	    "  --import-root DIR   where to look for downloads (repeat; default\n"
	    "                      /media /run/media /mnt)\n"
	    "  --journal PATH      the journal (default $CARDSTATION_JOURNAL or\n"
	    "                      /var/lib/cardstation/journal.db)\n"
	    "  --profile NAME      force a card profile\n"
	    "  --profiles DIR      card profiles\n"
	    "  --institution O     the O every certificate must carry\n"
	    "  --ca PEM            the issuing CA, to check chains at the desk\n"
	    "  --admin-mail MAIL   the administrator named in revocation requests\n"
	    "  --idle SECONDS      log an idle operator out (default 600)\n"
	    "  --no-confirm        do not ask for the printed card number\n"
	    "  --www DIR           the page's files (default %s)\n"
	    "  --key-file PATH     write the launch address with this start's key\n"
	    "                      to PATH (0600; its folder must be ours alone,\n"
	    "                      e.g. /run/cardstation-kiosk/launch)\n"
	    "  --key-fd N          write it to file descriptor N (a launcher's pipe)\n"
	    "  --pam-service NAME  PAM service for operator logins (default\n"
	    "                      cardstation)\n"
	    "  --pam-confdir DIR   PAM configuration folder (default PAM's own)\n"
	    "  --role-groups P     roles from groups P-encode, P-desk, P-admin\n"
	    "                      (default cardstation)\n"
	    "\n"
	    "Without the key nothing of the API answers: start the browser with\n"
	    "kiosk-browser, which reads --key-file.\n"), ks_www_dir());
}

static int add(const char **list, size_t *n, size_t max, const char *v)
{
	if (*n == max)
		return -1;
	list[(*n)++] = v;
	return 0;
}

static int parse_args(int argc, char **argv, ks_config *c)
{
	enum { O_LISTEN = 256, O_READER, O_ROOT, O_JOURNAL, O_PROFILE,
	    O_PROFILES, O_INST, O_CA, O_ADMIN, O_IDLE, O_NOCONFIRM, O_WWW,
	    O_KEYFILE, O_KEYFD, O_PAMSVC, O_PAMDIR, O_ROLES, O_HELP };
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, O_LISTEN},
		{"reader", required_argument, NULL, O_READER},
		{"import-root", required_argument, NULL, O_ROOT},
		{"journal", required_argument, NULL, O_JOURNAL},
		{"profile", required_argument, NULL, O_PROFILE},
		{"profiles", required_argument, NULL, O_PROFILES},
		{"institution", required_argument, NULL, O_INST},
		{"ca", required_argument, NULL, O_CA},
		{"admin-mail", required_argument, NULL, O_ADMIN},
		{"idle", required_argument, NULL, O_IDLE},
		{"no-confirm", no_argument, NULL, O_NOCONFIRM},
		{"www", required_argument, NULL, O_WWW},
		{"key-file", required_argument, NULL, O_KEYFILE},
		{"key-fd", required_argument, NULL, O_KEYFD},
		{"pam-service", required_argument, NULL, O_PAMSVC},
		{"pam-confdir", required_argument, NULL, O_PAMDIR},
		{"role-groups", required_argument, NULL, O_ROLES},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	char *end;
	long v;
	int ch;

	memset(c, 0, sizeof(*c));
	c->listen = "127.0.0.1:8470";
	c->www = ks_www_dir();
	c->idle_s = 600;
	c->key_fd = -1;
	c->pam_service = "cardstation";
	c->role_prefix = "cardstation";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int bad = 0;

		switch (ch) {
		case O_LISTEN: c->listen = optarg; break;
		case O_READER:
			bad = add(c->readers, &c->nreaders, KS_MAX_READERS, optarg);
			break;
		case O_ROOT:
			bad = add(c->roots, &c->nroots, KS_MAX_ROOTS, optarg);
			break;
		case O_JOURNAL: c->journal = optarg; break;
		case O_PROFILE: c->profile = optarg; break;
		case O_PROFILES: c->profiles_dir = optarg; break;
		case O_INST: c->institution = optarg; break;
		case O_CA: c->ca = optarg; break;
		case O_ADMIN: c->admin_mail = optarg; break;
		case O_IDLE:
			v = strtol(optarg, &end, 10);
			bad = *end != '\0' || v < 10 || v > 86400;
			c->idle_s = (unsigned)v;
			break;
		case O_NOCONFIRM: c->no_confirm = 1; break;
		case O_WWW: c->www = optarg; break;
		case O_KEYFILE: c->key_file = optarg; break;
		case O_KEYFD:
			v = strtol(optarg, &end, 10);
			bad = *end != '\0' || v < 3 || v > 65535;
			c->key_fd = (int)v;
			break;
		case O_PAMSVC: c->pam_service = optarg; break;
		case O_PAMDIR: c->pam_confdir = optarg; break;
		case O_ROLES:
			c->role_prefix = optarg;
			bad = *optarg == '\0' || strlen(optarg) > 64;
			break;
		case 'h': case O_HELP: usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
		if (bad) {
			fprintf(stderr, _("cardstation kiosk: bad value for %s\n"),
			    argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	if (c->key_fd < 0 && c->key_file == NULL) {
		fprintf(stderr, _("cardstation kiosk: give --key-file or --key-fd: "
		    "only the browser that gets this start's key may use the "
		    "kiosk\n"));
		return -1;
	}
	if (c->nroots == 0) {
		c->roots[c->nroots++] = "/media";
		c->roots[c->nroots++] = "/run/media";
		c->roots[c->nroots++] = "/mnt";
	}
	return 0;
}

int cmd_kiosk(int argc, char **argv)
{
	ks_config cfg;
	ks_server *srv = NULL;
	cs_p12_providers pv;
	sigset_t set;
	struct stat st;
	char why[512] = "";
	int r, sig = 0;

	if ((r = parse_args(argc, argv, &cfg)) != 0)
		return r > 0 ? CS_EXIT_OK : CS_EXIT_FAIL;
	if (stat(cfg.www, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, _("cardstation kiosk: no page files in %s (--www)\n"),
		    cfg.www);
		return CS_EXIT_FAIL;
	}
	/* Providers stay loaded for the process: inspect and import load
	 * PKCS#12 files from several request threads. */
	if (cs_p12_init(&pv) != CS_OK) {
		fprintf(stderr, _("cardstation kiosk: OpenSSL's default and legacy "
		    "providers cannot be loaded\n"));
		return CS_EXIT_FAIL;
	}
	/* Threads inherit this mask: only sigwait below sees the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (ks_server_start(&srv, &cfg, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, _("cardstation kiosk: %s\n"), why);
		cs_p12_fini(&pv);
		return CS_EXIT_FAIL;
	}
	printf("%s\n", ks_server_url(srv));
	fflush(stdout);
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		;
	fprintf(stderr, _("cardstation kiosk: stopping (signal %d)\n"), sig);
	ks_server_stop(srv);
	cs_p12_fini(&pv);
	return CS_EXIT_OK;
}
