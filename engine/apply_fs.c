/*
 * Filesystem side of the apply engine: one function per command.
 *
 * Every stream path is checked (apply_path_check), its parent directory
 * is resolved beneath the subvolume without following any symlink
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV), and the final component is acted on with *at() calls
 * that do not follow it.  Data is only ever written to regular files,
 * checked on an O_PATH descriptor before they are opened for I/O, so a
 * device node the stream created can never be opened.
 *
 * Parent directories stay open in a small cache keyed by path; a cached
 * path is dropped when it, or a directory above it, is renamed or removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/fsverity.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/apply_impl.h"

#define RESOLVE_SAFE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | \
    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* btrfs inode flags (spec appendix C) */
#define BTRFS_INODE_NODATACOW   (1u << 1)
#define BTRFS_INODE_NOCOMPRESS  (1u << 3)
#define BTRFS_INODE_SYNC        (1u << 5)
#define BTRFS_INODE_IMMUTABLE   (1u << 6)
#define BTRFS_INODE_APPEND      (1u << 7)
#define BTRFS_INODE_NODUMP      (1u << 8)
#define BTRFS_INODE_NOATIME     (1u << 9)
#define BTRFS_INODE_DIRSYNC     (1u << 10)
#define BTRFS_INODE_COMPRESS    (1u << 11)

int apply_encoded_write(struct apply *a, const struct stream_cmd *c);

/* A path attribute, checked: p/len valid until the next command. */
struct apath {
	const uint8_t *p;
	uint32_t len;
};

int
apply_open_beneath(int base, const char *path, int flags, int resolve_extra)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags | O_CLOEXEC;
	how.resolve = RESOLVE_SAFE | (uint64_t)resolve_extra;
	return (int)syscall(SYS_openat2, base, path, &how, sizeof(how));
}

/* Open a regular file beneath base for I/O; anything else is refused. */
int
apply_open_reg(int base, const char *path, int flags)
{
	char proc[64];
	struct stat st;
	int pfd, fd;

	pfd = apply_open_beneath(base, path, O_PATH | O_NOFOLLOW, 0);
	if (pfd == -1)
		return -1;
	if (fstat(pfd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISLNK(st.st_mode) ? ELOOP : EINVAL;
		goto fail;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	/* the magic link names the checked inode itself */
	fd = open(proc, flags | O_CLOEXEC);
	close(pfd);
	return fd;
fail:
	fd = errno;
	close(pfd);
	errno = fd;
	return -1;
}

static int
get_path(struct apply *a, const struct stream_cmd *c, int attr, bool root_ok,
    struct apath *ap)
{
	const char *why;

	if (stream_get_bytes(c, attr, &ap->p, &ap->len) == -1)
		return apply_fail(a, 0, "missing attribute %s",
		    stream_attr_name(attr));
	if (apply_path_check(ap->p, ap->len, root_ok, &why) == -1)
		return apply_fail(a, 0, "unsafe %s '%.*s': %s",
		    stream_attr_name(attr), (int)(ap->len > 200 ? 200 : ap->len),
		    (const char *)ap->p, why);
	return 0;
}

static int
get_u64(struct apply *a, const struct stream_cmd *c, int attr, uint64_t *v)
{
	if (stream_get_u64(c, attr, v) == -1)
		return apply_fail(a, 0, "missing or malformed attribute %s",
		    stream_attr_name(attr));
	return 0;
}

/* Does cached path `p` lie at or below `q`? */
static bool
path_under(const char *p, size_t plen, const uint8_t *q, uint32_t qlen)
{
	if (qlen == 0)
		return true;
	if (plen < qlen || memcmp(p, q, qlen) != 0)
		return false;
	return plen == qlen || p[qlen] == '/';
}

static void
dir_drop(struct apply_dir *d)
{
	if (d->fd != -1)
		close(d->fd);
	free(d->path);
	d->path = NULL;
	d->fd = -1;
}

/* Forget every cached descriptor reached through path q. */
static void
cache_invalidate(struct apply *a, const uint8_t *q, uint32_t qlen)
{
	size_t i;

	for (i = 0; i < APPLY_NDIRS; i++)
		if (a->dirs[i].path != NULL &&
		    path_under(a->dirs[i].path, a->dirs[i].len, q, qlen))
			dir_drop(&a->dirs[i]);
	if (a->fpath != NULL && path_under(a->fpath, a->fpath_len, q, qlen)) {
		(void)apply_flush(a);
		close(a->fd_file);
		free(a->fpath);
		a->fpath = NULL;
		a->fd_file = -1;
	}
}

void
apply_close_caches(struct apply *a)
{
	size_t i;

	(void)apply_flush(a);
	for (i = 0; i < APPLY_NDIRS; i++)
		dir_drop(&a->dirs[i]);
	if (a->fd_file != -1)
		close(a->fd_file);
	a->fd_file = -1;
	free(a->fpath);
	a->fpath = NULL;
}

/* Directory fd for the first dlen bytes of a path ("" is the root). */
static int
dir_get(struct apply *a, const uint8_t *p, size_t dlen)
{
	struct apply_dir *d, *victim = &a->dirs[0];
	size_t i;
	char *path;
	int fd;

	if (dlen == 0)
		return a->subfd;
	for (i = 0; i < APPLY_NDIRS; i++) {
		d = &a->dirs[i];
		if (d->path != NULL && d->len == dlen &&
		    memcmp(d->path, p, dlen) == 0) {
			d->used = ++a->dir_clock;
			return d->fd;
		}
		if (d->path == NULL || (victim->path != NULL &&
		    d->used < victim->used))
			victim = d;
	}
	path = xmalloc(dlen + 1);
	memcpy(path, p, dlen);
	path[dlen] = '\0';
	fd = apply_open_beneath(a->subfd, path, O_PATH | O_DIRECTORY, 0);
	if (fd == -1) {
		free(path);
		return -1;
	}
	dir_drop(victim);
	victim->path = path;
	victim->len = dlen;
	victim->fd = fd;
	victim->used = ++a->dir_clock;
	return fd;
}

/*
 * Split ap into a parent directory fd and a final name.  The root path
 * gives the subvolume fd and ".".
 */
static int
resolve(struct apply *a, const struct apath *ap, int *dfd, char name[NAME_MAX + 1])
{
	const uint8_t *slash;
	size_t dlen;

	if (ap->len == 0) {
		*dfd = a->subfd;
		strcpy(name, ".");
		return 0;
	}
	slash = memrchr(ap->p, '/', ap->len);
	dlen = slash == NULL ? 0 : (size_t)(slash - ap->p);
	*dfd = dir_get(a, ap->p, dlen);
	if (*dfd == -1)
		return apply_fail(a, errno, "parent directory of '%.*s' "
		    "(resolved beneath the subvolume, symlinks refused)",
		    (int)ap->len, (const char *)ap->p);
	if (slash != NULL)
		dlen++;
	memcpy(name, ap->p + dlen, ap->len - dlen);
	name[ap->len - dlen] = '\0';
	return 0;
}

static char *
apath_str(const struct apath *ap)
{
	char *s = xmalloc(ap->len + 1);

	memcpy(s, ap->p, ap->len);
	s[ap->len] = '\0';
	return s;
}

int
apply_flush(struct apply *a)
{
	size_t done = 0;
	ssize_t n;

	if (a->mk.on && apply_mk_settle(a) == -1)
		return -1;
	while (done < a->wlen) {
		n = pwrite(a->fd_file, a->wbuf + done, a->wlen - done,
		    (off_t)(a->woff + done));
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			a->wlen = 0;
			a->lost = true;
			return apply_fail(a, n == 0 ? EIO : errno,
			    "write of %s at file offset %llu", a->fpath,
			    (unsigned long long)(a->woff + done));
		}
		done += (size_t)n;
	}
	a->wlen = 0;
	if (a->pub_pending && !a->lost) {
		a->pub_pending = false;
		apply_progress_publish(a, a->pub_ncmds, a->pub_offset,
		    &a->pub_digest);
	}
	return 0;
}

static void
file_set(struct apply *a, const struct apath *ap, int fd)
{
	if (a->fd_file != -1)
		close(a->fd_file);
	free(a->fpath);
	a->fpath = apath_str(ap);
	a->fpath_len = ap->len;
	a->fd_file = fd;
}

/* The cached file fd if ap names it, else -1. */
static int
file_cached(struct apply *a, const struct apath *ap)
{
	if (a->fpath != NULL && a->fpath_len == ap->len &&
	    memcmp(a->fpath, ap->p, ap->len) == 0)
		return a->fd_file;
	return -1;
}

/* The O_RDWR fd of the regular file at ap, cached while the path holds. */
static int
file_get(struct apply *a, const struct apath *ap)
{
	int dfd, fd;
	char name[NAME_MAX + 1];

	if (file_cached(a, ap) != -1)
		return a->fd_file;
	if (apply_flush(a) == -1)
		return -1;
	if (resolve(a, ap, &dfd, name) == -1)
		return -1;
	fd = apply_open_reg(dfd, name, O_RDWR);
	if (fd == -1)
		return apply_fail(a, errno, "open '%.*s' for writing "
		    "(must be a regular file, not followed if a symlink)",
		    (int)ap->len, (const char *)ap->p);
	file_set(a, ap, fd);
	return fd;
}

/* Run op; in tolerant replay, interpret a failure per apply_replay_verdict. */
static int
replayable(struct apply *a, int cmd, int rc, enum replay_verdict *v)
{
	*v = REPLAY_FAIL;
	if (rc == 0)
		return 0;
	if (!a->tolerant)
		return -1;
	*v = apply_replay_verdict(cmd, errno);
	if (*v == REPLAY_DONE)
		return 0;
	return -1;
}

static int
do_write(struct apply *a, const struct stream_cmd *c)
{
	struct apath ap;
	const uint8_t *data;
	uint32_t dlen;
	uint64_t off;

	if (get_path(a, c, SEND_A_PATH, false, &ap) == -1 ||
	    get_u64(a, c, SEND_A_FILE_OFFSET, &off) == -1)
		return -1;
	if (stream_get_bytes(c, SEND_A_DATA, &data, &dlen) == -1)
		return apply_fail(a, 0, "missing attribute DATA");
	if (off > (uint64_t)INT64_MAX - dlen)
		return apply_fail(a, 0, "file offset %llu out of range",
		    (unsigned long long)off);
	if (file_get(a, &ap) == -1) {
		enum replay_verdict v;

		if (a->tolerant && replayable(a, c->type, -1, &v) == 0)
			return 0;
		return -1;
	}
	a->s_data += dlen;
	/* big writes go straight from the stream buffer: a copy costs more
	 * than the system calls merging would save */
	if (dlen >= APPLY_WDIRECT) {
		if (apply_flush(a) == -1)
			return -1;
		while (dlen > 0) {
			ssize_t n = pwrite(a->fd_file, data, dlen, (off_t)off);
			if (n <= 0)
				return apply_fail(a, n == 0 ? EIO : errno,
				    "write '%.*s'", (int)ap.len,
				    (const char *)ap.p);
			data += n;
			off += (uint64_t)n;
			dlen -= (uint32_t)n;
		}
		return 0;
	}
	if (a->wlen > 0 && (a->woff + a->wlen != off ||
	    a->wlen + dlen > APPLY_WBUF) && apply_flush(a) == -1)
		return -1;
	if (a->wlen == 0)
		a->woff = off;
	memcpy(a->wbuf + a->wlen, data, dlen);
	a->wlen += dlen;
	return 0;
}

/*
 * Creation is held back by one command: the kernel makes every new inode
 * under a temporary name and renames it right after, so a create that is
 * followed by the rename of its name is done at the final name at once.
 */
static int
do_mk(struct apply *a, const struct stream_cmd *c)
{
	struct apply_mk *mk = &a->mk;
	struct apath ap, target;

	if (get_path(a, c, SEND_A_PATH, false, &ap) == -1)
		return -1;
	memset(mk, 0, sizeof(*mk));
	if (c->type == SEND_C_MKNOD) {
		if (get_u64(a, c, SEND_A_MODE, &mk->mode) == -1 ||
		    get_u64(a, c, SEND_A_RDEV, &mk->rdev) == -1)
			return -1;
		if (!S_ISCHR(mk->mode) && !S_ISBLK(mk->mode) &&
		    !S_ISFIFO(mk->mode) && !S_ISSOCK(mk->mode))
			return apply_fail(a, 0, "mknod mode 0%llo is not a "
			    "device, fifo or socket",
			    (unsigned long long)mk->mode);
	}
	if (c->type == SEND_C_SYMLINK) {
		if (stream_get_bytes(c, SEND_A_PATH_LINK, &target.p,
		    &target.len) == -1)
			return apply_fail(a, 0, "missing attribute PATH_LINK");
		if (target.len == 0 || target.len >= PATH_MAX ||
		    memchr(target.p, '\0', target.len) != NULL)
			return apply_fail(a, 0, "symlink target empty, too long "
			    "or with a NUL byte");
		mk->target = apath_str(&target);
	}
	mk->type = c->type;
	mk->path = apath_str(&ap);
	mk->len = ap.len;
	mk->index = c->index;
	mk->offset = c->offset;
	mk->on = true;
	return 0;
}

static void
mk_clear(struct apply_mk *mk)
{
	free(mk->path);
	free(mk->target);
	memset(mk, 0, sizeof(*mk));
}

/* Create per a->mk at (dfd, name); ap names it for the file cache. */
static int
mk_create(struct apply *a, int dfd, const char *name, const struct apath *ap)
{
	const struct apply_mk *mk = &a->mk;
	int rc;

	switch (mk->type) {
	case SEND_C_MKFILE:
		/* O_EXCL never follows; keep the new file open for its data */
		rc = openat(dfd, name, O_CREAT | O_EXCL | O_RDWR |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (rc >= 0) {
			file_set(a, ap, rc);
			rc = 0;
		}
		return rc;
	case SEND_C_MKDIR:
		return mkdirat(dfd, name, 0700);
	case SEND_C_MKNOD:
		return mknodat(dfd, name, (mk->mode & S_IFMT) | 0600,
		    (dev_t)mk->rdev);
	case SEND_C_MKFIFO:
		return mknodat(dfd, name, S_IFIFO | 0600, 0);
	case SEND_C_MKSOCK:
		return mknodat(dfd, name, S_IFSOCK | 0600, 0);
	default:
		return symlinkat(mk->target, dfd, name);
	}
}

/* Carry out a held-back create under its own name. */
int
apply_mk_settle(struct apply *a)
{
	struct apply_mk *mk = &a->mk;
	struct apath ap;
	char name[NAME_MAX + 1];
	enum replay_verdict v;
	int dfd, rc, tries = 0, err;

	if (!mk->on)
		return 0;
	mk->on = false;
	ap.p = (const uint8_t *)mk->path;
	ap.len = mk->len;
	if (resolve(a, &ap, &dfd, name) == -1) {
		err = errno;
		goto fail;
	}
again:
	rc = mk_create(a, dfd, name, &ap);
	if (replayable(a, mk->type, rc, &v) == 0) {
		mk_clear(mk);
		return 0;
	}
	err = errno;
	if (a->o.plain_dir && mk->type == SEND_C_MKNOD &&
	    (S_ISCHR(mk->mode) || S_ISBLK(mk->mode)) &&
	    apply_plain_lacks(a, WARN_DEVICE, err, (const uint8_t *)mk->path,
	    mk->len)) {
		/* its other commands go too (apply_plain_skipped) */
		free(a->skip_path);
		a->skip_path = xstrdup(mk->path);
		mk_clear(mk);
		return 0;
	}
	if (v == REPLAY_REPLACE && tries++ == 0 &&
	    unlinkat(dfd, name, 0) == 0) {
		cache_invalidate(a, ap.p, ap.len);
		goto again;
	}
fail:
	/* the error belongs to the create, not to the command after it */
	a->errnum = err;
	a->lost = true;
	snprintf(a->err, sizeof(a->err), "command %llu (%s) at byte offset "
	    "%llu: create '%.256s': %s", (unsigned long long)mk->index,
	    stream_cmd_name(mk->type), (unsigned long long)mk->offset,
	    mk->path, strerror(err));
	mk_clear(mk);
	return -1;
}

static int do_rename(struct apply *a, const struct stream_cmd *c);

/* RENAME of the held-back create: make it at the destination directly. */
static int
mk_rename(struct apply *a, const struct stream_cmd *c)
{
	struct apath from, to;
	char name[NAME_MAX + 1];
	int dfd;

	if (get_path(a, c, SEND_A_PATH, false, &from) == -1 ||
	    get_path(a, c, SEND_A_PATH_TO, false, &to) == -1)
		return -1;
	if (resolve(a, &to, &dfd, name) == 0 &&
	    mk_create(a, dfd, name, &to) == 0) {
		if (a->mk.type != SEND_C_MKFILE)
			cache_invalidate(a, to.p, to.len);
		mk_clear(&a->mk);
		return 0;
	}
	/* the destination exists (an incremental replacing it, a replay):
	 * do it the kernel's way */
	if (apply_mk_settle(a) == -1)
		return -1;
	return do_rename(a, c);
}

static bool
mk_renamed_next(const struct apply *a, const struct stream_cmd *c)
{
	const uint8_t *p;
	uint32_t len;

	return c->type == SEND_C_RENAME &&
	    stream_get_bytes(c, SEND_A_PATH, &p, &len) == 0 &&
	    len == a->mk.len && memcmp(p, a->mk.path, len) == 0;
}

static int
do_rename(struct apply *a, const struct stream_cmd *c)
{
	struct apath from, to;
	char fname[NAME_MAX + 1], tname[NAME_MAX + 1];
	enum replay_verdict v;
	int fdfd, tdfd, rc;

	if (get_path(a, c, SEND_A_PATH, false, &from) == -1 ||
	    get_path(a, c, SEND_A_PATH_TO, false, &to) == -1)
		return -1;
	if (resolve(a, &from, &fdfd, fname) == -1 ||
	    resolve(a, &to, &tdfd, tname) == -1)
		return -1;
	/* both fds stay cached: the cache holds more than two entries */
	rc = renameat(fdfd, fname, tdfd, tname);
	if (rc == -1 && replayable(a, c->type, rc, &v) == -1) {
		if (v != REPLAY_DROP_SOURCE ||
		    unlinkat(fdfd, fname, AT_REMOVEDIR) == -1)
			return apply_fail(a, errno, "rename '%.*s' to '%.*s'",
			    (int)from.len, (const char *)from.p, (int)to.len,
			    (const char *)to.p);
	}
	if (file_cached(a, &from) != -1) {
		/* the open file moved with its name: follow it */
		cache_invalidate(a, to.p, to.len);
		free(a->fpath);
		a->fpath = apath_str(&to);
		a->fpath_len = to.len;
		cache_invalidate(a, from.p, from.len);
		return 0;
	}
	cache_invalidate(a, from.p, from.len);
	cache_invalidate(a, to.p, to.len);
	return 0;
}

static int
do_link(struct apply *a, const struct stream_cmd *c)
{
	struct apath newp, old;
	char nname[NAME_MAX + 1], oname[NAME_MAX + 1];
	enum replay_verdict v;
	int ndfd, odfd, rc, tries = 0;

	if (get_path(a, c, SEND_A_PATH, false, &newp) == -1 ||
	    get_path(a, c, SEND_A_PATH_LINK, false, &old) == -1)
		return -1;
	if (resolve(a, &newp, &ndfd, nname) == -1 ||
	    resolve(a, &old, &odfd, oname) == -1)
		return -1;
again:
	rc = linkat(odfd, oname, ndfd, nname, 0);
	if (replayable(a, c->type, rc, &v) == 0)
		return 0;
	if (v == REPLAY_REPLACE && tries++ == 0 &&
	    unlinkat(ndfd, nname, 0) == 0) {
		cache_invalidate(a, newp.p, newp.len);
		goto again;
	}
	return apply_fail(a, errno, "link '%.*s' to existing '%.*s'",
	    (int)newp.len, (const char *)newp.p, (int)old.len,
	    (const char *)old.p);
}

static int
do_remove(struct apply *a, const struct stream_cmd *c)
{
	struct apath ap;
	char name[NAME_MAX + 1];
	enum replay_verdict v;
	int dfd, rc;

	if (get_path(a, c, SEND_A_PATH, false, &ap) == -1 ||
	    resolve(a, &ap, &dfd, name) == -1)
		return -1;
	cache_invalidate(a, ap.p, ap.len);
	rc = unlinkat(dfd, name, c->type == SEND_C_RMDIR ? AT_REMOVEDIR : 0);
	if (replayable(a, c->type, rc, &v) == 0)
		return 0;
	return apply_fail(a, errno, "%s '%.*s'", stream_cmd_name(c->type),
	    (int)ap.len, (const char *)ap.p);
}

/* /proc/self/fd/N/name: the l*xattr calls then never follow `name`. */
static int
xattr_target(struct apply *a, const struct stream_cmd *c, char *buf, size_t sz,
    struct apath *ap)
{
	char name[NAME_MAX + 1];
	int dfd;

	if (get_path(a, c, SEND_A_PATH, true, ap) == -1 ||
	    resolve(a, ap, &dfd, name) == -1)
		return -1;
	snprintf(buf, sz, "/proc/self/fd/%d/%s", dfd, name);
	return 0;
}

static int
get_xattr_name(struct apply *a, const struct stream_cmd *c, char out[256])
{
	const uint8_t *p;
	uint32_t len;

	if (stream_get_bytes(c, SEND_A_XATTR_NAME, &p, &len) == -1)
		return apply_fail(a, 0, "missing attribute XATTR_NAME");
	if (len == 0 || len > 255 || memchr(p, '\0', len) != NULL)
		return apply_fail(a, 0, "xattr name empty, over 255 bytes or "
		    "with a NUL byte");
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

static int
do_xattr(struct apply *a, const struct stream_cmd *c)
{
	char target[PATH_MAX + 64], xname[256];
	struct apath ap;
	const uint8_t *val = NULL;
	uint32_t vlen = 0;
	enum replay_verdict v;
	int rc;

	if (xattr_target(a, c, target, sizeof(target), &ap) == -1 ||
	    get_xattr_name(a, c, xname) == -1)
		return -1;
	if (c->type == SEND_C_SET_XATTR) {
		if (stream_get_bytes(c, SEND_A_XATTR_DATA, &val, &vlen) == -1)
			return apply_fail(a, 0, "missing attribute XATTR_DATA");
		rc = lsetxattr(target, xname, val, vlen, 0);
	} else
		rc = lremovexattr(target, xname);
	if (replayable(a, c->type, rc, &v) == 0)
		return 0;
	if (apply_plain_lacks(a, WARN_XATTR, errno, ap.p, ap.len))
		return 0;
	return apply_fail(a, errno, "%s '%s' on '%.*s'",
	    stream_cmd_name(c->type), xname, (int)ap.len, (const char *)ap.p);
}

static int
do_truncate(struct apply *a, const struct stream_cmd *c)
{
	struct apath ap;
	uint64_t size;
	enum replay_verdict v;
	int fd;

	if (get_path(a, c, SEND_A_PATH, false, &ap) == -1 ||
	    get_u64(a, c, SEND_A_SIZE, &size) == -1)
		return -1;
	if (size > INT64_MAX)
		return apply_fail(a, 0, "truncate size %llu out of range",
		    (unsigned long long)size);
	fd = file_get(a, &ap);
	if (fd == -1) {
		if (a->tolerant && replayable(a, c->type, -1, &v) == 0)
			return 0;
		return -1;
	}
	if (ftruncate(fd, (off_t)size) == -1)
		return apply_fail(a, errno, "truncate '%.*s'", (int)ap.len,
		    (const char *)ap.p);
	return 0;
}

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* chmod that refuses symlinks: fchmodat2 (Linux 6.6), else glibc's way. */
static int
chmod_nofollow(int dfd, const char *name, mode_t mode)
{
	if (syscall(SYS_fchmodat2, dfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	return fchmodat(dfd, name, mode, AT_SYMLINK_NOFOLLOW);
}

/*
 * chown(2) clears setuid and setgid on a regular file, even for root.  The
 * kernel sends CHMOD after CHOWN only when the source's mode changed, so a
 * file whose owner changed but whose mode did not (chown, then chmod back
 * to the same mode on the source) would lose those bits here: btrfs
 * receive has this bug.  Put back the bits the file had before; when the
 * mode did change, the CHMOD that follows sets it anyway.
 */
static int
chown_keep_setid(int dfd, const char *name, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd = name == NULL ? dfd : -1;

	if ((fd != -1 ? fstat(fd, &st) :
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW)) == -1)
		return -1;
	if ((fd != -1 ? fchown(fd, uid, gid) :
	    fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW)) == -1)
		return -1;
	if (!S_ISREG(st.st_mode) || !(st.st_mode & (S_ISUID | S_ISGID)))
		return 0;
	if (fd != -1)
		return fchmod(fd, st.st_mode & 07777);
	return chmod_nofollow(dfd, name, st.st_mode & 07777);
}

/* Attributes of the open file: no path resolution at all. */
static int
attr_on_fd(int fd, const struct stream_cmd *c, uint64_t mode, uint64_t uid,
    uint64_t gid, const struct timespec ts[2])
{
	switch (c->type) {
	case SEND_C_CHMOD:
		return fchmod(fd, (mode_t)(mode & 07777));
	case SEND_C_CHOWN:
		return chown_keep_setid(fd, NULL, (uid_t)uid, (gid_t)gid);
	default:
		return futimens(fd, ts);
	}
}

static int
do_attr(struct apply *a, const struct stream_cmd *c)
{
	struct apath ap;
	char name[NAME_MAX + 1];
	struct stream_timespec at, mt;
	struct timespec ts[2];
	uint64_t mode = 0, uid = 0, gid = 0;
	enum replay_verdict v;
	int dfd, fd, rc;

	if (get_path(a, c, SEND_A_PATH, true, &ap) == -1)
		return -1;
	switch (c->type) {
	case SEND_C_CHMOD:
		if (get_u64(a, c, SEND_A_MODE, &mode) == -1)
			return -1;
		break;
	case SEND_C_CHOWN:
		if (get_u64(a, c, SEND_A_UID, &uid) == -1 ||
		    get_u64(a, c, SEND_A_GID, &gid) == -1)
			return -1;
		if (uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1)
			return apply_fail(a, 0, "uid/gid out of range");
		break;
	default:
		if (stream_get_time(c, SEND_A_ATIME, &at) == -1 ||
		    stream_get_time(c, SEND_A_MTIME, &mt) == -1)
			return apply_fail(a, 0, "missing ATIME or MTIME");
		ts[0].tv_sec = (time_t)at.sec;
		ts[0].tv_nsec = at.nsec;
		ts[1].tv_sec = (time_t)mt.sec;
		ts[1].tv_nsec = mt.nsec;
		break;
	}
	/* a plain directory's root stays 0700 until its rename */
	if (a->o.plain_dir && ap.len == 0 && c->type != SEND_C_CHOWN)
		return apply_plain_hold_root(a, c, (mode_t)mode, ts);
	if ((fd = file_cached(a, &ap)) != -1)
		rc = attr_on_fd(fd, c, mode, uid, gid, ts);
	else if (resolve(a, &ap, &dfd, name) == -1)
		return -1;
	else if (c->type == SEND_C_CHMOD)
		rc = chmod_nofollow(dfd, name, (mode_t)(mode & 07777));
	else if (c->type == SEND_C_CHOWN)
		rc = chown_keep_setid(dfd, name, (uid_t)uid, (gid_t)gid);
	else
		rc = utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
	if (replayable(a, c->type, rc, &v) == 0)
		return 0;
	if (c->type == SEND_C_CHOWN &&
	    apply_plain_lacks(a, WARN_OWNER, errno, ap.p, ap.len))
		return 0;
	return apply_fail(a, errno, "%s '%.*s'", stream_cmd_name(c->type),
	    (int)ap.len, (const char *)ap.p);
}

static int
open_src(struct apply *a, const struct stream_cmd *c, int *subfd)
{
	uint8_t uuid[16];
	uint64_t ctransid;

	if (stream_get_uuid(c, SEND_A_CLONE_UUID, uuid) == -1 ||
	    get_u64(a, c, SEND_A_CLONE_CTRANSID, &ctransid) == -1)
		return apply_fail(a, 0, "missing CLONE_UUID");
	if (memcmp(uuid, a->id.uuid, 16) == 0) {
		*subfd = a->subfd;
		return 0;
	}
	if (a->clone_fd != -1 && memcmp(uuid, a->clone_uuid, 16) == 0 &&
	    a->clone_ctransid == ctransid) {
		*subfd = a->clone_fd;
		return 0;
	}
	if (apply_find_subvol(a, uuid, ctransid, "clone source") == -1)
		return -1;
	*subfd = a->clone_fd;
	return 0;
}

static int
do_clone(struct apply *a, const struct stream_cmd *c)
{
	struct file_clone_range r;
	struct apath ap, src;
	uint64_t off, len, soff;
	char *spath;
	int dfd, sfd, subfd = -1, rc;
	enum replay_verdict v;

	if (a->o.plain_dir)
		return apply_fail(a, 0, "CLONE in a subtree stream: a plain "
		    "directory has no clone sources");
	if (get_path(a, c, SEND_A_PATH, false, &ap) == -1 ||
	    get_path(a, c, SEND_A_CLONE_PATH, false, &src) == -1 ||
	    get_u64(a, c, SEND_A_FILE_OFFSET, &off) == -1 ||
	    get_u64(a, c, SEND_A_CLONE_LEN, &len) == -1 ||
	    get_u64(a, c, SEND_A_CLONE_OFFSET, &soff) == -1)
		return -1;
	if (open_src(a, c, &subfd) == -1)
		return -1;
	dfd = file_get(a, &ap);
	if (dfd == -1) {
		if (a->tolerant && replayable(a, c->type, -1, &v) == 0)
			return 0;
		return -1;
	}
	spath = apath_str(&src);
	sfd = apply_open_reg(subfd, spath, O_RDONLY);
	free(spath);
	if (sfd == -1)
		return apply_fail(a, errno, "clone source '%.*s' (must be a "
		    "regular file beneath its subvolume)", (int)src.len,
		    (const char *)src.p);
	memset(&r, 0, sizeof(r));
	r.src_fd = sfd;
	r.src_offset = soff;
	r.src_length = len;
	r.dest_offset = off;
	rc = ioctl(dfd, FICLONERANGE, &r);
	close(sfd);
	if (rc == -1)
		return apply_fail(a, errno, "clone %llu bytes into '%.*s' at "
		    "%llu from '%.*s' at %llu", (unsigned long long)len,
		    (int)ap.len, (const char *)ap.p, (unsigned long long)off,
		    (int)src.len, (const char *)src.p,
		    (unsigned long long)soff);
	return 0;
}

static int
do_fallocate(struct apply *a, const struct stream_cmd *c)
{
	struct apath ap;
	uint64_t off, len;
	uint32_t mode;
	enum replay_verdict v;
	int fd;

	if (get_path(a, c, SEND_A_PATH, false, &ap) == -1 ||
	    get_u64(a, c, SEND_A_FILE_OFFSET, &off) == -1 ||
	    get_u64(a, c, SEND_A_SIZE, &len) == -1)
		return -1;
	if (stream_get_u32(c, SEND_A_FALLOCATE_MODE, &mode) == -1)
		return apply_fail(a, 0, "missing FALLOCATE_MODE");
	if (off > INT64_MAX || len > INT64_MAX)
		return apply_fail(a, 0, "fallocate range out of range");
	fd = file_get(a, &ap);
	if (fd == -1) {
		if (a->tolerant && replayable(a, c->type, -1, &v) == 0)
			return 0;
		return -1;
	}
	if (fallocate(fd, (int)mode, (off_t)off, (off_t)len) == -1)
		return apply_fail(a, errno, "fallocate mode %u on '%.*s'",
		    mode, (int)ap.len, (const char *)ap.p);
	return 0;
}

static unsigned int
fileattr_to_fsflags(uint64_t f)
{
	unsigned int fl = 0;

	if (f & BTRFS_INODE_SYNC)
		fl |= FS_SYNC_FL;
	if (f & BTRFS_INODE_IMMUTABLE)
		fl |= FS_IMMUTABLE_FL;
	if (f & BTRFS_INODE_APPEND)
		fl |= FS_APPEND_FL;
	if (f & BTRFS_INODE_NODUMP)
		fl |= FS_NODUMP_FL;
	if (f & BTRFS_INODE_NOATIME)
		fl |= FS_NOATIME_FL;
	if (f & BTRFS_INODE_DIRSYNC)
		fl |= FS_DIRSYNC_FL;
	if (f & BTRFS_INODE_NODATACOW)
		fl |= FS_NOCOW_FL;
	if (f & BTRFS_INODE_NOCOMPRESS)
		fl |= FS_NOCOMP_FL;
	else if (f & BTRFS_INODE_COMPRESS)
		fl |= FS_COMPR_FL;
	return fl;
}

int
apply_set_fsflags(int fd, unsigned int want, unsigned int mask)
{
	int cur, nw;

	if (ioctl(fd, FS_IOC_GETFLAGS, &cur) == -1)
		return -1;
	nw = (int)(((unsigned int)cur & ~mask) | (want & mask));
	if (nw == cur)
		return 0;
	return ioctl(fd, FS_IOC_SETFLAGS, &nw);
}

static int
do_fileattr(struct apply *a, const struct stream_cmd *c)
{
	struct apath ap;
	char name[NAME_MAX + 1];
	struct stat st;
	uint64_t attr;
	unsigned int want;
	int dfd, fd;

	if (get_path(a, c, SEND_A_PATH, true, &ap) == -1 ||
	    get_u64(a, c, SEND_A_FILEATTR, &attr) == -1 ||
	    resolve(a, &ap, &dfd, name) == -1)
		return -1;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (a->tolerant && errno == ENOENT)
			return 0;
		return apply_fail(a, errno, "fileattr '%.*s'", (int)ap.len,
		    (const char *)ap.p);
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;       /* no flags on special files or symlinks */
	want = fileattr_to_fsflags(attr);
	if (S_ISREG(st.st_mode))
		fd = apply_open_reg(dfd, name, O_RDONLY);
	else
		fd = apply_open_beneath(dfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -1)
		return apply_fail(a, errno, "open '%.*s' for fileattr",
		    (int)ap.len, (const char *)ap.p);
	if (apply_set_fsflags(fd, want, FS_MANAGED_FL & ~FS_BLOCKING_FL) == -1) {
		close(fd);
		if (apply_plain_lacks(a, WARN_FLAGS, errno, ap.p, ap.len))
			return 0;
		return apply_fail(a, errno, "set inode flags 0x%x on '%.*s'",
		    want, (int)ap.len, (const char *)ap.p);
	}
	if ((want & FS_BLOCKING_FL) &&
	    apply_defer_add(a, fd, want, ap.p, ap.len) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
do_verity(struct apply *a, const struct stream_cmd *c)
{
	struct fsverity_enable_arg va;
	struct apath ap;
	char name[NAME_MAX + 1];
	const uint8_t *salt, *sig;
	uint32_t saltlen, siglen, bs;
	uint8_t alg;
	int dfd, fd, rc;

	if (get_path(a, c, SEND_A_PATH, false, &ap) == -1)
		return -1;
	if (stream_get_u8(c, SEND_A_VERITY_ALGORITHM, &alg) == -1 ||
	    stream_get_u32(c, SEND_A_VERITY_BLOCK_SIZE, &bs) == -1 ||
	    stream_get_bytes(c, SEND_A_VERITY_SALT_DATA, &salt, &saltlen) == -1 ||
	    stream_get_bytes(c, SEND_A_VERITY_SIG_DATA, &sig, &siglen) == -1)
		return apply_fail(a, 0, "missing verity attributes");
	/* verity refuses files open for writing */
	cache_invalidate(a, ap.p, ap.len);
	if (resolve(a, &ap, &dfd, name) == -1)
		return -1;
	fd = apply_open_reg(dfd, name, O_RDONLY);
	if (fd == -1)
		return apply_fail(a, errno, "open '%.*s' for verity",
		    (int)ap.len, (const char *)ap.p);
	memset(&va, 0, sizeof(va));
	va.version = 1;
	va.hash_algorithm = alg;
	va.block_size = bs;
	va.salt_size = saltlen;
	va.salt_ptr = (uintptr_t)salt;
	va.sig_size = siglen;
	va.sig_ptr = (uintptr_t)sig;
	rc = ioctl(fd, FS_IOC_ENABLE_VERITY, &va);
	close(fd);
	if (rc == -1 && (errno == ENOTTY || errno == EOPNOTSUPP)) {
		if (!a->verity_warned)
			log_warnx("%s: kernel refuses fs-verity; files stay "
			    "without it", a->name);
		a->verity_warned = true;
		return 0;
	}
	if (rc == -1 && !(a->tolerant && errno == EEXIST))
		return apply_fail(a, errno, "enable verity on '%.*s'",
		    (int)ap.len, (const char *)ap.p);
	return 0;
}

static int
do_update_extent(struct apply *a, const struct stream_cmd *c)
{
	struct apath ap;

	/* NO_FILE_DATA streams: nothing to write, like btrfs receive */
	return get_path(a, c, SEND_A_PATH, false, &ap);
}

int
apply_fs_dispatch(struct apply *a, const struct stream_cmd *c)
{
	if (a->mk.on) {
		if (mk_renamed_next(a, c))
			return mk_rename(a, c);
		if (apply_mk_settle(a) == -1)
			return -1;
	}
	if (a->o.plain_dir && apply_plain_skipped(a, c))
		return 0;
	if (c->type != SEND_C_WRITE && apply_flush(a) == -1)
		return -1;
	switch (c->type) {
	case SEND_C_MKFILE:
	case SEND_C_MKDIR:
	case SEND_C_MKNOD:
	case SEND_C_MKFIFO:
	case SEND_C_MKSOCK:
	case SEND_C_SYMLINK:
		return do_mk(a, c);
	case SEND_C_RENAME:
		return do_rename(a, c);
	case SEND_C_LINK:
		return do_link(a, c);
	case SEND_C_UNLINK:
	case SEND_C_RMDIR:
		return do_remove(a, c);
	case SEND_C_SET_XATTR:
	case SEND_C_REMOVE_XATTR:
		return do_xattr(a, c);
	case SEND_C_WRITE:
		return do_write(a, c);
	case SEND_C_CLONE:
		return do_clone(a, c);
	case SEND_C_TRUNCATE:
		return do_truncate(a, c);
	case SEND_C_CHMOD:
	case SEND_C_CHOWN:
	case SEND_C_UTIMES:
		return do_attr(a, c);
	case SEND_C_UPDATE_EXTENT:
		return do_update_extent(a, c);
	case SEND_C_FALLOCATE:
		return do_fallocate(a, c);
	case SEND_C_FILEATTR:
		return do_fileattr(a, c);
	case SEND_C_ENCODED_WRITE:
		return apply_encoded_write(a, c);
	case SEND_C_ENABLE_VERITY:
		return do_verity(a, c);
	default:
		return apply_fail(a, 0, "unknown command type %u", c->type);
	}
}

/* For apply_encoded.c: the destination fd of an encoded write. */
int apply_file_fd(struct apply *a, const uint8_t *p, uint32_t len);

int
apply_file_fd(struct apply *a, const uint8_t *p, uint32_t len)
{
	struct apath ap = { p, len };

	return file_get(a, &ap);
}
