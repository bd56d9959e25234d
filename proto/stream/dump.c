/*
 * `btrfs receive --dump` lines, progs 6.2 layout.  Each line is built
 * whole in ds_line before anything is written, so that a command progs
 * would reject leaves no partial line behind.
 *
 * Every format here was established against the installed progs 6.2 with
 * crafted streams (see tests/unit/test_dump.c and
 * tests/integration/dump_matches_progs.sh).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uuid/uuid.h>

#include "proto/stream/dump.h"

#define DUMP_TITLE_WIDTH 16
#define DUMP_PATH_WIDTH  32
#define DUMP_TIME_MAX    64

/* A stream string as progs sees it: it ends at the first NUL. */
struct dump_str {
	const char	*p;
	size_t		 n;
};

typedef int (*dump_fn)(struct dump_state *, const struct stream_cmd *);

static int
dump_fail(struct dump_state *ds, const struct stream_cmd *c,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
dump_fail(struct dump_state *ds, const struct stream_cmd *c,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(ds->ds_err, sizeof(ds->ds_err),
	    "command %" PRIu64 " (%s) at byte offset %" PRIu64 ": ",
	    c->index, stream_cmd_name(c->type), c->offset);
	if (n < 0 || (size_t)n >= sizeof(ds->ds_err))
		return -1;
	va_start(ap, fmt);
	vsnprintf(ds->ds_err + n, sizeof(ds->ds_err) - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
dump_reserve(struct dump_state *ds, const struct stream_cmd *c, size_t n)
{
	size_t cap;
	char *p;

	if (ds->ds_cap - ds->ds_len > n)
		return 0;
	cap = ds->ds_cap ? ds->ds_cap : 4096;
	while (cap - ds->ds_len <= n)
		cap *= 2;
	if ((p = realloc(ds->ds_line, cap)) == NULL)
		return dump_fail(ds, c, "out of memory for a %zu byte line",
		    cap);
	ds->ds_line = p;
	ds->ds_cap = cap;
	return 0;
}

static int
dump_put(struct dump_state *ds, const struct stream_cmd *c, const void *p,
    size_t n)
{
	if (dump_reserve(ds, c, n) == -1)
		return -1;
	memcpy(ds->ds_line + ds->ds_len, p, n);
	ds->ds_len += n;
	return 0;
}

static int
dump_printf(struct dump_state *ds, const struct stream_cmd *c,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
dump_printf(struct dump_state *ds, const struct stream_cmd *c,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || dump_reserve(ds, c, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ds->ds_line + ds->ds_len, ds->ds_cap - ds->ds_len, fmt, ap);
	va_end(ap);
	ds->ds_len += (size_t)n;
	return 0;
}

static char
dump_named_escape(unsigned char ch)
{
	switch (ch) {
	case '\a':	return 'a';
	case '\b':	return 'b';
	case '\033':	return 'e';
	case '\f':	return 'f';
	case '\n':	return 'n';
	case '\r':	return 'r';
	case '\t':	return 't';
	case '\v':	return 'v';
	case ' ':	return ' ';
	case '\\':	return '\\';
	default:	return '\0';
	}
}

/*
 * progs escapes like C source, in the C locale (it never calls
 * setlocale): named escapes, "\ " and "\\", octal for everything else
 * outside 0x20..0x7e.  Returns the printed width, which counts the
 * escapes; -1 on error.
 */
static long
dump_escaped(struct dump_state *ds, const struct stream_cmd *c,
    struct dump_str s)
{
	size_t i, start = ds->ds_len;
	unsigned char ch;
	char e, *o;

	if (dump_reserve(ds, c, 4 * s.n) == -1)
		return -1;
	o = ds->ds_line + ds->ds_len;
	for (i = 0; i < s.n; i++) {
		ch = (unsigned char)s.p[i];
		if ((e = dump_named_escape(ch)) != '\0') {
			*o++ = '\\';
			*o++ = e;
		} else if (ch < 0x20 || ch > 0x7e) {
			*o++ = '\\';
			*o++ = (char)('0' + (ch >> 6));
			*o++ = (char)('0' + ((ch >> 3) & 7));
			*o++ = (char)('0' + (ch & 7));
		} else
			*o++ = (char)ch;
	}
	ds->ds_len = (size_t)(o - ds->ds_line);
	return (long)(ds->ds_len - start);
}

static int
dump_get_str(struct dump_state *ds, const struct stream_cmd *c, int attr,
    struct dump_str *s)
{
	const uint8_t *p;
	uint32_t len;

	if (stream_get_bytes(c, attr, &p, &len) == -1)
		return dump_fail(ds, c, "attribute %s is missing",
		    stream_attr_name(attr));
	s->p = (const char *)p;
	s->n = len ? strnlen(s->p, len) : 0;
	return 0;
}

static int
dump_get_u64(struct dump_state *ds, const struct stream_cmd *c, int attr,
    uint64_t *v)
{
	if (stream_get_u64(c, attr, v) == -1)
		return dump_fail(ds, c, "attribute %s is missing or not 8 bytes",
		    stream_attr_name(attr));
	return 0;
}

static int
dump_get_u32(struct dump_state *ds, const struct stream_cmd *c, int attr,
    uint32_t *v)
{
	if (stream_get_u32(c, attr, v) == -1)
		return dump_fail(ds, c, "attribute %s is missing or not 4 bytes",
		    stream_attr_name(attr));
	return 0;
}

static int
dump_get_uuid(struct dump_state *ds, const struct stream_cmd *c, int attr,
    char out[37])
{
	uint8_t u[16];

	if (stream_get_uuid(c, attr, u) == -1)
		return dump_fail(ds, c, "attribute %s is missing or not 16 "
		    "bytes", stream_attr_name(attr));
	uuid_unparse_lower(u, out);
	return 0;
}

/*
 * Join as progs' path_cat_out does: refuse when the two parts and the
 * separator reach PATH_MAX, else drop one trailing '/' of each part.
 */
static int
dump_join(struct dump_state *ds, const struct stream_cmd *c,
    char out[DUMP_PATH_MAX], struct dump_str a, struct dump_str b,
    struct dump_str *res)
{
	if (a.n + b.n + 2 >= DUMP_PATH_MAX)
		return dump_fail(ds, c, "path '%.*s' is too long after "
		    "'%.*s' (%zu bytes, progs refuses %d or more)",
		    (int)(b.n > 64 ? 64 : b.n), b.p, (int)(a.n > 64 ? 64 : a.n),
		    a.p, a.n + b.n + 2, DUMP_PATH_MAX);
	if (a.n > 0 && a.p[a.n - 1] == '/')
		a.n--;
	if (b.n > 0 && b.p[b.n - 1] == '/')
		b.n--;
	memmove(out, a.p, a.n);
	out[a.n] = '/';
	memmove(out + a.n + 1, b.p, b.n);
	out[a.n + 1 + b.n] = '\0';
	res->p = out;
	res->n = a.n + 1 + b.n;
	return 0;
}

static struct dump_str
dump_prefix(const struct dump_state *ds)
{
	struct dump_str s = { ds->ds_subvol, strlen(ds->ds_subvol) };

	return s;
}

/* Title and escaped path; the width printed so far, or -1. */
static long
dump_head(struct dump_state *ds, const struct stream_cmd *c,
    struct dump_str path)
{
	long w;

	ds->ds_len = 0;
	if (dump_printf(ds, c, "%-*s", DUMP_TITLE_WIDTH,
	    stream_cmd_name(c->type)) == -1)
		return -1;
	if ((w = dump_escaped(ds, c, path)) == -1)
		return -1;
	return w;
}

/* Short paths are padded to 32 columns, longer ones get one space. */
static int
dump_pad(struct dump_state *ds, const struct stream_cmd *c, long w)
{
	do {
		if (dump_put(ds, c, " ", 1) == -1)
			return -1;
	} while (++w < DUMP_PATH_WIDTH);
	return 0;
}

/* Head of a line whose PATH is relative to the current subvolume. */
static long
dump_head_path(struct dump_state *ds, const struct stream_cmd *c,
    char buf[DUMP_PATH_MAX], bool fields)
{
	struct dump_str path;
	long w;

	if (dump_get_str(ds, c, SEND_A_PATH, &path) == -1 ||
	    dump_join(ds, c, buf, dump_prefix(ds), path, &path) == -1 ||
	    (w = dump_head(ds, c, path)) == -1)
		return -1;
	if (fields && dump_pad(ds, c, w) == -1)
		return -1;
	return w;
}

static int
dump_end_line(struct dump_state *ds, const struct stream_cmd *c)
{
	return dump_put(ds, c, "\n", 1) == -1 ? -1 : 1;
}

static int
dump_root(struct dump_state *ds, const struct stream_cmd *c, bool snapshot)
{
	static const struct dump_str dot = { ".", 1 };
	char uuid[37], puuid[37], buf[DUMP_PATH_MAX];
	struct dump_str path;
	uint64_t transid, ptransid = 0;
	long w;

	if (dump_get_str(ds, c, SEND_A_PATH, &path) == -1 ||
	    dump_get_uuid(ds, c, SEND_A_UUID, uuid) == -1 ||
	    dump_get_u64(ds, c, SEND_A_CTRANSID, &transid) == -1)
		return -1;
	if (snapshot &&
	    (dump_get_uuid(ds, c, SEND_A_CLONE_UUID, puuid) == -1 ||
	    dump_get_u64(ds, c, SEND_A_CLONE_CTRANSID, &ptransid) == -1))
		return -1;
	if (dump_join(ds, c, buf, dot, path, &path) == -1)
		return -1;
	memcpy(ds->ds_subvol, buf, path.n + 1);
	if ((w = dump_head(ds, c, path)) == -1 || dump_pad(ds, c, w) == -1 ||
	    dump_printf(ds, c, "uuid=%s transid=%" PRIu64, uuid, transid) == -1)
		return -1;
	if (snapshot && dump_printf(ds, c, " parent_uuid=%s parent_transid=%"
	    PRIu64, puuid, ptransid) == -1)
		return -1;
	return dump_end_line(ds, c);
}

static int
dump_subvol(struct dump_state *ds, const struct stream_cmd *c)
{
	return dump_root(ds, c, false);
}

static int
dump_snapshot(struct dump_state *ds, const struct stream_cmd *c)
{
	return dump_root(ds, c, true);
}

/* mkfile, mkdir, mkfifo, mksock: progs needs INO but does not show it. */
static int
dump_mk(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	uint64_t ino;

	if (dump_get_u64(ds, c, SEND_A_INO, &ino) == -1 ||
	    dump_head_path(ds, c, buf, false) == -1)
		return -1;
	return dump_end_line(ds, c);
}

static int
dump_mknod(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	uint64_t ino, mode, rdev;

	if (dump_get_u64(ds, c, SEND_A_INO, &ino) == -1 ||
	    dump_get_u64(ds, c, SEND_A_MODE, &mode) == -1 ||
	    dump_get_u64(ds, c, SEND_A_RDEV, &rdev) == -1 ||
	    dump_head_path(ds, c, buf, true) == -1 ||
	    dump_printf(ds, c, "mode=%" PRIo64 " dev=0x%" PRIx64, mode,
	    rdev) == -1)
		return -1;
	return dump_end_line(ds, c);
}

/* symlink and link show their target escaped but not prefixed. */
static int
dump_target(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	struct dump_str target;
	uint64_t ino;

	if (c->type == SEND_C_SYMLINK &&
	    dump_get_u64(ds, c, SEND_A_INO, &ino) == -1)
		return -1;
	if (dump_get_str(ds, c, SEND_A_PATH_LINK, &target) == -1 ||
	    dump_head_path(ds, c, buf, true) == -1 ||
	    dump_put(ds, c, "dest=", 5) == -1 ||
	    dump_escaped(ds, c, target) == -1)
		return -1;
	return dump_end_line(ds, c);
}

static int
dump_rename(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX], tobuf[DUMP_PATH_MAX];
	struct dump_str to;

	if (dump_get_str(ds, c, SEND_A_PATH_TO, &to) == -1 ||
	    dump_join(ds, c, tobuf, dump_prefix(ds), to, &to) == -1 ||
	    dump_head_path(ds, c, buf, true) == -1 ||
	    dump_put(ds, c, "dest=", 5) == -1 ||
	    dump_escaped(ds, c, to) == -1)
		return -1;
	return dump_end_line(ds, c);
}

static int
dump_plain(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];

	if (dump_head_path(ds, c, buf, false) == -1)
		return -1;
	return dump_end_line(ds, c);
}

/* progs 6.2: name raw with %s, data raw with %.*s (so up to a NUL). */
static int
dump_set_xattr(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	struct dump_str name;
	const uint8_t *data;
	uint32_t len;

	if (dump_get_str(ds, c, SEND_A_XATTR_NAME, &name) == -1)
		return -1;
	if (stream_get_bytes(c, SEND_A_XATTR_DATA, &data, &len) == -1)
		return dump_fail(ds, c, "attribute XATTR_DATA is missing");
	if (dump_head_path(ds, c, buf, true) == -1 ||
	    dump_put(ds, c, "name=", 5) == -1 ||
	    dump_put(ds, c, name.p, name.n) == -1 ||
	    dump_put(ds, c, " data=", 6) == -1 ||
	    dump_put(ds, c, data, len ? strnlen((const char *)data, len) : 0)
	    == -1 ||
	    dump_printf(ds, c, " len=%" PRIu32, len) == -1)
		return -1;
	return dump_end_line(ds, c);
}

static int
dump_remove_xattr(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	struct dump_str name;

	if (dump_get_str(ds, c, SEND_A_XATTR_NAME, &name) == -1 ||
	    dump_head_path(ds, c, buf, true) == -1 ||
	    dump_put(ds, c, "name=", 5) == -1 ||
	    dump_put(ds, c, name.p, name.n) == -1)
		return -1;
	return dump_end_line(ds, c);
}

static int
dump_write(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	const uint8_t *data;
	uint64_t off;
	uint32_t len;

	if (dump_get_u64(ds, c, SEND_A_FILE_OFFSET, &off) == -1)
		return -1;
	if (stream_get_bytes(c, SEND_A_DATA, &data, &len) == -1)
		return dump_fail(ds, c, "attribute DATA is missing");
	if (dump_head_path(ds, c, buf, true) == -1 ||
	    dump_printf(ds, c, "offset=%" PRIu64 " len=%" PRIu32, off,
	    len) == -1)
		return -1;
	return dump_end_line(ds, c);
}

/* from= is the current subvolume's prefix whatever CLONE_UUID says. */
static int
dump_clone(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX], frombuf[DUMP_PATH_MAX], uuid[37];
	struct dump_str from;
	uint64_t off, len, ctransid, coff;

	if (dump_get_u64(ds, c, SEND_A_FILE_OFFSET, &off) == -1 ||
	    dump_get_u64(ds, c, SEND_A_CLONE_LEN, &len) == -1 ||
	    dump_get_uuid(ds, c, SEND_A_CLONE_UUID, uuid) == -1 ||
	    dump_get_u64(ds, c, SEND_A_CLONE_CTRANSID, &ctransid) == -1 ||
	    dump_get_str(ds, c, SEND_A_CLONE_PATH, &from) == -1 ||
	    dump_get_u64(ds, c, SEND_A_CLONE_OFFSET, &coff) == -1 ||
	    dump_join(ds, c, frombuf, dump_prefix(ds), from, &from) == -1 ||
	    dump_head_path(ds, c, buf, true) == -1 ||
	    dump_printf(ds, c, "offset=%" PRIu64 " len=%" PRIu64 " from=", off,
	    len) == -1 ||
	    dump_put(ds, c, from.p, from.n) == -1 ||
	    dump_printf(ds, c, " clone_offset=%" PRIu64, coff) == -1)
		return -1;
	return dump_end_line(ds, c);
}

/* A command whose fields are one u64 attribute and a printf format. */
static int
dump_u64_field(struct dump_state *ds, const struct stream_cmd *c, int attr,
    const char *fmt)
{
	char buf[DUMP_PATH_MAX];
	uint64_t v;

	if (dump_get_u64(ds, c, attr, &v) == -1 ||
	    dump_head_path(ds, c, buf, true) == -1 ||
	    dump_printf(ds, c, fmt, v) == -1)
		return -1;
	return dump_end_line(ds, c);
}

static int
dump_truncate(struct dump_state *ds, const struct stream_cmd *c)
{
	return dump_u64_field(ds, c, SEND_A_SIZE, "size=%" PRIu64);
}

static int
dump_chmod(struct dump_state *ds, const struct stream_cmd *c)
{
	return dump_u64_field(ds, c, SEND_A_MODE, "mode=%" PRIo64);
}

/* progs 6.2 prints "0x" and then the value in decimal. */
static int
dump_fileattr(struct dump_state *ds, const struct stream_cmd *c)
{
	return dump_u64_field(ds, c, SEND_A_FILEATTR, "fileattr=0x%" PRIu64);
}

static int
dump_chown(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	uint64_t uid, gid;

	if (dump_get_u64(ds, c, SEND_A_UID, &uid) == -1 ||
	    dump_get_u64(ds, c, SEND_A_GID, &gid) == -1 ||
	    dump_head_path(ds, c, buf, true) == -1 ||
	    dump_printf(ds, c, "gid=%" PRIu64 " uid=%" PRIu64, gid, uid) == -1)
		return -1;
	return dump_end_line(ds, c);
}

/* localtime + %FT%T%z: the output follows the caller's TZ, as progs. */
static int
dump_time(struct dump_state *ds, const struct stream_cmd *c, int attr,
    char out[DUMP_TIME_MAX])
{
	struct stream_timespec ts;
	struct tm tm;
	time_t t;

	if (stream_get_time(c, attr, &ts) == -1)
		return dump_fail(ds, c, "attribute %s is missing or not 12 "
		    "bytes", stream_attr_name(attr));
	t = (time_t)(int64_t)ts.sec;
	if (localtime_r(&t, &tm) == NULL)
		return dump_fail(ds, c, "%s %" PRId64 " cannot be converted to "
		    "local time", stream_attr_name(attr), (int64_t)ts.sec);
	if (strftime(out, DUMP_TIME_MAX, "%FT%T%z", &tm) == 0)
		return dump_fail(ds, c, "%s %" PRId64 " is too long to print",
		    stream_attr_name(attr), (int64_t)ts.sec);
	return 0;
}

static int
dump_utimes(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX], at[DUMP_TIME_MAX], mt[DUMP_TIME_MAX];
	char ct[DUMP_TIME_MAX];

	if (dump_time(ds, c, SEND_A_ATIME, at) == -1 ||
	    dump_time(ds, c, SEND_A_MTIME, mt) == -1 ||
	    dump_time(ds, c, SEND_A_CTIME, ct) == -1 ||
	    dump_head_path(ds, c, buf, true) == -1 ||
	    dump_printf(ds, c, "atime=%s mtime=%s ctime=%s", at, mt, ct) == -1)
		return -1;
	return dump_end_line(ds, c);
}

static int
dump_update_extent(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	uint64_t off, size;

	if (dump_get_u64(ds, c, SEND_A_FILE_OFFSET, &off) == -1 ||
	    dump_get_u64(ds, c, SEND_A_SIZE, &size) == -1 ||
	    dump_head_path(ds, c, buf, true) == -1 ||
	    dump_printf(ds, c, "offset=%" PRIu64 " len=%" PRIu64, off,
	    size) == -1)
		return -1;
	return dump_end_line(ds, c);
}

/* progs 6.2 prints the mode as a signed int. */
static int
dump_fallocate(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	uint64_t off, size;
	uint32_t mode;

	if (dump_get_u32(ds, c, SEND_A_FALLOCATE_MODE, &mode) == -1 ||
	    dump_get_u64(ds, c, SEND_A_FILE_OFFSET, &off) == -1 ||
	    dump_get_u64(ds, c, SEND_A_SIZE, &size) == -1 ||
	    dump_head_path(ds, c, buf, true) == -1 ||
	    dump_printf(ds, c, "mode=%d offset=%" PRIu64 " len=%" PRIu64,
	    (int)mode, off, size) == -1)
		return -1;
	return dump_end_line(ds, c);
}

/* COMPRESSION and ENCRYPTION are optional (0); the commas are 6.2's. */
static int
dump_encoded_write(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	uint64_t off, ufl, ulen, uoff;
	uint32_t comp = 0, enc = 0, len;
	const uint8_t *data;

	if (dump_get_u64(ds, c, SEND_A_FILE_OFFSET, &off) == -1 ||
	    dump_get_u64(ds, c, SEND_A_UNENCODED_FILE_LEN, &ufl) == -1 ||
	    dump_get_u64(ds, c, SEND_A_UNENCODED_LEN, &ulen) == -1 ||
	    dump_get_u64(ds, c, SEND_A_UNENCODED_OFFSET, &uoff) == -1)
		return -1;
	if (stream_has(c, SEND_A_COMPRESSION) &&
	    dump_get_u32(ds, c, SEND_A_COMPRESSION, &comp) == -1)
		return -1;
	if (stream_has(c, SEND_A_ENCRYPTION) &&
	    dump_get_u32(ds, c, SEND_A_ENCRYPTION, &enc) == -1)
		return -1;
	if (stream_get_bytes(c, SEND_A_DATA, &data, &len) == -1)
		return dump_fail(ds, c, "attribute DATA is missing");
	if (dump_head_path(ds, c, buf, true) == -1 ||
	    dump_printf(ds, c, "offset=%" PRIu64 " len=%" PRIu32
	    ", unencoded_file_len=%" PRIu64 ", unencoded_len=%" PRIu64
	    ", unencoded_offset=%" PRIu64 ", compression=%" PRIu32
	    ", encryption=%" PRIu32, off, len, ufl, ulen, uoff, comp,
	    enc) == -1)
		return -1;
	return dump_end_line(ds, c);
}

static int
dump_enable_verity(struct dump_state *ds, const struct stream_cmd *c)
{
	char buf[DUMP_PATH_MAX];
	const uint8_t *salt, *sig;
	uint32_t bsize, saltlen, siglen;
	uint8_t alg;

	if (stream_get_u8(c, SEND_A_VERITY_ALGORITHM, &alg) == -1)
		return dump_fail(ds, c, "attribute VERITY_ALGORITHM is missing "
		    "or not 1 byte");
	if (dump_get_u32(ds, c, SEND_A_VERITY_BLOCK_SIZE, &bsize) == -1)
		return -1;
	if (stream_get_bytes(c, SEND_A_VERITY_SALT_DATA, &salt, &saltlen) == -1)
		return dump_fail(ds, c, "attribute VERITY_SALT_DATA is missing");
	if (stream_get_bytes(c, SEND_A_VERITY_SIG_DATA, &sig, &siglen) == -1)
		return dump_fail(ds, c, "attribute VERITY_SIG_DATA is missing");
	if (dump_head_path(ds, c, buf, true) == -1 ||
	    dump_printf(ds, c, "algorithm=%u block_size=%" PRIu32
	    " salt_len=%" PRIu32 " sig_len=%" PRIu32, alg, bsize, saltlen,
	    siglen) == -1)
		return -1;
	return dump_end_line(ds, c);
}

static const dump_fn dump_fns[SEND_C_MAX + 1] = {
	[SEND_C_SUBVOL] = dump_subvol,
	[SEND_C_SNAPSHOT] = dump_snapshot,
	[SEND_C_MKFILE] = dump_mk,
	[SEND_C_MKDIR] = dump_mk,
	[SEND_C_MKNOD] = dump_mknod,
	[SEND_C_MKFIFO] = dump_mk,
	[SEND_C_MKSOCK] = dump_mk,
	[SEND_C_SYMLINK] = dump_target,
	[SEND_C_RENAME] = dump_rename,
	[SEND_C_LINK] = dump_target,
	[SEND_C_UNLINK] = dump_plain,
	[SEND_C_RMDIR] = dump_plain,
	[SEND_C_SET_XATTR] = dump_set_xattr,
	[SEND_C_REMOVE_XATTR] = dump_remove_xattr,
	[SEND_C_WRITE] = dump_write,
	[SEND_C_CLONE] = dump_clone,
	[SEND_C_TRUNCATE] = dump_truncate,
	[SEND_C_CHMOD] = dump_chmod,
	[SEND_C_CHOWN] = dump_chown,
	[SEND_C_UTIMES] = dump_utimes,
	[SEND_C_UPDATE_EXTENT] = dump_update_extent,
	[SEND_C_FALLOCATE] = dump_fallocate,
	[SEND_C_FILEATTR] = dump_fileattr,
	[SEND_C_ENCODED_WRITE] = dump_encoded_write,
	[SEND_C_ENABLE_VERITY] = dump_enable_verity,
};

void
dump_init(struct dump_state *ds)
{
	memset(ds, 0, sizeof(*ds));
	strcpy(ds->ds_subvol, ".");
}

void
dump_free(struct dump_state *ds)
{
	free(ds->ds_line);
	ds->ds_line = NULL;
	ds->ds_len = ds->ds_cap = 0;
}

int
dump_format(struct dump_state *ds, const struct stream_cmd *c)
{
	ds->ds_len = 0;
	ds->ds_err[0] = '\0';
	if (c->type > SEND_C_MAX || dump_fns[c->type] == NULL)
		return 0;
	return dump_fns[c->type](ds, c);
}

int
dump_cmd(struct dump_state *ds, const struct stream_cmd *c, FILE *f)
{
	int rc;

	if ((rc = dump_format(ds, c)) != 1)
		return rc;
	if (fwrite(ds->ds_line, 1, ds->ds_len, f) != ds->ds_len) {
		snprintf(ds->ds_err, sizeof(ds->ds_err), "write error");
		return -1;
	}
	return 1;
}
