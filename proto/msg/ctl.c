/*
 * Control socket messages (see ctl.h).  Each record's fields are listed
 * once, in a function that a codec runs to encode, to decode or to
 * measure the largest payload, so the three cannot disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/msg/ctl.h"

enum cx_mode { CX_ENCODE, CX_DECODE, CX_MEASURE };

struct cx {
	enum cx_mode	 mode;
	struct ctl_buf	*b;		/* encode */
	const uint8_t	*p;		/* decode */
	size_t		 len, off;	/* decode; measure sums into len */
	const char	*bad;		/* decode: first problem */
	const char	*field;
};

static bool
ctl_known(uint16_t type)
{
	return type >= CTL_HELLO && type < CTL_TYPE_END;
}

static uint32_t ctl_max_len(uint16_t type);

const struct frame_rules ctl_rules = { ctl_known, ctl_max_len };

const char *
ctl_type_name(uint16_t type)
{
	static const char *names[CTL_TYPE_END] = {
		[CTL_HELLO] = "hello", [CTL_REQUEST] = "request",
		[CTL_M_OK] = "ok", [CTL_M_FAIL] = "fail", [CTL_JOB] = "job",
		[CTL_TARGET] = "target", [CTL_LIVE] = "live",
		[CTL_RUN] = "run", [CTL_SNAP] = "snapshot",
		[CTL_EVENT] = "event",
	};

	return ctl_known(type) ? names[type] : "unknown";
}

const char *
ctl_cmd_name(uint8_t cmd)
{
	static const char *names[CTL_CMD_END] = {
		[CTL_CMD_STATUS] = "status", [CTL_CMD_RUN] = "run",
		[CTL_CMD_CANCEL] = "cancel", [CTL_CMD_PAUSE] = "pause",
		[CTL_CMD_UNPAUSE] = "unpause", [CTL_CMD_RELOAD] = "reload",
		[CTL_CMD_SNAPSHOTS] = "snapshots",
		[CTL_CMD_HISTORY] = "history", [CTL_CMD_MONITOR] = "monitor",
	};

	return cmd >= CTL_CMD_STATUS && cmd < CTL_CMD_END ? names[cmd] :
	    "unknown";
}

int
ctl_cmd_readonly(uint8_t cmd)
{
	return cmd == CTL_CMD_STATUS || cmd == CTL_CMD_SNAPSHOTS ||
	    cmd == CTL_CMD_HISTORY || cmd == CTL_CMD_MONITOR;
}

const char *
ctl_event_name(uint8_t kind)
{
	static const char *names[CTL_EV_END] = {
		"run-start", "progress", "target-done", "run-end",
	};

	return kind < CTL_EV_END ? names[kind] : "unknown";
}

static uint8_t *
buf_grow(struct ctl_buf *b, size_t n)
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

void
ctl_buf_free(struct ctl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
ctl_buf_consume(struct ctl_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static const uint8_t *
cx_take(struct cx *c, size_t n)
{
	const uint8_t *p;

	if (c->bad != NULL)
		return NULL;
	if (c->len - c->off < n) {
		c->bad = "truncated";
		return NULL;
	}
	p = c->p + c->off;
	c->off += n;
	return p;
}

static void
cx_uint(struct cx *c, uint64_t *v, size_t width, uint64_t max)
{
	const uint8_t *p;
	uint8_t *q;

	switch (c->mode) {
	case CX_MEASURE:
		c->len += width;
		return;
	case CX_ENCODE:
		q = buf_grow(c->b, width);
		if (width == 1)
			q[0] = (uint8_t)*v;
		else if (width == 4)
			frame_put32(q, (uint32_t)*v);
		else
			frame_put64(q, *v);
		return;
	case CX_DECODE:
		if ((p = cx_take(c, width)) == NULL)
			return;
		*v = width == 1 ? p[0] : width == 4 ? frame_get32(p) :
		    frame_get64(p);
		if (*v > max)
			c->bad = "value out of range";
		return;
	}
}

static void
cx_u8(struct cx *c, const char *field, uint8_t *v, uint8_t max)
{
	uint64_t x = *v;

	if (c->bad == NULL)
		c->field = field;
	cx_uint(c, &x, 1, max);
	*v = (uint8_t)x;
}

static void
cx_u32(struct cx *c, const char *field, uint32_t *v)
{
	uint64_t x = *v;

	if (c->bad == NULL)
		c->field = field;
	cx_uint(c, &x, 4, UINT32_MAX);
	*v = (uint32_t)x;
}

static void
cx_u64(struct cx *c, const char *field, uint64_t *v)
{
	if (c->bad == NULL)
		c->field = field;
	cx_uint(c, v, 8, UINT64_MAX);
}

static void
cx_i64(struct cx *c, const char *field, int64_t *v)
{
	uint64_t x = (uint64_t)*v;

	if (c->bad == NULL)
		c->field = field;
	cx_uint(c, &x, 8, UINT64_MAX);
	*v = (int64_t)x;
}

/* s has room for size bytes: at most size - 1 characters travel. */
static void
cx_str(struct cx *c, const char *field, char *s, size_t size)
{
	const uint8_t *p;
	size_t n;

	if (c->bad == NULL)
		c->field = field;
	switch (c->mode) {
	case CX_MEASURE:
		c->len += 2 + size - 1;
		return;
	case CX_ENCODE:
		n = strnlen(s, size - 1);
		frame_put16(buf_grow(c->b, 2), (uint16_t)n);
		memcpy(buf_grow(c->b, n), s, n);
		return;
	case CX_DECODE:
		s[0] = '\0';
		if ((p = cx_take(c, 2)) == NULL)
			return;
		n = frame_get16(p);
		if (n > size - 1) {
			c->bad = "string too long";
			return;
		}
		if ((p = cx_take(c, n)) == NULL)
			return;
		if (memchr(p, '\0', n) != NULL) {
			c->bad = "NUL in string";
			return;
		}
		memcpy(s, p, n);
		s[n] = '\0';
		return;
	}
}

static void
fields_hello(struct cx *c, struct ctl_hello *h)
{
	cx_u32(c, "version", &h->version);
	cx_u8(c, "access", &h->access, CTL_ACCESS_ADMIN);
}

static void
fields_request(struct cx *c, struct ctl_request *r)
{
	cx_u8(c, "command", &r->cmd, CTL_CMD_END - 1);
	if (c->mode == CX_DECODE && c->bad == NULL && r->cmd == 0)
		c->bad = "value out of range";
	cx_u32(c, "num", &r->num);
	cx_str(c, "arg", r->arg, sizeof(r->arg));
}

static void
fields_job(struct cx *c, struct ctl_job *j)
{
	cx_str(c, "name", j->name, sizeof(j->name));
	cx_str(c, "schedule", j->schedule, sizeof(j->schedule));
	cx_u8(c, "paused", &j->paused, 1);
	cx_u8(c, "running", &j->running, 1);
	cx_u8(c, "queued", &j->queued, 1);
	cx_i64(c, "start", &j->start);
	cx_i64(c, "end", &j->end);
	cx_u8(c, "result", &j->result, RUN_RESULT_END - 1);
	cx_str(c, "error", j->error, sizeof(j->error));
	cx_i64(c, "next", &j->next);
}

static void
fields_target(struct cx *c, struct ctl_target *t)
{
	cx_str(c, "job", t->job, sizeof(t->job));
	cx_str(c, "target", t->target, sizeof(t->target));
	cx_i64(c, "start", &t->start);
	cx_i64(c, "end", &t->end);
	cx_u8(c, "result", &t->result, RUN_RESULT_END - 1);
	cx_str(c, "error", t->error, sizeof(t->error));
	cx_i64(c, "last_success", &t->last_success);
	cx_i64(c, "held_when", &t->held_when);
	cx_u32(c, "nheld", &t->nheld);
}

static void
fields_live(struct cx *c, struct ctl_live *l)
{
	cx_u32(c, "id", &l->id);
	cx_str(c, "job", l->job, sizeof(l->job));
	cx_str(c, "phase", l->phase, sizeof(l->phase));
	cx_str(c, "target", l->target, sizeof(l->target));
	cx_str(c, "snapshot", l->snapshot, sizeof(l->snapshot));
	cx_i64(c, "start", &l->start);
	cx_u64(c, "done", &l->done);
	cx_u64(c, "total", &l->total);
	cx_u8(c, "total_src", &l->total_src, TOTAL_SOURCE_END - 1);
	cx_u64(c, "resumed_at", &l->resumed_at);
	cx_u64(c, "rate", &l->rate);
	cx_u32(c, "resumes", &l->resumes);
}

static void
fields_run(struct cx *c, struct ctl_run *r)
{
	cx_u32(c, "id", &r->id);
	cx_str(c, "job", r->job, sizeof(r->job));
	cx_str(c, "target", r->target, sizeof(r->target));
	cx_str(c, "snapshot", r->snapshot, sizeof(r->snapshot));
	cx_str(c, "parent", r->parent, sizeof(r->parent));
	cx_i64(c, "start", &r->start);
	cx_i64(c, "end", &r->end);
	cx_u8(c, "result", &r->result, RUN_RESULT_END - 1);
	cx_u64(c, "bytes", &r->bytes);
	cx_u32(c, "resumes", &r->resumes);
	cx_str(c, "error", r->error, sizeof(r->error));
}

static void
fields_snap(struct cx *c, struct ctl_snap *s)
{
	uint32_t i, n;

	cx_str(c, "job", s->job, sizeof(s->job));
	cx_str(c, "name", s->name, sizeof(s->name));
	cx_i64(c, "time", &s->time);
	if (c->mode == CX_ENCODE && s->nheld > CTL_HELD_MAX)
		s->nheld = CTL_HELD_MAX;
	cx_u32(c, "nheld", &s->nheld);
	if (c->mode == CX_DECODE && c->bad == NULL && s->nheld > CTL_HELD_MAX)
		c->bad = "value out of range";
	n = c->mode == CX_MEASURE ? CTL_HELD_MAX : c->bad ? 0 : s->nheld;
	for (i = 0; i < n; i++)
		cx_str(c, "held", s->held[i], sizeof(s->held[i]));
}

static void
fields_event(struct cx *c, struct ctl_event *e)
{
	size_t before, live;

	cx_u8(c, "kind", &e->kind, CTL_EV_END - 1);
	cx_i64(c, "when", &e->when);
	if (c->mode == CX_MEASURE) {
		before = c->len;
		fields_live(c, &e->live);
		live = c->len - before;
		c->len = before;
		fields_run(c, &e->run);
		if (live > c->len - before)
			c->len = before + live;
	} else if (c->bad == NULL && (e->kind == CTL_EV_RUN_START ||
	    e->kind == CTL_EV_PROGRESS))
		fields_live(c, &e->live);
	else if (c->bad == NULL)
		fields_run(c, &e->run);
}

/* The largest payload of each type, measured from its field list once. */
static uint32_t
ctl_max_len(uint16_t type)
{
	static uint32_t max[CTL_TYPE_END];
	static struct ctl_event ev;
	static struct ctl_snap snap;
	static struct ctl_job job;
	static struct ctl_target tg;
	static struct ctl_request rq;
	static struct ctl_hello h;
	struct cx c = { .mode = CX_MEASURE };

	if (!ctl_known(type))
		return 0;
	if (max[type] != 0)
		return max[type];
	switch (type) {
	case CTL_HELLO:
		fields_hello(&c, &h);
		break;
	case CTL_REQUEST:
		fields_request(&c, &rq);
		break;
	case CTL_M_OK:
	case CTL_M_FAIL:
		c.len = 2 + CTL_TEXT_MAX - 1;
		break;
	case CTL_JOB:
		fields_job(&c, &job);
		break;
	case CTL_TARGET:
		fields_target(&c, &tg);
		break;
	case CTL_LIVE:
		fields_live(&c, &ev.live);
		break;
	case CTL_RUN:
		fields_run(&c, &ev.run);
		break;
	case CTL_SNAP:
		fields_snap(&c, &snap);
		break;
	case CTL_EVENT:
		fields_event(&c, &ev);
		break;
	}
	max[type] = (uint32_t)c.len;
	return max[type];
}

static size_t
put_begin(struct ctl_buf *b, uint16_t type, struct cx *c)
{
	struct frame_hdr h = { .type = type };
	size_t start = b->len;

	frame_hdr_encode(buf_grow(b, FRAME_HEADER_LEN), &h);
	*c = (struct cx){ .mode = CX_ENCODE, .b = b };
	return start;
}

static void
put_end(struct ctl_buf *b, size_t start)
{
	size_t len = b->len - start - FRAME_HEADER_LEN;
	uint16_t type = frame_get16(b->p + start);

	if (len > ctl_max_len(type))
		fatalx("ctl: %s message of %zu bytes over its bound",
		    ctl_type_name(type), len);
	frame_put32(b->p + start + 4, (uint32_t)len);
}

#define CTL_PUT(fn, type, T)						\
void									\
ctl_put_##fn(struct ctl_buf *b, const T *in)				\
{									\
	T v = *in;							\
	struct cx c;							\
	size_t s = put_begin(b, type, &c);				\
									\
	fields_##fn(&c, &v);						\
	put_end(b, s);							\
}

CTL_PUT(hello, CTL_HELLO, struct ctl_hello)
CTL_PUT(request, CTL_REQUEST, struct ctl_request)
CTL_PUT(job, CTL_JOB, struct ctl_job)
CTL_PUT(target, CTL_TARGET, struct ctl_target)
CTL_PUT(live, CTL_LIVE, struct ctl_live)
CTL_PUT(run, CTL_RUN, struct ctl_run)
CTL_PUT(snap, CTL_SNAP, struct ctl_snap)
CTL_PUT(event, CTL_EVENT, struct ctl_event)

void
ctl_put_text(struct ctl_buf *b, uint16_t type, const char *text)
{
	struct cx c;
	size_t s = put_begin(b, type, &c);
	char *t = xstrdup(text);

	if (type != CTL_M_OK && type != CTL_M_FAIL)
		fatalx("ctl_put_text: type %u", type);
	cx_str(&c, "text", t, strlen(t) + 1 > CTL_TEXT_MAX ? CTL_TEXT_MAX :
	    strlen(t) + 1);
	free(t);
	put_end(b, s);
}

static int
get_end(struct cx *c, const char *what, char *err, size_t errlen)
{
	if (c->bad == NULL && c->off != c->len)
		frame_errf(err, errlen, "%s message: %zu trailing bytes", what,
		    c->len - c->off);
	else if (c->bad != NULL)
		frame_errf(err, errlen, "%s message: field %s: %s", what,
		    c->field, c->bad);
	else
		return 0;
	return -1;
}

#define CTL_GET(fn, type, T)						\
int									\
ctl_get_##fn(const uint8_t *p, size_t len, T *out, char *err,		\
    size_t errlen)							\
{									\
	struct cx c = { .mode = CX_DECODE, .p = p, .len = len };	\
									\
	memset(out, 0, sizeof(*out));					\
	fields_##fn(&c, out);						\
	return get_end(&c, ctl_type_name(type), err, errlen);		\
}

CTL_GET(hello, CTL_HELLO, struct ctl_hello)
CTL_GET(request, CTL_REQUEST, struct ctl_request)
CTL_GET(job, CTL_JOB, struct ctl_job)
CTL_GET(target, CTL_TARGET, struct ctl_target)
CTL_GET(live, CTL_LIVE, struct ctl_live)
CTL_GET(run, CTL_RUN, struct ctl_run)
CTL_GET(snap, CTL_SNAP, struct ctl_snap)
CTL_GET(event, CTL_EVENT, struct ctl_event)

int
ctl_get_text(const uint8_t *p, size_t len, char *text, size_t textlen,
    char *err, size_t errlen)
{
	struct cx c = { .mode = CX_DECODE, .p = p, .len = len };
	char t[CTL_TEXT_MAX];

	cx_str(&c, "text", t, sizeof(t));
	if (get_end(&c, "text", err, errlen) == -1)
		return -1;
	snprintf(text, textlen, "%s", t);
	return 0;
}
