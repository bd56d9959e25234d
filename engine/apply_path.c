/*
 * What a stream path or subvolume name may look like, and what an errno
 * means while replaying after a crash.  Pure functions: no I/O.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "engine/apply.h"

static int
path_component_check(const uint8_t *p, size_t len, const char **why)
{
	if (len == 0) {
		*why = "empty path component";
		return -1;
	}
	if ((len == 1 && p[0] == '.') ||
	    (len == 2 && p[0] == '.' && p[1] == '.')) {
		*why = "'.' or '..' path component";
		return -1;
	}
	if (len > NAME_MAX) {
		*why = "path component longer than NAME_MAX";
		return -1;
	}
	return 0;
}

int
apply_path_check(const uint8_t *p, uint32_t len, bool root_ok, const char **why)
{
	uint32_t i, start;

	if (len == 0) {
		if (root_ok)
			return 0;
		*why = "empty path where a name is needed";
		return -1;
	}
	if (len >= PATH_MAX) {
		*why = "path longer than PATH_MAX";
		return -1;
	}
	if (memchr(p, '\0', len) != NULL) {
		*why = "NUL byte in path";
		return -1;
	}
	if (p[0] == '/') {
		*why = "absolute path";
		return -1;
	}
	for (start = 0, i = 0; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		if (path_component_check(p + start, i - start, why) == -1)
			return -1;
		start = i + 1;
	}
	return 0;
}

int
apply_name_check(const uint8_t *p, uint32_t len, const char **why)
{
	if (len > 0 && memchr(p, '/', len) != NULL) {
		*why = "subvolume name with '/'";
		return -1;
	}
	if (len > 0 && memchr(p, '\0', len) != NULL) {
		*why = "NUL byte in subvolume name";
		return -1;
	}
	return path_component_check(p, len, why);
}

/*
 * The receiver was killed after the checkpoint, so the filesystem holds
 * the checkpoint state plus some prefix of the commands that follow.
 * Re-applying a command of that prefix meets its own effect, or the
 * effect of a later command of the prefix.
 */
enum replay_verdict
apply_replay_verdict(int cmd, int err)
{
	switch (cmd) {
	case SEND_C_MKFILE:
	case SEND_C_MKNOD:
	case SEND_C_MKFIFO:
	case SEND_C_MKSOCK:
	case SEND_C_SYMLINK:
		return err == EEXIST ? REPLAY_REPLACE : REPLAY_FAIL;
	case SEND_C_MKDIR:
		return err == EEXIST ? REPLAY_DONE : REPLAY_FAIL;
	case SEND_C_LINK:
		if (err == EEXIST)
			return REPLAY_REPLACE;
		return err == ENOENT ? REPLAY_DONE : REPLAY_FAIL;
	case SEND_C_RENAME:
		if (err == ENOTEMPTY || err == EEXIST)
			return REPLAY_DROP_SOURCE;
		return err == ENOENT ? REPLAY_DONE : REPLAY_FAIL;
	case SEND_C_UNLINK:
	case SEND_C_RMDIR:
		return err == ENOENT ? REPLAY_DONE : REPLAY_FAIL;
	case SEND_C_REMOVE_XATTR:
		return err == ENODATA || err == ENOENT ? REPLAY_DONE : REPLAY_FAIL;
	case SEND_C_SET_XATTR:
	case SEND_C_WRITE:
	case SEND_C_CLONE:
	case SEND_C_TRUNCATE:
	case SEND_C_CHMOD:
	case SEND_C_CHOWN:
	case SEND_C_UTIMES:
	case SEND_C_FALLOCATE:
	case SEND_C_FILEATTR:
	case SEND_C_ENCODED_WRITE:
	case SEND_C_ENABLE_VERITY:
	case SEND_C_UPDATE_EXTENT:
		/* a later command of the prefix moved or removed the inode */
		return err == ENOENT ? REPLAY_DONE : REPLAY_FAIL;
	default:
		return REPLAY_FAIL;
	}
}
