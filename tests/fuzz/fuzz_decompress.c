/*
 * Hostile encoded extents.  Byte 0 picks the compression (0..8, so the
 * unknown values are hit too), bytes 1..3 give out_len (le24, at most
 * 128 KiB), the rest is DATA.  The output buffer is exactly out_len bytes
 * on the heap so that ASan sees any overrun; on success the bytes past
 * what the data covered must still be written (zeroed or data).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decompress.h"

#define FUZZ_OUT_MAX (128 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t comp;
	size_t out_len;
	uint8_t *in, *out;
	char err[128];

	if (size < 4)
		return 0;
	comp = data[0] % 9;
	out_len = ((size_t)data[1] | (size_t)data[2] << 8 |
	    (size_t)data[3] << 16) % (FUZZ_OUT_MAX + 1);
	/* Copies, so that reads past either end are caught exactly. */
	in = malloc(size - 4 ? size - 4 : 1);
	out = malloc(out_len ? out_len : 1);
	if (in == NULL || out == NULL)
		abort();
	memcpy(in, data + 4, size - 4);
	if (decompress_extent(comp, in, size - 4, out, out_len, err,
	    sizeof(err)) == -1 && err[0] == '\0')
		abort();
	free(in);
	free(out);
	return 0;
}
