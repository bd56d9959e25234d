/*
 * The receiving half of one transfer (see recv_xfer.h).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uuid/uuid.h>
#include <zstd.h>

#include "proto/base/log.h"
#include "proto/base/testing.h"
#include "daemon/net/recv_worker.h"
#include "daemon/net/recv_xfer.h"
#include "proto/msg/frame.h"
#include "engine/apply.h"
#include "engine/apply_feed.h"
#include "engine/partial.h"
#include "engine/snapshot.h"
#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

int
recv_xfer_init(struct recv_xfer *x, struct wireio *w, const char *label,
    const char *host)
{
	memset(x, 0, sizeof(*x));
	x->w = w;
	x->label = label;
	x->host = host;
	x->dirfd = -1;
	x->ckpt_bytes = RECV_CKPT_BYTES_DEFAULT;
	x->raw = malloc(WIRE_DATA_RAW_MAX);
	x->dctx = ZSTD_createDCtx();
	if (x->raw == NULL || x->dctx == NULL) {
		recv_xfer_free(x);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
recv_xfer_reset(struct recv_xfer *x)
{
	if (x->a != NULL) {
		apply_free(x->a);
		x->a = NULL;
	}
	apply_feed_free(&x->f);
	memset(&x->f, 0, sizeof(x->f));
	free(x->begin.id.clones);
	x->begin.id.clones = NULL;
}

void
recv_xfer_free(struct recv_xfer *x)
{
	recv_xfer_reset(x);
	free(x->raw);
	x->raw = NULL;
	ZSTD_freeDCtx(x->dctx);
	x->dctx = NULL;
}

bool
recv_xfer_open(const struct recv_xfer *x)
{
	return x->a != NULL;
}

bool
recv_stream_matches(const struct wire_begin *b, const struct checkpoint *ck)
{
	static const uint8_t zero[16];
	const struct wire_stream_id *id = &b->id;
	bool has_parent = memcmp(id->parent.uuid, zero, 16) != 0;
	uint32_t i;

	if (strcmp(ck->id.name, b->name) != 0 ||
	    memcmp(ck->id.uuid, id->snap.uuid, 16) != 0 ||
	    ck->id.ctransid != id->snap.ctransid ||
	    ck->id.has_parent != has_parent ||
	    (has_parent && memcmp(ck->id.parent_uuid, id->parent.uuid, 16) != 0) ||
	    ck->id.version != id->version ||
	    ck->id.flags != (id->flags & WIRE_BEGIN_FLAGS_KNOWN) ||
	    ck->id.nclones != id->nclones || ck->ncmds == 0)
		return false;
	for (i = 0; i < id->nclones; i++)
		if (memcmp(ck->id.clone_uuids[i], id->clones[i].uuid, 16) != 0)
			return false;
	return true;
}

/* Which stream parameter differs, for the log and the sender. */
static const char *
recv_stream_differs(const struct wire_begin *b, const struct checkpoint *ck)
{
	static const uint8_t zero[16];
	const struct wire_stream_id *id = &b->id;

	if (ck->ncmds == 0)
		return "it holds no command yet";
	if (memcmp(ck->id.uuid, id->snap.uuid, 16) != 0 ||
	    ck->id.ctransid != id->snap.ctransid)
		return "it is of another snapshot (uuid or ctransid)";
	if (ck->id.has_parent != (memcmp(id->parent.uuid, zero, 16) != 0) ||
	    memcmp(ck->id.parent_uuid, id->parent.uuid, 16) != 0)
		return "its stream had another parent";
	if (ck->id.version != id->version)
		return "its stream had another send-stream version";
	if (ck->id.flags != (id->flags & WIRE_BEGIN_FLAGS_KNOWN))
		return "its stream had other send flags";
	return "its stream had other clone sources";
}

/*
 * The process of an earlier connection may still be writing this
 * partial's last checkpoint: its peer was cut or killed a moment ago,
 * and the retry can arrive first.  That process holds the partial's lock
 * (the apply engine's progress file) until it is done; wait for it,
 * bounded, before looking at or replacing the partial.
 */
static int
recv_wait_partial(struct recv_xfer *x)
{
	char name[NAME_MAX + 1];
	int fd, i;

	if (partial_name(x->begin.name, PARTIAL_PROGRESS, name) == -1)
		return 0;
	fd = openat(x->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return 0;
	for (i = 0; i < RECV_LOCK_WAIT_MS / 50; i++) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			close(fd);
			return 0;
		}
		if (errno != EWOULDBLOCK)
			break;
		usleep(50 * 1000);
	}
	close(fd);
	wireio_fail(x->w, WIRE_E_APPLY, "another transfer of %s is still "
	    "running; try again later", x->begin.name);
	return -1;
}

/*
 * The apply engine failed.  A full filesystem (ENOSPC, EDQUOT) is a
 * resource the admin can free, so the sender retries later and resumes;
 * anything else is the filesystem refusing the stream, not retried.
 */
static void
recv_apply_failed(struct recv_xfer *x, const char *what)
{
	int e = apply_errno(x->a);

	if (e == ENOSPC || e == EDQUOT)
		wireio_fail(x->w, WIRE_E_RESOURCE, "%s is out of space on %s "
		    "(%s%s); the transfer resumes once space is freed there",
		    x->host, x->where, what, apply_error(x->a));
	else
		wireio_fail(x->w, WIRE_E_APPLY, "%s%s", what,
		    apply_error(x->a));
}

/* A partial of the same stream: resume at its checkpoint. */
static int
recv_try_resume(struct recv_xfer *x, struct wire_begin_reply *br)
{
	struct checkpoint ck;
	char err[256];
	const char *why;
	int r;

	if (recv_wait_partial(x) == -1)
		return -1;
	r = apply_find_checkpoint(x->dirfd, x->begin.name, &ck, err,
	    sizeof(err));
	if (r == 1 && !(x->begin.id.flags & WIRE_BEGIN_RESTART))
		return 0;
	if (r == 0 && !(x->begin.id.flags & WIRE_BEGIN_RESTART) &&
	    recv_stream_matches(&x->begin, &ck))
		goto resume;
	if (x->begin.id.flags & WIRE_BEGIN_RESTART)
		why = "the sender asks for a fresh start (its regenerated "
		    "stream does not match the partial's digest)";
	else
		why = r == -1 ? err : recv_stream_differs(&x->begin, &ck);
	if (r == 0)
		frame_errf(br->reason, sizeof(br->reason), "DISCARDING partial "
		    "of %s at command %" PRIu64 ", byte %" PRIu64 ": %s; "
		    "starting over", x->begin.name, ck.ncmds, ck.offset, why);
	else
		frame_errf(br->reason, sizeof(br->reason), "DISCARDING partial "
		    "of %s: %s; starting over", x->begin.name, why);
	log_warnx("%s: %s", x->label, br->reason);
	if (apply_discard_partial(x->a, x->begin.name) == -1) {
		wireio_fail(x->w, WIRE_E_APPLY, "discard partial: %s",
		    apply_error(x->a));
		return -1;
	}
	return 0;
resume:
	switch (apply_feed_resume(&x->f, &ck)) {
	case APPLY_FEED_MORE:
		break;
	case APPLY_FEED_EAPPLY:
		recv_apply_failed(x, "resume: ");
		return -1;
	default:
		return -1;
	}
	x->last_ckpt = x->durable = ck.offset;
	br->status = WIRE_BEGIN_RESUME;
	br->point.index = ck.ncmds;
	br->point.offset = ck.offset;
	br->point.digest = ck.digest;
	return 0;
}

/* Flags and clone sources join the identity of the partial. */
static int
recv_tell_params(struct recv_xfer *x)
{
	const struct wire_stream_id *id = &x->begin.id;
	uint8_t (*u)[16];
	uint32_t i;
	int rc;

	u = xcalloc(id->nclones + 1, 16);
	for (i = 0; i < id->nclones; i++)
		memcpy(u[i], id->clones[i].uuid, 16);
	rc = apply_set_stream_params(x->a, id->flags & WIRE_BEGIN_FLAGS_KNOWN,
	    id->nclones, (const uint8_t (*)[16])u);
	free(u);
	if (rc == -1)
		wireio_fail(x->w, WIRE_E_RESOURCE, "%s", apply_error(x->a));
	return rc;
}

/*
 * Every command, before it is applied: the subvolume BEGIN announced and
 * nothing else (recv_check.h).
 */
static int
recv_check_each(const struct stream_cmd *c, void *arg)
{
	struct recv_xfer *x = arg;
	char err[512];
	uint32_t code;

	if (recv_check_cmd(&x->chk, c, &code, err, sizeof(err)) == 0)
		return 0;
	wireio_fail(x->w, code, "%s", err);
	return -1;
}

int
recv_xfer_held(struct recv_xfer *x)
{
	static const uint8_t zero[16];
	const struct wire_ref *want = &x->begin.id.snap;
	struct snap_info si;
	struct stat st;
	char path[PATH_MAX], err[256], why[320], u[37];

	if (fstatat(x->dirfd, x->begin.name, &st, AT_SYMLINK_NOFOLLOW) ==
	    -1) {
		if (errno == ENOENT)
			return 0;
		wireio_fail(x->w, WIRE_E_INTERNAL, "begin %s/%s: %s",
		    x->begin.job, x->begin.name, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", x->dirfd,
	    x->begin.name);
	if (!S_ISDIR(st.st_mode))
		snprintf(why, sizeof(why), "it is no directory");
	else if (snapshot_info(path, &si, err, sizeof(err)) == -1)
		snprintf(why, sizeof(why), "it is no snapshot: %s", err);
	else if (!si.read_only)
		snprintf(why, sizeof(why), "it is not read-only");
	else if (memcmp(si.received_uuid, zero, 16) == 0)
		snprintf(why, sizeof(why), "it was made on this host, not "
		    "received");
	else if (memcmp(si.received_uuid, want->uuid, 16) != 0 ||
	    si.stransid != want->ctransid) {
		uuid_unparse_lower(si.received_uuid, u);
		snprintf(why, sizeof(why), "it was received from %s at "
		    "ctransid %" PRIu64 ", not from this snapshot", u,
		    si.stransid);
	} else
		return 1;
	wireio_fail(x->w, WIRE_E_APPLY, "begin %s/%s: %s/%s already exists "
	    "and is another snapshot (%s); %s", x->begin.job, x->begin.name,
	    x->where, x->begin.name, why, x->held_hint);
	return -1;
}

int
recv_xfer_begin(struct recv_xfer *x)
{
	struct apply_opts o;
	struct wire_msg m;

	o = x->opts;
	o.quiet = true;
	o.ckpt_bytes = UINT64_MAX;      /* we decide, to ack after each */
	o.ckpt_msecs = UINT32_MAX;
	o.hold_end = true;              /* finished once END is checked */
	if ((x->a = apply_new(x->dirfd, &o)) == NULL ||
	    apply_feed_init(&x->f, x->a) == -1) {
		wireio_fail(x->w, WIRE_E_RESOURCE, "apply engine: %s",
		    strerror(errno));
		return -1;
	}
	if ((x->sources != NULL && x->sources(x, x->sources_arg) == -1) ||
	    recv_tell_params(x) == -1)
		return -1;
	x->f.keep_digest = true;
	x->f.each = recv_check_each;
	x->f.arg = x;
	x->last_ckpt = x->durable = 0;
	x->ack_lost = false;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_BEGIN_REPLY;
	m.u.begin_reply.status = WIRE_BEGIN_FRESH;
	if (recv_try_resume(x, &m.u.begin_reply) == -1)
		return -1;
	recv_check_init(&x->chk, &x->begin, x->f.resumed);
	log_info("%s: receiving %s/%s%s", x->label, x->begin.job,
	    x->begin.name, x->f.resumed ? " (resumed)" : "");
	return wireio_send(x->w, &m);
}

/* An ACK for every checkpoint that became durable in the background. */
static int
recv_acks(struct recv_xfer *x)
{
	struct checkpoint ck;
	struct wire_msg m;
	int r;

	while ((r = apply_checkpoint_done(x->a, &ck)) == 1) {
		x->durable = ck.offset;
		if (x->ack_lost)
			continue;
		memset(&m, 0, sizeof(m));
		m.type = WIRE_ACK;
		m.u.point.index = ck.ncmds;
		m.u.point.offset = ck.offset;
		m.u.point.digest = ck.digest;
		/*
		 * The peer is gone (cut, reset), but what it sent before may
		 * still wait in our buffers: apply it, so that the exact
		 * checkpoint at the end of the input (recv_xfer_keep_partial)
		 * lies as far as the data that arrived, not at this ACK.
		 */
		if (wireio_send(x->w, &m) == -1) {
			log_warnx("%s: %s; applying what arrived before",
			    x->label, x->w->err);
			x->ack_lost = true;
			continue;
		}
		x->acked++;
	}
	if (r == -1) {
		recv_apply_failed(x, "checkpoint: ");
		return -1;
	}
	return 0;
}

/*
 * A checkpoint every half ckpt_bytes: made durable beside the apply and
 * acked when it is (recv_acks), so the transfer does not wait for the
 * disk unless the disk falls behind.  One still being made durable (or a
 * write-back ahead) leaves the next pending until it is done, and only
 * once the applied point is a whole ckpt_bytes past the durable one does
 * the transfer wait for it: a crash of this host costs at most one
 * ckpt_bytes of retransmission.
 */
static int
recv_checkpoint(struct recv_xfer *x)
{
	uint64_t at = apply_feed_offset(&x->f);
	bool due = at - x->last_ckpt >= x->ckpt_bytes / 2;
	bool wait = at - x->durable >= x->ckpt_bytes;

	if (due || wait) {
		if (apply_checkpoint_start(x->a, wait) == -1) {
			recv_apply_failed(x, "checkpoint: ");
			return -1;
		}
		x->last_ckpt = at;
	}
	return recv_acks(x);
}

/* What a feed that stopped means for the sender; always -1. */
static int
recv_feed_failed(struct recv_xfer *x, enum apply_feed_status st)
{
	const struct stream_error *e = &x->f.r.err;

	switch (st) {
	case APPLY_FEED_ESTREAM:
		/* The reader counts from the resume point; the stream from 0. */
		apply_abort(x->a, true);
		wireio_fail(x->w, WIRE_E_STREAM, "command %" PRIu64 " at "
		    "byte offset %" PRIu64 ": %s", x->f.idx_base + e->index,
		    x->f.off_base + e->offset, e->msg);
		break;
	case APPLY_FEED_EAPPLY:
		recv_apply_failed(x, "");
		break;
	case APPLY_FEED_ENOMEM:
		wireio_fail(x->w, WIRE_E_RESOURCE, "out of memory");
		break;
	default:
		break;          /* the check said why */
	}
	return -1;
}

int
recv_xfer_data(struct recv_xfer *x, const struct wire_data *d)
{
	enum apply_feed_status st;
	const uint8_t *p = d->body;
	char err[256];

	if (d->zstd) {
		if (wire_zstd_decompress(x->dctx, d, x->raw,
		    WIRE_DATA_RAW_MAX, err, sizeof(err)) == -1) {
			wireio_fail(x->w, WIRE_E_PROTOCOL, "%s", err);
			return -1;
		}
		p = x->raw;
	}
	/* parsed where it lies: the payload outlives the feed */
	st = apply_feed_lend(&x->f, p, d->raw_len);
	if (st != APPLY_FEED_MORE && st != APPLY_FEED_DONE)
		return recv_feed_failed(x, st);
	return recv_checkpoint(x);
}

/*
 * TEST ONLY: BTRSEND_TEST_RECV_PAUSE=SECS makes the receiver send nothing
 * for SECS seconds before it finishes a snapshot, like a slow syncfs:
 * its keepalives must keep the waiting sender from timing out
 * (tests/integration/net_keepalive.sh).  Test build only
 * (proto/base/testing.h); unset, it costs one getenv.
 */
static void
recv_test_pause(void)
{
	const char *v;

	if ((v = TEST_HOOK_ENV("BTRSEND_TEST_RECV_PAUSE")) == NULL)
		return;
	log_warnx("TEST: pausing %d s before finishing", atoi(v));
	sleep((unsigned)atoi(v));
}

/*
 * END's totals or digest differ from what was applied: the applied data
 * is not what the sender says it sent, so none of it is trusted.  The
 * partial is discarded (a resume would build on it) and never finished;
 * the next transfer starts over.
 */
static int
recv_end_mismatch(struct recv_xfer *x, const char *why)
{
	apply_abort(x->a, false);
	wireio_fail(x->w, WIRE_E_STREAM, "end of %s/%s: %s; the snapshot was "
	    "not finished and its partial is DISCARDED, the next transfer "
	    "starts over", x->begin.job, x->begin.name, why);
	return -1;
}

int
recv_xfer_end(struct recv_xfer *x, const struct wire_point *pt)
{
	enum apply_feed_status st;
	char why[512];

	st = apply_feed_eof(&x->f);
	if (st != APPLY_FEED_MORE && st != APPLY_FEED_DONE)
		return recv_feed_failed(x, st);
	if (TEST_HOOKS)
		recv_test_pause();
	/*
	 * The engine holds the subvolume the stream's END closed: nothing is
	 * finished before the sender's totals and digest agree with what
	 * was applied.
	 */
	if (recv_check_end(&x->chk, pt, apply_feed_ncmds(&x->f),
	    apply_feed_offset(&x->f), &x->f.digest, why, sizeof(why)) == -1)
		return recv_end_mismatch(x, why);
	if (apply_commit(x->a) == -1 || apply_finish(x->a) == -1 ||
	    apply_nfinished(x->a) != 1) {
		recv_apply_failed(x, "finish: ");
		return -1;
	}
	return 0;
}

int
recv_xfer_done(struct recv_xfer *x, const struct wire_point *pt,
    const char *path)
{
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_DONE;
	m.u.done.point = *pt;
	snprintf(m.u.done.path, sizeof(m.u.done.path), "%s", path);
	recv_xfer_reset(x);
	return wireio_send(x->w, &m);
}

void
recv_xfer_keep_partial(struct recv_xfer *x)
{
	struct checkpoint ck;
	char err[256];
	int r;

	if (x->a == NULL || apply_finish(x->a) == 0)
		return;
	r = apply_find_checkpoint(x->dirfd, x->begin.name, &ck, err,
	    sizeof(err));
	if (r == 0)
		log_info("%s: partial %s kept for resume at command %" PRIu64
		    ", byte %" PRIu64, x->label, x->begin.name, ck.ncmds,
		    ck.offset);
	else
		log_warnx("%s: partial %s cannot be resumed: %s; the next "
		    "transfer starts over", x->label, x->begin.name,
		    r == 1 ? "it has no checkpoint" : err);
}
