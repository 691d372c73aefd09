/* cs_touch.c - the desk's card touch, in a process of its own (see
 * cs_touch.h). */
#include "cs_touch.h"
#include "cs_card.h"
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
#include <strings.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <PCSC/winscard.h>

#define REQUEST_FD 3
#define REPORT_FD 4

/* The request, in this order: the action, then for verify the reader,
 * profiles, time and PIN; for a write the reader, AID, expected ATR and
 * chip, whether a PIN is set, PUK and new PIN (profiles after the reader). */
enum { T_READER = 1, T_PROFILES, T_NOW, T_PIN, T_END, T_ACTION, T_AID,
	T_ATR, T_CHIP, T_PINSET, T_PUK, T_NEWPIN };
/* The report: the report's fields, then per certificate its fields and
 * its DER. Both ends are the same program (the station exec'ing itself),
 * so the structures cross as they are laid out in memory; their pointers
 * are not used across. */
enum { R_REPORT = 20, R_CERT, R_DER, R_END, R_WRITE };

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

/* The card in reader is the one the caller decided on: same ATR, same
 * identity by the profile's sources (CPLC, or the one a station wrote). */
static int same_card(SCARDCONTEXT ctx, const char *reader, const char *dir,
    const char *atr, const char *chip, cs_touch_answer *a)
{
	cs_profile prof;
	cs_applet_state st;
	cs_card_id id;

	if (cs_card_probe(ctx, reader, &id, a->why, sizeof(a->why)) != CS_OK ||
	    cs_card_profile(ctx, reader, dir[0] ? dir : NULL, NULL, id.atr,
	    &prof, &st, a->why, sizeof(a->why)) != CS_OK ||
	    cs_card_identity(ctx, reader, &prof, &st, &id, NULL, a->why,
	    sizeof(a->why)) != CS_OK)
		return CS_ERR_NOTFOUND;
	snprintf(a->atr, sizeof(a->atr), "%s", id.atr);
	snprintf(a->chip_serial, sizeof(a->chip_serial), "%s", id.chip_serial);
	if (strcasecmp(id.atr, atr) != 0 || strcmp(id.chip_serial, chip) != 0) {
		snprintf(a->why, sizeof(a->why), _("another card is in the reader "
		    "now (chip %s)"), id.chip_serial[0] ? id.chip_serial : "-");
		return CS_ERR_MISMATCH;
	}
	return CS_OK;
}

/* The writes, in the order cs_desk.c promises: the PUK first so that a
 * wrong one leaves the card as it was. */
static void do_write(SCARDCONTEXT ctx, int action, const char *reader,
    const char *aid, const char *chip, int pin_set, const cs_secret *puk,
    const cs_secret *pin, cs_touch_answer *a)
{
	const char *p = pin != NULL ? cs_secret_str(pin) : NULL;

	if (action == CS_TOUCH_PIN_RESET || pin_set) {
		a->step = CS_TOUCH_STEP_PUK;
		if (puk == NULL || p == NULL) {
			snprintf(a->why, sizeof(a->why), "no PUK or PIN");
			a->status = CS_ERR_USAGE;
			a->step = CS_TOUCH_STEP_NONE;
			return;
		}
		if ((a->status = cs_card_reset_pin_tries(ctx, reader, aid,
		    cs_secret_str(puk), p, &a->puk_tries, a->why,
		    sizeof(a->why))) != CS_OK || action == CS_TOUCH_PIN_RESET)
			return;
		a->step = CS_TOUCH_STEP_KEYS;
		if ((a->status = cs_card_overwrite_keys(ctx, reader, aid, p,
		    &a->keys, a->why, sizeof(a->why))) != CS_OK)
			return;
	}
	a->step = CS_TOUCH_STEP_ERASE;
	if ((a->status = cs_card_erase_pkcs15(ctx, reader, aid, pin_set ? p :
	    NULL, a->why, sizeof(a->why))) != CS_OK)
		return;
	a->step = CS_TOUCH_STEP_NONE;
	/* An identity a station assigned lived in the TokenInfo just erased:
	 * a TokenInfo of its own keeps it, so that the card is still found
	 * as itself (verify, a later run refusing or re-using it as its
	 * profile says); a chip's own identity (CPLC) is not the TokenInfo's
	 * and is left alone (refused before any APDU). The return is done
	 * either way: a card that refuses it is as it was before identities
	 * were kept. */
	{
		char why[256];

		(void)cs_card_keep_identity(ctx, reader, aid, pin_set ? p : NULL,
		    chip, why, sizeof(why));
	}
}

static int write_main(int action)
{
	char *reader = NULL, *profiles = NULL, *aid = NULL, *atr = NULL,
	    *chip = NULL, *pinset = NULL;
	cs_secret *puk = NULL, *pin = NULL;
	SCARDCONTEXT ctx = 0;
	cs_touch_answer a;
	size_t n;
	int rc;

	memset(&a, 0, sizeof(a));
	a.puk_tries = -1;
	if ((rc = cs_wire_get_str(REQUEST_FD, T_READER, &reader)) == CS_OK &&
	    (rc = cs_wire_get_str(REQUEST_FD, T_PROFILES, &profiles)) == CS_OK &&
	    (rc = cs_wire_get_str(REQUEST_FD, T_AID, &aid)) == CS_OK &&
	    (rc = cs_wire_get_str(REQUEST_FD, T_ATR, &atr)) == CS_OK &&
	    (rc = cs_wire_get_str(REQUEST_FD, T_CHIP, &chip)) == CS_OK &&
	    (rc = cs_wire_get_str(REQUEST_FD, T_PINSET, &pinset)) == CS_OK &&
	    (rc = cs_wire_get_secret(REQUEST_FD, T_PUK, &puk)) == CS_OK &&
	    (rc = cs_wire_get_secret(REQUEST_FD, T_NEWPIN, &pin)) == CS_OK)
		rc = cs_wire_get_head(REQUEST_FD, T_END, &n);
	close(REQUEST_FD);
	if (rc != CS_OK || reader == NULL || aid == NULL || atr == NULL ||
	    chip == NULL || pinset == NULL) {
		fprintf(stderr, _("cardstation: %s is started by the station "
		    "itself, not by hand\n"), CS_TOUCH_ARG);
		rc = CS_ERR_USAGE;
		goto out;
	}
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS) {
		ctx = 0;
		a.status = CS_ERR_IO;
		snprintf(a.why, sizeof(a.why), "cannot reach pcscd");
	} else if ((a.status = same_card(ctx, reader, profiles ? profiles : "",
	    atr, chip, &a)) == CS_OK)
		do_write(ctx, action, reader, aid, chip, strcmp(pinset, "1") == 0,
		    puk, pin, &a);
	if ((rc = cs_wire_put(REPORT_FD, R_WRITE, &a, sizeof(a))) == CS_OK)
		rc = cs_wire_put(REPORT_FD, R_END, "", 0);
out:
	if (ctx != 0)
		SCardReleaseContext(ctx);
	cs_secret_free(puk);
	cs_secret_free(pin);
	free(reader);
	free(profiles);
	free(aid);
	free(atr);
	free(chip);
	free(pinset);
	return rc == CS_OK ? 0 : 1;
}

static int verify_main(void)
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

int cs_touch_main(void)
{
	char *action = NULL;
	int rc;

	if (cs_wire_get_str(REQUEST_FD, T_ACTION, &action) != CS_OK ||
	    action == NULL)
		rc = -1;
	else if (strcmp(action, "verify") == 0)
		rc = CS_TOUCH_VERIFY;
	else if (strcmp(action, "wipe") == 0)
		rc = CS_TOUCH_WIPE;
	else if (strcmp(action, "pin-reset") == 0)
		rc = CS_TOUCH_PIN_RESET;
	else
		rc = -1;
	free(action);
	if (rc < 0) {
		close(REQUEST_FD);
		fprintf(stderr, _("cardstation: %s is started by the station "
		    "itself, not by hand\n"), CS_TOUCH_ARG);
		return 1;
	}
	return rc == CS_TOUCH_VERIFY ? verify_main() : write_main(rc);
}

/* ---- the parent ---- */

static int send_request(int fd, const char *reader, const char *profiles,
    const char *pin, time_t now)
{
	char num[24];
	int rc;

	snprintf(num, sizeof(num), "%lld", (long long)now);
	if ((rc = cs_wire_put_str(fd, T_ACTION, "verify")) == CS_OK &&
	    (rc = cs_wire_put_str(fd, T_READER, reader)) == CS_OK &&
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

typedef int (*recv_fn)(int fd, void *out);

static int receive(cs_child *c, int fd, recv_fn parse, void *out)
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
		rc = parse(mfd, out);
	close(mfd);
	return rc;
}

typedef int (*send_fn)(int fd, const void *arg);

/* Start `cardstation __desk`, send it the request, parse its answer. */
static int run_child(send_fn send, const void *arg, recv_fn parse, void *out,
    int timeout_s, int *timed_out, char *why, size_t whylen)
{
	char *const argv[] = {"cardstation", CS_TOUCH_ARG, NULL};
	char self[PATH_MAX];
	int req[2], rep[2], rc, status;
	cs_child c;

	*timed_out = 0;
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
			.timeout_ms = timeout_s * 1000,
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
	rc = send(req[1], arg);
	close(req[1]);
	if (rc == CS_OK)
		rc = receive(&c, rep[0], parse, out);
	close(rep[0]);
	if (rc != CS_OK)
		cs_child_kill(&c, SIGKILL);
	if (cs_child_wait(&c, &status) != CS_OK && rc == CS_OK)
		rc = CS_ERR_IO;
	*timed_out = c.timed_out;
	return rc;
}

struct verify_req {
	const char *reader, *profiles;
	const char *pin;
	time_t now;
};

static int send_verify(int fd, const void *arg)
{
	const struct verify_req *v = arg;

	return send_request(fd, v->reader, v->profiles, v->pin, v->now);
}

static int parse_report(int fd, void *out)
{
	return recv_report(fd, out);
}

int cs_touch_card(const char *reader, const char *profiles_dir,
    const char *pin, time_t now, cs_vreport *r, char *why, size_t whylen)
{
	const struct verify_req v = {reader, profiles_dir, pin, now};
	int rc, timed_out;

	memset(r, 0, sizeof(*r));
	rc = run_child(send_verify, &v, parse_report, r, CS_TOUCH_TIMEOUT_S,
	    &timed_out, why, whylen);
	if (rc != CS_OK) {
		cs_vreport_clear(r);
		snprintf(why, whylen, "%s", timed_out ? _("the card check did "
		    "not finish in time: stopped") : _("the card check ended "
		    "without a report"));
	}
	return rc;
}

static int put_secret(int fd, int tag, const cs_secret *s)
{
	return cs_wire_put(fd, tag, s != NULL ? cs_secret_str(s) : "",
	    s != NULL ? s->len : 0);
}

int cs_touch_write_request(int fd, const cs_touch_write *w)
{
	int rc;

	if ((rc = cs_wire_put_str(fd, T_ACTION, w->action == CS_TOUCH_WIPE ?
	    "wipe" : "pin-reset")) == CS_OK &&
	    (rc = cs_wire_put_str(fd, T_READER, w->reader)) == CS_OK &&
	    (rc = cs_wire_put_str(fd, T_PROFILES, w->profiles_dir)) == CS_OK &&
	    (rc = cs_wire_put_str(fd, T_AID, w->aid_hex)) == CS_OK &&
	    (rc = cs_wire_put_str(fd, T_ATR, w->expect_atr ? w->expect_atr :
	    "")) == CS_OK &&
	    (rc = cs_wire_put_str(fd, T_CHIP, w->expect_chip ? w->expect_chip :
	    "")) == CS_OK &&
	    (rc = cs_wire_put_str(fd, T_PINSET, w->pin_set ? "1" : "0")) ==
	    CS_OK &&
	    (rc = put_secret(fd, T_PUK, w->puk)) == CS_OK &&
	    (rc = put_secret(fd, T_NEWPIN, w->new_pin)) == CS_OK)
		rc = cs_wire_put(fd, T_END, "", 0);
	return rc;
}

int cs_touch_read_answer(int fd, cs_touch_answer *a)
{
	size_t n;
	int rc;

	if ((rc = get_fixed(fd, R_WRITE, a, sizeof(*a))) != CS_OK)
		return rc;
	a->why[sizeof(a->why) - 1] = '\0';
	a->atr[sizeof(a->atr) - 1] = '\0';
	a->chip_serial[sizeof(a->chip_serial) - 1] = '\0';
	return cs_wire_get_head(fd, R_END, &n);
}

static int send_write(int fd, const void *arg)
{
	return cs_touch_write_request(fd, arg);
}

static int parse_answer(int fd, void *out)
{
	return cs_touch_read_answer(fd, out);
}

int cs_touch_write_card(const cs_touch_write *w, cs_touch_answer *a,
    char *why, size_t whylen)
{
	int rc, timed_out;

	memset(a, 0, sizeof(*a));
	a->puk_tries = -1;
	if (w->action != CS_TOUCH_WIPE && w->action != CS_TOUCH_PIN_RESET) {
		snprintf(why, whylen, "not a card write");
		return CS_ERR_USAGE;
	}
	rc = run_child(send_write, w, parse_answer, a,
	    CS_TOUCH_WRITE_TIMEOUT_S, &timed_out, why, whylen);
	if (rc != CS_OK) {
		memset(a, 0, sizeof(*a));
		a->puk_tries = -1;
		snprintf(why, whylen, "%s", timed_out ? _("the card write did "
		    "not finish in time: stopped") : _("the card write ended "
		    "without an answer"));
		return rc;
	}
	/* The child compared the card with expect_atr / expect_chip before
	 * its first APDU; a->atr and a->chip_serial say what it saw. */
	return CS_OK;
}
