/* Whole-buffer I/O on file descriptors, restarting after EINTR. */
#ifndef BTRSEND_PROTO_BASE_FDIO_H
#define BTRSEND_PROTO_BASE_FDIO_H

#include <stddef.h>

/* Write all len bytes.  0, or -1 with errno set. */
int fd_write_all(int fd, const void *p, size_t len);

#endif
