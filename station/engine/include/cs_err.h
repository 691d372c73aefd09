/* cs_err.h - error codes shared by every part of the engine.
 *
 * Functions return 0 (CS_OK) or a negative cs_err; details for the operator go
 * through the caller-supplied message buffer of the function, never to stderr
 * from inside the library. */
#ifndef CS_ERR_H
#define CS_ERR_H

#include <stddef.h>

typedef enum cs_err {
	CS_OK = 0,
	CS_ERR_NOMEM = -1,      /* allocation or memory lock failed */
	CS_ERR_IO = -2,         /* a file could not be read or written */
	CS_ERR_FORMAT = -3,     /* input is not what the format says */
	CS_ERR_LIMIT = -4,      /* input exceeds a configured limit */
	CS_ERR_CRYPTO = -5,     /* OpenSSL refused (wrong PIN, bad key) */
	CS_ERR_MISMATCH = -6,   /* two things that must agree do not */
	CS_ERR_NOTFOUND = -7,   /* the thing asked for does not exist */
	CS_ERR_USAGE = -8,      /* the caller asked for something invalid */
	CS_ERR_CARD = -9,       /* the card or reader failed */
	CS_ERR_DB = -10,        /* the journal failed */
	CS_ERR_STATE = -11,     /* not allowed in the current state */
} cs_err;

/* The error's words in the locale's language, and its stable code
 * ("err.io"; cs_codes.h). */
const char *cs_strerror(int err);
const char *cs_err_code(int err);
/* The i-th code and its English text (for cs_codes.c's table); NULL past
 * the last. */
const char *cs_err_source(size_t i, const char **code);

#endif
