/* cs_token.c - the write path (pkcs15-init, once per card) and the check
 * (opensc-pkcs11.so in-process). */
#include "cs_token.h"
#include "cs_err.h"
#include "cs_card.h"
#include "cs_p11.h"
#include "cs_secret.h"
#include "cs_child.h"
#include "cs_io.h"
#include "cs_i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pkcs12.h>
#include <openssl/rand.h>

#ifndef CS_PCSC_VIEW_PATH
#define CS_PCSC_VIEW_PATH "/usr/lib/cardstation/libcardstation_pcsc_view.so"
#endif
#define VIEW_NAME "libcardstation_pcsc_view.so"
#define PKCS15_INIT "pkcs15-init"
/* Set by the build (station/CMakeLists.txt, find_program); no run-time
 * override: a path the operator's environment could change is what
 * execvpe's PATH search was. */
#ifndef CS_PKCS15_INIT_PATH
#define CS_PKCS15_INIT_PATH "/usr/bin/pkcs15-init"
#endif

extern char **environ;

/* The view library: beside the cardstation binary (a build tree), else
 * where it is installed; CARDSTATION_PCSC_VIEW overrides both. */
static void view_path(char *out, size_t outlen)
{
	const char *env = getenv("CARDSTATION_PCSC_VIEW");
	char exe[PATH_MAX];
	ssize_t n;

	if (env != NULL && *env != '\0') {
		snprintf(out, outlen, "%s", env);
		return;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		char *slash;

		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			if (snprintf(out, outlen, "%s/%s", exe, VIEW_NAME) <
			    (int)outlen && access(out, R_OK) == 0)
				return;
		}
	}
	snprintf(out, outlen, "%s", CS_PCSC_VIEW_PATH);
}

#define CONF_MEMFD "cardstation-opensc."

/* The memfd OPENSC_CONF already names, if it is ours: -1 if none, else its
 * fd, with *same set when it was made for this driver. The environment and
 * the fd table are the state: nothing to keep beside them. */
static int current_conf(const char *driver, int *same)
{
	const char *conf = getenv("OPENSC_CONF");
	char link[64], target[128], want[128];
	ssize_t n;
	int fd;

	*same = 0;
	if (conf == NULL || sscanf(conf, "/proc/self/fd/%d", &fd) != 1)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
		return -1;
	target[n] = '\0';
	if (strncmp(target, "/memfd:" CONF_MEMFD, strlen("/memfd:" CONF_MEMFD)) != 0)
		return -1;
	snprintf(want, sizeof(want), "/memfd:" CONF_MEMFD "%s (deleted)", driver);
	*same = strcmp(target, want) == 0;
	return fd;
}

int cs_token_env(const cs_profile *p, const char *reader, char *why,
    size_t whylen)
{
	char view[PATH_MAX], path[64], name[96];
	int fd, same;

	/* Made once per process and driver; later cards only name their
	 * reader. A configuration for another driver is closed, not leaked. */
	if ((fd = current_conf(p->opensc_driver, &same)) >= 0 && same)
		goto reader;
	if (fd >= 0)
		close(fd);
	view_path(view, sizeof(view));
	if (access(view, R_OK) != 0) {
		snprintf(why, whylen, _("the PC/SC view library %s is missing"), view);
		return CS_ERR_NOTFOUND;
	}
	/* In memory, inherited by pkcs15-init: nothing on disk to clean up. */
	snprintf(name, sizeof(name), CONF_MEMFD "%s", p->opensc_driver);
	if ((fd = memfd_create(name, 0)) < 0) {
		snprintf(why, whylen, "memfd_create: %s", strerror(errno));
		return CS_ERR_IO;
	}
	dprintf(fd,
	    "app default {\n"
	    "  card_drivers = %s;\n"
	    "  reader_driver pcsc {\n"
	    "    provider_library = %s;\n"
	    "  }\n"
	    "  framework pkcs15 {\n"
	    "    use_file_caching = no;\n"
	    "  }\n"
	    "}\n", p->opensc_driver, view);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (setenv("OPENSC_CONF", path, 1) != 0) {
		close(fd);
		snprintf(why, whylen, _("cannot set the OpenSC environment"));
		return CS_ERR_NOMEM;
	}
reader:
	if (setenv("CARDSTATION_READER", reader, 1) != 0) {
		snprintf(why, whylen, _("cannot set the OpenSC environment"));
		return CS_ERR_NOMEM;
	}
	return CS_OK;
}

/* The key and certificate re-wrapped for pkcs15-init: AES-256 with a
 * one-time random passphrase, because the download's legacy 3DES/RC2
 * encryption needs a provider pkcs15-init does not load. */
static int transport_p12(const cs_token_write_args *a, const char *pass,
    unsigned char **der, int *derlen)
{
	PKCS12 *p12;

	p12 = PKCS12_create(pass, NULL, a->key, a->cert,
	    a->profile->ca_chain ? a->chain : NULL, NID_aes_256_cbc,
	    NID_aes_256_cbc, PKCS12_DEFAULT_ITER, 1, 0);
	if (p12 == NULL)
		return CS_ERR_CRYPTO;
	*der = NULL;
	*derlen = i2d_PKCS12(p12, der);
	PKCS12_free(p12);
	return *derlen > 0 ? CS_OK : CS_ERR_CRYPTO;
}

static void build_argv(const cs_token_write_args *a, const char **argv,
    char *profile, size_t profilelen)
{
	const cs_profile *p = a->profile;
	int n = 0;

	argv[n++] = PKCS15_INIT; /* its name; run by cs_token_pkcs15_init_path() */
	argv[n++] = "--reader";
	argv[n++] = a->reader;
	/* OpenSC's own profile options (pkcs15.profile), as the card
	 * profile asks: e.g. direct-cert keeps the certificate in the CDF. */
	if (p->p15init_options[0] != '\0') {
		snprintf(profile, profilelen, "pkcs15+%s", p->p15init_options);
		argv[n++] = "--profile";
		argv[n++] = profile;
	}
	if (a->rekey) {
		argv[n++] = "--delete-objects";
		argv[n++] = "privkey,pubkey,cert";
		argv[n++] = "--pin";
		argv[n++] = "env:CS_CARD_PIN";
	} else {
		argv[n++] = "--create-pkcs15";
		argv[n++] = "--no-so-pin";
		if (a->serial != NULL) {
			argv[n++] = "--serial";
			argv[n++] = a->serial;
		}
		argv[n++] = "--store-pin";
		argv[n++] = "--pin";
		argv[n++] = "env:CS_CARD_PIN";
		argv[n++] = "--puk";
		argv[n++] = "env:CS_CARD_PUK";
	}
	argv[n++] = "--auth-id";
	argv[n++] = p->auth_id;
	argv[n++] = "--label";
	argv[n++] = p->key_label;
	argv[n++] = "--store-private-key";
	argv[n++] = "/dev/fd/3";
	argv[n++] = "--format";
	argv[n++] = "pkcs12";
	argv[n++] = "--passphrase";
	argv[n++] = "env:CS_P12_PASS";
	argv[n++] = "--id";
	argv[n++] = p->key_id;
	argv[n++] = "--cert-label";
	argv[n++] = p->cert_label;
	if (!p->ca_chain)
		argv[n++] = "--ignore-ca-certificates";
	argv[n] = NULL;
}

const char *cs_token_pkcs15_init_path(void)
{
	return CS_PKCS15_INIT_PATH;
}

/* The secrets a command line may name as env:NAME. */
struct secret_var {
	const char *name;
	const char *value;
};

/* environ less every CS_CARD_/CS_P12_ entry, plus the secrets argv names.
 * Built from argv, so a secret the command does not use (the institution
 * PUK when a rewrite only logs in with the PIN) never reaches the child. */
int cs_token_cmd_build(const cs_token_write_args *a, const char *pass,
    cs_token_cmd *c, char *why, size_t whylen)
{
	const struct secret_var vars[] = {
		{"CS_CARD_PIN", a->pin},
		/* NULL: the PUK is on the card already; a command line that
		 * still names it gets it empty, as it always did. */
		{"CS_CARD_PUK", a->puk != NULL ? a->puk : ""},
		{"CS_P12_PASS", pass},
	};
	enum { NVARS = sizeof(vars) / sizeof(vars[0]) };
	int used[NVARS] = {0};
	size_t n = 0, k = 0, need = 1, nused = 0;
	char *w;

	memset(c, 0, sizeof(*c));
	build_argv(a, c->argv, c->p15profile, sizeof(c->p15profile));
	for (size_t i = 0; c->argv[i] != NULL; i++) {
		size_t j;

		if (strncmp(c->argv[i], "env:", 4) != 0)
			continue;
		for (j = 0; j < NVARS; j++)
			if (strcmp(c->argv[i] + 4, vars[j].name) == 0)
				break;
		if (j == NVARS || vars[j].value == NULL) {
			snprintf(why, whylen, _("pkcs15-init's command line names "
			    "%s, a secret the station does not have"), c->argv[i]);
			return CS_ERR_USAGE;
		}
		if (!used[j]) {
			used[j] = 1;
			nused++;
			need += strlen(vars[j].name) + strlen(vars[j].value) + 2;
		}
	}
	while (environ[n] != NULL)
		n++;
	if (cs_secret_new(&c->sec, need) != CS_OK ||
	    (c->env = calloc(n + nused + 1, sizeof(*c->env))) == NULL) {
		cs_token_cmd_free(c);
		snprintf(why, whylen, _("cannot lock memory for the card secrets"));
		return CS_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CS_CARD_", 8) != 0 &&
		    strncmp(environ[i], "CS_P12_", 7) != 0)
			c->env[k++] = environ[i];
	w = (char *)c->sec->buf;
	for (size_t j = 0; j < NVARS; j++)
		if (used[j]) {
			c->env[k++] = w;
			w += sprintf(w, "%s=%s", vars[j].name, vars[j].value) + 1;
		}
	c->sec->len = (size_t)(w - (char *)c->sec->buf);
	c->env[k] = NULL;
	return CS_OK;
}

void cs_token_cmd_free(cs_token_cmd *c)
{
	free(c->env);
	cs_secret_free(c->sec);
	c->env = NULL;
	c->sec = NULL;
}

/* The last non-empty line pkcs15-init wrote to stderr: its reason. */
static void last_line(char *buf, char *why, size_t whylen)
{
	char *end = buf + strlen(buf), *start;

	while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = strrchr(buf, '\n');
	snprintf(why, whylen, "pkcs15-init: %s", start ? start + 1 :
	    *buf ? buf : "failed");
}

/* Where pkcs15-init finds the OpenSC configuration cs_token_env made. */
#define CONF_FD 4
#define CONF_FD_STR "4"

static int run_pkcs15_init(const cs_token_cmd *c, const unsigned char *der,
    size_t derlen, char *why, size_t whylen)
{
	/* c->env is the whole environment the command gets. */
	static const char *const everything[] = {"", NULL};
	int in[2], err[2], status, r;
	char errbuf[4096];
	cs_child ch;

	if (pipe2(in, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return CS_ERR_IO;
	}
	if (pipe2(err, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return CS_ERR_IO;
	}
	{
		/* The key on fd 3 (/dev/fd/3 on its command line), its reason
		 * on stderr, nothing on stdin: it never prompts; OpenSC's
		 * configuration (cs_token_env's memfd) on fd 4. Within the
		 * time a card takes at most: a card or reader that hangs must
		 * not hang the reader's worker. */
		const char *conf = getenv("OPENSC_CONF");
		cs_child_fd fds[] = {{in[0], 3}, {err[1], STDERR_FILENO},
		    {-1, CONF_FD}};
		const char **env;
		size_t n = 0, nfds = 2;
		int cfd;

		int ours = conf != NULL &&
		    sscanf(conf, "/proc/self/fd/%d", &cfd) == 1;

		while (c->env[n] != NULL)
			n++;
		if ((env = calloc(n + 2, sizeof(*env))) == NULL) {
			snprintf(why, whylen, _("out of memory"));
			close(in[0]);
			close(in[1]);
			close(err[0]);
			close(err[1]);
			return CS_ERR_NOMEM;
		}
		n = 0;
		for (size_t i = 0; c->env[i] != NULL; i++)
			if (!ours || strncmp(c->env[i], "OPENSC_CONF=", 12) != 0)
				env[n++] = c->env[i];
		if (ours) {
			fds[nfds++].from = cfd;
			env[n++] = "OPENSC_CONF=/proc/self/fd/" CONF_FD_STR;
		}
		env[n] = NULL;
		const cs_child_spec spec = {
			.path = cs_token_pkcs15_init_path(),
			.argv = (char *const *)c->argv,
			.env_add = env,
			.env_drop = everything,
			.fds = fds, .nfds = nfds,
			.timeout_ms = CS_TOKEN_TIMEOUT_S * 1000,
		};

		r = cs_child_start(&spec, &ch, why, whylen);
		free(env);
	}
	close(in[0]);
	close(err[1]);
	if (r != CS_OK) {
		close(in[1]);
		close(err[0]);
		return CS_ERR_CARD;
	}
	/* A PKCS#12 of a few kB fits the pipe: no deadlock with stderr. */
	(void)cs_io_write_all(in[1], der, derlen);
	close(in[1]);
	cs_child_collect(&ch, err[0], errbuf, sizeof(errbuf), CS_CHILD_KEEP_TAIL);
	close(err[0]);
	if (cs_child_wait(&ch, &status) != CS_OK) {
		snprintf(why, whylen, _("pkcs15-init: cannot wait for it"));
		return CS_ERR_CARD;
	}
	if (ch.timed_out) {
		snprintf(why, whylen, _("pkcs15-init did not finish within %d s: "
		    "stopped"), CS_TOKEN_TIMEOUT_S);
		return CS_ERR_CARD;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return CS_OK;
	last_line(errbuf, why, whylen);
	return CS_ERR_CARD;
}

int cs_token_write(const cs_token_write_args *a, char *why, size_t whylen)
{
	cs_secret *pass = NULL;
	unsigned char *der = NULL;
	cs_token_cmd cmd = {0};
	int derlen = 0, r;
	unsigned char rnd[16];

	if ((r = cs_secret_new(&pass, 2 * sizeof(rnd))) != CS_OK) {
		snprintf(why, whylen, _("cannot lock memory for the card secrets"));
		goto out;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		r = CS_ERR_CRYPTO;
		snprintf(why, whylen, _("no randomness for the transport passphrase"));
		goto out;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		sprintf((char *)pass->buf + 2 * i, "%02x", rnd[i]);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	pass->len = 2 * sizeof(rnd);
	if (strlen(a->pin) > 64 || (a->puk && strlen(a->puk) > 64)) {
		r = CS_ERR_USAGE;
		snprintf(why, whylen, _("PIN or PUK too long"));
		goto out;
	}
	if ((r = transport_p12(a, cs_secret_str(pass), &der, &derlen)) != CS_OK) {
		snprintf(why, whylen, _("cannot wrap key and certificate for OpenSC"));
		goto out;
	}
	if ((r = cs_token_cmd_build(a, cs_secret_str(pass), &cmd, why,
	    whylen)) != CS_OK)
		goto out;
	r = run_pkcs15_init(&cmd, der, (size_t)derlen, why, whylen);
out:
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)derlen);
	cs_token_cmd_free(&cmd);
	cs_secret_free(pass);
	return r;
}

/* ---- the check, through PKCS#11 (cs_p11.c) ---- */

int cs_token_check(const cs_profile *p, X509 *cert, const char *pin,
    cs_token_check_result *res, char *why, size_t whylen)
{
	cs_p11 *m = NULL;
	cs_p11_token ti;
	cs_p11_cert oncard;
	unsigned char id[32], *mine = NULL;
	size_t idlen;
	int minelen, r;

	memset(res, 0, sizeof(*res));
	if (cs_hex_decode(p->key_id, id, sizeof(id), &idlen) != CS_OK) {
		snprintf(why, whylen, _("the profile's key.id is not hexadecimal"));
		return CS_ERR_USAGE;
	}
	if ((r = cs_p11_open(&m, &ti, why, whylen)) != CS_OK)
		return r;
	snprintf(res->pkcs15_serial, sizeof(res->pkcs15_serial), "%s", ti.serial);
	snprintf(res->label, sizeof(res->label), "%s", ti.label);
	res->pin_tries_low = ti.pin_count_low || ti.pin_final_try;
	res->pin_locked = ti.pin_locked;
	if (cert != NULL) {
		if ((r = cs_p11_cert_by_id(m, id, idlen, &oncard)) != CS_OK) {
			snprintf(why, whylen, _("no certificate with ID %s on the card"),
			    p->key_id);
		} else {
			minelen = i2d_X509(cert, &mine);
			res->cert_matches = minelen > 0 &&
			    (size_t)minelen == oncard.derlen &&
			    memcmp(mine, oncard.der, oncard.derlen) == 0;
			OPENSSL_free(mine);
			cs_p11_certs_free(&oncard, 1);
			if (!res->cert_matches) {
				snprintf(why, whylen, _("the certificate on the card "
				    "is not the one written"));
				r = CS_ERR_MISMATCH;
			}
		}
	}
	if (r == CS_OK && pin != NULL && cert != NULL &&
	    (r = cs_p11_login(m, pin, why, whylen)) == CS_OK &&
	    (r = cs_p11_prove_key(m, id, idlen, X509_get0_pubkey(cert),
	    res->mechanism, sizeof(res->mechanism), why, whylen)) == CS_OK)
		res->signature_ok = 1;
	if (r == CS_ERR_CRYPTO)
		r = CS_ERR_CARD; /* a wrong PIN is the card's refusal */
	cs_p11_close(m);
	return r;
}
