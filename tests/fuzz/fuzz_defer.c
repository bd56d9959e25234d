/*
 * Arbitrary bytes as the flags file of a partial (engine/apply_defer.c):
 * the record check must never crash, and what it accepts must be whole
 * records that keep every rule.  The first byte picks the command limit
 * and whether each record gets a correct magic and checksum, so that
 * mutations reach the field checks behind them.
 */
#include <linux/fs.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/apply.h"
#include "proto/stream/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static void
seal(uint8_t *r)
{
	uint32_t crc;

	memcpy(r + 24, "BSF1", 4);
	crc = stream_crc32c(0, r, 28);
	r[28] = crc & 0xff;
	r[29] = (crc >> 8) & 0xff;
	r[30] = (crc >> 16) & 0xff;
	r[31] = crc >> 24;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned int blocking = FS_IMMUTABLE_FL | FS_APPEND_FL;
	const char *why;
	uint64_t prev = 0, last = 0, limit;
	uint8_t *b;
	size_t len, ok, off;

	if (size == 0 || size > 65536)
		return 0;
	limit = data[0] >> 1 == 127 ? UINT64_MAX : (uint64_t)(data[0] >> 1) * 8;
	len = size - 1;
	if ((b = malloc(len + 1)) == NULL)
		abort();
	memcpy(b, data + 1, len);
	if (data[0] & 1)
		for (off = 0; off + APPLY_DEFER_REC <= len; off += APPLY_DEFER_REC)
			seal(b + off);
	ok = apply_defer_check(b, len, &prev, limit, &why);
	if (ok > len || ok % APPLY_DEFER_REC != 0 || (why == NULL) != (ok == len))
		abort();
	for (off = 0; off < ok; off += APPLY_DEFER_REC) {
		if (le(b + off, 8) < last || le(b + off, 8) >= limit ||
		    le(b + off + 8, 8) < 256 ||
		    (le(b + off + 20, 4) & blocking) == 0 ||
		    memcmp(b + off + 24, "BSF1", 4) != 0)
			abort();
		last = le(b + off, 8);
	}
	if (ok > 0 && prev != last)
		abort();
	free(b);
	return 0;
}
