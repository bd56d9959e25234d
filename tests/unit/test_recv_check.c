/*
 * The receive worker's check of a stream against its BEGIN
 * (daemon/net/recv_check.c; issue 16, finding 7): the first command
 * creates exactly the announced subvolume (name, uuid, ctransid, parent),
 * no second SUBVOL or SNAPSHOT follows, nothing follows END, and the
 * wire END's totals and digest are those applied.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/net/recv_check.h"
#include "proto/msg/wire.h"
#include "proto/stream/stream.h"

static uint8_t buf[4096];
static struct stream_reader rd;

/* A full BEGIN of home.1, uuid 0xab.., ctransid 7; incremental: parent 0xcd.. */
static void
begin(struct wire_begin *b, bool incremental)
{
	memset(b, 0, sizeof(*b));
	strcpy(b->job, "home");
	strcpy(b->name, "home.1");
	memset(b->id.snap.uuid, 0xab, 16);
	b->id.snap.ctransid = 7;
	if (incremental) {
		memset(b->id.parent.uuid, 0xcd, 16);
		b->id.parent.ctransid = 5;
	}
	b->id.version = 1;
}

struct first {
	int type;
	const char *name;
	uint8_t uuid;
	uint64_t ctransid;
	uint8_t parent;
	uint64_t pctransid;
};

/* One command of a stream, read back as the worker sees it. */
static void
cmd(int type, const struct first *f, struct stream_cmd *c)
{
	struct stream_writer w;
	uint8_t u[16];
	long n;

	stream_writer_init(&w, buf, sizeof(buf), 1);
	assert_int_equal(stream_wr_header(&w), 0);
	stream_wr_begin(&w, type);
	if (f != NULL) {
		stream_wr_str(&w, SEND_A_PATH, f->name);
		memset(u, f->uuid, 16);
		stream_wr_uuid(&w, SEND_A_UUID, u);
		stream_wr_u64(&w, SEND_A_CTRANSID, f->ctransid);
		if (type == SEND_C_SNAPSHOT) {
			memset(u, f->parent, 16);
			stream_wr_uuid(&w, SEND_A_CLONE_UUID, u);
			stream_wr_u64(&w, SEND_A_CLONE_CTRANSID, f->pctransid);
		}
		if (type == SEND_C_MKFILE)
			stream_wr_u64(&w, SEND_A_INO, 300);
	} else if (type != SEND_C_END) {
		stream_wr_str(&w, SEND_A_PATH, "f");
		stream_wr_u64(&w, SEND_A_INO, 300);
	}
	n = stream_wr_end(&w);
	assert_true(n > 0);
	stream_reader_free(&rd);
	assert_int_equal(stream_reader_init(&rd, NULL), 0);
	assert_int_equal(stream_reader_feed(&rd, buf, w.pos), 0);
	if (stream_reader_next(&rd, c) != STREAM_HEADER)
		fail_msg("reader: %s", rd.err.msg);
	if (stream_reader_next(&rd, c) != STREAM_CMD)
		fail_msg("reader: %s", rd.err.msg);
}

static int
check(struct recv_check *k, int type, const struct first *f, uint32_t *code,
    char *err, size_t errlen)
{
	struct stream_cmd c;

	cmd(type, f, &c);
	return recv_check_cmd(k, &c, code, err, errlen);
}

static const struct first good_full = { SEND_C_SUBVOL, "home.1", 0xab, 7, 0, 0 };
static const struct first good_incr = { SEND_C_SNAPSHOT, "home.1", 0xab, 7,
    0xcd, 5 };

static void
test_announced(void **state)
{
	struct recv_check k;
	struct wire_begin b;
	char err[512];
	uint32_t code;

	(void)state;
	begin(&b, false);
	recv_check_init(&k, &b, false);
	assert_int_equal(check(&k, SEND_C_SUBVOL, &good_full, &code, err,
	    sizeof(err)), 0);
	assert_int_equal(check(&k, SEND_C_MKFILE, NULL, &code, err,
	    sizeof(err)), 0);
	assert_int_equal(check(&k, SEND_C_END, NULL, &code, err,
	    sizeof(err)), 0);
	assert_true(k.ended);
	begin(&b, true);
	recv_check_init(&k, &b, false);
	assert_int_equal(check(&k, SEND_C_SNAPSHOT, &good_incr, &code, err,
	    sizeof(err)), 0);
	/* a sender that gives no parent ctransid */
	b.id.parent.ctransid = 0;
	recv_check_init(&k, &b, false);
	assert_int_equal(check(&k, SEND_C_SNAPSHOT, &good_incr, &code, err,
	    sizeof(err)), 0);
}

static void
refused(bool incremental, const struct first *f, const char *why)
{
	struct recv_check k;
	struct wire_begin b;
	char err[512];
	uint32_t code = 0;

	begin(&b, incremental);
	recv_check_init(&k, &b, false);
	if (check(&k, f->type, f, &code, err, sizeof(err)) != -1)
		fail_msg("accepted, want refused: %s", why);
	assert_int_equal(code, WIRE_E_DENIED);
	if (strstr(err, why) == NULL ||
	    strstr(err, "does not create the announced subvolume 'home.1'") ==
	    NULL)
		fail_msg("'%s' does not say '%s'", err, why);
}

static void
test_first_differs(void **state)
{
	struct first f;

	(void)state;
	f = good_full;
	f.name = "home.2";
	refused(false, &f, "another name");
	f = good_full;
	f.uuid = 0xac;
	refused(false, &f, "another uuid");
	f = good_full;
	f.ctransid = 8;
	refused(false, &f, "another ctransid");
	refused(false, &good_incr, "incremental (SNAPSHOT), BEGIN announced a "
	    "full one");
	refused(true, &good_full, "full stream (SUBVOL), BEGIN announced an "
	    "incremental one");
	f = good_incr;
	f.parent = 0xce;
	refused(true, &f, "its parent has another uuid");
	f = good_incr;
	f.pctransid = 6;
	refused(true, &f, "its parent has another ctransid");
	f = good_full;
	f.type = SEND_C_MKFILE;
	refused(false, &f, "does not begin with SUBVOL or SNAPSHOT");
}

static void
test_one_subvolume(void **state)
{
	struct recv_check k;
	struct wire_begin b;
	struct first other = good_full;
	char err[512];
	uint32_t code;

	(void)state;
	begin(&b, false);
	recv_check_init(&k, &b, false);
	assert_int_equal(check(&k, SEND_C_SUBVOL, &good_full, &code, err,
	    sizeof(err)), 0);
	/* the announced one again, or another: a second subvolume */
	assert_int_equal(check(&k, SEND_C_SUBVOL, &good_full, &code, err,
	    sizeof(err)), -1);
	assert_int_equal(code, WIRE_E_DENIED);
	assert_non_null(strstr(err, "a second subvolume in one transfer"));
	other.name = "evil";
	assert_int_equal(check(&k, SEND_C_SUBVOL, &other, &code, err,
	    sizeof(err)), -1);
	/* after a resume: none at all */
	recv_check_init(&k, &b, true);
	assert_int_equal(check(&k, SEND_C_MKFILE, NULL, &code, err,
	    sizeof(err)), 0);
	assert_int_equal(check(&k, SEND_C_SUBVOL, &good_full, &code, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "a second subvolume"));
	/* nothing after END */
	recv_check_init(&k, &b, false);
	assert_int_equal(check(&k, SEND_C_SUBVOL, &good_full, &code, err,
	    sizeof(err)), 0);
	assert_int_equal(check(&k, SEND_C_END, NULL, &code, err,
	    sizeof(err)), 0);
	assert_int_equal(check(&k, SEND_C_MKFILE, NULL, &code, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "follows the stream's END"));
	stream_reader_free(&rd);
}

/* END against what was applied: every total and the digest. */
static void
test_end(void **state)
{
	struct recv_check k;
	struct wire_begin b;
	struct wire_point pt;
	struct stream_digest d;
	char err[512];

	(void)state;
	begin(&b, false);
	recv_check_init(&k, &b, false);
	stream_digest_init(&d);
	stream_digest_add(&d, "x", 1);
	memset(&pt, 0, sizeof(pt));
	pt.index = 10;
	pt.offset = 1000;
	pt.digest = d;
	assert_int_equal(recv_check_end(&k, &pt, 10, 1000, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(recv_check_end(&k, &pt, 11, 1000, &d, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "the sender's totals of 'home.1' (10 "
	    "commands, 1000 bytes"));
	assert_non_null(strstr(err, "differ from what was applied (11, 1000"));
	assert_int_equal(recv_check_end(&k, &pt, 10, 999, &d, err,
	    sizeof(err)), -1);
	pt.digest.d[31] ^= 0x80;
	assert_int_equal(recv_check_end(&k, &pt, 10, 1000, &d, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_announced),
		cmocka_unit_test(test_first_differs),
		cmocka_unit_test(test_one_subvolume),
		cmocka_unit_test(test_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
