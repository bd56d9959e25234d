/*
 * Inode flags that block writes (immutable, append-only) go on at END,
 * after every command that might still write the inode.  Until then each
 * one is a record in .btrsend-partial.NAME.flags beside the staging
 * subvolume, never in memory: a stream of millions of FILEATTR commands
 * costs disk, as its data would, but no memory.  Layout (little-endian,
 * 32 bytes a record, nothing else in the file):
 *
 *	0	u64	index of the FILEATTR command
 *	8	u64	inode number (at least 256)
 *	16	u32	inode generation
 *	20	u32	FS_IOC_SETFLAGS flags wanted (a blocking one among them)
 *	24	u32	magic "BSF1"
 *	28	u32	CRC32C (seed 0) of bytes 0..27
 *
 * Command indices never decrease.  An inode is named by number and
 * generation, not by file handle: a handle also names the subvolume, and
 * a resume from a checkpoint snapshot continues in another subvolume
 * with the same inodes.  At END each inode is opened by a handle built
 * for the staging subvolume itself, so a record can reach nothing else.
 * The checkpoint holds the length of the records it covers (flags_bytes):
 * on resume those must all be intact; after them a torn tail (a crash)
 * is cut off, as are records of commands that will be applied again.
 */
#include <btrfsutil.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/apply_impl.h"

#define DEFER_MAGIC     0x31465342u     /* "BSF1" */
#define DEFER_CHUNK     128             /* records read at a time */
#define DEFER_ROOT_INO  256             /* BTRFS_FIRST_FREE_OBJECTID */
#define FILEID_BTRFS    0x4d            /* FILEID_BTRFS_WITHOUT_PARENT */

struct defer_rec {
	uint64_t index, ino;
	uint32_t gen, flags;
};

static void
put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ends a valid prefix where commands are to be applied again */
static const char defer_later[] = "a record of a command not applied yet";

static void
defer_encode(const struct defer_rec *r, uint8_t b[APPLY_DEFER_REC])
{
	put_le(b, r->index, 8);
	put_le(b + 8, r->ino, 8);
	put_le(b + 16, r->gen, 4);
	put_le(b + 20, r->flags, 4);
	put_le(b + 24, DEFER_MAGIC, 4);
	put_le(b + 28, stream_crc32c(0, b, 28), 4);
}

static int
defer_decode(const uint8_t *b, uint64_t prev, uint64_t limit,
    struct defer_rec *r, const char **why)
{
	if (get_le(b + 24, 4) != DEFER_MAGIC) {
		*why = "bad magic";
		return -1;
	}
	if (get_le(b + 28, 4) != stream_crc32c(0, b, 28)) {
		*why = "bad checksum";
		return -1;
	}
	r->index = get_le(b, 8);
	r->ino = get_le(b + 8, 8);
	r->gen = (uint32_t)get_le(b + 16, 4);
	r->flags = (uint32_t)get_le(b + 20, 4);
	if (r->ino < DEFER_ROOT_INO) {
		*why = "inode number below 256";
		return -1;
	}
	if ((r->flags & ~FS_MANAGED_FL) != 0 ||
	    (r->flags & FS_BLOCKING_FL) == 0) {
		*why = "flags out of range";
		return -1;
	}
	if (r->index < prev) {
		*why = "command index goes back";
		return -1;
	}
	if (r->index >= limit) {
		*why = defer_later;
		return 1;
	}
	return 0;
}

size_t
apply_defer_check(const uint8_t *buf, size_t len, uint64_t *prev,
    uint64_t limit, const char **why)
{
	struct defer_rec r;
	size_t off;

	*why = NULL;
	for (off = 0; off + APPLY_DEFER_REC <= len; off += APPLY_DEFER_REC) {
		if (defer_decode(buf + off, *prev, limit, &r, why) != 0)
			return off;
		*prev = r.index;
	}
	if (off < len)
		*why = "short record";
	return off;
}

static int
defer_name(const struct apply *a, char out[NAME_MAX + 1])
{
	return partial_name(a->name, PARTIAL_FLAGS, out);
}

/* Only a regular file of ours, that no one else may write, is read. */
static int
defer_trusted(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0 || st.st_nlink != 1) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static int
defer_open(struct apply *a)
{
	char name[NAME_MAX + 1];

	if (a->defer_fd != -1)
		return 0;
	if (defer_name(a, name) == -1)
		return apply_fail(a, 0, "flags file name too long");
	a->defer_fd = openat(a->dirfd, name, O_RDWR | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (a->defer_fd == -1)
		return apply_fail(a, errno, "create %s", name);
	a->defer_len = 0;
	return 0;
}

/*
 * Remember the blocking flags `want` of the inode open as fd (stream path
 * p), for END.  Written before the command counts as applied, so that a
 * killed process's progress record never claims a FILEATTR whose record
 * is missing.
 */
int
apply_defer_add(struct apply *a, int fd, unsigned int want,
    const uint8_t *p, uint32_t plen)
{
	struct defer_rec r;
	struct stat st;
	uint8_t b[APPLY_DEFER_REC];
	ssize_t n;
	int gen;

	if (fstat(fd, &st) == -1)
		return apply_fail(a, errno, "inode of '%.*s' for its "
		    "immutable/append flags", (int)plen, (const char *)p);
	if (ioctl(fd, FS_IOC_GETVERSION, &gen) == -1) {
		if (!a->o.plain_dir)
			return apply_fail(a, errno, "inode of '%.*s' for its "
			    "immutable/append flags", (int)plen,
			    (const char *)p);
		gen = 0;        /* not told here: matched by number alone */
	}
	if (defer_open(a) == -1)
		return -1;
	r.index = a->cur != NULL ? a->cur->index : 0;
	r.ino = st.st_ino + (a->o.plain_dir ? APPLY_PLAIN_INO_BIAS : 0);
	r.gen = (uint32_t)gen;
	r.flags = want;
	defer_encode(&r, b);
	n = pwrite(a->defer_fd, b, sizeof(b), (off_t)a->defer_len);
	if (n != (ssize_t)sizeof(b))
		return apply_fail(a, n == -1 ? errno : EIO, "record the "
		    "immutable/append flags of '%.*s' in the flags file of %s",
		    (int)plen, (const char *)p, a->name);
	a->defer_len += sizeof(b);
	return 0;
}

void
apply_defer_close(struct apply *a)
{
	if (a->defer_fd != -1)
		close(a->defer_fd);
	a->defer_fd = -1;
	a->defer_len = 0;
}

void
apply_defer_remove(struct apply *a)
{
	char name[NAME_MAX + 1];

	apply_defer_close(a);
	if (defer_name(a, name) == 0)
		(void)unlinkat(a->dirfd, name, 0);
}

/*
 * The valid prefix of the flags file open as fd: records of commands
 * before `next` only.  Its length, with why saying what ends it (NULL at
 * the end of the file, defer_later at a record of a later command), or
 * -1 with errno.
 */
static int
defer_scan(int fd, uint64_t next, uint64_t *len, const char **why)
{
	uint8_t b[DEFER_CHUNK * APPLY_DEFER_REC];
	uint64_t prev = 0;
	ssize_t n;

	*len = 0;
	*why = NULL;
	if (defer_trusted(fd) == -1)
		return -1;
	for (;;) {
		n = pread(fd, b, sizeof(b), (off_t)*len);
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		*len += apply_defer_check(b, (size_t)n, &prev, next, why);
		if (*why != NULL)
			return 0;
	}
}

static int
defer_open_old(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
}

/*
 * Is the flags file of partial NAME intact as far as checkpoint c says?
 * 0, or -1 with the reason in err.
 */
int
apply_defer_verify(int dirfd, const char *name, const struct checkpoint *c,
    char *err, size_t errlen)
{
	char fname[NAME_MAX + 1];
	const char *why;
	uint64_t len = 0;
	int fd, rc = 0;

	if (c->flags_bytes == 0)
		return 0;
	if (partial_name(name, PARTIAL_FLAGS, fname) == -1) {
		snprintf(err, errlen, "flags file name too long");
		return -1;
	}
	if ((fd = defer_open_old(dirfd, fname)) == -1 ||
	    defer_scan(fd, c->ncmds, &len, &why) == -1) {
		snprintf(err, errlen, "%s, the immutable/append flags of the "
		    "partial: %s", fname, strerror(errno));
		rc = -1;
	} else if (len < c->flags_bytes) {
		snprintf(err, errlen, "%s: %s at byte %llu, but the checkpoint "
		    "covers %llu bytes", fname, why != NULL ? why :
		    "end of file", (unsigned long long)len,
		    (unsigned long long)c->flags_bytes);
		rc = -1;
	}
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * On resume at command `next`, with the checkpoint's `durable` bytes of
 * records: keep the records of the commands before `next` and cut the
 * rest.  -1 when a record the checkpoint covers is damaged or missing:
 * its flags would be lost.
 */
int
apply_defer_resume(struct apply *a, uint64_t durable, uint64_t next)
{
	char name[NAME_MAX + 1];
	const char *why = NULL;
	uint64_t len = 0;

	apply_defer_close(a);
	if (defer_name(a, name) == -1)
		return apply_fail(a, 0, "flags file name too long");
	a->defer_fd = defer_open_old(a->dirfd, name);
	if (a->defer_fd == -1 && errno == ENOENT && durable == 0)
		return 0;
	if (a->defer_fd == -1 || defer_scan(a->defer_fd, next, &len, &why) == -1)
		return apply_fail(a, errno, "%s, the immutable/append flags "
		    "of the partial", name);
	if (len < durable)
		return apply_fail(a, 0, "%s: %s at byte %llu, but the "
		    "checkpoint covers %llu bytes: flags would be lost", name,
		    why != NULL ? why : "end of file", (unsigned long long)len,
		    (unsigned long long)durable);
	if (why != NULL && why != defer_later)
		log_warnx("%s: cutting %s at byte %llu (%s), after the "
		    "checkpoint: a torn tail", a->name, name,
		    (unsigned long long)len, why);
	if (ftruncate(a->defer_fd, (off_t)len) == -1)
		return apply_fail(a, errno, "truncate %s", name);
	a->defer_len = len;
	return 0;
}

/* A handle for inode (ino, gen) of the subvolume `root`, and nothing else. */
static int
defer_reopen(struct apply *a, uint64_t root, const struct defer_rec *r)
{
	struct {
		struct file_handle fh;
		uint8_t fid[20];
	} h;
	struct stat st;
	int fd;

	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = sizeof(h.fid);
	h.fh.handle_type = FILEID_BTRFS;
	memcpy(h.fid, &r->ino, 8);              /* the kernel's btrfs_fid */
	memcpy(h.fid + 8, &root, 8);
	memcpy(h.fid + 16, &r->gen, 4);
	fd = open_by_handle_at(a->subfd, &h.fh, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_ino != r->ino) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

static int
defer_apply_one(struct apply *a, uint64_t root, const struct defer_rec *r,
    uint64_t *gone)
{
	int fd;

	if (r->ino == DEFER_ROOT_INO) {         /* after the rename (END) */
		a->root_flags = r->flags;
		return 0;
	}
	fd = defer_reopen(a, root, r);
	if (fd == -1 && errno == ESTALE) {
		/* not in this subvolume: the stream removed it after */
		log_debug("%s: inode %llu of FILEATTR command %llu is gone",
		    a->name, (unsigned long long)r->ino,
		    (unsigned long long)r->index);
		(*gone)++;
		return 0;
	}
	if (fd == -1)
		return apply_fail(a, errno, "reopen inode %llu (FILEATTR "
		    "command %llu) for its immutable/append flags",
		    (unsigned long long)r->ino, (unsigned long long)r->index);
	if (apply_set_fsflags(fd, r->flags, FS_MANAGED_FL) == -1) {
		close(fd);
		return apply_fail(a, errno, "set inode flags 0x%x on inode %llu "
		    "(FILEATTR command %llu)", r->flags,
		    (unsigned long long)r->ino, (unsigned long long)r->index);
	}
	close(fd);
	return 0;
}

/*
 * A plain directory has no handles to open an inode by number: the
 * records are read PLAIN_CHUNK at a time, sorted by inode (the last
 * record of each wins), and the staging tree is walked once per chunk,
 * each regular file and directory looked up.  The root (and a single
 * file's one entry, which is moved out at the end) is remembered in
 * a->root_flags for after the rename.
 */
#define PLAIN_CHUNK     16384

struct pflags {
	struct apply *a;
	struct defer_rec *r;
	size_t n;
	dev_t dev;
	char path[PATH_MAX];
};

static int
prec_cmp(const void *x, const void *y)
{
	const struct defer_rec *p = x, *q = y;

	if (p->ino != q->ino)
		return p->ino < q->ino ? -1 : 1;
	return p->index < q->index ? -1 : p->index > q->index;
}

static int
prec_cmp_ino(const void *x, const void *y)
{
	const struct defer_rec *p = x, *q = y;

	return p->ino < q->ino ? -1 : p->ino > q->ino;
}

static const struct defer_rec *
pflags_find(const struct pflags *pf, int fd, const struct stat *st)
{
	struct defer_rec key, *r;
	int gen;

	key.ino = (uint64_t)st->st_ino + APPLY_PLAIN_INO_BIAS;
	r = bsearch(&key, pf->r, pf->n, sizeof(*pf->r), prec_cmp_ino);
	if (r == NULL || r->gen == 0)
		return r;
	if (ioctl(fd, FS_IOC_GETVERSION, &gen) == -1 || (uint32_t)gen != r->gen)
		return NULL;            /* another inode of the same number */
	return r;
}

static int pflags_dir(struct pflags *pf, int fd, size_t plen, int depth);

/* One entry of a directory: its flags, a directory's after its own. */
static int
pflags_entry(struct pflags *pf, int dfd, const char *name, size_t plen,
    int depth)
{
	struct apply *a = pf->a;
	const struct defer_rec *r;
	struct stat st;
	size_t n = strlen(name);
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return apply_fail(a, errno, "flags: %s", name);
	if ((!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) ||
	    st.st_dev != pf->dev)
		return 0;
	if (plen + 1 + n >= sizeof(pf->path))
		return apply_fail(a, ENAMETOOLONG, "flags: %s", name);
	if (plen > 0)
		pf->path[plen++] = '/';
	memcpy(pf->path + plen, name, n + 1);
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if (fd == -1 && apply_plain_lacks(a, WARN_FLAGS, errno,
	    (const uint8_t *)pf->path, (uint32_t)strlen(pf->path)))
		return 0;       /* a directory this user may not read */
	if (fd == -1)
		return apply_fail(a, errno, "open '%s' for its flags",
		    pf->path);
	if (S_ISDIR(st.st_mode) && pflags_dir(pf, dup(fd), plen + n,
	    depth + 1) == -1) {
		close(fd);
		return -1;
	}
	pf->path[plen + n] = '\0';
	r = pflags_find(pf, fd, &st);
	if (r != NULL && depth == 0 && a->o.single_file &&
	    strcmp(name, a->name) == 0)
		a->root_flags = r->flags;
	else if (r != NULL && apply_set_fsflags(fd, r->flags,
	    FS_MANAGED_FL) == -1 && !apply_plain_lacks(a, WARN_FLAGS, errno,
	    (const uint8_t *)pf->path, (uint32_t)strlen(pf->path))) {
		close(fd);
		return apply_fail(a, errno, "set inode flags 0x%x on '%s'",
		    r->flags, pf->path);
	}
	close(fd);
	return 0;
}

static int
pflags_dir(struct pflags *pf, int fd, size_t plen, int depth)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return apply_fail(pf->a, errno, "read '%s' for its flags",
		    pf->path);
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    (rc = pflags_entry(pf, dirfd(d), de->d_name, plen,
		    depth)) == -1)
			break;
	closedir(d);
	return rc;
}

static int
pflags_chunk(struct pflags *pf)
{
	const struct defer_rec *r;
	struct stat st;
	size_t i, j;

	qsort(pf->r, pf->n, sizeof(*pf->r), prec_cmp);
	for (i = j = 0; i < pf->n; i++) {
		if (i + 1 < pf->n && pf->r[i + 1].ino == pf->r[i].ino)
			continue;
		pf->r[j++] = pf->r[i];
	}
	pf->n = j;
	if (fstat(pf->a->subfd, &st) == -1)
		return apply_fail(pf->a, errno, "%s", pf->a->staging);
	if ((r = pflags_find(pf, pf->a->subfd, &st)) != NULL)
		pf->a->root_flags = r->flags;
	pf->dev = st.st_dev;
	pf->path[0] = '\0';
	return pflags_dir(pf, openat(pf->a->subfd, ".", O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC), 0, 0);
}

static int
defer_plain(struct apply *a)
{
	uint8_t b[DEFER_CHUNK * APPLY_DEFER_REC];
	struct pflags pf;
	const char *why;
	uint64_t off, prev = 0;
	size_t i;
	ssize_t n;
	int rc = 0;

	memset(&pf, 0, sizeof(pf));
	pf.a = a;
	pf.r = xcalloc(PLAIN_CHUNK, sizeof(*pf.r));
	for (off = 0; rc == 0 && off < a->defer_len; off += (uint64_t)n) {
		n = pread(a->defer_fd, b, a->defer_len - off < sizeof(b) ?
		    (size_t)(a->defer_len - off) : sizeof(b), (off_t)off);
		if (n <= 0 || n % APPLY_DEFER_REC != 0) {
			rc = apply_fail(a, n == -1 ? errno : EIO, "read the "
			    "flags file of %s", a->name);
			break;
		}
		for (i = 0; rc == 0 && i < (size_t)n; i += APPLY_DEFER_REC) {
			if (defer_decode(b + i, prev, UINT64_MAX, &pf.r[pf.n],
			    &why) != 0) {
				rc = apply_fail(a, 0, "flags file of %s: "
				    "record at byte %llu: %s", a->name,
				    (unsigned long long)(off + i), why);
				break;
			}
			prev = pf.r[pf.n].index;
			if (++pf.n == PLAIN_CHUNK) {
				rc = pflags_chunk(&pf);
				pf.n = 0;
			}
		}
	}
	if (rc == 0 && pf.n > 0)
		rc = pflags_chunk(&pf);
	free(pf.r);
	return rc;
}

/*
 * At END: every record in order (the last one of an inode wins), read a
 * chunk at a time.  The subvolume root's flags are only remembered in
 * a->root_flags: an immutable root could be neither renamed nor deleted,
 * so apply_set_root_flags puts them on after the rename.
 */
int
apply_set_deferred_flags(struct apply *a)
{
	uint8_t b[DEFER_CHUNK * APPLY_DEFER_REC];
	struct defer_rec r;
	const char *why;
	uint64_t root, off, prev = 0, gone = 0;
	size_t i;
	ssize_t n;

	a->root_flags = 0;
	if (a->defer_fd == -1 || a->defer_len == 0)
		return 0;
	if (a->o.plain_dir)
		return defer_plain(a);
	if (btrfs_util_subvolume_id_fd(a->subfd, &root) != BTRFS_UTIL_OK)
		return apply_fail(a, errno, "subvolume id of %s", a->staging);
	for (off = 0; off < a->defer_len; off += (uint64_t)n) {
		n = pread(a->defer_fd, b, a->defer_len - off < sizeof(b) ?
		    (size_t)(a->defer_len - off) : sizeof(b), (off_t)off);
		if (n == -1)
			return apply_fail(a, errno, "read the flags file of %s",
			    a->name);
		if (n == 0 || n % APPLY_DEFER_REC != 0)
			return apply_fail(a, EIO, "flags file of %s: %llu "
			    "bytes, %llu expected", a->name,
			    (unsigned long long)(off + (uint64_t)n),
			    (unsigned long long)a->defer_len);
		for (i = 0; i < (size_t)n; i += APPLY_DEFER_REC) {
			if (defer_decode(b + i, prev, UINT64_MAX, &r, &why) != 0)
				return apply_fail(a, 0, "flags file of %s: "
				    "record at byte %llu: %s", a->name,
				    (unsigned long long)(off + i), why);
			prev = r.index;
			if (defer_apply_one(a, root, &r, &gone) == -1)
				return -1;
		}
	}
	if (gone > 0)
		log_warnx("%s: %llu immutable/append-only records name inodes "
		    "the stream removed afterwards; nothing to set there",
		    a->name, (unsigned long long)gone);
	return 0;
}

/* After the rename, before read-only: the root's blocking flags. */
int
apply_set_root_flags(struct apply *a)
{
	if ((a->root_flags & FS_BLOCKING_FL) == 0 || a->o.plain_dir)
		return 0;
	if (apply_set_fsflags(a->subfd, a->root_flags, FS_MANAGED_FL) == -1)
		return apply_fail(a, errno, "set inode flags 0x%x on the root "
		    "of %s", a->root_flags, a->name);
	return 0;
}

/*
 * Delete subvolume DIR/name even when its root is immutable or
 * append-only (which makes the kernel refuse): clear those and, for a
 * read-only one, read-only first.
 */
int
apply_subvol_delete(struct apply *a, const char *name)
{
	enum btrfs_util_error e;
	bool ro = false;
	int fd, saved;

	if (a->o.plain_dir)
		return apply_plain_remove(a, name);
	e = btrfs_util_delete_subvolume_fd(a->dirfd, name, 0);
	if (e == BTRFS_UTIL_OK || errno != EPERM)
		return e == BTRFS_UTIL_OK ? 0 : -1;
	saved = errno;
	fd = apply_open_beneath(a->dirfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -1) {
		errno = saved;
		return -1;
	}
	if (btrfs_util_get_subvolume_read_only_fd(fd, &ro) == BTRFS_UTIL_OK &&
	    ro)
		(void)btrfs_util_set_subvolume_read_only_fd(fd, false);
	(void)apply_set_fsflags(fd, 0, FS_BLOCKING_FL);
	close(fd);
	e = btrfs_util_delete_subvolume_fd(a->dirfd, name, 0);
	return e == BTRFS_UTIL_OK ? 0 : -1;
}
