/*
 * The network sender (daemon/net/netsend.h): one snapshot streamed to a
 * btrsendd receiver over TLS, per docs/protocol.md.  This file is the
 * transfer: the attempts and their retries, BEGIN with a resume or
 * fast-forward, and END; netsend_impl.h names the others.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "proto/base/log.h"
#include "daemon/net/netsend_impl.h"
#include "engine/send.h"
#include "engine/snapshot.h"

/* An outcome line: stdout for btrsendctl, the log for the daemon. */
void
net_say(struct netsend *n, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n->o->print) {
		fputs(line, stdout);
		return;
	}
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[len - 1] = '\0';
	if (n->sv != NULL)
		log_info("%s: restore %s", n->to, line);
	else
		log_info("%s", line);
}

static int
net_finish(struct netsend *n, struct send *s)
{
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_END;
	m.u.point.index = n->f_index;
	m.u.point.offset = n->f_offset;
	send_get_digest(s, &m.u.point.digest);
	if (wireio_send(n->w, &m) == -1)
		return net_fail_send(n);
	for (;;) {
		if (wireio_recv(n->w, &m) == -1)
			return net_fail(n);
		if (m.type == WIRE_DONE)
			break;
		wire_msg_free(&m);
	}
	n->res->stream_bytes = n->f_offset;
	net_progress(n, true, true);
	if (n->sv == NULL)
		net_say(n, "%s: sent to %s as %s (%" PRIu64 " commands, %"
		    PRIu64 " bytes)\n", n->snapshot, n->to, m.u.done.path,
		    n->ncmds, n->bytes);
	wire_msg_free(&m);
	return 0;
}

/* BEGIN's name and snapshot ref: the snapshot's own, or as served. */
static int
net_begin_ref(struct netsend *n, const struct send_item_desc *d,
    const struct send_params *p, struct wire_begin *b)
{
	struct snap_info si;
	char err[256] = "", base[4096], dir[4096];

	if (n->sv != NULL) {
		frame_errf(b->name, sizeof(b->name), "%s", n->sv->name);
		memcpy(b->id.snap.uuid, n->sv->set_uuid ? n->sv->uuid :
		    d->uuid, 16);
		b->id.snap.ctransid = n->sv->ctransid;
		b->id.flags |= n->sv->flags;
		/* Known once send_start looked at the path. */
		if (p->subtree != NULL && p->subtree->is_file)
			b->id.flags |= WIRE_BEGIN_SUBTREE_FILE;
		b->size_hint = n->total;
		return 0;
	}
	if (snapshot_info(n->snapshot, &si, err, sizeof(err)) == -1) {
		log_warnx("send: %s", err);
		return -1;
	}
	net_split(n->snapshot, dir, base);
	frame_errf(b->name, sizeof(b->name), "%s", base);
	memcpy(b->id.snap.uuid, d->uuid, 16);
	b->id.snap.ctransid = si.ctransid;
	return 0;
}

static int
net_begin(struct netsend *n, struct send *s, const struct send_params *p)
{
	struct send_item_desc d;
	struct wire_msg m;
	size_t i;

	if (send_describe(s, 0, &d) == -1) {
		log_warnx("send: %s: the stream has no snapshot", n->snapshot);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.type = WIRE_BEGIN;
	snprintf(m.u.begin.job, sizeof(m.u.begin.job), "%s", n->job);
	if (net_begin_ref(n, &d, p, &m.u.begin) == -1)
		return -1;
	if (d.has_parent)
		memcpy(m.u.begin.id.parent.uuid, d.parent_uuid, 16);
	m.u.begin.id.nclones = (uint32_t)d.nclones;
	m.u.begin.id.clones = xcalloc(d.nclones + 1, sizeof(struct wire_ref));
	for (i = 0; i < d.nclones; i++)
		memcpy(m.u.begin.id.clones[i].uuid, d.clone_uuids[i], 16);
	/* A kernel of v1 only is asked for no version: its streams are v1. */
	m.u.begin.id.version = d.version != 0 ? d.version : 1;
	if (p->compressed_data)
		m.u.begin.id.flags |= WIRE_BEGIN_COMPRESSED_DATA;
	if (n->restart)
		m.u.begin.id.flags |= WIRE_BEGIN_RESTART;
	if (wireio_send(n->w, &m) == -1) {
		free(m.u.begin.id.clones);
		return net_fail(n);
	}
	free(m.u.begin.id.clones);
	if (wireio_recv(n->w, &m) == -1)
		return net_fail(n);
	if (m.u.begin_reply.reason[0] != '\0')
		log_warnx("%s: %s: %s", n->sv != NULL ? "restore" : "send",
		    n->sv != NULL ? n->to : "RECEIVER",
		    m.u.begin_reply.reason);
	n->restart = false;
	n->resume = m.u.begin_reply.point;
	return (int)m.u.begin_reply.status;
}

/* Regenerate up to the receiver's checkpoint; the digests must agree. */
static int
net_skip(struct netsend *n, struct send *s)
{
	struct send_error e;

	if (send_skip(s, n->resume.index, &n->resume.digest, &e) == -1) {
		if (e.cls != ERR_PERMANENT) {
			log_warnx("send: fast-forward of %s: %s", n->snapshot,
			    e.msg);
			wireio_fail(n->w, WIRE_E_INTERNAL, "sender: %s", e.msg);
			return -1;
		}
		/*
		 * The receiver's partial is not a prefix of this stream (a
		 * damaged checkpoint, another kernel): never build on it.
		 * A restoring client cannot be asked for a fresh start in
		 * BEGIN (it answers BEGIN, we do not): it discards.
		 */
		if (n->sv != NULL) {
			log_warnx("%s: restore %s: cannot resume at command %"
			    PRIu64 " (byte %" PRIu64 "): %s", n->to,
			    n->snapshot, n->resume.index, n->resume.offset,
			    e.msg);
			wireio_fail(n->w, WIRE_E_STREAM, "cannot resume %s at "
			    "command %" PRIu64 ": %s; discard the partial and "
			    "ask again", n->snapshot, n->resume.index, e.msg);
			return -1;
		}
		log_warnx("send: CANNOT RESUME %s at command %" PRIu64 " (byte "
		    "%" PRIu64 "): %s; asking the receiver to DISCARD its "
		    "partial and starting over", n->snapshot, n->resume.index,
		    n->resume.offset, e.msg);
		wireio_fail(n->w, WIRE_E_STREAM, "sender cannot resume at "
		    "command %" PRIu64 ": %s; it will ask for a fresh start",
		    n->resume.index, e.msg);
		n->restart = true;
		return -1;
	}
	/*
	 * The digest chains every header, and each command header carries
	 * its length: equal digests mean equal offsets too.
	 */
	n->f_index = n->ncmds = n->resume.index;
	n->f_offset = n->resumed_at = n->resume.offset;
	n->res->resumes++;
	net_say(n, "%s: resuming at command %" PRIu64 ", byte %" PRIu64 "\n",
	    n->snapshot, n->resume.index, n->resume.offset);
	/* What an earlier attempt sent past the checkpoint goes again. */
	if (n->sent_to > 0)
		net_say(n, "%s: %" PRIu64 " bytes sent before the cut go "
		    "again\n", n->snapshot, n->sent_to > n->resume.offset ?
		    n->sent_to - n->resume.offset : 0);
	fflush(stdout);
	return 0;
}

/* The frame and compression buffers of a transfer, and their end. */
static void
net_buffers(struct netsend *n)
{
	n->cctx = ZSTD_createCCtx();
	n->frame = xmalloc(WIRE_DATA_RAW_MAX);
	n->zbuf = xmalloc(ZSTD_compressBound(WIRE_DATA_RAW_MAX));
}

static void
net_free(struct netsend *n)
{
	ZSTD_freeCCtx(n->cctx);
	free(n->frame);
	free(n->zbuf);
	free(n);
}

static int
net_attempt(struct netsend *n, SSL_CTX *ctx)
{
	struct send_params p;
	struct send_error e;
	struct wire_hello peer;
	struct send *s = NULL;
	char parent[4096], clones[16][4096];
	const char *snaps[1] = { n->snapshot }, *cl[NET_MAX_CLONES];
	size_t nc = 0, i;
	int fd, rc = -1, st;

	if ((fd = net_open(n, ctx, WIRE_CAP_ZSTD | WIRE_CAP_COMPRESSED_DATA,
	    NULL, &peer)) == -1)
		return -1;
	if (wireio_keepalive_start(n->w, n->timeout_ms / 3) == -1)
		log_warn("send: keepalive thread");
	n->use_zstd = n->zstd && (peer.caps & WIRE_CAP_ZSTD);
	memset(&p, 0, sizeof(p));
	p.snapshots = snaps;
	p.nsnapshots = 1;
	p.proto = n->o->proto;
	p.compressed_data = n->o->compressed_data;
	p.parent = n->o->parent;
	p.clones = n->o->clones;
	p.nclones = n->o->nclones;
	if (n->o->parent == NULL) {
		if (net_choose(n, parent, sizeof(parent), clones, &nc) == -1)
			goto done;
		if (parent[0] != '\0') {
			p.parent = parent;
			for (i = 0; i < nc; i++)
				cl[i] = clones[i];
			p.clones = cl;
			p.nclones = nc;
		}
	}
	if (send_start(&s, &p, &e) == -1) {
		log_warnx("send: %s", e.msg);
		n->permanent = e.cls == ERR_PERMANENT;
		goto done;
	}
	if ((st = net_begin(n, s, &p)) == -1)
		goto done;
	if (st == WIRE_BEGIN_COMPLETE) {
		net_say(n, "%s: the receiver already holds it\n", n->snapshot);
		n->res->already = 1;
		rc = 0;
		goto done;
	}
	n->flen = n->f_ncmds = 0;
	n->f_index = n->f_offset = n->ncmds = n->bytes = n->resumed_at = 0;
	net_total(n, &p);
	if (st == WIRE_BEGIN_RESUME && net_skip(n, s) == -1)
		goto done;
	clock_gettime(CLOCK_MONOTONIC, &n->start);
	net_progress(n, true, false);
	if (net_stream(n, s) == 0 && net_finish(n, s) == 0)
		rc = 0;
done:
	net_est_collect(n, true);
	if (s != NULL)
		send_free(s);
	net_close(n, fd);
	/* A fresh start after a digest mismatch is no failed try. */
	if (rc == -1 && n->restart && !n->restarted) {
		n->restarted = true;
		return net_attempt(n, ctx);
	}
	return rc;
}

int
netsend_run(SSL_CTX *ctx, const struct netsend_target *tg, const char *job,
    const char *snapshot, const struct netsend_opts *o,
    struct netsend_result *res)
{
	struct netsend *n;
	int attempt, delay = 1, rc = -1;

	memset(res, 0, sizeof(*res));
	n = xcalloc(1, sizeof(*n));
	n->tg = tg;
	n->o = o;
	n->res = res;
	n->to = tg->label;
	n->job = job;
	n->snapshot = snapshot;
	n->limit = tg->bandwidth;
	n->zstd = tg->zstd != 0;
	n->t.fd = -1;
	signal(SIGPIPE, SIG_IGN);
	net_buffers(n);
	for (attempt = 0; ; attempt++) {
		n->permanent = false;
		n->bytes = 0;
		rc = net_attempt(n, ctx);
		res->sent += n->bytes;
		if (rc == 0)
			break;
		if (n->permanent || attempt >= o->retries) {
			rc = -1;
			log_warnx("send: giving up on %s after %d attempt%s",
			    snapshot, attempt + 1, attempt ? "s" : "");
			break;
		}
		log_warnx("send: retrying in %d s (%d of %d)", delay,
		    attempt + 1, o->retries);
		sleep((unsigned)delay);
		delay = delay < 30 ? delay * 2 : 60;
	}
	res->ncmds = n->ncmds;
	res->bytes = n->bytes;
	res->cls = rc == 0 ? ERR_NONE : n->permanent ? ERR_PERMANENT :
	    ERR_TEMPORARY;
	res->total = n->total;
	res->total_src = n->total_src;
	net_free(n);
	return rc;
}

/*
 * The size hint of a served restore: the estimate pass runs beside the
 * send (net_total); BEGIN waits for it a moment.  A pass that takes
 * longer (millions of small files) leaves the hint unknown rather than
 * hold the transfer back: it goes on only to be collected.
 */
static void
net_serve_hint(struct netsend *n, const struct send_params *p)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int waited;

	n->total = n->sv->size_hint;
	if (n->sv->estimate_ms <= 0)
		return;
	net_total(n, p);
	for (waited = 0; n->est.running && waited < n->sv->estimate_ms;
	    waited += 20) {
		if (atomic_load(&n->est.state) != NET_EST_RUNNING)
			break;
		nanosleep(&ts, NULL);
	}
	net_est_collect(n, false);
}

int
netsend_serve(struct wireio *w, const struct netsend_serve *sv,
    struct netsend_result *res)
{
	struct netsend_opts o;
	struct send_error e;
	struct netsend *n;
	struct send *s = NULL;
	int st, rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&o, 0, sizeof(o));
	o.estimate = sv->estimate_ms > 0;
	n = xcalloc(1, sizeof(*n));
	n->o = &o;
	n->res = res;
	n->sv = sv;
	n->to = sv->client;
	n->job = sv->job;
	n->snapshot = sv->label;
	n->w = w;
	n->t.fd = -1;
	n->use_zstd = sv->zstd != 0;
	net_buffers(n);
	if (send_start(&s, sv->p, &e) == -1) {
		log_warnx("%s: restore %s: %s", sv->client, sv->label, e.msg);
		wireio_fail(w, e.cls == ERR_PERMANENT ? WIRE_E_APPLY :
		    WIRE_E_INTERNAL, "the backup host cannot send %s: %s",
		    sv->label, e.msg);
		goto done;
	}
	net_serve_hint(n, sv->p);
	if ((st = net_begin(n, s, sv->p)) == -1)
		goto done;
	if (st == WIRE_BEGIN_COMPLETE) {
		res->already = 1;
		rc = 0;
		goto done;
	}
	if (st == WIRE_BEGIN_RESUME && net_skip(n, s) == -1)
		goto done;
	clock_gettime(CLOCK_MONOTONIC, &n->start);
	if (net_stream(n, s) == 0 && net_finish(n, s) == 0)
		rc = 0;
	else if (n->w->err[0] == '\0')
		/* The stream failed here (the kernel): say so to the client. */
		wireio_fail(w, WIRE_E_INTERNAL, "the backup host failed "
		    "sending %s; ask again", sv->label);
done:
	net_est_collect(n, true);
	if (s != NULL)
		send_free(s);
	res->ncmds = n->ncmds;
	res->bytes = n->bytes;
	res->sent = n->bytes;
	res->total = n->total;
	res->total_src = n->total_src;
	res->cls = rc == 0 ? ERR_NONE : n->permanent ? ERR_PERMANENT :
	    ERR_TEMPORARY;
	net_free(n);
	return rc;
}
