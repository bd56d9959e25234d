/*
 * Network message codec and order checks (see wire.h, docs/protocol.md).
 * Integers are big-endian; a string is a u16 length and that many bytes
 * (no NUL); a ref is 16 uuid bytes and a u64 ctransid; a point is u64
 * index, u64 offset and 32 digest bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "proto/base/log.h"
#include "proto/msg/wire.h"

#define REF_LEN         24
#define POINT_LEN       (16 + STREAM_DIGEST_LEN)

static const char *const wire_type_names[] = {
	[WIRE_HELLO] = "hello",
	[WIRE_LIST] = "list",
	[WIRE_LIST_REPLY] = "list-reply",
	[WIRE_BEGIN] = "begin",
	[WIRE_BEGIN_REPLY] = "begin-reply",
	[WIRE_DATA] = "data",
	[WIRE_ACK] = "ack",
	[WIRE_END] = "end",
	[WIRE_DONE] = "done",
	[WIRE_PRUNE] = "prune",
	[WIRE_PRUNE_REPLY] = "prune-reply",
	[WIRE_ERROR] = "error",
	[WIRE_KEEPALIVE] = "keepalive",
};

static const char *const wire_error_names[] = {
	[WIRE_E_PROTOCOL] = "protocol",
	[WIRE_E_VERSION] = "version",
	[WIRE_E_AUTH] = "auth",
	[WIRE_E_DENIED] = "denied",
	[WIRE_E_NOTFOUND] = "not-found",
	[WIRE_E_STREAM] = "stream",
	[WIRE_E_APPLY] = "apply",
	[WIRE_E_BUSY] = "busy",
	[WIRE_E_RESOURCE] = "resource",
	[WIRE_E_TIMEOUT] = "timeout",
	[WIRE_E_INTERNAL] = "internal",
	[WIRE_E_SHUTDOWN] = "shutdown",
};

static bool
wire_known(uint16_t type)
{
	return type >= WIRE_HELLO && type <= WIRE_TYPE_MAX;
}

static uint32_t
wire_max_len(uint16_t type)
{
	switch (type) {
	case WIRE_DATA:
		return WIRE_DATA_MAX;
	case WIRE_LIST_REPLY:
		return WIRE_LIST_REPLY_MAX;
	case WIRE_KEEPALIVE:
		return 0;
	default:
		return WIRE_CTRL_MAX;
	}
}

const struct frame_rules wire_rules = { wire_known, wire_max_len };

const char *
wire_type_name(uint16_t type)
{
	return wire_known(type) ? wire_type_names[type] : "unknown";
}

const char *
wire_error_name(uint32_t code)
{
	if (code >= 1 && code <= WIRE_E_MAX)
		return wire_error_names[code];
	return "unknown";
}

bool
wire_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= WIRE_NAME_MAX && strchr(s, '/') == NULL &&
	    strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* ---- encoding ---- */

struct wr {
	struct wire_buf *b;
	size_t start;
	char *err;
	size_t errlen;
	int bad;
	bool head_only;         /* a DATA body is left to the caller */
};

static uint8_t *
wr_space(struct wr *w, size_t n)
{
	struct wire_buf *b = w->b;
	size_t cap;

	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	b->len += n;
	return b->p + b->len - n;
}

static void
wr_bad(struct wr *w, const char *what)
{
	if (!w->bad)
		frame_errf(w->err, w->errlen, "%s", what);
	w->bad = 1;
}

static void
wr_u16(struct wr *w, uint16_t v)
{
	frame_put16(wr_space(w, 2), v);
}

static void
wr_u32(struct wr *w, uint32_t v)
{
	frame_put32(wr_space(w, 4), v);
}

static void
wr_u64(struct wr *w, uint64_t v)
{
	frame_put64(wr_space(w, 8), v);
}

static void
wr_raw(struct wr *w, const void *p, size_t n)
{
	if (n > 0)
		memcpy(wr_space(w, n), p, n);
}

static void
wr_text(struct wr *w, const char *s, size_t max, const char *what)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		wr_bad(w, what);
		return;
	}
	wr_u16(w, (uint16_t)n);
	wr_raw(w, s, n);
}

static void
wr_name(struct wr *w, const char *s, const char *what)
{
	if (strnlen(s, WIRE_NAME_MAX + 1) > WIRE_NAME_MAX || !wire_name_valid(s)) {
		wr_bad(w, what);
		return;
	}
	wr_text(w, s, WIRE_NAME_MAX, what);
}

static void
wr_ref(struct wr *w, const struct wire_ref *r)
{
	wr_raw(w, r->uuid, 16);
	wr_u64(w, r->ctransid);
}

static void
wr_point(struct wr *w, const struct wire_point *p)
{
	wr_u64(w, p->index);
	wr_u64(w, p->offset);
	wr_raw(w, p->digest.d, STREAM_DIGEST_LEN);
}

static void
wr_stream_id(struct wr *w, const struct wire_stream_id *id)
{
	uint32_t i;

	if (id->nclones > WIRE_CLONES_MAX) {
		wr_bad(w, "too many clone sources");
		return;
	}
	wr_ref(w, &id->snap);
	wr_ref(w, &id->parent);
	wr_u32(w, id->version);
	wr_u32(w, id->flags);
	wr_u32(w, id->nclones);
	for (i = 0; i < id->nclones; i++)
		wr_ref(w, &id->clones[i]);
}

static void
wr_list_reply(struct wr *w, const struct wire_list_reply *l)
{
	uint32_t i;

	if (l->nsnaps > WIRE_LIST_MAX || l->npartials > WIRE_PARTIALS_MAX) {
		wr_bad(w, "list reply too long");
		return;
	}
	wr_u32(w, l->nsnaps);
	for (i = 0; i < l->nsnaps; i++) {
		wr_name(w, l->snaps[i].name, "bad snapshot name in list reply");
		wr_ref(w, &l->snaps[i].received);
	}
	wr_u32(w, l->npartials);
	for (i = 0; i < l->npartials; i++) {
		wr_name(w, l->partials[i].name, "bad partial name in list reply");
		wr_stream_id(w, &l->partials[i].id);
		wr_point(w, &l->partials[i].point);
	}
}

static void
wr_payload(struct wr *w, const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_HELLO:
		wr_u16(w, m->u.hello.version);
		wr_u32(w, m->u.hello.caps);
		wr_u32(w, m->u.hello.stream_version_max);
		wr_u32(w, m->u.hello.data_max);
		wr_text(w, m->u.hello.agent, WIRE_TEXT_MAX, "agent too long");
		break;
	case WIRE_LIST:
		wr_name(w, m->u.job, "bad job name");
		break;
	case WIRE_LIST_REPLY:
		wr_list_reply(w, &m->u.list);
		break;
	case WIRE_BEGIN:
		wr_name(w, m->u.begin.job, "bad job name");
		wr_name(w, m->u.begin.name, "bad snapshot name");
		wr_stream_id(w, &m->u.begin.id);
		wr_u64(w, m->u.begin.size_hint);
		break;
	case WIRE_BEGIN_REPLY:
		wr_u32(w, m->u.begin_reply.status);
		wr_point(w, &m->u.begin_reply.point);
		wr_text(w, m->u.begin_reply.reason, WIRE_TEXT_MAX,
		    "reason too long");
		break;
	case WIRE_DATA:
		if (m->u.data.raw_len > WIRE_DATA_RAW_MAX ||
		    m->u.data.body_len > WIRE_DATA_RAW_MAX ||
		    (!m->u.data.zstd && m->u.data.body_len != m->u.data.raw_len)) {
			wr_bad(w, "data body over bound or lengths disagree");
			break;
		}
		wr_u64(w, m->u.data.index);
		wr_u64(w, m->u.data.offset);
		wr_u32(w, m->u.data.ncmds);
		wr_u32(w, m->u.data.raw_len);
		if (!w->head_only)
			wr_raw(w, m->u.data.body, m->u.data.body_len);
		break;
	case WIRE_ACK:
	case WIRE_END:
		wr_point(w, &m->u.point);
		break;
	case WIRE_DONE:
		wr_point(w, &m->u.done.point);
		wr_text(w, m->u.done.path, WIRE_TEXT_MAX, "path too long");
		break;
	case WIRE_PRUNE:
		wr_name(w, m->u.prune.job, "bad job name");
		wr_u32(w, m->u.prune.keep.hourly);
		wr_u32(w, m->u.prune.keep.daily);
		wr_u32(w, m->u.prune.keep.weekly);
		wr_u32(w, m->u.prune.keep.monthly);
		wr_u32(w, m->u.prune.keep.yearly);
		wr_u64(w, m->u.prune.keep.min_age);
		break;
	case WIRE_PRUNE_REPLY:
		wr_u32(w, m->u.prune_reply.deleted);
		wr_u32(w, m->u.prune_reply.kept);
		break;
	case WIRE_ERROR:
		wr_u32(w, m->u.error.code);
		wr_text(w, m->u.error.text, WIRE_TEXT_MAX, "error text too long");
		break;
	case WIRE_KEEPALIVE:
		break;
	default:
		wr_bad(w, "unknown message type");
	}
}

static int
wire_encode_part(struct wire_buf *b, const struct wire_msg *m, bool head_only,
    char *err, size_t errlen)
{
	struct wr w = { b, b->len, err, errlen, 0, head_only };
	struct frame_hdr h;
	size_t len;

	wr_space(&w, FRAME_HEADER_LEN);
	wr_payload(&w, m);
	len = b->len - w.start - FRAME_HEADER_LEN;
	if (head_only && m->type == WIRE_DATA)
		len += m->u.data.body_len;
	if (!w.bad && wire_known(m->type) && len > wire_max_len(m->type))
		wr_bad(&w, "payload over the bound of its type");
	if (w.bad) {
		b->len = w.start;
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.type = m->type;
	h.flags = m->type == WIRE_DATA && m->u.data.zstd ? WIRE_F_ZSTD : 0;
	h.len = (uint32_t)len;
	frame_hdr_encode(b->p + w.start, &h);
	return 0;
}

int
wire_encode(struct wire_buf *b, const struct wire_msg *m, char *err,
    size_t errlen)
{
	return wire_encode_part(b, m, false, err, errlen);
}

int
wire_encode_head(struct wire_buf *b, const struct wire_msg *m, char *err,
    size_t errlen)
{
	return wire_encode_part(b, m, true, err, errlen);
}

void
wire_buf_free(struct wire_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- decoding ---- */

struct rd {
	const uint8_t *p;
	size_t len, off;
	char *err;
	size_t errlen;
	int bad;
};

static int
rd_fail(struct rd *r, const char *what)
{
	if (!r->bad)
		frame_errf(r->err, r->errlen, "at payload byte %zu: %s",
		    r->off, what);
	r->bad = 1;
	return -1;
}

static const uint8_t *
rd_take(struct rd *r, size_t n, const char *what)
{
	char msg[128];

	if (r->bad)
		return NULL;
	if (n > r->len - r->off) {
		frame_errf(msg, sizeof(msg), "truncated %s (need %zu bytes, "
		    "%zu left)", what, n, r->len - r->off);
		rd_fail(r, msg);
		return NULL;
	}
	r->off += n;
	return r->p + r->off - n;
}

static uint16_t
rd_u16(struct rd *r, const char *what)
{
	const uint8_t *p = rd_take(r, 2, what);

	return p ? frame_get16(p) : 0;
}

static uint32_t
rd_u32(struct rd *r, const char *what)
{
	const uint8_t *p = rd_take(r, 4, what);

	return p ? frame_get32(p) : 0;
}

static uint64_t
rd_u64(struct rd *r, const char *what)
{
	const uint8_t *p = rd_take(r, 8, what);

	return p ? frame_get64(p) : 0;
}

static void
rd_raw(struct rd *r, void *out, size_t n, const char *what)
{
	const uint8_t *p = rd_take(r, n, what);

	if (p != NULL)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

/* A string into out[max + 1]; no NUL inside. */
static void
rd_text(struct rd *r, char *out, size_t max, const char *what)
{
	char msg[128];
	const uint8_t *p;
	uint16_t n;

	out[0] = '\0';
	n = rd_u16(r, what);
	if (r->bad)
		return;
	if (n > max) {
		frame_errf(msg, sizeof(msg), "%s of %u bytes exceeds %zu",
		    what, n, max);
		rd_fail(r, msg);
		return;
	}
	if ((p = rd_take(r, n, what)) == NULL)
		return;
	if (memchr(p, '\0', n) != NULL) {
		frame_errf(msg, sizeof(msg), "%s contains a NUL byte", what);
		rd_fail(r, msg);
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

static void
rd_name(struct rd *r, char *out, const char *what)
{
	char msg[128];

	rd_text(r, out, WIRE_NAME_MAX, what);
	if (!r->bad && !wire_name_valid(out)) {
		frame_errf(msg, sizeof(msg), "%s is not a valid name "
		    "(empty, '.', '..' or contains '/')", what);
		rd_fail(r, msg);
	}
}

static void
rd_ref(struct rd *r, struct wire_ref *ref, const char *what)
{
	rd_raw(r, ref->uuid, 16, what);
	ref->ctransid = rd_u64(r, what);
}

static void
rd_point(struct rd *r, struct wire_point *p)
{
	p->index = rd_u64(r, "command index");
	p->offset = rd_u64(r, "byte offset");
	rd_raw(r, p->digest.d, STREAM_DIGEST_LEN, "digest");
}

/* Counts are checked against the bytes left before anything is allocated. */
static int
rd_count(struct rd *r, uint32_t n, uint32_t max, size_t each, const char *what)
{
	char msg[128];

	if (r->bad)
		return -1;
	if (n > max) {
		frame_errf(msg, sizeof(msg), "%u %s exceed the limit of %u",
		    n, what, max);
		return rd_fail(r, msg);
	}
	if ((uint64_t)n * each > r->len - r->off) {
		frame_errf(msg, sizeof(msg), "%u %s cannot fit in the %zu "
		    "bytes left", n, what, r->len - r->off);
		return rd_fail(r, msg);
	}
	return 0;
}

static void
rd_stream_id(struct rd *r, struct wire_stream_id *id, bool in_begin)
{
	uint32_t known = WIRE_BEGIN_FLAGS_KNOWN |
	    (in_begin ? WIRE_BEGIN_RESTART : 0);
	uint32_t i, n;

	rd_ref(r, &id->snap, "snapshot uuid");
	rd_ref(r, &id->parent, "parent uuid");
	id->version = rd_u32(r, "stream version");
	id->flags = rd_u32(r, "flags");
	n = rd_u32(r, "clone count");
	if (rd_count(r, n, WIRE_CLONES_MAX, REF_LEN, "clone sources") == -1)
		return;
	if (id->flags & ~known) {
		rd_fail(r, "unknown stream flags");
		return;
	}
	if (n > 0)
		id->clones = xcalloc(n, sizeof(*id->clones));
	id->nclones = n;
	for (i = 0; i < n; i++)
		rd_ref(r, &id->clones[i], "clone uuid");
}

static void
rd_list_reply(struct rd *r, struct wire_list_reply *l)
{
	uint32_t i, n;

	n = rd_u32(r, "snapshot count");
	if (rd_count(r, n, WIRE_LIST_MAX, 2 + 1 + REF_LEN, "snapshots") == -1)
		return;
	if (n > 0)
		l->snaps = xcalloc(n, sizeof(*l->snaps));
	l->nsnaps = n;
	for (i = 0; i < n && !r->bad; i++) {
		rd_name(r, l->snaps[i].name, "snapshot name");
		rd_ref(r, &l->snaps[i].received, "received uuid");
	}
	n = rd_u32(r, "partial count");
	if (rd_count(r, n, WIRE_PARTIALS_MAX, 2 + 1 + 2 * REF_LEN + 12 +
	    POINT_LEN, "partials") == -1)
		return;
	if (n > 0)
		l->partials = xcalloc(n, sizeof(*l->partials));
	l->npartials = n;
	for (i = 0; i < n && !r->bad; i++) {
		rd_name(r, l->partials[i].name, "partial name");
		rd_stream_id(r, &l->partials[i].id, false);
		rd_point(r, &l->partials[i].point);
	}
}

static void
rd_data(struct rd *r, const struct frame_hdr *h, struct wire_data *d)
{
	d->index = rd_u64(r, "data index");
	d->offset = rd_u64(r, "data offset");
	d->ncmds = rd_u32(r, "command count");
	d->raw_len = rd_u32(r, "raw length");
	if (r->bad)
		return;
	d->zstd = (h->flags & WIRE_F_ZSTD) != 0;
	d->body_len = (uint32_t)(r->len - r->off);
	d->body = rd_take(r, d->body_len, "data body");
	if (d->raw_len > WIRE_DATA_RAW_MAX)
		rd_fail(r, "raw length over the data bound");
	else if (!d->zstd && d->body_len != d->raw_len)
		rd_fail(r, "raw length differs from the body length");
	else if (d->raw_len == 0 || d->ncmds == 0)
		rd_fail(r, "empty data frame");
}

static void
rd_payload(struct rd *r, const struct frame_hdr *h, struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_HELLO:
		m->u.hello.version = rd_u16(r, "version");
		m->u.hello.caps = rd_u32(r, "capabilities");
		m->u.hello.stream_version_max = rd_u32(r, "stream version");
		m->u.hello.data_max = rd_u32(r, "data bound");
		rd_text(r, m->u.hello.agent, WIRE_TEXT_MAX, "agent");
		break;
	case WIRE_LIST:
		rd_name(r, m->u.job, "job name");
		break;
	case WIRE_LIST_REPLY:
		rd_list_reply(r, &m->u.list);
		break;
	case WIRE_BEGIN:
		rd_name(r, m->u.begin.job, "job name");
		rd_name(r, m->u.begin.name, "snapshot name");
		rd_stream_id(r, &m->u.begin.id, true);
		m->u.begin.size_hint = rd_u64(r, "size hint");
		break;
	case WIRE_BEGIN_REPLY:
		m->u.begin_reply.status = rd_u32(r, "status");
		rd_point(r, &m->u.begin_reply.point);
		rd_text(r, m->u.begin_reply.reason, WIRE_TEXT_MAX, "reason");
		if (!r->bad && m->u.begin_reply.status > WIRE_BEGIN_COMPLETE)
			rd_fail(r, "unknown begin status");
		break;
	case WIRE_DATA:
		rd_data(r, h, &m->u.data);
		break;
	case WIRE_ACK:
	case WIRE_END:
		rd_point(r, &m->u.point);
		break;
	case WIRE_DONE:
		rd_point(r, &m->u.done.point);
		rd_text(r, m->u.done.path, WIRE_TEXT_MAX, "path");
		break;
	case WIRE_PRUNE:
		rd_name(r, m->u.prune.job, "job name");
		m->u.prune.keep.hourly = rd_u32(r, "hourly");
		m->u.prune.keep.daily = rd_u32(r, "daily");
		m->u.prune.keep.weekly = rd_u32(r, "weekly");
		m->u.prune.keep.monthly = rd_u32(r, "monthly");
		m->u.prune.keep.yearly = rd_u32(r, "yearly");
		m->u.prune.keep.min_age = rd_u64(r, "min-age");
		break;
	case WIRE_PRUNE_REPLY:
		m->u.prune_reply.deleted = rd_u32(r, "deleted");
		m->u.prune_reply.kept = rd_u32(r, "kept");
		break;
	case WIRE_ERROR:
		m->u.error.code = rd_u32(r, "error code");
		rd_text(r, m->u.error.text, WIRE_TEXT_MAX, "error text");
		break;
	case WIRE_KEEPALIVE:
		break;
	}
}

int
wire_decode(struct wire_msg *m, const struct frame_hdr *h,
    const uint8_t *payload, char *err, size_t errlen)
{
	struct rd r = { payload, h->len, 0, err, errlen, 0 };
	char why[160];

	memset(m, 0, sizeof(*m));
	m->type = h->type;
	if (frame_hdr_check(h, &wire_rules, why, sizeof(why)) == -1) {
		frame_errf(err, errlen, "%s", why);
		return -1;
	}
	if (h->flags != 0 && !(h->type == WIRE_DATA && h->flags == WIRE_F_ZSTD)) {
		frame_errf(err, errlen, "%s: unknown frame flags 0x%x",
		    wire_type_name(h->type), h->flags);
		return -1;
	}
	rd_payload(&r, h, m);
	if (!r.bad && r.off != r.len)
		rd_fail(&r, "trailing bytes after the message");
	if (r.bad) {
		frame_errf(why, sizeof(why), "%s", err);
		frame_errf(err, errlen, "%s message: %s", wire_type_name(h->type),
		    why);
		return -1;
	}
	return 0;
}

static void
wire_stream_id_free(struct wire_stream_id *id)
{
	free(id->clones);
	id->clones = NULL;
	id->nclones = 0;
}

void
wire_msg_free(struct wire_msg *m)
{
	uint32_t i;

	switch (m->type) {
	case WIRE_LIST_REPLY:
		for (i = 0; i < m->u.list.npartials; i++)
			wire_stream_id_free(&m->u.list.partials[i].id);
		free(m->u.list.snaps);
		free(m->u.list.partials);
		break;
	case WIRE_BEGIN:
		wire_stream_id_free(&m->u.begin.id);
		break;
	}
	memset(m, 0, sizeof(*m));
}

/* ---- compression ---- */

long
wire_zstd_compress(struct ZSTD_CCtx_s *cctx, const void *src, size_t len,
    void *dst, size_t cap)
{
	size_t n;

	/* The checksum makes a damaged body fail here, not in the codec. */
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)))
		return -1;
	n = ZSTD_compress2(cctx, dst, cap, src, len);
	if (ZSTD_isError(n) || n >= len)
		return -1;
	return (long)n;
}

int
wire_zstd_decompress(struct ZSTD_DCtx_s *dctx, const struct wire_data *d,
    void *out, size_t cap, char *err, size_t errlen)
{
	unsigned long long want;
	size_t n;

	if (cap < d->raw_len) {
		frame_errf(err, errlen, "data: raw length %u over buffer of %zu",
		    d->raw_len, cap);
		return -1;
	}
	want = ZSTD_getFrameContentSize(d->body, d->body_len);
	if (want != ZSTD_CONTENTSIZE_UNKNOWN && want != d->raw_len) {
		frame_errf(err, errlen, "data at command %llu: zstd frame "
		    "declares %llu bytes, header says %u",
		    (unsigned long long)d->index, want, d->raw_len);
		return -1;
	}
	/* Bounded by raw_len: a bomb cannot write past what was declared. */
	n = ZSTD_decompressDCtx(dctx, out, d->raw_len, d->body, d->body_len);
	if (ZSTD_isError(n) || n != d->raw_len) {
		frame_errf(err, errlen, "data at command %llu: zstd: %s",
		    (unsigned long long)d->index, ZSTD_isError(n) ?
		    ZSTD_getErrorName(n) : "short output");
		return -1;
	}
	return 0;
}

/* ---- order ---- */

void
wire_fsm_init(struct wire_fsm *f, enum wire_role role)
{
	memset(f, 0, sizeof(*f));
	f->role = role;
}

static int
fsm_fail(char *err, size_t errlen, bool c2s, const struct wire_msg *m,
    const char *why)
{
	frame_errf(err, errlen, "%s from %s out of order: %s",
	    wire_type_name(m->type), c2s ? "sender" : "receiver", why);
	return -1;
}

static int
fsm_reply(struct wire_fsm *f, uint16_t request, const struct wire_msg *m,
    char *err, size_t errlen)
{
	if (f->pending != request)
		return fsm_fail(err, errlen, false, m, "no matching request");
	f->pending = 0;
	return 0;
}

static int
fsm_begin_reply(struct wire_fsm *f, const struct wire_msg *m, char *err,
    size_t errlen)
{
	const struct wire_begin_reply *b = &m->u.begin_reply;

	if (fsm_reply(f, WIRE_BEGIN, m, err, errlen) == -1)
		return -1;
	if (b->status == WIRE_BEGIN_COMPLETE)
		return 0;
	if (b->status == WIRE_BEGIN_RESUME && f->restart)
		return fsm_fail(err, errlen, false, m,
		    "the sender asked to restart, not to resume");
	if (b->status == WIRE_BEGIN_FRESH && (b->point.index != 0 ||
	    b->point.offset != 0))
		return fsm_fail(err, errlen, false, m,
		    "a fresh start must be at index 0, offset 0");
	f->xfer = true;
	f->next_index = b->point.index;
	f->next_offset = b->point.offset;
	f->acked = b->point.index;
	return 0;
}

static int
fsm_data(struct wire_fsm *f, const struct wire_msg *m, char *err,
    size_t errlen)
{
	const struct wire_data *d = &m->u.data;
	char why[160];

	if (!f->xfer || f->end_sent)
		return fsm_fail(err, errlen, true, m, "no transfer open");
	if (d->index != f->next_index || d->offset != f->next_offset) {
		frame_errf(why, sizeof(why), "starts at command %llu, byte "
		    "%llu; expected command %llu, byte %llu",
		    (unsigned long long)d->index, (unsigned long long)d->offset,
		    (unsigned long long)f->next_index,
		    (unsigned long long)f->next_offset);
		return fsm_fail(err, errlen, true, m, why);
	}
	f->next_index += d->ncmds;
	f->next_offset += d->raw_len;
	return 0;
}

static int
fsm_end(struct wire_fsm *f, const struct wire_msg *m, char *err, size_t errlen)
{
	if (!f->xfer || f->end_sent)
		return fsm_fail(err, errlen, true, m, "no transfer open");
	if (m->u.point.index != f->next_index ||
	    m->u.point.offset != f->next_offset)
		return fsm_fail(err, errlen, true, m,
		    "totals differ from the data sent");
	f->end_sent = true;
	return 0;
}

static int
fsm_ack(struct wire_fsm *f, const struct wire_msg *m, char *err, size_t errlen)
{
	if (!f->xfer)
		return fsm_fail(err, errlen, false, m, "no transfer open");
	if (m->u.point.index < f->acked || m->u.point.index > f->next_index)
		return fsm_fail(err, errlen, false, m,
		    "acknowledges commands never sent or goes backwards");
	f->acked = m->u.point.index;
	return 0;
}

static int
fsm_done(struct wire_fsm *f, const struct wire_msg *m, char *err,
    size_t errlen)
{
	if (!f->end_sent)
		return fsm_fail(err, errlen, false, m, "before end");
	f->xfer = f->end_sent = false;
	return 0;
}

static int
fsm_hello(struct wire_fsm *f, bool c2s, const struct wire_msg *m, char *err,
    size_t errlen)
{
	if (c2s ? f->hello_c : (!f->hello_c || f->hello_s))
		return fsm_fail(err, errlen, c2s, m, c2s ? "second hello" :
		    "hello before the sender's or twice");
	if (m->u.hello.version != WIRE_VERSION) {
		frame_errf(err, errlen, "protocol version mismatch: %s speaks "
		    "version %u, this end speaks %u", c2s ? "sender" :
		    "receiver", m->u.hello.version, WIRE_VERSION);
		return -1;
	}
	if (c2s)
		f->hello_c = true;
	else
		f->hello_s = true;
	return 0;
}

static int
fsm_request(struct wire_fsm *f, const struct wire_msg *m, char *err,
    size_t errlen)
{
	if (f->pending != 0)
		return fsm_fail(err, errlen, true, m,
		    "a request is still unanswered");
	if (f->xfer)
		return fsm_fail(err, errlen, true, m, "a transfer is open");
	f->pending = m->type;
	f->restart = m->type == WIRE_BEGIN &&
	    (m->u.begin.id.flags & WIRE_BEGIN_RESTART) != 0;
	return 0;
}

int
wire_fsm_step(struct wire_fsm *f, bool outgoing, const struct wire_msg *m,
    char *err, size_t errlen)
{
	bool c2s = (f->role == WIRE_CLIENT) == outgoing;

	if (f->closed)
		return fsm_fail(err, errlen, c2s, m, "after an error");
	if (m->type == WIRE_ERROR) {
		f->closed = true;
		return 0;
	}
	if (m->type == WIRE_HELLO)
		return fsm_hello(f, c2s, m, err, errlen);
	if (!f->hello_c || !f->hello_s)
		return fsm_fail(err, errlen, c2s, m, "before the hellos");
	if (m->type == WIRE_KEEPALIVE)
		return 0;
	switch (m->type) {
	case WIRE_LIST:
	case WIRE_BEGIN:
	case WIRE_PRUNE:
		if (c2s)
			return fsm_request(f, m, err, errlen);
		break;
	case WIRE_DATA:
		if (c2s)
			return fsm_data(f, m, err, errlen);
		break;
	case WIRE_END:
		if (c2s)
			return fsm_end(f, m, err, errlen);
		break;
	case WIRE_LIST_REPLY:
		if (!c2s)
			return fsm_reply(f, WIRE_LIST, m, err, errlen);
		break;
	case WIRE_PRUNE_REPLY:
		if (!c2s)
			return fsm_reply(f, WIRE_PRUNE, m, err, errlen);
		break;
	case WIRE_BEGIN_REPLY:
		if (!c2s)
			return fsm_begin_reply(f, m, err, errlen);
		break;
	case WIRE_ACK:
		if (!c2s)
			return fsm_ack(f, m, err, errlen);
		break;
	case WIRE_DONE:
		if (!c2s)
			return fsm_done(f, m, err, errlen);
		break;
	}
	return fsm_fail(err, errlen, c2s, m, "wrong direction");
}
