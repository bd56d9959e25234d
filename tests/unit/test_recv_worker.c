/*
 * Receive worker: which partial may be resumed for a BEGIN and how
 * LIST-REPLY describes a partial (daemon/net/recv_worker.c).  Which
 * partials are stale is engine/partial.c's (test_partial.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/net/recv_worker.h"
#include "engine/checkpoint.h"
#include "engine/snapshot.h"
#include "proto/msg/wire.h"

static struct wire_ref clones[2] = {
	{ { 0xc1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }, 0 },
	{ { 0xc2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }, 0 },
};

/* An incremental v2 compressed-data BEGIN with two clone sources. */
static void
begin(struct wire_begin *b)
{
	memset(b, 0, sizeof(*b));
	strcpy(b->job, "home");
	strcpy(b->name, "home.20260102T000000Z");
	memset(b->id.snap.uuid, 0xab, 16);
	b->id.snap.ctransid = 4711;
	memset(b->id.parent.uuid, 0xcd, 16);
	b->id.version = 2;
	b->id.flags = WIRE_BEGIN_COMPRESSED_DATA;
	b->id.nclones = 2;
	b->id.clones = clones;
}

/* The checkpoint the receive engine writes for that stream. */
static void
ckpt(struct checkpoint *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->id.name, "home.20260102T000000Z");
	memset(c->id.uuid, 0xab, 16);
	c->id.ctransid = 4711;
	c->id.has_parent = true;
	memset(c->id.parent_uuid, 0xcd, 16);
	c->id.parent_ctransid = 4000;
	c->id.version = 2;
	c->id.flags = WIRE_BEGIN_COMPRESSED_DATA;
	c->id.nclones = 2;
	memcpy(c->id.clone_uuids[0], clones[0].uuid, 16);
	memcpy(c->id.clone_uuids[1], clones[1].uuid, 16);
	c->ncmds = 1234;
	c->offset = 987654;
	memset(c->digest.d, 0x42, sizeof(c->digest.d));
}

static void
test_matches(void **state)
{
	struct wire_begin b;
	struct checkpoint c;

	(void)state;
	begin(&b);
	ckpt(&c);
	assert_true(recv_stream_matches(&b, &c));
	/* the restart flag is not a stream parameter */
	b.id.flags |= WIRE_BEGIN_RESTART;
	assert_true(recv_stream_matches(&b, &c));

	/* each parameter on its own makes it another stream */
	begin(&b);
	strcpy(b.name, "home.20260103T000000Z");
	assert_false(recv_stream_matches(&b, &c));
	begin(&b);
	b.id.snap.uuid[15] ^= 1;
	assert_false(recv_stream_matches(&b, &c));
	begin(&b);
	b.id.snap.ctransid++;
	assert_false(recv_stream_matches(&b, &c));
	begin(&b);
	b.id.parent.uuid[3] ^= 1;
	assert_false(recv_stream_matches(&b, &c));
	begin(&b);
	memset(b.id.parent.uuid, 0, 16);        /* a full send */
	assert_false(recv_stream_matches(&b, &c));
	begin(&b);
	b.id.version = 1;
	assert_false(recv_stream_matches(&b, &c));
	begin(&b);
	b.id.flags = 0;
	assert_false(recv_stream_matches(&b, &c));
	begin(&b);
	b.id.nclones = 1;
	assert_false(recv_stream_matches(&b, &c));
	begin(&b);
	b.id.clones = &clones[1];               /* other order / sources */
	b.id.nclones = 1;
	c.id.nclones = 1;
	assert_false(recv_stream_matches(&b, &c));

	/* a partial with no command applied is nothing to resume */
	begin(&b);
	ckpt(&c);
	c.ncmds = 0;
	assert_false(recv_stream_matches(&b, &c));
}

/* LIST-REPLY's partial carries identity and point, and survives the wire. */
static void
test_describe(void **state)
{
	struct checkpoint c;
	struct wire_partial p;
	struct wire_msg m, out;
	struct msgbuf buf = { 0 };
	struct frame_decoder d;
	char err[256];
	size_t used;

	(void)state;
	ckpt(&c);
	recv_partial_describe(&c, &p);
	assert_string_equal(p.name, c.id.name);
	assert_memory_equal(p.id.snap.uuid, c.id.uuid, 16);
	assert_int_equal(p.id.snap.ctransid, 4711);
	assert_memory_equal(p.id.parent.uuid, c.id.parent_uuid, 16);
	assert_int_equal(p.id.parent.ctransid, 4000);
	assert_int_equal(p.id.version, 2);
	assert_int_equal(p.id.flags, WIRE_BEGIN_COMPRESSED_DATA);
	assert_int_equal(p.id.nclones, 2);
	assert_memory_equal(p.id.clones[1].uuid, clones[1].uuid, 16);
	assert_int_equal(p.point.index, 1234);
	assert_int_equal(p.point.offset, 987654);
	assert_memory_equal(p.point.digest.d, c.digest.d, sizeof(c.digest.d));

	memset(&m, 0, sizeof(m));
	m.type = WIRE_LIST_REPLY;
	m.u.list.npartials = 1;
	m.u.list.partials = &p;
	assert_int_equal(wire_encode(&buf, &m, err, sizeof(err)), 0);
	frame_decoder_init(&d, &wire_rules);
	assert_int_equal(frame_decoder_push(&d, buf.p, buf.len, &used),
	    FRAME_READY);
	assert_int_equal(wire_decode(&out, &d.hdr, d.payload, err,
	    sizeof(err)), 0);
	assert_int_equal(out.u.list.npartials, 1);
	assert_int_equal(out.u.list.partials[0].point.index, 1234);
	assert_int_equal(out.u.list.partials[0].id.snap.ctransid, 4711);
	assert_int_equal(out.u.list.partials[0].id.nclones, 2);
	assert_memory_equal(out.u.list.partials[0].id.clones[0].uuid,
	    clones[0].uuid, 16);
	wire_msg_free(&out);
	frame_decoder_free(&d);
	msgbuf_free(&buf);
	free(p.id.clones);

	/* a full send: no parent on the wire; unknown flag bits dropped */
	ckpt(&c);
	c.id.has_parent = false;
	c.id.flags |= 0x100;
	c.id.nclones = 0;
	recv_partial_describe(&c, &p);
	assert_int_equal(p.id.parent.ctransid, 0);
	assert_int_equal(p.id.parent.uuid[0], 0);
	assert_int_equal(p.id.flags, WIRE_BEGIN_COMPRESSED_DATA);
	assert_int_equal(p.id.nclones, 0);
	free(p.id.clones);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
