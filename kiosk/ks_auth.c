/* ks_auth.c - who may talk to the kiosk, and who is at it.
 *
 * The key: every start makes a fresh random key. Only the kiosk's own
 * browser gets it, from its launcher: the server writes the launch address
 * (the page's URL with "#k=KEY") to a pipe the launcher holds (--key-fd)
 * or to a 0600 file in a runtime folder only the kiosk user can open
 * (--key-file, /run/cardstation-kiosk/ under systemd: tmpfs, never disk).
 * Never to stdout or stderr: under systemd those are the system journal.
 * The page trades the key for an HttpOnly cookie (POST /api/key) and drops
 * it from its address; without it the gate (ks_gate.c) does not let a
 * connection near the API, the sessions or the operator's threads.
 *
 * The operator: a machine account, checked through PAM (service
 * "cardstation", /etc/pam.d/cardstation: pam_unix, or sssd/LDAP where the
 * office has it), and its roles from Unix groups PREFIX-encode,
 * PREFIX-desk, PREFIX-admin. An account in none of them is not an
 * operator. Group changes apply at the next login. */
#include "ks.h"

#include "cs_err.h"
#include "cs_io.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- the key ---------------------------------------------------------- */

int ks_key_new(char out[KS_KEY_HEX + 1])
{
	unsigned char b[KS_KEY_HEX / 2];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return CS_ERR_CRYPTO;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	explicit_bzero(b, sizeof(b));
	return CS_OK;
}

/* The folder of the key file must be the kiosk user's own: nobody else
 * may create, swap or read names in it. */
static int private_dir(const char *file, char *why, size_t whylen)
{
	char copy[PATH_MAX];
	struct stat st;
	const char *dir;

	if (strlen(file) >= sizeof(copy)) {
		snprintf(why, whylen, "key file path too long");
		return CS_ERR_USAGE;
	}
	strcpy(copy, file);
	dir = dirname(copy);
	if (stat(dir, &st) != 0) {
		snprintf(why, whylen, "key file folder %s: %s", dir, strerror(errno));
		return CS_ERR_IO;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		snprintf(why, whylen, "the key file's folder %s must belong to this "
		    "user and be writable by nobody else", dir);
		return CS_ERR_USAGE;
	}
	return CS_OK;
}

int ks_key_handout(const ks_config *cfg, const char *url, const char *key,
    char *why, size_t whylen)
{
	char line[512];
	int n, fd, r = CS_OK;

	n = snprintf(line, sizeof(line), "%s#k=%s\n", url, key);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		snprintf(why, whylen, "launch address too long");
		return CS_ERR_LIMIT;
	}
	if (cfg->key_file != NULL) {
		if ((r = private_dir(cfg->key_file, why, whylen)) != CS_OK)
			goto out;
		/* A stale file of an earlier start goes first; O_EXCL and
		 * O_NOFOLLOW make sure the file we write is our new one. */
		unlink(cfg->key_file);
		fd = open(cfg->key_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd < 0 || cs_io_write_all(fd, line, (size_t)n) != CS_OK) {
			snprintf(why, whylen, "cannot write the key file %s: %s",
			    cfg->key_file, strerror(errno));
			if (fd >= 0)
				close(fd);
			unlink(cfg->key_file);
			r = CS_ERR_IO;
			goto out;
		}
		close(fd);
	}
	if (cfg->key_fd >= 0) {
		if (cs_io_write_all(cfg->key_fd, line, (size_t)n) != CS_OK) {
			snprintf(why, whylen, "cannot hand the key to fd %d: %s",
			    cfg->key_fd, strerror(errno));
			r = CS_ERR_IO;
		}
		close(cfg->key_fd);
	}
out:
	explicit_bzero(line, sizeof(line));
	return r;
}

void ks_key_forget(const ks_config *cfg)
{
	if (cfg->key_file != NULL)
		unlink(cfg->key_file);
}

/* --- PAM -------------------------------------------------------------- */

/* The password is the answer to PAM's one hidden prompt. PAM frees the
 * answer itself (modules overwrite it first), so it must be a malloc'd
 * copy; every other prompt is refused: the kiosk asks for nothing else. */
static int conv(int n, const struct pam_message **msg,
    struct pam_response **resp, void *data)
{
	const char *password = data;
	struct pam_response *a;
	int prompts = 0;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((a = calloc((size_t)n, sizeof(*a))) == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			if (prompts++ > 0 || (a[i].resp = strdup(password)) == NULL)
				goto fail;
			break;
		case PAM_TEXT_INFO:
		case PAM_ERROR_MSG:
			break;
		default:
			goto fail;
		}
	}
	*resp = a;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < n; i++) {
		if (a[i].resp != NULL) {
			explicit_bzero(a[i].resp, strlen(a[i].resp));
			free(a[i].resp);
		}
	}
	free(a);
	return PAM_CONV_ERR;
}

const char *ks_role_name(unsigned role)
{
	switch (role) {
	case KS_ROLE_ENCODE: return "encode";
	case KS_ROLE_DESK: return "desk";
	case KS_ROLE_ADMIN: return "admin";
	default: return "?";
	}
}

/* A group of a large office (LDAP) lists many members: the buffer
 * grows until the entry fits. */
static int in_groups(const char *name, const gid_t *g, int ng)
{
	struct group gr, *res = NULL;
	size_t len = 16384;
	char *buf = NULL;
	int e, found = 0;

	for (;;) {
		char *nb = realloc(buf, len);

		if (nb == NULL)
			break;
		buf = nb;
		e = getgrnam_r(name, &gr, buf, len, &res);
		if (e == ERANGE && len < 16 * 1024 * 1024) {
			len *= 4;
			continue;
		}
		if (e == 0 && res != NULL)
			for (int i = 0; i < ng && !found; i++)
				found = g[i] == gr.gr_gid;
		break;
	}
	free(buf);
	return found;
}

/* Roles and the full name of account, from NSS (files, sssd, LDAP). */
static int account_facts(const ks_config *cfg, const char *account,
    char *display, size_t dlen, unsigned *roles)
{
	static const unsigned all[] = {KS_ROLE_ENCODE, KS_ROLE_DESK,
	    KS_ROLE_ADMIN};
	struct passwd pw, *res = NULL;
	char buf[16384], name[256];
	gid_t *g = NULL;
	int ng = 64, r = CS_ERR_NOTFOUND;

	*roles = 0;
	if (getpwnam_r(account, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return CS_ERR_NOTFOUND;
	snprintf(display, dlen, "%.*s", (int)strcspn(pw.pw_gecos ? pw.pw_gecos :
	    "", ","), pw.pw_gecos ? pw.pw_gecos : "");
	if (display[0] == '\0')
		snprintf(display, dlen, "%s", account);
	for (int tries = 0; tries < 5; tries++) {
		gid_t *ng2 = realloc(g, (size_t)ng * sizeof(*g));
		int want = ng;

		if (ng2 == NULL)
			goto out;
		g = ng2;
		if (getgrouplist(account, pw.pw_gid, g, &want) >= 0) {
			ng = want;
			r = CS_OK;
			break;
		}
		if (want <= ng || want > 65536)
			goto out;
		ng = want;
	}
	if (r != CS_OK)
		goto out;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		snprintf(name, sizeof(name), "%s-%s", cfg->role_prefix,
		    ks_role_name(all[i]));
		if (in_groups(name, g, ng))
			*roles |= all[i];
	}
	r = *roles ? CS_OK : CS_ERR_NOTFOUND;
out:
	free(g);
	return r;
}

int ks_auth_login(const ks_config *cfg, const char *user,
    const char *password, char *account, size_t alen, char *display,
    size_t dlen, unsigned *roles, char *why, size_t whylen)
{
	struct pam_conv pc = {conv, (void *)password};
	pam_handle_t *h = NULL;
	const void *item = NULL;
	int pr, r;

	*roles = 0;
	account[0] = display[0] = '\0';
	pr = pam_start_confdir(cfg->pam_service, user, &pc, cfg->pam_confdir, &h);
	if (pr != PAM_SUCCESS) {
		snprintf(why, whylen, "PAM service '%s' cannot start: is "
		    "/etc/pam.d/%s installed?", cfg->pam_service, cfg->pam_service);
		return CS_ERR_IO;
	}
	pam_set_item(h, PAM_TTY, "cardstation-kiosk");
	pam_set_item(h, PAM_RHOST, "localhost");
	/* An account without a password is never an operator, whatever
	 * nullok the shared stack says. */
	pr = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (pr != PAM_SUCCESS) {
		snprintf(why, whylen, "wrong account or password");
		r = CS_ERR_CRYPTO;
		goto out;
	}
	pr = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (pr != PAM_SUCCESS) {
		snprintf(why, whylen, "this account may not log in now (%s)",
		    pam_strerror(h, pr));
		r = CS_ERR_STATE;
		goto out;
	}
	/* A module may have mapped the name (case, a realm): PAM's is the one. */
	if (pam_get_item(h, PAM_USER, &item) != PAM_SUCCESS || item == NULL ||
	    strlen(item) >= alen || strlen(item) == 0) {
		snprintf(why, whylen, "PAM gave no account name");
		r = CS_ERR_STATE;
		goto out;
	}
	snprintf(account, alen, "%s", (const char *)item);
	if ((r = account_facts(cfg, account, display, dlen, roles)) != CS_OK) {
		snprintf(why, whylen, "the account %s is in none of the groups "
		    "%s-encode, %s-desk, %s-admin", account, cfg->role_prefix,
		    cfg->role_prefix, cfg->role_prefix);
		account[0] = display[0] = '\0';
		*roles = 0;
	}
out:
	pam_end(h, pr);
	return r;
}
