/* cs_touch.c - the desk's card touch, in a process of its own (see
 * cs_touch.h). */
#include "cs_touch.h"
#include "cs_child.h"
#include "cs_err.h"
#include "cs_io.h"
#include "cs_secret.h"
#include "cs_wire.h"
#include "cs_i18n.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <PCSC/winscard.h>

#define REQUEST_FD 3
#define REPORT_FD 4

/* The request, in this order. */
enum { T_READER = 1, T_PROFILES, T_NOW, T_PIN, T_END };
/* The report: the report's fields, then per certificate its fields and
 * its DER. Both ends are the same program (the station exec'ing itself),
 * so the structures cross as they are laid out in memory; their pointers
 * are not used across. */
enum { R_REPORT = 20, R_CERT, R_DER, R_END };

/* ---- the child ---- */

static int send_report(int fd, const cs_vreport *r)
{
	cs_vreport flat = *r;
	int rc;

	flat.certs = NULL;
	rc = cs_wire_put(fd, R_REPORT, &flat, sizeof(flat));
	for (size_t i = 0; rc == CS_OK && i < r->ncerts; i++) {
		cs_vcert c = r->certs[i];

		c.der = NULL;
		if ((rc = cs_wire_put(fd, R_CERT, &c, sizeof(c))) == CS_OK)
			rc = cs_wire_put(fd, R_DER, r->certs[i].der,
			    r->certs[i].der ? r->certs[i].derlen : 0);
	}
	return rc == CS_OK ? cs_wire_put(fd, R_END, "", 0) : rc;
}

int cs_touch_main(void)
{
	char *reader = NULL, *profiles = NULL, *now_s = NULL;
	cs_secret *pin = NULL;
	SCARDCONTEXT ctx = 0;
	cs_vreport r;
	size_t n;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = cs_wire_get_str(REQUEST_FD, T_READER, &reader)) == CS_OK &&
	    (rc = cs_wire_get_str(REQUEST_FD, T_PROFILES, &profiles)) == CS_OK &&
	    (rc = cs_wire_get_str(REQUEST_FD, T_NOW, &now_s)) == CS_OK &&
	    (rc = cs_wire_get_secret(REQUEST_FD, T_PIN, &pin)) == CS_OK)
		rc = cs_wire_get_head(REQUEST_FD, T_END, &n);
	close(REQUEST_FD);
	if (rc != CS_OK || reader == NULL || now_s == NULL) {
		fprintf(stderr, _("cardstation: %s is started by the station "
		    "itself, not by hand\n"), CS_TOUCH_ARG);
		rc = CS_ERR_USAGE;
		goto out;
	}
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS) {
		memset(&r, 0, sizeof(r));
		snprintf(r.reader, sizeof(r.reader), "%s", reader);
		r.pin_tries = -1;
		snprintf(r.card_error, sizeof(r.card_error),
		    "cannot reach pcscd");
		ctx = 0;
	} else
		cs_verify_card_touch(ctx, reader, profiles,
		    pin != NULL ? cs_secret_str(pin) : NULL,
		    (time_t)strtoll(now_s, NULL, 10), &r);
	rc = send_report(REPORT_FD, &r);
out:
	if (ctx != 0)
		SCardReleaseContext(ctx);
	cs_vreport_clear(&r);
	cs_secret_free(pin);
	free(reader);
	free(profiles);
	free(now_s);
	return rc == CS_OK ? 0 : 1;
}

/* ---- the parent ---- */

static int send_request(int fd, const char *reader, const char *profiles,
    const char *pin, time_t now)
{
	char num[24];
	int rc;

	snprintf(num, sizeof(num), "%lld", (long long)now);
	if ((rc = cs_wire_put_str(fd, T_READER, reader)) == CS_OK &&
	    (rc = cs_wire_put_str(fd, T_PROFILES, profiles)) == CS_OK &&
	    (rc = cs_wire_put_str(fd, T_NOW, num)) == CS_OK &&
	    (rc = cs_wire_put(fd, T_PIN, pin ? pin : "",
	    pin ? strlen(pin) : 0)) == CS_OK)
		rc = cs_wire_put(fd, T_END, "", 0);
	return rc;
}

/* The next field as a structure of exactly len bytes. */
static int get_fixed(int fd, int tag, void *p, size_t len)
{
	size_t n;
	int rc;

	if ((rc = cs_wire_get_head(fd, tag, &n)) != CS_OK)
		return rc;
	if (n != len)
		return CS_ERR_FORMAT;
	return cs_io_read_all(fd, p, n);
}

static int recv_report(int fd, cs_vreport *r)
{
	size_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = get_fixed(fd, R_REPORT, r, sizeof(*r))) != CS_OK) {
		memset(r, 0, sizeof(*r));
		return rc;
	}
	r->certs = NULL;
	if (r->ncerts > 64) {
		r->ncerts = 0;
		return CS_ERR_FORMAT;
	}
	if (r->ncerts > 0 &&
	    (r->certs = calloc(r->ncerts, sizeof(*r->certs))) == NULL) {
		r->ncerts = 0;
		return CS_ERR_NOMEM;
	}
	for (size_t i = 0; i < r->ncerts; i++) {
		cs_vcert *c = &r->certs[i];

		if ((rc = get_fixed(fd, R_CERT, c, sizeof(*c))) != CS_OK) {
			memset(c, 0, sizeof(*c));
			return rc;
		}
		c->der = NULL;
		c->derlen = 0;
		if ((rc = cs_wire_get_head(fd, R_DER, &n)) != CS_OK)
			return rc;
		if (n == 0)
			continue;
		if ((c->der = malloc(n)) == NULL)
			return CS_ERR_NOMEM;
		if ((rc = cs_io_read_all(fd, c->der, n)) != CS_OK)
			return rc;
		c->derlen = n;
	}
	return cs_wire_get_head(fd, R_END, &n);
}

/* The whole report within the child's deadline (a card check that hangs
 * must not hang the desk), then read field by field from memory. */
#define REPORT_MAX (4u << 20)

static int receive(cs_child *c, int fd, cs_vreport *r)
{
	char *buf = malloc(REPORT_MAX);
	size_t n;
	int mfd, rc;

	if (buf == NULL)
		return CS_ERR_NOMEM;
	n = cs_child_collect(c, fd, buf, REPORT_MAX, 0);
	if (c->timed_out || n + 1 >= REPORT_MAX) {
		free(buf);
		return CS_ERR_IO;
	}
	if ((mfd = memfd_create("cardstation-desk-report", MFD_CLOEXEC)) < 0) {
		free(buf);
		return CS_ERR_IO;
	}
	rc = cs_io_write_all(mfd, buf, n);
	free(buf);
	if (rc == CS_OK && lseek(mfd, 0, SEEK_SET) != 0)
		rc = CS_ERR_IO;
	if (rc == CS_OK)
		rc = recv_report(mfd, r);
	close(mfd);
	return rc;
}

int cs_touch_card(const char *reader, const char *profiles_dir,
    const char *pin, time_t now, cs_vreport *r, char *why, size_t whylen)
{
	char *const argv[] = {"cardstation", CS_TOUCH_ARG, NULL};
	char self[PATH_MAX];
	int req[2], rep[2], rc, status;
	cs_child c;

	memset(r, 0, sizeof(*r));
	if (realpath("/proc/self/exe", self) == NULL) {
		snprintf(why, whylen, _("cannot find the station's own program: "
		    "%s"), strerror(errno));
		return CS_ERR_IO;
	}
	if (pipe2(req, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return CS_ERR_IO;
	}
	if (pipe2(rep, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		close(req[0]);
		close(req[1]);
		return CS_ERR_IO;
	}
	{
		const cs_child_fd fds[] = {{STDERR_FILENO, STDERR_FILENO},
		    {req[0], REQUEST_FD}, {rep[1], REPORT_FD}};
		const cs_child_spec spec = {
			.path = self, .argv = argv, .fds = fds, .nfds = 3,
			.timeout_ms = CS_TOUCH_TIMEOUT_S * 1000,
		};

		rc = cs_child_start(&spec, &c, why, whylen);
	}
	close(req[0]);
	close(rep[1]);
	if (rc != CS_OK) {
		close(req[1]);
		close(rep[0]);
		return rc;
	}
	/* A short request (the PIN among it) fits the pipe. */
	rc = send_request(req[1], reader, profiles_dir, pin, now);
	close(req[1]);
	if (rc == CS_OK)
		rc = receive(&c, rep[0], r);
	close(rep[0]);
	if (rc != CS_OK)
		cs_child_kill(&c, SIGKILL);
	if (cs_child_wait(&c, &status) != CS_OK && rc == CS_OK)
		rc = CS_ERR_IO;
	if (rc != CS_OK) {
		cs_vreport_clear(r);
		snprintf(why, whylen, "%s", c.timed_out ? _("the card check did "
		    "not finish in time: stopped") : _("the card check ended "
		    "without a report"));
	}
	return rc;
}
