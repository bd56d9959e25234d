/*
 * libFuzzer target for the control socket messages (proto/msg/ctl.h): the
 * input is what btrsendd's parent reads from a control client (and what
 * btrsendctl reads from the daemon).  Checks: no crash or leak; every
 * accepted message re-encodes to exactly the payload it came from, and
 * every decoded string ends within its field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg/ctl.h"
#include "tests/fuzz/frames.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static void
fz_same(struct msgbuf *b, const uint8_t *p, uint32_t len)
{
	CHECK(b->len == FRAME_HEADER_LEN + len);
	CHECK(memcmp(b->p + FRAME_HEADER_LEN, p, len) == 0);
	msgbuf_free(b);
}

#define FZ(getter, putter, T) do {					\
	T *v = malloc(sizeof(T));					\
	if (getter(p, h->len, v, err, sizeof(err)) == 0) {		\
		putter(&b, v);						\
		fz_same(&b, p, h->len);					\
	}								\
	free(v);							\
} while (0)

static void
fz_message(const struct frame_hdr *h, const uint8_t *p)
{
	struct msgbuf b = { 0 };
	char err[256], text[CTL_TEXT_MAX];

	switch (h->type) {
	case CTL_HELLO:
		FZ(ctl_get_hello, ctl_put_hello, struct ctl_hello);
		break;
	case CTL_REQUEST:
		FZ(ctl_get_request, ctl_put_request, struct ctl_request);
		break;
	case CTL_M_OK:
	case CTL_M_FAIL:
		if (ctl_get_text(p, h->len, text, sizeof(text), err,
		    sizeof(err)) == 0) {
			CHECK(strlen(text) < CTL_TEXT_MAX);
			ctl_put_text(&b, h->type, text);
			fz_same(&b, p, h->len);
		}
		break;
	case CTL_JOB:
		FZ(ctl_get_job, ctl_put_job, struct ctl_job);
		break;
	case CTL_TARGET:
		FZ(ctl_get_target, ctl_put_target, struct ctl_target);
		break;
	case CTL_LIVE:
		FZ(ctl_get_live, ctl_put_live, struct ctl_live);
		break;
	case CTL_RUN:
		FZ(ctl_get_run, ctl_put_run, struct ctl_run);
		break;
	case CTL_SNAP:
		FZ(ctl_get_snap, ctl_put_snap, struct ctl_snap);
		break;
	case CTL_EVENT:
		FZ(ctl_get_event, ctl_put_event, struct ctl_event);
		break;
	case CTL_RECV:
		FZ(ctl_get_recv, ctl_put_recv, struct ctl_recv);
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
	fuzz_frames(data, size, &ctl_rules, fz_message);
	return 0;
}
