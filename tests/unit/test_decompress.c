/*
 * Encoded-extent decompression.  Compressed inputs are produced here with
 * the libraries' own compressors (zlib compress2, ZSTD_compress2, LZO
 * lzo1x_1_compress packed into the btrfs container by lzo_pack below), never
 * by the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lzo/lzo1x.h>
#include <zlib.h>
#include <zstd.h>

#include "engine/decompress.h"

#define KIB 1024
#define EXTENT_MAX (128 * KIB)

static uint64_t rng_state;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/*
 * Compressible but not trivial: words from a small vocabulary, runs, and
 * stretches of random bytes (which LZO and zlib cannot shrink).
 */
static void
fill_data(uint8_t *p, size_t len, uint64_t seed)
{
	static const char *const words[] = {
		"btrfs ", "send ", "stream ", "extent ", "zstd ", "\n", "\0\0\0\0",
		"receive ", "checkpoint ",
	};
	size_t i = 0, n, k;
	const char *w;

	rng_state = seed * 2654435761u + 1;
	while (i < len) {
		switch (rng() % 8) {
		case 0:
			n = rng() % 300;
			for (k = 0; k < n && i < len; k++)
				p[i++] = (uint8_t)rng();
			break;
		case 1:
			n = rng() % 500;
			memset(p + i, (int)(rng() & 0xff), n < len - i ? n : len - i);
			i += n < len - i ? n : len - i;
			break;
		default:
			w = words[rng() % (sizeof(words) / sizeof(words[0]))];
			n = strlen(w) ? strlen(w) : 4;
			for (k = 0; k < n && i < len; k++)
				p[i++] = (uint8_t)w[k];
		}
	}
}

static uint8_t *
xalloc(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	return p;
}

static size_t
zlib_pack(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
	uLongf n = cap;

	assert_int_equal(compress2(dst, &n, src, len, 6), Z_OK);
	return n;
}

static size_t
zstd_pack(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, int wlog)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t n;

	assert_non_null(cc);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc,
	    ZSTD_c_compressionLevel, 3)));
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc,
	    ZSTD_c_windowLog, wlog)));
	n = ZSTD_compress2(cc, dst, cap, src, len);
	assert_false(ZSTD_isError(n));
	ZSTD_freeCCtx(cc);
	return n;
}

/*
 * The btrfs LZO container as this helper builds it:
 *
 *	le32 total		bytes of the container, these 4 included
 *	segment*		one per `sector` bytes of input (the last may be
 *				shorter): le32 clen, then clen bytes of LZO1X-1
 *				output
 *
 * Offsets count from the start of the container.  Before a segment header
 * is written, if fewer than 4 bytes remain up to the next multiple of
 * `sector`, those bytes are zero padding and the header starts on the
 * boundary.  *npad counts how often that happened.
 */
static size_t
lzo_pack(const uint8_t *src, size_t len, size_t sector, uint8_t *dst,
    size_t cap, int *npad)
{
	static lzo_align_t wrk[(LZO1X_1_MEM_COMPRESS + sizeof(lzo_align_t) - 1) /
	    sizeof(lzo_align_t)];
	size_t pos = 4, in = 0, chunk, rem;
	lzo_uint clen;

	assert_int_equal(lzo_init(), LZO_E_OK);
	while (in < len) {
		rem = sector - pos % sector;
		if (rem < 4) {
			memset(dst + pos, 0, rem);
			pos += rem;
			(*npad)++;
		}
		chunk = len - in < sector ? len - in : sector;
		assert_true(pos + 4 + chunk + chunk / 16 + 64 + 3 <= cap);
		assert_int_equal(lzo1x_1_compress(src + in, chunk, dst + pos + 4,
		    &clen, wrk), LZO_E_OK);
		dst[pos] = clen & 0xff;
		dst[pos + 1] = (clen >> 8) & 0xff;
		dst[pos + 2] = (clen >> 16) & 0xff;
		dst[pos + 3] = (clen >> 24) & 0xff;
		pos += 4 + clen;
		in += chunk;
	}
	dst[0] = pos & 0xff;
	dst[1] = (pos >> 8) & 0xff;
	dst[2] = (pos >> 16) & 0xff;
	dst[3] = (pos >> 24) & 0xff;
	return pos;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static size_t
pack(uint32_t comp, const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
	int npad = 0;

	switch (comp) {
	case ENC_COMPRESSION_ZLIB:
		return zlib_pack(src, len, dst, cap);
	case ENC_COMPRESSION_ZSTD:
		return zstd_pack(src, len, dst, cap, 17);
	default:
		return lzo_pack(src, len, (size_t)1 << (12 + comp - 3), dst, cap,
		    &npad);
	}
}

/* Decompress into an exactly sized heap buffer so ASan sees any overrun. */
static int
run(uint32_t comp, const uint8_t *in, size_t in_len, size_t out_len,
    uint8_t **outp, char *err)
{
	uint8_t *out = xalloc(out_len);
	uint8_t *inc = xalloc(in_len);
	int rv;

	memcpy(inc, in, in_len);
	memset(out, 0xaa, out_len);
	rv = decompress_extent(comp, inc, in_len, out, out_len, err, 256);
	free(inc);
	if (outp)
		*outp = out;
	else
		free(out);
	return rv;
}

static void
expect_error(uint32_t comp, const uint8_t *in, size_t in_len, size_t out_len,
    const char *why)
{
	char err[256] = "";

	if (run(comp, in, in_len, out_len, NULL, err) != -1)
		fail_msg("compression %u, %zu bytes in, %zu out: accepted, "
		    "expected \"%s\"", comp, in_len, out_len, why ? why : "error");
	if (why && strstr(err, why) == NULL)
		fail_msg("compression %u: reason \"%s\" lacks \"%s\"", comp, err,
		    why);
	assert_true(err[0] != '\0');
}

static const uint32_t all_comps[] = { 1, 2, 3, 4, 5, 6, 7 };
static const size_t sizes[] = {
	1, 100, 4095, 4096, 4097, 13668, 16384, 65536, 65537, 131071, EXTENT_MAX
};

static void
test_roundtrip(void **state)
{
	uint8_t *src = xalloc(EXTENT_MAX), *cmp = xalloc(2 * EXTENT_MAX), *out;
	char err[256];
	size_t c, s, n;

	(void)state;
	for (c = 0; c < sizeof(all_comps) / sizeof(all_comps[0]); c++)
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			fill_data(src, sizes[s], c * 100 + s);
			n = pack(all_comps[c], src, sizes[s], cmp, 2 * EXTENT_MAX);
			if (run(all_comps[c], cmp, n, sizes[s], &out, err) != 0)
				fail_msg("compression %u, %zu bytes: %s",
				    all_comps[c], sizes[s], err);
			assert_memory_equal(out, src, sizes[s]);
			free(out);
		}
	free(src);
	free(cmp);
}

/* Output the data does not cover is zero; trailing padding is ignored. */
static void
test_tail_zeroed_and_padding(void **state)
{
	uint8_t *src = xalloc(EXTENT_MAX), *cmp = xalloc(2 * EXTENT_MAX), *out;
	char err[256];
	size_t c, n, len = 13668, k;

	(void)state;
	for (c = 0; c < sizeof(all_comps) / sizeof(all_comps[0]); c++) {
		fill_data(src, len, 7 + c);
		n = pack(all_comps[c], src, len, cmp, 2 * EXTENT_MAX);
		/* On disk an extent is padded with zeros to the sector size. */
		memset(cmp + n, 0, 4096 - n % 4096);
		n += 4096 - n % 4096;
		if (run(all_comps[c], cmp, n, 16384, &out, err) != 0)
			fail_msg("compression %u: %s", all_comps[c], err);
		assert_memory_equal(out, src, len);
		for (k = len; k < 16384; k++)
			if (out[k] != 0)
				fail_msg("compression %u: byte %zu not zeroed",
				    all_comps[c], k);
		free(out);
	}
	free(src);
	free(cmp);
}

/* Find inputs whose LZO container needs the sector-boundary padding. */
static void
test_lzo_header_padding(void **state)
{
	uint8_t *src = xalloc(EXTENT_MAX), *cmp = xalloc(2 * EXTENT_MAX), *out;
	char err[256];
	int npad = 0, tries, hits = 0;
	size_t n, len;

	(void)state;
	for (tries = 0; tries < 2000 && hits < 5; tries++) {
		len = 8192 + (size_t)tries * 37 % 60000;
		fill_data(src, len, 1000 + tries);
		npad = 0;
		n = lzo_pack(src, len, 4096, cmp, 2 * EXTENT_MAX, &npad);
		if (npad == 0)
			continue;
		hits++;
		if (run(ENC_COMPRESSION_LZO_4K, cmp, n, len, &out, err) != 0)
			fail_msg("padded container (try %d): %s", tries, err);
		assert_memory_equal(out, src, len);
		free(out);
	}
	if (hits < 5)
		fail_msg("no input needed header padding in %d tries", tries);
	free(src);
	free(cmp);
}

static void
test_truncated(void **state)
{
	uint8_t *src = xalloc(20000), *cmp = xalloc(2 * EXTENT_MAX);
	size_t c, n, cut;

	(void)state;
	for (c = 0; c < 3; c++) {
		fill_data(src, 20000, 55 + c);
		n = pack(all_comps[c], src, 20000, cmp, 2 * EXTENT_MAX);
		for (cut = 0; cut < n; cut++)
			expect_error(all_comps[c], cmp, cut, 20000, NULL);
	}
	free(src);
	free(cmp);
}

static void
test_garbage(void **state)
{
	static const char junk[] = "this is not compressed data, not at all....";
	uint8_t buf[4096];
	size_t c, k;

	(void)state;
	for (c = 0; c < sizeof(all_comps) / sizeof(all_comps[0]); c++)
		expect_error(all_comps[c], (const uint8_t *)junk, sizeof(junk),
		    4096, NULL);
	/* Random bytes behind a believable LZO header and segment length. */
	rng_state = 99;
	for (k = 0; k < 200; k++) {
		for (c = 0; c < sizeof(buf); c++)
			buf[c] = (uint8_t)rng();
		put_le32(buf, sizeof(buf));
		put_le32(buf + 4, 1000);
		expect_error(ENC_COMPRESSION_LZO_4K, buf, sizeof(buf), 8192, NULL);
	}
}

static void
test_output_overflow(void **state)
{
	uint8_t *src = xalloc(EXTENT_MAX), *cmp = xalloc(2 * EXTENT_MAX);
	size_t c, n, s;
	static const size_t short_by[] = { 1, 100, 4096 };

	(void)state;
	for (c = 0; c < sizeof(all_comps) / sizeof(all_comps[0]); c++) {
		fill_data(src, 40000, 300 + c);
		n = pack(all_comps[c], src, 40000, cmp, 2 * EXTENT_MAX);
		for (s = 0; s < 3; s++)
			expect_error(all_comps[c], cmp, n, 40000 - short_by[s],
			    "overflow");
		expect_error(all_comps[c], cmp, n, 0, "overflow");
	}
	free(src);
	free(cmp);
}

static void
test_unknown_compression(void **state)
{
	static const uint32_t bad[] = { 0, 8, 9, 255, 0xffffffff };
	uint8_t in[16] = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i], in, sizeof(in), 4096, "unknown compression");
}

static void
test_zstd_window_too_large(void **state)
{
	size_t len = 512 * KIB, n;
	uint8_t *src = xalloc(len), *cmp = xalloc(len + 4096), *out;
	char err[256];

	(void)state;
	/* Repeats 256 KiB apart force a window the receiver must refuse. */
	fill_data(src, len / 2, 4242);
	memcpy(src + len / 2, src, len / 2);
	n = zstd_pack(src, len, cmp, len + 4096, 19);
	expect_error(ENC_COMPRESSION_ZSTD, cmp, n, len, "window");
	/* The same data with a 128 KiB window is fine. */
	n = zstd_pack(src, len, cmp, len + 4096, 17);
	assert_int_equal(run(ENC_COMPRESSION_ZSTD, cmp, n, len, &out, err), 0);
	assert_memory_equal(out, src, len);
	free(out);
	free(src);
	free(cmp);
}

static void
test_lzo_container_errors(void **state)
{
	uint8_t *src = xalloc(20000), *cmp = xalloc(2 * EXTENT_MAX);
	uint8_t *big = xalloc(2 * EXTENT_MAX);
	int npad = 0;
	size_t n, n2;

	(void)state;
	fill_data(src, 20000, 77);
	n = lzo_pack(src, 20000, 4096, cmp, 2 * EXTENT_MAX, &npad);

	/* Total length larger than the input. */
	put_le32(cmp, (uint32_t)n + 1);
	expect_error(ENC_COMPRESSION_LZO_4K, cmp, n, 20000, "total length");
	put_le32(cmp, 0xffffffff);
	expect_error(ENC_COMPRESSION_LZO_4K, cmp, n, 20000, "total length");
	put_le32(cmp, 3);
	expect_error(ENC_COMPRESSION_LZO_4K, cmp, n, 20000, "total length");
	expect_error(ENC_COMPRESSION_LZO_4K, cmp, 3, 20000, "header");
	put_le32(cmp, (uint32_t)n);

	/* First segment length past the container. */
	put_le32(cmp + 4, (uint32_t)n);
	expect_error(ENC_COMPRESSION_LZO_4K, cmp, n, 20000, "claims");
	put_le32(cmp + 4, 0xffffffff);
	expect_error(ENC_COMPRESSION_LZO_4K, cmp, n, 20000, "claims");

	/* A segment that decompresses to more than one sector. */
	fill_data(src, 3 * 4096, 78);
	npad = 0;
	n2 = lzo_pack(src, 3 * 4096, 3 * 4096, big, 2 * EXTENT_MAX, &npad);
	expect_error(ENC_COMPRESSION_LZO_4K, big, n2, 3 * 4096, "one sector");
	/* The same container is valid where sectors are 16 KiB. */
	assert_int_equal(run(5, big, n2, 3 * 4096, NULL, (char[256]){0}), 0);
	free(src);
	free(cmp);
	free(big);
}

/* Sector size follows the compression value: a 4K container is not 64K. */
static void
test_lzo_sector_mismatch(void **state)
{
	uint8_t *src = xalloc(EXTENT_MAX), *cmp = xalloc(2 * EXTENT_MAX), *out;
	int npad = 0;
	size_t n;

	(void)state;
	fill_data(src, EXTENT_MAX, 5);
	n = lzo_pack(src, EXTENT_MAX, 65536, cmp, 2 * EXTENT_MAX, &npad);
	expect_error(ENC_COMPRESSION_LZO_4K, cmp, n, EXTENT_MAX, "sector");
	assert_int_equal(run(ENC_COMPRESSION_LZO_64K, cmp, n, EXTENT_MAX, &out,
	    (char[256]){0}), 0);
	assert_memory_equal(out, src, EXTENT_MAX);
	free(out);
	free(src);
	free(cmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_tail_zeroed_and_padding),
		cmocka_unit_test(test_lzo_header_padding),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_output_overflow),
		cmocka_unit_test(test_unknown_compression),
		cmocka_unit_test(test_zstd_window_too_large),
		cmocka_unit_test(test_lzo_container_errors),
		cmocka_unit_test(test_lzo_sector_mismatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
