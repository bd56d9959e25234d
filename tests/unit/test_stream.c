/*
 * Send-stream codec: CRC, writer byte vectors (spec 2.2), reader on the
 * kernel-made fixtures (checked against the independent decoder's
 * *.decoded.txt), chunking independence, every error kind with its index
 * and offset, concatenated streams, and the running digest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

#define MAXSIG 4096

/* What one reader event looked like, to compare runs. */
struct sig {
	int ev;
	uint16_t type;
	uint32_t version, len, crc, attrsum;
	uint64_t index, offset, present;
};

struct run {
	struct sig sig[MAXSIG];
	size_t n;
	int last;
	struct stream_error err;
	uint64_t ncmds, nstreams;
};

enum chunking { CH_WHOLE, CH_BYTE, CH_RANDOM, CH_SPACE, CH_LEND, CH_ATTACH };

static const uint8_t uuid_a[16] = {
	0xe4, 0x52, 0xaa, 0xf5, 0x55, 0x97, 0x2e, 0x49,
	0x95, 0xa4, 0xc9, 0x7c, 0xa6, 0x64, 0x1f, 0xab,
};

static uint32_t
attr_sum(const struct stream_cmd *c)
{
	uint32_t s = 0;
	int a;

	for (a = 1; a <= SEND_A_MAX; a++) {
		if (!stream_has(c, a))
			continue;
		s = stream_crc32c(s, &a, sizeof(a));
		s = stream_crc32c(s, &c->attr[a].len, sizeof(c->attr[a].len));
		s = stream_crc32c(s, c->attr[a].data, c->attr[a].len);
	}
	return s;
}

/* Drain events; returns the last (NEED_MORE, DONE or ERROR). */
static int
drain(struct stream_reader *r, struct run *out)
{
	struct stream_cmd c;
	struct sig *s;
	int ev;

	for (;;) {
		ev = stream_reader_next(r, &c);
		if (ev == STREAM_NEED_MORE || ev == STREAM_DONE ||
		    ev == STREAM_ERROR)
			return ev;
		assert_true(out->n < MAXSIG);
		s = &out->sig[out->n++];
		memset(s, 0, sizeof(*s));
		s->ev = ev;
		s->version = r->version;
		if (ev != STREAM_CMD)
			continue;
		assert_int_equal(c.raw[4] | c.raw[5] << 8, c.type);
		s->type = c.type;
		s->len = c.len;
		s->crc = c.crc;
		s->index = c.index;
		s->offset = c.offset;
		s->present = c.present;
		s->attrsum = attr_sum(&c);
	}
}

static void
run_stream(const uint8_t *p, size_t len, enum chunking how,
    const struct stream_reader_opts *o, struct run *out)
{
	struct stream_reader r;
	size_t pos = 0, n, avail;
	uint8_t *dst;
	int ev = STREAM_NEED_MORE;

	memset(out, 0, sizeof(*out));
	srand(1234);
	assert_int_equal(stream_reader_init(&r, o), 0);
	if (how == CH_ATTACH) {
		assert_int_equal(stream_reader_attach(&r, p, len), 0);
		pos = len;
	}
	while (pos < len && ev == STREAM_NEED_MORE) {
		switch (how) {
		case CH_WHOLE:  n = len; break;
		case CH_BYTE:   n = 1; break;
		default:        n = 1 + (size_t)rand() % 300; break;
		}
		if (n > len - pos)
			n = len - pos;
		if (how == CH_SPACE) {
			dst = stream_reader_space(&r, 1 + (size_t)rand() % 64,
			    &avail);
			assert_non_null(dst);
			if (n > avail)
				n = avail;
			memcpy(dst, p + pos, n);
			stream_reader_commit(&r, n);
		} else if (how == CH_LEND) {
			/* lent memory is scribbled over once kept: the reader
			 * must have copied what it still needs */
			uint8_t *lent = malloc(n);

			assert_non_null(lent);
			memcpy(lent, p + pos, n);
			assert_int_equal(stream_reader_lend(&r, lent, n), 0);
			pos += n;
			ev = drain(&r, out);
			assert_int_equal(stream_reader_keep(&r), 0);
			memset(lent, 0xa5, n);
			free(lent);
			continue;
		} else
			assert_int_equal(stream_reader_feed(&r, p + pos, n), 0);
		pos += n;
		ev = drain(&r, out);
	}
	if (ev == STREAM_NEED_MORE) {
		stream_reader_eof(&r);
		ev = drain(&r, out);
	}
	out->last = ev;
	out->err = r.err;
	out->ncmds = r.ncmds;
	out->nstreams = r.nstreams;
	/* Errors are sticky. */
	if (ev == STREAM_ERROR) {
		struct stream_cmd c;
		assert_int_equal(stream_reader_next(&r, &c), STREAM_ERROR);
	}
	stream_reader_free(&r);
}

/* Every chunking yields the same events and the same outcome. */
static void
run_all_chunkings(const uint8_t *p, size_t len,
    const struct stream_reader_opts *o, struct run *whole)
{
	static struct run other;
	enum chunking how;

	run_stream(p, len, CH_WHOLE, o, whole);
	for (how = CH_BYTE; how <= CH_ATTACH; how++) {
		run_stream(p, len, how, o, &other);
		assert_int_equal(other.last, whole->last);
		assert_int_equal(other.n, whole->n);
		assert_memory_equal(other.sig, whole->sig,
		    whole->n * sizeof(whole->sig[0]));
		assert_int_equal(other.err.index, whole->err.index);
		assert_int_equal(other.err.offset, whole->err.offset);
		assert_string_equal(other.err.msg, whole->err.msg);
	}
}

static uint8_t *
load(const char *name, size_t *len)
{
	char path[512];
	const char *top = getenv("TOP");
	uint8_t *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s",
	    top != NULL ? top : ".", name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (run from the top directory)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return (buf);
}

/* ---- CRC and writer vectors (spec 2.2) ---- */

static void
test_crc_vectors(void **state)
{
	const char *s = "123456789";

	(void)state;
	assert_int_equal(stream_crc32c(0, s, 9), 0x58e3fa20);
	/* Chaining over a split equals one pass. */
	assert_int_equal(stream_crc32c(stream_crc32c(0, s, 4), s + 4, 5),
	    0x58e3fa20);
	assert_int_equal(stream_crc32c(0, s, 0), 0);
}

static const uint8_t v_end[] = { 0x00, 0x00, 0x00, 0x00, 0x15, 0x00, 0x50,
	0x6c, 0xc9, 0x9d };
static const uint8_t v_unlink[] = { 0x08, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x9d,
	0x11, 0xf6, 0x22, 0x0f, 0x00, 0x04, 0x00, 0x66, 0x69, 0x6c, 0x65 };
static const uint8_t v_write1[] = { 0x17, 0x00, 0x00, 0x00, 0x0f, 0x00, 0xe4,
	0x67, 0x25, 0xae, 0x0f, 0x00, 0x01, 0x00, 0x66, 0x12, 0x00, 0x08,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13, 0x00,
	0x02, 0x00, 0x68, 0x69 };
static const uint8_t v_write2[] = { 0x15, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x0b,
	0x49, 0x86, 0xee, 0x0f, 0x00, 0x01, 0x00, 0x66, 0x12, 0x00, 0x08,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13, 0x00,
	0x68, 0x69 };
static const uint8_t v_header1[] = { 0x62, 0x74, 0x72, 0x66, 0x73, 0x2d,
	0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x00, 0x01, 0x00, 0x00, 0x00 };

/* Write the vector commands with the writer; check bytes, then parse. */
static void
check_vectors(uint32_t version)
{
	uint8_t buf[256];
	struct stream_writer w;
	struct stream_reader r;
	struct stream_cmd c;
	const uint8_t *wv = version == 1 ? v_write1 : v_write2;
	size_t wlen = version == 1 ? sizeof(v_write1) : sizeof(v_write2);
	const uint8_t *p;
	uint32_t n;
	uint64_t off;
	size_t pos;

	stream_writer_init(&w, buf, sizeof(buf), version);
	assert_int_equal(stream_wr_header(&w), 0);
	if (version == 1)
		assert_memory_equal(buf, v_header1, sizeof(v_header1));
	pos = w.pos;
	stream_wr_begin(&w, SEND_C_UNLINK);
	stream_wr_str(&w, SEND_A_PATH, "file");
	assert_int_equal(stream_wr_end(&w), sizeof(v_unlink));
	assert_memory_equal(buf + pos, v_unlink, sizeof(v_unlink));
	pos = w.pos;
	stream_wr_begin(&w, SEND_C_WRITE);
	stream_wr_str(&w, SEND_A_PATH, "f");
	stream_wr_u64(&w, SEND_A_FILE_OFFSET, 0);
	stream_wr_data(&w, "hi", 2);
	assert_int_equal(stream_wr_end(&w), (long)wlen);
	assert_memory_equal(buf + pos, wv, wlen);
	pos = w.pos;
	stream_wr_begin(&w, SEND_C_END);
	assert_int_equal(stream_wr_end(&w), sizeof(v_end));
	assert_memory_equal(buf + pos, v_end, sizeof(v_end));

	stream_reader_init(&r, NULL);
	assert_int_equal(stream_reader_feed(&r, buf, w.pos), 0);
	stream_reader_eof(&r);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_HEADER);
	assert_int_equal(r.version, version);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
	assert_int_equal(c.type, SEND_C_UNLINK);
	assert_int_equal(c.crc, 0x22f6119d);
	assert_int_equal(stream_get_bytes(&c, SEND_A_PATH, &p, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(p, "file", 4);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
	assert_int_equal(c.type, SEND_C_WRITE);
	assert_int_equal(c.index, 1);
	assert_int_equal(c.offset, STREAM_HEADER_LEN + sizeof(v_unlink));
	assert_int_equal(c.len, wlen - STREAM_CMD_HEADER_LEN);
	assert_int_equal(stream_get_u64(&c, SEND_A_FILE_OFFSET, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(stream_get_bytes(&c, SEND_A_DATA, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(p, "hi", 2);
	assert_int_equal(stream_get_bytes(&c, SEND_A_PATH, &p, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
	assert_int_equal(c.type, SEND_C_END);
	assert_int_equal(c.crc, 0x9dc96c50);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_DONE);
	assert_int_equal(r.ncmds, 3);
	assert_int_equal(r.consumed, w.pos);
	stream_reader_free(&r);
}

static void
test_writer_vectors_v1(void **state)
{
	(void)state;
	check_vectors(1);
}

static void
test_writer_vectors_v2(void **state)
{
	(void)state;
	check_vectors(2);
}

static void
test_writer_errors(void **state)
{
	uint8_t buf[64], big[70000];
	struct stream_writer w;

	(void)state;
	memset(big, 'x', sizeof(big));
	/* Too small a buffer: -1, and the position does not move. */
	stream_writer_init(&w, buf, 20, 1);
	stream_wr_begin(&w, SEND_C_UNLINK);
	stream_wr_str(&w, SEND_A_PATH, "a-long-path-name");
	assert_int_equal(stream_wr_end(&w), -1);
	assert_int_equal(w.pos, 0);
	/* The writer is usable again after a failed command. */
	stream_wr_begin(&w, SEND_C_END);
	assert_int_equal(stream_wr_end(&w), 10);
	/* v2: nothing may follow DATA. */
	stream_writer_init(&w, buf, sizeof(buf), 2);
	stream_wr_begin(&w, SEND_C_WRITE);
	stream_wr_data(&w, "x", 1);
	stream_wr_str(&w, SEND_A_PATH, "f");
	assert_int_equal(stream_wr_end(&w), -1);
	/* v1: a TLV value is at most 64 KiB - 1. */
	stream_writer_init(&w, big, sizeof(big), 1);
	stream_wr_begin(&w, SEND_C_WRITE);
	stream_wr_data(&w, big, 65536);
	assert_int_equal(stream_wr_end(&w), -1);
}

/* ---- fixtures against the independent decoder's output ---- */

static int
attr_by_name(const char *name, size_t len)
{
	int a;

	for (a = 1; a <= SEND_A_MAX; a++)
		if (strlen(stream_attr_name(a)) == len &&
		    strncmp(stream_attr_name(a), name, len) == 0)
			return a;
	return -1;
}

/* Our value of attribute a, in the decoder's notation. */
static void
format_attr(const struct stream_cmd *c, int a, char *out, size_t sz)
{
	struct stream_timespec t;
	const uint8_t *p;
	uint64_t v;
	uint32_t n, v32;
	size_t i;

	switch (a) {
	case SEND_A_XATTR_NAME: case SEND_A_XATTR_DATA: case SEND_A_PATH:
	case SEND_A_PATH_TO: case SEND_A_PATH_LINK: case SEND_A_CLONE_PATH:
		assert_int_equal(stream_get_bytes(c, a, &p, &n), 0);
		snprintf(out, sz, "'%.*s'", (int)n, (const char *)p);
		break;
	case SEND_A_UUID: case SEND_A_CLONE_UUID:
		assert_int_equal(stream_get_bytes(c, a, &p, &n), 0);
		assert_int_equal(n, 16);
		for (i = 0; i < 16; i++)
			snprintf(out + 2 * i, sz - 2 * i, "%02x", p[i]);
		break;
	case SEND_A_CTIME: case SEND_A_MTIME: case SEND_A_ATIME:
	case SEND_A_OTIME:
		assert_int_equal(stream_get_time(c, a, &t), 0);
		snprintf(out, sz, "%" PRIu64 ".%09" PRIu32, t.sec, t.nsec);
		break;
	case SEND_A_DATA:
		assert_int_equal(stream_get_bytes(c, a, &p, &n), 0);
		snprintf(out, sz, "<%" PRIu32 " bytes>", n);
		break;
	case SEND_A_FALLOCATE_MODE:
		assert_int_equal(stream_get_u32(c, a, &v32), 0);
		snprintf(out, sz, "%" PRIu32, v32);
		break;
	case SEND_A_MODE:
		assert_int_equal(stream_get_u64(c, a, &v), 0);
		snprintf(out, sz, "0o%" PRIo64, v);
		break;
	default:
		assert_int_equal(stream_get_u64(c, a, &v), 0);
		snprintf(out, sz, "%" PRIu64, v);
		break;
	}
}

/* One "name len=N crc_ok=True K=V ..." line against a parsed command. */
static void
check_decoded_cmd(const char *line, const struct stream_cmd *c)
{
	char name[32], got[256];
	const char *p, *eq, *end;
	unsigned len;
	int a, nattr = 0;

	assert_int_equal(sscanf(line, "%31s len=%u", name, &len), 2);
	assert_string_equal(name, stream_cmd_name(c->type));
	assert_int_equal(len, c->len);
	p = strstr(line, "crc_ok=True");
	assert_non_null(p);
	p += strlen("crc_ok=True");
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0' || *p == '\n')
			break;
		eq = strchr(p, '=');
		assert_non_null(eq);
		if (strncmp(p, "DATA(no len)", 12) == 0) {
			a = SEND_A_DATA;
			assert_true(c->version >= 2);
		} else {
			a = attr_by_name(p, (size_t)(eq - p));
			if (a == SEND_A_DATA)
				assert_int_equal(c->version, 1);
		}
		assert_true(a > 0);
		assert_true(stream_has(c, a));
		p = eq + 1;
		if (*p == '\'')
			end = strchr(p + 1, '\'') + 1;
		else if (*p == '<')
			end = strchr(p, '>') + 1;
		else
			end = p + strcspn(p, " \n");
		format_attr(c, a, got, sizeof(got));
		if (strlen(got) != (size_t)(end - p) ||
		    strncmp(got, p, (size_t)(end - p)) != 0)
			fail_msg("%s: %s is %s, decoder says %.*s", name,
			    stream_attr_name(a), got, (int)(end - p), p);
		nattr++;
		p = end;
	}
	assert_int_equal(__builtin_popcountll(c->present), nattr);
}

static void
check_fixture(const char *base)
{
	struct stream_reader r;
	struct stream_cmd c;
	struct run *whole;
	char fn[128], *line, *save = NULL;
	uint8_t *s;
	char *txt;
	size_t slen, tlen;
	unsigned ver;
	int ev, ncmd = 0;

	snprintf(fn, sizeof(fn), "%s.stream", base);
	s = load(fn, &slen);
	snprintf(fn, sizeof(fn), "%s.decoded.txt", base);
	txt = (char *)load(fn, &tlen);

	stream_reader_init(&r, NULL);
	assert_int_equal(stream_reader_feed(&r, s, slen), 0);
	stream_reader_eof(&r);
	for (line = strtok_r(txt, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ev = stream_reader_next(&r, &c);
		if (sscanf(line, "HEADER version %u", &ver) == 1) {
			assert_int_equal(ev, STREAM_HEADER);
			assert_int_equal(r.version, ver);
			continue;
		}
		if (ev != STREAM_CMD)
			fail_msg("%s line '%s': event %d: %s", base, line, ev,
			    r.err.msg);
		assert_int_equal(c.index, ncmd++);
		check_decoded_cmd(line, &c);
	}
	assert_int_equal(stream_reader_next(&r, &c), STREAM_DONE);
	assert_int_equal(r.consumed, slen);
	stream_reader_free(&r);

	whole = malloc(sizeof(*whole));
	assert_non_null(whole);
	run_all_chunkings(s, slen, NULL, whole);
	assert_int_equal(whole->last, STREAM_DONE);
	assert_int_equal(whole->ncmds, ncmd);
	free(whole);
	free(s);
	free(txt);
}

static void
test_fixture_inc_v1(void **state)
{
	(void)state;
	check_fixture("inc-v1");
}

static void
test_fixture_inc_v2(void **state)
{
	(void)state;
	check_fixture("inc-v2");
}

static void
test_fixture_hole_v2(void **state)
{
	(void)state;
	check_fixture("hole-v2");
}

static void
test_fixture_evil2(void **state)
{
	(void)state;
	check_fixture("evil2");
}

/* ---- a writer-made stream used by the error tests ---- */

struct built {
	uint8_t *buf;
	size_t len;
	size_t off[16];         /* offset of command i */
	size_t ncmds;
};

static void
mark(struct built *b, struct stream_writer *w)
{
	b->off[b->ncmds++] = w->pos;
}

static void
build_stream(struct built *b, uint32_t version, size_t datalen)
{
	static const struct stream_timespec ts = { 1700000000, 123456789 };
	struct stream_writer w;
	uint8_t *data;
	size_t cap = datalen + 4096;

	memset(b, 0, sizeof(*b));
	b->buf = malloc(cap);
	data = malloc(datalen + 1);
	assert_non_null(b->buf);
	assert_non_null(data);
	memset(data, 0x5a, datalen);
	stream_writer_init(&w, b->buf, cap, version);
	assert_int_equal(stream_wr_header(&w), 0);
	mark(b, &w);
	stream_wr_begin(&w, SEND_C_SUBVOL);
	stream_wr_str(&w, SEND_A_PATH, "sv");
	stream_wr_uuid(&w, SEND_A_UUID, uuid_a);
	stream_wr_u64(&w, SEND_A_CTRANSID, 7);
	assert_true(stream_wr_end(&w) > 0);
	mark(b, &w);
	stream_wr_begin(&w, SEND_C_MKFILE);
	stream_wr_str(&w, SEND_A_PATH, "o257-7-0");
	stream_wr_u64(&w, SEND_A_INO, 257);
	assert_true(stream_wr_end(&w) > 0);
	mark(b, &w);
	stream_wr_begin(&w, SEND_C_RENAME);
	stream_wr_str(&w, SEND_A_PATH, "o257-7-0");
	stream_wr_str(&w, SEND_A_PATH_TO, "file");
	assert_true(stream_wr_end(&w) > 0);
	mark(b, &w);
	stream_wr_begin(&w, SEND_C_WRITE);
	stream_wr_str(&w, SEND_A_PATH, "file");
	stream_wr_u64(&w, SEND_A_FILE_OFFSET, 0);
	stream_wr_data(&w, data, datalen);
	assert_true(stream_wr_end(&w) > 0);
	mark(b, &w);
	stream_wr_begin(&w, SEND_C_UTIMES);
	stream_wr_str(&w, SEND_A_PATH, "file");
	stream_wr_time(&w, SEND_A_ATIME, &ts);
	stream_wr_time(&w, SEND_A_MTIME, &ts);
	stream_wr_time(&w, SEND_A_CTIME, &ts);
	assert_true(stream_wr_end(&w) > 0);
	mark(b, &w);
	stream_wr_begin(&w, SEND_C_END);
	assert_true(stream_wr_end(&w) > 0);
	b->len = w.pos;
	free(data);
}

/* Recompute the CRC of the command at off after patching it. */
static void
refresh_crc(uint8_t *buf, size_t off)
{
	uint8_t *p = buf + off;
	uint32_t len = (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 |
	    (uint32_t)p[3] << 24), crc;

	memset(p + 6, 0, 4);
	crc = stream_crc32c(0, p, STREAM_CMD_HEADER_LEN + len);
	p[6] = (uint8_t)crc;
	p[7] = (uint8_t)(crc >> 8);
	p[8] = (uint8_t)(crc >> 16);
	p[9] = (uint8_t)(crc >> 24);
}

static struct run *
expect_error(const uint8_t *p, size_t len, const struct stream_reader_opts *o,
    uint64_t index, uint64_t offset, const char *what)
{
	static struct run whole;

	run_all_chunkings(p, len, o, &whole);
	if (whole.last != STREAM_ERROR)
		fail_msg("expected error '%s', got event %d", what, whole.last);
	if (strstr(whole.err.msg, what) == NULL)
		fail_msg("expected '%s', got '%s'", what, whole.err.msg);
	assert_int_equal(whole.err.index, index);
	assert_int_equal(whole.err.offset, offset);
	return &whole;
}

static void
test_error_crc(void **state)
{
	struct built b;
	struct run *r;

	(void)state;
	build_stream(&b, 1, 300);
	b.buf[b.off[3] + 40] ^= 0x01;   /* inside WRITE's data */
	r = expect_error(b.buf, b.len, NULL, 3, b.off[3], "crc mismatch");
	assert_int_equal(r->err.cmd_type, SEND_C_WRITE);
	assert_false(r->err.in_header);
	/* The commands before the bad one were all delivered. */
	assert_int_equal(r->ncmds, 3);
	b.buf[b.off[3] + 40] ^= 0x01;
	b.buf[b.off[4] + 7] ^= 0x80;    /* the stored CRC itself */
	expect_error(b.buf, b.len, NULL, 4, b.off[4], "crc mismatch");
	free(b.buf);
}

static void
test_error_header(void **state)
{
	struct built b;
	struct run *r;

	(void)state;
	build_stream(&b, 1, 10);
	r = expect_error(b.buf, 0, NULL, 0, 0, "empty stream");
	assert_true(r->err.in_header);
	expect_error(b.buf, 9, NULL, 0, 0, "truncated stream header");
	b.buf[12] = 'x';                /* the magic's NUL */
	r = expect_error(b.buf, b.len, NULL, 0, 0, "bad stream header magic");
	assert_true(r->err.in_header);
	b.buf[12] = 0;
	b.buf[13] = 0;                  /* version 0 */
	expect_error(b.buf, b.len, NULL, 0, 0, "unsupported stream version 0");
	b.buf[13] = 4;
	expect_error(b.buf, b.len, NULL, 0, 0, "unsupported stream version 4");
	free(b.buf);
}

static void
test_error_truncated(void **state)
{
	struct built b;
	size_t i, cut;

	(void)state;
	build_stream(&b, 2, 100);
	for (i = 0; i < b.ncmds; i++) {
		/* At the boundary: no END; one byte on: truncated. */
		expect_error(b.buf, b.off[i], NULL, i, b.off[i],
		    "stream ends without END command");
		for (cut = b.off[i] + 1; cut < b.off[i] + 12 && cut < b.len;
		    cut++)
			expect_error(b.buf, cut, NULL, i, b.off[i],
			    "truncated command");
	}
	/* The last byte of END missing. */
	expect_error(b.buf, b.len - 1, NULL, b.ncmds - 1, b.off[b.ncmds - 1],
	    "truncated command");
	free(b.buf);
}

static void
test_error_huge_length(void **state)
{
	struct built b;
	struct stream_reader r;
	struct stream_reader_opts o = { .max_cmd_len = 65536 };
	struct stream_cmd c;
	uint8_t *p;

	(void)state;
	build_stream(&b, 2, 10);
	p = b.buf + b.off[1];
	p[0] = 0xf0; p[1] = 0xff; p[2] = 0xff; p[3] = 0xff;
	/* Only the header and 10 bytes arrive: it fails at once. */
	stream_reader_init(&r, NULL);
	assert_int_equal(stream_reader_feed(&r, b.buf, b.off[1] + 10), 0);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_HEADER);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_ERROR);
	assert_non_null(strstr(r.err.msg, "exceeds the limit"));
	assert_int_equal(r.err.index, 1);
	assert_int_equal(r.err.offset, b.off[1]);
	assert_true(r.cap < (2u << 20));
	stream_reader_free(&r);
	/* A configured limit applies too. */
	p[0] = 0x01; p[1] = 0x00; p[2] = 0x01; p[3] = 0x00;    /* 65537 */
	expect_error(b.buf, b.len, &o, 1, b.off[1], "exceeds the limit");
	free(b.buf);
}

/* Build one command from raw payload bytes after a v<version> header. */
static size_t
raw_stream(uint8_t *buf, uint32_t version, int cmd, const void *pl,
    size_t plen)
{
	struct stream_writer w;

	stream_writer_init(&w, buf, 1024, version);
	stream_wr_header(&w);
	stream_wr_begin(&w, cmd);
	assert_true(stream_wr_end(&w) > 0);
	memcpy(buf + STREAM_HEADER_LEN + STREAM_CMD_HEADER_LEN, pl, plen);
	buf[STREAM_HEADER_LEN] = (uint8_t)plen;
	buf[STREAM_HEADER_LEN + 1] = (uint8_t)(plen >> 8);
	refresh_crc(buf, STREAM_HEADER_LEN);
	return STREAM_HEADER_LEN + STREAM_CMD_HEADER_LEN + plen;
}

#define TLV0 (STREAM_HEADER_LEN + STREAM_CMD_HEADER_LEN)

static void
test_error_tlv(void **state)
{
	uint8_t buf[1024];
	/* UNLINK PATH "ab" then a second attribute at payload offset 6. */
	uint8_t pl[32] = { 15, 0, 2, 0, 'a', 'b' };
	size_t n;

	(void)state;
	/* 1 byte left: no room for a type. */
	n = raw_stream(buf, 1, SEND_C_UNLINK, pl, 7);
	expect_error(buf, n, NULL, 0, TLV0 + 6, "truncated attribute header");
	/* 3 bytes left: no room for a v1 length. */
	pl[6] = SEND_A_INO;
	n = raw_stream(buf, 1, SEND_C_UNLINK, pl, 9);
	expect_error(buf, n, NULL, 0, TLV0 + 6, "truncated attribute header");
	/* Length beyond the command. */
	pl[8] = 9;
	n = raw_stream(buf, 1, SEND_C_UNLINK, pl, 6 + 4 + 8);
	expect_error(buf, n, NULL, 0, TLV0 + 6, "exceeds the command");
	/* Wrong fixed size: INO of 4 bytes. */
	pl[8] = 4;
	n = raw_stream(buf, 1, SEND_C_UNLINK, pl, 6 + 4 + 4);
	expect_error(buf, n, NULL, 0, TLV0 + 6, "INO has size 4, want 8");
	/* Types: 0, and past the version's maximum. */
	pl[6] = 0;
	n = raw_stream(buf, 1, SEND_C_UNLINK, pl, 6 + 4 + 4);
	expect_error(buf, n, NULL, 0, TLV0 + 6, "bad attribute type 0");
	pl[6] = 25;
	n = raw_stream(buf, 1, SEND_C_UNLINK, pl, 6 + 4 + 4);
	expect_error(buf, n, NULL, 0, TLV0 + 6, "bad attribute type 25 (v1");
	/* ... which is FALLOCATE_MODE, a valid u32, in v2. */
	n = raw_stream(buf, 2, SEND_C_UNLINK, pl, 6 + 4 + 4);
	expect_error(buf, n, NULL, 1, n, "stream ends without END");
	pl[6] = 32;
	expect_error(buf, raw_stream(buf, 2, SEND_C_UNLINK, pl, 14), NULL, 0,
	    TLV0 + 6, "bad attribute type 32 (v2");
	/* Repeated attribute. */
	pl[6] = 15; pl[8] = 1; pl[10] = 'c';
	n = raw_stream(buf, 1, SEND_C_UNLINK, pl, 6 + 5);
	expect_error(buf, n, NULL, 0, TLV0 + 6, "PATH repeated");
}

static void
test_error_semantics(void **state)
{
	uint8_t buf[1024];
	uint8_t pl[32] = { 15, 0, 2, 0, 'a', 'b' };
	struct stream_reader_opts o = { .allow_unknown = true };
	struct run *r;
	size_t n;

	(void)state;
	/* WRITE without FILE_OFFSET and DATA. */
	n = raw_stream(buf, 1, SEND_C_WRITE, pl, 6);
	r = expect_error(buf, n, NULL, 0, STREAM_HEADER_LEN,
	    "missing attribute FILE_OFFSET");
	assert_int_equal(r->err.cmd_type, SEND_C_WRITE);
	/* FALLOCATE does not exist in v1; 27 does not exist at all. */
	n = raw_stream(buf, 1, SEND_C_FALLOCATE, pl, 6);
	expect_error(buf, n, NULL, 0, STREAM_HEADER_LEN,
	    "unknown command 23 for stream version 1");
	n = raw_stream(buf, 3, 27, pl, 6);
	expect_error(buf, n, NULL, 0, STREAM_HEADER_LEN, "unknown command 27");
	/* allow_unknown: delivered, then the missing END is the error. */
	r = expect_error(buf, n, &o, 1, n, "stream ends without END");
	assert_int_equal(r->sig[1].type, 27);
	/* v2 DATA runs to the end: what follows is data, not a TLV. */
	pl[6] = SEND_A_DATA; pl[7] = 0;
	memcpy(pl + 8, "\x12\x00\x08\x00", 4);
	n = raw_stream(buf, 2, SEND_C_WRITE, pl, 12);
	expect_error(buf, n, NULL, 0, STREAM_HEADER_LEN,
	    "missing attribute FILE_OFFSET");
	/* The same bytes in v1 are a DATA TLV of length 0x12: too long. */
	n = raw_stream(buf, 1, SEND_C_WRITE, pl, 12);
	expect_error(buf, n, NULL, 0, TLV0 + 6, "DATA length 18 exceeds");
}

static void
test_after_end(void **state)
{
	struct built b;
	uint8_t *two;
	struct run *r;

	(void)state;
	build_stream(&b, 1, 10);
	two = malloc(b.len + 5);
	assert_non_null(two);
	memcpy(two, b.buf, b.len);
	memcpy(two + b.len, "junk!", 5);
	r = expect_error(two, b.len + 5, NULL, b.ncmds, b.len,
	    "bad stream header magic after END");
	assert_true(r->err.in_header);
	assert_int_equal(r->ncmds, b.ncmds);
	free(two);
	free(b.buf);
}

static void
test_concatenated(void **state)
{
	struct built a, b;
	uint8_t *cat;
	struct run *r;
	size_t i;

	(void)state;
	build_stream(&a, 1, 5000);
	build_stream(&b, 2, 200000);    /* one command > 64 KiB */
	cat = malloc(a.len + b.len);
	assert_non_null(cat);
	memcpy(cat, a.buf, a.len);
	memcpy(cat + a.len, b.buf, b.len);
	r = malloc(sizeof(*r));
	assert_non_null(r);
	run_all_chunkings(cat, a.len + b.len, NULL, r);
	assert_int_equal(r->last, STREAM_DONE);
	assert_int_equal(r->nstreams, 2);
	assert_int_equal(r->ncmds, a.ncmds + b.ncmds);
	assert_int_equal(r->n, 2 + a.ncmds + b.ncmds);
	assert_int_equal(r->sig[0].ev, STREAM_HEADER);
	assert_int_equal(r->sig[1 + a.ncmds].ev, STREAM_HEADER);
	assert_int_equal(r->sig[1 + a.ncmds].version, 2);
	for (i = 0; i < b.ncmds; i++) {
		assert_int_equal(r->sig[2 + a.ncmds + i].index, a.ncmds + i);
		assert_int_equal(r->sig[2 + a.ncmds + i].offset,
		    a.len + b.off[i]);
		assert_int_equal(r->sig[2 + a.ncmds + i].version, 2);
	}
	assert_int_equal(r->sig[2 + a.ncmds + 3].len, 4 + 4 + 4 + 8 + 2 +
	    200000);
	/* An error in the second stream names the global index/offset. */
	cat[a.len + b.off[2] + 12] ^= 0xff;
	expect_error(cat, a.len + b.len, NULL, a.ncmds + 2, a.len + b.off[2],
	    "crc mismatch");
	free(r);
	free(cat);
	free(a.buf);
	free(b.buf);
}

/* send -e: several SUBVOL commands in one stream, one END. */
static void
test_multi_subvol(void **state)
{
	uint8_t buf[512];
	struct stream_writer w;
	struct run *r;
	int i;

	(void)state;
	stream_writer_init(&w, buf, sizeof(buf), 1);
	stream_wr_header(&w);
	for (i = 0; i < 3; i++) {
		stream_wr_begin(&w, SEND_C_SUBVOL);
		stream_wr_str(&w, SEND_A_PATH, "s");
		stream_wr_uuid(&w, SEND_A_UUID, uuid_a);
		stream_wr_u64(&w, SEND_A_CTRANSID, (uint64_t)i);
		assert_true(stream_wr_end(&w) > 0);
	}
	stream_wr_begin(&w, SEND_C_END);
	assert_true(stream_wr_end(&w) > 0);
	r = malloc(sizeof(*r));
	assert_non_null(r);
	run_all_chunkings(buf, w.pos, NULL, r);
	assert_int_equal(r->last, STREAM_DONE);
	assert_int_equal(r->ncmds, 4);
	free(r);
}

static void
test_accessors(void **state)
{
	struct built b;
	struct stream_reader r;
	struct stream_cmd c;
	struct stream_timespec t;
	uint8_t u[16], u8;
	uint64_t v;
	uint32_t v32;

	(void)state;
	build_stream(&b, 1, 10);
	stream_reader_init(&r, NULL);
	stream_reader_feed(&r, b.buf, b.len);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_HEADER);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
	assert_int_equal(stream_get_uuid(&c, SEND_A_UUID, u), 0);
	assert_memory_equal(u, uuid_a, 16);
	assert_int_equal(stream_get_u64(&c, SEND_A_CTRANSID, &v), 0);
	assert_int_equal(v, 7);
	/* Wrong size or absent: -1. */
	assert_int_equal(stream_get_u32(&c, SEND_A_CTRANSID, &v32), -1);
	assert_int_equal(stream_get_u8(&c, SEND_A_CTRANSID, &u8), -1);
	assert_int_equal(stream_get_u64(&c, SEND_A_INO, &v), -1);
	assert_int_equal(stream_get_time(&c, SEND_A_ATIME, &t), -1);
	assert_false(stream_has(&c, 0));
	assert_false(stream_has(&c, SEND_A_MAX + 1));
	assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
	assert_int_equal(c.type, SEND_C_UTIMES);
	assert_int_equal(stream_get_time(&c, SEND_A_MTIME, &t), 0);
	assert_int_equal(t.sec, 1700000000);
	assert_int_equal(t.nsec, 123456789);
	/* Without eof the reader waits after END. */
	assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_NEED_MORE);
	stream_reader_eof(&r);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_DONE);
	stream_reader_free(&r);
	free(b.buf);
	assert_string_equal(stream_cmd_name(SEND_C_SET_XATTR), "set_xattr");
	assert_string_equal(stream_cmd_name(99), "unknown");
	assert_string_equal(stream_attr_name(SEND_A_FILE_OFFSET),
	    "FILE_OFFSET");
}

static void
test_attach(void **state)
{
	struct built b;
	struct stream_reader r;
	struct stream_cmd c;
	size_t avail, i;

	(void)state;
	build_stream(&b, 2, 1000);
	stream_reader_init(&r, NULL);
	assert_int_equal(stream_reader_attach(&r, b.buf, b.len), 0);
	/* Attached input is all there is. */
	assert_int_equal(stream_reader_feed(&r, "x", 1), -1);
	assert_null(stream_reader_space(&r, 1, &avail));
	assert_int_equal(stream_reader_attach(&r, b.buf, b.len), -1);
	assert_int_equal(stream_reader_next(&r, &c), STREAM_HEADER);
	for (i = 0; i < b.ncmds; i++) {
		assert_int_equal(stream_reader_next(&r, &c), STREAM_CMD);
		/* No copy: commands point into the caller's bytes. */
		assert_ptr_equal(c.raw, b.buf + b.off[i]);
	}
	assert_int_equal(stream_reader_next(&r, &c), STREAM_DONE);
	stream_reader_free(&r);
	/* Not after other input. */
	stream_reader_init(&r, NULL);
	assert_int_equal(stream_reader_feed(&r, b.buf, 5), 0);
	assert_int_equal(stream_reader_attach(&r, b.buf, b.len), -1);
	stream_reader_free(&r);
	free(b.buf);
}

/* ---- digest ---- */

static void
test_digest(void **state)
{
	struct stream_digest d, e;
	char hex[STREAM_DIGEST_HEXLEN];

	(void)state;
	stream_digest_init(&d);
	stream_digest_hex(&d, hex);
	assert_string_equal(hex, "0000000000000000000000000000000000000000"
	    "000000000000000000000000");
	/*
	 * Derived with openssl(1):
	 *   { head -c 32 /dev/zero; printf 'btrfs-stream\0\1\0\0\0'; } |
	 *     openssl dgst -sha256        -> d1
	 *   { echo d1 | xxd -r -p; printf '\0\0\0\0\x15\0\x50\x6c\xc9\x9d'; } |
	 *     openssl dgst -sha256        -> d2
	 */
	stream_digest_add(&d, v_header1, sizeof(v_header1));
	stream_digest_hex(&d, hex);
	assert_string_equal(hex, "ae96710a48d4972faeff37c739869acb"
	    "17c6a32904fc41ce5f7c6c667cd4ed8e");
	/* Chaining: resuming from the stored hex continues identically. */
	assert_int_equal(stream_digest_parse(&e, hex), 0);
	stream_digest_add(&d, v_end, sizeof(v_end));
	stream_digest_add(&e, v_end, sizeof(v_end));
	stream_digest_hex(&d, hex);
	assert_string_equal(hex, "d1faa38d57d771f52dcf70fffad9ceca"
	    "541355af6d19898cc55f24d80cf03fa8");
	assert_memory_equal(d.d, e.d, STREAM_DIGEST_LEN);
	/* Order matters. */
	stream_digest_init(&e);
	stream_digest_add(&e, v_end, sizeof(v_end));
	stream_digest_add(&e, v_header1, sizeof(v_header1));
	assert_memory_not_equal(d.d, e.d, STREAM_DIGEST_LEN);
	/* Parse accepts upper case, refuses wrong length and non-hex. */
	assert_int_equal(stream_digest_parse(&e, "D1FAA38D57D771F52DCF70FFFAD9"
	    "CECA541355AF6D19898CC55F24D80CF03FA8"), 0);
	assert_memory_equal(d.d, e.d, STREAM_DIGEST_LEN);
	assert_int_equal(stream_digest_parse(&e, "d1fa"), -1);
	assert_int_equal(stream_digest_parse(&e, "g1faa38d57d771f52dcf70fffad9"
	    "ceca541355af6d19898cc55f24d80cf03fa8"), -1);
	assert_int_equal(stream_digest_parse(&e, "d1faa38d57d771f52dcf70fffad9"
	    "ceca541355af6d19898cc55f24d80cf03fa80"), -1);
}

static void *
digest_thread(void *arg)
{
	struct stream_digest *d = arg;

	stream_digest_init(d);
	stream_digest_add(d, v_header1, sizeof(v_header1));
	stream_digest_add(d, v_end, sizeof(v_end));
	stream_digest_thread_done();
	return NULL;
}

/*
 * Threads that digest get the same result as the main thread, and
 * stream_digest_thread_done frees their per-thread context (under ASan,
 * LeakSanitizer fails this binary at exit otherwise: the sender's
 * estimate thread is such a one).  The main thread can digest again
 * after it.
 */
static void
test_digest_threads(void **state)
{
	struct stream_digest main_d, d[4];
	pthread_t th[4];
	int i;

	(void)state;
	digest_thread(&main_d);
	digest_thread(&d[0]);
	assert_memory_equal(d[0].d, main_d.d, STREAM_DIGEST_LEN);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, digest_thread,
		    &d[i]), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_memory_equal(d[i].d, main_d.d, STREAM_DIGEST_LEN);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_vectors),
		cmocka_unit_test(test_writer_vectors_v1),
		cmocka_unit_test(test_writer_vectors_v2),
		cmocka_unit_test(test_writer_errors),
		cmocka_unit_test(test_fixture_inc_v1),
		cmocka_unit_test(test_fixture_inc_v2),
		cmocka_unit_test(test_fixture_hole_v2),
		cmocka_unit_test(test_fixture_evil2),
		cmocka_unit_test(test_error_crc),
		cmocka_unit_test(test_error_header),
		cmocka_unit_test(test_error_truncated),
		cmocka_unit_test(test_error_huge_length),
		cmocka_unit_test(test_error_tlv),
		cmocka_unit_test(test_error_semantics),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_concatenated),
		cmocka_unit_test(test_multi_subvol),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_digest_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
