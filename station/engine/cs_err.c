/* cs_err.c - words for error codes, and their stable codes ("err.io"),
 * which cs_codes.c lists with the others. Self-contained: the test-data
 * generator links this file alone. */
#include "cs_err.h"
#include "cs_i18n.h"

#include <stddef.h>

static const struct {
	int err;
	const char *code, *text;
} errs[] = {
	{CS_OK, "err.ok", N_("success")},
	{CS_ERR_NOMEM, "err.nomem", N_("out of memory or memory cannot be locked")},
	{CS_ERR_IO, "err.io", N_("input/output error")},
	{CS_ERR_FORMAT, "err.format", N_("malformed input")},
	{CS_ERR_LIMIT, "err.limit", N_("limit exceeded")},
	{CS_ERR_CRYPTO, "err.crypto", N_("cryptographic operation failed")},
	{CS_ERR_MISMATCH, "err.mismatch", N_("values do not match")},
	{CS_ERR_NOTFOUND, "err.notfound", N_("not found")},
	{CS_ERR_USAGE, "err.usage", N_("invalid usage")},
	{CS_ERR_CARD, "err.card", N_("card or reader error")},
	{CS_ERR_DB, "err.db", N_("journal error")},
	{CS_ERR_STATE, "err.state", N_("not allowed now")},
	{1, "err.unknown", N_("unknown error")}, /* the last: any other */
};
#define NERRS (sizeof(errs) / sizeof(errs[0]))

static size_t find(int err)
{
	size_t i;

	for (i = 0; i + 1 < NERRS && errs[i].err != err; i++)
		;
	return i;
}

const char *cs_err_code(int err)
{
	return errs[find(err)].code;
}

const char *cs_err_source(size_t i, const char **code)
{
	if (i >= NERRS)
		return NULL;
	*code = errs[i].code;
	return errs[i].text;
}

const char *cs_strerror(int err)
{
	return _(errs[find(err)].text);
}
