/* cs_io.h - whole reads and writes on a descriptor (pipes, files). */
#ifndef CS_IO_H
#define CS_IO_H

#include <stddef.h>

/* All n bytes, through short writes and EINTR: CS_OK or CS_ERR_IO. */
int cs_io_write_all(int fd, const void *p, size_t n);
/* Exactly n bytes: CS_OK, or CS_ERR_IO on an error or an early end. */
int cs_io_read_all(int fd, void *p, size_t n);

#endif
