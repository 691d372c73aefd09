/* fuzz_util.c - memory files and input cutting for the fuzz targets. */
#include "fuzz_util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void fuzz_file_init(fuzz_file *f, const char *name)
{
	if ((f->fd = memfd_create(name, MFD_CLOEXEC)) < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
}

void fuzz_file_set(fuzz_file *f, const void *p, size_t len)
{
	const char *s = p;
	size_t done = 0;

	if (ftruncate(f->fd, 0) != 0)
		abort();
	while (done < len) {
		ssize_t n = pwrite(f->fd, s + done, len - done, (off_t)done);

		if (n <= 0)
			abort();
		done += (size_t)n;
	}
}

int fuzz_cut_next(fuzz_cut *c, uint8_t sep, const uint8_t **part, size_t *len)
{
	const uint8_t *end;

	if (c->left == 0 && c->p == NULL)
		return 0;
	*part = c->p;
	end = c->left ? memchr(c->p, sep, c->left) : NULL;
	if (end == NULL) {
		*len = c->left;
		c->p = NULL;
		c->left = 0;
	} else {
		*len = (size_t)(end - c->p);
		c->left -= *len + 1;
		c->p = end + 1;
	}
	return 1;
}

uint8_t fuzz_cut_byte(fuzz_cut *c)
{
	uint8_t b;

	if (c->left == 0)
		return 0;
	b = c->p[0];
	c->p++;
	c->left--;
	return b;
}

char *fuzz_strndup(const void *p, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}
