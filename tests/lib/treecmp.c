/*
 * treecmp: compare two directory trees the way a send/receive round trip
 * must preserve them.  Symlinks are never followed.
 *
 *   treecmp [options] A B
 *
 * A and B are two directories, or two files of the same name (a subtree
 * that is one file: compared as an entry of its directory, "." named by
 * that name).
 * One line per difference on stdout, "path: what: A=... B=...", paths
 * relative to the roots ("." is the root) with unprintable bytes escaped.
 * Exit 0 equal, 1 different, 2 usage or I/O error.
 *
 * Hard links are compared per tree by mapping every multiply linked inode
 * to the first path (in traversal order) that names it; both trees are
 * walked in the same sorted order, so equal link structures give equal
 * first paths for every common path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "proto/base/log.h"

#define TC_BUFSZ	(1 << 20)
#define TC_SHOW_MAX	48	/* bytes of a value shown in a report */
#define TC_SEGS_MAX	6	/* data segments shown in a holes report */

enum tc_cat {
	TC_TYPE		= 1 << 0,
	TC_MODE		= 1 << 1,
	TC_UID		= 1 << 2,
	TC_GID		= 1 << 3,
	TC_SIZE		= 1 << 4,
	TC_CONTENT	= 1 << 5,
	TC_HOLES	= 1 << 6,
	TC_TARGET	= 1 << 7,
	TC_RDEV		= 1 << 8,
	TC_MTIME	= 1 << 9,
	TC_ATIME	= 1 << 10,
	TC_XATTR	= 1 << 11,
	TC_LINK		= 1 << 12,
	TC_NAMES	= 1 << 13,
};

static const struct {
	const char	*name;
	int		 cat;
} tc_cats[] = {
	{ "atime", TC_ATIME }, { "content", TC_CONTENT },
	{ "gid", TC_GID }, { "holes", TC_HOLES }, { "link", TC_LINK },
	{ "mode", TC_MODE }, { "mtime", TC_MTIME }, { "names", TC_NAMES },
	{ "rdev", TC_RDEV }, { "size", TC_SIZE }, { "target", TC_TARGET },
	{ "type", TC_TYPE }, { "uid", TC_UID }, { "xattr", TC_XATTR },
};
#define TC_NCATS (sizeof(tc_cats) / sizeof(tc_cats[0]))

/* inode -> first path naming it, one table per tree. */
struct tc_links {
	struct tc_link {
		dev_t	 dev;
		ino_t	 ino;
		char	*path;
	}		*tab;
	size_t		 cap;
	size_t		 n;
};

struct tc_side {
	const char	*root;
	struct tc_links	 links;
	unsigned char	*buf;
};

static int tc_cats_on = ~TC_HOLES;
static int tc_ignore_root_times;
static int tc_ndiff;
static int tc_nerr;
static struct tc_side tc_a, tc_b;

static void
tc_escape(FILE *f, const char *s, size_t len)
{
	unsigned char c;
	size_t i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
}

static void
tc_path(FILE *f, const char *path)
{
	tc_escape(f, path, strlen(path));
}

/* Starts a difference line: "path: what[ detail]: ", detail escaped. */
static void
tc_diff_begin_detail(const char *path, const char *what, const char *detail)
{
	tc_ndiff++;
	tc_path(stdout, path);
	printf(": %s", what);
	if (detail != NULL) {
		putchar(' ');
		tc_path(stdout, detail);
	}
	printf(": ");
}

static void
tc_diff_begin(const char *path, const char *what)
{
	tc_diff_begin_detail(path, what, NULL);
}

static void
tc_diff_u64(const char *path, const char *what, const char *fmt,
    uint64_t a, uint64_t b)
{
	tc_diff_begin(path, what);
	printf("A=");
	printf(fmt, a);
	printf(" B=");
	printf(fmt, b);
	putchar('\n');
}

static void
tc_error(const char *path, const char *what)
{
	int saved = errno;

	tc_nerr++;
	fprintf(stderr, "treecmp: ");
	tc_path(stderr, path);
	fprintf(stderr, ": %s: %s\n", what, strerror(saved));
}

static int
tc_open(int dfd, const char *name, int flags)
{
	int fd;

	fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd == -1 && errno == EPERM)
		fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

static char *
tc_join(const char *dir, const char *name)
{
	char *p;

	if (strcmp(dir, ".") == 0)
		return xstrdup(name);
	if (asprintf(&p, "%s/%s", dir, name) == -1)
		fatalx("out of memory");
	return p;
}

static size_t
tc_link_slot(const struct tc_links *l, dev_t dev, ino_t ino)
{
	size_t i;

	i = (size_t)((ino * 0x9e3779b97f4a7c15ULL) ^ dev) & (l->cap - 1);
	while (l->tab[i].path != NULL &&
	    (l->tab[i].dev != dev || l->tab[i].ino != ino))
		i = (i + 1) & (l->cap - 1);
	return i;
}

static void
tc_link_grow(struct tc_links *l)
{
	struct tc_link *old = l->tab;
	size_t oldcap = l->cap, i, j;

	l->cap = oldcap ? oldcap * 2 : 1024;
	l->tab = xcalloc(l->cap, sizeof(*l->tab));
	for (i = 0; i < oldcap; i++) {
		if (old[i].path == NULL)
			continue;
		j = tc_link_slot(l, old[i].dev, old[i].ino);
		l->tab[j] = old[i];
	}
	free(old);
}

/* The first path of this inode in traversal order (path itself if new). */
static const char *
tc_link_first(struct tc_links *l, const struct stat *st, const char *path)
{
	size_t i;

	if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
		return path;
	if ((l->n + 1) * 2 > l->cap)
		tc_link_grow(l);
	i = tc_link_slot(l, st->st_dev, st->st_ino);
	if (l->tab[i].path == NULL) {
		l->tab[i].dev = st->st_dev;
		l->tab[i].ino = st->st_ino;
		l->tab[i].path = xstrdup(path);
		l->n++;
	}
	return l->tab[i].path;
}

static const char *
tc_type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:	return "file";
	case S_IFDIR:	return "dir";
	case S_IFLNK:	return "symlink";
	case S_IFCHR:	return "chardev";
	case S_IFBLK:	return "blockdev";
	case S_IFIFO:	return "fifo";
	case S_IFSOCK:	return "socket";
	default:	return "unknown";
	}
}

static ssize_t
tc_read_full(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, buf + got, n - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static size_t
tc_first_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	return i;
}

static void
tc_show_byte(const unsigned char *buf, size_t i, ssize_t n)
{
	if ((ssize_t)i < n)
		printf("0x%02x", buf[i]);
	else
		printf("EOF");
}

static void
tc_content(int fa, int fb, const char *path)
{
	uint64_t off = 0;
	ssize_t na, nb;
	size_t i;

	posix_fadvise(fa, 0, 0, POSIX_FADV_SEQUENTIAL);
	posix_fadvise(fb, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		na = tc_read_full(fa, tc_a.buf, TC_BUFSZ);
		nb = tc_read_full(fb, tc_b.buf, TC_BUFSZ);
		if (na == -1 || nb == -1) {
			tc_error(path, "read");
			return;
		}
		if (na != nb || memcmp(tc_a.buf, tc_b.buf, (size_t)na) != 0)
			break;
		if (na == 0)
			return;
		off += (uint64_t)na;
	}
	i = tc_first_diff(tc_a.buf, tc_b.buf, (size_t)(na < nb ? na : nb));
	tc_diff_begin(path, "content");
	printf("first difference at byte %" PRIu64 ": A=", off + i);
	tc_show_byte(tc_a.buf, i, na);
	printf(" B=");
	tc_show_byte(tc_b.buf, i, nb);
	putchar('\n');
}

/* Data segments [start, end) of a file, by SEEK_DATA/SEEK_HOLE. */
static int
tc_segments(int fd, off_t size, off_t **segs, size_t *nsegs)
{
	off_t data, hole, pos = 0, *v = NULL;
	size_t n = 0, cap = 0;

	while (pos < size) {
		data = lseek(fd, pos, SEEK_DATA);
		if (data == -1 && errno == ENXIO)
			break;
		if (data == -1)
			goto fail;
		if ((hole = lseek(fd, data, SEEK_HOLE)) == -1)
			goto fail;
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = data;
		v[n++] = hole;
		pos = hole;
	}
	*segs = v;
	*nsegs = n;
	return 0;
fail:
	free(v);
	return -1;
}

static void
tc_print_segs(const off_t *s, size_t n)
{
	size_t i;

	if (n == 0)
		printf("(all hole)");
	for (i = 0; i < n && i < 2 * TC_SEGS_MAX; i += 2)
		printf("%sdata@%jd+%jd", i ? "," : "", (intmax_t)s[i],
		    (intmax_t)(s[i + 1] - s[i]));
	if (n > 2 * TC_SEGS_MAX)
		printf(",...(%zu segments)", n / 2);
}

static void
tc_holes(int fa, int fb, off_t size, const char *path)
{
	off_t *sa = NULL, *sb = NULL;
	size_t na = 0, nb = 0;

	if (tc_segments(fa, size, &sa, &na) == -1 ||
	    tc_segments(fb, size, &sb, &nb) == -1) {
		tc_error(path, "SEEK_DATA/SEEK_HOLE");
		goto out;
	}
	if (na == nb && (na == 0 || memcmp(sa, sb, na * sizeof(*sa)) == 0))
		goto out;
	tc_diff_begin(path, "holes");
	printf("A=");
	tc_print_segs(sa, na);
	printf(" B=");
	tc_print_segs(sb, nb);
	putchar('\n');
out:
	free(sa);
	free(sb);
}

static void
tc_regular(int da, int db, const char *name, const struct stat *st,
    const char *path)
{
	int fa, fb = -1;

	if ((fa = tc_open(da, name, O_RDONLY)) == -1 ||
	    (fb = tc_open(db, name, O_RDONLY)) == -1) {
		tc_error(path, "open");
		goto out;
	}
	if (tc_cats_on & TC_HOLES)
		tc_holes(fa, fb, st->st_size, path);
	if (tc_cats_on & TC_CONTENT)
		tc_content(fa, fb, path);
out:
	if (fa != -1)
		close(fa);
	if (fb != -1)
		close(fb);
}

static void
tc_show_value(const char *v, ssize_t len)
{
	if (len < 0) {
		printf("(absent)");
		return;
	}
	putchar('"');
	tc_escape(stdout, v, len > TC_SHOW_MAX ? TC_SHOW_MAX : (size_t)len);
	printf("%s\"(%zd bytes)", len > TC_SHOW_MAX ? "..." : "", len);
}

static void
tc_symlink(int da, int db, const char *name, const char *path)
{
	char ta[PATH_MAX], tb[PATH_MAX];
	ssize_t la, lb;

	la = readlinkat(da, name, ta, sizeof(ta));
	lb = readlinkat(db, name, tb, sizeof(tb));
	if (la == -1 || lb == -1) {
		tc_error(path, "readlink");
		return;
	}
	if (la == lb && memcmp(ta, tb, (size_t)la) == 0)
		return;
	tc_diff_begin(path, "target");
	printf("A=");
	tc_show_value(ta, la);
	printf(" B=");
	tc_show_value(tb, lb);
	putchar('\n');
}

/*
 * The xattr names of one inode, sorted, as a NUL separated list.  The
 * *xattr calls take the name relative to the current directory (we fchdir
 * there) so that depth never runs into PATH_MAX.
 */
static char *
tc_xattr_list(int dfd, const char *name, ssize_t *len)
{
	char *list = NULL;
	ssize_t n;

	for (;;) {
		if (fchdir(dfd) == -1)
			return NULL;
		if ((n = llistxattr(name, NULL, 0)) == -1)
			return NULL;
		list = xrealloc(list, (size_t)n + 1);
		if ((n = llistxattr(name, list, (size_t)n)) >= 0)
			break;
		if (errno != ERANGE) {
			free(list);
			return NULL;
		}
	}
	*len = n;
	return list;
}

static int
tc_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
tc_xattr_names(char *list, ssize_t len, size_t *n)
{
	char **v = NULL;
	ssize_t i;
	size_t cnt = 0;

	for (i = 0; i < len; i += (ssize_t)strlen(list + i) + 1) {
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		v[cnt++] = list + i;
	}
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), tc_strcmp_p);
	*n = cnt;
	return v;
}

/* Value of one xattr into buf (TC_BUFSZ, more than XATTR_SIZE_MAX). */
static ssize_t
tc_xattr_get(int dfd, const char *name, const char *attr, unsigned char *buf)
{
	if (fchdir(dfd) == -1)
		return -1;
	return lgetxattr(name, attr, buf, TC_BUFSZ);
}

static void
tc_xattr_one(int da, int db, const char *name, const char *attr,
    int ina, int inb, const char *path)
{
	ssize_t la = -1, lb = -1;

	if (ina && (la = tc_xattr_get(da, name, attr, tc_a.buf)) == -1)
		goto fail;
	if (inb && (lb = tc_xattr_get(db, name, attr, tc_b.buf)) == -1)
		goto fail;
	if (la == lb && (la == -1 || memcmp(tc_a.buf, tc_b.buf, la) == 0))
		return;
	tc_diff_begin_detail(path, "xattr", attr);
	printf("A=");
	tc_show_value((char *)tc_a.buf, la);
	printf(" B=");
	tc_show_value((char *)tc_b.buf, lb);
	putchar('\n');
	return;
fail:
	tc_error(path, "getxattr");
}

static void
tc_xattrs(int da, int db, const char *name, const char *path)
{
	char *la = NULL, *lb = NULL, **va = NULL, **vb = NULL;
	ssize_t lena = 0, lenb = 0;
	size_t na, nb, i = 0, j = 0;
	int c;

	if ((la = tc_xattr_list(da, name, &lena)) == NULL ||
	    (lb = tc_xattr_list(db, name, &lenb)) == NULL) {
		tc_error(path, "listxattr");
		goto out;
	}
	va = tc_xattr_names(la, lena, &na);
	vb = tc_xattr_names(lb, lenb, &nb);
	while (i < na || j < nb) {
		if (i == na)
			c = 1;
		else if (j == nb)
			c = -1;
		else
			c = strcmp(va[i], vb[j]);
		tc_xattr_one(da, db, name, c <= 0 ? va[i] : vb[j],
		    c <= 0, c >= 0, path);
		i += c <= 0;
		j += c >= 0;
	}
out:
	free(va);
	free(vb);
	free(la);
	free(lb);
}

static void
tc_time(const char *path, const char *what, const struct timespec *a,
    const struct timespec *b)
{
	if (a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec)
		return;
	tc_diff_begin(path, what);
	printf("A=%jd.%09ld B=%jd.%09ld\n", (intmax_t)a->tv_sec, a->tv_nsec,
	    (intmax_t)b->tv_sec, b->tv_nsec);
}

static void
tc_links_cmp(const struct stat *sa, const struct stat *sb, const char *path)
{
	const char *fa, *fb;

	fa = tc_link_first(&tc_a.links, sa, path);
	fb = tc_link_first(&tc_b.links, sb, path);
	if (!(tc_cats_on & TC_LINK) || strcmp(fa, fb) == 0)
		return;
	tc_diff_begin(path, "link");
	printf("A=");
	tc_path(stdout, fa == path ? "(first name)" : fa);
	printf(" B=");
	tc_path(stdout, fb == path ? "(first name)" : fb);
	putchar('\n');
}

static void
tc_inode(int da, int db, const char *name, const struct stat *sa,
    const struct stat *sb, const char *path)
{
	int root = strcmp(path, ".") == 0;

	if ((tc_cats_on & TC_MODE) && (sa->st_mode & 07777) !=
	    (sb->st_mode & 07777))
		tc_diff_u64(path, "mode", "%04" PRIo64, sa->st_mode & 07777,
		    sb->st_mode & 07777);
	if ((tc_cats_on & TC_UID) && sa->st_uid != sb->st_uid)
		tc_diff_u64(path, "uid", "%" PRIu64, sa->st_uid, sb->st_uid);
	if ((tc_cats_on & TC_GID) && sa->st_gid != sb->st_gid)
		tc_diff_u64(path, "gid", "%" PRIu64, sa->st_gid, sb->st_gid);
	tc_links_cmp(sa, sb, path);
	if ((tc_cats_on & TC_RDEV) && (S_ISCHR(sa->st_mode) ||
	    S_ISBLK(sa->st_mode)) && sa->st_rdev != sb->st_rdev) {
		tc_diff_begin(path, "rdev");
		printf("A=%u:%u B=%u:%u\n", major(sa->st_rdev),
		    minor(sa->st_rdev), major(sb->st_rdev), minor(sb->st_rdev));
	}
	if (S_ISLNK(sa->st_mode) && (tc_cats_on & TC_TARGET))
		tc_symlink(da, db, name, path);
	if (S_ISREG(sa->st_mode)) {
		if ((tc_cats_on & TC_SIZE) && sa->st_size != sb->st_size)
			tc_diff_u64(path, "size", "%" PRIu64, sa->st_size,
			    sb->st_size);
		else if (tc_cats_on & (TC_CONTENT | TC_HOLES))
			tc_regular(da, db, name, sa, path);
	}
	if ((tc_cats_on & TC_MTIME) && !(root && tc_ignore_root_times))
		tc_time(path, "mtime", &sa->st_mtim, &sb->st_mtim);
	if ((tc_cats_on & TC_ATIME) && !(root && tc_ignore_root_times))
		tc_time(path, "atime", &sa->st_atim, &sb->st_atim);
	if (tc_cats_on & TC_XATTR)
		tc_xattrs(da, db, name, path);
}

/* Names of a directory (without . and ..), sorted bytewise. */
static char **
tc_readdir(int dfd, size_t *n)
{
	struct dirent *de;
	char **v = NULL;
	size_t cnt = 0;
	DIR *d;
	int fd;

	if ((fd = tc_open(dfd, ".", O_RDONLY | O_DIRECTORY)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return NULL;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		v[cnt++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), tc_strcmp_p);
	*n = cnt;
	return v != NULL ? v : xcalloc(1, sizeof(*v));
}

static void tc_dir(int, int, const char *);

static void
tc_only(int dfd, const char *name, int in_a, const char *path)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		tc_link_first(in_a ? &tc_a.links : &tc_b.links, &st, path);
	if (!(tc_cats_on & TC_NAMES))
		return;
	tc_diff_begin(path, "names");
	printf(in_a ? "A=present B=absent\n" : "A=absent B=present\n");
}

static void
tc_entry(int da, int db, const char *name, const char *path)
{
	struct stat sa, sb;
	int fa, fb;

	if (fstatat(da, name, &sa, AT_SYMLINK_NOFOLLOW) == -1 ||
	    fstatat(db, name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		tc_error(path, "lstat");
		return;
	}
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
		tc_link_first(&tc_a.links, &sa, path);
		tc_link_first(&tc_b.links, &sb, path);
		if (!(tc_cats_on & TC_TYPE))
			return;
		tc_diff_begin(path, "type");
		printf("A=%s B=%s\n", tc_type_name(sa.st_mode),
		    tc_type_name(sb.st_mode));
		return;
	}
	tc_inode(da, db, name, &sa, &sb, path);
	if (!S_ISDIR(sa.st_mode) || strcmp(name, ".") == 0)
		return;
	fa = tc_open(da, name, O_RDONLY | O_DIRECTORY);
	fb = tc_open(db, name, O_RDONLY | O_DIRECTORY);
	if (fa == -1 || fb == -1)
		tc_error(path, "open directory");
	else
		tc_dir(fa, fb, path);
	if (fa != -1)
		close(fa);
	if (fb != -1)
		close(fb);
}

static void
tc_dir(int da, int db, const char *dirpath)
{
	char **va, **vb, *path;
	size_t na = 0, nb = 0, i = 0, j = 0;
	int c;

	va = tc_readdir(da, &na);
	vb = tc_readdir(db, &nb);
	if (va == NULL || vb == NULL) {
		tc_error(dirpath, "readdir");
		na = va == NULL ? 0 : na;
		nb = vb == NULL ? 0 : nb;
		goto out;
	}
	while (i < na || j < nb) {
		if (i == na)
			c = 1;
		else if (j == nb)
			c = -1;
		else
			c = strcmp(va[i], vb[j]);
		path = tc_join(dirpath, c <= 0 ? va[i] : vb[j]);
		if (c == 0)
			tc_entry(da, db, va[i], path);
		else if (c < 0)
			tc_only(da, va[i], 1, path);
		else
			tc_only(db, vb[j], 0, path);
		free(path);
		i += c <= 0;
		j += c >= 0;
	}
out:
	for (i = 0; i < na; i++)
		free(va[i]);
	for (j = 0; j < nb; j++)
		free(vb[j]);
	free(va);
	free(vb);
}

/*
 * Two roots that are not directories: their parent directories, and the
 * last component (the same in both).  0 when either is a directory.
 */
static int
tc_file_roots(int *ra, int *rb, const char **name)
{
	static char pa[PATH_MAX], pb[PATH_MAX];
	struct stat sa, sb;
	char *ba, *bb;

	if (lstat(tc_a.root, &sa) == -1 || lstat(tc_b.root, &sb) == -1 ||
	    S_ISDIR(sa.st_mode) || S_ISDIR(sb.st_mode))
		return 0;
	snprintf(pa, sizeof(pa), "%s", tc_a.root);
	snprintf(pb, sizeof(pb), "%s", tc_b.root);
	ba = strrchr(pa, '/');
	bb = strrchr(pb, '/');
	if (ba == NULL || bb == NULL || strcmp(ba, bb) != 0)
		fatalx("file roots need paths with the same last component");
	*ba = *bb = '\0';
	*name = ba + 1;
	*ra = open(*pa ? pa : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*rb = open(*pb ? pb : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*ra == -1 || *rb == -1)
		fatal("%s", *ra == -1 ? pa : pb);
	return 1;
}

static void __attribute__((noreturn))
usage(void)
{
	size_t i;

	fprintf(stderr, "usage: treecmp [--holes] [--ignore-root-times] "
	    "[--no-CATEGORY]... A B\n"
	    "categories (all but holes are on by default):");
	for (i = 0; i < TC_NCATS; i++)
		fprintf(stderr, " %s", tc_cats[i].name);
	fprintf(stderr, "\nexit: 0 equal, 1 different, 2 usage or I/O error\n");
	exit(2);
}

static void
tc_option(const char *arg)
{
	size_t i;
	int on = 1;

	if (strcmp(arg, "ignore-root-times") == 0) {
		tc_ignore_root_times = 1;
		return;
	}
	if (strncmp(arg, "no-", 3) == 0) {
		on = 0;
		arg += 3;
	}
	for (i = 0; i < TC_NCATS; i++) {
		if (strcmp(arg, tc_cats[i].name) != 0)
			continue;
		if (on)
			tc_cats_on |= tc_cats[i].cat;
		else
			tc_cats_on &= ~tc_cats[i].cat;
		return;
	}
	fprintf(stderr, "treecmp: unknown option --%s\n", arg);
	usage();
}

int
main(int argc, char **argv)
{
	const char *name = NULL;
	int i, ra, rb;

	log_init("treecmp", 0);
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (argv[i][2] == '\0') {
			i++;
			break;
		}
		tc_option(argv[i] + 2);
	}
	if (argc - i != 2)
		usage();
	tc_a.root = argv[i];
	tc_b.root = argv[i + 1];
	tc_a.buf = xmalloc(TC_BUFSZ);
	tc_b.buf = xmalloc(TC_BUFSZ);
	if (tc_file_roots(&ra, &rb, &name))
		goto entry;
	ra = open(tc_a.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rb = open(tc_b.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ra == -1 || rb == -1) {
		log_warn("%s", ra == -1 ? tc_a.root : tc_b.root);
		return 2;
	}
	tc_entry(ra, rb, ".", ".");
	tc_dir(ra, rb, ".");
entry:
	if (name != NULL)
		tc_entry(ra, rb, name, name);
	fflush(stdout);
	if (tc_nerr > 0)
		return 2;
	return tc_ndiff > 0 ? 1 : 0;
}
