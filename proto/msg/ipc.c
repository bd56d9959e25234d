/*
 * Parent <-> worker messages (see ipc.h), each declared once over the
 * codec (codec.h); the blocking frame reader of the worker side.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "proto/base/fdio.h"
#include "proto/msg/ipc.h"

static bool
ipc_known(uint16_t type)
{
	return type >= IPC_HELLO && type < IPC_TYPE_END;
}

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

/* ---- the messages, each declared once ---- */

static void
fields_hello(struct msgc *c, void *arg)
{
	msg_u32(c, "version", arg);
}

static void
fields_target(struct msgc *c, void *arg)
{
	struct ipc_target *t = arg;

	msg_strdup(c, "target name", &t->name, IPC_STR_MAX);
	msg_strdup(c, "host", &t->host, IPC_STR_MAX);
	msg_u32(c, "port", &t->port);
	msg_strdup(c, "certificate name", &t->cert_name, IPC_STR_MAX);
	msg_u32(c, "timeout", &t->timeout);
	msg_u64(c, "bandwidth", &t->bandwidth);
	msg_u8(c, "zstd", &t->zstd);
	msg_u64(c, "previous bytes", &t->prev_bytes);
	msg_u8(c, "known", &t->known);
	msg_strdup(c, "base", &t->base, SNAP_NAME_MAX);
}

/* A retention policy: its set byte, the counts and min-age. */
static void
fields_keep(struct msgc *c, struct retention_policy *k, bool target)
{
	msg_u8(c, target ? "target keep set" : "keep set", &k->set);
	msg_u32(c, target ? "target hourly" : "hourly", &k->hourly);
	msg_u32(c, target ? "target daily" : "daily", &k->daily);
	msg_u32(c, target ? "target weekly" : "weekly", &k->weekly);
	msg_u32(c, target ? "target monthly" : "monthly", &k->monthly);
	msg_u32(c, target ? "target yearly" : "yearly", &k->yearly);
	msg_u64(c, target ? "target min age" : "min age", &k->min_age);
}

static void
fields_run(struct msgc *c, void *arg)
{
	struct ipc_run *r = arg;

	msg_strdup(c, "job", &r->job, IPC_STR_MAX);
	msg_strdup(c, "source", &r->source, IPC_STR_MAX);
	msg_strdup(c, "snapshot dir", &r->snapshot_dir, IPC_STR_MAX);
	msg_i64(c, "now", &r->now);
	if (c->mode == MSG_ENCODE)
		r->keep_source.set = r->keep_source.set != 0;
	fields_keep(c, &r->keep_source, false);
	msg_u64(c, "min free", &r->min_free);
	msg_u32(c, "flags", &r->flags);
	msg_strdup(c, "tls certificate", &r->tls_certificate, IPC_STR_MAX);
	msg_strdup(c, "tls key", &r->tls_key, IPC_STR_MAX);
	msg_strdup(c, "tls ca", &r->tls_ca, IPC_STR_MAX);
	msg_u32(c, "protocol", &r->proto);
	msg_u8(c, "compressed data", &r->compressed_data);
	fields_keep(c, &r->keep_target, true);
	msg_array(c, "targets", &r->ntargets, IPC_TARGETS_MAX, &r->targets,
	    sizeof(*r->targets), fields_target);
	msg_strdup(c, "resend", &r->resend, SNAP_NAME_MAX);
	msg_u8(c, "if changed", &r->if_changed);
}

static void
fields_progress(struct msgc *c, void *arg)
{
	msg_strdup(c, "text", arg, IPC_STR_MAX);
}

static void
fields_target_result(struct msgc *c, void *arg)
{
	struct ipc_target_result *t = arg;

	msg_strdup(c, "target name", &t->name, IPC_STR_MAX);
	msg_u8(c, "target status", &t->status);
	msg_check(c, run_result_final(t->status), "target status",
	    "unknown status");
	msg_strdup(c, "parent", &t->parent, IPC_STR_MAX);
	msg_strdup(c, "target error", &t->error, IPC_STR_MAX);
	msg_u64(c, "bytes", &t->bytes);
	msg_u32(c, "resumes", &t->resumes);
	msg_u32(c, "prune refused", &t->prune_refused);
}

static void
fields_result(struct msgc *c, void *arg)
{
	struct ipc_result *r = arg;

	msg_u8(c, "status", &r->status);
	msg_u32(c, "pruned", &r->pruned);
	msg_strdup(c, "snapshot", &r->snapshot, IPC_STR_MAX);
	msg_strdup(c, "error", &r->error, IPC_STR_MAX);
	msg_array(c, "targets", &r->ntargets, IPC_TARGETS_MAX, &r->targets,
	    sizeof(*r->targets), fields_target_result);
	msg_check(c, run_result_final(r->status), "status", "unknown status");
}

static void
fields_xfer(struct msgc *c, void *arg)
{
	struct ipc_xfer *x = arg;

	msg_strdup(c, "phase", &x->phase, IPC_STR_MAX);
	msg_strdup(c, "target", &x->target, IPC_STR_MAX);
	msg_strdup(c, "snapshot", &x->snapshot, IPC_STR_MAX);
	msg_u64(c, "done", &x->done);
	msg_u64(c, "total", &x->total);
	msg_u8(c, "total source", &x->total_src);
	msg_check(c, x->total_src < TOTAL_SOURCE_END, "total source",
	    "unknown total source");
	msg_u64(c, "resumed at", &x->resumed_at);
	msg_u32(c, "resumes", &x->resumes);
}

static void
fields_name(struct msgc *c, void *arg)
{
	msg_strdup(c, "name", arg, SNAP_NAME_MAX);
}

static void
fields_held(struct msgc *c, void *arg)
{
	struct ipc_held *h = arg;

	msg_strdup(c, "target", &h->target, IPC_STR_MAX);
	msg_array(c, "names", &h->n, IPC_HELD_MAX, &h->names,
	    sizeof(*h->names), fields_name);
	msg_strdup(c, "base", &h->base, SNAP_NAME_MAX);
}

static const struct {
	msg_fields_fn	*fn;
	size_t		 size;
} ipc_msgs[IPC_TYPE_END] = {
	[IPC_HELLO] = { fields_hello, sizeof(uint32_t) },
	[IPC_RUN] = { fields_run, sizeof(struct ipc_run) },
	[IPC_PROGRESS] = { fields_progress, sizeof(char *) },
	[IPC_RESULT] = { fields_result, sizeof(struct ipc_result) },
	[IPC_XFER] = { fields_xfer, sizeof(struct ipc_xfer) },
	[IPC_HELD] = { fields_held, sizeof(struct ipc_held) },
};

static uint32_t
ipc_max_len(uint16_t type)
{
	static uint32_t max[IPC_TYPE_END];

	if (!ipc_known(type))
		return 0;
	return msg_bound(&max[type], ipc_msgs[type].fn, ipc_msgs[type].size);
}

const struct frame_rules ipc_rules = { ipc_known, ipc_max_len, NULL };

/* arg is only read: the codec writes through it when decoding. */
static int
ipc_put(struct msgbuf *b, uint16_t type, uint32_t pid, const void *arg)
{
	struct msgc c;

	msg_encode_begin(&c, b, type, 0, pid);
	ipc_msgs[type].fn(&c, (void *)(uintptr_t)arg);
	if (msg_encode_end(&c, &ipc_rules) == -1) {
		log_warnx("ipc: %s message not sent: %s", ipc_type_name(type),
		    c.why);
		return -1;
	}
	return 0;
}

static int
ipc_get(uint16_t type, const uint8_t *p, size_t len, void *out, char *err,
    size_t errlen)
{
	struct msgc c;
	char what[32];

	msg_decode_begin(&c, p, len);
	ipc_msgs[type].fn(&c, out);
	frame_errf(what, sizeof(what), "ipc %s", ipc_type_name(type));
	return msg_decode_end(&c, what, err, errlen);
}

int
ipc_put_hello(struct msgbuf *b, uint32_t pid)
{
	uint32_t v = IPC_VERSION;

	return ipc_put(b, IPC_HELLO, pid, &v);
}

int
ipc_put_run(struct msgbuf *b, uint32_t pid, const struct ipc_run *r)
{
	struct ipc_run v = *r;	/* fields_run normalizes keep_source.set */

	return ipc_put(b, IPC_RUN, pid, &v);
}

int
ipc_put_progress(struct msgbuf *b, uint32_t pid, const char *what)
{
	return ipc_put(b, IPC_PROGRESS, pid, &what);
}

int
ipc_put_result(struct msgbuf *b, uint32_t pid, const struct ipc_result *r)
{
	return ipc_put(b, IPC_RESULT, pid, r);
}

int
ipc_put_xfer(struct msgbuf *b, uint32_t pid, const struct ipc_xfer *x)
{
	return ipc_put(b, IPC_XFER, pid, x);
}

/* Names longer than a snapshot name cannot be one: left out. */
int
ipc_put_held(struct msgbuf *b, uint32_t pid, const struct ipc_held *h)
{
	struct ipc_held v = { .target = h->target,
	    .base = h->base != NULL && strlen(h->base) <= SNAP_NAME_MAX ?
	    h->base : (char *)(uintptr_t)"" };
	uint32_t i;
	int r;

	v.names = xcalloc((size_t)h->n + 1, sizeof(*v.names));
	for (i = 0; i < h->n && v.n < IPC_HELD_MAX; i++)
		if (strlen(h->names[i]) <= SNAP_NAME_MAX)
			v.names[v.n++] = h->names[i];
	r = ipc_put(b, IPC_HELD, pid, &v);
	free(v.names);
	return r;
}

int
ipc_get_hello(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	uint32_t v = 0;

	if (ipc_get(IPC_HELLO, p, len, &v, err, errlen) == -1)
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
	uint32_t i;

	memset(run, 0, sizeof(*run));
	if (ipc_get(IPC_RUN, p, len, run, err, errlen) == -1)
		goto fail;
	for (i = 0; i < run->ntargets; i++)
		if (run->targets[i].port == 0 || run->targets[i].port > 65535 ||
		    run->targets[i].name[0] == '\0' ||
		    run->targets[i].host[0] == '\0') {
			frame_errf(err, errlen, "ipc run: invalid target %u", i);
			goto fail;
		}
	if (run->keep_source.set > 1 || run->keep_target.set > 1 ||
	    run->proto > 3 || run->compressed_data > 1 || run->if_changed > 1 || run->job[0] == '\0' ||
	    run->source[0] != '/' || run->snapshot_dir[0] != '/' ||
	    strchr(run->resend, '/') != NULL ||
	    strcmp(run->resend, "..") == 0) {
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
	*what = NULL;
	if (ipc_get(IPC_PROGRESS, p, len, what, err, errlen) == -1) {
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
	memset(res, 0, sizeof(*res));
	if (ipc_get(IPC_RESULT, p, len, res, err, errlen) == -1) {
		ipc_result_free(res);
		return -1;
	}
	return 0;
}

int
ipc_get_xfer(const uint8_t *p, size_t len, struct ipc_xfer *x, char *err,
    size_t errlen)
{
	memset(x, 0, sizeof(*x));
	if (ipc_get(IPC_XFER, p, len, x, err, errlen) == -1) {
		ipc_xfer_free(x);
		return -1;
	}
	return 0;
}

int
ipc_get_held(const uint8_t *p, size_t len, struct ipc_held *h, char *err,
    size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (ipc_get(IPC_HELD, p, len, h, err, errlen) == -1) {
		ipc_held_free(h);
		return -1;
	}
	return 0;
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
	free(h->base);
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
	free(r->resend);
	for (i = 0; r->targets != NULL && i < r->ntargets; i++) {
		free(r->targets[i].name);
		free(r->targets[i].host);
		free(r->targets[i].cert_name);
		free(r->targets[i].base);
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
ipc_write_all(int fd, const struct msgbuf *b)
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
