/*
 * Arbitrary bytes as a subtree stream applied into a plain directory
 * (apply_opts.plain_dir, docs/protocol.md "The subtree stream"), into a
 * fresh directory on tmpfs each run.  It must never crash, and never
 * write outside that directory: beside it lies a file that must stay as
 * it is, and nothing else may appear there.  The directory holds
 * symlinks that lead out, one under the staging name of a partial.
 *
 * The first byte picks the options: bit 0 single_file, bit 1 hold_end
 * (then apply_commit at the end), bit 2 small checkpoints, bit 3 keep
 * the partial after a failure and apply the input once more (a resume).
 * Seeds (tests/fuzz/corpus/fuzz_subtree) are streams of the walker.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/apply.h"
#include "proto/stream/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT    (1u << 20)
#define FZ_OUTSIDE      "outside"
#define FZ_DEST         "dest"

static int
unflag(const char *path, const struct stat *st, int type, struct FTW *f)
{
	int fd, fl = 0;

	(void)f;
	if (type != FTW_D && type != FTW_F)
		return 0;
	if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		(void)ioctl(fd, FS_IOC_SETFLAGS, &fl);
		close(fd);
	}
	if (S_ISDIR(st->st_mode))
		(void)chmod(path, 0700);
	return 0;
}

/* A partial's progress record lives in /run: remove it with the dir. */
static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	char rec[PATH_MAX];
	size_t n = strlen(path);

	(void)f;
	if (type == FTW_F && n > 9 && strcmp(path + n - 9, ".progress") == 0) {
		snprintf(rec, sizeof(rec), APPLY_PROGRESS_DIR "/%llx.%llx",
		    (unsigned long long)st->st_dev,
		    (unsigned long long)st->st_ino);
		(void)unlink(rec);
	}
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void
rm_tree(const char *path)
{
	(void)nftw(path, unflag, 16, FTW_PHYS);
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		abort();
}

static void
feed(struct apply *a, const uint8_t *p, size_t len, bool commit,
    bool keep)
{
	struct stream_reader r;
	struct stream_cmd c;
	enum stream_event ev;
	uint64_t hdr = 0;
	int rc = 0;

	if (stream_reader_init(&r, NULL) == -1 ||
	    stream_reader_attach(&r, p, len) == -1)
		abort();
	for (;;) {
		hdr = r.consumed;
		ev = stream_reader_next(&r, &c);
		if (ev == STREAM_HEADER)
			rc = apply_header(a, p + hdr, STREAM_HEADER_LEN, hdr);
		else if (ev == STREAM_CMD)
			rc = apply_cmd(a, &c);
		else
			break;
		if (rc != 0)
			break;
	}
	if (rc != 0 || ev == STREAM_ERROR)
		apply_abort(a, keep);
	else if (commit && apply_commit(a) != 0)
		apply_abort(a, keep);
	else
		(void)apply_finish(a);
	(void)apply_warnings(a);
	stream_reader_free(&r);
}

static void
check_outside(const char *top, const struct stat *was)
{
	struct dirent *de;
	struct stat st;
	char p[PATH_MAX];
	DIR *d;

	snprintf(p, sizeof(p), "%s/" FZ_OUTSIDE, top);
	if (lstat(p, &st) == -1 || st.st_size != was->st_size ||
	    st.st_ino != was->st_ino || st.st_mode != was->st_mode ||
	    st.st_mtim.tv_nsec != was->st_mtim.tv_nsec ||
	    st.st_mtim.tv_sec != was->st_mtim.tv_sec)
		abort();
	if ((d = opendir(top)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, FZ_OUTSIDE) != 0 &&
		    strcmp(de->d_name, FZ_DEST) != 0)
			abort();        /* written outside DIR */
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char top[] = "/dev/shm/fuzz-subtree.XXXXXX", p[PATH_MAX];
	struct apply_opts o;
	struct apply *a;
	struct stat was;
	int dfd, fd, pass;

	if (size < 1 || size > FZ_MAX_INPUT)
		return 0;
	if (mkdtemp(top) == NULL)
		abort();
	snprintf(p, sizeof(p), "%s/" FZ_OUTSIDE, top);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1 ||
	    write(fd, "keep", 4) != 4 || close(fd) == -1 ||
	    lstat(p, &was) == -1)
		abort();
	snprintf(p, sizeof(p), "%s/" FZ_DEST, top);
	if (mkdir(p, 0755) == -1 ||
	    (dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    symlinkat("..", dfd, "up") == -1 ||
	    symlinkat("..", dfd, ".btrsend-partial.s") == -1)
		abort();
	memset(&o, 0, sizeof(o));
	o.quiet = true;
	o.plain_dir = true;
	o.single_file = data[0] & 1;
	o.hold_end = (data[0] & 2) != 0;
	o.ckpt_bytes = data[0] & 4 ? 512 : UINT64_MAX;
	o.ckpt_msecs = UINT32_MAX;
	o.dest_label = top;
	for (pass = 0; pass < (data[0] & 8 ? 2 : 1); pass++) {
		if ((a = apply_new(dfd, &o)) == NULL)
			abort();
		feed(a, data + 1, size - 1, o.hold_end, (data[0] & 8) != 0);
		apply_free(a);
	}
	close(dfd);
	check_outside(top, &was);
	rm_tree(top);
	return 0;
}
