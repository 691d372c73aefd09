/* cs_io.c - whole reads and writes on a descriptor. */
#include "cs_io.h"
#include "cs_err.h"

#include <errno.h>
#include <unistd.h>

int cs_io_write_all(int fd, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return CS_ERR_IO;
		b += w;
		n -= (size_t)w;
	}
	return CS_OK;
}

int cs_io_read_all(int fd, void *p, size_t n)
{
	unsigned char *b = p;

	while (n > 0) {
		ssize_t got = read(fd, b, n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return CS_ERR_IO;
		b += got;
		n -= (size_t)got;
	}
	return CS_OK;
}
