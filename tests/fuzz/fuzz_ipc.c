/*
 * libFuzzer target for the parent <-> worker messages (proto/msg/ipc.h): the
 * input is what the parent reads from a worker's socket.  Checks: no
 * crash or leak; every accepted message re-encodes to exactly the
 * payload it came from (so nothing is silently dropped or invented).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg/ipc.h"
#include "tests/fuzz/frames.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static void
fz_same(const struct msgbuf *b, const uint8_t *p, uint32_t len)
{
	CHECK(b->len == FRAME_HEADER_LEN + len);
	CHECK(memcmp(b->p + FRAME_HEADER_LEN, p, len) == 0);
}

static void
fz_message(const struct frame_hdr *h, const uint8_t *p)
{
	struct msgbuf b = { 0 };
	struct ipc_result res;
	struct ipc_run run;
	struct ipc_xfer x;
	struct ipc_held held;
	char err[256], *what;

	switch (h->type) {
	case IPC_HELLO:
		if (ipc_get_hello(p, h->len, err, sizeof(err)) == 0) {
			ipc_put_hello(&b, 0);
			fz_same(&b, p, h->len);
		}
		break;
	case IPC_RUN:
		if (ipc_get_run(p, h->len, &run, err, sizeof(err)) == 0) {
			ipc_put_run(&b, 0, &run);
			fz_same(&b, p, h->len);
			ipc_run_free(&run);
		}
		break;
	case IPC_PROGRESS:
		if (ipc_get_progress(p, h->len, &what, err, sizeof(err)) == 0) {
			ipc_put_progress(&b, 0, what);
			fz_same(&b, p, h->len);
			free(what);
		}
		break;
	case IPC_RESULT:
		if (ipc_get_result(p, h->len, &res, err, sizeof(err)) == 0) {
			ipc_put_result(&b, 0, &res);
			fz_same(&b, p, h->len);
			ipc_result_free(&res);
		}
		break;
	case IPC_XFER:
		if (ipc_get_xfer(p, h->len, &x, err, sizeof(err)) == 0) {
			ipc_put_xfer(&b, 0, &x);
			fz_same(&b, p, h->len);
			ipc_xfer_free(&x);
		}
		break;
	case IPC_HELD:
		if (ipc_get_held(p, h->len, &held, err, sizeof(err)) == 0) {
			ipc_put_held(&b, 0, &held);
			fz_same(&b, p, h->len);
			ipc_held_free(&held);
		}
		break;
	default:
		CHECK(0);	/* the decoder lets no unknown type through */
	}
	msgbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frames(data, size, &ipc_rules, fz_message);
	return 0;
}
