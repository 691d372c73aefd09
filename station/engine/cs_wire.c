/* cs_wire.c - what crosses the pipes between the encode coordinator and
 * its reader workers: the worker's start message (options and secrets,
 * once, on its own pipe) and the event lines (cs_wire.h). */
#include "cs_wire.h"
#include "cs_err.h"
#include "cs_io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* ---- event lines ---- */
/* Append a field: tabs and newlines inside it would split the line, so
 * they become spaces. */
static void put(char *line, size_t cap, size_t *n, const char *s, char sep)
{
	for (; s != NULL && *s != '\0' && *n + 2 < cap; s++)
		line[(*n)++] = *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s;
	if (*n + 1 < cap)
		line[(*n)++] = sep;
}

void cs_wire_send(int fd, const cs_run_event *ev)
{
	char line[CS_WIRE_MAX], num[3][16];
	size_t n = 0;
	ssize_t sent;

	snprintf(num[0], sizeof(num[0]), "%d", (int)ev->kind);
	snprintf(num[1], sizeof(num[1]), "%d", ev->step);
	snprintf(num[2], sizeof(num[2]), "%d", ev->steps);
	put(line, sizeof(line), &n, num[0], '\t');
	put(line, sizeof(line), &n, ev->state, '\t');
	put(line, sizeof(line), &n, ev->chip_serial, '\t');
	put(line, sizeof(line), &n, ev->printed_no, '\t');
	put(line, sizeof(line), &n, ev->profile, '\t');
	put(line, sizeof(line), &n, ev->holder, '\t');
	put(line, sizeof(line), &n, ev->mail, '\t');
	put(line, sizeof(line), &n, ev->staff_no, '\t');
	put(line, sizeof(line), &n, ev->cert_serial, '\t');
	put(line, sizeof(line), &n, num[1], '\t');
	put(line, sizeof(line), &n, num[2], '\t');
	put(line, sizeof(line), &n, ev->text, '\t');
	put(line, sizeof(line), &n, ev->code, '\t');
	put(line, sizeof(line), &n, ev->params, '\t');
	put(line, sizeof(line), &n, ev->advice, '\t');
	put(line, sizeof(line), &n, ev->detail, '\t');
	put(line, sizeof(line), &n, ev->pin, '\t');
	put(line, sizeof(line), &n, ev->puk, '\n');
	/* Cut at CS_WIRE_MAX, the line still ends in LF: the coordinator reads
	 * lines, and one without its end would swallow the next event. */
	line[n - 1] = '\n';
	/* One write of at most PIPE_BUF bytes is atomic. A coordinator that
	 * is gone cannot be told anything: the worker dies with it. */
	sent = write(fd, line, n);
	(void)sent;
	OPENSSL_cleanse(line, sizeof(line));
}

static char *next_field(char **p)
{
	char *s = *p, *tab;

	if (s == NULL)
		return "";
	if ((tab = strchr(s, '\t')) != NULL) {
		*tab = '\0';
		*p = tab + 1;
	} else {
		*p = NULL;
	}
	return s;
}

static const char *or_null(const char *s)
{
	return *s ? s : NULL;
}

int cs_wire_parse(char *line, cs_run_event *ev)
{
	char *p = line;

	memset(ev, 0, sizeof(*ev));
	ev->kind = (cs_run_ev_kind)atoi(next_field(&p));
	ev->state = or_null(next_field(&p));
	ev->chip_serial = or_null(next_field(&p));
	ev->printed_no = or_null(next_field(&p));
	ev->profile = or_null(next_field(&p));
	ev->holder = or_null(next_field(&p));
	ev->mail = or_null(next_field(&p));
	ev->staff_no = or_null(next_field(&p));
	ev->cert_serial = or_null(next_field(&p));
	ev->step = atoi(next_field(&p));
	ev->steps = atoi(next_field(&p));
	ev->text = or_null(next_field(&p));
	ev->code = or_null(next_field(&p));
	ev->params = or_null(next_field(&p));
	ev->advice = or_null(next_field(&p));
	ev->detail = or_null(next_field(&p));
	ev->pin = or_null(next_field(&p));
	ev->puk = or_null(next_field(&p));
	return (ev->kind >= CS_EV_READER && ev->kind <= CS_EV_END) ||
	    ev->kind == CS_EV_JOURNAL ? CS_OK : CS_ERR_FORMAT;
}

/* ---- the start message ----
 * One field after another, in the order of enum field: a tag byte, a
 * 4-byte big-endian length, the bytes. A secret is read straight into
 * locked memory. The worker checks every tag: a message out of step is
 * refused, never half used. */

enum field {
	F_JOURNAL = 1, F_RUN, F_READER, F_INDEX, F_OPERATOR, F_PROFILE,
	F_PROFILES_DIR, F_PAIRING, F_CONFIRM, F_REISSUE, F_REPRINT, F_PIN, F_PUK,
	F_NPUKS, F_PUK_PROFILE, F_PROFILE_PUK, F_END
};

#define FIELD_MAX CS_WIRE_FIELD_MAX

static int put_bytes(int fd, enum field tag, const void *p, size_t n)
{
	unsigned char h[5] = {(unsigned char)tag, (unsigned char)(n >> 24),
	    (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};

	if (n > FIELD_MAX || cs_io_write_all(fd, h, sizeof(h)) != CS_OK)
		return CS_ERR_IO;
	return cs_io_write_all(fd, p, n);
}

static int put_str(int fd, enum field tag, const char *s)
{
	/* An absent string is a field of one NUL byte; "" is empty. */
	return s == NULL ? put_bytes(fd, tag, "", 1) :
	    put_bytes(fd, tag, s, strlen(s));
}

static int put_num(int fd, enum field tag, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return put_bytes(fd, tag, buf, strlen(buf));
}

int cs_wire_start_send(int fd, const cs_run_opts *o, int index,
    const char *reader)
{
	int r = CS_OK;

	if (r == CS_OK) r = put_str(fd, F_JOURNAL, o->journal);
	if (r == CS_OK) r = put_num(fd, F_RUN, o->run_id);
	if (r == CS_OK) r = put_str(fd, F_READER, reader);
	if (r == CS_OK) r = put_num(fd, F_INDEX, index);
	if (r == CS_OK) r = put_str(fd, F_OPERATOR, o->operator_name);
	if (r == CS_OK) r = put_str(fd, F_PROFILE, o->profile);
	if (r == CS_OK) r = put_str(fd, F_PROFILES_DIR, o->profiles_dir);
	if (r == CS_OK) r = put_str(fd, F_PAIRING, o->pairing_csv);
	if (r == CS_OK) r = put_num(fd, F_CONFIRM, o->confirm_printed);
	if (r == CS_OK) r = put_num(fd, F_REISSUE, o->reissue);
	if (r == CS_OK) r = put_num(fd, F_REPRINT, o->reprint);
	if (r == CS_OK) r = o->pin ? put_bytes(fd, F_PIN, o->pin->buf,
	    o->pin->len) : put_bytes(fd, F_PIN, "", 0);
	if (r == CS_OK) r = o->puk ? put_bytes(fd, F_PUK, o->puk->buf,
	    o->puk->len) : put_bytes(fd, F_PUK, "", 0);
	/* Each card profile's own PUK: the worker picks the one for the card
	 * in its reader. */
	if (r == CS_OK && o->npuks > CS_RUN_MAX_PUKS) r = CS_ERR_USAGE;
	if (r == CS_OK) r = put_num(fd, F_NPUKS, (int64_t)o->npuks);
	for (size_t i = 0; r == CS_OK && i < o->npuks; i++) {
		r = put_str(fd, F_PUK_PROFILE, o->puks[i].profile);
		if (r == CS_OK) r = put_bytes(fd, F_PROFILE_PUK,
		    o->puks[i].puk->buf, o->puks[i].puk->len);
	}
	if (r == CS_OK) r = put_bytes(fd, F_END, "", 0);
	return r;
}

/* The next field, which must be tag: its length in *n. */
static int get_head(int fd, enum field tag, size_t *n)
{
	unsigned char h[5];

	if (cs_io_read_all(fd, h, sizeof(h)) != CS_OK)
		return CS_ERR_IO;
	*n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
	return h[0] == tag && *n <= FIELD_MAX ? CS_OK : CS_ERR_FORMAT;
}

static int get_str(int fd, enum field tag, char **out)
{
	size_t n;
	int r;

	*out = NULL;
	if ((r = get_head(fd, tag, &n)) != CS_OK)
		return r;
	if ((*out = malloc(n + 1)) == NULL)
		return CS_ERR_NOMEM;
	if ((r = cs_io_read_all(fd, *out, n)) != CS_OK)
		return r;
	(*out)[n] = '\0';
	/* One NUL byte: the string was absent. */
	if (n == 1 && (*out)[0] == '\0') {
		free(*out);
		*out = NULL;
	}
	return CS_OK;
}

static int get_num(int fd, enum field tag, int64_t *v)
{
	char *s;
	int r;

	if ((r = get_str(fd, tag, &s)) != CS_OK || s == NULL) {
		free(s);
		return r != CS_OK ? r : CS_ERR_FORMAT;
	}
	*v = strtoll(s, NULL, 10);
	free(s);
	return CS_OK;
}

static int get_secret(int fd, enum field tag, cs_secret **out)
{
	size_t n;
	int r;

	*out = NULL;
	if ((r = get_head(fd, tag, &n)) != CS_OK || n == 0)
		return r;
	if ((r = cs_secret_new(out, n)) != CS_OK)
		return r;
	if ((r = cs_io_read_all(fd, (*out)->buf, n)) != CS_OK)
		return r;
	(*out)->buf[n] = '\0';
	(*out)->len = n;
	return CS_OK;
}

int cs_wire_start_recv(int fd, cs_wire_start *s)
{
	int64_t index = 0, confirm = 0, reissue = 0, reprint = 0, npuks = 0;
	size_t n;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = get_str(fd, F_JOURNAL, &s->journal)) == CS_OK &&
	    (r = get_num(fd, F_RUN, &s->o.run_id)) == CS_OK &&
	    (r = get_str(fd, F_READER, &s->reader)) == CS_OK &&
	    (r = get_num(fd, F_INDEX, &index)) == CS_OK &&
	    (r = get_str(fd, F_OPERATOR, &s->operator_name)) == CS_OK &&
	    (r = get_str(fd, F_PROFILE, &s->profile)) == CS_OK &&
	    (r = get_str(fd, F_PROFILES_DIR, &s->profiles_dir)) == CS_OK &&
	    (r = get_str(fd, F_PAIRING, &s->pairing_csv)) == CS_OK &&
	    (r = get_num(fd, F_CONFIRM, &confirm)) == CS_OK &&
	    (r = get_num(fd, F_REISSUE, &reissue)) == CS_OK &&
	    (r = get_num(fd, F_REPRINT, &reprint)) == CS_OK &&
	    (r = get_secret(fd, F_PIN, &s->pin)) == CS_OK &&
	    (r = get_secret(fd, F_PUK, &s->puk)) == CS_OK &&
	    (r = get_num(fd, F_NPUKS, &npuks)) == CS_OK &&
	    (npuks < 0 || npuks > CS_RUN_MAX_PUKS))
		r = CS_ERR_FORMAT;
	for (int64_t i = 0; r == CS_OK && i < npuks; i++) {
		if ((r = get_str(fd, F_PUK_PROFILE, &s->puk_profile[i])) == CS_OK &&
		    (r = get_secret(fd, F_PROFILE_PUK, &s->profile_puk[i])) == CS_OK &&
		    (s->puk_profile[i] == NULL || s->profile_puk[i] == NULL))
			r = CS_ERR_FORMAT;
		s->npuks = (size_t)i + 1;
	}
	if (r == CS_OK)
		r = get_head(fd, F_END, &n);
	if (r == CS_OK && s->reader == NULL)
		r = CS_ERR_FORMAT;
	if (r != CS_OK) {
		cs_wire_start_clear(s);
		return r;
	}
	s->index = (int)index;
	s->readers[0] = s->reader;
	s->o.journal = s->journal;
	s->o.readers = s->readers;
	s->o.nreaders = 1;
	s->o.operator_name = s->operator_name;
	s->o.profile = s->profile;
	s->o.profiles_dir = s->profiles_dir;
	s->o.pairing_csv = s->pairing_csv;
	s->o.confirm_printed = (int)confirm;
	s->o.reissue = (int)reissue;
	s->o.reprint = (int)reprint;
	s->o.pin = s->pin;
	s->o.puk = s->puk;
	for (size_t i = 0; i < s->npuks; i++) {
		s->puks[i].profile = s->puk_profile[i];
		s->puks[i].puk = s->profile_puk[i];
	}
	s->o.puks = s->puks;
	s->o.npuks = s->npuks;
	return CS_OK;
}

void cs_wire_start_clear(cs_wire_start *s)
{
	free(s->journal);
	free(s->reader);
	free(s->operator_name);
	free(s->profile);
	free(s->profiles_dir);
	free(s->pairing_csv);
	cs_secret_free(s->pin);
	cs_secret_free(s->puk);
	for (size_t i = 0; i < s->npuks; i++) {
		free(s->puk_profile[i]);
		cs_secret_free(s->profile_puk[i]);
	}
	memset(s, 0, sizeof(*s));
}

int cs_wire_put(int fd, int tag, const void *p, size_t n)
{
	return put_bytes(fd, (enum field)tag, p, n);
}

int cs_wire_put_str(int fd, int tag, const char *s)
{
	return put_str(fd, (enum field)tag, s);
}

int cs_wire_get_head(int fd, int tag, size_t *n)
{
	return get_head(fd, (enum field)tag, n);
}

int cs_wire_get_str(int fd, int tag, char **out)
{
	return get_str(fd, (enum field)tag, out);
}

int cs_wire_get_secret(int fd, int tag, cs_secret **out)
{
	return get_secret(fd, (enum field)tag, out);
}
