/*
 * Control socket messages (see ctl.h), each declared once over the codec
 * (codec.h), which runs the declaration to encode, to decode and to
 * measure the largest payload, so the three cannot disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/msg/ctl.h"

static bool
ctl_known(uint16_t type)
{
	return type >= CTL_HELLO && type < CTL_TYPE_END;
}

static uint32_t ctl_max_len(uint16_t type);

/* Bounds derived from the declarations below. */
const struct frame_rules ctl_rules = { ctl_known, ctl_max_len, NULL };

const char *
ctl_type_name(uint16_t type)
{
	static const char *names[CTL_TYPE_END] = {
		[CTL_HELLO] = "hello", [CTL_REQUEST] = "request",
		[CTL_M_OK] = "ok", [CTL_M_FAIL] = "fail", [CTL_JOB] = "job",
		[CTL_TARGET] = "target", [CTL_LIVE] = "live",
		[CTL_RUN] = "run", [CTL_SNAP] = "snapshot",
		[CTL_EVENT] = "event", [CTL_RECV] = "receive",
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

static void
ctl_u8(struct msgc *c, const char *field, uint8_t *v, uint8_t max)
{
	msg_u8(c, field, v);
	msg_check(c, *v <= max, field, "value out of range");
}

/* s has room for size bytes: at most size - 1 characters travel. */
static void
ctl_str(struct msgc *c, const char *field, char *s, size_t size)
{
	msg_str(c, field, s, size - 1);
}

static void
fields_hello(struct msgc *c, void *arg)
{
	struct ctl_hello *h = arg;

	msg_u32(c, "version", &h->version);
	ctl_u8(c, "access", &h->access, CTL_ACCESS_ADMIN);
}

static void
fields_request(struct msgc *c, void *arg)
{
	struct ctl_request *r = arg;

	ctl_u8(c, "command", &r->cmd, CTL_CMD_END - 1);
	msg_check(c, r->cmd != 0, "command", "value out of range");
	msg_u32(c, "num", &r->num);
	ctl_str(c, "arg", r->arg, sizeof(r->arg));
}

static void
fields_job(struct msgc *c, void *arg)
{
	struct ctl_job *j = arg;

	ctl_str(c, "name", j->name, sizeof(j->name));
	ctl_str(c, "schedule", j->schedule, sizeof(j->schedule));
	ctl_u8(c, "paused", &j->paused, 1);
	ctl_u8(c, "running", &j->running, 1);
	ctl_u8(c, "queued", &j->queued, 1);
	msg_i64(c, "start", &j->start);
	msg_i64(c, "end", &j->end);
	ctl_u8(c, "result", &j->result, RUN_RESULT_END - 1);
	ctl_str(c, "error", j->error, sizeof(j->error));
	msg_i64(c, "next", &j->next);
}

static void
fields_target(struct msgc *c, void *arg)
{
	struct ctl_target *t = arg;

	ctl_str(c, "job", t->job, sizeof(t->job));
	ctl_str(c, "target", t->target, sizeof(t->target));
	msg_i64(c, "start", &t->start);
	msg_i64(c, "end", &t->end);
	ctl_u8(c, "result", &t->result, RUN_RESULT_END - 1);
	ctl_str(c, "error", t->error, sizeof(t->error));
	msg_i64(c, "last_success", &t->last_success);
	msg_i64(c, "held_when", &t->held_when);
	msg_u32(c, "nheld", &t->nheld);
}

static void
fields_live(struct msgc *c, void *arg)
{
	struct ctl_live *l = arg;

	msg_u32(c, "id", &l->id);
	ctl_str(c, "job", l->job, sizeof(l->job));
	ctl_str(c, "phase", l->phase, sizeof(l->phase));
	ctl_str(c, "target", l->target, sizeof(l->target));
	ctl_str(c, "snapshot", l->snapshot, sizeof(l->snapshot));
	msg_i64(c, "start", &l->start);
	msg_u64(c, "done", &l->done);
	msg_u64(c, "total", &l->total);
	ctl_u8(c, "total_src", &l->total_src, TOTAL_SOURCE_END - 1);
	msg_u64(c, "resumed_at", &l->resumed_at);
	msg_u64(c, "rate", &l->rate);
	msg_u32(c, "resumes", &l->resumes);
}

static void
fields_run(struct msgc *c, void *arg)
{
	struct ctl_run *r = arg;

	msg_u32(c, "id", &r->id);
	ctl_str(c, "job", r->job, sizeof(r->job));
	ctl_str(c, "target", r->target, sizeof(r->target));
	ctl_str(c, "snapshot", r->snapshot, sizeof(r->snapshot));
	ctl_str(c, "parent", r->parent, sizeof(r->parent));
	msg_i64(c, "start", &r->start);
	msg_i64(c, "end", &r->end);
	ctl_u8(c, "result", &r->result, RUN_RESULT_END - 1);
	msg_u64(c, "bytes", &r->bytes);
	msg_u32(c, "resumes", &r->resumes);
	ctl_str(c, "error", r->error, sizeof(r->error));
}

static void
fields_held(struct msgc *c, void *arg)
{
	ctl_str(c, "held", arg, CTL_NAME_MAX);
}

static void
fields_snap(struct msgc *c, void *arg)
{
	struct ctl_snap *s = arg;

	ctl_str(c, "job", s->job, sizeof(s->job));
	ctl_str(c, "name", s->name, sizeof(s->name));
	msg_i64(c, "time", &s->time);
	msg_array_in(c, "held", &s->nheld, CTL_HELD_MAX, s->held,
	    sizeof(s->held[0]), fields_held);
}

static void
fields_event(struct msgc *c, void *arg)
{
	struct ctl_event *e = arg;
	size_t before, live;

	ctl_u8(c, "kind", &e->kind, CTL_EV_END - 1);
	msg_i64(c, "when", &e->when);
	if (c->mode == MSG_MEASURE) {
		before = c->len;
		fields_live(c, &e->live);
		live = c->len - before;
		c->len = before;
		fields_run(c, &e->run);
		if (live > c->len - before)
			c->len = before + live;
	} else if (e->kind == CTL_EV_RUN_START || e->kind == CTL_EV_PROGRESS)
		fields_live(c, &e->live);
	else
		fields_run(c, &e->run);
}

static void
fields_recv(struct msgc *c, void *arg)
{
	struct ctl_recv *r = arg;

	ctl_str(c, "client", r->client, sizeof(r->client));
	ctl_str(c, "job", r->job, sizeof(r->job));
	ctl_str(c, "last", r->last, sizeof(r->last));
	msg_i64(c, "last_time", &r->last_time);
	msg_u32(c, "snapshots", &r->snapshots);
	msg_u32(c, "partials", &r->partials);
	msg_i64(c, "partial_oldest", &r->partial_oldest);
	msg_u64(c, "stale_after", &r->stale_after);
	ctl_u8(c, "stale", &r->stale, 1);
	msg_i64(c, "scanned", &r->scanned);
}

/* OK and FAIL: arg has room for CTL_TEXT_MAX bytes. */
static void
fields_text(struct msgc *c, void *arg)
{
	ctl_str(c, "text", arg, CTL_TEXT_MAX);
}

static const struct {
	msg_fields_fn	*fn;
	size_t		 size;
} ctl_msgs[CTL_TYPE_END] = {
	[CTL_HELLO] = { fields_hello, sizeof(struct ctl_hello) },
	[CTL_REQUEST] = { fields_request, sizeof(struct ctl_request) },
	[CTL_M_OK] = { fields_text, CTL_TEXT_MAX },
	[CTL_M_FAIL] = { fields_text, CTL_TEXT_MAX },
	[CTL_JOB] = { fields_job, sizeof(struct ctl_job) },
	[CTL_TARGET] = { fields_target, sizeof(struct ctl_target) },
	[CTL_LIVE] = { fields_live, sizeof(struct ctl_live) },
	[CTL_RUN] = { fields_run, sizeof(struct ctl_run) },
	[CTL_SNAP] = { fields_snap, sizeof(struct ctl_snap) },
	[CTL_EVENT] = { fields_event, sizeof(struct ctl_event) },
	[CTL_RECV] = { fields_recv, sizeof(struct ctl_recv) },
};

static uint32_t
ctl_max_len(uint16_t type)
{
	static uint32_t max[CTL_TYPE_END];

	if (!ctl_known(type))
		return 0;
	return msg_bound(&max[type], ctl_msgs[type].fn, ctl_msgs[type].size);
}

/* The codec writes through arg only when decoding. */
static int
ctl_put(struct msgbuf *b, uint16_t type, const void *arg)
{
	struct msgc c;

	msg_encode_begin(&c, b, type, 0, 0);
	ctl_msgs[type].fn(&c, (void *)(uintptr_t)arg);
	if (msg_encode_end(&c, &ctl_rules) == -1) {
		log_warnx("ctl: %s message not sent: %s", ctl_type_name(type),
		    c.why);
		return -1;
	}
	return 0;
}

static int
ctl_get(uint16_t type, const uint8_t *p, size_t len, void *out, char *err,
    size_t errlen)
{
	struct msgc c;

	msg_decode_begin(&c, p, len);
	ctl_msgs[type].fn(&c, out);
	return msg_decode_end(&c, ctl_type_name(type), err, errlen);
}

#define CTL_PUT(fn, type, T)						\
int									\
ctl_put_##fn(struct msgbuf *b, const T *in)				\
{									\
	return ctl_put(b, type, in);					\
}

#define CTL_GET(fn, type, T)						\
int									\
ctl_get_##fn(const uint8_t *p, size_t len, T *out, char *err,		\
    size_t errlen)							\
{									\
	memset(out, 0, sizeof(*out));					\
	return ctl_get(type, p, len, out, err, errlen);			\
}

CTL_PUT(hello, CTL_HELLO, struct ctl_hello)
CTL_PUT(request, CTL_REQUEST, struct ctl_request)
CTL_PUT(job, CTL_JOB, struct ctl_job)
CTL_PUT(target, CTL_TARGET, struct ctl_target)
CTL_PUT(live, CTL_LIVE, struct ctl_live)
CTL_PUT(run, CTL_RUN, struct ctl_run)
CTL_PUT(snap, CTL_SNAP, struct ctl_snap)
CTL_PUT(event, CTL_EVENT, struct ctl_event)
CTL_PUT(recv, CTL_RECV, struct ctl_recv)
CTL_GET(hello, CTL_HELLO, struct ctl_hello)
CTL_GET(request, CTL_REQUEST, struct ctl_request)
CTL_GET(job, CTL_JOB, struct ctl_job)
CTL_GET(target, CTL_TARGET, struct ctl_target)
CTL_GET(live, CTL_LIVE, struct ctl_live)
CTL_GET(run, CTL_RUN, struct ctl_run)
CTL_GET(snap, CTL_SNAP, struct ctl_snap)
CTL_GET(event, CTL_EVENT, struct ctl_event)
CTL_GET(recv, CTL_RECV, struct ctl_recv)

int
ctl_hdr_check(const struct frame_hdr *h, char *err, size_t errlen)
{
	if (h->flags == 0)
		return 0;
	frame_errf(err, errlen, "%s message with frame flags 0x%x (the "
	    "control protocol defines none)", ctl_type_name(h->type),
	    h->flags);
	return -1;
}

int
ctl_put_text(struct msgbuf *b, uint16_t type, const char *text)
{
	if (type != CTL_M_OK && type != CTL_M_FAIL)
		fatalx("ctl_put_text: type %u", type);
	return ctl_put(b, type, text);
}

int
ctl_get_text(const uint8_t *p, size_t len, char *text, size_t textlen,
    char *err, size_t errlen)
{
	char t[CTL_TEXT_MAX];

	if (ctl_get(CTL_M_OK, p, len, t, err, errlen) == -1)
		return -1;
	snprintf(text, textlen, "%s", t);
	return 0;
}
