/* zipedit.h - what the bundle tests do to an archive's bytes by hand. */
#ifndef ZIPEDIT_H
#define ZIPEDIT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Rewrite the uncompressed size an archive declares for its only entry, in
 * the local header and in the central directory: the CRC still matches
 * the bytes the entry really holds. */
static inline void declare_size(const char *path, uint32_t size)
{
	FILE *f = fopen(path, "r+b");
	unsigned char buf[8192];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	assert_true(n < sizeof(buf));
	for (size_t i = 0; i + 46 <= n; i++) {
		size_t at;

		if (memcmp(buf + i, "PK\3\4", 4) == 0)
			at = i + 22;
		else if (memcmp(buf + i, "PK\1\2", 4) == 0)
			at = i + 24;
		else
			continue;
		for (int k = 0; k < 4; k++)
			buf[at + (size_t)k] = (unsigned char)(size >> (8 * k));
	}
	rewind(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
}

#endif
