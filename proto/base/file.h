/* Whole-file replacement that a crash cannot tear. */
#ifndef BTRSEND_PROTO_BASE_FILE_H
#define BTRSEND_PROTO_BASE_FILE_H

#include <sys/types.h>

#include <stddef.h>

/*
 * Replace name in the directory dirfd by buf[0..len): after a crash it
 * holds the old bytes or the new ones, never a mix, and once 0 is
 * returned the new ones survive a crash.  The bytes go to tmp in the same
 * directory first (a stale tmp, left by a crash, is removed; then created
 * O_EXCL|O_NOFOLLOW with mode, under the umask), which is fsynced and
 * renamed over name, then the directory is fsynced.  0, or -1 with errno
 * set and tmp removed.
 */
int	file_replace_at(int dirfd, const char *name, const char *tmp,
	    mode_t mode, const void *buf, size_t len);
/* The same in the directory named dir. */
int	file_replace(const char *dir, const char *name, const char *tmp,
	    mode_t mode, const void *buf, size_t len);

#endif
