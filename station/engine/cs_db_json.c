/* cs_db_json.c - a row as the JSON text SQLite's json_object() makes of it,
 * made in C so that a journal on PostgreSQL writes the same event details,
 * byte for byte, as one on SQLite (the hash covers the detail's text, and
 * `log check` compares snapshots with rows). The format is SQLite's:
 * no spaces; in strings '"' and '\' escaped with a backslash, \b \t \n \f \r
 * for those controls, \u00xx (lowercase hex) for the other bytes below
 * 0x20, everything else as it is (UTF-8 included); integers in decimal;
 * NULL as null. tests/unit/db/test_db.c compares it with json_object(). */
#include "cs_db.h"
#include "cs_err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t n, cap;
	int err;
};

static void put(struct buf *b, const char *s, size_t len)
{
	char *np;

	if (b->err != CS_OK)
		return;
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (b->n + len + 1 > cap)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->err = CS_ERR_NOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void put_string(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *plain = p;

	put(b, "\"", 1);
	for (; *p != '\0'; p++) {
		char esc[6] = {'\\', 0, '0', '0', 0, 0};
		size_t elen = 2;

		switch (*p) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\t': esc[1] = 't'; break;
		case '\n': esc[1] = 'n'; break;
		case '\f': esc[1] = 'f'; break;
		case '\r': esc[1] = 'r'; break;
		default:
			if (*p >= 0x20)
				continue;
			esc[1] = 'u';
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			elen = 6;
		}
		/* The plain bytes before it, then its escape. */
		put(b, (const char *)plain, (size_t)(p - plain));
		put(b, esc, elen);
		plain = p + 1;
	}
	put(b, (const char *)plain, (size_t)(p - plain));
	put(b, "\"", 1);
}

char *cs_db_json_string(const char *s)
{
	struct buf b = {NULL, 0, 0, CS_OK};

	if (s == NULL)
		put(&b, "null", 4);
	else
		put_string(&b, s);
	if (b.err != CS_OK) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int cs_db_json_row(cs_db_stmt *st, const char *const *cols,
    const char *kinds, char **out)
{
	struct buf b = {NULL, 0, 0, CS_OK};
	char num[24];

	*out = NULL;
	put(&b, "{", 1);
	for (int i = 0; cols[i] != NULL; i++) {
		if (i > 0)
			put(&b, ",", 1);
		put_string(&b, cols[i]);
		put(&b, ":", 1);
		if (cs_db_column_null(st, i))
			put(&b, "null", 4);
		else if (kinds[i] == 'i') {
			snprintf(num, sizeof(num), "%" PRId64, cs_db_column_int(st, i));
			put(&b, num, strlen(num));
		} else
			put_string(&b, cs_db_column_text(st, i));
	}
	put(&b, "}", 1);
	if (b.err != CS_OK) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	return CS_OK;
}
