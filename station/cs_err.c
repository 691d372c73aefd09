/* cs_err.c - words for error codes. */
#include "cs_err.h"

const char *cs_strerror(int err)
{
	switch (err) {
	case CS_OK: return "success";
	case CS_ERR_NOMEM: return "out of memory or memory cannot be locked";
	case CS_ERR_IO: return "input/output error";
	case CS_ERR_FORMAT: return "malformed input";
	case CS_ERR_LIMIT: return "limit exceeded";
	case CS_ERR_CRYPTO: return "cryptographic operation failed";
	case CS_ERR_MISMATCH: return "values do not match";
	case CS_ERR_NOTFOUND: return "not found";
	case CS_ERR_USAGE: return "invalid usage";
	case CS_ERR_CARD: return "card or reader error";
	case CS_ERR_DB: return "journal error";
	case CS_ERR_STATE: return "not allowed now";
	}
	return "unknown error";
}
