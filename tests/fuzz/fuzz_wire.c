/*
 * libFuzzer target for the network framing and messages.  The input is a
 * byte stream as a receiver would read it from a sender; it is fed in
 * chunks whose sizes derive from the input.  Checks: no crash or leak;
 * every accepted message re-encodes to exactly the payload it came from;
 * zstd bodies decompress within their declared bound; the order machine
 * never accepts a message after an error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "proto/msg/wire.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static ZSTD_DCtx *fz_dctx;
static uint8_t *fz_out;

static void
fz_order(struct wire_fsm *f, const struct wire_msg *m)
{
	struct wire_msg hello;
	char err[256];
	bool was_closed = f->closed;
	int r;

	r = wire_fsm_step(f, false, m, err, sizeof(err));
	if (was_closed)
		CHECK(r == -1);
	if (r == 0 && m->type == WIRE_HELLO) {
		/* Answer, so the sender's later messages get checked. */
		memset(&hello, 0, sizeof(hello));
		hello.type = WIRE_HELLO;
		hello.u.hello.version = WIRE_VERSION;
		hello.u.hello.stream_version_max = 3;
		CHECK(wire_fsm_step(f, true, &hello, err, sizeof(err)) == 0);
	}
}

static void
fz_message(struct wire_fsm *f, const struct frame_decoder *d)
{
	struct msgbuf b = { 0 };
	struct wire_msg m;
	char err[256];
	int ok;

	ok = wire_decode(&m, &d->hdr, d->payload, err, sizeof(err)) == 0;
	if (ok) {
		CHECK(wire_encode(&b, &m, err, sizeof(err)) == 0);
		CHECK(b.len == FRAME_HEADER_LEN + d->hdr.len);
		CHECK(d->hdr.len == 0 ||
		    memcmp(b.p + FRAME_HEADER_LEN, d->payload, d->hdr.len) == 0);
		if (m.type == WIRE_DATA && m.u.data.zstd &&
		    m.u.data.raw_len <= (1u << 20))
			(void)wire_zstd_decompress(fz_dctx, &m.u.data, fz_out,
			    1u << 20, err, sizeof(err));
		fz_order(f, &m);
	}
	wire_msg_free(&m);
	msgbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_decoder d;
	struct wire_fsm f;
	size_t off = 0, used, chunk;
	enum frame_event ev;
	unsigned seed = size ? data[0] : 0;

	if (fz_dctx == NULL) {
		fz_dctx = ZSTD_createDCtx();
		fz_out = malloc(1u << 20);
	}
	frame_decoder_init(&d, &wire_rules);
	wire_fsm_init(&f, WIRE_SERVER);
	while (off < size) {
		chunk = 1 + (seed = seed * 1103515245 + 12345) % 64;
		if (chunk > size - off)
			chunk = size - off;
		ev = frame_decoder_push(&d, data + off, chunk, &used);
		CHECK(used <= chunk);
		off += used;
		if (ev == FRAME_ERROR)
			break;
		if (ev == FRAME_READY)
			fz_message(&f, &d);
	}
	frame_decoder_free(&d);
	return 0;
}
