/*
 * Inode flags as FILEATTR commands (engine/fileattr.h): the FS_* to
 * btrfs mapping and the command shape used by the subtree walker, and
 * the flag pass that completes a full send (engine/send.c).
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "proto/base/log.h"
#include "engine/fileattr.h"

/* btrfs inode flags (spec appendix C) */
#define FA_NODATACOW    (1u << 1)
#define FA_NOCOMPRESS   (1u << 3)
#define FA_SYNC         (1u << 5)
#define FA_IMMUTABLE    (1u << 6)
#define FA_APPEND       (1u << 7)
#define FA_NODUMP       (1u << 8)
#define FA_NOATIME      (1u << 9)
#define FA_DIRSYNC      (1u << 10)
#define FA_COMPRESS     (1u << 11)
/* those FS_IOC_GETFLAGS shows (besides the compress pair) */
#define FA_VISIBLE      (FA_NODATACOW | FA_SYNC | FA_IMMUTABLE | \
    FA_APPEND | FA_NODUMP | FA_NOATIME | FA_DIRSYNC)

#define FA_SEARCH_BUF   (256u << 10)    /* inode items read at once */
#define FA_PATHS_BUF    (PATH_MAX + 4096) /* names of one inode */

/* header, PATH's TLV header, FILEATTR's TLV */
#define FA_CMD_MAX      (STREAM_CMD_HEADER_LEN + 4 + PATH_MAX + 4 + 8)

uint64_t
fileattr_from_fsflags(unsigned int fl)
{
	uint64_t f = 0;

	if (fl & FS_SYNC_FL)
		f |= FA_SYNC;
	if (fl & FS_IMMUTABLE_FL)
		f |= FA_IMMUTABLE;
	if (fl & FS_APPEND_FL)
		f |= FA_APPEND;
	if (fl & FS_NODUMP_FL)
		f |= FA_NODUMP;
	if (fl & FS_NOATIME_FL)
		f |= FA_NOATIME;
	if (fl & FS_DIRSYNC_FL)
		f |= FA_DIRSYNC;
	if (fl & FS_NOCOW_FL)
		f |= FA_NODATACOW;
	/* NOCOMPRESS left out: see fileattr_from_btrfs */
	if ((fl & FS_COMPR_FL) && !(fl & FS_NOCOMP_FL))
		f |= FA_COMPRESS;
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

uint64_t
fileattr_from_btrfs(uint64_t raw)
{
	uint64_t f = raw & FA_VISIBLE;

	/*
	 * "No compression" is left out: on a host mounted with compress,
	 * btrfs sets it by itself on a file whose data did not compress, so
	 * it says nothing of the source (a backup host's would come back to
	 * the client on a restore: restore_ls.sh).
	 */
	if ((raw & FA_COMPRESS) && !(raw & FA_NOCOMPRESS))
		f |= FA_COMPRESS;
	return f;
}

/*
 * The flag pass of a full send.  Opening every file for FS_IOC_GETFLAGS
 * cost 0.54 s for 100,000 files (a quarter of the send), and statx's
 * attributes show only immutable, append-only, nodump and compressed.
 * So the inode items are read from the snapshot's tree instead
 * (BTRFS_IOC_TREE_SEARCH_V2, a batch at a time, in inode number order:
 * the send itself needs CAP_SYS_ADMIN, as these do), and only an inode
 * with flags is named, by BTRFS_IOC_INO_PATHS: its first name.  Nested
 * subvolumes are other trees and mount points are not in the tree, so
 * neither is met.
 */

struct fileattr_walk {
	int rootfd;
	uint32_t version;
	struct btrfs_ioctl_search_args_v2 *sa;  /* FA_SEARCH_BUF of items */
	size_t pos;                     /* next item in sa->buf */
	uint32_t left;                  /* items of the batch still unread */
	uint64_t next;                  /* inode number the next batch starts at */
	int done;
	struct btrfs_data_container *names;
	char path[PATH_MAX];
	uint8_t cmd[FA_CMD_MAX];
	char err[PATH_MAX + 128];
};

static int
fa_fail(struct fileattr_walk *fw, uint64_t ino, const char *what)
{
	int err = errno != 0 ? errno : EIO;

	snprintf(fw->err, sizeof(fw->err), "inode %llu: %s for its inode "
	    "flags: %s", (unsigned long long)ino, what, strerror(err));
	errno = err;
	return -1;
}

int
fileattr_walk_open(struct fileattr_walk **fwp, int rootfd, uint32_t version)
{
	struct fileattr_walk *fw;

	*fwp = NULL;
	fw = xcalloc(1, sizeof(*fw));
	fw->rootfd = rootfd;
	fw->version = version;
	fw->sa = xmalloc(sizeof(*fw->sa) + FA_SEARCH_BUF);
	fw->names = xmalloc(FA_PATHS_BUF);
	fw->next = BTRFS_FIRST_FREE_OBJECTID;
	*fwp = fw;
	return 0;
}

void
fileattr_walk_free(struct fileattr_walk *fw)
{
	if (fw == NULL)
		return;
	free(fw->sa);
	free(fw->names);
	free(fw);
}

const char *
fileattr_walk_errmsg(const struct fileattr_walk *fw)
{
	return fw->err;
}

long
fileattr_cmd(uint8_t *buf, size_t cap, uint32_t version, const char *path,
    uint64_t v, struct stream_cmd *c)
{
	struct stream_writer wr;
	size_t plen = strlen(path);
	long n;

	stream_writer_init(&wr, buf, cap, version);
	stream_wr_begin(&wr, SEND_C_FILEATTR);
	fileattr_put(&wr, path, v);
	if ((n = stream_wr_end(&wr)) < 0)
		return -1;
	/* What stream_reader_next would make of these bytes. */
	memset(c, 0, sizeof(*c));
	c->type = SEND_C_FILEATTR;
	c->version = version;
	c->len = (uint32_t)n - STREAM_CMD_HEADER_LEN;
	c->crc = (uint32_t)buf[6] | (uint32_t)buf[7] << 8 |
	    (uint32_t)buf[8] << 16 | (uint32_t)buf[9] << 24;
	c->raw = buf;
	c->present = 1ull << SEND_A_PATH | 1ull << SEND_A_FILEATTR;
	c->attr[SEND_A_PATH].data = buf + STREAM_CMD_HEADER_LEN + 4;
	c->attr[SEND_A_PATH].len = (uint32_t)plen;
	c->attr[SEND_A_FILEATTR].data = buf + STREAM_CMD_HEADER_LEN + 4 +
	    plen + 4;
	c->attr[SEND_A_FILEATTR].len = 8;
	return n;
}

static int
fa_cmd(struct fileattr_walk *fw, uint64_t ino, uint64_t v,
    struct stream_cmd *c)
{
	if (fileattr_cmd(fw->cmd, sizeof(fw->cmd), fw->version, fw->path, v,
	    c) < 0) {
		errno = ENAMETOOLONG;
		return fa_fail(fw, ino, "encode its path");
	}
	return 1;
}

/* fw->path = the first name of ino; 0 when it has none (an orphan). */
static int
fa_name(struct fileattr_walk *fw, uint64_t ino)
{
	struct btrfs_ioctl_ino_path_args a;
	const char *p;
	size_t n;

	fw->path[0] = '\0';
	if (ino == BTRFS_FIRST_FREE_OBJECTID)
		return 1;               /* the root: "" */
	memset(&a, 0, sizeof(a));
	a.inum = ino;
	a.size = FA_PATHS_BUF;
	a.fspath = (uint64_t)(uintptr_t)fw->names;
	if (ioctl(fw->rootfd, BTRFS_IOC_INO_PATHS, &a) == -1)
		return fa_fail(fw, ino, "BTRFS_IOC_INO_PATHS");
	if (fw->names->elem_cnt == 0)
		return 0;
	/* val[0]: offset of the first name from val, NUL-terminated */
	if (fw->names->val[0] >= FA_PATHS_BUF - sizeof(*fw->names)) {
		errno = EBADMSG;
		return fa_fail(fw, ino, "BTRFS_IOC_INO_PATHS");
	}
	p = (const char *)fw->names->val + fw->names->val[0];
	n = strnlen(p, FA_PATHS_BUF - sizeof(*fw->names) - fw->names->val[0]);
	if (n >= sizeof(fw->path)) {
		errno = ENAMETOOLONG;
		return fa_fail(fw, ino, "its path");
	}
	memcpy(fw->path, p, n);
	fw->path[n] = '\0';
	return 1;
}

/* The next batch of the snapshot's items, from inode fw->next on. */
static int
fa_search(struct fileattr_walk *fw)
{
	struct btrfs_ioctl_search_key *k = &fw->sa->key;

	memset(k, 0, sizeof(*k));
	k->tree_id = 0;                 /* the tree of rootfd */
	k->min_objectid = fw->next;
	k->max_objectid = BTRFS_LAST_FREE_OBJECTID;
	k->min_type = BTRFS_INODE_ITEM_KEY;
	k->max_type = BTRFS_INODE_ITEM_KEY;
	k->max_offset = UINT64_MAX;
	k->max_transid = UINT64_MAX;
	k->nr_items = UINT32_MAX;
	fw->sa->buf_size = FA_SEARCH_BUF;
	if (ioctl(fw->rootfd, BTRFS_IOC_TREE_SEARCH_V2, fw->sa) == -1)
		return fa_fail(fw, fw->next, "BTRFS_IOC_TREE_SEARCH_V2");
	fw->pos = 0;
	fw->left = k->nr_items;
	if (fw->left == 0)
		fw->done = 1;
	return 0;
}

/*
 * The next inode item: 1 with *ino, *mode, *raw; 0 at the end.  The
 * range also yields other items (keys are compared whole); they are
 * passed over.  An inode's INODE_ITEM is its first item, so the next
 * batch starts at the inode after the last one seen.
 */
static int
fa_item(struct fileattr_walk *fw, uint64_t *ino, uint32_t *mode,
    uint64_t *raw)
{
	struct btrfs_ioctl_search_header h;
	struct btrfs_inode_item ii;

	for (;;) {
		if (fw->left == 0) {
			if (fw->done)
				return 0;
			if (fa_search(fw) == -1)
				return -1;
			continue;
		}
		if (fw->pos + sizeof(h) > FA_SEARCH_BUF)
			break;
		memcpy(&h, fw->sa->buf + fw->pos, sizeof(h));
		if (h.len > FA_SEARCH_BUF - fw->pos - sizeof(h))
			break;
		fw->pos += sizeof(h);
		fw->left--;
		if (h.objectid >= BTRFS_LAST_FREE_OBJECTID)
			fw->done = 1;
		else
			fw->next = h.objectid + 1;
		if (h.type != BTRFS_INODE_ITEM_KEY || h.len < sizeof(ii)) {
			fw->pos += h.len;
			continue;
		}
		memcpy(&ii, fw->sa->buf + fw->pos, sizeof(ii));
		fw->pos += h.len;
		*ino = h.objectid;
		*mode = le32toh(ii.mode);
		*raw = le64toh(ii.flags);
		return 1;
	}
	errno = EBADMSG;
	return fa_fail(fw, fw->next, "BTRFS_IOC_TREE_SEARCH_V2 result");
}

int
fileattr_walk_next(struct fileattr_walk *fw, struct stream_cmd *c)
{
	uint64_t ino, raw, v;
	uint32_t mode;
	int rc;

	while ((rc = fa_item(fw, &ino, &mode, &raw)) == 1) {
		/* Symlinks have no flags; a special file's ioctl is its device's. */
		if (!S_ISREG(mode) && !S_ISDIR(mode))
			continue;
		if ((v = fileattr_from_btrfs(raw)) == 0)
			continue;
		if ((rc = fa_name(fw, ino)) == -1)
			return -1;
		if (rc == 1)
			return fa_cmd(fw, ino, v, c);
	}
	return rc;
}
