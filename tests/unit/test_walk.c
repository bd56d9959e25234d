/*
 * The subtree stream (engine/walk.c) applied into a plain directory
 * (apply_opts.plain_dir), on real directory trees: the source under /tmp
 * (ext4 here), destinations there or on tmpfs (/dev/shm).  The restored
 * tree must equal the source subtree in what treecmp compares (type,
 * mode, owner, size, content, holes, link target, rdev, mtime, xattrs,
 * hard links); the stream must repeat byte for byte; a resume after a
 * kill must give the same tree; what the destination lacks is reported,
 * not fatal.  Runs as root (owners, device nodes, immutable flags).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/apply.h"
#include "engine/send.h"
#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

static char src[64];            /* the "snapshot" */
static const uint8_t tuuid[16] = { 0xab, 0xcd, 1, 2, 3 };

/* The stream of one subtree: bytes, digest, command count. */
struct out {
	uint8_t *buf;
	size_t len;
	uint64_t ncmds;
	struct stream_digest dig;
};

static void
put(const char *path, const void *p, size_t n, off_t off)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
	close(fd);
}

static void
settime(const char *path, time_t t)
{
	struct timespec ts[2] = { { t, 123 }, { t, 456789 } };

	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void
mksock(const char *path)
{
	struct sockaddr_un sa;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(s >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
}

#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)
#define Q(...) (snprintf(q, sizeof(q), __VA_ARGS__), q)

static void
make_source(void)
{
	static char big[300000];
	char p[PATH_MAX], q[PATH_MAX];
	size_t i;

	snprintf(src, sizeof(src), "/tmp/walk-src.XXXXXX");
	assert_non_null(mkdtemp(src));
	assert_int_equal(mkdir(P("%s/d", src), 0750), 0);
	assert_int_equal(mkdir(P("%s/d/sub", src), 0755), 0);
	assert_int_equal(mkdir(P("%s/d/sub/deep", src), 0700), 0);
	put(P("%s/d/f", src), "hello", 5, 0);
	assert_int_equal(setxattr(p, "user.a", "1", 1, 0), 0);
	assert_int_equal(setxattr(p, "trusted.t", "tv", 2, 0), 0);
	assert_int_equal(chown(p, 1234, 5678), 0);
	assert_int_equal(chmod(p, 06640), 0);
	settime(p, 1600000000);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 4096);
	put(P("%s/d/sub/deep/big", src), big, sizeof(big), 0);
	/* sparse: data, a hole, data, a hole to the end */
	memset(big, 'A', 8192);
	put(P("%s/d/sparse", src), big, 8192, 0);
	put(p, big, 4096, 1 << 20);
	assert_int_equal(truncate(p, 3 << 20), 0);
	assert_int_equal(setxattr(p, "user.s", "sparse", 6, 0), 0);
	/* hard links: two inside the subtree, one outside it */
	put(P("%s/d/h1", src), "linked", 6, 0);
	assert_int_equal(link(p, Q("%s/d/sub/h2", src)), 0);
	assert_int_equal(link(p, Q("%s/outside", src)), 0);
	assert_int_equal(symlink("f", P("%s/d/ln", src)), 0);
	assert_int_equal(lchown(p, 42, 43), 0);
	settime(p, 1500000000);
	assert_int_equal(mkfifo(P("%s/d/fifo", src), 0604), 0);
	mksock(P("%s/d/sock", src));
	assert_int_equal(mknod(P("%s/d/null", src), S_IFCHR | 0666,
	    makedev(1, 3)), 0);
	assert_int_equal(symlink("d", P("%s/lnk", src)), 0);
	/* directories last: their times and modes after their entries */
	assert_int_equal(setxattr(P("%s/d", src), "user.dir", "dv", 2, 0), 0);
	settime(P("%s/d/sub/deep", src), 1400000000);
	settime(P("%s/d/sub", src), 1400000001);
	assert_int_equal(chmod(p, 0555), 0);
	settime(P("%s/d", src), 1400000002);
}

/* Immutable and append-only go first, top down. */
static int
unflag_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	int fd, fl = 0;

	(void)f;
	if ((type == FTW_D || type == FTW_F) &&
	    (S_ISDIR(st->st_mode) || S_ISREG(st->st_mode))) {
		fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
		if (fd >= 0) {
			(void)ioctl(fd, FS_IOC_SETFLAGS, &fl);
			close(fd);
		}
	}
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static void
rm_tree(const char *path)
{
	(void)nftw(path, unflag_one, 16, FTW_PHYS);
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
}

static int
setup(void **state)
{
	(void)state;
	make_source();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rm_tree(src);
	return 0;
}

/* Produce the stream of src/path as `name`. */
static int
produce(const char *path, const char *name, uint32_t proto, struct out *o,
    char *err, size_t errlen)
{
	struct send_subtree st;
	struct send_params p;
	struct send_error e;
	struct send_unit u;
	struct send *s;
	size_t cap = 1 << 20;
	int rc, fd;

	memset(o, 0, sizeof(*o));
	fd = open(src, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	memset(&st, 0, sizeof(st));
	st.snapfd = fd;
	st.path = path;
	st.name = name;
	memcpy(st.uuid, tuuid, 16);
	st.ctransid = 77;
	memset(&p, 0, sizeof(p));
	p.proto = proto;
	p.subtree = &st;
	if (send_start(&s, &p, &e) == -1) {
		snprintf(err, errlen, "%s", e.msg);
		close(fd);
		return -1;
	}
	o->buf = malloc(cap);
	while ((rc = send_next(s, &u, &e)) == 1) {
		while (o->len + u.len > cap)
			o->buf = realloc(o->buf, cap *= 2);
		memcpy(o->buf + o->len, u.raw, u.len);
		o->len += u.len;
	}
	if (rc == -1)
		snprintf(err, errlen, "%s", e.msg);
	send_get_digest(s, &o->dig);
	o->ncmds = 0;
	{
		struct send_stats ss;

		send_get_stats(s, &ss);
		o->ncmds = ss.ncmds;
	}
	send_free(s);
	close(fd);
	return rc;
}

static void
produce_ok(const char *path, const char *name, uint32_t proto, struct out *o)
{
	char err[600];

	if (produce(path, name, proto, o, err, sizeof(err)) != 0)
		fail_msg("produce %s: %s", path, err);
}

/* Apply commands [from, to) of o (the header with the first). */
static int
feed(struct apply *a, const struct out *o, uint64_t from, uint64_t to)
{
	struct stream_reader r;
	struct stream_cmd c;
	enum stream_event ev;
	int rc = 0;

	assert_int_equal(stream_reader_init(&r, NULL), 0);
	assert_int_equal(stream_reader_attach(&r, o->buf, o->len), 0);
	while ((ev = stream_reader_next(&r, &c)) != STREAM_DONE) {
		assert_true(ev == STREAM_CMD || ev == STREAM_HEADER);
		if (ev == STREAM_HEADER) {
			if (from == 0)
				assert_int_equal(apply_header(a, o->buf,
				    STREAM_HEADER_LEN, 0), 0);
			continue;
		}
		if (c.index < from)
			continue;
		if (c.index >= to)
			break;
		if ((rc = apply_cmd(a, &c)) != 0)
			break;
	}
	stream_reader_free(&r);
	return rc;
}

static struct apply *
plain(int dfd, bool single, uint64_t ckpt_bytes)
{
	struct apply_opts ao;
	struct apply *a;

	memset(&ao, 0, sizeof(ao));
	ao.quiet = true;
	ao.plain_dir = true;
	ao.single_file = single;
	ao.dest_label = "/dest";
	ao.ckpt_bytes = ckpt_bytes;
	ao.ckpt_msecs = UINT32_MAX;
	a = apply_new(dfd, &ao);
	assert_non_null(a);
	return a;
}

static void
apply_all(int dfd, const struct out *o, bool single)
{
	struct apply *a = plain(dfd, single, UINT64_MAX);

	if (feed(a, o, 0, UINT64_MAX) != 0 || apply_finish(a) != 0)
		fail_msg("apply: %s", apply_error(a));
	assert_string_equal(apply_warnings(a), "");
	apply_free(a);
}

/* Text form of a tree, as treecmp compares it (atime and ctime aside). */

struct seen {
	ino_t ino[64];
	char path[64][PATH_MAX];
	int n;
};

static void
layout(int fd, FILE *f)
{
	off_t d = 0, h;

	fprintf(f, " data=");
	while ((d = lseek(fd, d, SEEK_DATA)) != -1) {
		h = lseek(fd, d, SEEK_HOLE);
		fprintf(f, "%lld-%lld,", (long long)d, (long long)h);
		d = h;
	}
}

static void
content(int fd, FILE *f)
{
	uint8_t b[65536];
	uint32_t crc = 0;
	ssize_t n;

	while ((n = read(fd, b, sizeof(b))) > 0)
		crc = stream_crc32c(crc, b, (size_t)n);
	fprintf(f, " crc=%08x", crc);
}

static void
xattrs(const char *path, FILE *f)
{
	char list[4096], val[256], *names[32], *t;
	ssize_t n, v;
	int i, j, k = 0;

	n = llistxattr(path, list, sizeof(list));
	for (i = 0; n > 0 && i < n; i += (int)strlen(list + i) + 1)
		names[k++] = list + i;
	for (i = 0; i < k; i++)
		for (j = i + 1; j < k; j++)
			if (strcmp(names[j], names[i]) < 0) {
				t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	for (i = 0; i < k; i++) {
		v = lgetxattr(path, names[i], val, sizeof(val));
		fprintf(f, " %s=%.*s", names[i], v > 0 ? (int)v : 0, val);
	}
}

static void
entry(const char *full, const char *rel, struct seen *s, FILE *f)
{
	struct stat st;
	char t[PATH_MAX];
	ssize_t n;
	int i, fd;

	assert_int_equal(lstat(full, &st), 0);
	fprintf(f, "%s mode=%o uid=%u gid=%u", rel, st.st_mode, st.st_uid,
	    st.st_gid);
	if (!S_ISDIR(st.st_mode))
		fprintf(f, " size=%lld", (long long)st.st_size);
	if (!S_ISLNK(st.st_mode))
		fprintf(f, " mtime=%lld.%09ld", (long long)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		fprintf(f, " rdev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
	if (S_ISLNK(st.st_mode)) {
		n = readlink(full, t, sizeof(t));
		fprintf(f, " target=%.*s", (int)n, t);
	}
	if (S_ISREG(st.st_mode)) {
		fd = open(full, O_RDONLY);
		assert_true(fd >= 0);
		layout(fd, f);
		content(fd, f);
		close(fd);
	}
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		for (i = 0; i < s->n && s->ino[i] != st.st_ino; i++)
			;
		if (i == s->n) {
			s->ino[s->n] = st.st_ino;
			snprintf(s->path[s->n++], PATH_MAX, "%s", rel);
		}
		fprintf(f, " link=%s", s->path[i]);
	}
	xattrs(full, f);
	fputc('\n', f);
}

static void
walk_dump(const char *root, const char *rel, struct seen *s, FILE *f)
{
	struct dirent **ents;
	char full[PATH_MAX], child[PATH_MAX];
	struct stat st;
	int i, n;

	snprintf(full, sizeof(full), "%s%s%s", root, *rel ? "/" : "", rel);
	entry(full, *rel ? rel : ".", s, f);
	assert_int_equal(lstat(full, &st), 0);
	if (!S_ISDIR(st.st_mode))
		return;
	n = scandir(full, &ents, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") != 0 &&
		    strcmp(ents[i]->d_name, "..") != 0) {
			snprintf(child, sizeof(child), "%s%s%s", rel,
			    *rel ? "/" : "", ents[i]->d_name);
			walk_dump(root, child, s, f);
		}
		free(ents[i]);
	}
	free(ents);
}

static char *
dump(const char *root)
{
	struct seen s;
	size_t len;
	char *out;
	FILE *f;

	memset(&s, 0, sizeof(s));
	f = open_memstream(&out, &len);
	walk_dump(root, "", &s, f);
	fclose(f);
	return out;
}

static void
same_tree(const char *a, const char *b)
{
	char *x = dump(a), *y = dump(b);

	if (strcmp(x, y) != 0)
		fail_msg("trees differ:\n%s:\n%s\n%s:\n%s", a, x, b, y);
	free(x);
	free(y);
}

static int
dest(char *tmpl)
{
	int fd;

	assert_non_null(mkdtemp(tmpl));
	fd = open(tmpl, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	return fd;
}

static void
roundtrip(uint32_t proto)
{
	char d[] = "/tmp/walk-dst.XXXXXX", p[PATH_MAX], q[PATH_MAX];
	struct stat st;
	struct out o;
	int dfd;

	produce_ok("d", "d", proto, &o);
	dfd = dest(d);
	apply_all(dfd, &o, false);
	snprintf(p, sizeof(p), "%s/d", src);
	snprintf(q, sizeof(q), "%s/d", d);
	same_tree(p, q);
	/* nothing left beside it: no staging, state or flags file */
	snprintf(p, sizeof(p), "%s/.btrsend-partial.d", d);
	assert_int_equal(lstat(p, &st), -1);
	snprintf(p, sizeof(p), "%s/.btrsend-partial.d.state", d);
	assert_int_equal(lstat(p, &st), -1);
	close(dfd);
	rm_tree(d);
	free(o.buf);
}

static void
test_roundtrip_v2(void **state)
{
	(void)state;
	roundtrip(2);
}

static void
test_roundtrip_v1(void **state)
{
	(void)state;
	roundtrip(1);
}

/* Version 1 carries no FILEATTR, version 2 does; both parse. */
static void
test_stream_shape(void **state)
{
	struct stream_reader r;
	struct stream_cmd c;
	enum stream_event ev;
	struct out o;
	uint64_t writes = 0, max = 0, n[SEND_C_MAX + 1];
	uint32_t len;
	const uint8_t *dp;

	(void)state;
	produce_ok("d", "d", 2, &o);
	memset(n, 0, sizeof(n));
	assert_int_equal(stream_reader_init(&r, NULL), 0);
	assert_int_equal(stream_reader_attach(&r, o.buf, o.len), 0);
	while ((ev = stream_reader_next(&r, &c)) != STREAM_DONE) {
		assert_true(ev == STREAM_CMD || ev == STREAM_HEADER);
		if (ev == STREAM_HEADER)
			continue;
		n[c.type]++;
		if (c.type == SEND_C_WRITE) {
			assert_int_equal(stream_get_bytes(&c, SEND_A_DATA, &dp,
			    &len), 0);
			writes += len;
			max = len > max ? len : max;
		}
	}
	stream_reader_free(&r);
	assert_int_equal(n[SEND_C_SUBVOL], 1);
	assert_int_equal(n[SEND_C_END], 1);
	assert_int_equal(n[SEND_C_RENAME], 0);
	assert_int_equal(n[SEND_C_LINK], 1);
	assert_int_equal(n[SEND_C_MKSOCK], 1);
	assert_int_equal(n[SEND_C_MKFIFO], 1);
	assert_int_equal(n[SEND_C_MKNOD], 1);
	assert_int_equal(n[SEND_C_SYMLINK], 1);
	/* holes are not sent: 5 + 300000 + 8192 + 4096 + 6 data bytes */
	assert_int_equal(writes, 5 + 300000 + 8192 + 4096 + 6);
	assert_true(max <= 131072);
	free(o.buf);
}

static void
test_estimate(void **state)
{
	struct send_subtree st;
	struct send_params p;
	struct send_error e;
	uint64_t total;
	int fd;

	(void)state;
	fd = open(src, O_RDONLY | O_DIRECTORY);
	memset(&st, 0, sizeof(st));
	st.snapfd = fd;
	st.path = "d";
	st.name = "d";
	memset(&p, 0, sizeof(p));
	p.proto = 2;
	p.subtree = &st;
	assert_int_equal(send_estimate(&p, &total, &e), 0);
	assert_int_equal(total, 5 + 300000 + 8192 + 4096 + 6);
	close(fd);
}

static void
test_deterministic(void **state)
{
	struct out a, b;

	(void)state;
	produce_ok("d", "d", 2, &a);
	produce_ok("d", "d", 2, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	assert_memory_equal(a.dig.d, b.dig.d, STREAM_DIGEST_LEN);
	free(a.buf);
	free(b.buf);
}

static void
test_single_file(void **state)
{
	char d[] = "/dev/shm/walk-dst.XXXXXX", p[PATH_MAX], q[PATH_MAX];
	struct stat st;
	struct out o;
	char *x, *y;
	int dfd;

	(void)state;
	produce_ok("d/sparse", "sparse", 2, &o);
	dfd = dest(d);
	apply_all(dfd, &o, true);
	snprintf(p, sizeof(p), "%s/d/sparse", src);
	snprintf(q, sizeof(q), "%s/sparse", d);
	x = dump(p);
	y = dump(q);
	assert_string_equal(x, y);
	free(x);
	free(y);
	snprintf(p, sizeof(p), "%s/.btrsend-partial.sparse", d);
	assert_int_equal(lstat(p, &st), -1);
	close(dfd);
	rm_tree(d);
	free(o.buf);
}

static void
test_symlink_component(void **state)
{
	struct out o;
	char err[600];

	(void)state;
	assert_int_equal(produce("lnk/f", "f", 2, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "lnk/f: lnk is a symbolic link"));
	assert_int_equal(produce("d/ln", "ln", 2, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ln is a symbolic link"));
	assert_int_equal(produce("d/nothere", "x", 2, &o, err, sizeof(err)), -1);
	assert_int_equal(produce("d/f/x", "x", 2, &o, err, sizeof(err)), -1);
}

/* A restore never overwrites: NAME exists, nothing is written. */
static void
test_refuses_existing(void **state)
{
	char d[] = "/dev/shm/walk-dst.XXXXXX", p[PATH_MAX];
	struct apply *a;
	struct out o;
	struct stat st;
	int dfd;

	(void)state;
	produce_ok("d", "d", 2, &o);
	dfd = dest(d);
	assert_int_equal(mkdirat(dfd, "d", 0755), 0);
	a = plain(dfd, false, UINT64_MAX);
	assert_int_not_equal(feed(a, &o, 0, UINT64_MAX), 0);
	assert_non_null(strstr(apply_error(a), "d already exists in /dest"));
	apply_free(a);
	snprintf(p, sizeof(p), "%s/.btrsend-partial.d", d);
	assert_int_equal(lstat(p, &st), -1);
	snprintf(p, sizeof(p), "%s/d/f", d);
	assert_int_equal(lstat(p, &st), -1);
	close(dfd);
	rm_tree(d);
	free(o.buf);
}

/*
 * Killed after p commands (checkpoints every few KiB), then the same
 * command again from the start: the same tree.  With the progress record
 * (a killed process) and without it (a reboot: tolerant replay from the
 * last state file).
 */
static void
resume_at(const struct out *o, uint64_t p, bool drop_progress)
{
	char d[] = "/dev/shm/walk-dst.XXXXXX", x[PATH_MAX], y[PATH_MAX];
	struct apply *a;
	pid_t pid;
	int dfd, st;

	dfd = dest(d);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		a = plain(dfd, false, 4096);
		if (feed(a, o, 0, p) != 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (drop_progress)
		setenv("BTRSEND_TEST_IGNORE_PROGRESS", "1", 1);
	a = plain(dfd, false, 4096);
	if (feed(a, o, 0, UINT64_MAX) != 0 || apply_finish(a) != 0)
		fail_msg("resume after %llu commands: %s",
		    (unsigned long long)p, apply_error(a));
	apply_free(a);
	unsetenv("BTRSEND_TEST_IGNORE_PROGRESS");
	snprintf(x, sizeof(x), "%s/d", src);
	snprintf(y, sizeof(y), "%s/d", d);
	same_tree(x, y);
	close(dfd);
	rm_tree(d);
}

static void
test_resume(void **state)
{
	struct out o;
	uint64_t p;

	(void)state;
	produce_ok("d", "d", 2, &o);
	for (p = 2; p < o.ncmds; p += 3) {
		resume_at(&o, p, false);
		resume_at(&o, p, true);
	}
	/* between the root's held CHMOD and UTIMES, and before END */
	resume_at(&o, o.ncmds - 2, false);
	resume_at(&o, o.ncmds - 1, false);
	free(o.buf);
}

/* What tmpfs lacks: a btrfs-only xattr and NOCOW.  Reported, not fatal. */
static void
test_tmpfs_lacks(void **state)
{
	char d[] = "/dev/shm/walk-dst.XXXXXX", p[PATH_MAX];
	uint8_t buf[4096];
	struct stream_writer w;
	struct apply *a;
	struct out o;
	struct stat st;
	const char *t;
	int dfd;

	(void)state;
	stream_writer_init(&w, buf, sizeof(buf), 2);
	assert_int_equal(stream_wr_header(&w), 0);
	stream_wr_begin(&w, SEND_C_SUBVOL);
	stream_wr_str(&w, SEND_A_PATH, "t");
	stream_wr_uuid(&w, SEND_A_UUID, tuuid);
	stream_wr_u64(&w, SEND_A_CTRANSID, 1);
	assert_true(stream_wr_end(&w) > 0);
	stream_wr_begin(&w, SEND_C_MKFILE);
	stream_wr_str(&w, SEND_A_PATH, "x");
	stream_wr_u64(&w, SEND_A_INO, 257);
	assert_true(stream_wr_end(&w) > 0);
	stream_wr_begin(&w, SEND_C_SET_XATTR);
	stream_wr_str(&w, SEND_A_PATH, "x");
	stream_wr_str(&w, SEND_A_XATTR_NAME, "btrfs.compression");
	stream_wr_str(&w, SEND_A_XATTR_DATA, "zstd");
	assert_true(stream_wr_end(&w) > 0);
	stream_wr_begin(&w, SEND_C_FILEATTR);
	stream_wr_str(&w, SEND_A_PATH, "x");
	stream_wr_u64(&w, SEND_A_FILEATTR, 1u << 1);    /* NODATACOW */
	assert_true(stream_wr_end(&w) > 0);
	stream_wr_begin(&w, SEND_C_END);
	assert_true(stream_wr_end(&w) > 0);
	o.buf = buf;
	o.len = w.pos;
	dfd = dest(d);
	a = plain(dfd, false, UINT64_MAX);
	if (feed(a, &o, 0, UINT64_MAX) != 0 || apply_finish(a) != 0)
		fail_msg("apply: %s", apply_error(a));
	assert_int_equal(apply_nwarnings(a), 2);
	t = apply_warnings(a);
	assert_non_null(strstr(t, "1 extended attribute not restored: "
	    "/dest/t/x: Operation not supported (the destination "
	    "filesystem lacks them)\n"));
	assert_non_null(strstr(t, "1 set of inode flags not restored: "
	    "/dest/t/x: "));
	apply_free(a);
	snprintf(p, sizeof(p), "%s/t/x", d);
	assert_int_equal(lstat(p, &st), 0);
	close(dfd);
	rm_tree(d);
}

/* Not root: owners and device files are reported, the rest restored. */
static void
test_not_root(void **state)
{
	char d[] = "/dev/shm/walk-dst.XXXXXX", p[PATH_MAX];
	struct apply *a;
	struct out o;
	struct stat st;
	pid_t pid;
	int dfd, rc;

	(void)state;
	produce_ok("d", "d", 2, &o);
	dfd = dest(d);
	assert_int_equal(fchown(dfd, 65534, 65534), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *t;

		if (setresgid(65534, 65534, 65534) == -1 ||
		    setresuid(65534, 65534, 65534) == -1)
			_exit(2);
		a = plain(dfd, false, UINT64_MAX);
		if (feed(a, &o, 0, UINT64_MAX) != 0 || apply_finish(a) != 0) {
			fprintf(stderr, "%s\n", apply_error(a));
			_exit(3);
		}
		t = apply_warnings(a);
		fprintf(stderr, "%s", t);
		if (strstr(t, "device file not restored: /dest/d/null: "
		    "Operation not permitted (only root can make device "
		    "files)") == NULL || strstr(t, "owners not restored") ==
		    NULL || strstr(t, "extended attribute") == NULL)
			_exit(4);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &rc, 0), pid);
	assert_true(WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 0);
	snprintf(p, sizeof(p), "%s/d/null", d);
	assert_int_equal(lstat(p, &st), -1);
	snprintf(p, sizeof(p), "%s/d/sub/deep/big", d);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_size, 300000);
	/* the read-only directory got its mode after its children */
	snprintf(p, sizeof(p), "%s/d/sub", d);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0555);
	close(dfd);
	rm_tree(d);
	free(o.buf);
}

/* Immutable and append-only, on a hard-linked file and a directory. */
static void
test_blocking_flags(void **state)
{
	char d[] = "/tmp/walk-dst.XXXXXX", p[PATH_MAX], q[PATH_MAX], s2[] =
	    "/tmp/walk-imm.XXXXXX";
	int fd, fl, dfd;
	struct out o;
	char saved[64];

	(void)state;
	assert_non_null(mkdtemp(s2));
	snprintf(p, sizeof(p), "%s/i", s2);
	assert_int_equal(mkdir(p, 0755), 0);
	put(P("%s/i/a", s2), "immutable", 9, 0);
	assert_int_equal(link(p, Q("%s/i/b", s2)), 0);
	put(P("%s/i/log", s2), "append", 6, 0);
	fd = open(P("%s/i/a", s2), O_RDONLY);
	fl = FS_IMMUTABLE_FL;
	assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &fl), 0);
	close(fd);
	fd = open(P("%s/i/log", s2), O_RDONLY);
	fl = FS_APPEND_FL | FS_NODUMP_FL;
	assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &fl), 0);
	close(fd);
	fd = open(P("%s/i", s2), O_RDONLY);
	fl = FS_IMMUTABLE_FL;
	assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &fl), 0);
	close(fd);
	snprintf(saved, sizeof(saved), "%s", src);
	snprintf(src, sizeof(src), "%s", s2);
	produce_ok("i", "i", 2, &o);
	snprintf(src, sizeof(src), "%s", saved);
	dfd = dest(d);
	apply_all(dfd, &o, false);
	fd = open(P("%s/i/b", d), O_RDONLY);
	assert_int_equal(ioctl(fd, FS_IOC_GETFLAGS, &fl), 0);
	assert_true(fl & FS_IMMUTABLE_FL);
	close(fd);
	fd = open(P("%s/i/log", d), O_RDONLY);
	assert_int_equal(ioctl(fd, FS_IOC_GETFLAGS, &fl), 0);
	assert_true((fl & (FS_APPEND_FL | FS_NODUMP_FL)) ==
	    (FS_APPEND_FL | FS_NODUMP_FL));
	close(fd);
	fd = open(P("%s/i", d), O_RDONLY);
	assert_int_equal(ioctl(fd, FS_IOC_GETFLAGS, &fl), 0);
	assert_true(fl & FS_IMMUTABLE_FL);
	close(fd);
	close(dfd);
	rm_tree(d);
	rm_tree(s2);
	free(o.buf);
}

/* A mount inside is not part of the snapshot: left out, never crossed. */
static void
test_mount_left_out(void **state)
{
	char s3[] = "/tmp/walk-mnt.XXXXXX", d[] = "/dev/shm/walk-dst.XXXXXX";
	char p[PATH_MAX], saved[64], err[600];
	struct stat st;
	struct out o, bad;
	int dfd;

	(void)state;
	assert_non_null(mkdtemp(s3));
	assert_int_equal(mkdir(P("%s/x", s3), 0755), 0);
	put(P("%s/x/f", s3), "f", 1, 0);
	assert_int_equal(mkdir(P("%s/x/m", s3), 0755), 0);
	if (mount("walk", p, "tmpfs", 0, NULL) == -1) {
		rm_tree(s3);
		skip();
	}
	put(P("%s/x/m/inner", s3), "i", 1, 0);
	snprintf(saved, sizeof(saved), "%s", src);
	snprintf(src, sizeof(src), "%s", s3);
	produce_ok("x", "x", 2, &o);
	assert_int_equal(produce("x/m/inner", "inner", 2, &bad, err,
	    sizeof(err)), -1);
	snprintf(src, sizeof(src), "%s", saved);
	assert_non_null(strstr(err, "m is another subvolume or a mount point"));
	assert_int_equal(umount(P("%s/x/m", s3)), 0);
	dfd = dest(d);
	apply_all(dfd, &o, false);
	assert_int_equal(lstat(P("%s/x/f", d), &st), 0);
	assert_int_equal(lstat(P("%s/x/m", d), &st), -1);
	close(dfd);
	rm_tree(d);
	rm_tree(s3);
	free(o.buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_v2),
		cmocka_unit_test(test_roundtrip_v1),
		cmocka_unit_test(test_stream_shape),
		cmocka_unit_test(test_estimate),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_single_file),
		cmocka_unit_test(test_symlink_component),
		cmocka_unit_test(test_refuses_existing),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_tmpfs_lacks),
		cmocka_unit_test(test_not_root),
		cmocka_unit_test(test_blocking_flags),
		cmocka_unit_test(test_mount_left_out),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: test_walk needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
