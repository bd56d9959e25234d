/*
 * ENCODED_WRITE: hand the compressed extent to the kernel as it is
 * (BTRFS_IOC_ENCODED_WRITE); when the kernel cannot take it, or when
 * asked to, decompress it (engine/decompress.c) and write plainly.
 */
#include <errno.h>
#include <linux/btrfs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/apply_impl.h"
#include "engine/decompress.h"

/* The kernel emits extents of at most 128 KiB; leave room, stay bounded. */
#define ENCODED_MAX_UNENCODED (1u << 20)

int apply_encoded_write(struct apply *a, const struct stream_cmd *c);
int apply_file_fd(struct apply *a, const uint8_t *p, uint32_t len);

struct encoded {
	const uint8_t *path, *data;
	uint32_t pathlen, datalen;
	uint64_t off, file_len, unenc_len, unenc_off;
	uint32_t compression, encryption;
};

static int
encoded_parse(struct apply *a, const struct stream_cmd *c, struct encoded *e)
{
	const char *why;

	memset(e, 0, sizeof(*e));
	if (stream_get_bytes(c, SEND_A_PATH, &e->path, &e->pathlen) == -1 ||
	    stream_get_bytes(c, SEND_A_DATA, &e->data, &e->datalen) == -1 ||
	    stream_get_u64(c, SEND_A_FILE_OFFSET, &e->off) == -1 ||
	    stream_get_u64(c, SEND_A_UNENCODED_FILE_LEN, &e->file_len) == -1 ||
	    stream_get_u64(c, SEND_A_UNENCODED_LEN, &e->unenc_len) == -1 ||
	    stream_get_u64(c, SEND_A_UNENCODED_OFFSET, &e->unenc_off) == -1)
		return apply_fail(a, 0, "missing or malformed attribute");
	if (stream_has(c, SEND_A_COMPRESSION) &&
	    stream_get_u32(c, SEND_A_COMPRESSION, &e->compression) == -1)
		return apply_fail(a, 0, "malformed COMPRESSION");
	if (stream_has(c, SEND_A_ENCRYPTION) &&
	    stream_get_u32(c, SEND_A_ENCRYPTION, &e->encryption) == -1)
		return apply_fail(a, 0, "malformed ENCRYPTION");
	if (apply_path_check(e->path, e->pathlen, false, &why) == -1)
		return apply_fail(a, 0, "unsafe PATH: %s", why);
	if (e->encryption != 0)
		return apply_fail(a, EOPNOTSUPP, "encrypted extent");
	if (e->unenc_len > ENCODED_MAX_UNENCODED)
		return apply_fail(a, 0, "UNENCODED_LEN %llu over the %u limit",
		    (unsigned long long)e->unenc_len, ENCODED_MAX_UNENCODED);
	if (e->unenc_off > e->unenc_len ||
	    e->file_len > e->unenc_len - e->unenc_off)
		return apply_fail(a, 0, "UNENCODED_OFFSET %llu + "
		    "UNENCODED_FILE_LEN %llu beyond UNENCODED_LEN %llu",
		    (unsigned long long)e->unenc_off,
		    (unsigned long long)e->file_len,
		    (unsigned long long)e->unenc_len);
	if (e->off > (uint64_t)INT64_MAX - e->file_len)
		return apply_fail(a, 0, "file offset out of range");
	return 0;
}

static int
encoded_ioctl(int fd, const struct encoded *e)
{
	struct btrfs_ioctl_encoded_io_args args;
	struct iovec iov;

	iov.iov_base = (void *)(uintptr_t)e->data;
	iov.iov_len = e->datalen;
	memset(&args, 0, sizeof(args));
	args.iov = &iov;
	args.iovcnt = 1;
	args.offset = (int64_t)e->off;
	args.len = e->file_len;
	args.unencoded_len = e->unenc_len;
	args.unencoded_offset = e->unenc_off;
	args.compression = e->compression;
	args.encryption = e->encryption;
	return ioctl(fd, BTRFS_IOC_ENCODED_WRITE, &args) < 0 ? -1 : 0;
}

static int
encoded_fallback(struct apply *a, int fd, const struct encoded *e)
{
	char why[160];
	uint8_t *buf;
	size_t done = 0;
	ssize_t n;

	buf = xcalloc(1, e->unenc_len ? e->unenc_len : 1);
	if (decompress_extent(e->compression, e->data, e->datalen, buf,
	    e->unenc_len, why, sizeof(why)) == -1) {
		free(buf);
		return apply_fail(a, 0, "decompress (compression %u): %s",
		    e->compression, why);
	}
	while (done < e->file_len) {
		n = pwrite(fd, buf + e->unenc_off + done, e->file_len - done,
		    (off_t)(e->off + done));
		if (n <= 0) {
			free(buf);
			return apply_fail(a, n == 0 ? EIO : errno, "write of "
			    "decompressed data");
		}
		done += (size_t)n;
	}
	free(buf);
	return 0;
}

int
apply_encoded_write(struct apply *a, const struct stream_cmd *c)
{
	struct encoded e;
	int fd;

	if (encoded_parse(a, c, &e) == -1)
		return -1;
	fd = apply_file_fd(a, e.path, e.pathlen);
	if (fd == -1) {
		if (a->tolerant && errno == ENOENT)
			return 0;
		return -1;
	}
	a->s_data += e.file_len;
	if (!a->o.force_decompress) {
		if (encoded_ioctl(fd, &e) == 0)
			return 0;
		if (errno != ENOSPC && errno != ENOTTY && errno != EINVAL)
			return apply_fail(a, errno, "encoded write into '%.*s'",
			    (int)e.pathlen, (const char *)e.path);
	}
	return encoded_fallback(a, fd, &e);
}
