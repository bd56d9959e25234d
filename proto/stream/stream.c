/*
 * btrfs send stream reader: splits a byte stream into CRC-checked,
 * shape-checked commands without copying or allocating per command.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/crc.h>

#include "proto/stream/stream.h"

#define STREAM_READ_CHUNK       (64u << 10)

enum reader_state {
	RS_FIRST_HEADER = 0,    /* nothing read yet */
	RS_CMD,                 /* inside a stream, expecting a command */
	RS_AFTER_END,           /* after END: a header or EOF may follow */
	RS_ERROR,
};

#define A(x) (1ull << SEND_A_##x)

/* Attributes btrfs-progs fetches for each command (spec 3, "progs needs"). */
static const uint64_t stream_required[SEND_C_MAX + 1] = {
	[SEND_C_SUBVOL] = A(PATH) | A(UUID) | A(CTRANSID),
	[SEND_C_SNAPSHOT] = A(PATH) | A(UUID) | A(CTRANSID) |
	    A(CLONE_UUID) | A(CLONE_CTRANSID),
	[SEND_C_MKFILE] = A(PATH) | A(INO),
	[SEND_C_MKDIR] = A(PATH) | A(INO),
	[SEND_C_MKNOD] = A(PATH) | A(INO) | A(MODE) | A(RDEV),
	[SEND_C_MKFIFO] = A(PATH) | A(INO),
	[SEND_C_MKSOCK] = A(PATH) | A(INO),
	[SEND_C_SYMLINK] = A(PATH) | A(INO) | A(PATH_LINK),
	[SEND_C_RENAME] = A(PATH) | A(PATH_TO),
	[SEND_C_LINK] = A(PATH) | A(PATH_LINK),
	[SEND_C_UNLINK] = A(PATH),
	[SEND_C_RMDIR] = A(PATH),
	[SEND_C_SET_XATTR] = A(PATH) | A(XATTR_NAME) | A(XATTR_DATA),
	[SEND_C_REMOVE_XATTR] = A(PATH) | A(XATTR_NAME),
	[SEND_C_WRITE] = A(PATH) | A(FILE_OFFSET) | A(DATA),
	[SEND_C_CLONE] = A(FILE_OFFSET) | A(CLONE_LEN) | A(PATH) |
	    A(CLONE_UUID) | A(CLONE_CTRANSID) | A(CLONE_PATH) | A(CLONE_OFFSET),
	[SEND_C_TRUNCATE] = A(PATH) | A(SIZE),
	[SEND_C_CHMOD] = A(PATH) | A(MODE),
	[SEND_C_CHOWN] = A(PATH) | A(UID) | A(GID),
	[SEND_C_UTIMES] = A(PATH) | A(ATIME) | A(MTIME) | A(CTIME),
	[SEND_C_END] = 0,
	[SEND_C_UPDATE_EXTENT] = A(PATH) | A(FILE_OFFSET) | A(SIZE),
	[SEND_C_FALLOCATE] = A(PATH) | A(FALLOCATE_MODE) | A(FILE_OFFSET) |
	    A(SIZE),
	[SEND_C_FILEATTR] = A(PATH) | A(FILEATTR),
	[SEND_C_ENCODED_WRITE] = A(PATH) | A(FILE_OFFSET) |
	    A(UNENCODED_FILE_LEN) | A(UNENCODED_LEN) | A(UNENCODED_OFFSET) |
	    A(DATA),
	[SEND_C_ENABLE_VERITY] = A(PATH) | A(VERITY_ALGORITHM) |
	    A(VERITY_BLOCK_SIZE) | A(VERITY_SALT_DATA) | A(VERITY_SIG_DATA),
};

/* Value size of fixed-size attributes; 0: any length. */
static const uint8_t stream_attr_size[SEND_A_MAX + 1] = {
	[SEND_A_UUID] = 16, [SEND_A_CTRANSID] = 8, [SEND_A_INO] = 8,
	[SEND_A_SIZE] = 8, [SEND_A_MODE] = 8, [SEND_A_UID] = 8,
	[SEND_A_GID] = 8, [SEND_A_RDEV] = 8, [SEND_A_CTIME] = 12,
	[SEND_A_MTIME] = 12, [SEND_A_ATIME] = 12, [SEND_A_OTIME] = 12,
	[SEND_A_FILE_OFFSET] = 8, [SEND_A_CLONE_UUID] = 16,
	[SEND_A_CLONE_CTRANSID] = 8, [SEND_A_CLONE_OFFSET] = 8,
	[SEND_A_CLONE_LEN] = 8, [SEND_A_FALLOCATE_MODE] = 4,
	[SEND_A_FILEATTR] = 8, [SEND_A_UNENCODED_FILE_LEN] = 8,
	[SEND_A_UNENCODED_LEN] = 8, [SEND_A_UNENCODED_OFFSET] = 8,
	[SEND_A_COMPRESSION] = 4, [SEND_A_ENCRYPTION] = 4,
	[SEND_A_VERITY_ALGORITHM] = 1, [SEND_A_VERITY_BLOCK_SIZE] = 4,
};

static const char *const stream_cmd_names[SEND_C_MAX + 1] = {
	"unspec", "subvol", "snapshot", "mkfile", "mkdir", "mknod", "mkfifo",
	"mksock", "symlink", "rename", "link", "unlink", "rmdir", "set_xattr",
	"remove_xattr", "write", "clone", "truncate", "chmod", "chown",
	"utimes", "end", "update_extent", "fallocate", "fileattr",
	"encoded_write", "enable_verity",
};

static const char *const stream_attr_names[SEND_A_MAX + 1] = {
	"UNSPEC", "UUID", "CTRANSID", "INO", "SIZE", "MODE", "UID", "GID",
	"RDEV", "CTIME", "MTIME", "ATIME", "OTIME", "XATTR_NAME", "XATTR_DATA",
	"PATH", "PATH_TO", "PATH_LINK", "FILE_OFFSET", "DATA", "CLONE_UUID",
	"CLONE_CTRANSID", "CLONE_PATH", "CLONE_OFFSET", "CLONE_LEN",
	"FALLOCATE_MODE", "FILEATTR", "UNENCODED_FILE_LEN", "UNENCODED_LEN",
	"UNENCODED_OFFSET", "COMPRESSION", "ENCRYPTION", "VERITY_ALGORITHM",
	"VERITY_BLOCK_SIZE", "VERITY_SALT_DATA", "VERITY_SIG_DATA",
};

static inline uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

const char *
stream_cmd_name(int type)
{
	if (type < 0 || type > SEND_C_MAX)
		return "unknown";
	return stream_cmd_names[type];
}

const char *
stream_attr_name(int type)
{
	if (type < 0 || type > SEND_A_MAX)
		return "UNKNOWN";
	return stream_attr_names[type];
}

bool
stream_cmd_valid(uint32_t version, int type)
{
	static const int max[] = { 0, 22, 25, 26 };

	if (version < 1 || version > STREAM_VERSION_MAX)
		return false;
	return type >= 1 && type <= max[version];
}

int
stream_attr_max(uint32_t version)
{
	static const int max[] = { 0, 24, 31, 35 };

	if (version > STREAM_VERSION_MAX)
		return 0;
	return max[version];
}

uint32_t
stream_crc32c(uint32_t seed, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t n;

	/* ISA-L takes an int length and a non-const pointer; it only reads. */
	while (len > 0) {
		n = len > (1u << 30) ? (1u << 30) : len;
		seed = crc32_iscsi((unsigned char *)(uintptr_t)b, (int)n, seed);
		b += n;
		len -= n;
	}
	return seed;
}

int
stream_reader_init(struct stream_reader *r, const struct stream_reader_opts *o)
{
	memset(r, 0, sizeof(*r));
	if (o != NULL)
		r->opts = *o;
	if (r->opts.max_cmd_len == 0)
		r->opts.max_cmd_len = STREAM_DEFAULT_MAX_CMD;
	r->state = RS_FIRST_HEADER;
	r->err.cmd_type = -1;
	return 0;
}

void
stream_reader_free(struct stream_reader *r)
{
	if (r->lent)
		free(r->own);
	else if (!r->borrowed)
		free(r->buf);
	r->buf = r->own = NULL;
	r->lent = false;
	r->cap = r->start = r->end = 0;
}

uint8_t *
stream_reader_space(struct stream_reader *r, size_t want, size_t *avail)
{
	size_t tail = r->end - r->start, req, ncap;
	uint8_t *nbuf;

	if (r->borrowed) {
		errno = EINVAL;
		return NULL;
	}
	if (r->lent) {
		errno = EINVAL;
		return NULL;
	}
	req = want != 0 ? want : STREAM_READ_CHUNK;
	if (r->need > tail && r->need - tail > req)
		req = r->need - tail;
	if (r->cap - r->end < req && r->start > 0) {
		/* Only the partial unit at the tail moves. */
		memmove(r->buf, r->buf + r->start, tail);
		r->start = 0;
		r->end = tail;
	}
	if (r->cap - r->end < req) {
		ncap = tail + req;
		if (ncap < STREAM_READ_CHUNK)
			ncap = STREAM_READ_CHUNK;
		if ((nbuf = realloc(r->buf, ncap)) == NULL)
			return NULL;
		r->buf = nbuf;
		r->cap = ncap;
	}
	*avail = r->cap - r->end;
	return r->buf + r->end;
}

void
stream_reader_commit(struct stream_reader *r, size_t n)
{
	r->end += n;
}

int
stream_reader_feed(struct stream_reader *r, const void *p, size_t len)
{
	uint8_t *dst;
	size_t avail;

	if (len == 0)
		return 0;
	if ((dst = stream_reader_space(r, len, &avail)) == NULL)
		return -1;
	memcpy(dst, p, len);
	stream_reader_commit(r, len);
	return 0;
}

int
stream_reader_lend(struct stream_reader *r, const void *p, size_t len)
{
	if (r->borrowed || r->lent) {
		errno = EINVAL;
		return -1;
	}
	if (r->start != r->end || len == 0)
		return stream_reader_feed(r, p, len);
	r->own = r->buf;
	r->owncap = r->cap;
	/* never written through: only space() writes, and it refuses */
	r->buf = (uint8_t *)(uintptr_t)p;
	r->cap = r->end = len;
	r->start = 0;
	r->lent = true;
	return 0;
}

int
stream_reader_keep(struct stream_reader *r)
{
	const uint8_t *rest;
	size_t len;

	if (!r->lent)
		return 0;
	rest = r->buf + r->start;
	len = r->end - r->start;
	r->buf = r->own;
	r->cap = r->owncap;
	r->own = NULL;
	r->start = r->end = 0;
	r->lent = false;
	return stream_reader_feed(r, rest, len);
}

void
stream_reader_eof(struct stream_reader *r)
{
	r->eof = true;
}

int
stream_reader_attach(struct stream_reader *r, const void *p, size_t len)
{
	if (r->borrowed || r->end != 0 || r->consumed != 0) {
		errno = EINVAL;
		return -1;
	}
	free(r->buf);
	/* Never written through: the reader only writes into space(). */
	r->buf = (uint8_t *)(uintptr_t)p;
	r->cap = r->end = len;
	r->start = 0;
	r->borrowed = true;
	r->eof = true;
	return 0;
}

/* Unparsed input; never NULL arithmetic before the first allocation. */
static const uint8_t *
reader_head(const struct stream_reader *r)
{
	static const uint8_t none[1];

	return r->buf != NULL ? r->buf + r->start : none;
}

static enum stream_event __attribute__((format(printf, 5, 0)))
reader_vfail(struct stream_reader *r, uint64_t offset, int type,
    bool in_header, const char *fmt, va_list ap)
{
	r->err.index = r->ncmds;
	r->err.offset = offset;
	r->err.cmd_type = type;
	r->err.in_header = in_header;
	vsnprintf(r->err.msg, sizeof(r->err.msg), fmt, ap);
	r->state = RS_ERROR;
	return STREAM_ERROR;
}

/* An error in a command: index, its type if known, where it starts. */
static enum stream_event __attribute__((format(printf, 4, 5)))
reader_fail(struct stream_reader *r, uint64_t offset, int type,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reader_vfail(r, offset, type, false, fmt, ap);
	va_end(ap);
	return STREAM_ERROR;
}

/* An error in the stream header at the current position. */
static enum stream_event __attribute__((format(printf, 2, 3)))
reader_fail_header(struct stream_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reader_vfail(r, r->consumed, -1, true, fmt, ap);
	va_end(ap);
	return STREAM_ERROR;
}

static enum stream_event
reader_header(struct stream_reader *r)
{
	const uint8_t *p = reader_head(r);
	size_t avail = r->end - r->start;
	uint32_t version;

	/* Compare what is there already: garbage fails before EOF. */
	if (avail > 0 && memcmp(p, STREAM_MAGIC, avail < STREAM_MAGIC_LEN ?
	    avail : STREAM_MAGIC_LEN) != 0)
		return reader_fail_header(r, r->state == RS_AFTER_END ?
		    "bad stream header magic after END command" :
		    "bad stream header magic (not a btrfs send stream)");
	if (avail < STREAM_HEADER_LEN) {
		r->need = STREAM_HEADER_LEN;
		if (!r->eof)
			return STREAM_NEED_MORE;
		if (avail == 0 && r->state == RS_AFTER_END)
			return STREAM_DONE;
		if (avail == 0)
			return reader_fail_header(r, "empty stream");
		return reader_fail_header(r, "truncated stream header "
		    "(%zu of %d bytes)", avail, STREAM_HEADER_LEN);
	}
	r->need = 0;
	version = le32(p + STREAM_MAGIC_LEN);
	if ((version < 1 && !r->opts.progs_compat) ||
	    version > STREAM_VERSION_MAX)
		return reader_fail_header(r, "unsupported stream version %"
		    PRIu32, version);
	r->version = version;
	r->nstreams++;
	r->start += STREAM_HEADER_LEN;
	r->consumed += STREAM_HEADER_LEN;
	r->state = RS_CMD;
	return STREAM_HEADER;
}

static int
reader_check_size(int type, uint32_t len)
{
	return stream_attr_size[type] != 0 && stream_attr_size[type] != len;
}

/* Split the payload into attributes; 0 or the STREAM_ERROR event. */
static int
reader_attrs(struct stream_reader *r, struct stream_cmd *c)
{
	const uint8_t *pl = c->raw + STREAM_CMD_HEADER_LEN;
	uint32_t pos = 0, left, tlen;
	int type, amax = stream_attr_max(c->version);
	bool compat = r->opts.progs_compat;
	uint64_t off;

	c->present = 0;
	if (compat)
		amax = SEND_A_MAX;
	while (pos < c->len) {
		left = c->len - pos;
		off = c->offset + STREAM_CMD_HEADER_LEN + pos;
		if (left < 2)
			return reader_fail(r, off, c->type,
			    "truncated attribute header (%" PRIu32
			    " bytes left)", left);
		type = le16(pl + pos);
		if (type == 0 || type > amax)
			return reader_fail(r, off, c->type, "bad attribute "
			    "type %d (v%" PRIu32 " allows 1..%d)", type,
			    c->version, amax);
		if (!compat && (c->present & (1ull << type)))
			return reader_fail(r, off, c->type,
			    "attribute %s repeated", stream_attr_names[type]);
		if (type == SEND_A_DATA && c->version >= 2) {
			/* v2+ DATA: no length, runs to the end of the command. */
			c->attr[type].data = pl + pos + 2;
			c->attr[type].len = left - 2;
			c->present |= 1ull << type;
			return 0;
		}
		if (left < STREAM_TLV_HEADER_LEN)
			return reader_fail(r, off, c->type,
			    "truncated attribute header (%" PRIu32
			    " bytes left)", left);
		tlen = le16(pl + pos + 2);
		if (tlen > left - STREAM_TLV_HEADER_LEN)
			return reader_fail(r, off, c->type, "attribute %s "
			    "length %" PRIu32 " exceeds the command (%" PRIu32
			    " bytes left)", stream_attr_names[type], tlen,
			    left - STREAM_TLV_HEADER_LEN);
		if (!compat && reader_check_size(type, tlen))
			return reader_fail(r, off, c->type, "attribute %s has "
			    "size %" PRIu32 ", want %u",
			    stream_attr_names[type], tlen,
			    stream_attr_size[type]);
		c->attr[type].data = pl + pos + STREAM_TLV_HEADER_LEN;
		c->attr[type].len = tlen;
		c->present |= 1ull << type;
		pos += STREAM_TLV_HEADER_LEN + tlen;
	}
	return 0;
}

static enum stream_event
reader_missing(struct stream_reader *r, struct stream_cmd *c)
{
	uint64_t missing;
	int a;

	if (!stream_cmd_valid(c->version, c->type))
		return STREAM_CMD;
	missing = stream_required[c->type] & ~c->present;
	if (missing == 0)
		return STREAM_CMD;
	a = __builtin_ctzll(missing);
	return reader_fail(r, c->offset, c->type,
	    "missing attribute %s", stream_attr_names[a]);
}

static enum stream_event
reader_cmd(struct stream_reader *r, struct stream_cmd *c)
{
	static const uint8_t zero[4];
	const uint8_t *p = reader_head(r);
	size_t avail = r->end - r->start;
	uint32_t len, crc, want;
	int type = -1;

	if (avail >= 6)
		type = le16(p + 4);
	if (avail < STREAM_CMD_HEADER_LEN)
		goto short_input;
	len = le32(p);
	if (len > r->opts.max_cmd_len)
		return reader_fail(r, r->consumed, type, "command length %"
		    PRIu32 " exceeds the limit of %" PRIu32 " bytes", len,
		    r->opts.max_cmd_len);
	if (avail - STREAM_CMD_HEADER_LEN < len) {
		r->need = STREAM_CMD_HEADER_LEN + (size_t)len;
		goto short_input;
	}
	r->need = 0;
	crc = le32(p + 6);
	want = stream_crc32c(0, p, 6);
	want = stream_crc32c(want, zero, 4);
	want = stream_crc32c(want, p + STREAM_CMD_HEADER_LEN, len);
	if (crc != want)
		return reader_fail(r, r->consumed, type, "crc mismatch "
		    "(stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
		    crc, want);
	if (!r->opts.allow_unknown && !stream_cmd_valid(r->version, type))
		return reader_fail(r, r->consumed, type, "unknown command %d "
		    "for stream version %" PRIu32, type, r->version);
	c->type = (uint16_t)type;
	c->version = r->version;
	c->len = len;
	c->crc = crc;
	c->index = r->ncmds;
	c->offset = r->consumed;
	c->raw = p;
	if (reader_attrs(r, c) != 0 ||
	    (!r->opts.progs_compat && reader_missing(r, c) != STREAM_CMD))
		return STREAM_ERROR;
	r->start += STREAM_CMD_HEADER_LEN + (size_t)len;
	r->consumed += STREAM_CMD_HEADER_LEN + (uint64_t)len;
	r->ncmds++;
	if (type == SEND_C_END)
		r->state = RS_AFTER_END;
	return STREAM_CMD;

short_input:
	if (!r->eof)
		return STREAM_NEED_MORE;
	if (avail == 0)
		return reader_fail(r, r->consumed, -1,
		    "stream ends without END command");
	return reader_fail(r, r->consumed, type, "truncated command (%zu "
	    "bytes of %s)", avail, avail < STREAM_CMD_HEADER_LEN ?
	    "its 10-byte header" : "it");
}

enum stream_event
stream_reader_next(struct stream_reader *r, struct stream_cmd *cmd)
{
	switch (r->state) {
	case RS_FIRST_HEADER:
	case RS_AFTER_END:
		return reader_header(r);
	case RS_CMD:
		return reader_cmd(r, cmd);
	default:
		return STREAM_ERROR;
	}
}

bool
stream_has(const struct stream_cmd *c, int attr)
{
	return attr > 0 && attr <= SEND_A_MAX && (c->present & (1ull << attr));
}

static const uint8_t *
stream_get(const struct stream_cmd *c, int attr, uint32_t len)
{
	if (!stream_has(c, attr) || c->attr[attr].len != len)
		return NULL;
	return c->attr[attr].data;
}

int
stream_get_u64(const struct stream_cmd *c, int attr, uint64_t *v)
{
	const uint8_t *p = stream_get(c, attr, 8);

	if (p == NULL)
		return -1;
	*v = le64(p);
	return 0;
}

int
stream_get_u32(const struct stream_cmd *c, int attr, uint32_t *v)
{
	const uint8_t *p = stream_get(c, attr, 4);

	if (p == NULL)
		return -1;
	*v = le32(p);
	return 0;
}

int
stream_get_u8(const struct stream_cmd *c, int attr, uint8_t *v)
{
	const uint8_t *p = stream_get(c, attr, 1);

	if (p == NULL)
		return -1;
	*v = p[0];
	return 0;
}

int
stream_get_uuid(const struct stream_cmd *c, int attr, uint8_t uuid[16])
{
	const uint8_t *p = stream_get(c, attr, 16);

	if (p == NULL)
		return -1;
	memcpy(uuid, p, 16);
	return 0;
}

int
stream_get_time(const struct stream_cmd *c, int attr, struct stream_timespec *t)
{
	const uint8_t *p = stream_get(c, attr, 12);

	if (p == NULL)
		return -1;
	t->sec = le64(p);
	t->nsec = le32(p + 8);
	return 0;
}

int
stream_get_bytes(const struct stream_cmd *c, int attr, const uint8_t **p,
    uint32_t *len)
{
	if (!stream_has(c, attr))
		return -1;
	*p = c->attr[attr].data;
	*len = c->attr[attr].len;
	return 0;
}
