/* fuzz_form.c - the kiosk's POST bodies (kiosk/ks_form.c).
 *
 * Input: a control byte (low 6 bits + 1: bytes per chunk, as
 * libmicrohttpd may hand a body over in pieces; bit 6: repeat the body
 * until the size limit is crossed), then the urlencoded body.
 * Properties: the body is taken whole or refused past KS_BODY_MAX; a
 * parsed form's keys and values lie inside the locked body; ks_form_get
 * finds each key's first value; ks_urldecode never grows a string and
 * undoes a plain %XX encoding. */
#include "fuzz_util.h"

#include <string.h>

#include "cs_err.h"
#include "ks.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void check_urldecode(const uint8_t *p, size_t n)
{
	char *raw = fuzz_strndup(p, n), *enc = malloc(3 * n + 1), *s;
	size_t k = 0, len = strlen(raw);

	if (enc == NULL)
		abort();
	/* Encoding every byte as %XX must decode back to the bytes. */
	for (size_t i = 0; i < len; i++)
		k += (size_t)snprintf(enc + k, 4, "%%%02X", (unsigned char)raw[i]);
	enc[k] = '\0';
	FUZZ_CHECK(ks_urldecode(enc) == 0 && strcmp(enc, raw) == 0);
	s = fuzz_strndup(p, n);
	if (ks_urldecode(s) == 0)
		FUZZ_CHECK(strlen(s) <= len);
	free(s);
	free(enc);
	free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ks_form *f = NULL;
	size_t step, total = 0, want;
	const char *base;
	int r = CS_OK, repeat;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] & 0x3f) + 1;
	repeat = (data[0] & 0x40) != 0;
	data++;
	size--;
	check_urldecode(data, size < 512 ? size : 512);

	if (ks_form_new(&f) != CS_OK)
		abort(); /* locked memory: raise RLIMIT_MEMLOCK */
	want = repeat && size > 0 ? KS_BODY_MAX + 1 : size;
	while (r == CS_OK && total < want) {
		size_t n = want - total, off = total % (size ? size : 1);

		if (n > step)
			n = step;
		if (n > size - off)
			n = size - off;
		r = ks_form_append(f, (const char *)data + off, n);
		if (r == CS_OK)
			total += n;
	}
	if (total > KS_BODY_MAX || r != CS_OK) {
		FUZZ_CHECK(r == CS_ERR_LIMIT && total <= KS_BODY_MAX);
		ks_form_free(f);
		return 0;
	}
	FUZZ_CHECK(f->body->len == total);
	if (!repeat)
		FUZZ_CHECK(memcmp(f->body->buf, data, size) == 0);
	base = (const char *)f->body->buf;
	if (ks_form_parse(f) == CS_OK) {
		FUZZ_CHECK(f->n <= sizeof(f->key) / sizeof(f->key[0]));
		for (size_t i = 0; i < f->n; i++) {
			const char *v;
			size_t first = 0;

			FUZZ_CHECK(f->key[i] >= base && f->key[i] < base + total + 1);
			FUZZ_CHECK(f->val[i] >= base && f->val[i] < base + total + 1);
			while (strcmp(f->key[first], f->key[i]) != 0)
				first++;
			v = ks_form_get(f, f->key[i]);
			FUZZ_CHECK(v == f->val[first]);
		}
		(void)ks_form_get(f, "pin");
	}
	ks_form_free(f);
	return 0;
}
