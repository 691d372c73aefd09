/* fuzz_tsv.c - the UPKI TSV reader (station/engine/cs_tsv.c) and serial syntax.
 *
 * Input: one control byte, then the file. The control byte's low 7 bits
 * are the bytes per read (0: as much as asked), so lines cross the
 * reader's chunk edges; its top bit makes the last read fail instead of
 * ending the file. Properties:
 *   - every row has 1..CS_TSV_MAXFIELDS fields of valid UTF-8 (checked with
 *     iconv, not with the reader's own test), none holding a tab or LF,
 *     and line numbers only grow;
 *   - an error says why;
 *   - for plain ASCII files (LF or CRLF) the rows are exactly the file's
 *     non-blank lines split at tabs (a reference reader below);
 *   - cs_text_to_utf8 never writes past its buffer and ends it with NUL;
 *   - cs_serial_canon gives digits without leading zeros, at most
 *     CS_SERIAL_DIGITS, for the same number. */
#include "fuzz_util.h"

#include <iconv.h>
#include <stdbool.h>
#include <string.h>

#include "cs_err.h"
#include "cs_p12.h"
#include "cs_tsv.h"

struct src {
	const uint8_t *p;
	size_t left;
	size_t step;
	bool fail_at_end;
};

static ssize_t src_read(void *ctx, void *buf, size_t n)
{
	struct src *s = ctx;

	if (s->left == 0)
		return s->fail_at_end ? -1 : 0;
	if (n > s->left)
		n = s->left;
	if (s->step && n > s->step)
		n = s->step;
	memcpy(buf, s->p, n);
	s->p += n;
	s->left -= n;
	return (ssize_t)n;
}

static iconv_t utf8_check;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((utf8_check = iconv_open("UTF-32LE", "UTF-8")) == (iconv_t)-1)
		abort();
	return 0;
}

static bool is_utf8(const char *s)
{
	char out[4 * CS_TSV_MAXLINE * 3 + 4];
	char *ip = (char *)s, *op = out;
	size_t il = strlen(s), ol = sizeof(out);

	iconv(utf8_check, NULL, NULL, NULL, NULL);
	return iconv(utf8_check, &ip, &il, &op, &ol) != (size_t)-1 && il == 0;
}

/* The file is ASCII without NUL, CR comes only in CRLF, and no line comes
 * near the line limit: then the reference reader below must agree with
 * cs_tsv. (A lone CR is left out: whether it ends a row is the reader's
 * choice, not a property.) */
static bool simple_ascii(const uint8_t *p, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == 0 || p[i] >= 0x80)
			return false;
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			return false;
		run = p[i] == '\n' ? 0 : run + 1;
		if (run > CS_TSV_MAXLINE - 100)
			return false;
	}
	return true;
}

/* The next non-blank line of the reference: [*pos, end) without the line
 * ending; false at the end of the file. */
static bool ref_line(const uint8_t *p, size_t n, size_t *pos, size_t *b,
    size_t *e, size_t *lineno)
{
	while (*pos < n) {
		size_t s = *pos, t = s;

		while (t < n && p[t] != '\n')
			t++;
		*pos = t < n ? t + 1 : t;
		(*lineno)++;
		while (t > s && (p[t - 1] == '\r' || p[t - 1] == '\n'))
			t--;
		if (t > s) {
			*b = s;
			*e = t;
			return true;
		}
	}
	return false;
}

/* The longest serial the station takes (RFC 5280 allows 20 octets). */
#ifndef CS_SERIAL_DIGITS
#define CS_SERIAL_DIGITS 39
#endif

static void check_serial(const char *in)
{
	char out[64];
	const char *digits = in;

	if (cs_serial_canon(in, out, sizeof(out)) != CS_OK)
		return;
	while (*digits == '0' && digits[1] != '\0')
		digits++;
	FUZZ_CHECK(strcmp(out, digits) == 0);
	FUZZ_CHECK(strlen(out) >= 1 && strlen(out) <= CS_SERIAL_DIGITS);
	FUZZ_CHECK(out[0] != '0' || out[1] == '\0');
	for (const char *c = out; *c; c++)
		FUZZ_CHECK(*c >= '0' && *c <= '9');
}

static void check_decode(const uint8_t *p, size_t n, size_t cap)
{
	char *out = malloc(cap);
	size_t len = 12345;

	if (out == NULL)
		abort();
	if (cs_text_to_utf8((const char *)p, n, out, cap, &len) == CS_OK) {
		FUZZ_CHECK(len < cap);
		FUZZ_CHECK(out[len] == '\0');
		if (memchr(p, 0, n) == NULL)
			FUZZ_CHECK(strlen(out) == len && is_utf8(out));
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s;
	cs_tsv *t = NULL;
	cs_tsv_row row;
	char why[256];
	size_t last = 0, pos = 0, rb = 0, re = 0, refline = 0;
	bool ref;
	int r;

	if (size < 1)
		return 0;
	s.step = data[0] & 0x7f;
	s.fail_at_end = (data[0] & 0x80) != 0;
	s.p = data + 1;
	s.left = size - 1;
	ref = !s.fail_at_end && simple_ascii(s.p, s.left);

	check_decode(s.p, s.left < 300 ? s.left : 300, 1 + (size % 97));

	if (cs_tsv_open(&t, src_read, &s) != CS_OK)
		abort(); /* locked memory: raise RLIMIT_MEMLOCK */
	for (;;) {
		why[0] = '\0';
		r = cs_tsv_next(t, &row, why, sizeof(why));
		FUZZ_CHECK(r == 1 || r == 0 || r < 0);
		if (r < 0) {
			FUZZ_CHECK(why[0] != '\0' && memchr(why, 0, sizeof(why)));
			break;
		}
		if (ref && r == 1) {
			FUZZ_CHECK(ref_line(data + 1, size - 1, &pos, &rb, &re,
			    &refline));
			FUZZ_CHECK(row.line == refline);
		}
		if (r == 0)
			break;
		FUZZ_CHECK(row.line > last);
		last = row.line;
		FUZZ_CHECK(row.nfields >= 1 && row.nfields <= CS_TSV_MAXFIELDS);
		for (size_t i = 0; i < row.nfields; i++) {
			FUZZ_CHECK(strchr(row.field[i], '\t') == NULL);
			FUZZ_CHECK(strchr(row.field[i], '\n') == NULL);
			FUZZ_CHECK(is_utf8(row.field[i]));
		}
		if (ref) {
			/* Joined with tabs, the fields give back the line. */
			size_t k = rb;

			for (size_t i = 0; i < row.nfields; i++) {
				size_t l = strlen(row.field[i]);

				FUZZ_CHECK(k + l <= re);
				FUZZ_CHECK(memcmp(data + 1 + k, row.field[i], l) == 0);
				k += l;
				FUZZ_CHECK(i + 1 == row.nfields ? k == re :
				    data[1 + k] == '\t');
				k++;
			}
		}
		check_serial(row.field[0]);
	}
	/* The reference sees more rows only if cs_tsv stopped on an error,
	 * and for ASCII the only error is a row of too many columns. */
	if (ref && r == 0)
		FUZZ_CHECK(!ref_line(data + 1, size - 1, &pos, &rb, &re, &refline));
	if (ref && r < 0)
		FUZZ_CHECK(r == CS_ERR_FORMAT && strstr(why, "columns") != NULL);
	cs_tsv_free(t);
	return 0;
}
