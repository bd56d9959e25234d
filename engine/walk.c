/*
 * The subtree stream producer (engine/walk.h, docs/protocol.md "The
 * subtree stream").  A preorder walk in readdir order: every inode is
 * created at its final path (no orphan names: nothing is renamed), a
 * further name of a hard-linked inode is a LINK to the first, and a
 * directory's own attributes follow its children, so that a directory
 * made read-only or given a default ACL does not change how its
 * children are created.  The snapshot is read-only, so its readdir
 * order, extents and xattr lists do not change and the bytes repeat.
 *
 * Memory: one open directory per level of depth, and for every inode
 * with more than one link that the walk has met, its number and first
 * path (the hard-link map); nothing else grows with the tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/fileattr.h"
#include "engine/send_plan.h"
#include "engine/walk.h"

#define WALK_BUF        (1u << 20)      /* bytes written to the pipe at once */
#define WALK_CMD_MAX    (256u << 10)    /* room one command needs at most */
#define WALK_DATA_V1    49152           /* data per WRITE, as the kernel */
#define WALK_DATA_V2    131072
#define WALK_XATTR_MAX  65535           /* a TLV value */
#define WALK_CAP_XATTR  "security.capability"

struct walk_link {
	uint64_t ino;
	char path[];
};

struct walk_frame {
	DIR *d;
	size_t plen;                    /* its path's length in w->path */
	struct statx stx;
};

struct walk {
	struct send_subtree *st;
	uint32_t version;
	int no_data;
	int rootfd;                     /* the directory, or a file's parent */
	char *fname;                    /* a file: its name in rootfd */
	uint32_t dev_major, dev_minor;

	int out;                        /* -1: counting (walk_estimate) */
	atomic_int *cancel;
	uint64_t total;                 /* data bytes */
	uint8_t *buf;
	size_t len;
	struct stream_writer wr;
	uint8_t *data;
	char *xlist;
	uint8_t *xval;
	char path[PATH_MAX];
	struct walk_frame *stack;
	size_t depth, stcap;
	void *links;

	int errnum;
	char err[512];
};

static int
walk_fail(struct walk *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
walk_fail(struct walk *w, int err, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (w->errnum != 0)
		return -1;              /* the first error says it best */
	w->errnum = err != 0 ? err : EIO;
	snprintf(w->err, sizeof(w->err), "%s%s%s", why, err ? ": " : "",
	    err ? strerror(err) : "");
	return -1;
}

/* Read-only, never following name; no atime update where allowed. */
static int
open_ro(int dfd, const char *name, int extra)
{
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOATIME | extra);
	if (fd == -1 && errno == EPERM)
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    extra);
	return fd;
}

static int
do_statx(int dfd, const char *name, struct statx *stx)
{
	return statx(dfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT |
	    (*name == '\0' ? AT_EMPTY_PATH : 0),
	    STATX_BASIC_STATS | STATX_BTIME, stx);
}

/* One component of the subtree's path: the next directory, or the file. */
static int
resolve_step(struct walk *w, int *dfd, const char *comp, bool last,
    struct send_error *e)
{
	struct statx stx;
	int nfd;

	if (do_statx(*dfd, comp, &stx) == -1) {
		send_seterr(e, errno, "%s: %s in the snapshot", w->st->path,
		    comp);
		return -1;
	}
	if (S_ISLNK(stx.stx_mode)) {
		send_seterr(e, ELOOP, "%s: %s is a symbolic link", w->st->path,
		    comp);
		e->cls = ERR_PERMANENT;
		return -1;
	}
	if (stx.stx_dev_major != w->dev_major ||
	    stx.stx_dev_minor != w->dev_minor) {
		send_seterr(e, EXDEV, "%s: %s is another subvolume or a mount "
		    "point, not part of the snapshot", w->st->path, comp);
		e->cls = ERR_PERMANENT;
		return -1;
	}
	if (last && !S_ISDIR(stx.stx_mode)) {
		w->fname = xstrdup(comp);
		w->st->is_file = 1;
		return 0;
	}
	if (!S_ISDIR(stx.stx_mode)) {
		send_seterr(e, ENOTDIR, "%s: %s", w->st->path, comp);
		e->cls = ERR_PERMANENT;
		return -1;
	}
	if ((nfd = open_ro(*dfd, comp, O_DIRECTORY)) == -1) {
		send_seterr(e, errno, "%s: open %s in the snapshot",
		    w->st->path, comp);
		return -1;
	}
	close(*dfd);
	*dfd = nfd;
	return 0;
}

/* Component by component, each checked before it is opened. */
static int
walk_resolve(struct walk *w, struct send_error *e)
{
	const char *p = w->st->path, *slash;
	char comp[NAME_MAX + 1];
	struct statx stx;
	size_t n;
	int dfd;


	if ((dfd = open_ro(w->st->snapfd, ".", O_DIRECTORY)) == -1 ||
	    do_statx(dfd, "", &stx) == -1) {
		send_seterr(e, errno, "open the snapshot's root directory");
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	w->dev_major = stx.stx_dev_major;
	w->dev_minor = stx.stx_dev_minor;
	w->st->is_file = 0;
	while (*p != '\0') {
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			send_seterr(e, EINVAL, "%s: not a plain path inside "
			    "the snapshot", w->st->path);
			e->cls = ERR_PERMANENT;
			close(dfd);
			return -1;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (resolve_step(w, &dfd, comp, slash == NULL, e) == -1) {
			close(dfd);
			return -1;
		}
		p += n + (slash != NULL);
	}
	w->rootfd = dfd;
	return 0;
}

int
walk_open(struct walk **wp, struct send_subtree *st, uint32_t version,
    int no_data, struct send_error *e)
{
	struct walk *w;

	*wp = NULL;
	if (version < 1 || version > 2) {
		send_seterr(e, EPROTO, "a subtree stream is version 1 or 2, "
		    "not %u", version);
		e->cls = ERR_PERMANENT;
		return -1;
	}
	w = xcalloc(1, sizeof(*w));
	w->st = st;
	w->version = version;
	w->no_data = no_data;
	w->rootfd = w->out = -1;
	if (walk_resolve(w, e) == -1) {
		walk_free(w);
		return -1;
	}
	*wp = w;
	return 0;
}

void
walk_free(struct walk *w)
{
	if (w == NULL)
		return;
	while (w->depth > 0)
		closedir(w->stack[--w->depth].d);
	free(w->stack);
	if (w->links != NULL)
		tdestroy(w->links, free);
	if (w->rootfd != -1)
		close(w->rootfd);
	free(w->fname);
	free(w->buf);
	free(w->data);
	free(w->xlist);
	free(w->xval);
	free(w);
}

const char *
walk_errmsg(const struct walk *w)
{
	return w->err;
}

/* Output: whole commands, a buffer at a time. */

static int
out_flush(struct walk *w)
{
	size_t done = 0;
	ssize_t n;

	if (w->out == -1) {
		w->len = 0;
		return 0;
	}
	while (done < w->len) {
		if (atomic_load(w->cancel))
			return walk_fail(w, ECANCELED, "send cancelled");
		n = write(w->out, w->buf + done, w->len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return walk_fail(w, errno, "write to the send pipe");
		done += (size_t)n;
	}
	w->len = 0;
	return 0;
}

static struct stream_writer *
cmd_begin(struct walk *w, int type)
{
	if (WALK_BUF - w->len < WALK_CMD_MAX && out_flush(w) == -1)
		return NULL;
	stream_writer_init(&w->wr, w->buf + w->len, WALK_BUF - w->len,
	    w->version);
	stream_wr_begin(&w->wr, type);
	return &w->wr;
}

static int
cmd_end(struct walk *w)
{
	long n;

	if ((n = stream_wr_end(&w->wr)) < 0)
		return walk_fail(w, E2BIG, "%s: a command does not fit",
		    w->path);
	w->len += (size_t)n;
	return 0;
}

static int
emit_end(struct walk *w)
{
	if (cmd_begin(w, SEND_C_END) == NULL)
		return -1;
	return cmd_end(w);
}

/* new_encode_dev (spec §4, RDEV) */
static uint64_t
encode_dev(uint32_t major, uint32_t minor)
{
	return (minor & 0xffu) | ((uint64_t)major << 8) |
	    ((uint64_t)(minor & ~0xffu) << 12);
}

static int
emit_mk(struct walk *w, int type, const struct statx *stx, const char *target)
{
	struct stream_writer *wr;

	if ((wr = cmd_begin(w, type)) == NULL)
		return -1;
	stream_wr_str(wr, SEND_A_PATH, w->path);
	stream_wr_u64(wr, SEND_A_INO, stx->stx_ino);
	if (type == SEND_C_MKNOD || type == SEND_C_MKFIFO ||
	    type == SEND_C_MKSOCK) {
		stream_wr_u64(wr, SEND_A_RDEV, encode_dev(stx->stx_rdev_major,
		    stx->stx_rdev_minor));
		stream_wr_u64(wr, SEND_A_MODE, stx->stx_mode);
	}
	if (type == SEND_C_SYMLINK)
		stream_wr_str(wr, SEND_A_PATH_LINK, target);
	return cmd_end(w);
}

static int
emit_owner_mode(struct walk *w, const struct statx *stx)
{
	struct stream_writer *wr;

	if ((wr = cmd_begin(w, SEND_C_CHOWN)) == NULL)
		return -1;
	stream_wr_str(wr, SEND_A_PATH, w->path);
	stream_wr_u64(wr, SEND_A_UID, stx->stx_uid);
	stream_wr_u64(wr, SEND_A_GID, stx->stx_gid);
	if (cmd_end(w) == -1)
		return -1;
	if (S_ISLNK(stx->stx_mode))
		return 0;
	if ((wr = cmd_begin(w, SEND_C_CHMOD)) == NULL)
		return -1;
	stream_wr_str(wr, SEND_A_PATH, w->path);
	stream_wr_u64(wr, SEND_A_MODE, stx->stx_mode & 07777);
	return cmd_end(w);
}

static void
put_time(struct stream_writer *wr, int attr, const struct statx_timestamp *t)
{
	struct stream_timespec ts;

	ts.sec = (uint64_t)t->tv_sec;
	ts.nsec = t->tv_nsec;
	stream_wr_time(wr, attr, &ts);
}

static int
emit_utimes(struct walk *w, const struct statx *stx)
{
	struct stream_writer *wr;

	if ((wr = cmd_begin(w, SEND_C_UTIMES)) == NULL)
		return -1;
	stream_wr_str(wr, SEND_A_PATH, w->path);
	put_time(wr, SEND_A_ATIME, &stx->stx_atime);
	put_time(wr, SEND_A_MTIME, &stx->stx_mtime);
	put_time(wr, SEND_A_CTIME, &stx->stx_ctime);
	if (w->version >= 2 && (stx->stx_mask & STATX_BTIME))
		put_time(wr, SEND_A_OTIME, &stx->stx_btime);
	return cmd_end(w);
}

/* Version 2: the inode flags of a file or directory, when any is set. */
static int
emit_fileattr(struct walk *w, int fd)
{
	struct stream_writer *wr;
	uint64_t v;

	if (w->version < 2 || fd == -1)
		return 0;
	if (fileattr_get(fd, &v) == -1)
		return walk_fail(w, errno, "%s: inode flags", w->path);
	if (v == 0)
		return 0;
	if ((wr = cmd_begin(w, SEND_C_FILEATTR)) == NULL)
		return -1;
	fileattr_put(wr, w->path, v);
	return cmd_end(w);
}

/* Extended attributes: through fd when open, else (dfd, name). */

struct xsrc {
	int fd;
	char proc[PATH_MAX + 64];
};

static void
xsrc_init(struct xsrc *x, int fd, int dfd, const char *name)
{
	x->fd = fd;
	snprintf(x->proc, sizeof(x->proc), "/proc/self/fd/%d/%s", dfd, name);
}

static ssize_t
xsrc_list(const struct xsrc *x, char *buf, size_t len)
{
	return x->fd != -1 ? flistxattr(x->fd, buf, len) :
	    llistxattr(x->proc, buf, len);
}

static ssize_t
xsrc_get(const struct xsrc *x, const char *n, void *buf, size_t len)
{
	return x->fd != -1 ? fgetxattr(x->fd, n, buf, len) :
	    lgetxattr(x->proc, n, buf, len);
}

static int
emit_one_xattr(struct walk *w, const struct xsrc *x, const char *n)
{
	struct stream_writer *wr;
	ssize_t v;

	v = xsrc_get(x, n, w->xval, WALK_XATTR_MAX);
	if (v == -1 && errno == ENODATA)
		return 0;
	if (v == -1)
		return walk_fail(w, errno, "%s: extended attribute %s",
		    w->path, n);
	if ((wr = cmd_begin(w, SEND_C_SET_XATTR)) == NULL)
		return -1;
	stream_wr_str(wr, SEND_A_PATH, w->path);
	stream_wr_str(wr, SEND_A_XATTR_NAME, n);
	stream_wr_bytes(wr, SEND_A_XATTR_DATA, w->xval, (size_t)v);
	return cmd_end(w);
}

/* Every xattr but the capability (which CHOWN would clear: it follows). */
static int
emit_xattrs(struct walk *w, const struct xsrc *x)
{
	ssize_t n;
	size_t off;

	n = xsrc_list(x, w->xlist, XATTR_LIST_MAX);
	if (n == -1 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		return 0;
	if (n == -1)
		return walk_fail(w, errno, "%s: list extended attributes",
		    w->path);
	for (off = 0; off < (size_t)n; off += strlen(w->xlist + off) + 1) {
		if (strcmp(w->xlist + off, WALK_CAP_XATTR) == 0)
			continue;
		if (emit_one_xattr(w, x, w->xlist + off) == -1)
			return -1;
	}
	return 0;
}

static int
emit_cap(struct walk *w, const struct xsrc *x)
{
	return emit_one_xattr(w, x, WALK_CAP_XATTR);
}

/* Data regions only: a hole stays a hole. */
static int
emit_region(struct walk *w, int fd, uint64_t off, uint64_t end)
{
	struct stream_writer *wr;
	size_t max = w->version >= 2 ? WALK_DATA_V2 : WALK_DATA_V1, want;
	ssize_t n;

	if (w->no_data || w->out == -1) {
		w->total += end - off;
		if (w->out == -1)
			return 0;
		if ((wr = cmd_begin(w, SEND_C_UPDATE_EXTENT)) == NULL)
			return -1;
		stream_wr_str(wr, SEND_A_PATH, w->path);
		stream_wr_u64(wr, SEND_A_FILE_OFFSET, off);
		stream_wr_u64(wr, SEND_A_SIZE, end - off);
		return cmd_end(w);
	}
	while (off < end) {
		want = end - off < max ? (size_t)(end - off) : max;
		n = pread(fd, w->data, want, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return walk_fail(w, errno, "%s: read at %llu", w->path,
			    (unsigned long long)off);
		if (n == 0)
			return walk_fail(w, EIO, "%s: shorter than its size "
			    "while being read (the snapshot must be read-only)",
			    w->path);
		if ((wr = cmd_begin(w, SEND_C_WRITE)) == NULL)
			return -1;
		stream_wr_str(wr, SEND_A_PATH, w->path);
		stream_wr_u64(wr, SEND_A_FILE_OFFSET, off);
		stream_wr_data(wr, w->data, (size_t)n);
		if (cmd_end(w) == -1)
			return -1;
		w->total += (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int
emit_data(struct walk *w, int fd, uint64_t size)
{
	struct stream_writer *wr;
	off_t data, hole;
	uint64_t pos = 0;

	while (pos < size) {
		data = lseek(fd, (off_t)pos, SEEK_DATA);
		if (data == -1 && errno == ENXIO)
			break;
		if (data == -1 && errno == EINVAL) {
			/* no SEEK_DATA here: all of it is data */
			if (emit_region(w, fd, pos, size) == -1)
				return -1;
			break;
		}
		if (data == -1 || (hole = lseek(fd, data, SEEK_HOLE)) == -1)
			return walk_fail(w, errno, "%s: find data", w->path);
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		if ((uint64_t)data >= size)
			break;
		if (emit_region(w, fd, (uint64_t)data, (uint64_t)hole) == -1)
			return -1;
		pos = (uint64_t)hole;
	}
	if ((wr = cmd_begin(w, SEND_C_TRUNCATE)) == NULL)
		return -1;
	stream_wr_str(wr, SEND_A_PATH, w->path);
	stream_wr_u64(wr, SEND_A_SIZE, size);
	return cmd_end(w);
}

/* The hard-link map: inode number -> first path in the subtree. */

static int
link_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct walk_link *)a)->ino;
	uint64_t y = ((const struct walk_link *)b)->ino;

	return x < y ? -1 : x > y;
}

/* The first path of ino, or NULL after remembering w->path for it. */
static const char *
link_seen(struct walk *w, uint64_t ino)
{
	struct walk_link key, *l, **found;
	size_t n = strlen(w->path);

	key.ino = ino;
	found = tfind(&key, &w->links, link_cmp);
	if (found != NULL)
		return (*found)->path;
	l = xmalloc(sizeof(*l) + n + 1);
	l->ino = ino;
	memcpy(l->path, w->path, n + 1);
	if (tsearch(l, &w->links, link_cmp) == NULL)
		fatalx("out of memory");
	return NULL;
}

static int
emit_link(struct walk *w, const char *first)
{
	struct stream_writer *wr;

	if ((wr = cmd_begin(w, SEND_C_LINK)) == NULL)
		return -1;
	stream_wr_str(wr, SEND_A_PATH, w->path);
	stream_wr_str(wr, SEND_A_PATH_LINK, first);
	return cmd_end(w);
}

static int
walk_reg(struct walk *w, int dfd, const char *name, const struct statx *stx)
{
	struct xsrc x;
	int fd, rc = -1;

	if ((fd = open_ro(dfd, name, 0)) == -1)
		return walk_fail(w, errno, "%s: open", w->path);
	xsrc_init(&x, fd, dfd, name);
	if (emit_mk(w, SEND_C_MKFILE, stx, NULL) == 0 &&
	    emit_xattrs(w, &x) == 0 &&
	    emit_data(w, fd, stx->stx_size) == 0 &&
	    emit_owner_mode(w, stx) == 0 &&
	    emit_fileattr(w, fd) == 0 &&
	    emit_cap(w, &x) == 0 &&
	    emit_utimes(w, stx) == 0)
		rc = 0;
	close(fd);
	return rc;
}

/* A symlink or special file: no fd, attributes by name. */
static int
walk_special(struct walk *w, int dfd, const char *name,
    const struct statx *stx)
{
	char target[PATH_MAX];
	struct xsrc x;
	ssize_t n;
	int type;

	target[0] = '\0';
	xsrc_init(&x, -1, dfd, name);
	if (S_ISLNK(stx->stx_mode)) {
		n = readlinkat(dfd, name, target, sizeof(target));
		if (n == -1)
			return walk_fail(w, errno, "%s: read link", w->path);
		if (n == 0 || (size_t)n >= sizeof(target))
			return walk_fail(w, ENAMETOOLONG, "%s: link target",
			    w->path);
		target[n] = '\0';
		type = SEND_C_SYMLINK;
	} else if (S_ISFIFO(stx->stx_mode))
		type = SEND_C_MKFIFO;
	else if (S_ISSOCK(stx->stx_mode))
		type = SEND_C_MKSOCK;
	else
		type = SEND_C_MKNOD;
	if (emit_mk(w, type, stx, target) == -1 || emit_xattrs(w, &x) == -1 ||
	    emit_owner_mode(w, stx) == -1 || emit_cap(w, &x) == -1)
		return -1;
	return emit_utimes(w, stx);
}

static int
stack_push(struct walk *w, DIR *d, size_t plen, const struct statx *stx)
{
	if (w->depth == w->stcap) {
		w->stcap = w->stcap ? w->stcap * 2 : 16;
		w->stack = xrealloc(w->stack, w->stcap * sizeof(*w->stack));
	}
	w->stack[w->depth].d = d;
	w->stack[w->depth].plen = plen;
	w->stack[w->depth].stx = *stx;
	w->depth++;
	return 0;
}

/* A directory: created now, its attributes after its children (dir_done). */
static int
walk_dir(struct walk *w, int dfd, const char *name, const struct statx *stx)
{
	DIR *d;
	int fd;

	if (emit_mk(w, SEND_C_MKDIR, stx, NULL) == -1)
		return -1;
	if ((fd = open_ro(dfd, name, O_DIRECTORY)) == -1)
		return walk_fail(w, errno, "%s: open directory", w->path);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return walk_fail(w, errno, "%s: read directory", w->path);
	}
	return stack_push(w, d, strlen(w->path), stx);
}

static int
dir_done(struct walk *w)
{
	struct walk_frame *f = &w->stack[w->depth - 1];
	struct xsrc x;
	int rc = -1;

	w->path[f->plen] = '\0';
	xsrc_init(&x, dirfd(f->d), -1, "");
	if (emit_xattrs(w, &x) == 0 && emit_owner_mode(w, &f->stx) == 0 &&
	    emit_fileattr(w, dirfd(f->d)) == 0 && emit_cap(w, &x) == 0 &&
	    emit_utimes(w, &f->stx) == 0)
		rc = 0;
	closedir(f->d);
	w->depth--;
	return rc;
}

static int
walk_inode(struct walk *w, int dfd, const char *name)
{
	struct statx stx;
	const char *first;

	if (do_statx(dfd, name, &stx) == -1)
		return walk_fail(w, errno, "%s", w->path);
	/*
	 * Another subvolume (in a snapshot, a stub whose times are made up
	 * at each lookup) or a mount: not part of the snapshot, and not in
	 * the kernel's send of it either.
	 */
	if (stx.stx_dev_major != w->dev_major ||
	    stx.stx_dev_minor != w->dev_minor)
		return 0;
	if (!S_ISDIR(stx.stx_mode) && stx.stx_nlink > 1 &&
	    (first = link_seen(w, stx.stx_ino)) != NULL)
		return emit_link(w, first);
	if (S_ISREG(stx.stx_mode))
		return walk_reg(w, dfd, name, &stx);
	if (S_ISDIR(stx.stx_mode))
		return walk_dir(w, dfd, name, &stx);
	return walk_special(w, dfd, name, &stx);
}

/* w->path = the top directory's path + '/' + name. */
static int
path_child(struct walk *w, const char *name)
{
	size_t plen = w->stack[w->depth - 1].plen, n = strlen(name);

	if (plen + 1 + n >= sizeof(w->path))
		return walk_fail(w, ENAMETOOLONG, "%.200s/%s", w->path, name);
	if (plen > 0)
		w->path[plen++] = '/';
	memcpy(w->path + plen, name, n + 1);
	return 0;
}

static int
walk_tree(struct walk *w)
{
	struct statx stx;
	struct dirent *de;
	struct walk_frame *f;
	DIR *d;
	int fd;

	if ((fd = open_ro(w->rootfd, ".", O_DIRECTORY)) == -1 ||
	    do_statx(fd, "", &stx) == -1) {
		if (fd != -1)
			close(fd);
		return walk_fail(w, errno, "open the subtree's root");
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return walk_fail(w, errno, "read the subtree's root");
	}
	w->path[0] = '\0';
	stack_push(w, d, 0, &stx);
	while (w->depth > 0) {
		if (atomic_load(w->cancel))
			return walk_fail(w, ECANCELED, "send cancelled");
		f = &w->stack[w->depth - 1];
		w->path[f->plen] = '\0';
		errno = 0;
		if ((de = readdir(f->d)) == NULL) {
			if (errno != 0)
				return walk_fail(w, errno, "%s: read directory",
				    *w->path ? w->path : ".");
			if (dir_done(w) == -1)
				return -1;
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (path_child(w, de->d_name) == -1 ||
		    walk_inode(w, dirfd(f->d), de->d_name) == -1)
			return -1;
	}
	return 0;
}

static int
walk_file(struct walk *w)
{
	size_t n = strlen(w->st->name);

	if (n == 0 || n >= sizeof(w->path))
		return walk_fail(w, EINVAL, "stream name");
	memcpy(w->path, w->st->name, n + 1);
	return walk_inode(w, w->rootfd, w->fname);
}

static int
emit_begin(struct walk *w)
{
	struct stream_writer *wr;

	stream_writer_init(&w->wr, w->buf, WALK_BUF, w->version);
	if (stream_wr_header(&w->wr) == -1)
		return walk_fail(w, E2BIG, "stream header");
	w->len = STREAM_HEADER_LEN;
	if ((wr = cmd_begin(w, SEND_C_SUBVOL)) == NULL)
		return -1;
	stream_wr_str(wr, SEND_A_PATH, w->st->name);
	stream_wr_uuid(wr, SEND_A_UUID, w->st->uuid);
	stream_wr_u64(wr, SEND_A_CTRANSID, w->st->ctransid);
	return cmd_end(w);
}

static int
walk_go(struct walk *w, int out, atomic_int *cancel)
{
	static atomic_int never;

	w->out = out;
	w->cancel = cancel != NULL ? cancel : &never;
	w->total = 0;
	w->errnum = 0;
	w->err[0] = '\0';
	while (w->depth > 0)
		closedir(w->stack[--w->depth].d);
	if (w->links != NULL)
		tdestroy(w->links, free);
	w->links = NULL;
	if (w->buf == NULL) {
		w->buf = xmalloc(WALK_BUF);
		w->data = xmalloc(WALK_DATA_V2);
		w->xlist = xmalloc(XATTR_LIST_MAX);
		w->xval = xmalloc(WALK_XATTR_MAX);
	}
	if (emit_begin(w) == -1 ||
	    (w->st->is_file ? walk_file(w) : walk_tree(w)) == -1 ||
	    emit_end(w) == -1 || out_flush(w) == -1)
		return -1;
	return 0;
}

int
walk_run(struct walk *w, int out, atomic_int *cancel)
{
	if (walk_go(w, out, cancel) == -1)
		return w->errnum != 0 ? w->errnum : EIO;
	return 0;
}

int
walk_estimate(struct walk *w, uint64_t *total)
{
	*total = 0;
	if (walk_go(w, -1, NULL) == -1)
		return -1;
	*total = w->total;
	return 0;
}
