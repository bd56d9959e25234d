#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "proto/base/fdio.h"

int
fd_write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, b, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}
