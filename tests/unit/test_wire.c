/*
 * Frames and network messages: header layout, the incremental decoder
 * over any chunking, every message round trip, truncation at every byte,
 * oversize and unknown types caught on the header alone, bad names and
 * counts, per-frame zstd, and the order state machine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "proto/msg/wire.h"

static struct wire_ref ref_a = {
	{ 0xe4, 0x52, 0xaa, 0xf5, 0x55, 0x97, 0x2e, 0x49,
	  0x95, 0xa4, 0xc9, 0x7c, 0xa6, 0x64, 0x1f, 0xab }, 4711 };
static struct wire_ref ref_b = {
	{ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }, 9 };
static struct wire_ref clones[3];
static uint8_t body[300];

static struct wire_point
point(uint64_t index, uint64_t offset, uint8_t fill)
{
	struct wire_point p;

	p.index = index;
	p.offset = offset;
	memset(p.digest.d, fill, sizeof(p.digest.d));
	return p;
}

/* One valid message of every type. */
static int
sample(uint16_t type, struct wire_msg *m)
{
	static struct wire_snapshot snaps[2];
	static struct wire_partial part;
	static struct wire_catalog_entry cat[2];
	static struct wire_ls_entry ents[3];
	static struct wire_ref have[2];
	size_t i;

	memset(m, 0, sizeof(*m));
	m->type = type;
	for (i = 0; i < 3; i++) {
		clones[i] = ref_b;
		clones[i].uuid[0] = (uint8_t)(0xc0 + i);
		clones[i].ctransid = 100 + i;
	}
	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7);
	switch (type) {
	case WIRE_HELLO:
		m->u.hello.version = WIRE_VERSION;
		m->u.hello.caps = WIRE_CAP_ZSTD;
		m->u.hello.stream_version_max = 2;
		m->u.hello.data_max = WIRE_DATA_RAW_MAX;
		strcpy(m->u.hello.agent, "btrsend test");
		break;
	case WIRE_LIST:
		strcpy(m->u.job, "home");
		break;
	case WIRE_LIST_REPLY:
		strcpy(snaps[0].name, "home.20260101T000000Z");
		snaps[0].received = ref_a;
		strcpy(snaps[1].name, "home.20260102T000000Z");
		snaps[1].received = ref_b;
		strcpy(part.name, "home.20260103T000000Z");
		part.id.snap = ref_a;
		part.id.parent = ref_b;
		part.id.nclones = 2;
		part.id.clones = clones;
		part.id.version = 2;
		part.id.flags = WIRE_BEGIN_COMPRESSED_DATA;
		part.point = point(77, 123456, 0x5a);
		m->u.list.nsnaps = 2;
		m->u.list.snaps = snaps;
		m->u.list.npartials = 1;
		m->u.list.partials = &part;
		break;
	case WIRE_BEGIN:
		strcpy(m->u.begin.job, "home");
		strcpy(m->u.begin.name, "home.20260103T000000Z");
		m->u.begin.id.snap = ref_a;
		m->u.begin.id.parent = ref_b;
		m->u.begin.id.nclones = 3;
		m->u.begin.id.clones = clones;
		m->u.begin.id.version = 1;
		m->u.begin.size_hint = 1ull << 33;
		break;
	case WIRE_BEGIN_REPLY:
		m->u.begin_reply.status = WIRE_BEGIN_RESUME;
		m->u.begin_reply.point = point(10, 5000, 0x11);
		strcpy(m->u.begin_reply.reason, "resuming");
		break;
	case WIRE_DATA:
		m->u.data.index = 10;
		m->u.data.offset = 5000;
		m->u.data.ncmds = 3;
		m->u.data.raw_len = sizeof(body);
		m->u.data.body = body;
		m->u.data.body_len = sizeof(body);
		break;
	case WIRE_ACK:
	case WIRE_END:
		m->u.point = point(13, 5300, 0x22);
		break;
	case WIRE_DONE:
		m->u.done.point = point(13, 5300, 0x22);
		strcpy(m->u.done.path, "laptop/home/home.20260103T000000Z");
		break;
	case WIRE_PRUNE:
		strcpy(m->u.prune.job, "home");
		m->u.prune.keep.hourly = 1;
		m->u.prune.keep.daily = 30;
		m->u.prune.keep.weekly = 12;
		m->u.prune.keep.monthly = 24;
		m->u.prune.keep.yearly = 5;
		m->u.prune.keep.min_age = 3600;
		break;
	case WIRE_PRUNE_REPLY:
		m->u.prune_reply.deleted = 4;
		m->u.prune_reply.kept = 40;
		m->u.prune_reply.refused = 3;
		strcpy(m->u.prune_reply.reason, "3 kept by the backup host: "
		    "protect 30d (2), keep-min 5 (1)");
		break;
	case WIRE_ERROR:
		m->u.error.code = WIRE_E_DENIED;
		strcpy(m->u.error.text, "parent belongs to another client");
		break;
	case WIRE_KEEPALIVE:
		break;
	case WIRE_CATALOG:
		strcpy(m->u.catalog_job, "home");
		break;
	case WIRE_CATALOG_REPLY:
		memset(cat, 0, sizeof(cat));
		strcpy(cat[0].name, "home.20260101T000000Z");
		cat[0].self = ref_b;
		cat[0].received = ref_a;
		cat[0].otime = 1767225600;
		cat[0].size = 1ull << 31;
		strcpy(cat[1].name, "home.20260102T000000Z");
		cat[1].self = ref_a;
		cat[1].received = ref_b;
		cat[1].otime = 1767312000;
		m->u.catalog.n = 2;
		m->u.catalog.snaps = cat;
		break;
	case WIRE_LS:
		strcpy(m->u.ls.job, "home");
		strcpy(m->u.ls.snapshot, "home.20260102T000000Z");
		strcpy(m->u.ls.path, "etc/ssh");
		m->u.ls.start = 7;
		break;
	case WIRE_LS_REPLY:
		memset(ents, 0, sizeof(ents));
		strcpy(ents[0].name, "sshd_config");
		ents[0].mode = 0100644;
		ents[0].nlink = 1;
		ents[0].size = 3300;
		ents[0].mtime_sec = 1767225600;
		ents[0].mtime_nsec = 999999999;
		strcpy(ents[1].name, "link\x01\x1b[31m");     /* may be */
		ents[1].mode = 0120777;
		ents[1].uid = ents[1].gid = 1000;
		ents[1].nlink = 1;
		ents[1].mtime_sec = -5;
		strcpy(ents[1].target, "../../..//etc/passwd");
		strcpy(ents[2].name, "null");
		ents[2].mode = 020666;
		ents[2].rdev = 0x103;
		ents[2].nlink = 2;
		m->u.ls_reply.n = 3;
		m->u.ls_reply.entries = ents;
		m->u.ls_reply.flags = WIRE_LS_MORE;
		m->u.ls_reply.next = 10;
		break;
	case WIRE_RESTORE:
		strcpy(m->u.restore.job, "home");
		strcpy(m->u.restore.snapshot, "home.20260102T000000Z");
		strcpy(m->u.restore.path, "");
		have[0] = ref_a;
		have[1] = ref_b;
		m->u.restore.nhave = 2;
		m->u.restore.have = have;
		break;
	default:
		return -1;
	}
	return 0;
}

static void
encode_ok(struct msgbuf *b, const struct wire_msg *m)
{
	char err[256];

	if (wire_encode(b, m, err, sizeof(err)) == -1)
		fail_msg("encode %s: %s", wire_type_name(m->type), err);
}

/* Feed in chunks of `step` bytes; expect exactly one frame. */
static void
decode_frame(const struct msgbuf *b, size_t step, struct frame_decoder *d)
{
	size_t off = 0, used, n;
	enum frame_event ev = FRAME_NEED_MORE;

	frame_decoder_init(d, &wire_rules);
	while (off < b->len) {
		n = b->len - off < step ? b->len - off : step;
		ev = frame_decoder_push(d, b->p + off, n, &used);
		off += used;
		if (ev != FRAME_NEED_MORE)
			break;
	}
	assert_int_equal(ev, FRAME_READY);
	assert_int_equal(off, b->len);
}

static void
test_header_layout(void **state)
{
	/* frame.h: u16 type, u16 flags, u32 len, u32 peer, u32 pid, BE. */
	static const uint8_t want[FRAME_HEADER_LEN] = {
		0x01, 0x02, 0x00, 0x04, 0x00, 0x01, 0x02, 0x03,
		0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x30, 0x39,
	};
	struct frame_hdr h = { 0x0102, 4, 0x010203, 0xdeadbeef, 12345 }, g;
	uint8_t out[FRAME_HEADER_LEN];

	(void)state;
	frame_hdr_encode(out, &h);
	assert_memory_equal(out, want, sizeof(want));
	frame_hdr_decode(&g, want);
	assert_int_equal(g.type, 0x0102);
	assert_int_equal(g.flags, 4);
	assert_int_equal(g.len, 0x010203);
	assert_int_equal(g.peer, 0xdeadbeef);
	assert_int_equal(g.pid, 12345);
}

static void
test_roundtrip_all(void **state)
{
	static const size_t steps[] = { 1, 3, 16, 17, 4096 };
	struct msgbuf b = { 0 }, b2 = { 0 };
	struct frame_decoder d;
	struct wire_msg m, g;
	char err[256];
	uint16_t t;
	size_t s;

	(void)state;
	for (t = 1; t <= WIRE_TYPE_MAX; t++) {
		assert_int_equal(sample(t, &m), 0);
		b.len = 0;
		encode_ok(&b, &m);
		for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			decode_frame(&b, steps[s], &d);
			assert_int_equal(d.hdr.type, t);
			assert_int_equal(d.hdr.len, b.len - FRAME_HEADER_LEN);
			if (wire_decode(&g, &d.hdr, d.payload, err,
			    sizeof(err)) == -1)
				fail_msg("decode %s: %s", wire_type_name(t), err);
			/* Decoding then encoding again gives the same bytes. */
			b2.len = 0;
			encode_ok(&b2, &g);
			assert_int_equal(b2.len, b.len);
			assert_memory_equal(b2.p, b.p, b.len);
			wire_msg_free(&g);
			frame_decoder_free(&d);
		}
	}
	msgbuf_free(&b);
	msgbuf_free(&b2);
}

/*
 * wire_encode_head leaves a DATA body to be sent after it: head then
 * body must be the bytes wire_encode gives, for every type.
 */
static void
test_encode_head(void **state)
{
	struct msgbuf whole = { 0 }, head = { 0 };
	struct wire_msg m;
	char err[256];
	uint16_t t;
	size_t blen;

	(void)state;
	for (t = 1; t <= WIRE_TYPE_MAX; t++) {
		assert_int_equal(sample(t, &m), 0);
		whole.len = head.len = 0;
		encode_ok(&whole, &m);
		if (wire_encode_head(&head, &m, err, sizeof(err)) == -1)
			fail_msg("encode head %s: %s", wire_type_name(t), err);
		blen = t == WIRE_DATA ? m.u.data.body_len : 0;
		if (t == WIRE_DATA)
			assert_true(blen > 0);
		assert_int_equal(head.len + blen, whole.len);
		assert_memory_equal(head.p, whole.p, head.len);
		if (blen > 0)
			assert_memory_equal(whole.p + head.len, m.u.data.body,
			    blen);
	}
	/* A bad DATA is refused, as by wire_encode. */
	assert_int_equal(sample(WIRE_DATA, &m), 0);
	m.u.data.body_len--;
	head.len = 0;
	assert_int_equal(wire_encode_head(&head, &m, err, sizeof(err)), -1);
	assert_int_equal(head.len, 0);
	msgbuf_free(&whole);
	msgbuf_free(&head);
}

/*
 * A payload read straight into the decoder (space/commit, as wireio
 * does for DATA) decodes like one pushed through a buffer.
 */
static void
test_decoder_space(void **state)
{
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	struct wire_msg m, g;
	enum frame_event ev;
	uint8_t *sp;
	size_t used, len, off, n;
	char err[256];

	(void)state;
	assert_int_equal(sample(WIRE_DATA, &m), 0);
	encode_ok(&b, &m);
	frame_decoder_init(&d, &wire_rules);
	assert_null(frame_decoder_space(&d, &len));
	/* the header and 3 payload bytes through push */
	ev = frame_decoder_push(&d, b.p, FRAME_HEADER_LEN + 3, &used);
	assert_int_equal(ev, FRAME_NEED_MORE);
	off = FRAME_HEADER_LEN + 3;
	while ((sp = frame_decoder_space(&d, &len)) != NULL) {
		assert_int_equal(len, b.len - off);
		n = len > 5 ? 5 : len;
		memcpy(sp, b.p + off, n);
		off += n;
		ev = frame_decoder_commit(&d, n);
		if (ev == FRAME_READY)
			break;
		assert_int_equal(ev, FRAME_NEED_MORE);
	}
	assert_int_equal(ev, FRAME_READY);
	assert_int_equal(off, b.len);
	assert_int_equal(d.consumed, b.len);
	assert_int_equal(d.nframes, 1);
	assert_null(frame_decoder_space(&d, &len));
	if (wire_decode(&g, &d.hdr, d.payload, err, sizeof(err)) == -1)
		fail_msg("decode: %s", err);
	assert_int_equal(g.u.data.body_len, m.u.data.body_len);
	assert_memory_equal(g.u.data.body, m.u.data.body, m.u.data.body_len);
	wire_msg_free(&g);
	/* committing more than the space is refused */
	assert_int_equal(frame_decoder_push(&d, b.p, FRAME_HEADER_LEN,
	    &used), FRAME_NEED_MORE);
	assert_non_null(frame_decoder_space(&d, &len));
	assert_int_equal(frame_decoder_commit(&d, len + 1), FRAME_ERROR);
	frame_decoder_free(&d);
	msgbuf_free(&b);
}

static void reject(uint16_t type, uint16_t flags, const uint8_t *p,
    size_t len, const char *want);

/* PRUNE-REPLY saying 5 refused of 2 kept: refused. */
static void
reject_prune_reply_refused(void)
{
	uint8_t p[14];

	frame_put32(p, 1);
	frame_put32(p + 4, 2);
	frame_put32(p + 8, 5);
	frame_put16(p + 12, 0);
	reject(WIRE_PRUNE_REPLY, 0, p, sizeof(p), "more refused than kept");
}

static void
test_prune_layout(void **state)
{
	/*
	 * docs/protocol.md: name job (u16 length, bytes), u32 hourly, daily,
	 * weekly, monthly, yearly, u64 min-age; all big-endian.
	 */
	static const uint8_t want[] = {
		0x00, 0x04, 'h', 'o', 'm', 'e',
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x1e,
		0x00, 0x00, 0x00, 0x0c,
		0x00, 0x00, 0x00, 0x18,
		0x00, 0x00, 0x00, 0x05,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x10,
	};
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	struct wire_msg m, g;
	char err[256];

	(void)state;
	sample(WIRE_PRUNE, &m);
	encode_ok(&b, &m);
	assert_int_equal(b.len, FRAME_HEADER_LEN + sizeof(want));
	assert_memory_equal(b.p + FRAME_HEADER_LEN, want, sizeof(want));
	decode_frame(&b, 9, &d);
	assert_int_equal(wire_decode(&g, &d.hdr, d.payload, err,
	    sizeof(err)), 0);
	assert_int_equal(g.u.prune.keep.monthly, 24);
	assert_int_equal(g.u.prune.keep.yearly, 5);
	assert_int_equal(g.u.prune.keep.min_age, 3600);
	wire_msg_free(&g);
	frame_decoder_free(&d);
	msgbuf_free(&b);
}

static void
test_prune_reply_layout(void **state)
{
	/*
	 * docs/protocol.md: u32 deleted, u32 kept, u32 refused (of kept, by
	 * the backup host's rules), text reason; all big-endian.
	 */
	static const char reason[] = "3 kept by the backup host: "
	    "protect 30d (2), keep-min 5 (1)";
	uint8_t want[14 + sizeof(reason) - 1];
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	struct wire_msg m, g;
	char err[256];

	(void)state;
	frame_put32(want, 4);
	frame_put32(want + 4, 40);
	frame_put32(want + 8, 3);
	frame_put16(want + 12, sizeof(reason) - 1);
	memcpy(want + 14, reason, sizeof(reason) - 1);
	sample(WIRE_PRUNE_REPLY, &m);
	encode_ok(&b, &m);
	assert_int_equal(b.len, FRAME_HEADER_LEN + sizeof(want));
	assert_memory_equal(b.p + FRAME_HEADER_LEN, want, sizeof(want));
	decode_frame(&b, 7, &d);
	assert_int_equal(wire_decode(&g, &d.hdr, d.payload, err,
	    sizeof(err)), 0);
	assert_int_equal(g.u.prune_reply.deleted, 4);
	assert_int_equal(g.u.prune_reply.kept, 40);
	assert_int_equal(g.u.prune_reply.refused, 3);
	assert_string_equal(g.u.prune_reply.reason, reason);
	wire_msg_free(&g);
	frame_decoder_free(&d);
	msgbuf_free(&b);
	/* A receiver cannot refuse more than it kept. */
	reject_prune_reply_refused();
}

static void
test_fields(void **state)
{
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	struct wire_msg m, g;
	char err[256];

	(void)state;
	sample(WIRE_BEGIN, &m);
	encode_ok(&b, &m);
	decode_frame(&b, 5, &d);
	assert_int_equal(wire_decode(&g, &d.hdr, d.payload, err,
	    sizeof(err)), 0);
	assert_string_equal(g.u.begin.job, "home");
	assert_string_equal(g.u.begin.name, "home.20260103T000000Z");
	assert_memory_equal(g.u.begin.id.snap.uuid, ref_a.uuid, 16);
	assert_int_equal(g.u.begin.id.snap.ctransid, 4711);
	assert_memory_equal(g.u.begin.id.parent.uuid, ref_b.uuid, 16);
	assert_int_equal(g.u.begin.id.nclones, 3);
	assert_int_equal(g.u.begin.id.clones[2].uuid[0], 0xc2);
	assert_int_equal(g.u.begin.id.clones[2].ctransid, 102);
	assert_int_equal(g.u.begin.size_hint, 1ull << 33);
	wire_msg_free(&g);
	frame_decoder_free(&d);

	b.len = 0;
	sample(WIRE_LIST_REPLY, &m);
	encode_ok(&b, &m);
	decode_frame(&b, 7, &d);
	assert_int_equal(wire_decode(&g, &d.hdr, d.payload, err,
	    sizeof(err)), 0);
	assert_int_equal(g.u.list.nsnaps, 2);
	assert_string_equal(g.u.list.snaps[1].name, "home.20260102T000000Z");
	assert_int_equal(g.u.list.snaps[1].received.ctransid, 9);
	assert_int_equal(g.u.list.npartials, 1);
	assert_int_equal(g.u.list.partials[0].point.index, 77);
	assert_int_equal(g.u.list.partials[0].point.offset, 123456);
	assert_int_equal(g.u.list.partials[0].point.digest.d[31], 0x5a);
	assert_int_equal(g.u.list.partials[0].id.flags,
	    WIRE_BEGIN_COMPRESSED_DATA);
	wire_msg_free(&g);
	frame_decoder_free(&d);

	b.len = 0;
	sample(WIRE_DATA, &m);
	encode_ok(&b, &m);
	decode_frame(&b, 4096, &d);
	assert_int_equal(wire_decode(&g, &d.hdr, d.payload, err,
	    sizeof(err)), 0);
	assert_int_equal(g.u.data.index, 10);
	assert_int_equal(g.u.data.offset, 5000);
	assert_int_equal(g.u.data.ncmds, 3);
	assert_false(g.u.data.zstd);
	assert_int_equal(g.u.data.body_len, sizeof(body));
	assert_memory_equal(g.u.data.body, body, sizeof(body));
	wire_msg_free(&g);
	frame_decoder_free(&d);
	msgbuf_free(&b);
}

/* A payload cut short anywhere is an error, never a shorter message. */
static void
test_truncation_every_byte(void **state)
{
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	struct frame_hdr h;
	struct wire_msg m, g;
	char err[256];
	size_t k, used;
	uint16_t t;

	(void)state;
	for (t = 1; t <= WIRE_TYPE_MAX; t++) {
		sample(t, &m);
		b.len = 0;
		encode_ok(&b, &m);
		frame_hdr_decode(&h, b.p);
		for (k = 0; k < h.len; k++) {
			struct frame_hdr hk = h;

			hk.len = (uint32_t)k;
			if (wire_decode(&g, &hk, b.p + FRAME_HEADER_LEN, err,
			    sizeof(err)) == 0)
				fail_msg("%s cut to %zu of %u bytes decoded",
				    wire_type_name(t), k, h.len);
			assert_non_null(strstr(err, wire_type_name(t)));
			wire_msg_free(&g);
		}
		/* The stream decoder never yields a frame from a prefix. */
		for (k = 0; k < b.len; k++) {
			frame_decoder_init(&d, &wire_rules);
			assert_int_equal(frame_decoder_push(&d, b.p, k, &used),
			    FRAME_NEED_MORE);
			assert_int_equal(used, k);
			assert_false(k > 0 && frame_decoder_idle(&d));
			frame_decoder_free(&d);
		}
	}
	msgbuf_free(&b);
}

static void
push_header(struct frame_decoder *d, uint16_t type, uint32_t len,
    enum frame_event want)
{
	struct frame_hdr h = { type, 0, len, 0, 0 };
	uint8_t hb[FRAME_HEADER_LEN + 8];
	size_t used;

	memset(hb, 0, sizeof(hb));
	frame_hdr_encode(hb, &h);
	frame_decoder_init(d, &wire_rules);
	assert_int_equal(frame_decoder_push(d, hb, sizeof(hb), &used), want);
}

static void
test_oversize_unknown(void **state)
{
	struct frame_decoder d;
	size_t used;

	(void)state;
	/* Caught on the header alone: no payload byte is needed. */
	push_header(&d, WIRE_DATA, WIRE_DATA_MAX + 1, FRAME_ERROR);
	assert_non_null(strstr(d.err, "exceeds the limit"));
	assert_non_null(strstr(d.err, "byte 0"));
	assert_true(d.cap == 0);
	/* Sticky. */
	assert_int_equal(frame_decoder_push(&d, "x", 1, &used), FRAME_ERROR);
	frame_decoder_free(&d);
	push_header(&d, WIRE_HELLO, WIRE_CTRL_MAX + 1, FRAME_ERROR);
	frame_decoder_free(&d);
	push_header(&d, WIRE_KEEPALIVE, 1, FRAME_ERROR);
	frame_decoder_free(&d);
	push_header(&d, WIRE_DATA, WIRE_DATA_MAX, FRAME_NEED_MORE);
	frame_decoder_free(&d);
	push_header(&d, 0, 0, FRAME_ERROR);
	assert_non_null(strstr(d.err, "unknown message type 0"));
	frame_decoder_free(&d);
	push_header(&d, WIRE_TYPE_MAX + 1, 0, FRAME_ERROR);
	assert_non_null(strstr(d.err, "unknown message type 19"));
	frame_decoder_free(&d);
	push_header(&d, 0xffff, 0, FRAME_ERROR);
	frame_decoder_free(&d);
}

static void
test_several_frames_one_chunk(void **state)
{
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	struct wire_msg m;
	size_t off = 0, used;
	uint16_t t, got[WIRE_TYPE_MAX + 1];
	int n = 0;

	(void)state;
	for (t = 1; t <= WIRE_TYPE_MAX; t++) {
		sample(t, &m);
		encode_ok(&b, &m);
	}
	frame_decoder_init(&d, &wire_rules);
	while (off < b.len) {
		if (frame_decoder_push(&d, b.p + off, b.len - off, &used) ==
		    FRAME_READY)
			got[n++] = d.hdr.type;
		off += used;
	}
	assert_int_equal(n, WIRE_TYPE_MAX);
	for (t = 1; t <= WIRE_TYPE_MAX; t++)
		assert_int_equal(got[t - 1], t);
	assert_true(frame_decoder_idle(&d));
	assert_int_equal(d.nframes, WIRE_TYPE_MAX);
	frame_decoder_free(&d);
	msgbuf_free(&b);
}

/* Build a payload by hand and expect wire_decode to reject it. */
static void
reject(uint16_t type, uint16_t flags, const uint8_t *p, size_t len,
    const char *want)
{
	struct frame_hdr h = { type, flags, (uint32_t)len, 0, 0 };
	struct wire_msg g;
	char err[256];

	if (wire_decode(&g, &h, p, err, sizeof(err)) == 0)
		fail_msg("accepted a bad %s", wire_type_name(type));
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
	wire_msg_free(&g);
}

/*
 * A valid message of type with the name `find` (after `skip` payload
 * bytes) patched to hold byte bad: refused on decode, as on encode.
 */
static void
reject_patched(uint16_t type, const char *find, size_t skip, uint8_t bad)
{
	struct msgbuf b = { 0 };
	struct frame_hdr h;
	struct wire_msg m, g;
	uint8_t *at;
	char err[256];

	assert_int_equal(sample(type, &m), 0);
	encode_ok(&b, &m);
	at = memmem(b.p + FRAME_HEADER_LEN + skip,
	    b.len - FRAME_HEADER_LEN - skip, find, strlen(find));
	assert_non_null(at);
	at[2] = bad;
	frame_hdr_decode(&h, b.p);
	if (wire_decode(&g, &h, b.p + FRAME_HEADER_LEN, err,
	    sizeof(err)) == 0)
		fail_msg("accepted byte 0x%02x in a name of %s", bad,
		    wire_type_name(type));
	if (strstr(err, "not a valid name") == NULL)
		fail_msg("error '%s' lacks 'not a valid name'", err);
	wire_msg_free(&g);
	msgbuf_free(&b);
}

/* Names reach the receiver's logs: no line breaks, no escapes. */
static void
test_control_names(void **state)
{
	static const uint8_t bad[] = { '\n', '\r', 0x1b, 0x7f, 0x01, '\t' };
	struct msgbuf b = { 0 };
	struct wire_msg m;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad); i++) {
		reject_patched(WIRE_LIST, "home", 0, bad[i]);
		reject_patched(WIRE_PRUNE, "home", 0, bad[i]);
		reject_patched(WIRE_BEGIN, "home", 0, bad[i]);
		reject_patched(WIRE_BEGIN, "home.20260103T", 0, bad[i]);
		reject_patched(WIRE_LIST_REPLY, "home.20260102T", 0, bad[i]);
		reject_patched(WIRE_LIST_REPLY, "home.20260103T", 0, bad[i]);

		sample(WIRE_BEGIN, &m);
		m.u.begin.name[2] = (char)bad[i];
		assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
		assert_int_equal(b.len, 0);
		sample(WIRE_LIST, &m);
		m.u.job[2] = (char)bad[i];
		assert_false(wire_name_valid(m.u.job));
	}
	/* UTF-8 and spaces stay valid names */
	assert_true(wire_name_valid("caf\xc3\xa9 2026"));
	msgbuf_free(&b);
}

static void
test_bad_payloads(void **state)
{
	static const char *bad_names[] = { "", ".", "..", "a/b", "/" };
	uint8_t p[64];
	struct msgbuf b = { 0 };
	struct wire_msg m;
	char err[256];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		n = strlen(bad_names[i]);
		frame_put16(p, (uint16_t)n);
		memcpy(p + 2, bad_names[i], n);
		reject(WIRE_LIST, 0, p, 2 + n, "not a valid name");
		sample(WIRE_LIST, &m);
		strcpy(m.u.job, bad_names[i]);
		assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
		assert_int_equal(b.len, 0);
	}
	frame_put16(p, 3);
	memcpy(p + 2, "a\0b", 3);
	reject(WIRE_LIST, 0, p, 5, "NUL");
	frame_put16(p, 256);
	reject(WIRE_LIST, 0, p, 2, "exceeds 255");
	/* Trailing bytes. */
	memset(p, 0, sizeof(p));
	frame_put32(p, 1);
	frame_put32(p + 4, 2);
	reject(WIRE_PRUNE_REPLY, 0, p, 15, "trailing");
	/* A count that cannot fit is refused before any allocation. */
	frame_put32(p, 0xffffffffu);
	reject(WIRE_LIST_REPLY, 0, p, 4, "exceed the limit");
	frame_put32(p, 1000);
	reject(WIRE_LIST_REPLY, 0, p, 8, "cannot fit");
	/* Unknown flags. */
	frame_put32(p, 1);
	frame_put32(p + 4, 2);
	reject(WIRE_PRUNE_REPLY, 0x8000, p, 8, "unknown frame flags");
	/* DATA: raw length must match an uncompressed body. */
	memset(p, 0, sizeof(p));
	frame_put32(p + 16, 1);
	frame_put32(p + 20, 41);
	reject(WIRE_DATA, 0, p, 64, "differs");
	frame_put32(p + 20, 0);
	reject(WIRE_DATA, 0, p, 24, "empty data");
	frame_put32(p + 20, WIRE_DATA_RAW_MAX + 1);
	reject(WIRE_DATA, WIRE_F_ZSTD, p, 64, "over the data bound");
	/* Unknown begin status. */
	frame_put32(p, 3);
	memset(p + 4, 0, 48);
	frame_put16(p + 52, 0);
	reject(WIRE_BEGIN_REPLY, 0, p, 54, "unknown begin status");
	msgbuf_free(&b);
}

static void
test_zstd(void **state)
{
	static uint8_t raw[200000], comp[200000], out[200000];
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	struct wire_msg m, g;
	char err[256];
	long n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)("btrfs-stream"[i % 12] + (i / 4096));
	n = wire_zstd_compress(cc, raw, sizeof(raw), comp, sizeof(comp));
	assert_true(n > 0 && (size_t)n < sizeof(raw));
	memset(&m, 0, sizeof(m));
	m.type = WIRE_DATA;
	m.u.data.ncmds = 5;
	m.u.data.raw_len = sizeof(raw);
	m.u.data.zstd = true;
	m.u.data.body = comp;
	m.u.data.body_len = (uint32_t)n;
	encode_ok(&b, &m);
	decode_frame(&b, 1000, &d);
	assert_int_equal(d.hdr.flags, WIRE_F_ZSTD);
	assert_int_equal(wire_decode(&g, &d.hdr, d.payload, err,
	    sizeof(err)), 0);
	assert_true(g.u.data.zstd);
	assert_int_equal(wire_zstd_decompress(dc, &g.u.data, out, sizeof(out),
	    err, sizeof(err)), 0);
	assert_memory_equal(out, raw, sizeof(raw));
	/* A raw length that disagrees with the zstd frame. */
	g.u.data.raw_len = sizeof(raw) - 1;
	assert_int_equal(wire_zstd_decompress(dc, &g.u.data, out, sizeof(out),
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "declares"));
	/* Corrupt body (in the decoder's own buffer, which payload is). */
	g.u.data.raw_len = sizeof(raw);
	assert_ptr_equal(d.payload, d.buf);
	d.buf[WIRE_DATA_HDR_LEN + n / 2] ^= 0xff;
	d.buf[WIRE_DATA_HDR_LEN + n / 2 + 1] ^= 0x55;
	assert_int_equal(wire_zstd_decompress(dc, &g.u.data, out, sizeof(out),
	    err, sizeof(err)), -1);
	/* Output buffer smaller than declared. */
	assert_int_equal(wire_zstd_decompress(dc, &g.u.data, out, 10,
	    err, sizeof(err)), -1);
	wire_msg_free(&g);
	frame_decoder_free(&d);
	/* Incompressible data is sent raw. */
	for (i = 0; i < 4096; i++)
		raw[i] = (uint8_t)(rand() >> 7);
	assert_int_equal(wire_zstd_compress(cc, raw, 4096, comp,
	    sizeof(comp)), -1);
	msgbuf_free(&b);
	ZSTD_freeCCtx(cc);
	ZSTD_freeDCtx(dc);
}

/* Step both ends' machines; -1 when either end refuses. */
static int
both(struct wire_fsm *c, struct wire_fsm *s, bool from_client,
    const struct wire_msg *m, char *err)
{
	struct wire_fsm *out = from_client ? c : s, *in = from_client ? s : c;

	if (wire_fsm_step(out, true, m, err, 256) == -1)
		return -1;
	return wire_fsm_step(in, false, m, err, 256);
}

static void
fsm_pair(struct wire_fsm *c, struct wire_fsm *s)
{
	struct wire_msg m;
	char err[256];

	wire_fsm_init(c, WIRE_CLIENT);
	wire_fsm_init(s, WIRE_SERVER);
	sample(WIRE_HELLO, &m);
	assert_int_equal(both(c, s, true, &m, err), 0);
	assert_int_equal(both(c, s, false, &m, err), 0);
}

static void
test_fsm_transfer(void **state)
{
	struct wire_fsm c, s;
	struct wire_msg m;
	char err[256];

	(void)state;
	fsm_pair(&c, &s);
	sample(WIRE_LIST, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_KEEPALIVE, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_LIST_REPLY, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_BEGIN, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_BEGIN_REPLY, &m);   /* resume at 10 / 5000 */
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_DATA, &m);          /* 3 commands at 10 / 5000 */
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_ACK, &m);           /* 13 / 5300 */
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_END, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_DONE, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_PRUNE, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_PRUNE_REPLY, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_ERROR, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_KEEPALIVE, &m);
	assert_int_equal(wire_fsm_step(&c, true, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "after an error"));
}

/* In a fresh, greeted connection, m from that side is refused. */
static void
refused_after(const uint16_t *prefix, size_t n, bool from_client,
    const struct wire_msg *m, const char *want)
{
	struct wire_fsm c, s;
	struct wire_msg p;
	char err[256];
	size_t i;

	fsm_pair(&c, &s);
	for (i = 0; i < n; i++) {
		sample(prefix[i], &p);
		if (prefix[i] == WIRE_BEGIN_REPLY) {
			p.u.begin_reply.status = WIRE_BEGIN_FRESH;
			p.u.begin_reply.point = point(0, 0, 0);
		}
		assert_int_equal(both(&c, &s, prefix[i] == WIRE_LIST ||
		    prefix[i] == WIRE_BEGIN || prefix[i] == WIRE_DATA ||
		    prefix[i] == WIRE_END, &p, err), 0);
	}
	/* The receiving end must refuse, whatever the sending end thinks. */
	assert_int_equal(wire_fsm_step(from_client ? &s : &c, false, m, err,
	    sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void
test_fsm_out_of_order(void **state)
{
	static const uint16_t begun[] = { WIRE_BEGIN, WIRE_BEGIN_REPLY };
	static const uint16_t listed[] = { WIRE_LIST };
	struct wire_fsm c, s;
	struct wire_msg m;
	char err[256];

	(void)state;
	/* Anything but hello first. */
	wire_fsm_init(&s, WIRE_SERVER);
	sample(WIRE_LIST, &m);
	assert_int_equal(wire_fsm_step(&s, false, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "before the hellos"));
	/* Server hello first. */
	wire_fsm_init(&c, WIRE_CLIENT);
	sample(WIRE_HELLO, &m);
	assert_int_equal(wire_fsm_step(&c, false, &m, err, sizeof(err)), -1);
	/* Version mismatch. */
	wire_fsm_init(&s, WIRE_SERVER);
	m.u.hello.version = WIRE_VERSION + 1;
	assert_int_equal(wire_fsm_step(&s, false, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "speaks btrsend protocol"));
	/* Second hello. */
	sample(WIRE_HELLO, &m);
	refused_after(NULL, 0, true, &m, "second hello");
	/* Data without a transfer. */
	sample(WIRE_DATA, &m);
	m.u.data.index = 0;
	m.u.data.offset = 0;
	refused_after(NULL, 0, true, &m, "no transfer open");
	/* Data before the begin reply. */
	refused_after(begun, 1, true, &m, "no transfer open");
	/* Data at the wrong place. */
	m.u.data.index = 1;
	refused_after(begun, 2, true, &m, "expected command 0");
	/* A request while one is pending, or during a transfer. */
	sample(WIRE_BEGIN, &m);
	refused_after(listed, 1, true, &m, "unanswered");
	refused_after(begun, 2, true, &m, "transfer is open");
	/* Replies nobody asked for, or to another request. */
	sample(WIRE_LIST_REPLY, &m);
	refused_after(NULL, 0, false, &m, "no matching request");
	sample(WIRE_BEGIN_REPLY, &m);
	refused_after(listed, 1, false, &m, "no matching request");
	/* A fresh start not at zero. */
	m.u.begin_reply.status = WIRE_BEGIN_FRESH;
	refused_after(begun, 1, false, &m, "fresh start");
	/* Ack of commands never sent, done before end, wrong direction. */
	sample(WIRE_ACK, &m);
	refused_after(begun, 2, false, &m, "never sent");
	sample(WIRE_DONE, &m);
	refused_after(begun, 2, false, &m, "before end");
	sample(WIRE_DATA, &m);
	refused_after(begun, 2, false, &m, "wrong direction");
	sample(WIRE_LIST, &m);
	refused_after(NULL, 0, false, &m, "wrong direction");
	/* End whose totals differ from the data. */
	sample(WIRE_END, &m);
	refused_after(begun, 2, true, &m, "totals differ");
}

/* A hello with a capability this version does not define: refused. */
static void
test_fsm_unknown_caps(void **state)
{
	static const uint32_t bad[] = { 0x4, 0x80000000u,
	    WIRE_CAPS_KNOWN | 0x100 };
	struct wire_fsm c, s;
	struct wire_msg m;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* from the sender */
		wire_fsm_init(&s, WIRE_SERVER);
		sample(WIRE_HELLO, &m);
		m.u.hello.caps = bad[i];
		assert_int_equal(wire_fsm_step(&s, false, &m, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "unknown capabilities"));
		assert_int_equal(s.code, WIRE_E_PROTOCOL);
		/* from the receiver */
		wire_fsm_init(&c, WIRE_CLIENT);
		sample(WIRE_HELLO, &m);
		assert_int_equal(wire_fsm_step(&c, true, &m, err,
		    sizeof(err)), 0);
		m.u.hello.caps = bad[i];
		assert_int_equal(wire_fsm_step(&c, false, &m, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "unknown capabilities"));
	}
	/* Every known one is fine. */
	wire_fsm_init(&s, WIRE_SERVER);
	sample(WIRE_HELLO, &m);
	m.u.hello.caps = WIRE_CAPS_KNOWN;
	assert_int_equal(wire_fsm_step(&s, false, &m, err, sizeof(err)), 0);
	/* A hello of another version is answered with ERROR version. */
	wire_fsm_init(&s, WIRE_SERVER);
	m.u.hello.version = WIRE_VERSION + 1;
	assert_int_equal(wire_fsm_step(&s, false, &m, err, sizeof(err)), -1);
	assert_int_equal(s.code, WIRE_E_VERSION);
}

/*
 * BEGIN's send-stream version lies in 1..the receiver hello's highest
 * (2 in the sample hello), else ERROR version, on both ends.
 */
static void
test_fsm_begin_stream_version(void **state)
{
	static const uint32_t bad[] = { 0, 3, 4, 0xffffffffu };
	struct wire_fsm c, s;
	struct wire_msg m;
	char err[256];
	uint32_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fsm_pair(&c, &s);
		sample(WIRE_BEGIN, &m);
		m.u.begin.id.version = bad[i];
		assert_int_equal(wire_fsm_step(&s, false, &m, err,
		    sizeof(err)), -1);
		if (strstr(err, "send-stream version") == NULL)
			fail_msg("version %u: '%s'", bad[i], err);
		assert_int_equal(s.code, WIRE_E_VERSION);
		assert_int_equal(wire_fsm_step(&c, true, &m, err,
		    sizeof(err)), -1);
		/* refused before it became the pending request */
		sample(WIRE_LIST, &m);
		assert_int_equal(wire_fsm_step(&s, false, &m, err,
		    sizeof(err)), 0);
	}
	for (v = 1; v <= 2; v++) {
		fsm_pair(&c, &s);
		sample(WIRE_BEGIN, &m);
		m.u.begin.id.version = v;
		assert_int_equal(both(&c, &s, true, &m, err), 0);
	}
}

/* Encode m, decode it back into out: 0, or -1 with err. */
static int
roundtrip(const struct wire_msg *m, struct wire_msg *out, char *err,
    size_t errlen)
{
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	int rc;

	encode_ok(&b, m);
	decode_frame(&b, b.len, &d);
	rc = wire_decode(out, &d.hdr, d.payload, err, errlen);
	frame_decoder_free(&d);
	msgbuf_free(&b);
	return rc;
}

/*
 * WIRE_BEGIN_RESTART: carried by BEGIN only, never by a partial, and the
 * reply to such a BEGIN may start fresh or say complete but not resume.
 */
static void
test_restart(void **state)
{
	struct wire_fsm c, s;
	struct wire_msg m, out;
	char err[256];

	(void)state;
	sample(WIRE_BEGIN, &m);
	m.u.begin.id.flags = WIRE_BEGIN_RESTART | WIRE_BEGIN_COMPRESSED_DATA;
	assert_int_equal(roundtrip(&m, &out, err, sizeof(err)), 0);
	assert_int_equal(out.u.begin.id.flags,
	    WIRE_BEGIN_RESTART | WIRE_BEGIN_COMPRESSED_DATA);
	wire_msg_free(&out);

	sample(WIRE_LIST_REPLY, &m);
	m.u.list.partials[0].id.flags |= WIRE_BEGIN_RESTART;
	assert_int_equal(roundtrip(&m, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown stream flags"));
	wire_msg_free(&out);
	m.u.list.partials[0].id.flags &= ~WIRE_BEGIN_RESTART;

	/* restart answered by resume: refused on both ends */
	fsm_pair(&c, &s);
	sample(WIRE_BEGIN, &m);
	m.u.begin.id.flags = WIRE_BEGIN_RESTART;
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_BEGIN_REPLY, &m);
	assert_int_equal(m.u.begin_reply.status, WIRE_BEGIN_RESUME);
	assert_int_equal(wire_fsm_step(&s, true, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "restart"));
	assert_int_equal(wire_fsm_step(&c, false, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "restart"));

	/* restart answered by a fresh start: a transfer from zero */
	fsm_pair(&c, &s);
	sample(WIRE_BEGIN, &m);
	m.u.begin.id.flags = WIRE_BEGIN_RESTART;
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_BEGIN_REPLY, &m);
	m.u.begin_reply.status = WIRE_BEGIN_FRESH;
	m.u.begin_reply.point = point(0, 0, 0);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_DATA, &m);
	m.u.data.index = m.u.data.offset = 0;
	assert_int_equal(both(&c, &s, true, &m, err), 0);

	/* a later BEGIN without the flag may be resumed again */
	fsm_pair(&c, &s);
	sample(WIRE_BEGIN, &m);
	m.u.begin.id.flags = WIRE_BEGIN_RESTART;
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_BEGIN_REPLY, &m);
	m.u.begin_reply.status = WIRE_BEGIN_COMPLETE;
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_BEGIN, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_BEGIN_REPLY, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
}

static void turned_begin(struct wire_msg *m);

/* Encode the messages of types[] (made to fit in order) into path. */
static void
write_session(const char *dir, const char *name, const uint16_t *types,
    size_t n, bool turned)
{
	struct msgbuf all = { 0 };
	struct wire_msg m;
	char path[4096];
	size_t i;
	FILE *f;

	for (i = 0; i < n; i++) {
		if (types[i] == WIRE_BEGIN && turned)
			turned_begin(&m);
		else
			sample(types[i], &m);
		if (types[i] == WIRE_DATA) {
			m.u.data.index = m.u.data.offset = 0;
		} else if (types[i] == WIRE_END) {
			m.u.point.index = 3;
			m.u.point.offset = sizeof(body);
		} else if (types[i] == WIRE_BEGIN_REPLY) {
			m.u.begin_reply.status = WIRE_BEGIN_FRESH;
			m.u.begin_reply.point = point(0, 0, 0);
		} else if (types[i] == WIRE_ACK) {
			m.u.point = point(3, sizeof(body), 0x22);
		}
		encode_ok(&all, &m);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		fail_msg("%s", path);
	fwrite(all.p, 1, all.len, f);
	fclose(f);
	msgbuf_free(&all);
}

/*
 * With WIRE_CORPUS set to a directory, write every sample frame and
 * whole sessions there: the seed corpus of fuzz_wire.  session: a
 * client's sending; session-restore: a client's side of ls and a
 * restore; replies-restore: a backup host's side of them.
 */
static void
write_corpus(const char *dir)
{
	static const uint16_t session[] = { WIRE_HELLO, WIRE_LIST, WIRE_BEGIN,
	    WIRE_DATA, WIRE_KEEPALIVE, WIRE_END, WIRE_PRUNE, WIRE_ERROR };
	static const uint16_t restore_c[] = { WIRE_HELLO, WIRE_CATALOG,
	    WIRE_LS, WIRE_RESTORE, WIRE_BEGIN_REPLY, WIRE_KEEPALIVE, WIRE_ACK,
	    WIRE_DONE, WIRE_RESTORE, WIRE_ERROR };
	static const uint16_t restore_s[] = { WIRE_HELLO, WIRE_CATALOG_REPLY,
	    WIRE_LS_REPLY, WIRE_BEGIN, WIRE_DATA, WIRE_KEEPALIVE, WIRE_END,
	    WIRE_ERROR };
	struct msgbuf b = { 0 };
	struct wire_msg m;
	char path[4096];
	uint16_t t;
	FILE *f;

	for (t = 1; t <= WIRE_TYPE_MAX; t++) {
		sample(t, &m);
		b.len = 0;
		encode_ok(&b, &m);
		snprintf(path, sizeof(path), "%s/msg-%s", dir, wire_type_name(t));
		if ((f = fopen(path, "w")) == NULL)
			fail_msg("%s", path);
		fwrite(b.p, 1, b.len, f);
		fclose(f);
	}
	write_session(dir, "session", session,
	    sizeof(session) / sizeof(session[0]), false);
	write_session(dir, "session-restore", restore_c,
	    sizeof(restore_c) / sizeof(restore_c[0]), true);
	write_session(dir, "replies-restore", restore_s,
	    sizeof(restore_s) / sizeof(restore_s[0]), true);
	msgbuf_free(&b);
}

/* One rule for strings (codec.h): over the bound is refused both ways. */
static void
test_long_strings_refused(void **state)
{
	struct msgbuf b = { 0 };
	struct wire_msg m;
	uint8_t p[2 + WIRE_TEXT_MAX + 1];
	char err[256];

	(void)state;
	sample(WIRE_HELLO, &m);
	memset(m.u.hello.agent, 'a', sizeof(m.u.hello.agent));
	assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(b.len, 0);
	sample(WIRE_ERROR, &m);
	memset(m.u.error.text, 't', sizeof(m.u.error.text));
	assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
	assert_int_equal(b.len, 0);
	frame_put32(p, WIRE_E_DENIED);
	frame_put16(p + 4, WIRE_TEXT_MAX + 1);
	reject(WIRE_ERROR, 0, p, 6, "too long");
	msgbuf_free(&b);
}

/*
 * Bounds of len are derived from the declarations, never above the table
 * of docs/protocol.md; the largest BEGIN and HELLO are exactly their
 * bound and one byte more is refused on the header.
 */
static void
test_derived_bounds(void **state)
{
	static struct wire_ref cl[WIRE_CLONES_MAX];
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	struct wire_msg m;
	struct frame_hdr h;
	uint16_t t;

	(void)state;
	for (t = 1; t <= WIRE_TYPE_MAX; t++)
		assert_true(wire_rules.max_len(t) <= (t == WIRE_DATA ?
		    WIRE_DATA_MAX : t == WIRE_LIST_REPLY ||
		    t == WIRE_CATALOG_REPLY || t == WIRE_LS_REPLY ?
		    WIRE_LIST_REPLY_MAX : WIRE_CTRL_MAX));
	assert_int_equal(wire_rules.max_len(WIRE_DATA), WIRE_DATA_MAX);
	assert_int_equal(wire_rules.max_len(WIRE_LIST_REPLY),
	    WIRE_LIST_REPLY_MAX);
	assert_int_equal(wire_rules.max_len(WIRE_KEEPALIVE), 0);
	/* u32 deleted, kept, refused, text reason */
	assert_int_equal(wire_rules.max_len(WIRE_PRUNE_REPLY),
	    12 + 2 + WIRE_TEXT_MAX);
	sample(WIRE_BEGIN, &m);
	memset(m.u.begin.job, 'j', WIRE_NAME_MAX);
	memset(m.u.begin.name, 'n', WIRE_NAME_MAX);
	m.u.begin.id.nclones = WIRE_CLONES_MAX;
	m.u.begin.id.clones = cl;
	encode_ok(&b, &m);
	frame_hdr_decode(&h, b.p);
	assert_int_equal(h.len, wire_rules.max_len(WIRE_BEGIN));
	push_header(&d, WIRE_BEGIN, h.len, FRAME_NEED_MORE);
	frame_decoder_free(&d);
	push_header(&d, WIRE_BEGIN, h.len + 1, FRAME_ERROR);
	assert_non_null(strstr(d.err, "exceeds the limit"));
	frame_decoder_free(&d);
	b.len = 0;
	sample(WIRE_HELLO, &m);
	memset(m.u.hello.agent, 'a', WIRE_TEXT_MAX);
	encode_ok(&b, &m);
	frame_hdr_decode(&h, b.p);
	assert_int_equal(h.len, wire_rules.max_len(WIRE_HELLO));
	push_header(&d, WIRE_HELLO, h.len + 1, FRAME_ERROR);
	frame_decoder_free(&d);
	msgbuf_free(&b);
}

/* A list reply over the protocol's 16 MiB is refused, not cut. */
static void
test_list_reply_over_bound(void **state)
{
	struct msgbuf b = { 0 };
	struct wire_msg m;
	char err[256];
	uint32_t i;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_LIST_REPLY;
	m.u.list.nsnaps = WIRE_LIST_MAX;
	m.u.list.snaps = calloc(WIRE_LIST_MAX, sizeof(*m.u.list.snaps));
	for (i = 0; i < WIRE_LIST_MAX; i++)
		memset(m.u.list.snaps[i].name, 's', WIRE_NAME_MAX);
	assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bound"));
	assert_int_equal(b.len, 0);
	m.u.list.nsnaps = WIRE_LIST_MAX + 1;
	assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "limit"));
	free(m.u.list.snaps);
	msgbuf_free(&b);
}

/*
 * Issue 16, finding 3: a type the peer's role never sends is refused on
 * its header, before a payload byte is read or any buffer reserved, with
 * a message naming the type and the direction.  A sender's LIST-REPLY of
 * 16 MiB used to be buffered whole before the order check refused it.
 */
static void
test_direction(void **state)
{
	/* only one role sends these */
	static const uint16_t by_c[] = { WIRE_LIST, WIRE_PRUNE, WIRE_CATALOG,
	    WIRE_LS, WIRE_RESTORE };
	static const uint16_t by_s[] = { WIRE_LIST_REPLY, WIRE_PRUNE_REPLY,
	    WIRE_CATALOG_REPLY, WIRE_LS_REPLY };
	/* both roles: a transfer goes either way since version 2 */
	static const uint16_t both[] = { WIRE_HELLO, WIRE_ERROR, WIRE_BEGIN,
	    WIRE_BEGIN_REPLY, WIRE_DATA, WIRE_ACK, WIRE_END, WIRE_DONE };
	struct frame_decoder d;
	struct frame_hdr h;
	uint8_t hb[FRAME_HEADER_LEN + 1];
	size_t i, used, nok, nbad;
	int side;

	(void)state;
	for (side = 0; side < 2; side++) {
		const struct frame_rules *r = side == 0 ?
		    wire_rules_for(WIRE_SERVER) : wire_rules_for(WIRE_CLIENT);
		const uint16_t *ok = side == 0 ? by_c : by_s;
		const uint16_t *bad = side == 0 ? by_s : by_c;

		nok = side == 0 ? 5 : 4;
		nbad = side == 0 ? 4 : 5;
		assert_ptr_equal(r, side == 0 ? &wire_rules_from_client :
		    &wire_rules_from_server);
		for (i = 0; i < nbad; i++) {
			memset(&h, 0, sizeof(h));
			h.type = bad[i];
			h.len = bad[i] == WIRE_LIST_REPLY ||
			    bad[i] == WIRE_LS_REPLY ? WIRE_LIST_REPLY_MAX : 8;
			memset(hb, 0, sizeof(hb));
			frame_hdr_encode(hb, &h);
			frame_decoder_init(&d, r);
			assert_int_equal(frame_decoder_push(&d, hb, sizeof(hb),
			    &used), FRAME_ERROR);
			/* the header alone: no payload byte, no buffer */
			assert_int_equal(used, FRAME_HEADER_LEN);
			assert_int_equal(d.cap, 0);
			assert_null(d.buf);
			assert_non_null(strstr(d.err, wire_type_name(bad[i])));
			assert_non_null(strstr(d.err, side == 0 ?
			    "only by a server; refused from the client" :
			    "only by a client; refused from the server"));
			frame_decoder_free(&d);
			/* accepted by the table of the other direction */
			assert_int_equal(frame_hdr_check(&h, side == 0 ?
			    &wire_rules_from_server : &wire_rules_from_client,
			    d.err, sizeof(d.err)), 0);
		}
		for (i = 0; i < nok; i++) {
			memset(&h, 0, sizeof(h));
			h.type = ok[i];
			h.len = 1;
			assert_int_equal(frame_hdr_check(&h, r, d.err,
			    sizeof(d.err)), 0);
		}
		for (i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
			memset(&h, 0, sizeof(h));
			h.type = both[i];
			h.len = 1;
			assert_int_equal(frame_hdr_check(&h, r, d.err,
			    sizeof(d.err)), 0);
		}
		memset(&h, 0, sizeof(h));
		h.type = WIRE_KEEPALIVE;
		assert_int_equal(frame_hdr_check(&h, r, d.err, sizeof(d.err)), 0);
		/* a server's DATA to a client is bounded as a client's is */
		h.type = WIRE_DATA;
		h.len = WIRE_DATA_MAX + 1;
		assert_int_equal(frame_hdr_check(&h, r, d.err, sizeof(d.err)),
		    -1);
	}
	/* wire_rules (encoding) takes both directions, bounded per type */
	memset(&h, 0, sizeof(h));
	h.type = WIRE_LIST_REPLY;
	h.len = 1024;
	assert_int_equal(frame_hdr_check(&h, &wire_rules, d.err,
	    sizeof(d.err)), 0);
}

/*
 * wire_take: what the receive loop does with a frame.  A header made by
 * hand in the wrong direction is refused as the decoder refuses it; a
 * message out of order gives the code the order machine chose.
 */
static void
test_take(void **state)
{
	struct msgbuf b = { 0 };
	struct wire_fsm f;
	struct wire_msg m, g;
	struct frame_hdr h;
	char err[256];
	uint32_t code;

	(void)state;
	wire_fsm_init(&f, WIRE_SERVER);
	sample(WIRE_PRUNE_REPLY, &m);
	encode_ok(&b, &m);
	frame_hdr_decode(&h, b.p);
	assert_int_equal(wire_take(&f, &h, b.p + FRAME_HEADER_LEN, &g, &code,
	    err, sizeof(err)), -1);
	assert_int_equal(code, WIRE_E_PROTOCOL);
	assert_non_null(strstr(err, "prune-reply is sent only by a server"));
	wire_msg_free(&g);
	/* LIST before the hellos: decoded, refused by order */
	b.len = 0;
	sample(WIRE_LIST, &m);
	encode_ok(&b, &m);
	frame_hdr_decode(&h, b.p);
	assert_int_equal(wire_take(&f, &h, b.p + FRAME_HEADER_LEN, &g, &code,
	    err, sizeof(err)), -1);
	assert_int_equal(code, WIRE_E_PROTOCOL);
	assert_non_null(strstr(err, "before the hellos"));
	wire_msg_free(&g);
	/* a HELLO of another version: WIRE_E_VERSION */
	b.len = 0;
	sample(WIRE_HELLO, &m);
	m.u.hello.version = WIRE_VERSION + 1;
	encode_ok(&b, &m);
	frame_hdr_decode(&h, b.p);
	wire_fsm_init(&f, WIRE_SERVER);
	assert_int_equal(wire_take(&f, &h, b.p + FRAME_HEADER_LEN, &g, &code,
	    err, sizeof(err)), -1);
	assert_int_equal(code, WIRE_E_VERSION);
	wire_msg_free(&g);
	/* and one in order is taken */
	b.len = 0;
	sample(WIRE_HELLO, &m);
	encode_ok(&b, &m);
	frame_hdr_decode(&h, b.p);
	wire_fsm_init(&f, WIRE_SERVER);
	assert_int_equal(wire_take(&f, &h, b.p + FRAME_HEADER_LEN, &g, &code,
	    err, sizeof(err)), 0);
	assert_int_equal(g.type, WIRE_HELLO);
	assert_true(f.hello_c);
	wire_msg_free(&g);
	msgbuf_free(&b);
}

/* ---- version 2: catalog, ls, restore ---- */

/* A payload built by hand, field by field (big-endian). */
struct pay {
	uint8_t p[1 << 16];
	size_t n;
};

static void
put32(struct pay *y, uint32_t v)
{
	frame_put32(y->p + y->n, v);
	y->n += 4;
}

static void
put64(struct pay *y, uint64_t v)
{
	put32(y, (uint32_t)(v >> 32));
	put32(y, (uint32_t)v);
}

static void
putstr(struct pay *y, const char *s)
{
	size_t n = strlen(s);

	frame_put16(y->p + y->n, (uint16_t)n);
	memcpy(y->p + y->n + 2, s, n);
	y->n += 2 + n;
}

/* One LS-REPLY entry with this name, nanoseconds and target. */
static void
put_entry(struct pay *y, const char *name, uint32_t nsec, const char *target)
{
	putstr(y, name);
	put32(y, 0100644);      /* mode */
	put32(y, 0);            /* uid */
	put32(y, 0);            /* gid */
	put32(y, 1);            /* nlink */
	put64(y, 12);           /* size */
	put64(y, 0);            /* rdev */
	put64(y, 1767225600);   /* mtime */
	put32(y, nsec);
	putstr(y, target);
}

static void
test_v2_fields(void **state)
{
	/* docs/protocol.md §3: name job, name snapshot, str path, u64 start */
	static const uint8_t ls_want[] = {
		0x00, 0x04, 'h', 'o', 'm', 'e',
		0x00, 0x15, 'h', 'o', 'm', 'e', '.', '2', '0', '2', '6', '0',
		'1', '0', '2', 'T', '0', '0', '0', '0', '0', '0', 'Z',
		0x00, 0x07, 'e', 't', 'c', '/', 's', 's', 'h',
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
	};
	struct msgbuf b = { 0 };
	struct wire_msg m, g;
	char err[256];

	(void)state;
	sample(WIRE_LS, &m);
	encode_ok(&b, &m);
	assert_int_equal(b.len, FRAME_HEADER_LEN + sizeof(ls_want));
	assert_memory_equal(b.p + FRAME_HEADER_LEN, ls_want, sizeof(ls_want));
	msgbuf_free(&b);

	sample(WIRE_CATALOG_REPLY, &m);
	assert_int_equal(roundtrip(&m, &g, err, sizeof(err)), 0);
	assert_int_equal(g.u.catalog.n, 2);
	assert_string_equal(g.u.catalog.snaps[0].name, "home.20260101T000000Z");
	assert_memory_equal(g.u.catalog.snaps[0].self.uuid, ref_b.uuid, 16);
	assert_int_equal(g.u.catalog.snaps[0].received.ctransid, 4711);
	assert_int_equal(g.u.catalog.snaps[0].otime, 1767225600);
	assert_int_equal(g.u.catalog.snaps[0].size, 1ull << 31);
	assert_int_equal(g.u.catalog.snaps[1].size, 0);
	wire_msg_free(&g);

	sample(WIRE_LS_REPLY, &m);
	assert_int_equal(roundtrip(&m, &g, err, sizeof(err)), 0);
	assert_int_equal(g.u.ls_reply.n, 3);
	assert_int_equal(g.u.ls_reply.flags, WIRE_LS_MORE);
	assert_int_equal(g.u.ls_reply.next, 10);
	assert_string_equal(g.u.ls_reply.entries[0].name, "sshd_config");
	assert_int_equal(g.u.ls_reply.entries[0].mtime_nsec, 999999999);
	/* control bytes in a file name are carried, as the kernel has it */
	assert_string_equal(g.u.ls_reply.entries[1].name, "link\x01\x1b[31m");
	assert_int_equal(g.u.ls_reply.entries[1].mode, 0120777);
	assert_int_equal(g.u.ls_reply.entries[1].mtime_sec, -5);
	assert_string_equal(g.u.ls_reply.entries[1].target,
	    "../../..//etc/passwd");
	assert_int_equal(g.u.ls_reply.entries[2].rdev, 0x103);
	wire_msg_free(&g);

	sample(WIRE_RESTORE, &m);
	assert_int_equal(roundtrip(&m, &g, err, sizeof(err)), 0);
	assert_string_equal(g.u.restore.path, "");
	assert_int_equal(g.u.restore.nhave, 2);
	assert_memory_equal(g.u.restore.have[1].uuid, ref_b.uuid, 16);
	assert_int_equal(g.u.restore.have[0].ctransid, 4711);
	wire_msg_free(&g);

	sample(WIRE_CATALOG, &m);
	assert_int_equal(roundtrip(&m, &g, err, sizeof(err)), 0);
	assert_string_equal(g.u.catalog_job, "home");
	wire_msg_free(&g);

	assert_string_equal(wire_type_name(WIRE_CATALOG), "catalog");
	assert_string_equal(wire_type_name(WIRE_CATALOG_REPLY),
	    "catalog-reply");
	assert_string_equal(wire_type_name(WIRE_LS), "ls");
	assert_string_equal(wire_type_name(WIRE_LS_REPLY), "ls-reply");
	assert_string_equal(wire_type_name(WIRE_RESTORE), "restore");
}

static void
test_path_valid(void **state)
{
	static const char *good[] = { "", "a", "a/b", "etc/ssh/sshd_config",
	    ".a", "..a/a..", "...", "a b/c\x01\x1b\n", "caf\xc3\xa9" };
	static const char *bad[] = { "a//b", "../x", "/a", "a/", "/", ".",
	    "..", "a/./b", "a/../b", "x/..", "./x", "//", "a/." };
	char long_comp[300], path[WIRE_PATH_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!wire_path_valid(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (wire_path_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
	/* components: at most 255 bytes */
	memset(long_comp, 'c', 255);
	long_comp[255] = '\0';
	assert_true(wire_path_valid(long_comp));
	long_comp[255] = 'c';
	long_comp[256] = '\0';
	assert_false(wire_path_valid(long_comp));
	/* the whole: at most WIRE_PATH_MAX bytes */
	memset(path, 'p', sizeof(path));
	for (i = 100; i < WIRE_PATH_MAX; i += 101)
		path[i] = '/';
	path[WIRE_PATH_MAX] = '\0';
	assert_true(wire_path_valid(path));
	path[WIRE_PATH_MAX] = 'p';
	path[WIRE_PATH_MAX + 1] = '\0';
	assert_false(wire_path_valid(path));
}

/* LS and RESTORE refuse a bad path both ways. */
static void
test_v2_bad_paths(void **state)
{
	static const char *bad[] = { "a//b", "../x", "/a", "a/", "a/./b",
	    ".." };
	struct msgbuf b = { 0 };
	struct wire_msg m;
	struct pay y;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		y.n = 0;
		putstr(&y, "home");
		putstr(&y, "snap");
		putstr(&y, bad[i]);
		put64(&y, 0);
		reject(WIRE_LS, 0, y.p, y.n, "not a valid path");
		y.n = 0;
		putstr(&y, "home");
		putstr(&y, "snap");
		putstr(&y, bad[i]);
		put32(&y, 0);
		reject(WIRE_RESTORE, 0, y.p, y.n, "not a valid path");

		sample(WIRE_LS, &m);
		strcpy(m.u.ls.path, bad[i]);
		assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "not a valid path"));
		sample(WIRE_RESTORE, &m);
		strcpy(m.u.restore.path, bad[i]);
		assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
		assert_int_equal(b.len, 0);
	}
	/* a NUL inside, and a path over WIRE_PATH_MAX */
	y.n = 0;
	putstr(&y, "home");
	putstr(&y, "snap");
	frame_put16(y.p + y.n, 3);
	memcpy(y.p + y.n + 2, "a\0b", 3);
	y.n += 5;
	put64(&y, 0);
	reject(WIRE_LS, 0, y.p, y.n, "NUL");
	y.n = 0;
	putstr(&y, "home");
	putstr(&y, "snap");
	frame_put16(y.p + y.n, WIRE_PATH_MAX + 1);
	memset(y.p + y.n + 2, 'a', WIRE_PATH_MAX + 1);
	y.n += 2 + WIRE_PATH_MAX + 1;
	put32(&y, 0);
	reject(WIRE_RESTORE, 0, y.p, y.n, "too long");
	/* names are names */
	y.n = 0;
	putstr(&y, "home");
	putstr(&y, "../snap");
	putstr(&y, "");
	put32(&y, 0);
	reject(WIRE_RESTORE, 0, y.p, y.n, "not a valid name");
	y.n = 0;
	putstr(&y, "ho\nme");
	reject(WIRE_CATALOG, 0, y.p, y.n, "not a valid name");
	msgbuf_free(&b);
}

/* What a fake backup host may put in an LS-REPLY, and what it may not. */
static void
test_ls_reply_refusals(void **state)
{
	static const char *bad_names[] = { "", ".", "..", "a/b", "/" };
	struct msgbuf b = { 0 };
	struct wire_msg m;
	struct pay y;
	char name[300], err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		y.n = 0;
		put32(&y, 1);
		put_entry(&y, bad_names[i], 0, "");
		put32(&y, 0);
		put64(&y, 0);
		reject(WIRE_LS_REPLY, 0, y.p, y.n, "not a file name");
		sample(WIRE_LS_REPLY, &m);
		strcpy(m.u.ls_reply.entries[0].name, bad_names[i]);
		assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
		assert_int_equal(b.len, 0);
	}
	/* a name of 256 bytes */
	memset(name, 'n', 256);
	name[256] = '\0';
	y.n = 0;
	put32(&y, 1);
	put_entry(&y, name, 0, "");
	put32(&y, 0);
	put64(&y, 0);
	reject(WIRE_LS_REPLY, 0, y.p, y.n, "too long");
	/* nanoseconds of a whole second */
	y.n = 0;
	put32(&y, 1);
	put_entry(&y, "f", 1000000000u, "");
	put32(&y, 0);
	put64(&y, 0);
	reject(WIRE_LS_REPLY, 0, y.p, y.n, "nanoseconds");
	/* an unknown flag */
	y.n = 0;
	put32(&y, 1);
	put_entry(&y, "f", 0, "t");
	put32(&y, 0x2);
	put64(&y, 0);
	reject(WIRE_LS_REPLY, 0, y.p, y.n, "unknown ls flags");
	/* trailing bytes */
	y.n = 0;
	put32(&y, 1);
	put_entry(&y, "f", 0, "t");
	put32(&y, WIRE_LS_MORE);
	put64(&y, 1);
	y.p[y.n++] = 0;
	reject(WIRE_LS_REPLY, 0, y.p, y.n, "trailing");
	/* a count the bytes cannot hold: refused before anything is allocated */
	y.n = 0;
	put32(&y, 2);
	put_entry(&y, "f", 0, "");
	reject(WIRE_LS_REPLY, 0, y.p, y.n, "cannot fit");
	y.n = 0;
	put32(&y, WIRE_LS_MAX + 1);
	reject(WIRE_LS_REPLY, 0, y.p, y.n, "exceed the limit");
	y.n = 0;
	put32(&y, WIRE_LS_MAX);
	reject(WIRE_LS_REPLY, 0, y.p, y.n, "cannot fit");
	/* a link target over WIRE_PATH_MAX */
	y.n = 0;
	put32(&y, 1);
	putstr(&y, "l");
	memset(y.p + y.n, 0, 44);
	y.n += 44;
	frame_put16(y.p + y.n, WIRE_PATH_MAX + 1);
	y.n += 2 + WIRE_PATH_MAX + 1;
	put32(&y, 0);
	put64(&y, 0);
	reject(WIRE_LS_REPLY, 0, y.p, y.n, "too long");
	msgbuf_free(&b);
}

static void
test_catalog_restore_refusals(void **state)
{
	static struct wire_ref have[WIRE_HAVE_MAX + 1];
	struct msgbuf b = { 0 };
	struct frame_decoder d;
	struct frame_hdr h;
	struct wire_msg m;
	struct pay y;
	char err[256];

	(void)state;
	y.n = 0;
	put32(&y, WIRE_CATALOG_MAX + 1);
	reject(WIRE_CATALOG_REPLY, 0, y.p, y.n, "exceed the limit");
	y.n = 0;
	put32(&y, 3);
	putstr(&y, "s");
	memset(y.p + y.n, 0, 64);
	y.n += 64;
	reject(WIRE_CATALOG_REPLY, 0, y.p, y.n, "cannot fit");
	y.n = 0;
	put32(&y, 1);
	putstr(&y, "s");
	memset(y.p + y.n, 0, 65);
	y.n += 65;
	reject(WIRE_CATALOG_REPLY, 0, y.p, y.n, "trailing");
	y.n = 0;
	put32(&y, 1);
	putstr(&y, "..");
	memset(y.p + y.n, 0, 64);
	y.n += 64;
	reject(WIRE_CATALOG_REPLY, 0, y.p, y.n, "not a valid name");

	y.n = 0;
	putstr(&y, "home");
	putstr(&y, "snap");
	putstr(&y, "a/b");
	put32(&y, WIRE_HAVE_MAX + 1);
	reject(WIRE_RESTORE, 0, y.p, y.n, "exceed the limit");
	y.n -= 4;
	put32(&y, 2);
	memset(y.p + y.n, 0, 24);
	y.n += 24;
	reject(WIRE_RESTORE, 0, y.p, y.n, "cannot fit");
	y.n -= 28;
	put32(&y, 0);
	y.p[y.n++] = 0;
	reject(WIRE_RESTORE, 0, y.p, y.n, "trailing");

	/* the largest RESTORE is its bound, and under 64 KiB */
	sample(WIRE_RESTORE, &m);
	memset(m.u.restore.job, 'j', WIRE_NAME_MAX);
	memset(m.u.restore.snapshot, 's', WIRE_NAME_MAX);
	memset(m.u.restore.path, 'p', WIRE_PATH_MAX);
	for (size_t i = 200; i < WIRE_PATH_MAX; i += 201)
		m.u.restore.path[i] = '/';
	m.u.restore.nhave = WIRE_HAVE_MAX;
	m.u.restore.have = have;
	encode_ok(&b, &m);
	frame_hdr_decode(&h, b.p);
	assert_int_equal(h.len, wire_rules.max_len(WIRE_RESTORE));
	assert_true(h.len <= WIRE_CTRL_MAX);
	push_header(&d, WIRE_RESTORE, h.len + 1, FRAME_ERROR);
	frame_decoder_free(&d);
	m.u.restore.nhave = WIRE_HAVE_MAX + 1;
	b.len = 0;
	assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
	assert_int_equal(b.len, 0);
	/* and the largest LS */
	sample(WIRE_LS, &m);
	memset(m.u.ls.job, 'j', WIRE_NAME_MAX);
	memset(m.u.ls.snapshot, 's', WIRE_NAME_MAX);
	memset(m.u.ls.path, 'p', WIRE_PATH_MAX);
	for (size_t i = 200; i < WIRE_PATH_MAX; i += 201)
		m.u.ls.path[i] = '/';
	encode_ok(&b, &m);
	assert_int_equal(wire_rules.max_len(WIRE_LS), 2 + 255 + 2 + 255 + 2 +
	    WIRE_PATH_MAX + 8);
	assert_int_equal(wire_rules.max_len(WIRE_CATALOG), 2 + 255);
	assert_int_equal(wire_rules.max_len(WIRE_LS_REPLY),
	    WIRE_LIST_REPLY_MAX);
	assert_int_equal(wire_rules.max_len(WIRE_CATALOG_REPLY),
	    4 + WIRE_CATALOG_MAX * (2 + 255 + 24 + 24 + 8 + 8));
	msgbuf_free(&b);
}

/* An ls page over the protocol's 16 MiB is refused, not cut. */
static void
test_ls_reply_over_bound(void **state)
{
	struct msgbuf b = { 0 };
	struct wire_msg m;
	char err[256];
	uint32_t i;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_LS_REPLY;
	m.u.ls_reply.n = WIRE_LS_MAX;
	m.u.ls_reply.entries = calloc(WIRE_LS_MAX,
	    sizeof(*m.u.ls_reply.entries));
	assert_non_null(m.u.ls_reply.entries);
	for (i = 0; i < WIRE_LS_MAX; i++) {
		memset(m.u.ls_reply.entries[i].name, 'e', 255);
		memset(m.u.ls_reply.entries[i].target, 't', WIRE_PATH_MAX);
	}
	assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bound"));
	assert_int_equal(b.len, 0);
	m.u.ls_reply.n = WIRE_LS_MAX + 1;
	assert_int_equal(wire_encode(&b, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "limit"));
	free(m.u.ls_reply.entries);
	msgbuf_free(&b);
}

static void
test_subtree_uuid(void **state)
{
	/* SHA-256(uuid || path), first 16 bytes (python3 hashlib) */
	static const uint8_t etc_ssh[16] = { 0xf7, 0x38, 0xf3, 0x0e, 0x91,
	    0xc2, 0x88, 0x55, 0xdf, 0xca, 0xf1, 0x55, 0x81, 0x13, 0x83, 0xf0 };
	static const uint8_t root[16] = { 0x76, 0x3e, 0x12, 0xa0, 0x43, 0xc4,
	    0xb4, 0x39, 0xe9, 0x03, 0x60, 0xec, 0x6b, 0xf7, 0x5c, 0x0f };
	uint8_t out[16], other[16];

	(void)state;
	wire_subtree_uuid(ref_a.uuid, "etc/ssh", out);
	assert_memory_equal(out, etc_ssh, 16);
	wire_subtree_uuid(ref_a.uuid, "", out);
	assert_memory_equal(out, root, 16);
	/* another snapshot, another path: another identity */
	wire_subtree_uuid(ref_b.uuid, "etc/ssh", other);
	assert_memory_not_equal(other, etc_ssh, 16);
	wire_subtree_uuid(ref_a.uuid, "etc/ss", other);
	assert_memory_not_equal(other, etc_ssh, 16);
}

/* The server's BEGIN answering a RESTORE: version 1 stream, no flags. */
static void
turned_begin(struct wire_msg *m)
{
	sample(WIRE_BEGIN, m);
	m->u.begin.id.nclones = 0;
	m->u.begin.id.clones = NULL;
	m->u.begin.id.flags = WIRE_BEGIN_SUBTREE;
}

static void
test_fsm_restore(void **state)
{
	struct wire_fsm c, s;
	struct wire_msg m;
	char err[256];

	(void)state;
	fsm_pair(&c, &s);
	/* catalog and ls: request and reply */
	sample(WIRE_CATALOG, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_KEEPALIVE, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_CATALOG_REPLY, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_LS, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_LS_REPLY, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	/* restore, resumed at 10 / 5000 */
	sample(WIRE_RESTORE, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	turned_begin(&m);
	if (both(&c, &s, false, &m, err) == -1)
		fail_msg("turned begin: %s", err);
	sample(WIRE_BEGIN_REPLY, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_DATA, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_KEEPALIVE, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_ACK, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_END, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_DONE, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	/* idle again, the roles as before: a send and a second restore */
	sample(WIRE_BEGIN, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_BEGIN_REPLY, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_DATA, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_END, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_DONE, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	/* a restore the client already holds: complete, idle */
	sample(WIRE_RESTORE, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	turned_begin(&m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_BEGIN_REPLY, &m);
	m.u.begin_reply.status = WIRE_BEGIN_COMPLETE;
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	/* a fresh restore from zero */
	sample(WIRE_RESTORE, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	turned_begin(&m);
	m.u.begin.id.flags = WIRE_BEGIN_SUBTREE | WIRE_BEGIN_SUBTREE_FILE;
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_BEGIN_REPLY, &m);
	m.u.begin_reply.status = WIRE_BEGIN_FRESH;
	m.u.begin_reply.point = point(0, 0, 0);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_DATA, &m);
	m.u.data.index = m.u.data.offset = 0;
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	/* refused: the server answers a restore with an error */
	sample(WIRE_ERROR, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	assert_true(c.closed && s.closed);

	/* a restore the server refuses at once */
	fsm_pair(&c, &s);
	sample(WIRE_RESTORE, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_ERROR, &m);
	assert_int_equal(both(&c, &s, false, &m, err), 0);
}

/*
 * After the prefix (each message from the end that sends it in a
 * restore), m from that side is refused by the end receiving it.
 */
static void
restore_refused(int nprefix, bool from_client, const struct wire_msg *m,
    const char *want, uint32_t code)
{
	/* RESTORE, BEGIN (server), BEGIN-REPLY resume 10/5000, DATA, END */
	static const uint16_t seq[] = { WIRE_RESTORE, WIRE_BEGIN,
	    WIRE_BEGIN_REPLY, WIRE_DATA, WIRE_END };
	static const bool by_client[] = { true, false, true, false, false };
	struct wire_fsm c, s;
	struct wire_msg p;
	char err[256];
	int i;

	fsm_pair(&c, &s);
	for (i = 0; i < nprefix; i++) {
		if (seq[i] == WIRE_BEGIN)
			turned_begin(&p);
		else
			sample(seq[i], &p);
		if (both(&c, &s, by_client[i], &p, err) == -1)
			fail_msg("prefix %s: %s", wire_type_name(seq[i]), err);
	}
	if (wire_fsm_step(from_client ? &s : &c, false, m, err,
	    sizeof(err)) == 0)
		fail_msg("%s from the %s accepted after %d", wire_type_name(
		    m->type), from_client ? "client" : "server", nprefix);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_int_equal((from_client ? &s : &c)->code, code);
	/* the sending end's own machine refuses it as well */
	assert_int_equal(wire_fsm_step(from_client ? &c : &s, true, m, err,
	    sizeof(err)), -1);
}

static void
test_fsm_restore_refused(void **state)
{
	struct wire_fsm c, s;
	struct wire_msg m;
	char err[256];

	(void)state;
	/* a server's BEGIN nobody asked for, or answering another request */
	turned_begin(&m);
	restore_refused(0, false, &m, "no restore asked for",
	    WIRE_E_PROTOCOL);
	restore_refused(2, false, &m, "no restore asked for",
	    WIRE_E_PROTOCOL);
	restore_refused(3, false, &m, "no restore asked for",
	    WIRE_E_PROTOCOL);
	/* the restart flag: the client discards a partial itself */
	m.u.begin.id.flags |= WIRE_BEGIN_RESTART;
	restore_refused(1, false, &m, "restart", WIRE_E_PROTOCOL);
	/* a stream version above the client's hello */
	turned_begin(&m);
	m.u.begin.id.version = 3;
	restore_refused(1, false, &m, "send-stream version 3",
	    WIRE_E_VERSION);
	m.u.begin.id.version = 0;
	restore_refused(1, false, &m, "send-stream version 0",
	    WIRE_E_VERSION);
	/* a client's request while the restore is pending or transferring */
	sample(WIRE_BEGIN, &m);
	restore_refused(1, true, &m, "unanswered", WIRE_E_PROTOCOL);
	restore_refused(2, true, &m, "unanswered", WIRE_E_PROTOCOL);
	restore_refused(3, true, &m, "transfer is open", WIRE_E_PROTOCOL);
	sample(WIRE_LIST, &m);
	restore_refused(1, true, &m, "unanswered", WIRE_E_PROTOCOL);
	sample(WIRE_RESTORE, &m);
	restore_refused(3, true, &m, "transfer is open", WIRE_E_PROTOCOL);
	/* replies that do not match */
	sample(WIRE_LIST_REPLY, &m);
	restore_refused(1, false, &m, "no matching request", WIRE_E_PROTOCOL);
	sample(WIRE_LS_REPLY, &m);
	restore_refused(0, false, &m, "no matching request", WIRE_E_PROTOCOL);
	sample(WIRE_CATALOG_REPLY, &m);
	restore_refused(1, false, &m, "no matching request", WIRE_E_PROTOCOL);
	/* the begin-reply comes from the client, not the server */
	sample(WIRE_BEGIN_REPLY, &m);
	restore_refused(2, false, &m, "no matching request", WIRE_E_PROTOCOL);
	restore_refused(1, true, &m, "no matching request", WIRE_E_PROTOCOL);
	/* the turned transfer's directions */
	sample(WIRE_DATA, &m);
	restore_refused(3, true, &m, "wrong direction (this transfer goes "
	    "from the server", WIRE_E_PROTOCOL);
	restore_refused(2, false, &m, "no transfer open", WIRE_E_PROTOCOL);
	m.u.data.index = 11;
	restore_refused(3, false, &m, "expected command 10", WIRE_E_PROTOCOL);
	sample(WIRE_END, &m);
	restore_refused(4, true, &m, "wrong direction", WIRE_E_PROTOCOL);
	restore_refused(3, false, &m, "totals differ", WIRE_E_PROTOCOL);
	sample(WIRE_ACK, &m);
	restore_refused(4, false, &m, "wrong direction", WIRE_E_PROTOCOL);
	m.u.point.index = 14;
	restore_refused(4, true, &m, "never sent", WIRE_E_PROTOCOL);
	sample(WIRE_DONE, &m);
	restore_refused(4, true, &m, "before end", WIRE_E_PROTOCOL);
	restore_refused(5, false, &m, "wrong direction", WIRE_E_PROTOCOL);
	restore_refused(1, true, &m, "no transfer open", WIRE_E_PROTOCOL);
	/* requests from a server */
	sample(WIRE_RESTORE, &m);
	restore_refused(0, false, &m, "wrong direction", WIRE_E_PROTOCOL);
	sample(WIRE_CATALOG, &m);
	restore_refused(0, false, &m, "wrong direction", WIRE_E_PROTOCOL);
	sample(WIRE_LS, &m);
	restore_refused(0, false, &m, "wrong direction", WIRE_E_PROTOCOL);
	sample(WIRE_LS_REPLY, &m);
	restore_refused(0, true, &m, "wrong direction", WIRE_E_PROTOCOL);

	/*
	 * Each end's hello bounds the stream versions it receives: a client
	 * taking version 1 only, a server taking 2.
	 */
	wire_fsm_init(&c, WIRE_CLIENT);
	wire_fsm_init(&s, WIRE_SERVER);
	sample(WIRE_HELLO, &m);
	m.u.hello.stream_version_max = 1;
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	m.u.hello.stream_version_max = 2;
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_BEGIN, &m);
	m.u.begin.id.version = 2;
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	sample(WIRE_BEGIN_REPLY, &m);
	m.u.begin_reply.status = WIRE_BEGIN_COMPLETE;
	assert_int_equal(both(&c, &s, false, &m, err), 0);
	sample(WIRE_RESTORE, &m);
	assert_int_equal(both(&c, &s, true, &m, err), 0);
	turned_begin(&m);
	m.u.begin.id.version = 2;
	assert_int_equal(wire_fsm_step(&c, false, &m, err, sizeof(err)), -1);
	assert_int_equal(c.code, WIRE_E_VERSION);
	assert_non_null(strstr(err, "takes 1 to 1"));
	m.u.begin.id.version = 1;
	assert_int_equal(both(&c, &s, false, &m, err), 0);
}

/* A hello of protocol 1 is told which end to upgrade. */
static void
test_fsm_old_hello(void **state)
{
	struct wire_fsm c, s;
	struct wire_msg m;
	char err[256];

	(void)state;
	wire_fsm_init(&s, WIRE_SERVER);
	sample(WIRE_HELLO, &m);
	m.u.hello.version = 1;
	assert_int_equal(wire_fsm_step(&s, false, &m, err, sizeof(err)), -1);
	assert_int_equal(s.code, WIRE_E_VERSION);
	assert_string_equal(err, "this backup host speaks btrsend protocol 2; "
	    "the peer speaks 1: upgrade it");
	/* a client hearing an old server */
	wire_fsm_init(&c, WIRE_CLIENT);
	sample(WIRE_HELLO, &m);
	assert_int_equal(wire_fsm_step(&c, true, &m, err, sizeof(err)), 0);
	m.u.hello.version = 1;
	assert_int_equal(wire_fsm_step(&c, false, &m, err, sizeof(err)), -1);
	assert_int_equal(c.code, WIRE_E_VERSION);
	assert_non_null(strstr(err, "the backup host speaks btrsend protocol "
	    "1; this end speaks 2: upgrade the backup host"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_prune_layout),
		cmocka_unit_test(test_prune_reply_layout),
		cmocka_unit_test(test_encode_head),
		cmocka_unit_test(test_decoder_space),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_truncation_every_byte),
		cmocka_unit_test(test_oversize_unknown),
		cmocka_unit_test(test_several_frames_one_chunk),
		cmocka_unit_test(test_bad_payloads),
		cmocka_unit_test(test_control_names),
		cmocka_unit_test(test_zstd),
		cmocka_unit_test(test_fsm_transfer),
		cmocka_unit_test(test_fsm_out_of_order),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_long_strings_refused),
		cmocka_unit_test(test_derived_bounds),
		cmocka_unit_test(test_list_reply_over_bound),
		cmocka_unit_test(test_fsm_unknown_caps),
		cmocka_unit_test(test_fsm_begin_stream_version),
		cmocka_unit_test(test_direction),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_v2_fields),
		cmocka_unit_test(test_path_valid),
		cmocka_unit_test(test_v2_bad_paths),
		cmocka_unit_test(test_ls_reply_refusals),
		cmocka_unit_test(test_catalog_restore_refusals),
		cmocka_unit_test(test_ls_reply_over_bound),
		cmocka_unit_test(test_subtree_uuid),
		cmocka_unit_test(test_fsm_restore),
		cmocka_unit_test(test_fsm_restore_refused),
		cmocka_unit_test(test_fsm_old_hello),
	};

	if (getenv("WIRE_CORPUS") != NULL)
		write_corpus(getenv("WIRE_CORPUS"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
