/* cs_reader.c - reader lists, stable names, card events. */
#include "cs_reader.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <reader.h>

static int is_hex2(const char *p)
{
	return isxdigit((unsigned char)p[0]) && isxdigit((unsigned char)p[1]);
}

int cs_reader_parse_name(const char *name, cs_reader *out)
{
	char buf[CS_READER_NAME];
	size_t len;
	char *p;

	memset(out, 0, sizeof(*out));
	out->nn = out->slot = -1;
	out->usb = -1;
	if (strlen(name) >= sizeof(out->name))
		return CS_ERR_LIMIT;
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(buf, sizeof(buf), "%s", name);
	len = strlen(buf);
	/* " NN MM": pcsc-lite always appends them, in hex. */
	if (len >= 6 && buf[len - 6] == ' ' && is_hex2(buf + len - 5) &&
	    buf[len - 3] == ' ' && is_hex2(buf + len - 2)) {
		out->nn = (int)strtol(buf + len - 5, NULL, 16);
		out->slot = (int)strtol(buf + len - 2, NULL, 16);
		len -= 6;
		buf[len] = '\0';
	}
	/* " (serial)" */
	if (len > 0 && buf[len - 1] == ')' && (p = strrchr(buf, '(')) != NULL &&
	    p > buf && p[-1] == ' ') {
		buf[len - 1] = '\0';
		snprintf(out->serial, sizeof(out->serial), "%s", p + 1);
		p[-1] = '\0';
		len = strlen(buf);
	}
	/* " [interface]" */
	if (len > 0 && buf[len - 1] == ']' && (p = strrchr(buf, '[')) != NULL &&
	    p > buf && p[-1] == ' ') {
		buf[len - 1] = '\0';
		snprintf(out->interface, sizeof(out->interface), "%s", p + 1);
		p[-1] = '\0';
	}
	snprintf(out->model, sizeof(out->model), "%s", buf);
	return CS_OK;
}

int cs_reader_list_from_mszstr(const char *msz, size_t len,
    cs_reader_list *out)
{
	size_t n = 0, i;
	const char *p;
	int r = CS_OK;

	out->r = NULL;
	out->n = 0;
	for (p = msz; (size_t)(p - msz) < len && *p != '\0';
	    p += strlen(p) + 1)
		n++;
	if (n == 0)
		return CS_OK;
	if ((out->r = calloc(n, sizeof(*out->r))) == NULL)
		return CS_ERR_NOMEM;
	for (i = 0, p = msz; i < n; i++, p += strlen(p) + 1)
		if ((r = cs_reader_parse_name(p, &out->r[i])) != CS_OK)
			goto out;
	out->n = n;
out:
	if (r != CS_OK)
		cs_reader_list_free(out);
	return r;
}

int cs_reader_list_get(SCARDCONTEXT ctx, cs_reader_list *out)
{
	DWORD len = 0;
	char *msz = NULL;
	LONG rv;
	int r;

	out->r = NULL;
	out->n = 0;
	/* Readers may come and go between the two calls: retry on a
	 * too-small buffer. */
	for (int tries = 0; tries < 4; tries++) {
		rv = SCardListReaders(ctx, NULL, NULL, &len);
		if (rv == SCARD_E_NO_READERS_AVAILABLE)
			return CS_OK;
		if (rv != SCARD_S_SUCCESS)
			return CS_ERR_CARD;
		free(msz);
		if ((msz = calloc(1, len + 1)) == NULL)
			return CS_ERR_NOMEM;
		rv = SCardListReaders(ctx, NULL, msz, &len);
		if (rv != SCARD_E_INSUFFICIENT_BUFFER)
			break;
	}
	if (rv == SCARD_E_NO_READERS_AVAILABLE)
		r = CS_OK;
	else if (rv != SCARD_S_SUCCESS)
		r = CS_ERR_CARD;
	else
		r = cs_reader_list_from_mszstr(msz, len, out);
	free(msz);
	return r;
}

void cs_reader_list_free(cs_reader_list *l)
{
	if (l == NULL)
		return;
	free(l->r);
	l->r = NULL;
	l->n = 0;
}

/* --- USB ----------------------------------------------------------- */

/* Does reader name rd belong to USB device d, whose driver calls its
 * model "model"? The name must be model [+ " [iface]"] [+ " (serial)"]
 * + " NN MM", with the serial present exactly when d has one. */
static int name_fits(const cs_reader *rd, const char *model,
    const cs_usb_dev *d)
{
	char want[CS_READER_NAME];
	const char *rest;
	size_t ml = strlen(model);

	if (model[0] == '\0' || strncmp(rd->name, model, ml) != 0)
		return 0;
	rest = rd->name + ml;
	if (rest[0] == ' ' && rest[1] == '[') {
		if ((rest = strchr(rest, ']')) == NULL)
			return 0;
		rest++;
	}
	if (d->serial[0] != '\0') {
		/* pcsc-lite leaves the serial out when the interface name
		 * already contains it. */
		snprintf(want, sizeof(want), " (%s)", d->serial);
		if (strncmp(rest, want, strlen(want)) == 0)
			rest += strlen(want);
		else if (strstr(rd->interface, d->serial) == NULL)
			return 0;
	}
	/* What is left is " NN MM" or nothing. */
	return rest[0] == '\0' || (strlen(rest) == 6 && rest[0] == ' ' &&
	    is_hex2(rest + 1) && rest[3] == ' ' && is_hex2(rest + 4));
}

static void channel_of(SCARDCONTEXT ctx, const char *name, int *bus,
    int *addr)
{
	SCARDHANDLE h;
	DWORD proto, len;
	unsigned char buf[8];

	*bus = *addr = -1;
	/* A direct connection needs no card and does not disturb one. */
	if (SCardConnect(ctx, name, SCARD_SHARE_DIRECT, 0, &h, &proto) !=
	    SCARD_S_SUCCESS)
		return;
	len = sizeof(buf);
	if (SCardGetAttrib(h, SCARD_ATTR_CHANNEL_ID, buf, &len) ==
	    SCARD_S_SUCCESS && len >= 4) {
		/* 0xDDDDCCCC, DDDD 0x0020 = USB, CCCC = bus << 8 | addr
		 * (host byte order, as the driver stores a DWORD). */
		uint32_t v;

		memcpy(&v, buf, 4);
		if ((v >> 16) == 0x0020) {
			*bus = (int)((v >> 8) & 0xff);
			*addr = (int)(v & 0xff);
		}
	}
	SCardDisconnect(h, SCARD_LEAVE_CARD);
}

int cs_reader_locate_usb(cs_reader_list *l, const cs_usb_list *usb,
    const cs_usb_drivers *drivers, SCARDCONTEXT ctx)
{
	for (size_t i = 0; i < l->n; i++) {
		cs_reader *rd = &l->r[i];
		int found = -1, nfit = 0;

		rd->usb = -1;
		rd->position[0] = '\0';
		for (size_t k = 0; k < usb->n; k++) {
			const cs_usb_dev *d = &usb->dev[k];
			const cs_usb_driver_entry *e = NULL;
			const char *model;

			if (drivers != NULL)
				e = cs_usb_drivers_find(drivers, d->vid, d->pid);
			if (e != NULL)
				model = e->name;
			else if (cs_usb_is_ccid(d))
				model = rd->model;
			else
				continue;
			if (name_fits(rd, model, d)) {
				if (nfit++ == 0)
					found = (int)k;
			}
		}
		if (nfit > 1 && ctx != 0) {
			int bus, addr;

			found = -1;
			channel_of(ctx, rd->name, &bus, &addr);
			for (size_t k = 0; k < usb->n && bus >= 0; k++)
				if (usb->dev[k].bus == bus &&
				    usb->dev[k].address == addr)
					found = (int)k;
		} else if (nfit > 1)
			found = -1;
		if (found < 0)
			continue;
		rd->usb = found;
		snprintf(rd->position, sizeof(rd->position), "%s",
		    usb->dev[found].position);
		/* The device knows its serial; the name only suggested it
		 * (a model name may end in parentheses). */
		snprintf(rd->serial, sizeof(rd->serial), "%s",
		    usb->dev[found].serial);
	}
	return CS_OK;
}

/* --- SPEC ---------------------------------------------------------- */

static int all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Collect the readers for which fits() holds; exactly one is success. */
static int pick(const cs_reader_list *l, const char *spec, size_t *idx,
    char *msg, size_t msglen, int (*fits)(const cs_reader *, const char *),
    const char *what)
{
	size_t n = 0, off;

	for (size_t i = 0; i < l->n; i++)
		if (fits(&l->r[i], spec)) {
			if (n++ == 0)
				*idx = i;
		}
	if (n == 1)
		return CS_OK;
	if (n == 0) {
		snprintf(msg, msglen, _("no reader with %s '%s' (%zu reader%s "
		    "seen)"), what, spec, l->n, l->n == 1 ? "" : "s");
		return CS_ERR_NOTFOUND;
	}
	off = (size_t)snprintf(msg, msglen, _("%zu readers fit %s '%s':"), n,
	    what, spec);
	for (size_t i = 0; i < l->n && off < msglen; i++)
		if (fits(&l->r[i], spec))
			off += (size_t)snprintf(msg + off, msglen - off,
			    " '%s'", l->r[i].name);
	return CS_ERR_MISMATCH;
}

static int fits_serial(const cs_reader *r, const char *s)
{
	return r->serial[0] != '\0' && strcasecmp(r->serial, s) == 0;
}

static int fits_position(const cs_reader *r, const char *s)
{
	return r->position[0] != '\0' && strcmp(r->position, s) == 0;
}

static int fits_exact(const cs_reader *r, const char *s)
{
	return strcmp(r->name, s) == 0;
}

static int fits_prefix(const cs_reader *r, const char *s)
{
	return strncmp(r->name, s, strlen(s)) == 0;
}

static int valid_position(const char *s)
{
	/* BUS-PORT[.PORT...], all decimal. */
	const char *p = s;
	int seps = 0;

	if (!isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p++ != '-')
		return 0;
	for (;;) {
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
		seps++;
		if (*p == '\0')
			return seps <= 7;
		if (*p++ != '.')
			return 0;
	}
}

int cs_reader_select(const cs_reader_list *l, const char *spec, size_t *idx,
    char *msg, size_t msglen)
{
	if (spec == NULL || *spec == '\0') {
		snprintf(msg, msglen, _("empty reader name"));
		return CS_ERR_USAGE;
	}
	if (all_digits(spec)) {
		unsigned long i = strtoul(spec, NULL, 10);

		if (i >= l->n) {
			snprintf(msg, msglen, _("no reader number %s (%zu "
			    "reader%s seen)"), spec, l->n, l->n == 1 ? "" : "s");
			return CS_ERR_NOTFOUND;
		}
		*idx = (size_t)i;
		return CS_OK;
	}
	if (strncmp(spec, "serial:", 7) == 0) {
		if (spec[7] == '\0') {
			snprintf(msg, msglen, _("serial: needs a serial number"));
			return CS_ERR_USAGE;
		}
		return pick(l, spec + 7, idx, msg, msglen, fits_serial,
		    "USB serial");
	}
	if (strncmp(spec, "usb:", 4) == 0) {
		if (!valid_position(spec + 4)) {
			snprintf(msg, msglen, _("'%s' is not a USB position: "
			    "write usb:BUS-PORT[.PORT...], e.g. usb:1-3.2"),
			    spec);
			return CS_ERR_USAGE;
		}
		return pick(l, spec + 4, idx, msg, msglen, fits_position,
		    "USB position");
	}
	if (strncmp(spec, "name:", 5) == 0)
		spec += 5;
	if (*spec == '\0') {
		snprintf(msg, msglen, _("name: needs a reader name"));
		return CS_ERR_USAGE;
	}
	/* A full name wins over a prefix: "Reader 01 00" must not be
	 * ambiguous because "Reader 01 00" is a prefix of nothing else. */
	for (size_t i = 0; i < l->n; i++)
		if (fits_exact(&l->r[i], spec)) {
			*idx = i;
			return CS_OK;
		}
	return pick(l, spec, idx, msg, msglen, fits_prefix, "name");
}

void cs_reader_stable_spec(const cs_reader_list *l, const cs_reader *r,
    char *out, size_t outlen)
{
	size_t same = 0;

	if (r->serial[0] != '\0') {
		for (size_t i = 0; i < l->n; i++)
			if (fits_serial(&l->r[i], r->serial))
				same++;
		/* A multi-slot reader has one serial for all its slots. */
		if (same == 1) {
			snprintf(out, outlen, "serial:%s", r->serial);
			return;
		}
	}
	same = 0;
	if (r->position[0] != '\0') {
		for (size_t i = 0; i < l->n; i++)
			if (fits_position(&l->r[i], r->position))
				same++;
		if (same == 1) {
			snprintf(out, outlen, "usb:%s", r->position);
			return;
		}
	}
	snprintf(out, outlen, "%s", r->name);
}

/* --- card events --------------------------------------------------- */

void cs_reader_watch_init(cs_reader_watch *w, const char *reader)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->reader, sizeof(w->reader), "%s", reader);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* What rs says for w, remembered in w: an event to report, or 0 when only
 * a flag moved (in use, exclusive). */
static cs_reader_event watch_update(cs_reader_watch *w,
    const SCARD_READERSTATE *rs)
{
	DWORD old = w->state;
	int was_present = w->present;

	if (rs->dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE))
		return CS_READER_EV_GONE;
	w->state = rs->dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
	w->present = (rs->dwEventState & SCARD_STATE_PRESENT) != 0;
	w->mute = (rs->dwEventState & SCARD_STATE_MUTE) != 0;
	w->exclusive = (rs->dwEventState & SCARD_STATE_EXCLUSIVE) != 0;
	w->atrlen = 0;
	if (w->present && rs->cbAtr <= sizeof(w->atr)) {
		memcpy(w->atr, rs->rgbAtr, rs->cbAtr);
		w->atrlen = rs->cbAtr;
	}
	if (old == 0)
		return w->present ? CS_READER_EV_INSERTED : CS_READER_EV_REMOVED;
	/* The upper 16 bits count card events: a changed count while a card
	 * is in means it is another card. */
	if (w->present && (!was_present || (old >> 16) != (w->state >> 16)))
		return CS_READER_EV_INSERTED;
	if (!w->present && was_present)
		return CS_READER_EV_REMOVED;
	return 0;
}

int cs_reader_wait_any(SCARDCONTEXT ctx, cs_reader_watch *w, size_t n,
    long timeout_ms, size_t *which, cs_reader_event *ev)
{
	SCARD_READERSTATE rs[CS_READER_WAIT_MAX];
	struct timespec t0;
	LONG rv;

	if (n == 0 || n > CS_READER_WAIT_MAX)
		return CS_ERR_USAGE;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = timeout_ms < 0 ? -1 : timeout_ms - ms_since(&t0);
		DWORD wait = left < 0 ? INFINITE : (DWORD)left;

		if (timeout_ms >= 0 && left < 0)
			wait = 0;
		memset(rs, 0, sizeof(rs));
		for (size_t i = 0; i < n; i++) {
			rs[i].szReader = w[i].reader;
			/* SCARD_STATE_UNAWARE (0) on a first call: PC/SC
			 * answers at once with the current state. */
			rs[i].dwCurrentState = w[i].state;
			if (w[i].state == 0)
				wait = 0;
		}
		rv = SCardGetStatusChange(ctx, wait, rs, (DWORD)n);
		switch (rv) {
		case SCARD_S_SUCCESS:
			break;
		case SCARD_E_TIMEOUT:
			*ev = CS_READER_EV_TIMEOUT;
			return CS_OK;
		case SCARD_E_CANCELLED:
			*ev = CS_READER_EV_CANCELLED;
			return CS_OK;
		case SCARD_E_UNKNOWN_READER:
			*ev = CS_READER_EV_GONE;
			*which = 0;
			for (size_t i = 0; i < n; i++)
				if (rs[i].dwEventState & SCARD_STATE_UNKNOWN)
					*which = i;
			return CS_OK;
		default:
			return CS_ERR_CARD;
		}
		/* One event per call: a reader whose change is not reported
		 * now keeps its old state, so the next call reports it at
		 * once; none is lost. */
		for (size_t i = 0; i < n; i++) {
			cs_reader_event e;

			if (!(rs[i].dwEventState & SCARD_STATE_CHANGED) &&
			    w[i].state != 0)
				continue;
			if ((e = watch_update(&w[i], &rs[i])) != 0) {
				*which = i;
				*ev = e;
				return CS_OK;
			}
		}
		if (timeout_ms >= 0 && ms_since(&t0) >= timeout_ms) {
			*ev = CS_READER_EV_TIMEOUT;
			return CS_OK;
		}
	}
}

int cs_reader_wait(SCARDCONTEXT ctx, cs_reader_watch *w, long timeout_ms,
    cs_reader_event *ev)
{
	size_t which;

	return cs_reader_wait_any(ctx, w, 1, timeout_ms, &which, ev);
}

size_t cs_reader_with_card(SCARDCONTEXT ctx, const cs_reader_list *l,
    size_t *idx)
{
	size_t with_card = 0;

	for (size_t i = 0; i < l->n; i++) {
		SCARD_READERSTATE rs;

		memset(&rs, 0, sizeof(rs));
		rs.szReader = l->r[i].name;
		if (SCardGetStatusChange(ctx, 0, &rs, 1) == SCARD_S_SUCCESS &&
		    (rs.dwEventState & SCARD_STATE_PRESENT)) {
			*idx = i;
			with_card++;
		}
	}
	return with_card;
}
