/*
 * libFuzzer target for the network protocol as a receive worker sees it.
 * The input is the byte stream a hostile client sends after the TLS
 * handshake, fed in chunks whose sizes derive from the input, through the
 * worker's own checks: the frame decoder with the receiver's rules
 * (wire_rules_for(WIRE_SERVER): size per type, types a client never sends
 * refused on the header), wire_take (decode, order), and for a transfer
 * recv_check (daemon/net/recv_check.h: the subvolume BEGIN announced and
 * nothing else, END's totals and digest) on every command the DATA
 * frames carry.  The worker's replies (HELLO, LIST-REPLY, PRUNE-REPLY,
 * CATALOG-REPLY, LS-REPLY, BEGIN-REPLY fresh, resume or complete, ACK,
 * DONE, ERROR; for a RESTORE the turned transfer's BEGIN, DATA and END)
 * are modelled through the same order machine, so any sequence of
 * frames, in any order, size and direction, reaches the state it would
 * reach.
 *
 * The same input is then read by a client (wire_rules_for(WIRE_CLIENT)),
 * as a backup host's answers: the client's requests are modelled so that
 * each reply comes in order (a RESTORE before a server's BEGIN), and a
 * restore's stream (BEGIN, DATA, END from the server) goes through
 * recv_check as in the worker, the client answering BEGIN-REPLY, ACK and
 * DONE: a fake backup host is as hostile as a client.
 *
 * Checks: no crash or leak; every accepted message re-encodes to exactly
 * the payload it came from; a frame refused on its header reserved no
 * payload buffer; zstd bodies decompress within their declared bound;
 * nothing is accepted after an ERROR; the modelled messages are always in
 * order; DONE only for a stream whose END command was taken and whose
 * END totals and digest agree.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "daemon/net/recv_check.h"
#include "proto/msg/wire.h"
#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)
#define FZ_OUT (1u << 20)

static ZSTD_DCtx *fz_dctx;
static uint8_t *fz_out;

/* The receive worker, as far as the protocol goes. */
struct fz_recv {
	struct wire_fsm f;
	struct recv_check k;
	struct stream_reader r;
	bool reading;                   /* r initialised */
	bool resumed;
	uint64_t idx_base, off_base;
	struct stream_digest digest;
	unsigned seed;
};

static unsigned
fz_rand(unsigned *seed)
{
	*seed = *seed * 1103515245 + 12345;
	return *seed >> 16;
}

/* A reply of the worker: the order machine must take it. */
static void
fz_reply(struct wire_fsm *f, struct wire_msg *m)
{
	char err[256];

	CHECK(wire_fsm_step(f, true, m, err, sizeof(err)) == 0);
}

static void
fz_error(struct fz_recv *v, uint32_t code)
{
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_ERROR;
	m.u.error.code = code;
	fz_reply(&v->f, &m);
	CHECK(v->f.closed);
}

static void
fz_stop_reading(struct fz_recv *v)
{
	if (v->reading)
		stream_reader_free(&v->r);
	v->reading = false;
}

/*
 * BEGIN: answered fresh, resume (when not a restart) or complete, as the
 * input's size hint says (a partial or a complete snapshot held), so
 * that seeds and mutations choose.
 */
static void
fz_begin(struct fz_recv *v, const struct wire_begin *b)
{
	struct wire_msg m;
	uint8_t hdr[STREAM_HEADER_LEN];
	uint64_t pick = b->size_hint % 3;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_BEGIN_REPLY;
	if (pick == 1 && !(b->id.flags & WIRE_BEGIN_RESTART)) {
		m.u.begin_reply.status = WIRE_BEGIN_RESUME;
		m.u.begin_reply.point.index = 1 + (b->size_hint >> 2) % 4;
		m.u.begin_reply.point.offset = STREAM_HEADER_LEN +
		    (b->size_hint >> 4) % 512;
	} else if (pick == 2)
		m.u.begin_reply.status = WIRE_BEGIN_COMPLETE;
	fz_reply(&v->f, &m);
	if (m.u.begin_reply.status == WIRE_BEGIN_COMPLETE)
		return;
	fz_stop_reading(v);
	CHECK(stream_reader_init(&v->r, NULL) == 0);
	v->reading = true;
	v->resumed = m.u.begin_reply.status == WIRE_BEGIN_RESUME;
	stream_digest_init(&v->digest);
	v->idx_base = v->off_base = 0;
	if (v->resumed) {
		/* as apply_feed_resume: a synthetic header, not digested */
		stream_header_encode(hdr, b->id.version);
		CHECK(stream_reader_feed(&v->r, hdr, sizeof(hdr)) == 0);
		v->idx_base = m.u.begin_reply.point.index;
		v->off_base = m.u.begin_reply.point.offset - STREAM_HEADER_LEN;
	}
	recv_check_init(&v->k, b, v->resumed);
}

/* Every whole command the reader holds, through recv_check. */
static int
fz_drain(struct fz_recv *v)
{
	struct stream_cmd c;
	uint8_t hdr[STREAM_HEADER_LEN];
	char err[512];
	uint32_t code;

	for (;;) {
		switch (stream_reader_next(&v->r, &c)) {
		case STREAM_NEED_MORE:
		case STREAM_DONE:
			return 0;
		case STREAM_ERROR:
			fz_error(v, WIRE_E_STREAM);
			return -1;
		case STREAM_HEADER:
			if (v->resumed && v->r.nstreams == 1)
				break;
			stream_header_encode(hdr, v->r.version);
			stream_digest_add(&v->digest, hdr, sizeof(hdr));
			break;
		case STREAM_CMD:
			c.index += v->idx_base;
			c.offset += v->off_base;
			if (recv_check_cmd(&v->k, &c, &code, err,
			    sizeof(err)) == -1) {
				CHECK(code == WIRE_E_DENIED);
				fz_error(v, code);
				return -1;
			}
			stream_digest_add(&v->digest, c.raw,
			    STREAM_CMD_HEADER_LEN);
			break;
		}
	}
}

static void
fz_data(struct fz_recv *v, const struct wire_data *d)
{
	struct wire_msg m;
	const uint8_t *p = d->body;
	char err[256];

	if (d->zstd) {
		/* the worker's buffer is 8 MiB; ours is smaller */
		if (d->raw_len > FZ_OUT || wire_zstd_decompress(fz_dctx, d,
		    fz_out, FZ_OUT, err, sizeof(err)) == -1) {
			fz_error(v, WIRE_E_PROTOCOL);
			return;
		}
		p = fz_out;
	}
	if (stream_reader_feed(&v->r, p, d->raw_len) == -1) {
		fz_error(v, WIRE_E_RESOURCE);
		return;
	}
	if (fz_drain(v) == -1)
		return;
	if (fz_rand(&v->seed) % 2 == 0) {
		memset(&m, 0, sizeof(m));
		m.type = WIRE_ACK;
		m.u.point.index = v->f.next_index;
		fz_reply(&v->f, &m);
	}
}

static void
fz_end(struct fz_recv *v, const struct wire_point *pt)
{
	struct wire_msg m;
	char err[512];
	int ok;

	stream_reader_eof(&v->r);
	if (fz_drain(v) == -1)
		return;
	ok = recv_check_end(&v->k, pt, v->idx_base + v->r.ncmds,
	    v->off_base + v->r.consumed, &v->digest, err, sizeof(err)) == 0;
	fz_stop_reading(v);
	if (!ok || !v->k.ended) {
		fz_error(v, ok ? WIRE_E_APPLY : WIRE_E_STREAM);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = WIRE_DONE;
	m.u.done.point = *pt;
	fz_reply(&v->f, &m);
}

/*
 * A server's answer to RESTORE: the turned transfer's BEGIN, in a
 * stream version the client's hello takes, or ERROR when it takes none
 * (or, now and then, not-found).
 */
static void
fz_restore(struct fz_recv *v)
{
	struct wire_msg r;
	unsigned pick = fz_rand(&v->seed);

	if (v->f.stream_max_c < 1 || pick % 8 == 0) {
		fz_error(v, v->f.stream_max_c < 1 ? WIRE_E_VERSION :
		    WIRE_E_NOTFOUND);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.type = WIRE_BEGIN;
	strcpy(r.u.begin.job, "home");
	strcpy(r.u.begin.name, "home.1");
	r.u.begin.id.version = 1;
	if (pick % 3 == 1)
		r.u.begin.id.flags = WIRE_BEGIN_SUBTREE;
	else if (pick % 3 == 2)
		r.u.begin.id.flags = WIRE_BEGIN_SUBTREE |
		    WIRE_BEGIN_SUBTREE_FILE;
	fz_reply(&v->f, &r);
}

/* The server's requests: none but RESTORE, answered with a transfer. */
static void
fz_serve_server(struct fz_recv *v, const struct wire_msg *m)
{
	struct wire_msg r;

	memset(&r, 0, sizeof(r));
	switch (m->type) {
	case WIRE_HELLO:
		r.type = WIRE_HELLO;
		r.u.hello.version = WIRE_VERSION;
		r.u.hello.caps = WIRE_CAPS_KNOWN;
		r.u.hello.stream_version_max = STREAM_VERSION_MAX;
		fz_reply(&v->f, &r);
		break;
	case WIRE_LIST:
		r.type = WIRE_LIST_REPLY;
		fz_reply(&v->f, &r);
		break;
	case WIRE_PRUNE:
		r.type = WIRE_PRUNE_REPLY;
		fz_reply(&v->f, &r);
		break;
	case WIRE_CATALOG:
		r.type = WIRE_CATALOG_REPLY;
		fz_reply(&v->f, &r);
		break;
	case WIRE_LS:
		r.type = WIRE_LS_REPLY;
		fz_reply(&v->f, &r);
		break;
	case WIRE_RESTORE:
		fz_restore(v);
		break;
	case WIRE_BEGIN:
		fz_begin(v, &m->u.begin);
		break;
	case WIRE_DATA:
		CHECK(v->reading);
		fz_data(v, &m->u.data);
		break;
	case WIRE_END:
		CHECK(v->reading);
		fz_end(v, &m->u.point);
		break;
	case WIRE_ACK:
		/* only the receiving end of a turned transfer acknowledges */
		CHECK(v->f.turned && v->f.xfer);
		break;
	case WIRE_BEGIN_REPLY:
	case WIRE_DONE:
		/* a client's answers in a restore: the model sends on */
		break;
	default:
		/* wire_take lets through only what a client sends */
		CHECK(m->type == WIRE_ERROR || m->type == WIRE_KEEPALIVE);
	}
}

/*
 * A client receiving a restore: the server's BEGIN, DATA and END are
 * taken as the worker takes a client's (the client's receive runs the
 * same checks); everything else it receives is a reply to its model.
 */
static void
fz_serve_client(struct fz_recv *v, const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_BEGIN:
		CHECK(v->f.turned);
		fz_begin(v, &m->u.begin);
		break;
	case WIRE_DATA:
		CHECK(v->reading && v->f.turned);
		fz_data(v, &m->u.data);
		break;
	case WIRE_END:
		CHECK(v->reading && v->f.turned);
		fz_end(v, &m->u.point);
		break;
	default:
		break;
	}
}

/* An accepted message is exactly its payload, encoded again. */
static void
fz_roundtrip(const struct frame_decoder *d, const struct wire_msg *m)
{
	struct msgbuf b = { 0 };
	char err[256];

	CHECK(wire_encode(&b, m, err, sizeof(err)) == 0);
	CHECK(b.len == FRAME_HEADER_LEN + d->hdr.len);
	CHECK(d->hdr.len == 0 ||
	    memcmp(b.p + FRAME_HEADER_LEN, d->payload, d->hdr.len) == 0);
	msgbuf_free(&b);
}

/*
 * The other end's messages, made so that the one about to come fits:
 * for a client, its requests (and a normal transfer's DATA and END); for
 * a server, a restore's DATA and END before the client's ACK and DONE.
 */
static void
fz_request(struct wire_fsm *f, uint16_t next, unsigned *seed)
{
	struct wire_msg m;
	char err[256];
	bool idle = f->pending == 0 && !f->xfer;
	bool sending = f->xfer && !f->end_sent &&
	    (f->turned == (f->role == WIRE_SERVER));

	memset(&m, 0, sizeof(m));
	if (!f->hello_c || !f->hello_s || f->closed)
		return;
	if (f->role == WIRE_CLIENT && idle && (next == WIRE_LIST_REPLY ||
	    next == WIRE_PRUNE_REPLY || next == WIRE_CATALOG_REPLY ||
	    next == WIRE_LS_REPLY)) {
		m.type = next == WIRE_LIST_REPLY ? WIRE_LIST :
		    next == WIRE_PRUNE_REPLY ? WIRE_PRUNE :
		    next == WIRE_CATALOG_REPLY ? WIRE_CATALOG : WIRE_LS;
		/* job first in LIST, PRUNE, CATALOG and LS */
		strcpy(m.u.ls.job, "home");
		if (m.type == WIRE_LS) {
			strcpy(m.u.ls.snapshot, "home.1");
			strcpy(m.u.ls.path, "etc");
		}
	} else if (f->role == WIRE_CLIENT && idle && next == WIRE_BEGIN) {
		m.type = WIRE_RESTORE;
		strcpy(m.u.restore.job, "home");
		strcpy(m.u.restore.snapshot, "home.1");
	} else if (f->role == WIRE_CLIENT && idle &&
	    next == WIRE_BEGIN_REPLY) {
		if (f->stream_max < 1)
			return;
		m.type = WIRE_BEGIN;
		strcpy(m.u.begin.job, "home");
		strcpy(m.u.begin.name, "home.1");
		m.u.begin.id.version = 1;
		if (fz_rand(seed) % 4 == 0)
			m.u.begin.id.flags = WIRE_BEGIN_RESTART;
	} else if (sending && next == WIRE_ACK) {
		m.type = WIRE_DATA;
		m.u.data.index = f->next_index;
		m.u.data.offset = f->next_offset;
		m.u.data.ncmds = 1 + fz_rand(seed) % 4;
		m.u.data.raw_len = 1 + fz_rand(seed) % 4096;
	} else if (sending && next == WIRE_DONE) {
		m.type = WIRE_END;
		m.u.point.index = f->next_index;
		m.u.point.offset = f->next_offset;
	} else
		return;
	CHECK(wire_fsm_step(f, true, &m, err, sizeof(err)) == 0);
}

/*
 * Decode data as the end of this role reads it; at each whole frame,
 * before: (the sender's model) and after: (the receiver's) it is taken.
 */
static void
fz_run(const uint8_t *data, size_t size, enum wire_role role)
{
	struct frame_decoder d;
	struct fz_recv v;
	struct wire_msg m, hello;
	size_t off = 0, used, chunk;
	enum frame_event ev;
	char err[256];
	uint32_t code;
	size_t cap;
	bool was_closed;
	int r;

	memset(&v, 0, sizeof(v));
	v.seed = size ? data[size - 1] : 0;
	frame_decoder_init(&d, wire_rules_for(role));
	wire_fsm_init(&v.f, role);
	if (role == WIRE_CLIENT) {
		memset(&hello, 0, sizeof(hello));
		hello.type = WIRE_HELLO;
		hello.u.hello.version = WIRE_VERSION;
		hello.u.hello.caps = WIRE_CAPS_KNOWN;
		/* what it takes when a restore turns the transfer */
		hello.u.hello.stream_version_max = STREAM_VERSION_MAX;
		fz_reply(&v.f, &hello);
	}
	while (off < size) {
		chunk = 1 + fz_rand(&v.seed) % 64;
		if (chunk > size - off)
			chunk = size - off;
		cap = d.cap;
		ev = frame_decoder_push(&d, data + off, chunk, &used);
		CHECK(used <= chunk);
		off += used;
		if (ev == FRAME_ERROR) {
			/* refused on the header: no payload buffer for it */
			CHECK(d.cap == cap);
			break;
		}
		if (ev != FRAME_READY)
			continue;
		fz_request(&v.f, d.hdr.type, &v.seed);
		was_closed = v.f.closed;
		r = wire_take(&v.f, &d.hdr, d.payload, &m, &code, err,
		    sizeof(err));
		/* nothing after an ERROR, sent or received */
		if (was_closed)
			CHECK(r == -1);
		if (r == -1) {
			CHECK(code >= 1 && code <= WIRE_E_MAX);
			wire_msg_free(&m);
			break;  /* answered with ERROR: the connection ends */
		}
		fz_roundtrip(&d, &m);
		if (m.type == WIRE_DATA && m.u.data.zstd &&
		    m.u.data.raw_len <= FZ_OUT)
			(void)wire_zstd_decompress(fz_dctx, &m.u.data, fz_out,
			    FZ_OUT, err, sizeof(err));
		if (!v.f.closed && role == WIRE_SERVER)
			fz_serve_server(&v, &m);
		else if (!v.f.closed)
			fz_serve_client(&v, &m);
		wire_msg_free(&m);
	}
	fz_stop_reading(&v);
	frame_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_dctx == NULL) {
		fz_dctx = ZSTD_createDCtx();
		fz_out = malloc(FZ_OUT);
	}
	fz_run(data, size, WIRE_SERVER);
	fz_run(data, size, WIRE_CLIENT);
	return 0;
}
