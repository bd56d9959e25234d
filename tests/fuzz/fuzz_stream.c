/*
 * libFuzzer target for the send-stream reader.  The input is a stream;
 * chunking, copy or attach, and options derive from its CRC so that plain streams make a
 * good seed corpus.  Checks: no crash or leak; the same outcome whole and
 * in random chunks; every accepted command re-encodes (writer) and parses
 * back to the same attributes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/stream/stream.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

struct outcome {
	int last;
	uint64_t ncmds, nstreams, consumed, err_index, err_offset;
};

static uint8_t *fz_buf;
static size_t fz_cap;

static void
walk_attrs(const struct stream_cmd *c)
{
	struct stream_timespec t;
	const uint8_t *p;
	uint8_t u[16], u8;
	uint64_t v;
	uint32_t n, v32;
	volatile uint64_t sink = 0;
	int a;

	for (a = 0; a <= SEND_A_MAX + 1; a++) {
		if (stream_get_u64(c, a, &v) == 0)
			sink += v;
		if (stream_get_u32(c, a, &v32) == 0)
			sink += v32;
		if (stream_get_u8(c, a, &u8) == 0)
			sink += u8;
		if (stream_get_uuid(c, a, u) == 0)
			sink += u[15];
		if (stream_get_time(c, a, &t) == 0)
			sink += t.sec + t.nsec;
		if (stream_get_bytes(c, a, &p, &n) == 0 && n > 0)
			sink += p[0] + p[n - 1];
		sink += (uint64_t)strlen(stream_attr_name(a));
	}
	sink += strlen(stream_cmd_name(c->type));
	(void)sink;
}

/* Re-encode c in attribute-number order (DATA last) and parse it back. */
static void
reencode(const struct stream_cmd *c, const struct stream_reader_opts *o)
{
	struct stream_writer w;
	struct stream_reader r;
	struct stream_cmd b;
	size_t need = STREAM_HEADER_LEN + STREAM_CMD_HEADER_LEN + c->len + 16;
	int a;

	if (need > fz_cap) {
		free(fz_buf);
		fz_cap = need;
		fz_buf = malloc(fz_cap);
		CHECK(fz_buf != NULL);
	}
	stream_writer_init(&w, fz_buf, fz_cap, c->version);
	CHECK(stream_wr_header(&w) == 0);
	stream_wr_begin(&w, c->type);
	for (a = 1; a <= SEND_A_MAX; a++)
		if (a != SEND_A_DATA && stream_has(c, a))
			stream_wr_bytes(&w, a, c->attr[a].data, c->attr[a].len);
	if (stream_has(c, SEND_A_DATA))
		stream_wr_data(&w, c->attr[SEND_A_DATA].data,
		    c->attr[SEND_A_DATA].len);
	CHECK(stream_wr_end(&w) == (long)(STREAM_CMD_HEADER_LEN + c->len));
	stream_reader_init(&r, o);
	CHECK(stream_reader_feed(&r, fz_buf, w.pos) == 0);
	CHECK(stream_reader_next(&r, &b) == STREAM_HEADER);
	CHECK(stream_reader_next(&r, &b) == STREAM_CMD);
	CHECK(b.type == c->type && b.len == c->len && b.present == c->present);
	for (a = 1; a <= SEND_A_MAX; a++) {
		if (!stream_has(c, a))
			continue;
		CHECK(b.attr[a].len == c->attr[a].len);
		CHECK(memcmp(b.attr[a].data, c->attr[a].data,
		    c->attr[a].len) == 0);
	}
	stream_reader_free(&r);
}

static int
drain(struct stream_reader *r, const struct stream_reader_opts *o, int deep)
{
	struct stream_cmd c;
	int ev;

	while ((ev = stream_reader_next(r, &c)) == STREAM_CMD ||
	    ev == STREAM_HEADER) {
		if (ev != STREAM_CMD)
			continue;
		CHECK(c.index + 1 == r->ncmds);
		CHECK(c.offset + STREAM_CMD_HEADER_LEN + c.len == r->consumed);
		if (deep) {
			walk_attrs(&c);
			reencode(&c, o);
		}
	}
	return ev;
}

static void
run(const uint8_t *data, size_t size, const struct stream_reader_opts *o,
    uint32_t seed, struct outcome *out)
{
	struct stream_reader r;
	size_t pos = 0, n, avail;
	uint8_t *dst;
	int ev = STREAM_NEED_MORE;

	memset(out, 0, sizeof(*out));
	stream_reader_init(&r, o);
	if (seed == 1) {
		CHECK(stream_reader_attach(&r, data, size) == 0);
		pos = size;
	}
	while (pos < size && ev == STREAM_NEED_MORE) {
		if (seed <= 1) {
			n = size;
		} else {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 97;
		}
		if (n > size - pos)
			n = size - pos;
		dst = stream_reader_space(&r, n, &avail);
		CHECK(dst != NULL && avail >= n);
		memcpy(dst, data + pos, n);
		stream_reader_commit(&r, n);
		pos += n;
		ev = drain(&r, o, seed <= 1);
	}
	if (ev == STREAM_NEED_MORE) {
		stream_reader_eof(&r);
		ev = drain(&r, o, seed <= 1);
	}
	CHECK(ev == STREAM_DONE || ev == STREAM_ERROR);
	out->last = ev;
	out->ncmds = r.ncmds;
	out->nstreams = r.nstreams;
	out->consumed = r.consumed;
	out->err_index = r.err.index;
	out->err_offset = r.err.offset;
	if (ev == STREAM_ERROR) {
		CHECK(r.err.msg[0] != '\0');
		CHECK(r.err.index == r.ncmds);
		CHECK(r.err.offset <= size);
	}
	stream_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream_reader_opts o = { 0 };
	struct outcome whole, chunked;
	uint32_t h = stream_crc32c(0, data, size);

	o.allow_unknown = h & 1;
	if (h & 2)
		o.max_cmd_len = 1 + (h >> 8) % 4096;
	/* Whole input: copied in (seed 0) or attached in place (seed 1). */
	run(data, size, &o, (h >> 2) & 1, &whole);
	run(data, size, &o, h | 3, &chunked);
	CHECK(memcmp(&whole, &chunked, sizeof(whole)) == 0);
	return 0;
}
