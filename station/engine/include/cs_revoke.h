/* cs_revoke.h - the revocation request TSV the UPKI service accepts.
 *
 * One line per certificate to revoke, 15 tab-separated columns, CP932,
 * CRLF; no header row (each line of the service's request files is one
 * request), no quoting, no tab, CR or LF inside a field:
 *
 *      1  subject DN, as the download's index wrote it (CN first)
 *      4  certificate serial, decimal
 *      5  reason code: 0 unspecified (needs a comment), 1 keyCompromise,
 *         3 affiliationChanged, 4 superseded, 5 cessationOfOperation
 *      6  comment (required when the reason is 0)
 *     10  the institution administrator's mail
 *     14  the holder's mail
 *
 * every other column empty. A lost card's key may be used by whoever finds
 * it, so `card lost` defaults to 1 (keyCompromise). */
#ifndef CS_REVOKE_H
#define CS_REVOKE_H

#include <stddef.h>
#include <stdio.h>

#define CS_REVOKE_COLUMNS 15
#define CS_REVOKE_DEFAULT_REASON 1

typedef struct cs_revoke_row {
	const char *dn;          /* UTF-8 */
	const char *serial;      /* decimal */
	int reason;
	const char *comment;     /* UTF-8, may be NULL unless reason is 0 */
	const char *admin_mail;
	const char *user_mail;   /* may be NULL or "" */
} cs_revoke_row;

/* Whether the service knows the reason code; its name ("keyCompromise")
 * or NULL. */
const char *cs_revoke_reason_name(int code);

/* Every rule above; why names the field. */
int cs_revoke_check(const cs_revoke_row *r, char *why, size_t whylen);
/* The row's bytes (CP932, CRLF) into out (cap bytes); *len gets the
 * length. A character CP932 cannot write is CS_ERR_FORMAT: a request must
 * name the certificate exactly. */
int cs_revoke_format(const cs_revoke_row *r, char *out, size_t cap,
    size_t *len, char *why, size_t whylen);
/* cs_revoke_check, cs_revoke_format and one fwrite. */
int cs_revoke_write(FILE *f, const cs_revoke_row *r, char *why, size_t whylen);

#endif
