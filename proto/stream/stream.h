/*
 * btrfs send stream codec: header, commands, TLV attributes, CRC32C.
 * Byte formats only, no I/O policy.  Reference: shared/spec/send-stream.md.
 *
 * Reading: a stream_reader owns a buffer.  Bytes go in either by copy
 * (stream_reader_feed) or without a copy (stream_reader_space + read(2) into
 * it + stream_reader_commit).  stream_reader_next() then yields whole,
 * checked commands that point into the buffer; they stay valid until the
 * next call to stream_reader_next, _space, _feed or _eof.
 *
 * Command indexes are 0-based and count commands across the whole input
 * (all concatenated streams); offsets are byte offsets in the whole input
 * of the command's 10-byte header.
 */
#ifndef BTRSEND_PROTO_STREAM_STREAM_H
#define BTRSEND_PROTO_STREAM_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_MAGIC            "btrfs-stream"  /* followed by one NUL */
#define STREAM_MAGIC_LEN        13
#define STREAM_HEADER_LEN       17
#define STREAM_CMD_HEADER_LEN   10
#define STREAM_TLV_HEADER_LEN   4
#define STREAM_VERSION_MAX      3
#define STREAM_DEFAULT_MAX_CMD  (4u << 20)  /* kernel emits <= 192 KiB */

enum stream_cmd_type {
	SEND_C_UNSPEC = 0,
	SEND_C_SUBVOL = 1,
	SEND_C_SNAPSHOT = 2,
	SEND_C_MKFILE = 3,
	SEND_C_MKDIR = 4,
	SEND_C_MKNOD = 5,
	SEND_C_MKFIFO = 6,
	SEND_C_MKSOCK = 7,
	SEND_C_SYMLINK = 8,
	SEND_C_RENAME = 9,
	SEND_C_LINK = 10,
	SEND_C_UNLINK = 11,
	SEND_C_RMDIR = 12,
	SEND_C_SET_XATTR = 13,
	SEND_C_REMOVE_XATTR = 14,
	SEND_C_WRITE = 15,
	SEND_C_CLONE = 16,
	SEND_C_TRUNCATE = 17,
	SEND_C_CHMOD = 18,
	SEND_C_CHOWN = 19,
	SEND_C_UTIMES = 20,
	SEND_C_END = 21,
	SEND_C_UPDATE_EXTENT = 22,
	SEND_C_FALLOCATE = 23,
	SEND_C_FILEATTR = 24,
	SEND_C_ENCODED_WRITE = 25,
	SEND_C_ENABLE_VERITY = 26,
	SEND_C_MAX = 26,
};

enum stream_attr_type {
	SEND_A_UNSPEC = 0,
	SEND_A_UUID = 1,
	SEND_A_CTRANSID = 2,
	SEND_A_INO = 3,
	SEND_A_SIZE = 4,
	SEND_A_MODE = 5,
	SEND_A_UID = 6,
	SEND_A_GID = 7,
	SEND_A_RDEV = 8,
	SEND_A_CTIME = 9,
	SEND_A_MTIME = 10,
	SEND_A_ATIME = 11,
	SEND_A_OTIME = 12,
	SEND_A_XATTR_NAME = 13,
	SEND_A_XATTR_DATA = 14,
	SEND_A_PATH = 15,
	SEND_A_PATH_TO = 16,
	SEND_A_PATH_LINK = 17,
	SEND_A_FILE_OFFSET = 18,
	SEND_A_DATA = 19,
	SEND_A_CLONE_UUID = 20,
	SEND_A_CLONE_CTRANSID = 21,
	SEND_A_CLONE_PATH = 22,
	SEND_A_CLONE_OFFSET = 23,
	SEND_A_CLONE_LEN = 24,
	SEND_A_FALLOCATE_MODE = 25,
	SEND_A_FILEATTR = 26,
	SEND_A_UNENCODED_FILE_LEN = 27,
	SEND_A_UNENCODED_LEN = 28,
	SEND_A_UNENCODED_OFFSET = 29,
	SEND_A_COMPRESSION = 30,
	SEND_A_ENCRYPTION = 31,
	SEND_A_VERITY_ALGORITHM = 32,
	SEND_A_VERITY_BLOCK_SIZE = 33,
	SEND_A_VERITY_SALT_DATA = 34,
	SEND_A_VERITY_SIG_DATA = 35,
	SEND_A_MAX = 35,
};

struct stream_timespec {
	uint64_t sec;
	uint32_t nsec;
};

/* One attribute value inside a command; data points into the command. */
struct stream_attr {
	const uint8_t *data;
	uint32_t len;           /* u32: a v2 DATA attribute may exceed 64 KiB */
};

/* One whole, CRC-checked, shape-checked command. */
struct stream_cmd {
	uint16_t type;          /* enum stream_cmd_type */
	uint32_t version;       /* version of the stream it belongs to */
	uint32_t len;           /* payload length (header excluded) */
	uint32_t crc;           /* as on the wire */
	uint64_t index;         /* 0-based over the whole input */
	uint64_t offset;        /* of the command header in the whole input */
	const uint8_t *raw;     /* header + payload: STREAM_CMD_HEADER_LEN + len */
	uint64_t present;       /* bit n set: attribute n present */
	struct stream_attr attr[SEND_A_MAX + 1];
};

/* What the reader found; stream_reader_next returns these. */
enum stream_event {
	STREAM_ERROR = -1,      /* see stream_reader.err; the reader is stuck */
	STREAM_NEED_MORE = 0,   /* feed more bytes (or call stream_reader_eof) */
	STREAM_CMD = 1,         /* *cmd holds a command */
	STREAM_HEADER = 2,      /* a stream header was read; see .version */
	STREAM_DONE = 3,        /* clean end of input after at least one END */
};

struct stream_error {
	uint64_t index;         /* command index the error belongs to */
	uint64_t offset;        /* byte offset where the bad thing starts */
	char msg[192];          /* e.g. "crc mismatch (got 0x.., want 0x..)" */
	bool in_header;         /* error is in a stream header, not a command */
	int cmd_type;           /* command number when known, else -1 */
};

struct stream_reader_opts {
	uint32_t max_cmd_len;   /* 0: STREAM_DEFAULT_MAX_CMD; payload bytes */
	bool allow_unknown;     /* accept unknown command numbers (progs does) */
	/*
	 * Parse exactly as btrfs-progs 6.2 does (for dump): a version 0
	 * header, attribute numbers up to SEND_A_MAX in any version, a
	 * repeated attribute replaces the earlier one, and attribute sizes
	 * and required attributes are left to the consumer's accessors.
	 */
	bool progs_compat;
};

struct stream_reader {
	/* public, read-only */
	uint32_t version;       /* of the current stream, 0 before a header */
	uint64_t ncmds;         /* commands yielded so far */
	uint64_t nstreams;      /* headers read so far */
	uint64_t consumed;      /* bytes of input fully parsed */
	struct stream_error err;
	/* private */
	struct stream_reader_opts opts;
	uint8_t *buf;
	size_t cap, start, end;
	int state;
	bool eof;
	bool borrowed;          /* buf belongs to the caller (attach) */
	bool lent;              /* buf is the caller's until _keep (lend) */
	uint8_t *own;           /* our buffer while lent */
	size_t owncap;
	size_t need;            /* bytes the unit at start needs, 0: unknown */
};

int  stream_reader_init(struct stream_reader *r, const struct stream_reader_opts *o);
void stream_reader_free(struct stream_reader *r);
/* Copy len bytes in.  Returns 0, or -1 (ENOMEM). */
int  stream_reader_feed(struct stream_reader *r, const void *p, size_t len);
/* At least `want` bytes of free space (0: a good default); NULL on ENOMEM. */
uint8_t *stream_reader_space(struct stream_reader *r, size_t want, size_t *avail);
void stream_reader_commit(struct stream_reader *r, size_t n);
/* No more input will come. */
void stream_reader_eof(struct stream_reader *r);
/*
 * Input without a copy: parse the len bytes at p in place when nothing
 * is buffered (else they are copied in, as by _feed).  The caller takes
 * what stream_reader_next yields before p changes, then calls
 * stream_reader_keep, which copies the unparsed rest (part of a unit)
 * into the reader's own buffer.  Both return 0, or -1 (ENOMEM, EINVAL).
 */
int  stream_reader_lend(struct stream_reader *r, const void *p, size_t len);
int  stream_reader_keep(struct stream_reader *r);
/*
 * Parse the len bytes at p in place instead of a buffer (e.g. a mapped
 * file): no copy.  Only before any other input; implies eof.  p must stay
 * valid while the reader and its commands are used.  Returns 0, or -1
 * (EINVAL) when input was already given; _feed and _space then fail.
 */
int  stream_reader_attach(struct stream_reader *r, const void *p, size_t len);
enum stream_event stream_reader_next(struct stream_reader *r, struct stream_cmd *cmd);

/* Attribute access.  Return 0, or -1 when absent or of the wrong size. */
bool stream_has(const struct stream_cmd *c, int attr);
int  stream_get_u64(const struct stream_cmd *c, int attr, uint64_t *v);
int  stream_get_u32(const struct stream_cmd *c, int attr, uint32_t *v);
int  stream_get_u8(const struct stream_cmd *c, int attr, uint8_t *v);
int  stream_get_uuid(const struct stream_cmd *c, int attr, uint8_t uuid[16]);
int  stream_get_time(const struct stream_cmd *c, int attr, struct stream_timespec *t);
/* Bytes of a string/binary attribute (not NUL-terminated). */
int  stream_get_bytes(const struct stream_cmd *c, int attr, const uint8_t **p, uint32_t *len);

const char *stream_cmd_name(int type);    /* "write", ...; "unknown" if not */
/* Command / attribute numbers a stream of that version may carry. */
bool stream_cmd_valid(uint32_t version, int type);
int  stream_attr_max(uint32_t version);
const char *stream_attr_name(int type);   /* "PATH", "FILE_OFFSET", ... */

/* Raw CRC32C as btrfs uses it: seed 0, no inversion (spec 2.2). */
uint32_t stream_crc32c(uint32_t seed, const void *p, size_t len);

/*
 * Writing.  A stream_writer encodes into a caller-owned buffer; the
 * encoding of DATA depends on the version (spec 2.4).  stream_wr_end
 * fills in len and CRC and returns the command's total size, or -1 when
 * the buffer was too small or DATA was not last in v2+.
 */
struct stream_writer {
	uint8_t *buf;
	size_t cap, pos, cmd_start;
	uint32_t version;
	bool overflow, data_written;
	bool misuse;            /* attribute after v2 DATA, or TLV > 64 KiB */
};

void stream_writer_init(struct stream_writer *w, void *buf, size_t cap, uint32_t version);
int  stream_wr_header(struct stream_writer *w);   /* the 17-byte header */
/* The 17-byte header of a stream of this version: magic, NUL, le32. */
void stream_header_encode(uint8_t out[STREAM_HEADER_LEN], uint32_t version);
void stream_wr_begin(struct stream_writer *w, int cmd);
void stream_wr_u64(struct stream_writer *w, int attr, uint64_t v);
void stream_wr_u32(struct stream_writer *w, int attr, uint32_t v);
void stream_wr_u8(struct stream_writer *w, int attr, uint8_t v);
void stream_wr_uuid(struct stream_writer *w, int attr, const uint8_t uuid[16]);
void stream_wr_time(struct stream_writer *w, int attr, const struct stream_timespec *t);
void stream_wr_bytes(struct stream_writer *w, int attr, const void *p, size_t len);
void stream_wr_str(struct stream_writer *w, int attr, const char *s);
void stream_wr_data(struct stream_writer *w, const void *p, size_t len);
long stream_wr_end(struct stream_writer *w);

#endif
