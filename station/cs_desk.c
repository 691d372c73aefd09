/* cs_desk.c - a lost card and a returned card, for every front end. */
#include "cs_desk.h"
#include "cs_card.h"
#include "cs_err.h"
#include "cs_profile.h"
#include "cs_revoke.h"

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
		return say(why, whylen, CS_ERR_USAGE, "name the card by one of "
		    "printed number, chip serial, holder or issuance");
	if (sel->chip != NULL || sel->printed != NULL) {
		if (cs_journal_card_find(j, sel->chip ? CS_JKEY_CHIP :
		    CS_JKEY_PRINTED, sel->chip ? sel->chip : sel->printed, &card) !=
		    CS_OK)
			r = say(why, whylen, CS_ERR_NOTFOUND, "the journal has no "
			    "card with %s %s", sel->chip ? "chip serial" :
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
			r = say(why, whylen, CS_ERR_NOTFOUND, "issuance %" PRId64
			    " is not live on a card", sel->issuance);
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
		r = say(why, whylen, CS_ERR_DB, "the journal cannot be read");
		goto out;
	}
	if (ll.n == 0) {
		r = say(why, whylen, CS_ERR_NOTFOUND, "no certificate of a holder "
		    "named like '%s' is live on a card", sel->holder);
		goto out;
	}
	for (size_t i = 1; i < ll.n; i++)
		if (ll.c[i].card_id != ll.c[0].card_id) {
			if (several != NULL)
				*several = ll;
			r = say(why, whylen, CS_ERR_MISMATCH, "'%s' fits several "
			    "cards", sel->holder);
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
		return say(why, whylen, CS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < ll->n && r == CS_OK; i++) {
		cs_jrecord rec = {0};
		cs_revoke_row row;
		size_t n = 0;

		if (cs_journal_record_get(j, ll->c[i].record_id, &rec) != CS_OK)
			return say(why, whylen, CS_ERR_NOTFOUND, "record %" PRId64
			    " of certificate %s is missing", ll->c[i].record_id,
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
			say(why, whylen, r, "certificate %s: %s",
			    ll->c[i].cert_serial, rwhy);
		else
			*len += n;
		cs_jrecord_clear(&rec);
	}
	return r;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
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
		return say(why, whylen, CS_ERR_USAGE, "a revocation request needs "
		    "the administrator's mail and a reason code the service knows");
	if ((r = cs_journal_trust(j, why, whylen)) != CS_OK)
		return r;
	if ((r = cs_desk_live_certs(j, card_id, ll)) != CS_OK)
		return say(why, whylen, CS_ERR_DB, "the journal cannot be read");
	for (size_t i = 0; i < ll->n; i++)
		if (ll->c[i].writing)
			return say(why, whylen, CS_ERR_STATE, "certificate %s is "
			    "still being written to this card: stop that run first",
			    ll->c[i].cert_serial);
	if (ll->n == 0)
		return say(why, whylen, CS_ERR_NOTFOUND, "no certificate is live "
		    "on that card (already lost, returned or never issued)");
	if (ll->truncated)
		return say(why, whylen, CS_ERR_LIMIT, "more than %d certificates "
		    "are live on that card", CS_DESK_MAX_LIVE);
	if ((r = lost_build(j, o, ll, &buf, &len, why, whylen)) != CS_OK)
		goto out;
	/* The file is complete on disk before the journal says "requested";
	 * it gets its name only once the journal agrees. */
	if (o->out_path != NULL) {
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", o->out_path) >=
		    sizeof(tmp)) {
			tmp[0] = '\0';
			r = say(why, whylen, CS_ERR_USAGE, "the file name is too "
			    "long");
			goto out;
		}
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0640)) < 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
			r = say(why, whylen, CS_ERR_IO, "%s: %s", tmp,
			    strerror(errno));
			goto out;
		}
	} else if (o->out_fp != NULL && (fwrite(buf, 1, len, o->out_fp) != len ||
	    fflush(o->out_fp) != 0)) {
		r = say(why, whylen, CS_ERR_IO, "cannot write the request: %s",
		    strerror(errno));
		goto out;
	}
	if (!o->dry_run && (r = lost_mark(j, o, ll, card_id, jwhy,
	    sizeof(jwhy))) != CS_OK) {
		/* Only a stream cannot be taken back: whoever reads it is told. */
		say(why, whylen, r, "the journal refused: %s; nothing was "
		    "marked%s", jwhy, tmp[0] ? ", no request written" :
		    o->out_fp ? ": do not send the request above" : "");
		goto out;
	}
	if (tmp[0] != '\0' && rename(tmp, o->out_path) != 0) {
		r = say(why, whylen, CS_ERR_IO, "the journal is marked but %s "
		    "cannot be renamed to %s: %s", tmp, o->out_path,
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

/* One transaction: the card row (new if the journal never saw it, since
 * the wipe happened either way), its live issuances ended and its state. */
static int returned_journal(cs_journal *j, const cs_card_id *id,
    const char *profile, size_t *wiped, char *why, size_t whylen)
{
	cs_desk_certs ll;
	cs_jcard in = {0};
	int64_t card_id;
	const char *note = "card returned: PIN reset with the PUK, PKCS#15 "
	    "application erased";
	int r;

	*wiped = 0;
	if ((r = cs_journal_begin(j, why, whylen)) != CS_OK)
		return r;
	in.chip_serial = id->chip_serial[0] ? (char *)id->chip_serial : NULL;
	in.atr = (char *)id->atr;
	in.model = (char *)profile;
	in.state = CS_JCARD_RETURNED;
	if ((r = cs_journal_card_upsert(j, &in, &card_id, why, whylen)) !=
	    CS_OK)
		goto fail;
	if ((r = cs_desk_live_certs(j, card_id, &ll)) != CS_OK) {
		say(why, whylen, r, "the journal cannot be read");
		goto fail;
	}
	/* A run that stopped mid-write left 'writing': that write is over. */
	for (size_t i = 0; i < ll.n && r == CS_OK; i++)
		if ((r = cs_journal_issuance_end(j, ll.c[i].iss_id,
		    ll.c[i].writing ? CS_JISSUE_INTERRUPTED : CS_JISSUE_WIPED,
		    note, why, whylen)) == CS_OK && !ll.c[i].writing)
			(*wiped)++;
	if (r == CS_OK)
		r = cs_journal_card_set_state(j, card_id, CS_JCARD_RETURNED, note,
		    why, whylen);
	if (r != CS_OK)
		goto fail;
	return cs_journal_commit(j, why, whylen);
fail:
	cs_journal_rollback(j);
	return r;
}

int cs_desk_returned(SCARDCONTEXT ctx, cs_journal *j,
    const cs_desk_return_opts *o, cs_desk_return *res, char *why,
    size_t whylen)
{
	cs_secret *rnd = NULL;
	const cs_secret *pin = o->new_pin;
	cs_profile prof;
	cs_card_id id;
	cs_applet_state st;
	char cwhy[512];
	int r;

	memset(res, 0, sizeof(*res));
	if (o->puk == NULL || o->puk->len == 0 || o->reader == NULL)
		return say(why, whylen, CS_ERR_USAGE, "wiping a card needs its "
		    "reader and the institution PUK");
	/* Before the first APDU: the journal says what the card holds. */
	if ((r = cs_journal_trust(j, why, whylen)) != CS_OK)
		return r;
	if (cs_card_probe(ctx, o->reader, &id, cwhy, sizeof(cwhy)) != CS_OK ||
	    cs_card_profile(ctx, o->reader, o->profiles_dir, NULL, id.atr, &prof,
	    &st, cwhy, sizeof(cwhy)) != CS_OK)
		return say(why, whylen, CS_ERR_NOTFOUND, "not a card this station "
		    "writes, or it does not answer");
	snprintf(res->chip_serial, sizeof(res->chip_serial), "%s",
	    id.chip_serial);
	snprintf(res->profile, sizeof(res->profile), "%s", prof.name);
	if (pin != NULL && cs_profile_check_pin(&prof, cs_secret_str(pin), why,
	    whylen) != CS_OK)
		return CS_ERR_USAGE;
	/* Nobody is told the new PIN: the card keeps a PIN (the applet cannot
	 * lose it) that no one can type. */
	if (pin == NULL) {
		if ((r = cs_profile_random_pin(&prof, &rnd)) != CS_OK)
			return say(why, whylen, r, "no random PIN");
		pin = rnd;
	}
	/* A card without a PIN has nobody's secret: erase is enough. The PUK
	 * goes first so that a wrong one leaves the card as it was. */
	if (st.pin_set && (r = cs_card_reset_pin(ctx, o->reader, prof.match_aid,
	    cs_secret_str(o->puk), cs_secret_str(pin), cwhy, sizeof(cwhy))) !=
	    CS_OK) {
		say(why, whylen, r, "%s; nothing changed", cwhy);
		goto out;
	}
	if ((r = cs_card_erase_pkcs15(ctx, o->reader, prof.match_aid, st.pin_set ?
	    cs_secret_str(pin) : NULL, cwhy, sizeof(cwhy))) != CS_OK) {
		say(why, whylen, r, "%s%s", cwhy, st.pin_set ?
		    " (the PIN was already reset)" : "");
		goto out;
	}
	if ((r = returned_journal(j, &id, prof.name, &res->wiped, cwhy,
	    sizeof(cwhy))) != CS_OK)
		say(why, whylen, r, "the card is wiped but the journal refused: %s",
		    cwhy);
out:
	cs_secret_free(rnd);
	return r;
}
