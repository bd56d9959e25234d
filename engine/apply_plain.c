/*
 * The apply engine into a plain directory (apply_opts.plain_dir): a
 * subtree stream (docs/protocol.md, "The subtree stream") restored onto
 * any filesystem.  The staging "subvolume" is a directory made 0700, its
 * checkpoints are the state file after a syncfs (no snapshots: a resume
 * replays tolerantly), and at the end it is renamed to NAME, or, for a
 * single file, its one entry is.  What the destination cannot take is
 * counted per kind with the first path (apply_warnings) instead of
 * failing the restore.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/apply_impl.h"

#define PLAIN_DEFER_CHUNK 16384         /* flags records held at once */

static const struct {
	const char *one, *many;
} warn_names[WARN_NKINDS] = {
	[WARN_XATTR] = { "extended attribute", "extended attributes" },
	[WARN_OWNER] = { "owner", "owners" },
	[WARN_FLAGS] = { "set of inode flags", "sets of inode flags" },
	[WARN_DEVICE] = { "device file", "device files" },
};

static const char *
warn_why(enum apply_warn_kind k, int err)
{
	if (err == EPERM || err == EACCES)
		return k == WARN_DEVICE ? "only root can make device files" :
		    k == WARN_OWNER ? "only root can give files away" :
		    "not permitted to this user; run as root to keep them";
	if (k == WARN_OWNER)
		return "the ids do not exist here";
	return "the destination filesystem lacks them";
}

/* Is err the destination lacking feature k?  Then count it. */
bool
apply_plain_lacks(struct apply *a, enum apply_warn_kind k, int err,
    const uint8_t *p, uint32_t len)
{
	struct apply_warn *w = &a->warns[k];
	bool lacks;

	if (!a->o.plain_dir)
		return false;
	switch (k) {
	case WARN_XATTR:
		lacks = err == ENOTSUP || err == EOPNOTSUPP || err == EPERM ||
		    err == EACCES || err == E2BIG || err == ENOSPC;
		break;
	case WARN_OWNER:
		lacks = err == EPERM || err == EINVAL;
		break;
	case WARN_FLAGS:
		lacks = err == ENOTTY || err == EOPNOTSUPP || err == EPERM ||
		    err == EINVAL || err == EACCES;
		break;
	default:
		lacks = err == EPERM || err == EACCES;
		break;
	}
	if (!lacks)
		return false;
	if (w->count++ == 0) {
		w->errnum = err;
		w->first = xmalloc(len + 1);
		memcpy(w->first, p, len);
		w->first[len] = '\0';
	}
	return true;
}

uint64_t
apply_nwarnings(const struct apply *a)
{
	uint64_t n = 0;
	int k;

	for (k = 0; k < WARN_NKINDS; k++)
		n += a->warns[k].count;
	return n;
}

/* Where a stream path ends up: DEST/NAME/path, or DEST/path (one file). */
static void
warn_line(struct apply *a, enum apply_warn_kind k, FILE *f)
{
	const struct apply_warn *w = &a->warns[k];
	const char *label = a->o.dest_label != NULL ? a->o.dest_label : "DIR";

	fprintf(f, "%llu %s not restored: %s/", (unsigned long long)w->count,
	    w->count == 1 ? warn_names[k].one : warn_names[k].many, label);
	if (a->o.single_file)
		fprintf(f, "%s", *w->first ? w->first : a->name);
	else
		fprintf(f, "%s%s%s", a->name, *w->first ? "/" : "", w->first);
	fprintf(f, ": %s (%s)\n", strerror(w->errnum), warn_why(k, w->errnum));
}

const char *
apply_warnings(struct apply *a)
{
	size_t len = 0;
	FILE *f;
	int k;

	free(a->warn_text);
	a->warn_text = NULL;
	if ((f = open_memstream(&a->warn_text, &len)) == NULL)
		fatalx("out of memory");
	for (k = 0; k < WARN_NKINDS; k++)
		if (a->warns[k].count > 0)
			warn_line(a, k, f);
	if (fclose(f) != 0)
		fatalx("out of memory");
	return a->warn_text;
}

/* A device file that could not be made: the commands that name it go. */
bool
apply_plain_skipped(struct apply *a, const struct stream_cmd *c)
{
	const uint8_t *p;
	uint32_t len;
	size_t n;

	if (a->skip_path == NULL)
		return false;
	n = strlen(a->skip_path);
	if ((stream_get_bytes(c, SEND_A_PATH, &p, &len) == 0 && len == n &&
	    memcmp(p, a->skip_path, n) == 0) ||
	    (c->type == SEND_C_LINK &&
	    stream_get_bytes(c, SEND_A_PATH_LINK, &p, &len) == 0 &&
	    len == n && memcmp(p, a->skip_path, n) == 0))
		return true;
	free(a->skip_path);
	a->skip_path = NULL;
	return false;
}

void
apply_plain_clear(struct apply *a)
{
	free(a->skip_path);
	a->skip_path = NULL;
	a->root_mode_set = a->root_times_set = false;
	a->pinned = false;
}

/*
 * The root's CHMOD or UTIMES, kept for after the rename.  The position
 * before the first of them is where checkpoints stay until END.
 */
int
apply_plain_hold_root(struct apply *a, const struct stream_cmd *c,
    mode_t mode, const struct timespec ts[2])
{
	if (!a->pinned) {
		a->pinned = true;
		a->pin_index = a->next_index;
		a->pin_pos = a->pos;
		a->pin_digest = a->digest;
	}
	if (c->type == SEND_C_CHMOD) {
		a->root_mode_set = true;
		a->root_mode = mode & 07777;
	} else {
		a->root_times_set = true;
		a->root_times[0] = ts[0];
		a->root_times[1] = ts[1];
	}
	return 0;
}

int
apply_plain_create(struct apply *a)
{
	if (mkdirat(a->dirfd, a->staging, 0700) == -1)
		return apply_fail(a, errno, "create %s", a->staging);
	/* the checkpoint that follows names it: make it durable first */
	if (fsync(a->dirfd) == -1)
		return apply_fail(a, errno, "sync DIR after creating %s",
		    a->staging);
	return 0;
}

/* Clear immutable/append-only of name in dfd, so it can go. */
static void
unblock(int dfd, const char *name, bool dir)
{
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	if (fd == -1)
		return;
	(void)apply_set_fsflags(fd, 0, FS_BLOCKING_FL);
	close(fd);
}

static int remove_tree(int dfd, const char *name, dev_t dev, int depth);

/* Everything inside the directory fd (closed here). */
static int
remove_entries(int fd, dev_t dev, int depth)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	/* removing entries while reading: start over until none is left */
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_tree(dirfd(d), de->d_name, dev, depth + 1) == -1) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && errno != 0)
		rc = -1;
	closedir(d);
	return rc;
}

static int
remove_tree(int dfd, const char *name, dev_t dev, int depth)
{
	struct stat st;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (st.st_dev != dev || depth > PATH_MAX / 2) {
		errno = EXDEV;          /* a mount inside: never ours */
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd == -1 && errno == EACCES && fchmodat(dfd, name, 0700,
		    0) == 0)
			fd = openat(dfd, name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			return -1;
		(void)apply_set_fsflags(fd, 0, FS_BLOCKING_FL);
		if (fchmod(fd, 0700) == -1 && errno != EPERM) {
			close(fd);
			return -1;
		}
		if (remove_entries(fd, dev, depth) == -1)
			return -1;
	}
	if (unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	unblock(dfd, name, S_ISDIR(st.st_mode));
	return unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
}

/* The partial's staging directory with all in it; -1 with errno. */
int
apply_plain_remove(struct apply *a, const char *name)
{
	struct stat st;

	if (fstat(a->dirfd, &st) == -1)
		return -1;
	if (fstatat(a->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return remove_tree(a->dirfd, name, st.st_dev, 0);
}

/* Held root attributes and flags, on NAME once it has its name. */
static void
plain_root_attrs(struct apply *a, int fd)
{
	static const uint8_t root[1];

	if (a->o.single_file)
		goto flags;
	if (a->root_mode_set && fchmod(fd, (mode_t)a->root_mode) == -1)
		log_warn("%s: mode %o", a->name, a->root_mode);
	if (a->root_times_set && futimens(fd, a->root_times) == -1)
		log_warn("%s: times", a->name);
flags:
	if ((a->root_flags & FS_BLOCKING_FL) != 0 &&
	    apply_set_fsflags(fd, a->root_flags, FS_MANAGED_FL) == -1 &&
	    !apply_plain_lacks(a, WARN_FLAGS, errno, root, 0))
		log_warn("%s: inode flags 0x%x", a->name, a->root_flags);
}

/* The one file, moved out: its immutable/append-only flags now. */
static void
single_flags(struct apply *a)
{
	struct stat st;
	int fd;

	fd = openat(a->dirfd, a->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return;
	if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) ||
	    S_ISDIR(st.st_mode)))
		plain_root_attrs(a, fd);
	close(fd);
}

/*
 * Give the restored tree its name: rename the staging directory to NAME,
 * or move its one entry NAME out and remove it.  Never over an existing
 * NAME (RENAME_NOREPLACE).
 */
int
apply_plain_finish(struct apply *a)
{
	int rc;

	if (a->o.single_file)
		rc = renameat2(a->subfd, a->name, a->dirfd, a->name,
		    RENAME_NOREPLACE);
	else
		rc = renameat2(a->dirfd, a->staging, a->dirfd, a->name,
		    RENAME_NOREPLACE);
	if (rc == -1 && errno == EEXIST)
		return apply_fail(a, EEXIST, "%s already exists in %s: a "
		    "restore never overwrites; move it away or restore into "
		    "another directory (the restored tree is kept as %s)",
		    a->name, a->o.dest_label != NULL ? a->o.dest_label : "DIR",
		    a->staging);
	if (rc == -1 && errno == ENOENT && a->o.single_file)
		return apply_fail(a, 0, "the stream of one file made no %s",
		    a->name);
	if (rc == -1)
		return apply_fail(a, errno, "rename %s to %s", a->staging,
		    a->name);
	if (!a->o.single_file) {
		plain_root_attrs(a, a->subfd);
		return 0;
	}
	if ((a->root_flags & FS_BLOCKING_FL) != 0)
		single_flags(a);
	if (apply_plain_remove(a, a->staging) == -1)
		log_warn("remove %s", a->staging);
	return 0;
}
