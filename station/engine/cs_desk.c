/* cs_desk.c - a lost card, a returned card and a PIN reset, for every
 * front end. */
#include "cs_desk.h"
#include "cs_card.h"
#include "cs_err.h"
#include "cs_io.h"
#include "cs_profile.h"
#include "cs_revoke.h"
#include "cs_touch.h"
#include "cs_verify.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One request line is at most 15 short fields in CP932: a DN and two
 * mails are the long ones, and the service refuses far shorter lines. */
#define ROW_MAX 4096

/* Tell a failure in m: its code (cs_codes.c), another part's words
 * (detail, or NULL) and the code's parameters as name, value, ..., NULL;
 * hand r back, so a failure is one line. */
static int fail(cs_msg *m, int r, const char *code, const char *detail, ...)
    __attribute__((sentinel));
static int fail(cs_msg *m, int r, const char *code, const char *detail, ...)
{
	va_list ap;

	memset(m, 0, sizeof(*m));
	m->code = code;
	va_start(ap, detail);
	cs_params_vpack(m->params, sizeof(m->params), ap);
	va_end(ap);
	if (detail != NULL)
		snprintf(m->detail, sizeof(m->detail), "%s", detail);
	return r;
}

/* A number as a parameter: NUM(x) in a fail() call. */
static const char *num(char *buf, size_t n, long long v)
{
	snprintf(buf, n, "%lld", v);
	return buf;
}
#define NUM(v) num((char[24]){0}, 24, (long long)(v))

#define state_code(kind, word) cs_state_code(kind, word, (char[64]){0}, 64)

static int collect_live(void *ctx, const cs_jissuance_view *v)
{
	cs_desk_certs *ll = ctx;
	cs_desk_cert *x;

	/* Keep walking so the caller learns there were more, not how many. */
	if (ll->n == CS_DESK_MAX_LIVE) {
		ll->truncated = 1;
		return 0;
	}
	x = &ll->c[ll->n++];
	x->iss_id = v->iss.id;
	x->record_id = v->iss.record_id;
	x->card_id = v->iss.card_id;
	x->writing = v->iss.outcome == CS_JISSUE_WRITING;
	snprintf(x->cert_serial, sizeof(x->cert_serial), "%s",
	    v->iss.cert_serial ? v->iss.cert_serial : "");
	snprintf(x->holder, sizeof(x->holder), "%s",
	    v->iss.holder ? v->iss.holder : "");
	snprintf(x->mail, sizeof(x->mail), "%s", v->iss.mail ? v->iss.mail : "");
	snprintf(x->chip, sizeof(x->chip), "%s",
	    v->chip_serial ? v->chip_serial : "-");
	snprintf(x->printed, sizeof(x->printed), "%s",
	    v->printed_no ? v->printed_no : "-");
	return 0;
}

static int live_where(cs_journal *j, const cs_jfilter *f, cs_desk_certs *out)
{
	memset(out, 0, sizeof(*out));
	return cs_journal_issuances(j, f, collect_live, out);
}

int cs_desk_live_certs(cs_journal *j, int64_t card_id, cs_desk_certs *out)
{
	cs_jfilter f;

	memset(&f, 0, sizeof(f));
	f.card_id = card_id;
	f.live_only = true;
	return live_where(j, &f, out);
}

/* A card by the chip serial the operator typed: as the journal has it
 * (FFFF-TTTT-SSSSSSSS, or CA-XXXXXX-XXXXXXXX assigned by a station), or as
 * PKCS#11 and pkcs15-tool show the token's serial (the same hex digits
 * without dashes, any case). */
static int find_by_chip(cs_journal *j, const char *chip, cs_jcard *card)
{
	char hex[CS_SERIAL_SIZE];
	int r;

	if ((r = cs_journal_card_find(j, CS_JKEY_CHIP, chip, card)) !=
	    CS_ERR_NOTFOUND)
		return r;
	cs_card_token_serial(chip, hex, sizeof(hex));
	return hex[0] == '\0' ? CS_ERR_NOTFOUND : cs_journal_card_find(j,
	    CS_JKEY_PKCS15, hex, card);
}

int cs_desk_find_card(cs_journal *j, const cs_desk_sel *sel, int64_t *card_id,
    cs_desk_certs *several, cs_msg *m)
{
	cs_desk_certs ll;
	cs_jcard card = {0};
	cs_jissuance iss = {0};
	cs_jfilter f;
	int r = CS_OK;

	*card_id = 0;
	if ((sel->printed != NULL) + (sel->chip != NULL) + (sel->holder != NULL) +
	    (sel->issuance != 0) != 1)
		return fail(m, CS_ERR_USAGE, "desk.name-one", NULL, NULL);
	if (sel->chip != NULL || sel->printed != NULL) {
		if ((sel->chip != NULL ? find_by_chip(j, sel->chip, &card) :
		    cs_journal_card_find(j, CS_JKEY_PRINTED, sel->printed,
		    &card)) != CS_OK)
			r = sel->chip ? fail(m, CS_ERR_NOTFOUND, "desk.no-card-chip",
			    NULL, "chip", sel->chip, NULL) : fail(m, CS_ERR_NOTFOUND,
			    "desk.no-card-printed", NULL, "printed", sel->printed, NULL);
		else
			*card_id = card.id;
		goto out;
	}
	if (sel->issuance != 0) {
		/* Only a verified issuance ties a card to a person today: a
		 * failed, wiped or revoked one is history. */
		if (cs_journal_issuance_get(j, sel->issuance, &iss) != CS_OK ||
		    iss.outcome != CS_JISSUE_VERIFIED)
			r = fail(m, CS_ERR_NOTFOUND, "desk.issuance-not-live", NULL,
			    "issuance", NUM(sel->issuance), NULL);
		else
			*card_id = iss.card_id;
		goto out;
	}
	/* A holder's name is not a key: it must come down to one card, or the
	 * operator chooses, since revoking the wrong card cannot be undone. */
	memset(&f, 0, sizeof(f));
	f.holder = sel->holder;
	f.live_only = true;
	if ((r = live_where(j, &f, &ll)) != CS_OK) {
		r = fail(m, CS_ERR_DB, "desk.journal-unreadable", cs_strerror(r),
		    NULL);
		goto out;
	}
	if (ll.n == 0) {
		r = fail(m, CS_ERR_NOTFOUND, "desk.holder-none", NULL, "holder",
		    sel->holder, NULL);
		goto out;
	}
	for (size_t i = 1; i < ll.n; i++)
		if (ll.c[i].card_id != ll.c[0].card_id) {
			if (several != NULL)
				*several = ll;
			r = fail(m, CS_ERR_MISMATCH, "desk.holder-several", NULL,
			    "holder", sel->holder, NULL);
			goto out;
		}
	*card_id = ll.c[0].card_id;
out:
	cs_jcard_clear(&card);
	cs_jissuance_clear(&iss);
	return r;
}

/* The whole request in memory first: every row is checked before a byte
 * reaches a file or the journal changes. */
static int lost_build(cs_journal *j, const cs_desk_lost_opts *o,
    const cs_desk_certs *ll, char **buf, size_t *len, cs_msg *m)
{
	char rwhy[512];
	size_t cap = ROW_MAX * (ll->n + 1);
	int r = CS_OK;

	*len = 0;
	if ((*buf = malloc(cap)) == NULL)
		return fail(m, CS_ERR_NOMEM, "err.nomem", NULL, NULL);
	for (size_t i = 0; i < ll->n && r == CS_OK; i++) {
		cs_jrecord rec = {0};
		cs_revoke_row row;
		size_t n = 0;

		if (cs_journal_record_get(j, ll->c[i].record_id, &rec) != CS_OK)
			return fail(m, CS_ERR_NOTFOUND, "desk.record-missing", NULL,
			    "record", NUM(ll->c[i].record_id), "serial",
			    ll->c[i].cert_serial, NULL);
		memset(&row, 0, sizeof(row));
		row.dn = rec.dn;
		row.serial = ll->c[i].cert_serial;
		row.reason = o->reason;
		row.comment = o->comment != NULL && *o->comment != '\0' ?
		    o->comment : NULL;
		row.admin_mail = o->admin_mail;
		row.user_mail = rec.mail ? rec.mail : ll->c[i].mail;
		if ((r = cs_revoke_format(&row, *buf + *len, cap - *len, &n, rwhy,
		    sizeof(rwhy))) != CS_OK)
			fail(m, r, "desk.request-row", rwhy, "serial",
			    ll->c[i].cert_serial, NULL);
		else
			*len += n;
		cs_jrecord_clear(&rec);
	}
	return r;
}

/* All or nothing: a request the journal does not know of, or a card
 * marked lost without its certificates revoked, would each mislead the
 * next person at the desk. */
static int lost_mark(cs_journal *j, const cs_desk_lost_opts *o,
    const cs_desk_certs *ll, int64_t card_id, char *why, size_t whylen)
{
	char note[160];
	cs_msg m;
	int r;

	/* A record (cs_codes.h): the journal's English, told again in the
	 * operator's language by the front ends. */
	cs_msg_set(&m, "note.lost", "reason", NUM(o->reason), "reason_name",
	    cs_revoke_reason_name(o->reason), NULL);
	cs_msg_record(&m, note, sizeof(note));
	if ((r = cs_journal_begin(j, why, whylen)) != CS_OK)
		return r;
	for (size_t i = 0; i < ll->n && r == CS_OK; i++)
		if ((r = cs_journal_issuance_end(j, ll->c[i].iss_id,
		    CS_JISSUE_REVOKED, note, why, whylen)) == CS_OK)
			r = cs_journal_record_revoke(j, ll->c[i].record_id, note,
			    why, whylen);
	if (r == CS_OK)
		r = cs_journal_card_set_state(j, card_id, CS_JCARD_LOST, note,
		    why, whylen);
	if (r != CS_OK) {
		cs_journal_rollback(j);
		return r;
	}
	return cs_journal_commit(j, why, whylen);
}

int cs_desk_lost(cs_journal *j, int64_t card_id, const cs_desk_lost_opts *o,
    cs_desk_certs *done, char **req, size_t *reqlen, cs_msg *m)
{
	cs_desk_certs local, *ll = done != NULL ? done : &local;
	char jwhy[512], tmp[4096] = "", *buf = NULL;
	size_t len = 0;
	int fd = -1, r;

	if (req != NULL) {
		*req = NULL;
		*reqlen = 0;
	}
	if (o->admin_mail == NULL || cs_revoke_reason_name(o->reason) == NULL)
		return fail(m, CS_ERR_USAGE, "desk.request-needs", NULL, NULL);
	if ((r = cs_journal_trust(j, jwhy, sizeof(jwhy))) != CS_OK)
		return fail(m, r, "desk.journal-unusable", jwhy, NULL);
	if ((r = cs_desk_live_certs(j, card_id, ll)) != CS_OK)
		return fail(m, CS_ERR_DB, "desk.journal-unreadable",
		    cs_strerror(r), NULL);
	for (size_t i = 0; i < ll->n; i++)
		if (ll->c[i].writing)
			return fail(m, CS_ERR_STATE, "desk.cert-writing", NULL,
			    "serial", ll->c[i].cert_serial, NULL);
	if (ll->n == 0)
		return fail(m, CS_ERR_NOTFOUND, "desk.nothing-live", NULL, NULL);
	if (ll->truncated)
		return fail(m, CS_ERR_LIMIT, "desk.too-many", NULL, "max",
		    NUM(CS_DESK_MAX_LIVE), NULL);
	if ((r = lost_build(j, o, ll, &buf, &len, m)) != CS_OK)
		goto out;
	/* The file is complete on disk before the journal says "requested";
	 * it gets its name only once the journal agrees. */
	if (o->out_path != NULL) {
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", o->out_path) >=
		    sizeof(tmp)) {
			tmp[0] = '\0';
			r = fail(m, CS_ERR_USAGE, "desk.name-too-long", NULL, NULL);
			goto out;
		}
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0640)) < 0 || cs_io_write_all(fd, buf, len) != CS_OK ||
		    fsync(fd) != 0) {
			r = fail(m, CS_ERR_IO, "desk.file-write", strerror(errno),
			    "file", tmp, NULL);
			goto out;
		}
	} else if (o->out_fp != NULL && (fwrite(buf, 1, len, o->out_fp) != len ||
	    fflush(o->out_fp) != 0)) {
		r = fail(m, CS_ERR_IO, "desk.request-write", strerror(errno), NULL);
		goto out;
	}
	if (!o->dry_run && (r = lost_mark(j, o, ll, card_id, jwhy,
	    sizeof(jwhy))) != CS_OK) {
		/* Only a stream cannot be taken back: whoever reads it is told. */
		fail(m, r, "desk.lost-journal-refused", jwhy, NULL);
		m->advice = tmp[0] ? "advice.desk-no-request" : o->out_fp ?
		    "advice.desk-do-not-send" : NULL;
		goto out;
	}
	if (tmp[0] != '\0' && rename(tmp, o->out_path) != 0) {
		r = fail(m, CS_ERR_IO, "desk.lost-rename", strerror(errno), "tmp",
		    tmp, "file", o->out_path, NULL);
		/* The journal is right and the request complete: leave it for
		 * the operator to rename rather than lose it. */
		tmp[0] = '\0';
		goto out;
	}
	tmp[0] = '\0';
	if (req != NULL) {
		*req = buf;
		*reqlen = len;
		buf = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	free(buf);
	return r;
}

/* ---- a returned card ---- */

/* The live certificates a return must decide on: verified ones. One that
 * a run is still writing was never handed out; its write is over. */
static void only_verified(const cs_desk_certs *all, cs_desk_certs *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < all->n; i++)
		if (!all->c[i].writing)
			out->c[out->n++] = all->c[i];
	out->truncated = all->truncated;
}

static int in_list(const cs_desk_certs *ll, int64_t iss_id)
{
	for (size_t i = 0; i < ll->n; i++)
		if (ll->c[i].iss_id == iss_id)
			return 1;
	return 0;
}

/* "a, b, c" of the serials, cut to fit. */
static void serial_list(const cs_desk_certs *ll, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ll->n && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s", i ? ", " : "",
		    ll->c[i].cert_serial);
}

/* What the journal says of a return, for the card and each certificate. */
static void returned_note(const cs_desk_return_opts *o,
    const cs_desk_certs *ended, int keys, char *note, size_t notelen,
    char *iss_note, size_t iss_notelen)
{
	char serials[256];
	cs_msg m;
	int n;

	serial_list(ended, serials, sizeof(serials));
	n = snprintf(note, notelen, "card returned: PIN reset with the PUK, %d "
	    "key%s overwritten, PKCS#15 application erased", keys,
	    keys == 1 ? "" : "s");
	if (n < 0 || (size_t)n >= notelen)
		return;
	if (ended->n == 0) {
		snprintf(note + n, notelen - (size_t)n, "; no certificate was live");
		cs_msg_set(&m, "note.returned", NULL);
		cs_msg_record(&m, iss_note, iss_notelen);
	} else if (o->live == CS_DESK_LIVE_REQUEST) {
		cs_msg_set(&m, "note.returned-request", "reason",
		    NUM(o->request.reason), "reason_name",
		    cs_revoke_reason_name(o->request.reason), NULL);
		cs_msg_record(&m, iss_note, iss_notelen);
		snprintf(note + n, notelen - (size_t)n, "; revocation requested, "
		    "reason %d %s, for certificate %s", o->request.reason,
		    cs_revoke_reason_name(o->request.reason), serials);
	} else {
		cs_msg_set(&m, "note.returned-revoked", NULL);
		cs_msg_record(&m, iss_note, iss_notelen);
		snprintf(note + n, notelen - (size_t)n, "; certificate %s revoked "
		    "already (the operator's word), no request", serials);
	}
}

/* One transaction: the card row (new if the journal never saw it, since
 * the wipe happened either way), the certificates decided on before the
 * card was touched ended as decided, the card 'returned', and a note. A
 * certificate that became live in between was decided on by nobody: the
 * whole step is refused so that a second run decides. */
static int returned_journal(cs_journal *j, const cs_card_id *id,
    const char *profile, const cs_desk_return_opts *o,
    const cs_desk_certs *ended, int keys, size_t *wiped, cs_msg *m)
{
	cs_desk_certs ll;
	cs_jcard in = {0};
	int64_t card_id;
	char note[768], iss_note[160], why[512] = "";
	const size_t whylen = sizeof(why);
	int request = o->live == CS_DESK_LIVE_REQUEST;
	int r;

	*wiped = 0;
	returned_note(o, ended, keys, note, sizeof(note), iss_note,
	    sizeof(iss_note));
	if ((r = cs_journal_begin(j, why, whylen)) != CS_OK)
		return fail(m, r, "desk.wiped-journal-refused", why, NULL);
	in.chip_serial = id->chip_serial[0] ? (char *)id->chip_serial : NULL;
	in.id_source = id->source == CS_CARD_ID_ASSIGNED ? CS_JCARD_ID_ASSIGNED :
	    id->source == CS_CARD_ID_CPLC ? CS_JCARD_ID_CPLC : NULL;
	in.atr = (char *)id->atr;
	in.model = (char *)profile;
	in.state = CS_JCARD_RETURNED;
	if ((r = cs_journal_card_upsert(j, &in, &card_id, why, whylen)) !=
	    CS_OK)
		goto fail;
	if ((r = cs_desk_live_certs(j, card_id, &ll)) != CS_OK) {
		snprintf(why, whylen, "%s", cs_strerror(r));
		goto fail;
	}
	for (size_t i = 0; i < ll.n && r == CS_OK; i++) {
		const cs_desk_cert *c = &ll.c[i];

		/* A run that stopped mid-write left 'writing': that write is
		 * over. */
		if (c->writing) {
			r = cs_journal_issuance_end(j, c->iss_id,
			    CS_JISSUE_INTERRUPTED, iss_note, why, whylen);
			continue;
		}
		if (!in_list(ended, c->iss_id)) {
			cs_journal_rollback(j);
			return fail(m, CS_ERR_STATE, "desk.cert-became-live", NULL, "serial",
			    c->cert_serial, NULL);
		}
		if ((r = cs_journal_issuance_end(j, c->iss_id, request ?
		    CS_JISSUE_REVOKED : CS_JISSUE_WIPED, iss_note, why,
		    whylen)) != CS_OK)
			break;
		if (request)
			r = cs_journal_record_revoke(j, c->record_id, iss_note,
			    why, whylen);
		else
			(*wiped)++;
	}
	for (size_t i = 0; r == CS_OK && i < ended->n; i++) {
		int still = 0;

		for (size_t k = 0; k < ll.n; k++)
			still |= ll.c[k].iss_id == ended->c[i].iss_id;
		if (!still) {
			cs_journal_rollback(j);
			return fail(m, CS_ERR_STATE, "desk.cert-no-longer-live", NULL,
			    "serial", ended->c[i].cert_serial, NULL);
		}
	}
	if (r == CS_OK)
		r = cs_journal_card_set_state(j, card_id, CS_JCARD_RETURNED, note,
		    why, whylen);
	if (r == CS_OK)
		r = cs_journal_note(j, 0, card_id, "card.returned", note, why,
		    whylen);
	if (r != CS_OK)
		goto fail;
	if ((r = cs_journal_commit(j, why, whylen)) != CS_OK)
		return fail(m, r, "desk.wiped-journal-refused", why, NULL);
	return CS_OK;
fail:
	cs_journal_rollback(j);
	return fail(m, r, "desk.wiped-journal-refused", why, NULL);
}

/* out_path.tmp holds the whole request, synced; tmp gets its name ("" if
 * nothing was created). */
static int req_write_tmp(const char *out_path, const char *buf, size_t len,
    char *tmp, size_t tmplen, cs_msg *m)
{
	int fd, r = CS_OK;

	tmp[0] = '\0';
	if ((size_t)snprintf(tmp, tmplen, "%s.tmp", out_path) >= tmplen) {
		tmp[0] = '\0';
		return fail(m, CS_ERR_USAGE, "desk.name-too-long", NULL, NULL);
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
		r = fail(m, CS_ERR_IO, "desk.file-write", strerror(errno), "file",
		    tmp, NULL);
		tmp[0] = '\0';
		return r;
	}
	if (cs_io_write_all(fd, buf, len) != CS_OK || fsync(fd) != 0)
		r = fail(m, CS_ERR_IO, "desk.file-write", strerror(errno), "file",
		    tmp, NULL);
	close(fd);
	return r;
}

/* Decide on the live certificates before the card is touched: refuse, or
 * have the whole request in memory (and in out_path.tmp). */
static int returned_decide(cs_journal *j, const cs_card_id *id,
    const cs_desk_return_opts *o, cs_desk_return *res, char *tmp,
    size_t tmplen, cs_msg *m)
{
	cs_desk_certs all;
	cs_jcard card = {0};
	char serials[256];
	int r;

	tmp[0] = '\0';
	if (id->chip_serial[0] == '\0' || cs_journal_card_find(j, CS_JKEY_CHIP,
	    id->chip_serial, &card) != CS_OK)
		return CS_OK;   /* never issued here: nothing live to decide on */
	r = cs_desk_live_certs(j, card.id, &all);
	cs_jcard_clear(&card);
	if (r != CS_OK)
		return fail(m, CS_ERR_DB, "desk.journal-unreadable", cs_strerror(r),
		    NULL);
	if (all.truncated)
		return fail(m, CS_ERR_LIMIT, "desk.too-many", NULL, "max",
		    NUM(CS_DESK_MAX_LIVE), NULL);
	only_verified(&all, &res->ended);
	if (res->ended.n == 0)
		return CS_OK;
	serial_list(&res->ended, serials, sizeof(serials));
	switch (o->live) {
	case CS_DESK_LIVE_REVOKED:
		return CS_OK;
	case CS_DESK_LIVE_REQUEST:
		break;
	default:
		return fail(m, CS_ERR_STATE, "desk.live-refuse", NULL, "serial",
		    serials, "holder", res->ended.c[0].holder, NULL);
	}
	if ((r = lost_build(j, &o->request, &res->ended, &res->req, &res->reqlen,
	    m)) != CS_OK)
		return r;
	if (o->request.out_path != NULL)
		return req_write_tmp(o->request.out_path, res->req, res->reqlen,
		    tmp, tmplen, m);
	return CS_OK;
}

/* The exec'd writer's no before it changed anything: another card in
 * the reader (the code says it all), a wrong PUK (with the tries the card
 * has left) or the card's refusal, the card's words the detail. */
static void touch_refused(cs_msg *m, int r, const cs_touch_answer *a)
{
	if (r == CS_ERR_MISMATCH)
		fail(m, r, "desk.other-card", NULL, "chip", a->chip_serial[0] ?
		    a->chip_serial : "-", NULL);
	else if (a->puk_tries == 0)
		fail(m, r, "desk.puk-blocked", a->why, NULL);
	else if (a->puk_tries > 0)
		fail(m, r, "desk.puk-wrong", a->why, "tries", NUM(a->puk_tries),
		    NULL);
	else
		fail(m, r, "desk.card-refused", a->why, NULL);
}

/* A new PIN the holder typed must keep the profile's rules. */
static int pin_rules(const cs_profile *prof, const cs_secret *pin, cs_msg *m)
{
	char cwhy[512];

	if (pin != NULL && cs_profile_check_pin(prof, cs_secret_str(pin), cwhy,
	    sizeof(cwhy)) != CS_OK)
		return fail(m, CS_ERR_USAGE, "desk.pin-rules", cwhy, "profile",
		    prof->name, NULL);
	return CS_OK;
}

/* No PIN typed: a random one of the profile's kind (*rnd, the caller's to
 * free) becomes *pin. */
static int pin_or_random(const cs_profile *prof, const cs_secret **pin,
    cs_secret **rnd, cs_msg *m)
{
	int r;

	if (*pin != NULL)
		return CS_OK;
	if ((r = cs_profile_random_pin(prof, rnd)) != CS_OK)
		return fail(m, r, "desk.no-random-pin", NULL, NULL);
	*pin = *rnd;
	return CS_OK;
}

int cs_desk_returned(SCARDCONTEXT ctx, cs_journal *j,
    const cs_desk_return_opts *o, cs_desk_return *res, cs_msg *m)
{
	cs_secret *rnd = NULL;
	const cs_secret *pin = o->new_pin;
	const cs_desk_lost_opts *rq = &o->request;
	cs_profile prof;
	cs_card_id id;
	cs_applet_state st;
	char cwhy[512], tmp[4096] = "";
	int r;

	memset(res, 0, sizeof(*res));
	res->puk_tries = -1;
	if (o->puk == NULL || o->puk->len == 0 || o->reader == NULL)
		return fail(m, CS_ERR_USAGE, "desk.wipe-needs", NULL, NULL);
	if (o->live == CS_DESK_LIVE_REQUEST && (rq->admin_mail == NULL ||
	    cs_revoke_reason_name(rq->reason) == NULL))
		return fail(m, CS_ERR_USAGE, "desk.request-needs", NULL, NULL);
	/* Before the first APDU: the journal says what the card holds. */
	if ((r = cs_journal_trust(j, cwhy, sizeof(cwhy))) != CS_OK)
		return fail(m, r, "desk.journal-unusable", cwhy, NULL);
	if (cs_card_probe(ctx, o->reader, &id, cwhy, sizeof(cwhy)) != CS_OK ||
	    cs_card_profile(ctx, o->reader, o->profiles_dir, NULL, id.atr, &prof,
	    &st, cwhy, sizeof(cwhy)) != CS_OK)
		return fail(m, CS_ERR_NOTFOUND, "desk.not-ours", cwhy, NULL);
	/* Which card, by the profile's identity sources: one without CPLC is
	 * known by the identity a station wrote into its TokenInfo (read
	 * before the wipe erases it). */
	if ((r = cs_card_identity(ctx, o->reader, &prof, &st, &id, NULL, cwhy,
	    sizeof(cwhy))) != CS_OK)
		return fail(m, r, "desk.card-identity", cwhy, NULL);
	snprintf(res->chip_serial, sizeof(res->chip_serial), "%s",
	    id.chip_serial);
	snprintf(res->profile, sizeof(res->profile), "%s", prof.name);
	if ((r = pin_rules(&prof, pin, m)) != CS_OK)
		return r;
	/* State before touch: what becomes of a live certificate is settled
	 * while the card is still as it was. */
	if ((r = returned_decide(j, &id, o, res, tmp, sizeof(tmp), m)) != CS_OK)
		goto out;
	/* Nobody is told the new PIN: the card keeps a PIN (the applet cannot
	 * lose it) that no one can type. */
	if ((r = pin_or_random(&prof, &pin, &rnd, m)) != CS_OK)
		goto out;
	/* A card without a PIN has nobody's secret and no key (the applet
	 * makes keys only after a VERIFY): erase is enough. The PUK goes first
	 * so that a wrong one leaves the card as it was. Erasing PKCS#15 hides
	 * the key from OpenSC, not from the applet: a PUK and raw commands
	 * would make it sign again, so the keys are overwritten. The APDUs
	 * are sent by a child of our own (cs_touch.h), which first checks that
	 * the card in the reader is still this one. */
	{
		const cs_touch_write w = {
			.action = CS_TOUCH_WIPE, .reader = o->reader,
			.aid_hex = prof.match_aid, .expect_atr = id.atr,
			.expect_chip = id.chip_serial,
			.profiles_dir = o->profiles_dir,
			.pin_set = st.pin_set, .puk = o->puk, .new_pin = pin,
		};
		cs_touch_answer a;

		if ((r = cs_touch_write_card(&w, &a, cwhy, sizeof(cwhy))) !=
		    CS_OK) {
			r = fail(m, CS_ERR_CARD, "desk.wipe-no-answer", cwhy, NULL);
			goto out;
		}
		res->puk_tries = a.puk_tries;
		res->keys = a.keys;
		r = a.status;
		if (r != CS_OK && (a.step == CS_TOUCH_STEP_NONE ||
		    a.step == CS_TOUCH_STEP_PUK)) {
			touch_refused(m, r, &a);
			goto out;
		}
		if (r != CS_OK && a.step == CS_TOUCH_STEP_KEYS) {
			fail(m, r, "desk.wipe-keys-failed", a.why, NULL);
			goto out;
		}
		if (r != CS_OK) {
			fail(m, r, st.pin_set ? "desk.wipe-erase-failed-after-keys" :
			    "desk.wipe-erase-failed", a.why, NULL);
			goto out;
		}
	}
	if (res->req != NULL && rq->out_path == NULL && rq->out_fp != NULL &&
	    (fwrite(res->req, 1, res->reqlen, rq->out_fp) != res->reqlen ||
	    fflush(rq->out_fp) != 0)) {
		r = fail(m, CS_ERR_IO, "desk.wiped-request-write", strerror(errno),
		    NULL);
		goto out;
	}
	if ((r = returned_journal(j, &id, prof.name, o, &res->ended, res->keys,
	    &res->wiped, m)) != CS_OK) {
		m->advice = res->req == NULL ? NULL : rq->out_path != NULL ?
		    "advice.desk-no-request" : "advice.desk-do-not-send";
		goto out;
	}
	if (tmp[0] != '\0' && rename(tmp, rq->out_path) != 0) {
		r = fail(m, CS_ERR_IO, "desk.wiped-rename", strerror(errno), "tmp",
		    tmp, "file", rq->out_path, NULL);
		tmp[0] = '\0';  /* complete: the operator renames it */
		goto out;
	}
	tmp[0] = '\0';
out:
	if (tmp[0] != '\0')
		unlink(tmp);
	if (r != CS_OK) {
		free(res->req);
		res->req = NULL;
		res->reqlen = 0;
	}
	cs_secret_free(rnd);
	return r;
}

/* ---- a PIN reset ---- */

/* The card in the reader is one the journal issued, still in the holder's
 * hands, holding exactly what the journal put on it: only then may a PUK
 * give it a new PIN. Reads only (no PIN, no login). */
static int pin_state_before_touch(const cs_vreport *vr, cs_desk_pin *res,
    cs_msg *m)
{
	size_t bound = 0;

	if (vr->card_error[0] != '\0')
		return fail(m, CS_ERR_NOTFOUND, "desk.card-unreadable",
		    vr->card_error, NULL);
	if (vr->profile[0] == '\0')
		return fail(m, CS_ERR_NOTFOUND, "desk.not-ours", NULL, NULL);
	if (vr->journal_error[0] != '\0')
		return fail(m, CS_ERR_DB, "desk.journal-unreadable",
		    vr->journal_error, NULL);
	if (!vr->card_known)
		return vr->chip_serial[0] ? fail(m, CS_ERR_NOTFOUND,
		    "desk.card-unknown", NULL, "chip", vr->chip_serial, NULL) :
		    fail(m, CS_ERR_NOTFOUND, "desk.card-unknown-no-chip", NULL,
		    NULL);
	snprintf(res->printed, sizeof(res->printed), "%s", vr->printed_no);
	if (strcmp(vr->card_state, "lost") == 0)
		return fail(m, CS_ERR_STATE, "desk.pin-card-lost", NULL, NULL);
	if (strcmp(vr->card_state, "returned") == 0 ||
	    strcmp(vr->card_state, "wiped") == 0)
		return fail(m, CS_ERR_STATE, "desk.pin-card-returned", NULL, NULL);
	/* The state word as its code: each front end tells it in its
	 * operator's language (cs_codes.h). */
	if (strcmp(vr->card_state, "issued") != 0)
		return fail(m, CS_ERR_STATE, "desk.pin-card-state", NULL, "state",
		    state_code("card", vr->card_state), NULL);
	if (!vr->pin_set)
		return fail(m, CS_ERR_STATE, "desk.pin-no-pin", NULL, NULL);
	if (vr->p11_error[0] != '\0' || !vr->has_pkcs15)
		return fail(m, CS_ERR_STATE, "desk.pin-cert-unreadable",
		    vr->p11_error[0] ? vr->p11_error : NULL, NULL);
	/* What the card holds first: another holder's key is the worse fault
	 * and the sentence the operator needs. */
	for (size_t i = 0; i < vr->ncerts; i++) {
		const cs_vcert *c = &vr->certs[i];

		if (!c->parsed || c->is_ca)
			continue;
		if (c->j_bound_here == 0)
			return fail(m, CS_ERR_STATE, "desk.pin-cert-elsewhere", NULL,
			    "serial", c->serial, "chip", c->j_bound_chip, NULL);
		if (c->j_bound_here != 1)
			return c->j_known ? fail(m, CS_ERR_STATE,
			    "desk.pin-cert-not-live", NULL, "serial", c->serial,
			    "outcome", state_code("outcome", c->j_outcome), NULL) : fail(m, CS_ERR_STATE,
			    "desk.pin-cert-unknown", NULL, "serial", c->serial, NULL);
		if (bound > 0 && strcmp(c->j_holder, res->holder) != 0)
			return fail(m, CS_ERR_STATE, "desk.pin-two-holders", NULL,
			    "holder", res->holder, "holder2", c->j_holder, NULL);
		snprintf(res->holder, sizeof(res->holder), "%s", c->j_holder);
		bound++;
	}
	if (vr->nmissing > 0)
		return fail(m, CS_ERR_STATE, "desk.pin-cert-missing", NULL, "serial",
		    vr->missing[0], NULL);
	if (bound == 0)
		return fail(m, CS_ERR_STATE, "desk.pin-no-cert", NULL, NULL);
	return CS_OK;
}

int cs_desk_pin_reset(SCARDCONTEXT ctx, cs_journal *j,
    const cs_desk_pin_opts *o, cs_desk_pin *res, cs_msg *m)
{
	cs_verify_opts vo;
	cs_vreport vr;
	cs_profile prof;
	cs_secret *rnd = NULL;
	const cs_secret *pin = o->new_pin;
	char cwhy[512], note[512], jwhy[256];
	int r, tries = -1;

	memset(res, 0, sizeof(*res));
	res->puk_tries = -1;
	if (o->puk == NULL || o->puk->len == 0 || o->reader == NULL)
		return fail(m, CS_ERR_USAGE, "desk.pin-needs", NULL, NULL);
	/* The journal decides who this card is: it must be the station's. */
	if ((r = cs_journal_trust(j, cwhy, sizeof(cwhy))) != CS_OK)
		return fail(m, r, "desk.journal-unusable", cwhy, NULL);
	memset(&vo, 0, sizeof(vo));
	vo.reader = o->reader;
	vo.journal = j;
	vo.profiles_dir = o->profiles_dir;
	if ((r = cs_verify_card(ctx, &vo, &vr, cwhy, sizeof(cwhy))) != CS_OK) {
		cs_vreport_clear(&vr);
		return fail(m, r, "desk.card-unreadable", cwhy, NULL);
	}
	snprintf(res->chip_serial, sizeof(res->chip_serial), "%s",
	    vr.chip_serial);
	snprintf(res->profile, sizeof(res->profile), "%s", vr.profile);
	r = pin_state_before_touch(&vr, res, m);
	if (r == CS_OK && cs_profile_find(o->profiles_dir ? o->profiles_dir :
	    cs_profile_dir(), vr.profile, &prof, cwhy, sizeof(cwhy)) != CS_OK)
		r = fail(m, CS_ERR_NOTFOUND, "desk.no-profile", cwhy, "profile",
		    vr.profile, NULL);
	if (r != CS_OK)
		goto out;
	if (cs_profile_check_puk(&prof, cs_secret_str(o->puk), cwhy,
	    sizeof(cwhy)) != CS_OK) {
		r = fail(m, CS_ERR_USAGE, "desk.puk-rules", cwhy, "profile",
		    prof.name, NULL);
		goto out;
	}
	if ((r = pin_rules(&prof, pin, m)) != CS_OK)
		goto out;
	if ((r = pin_or_random(&prof, &pin, &rnd, m)) != CS_OK)
		goto out;
	/* The APDU is sent by a child of our own (cs_touch.h), which first
	 * checks that the card in the reader is still the one judged above. */
	{
		const cs_touch_write w = {
			.action = CS_TOUCH_PIN_RESET, .reader = o->reader,
			.aid_hex = prof.match_aid, .expect_atr = vr.atr,
			.expect_chip = vr.chip_serial,
			.profiles_dir = o->profiles_dir,
			.pin_set = 1, .puk = o->puk, .new_pin = pin,
		};
		cs_touch_answer a;

		if ((r = cs_touch_write_card(&w, &a, cwhy, sizeof(cwhy))) ==
		    CS_OK) {
			r = a.status;
			tries = a.puk_tries;
			if (r != CS_OK)
				touch_refused(m, r, &a);
		} else {
			/* No answer: the reset may or may not have happened. */
			r = fail(m, CS_ERR_CARD, "desk.pin-no-answer", cwhy, NULL);
			goto out;
		}
	}
	if (r != CS_OK) {
		res->puk_tries = tries;
		if (tries < 0)
			goto out;
		/* A wrong PUK costs one of the card's tries: that is history. */
		snprintf(note, sizeof(note), "PIN reset refused: wrong PUK, %d "
		    "PUK %s left on the card", tries, tries == 1 ? "try" : "tries");
		if (cs_journal_note(j, 0, vr.card_id, "card.pin-reset-refused",
		    note, jwhy, sizeof(jwhy)) != CS_OK)
			jwhy[0] = '\0';
		goto out;
	}
	snprintf(note, sizeof(note), "PIN reset with the PUK for %s: %s",
	    res->holder, o->new_pin != NULL ? "new PIN typed by the holder" :
	    "random PIN for a PIN letter");
	if ((r = cs_journal_note(j, 0, vr.card_id, "card.pin-reset", note, jwhy,
	    sizeof(jwhy))) != CS_OK) {
		/* The card has the new PIN: the holder must still get it. */
		r = fail(m, CS_ERR_DB, "desk.pin-unjournaled", jwhy, NULL);
	}
	if (rnd != NULL) {
		res->random_pin = rnd;
		rnd = NULL;
	}
out:
	cs_secret_free(rnd);
	cs_vreport_clear(&vr);
	return r;
}
