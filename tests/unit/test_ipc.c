/*
 * Parent <-> worker messages (proto/msg/ipc.h) on the shared frame layer:
 * every message round-trips, every truncation and trailing byte is
 * refused, unknown types and oversize payloads are refused on the header
 * alone, and a version mismatch is named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "proto/msg/ipc.h"

static const struct ipc_run sample_run = {
	.job = "home", .source = "/srv/pool/@home",
	.snapshot_dir = "/srv/pool/.snapshots", .now = 1795497556,
	.min_free = 5ULL << 30,
	.keep_source = { .set = 1, .hourly = 24, .daily = 7, .weekly = 4,
	    .monthly = 6, .yearly = 1, .min_age = 3600 },
	.flags = IPC_RUN_TEST_CRASH, .resend = "home.20261208T010000Z",
	.if_changed = 1,
};

/* Decode the single frame in b: its header must pass the rules. */
static void
one_frame(const struct msgbuf *b, struct frame_hdr *h, const uint8_t **p)
{
	char err[192];

	assert_true(b->len >= FRAME_HEADER_LEN);
	frame_hdr_decode(h, b->p);
	assert_int_equal(frame_hdr_check(h, &ipc_rules, err, sizeof(err)), 0);
	assert_int_equal(h->len, b->len - FRAME_HEADER_LEN);
	*p = b->p + FRAME_HEADER_LEN;
}

static void
test_hello(void **state)
{
	struct msgbuf b = { 0 };
	struct frame_hdr h;
	const uint8_t *p;
	uint8_t bad[4];
	char err[192];

	(void)state;
	ipc_put_hello(&b, 4242);
	one_frame(&b, &h, &p);
	assert_int_equal(h.type, IPC_HELLO);
	assert_int_equal(h.pid, 4242);
	assert_int_equal(ipc_get_hello(p, h.len, err, sizeof(err)), 0);
	frame_put32(bad, IPC_VERSION + 1);
	assert_int_equal(ipc_get_hello(bad, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version"));
	assert_int_equal(ipc_get_hello(p, 3, err, sizeof(err)), -1);
	msgbuf_free(&b);
}

static void
test_run_round_trip_and_truncation(void **state)
{
	struct msgbuf b = { 0 };
	struct frame_hdr h;
	struct ipc_run r;
	const uint8_t *p;
	uint8_t *longer;
	char err[192];
	size_t cut;

	(void)state;
	ipc_put_run(&b, 1, &sample_run);
	one_frame(&b, &h, &p);
	assert_int_equal(h.type, IPC_RUN);
	assert_int_equal(ipc_get_run(p, h.len, &r, err, sizeof(err)), 0);
	assert_string_equal(r.job, "home");
	assert_string_equal(r.source, "/srv/pool/@home");
	assert_string_equal(r.snapshot_dir, "/srv/pool/.snapshots");
	assert_int_equal(r.now, 1795497556);
	assert_int_equal(r.keep_source.set, 1);
	assert_int_equal(r.keep_source.hourly, 24);
	assert_int_equal(r.keep_source.daily, 7);
	assert_int_equal(r.keep_source.weekly, 4);
	assert_int_equal(r.keep_source.monthly, 6);
	assert_int_equal(r.keep_source.yearly, 1);
	assert_int_equal(r.keep_source.min_age, 3600);
	assert_int_equal(r.min_free, 5ULL << 30);
	assert_int_equal(r.flags, IPC_RUN_TEST_CRASH);
	assert_string_equal(r.resend, "home.20261208T010000Z");
	assert_int_equal(r.if_changed, 1);
	ipc_run_free(&r);
	for (cut = 0; cut < h.len; cut++)
		assert_int_equal(ipc_get_run(p, cut, &r, err, sizeof(err)), -1);
	longer = malloc(h.len + 1);
	memcpy(longer, p, h.len);
	longer[h.len] = 0;
	assert_int_equal(ipc_get_run(longer, h.len + 1, &r, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "trailing"));
	free(longer);
	msgbuf_free(&b);
}

static void
test_run_rejects_relative_paths_and_nul(void **state)
{
	struct ipc_run bad = sample_run, r;
	struct msgbuf b = { 0 };
	struct frame_hdr h;
	const uint8_t *p;
	uint8_t *q;
	char err[192];

	(void)state;
	bad.source = "relative/path";
	ipc_put_run(&b, 1, &bad);
	one_frame(&b, &h, &p);
	assert_int_equal(ipc_get_run(p, h.len, &r, err, sizeof(err)), -1);
	msgbuf_free(&b);

	/* The snapshot a retry sends again is a name, not a path. */
	bad = sample_run;
	bad.resend = "../etc";
	ipc_put_run(&b, 1, &bad);
	one_frame(&b, &h, &p);
	assert_int_equal(ipc_get_run(p, h.len, &r, err, sizeof(err)), -1);
	msgbuf_free(&b);

	/* A NUL inside a string: the job name's second byte. */
	ipc_put_run(&b, 1, &sample_run);
	one_frame(&b, &h, &p);
	q = b.p + FRAME_HEADER_LEN + 2 + 1;
	*q = '\0';
	assert_int_equal(ipc_get_run(p, h.len, &r, err, sizeof(err)), -1);
	msgbuf_free(&b);
}

static void
test_progress_and_result(void **state)
{
	struct ipc_result res = { .status = RUN_FAILED, .pruned = 3,
	    .snapshot = "home.20261124T051912Z", .error = "no space" }, back;
	struct msgbuf b = { 0 };
	struct frame_hdr h;
	const uint8_t *p;
	char err[192], *what;
	size_t cut;

	(void)state;
	ipc_put_progress(&b, 7, "created snapshot x");
	one_frame(&b, &h, &p);
	assert_int_equal(h.type, IPC_PROGRESS);
	assert_int_equal(ipc_get_progress(p, h.len, &what, err, sizeof(err)),
	    0);
	assert_string_equal(what, "created snapshot x");
	free(what);
	msgbuf_free(&b);

	ipc_put_result(&b, 7, &res);
	one_frame(&b, &h, &p);
	assert_int_equal(h.type, IPC_RESULT);
	assert_int_equal(ipc_get_result(p, h.len, &back, err, sizeof(err)), 0);
	assert_int_equal(back.status, RUN_FAILED);
	assert_int_equal(back.pruned, 3);
	assert_string_equal(back.snapshot, "home.20261124T051912Z");
	assert_string_equal(back.error, "no space");
	ipc_result_free(&back);
	for (cut = 0; cut < h.len; cut++)
		assert_int_equal(ipc_get_result(p, cut, &back, err,
		    sizeof(err)), -1);
	/* An unknown status is refused. */
	b.p[FRAME_HEADER_LEN] = RUN_FAILED + 1;
	assert_int_equal(ipc_get_result(p, h.len, &back, err, sizeof(err)),
	    -1);
	msgbuf_free(&b);
}

/* One rule for strings (codec.h): over the bound is refused, never cut. */
static void
test_long_strings_are_refused(void **state)
{
	struct msgbuf b = { 0 };
	struct ipc_xfer x = { 0 };
	struct frame_hdr h;
	const uint8_t *p;
	char *big, *what, err[192];
	uint8_t *bad;

	(void)state;
	big = malloc(IPC_STR_MAX * 2 + 1);
	memset(big, 'x', IPC_STR_MAX * 2);
	big[IPC_STR_MAX * 2] = '\0';
	assert_int_equal(ipc_put_progress(&b, 1, big), -1);
	assert_int_equal(b.len, 0);
	big[IPC_STR_MAX + 1] = '\0';
	x.phase = x.target = "";
	x.snapshot = big;
	assert_int_equal(ipc_put_xfer(&b, 1, &x), -1);
	assert_int_equal(b.len, 0);
	/* A frame already in b stays whole. */
	assert_int_equal(ipc_put_hello(&b, 1), 0);
	assert_int_equal(ipc_put_progress(&b, 1, big), -1);
	assert_int_equal(b.len, FRAME_HEADER_LEN + 4);
	msgbuf_free(&b);
	/* At the bound exactly: carried whole. */
	big[IPC_STR_MAX] = '\0';
	assert_int_equal(ipc_put_progress(&b, 1, big), 0);
	one_frame(&b, &h, &p);
	assert_int_equal(ipc_get_progress(p, h.len, &what, err, sizeof(err)),
	    0);
	assert_int_equal(strlen(what), IPC_STR_MAX);
	free(what);
	/* The decoder refuses a length over the bound. */
	bad = malloc(2 + IPC_STR_MAX + 1);
	frame_put16(bad, IPC_STR_MAX + 1);
	memset(bad + 2, 'x', IPC_STR_MAX + 1);
	assert_int_equal(ipc_get_progress(bad, 2 + IPC_STR_MAX + 1, &what, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_null(what);
	free(bad);
	free(big);
	msgbuf_free(&b);
}

static void
test_decoder_refuses_unknown_and_oversize(void **state)
{
	struct frame_hdr h = { .type = IPC_TYPE_END, .len = 0 };
	struct frame_decoder d;
	uint8_t hdr[FRAME_HEADER_LEN];
	size_t used;

	(void)state;
	frame_hdr_encode(hdr, &h);
	frame_decoder_init(&d, &ipc_rules);
	assert_int_equal(frame_decoder_push(&d, hdr, sizeof(hdr), &used),
	    FRAME_ERROR);
	assert_non_null(strstr(d.err, "unknown message type"));
	frame_decoder_free(&d);

	h.type = 0;
	frame_hdr_encode(hdr, &h);
	frame_decoder_init(&d, &ipc_rules);
	assert_int_equal(frame_decoder_push(&d, hdr, sizeof(hdr), &used),
	    FRAME_ERROR);
	frame_decoder_free(&d);

	h.type = IPC_HELLO;
	h.len = 5;
	frame_hdr_encode(hdr, &h);
	frame_decoder_init(&d, &ipc_rules);
	assert_int_equal(frame_decoder_push(&d, hdr, sizeof(hdr), &used),
	    FRAME_ERROR);
	assert_non_null(strstr(d.err, "exceeds"));
	frame_decoder_free(&d);
}

static void
test_read_frame_over_socketpair(void **state)
{
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	struct ipc_run r;
	char err[192];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ipc_put_hello(&b, 1);
	ipc_put_run(&b, 1, &sample_run);
	assert_int_equal(ipc_write_all(sv[0], &b), 0);
	close(sv[0]);
	frame_decoder_init(&d, &ipc_rules);
	assert_int_equal(ipc_read_frame(sv[1], &d, err, sizeof(err)), 0);
	assert_int_equal(d.hdr.type, IPC_HELLO);
	assert_int_equal(ipc_read_frame(sv[1], &d, err, sizeof(err)), 0);
	assert_int_equal(d.hdr.type, IPC_RUN);
	assert_int_equal(ipc_get_run(d.payload, d.hdr.len, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.job, "home");
	ipc_run_free(&r);
	assert_int_equal(ipc_read_frame(sv[1], &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "end of file"));
	frame_decoder_free(&d);
	close(sv[1]);
	msgbuf_free(&b);
}

static void
test_read_frame_truncated_payload(void **state)
{
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	char err[192];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ipc_put_run(&b, 1, &sample_run);
	b.len -= 3;
	assert_int_equal(ipc_write_all(sv[0], &b), 0);
	close(sv[0]);
	frame_decoder_init(&d, &ipc_rules);
	assert_int_equal(ipc_read_frame(sv[1], &d, err, sizeof(err)), -1);
	frame_decoder_free(&d);
	close(sv[1]);
	msgbuf_free(&b);
}

/* Targets, tls files and keep-target travel in RUN; results per target. */
static void
test_targets_round_trip(void **state)
{
	struct ipc_target tg[2] = {
		{ .name = "backup", .host = "10.0.0.2", .port = 7450,
		  .cert_name = "backup.test", .bandwidth = 1 << 20, .zstd = 1,
		  .timeout = 90,
		  .prev_bytes = 5000000000ULL, .known = 1, .base = "home.1" },
		{ .name = "far", .host = "far.example", .port = 9,
		  .cert_name = "", .bandwidth = 0, .zstd = 0 },
	};
	struct ipc_target_result trs[2] = {
		{ .name = "backup", .status = RUN_OK, .parent = "home.1",
		  .error = "", .bytes = 6000000000ULL, .resumes = 2 },
		{ .name = "far", .status = RUN_RETRY, .parent = "",
		  .error = "connection refused" },
	};
	struct ipc_run run = sample_run, r;
	struct ipc_result res = { .status = RUN_RETRY, .snapshot = "home.2",
	    .error = "x", .ntargets = 2, .targets = trs }, got;
	struct msgbuf b = { 0 };
	struct frame_hdr h;
	const uint8_t *p;
	char err[192];
	size_t cut;

	(void)state;
	run.tls_certificate = "/c.crt";
	run.tls_key = "/c.key";
	run.tls_ca = "/ca.crt";
	run.proto = 2;
	run.compressed_data = 1;
	run.keep_target.set = 1;
	run.keep_target.hourly = 3;
	run.keep_target.daily = 4;
	run.keep_target.weekly = 5;
	run.keep_target.monthly = 6;
	run.keep_target.yearly = 7;
	run.keep_target.min_age = 60;
	run.ntargets = 2;
	run.targets = tg;
	ipc_put_run(&b, 1, &run);
	one_frame(&b, &h, &p);
	assert_int_equal(ipc_get_run(p, h.len, &r, err, sizeof(err)), 0);
	assert_string_equal(r.tls_key, "/c.key");
	assert_int_equal(r.proto, 2);
	assert_int_equal(r.compressed_data, 1);
	assert_int_equal(r.keep_target.set, 1);
	assert_int_equal(r.keep_target.hourly, 3);
	assert_int_equal(r.keep_target.monthly, 6);
	assert_int_equal(r.keep_target.yearly, 7);
	assert_int_equal(r.keep_target.min_age, 60);
	assert_int_equal(r.ntargets, 2);
	assert_string_equal(r.targets[0].host, "10.0.0.2");
	assert_int_equal(r.targets[0].port, 7450);
	assert_string_equal(r.targets[0].cert_name, "backup.test");
	assert_int_equal(r.targets[0].timeout, 90);
	assert_int_equal(r.targets[1].timeout, 0);
	assert_int_equal(r.targets[0].bandwidth, 1 << 20);
	assert_int_equal(r.targets[0].zstd, 1);
	assert_int_equal(r.targets[0].prev_bytes, 5000000000ULL);
	assert_int_equal(r.targets[1].prev_bytes, 0);
	assert_string_equal(r.targets[1].name, "far");
	assert_int_equal(r.targets[1].zstd, 0);
	assert_int_equal(r.targets[0].known, 1);
	assert_string_equal(r.targets[0].base, "home.1");
	assert_int_equal(r.targets[1].known, 0);
	assert_string_equal(r.targets[1].base, "");
	ipc_run_free(&r);
	for (cut = 0; cut < h.len; cut++)
		assert_int_equal(ipc_get_run(p, cut, &r, err, sizeof(err)), -1);
	msgbuf_free(&b);
	tg[1].port = 0;		/* no such port: refused */
	ipc_put_run(&b, 1, &run);
	one_frame(&b, &h, &p);
	assert_int_equal(ipc_get_run(p, h.len, &r, err, sizeof(err)), -1);
	msgbuf_free(&b);

	ipc_put_result(&b, 1, &res);
	one_frame(&b, &h, &p);
	assert_int_equal(ipc_get_result(p, h.len, &got, err, sizeof(err)), 0);
	assert_int_equal(got.ntargets, 2);
	assert_string_equal(got.targets[0].parent, "home.1");
	assert_int_equal(got.targets[0].status, RUN_OK);
	assert_int_equal(got.targets[0].bytes, 6000000000ULL);
	assert_int_equal(got.targets[0].resumes, 2);
	assert_int_equal(got.targets[1].bytes, 0);
	assert_int_equal(got.targets[1].status, RUN_RETRY);
	assert_string_equal(got.targets[1].error, "connection refused");
	ipc_result_free(&got);
	for (cut = 0; cut < h.len; cut++)
		assert_int_equal(ipc_get_result(p, cut, &got, err,
		    sizeof(err)), -1);
	msgbuf_free(&b);
}

static void
test_xfer(void **state)
{
	struct ipc_xfer x = { .phase = "send", .target = "backup",
	    .snapshot = "home.2", .done = 3000000000ULL,
	    .total = 4000000001ULL, .total_src = TOTAL_ESTIMATE,
	    .resumed_at = 1234567, .resumes = 4 }, got;
	struct msgbuf b = { 0 };
	struct frame_hdr h;
	const uint8_t *p;
	char err[192];
	size_t cut;

	(void)state;
	ipc_put_xfer(&b, 9, &x);
	one_frame(&b, &h, &p);
	assert_int_equal(h.type, IPC_XFER);
	assert_string_equal(ipc_type_name(h.type), "xfer");
	assert_int_equal(ipc_get_xfer(p, h.len, &got, err, sizeof(err)), 0);
	assert_string_equal(got.phase, "send");
	assert_string_equal(got.target, "backup");
	assert_string_equal(got.snapshot, "home.2");
	assert_int_equal(got.done, 3000000000ULL);
	assert_int_equal(got.total, 4000000001ULL);
	assert_int_equal(got.total_src, TOTAL_ESTIMATE);
	assert_int_equal(got.resumed_at, 1234567);
	assert_int_equal(got.resumes, 4);
	ipc_xfer_free(&got);
	for (cut = 0; cut < h.len; cut++)
		assert_int_equal(ipc_get_xfer(p, cut, &got, err, sizeof(err)),
		    -1);
	/* an unknown total source is refused (its byte: 8 + 8 from the end) */
	b.p[b.len - 8 - 4 - 1] = TOTAL_PREVIOUS + 1;
	assert_int_equal(ipc_get_xfer(p, h.len, &got, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "total source"));
	msgbuf_free(&b);
}

static void
test_held(void **state)
{
	char *names[] = { "home.1", "home.2", "" }, *many[IPC_HELD_MAX + 3];
	char longname[SNAP_NAME_MAX + 2];
	uint8_t raw[2 + 1 + 4 + 2 + SNAP_NAME_MAX + 1 + 2];
	struct ipc_held hd = { .target = "backup", .n = 3, .names = names,
	    .base = "home.2" };
	struct ipc_held got;
	struct msgbuf b = { 0 };
	struct frame_hdr h;
	const uint8_t *p;
	char err[192];
	size_t cut, i;

	(void)state;
	ipc_put_held(&b, 9, &hd);
	one_frame(&b, &h, &p);
	assert_int_equal(h.type, IPC_HELD);
	assert_int_equal(ipc_get_held(p, h.len, &got, err, sizeof(err)), 0);
	assert_string_equal(got.target, "backup");
	assert_int_equal(got.n, 3);
	assert_string_equal(got.names[0], "home.1");
	assert_string_equal(got.names[1], "home.2");
	assert_string_equal(got.names[2], "");
	assert_string_equal(got.base, "home.2");
	ipc_held_free(&got);
	for (cut = 0; cut < h.len; cut++)
		assert_int_equal(ipc_get_held(p, cut, &got, err, sizeof(err)),
		    -1);
	msgbuf_free(&b);

	/* more than the bound: the first IPC_HELD_MAX; over-long names left
	 * out by the writer and refused by the reader */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	many[0] = longname;
	for (i = 1; i < IPC_HELD_MAX + 3; i++)
		many[i] = "s";
	hd.names = many;
	hd.n = IPC_HELD_MAX + 3;
	ipc_put_held(&b, 9, &hd);
	one_frame(&b, &h, &p);
	assert_int_equal(ipc_get_held(p, h.len, &got, err, sizeof(err)), 0);
	assert_int_equal(got.n, IPC_HELD_MAX);
	assert_string_equal(got.names[0], "s");
	ipc_held_free(&got);
	msgbuf_free(&b);

	/* by hand: target "t", one name of SNAP_NAME_MAX + 1 bytes */
	frame_put16(raw, 1);
	raw[2] = 't';
	frame_put32(raw + 3, 1);
	frame_put16(raw + 7, SNAP_NAME_MAX + 1);
	memset(raw + 9, 'n', SNAP_NAME_MAX + 1);
	frame_put16(raw + 9 + SNAP_NAME_MAX + 1, 0);	/* base "" */
	assert_int_equal(ipc_get_held(raw, sizeof(raw), &got, err,
	    sizeof(err)), -1);
	frame_put16(raw + 7, SNAP_NAME_MAX);
	frame_put16(raw + 9 + SNAP_NAME_MAX, 0);
	assert_int_equal(ipc_get_held(raw, sizeof(raw) - 1, &got, err,
	    sizeof(err)), 0);
	ipc_held_free(&got);
	frame_put32(raw + 3, IPC_HELD_MAX + 1);
	assert_int_equal(ipc_get_held(raw, sizeof(raw) - 1, &got, err,
	    sizeof(err)), -1);
}

/* Every field at its largest still fits the type's bound (ipc_end would
 * abort) and decodes. */
static void
test_largest_messages_fit(void **state)
{
	struct ipc_target tg[IPC_TARGETS_MAX];
	struct ipc_target_result trs[IPC_TARGETS_MAX];
	struct ipc_run run = sample_run, r;
	struct ipc_result res = { .status = RUN_OK }, got;
	struct ipc_xfer x, gx;
	struct msgbuf b = { 0 };
	struct frame_hdr h;
	const uint8_t *p;
	char *big, *path, err[192];
	size_t i;

	(void)state;
	big = malloc(IPC_STR_MAX + 1);
	memset(big, 'x', IPC_STR_MAX);
	big[IPC_STR_MAX] = '\0';
	path = strdup(big);
	path[0] = '/';
	for (i = 0; i < IPC_TARGETS_MAX; i++) {
		tg[i] = (struct ipc_target){ .name = big, .host = big,
		    .port = 65535, .cert_name = big, .bandwidth = UINT64_MAX,
		    .zstd = 1, .timeout = UINT32_MAX, .prev_bytes = UINT64_MAX,
		    .known = 1, .base = big + IPC_STR_MAX - SNAP_NAME_MAX };
		trs[i] = (struct ipc_target_result){ .name = big,
		    .status = RUN_FAILED, .parent = big, .error = big,
		    .bytes = UINT64_MAX, .resumes = UINT32_MAX };
	}
	run.job = big;
	run.source = path;
	run.snapshot_dir = path;
	run.tls_certificate = run.tls_key = run.tls_ca = big;
	run.ntargets = IPC_TARGETS_MAX;
	run.targets = tg;
	ipc_put_run(&b, 1, &run);
	one_frame(&b, &h, &p);
	assert_int_equal(ipc_get_run(p, h.len, &r, err, sizeof(err)), 0);
	assert_int_equal(r.targets[IPC_TARGETS_MAX - 1].timeout, UINT32_MAX);
	ipc_run_free(&r);
	msgbuf_free(&b);
	res.snapshot = res.error = big;
	res.ntargets = IPC_TARGETS_MAX;
	res.targets = trs;
	ipc_put_result(&b, 1, &res);
	one_frame(&b, &h, &p);
	assert_int_equal(ipc_get_result(p, h.len, &got, err, sizeof(err)), 0);
	ipc_result_free(&got);
	msgbuf_free(&b);
	x = (struct ipc_xfer){ big, big, big, UINT64_MAX, UINT64_MAX,
	    TOTAL_PREVIOUS, UINT64_MAX, UINT32_MAX };
	ipc_put_xfer(&b, 1, &x);
	one_frame(&b, &h, &p);
	assert_int_equal(ipc_get_xfer(p, h.len, &gx, err, sizeof(err)), 0);
	ipc_xfer_free(&gx);
	msgbuf_free(&b);
	free(path);
	free(big);
}

/* The largest message of a type is exactly its bound; one byte more is
 * refused on the header. */
static void
bound_is_exact(const struct msgbuf *b)
{
	struct frame_hdr h;
	char err[192];

	frame_hdr_decode(&h, b->p);
	assert_int_equal(h.len, b->len - FRAME_HEADER_LEN);
	assert_int_equal(h.len, ipc_rules.max_len(h.type));
	h.len++;
	assert_int_equal(frame_hdr_check(&h, &ipc_rules, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "exceeds"));
}

static void
test_derived_bounds(void **state)
{
	struct ipc_target tg[IPC_TARGETS_MAX + 1];
	struct ipc_target_result trs[IPC_TARGETS_MAX];
	struct ipc_run run = sample_run;
	struct ipc_result res = { 0 };
	struct ipc_xfer x;
	struct ipc_held held;
	struct msgbuf b = { 0 };
	char *big, *name, **names;
	size_t i;

	(void)state;
	big = malloc(IPC_STR_MAX + 1);
	memset(big, 'x', IPC_STR_MAX);
	big[IPC_STR_MAX] = '\0';
	name = big + IPC_STR_MAX - SNAP_NAME_MAX;
	for (i = 0; i <= IPC_TARGETS_MAX; i++)
		tg[i] = (struct ipc_target){ .name = big, .host = big,
		    .port = 1, .cert_name = big, .base = name };
	for (i = 0; i < IPC_TARGETS_MAX; i++)
		trs[i] = (struct ipc_target_result){ .name = big,
		    .parent = big, .error = big };
	run.job = run.source = run.snapshot_dir = big;
	run.tls_certificate = run.tls_key = run.tls_ca = big;
	run.resend = name;
	run.ntargets = IPC_TARGETS_MAX;
	run.targets = tg;
	assert_int_equal(ipc_put_run(&b, 1, &run), 0);
	bound_is_exact(&b);
	msgbuf_free(&b);
	/* More targets than the bound: refused, not cut. */
	run.ntargets = IPC_TARGETS_MAX + 1;
	assert_int_equal(ipc_put_run(&b, 1, &run), -1);
	assert_int_equal(b.len, 0);
	res.snapshot = res.error = big;
	res.ntargets = IPC_TARGETS_MAX;
	res.targets = trs;
	assert_int_equal(ipc_put_result(&b, 1, &res), 0);
	bound_is_exact(&b);
	msgbuf_free(&b);
	x = (struct ipc_xfer){ big, big, big, 0, 0, 0, 0, 0 };
	assert_int_equal(ipc_put_xfer(&b, 1, &x), 0);
	bound_is_exact(&b);
	msgbuf_free(&b);
	assert_int_equal(ipc_put_progress(&b, 1, big), 0);
	bound_is_exact(&b);
	msgbuf_free(&b);
	names = calloc(IPC_HELD_MAX, sizeof(*names));
	for (i = 0; i < IPC_HELD_MAX; i++)
		names[i] = name;
	held = (struct ipc_held){ big, IPC_HELD_MAX, names, name };
	assert_int_equal(ipc_put_held(&b, 1, &held), 0);
	bound_is_exact(&b);
	msgbuf_free(&b);
	assert_int_equal(ipc_put_hello(&b, 1), 0);
	bound_is_exact(&b);
	msgbuf_free(&b);
	free(names);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_run_round_trip_and_truncation),
		cmocka_unit_test(test_run_rejects_relative_paths_and_nul),
		cmocka_unit_test(test_progress_and_result),
		cmocka_unit_test(test_long_strings_are_refused),
		cmocka_unit_test(test_decoder_refuses_unknown_and_oversize),
		cmocka_unit_test(test_read_frame_over_socketpair),
		cmocka_unit_test(test_read_frame_truncated_payload),
		cmocka_unit_test(test_targets_round_trip),
		cmocka_unit_test(test_xfer),
		cmocka_unit_test(test_held),
		cmocka_unit_test(test_largest_messages_fit),
		cmocka_unit_test(test_derived_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
