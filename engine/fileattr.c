/*
 * Inode flags as FILEATTR commands (engine/fileattr.h): the FS_* to
 * btrfs mapping and the command shape used by the subtree walker, and
 * the flag pass that completes a full send (engine/send.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/fileattr.h"

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

/* header, PATH's TLV header, FILEATTR's TLV */
#define FA_CMD_MAX      (STREAM_CMD_HEADER_LEN + 4 + PATH_MAX + 4 + 8)

uint64_t
fileattr_from_fsflags(unsigned int fl)
{
	uint64_t f = 0;

	if (fl & FS_SYNC_FL)
		f |= BTRFS_INODE_SYNC;
	if (fl & FS_IMMUTABLE_FL)
		f |= BTRFS_INODE_IMMUTABLE;
	if (fl & FS_APPEND_FL)
		f |= BTRFS_INODE_APPEND;
	if (fl & FS_NODUMP_FL)
		f |= BTRFS_INODE_NODUMP;
	if (fl & FS_NOATIME_FL)
		f |= BTRFS_INODE_NOATIME;
	if (fl & FS_DIRSYNC_FL)
		f |= BTRFS_INODE_DIRSYNC;
	if (fl & FS_NOCOW_FL)
		f |= BTRFS_INODE_NODATACOW;
	if (fl & FS_NOCOMP_FL)
		f |= BTRFS_INODE_NOCOMPRESS;
	else if (fl & FS_COMPR_FL)
		f |= BTRFS_INODE_COMPRESS;
	return f;
}

int
fileattr_get(int fd, uint64_t *v)
{
	unsigned int fl = 0;

	*v = 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &fl) == -1) {
		if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL)
			return 0;       /* a filesystem without flags */
		return -1;
	}
	*v = fileattr_from_fsflags(fl);
	return 0;
}

void
fileattr_put(struct stream_writer *wr, const char *path, uint64_t v)
{
	stream_wr_str(wr, SEND_A_PATH, path);
	stream_wr_u64(wr, SEND_A_FILEATTR, v);
}

/* The flag pass of a full send. */

struct fa_frame {
	DIR *d;
	size_t plen;                    /* its path's length in fw->path */
};

struct fileattr_walk {
	int rootfd;
	uint32_t version;
	dev_t dev;
	int started;
	struct fa_frame *stack;
	size_t depth, cap;
	void *links;                    /* uint64_t inode numbers */
	char path[PATH_MAX];
	uint8_t cmd[FA_CMD_MAX];
	char err[PATH_MAX + 128];
};

static int
fa_fail(struct fileattr_walk *fw, const char *what)
{
	int err = errno != 0 ? errno : EIO;

	snprintf(fw->err, sizeof(fw->err), "%s: %s for its inode flags: %s",
	    *fw->path ? fw->path : ".", what, strerror(err));
	errno = err;
	return -1;
}

/* Read-only, never following the name; no atime update where allowed. */
static int
fa_open(int dfd, const char *name, int extra)
{
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOATIME | extra);
	if (fd == -1 && errno == EPERM)
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    extra);
	return fd;
}

int
fileattr_walk_open(struct fileattr_walk **fwp, int rootfd, uint32_t version)
{
	struct fileattr_walk *fw;
	struct stat st;

	*fwp = NULL;
	if (fstat(rootfd, &st) == -1)
		return -1;
	fw = xcalloc(1, sizeof(*fw));
	fw->rootfd = rootfd;
	fw->version = version;
	fw->dev = st.st_dev;
	*fwp = fw;
	return 0;
}

void
fileattr_walk_free(struct fileattr_walk *fw)
{
	if (fw == NULL)
		return;
	while (fw->depth > 0)
		closedir(fw->stack[--fw->depth].d);
	free(fw->stack);
	if (fw->links != NULL)
		tdestroy(fw->links, free);
	free(fw);
}

const char *
fileattr_walk_errmsg(const struct fileattr_walk *fw)
{
	return fw->err;
}

static int
ino_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* 1 when ino was met before; else remembers it. */
static int
fa_link_seen(struct fileattr_walk *fw, uint64_t ino)
{
	uint64_t *k;

	if (tfind(&ino, &fw->links, ino_cmp) != NULL)
		return 1;
	k = xmalloc(sizeof(*k));
	*k = ino;
	if (tsearch(k, &fw->links, ino_cmp) == NULL)
		fatalx("out of memory");
	return 0;
}

/* The command for fw->path, encoded as the kernel encodes it. */
static int
fa_cmd(struct fileattr_walk *fw, uint64_t v, struct stream_cmd *c)
{
	struct stream_writer wr;
	size_t plen = strlen(fw->path);
	long n;

	stream_writer_init(&wr, fw->cmd, sizeof(fw->cmd), fw->version);
	stream_wr_begin(&wr, SEND_C_FILEATTR);
	fileattr_put(&wr, fw->path, v);
	if ((n = stream_wr_end(&wr)) < 0) {
		errno = ENAMETOOLONG;
		return fa_fail(fw, "encode");
	}
	memset(c, 0, sizeof(*c));
	c->type = SEND_C_FILEATTR;
	c->version = fw->version;
	c->len = (uint32_t)n - STREAM_CMD_HEADER_LEN;
	c->crc = (uint32_t)fw->cmd[6] | (uint32_t)fw->cmd[7] << 8 |
	    (uint32_t)fw->cmd[8] << 16 | (uint32_t)fw->cmd[9] << 24;
	c->raw = fw->cmd;
	c->present = 1ull << SEND_A_PATH | 1ull << SEND_A_FILEATTR;
	c->attr[SEND_A_PATH].data = fw->cmd + STREAM_CMD_HEADER_LEN + 4;
	c->attr[SEND_A_PATH].len = (uint32_t)plen;
	c->attr[SEND_A_FILEATTR].data = fw->cmd + STREAM_CMD_HEADER_LEN + 4 +
	    plen + 4;
	c->attr[SEND_A_FILEATTR].len = 8;
	return 1;
}

static int
fa_push(struct fileattr_walk *fw, int fd)
{
	DIR *d;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return fa_fail(fw, "read directory");
	}
	if (fw->depth == fw->cap) {
		fw->cap = fw->cap ? fw->cap * 2 : 16;
		fw->stack = xrealloc(fw->stack, fw->cap * sizeof(*fw->stack));
	}
	fw->stack[fw->depth].d = d;
	fw->stack[fw->depth].plen = strlen(fw->path);
	fw->depth++;
	return 0;
}

/* A directory of the snapshot: its flags, then it is walked. */
static int
fa_dir(struct fileattr_walk *fw, int dfd, const char *name, uint64_t *v)
{
	struct stat st;
	int fd;

	*v = 0;
	if ((fd = fa_open(dfd, name, O_DIRECTORY)) == -1)
		return fa_fail(fw, "open directory");
	if (fstat(fd, &st) == -1) {
		close(fd);
		return fa_fail(fw, "stat");
	}
	if (st.st_dev != fw->dev) {
		/* a nested subvolume or a mount: not part of the snapshot */
		close(fd);
		return 0;
	}
	if (fileattr_get(fd, v) == -1) {
		close(fd);
		return fa_fail(fw, "FS_IOC_GETFLAGS");
	}
	return fa_push(fw, fd);
}

/* A regular file; a further name of a flagged inode gives 0. */
static int
fa_reg(struct fileattr_walk *fw, int dfd, const char *name, uint64_t *v)
{
	struct stat st;
	int fd, rc = 0;

	if ((fd = fa_open(dfd, name, O_NONBLOCK)) == -1)
		return fa_fail(fw, "open");
	if (fileattr_get(fd, v) == -1)
		rc = fa_fail(fw, "FS_IOC_GETFLAGS");
	else if (*v != 0 && fstat(fd, &st) == -1)
		rc = fa_fail(fw, "stat");
	else if (*v != 0 && st.st_nlink > 1 && fa_link_seen(fw, st.st_ino))
		*v = 0;
	close(fd);
	return rc;
}

/* fw->path = the top directory's path + '/' + name. */
static int
fa_child(struct fileattr_walk *fw, const char *name)
{
	size_t plen = fw->stack[fw->depth - 1].plen, n = strlen(name);

	if (plen + 1 + n >= sizeof(fw->path)) {
		errno = ENAMETOOLONG;
		return fa_fail(fw, name);
	}
	if (plen > 0)
		fw->path[plen++] = '/';
	memcpy(fw->path + plen, name, n + 1);
	return 0;
}

static int
fa_type(struct fileattr_walk *fw, int dfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type;
	if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return fa_fail(fw, "stat");
	return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG :
	    DT_LNK;
}

static int
fa_root(struct fileattr_walk *fw, struct stream_cmd *c)
{
	uint64_t v;
	int fd;

	fw->started = 1;
	fw->path[0] = '\0';
	if ((fd = fa_open(fw->rootfd, ".", O_DIRECTORY)) == -1)
		return fa_fail(fw, "open directory");
	if (fileattr_get(fd, &v) == -1) {
		close(fd);
		return fa_fail(fw, "FS_IOC_GETFLAGS");
	}
	if (fa_push(fw, fd) == -1)
		return -1;
	return v != 0 ? fa_cmd(fw, v, c) : 0;
}

int
fileattr_walk_next(struct fileattr_walk *fw, struct stream_cmd *c)
{
	struct fa_frame *f;
	struct dirent *de;
	uint64_t v;
	int rc, t;

	if (!fw->started && (rc = fa_root(fw, c)) != 0)
		return rc;
	while (fw->depth > 0) {
		f = &fw->stack[fw->depth - 1];
		fw->path[f->plen] = '\0';
		errno = 0;
		if ((de = readdir(f->d)) == NULL) {
			if (errno != 0)
				return fa_fail(fw, "read directory");
			closedir(f->d);
			fw->depth--;
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		/* Symlinks have no flags; special files' ioctl is the device's. */
		if ((t = fa_type(fw, dirfd(f->d), de)) == -1)
			return -1;
		if (t != DT_DIR && t != DT_REG)
			continue;
		if (fa_child(fw, de->d_name) == -1)
			return -1;
		rc = t == DT_DIR ? fa_dir(fw, dirfd(f->d), de->d_name, &v) :
		    fa_reg(fw, dirfd(f->d), de->d_name, &v);
		if (rc == -1)
			return -1;
		if (v != 0)
			return fa_cmd(fw, v, c);
	}
	return 0;
}
