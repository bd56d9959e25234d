/*
 * FILEATTR commands for a full send (send_fa.h).
 */
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "proto/stream/stream.h"
#include "engine/send_fa.h"
#include "engine/walk.h"

struct fa_walk {
	struct send_fa *fa;
	uint32_t version;
	char path[8192];               /* longer paths are left out */
	size_t cap;                     /* commands room */
	dev_t dev;
	ino_t *seen;                    /* inodes with more than one link */
	size_t nseen, capseen;
	char *err;
	size_t errlen;
};

static int
fa_seen(struct fa_walk *w, ino_t ino)
{
	size_t i;

	for (i = 0; i < w->nseen; i++)
		if (w->seen[i] == ino)
			return 1;
	if (w->nseen == w->capseen) {
		w->capseen = w->capseen ? 2 * w->capseen : 64;
		w->seen = xrealloc(w->seen, w->capseen * sizeof(*w->seen));
	}
	w->seen[w->nseen++] = ino;
	return 0;
}

/* One FILEATTR for path (relative to the root) when fd has flags. */
static void
fa_add(struct fa_walk *w, int fd)
{
	struct stream_writer wr;
	unsigned int fl = 0;
	uint64_t v;
	size_t cap;
	uint8_t *buf;
	long len;

	/*
	 * Not "no compression": btrfs sets it by itself on a file whose data
	 * did not compress where it was written, so on the backup host it
	 * says more about that filesystem than about the source.
	 */
	if (ioctl(fd, FS_IOC_GETFLAGS, &fl) == -1 ||
	    (v = walk_fsflags_to_fileattr(fl & ~(unsigned)FS_NOCOMP_FL)) == 0)
		return;
	cap = strlen(w->path) + 64;
	buf = xmalloc(cap);
	stream_writer_init(&wr, buf, cap, w->version);
	stream_wr_begin(&wr, SEND_C_FILEATTR);
	stream_wr_str(&wr, SEND_A_PATH, w->path);
	stream_wr_u64(&wr, SEND_A_FILEATTR, v);
	if ((len = stream_wr_end(&wr)) <= 0) {
		free(buf);
		return;
	}
	if (w->fa->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 32;
		w->fa->cmds = xrealloc(w->fa->cmds, w->cap * sizeof(*w->fa->cmds));
		w->fa->lens = xrealloc(w->fa->lens, w->cap * sizeof(*w->fa->lens));
	}
	w->fa->cmds[w->fa->n] = buf;
	w->fa->lens[w->fa->n++] = (size_t)len;
}

static int
fa_dir(struct fa_walk *w, int dfd, size_t plen, int depth)
{
	struct dirent *de;
	struct stat st;
	size_t nlen;
	DIR *d;
	int fd, dup_fd;

	if ((dup_fd = dup(dfd)) == -1 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd != -1)
			close(dup_fd);
		snprintf(w->err, w->errlen, "%s: %s", plen ? w->path : ".",
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		nlen = strlen(de->d_name);
		if (plen + nlen + 2 > sizeof(w->path) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    st.st_dev != w->dev ||
		    (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)))
			continue;
		if (S_ISREG(st.st_mode) && st.st_nlink > 1 &&
		    fa_seen(w, st.st_ino))
			continue;
		if (plen > 0)
			w->path[plen] = '/';
		memcpy(w->path + plen + (plen > 0), de->d_name, nlen + 1);
		if ((fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC | (S_ISDIR(st.st_mode) ?
		    O_DIRECTORY : 0))) != -1) {
			fa_add(w, fd);
			if (S_ISDIR(st.st_mode) && depth < SEND_FA_MAX_DEPTH &&
			    fa_dir(w, fd, plen + (plen > 0) + nlen,
			    depth + 1) == -1) {
				close(fd);
				closedir(d);
				return -1;
			}
			close(fd);
		}
		w->path[plen] = '\0';
	}
	closedir(d);
	return 0;
}

int
send_fa_collect(int rootfd, uint32_t version, struct send_fa *fa, char *err,
    size_t errlen)
{
	struct fa_walk w;
	struct stat st;
	int rc;

	memset(&w, 0, sizeof(w));
	w.fa = fa;
	w.version = version;
	w.err = err;
	w.errlen = errlen;
	fa->built = 1;
	if (fstat(rootfd, &st) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	w.dev = st.st_dev;
	rc = fa_dir(&w, rootfd, 0, 0);
	free(w.seen);
	return rc;
}

void
send_fa_free(struct send_fa *fa)
{
	size_t i;

	for (i = 0; i < fa->n; i++)
		free(fa->cmds[i]);
	free(fa->cmds);
	free(fa->lens);
	memset(fa, 0, sizeof(*fa));
}
