/* cs_revoke.c - one revocation request line: check, CP932, CRLF. */
#include "cs_revoke.h"
#include "cs_err.h"
#include "cs_p12.h"
#include "cs_i18n.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

const char *cs_revoke_reason_name(int code)
{
	switch (code) {
	case 0: return "unspecified";
	case 1: return "keyCompromise";
	case 3: return "affiliationChanged";
	case 4: return "superseded";
	case 5: return "cessationOfOperation";
	default: return NULL;
	}
}

static int bad_chars(const char *s)
{
	return s != NULL && strpbrk(s, "\t\r\n") != NULL;
}

static int mail_ok(const char *m)
{
	const char *at = strchr(m, '@');

	return at != NULL && at != m && at[1] != '\0' &&
	    strchr(at + 1, '@') == NULL && strpbrk(m, " \t\r\n") == NULL;
}

int cs_revoke_check(const cs_revoke_row *r, char *why, size_t whylen)
{
	char canon[CS_SERIAL_SIZE];

	if (r->dn == NULL || *r->dn == '\0') {
		snprintf(why, whylen, _("column 1: the subject DN is empty"));
		return CS_ERR_FORMAT;
	}
	if (r->serial == NULL || cs_serial_canon(r->serial, canon,
	    sizeof(canon)) != CS_OK || strcmp(canon, r->serial) != 0) {
		snprintf(why, whylen, _("column 4: '%s' is not a decimal serial"),
		    r->serial ? r->serial : "");
		return CS_ERR_FORMAT;
	}
	if (cs_revoke_reason_name(r->reason) == NULL) {
		snprintf(why, whylen, _("column 5: %d is not a reason the service "
		    "accepts (0, 1, 3, 4, 5)"), r->reason);
		return CS_ERR_USAGE;
	}
	if (r->reason == 0 && (r->comment == NULL || *r->comment == '\0')) {
		snprintf(why, whylen, _("column 6: reason 0 (unspecified) needs a "
		    "comment"));
		return CS_ERR_USAGE;
	}
	if (r->admin_mail == NULL || !mail_ok(r->admin_mail)) {
		snprintf(why, whylen, _("column 10: '%s' is not an administrator "
		    "mail"), r->admin_mail ? r->admin_mail : "");
		return CS_ERR_USAGE;
	}
	if (r->user_mail != NULL && *r->user_mail != '\0' &&
	    !mail_ok(r->user_mail)) {
		snprintf(why, whylen, _("column 14: '%s' is not a mail"),
		    r->user_mail);
		return CS_ERR_FORMAT;
	}
	if (bad_chars(r->dn) || bad_chars(r->comment)) {
		snprintf(why, whylen, _("a field holds a tab or a line break"));
		return CS_ERR_FORMAT;
	}
	return CS_OK;
}

/* Append s converted to CP932. */
static int put(iconv_t cd, const char *s, char **op, size_t *ol,
    const char *col, char *why, size_t whylen)
{
	char *ip = (char *)(s ? s : "");
	size_t il = strlen(ip);

	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &ip, &il, op, ol) == (size_t)-1) {
		if (errno == E2BIG) {
			snprintf(why, whylen, _("the line is too long"));
			return CS_ERR_LIMIT;
		}
		snprintf(why, whylen, _("%s: '%s' has a character CP932 cannot "
		    "write"), col, s);
		return CS_ERR_FORMAT;
	}
	return CS_OK;
}

int cs_revoke_format(const cs_revoke_row *r, char *out, size_t cap,
    size_t *len, char *why, size_t whylen)
{
	char reason[4], *op = out;
	size_t ol = cap;
	iconv_t cd;
	int rc = CS_OK;

	*len = 0;
	if ((rc = cs_revoke_check(r, why, whylen)) != CS_OK)
		return rc;
	if ((cd = iconv_open("CP932", "UTF-8")) == (iconv_t)-1) {
		snprintf(why, whylen, _("this system's iconv has no CP932"));
		return CS_ERR_FORMAT;
	}
	snprintf(reason, sizeof(reason), "%d", r->reason);
	for (int col = 1; col <= CS_REVOKE_COLUMNS && rc == CS_OK; col++) {
		const char *v = col == 1 ? r->dn : col == 4 ? r->serial :
		    col == 5 ? reason : col == 6 ? r->comment :
		    col == 10 ? r->admin_mail : col == 14 ? r->user_mail : "";
		char name[16];

		snprintf(name, sizeof(name), "column %d", col);
		rc = put(cd, v, &op, &ol, name, why, whylen);
		if (rc == CS_OK)
			rc = put(cd, col < CS_REVOKE_COLUMNS ? "\t" : "\r\n", &op,
			    &ol, name, why, whylen);
	}
	iconv_close(cd);
	if (rc == CS_OK)
		*len = cap - ol;
	return rc;
}

int cs_revoke_write(FILE *f, const cs_revoke_row *r, char *why, size_t whylen)
{
	char line[4096];
	size_t n;
	int rc;

	if ((rc = cs_revoke_format(r, line, sizeof(line), &n, why,
	    whylen)) != CS_OK)
		return rc;
	if (fwrite(line, 1, n, f) != n) {
		snprintf(why, whylen, _("cannot write the request: %s"),
		    strerror(errno));
		return CS_ERR_IO;
	}
	return CS_OK;
}
