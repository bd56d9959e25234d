/*
 * Parent <-> worker messages (see ipc.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "proto/base/fdio.h"
#include "proto/msg/ipc.h"

struct ipc_rd {
	const uint8_t	*p;
	size_t		 len, off;
	int		 bad;
};

static bool
ipc_known(uint16_t type)
{
	return type >= IPC_HELLO && type < IPC_TYPE_END;
}

static uint32_t
ipc_max_len(uint16_t type)
{
	switch (type) {
	case IPC_HELLO:
		return 4;
	case IPC_RUN:
		return 3 * (2 + IPC_STR_MAX) + 8 + 1 + 5 * 4 + 8 + 4 +
		    3 * (2 + IPC_STR_MAX) + 4 + 1 + 1 + 5 * 4 + 8 + 4 +
		    IPC_TARGETS_MAX *
		    (3 * (2 + IPC_STR_MAX) + 4 + 8 + 1 + 4 + 8);
	case IPC_PROGRESS:
		return 2 + IPC_STR_MAX;
	case IPC_RESULT:
		return 1 + 4 + 2 * (2 + IPC_STR_MAX) + 4 +
		    IPC_TARGETS_MAX * (3 * (2 + IPC_STR_MAX) + 1 + 8 + 4);
	case IPC_XFER:
		return 3 * (2 + IPC_STR_MAX) + 8 + 8 + 1 + 8 + 4;
	case IPC_HELD:
		return 2 + IPC_STR_MAX + 4 + IPC_HELD_MAX * (2 + IPC_NAME_MAX);
	}
	return 0;
}

const struct frame_rules ipc_rules = { ipc_known, ipc_max_len };

const char *
ipc_type_name(uint16_t type)
{
	static const char *names[IPC_TYPE_END] = {
		[IPC_HELLO] = "hello", [IPC_RUN] = "run",
		[IPC_PROGRESS] = "progress", [IPC_RESULT] = "result",
		[IPC_XFER] = "xfer", [IPC_HELD] = "held",
	};

	return ipc_known(type) ? names[type] : "unknown";
}

static uint8_t *
ipc_grow(struct ipc_buf *b, size_t n)
{
	uint8_t *p;

	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	p = b->p + b->len;
	b->len += n;
	return p;
}

static void
ipc_u8(struct ipc_buf *b, uint8_t v)
{
	*ipc_grow(b, 1) = v;
}

static void
ipc_u32(struct ipc_buf *b, uint32_t v)
{
	frame_put32(ipc_grow(b, 4), v);
}

static void
ipc_u64(struct ipc_buf *b, uint64_t v)
{
	frame_put64(ipc_grow(b, 8), v);
}

/* Over-long strings are cut: they are names and messages, not data. */
static void
ipc_str(struct ipc_buf *b, const char *s)
{
	size_t n = s == NULL ? 0 : strlen(s);

	if (n > IPC_STR_MAX)
		n = IPC_STR_MAX;
	frame_put16(ipc_grow(b, 2), (uint16_t)n);
	if (n > 0)
		memcpy(ipc_grow(b, n), s, n);
}

static size_t
ipc_begin(struct ipc_buf *b, uint16_t type, uint32_t pid)
{
	struct frame_hdr h = { .type = type, .pid = pid };
	size_t start = b->len;

	frame_hdr_encode(ipc_grow(b, FRAME_HEADER_LEN), &h);
	return start;
}

static void
ipc_end(struct ipc_buf *b, size_t start)
{
	size_t len = b->len - start - FRAME_HEADER_LEN;
	uint8_t *h = b->p + start;

	if (len > ipc_max_len(frame_get16(h)))
		fatalx("ipc: %s message of %zu bytes over its bound",
		    ipc_type_name(frame_get16(h)), len);
	frame_put32(h + 4, (uint32_t)len);
}

void
ipc_put_hello(struct ipc_buf *b, uint32_t pid)
{
	size_t s = ipc_begin(b, IPC_HELLO, pid);

	ipc_u32(b, IPC_VERSION);
	ipc_end(b, s);
}

void
ipc_put_run(struct ipc_buf *b, uint32_t pid, const struct ipc_run *r)
{
	size_t s = ipc_begin(b, IPC_RUN, pid);
	uint32_t i, n;

	ipc_str(b, r->job);
	ipc_str(b, r->source);
	ipc_str(b, r->snapshot_dir);
	ipc_u64(b, (uint64_t)r->now);
	ipc_u8(b, r->keep_source.set != 0);
	ipc_u32(b, r->keep_source.hourly);
	ipc_u32(b, r->keep_source.daily);
	ipc_u32(b, r->keep_source.weekly);
	ipc_u32(b, r->keep_source.monthly);
	ipc_u32(b, r->keep_source.yearly);
	ipc_u64(b, r->keep_source.min_age);
	ipc_u32(b, r->flags);
	ipc_str(b, r->tls_certificate);
	ipc_str(b, r->tls_key);
	ipc_str(b, r->tls_ca);
	ipc_u32(b, r->proto);
	ipc_u8(b, r->compressed_data);
	ipc_u8(b, r->keep_target.set);
	ipc_u32(b, r->keep_target.hourly);
	ipc_u32(b, r->keep_target.daily);
	ipc_u32(b, r->keep_target.weekly);
	ipc_u32(b, r->keep_target.monthly);
	ipc_u32(b, r->keep_target.yearly);
	ipc_u64(b, r->keep_target.min_age);
	n = r->ntargets < IPC_TARGETS_MAX ? r->ntargets : IPC_TARGETS_MAX;
	ipc_u32(b, n);
	for (i = 0; i < n; i++) {
		ipc_str(b, r->targets[i].name);
		ipc_str(b, r->targets[i].host);
		ipc_u32(b, r->targets[i].port);
		ipc_str(b, r->targets[i].cert_name);
		ipc_u32(b, r->targets[i].timeout);
		ipc_u64(b, r->targets[i].bandwidth);
		ipc_u8(b, r->targets[i].zstd);
		ipc_u64(b, r->targets[i].prev_bytes);
	}
	ipc_end(b, s);
}

void
ipc_put_progress(struct ipc_buf *b, uint32_t pid, const char *what)
{
	size_t s = ipc_begin(b, IPC_PROGRESS, pid);

	ipc_str(b, what);
	ipc_end(b, s);
}

void
ipc_put_result(struct ipc_buf *b, uint32_t pid, const struct ipc_result *r)
{
	size_t s = ipc_begin(b, IPC_RESULT, pid);
	uint32_t i, n;

	ipc_u8(b, r->status);
	ipc_u32(b, r->pruned);
	ipc_str(b, r->snapshot);
	ipc_str(b, r->error);
	n = r->ntargets < IPC_TARGETS_MAX ? r->ntargets : IPC_TARGETS_MAX;
	ipc_u32(b, n);
	for (i = 0; i < n; i++) {
		ipc_str(b, r->targets[i].name);
		ipc_u8(b, r->targets[i].status);
		ipc_str(b, r->targets[i].parent);
		ipc_str(b, r->targets[i].error);
		ipc_u64(b, r->targets[i].bytes);
		ipc_u32(b, r->targets[i].resumes);
	}
	ipc_end(b, s);
}

void
ipc_put_xfer(struct ipc_buf *b, uint32_t pid, const struct ipc_xfer *x)
{
	size_t s = ipc_begin(b, IPC_XFER, pid);

	ipc_str(b, x->phase);
	ipc_str(b, x->target);
	ipc_str(b, x->snapshot);
	ipc_u64(b, x->done);
	ipc_u64(b, x->total);
	ipc_u8(b, x->total_src);
	ipc_u64(b, x->resumed_at);
	ipc_u32(b, x->resumes);
	ipc_end(b, s);
}

/* Names longer than a snapshot name cannot be one: left out. */
void
ipc_put_held(struct ipc_buf *b, uint32_t pid, const struct ipc_held *h)
{
	size_t s = ipc_begin(b, IPC_HELD, pid), at;
	uint32_t i, n = 0;

	ipc_str(b, h->target);
	at = b->len;
	ipc_u32(b, 0);
	for (i = 0; i < h->n && n < IPC_HELD_MAX; i++) {
		if (strlen(h->names[i]) > IPC_NAME_MAX)
			continue;
		ipc_str(b, h->names[i]);
		n++;
	}
	frame_put32(b->p + at, n);
	ipc_end(b, s);
}

void
ipc_buf_free(struct ipc_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static const uint8_t *
rd_take(struct ipc_rd *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || r->len - r->off < n) {
		r->bad = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint8_t
rd_u8(struct ipc_rd *r)
{
	const uint8_t *p = rd_take(r, 1);

	return p ? p[0] : 0;
}

static uint32_t
rd_u32(struct ipc_rd *r)
{
	const uint8_t *p = rd_take(r, 4);

	return p ? frame_get32(p) : 0;
}

static uint64_t
rd_u64(struct ipc_rd *r)
{
	const uint8_t *p = rd_take(r, 8);

	return p ? frame_get64(p) : 0;
}

static char *
rd_str(struct ipc_rd *r)
{
	const uint8_t *p;
	uint16_t n;
	char *s;

	p = rd_take(r, 2);
	if (p == NULL)
		return NULL;
	n = frame_get16(p);
	if (n > IPC_STR_MAX || (p = rd_take(r, n)) == NULL) {
		r->bad = 1;
		return NULL;
	}
	if (memchr(p, '\0', n) != NULL) {
		r->bad = 1;
		return NULL;
	}
	s = xmalloc((size_t)n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int
rd_done(struct ipc_rd *r, const char *what, char *err, size_t errlen)
{
	if (r->bad) {
		frame_errf(err, errlen, "ipc %s: truncated or malformed "
		    "payload (%zu bytes)", what, r->len);
		return -1;
	}
	if (r->off != r->len) {
		frame_errf(err, errlen, "ipc %s: %zu trailing bytes", what,
		    r->len - r->off);
		return -1;
	}
	return 0;
}

int
ipc_get_hello(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	struct ipc_rd r = { p, len, 0, 0 };
	uint32_t v;

	v = rd_u32(&r);
	if (rd_done(&r, "hello", err, errlen) == -1)
		return -1;
	if (v != IPC_VERSION) {
		frame_errf(err, errlen, "ipc protocol version %u, expected %u "
		    "(parent and worker binaries differ: restart btrsendd)",
		    v, IPC_VERSION);
		return -1;
	}
	return 0;
}

int
ipc_get_run(const uint8_t *p, size_t len, struct ipc_run *run, char *err,
    size_t errlen)
{
	struct ipc_rd r = { p, len, 0, 0 };
	uint32_t i;

	memset(run, 0, sizeof(*run));
	run->job = rd_str(&r);
	run->source = rd_str(&r);
	run->snapshot_dir = rd_str(&r);
	run->now = (int64_t)rd_u64(&r);
	run->keep_source.set = rd_u8(&r);
	run->keep_source.hourly = rd_u32(&r);
	run->keep_source.daily = rd_u32(&r);
	run->keep_source.weekly = rd_u32(&r);
	run->keep_source.monthly = rd_u32(&r);
	run->keep_source.yearly = rd_u32(&r);
	run->keep_source.min_age = rd_u64(&r);
	run->flags = rd_u32(&r);
	run->tls_certificate = rd_str(&r);
	run->tls_key = rd_str(&r);
	run->tls_ca = rd_str(&r);
	run->proto = rd_u32(&r);
	run->compressed_data = rd_u8(&r);
	run->keep_target.set = rd_u8(&r);
	run->keep_target.hourly = rd_u32(&r);
	run->keep_target.daily = rd_u32(&r);
	run->keep_target.weekly = rd_u32(&r);
	run->keep_target.monthly = rd_u32(&r);
	run->keep_target.yearly = rd_u32(&r);
	run->keep_target.min_age = rd_u64(&r);
	run->ntargets = rd_u32(&r);
	if (run->ntargets > IPC_TARGETS_MAX) {
		frame_errf(err, errlen, "ipc run: %u targets", run->ntargets);
		run->ntargets = 0;
		goto fail;
	}
	run->targets = xcalloc(run->ntargets + 1, sizeof(*run->targets));
	for (i = 0; i < run->ntargets; i++) {
		run->targets[i].name = rd_str(&r);
		run->targets[i].host = rd_str(&r);
		run->targets[i].port = rd_u32(&r);
		run->targets[i].cert_name = rd_str(&r);
		run->targets[i].timeout = rd_u32(&r);
		run->targets[i].bandwidth = rd_u64(&r);
		run->targets[i].zstd = rd_u8(&r);
		run->targets[i].prev_bytes = rd_u64(&r);
	}
	if (rd_done(&r, "run", err, errlen) == -1)
		goto fail;
	for (i = 0; i < run->ntargets; i++)
		if (run->targets[i].port == 0 || run->targets[i].port > 65535 ||
		    run->targets[i].name[0] == '\0' ||
		    run->targets[i].host[0] == '\0') {
			frame_errf(err, errlen, "ipc run: invalid target %u", i);
			goto fail;
		}
	if (run->keep_source.set > 1 || run->keep_target.set > 1 ||
	    run->proto > 3 || run->compressed_data > 1 || run->job[0] == '\0' ||
	    run->source[0] != '/' || run->snapshot_dir[0] != '/') {
		frame_errf(err, errlen, "ipc run: invalid job description");
		goto fail;
	}
	return 0;
fail:
	ipc_run_free(run);
	return -1;
}

int
ipc_get_progress(const uint8_t *p, size_t len, char **what, char *err,
    size_t errlen)
{
	struct ipc_rd r = { p, len, 0, 0 };

	*what = rd_str(&r);
	if (rd_done(&r, "progress", err, errlen) == -1) {
		free(*what);
		*what = NULL;
		return -1;
	}
	return 0;
}

int
ipc_get_result(const uint8_t *p, size_t len, struct ipc_result *res,
    char *err, size_t errlen)
{
	struct ipc_rd r = { p, len, 0, 0 };
	uint32_t i;

	memset(res, 0, sizeof(*res));
	res->status = rd_u8(&r);
	res->pruned = rd_u32(&r);
	res->snapshot = rd_str(&r);
	res->error = rd_str(&r);
	res->ntargets = rd_u32(&r);
	if (res->ntargets > IPC_TARGETS_MAX) {
		frame_errf(err, errlen, "ipc result: %u targets", res->ntargets);
		res->ntargets = 0;
		goto fail;
	}
	res->targets = xcalloc(res->ntargets + 1, sizeof(*res->targets));
	for (i = 0; i < res->ntargets; i++) {
		res->targets[i].name = rd_str(&r);
		res->targets[i].status = rd_u8(&r);
		res->targets[i].parent = rd_str(&r);
		res->targets[i].error = rd_str(&r);
		res->targets[i].bytes = rd_u64(&r);
		res->targets[i].resumes = rd_u32(&r);
		if (res->targets[i].status > IPC_FAILED)
			r.bad = 1;
	}
	if (rd_done(&r, "result", err, errlen) == -1)
		goto fail;
	if (res->status > IPC_FAILED) {
		frame_errf(err, errlen, "ipc result: unknown status %u",
		    res->status);
		goto fail;
	}
	return 0;
fail:
	ipc_result_free(res);
	return -1;
}

int
ipc_get_xfer(const uint8_t *p, size_t len, struct ipc_xfer *x, char *err,
    size_t errlen)
{
	struct ipc_rd r = { p, len, 0, 0 };

	memset(x, 0, sizeof(*x));
	x->phase = rd_str(&r);
	x->target = rd_str(&r);
	x->snapshot = rd_str(&r);
	x->done = rd_u64(&r);
	x->total = rd_u64(&r);
	x->total_src = rd_u8(&r);
	x->resumed_at = rd_u64(&r);
	x->resumes = rd_u32(&r);
	if (rd_done(&r, "xfer", err, errlen) == -1)
		goto fail;
	if (x->total_src > IPC_TOTAL_PREVIOUS) {
		frame_errf(err, errlen, "ipc xfer: unknown total source %u",
		    x->total_src);
		goto fail;
	}
	return 0;
fail:
	ipc_xfer_free(x);
	return -1;
}

int
ipc_get_held(const uint8_t *p, size_t len, struct ipc_held *h, char *err,
    size_t errlen)
{
	struct ipc_rd r = { p, len, 0, 0 };
	uint32_t i;

	memset(h, 0, sizeof(*h));
	h->target = rd_str(&r);
	h->n = rd_u32(&r);
	if (h->n > IPC_HELD_MAX) {
		frame_errf(err, errlen, "ipc held: %u names", h->n);
		h->n = 0;
		goto fail;
	}
	h->names = xcalloc((size_t)h->n + 1, sizeof(*h->names));
	for (i = 0; i < h->n && !r.bad; i++) {
		h->names[i] = rd_str(&r);
		if (h->names[i] != NULL && strlen(h->names[i]) > IPC_NAME_MAX)
			r.bad = 1;
	}
	if (rd_done(&r, "held", err, errlen) == -1)
		goto fail;
	return 0;
fail:
	ipc_held_free(h);
	return -1;
}

void
ipc_xfer_free(struct ipc_xfer *x)
{
	free(x->phase);
	free(x->target);
	free(x->snapshot);
	memset(x, 0, sizeof(*x));
}

void
ipc_held_free(struct ipc_held *h)
{
	uint32_t i;

	for (i = 0; h->names != NULL && i < h->n; i++)
		free(h->names[i]);
	free(h->names);
	free(h->target);
	memset(h, 0, sizeof(*h));
}

void
ipc_run_free(struct ipc_run *r)
{
	uint32_t i;

	free(r->job);
	free(r->source);
	free(r->snapshot_dir);
	free(r->tls_certificate);
	free(r->tls_key);
	free(r->tls_ca);
	for (i = 0; r->targets != NULL && i < r->ntargets; i++) {
		free(r->targets[i].name);
		free(r->targets[i].host);
		free(r->targets[i].cert_name);
	}
	free(r->targets);
	memset(r, 0, sizeof(*r));
}

void
ipc_result_free(struct ipc_result *r)
{
	uint32_t i;

	free(r->snapshot);
	free(r->error);
	for (i = 0; r->targets != NULL && i < r->ntargets; i++) {
		free(r->targets[i].name);
		free(r->targets[i].parent);
		free(r->targets[i].error);
	}
	free(r->targets);
	memset(r, 0, sizeof(*r));
}

int
ipc_write_all(int fd, const struct ipc_buf *b)
{
	return fd_write_all(fd, b->p, b->len);
}

static int
ipc_read_exact(int fd, uint8_t *p, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = read(fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = off == 0 ? 0 : EPIPE;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * Exactly one header, then exactly its payload, so the decoder never
 * holds bytes of the next frame and checks the header before any payload
 * is read.  -1 with errno 0 is a clean end of file before a frame.
 */
int
ipc_read_frame(int fd, struct frame_decoder *d, char *err, size_t errlen)
{
	uint8_t hdr[FRAME_HEADER_LEN], *p = NULL;
	enum frame_event ev;
	size_t used;
	uint32_t len;

	if (ipc_read_exact(fd, hdr, sizeof(hdr)) == -1) {
		frame_errf(err, errlen, "ipc read: %s", errno == 0 ?
		    "end of file" : strerror(errno));
		return -1;
	}
	ev = frame_decoder_push(d, hdr, sizeof(hdr), &used);
	if (ev == FRAME_ERROR)
		goto bad;
	if (ev == FRAME_READY)
		return 0;
	len = frame_get32(hdr + 4);
	p = xmalloc(len);
	if (ipc_read_exact(fd, p, len) == -1) {
		frame_errf(err, errlen, "ipc read: %s", errno == 0 ?
		    "end of file" : strerror(errno));
		free(p);
		return -1;
	}
	ev = frame_decoder_push(d, p, len, &used);
	free(p);
	if (ev != FRAME_READY)
		goto bad;
	return 0;
bad:
	frame_errf(err, errlen, "ipc: %s", d->err[0] ? d->err :
	    "frame decoder out of step");
	return -1;
}
