/*
 * The driver shared by the fuzz targets of frame-based channels: feed the
 * input to a frame decoder in chunks of 1 to 64 bytes, sized from the
 * data itself like short reads, and hand each whole frame to fn.
 */
#ifndef BTRSEND_TESTS_FUZZ_FRAMES_H
#define BTRSEND_TESTS_FUZZ_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "proto/msg/frame.h"

static void
fuzz_frames(const uint8_t *data, size_t size, const struct frame_rules *r,
    void (*fn)(const struct frame_hdr *, const uint8_t *))
{
	struct frame_decoder d;
	size_t off = 0, used, chunk;
	enum frame_event ev;

	frame_decoder_init(&d, r);
	while (off < size) {
		chunk = 1 + data[off] % 64;
		if (chunk > size - off)
			chunk = size - off;
		ev = frame_decoder_push(&d, data + off, chunk, &used);
		off += used;
		if (ev == FRAME_ERROR)
			break;
		if (ev == FRAME_READY)
			fn(&d.hdr, d.payload);
	}
	frame_decoder_free(&d);
}

#endif
