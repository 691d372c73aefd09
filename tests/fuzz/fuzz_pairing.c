/* fuzz_pairing.c - the card-printing system's pairing list
 * (station/engine/cs_pairing.c), read by path from a memory file.
 *
 * Properties: every pair names a person; looking a pair up by its own
 * chip serial or printed number finds it or an earlier line; an empty
 * chip serial finds nothing; and, for
 * ASCII files, a pair's line number is the file line its person is
 * written on (a reader that cut a long line in two would bind a person to
 * a line that does not say so). */
#include "fuzz_util.h"

#include <stdbool.h>
#include <string.h>

#include "cs_err.h"
#include "cs_pairing.h"

static fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_init(&file, "fuzz-pairing.csv");
	return 0;
}

/* Bytes of file line n (1-based) in *b..*e; false past the end. */
static bool file_line(const uint8_t *p, size_t size, size_t n,
    const uint8_t **b, size_t *len)
{
	size_t i = 0;

	for (size_t at = 1; at < n; at++) {
		const uint8_t *nl = memchr(p + i, '\n', size - i);

		if (nl == NULL)
			return false;
		i = (size_t)(nl - p) + 1;
	}
	if (i > size || (i == size && n > 1))
		return false;
	*b = p + i;
	*len = size - i;
	{
		const uint8_t *nl = memchr(*b, '\n', *len);

		if (nl != NULL)
			*len = (size_t)(nl - *b);
	}
	return true;
}

static bool has(const uint8_t *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return true;
	return k == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cs_pairing l;
	char why[512];
	bool ascii = true;

	for (size_t i = 0; i < size && ascii; i++)
		ascii = data[i] > 0 && data[i] < 0x80;
	fuzz_file_set(&file, data, size);
	why[0] = '\0';
	if (cs_pairing_load(file.path, &l, why, sizeof(why)) != CS_OK) {
		FUZZ_CHECK(why[0] != '\0' && l.p == NULL && l.n == 0);
		return 0;
	}
	for (size_t i = 0; i < l.n; i++) {
		const cs_pair *p = &l.p[i], *q;

		FUZZ_CHECK(p->person[0] != '\0');
		FUZZ_CHECK(p->line >= 2);
		FUZZ_CHECK(i == 0 || p->line > l.p[i - 1].line);
		FUZZ_CHECK(cs_pair_is_mail(p) == (strchr(p->person, '@') != NULL));
		if (p->chip_serial[strspn(p->chip_serial, "-:")] != '\0') {
			q = cs_pairing_by_chip(&l, p->chip_serial);
			FUZZ_CHECK(q != NULL && q <= p);
		}
		if (p->printed_no[0] != '\0') {
			q = cs_pairing_by_printed(&l, p->printed_no);
			FUZZ_CHECK(q != NULL && q <= p &&
			    strcmp(q->printed_no, p->printed_no) == 0);
		}
		if (ascii) {
			const uint8_t *b;
			size_t n;

			FUZZ_CHECK(file_line(data, size, p->line, &b, &n));
			FUZZ_CHECK(has(b, n, p->person));
			FUZZ_CHECK(has(b, n, p->chip_serial));
			FUZZ_CHECK(has(b, n, p->printed_no));
		}
	}
	/* A card that offers no chip serial (CPLC locked) is found by no
	 * line: it must not take the person of a line whose chip serial is
	 * a placeholder like "-". */
	FUZZ_CHECK(cs_pairing_by_chip(&l, "") == NULL);
	FUZZ_CHECK(cs_pairing_by_chip(&l, "-") == NULL);
	cs_pairing_free(&l);
	return 0;
}
