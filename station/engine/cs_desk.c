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
#include "cs_i18n.h"

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

/* Put a sentence in why and hand r back, so a failure is one line. */
static int say(char *why, size_t whylen, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return r;
}

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
    cs_desk_certs *several, char *why, size_t whylen)
{
	cs_desk_certs ll;
	cs_jcard card = {0};
	cs_jissuance iss = {0};
	cs_jfilter f;
	int r = CS_OK;

	*card_id = 0;
	if ((sel->printed != NULL) + (sel->chip != NULL) + (sel->holder != NULL) +
	    (sel->issuance != 0) != 1)
		return say(why, whylen, CS_ERR_USAGE, _("name the card by one of "
		    "printed number, chip serial, holder or issuance"));
	if (sel->chip != NULL || sel->printed != NULL) {
		if ((sel->chip != NULL ? find_by_chip(j, sel->chip, &card) :
		    cs_journal_card_find(j, CS_JKEY_PRINTED, sel->printed,
		    &card)) != CS_OK)
			r = say(why, whylen, CS_ERR_NOTFOUND, _("the journal has no "
			    "card with %s %s"), sel->chip ? "chip serial" :
			    "printed number", sel->chip ? sel->chip : sel->printed);
		else
			*card_id = card.id;
		goto out;
	}
	if (sel->issuance != 0) {
		/* Only a verified issuance ties a card to a person today: a
		 * failed, wiped or revoked one is history. */
		if (cs_journal_issuance_get(j, sel->issuance, &iss) != CS_OK ||
		    iss.outcome != CS_JISSUE_VERIFIED)
			r = say(why, whylen, CS_ERR_NOTFOUND, _("issuance %" PRId64
			    " is not live on a card"), sel->issuance);
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
		r = say(why, whylen, CS_ERR_DB, _("the journal cannot be read"));
		goto out;
	}
	if (ll.n == 0) {
		r = say(why, whylen, CS_ERR_NOTFOUND, _("no certificate of a holder "
		    "named like '%s' is live on a card"), sel->holder);
		goto out;
	}
	for (size_t i = 1; i < ll.n; i++)
		if (ll.c[i].card_id != ll.c[0].card_id) {
			if (several != NULL)
				*several = ll;
			r = say(why, whylen, CS_ERR_MISMATCH, _("'%s' fits several "
			    "cards"), sel->holder);
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
    const cs_desk_certs *ll, char **buf, size_t *len, char *why,
    size_t whylen)
{
	char rwhy[512];
	size_t cap = ROW_MAX * (ll->n + 1);
	int r = CS_OK;

	*len = 0;
	if ((*buf = malloc(cap)) == NULL)
		return say(why, whylen, CS_ERR_NOMEM, _("out of memory"));
	for (size_t i = 0; i < ll->n && r == CS_OK; i++) {
		cs_jrecord rec = {0};
		cs_revoke_row row;
		size_t n = 0;

		if (cs_journal_record_get(j, ll->c[i].record_id, &rec) != CS_OK)
			return say(why, whylen, CS_ERR_NOTFOUND, _("record %" PRId64
			    " of certificate %s is missing"), ll->c[i].record_id,
			    ll->c[i].cert_serial);
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
			say(why, whylen, r, _("certificate %s: %s"),
			    ll->c[i].cert_serial, rwhy);
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
	int r;

	snprintf(note, sizeof(note), "card lost: revocation requested, "
	    "reason %d %s", o->reason, cs_revoke_reason_name(o->reason));
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
    cs_desk_certs *done, char **req, size_t *reqlen, char *why,
    size_t whylen)
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
		return say(why, whylen, CS_ERR_USAGE, _("a revocation request needs "
		    "the administrator's mail and a reason code the service knows"));
	if ((r = cs_journal_trust(j, why, whylen)) != CS_OK)
		return r;
	if ((r = cs_desk_live_certs(j, card_id, ll)) != CS_OK)
		return say(why, whylen, CS_ERR_DB, _("the journal cannot be read"));
	for (size_t i = 0; i < ll->n; i++)
		if (ll->c[i].writing)
			return say(why, whylen, CS_ERR_STATE, _("certificate %s is "
			    "still being written to this card: stop that run first"),
			    ll->c[i].cert_serial);
	if (ll->n == 0)
		return say(why, whylen, CS_ERR_NOTFOUND, _("no certificate is live "
		    "on that card (already lost, returned or never issued)"));
	if (ll->truncated)
		return say(why, whylen, CS_ERR_LIMIT, _("more than %d certificates "
		    "are live on that card"), CS_DESK_MAX_LIVE);
	if ((r = lost_build(j, o, ll, &buf, &len, why, whylen)) != CS_OK)
		goto out;
	/* The file is complete on disk before the journal says "requested";
	 * it gets its name only once the journal agrees. */
	if (o->out_path != NULL) {
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", o->out_path) >=
		    sizeof(tmp)) {
			tmp[0] = '\0';
			r = say(why, whylen, CS_ERR_USAGE, _("the file name is too "
			    "long"));
			goto out;
		}
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0640)) < 0 || cs_io_write_all(fd, buf, len) != CS_OK ||
		    fsync(fd) != 0) {
			r = say(why, whylen, CS_ERR_IO, "%s: %s", tmp,
			    strerror(errno));
			goto out;
		}
	} else if (o->out_fp != NULL && (fwrite(buf, 1, len, o->out_fp) != len ||
	    fflush(o->out_fp) != 0)) {
		r = say(why, whylen, CS_ERR_IO, _("cannot write the request: %s"),
		    strerror(errno));
		goto out;
	}
	if (!o->dry_run && (r = lost_mark(j, o, ll, card_id, jwhy,
	    sizeof(jwhy))) != CS_OK) {
		/* Only a stream cannot be taken back: whoever reads it is told. */
		say(why, whylen, r, _("the journal refused: %s; nothing was "
		    "marked%s"), jwhy, tmp[0] ? ", no request written" :
		    o->out_fp ? ": do not send the request above" : "");
		goto out;
	}
	if (tmp[0] != '\0' && rename(tmp, o->out_path) != 0) {
		r = say(why, whylen, CS_ERR_IO, _("the journal is marked but %s "
		    "cannot be renamed to %s: %s"), tmp, o->out_path,
		    strerror(errno));
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
	int n;

	serial_list(ended, serials, sizeof(serials));
	n = snprintf(note, notelen, "card returned: PIN reset with the PUK, %d "
	    "key%s overwritten, PKCS#15 application erased", keys,
	    keys == 1 ? "" : "s");
	if (n < 0 || (size_t)n >= notelen)
		return;
	if (ended->n == 0) {
		snprintf(note + n, notelen - (size_t)n, "; no certificate was live");
		snprintf(iss_note, iss_notelen, "card returned");
	} else if (o->live == CS_DESK_LIVE_REQUEST) {
		snprintf(iss_note, iss_notelen, "card returned: revocation "
		    "requested, reason %d %s", o->request.reason,
		    cs_revoke_reason_name(o->request.reason));
		snprintf(note + n, notelen - (size_t)n, "; revocation requested, "
		    "reason %d %s, for certificate %s", o->request.reason,
		    cs_revoke_reason_name(o->request.reason), serials);
	} else {
		snprintf(iss_note, iss_notelen, "card returned: certificate "
		    "revoked already (the operator's word)");
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
    const cs_desk_certs *ended, int keys, size_t *wiped, char *why,
    size_t whylen)
{
	cs_desk_certs ll;
	cs_jcard in = {0};
	int64_t card_id;
	char note[768], iss_note[160];
	int request = o->live == CS_DESK_LIVE_REQUEST;
	int r;

	*wiped = 0;
	returned_note(o, ended, keys, note, sizeof(note), iss_note,
	    sizeof(iss_note));
	if ((r = cs_journal_begin(j, why, whylen)) != CS_OK)
		return r;
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
		say(why, whylen, r, _("the journal cannot be read"));
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
			r = say(why, whylen, CS_ERR_STATE, _("certificate %s became "
			    "live on this card while it was wiped; run the return "
			    "again to decide on it"), c->cert_serial);
			break;
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
		if (!still)
			r = say(why, whylen, CS_ERR_STATE, _("certificate %s is no "
			    "longer live in the journal (marked by someone else "
			    "meanwhile)"), ended->c[i].cert_serial);
	}
	if (r == CS_OK)
		r = cs_journal_card_set_state(j, card_id, CS_JCARD_RETURNED, note,
		    why, whylen);
	if (r == CS_OK)
		r = cs_journal_note(j, 0, card_id, "card.returned", note, why,
		    whylen);
	if (r != CS_OK)
		goto fail;
	return cs_journal_commit(j, why, whylen);
fail:
	cs_journal_rollback(j);
	return r;
}

/* out_path.tmp holds the whole request, synced; tmp gets its name ("" if
 * nothing was created). */
static int req_write_tmp(const char *out_path, const char *buf, size_t len,
    char *tmp, size_t tmplen, char *why, size_t whylen)
{
	int fd, r = CS_OK;

	tmp[0] = '\0';
	if ((size_t)snprintf(tmp, tmplen, "%s.tmp", out_path) >= tmplen) {
		tmp[0] = '\0';
		return say(why, whylen, CS_ERR_USAGE, _("the file name is too long"));
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
		r = say(why, whylen, CS_ERR_IO, "%s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		return r;
	}
	if (cs_io_write_all(fd, buf, len) != CS_OK || fsync(fd) != 0)
		r = say(why, whylen, CS_ERR_IO, "%s: %s", tmp, strerror(errno));
	close(fd);
	return r;
}

/* Decide on the live certificates before the card is touched: refuse, or
 * have the whole request in memory (and in out_path.tmp). */
static int returned_decide(cs_journal *j, const cs_card_id *id,
    const cs_desk_return_opts *o, cs_desk_return *res, char *tmp,
    size_t tmplen, char *why, size_t whylen)
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
		return say(why, whylen, CS_ERR_DB, _("the journal cannot be read; "
		    "nothing changed"));
	if (all.truncated)
		return say(why, whylen, CS_ERR_LIMIT, _("more than %d certificates "
		    "are live on that card; nothing changed"), CS_DESK_MAX_LIVE);
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
		return say(why, whylen, CS_ERR_STATE, _("certificate %s of %s is "
		    "still live on this card. Request its revocation, or confirm "
		    "that it is revoked already. Nothing changed"), serials,
		    res->ended.c[0].holder);
	}
	if ((r = lost_build(j, &o->request, &res->ended, &res->req, &res->reqlen,
	    why, whylen)) != CS_OK)
		return r;
	if (o->request.out_path != NULL)
		return req_write_tmp(o->request.out_path, res->req, res->reqlen,
		    tmp, tmplen, why, whylen);
	return CS_OK;
}

int cs_desk_returned(SCARDCONTEXT ctx, cs_journal *j,
    const cs_desk_return_opts *o, cs_desk_return *res, char *why,
    size_t whylen)
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
		return say(why, whylen, CS_ERR_USAGE, _("wiping a card needs its "
		    "reader and the institution PUK"));
	if (o->live == CS_DESK_LIVE_REQUEST && (rq->admin_mail == NULL ||
	    cs_revoke_reason_name(rq->reason) == NULL))
		return say(why, whylen, CS_ERR_USAGE, _("a revocation request needs "
		    "the administrator's mail and a reason code the service knows"));
	/* Before the first APDU: the journal says what the card holds. */
	if ((r = cs_journal_trust(j, why, whylen)) != CS_OK)
		return r;
	if (cs_card_probe(ctx, o->reader, &id, cwhy, sizeof(cwhy)) != CS_OK ||
	    cs_card_profile(ctx, o->reader, o->profiles_dir, NULL, id.atr, &prof,
	    &st, cwhy, sizeof(cwhy)) != CS_OK)
		return say(why, whylen, CS_ERR_NOTFOUND, _("not a card this station "
		    "writes, or it does not answer"));
	/* Which card, by the profile's identity sources: one without CPLC is
	 * known by the identity a station wrote into its TokenInfo (read
	 * before the wipe erases it). */
	if ((r = cs_card_identity(ctx, o->reader, &prof, &st, &id, NULL, cwhy,
	    sizeof(cwhy))) != CS_OK)
		return say(why, whylen, r, _("%s; nothing changed"), cwhy);
	snprintf(res->chip_serial, sizeof(res->chip_serial), "%s",
	    id.chip_serial);
	snprintf(res->profile, sizeof(res->profile), "%s", prof.name);
	if (pin != NULL && cs_profile_check_pin(&prof, cs_secret_str(pin), why,
	    whylen) != CS_OK)
		return CS_ERR_USAGE;
	/* State before touch: what becomes of a live certificate is settled
	 * while the card is still as it was. */
	if ((r = returned_decide(j, &id, o, res, tmp, sizeof(tmp), why,
	    whylen)) != CS_OK)
		goto out;
	/* Nobody is told the new PIN: the card keeps a PIN (the applet cannot
	 * lose it) that no one can type. */
	if (pin == NULL) {
		if ((r = cs_profile_random_pin(&prof, &rnd)) != CS_OK) {
			say(why, whylen, r, _("no random PIN"));
			goto out;
		}
		pin = rnd;
	}
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
			say(why, whylen, CS_ERR_CARD, _("%s: the card may be wiped "
			    "in part; do not hand it out, run the return again"),
			    cwhy);
			r = CS_ERR_CARD;
			goto out;
		}
		res->puk_tries = a.puk_tries;
		res->keys = a.keys;
		r = a.status;
		if (r != CS_OK && (a.step == CS_TOUCH_STEP_NONE ||
		    a.step == CS_TOUCH_STEP_PUK)) {
			say(why, whylen, r, _("%s; nothing changed"), a.why);
			goto out;
		}
		if (r != CS_OK && a.step == CS_TOUCH_STEP_KEYS) {
			say(why, whylen, r, _("%s. The PIN was reset, but a previous "
			    "holder's key may still be on the card: do not hand it "
			    "out; its applet must be reinstalled"), a.why);
			goto out;
		}
		if (r != CS_OK) {
			say(why, whylen, r, "%s%s", a.why, st.pin_set ?
			    " (the PIN was already reset and the keys overwritten)" :
			    "");
			goto out;
		}
	}
	if (res->req != NULL && rq->out_path == NULL && rq->out_fp != NULL &&
	    (fwrite(res->req, 1, res->reqlen, rq->out_fp) != res->reqlen ||
	    fflush(rq->out_fp) != 0)) {
		r = say(why, whylen, CS_ERR_IO, _("the card is wiped but the "
		    "revocation request cannot be written: %s; the journal is "
		    "unchanged"), strerror(errno));
		goto out;
	}
	if ((r = returned_journal(j, &id, prof.name, o, &res->ended, res->keys,
	    &res->wiped, cwhy, sizeof(cwhy))) != CS_OK) {
		say(why, whylen, r, _("the card is wiped but the journal refused: "
		    "%s%s"), cwhy, res->req == NULL ? "" : rq->out_path != NULL ?
		    "; no request written" : "; do not send the request above");
		goto out;
	}
	if (tmp[0] != '\0' && rename(tmp, rq->out_path) != 0) {
		r = say(why, whylen, CS_ERR_IO, _("the card is wiped and journaled "
		    "but %s cannot be renamed to %s: %s"), tmp, rq->out_path,
		    strerror(errno));
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
    char *why, size_t whylen)
{
	size_t bound = 0;

	if (vr->card_error[0] != '\0')
		return say(why, whylen, CS_ERR_NOTFOUND, "%s", vr->card_error);
	if (vr->profile[0] == '\0')
		return say(why, whylen, CS_ERR_NOTFOUND, _("not a card this station "
		    "writes. Nothing changed"));
	if (vr->journal_error[0] != '\0')
		return say(why, whylen, CS_ERR_DB, _("the journal cannot be read: "
		    "%s. Nothing changed"), vr->journal_error);
	if (!vr->card_known)
		return say(why, whylen, CS_ERR_NOTFOUND, _("the journal does not know "
		    "this card (chip %s): it was not issued here. Nothing changed"),
		    vr->chip_serial[0] ? vr->chip_serial : "without a serial");
	snprintf(res->printed, sizeof(res->printed), "%s", vr->printed_no);
	if (strcmp(vr->card_state, "lost") == 0)
		return say(why, whylen, CS_ERR_STATE, _("this card is marked lost "
		    "and its certificate revoked. Do not reset its PIN; issue a new "
		    "card. Nothing changed"));
	if (strcmp(vr->card_state, "returned") == 0 ||
	    strcmp(vr->card_state, "wiped") == 0)
		return say(why, whylen, CS_ERR_STATE, _("this card was returned and "
		    "wiped; it has no holder. Nothing changed"));
	if (strcmp(vr->card_state, "issued") != 0)
		return say(why, whylen, CS_ERR_STATE, _("this card is '%s' in the "
		    "journal, not issued. Nothing changed"), vr->card_state);
	if (!vr->pin_set)
		return say(why, whylen, CS_ERR_STATE, _("the card has no PIN yet: it "
		    "was never issued. Nothing changed"));
	if (vr->p11_error[0] != '\0' || !vr->has_pkcs15)
		return say(why, whylen, CS_ERR_STATE, _("the card's certificate "
		    "cannot be read%s%s. Nothing changed"), vr->p11_error[0] ?
		    ": " : "", vr->p11_error);
	/* What the card holds first: another holder's key is the worse fault
	 * and the sentence the operator needs. */
	for (size_t i = 0; i < vr->ncerts; i++) {
		const cs_vcert *c = &vr->certs[i];

		if (!c->parsed || c->is_ca)
			continue;
		if (c->j_bound_here == 0)
			return say(why, whylen, CS_ERR_STATE, _("certificate %s on this "
			    "card is live on another card (%s) in the journal. "
			    "Nothing changed"), c->serial, c->j_bound_chip);
		if (c->j_bound_here != 1)
			return say(why, whylen, CS_ERR_STATE, _("certificate %s on this "
			    "card is not live in the journal (%s). Nothing changed"),
			    c->serial, c->j_known ? c->j_outcome : "unknown");
		if (bound > 0 && strcmp(c->j_holder, res->holder) != 0)
			return say(why, whylen, CS_ERR_STATE, _("this card holds "
			    "certificates of %s and %s. Nothing changed"), res->holder,
			    c->j_holder);
		snprintf(res->holder, sizeof(res->holder), "%s", c->j_holder);
		bound++;
	}
	if (vr->nmissing > 0)
		return say(why, whylen, CS_ERR_STATE, _("the journal has certificate "
		    "%s on this card, but the card does not hold it. Nothing "
		    "changed"), vr->missing[0]);
	if (bound == 0)
		return say(why, whylen, CS_ERR_STATE, _("the card holds no "
		    "certificate of its holder. Nothing changed"));
	return CS_OK;
}

int cs_desk_pin_reset(SCARDCONTEXT ctx, cs_journal *j,
    const cs_desk_pin_opts *o, cs_desk_pin *res, char *why, size_t whylen)
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
		return say(why, whylen, CS_ERR_USAGE, _("a PIN reset needs the card's "
		    "reader and the institution PUK"));
	/* The journal decides who this card is: it must be the station's. */
	if ((r = cs_journal_trust(j, why, whylen)) != CS_OK)
		return r;
	memset(&vo, 0, sizeof(vo));
	vo.reader = o->reader;
	vo.journal = j;
	vo.profiles_dir = o->profiles_dir;
	if ((r = cs_verify_card(ctx, &vo, &vr, cwhy, sizeof(cwhy))) != CS_OK) {
		cs_vreport_clear(&vr);
		return say(why, whylen, r, "%s", cwhy);
	}
	snprintf(res->chip_serial, sizeof(res->chip_serial), "%s",
	    vr.chip_serial);
	snprintf(res->profile, sizeof(res->profile), "%s", vr.profile);
	r = pin_state_before_touch(&vr, res, why, whylen);
	if (r == CS_OK && cs_profile_find(o->profiles_dir ? o->profiles_dir :
	    cs_profile_dir(), vr.profile, &prof, cwhy, sizeof(cwhy)) != CS_OK)
		r = say(why, whylen, CS_ERR_NOTFOUND, "%s", cwhy);
	if (r != CS_OK)
		goto out;
	if (cs_profile_check_puk(&prof, cs_secret_str(o->puk), cwhy,
	    sizeof(cwhy)) != CS_OK) {
		r = say(why, whylen, CS_ERR_USAGE, _("PUK: %s. Nothing changed"), cwhy);
		goto out;
	}
	if (pin != NULL && cs_profile_check_pin(&prof, cs_secret_str(pin), cwhy,
	    sizeof(cwhy)) != CS_OK) {
		r = say(why, whylen, CS_ERR_USAGE, _("new PIN: %s. Nothing changed"),
		    cwhy);
		goto out;
	}
	if (pin == NULL) {
		if ((r = cs_profile_random_pin(&prof, &rnd)) != CS_OK) {
			say(why, whylen, r, _("no random PIN"));
			goto out;
		}
		pin = rnd;
	}
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
			snprintf(cwhy, sizeof(cwhy), "%s", a.why);
		} else {
			/* No answer: the reset may or may not have happened. */
			say(why, whylen, CS_ERR_CARD, _("%s: the PIN may or may not "
			    "have been reset; check the card and try again"), cwhy);
			r = CS_ERR_CARD;
			goto out;
		}
	}
	if (r != CS_OK) {
		res->puk_tries = tries;
		if (tries < 0) {
			say(why, whylen, r, _("%s. The PIN is unchanged"), cwhy);
			goto out;
		}
		/* A wrong PUK costs one of the card's tries: that is history. */
		snprintf(note, sizeof(note), "PIN reset refused: wrong PUK, %d "
		    "PUK %s left on the card", tries, tries == 1 ? "try" : "tries");
		if (cs_journal_note(j, 0, vr.card_id, "card.pin-reset-refused",
		    note, jwhy, sizeof(jwhy)) != CS_OK)
			jwhy[0] = '\0';
		if (tries == 0)
			say(why, whylen, r, _("Wrong PUK. The PUK is now blocked: this "
			    "card's PIN can no longer be reset. The PIN is unchanged"));
		else
			say(why, whylen, r, _("Wrong PUK. %d %s left before the PUK is "
			    "blocked. The PIN is unchanged"), tries, tries == 1 ?
			    "try" : "tries");
		goto out;
	}
	snprintf(note, sizeof(note), "PIN reset with the PUK for %s: %s",
	    res->holder, o->new_pin != NULL ? "new PIN typed by the holder" :
	    "random PIN for a PIN letter");
	if ((r = cs_journal_note(j, 0, vr.card_id, "card.pin-reset", note, jwhy,
	    sizeof(jwhy))) != CS_OK) {
		/* The card has the new PIN: the holder must still get it. */
		say(why, whylen, r, _("the PIN was reset, but the journal refused "
		    "the note: %s"), jwhy);
		r = CS_ERR_DB;
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
