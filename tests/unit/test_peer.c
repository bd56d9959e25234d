/*
 * The parent's framed channel (daemon/peer.h) over a socketpair: frames
 * split across reads arrive whole, an oversize frame stops the peer
 * before its payload, the output bound drops a peer that does not read,
 * a closing peer writes what waits before it ends, and drain hands over
 * the last frames of a peer that is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "daemon/peer.h"
#include "proto/base/log.h"

#define T_TYPE		7
#define T_MAX		100

struct seen {
	struct peer	*p;
	int		 frames, bad, closed, error;
	char		 last[T_MAX + 1];
	struct event_base *base;
	int		 fd;		/* the other end */
};

static bool
t_known(uint16_t type)
{
	return type == T_TYPE;
}

static uint32_t
t_max_len(uint16_t type)
{
	(void)type;
	return T_MAX;
}

static const struct frame_rules t_rules = { t_known, t_max_len, NULL };

static void
on_frame(struct peer *p, const struct frame_decoder *d, void *arg)
{
	struct seen *s = arg;

	(void)p;
	s->frames++;
	memcpy(s->last, d->payload, d->hdr.len);
	s->last[d->hdr.len] = '\0';
}

static void
on_bad(struct peer *p, const char *why, void *arg)
{
	struct seen *s = arg;

	(void)p;
	(void)why;
	s->bad++;
}

static void
on_closed(struct peer *p, int error, void *arg)
{
	struct seen *s = arg;

	s->closed++;
	s->error = error;
	peer_free(p);
	s->p = NULL;
}

static const struct peer_cb t_cb = { on_frame, on_bad, on_closed };

static int
setup(void **state)
{
	static struct seen s;
	int sv[2];

	memset(&s, 0, sizeof(s));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	s.base = event_base_new();
	assert_non_null(s.base);
	s.p = peer_new(s.base, sv[0], &t_rules, 64, &t_cb, &s);
	s.fd = sv[1];
	*state = &s;
	return 0;
}

static int
teardown(void **state)
{
	struct seen *s = *state;

	peer_free(s->p);
	close(s->fd);
	event_base_free(s->base);
	return 0;
}

static void
loop(struct seen *s)
{
	int i;

	for (i = 0; i < 4; i++)
		event_base_loop(s->base, EVLOOP_NONBLOCK);
}

/* A frame of type, claiming len payload bytes, with text as payload. */
static size_t
frame(uint8_t *buf, uint16_t type, uint32_t len, const char *text)
{
	struct frame_hdr h = { .type = type, .len = len };

	frame_hdr_encode(buf, &h);
	memcpy(buf + FRAME_HEADER_LEN, text, strlen(text));
	return FRAME_HEADER_LEN + strlen(text);
}

static void
test_split_frames(void **state)
{
	struct seen *s = *state;
	uint8_t buf[256];
	size_t n, m;

	n = frame(buf, T_TYPE, 5, "hello");
	m = frame(buf + n, T_TYPE, 3, "abc");
	assert_int_equal(write(s->fd, buf, 10), 10);
	loop(s);
	assert_int_equal(s->frames, 0);
	assert_int_equal(write(s->fd, buf + 10, n + m - 10 - 1),
	    (ssize_t)(n + m - 11));
	loop(s);
	assert_int_equal(s->frames, 1);
	assert_string_equal(s->last, "hello");
	assert_int_equal(write(s->fd, buf + n + m - 1, 1), 1);
	loop(s);
	assert_int_equal(s->frames, 2);
	assert_string_equal(s->last, "abc");
	assert_int_equal(s->bad + s->closed, 0);
}

static void
test_oversize_frame(void **state)
{
	struct seen *s = *state;
	uint8_t buf[256];
	size_t n;

	n = frame(buf, T_TYPE, T_MAX + 1, "x");
	n += frame(buf + n, T_TYPE, 2, "ok");
	assert_int_equal(write(s->fd, buf, n), (ssize_t)n);
	loop(s);
	assert_int_equal(s->bad, 1);
	assert_int_equal(s->frames, 0);
	assert_int_equal(write(s->fd, buf, n), (ssize_t)n);
	loop(s);
	assert_int_equal(s->bad, 1);
	assert_int_equal(s->frames, 0);
}

static void
test_output_bound(void **state)
{
	struct seen *s = *state;
	char buf[64];

	memset(buf, 'a', sizeof(buf));
	assert_int_equal(peer_send(s->p, buf, 40), 0);
	assert_int_equal(peer_pending(s->p), 40);
	/* Nothing was written yet: 80 would wait. */
	assert_int_equal(peer_send(s->p, buf, 40), -1);
	assert_true(peer_closing(s->p));
	assert_int_equal(peer_send(s->p, buf, 1), 0);
	loop(s);
	assert_int_equal(s->closed, 1);
	assert_int_equal(s->error, 0);
	assert_null(s->p);
	/* What waited was dropped, not written. */
	assert_int_equal(read(s->fd, buf, sizeof(buf)), 0);
}

static void
test_close_writes_first(void **state)
{
	struct seen *s = *state;
	char buf[64];

	assert_int_equal(peer_send(s->p, "bye", 3), 0);
	peer_close(s->p);
	assert_int_equal(s->closed, 0);
	loop(s);
	assert_int_equal(s->closed, 1);
	assert_int_equal(read(s->fd, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "bye", 3);
}

static void
test_close_empty_from_loop(void **state)
{
	struct seen *s = *state;

	peer_close(s->p);
	assert_int_equal(s->closed, 0);
	loop(s);
	assert_int_equal(s->closed, 1);
}

static void
test_eof(void **state)
{
	struct seen *s = *state;

	close(s->fd);
	s->fd = -1;
	loop(s);
	assert_int_equal(s->closed, 1);
	assert_int_equal(s->error, 0);
}

static void
test_drain(void **state)
{
	struct seen *s = *state;
	uint8_t buf[256];
	size_t n;

	n = frame(buf, T_TYPE, 4, "last");
	assert_int_equal(write(s->fd, buf, n), (ssize_t)n);
	close(s->fd);
	s->fd = -1;
	peer_drain(s->p);
	assert_int_equal(s->frames, 1);
	assert_string_equal(s->last, "last");
	assert_int_equal(s->closed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_split_frames, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_oversize_frame, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_output_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_writes_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_empty_from_loop,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
