/*
 * Resume of the receive engine after a kill, on a real directory (the
 * staging "subvolume" is a plain directory here; no btrfs needed).
 *
 * A child process applies the first p commands of a stream and exits
 * without any cleanup, as if killed: merged writes still in its buffer
 * are lost.  The parent then resumes (apply_find_checkpoint +
 * apply_resume) and applies the rest.  The result must equal applying
 * the whole stream once, for every kill point p:
 *  - with the progress record (a killed process, same boot): exact;
 *  - without it (after a reboot) from a checkpoint one command back: the
 *    command in flight is replayed tolerantly (temp names that exist,
 *    renames already done, links that exist, unlinks of missing paths).
 * The stream reuses names (a file renamed away, a new file under the old
 * name) the way kernel incremental streams do.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/apply.h"
#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

#define MAXCMDS 64

static uint8_t sbuf[1 << 20];
static size_t slen;
static uint64_t offs[MAXCMDS + 1];
static struct stream_digest digs[MAXCMDS + 1];   /* before command i */
static size_t ncmds;
static const uint8_t uuid_t1[16] = { 0x11, 0x22, 0x33, 0x44 };

static void
w_path(struct stream_writer *w, int cmd, const char *p)
{
	stream_wr_begin(w, cmd);
	stream_wr_str(w, SEND_A_PATH, p);
	if (cmd >= SEND_C_MKFILE && cmd <= SEND_C_MKSOCK)
		stream_wr_u64(w, SEND_A_INO, 300);
	assert_true(stream_wr_end(w) > 0);
}

static void
w_two(struct stream_writer *w, int cmd, const char *p, int attr, const char *q)
{
	stream_wr_begin(w, cmd);
	stream_wr_str(w, SEND_A_PATH, p);
	if (cmd == SEND_C_SYMLINK)
		stream_wr_u64(w, SEND_A_INO, 301);
	stream_wr_str(w, attr, q);
	assert_true(stream_wr_end(w) > 0);
}

static void
w_write(struct stream_writer *w, const char *p, uint64_t off, const char *d)
{
	stream_wr_begin(w, SEND_C_WRITE);
	stream_wr_str(w, SEND_A_PATH, p);
	stream_wr_u64(w, SEND_A_FILE_OFFSET, off);
	stream_wr_data(w, d, strlen(d));
	assert_true(stream_wr_end(w) > 0);
}

static void
w_u64(struct stream_writer *w, int cmd, const char *p, int attr, uint64_t v)
{
	stream_wr_begin(w, cmd);
	stream_wr_str(w, SEND_A_PATH, p);
	stream_wr_u64(w, attr, v);
	assert_true(stream_wr_end(w) > 0);
}

static void
build_stream(void)
{
	struct stream_writer w;
	struct stream_timespec ts = { 1700000000, 5 };

	stream_writer_init(&w, sbuf, sizeof(sbuf), 2);
	stream_wr_header(&w);
	stream_wr_begin(&w, SEND_C_SUBVOL);
	stream_wr_str(&w, SEND_A_PATH, "t");
	stream_wr_uuid(&w, SEND_A_UUID, uuid_t1);
	stream_wr_u64(&w, SEND_A_CTRANSID, 1);
	assert_true(stream_wr_end(&w) > 0);
	w_path(&w, SEND_C_MKDIR, "o257-1-0");
	w_two(&w, SEND_C_RENAME, "o257-1-0", SEND_A_PATH_TO, "d");
	w_path(&w, SEND_C_MKFILE, "o258-1-0");
	w_two(&w, SEND_C_RENAME, "o258-1-0", SEND_A_PATH_TO, "d/a");
	w_write(&w, "d/a", 0, "A-content-first");
	w_write(&w, "d/a", 15, "-second");
	w_two(&w, SEND_C_LINK, "d/a2", SEND_A_PATH_LINK, "d/a");
	stream_wr_begin(&w, SEND_C_SET_XATTR);
	stream_wr_str(&w, SEND_A_PATH, "d/a");
	stream_wr_str(&w, SEND_A_XATTR_NAME, "user.x");
	stream_wr_str(&w, SEND_A_XATTR_DATA, "one");
	assert_true(stream_wr_end(&w) > 0);
	/* the name "d/a" is reused by a new file */
	w_two(&w, SEND_C_RENAME, "d/a", SEND_A_PATH_TO, "d/b");
	w_path(&w, SEND_C_MKFILE, "o259-1-0");
	w_two(&w, SEND_C_RENAME, "o259-1-0", SEND_A_PATH_TO, "d/a");
	w_write(&w, "d/a", 0, "new");
	w_path(&w, SEND_C_UNLINK, "d/a2");
	w_u64(&w, SEND_C_TRUNCATE, "d/b", SEND_A_SIZE, 3);
	w_path(&w, SEND_C_MKDIR, "o260-1-0");
	w_two(&w, SEND_C_RENAME, "o260-1-0", SEND_A_PATH_TO, "d/sub");
	w_path(&w, SEND_C_MKFILE, "o261-1-0");
	w_two(&w, SEND_C_RENAME, "o261-1-0", SEND_A_PATH_TO, "d/sub/f");
	w_two(&w, SEND_C_RENAME, "d/sub", SEND_A_PATH_TO, "e");
	w_two(&w, SEND_C_SYMLINK, "o262-1-0", SEND_A_PATH_LINK, "../d/b");
	w_two(&w, SEND_C_RENAME, "o262-1-0", SEND_A_PATH_TO, "e/link");
	w_two(&w, SEND_C_LINK, "e/link2", SEND_A_PATH_LINK, "e/link");
	w_u64(&w, SEND_C_CHMOD, "d/b", SEND_A_MODE, 0640);
	stream_wr_begin(&w, SEND_C_REMOVE_XATTR);
	stream_wr_str(&w, SEND_A_PATH, "d/b");
	stream_wr_str(&w, SEND_A_XATTR_NAME, "user.x");
	assert_true(stream_wr_end(&w) > 0);
	w_path(&w, SEND_C_MKDIR, "o263-1-0");
	w_path(&w, SEND_C_RMDIR, "o263-1-0");
	w_path(&w, SEND_C_MKFIFO, "o264-1-0");
	w_two(&w, SEND_C_RENAME, "o264-1-0", SEND_A_PATH_TO, "e/fifo");
	w_path(&w, SEND_C_UNLINK, "d/a");
	w_path(&w, SEND_C_MKFILE, "o265-1-0");
	w_two(&w, SEND_C_RENAME, "o265-1-0", SEND_A_PATH_TO, "d/a");
	w_write(&w, "d/a", 0, "third");
	stream_wr_begin(&w, SEND_C_UTIMES);
	stream_wr_str(&w, SEND_A_PATH, "d/b");
	stream_wr_time(&w, SEND_A_ATIME, &ts);
	stream_wr_time(&w, SEND_A_MTIME, &ts);
	stream_wr_time(&w, SEND_A_CTIME, &ts);
	assert_true(stream_wr_end(&w) > 0);
	slen = w.pos;
}

/* Feed commands [from, to) of the stream to a (NULL: just index it). */
static void
feed(struct apply *a, size_t from, size_t to)
{
	struct stream_reader r;
	struct stream_cmd c;
	struct stream_digest d;
	enum stream_event ev;

	assert_int_equal(stream_reader_init(&r, NULL), 0);
	assert_int_equal(stream_reader_feed(&r, sbuf, slen), 0);
	stream_reader_eof(&r);
	stream_digest_init(&d);
	stream_digest_add(&d, sbuf, STREAM_HEADER_LEN);
	while ((ev = stream_reader_next(&r, &c)) != STREAM_ERROR &&
	    ev != STREAM_NEED_MORE) {
		if (ev != STREAM_CMD)
			continue;
		if (a == NULL) {
			offs[c.index] = c.offset;
			digs[c.index] = d;
			ncmds = c.index + 1;
		} else if (c.index >= from && c.index < to) {
			if (apply_cmd(a, &c) != 0)
				fail_msg("apply: %s", apply_error(a));
		}
		stream_digest_add(&d, c.raw, STREAM_CMD_HEADER_LEN);
	}
	if (a == NULL) {
		/* the stream has no END: the reader reports that, fine */
		offs[ncmds] = slen;
		digs[ncmds] = d;
	}
	stream_reader_free(&r);
}

static struct checkpoint
ckpt_at(size_t i)
{
	struct checkpoint ck;

	memset(&ck, 0, sizeof(ck));
	snprintf(ck.id.name, sizeof(ck.id.name), "t");
	memcpy(ck.id.uuid, uuid_t1, 16);
	ck.id.ctransid = 1;
	ck.id.version = 2;
	ck.ncmds = i;
	ck.offset = offs[i];
	ck.digest = digs[i];
	snprintf(ck.staging, sizeof(ck.staging), ".btrsend-partial.t");
	return ck;
}

static struct apply *
engine(int dirfd, const struct checkpoint *ck)
{
	struct apply_opts o;
	struct apply *a;

	memset(&o, 0, sizeof(o));
	o.quiet = true;
	o.ckpt_bytes = UINT64_MAX;
	o.ckpt_msecs = UINT32_MAX;
	a = apply_new(dirfd, &o);
	assert_non_null(a);
	if (apply_resume(a, ck) != 0)
		fail_msg("resume: %s", apply_error(a));
	return a;
}

static int
area(char *tmpl)
{
	char p[PATH_MAX];
	int fd;

	assert_non_null(mkdtemp(tmpl));
	snprintf(p, sizeof(p), "%s/.btrsend-partial.t", tmpl);
	assert_int_equal(mkdir(p, 0755), 0);
	fd = open(tmpl, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	return fd;
}

/* The engine's tmpfs progress record of lock file `st` (apply_progress.c). */
static void
record_path(const struct stat *st, char *out, size_t len)
{
	snprintf(out, len, APPLY_PROGRESS_DIR "/%llx.%llx",
	    (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
}

static void
drop_progress_record(const struct stat *st)
{
	char rec[PATH_MAX];

	record_path(st, rec, sizeof(rec));
	(void)unlink(rec);
}

static int
area_unlink(const char *path, const struct stat *st, int type, struct FTW *f)
{
	size_t n = strlen(path);

	(void)f;
	if (type == FTW_F && n > 9 && strcmp(path + n - 9, ".progress") == 0)
		drop_progress_record(st);
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Close an area and remove it with everything in it. */
static void
area_done(int fd, const char *tmpl)
{
	close(fd);
	assert_int_equal(nftw(tmpl, area_unlink, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* A text form of a tree: names, types, modes, contents, links, xattrs. */
static void
dump(int dfd, const char *rel, char **out, size_t *len, FILE *f)
{
	struct dirent **ents;
	struct stat st;
	char buf[256], child[PATH_MAX], proc[PATH_MAX + 64];
	ssize_t n;
	int i, cnt, fd;

	(void)out;
	(void)len;
	cnt = scandirat(dfd, *rel ? rel : ".", &ents, NULL, alphasort);
	assert_true(cnt >= 0);
	for (i = 0; i < cnt; i++) {
		if (strcmp(ents[i]->d_name, ".") == 0 ||
		    strcmp(ents[i]->d_name, "..") == 0) {
			free(ents[i]);
			continue;
		}
		snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
		    ents[i]->d_name);
		free(ents[i]);
		assert_int_equal(fstatat(dfd, child, &st, AT_SYMLINK_NOFOLLOW), 0);
		fprintf(f, "%s mode=%o nlink=%lu size=%lld", child, st.st_mode,
		    (unsigned long)st.st_nlink, (long long)st.st_size);
		if (S_ISREG(st.st_mode)) {
			fd = openat(dfd, child, O_RDONLY);
			assert_true(fd >= 0);
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			assert_true(n >= 0);
			fprintf(f, " data=%.*s", (int)n, buf);
			/* only UTIMES sets a time the stream decides */
			fprintf(f, " mtime=%s", st.st_mtime == 1700000000 ?
			    "stream" : "now");
		} else if (S_ISLNK(st.st_mode)) {
			n = readlinkat(dfd, child, buf, sizeof(buf));
			assert_true(n >= 0);
			fprintf(f, " target=%.*s", (int)n, buf);
		}
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dfd, child);
		n = llistxattr(proc, buf, sizeof(buf));
		fprintf(f, " xattrs=%.*s\n", n > 0 ? (int)n : 0, buf);
		if (S_ISDIR(st.st_mode))
			dump(dfd, child, out, len, f);
	}
	free(ents);
}

static char *
tree(int dirfd)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f;
	int sfd;
	char name[64];

	snprintf(name, sizeof(name), ".btrsend-partial.t");
	sfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY);
	assert_true(sfd >= 0);
	f = open_memstream(&s, &len);
	assert_non_null(f);
	dump(sfd, "", &s, &len, f);
	fclose(f);
	close(sfd);
	return s;
}

static char *reference;

static int
setup(void **state)
{
	char tmpl[] = "/dev/shm/apply-replay.XXXXXX";
	struct checkpoint ck;
	struct apply *a;
	int dfd;

	(void)state;
	build_stream();
	feed(NULL, 0, 0);
	dfd = area(tmpl);
	ck = ckpt_at(1);
	a = engine(dfd, &ck);
	feed(a, 1, ncmds);
	apply_free(a);
	reference = tree(dfd);
	area_done(dfd, tmpl);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(reference);
	return 0;
}

/* Apply [1, p) in a child that dies without cleaning up. */
static void
killed_prefix(int dfd, size_t p)
{
	struct checkpoint ck;
	struct apply *a;
	pid_t pid;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ck = ckpt_at(1);
		a = engine(dfd, &ck);
		feed(a, 1, p);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
resume_and_check(int dfd, size_t p, const char *what)
{
	struct checkpoint ck;
	struct apply *a;
	char err[200], *got;

	if (apply_find_checkpoint(dfd, "t", &ck, err, sizeof(err)) != 0)
		fail_msg("find checkpoint: %s", err);
	a = engine(dfd, &ck);
	feed(a, ck.ncmds, ncmds);
	apply_free(a);
	got = tree(dfd);
	if (strcmp(got, reference) != 0)
		fail_msg("%s, killed after %zu commands, resumed at %llu:\n"
		    "want:\n%s\ngot:\n%s", what, p,
		    (unsigned long long)ck.ncmds, reference, got);
	free(got);
}

static void
test_resume_with_progress(void **state)
{
	struct checkpoint ck;
	size_t p;
	int dfd;

	(void)state;
	for (p = 2; p <= ncmds; p++) {
		char tmpl[] = "/dev/shm/apply-replay.XXXXXX";

		dfd = area(tmpl);
		killed_prefix(dfd, p);
		/* the durable checkpoint is older: halfway, or the start */
		ck = ckpt_at(p / 2 > 1 ? p / 2 : 1);
		assert_int_equal(checkpoint_write(dfd, ".btrsend-partial.t.state",
		    &ck), 0);
		resume_and_check(dfd, p, "with progress record");
		area_done(dfd, tmpl);
	}
}

static void
test_replay_in_flight(void **state)
{
	struct checkpoint ck;
	size_t p;
	int dfd;

	(void)state;
	for (p = 2; p <= ncmds; p++) {
		char tmpl[] = "/dev/shm/apply-replay.XXXXXX";

		char err[200];
		size_t done;

		dfd = area(tmpl);
		killed_prefix(dfd, p);
		/* what reached the kernel (merged writes may not have) */
		ck = ckpt_at(1);
		assert_int_equal(checkpoint_write(dfd, ".btrsend-partial.t.state",
		    &ck), 0);
		assert_int_equal(apply_find_checkpoint(dfd, "t", &ck, err,
		    sizeof(err)), 0);
		done = ck.ncmds;
		/* a reboot: the progress record is gone; the checkpoint says
		 * one command less than was applied */
		{
			struct stat st;

			assert_int_equal(fstatat(dfd,
			    ".btrsend-partial.t.progress", &st, 0), 0);
			drop_progress_record(&st);
		}
		assert_int_equal(unlinkat(dfd, ".btrsend-partial.t.progress", 0), 0);
		ck = ckpt_at(done > 2 ? done - 1 : 1);
		assert_int_equal(checkpoint_write(dfd, ".btrsend-partial.t.state",
		    &ck), 0);
		resume_and_check(dfd, p, "tolerant replay of the command in flight");
		area_done(dfd, tmpl);
	}
}

/* Where a resume of the partial in dfd starts (1: at the checkpoint). */
static uint64_t
resume_point(int dfd)
{
	struct checkpoint ck;
	char err[200];

	if (apply_find_checkpoint(dfd, "t", &ck, err, sizeof(err)) != 0)
		fail_msg("find checkpoint: %s", err);
	return ck.ncmds;
}

static void
put_file(const char *path, const char *data, size_t len)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/*
 * Only a regular file of ours, that no one else may write, of exactly the
 * record's size is a progress record.  Anything else where it should be
 * (planted by another user, or a FIFO that would block a reader) counts
 * as no record: the resume starts at the checkpoint, and neither finding
 * the checkpoint nor resuming hangs or fails on it.
 */
static void
test_hostile_records(void **state)
{
	char tmpl[] = "/dev/shm/apply-replay.XXXXXX";
	char rec[PATH_MAX], copy[PATH_MAX], good[4096];
	struct checkpoint ck;
	struct stat st;
	struct apply *a;
	uint64_t genuine;
	int dfd, fd;

	(void)state;
	if (geteuid() != 0)
		skip();         /* chown to another user */
	dfd = area(tmpl);
	killed_prefix(dfd, ncmds);
	ck = ckpt_at(1);
	assert_int_equal(checkpoint_write(dfd, ".btrsend-partial.t.state", &ck),
	    0);
	assert_int_equal(fstatat(dfd, ".btrsend-partial.t.progress", &st, 0), 0);
	record_path(&st, rec, sizeof(rec));
	fd = open(rec, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, good, sizeof(good)), (ssize_t)sizeof(good));
	close(fd);
	/* the genuine record moves the resume past the checkpoint */
	genuine = resume_point(dfd);
	assert_true(genuine > 1);

	assert_int_equal(chown(rec, 65534, 65534), 0);
	assert_int_equal(resume_point(dfd), 1);
	assert_int_equal(chown(rec, 0, 0), 0);
	assert_int_equal(resume_point(dfd), genuine);

	assert_int_equal(chmod(rec, 0622), 0);
	assert_int_equal(resume_point(dfd), 1);
	assert_int_equal(chmod(rec, 0600), 0);

	assert_int_equal(truncate(rec, sizeof(good) + 1), 0);
	assert_int_equal(resume_point(dfd), 1);
	assert_int_equal(truncate(rec, sizeof(good) / 2), 0);
	assert_int_equal(resume_point(dfd), 1);
	assert_int_equal(unlink(rec), 0);
	put_file(rec, good, sizeof(good));
	assert_int_equal(resume_point(dfd), genuine);

	/* a symbolic link to a genuine copy */
	snprintf(copy, sizeof(copy), "%s/copy", tmpl);
	put_file(copy, good, sizeof(good));
	assert_int_equal(unlink(rec), 0);
	assert_int_equal(symlink(copy, rec), 0);
	assert_int_equal(resume_point(dfd), 1);

	/* a FIFO with no writer: a blocking open would never return */
	assert_int_equal(unlink(rec), 0);
	assert_int_equal(mkfifo(rec, 0600), 0);
	alarm(10);
	assert_int_equal(resume_point(dfd), 1);
	ck = ckpt_at(1);
	a = engine(dfd, &ck);   /* opens the record for writing */
	apply_free(a);
	alarm(0);
	assert_int_equal(lstat(rec, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(unlink(rec), 0);
	area_done(dfd, tmpl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume_with_progress),
		cmocka_unit_test(test_replay_in_flight),
		cmocka_unit_test(test_hostile_records),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
