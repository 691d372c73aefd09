/* fuzz_util.h - what every libFuzzer target of tests/fuzz shares.
 *
 * Targets check properties with FUZZ_CHECK, not assert(): a release-mode
 * build (NDEBUG) must still turn a broken property into a crash that
 * libFuzzer saves. The message goes to descriptor 2 itself, so it shows
 * even while a target holds the code's own stderr (fuzz_http reads the
 * kiosk's log). */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(c) do { \
	if (!(c)) { \
		dprintf(2, "%s:%d: property broken: %s\n", __FILE__, \
		    __LINE__, #c); \
		abort(); \
	} \
} while (0)

/* A file that lives in memory only (memfd), with a path that code reading
 * files by name can open: /proc/self/fd/N. The station's readers take
 * paths, so fuzzing through this keeps their own open calls in the path. */
typedef struct fuzz_file {
	int fd;
	char path[40];
} fuzz_file;

/* Create once (name is for /proc listings only); abort on failure. */
void fuzz_file_init(fuzz_file *f, const char *name);
/* Replace the content with len bytes at p. */
void fuzz_file_set(fuzz_file *f, const void *p, size_t len);

/* Input cut into parts: next part up to the separator byte sep, or the
 * rest. Returns 0 when nothing is left. */
typedef struct fuzz_cut {
	const uint8_t *p;
	size_t left;
} fuzz_cut;
int fuzz_cut_next(fuzz_cut *c, uint8_t sep, const uint8_t **part, size_t *len);
/* One byte from the front, 0 when empty. */
uint8_t fuzz_cut_byte(fuzz_cut *c);

/* A NUL-terminated malloc'ed copy (abort on failure). */
char *fuzz_strndup(const void *p, size_t len);

#endif
