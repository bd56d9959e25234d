/*
 * Decompression of btrfs encoded extents (spec 6.6).  The kernel's
 * extents decompress to exactly UNENCODED_LEN bytes (at most), so data
 * that would go past out_len is corrupt and refused rather than truncated,
 * and so is a zlib stream or zstd frame that ends before its end marker.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lzo/lzo1x.h>
#include <zlib.h>
/* ZSTD_getFrameHeader: exported by libzstd, declared as experimental. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "engine/decompress.h"

/* Largest window a btrfs zstd extent may use: 128 KiB. */
#define DC_ZSTD_WINDOWLOG_MAX	17
#define DC_LZO_HDR		4

struct dc_err {
	char	*buf;
	size_t	 len;
};

static int
dc_fail(struct dc_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e->len > 0) {
		va_start(ap, fmt);
		vsnprintf(e->buf, e->len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static uint32_t
dc_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/*
 * The output is full: the stream must now end without producing another
 * byte.  Inflate into a one-byte spill buffer to find out.
 */
static int
dc_zlib_finish(z_stream *zs, struct dc_err *e)
{
	uint8_t spill;
	int ret;

	zs->next_out = &spill;
	zs->avail_out = 1;
	ret = inflate(zs, Z_FINISH);
	if (ret == Z_STREAM_END && zs->avail_out == 1)
		return 0;
	if (zs->avail_out == 0)
		return dc_fail(e, "zlib: data decompresses to more than %lu "
		    "bytes (output overflow)", zs->total_out - 1);
	if (ret == Z_BUF_ERROR || ret == Z_OK)
		return dc_fail(e, "zlib: truncated input (%lu bytes, stream "
		    "does not end)", zs->total_in);
	return dc_fail(e, "zlib: corrupt data near input byte %lu: %s",
	    zs->total_in, zs->msg ? zs->msg : zError(ret));
}

static int
dc_zlib(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
    size_t *produced, struct dc_err *e)
{
	z_stream zs;
	int ret, rv = -1;

	if (in_len > UINT_MAX || out_len > UINT_MAX)
		return dc_fail(e, "zlib: extent too large");
	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return dc_fail(e, "zlib: inflateInit failed");
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)in_len;
	zs.next_out = out;
	zs.avail_out = (uInt)out_len;
	/* With Z_FINISH, inflate runs until the stream ends or it is stuck. */
	ret = inflate(&zs, Z_FINISH);
	*produced = out_len - zs.avail_out;
	if (ret == Z_STREAM_END)
		rv = 0;
	else if (ret == Z_NEED_DICT)
		rv = dc_fail(e, "zlib: stream needs a preset dictionary");
	else if (ret != Z_OK && ret != Z_BUF_ERROR)
		rv = dc_fail(e, "zlib: corrupt data near input byte %lu: %s",
		    zs.total_in, zs.msg ? zs.msg : zError(ret));
	else if (zs.avail_out == 0)
		rv = dc_zlib_finish(&zs, e);
	else
		rv = dc_fail(e, "zlib: truncated input (%zu bytes, stream does "
		    "not end)", in_len);
	inflateEnd(&zs);
	return rv;
}

static int
dc_zstd_run(ZSTD_DCtx *dctx, ZSTD_inBuffer *ib, ZSTD_outBuffer *ob,
    struct dc_err *e)
{
	size_t ret, before_in, before_out;

	for (;;) {
		before_in = ib->pos;
		before_out = ob->pos;
		ret = ZSTD_decompressStream(dctx, ob, ib);
		if (ZSTD_isError(ret))
			return dc_fail(e, "zstd: corrupt data near input byte "
			    "%zu: %s", ib->pos, ZSTD_getErrorName(ret));
		if (ret == 0)
			return 0;
		if (ob->pos == ob->size)
			return 1;
		if (ib->pos == ib->size || (ib->pos == before_in &&
		    ob->pos == before_out))
			return dc_fail(e, "zstd: truncated input (%zu bytes, "
			    "frame does not end)", ib->size);
	}
}

/*
 * ZSTD_d_windowLogMax alone does not refuse a single-segment frame whose
 * content fits the output (zstd then decodes it in one shot), so the
 * window is checked from the frame header as well.
 */
static int
dc_zstd_header(const uint8_t *in, size_t in_len, struct dc_err *e)
{
	ZSTD_frameHeader zfh;
	size_t ret;

	ret = ZSTD_getFrameHeader(&zfh, in, in_len);
	if (ZSTD_isError(ret))
		return dc_fail(e, "zstd: bad frame header: %s",
		    ZSTD_getErrorName(ret));
	if (ret > 0)
		return dc_fail(e, "zstd: truncated frame header (%zu bytes)",
		    in_len);
	if (zfh.frameType != ZSTD_frame)
		return dc_fail(e, "zstd: skippable frame, not data");
	if (zfh.windowSize > (1ULL << DC_ZSTD_WINDOWLOG_MAX))
		return dc_fail(e, "zstd: window of %llu bytes exceeds the "
		    "%u bytes btrfs allows", zfh.windowSize,
		    1U << DC_ZSTD_WINDOWLOG_MAX);
	return 0;
}

static int
dc_zstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
    size_t *produced, struct dc_err *e)
{
	ZSTD_DCtx *dctx;
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_len, 0 };
	uint8_t spill;
	int rv;

	if (dc_zstd_header(in, in_len, e) == -1)
		return -1;
	if ((dctx = ZSTD_createDCtx()) == NULL)
		return dc_fail(e, "zstd: out of memory");
	if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax,
	    DC_ZSTD_WINDOWLOG_MAX))) {
		rv = dc_fail(e, "zstd: cannot limit the window");
		goto out;
	}
	rv = dc_zstd_run(dctx, &ib, &ob, e);
	*produced = ob.pos;
	if (rv != 1)
		goto out;
	/* Output full, frame not over: it may still end without more bytes. */
	ob.dst = &spill;
	ob.size = 1;
	ob.pos = 0;
	rv = dc_zstd_run(dctx, &ib, &ob, e);
	if (rv == 0 && ob.pos != 0)
		rv = 1;
	if (rv == 1)
		rv = dc_fail(e, "zstd: data decompresses to more than %zu "
		    "bytes (output overflow)", out_len);
out:
	ZSTD_freeDCtx(dctx);
	return rv;
}

static int
dc_lzo_segment(const uint8_t *in, size_t pos, uint32_t seglen, uint8_t *out,
    size_t room, size_t sector, size_t *olen, struct dc_err *e)
{
	lzo_uint n;
	int ret;

	n = room < sector ? room : sector;
	ret = lzo1x_decompress_safe(in + pos, seglen, out, &n, NULL);
	if (ret == LZO_E_OUTPUT_OVERRUN && room < sector)
		return dc_fail(e, "lzo: segment at input byte %zu decompresses "
		    "past the end of the output (output overflow)", pos);
	if (ret == LZO_E_OUTPUT_OVERRUN)
		return dc_fail(e, "lzo: segment at input byte %zu decompresses "
		    "to more than one sector (%zu bytes)", pos, sector);
	if (ret != LZO_E_OK)
		return dc_fail(e, "lzo: corrupt segment at input byte %zu "
		    "(%u bytes, lzo error %d)", pos, seglen, ret);
	*olen = n;
	return 0;
}

/*
 * btrfs LZO container: le32 total length (itself included), then segments
 * of le32 compressed length + LZO1X data of at most one sector; a segment
 * header never straddles a sector boundary of the compressed stream.
 */
static int
dc_lzo(uint32_t compression, const uint8_t *in, size_t in_len, uint8_t *out,
    size_t out_len, size_t *produced, struct dc_err *e)
{
	size_t sector = (size_t)1 << (12 + compression - ENC_COMPRESSION_LZO_4K);
	size_t pos = DC_LZO_HDR, done = 0, olen = 0, rem;
	uint32_t total, seglen;

	*produced = 0;
	if (lzo_init() != LZO_E_OK)
		return dc_fail(e, "lzo: lzo_init failed");
	if (in_len < DC_LZO_HDR)
		return dc_fail(e, "lzo: %zu bytes of input, less than the "
		    "4-byte header", in_len);
	total = dc_le32(in);
	if (total > in_len || total < DC_LZO_HDR)
		return dc_fail(e, "lzo: total length %u does not fit the "
		    "input (%zu bytes)", total, in_len);
	while (pos < total) {
		rem = sector - pos % sector;
		if (rem < DC_LZO_HDR) {
			pos += rem;
			if (pos >= total)
				break;
		}
		if (done == out_len)
			return dc_fail(e, "lzo: data continues at input byte %zu "
			    "after %zu bytes of output (output overflow)",
			    pos, out_len);
		if (total - pos < DC_LZO_HDR)
			return dc_fail(e, "lzo: truncated segment header at "
			    "input byte %zu", pos);
		seglen = dc_le32(in + pos);
		pos += DC_LZO_HDR;
		if (seglen > total - pos)
			return dc_fail(e, "lzo: segment at input byte %zu claims "
			    "%u bytes, only %zu left", pos - DC_LZO_HDR, seglen,
			    total - pos);
		if (dc_lzo_segment(in, pos, seglen, out + done, out_len - done,
		    sector, &olen, e) == -1)
			return -1;
		done += olen;
		*produced = done;
		pos += seglen;
	}
	return 0;
}

int
decompress_extent(uint32_t compression, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t out_len, char *err, size_t errlen)
{
	struct dc_err e = { err, errlen };
	size_t produced = 0;
	int rv;

	if (errlen > 0)
		err[0] = '\0';
	switch (compression) {
	case ENC_COMPRESSION_ZLIB:
		rv = dc_zlib(in, in_len, out, out_len, &produced, &e);
		break;
	case ENC_COMPRESSION_ZSTD:
		rv = dc_zstd(in, in_len, out, out_len, &produced, &e);
		break;
	case ENC_COMPRESSION_LZO_4K ... ENC_COMPRESSION_LZO_64K:
		rv = dc_lzo(compression, in, in_len, out, out_len, &produced, &e);
		break;
	default:
		return dc_fail(&e, "unknown compression %u (known: 1 zlib, "
		    "2 zstd, 3..7 lzo)", compression);
	}
	if (rv == 0 && produced < out_len)
		memset(out + produced, 0, out_len - produced);
	return rv;
}
