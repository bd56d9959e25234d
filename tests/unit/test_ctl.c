/*
 * Control socket messages (proto/msg/ctl.h): the documented byte layout,
 * round trips of every record, refusal of every truncation, of trailing
 * bytes, of strings too long for their field or holding a NUL, of values
 * out of range, and of unknown types and oversize payloads on the header
 * alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/msg/ctl.h"

/* The payload of the single frame in b, after checking its header. */
static const uint8_t *
one_frame(const struct msgbuf *b, uint16_t type, uint32_t *len)
{
	struct frame_hdr h;
	char err[192];

	assert_true(b->len >= FRAME_HEADER_LEN);
	frame_hdr_decode(&h, b->p);
	assert_int_equal(h.type, type);
	assert_int_equal(frame_hdr_check(&h, &ctl_rules, err, sizeof(err)), 0);
	assert_int_equal(h.len, b->len - FRAME_HEADER_LEN);
	*len = h.len;
	return b->p + FRAME_HEADER_LEN;
}

/* Every strict prefix and one byte more are refused. */
static void
refuse_cuts(const uint8_t *p, uint32_t len, size_t size,
    int (*get)(const uint8_t *, size_t, void *, char *, size_t))
{
	uint8_t *more = malloc(len + 1);
	void *out = malloc(size);
	char err[192];
	uint32_t cut;

	for (cut = 0; cut < len; cut++)
		assert_int_equal(get(p, cut, out, err, sizeof(err)), -1);
	memcpy(more, p, len);
	more[len] = 0;
	assert_int_equal(get(more, len + 1, out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "trailing"));
	free(more);
	free(out);
}

#define WRAP(fn, T)							\
static int								\
w_##fn(const uint8_t *p, size_t n, void *o, char *e, size_t el)	\
{									\
	return fn(p, n, (T *)o, e, el);					\
}
WRAP(ctl_get_hello, struct ctl_hello)
WRAP(ctl_get_request, struct ctl_request)
WRAP(ctl_get_job, struct ctl_job)
WRAP(ctl_get_target, struct ctl_target)
WRAP(ctl_get_live, struct ctl_live)
WRAP(ctl_get_run, struct ctl_run)
WRAP(ctl_get_event, struct ctl_event)
WRAP(ctl_get_recv, struct ctl_recv)
#define GETTER(fn) w_##fn

static void
test_hello_layout(void **state)
{
	/* u32 version 1, u8 access 2 (admin), from docs/control.md. */
	static const uint8_t want[] = { 0, 0, 0, 1, 2 };
	struct ctl_hello h = { .version = 1, .access = CTL_ACCESS_ADMIN };
	static const uint8_t bad_access[] = { 0, 0, 0, 1, 3 };
	struct msgbuf b = { 0 };
	const uint8_t *p;
	char err[192];
	uint32_t len;

	(void)state;
	ctl_put_hello(&b, &h);
	p = one_frame(&b, CTL_HELLO, &len);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(p, want, sizeof(want));
	memset(&h, 0xff, sizeof(h));
	assert_int_equal(ctl_get_hello(p, len, &h, err, sizeof(err)), 0);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.access, CTL_ACCESS_ADMIN);
	assert_int_equal(ctl_get_hello(bad_access, sizeof(bad_access), &h, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "access"));
	refuse_cuts(p, len, sizeof(h), GETTER(ctl_get_hello));
	msgbuf_free(&b);
}

static void
test_request_layout(void **state)
{
	/* u8 cmd 2 (run), u32 num 7, str "home". */
	static const uint8_t want[] = { 2, 0, 0, 0, 7, 0, 4, 'h', 'o', 'm',
	    'e' };
	static const uint8_t cmd0[] = { 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t cmd99[] = { 99, 0, 0, 0, 0, 0, 0 };
	static const uint8_t nul[] = { 2, 0, 0, 0, 0, 0, 2, 'a', 0 };
	struct ctl_request rq = { .cmd = CTL_CMD_RUN, .num = 7 };
	struct msgbuf b = { 0 };
	const uint8_t *p;
	char err[192];
	uint32_t len;

	(void)state;
	strcpy(rq.arg, "home");
	ctl_put_request(&b, &rq);
	p = one_frame(&b, CTL_REQUEST, &len);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(p, want, sizeof(want));
	memset(&rq, 0, sizeof(rq));
	assert_int_equal(ctl_get_request(p, len, &rq, err, sizeof(err)), 0);
	assert_int_equal(rq.cmd, CTL_CMD_RUN);
	assert_int_equal(rq.num, 7);
	assert_string_equal(rq.arg, "home");
	assert_int_equal(ctl_get_request(cmd0, sizeof(cmd0), &rq, err,
	    sizeof(err)), -1);
	assert_int_equal(ctl_get_request(cmd99, sizeof(cmd99), &rq, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(ctl_get_request(nul, sizeof(nul), &rq, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
	refuse_cuts(p, len, sizeof(rq), GETTER(ctl_get_request));
	msgbuf_free(&b);
}

static void
test_string_longer_than_field_refused(void **state)
{
	uint8_t p[1 + 4 + 2 + CTL_NAME_MAX];
	struct ctl_request rq;
	char err[192];

	(void)state;
	p[0] = CTL_CMD_RUN;
	frame_put32(p + 1, 0);
	/* CTL_NAME_MAX characters do not fit CTL_NAME_MAX with the NUL. */
	frame_put16(p + 5, CTL_NAME_MAX);
	memset(p + 7, 'x', CTL_NAME_MAX);
	assert_int_equal(ctl_get_request(p, sizeof(p), &rq, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "too long"));
	frame_put16(p + 5, CTL_NAME_MAX - 1);
	assert_int_equal(ctl_get_request(p, sizeof(p) - 1, &rq, err,
	    sizeof(err)), 0);
	assert_int_equal(strlen(rq.arg), CTL_NAME_MAX - 1);
}

static void
fill(char *s, size_t size, char c)
{
	memset(s, c, size - 1);
	s[size - 1] = '\0';
}

/* Every string at its longest: the largest payload fits the bound. */
static void
test_largest_records_fit_their_bounds(void **state)
{
	struct ctl_snap *s = calloc(1, sizeof(*s));
	struct ctl_snap *got = calloc(1, sizeof(*got));
	struct msgbuf b = { 0 };
	struct frame_hdr h;
	const uint8_t *p;
	char err[192];
	uint32_t len, i;

	(void)state;
	fill(s->job, sizeof(s->job), 'j');
	fill(s->name, sizeof(s->name), 'n');
	s->nheld = CTL_HELD_MAX;
	for (i = 0; i < CTL_HELD_MAX; i++)
		fill(s->held[i], sizeof(s->held[i]), (char)('a' + i));
	ctl_put_snap(&b, s);
	p = one_frame(&b, CTL_SNAP, &len);
	assert_int_equal(len, ctl_rules.max_len(CTL_SNAP));
	assert_int_equal(ctl_get_snap(p, len, got, err, sizeof(err)), 0);
	assert_memory_equal(got, s, sizeof(*s));
	/* One byte more is refused on the header. */
	frame_hdr_decode(&h, b.p);
	h.len++;
	assert_int_equal(frame_hdr_check(&h, &ctl_rules, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exceeds"));
	h.type = CTL_TYPE_END;
	h.len = 0;
	assert_int_equal(frame_hdr_check(&h, &ctl_rules, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown"));
	/* nheld over CTL_HELD_MAX is out of range. */
	frame_put32(b.p + FRAME_HEADER_LEN + 2 + 255 + 2 + 255 + 8,
	    CTL_HELD_MAX + 1);
	assert_int_equal(ctl_get_snap(p, len, got, err, sizeof(err)), -1);
	msgbuf_free(&b);
	free(s);
	free(got);
}

static void
test_job_and_target_round_trip(void **state)
{
	static struct ctl_job j = {
		.name = "home", .schedule = "every 1h", .paused = 1,
		.start = 1795497556, .end = 1795497600, .result = RUN_FAILED,
		.error = "connection refused", .next = 1795501156,
	};
	static struct ctl_target t = {
		.job = "home", .target = "backup1", .start = 10, .end = 20,
		.result = RUN_OK, .last_success = 20, .held_when = 19,
		.nheld = 4,
	};
	struct ctl_target gt;
	struct ctl_job gj;
	struct msgbuf b = { 0 };
	const uint8_t *p;
	char err[192];
	uint32_t len;

	(void)state;
	ctl_put_job(&b, &j);
	p = one_frame(&b, CTL_JOB, &len);
	assert_int_equal(ctl_get_job(p, len, &gj, err, sizeof(err)), 0);
	assert_memory_equal(&gj, &j, sizeof(j));
	refuse_cuts(p, len, sizeof(gj), GETTER(ctl_get_job));
	/* paused is 0 or 1: its byte follows two strings. */
	b.p[FRAME_HEADER_LEN + 2 + 4 + 2 + 8] = 2;
	assert_int_equal(ctl_get_job(p, len, &gj, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "paused"));
	msgbuf_free(&b);

	ctl_put_target(&b, &t);
	p = one_frame(&b, CTL_TARGET, &len);
	assert_int_equal(ctl_get_target(p, len, &gt, err, sizeof(err)), 0);
	assert_memory_equal(&gt, &t, sizeof(t));
	refuse_cuts(p, len, sizeof(gt), GETTER(ctl_get_target));
	msgbuf_free(&b);
}

/* A receiver's client job: round trip, cuts, a stale flag above 1. */
static void
test_recv_round_trip(void **state)
{
	static struct ctl_recv r = {
		.client = "laptop.example.net", .job = "home",
		.last = "home.20261124T070001Z", .last_time = 1795497561,
		.snapshots = 31, .partials = 1, .partial_oldest = 1795497600,
		.stale_after = 172800, .stale = 1, .scanned = 1795497650,
	};
	struct ctl_recv g;
	struct msgbuf b = { 0 };
	uint8_t *q;
	const uint8_t *p;
	char err[192];
	uint32_t len;

	(void)state;
	assert_int_equal(ctl_put_recv(&b, &r), 0);
	p = one_frame(&b, CTL_RECV, &len);
	assert_int_equal(ctl_get_recv(p, len, &g, err, sizeof(err)), 0);
	assert_memory_equal(&g, &r, sizeof(r));
	refuse_cuts(p, len, sizeof(g), GETTER(ctl_get_recv));
	/* stale is the u8 before the last i64 */
	q = malloc(len);
	memcpy(q, p, len);
	q[len - 9] = 2;
	assert_int_equal(ctl_get_recv(q, len, &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "stale"));
	free(q);
	msgbuf_free(&b);
	assert_string_equal(ctl_type_name(CTL_RECV), "receive");
}

static void
test_live_run_event_round_trip(void **state)
{
	static struct ctl_live l = {
		.id = 3, .job = "home", .phase = "send", .target = "backup1",
		.snapshot = "home.20261124T070001Z", .start = 100,
		.done = 1ull << 33, .total = 1ull << 34,
		.total_src = TOTAL_PREVIOUS, .resumed_at = 4096,
		.rate = 1 << 20, .resumes = 2,
	};
	static struct ctl_run r = {
		.id = 3, .job = "home", .target = "backup1",
		.snapshot = "home.20261124T070001Z",
		.parent = "home.20261123T070001Z", .start = 100, .end = 160,
		.result = RUN_OK, .bytes = 123456789, .resumes = 1,
	};
	struct ctl_event e, ge;
	struct ctl_live gl;
	struct ctl_run gr;
	struct msgbuf b = { 0 };
	const uint8_t *p;
	char err[192];
	uint32_t len, live_len;

	(void)state;
	ctl_put_live(&b, &l);
	p = one_frame(&b, CTL_LIVE, &len);
	live_len = len;
	assert_int_equal(ctl_get_live(p, len, &gl, err, sizeof(err)), 0);
	assert_memory_equal(&gl, &l, sizeof(l));
	refuse_cuts(p, len, sizeof(gl), GETTER(ctl_get_live));
	msgbuf_free(&b);

	ctl_put_run(&b, &r);
	p = one_frame(&b, CTL_RUN, &len);
	assert_int_equal(ctl_get_run(p, len, &gr, err, sizeof(err)), 0);
	assert_memory_equal(&gr, &r, sizeof(r));
	refuse_cuts(p, len, sizeof(gr), GETTER(ctl_get_run));
	msgbuf_free(&b);

	/* A progress event carries the live record only, a run end the run. */
	memset(&e, 0, sizeof(e));
	e.kind = CTL_EV_PROGRESS;
	e.when = 150;
	e.live = l;
	ctl_put_event(&b, &e);
	p = one_frame(&b, CTL_EVENT, &len);
	assert_int_equal(len, 1 + 8 + live_len);
	assert_int_equal(ctl_get_event(p, len, &ge, err, sizeof(err)), 0);
	assert_memory_equal(&ge, &e, sizeof(e));
	refuse_cuts(p, len, sizeof(ge), GETTER(ctl_get_event));
	msgbuf_free(&b);
	memset(&e, 0, sizeof(e));
	e.kind = CTL_EV_RUN_END;
	e.when = 160;
	e.run = r;
	ctl_put_event(&b, &e);
	p = one_frame(&b, CTL_EVENT, &len);
	assert_int_equal(ctl_get_event(p, len, &ge, err, sizeof(err)), 0);
	assert_memory_equal(&ge, &e, sizeof(e));
	b.p[FRAME_HEADER_LEN] = CTL_EV_END;
	assert_int_equal(ctl_get_event(p, len, &ge, err, sizeof(err)), -1);
	msgbuf_free(&b);
}

/* One rule for strings (codec.h): over the field is refused, never cut. */
static void
test_text_refused_and_types(void **state)
{
	char *big = malloc(CTL_TEXT_MAX * 2), got[CTL_TEXT_MAX], err[192];
	struct msgbuf b = { 0 };
	struct ctl_run r;
	struct frame_hdr h;
	const uint8_t *p;
	uint32_t len;

	(void)state;
	memset(big, 'e', CTL_TEXT_MAX * 2 - 1);
	big[CTL_TEXT_MAX * 2 - 1] = '\0';
	assert_int_equal(ctl_put_text(&b, CTL_M_FAIL, big), -1);
	assert_int_equal(b.len, 0);
	big[CTL_TEXT_MAX] = '\0';
	assert_int_equal(ctl_put_text(&b, CTL_M_FAIL, big), -1);
	assert_int_equal(b.len, 0);
	/* The longest text that fits is carried whole: the bound, exactly. */
	big[CTL_TEXT_MAX - 1] = '\0';
	assert_int_equal(ctl_put_text(&b, CTL_M_FAIL, big), 0);
	p = one_frame(&b, CTL_M_FAIL, &len);
	assert_int_equal(len, 2 + CTL_TEXT_MAX - 1);
	assert_int_equal(len, ctl_rules.max_len(CTL_M_FAIL));
	assert_int_equal(ctl_get_text(p, len, got, sizeof(got), err,
	    sizeof(err)), 0);
	assert_int_equal(strlen(got), CTL_TEXT_MAX - 1);
	frame_hdr_decode(&h, b.p);
	h.len++;
	assert_int_equal(frame_hdr_check(&h, &ctl_rules, err, sizeof(err)), -1);
	msgbuf_free(&b);
	/* A record field without its NUL: refused, b as before. */
	memset(&r, 0, sizeof(r));
	memset(r.error, 'e', sizeof(r.error));
	assert_int_equal(ctl_put_run(&b, &r), -1);
	assert_int_equal(b.len, 0);
	r.error[sizeof(r.error) - 1] = '\0';
	assert_int_equal(ctl_put_run(&b, &r), 0);
	msgbuf_free(&b);
	ctl_put_text(&b, CTL_M_OK, "job home started");
	p = one_frame(&b, CTL_M_OK, &len);
	assert_int_equal(len, 2 + 16);
	assert_int_equal(ctl_get_text(p, len, got, sizeof(got), err,
	    sizeof(err)), 0);
	assert_string_equal(got, "job home started");
	msgbuf_free(&b);
	free(big);
}

/* Each record's bound is its largest encoding, derived from its fields. */
static void
test_derived_bounds(void **state)
{
	static struct ctl_job j;
	static struct ctl_event e;
	static struct ctl_snap sn;
	struct msgbuf b = { 0 };
	uint32_t len;

	(void)state;
	fill(j.name, sizeof(j.name), 'j');
	fill(j.schedule, sizeof(j.schedule), 's');
	fill(j.error, sizeof(j.error), 'e');
	assert_int_equal(ctl_put_job(&b, &j), 0);
	one_frame(&b, CTL_JOB, &len);
	assert_int_equal(len, ctl_rules.max_len(CTL_JOB));
	msgbuf_free(&b);
	/* An event's bound is that of its larger body, a run. */
	e.kind = CTL_EV_RUN_END;
	fill(e.run.job, sizeof(e.run.job), 'j');
	fill(e.run.target, sizeof(e.run.target), 't');
	fill(e.run.snapshot, sizeof(e.run.snapshot), 's');
	fill(e.run.parent, sizeof(e.run.parent), 'p');
	fill(e.run.error, sizeof(e.run.error), 'e');
	assert_int_equal(ctl_put_event(&b, &e), 0);
	one_frame(&b, CTL_EVENT, &len);
	assert_int_equal(len, ctl_rules.max_len(CTL_EVENT));
	assert_true(ctl_rules.max_len(CTL_LIVE) < len);
	msgbuf_free(&b);
	/* More held targets than the bound: refused, not cut. */
	sn.nheld = CTL_HELD_MAX + 1;
	assert_int_equal(ctl_put_snap(&b, &sn), -1);
	assert_int_equal(b.len, 0);
	msgbuf_free(&b);
}

/* No flag is defined on the control socket: each one is refused. */
static void
test_frame_flags_refused(void **state)
{
	struct ctl_hello h = { CTL_VERSION, 0 };
	struct msgbuf b = { 0 };
	struct frame_hdr hdr;
	char err[192];
	unsigned bit;

	(void)state;
	assert_int_equal(ctl_put_hello(&b, &h), 0);
	frame_hdr_decode(&hdr, b.p);
	assert_int_equal(ctl_hdr_check(&hdr, err, sizeof(err)), 0);
	for (bit = 0; bit < 16; bit++) {
		hdr.flags = (uint16_t)(1u << bit);
		assert_int_equal(ctl_hdr_check(&hdr, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "hello message with frame flags"));
	}
	msgbuf_free(&b);
}

static void
test_readonly_commands(void **state)
{
	(void)state;
	assert_true(ctl_cmd_readonly(CTL_CMD_STATUS));
	assert_true(ctl_cmd_readonly(CTL_CMD_SNAPSHOTS));
	assert_true(ctl_cmd_readonly(CTL_CMD_HISTORY));
	assert_true(ctl_cmd_readonly(CTL_CMD_MONITOR));
	assert_false(ctl_cmd_readonly(CTL_CMD_RUN));
	assert_false(ctl_cmd_readonly(CTL_CMD_CANCEL));
	assert_false(ctl_cmd_readonly(CTL_CMD_PAUSE));
	assert_false(ctl_cmd_readonly(CTL_CMD_UNPAUSE));
	assert_false(ctl_cmd_readonly(CTL_CMD_RELOAD));
	assert_false(ctl_cmd_readonly(0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_layout),
		cmocka_unit_test(test_request_layout),
		cmocka_unit_test(test_string_longer_than_field_refused),
		cmocka_unit_test(test_largest_records_fit_their_bounds),
		cmocka_unit_test(test_job_and_target_round_trip),
		cmocka_unit_test(test_live_run_event_round_trip),
		cmocka_unit_test(test_recv_round_trip),
		cmocka_unit_test(test_text_refused_and_types),
		cmocka_unit_test(test_derived_bounds),
		cmocka_unit_test(test_readonly_commands),
		cmocka_unit_test(test_frame_flags_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
