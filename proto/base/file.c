#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "proto/base/fdio.h"
#include "proto/base/file.h"

/* tmp holds the bytes, fsynced; 0 or -1 with errno (tmp may remain). */
static int
file_write_tmp(int dirfd, const char *tmp, mode_t mode, const void *buf,
    size_t len)
{
	int fd, saved;

	if (unlinkat(dirfd, tmp, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	if (fd_write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

int
file_replace_at(int dirfd, const char *name, const char *tmp, mode_t mode,
    const void *buf, size_t len)
{
	int saved;

	if (file_write_tmp(dirfd, tmp, mode, buf, len) == -1 ||
	    renameat(dirfd, tmp, dirfd, name) == -1)
		goto fail;
	/* The rename is only durable once the directory is. */
	return fsync(dirfd);
fail:
	saved = errno;
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

int
file_replace(const char *dir, const char *name, const char *tmp,
    mode_t mode, const void *buf, size_t len)
{
	int dfd, rv, saved;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rv = file_replace_at(dfd, name, tmp, mode, buf, len);
	saved = errno;
	close(dfd);
	errno = saved;
	return rv;
}
