/*
 * A job run inside a worker: take the snapshot; for each target of
 * send-to, ask what it holds (LIST) and send every snapshot it misses,
 * oldest first, each incremental from the one before (snap_plan in
 * engine/choice.c; docs/architecture.md, "A job run"), resuming a
 * partial; ask it to prune by keep-target; then prune the job's
 * snapshots by keep-source.
 *
 * Pruning never deletes the newest snapshot a target holds (the parent
 * of its next incremental), one a transfer uses, nor the one just taken.
 * When a target could not say what it holds (unreachable), its last
 * known base (reported at its last contact, kept by the parent in the
 * state dir) stays and pruning goes on, so a dead target never fills
 * the source disk; only when nothing is known of it is nothing pruned.
 */
#include <fcntl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "daemon/net/netsend.h"
#include "daemon/net/tls.h"
#include "daemon/worker/worker.h"
#include "engine/prune.h"
#include "engine/send.h"
#include "engine/snapshot.h"

static void
jobrun_progress(int fd, const char *fmt, ...) LOG_PRINTF(2, 3);

static void
jobrun_progress(int fd, const char *fmt, ...)
{
	struct msgbuf b = { 0 };
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ipc_put_progress(&b, (uint32_t)getpid(), what);
	if (ipc_write_all(fd, &b) == -1)
		log_warn("worker: progress to parent");
	msgbuf_free(&b);
}

/* The progress callback's argument: where to, and what. */
struct jobrun_meter {
	int		 fd;
	const char	*target;
	const char	*snapshot;
};

static void
jobrun_xfer(const struct netsend_progress *p, void *arg)
{
	struct jobrun_meter *m = arg;
	struct msgbuf b = { 0 };
	struct ipc_xfer x;

	memset(&x, 0, sizeof(x));
	x.phase = (char *)(uintptr_t)p->phase;
	x.target = (char *)(uintptr_t)m->target;
	x.snapshot = (char *)(uintptr_t)m->snapshot;
	x.done = p->done;
	x.total = p->total;
	x.total_src = p->total_src;
	x.resumed_at = p->resumed_at;
	x.resumes = p->resumes;
	ipc_put_xfer(&b, (uint32_t)getpid(), &x);
	if (ipc_write_all(m->fd, &b) == -1)
		log_warn("worker: progress to parent");
	msgbuf_free(&b);
}

/* What the target reported holding, and the snapshots just sent. */
static void
jobrun_held_report(int fd, const char *target, char **names, size_t n,
    const char *base)
{
	struct msgbuf b = { 0 };
	struct ipc_held h;

	h.target = (char *)(uintptr_t)target;
	h.base = (char *)(uintptr_t)(base != NULL ? base : "");
	h.n = n > IPC_HELD_MAX ? IPC_HELD_MAX : (uint32_t)n;
	h.names = names;
	ipc_put_held(&b, (uint32_t)getpid(), &h);
	if (ipc_write_all(fd, &b) == -1)
		log_warn("worker: held snapshots to parent");
	msgbuf_free(&b);
}

/*
 * What a target holds (uuids: the received uuids it lists), the
 * snapshots of its partials of full sends this run could resume (full),
 * and what a transfer to
 * it uses (inuse: a send that failed this run; the snapshot, parent and
 * clone sources of the partial of a snapshot still to send), for
 * planning and pinning.  n is (size_t)-1 when it could not be asked.
 */
struct jobrun_held {
	uint8_t		(*uuids)[16];
	size_t		 n;
	uint8_t		(*inuse)[16];
	size_t		 ninuse;
	uint8_t		(*full)[16];
	size_t		 nfull;
};

#define JOBRUN_SEND_RETRIES	2	/* within a run; the parent backs off */

static void
jobrun_target_result(struct ipc_target_result *tr, const char *name,
    enum run_result status, const char *parent, const char *error)
{
	tr->name = xstrdup(name);
	tr->status = status;
	tr->parent = xstrdup(parent);
	tr->error = xstrdup(error);
}

static void
jobrun_add(uint8_t (**set)[16], size_t *n, const uint8_t *uuid)
{
	*set = xrealloc(*set, (*n + 1) * 16);
	memcpy((*set)[(*n)++], uuid, 16);
}

/* The uuid a target knows a local snapshot by (see snap_choose). */
static const uint8_t *
jobrun_key(const struct snap_info *si)
{
	static const uint8_t zero[16];

	return memcmp(si->received_uuid, zero, 16) != 0 ? si->received_uuid :
	    si->uuid;
}

static const uint8_t jobrun_zero[16];

/*
 * Could this run's send of the partial's snapshot resume it?  A full
 * send with the stream version and flags the run would ask for (as
 * send_plan.c decides them: no version on a v1-only kernel).
 */
static int
jobrun_resumable(const struct ipc_run *run, const struct wire_partial *p)
{
	uint32_t have = send_kernel_proto(), version, flags;

	version = have > 1 ? (run->proto == SEND_PROTO_AUTO ? have :
	    run->proto) : 0;
	flags = run->compressed_data ? WIRE_BEGIN_COMPRESSED_DATA : 0;
	return memcmp(p->id.parent.uuid, jobrun_zero, 16) == 0 &&
	    p->id.nclones == 0 && p->id.version == version &&
	    p->id.flags == flags;
}

/* LIST: what the target holds.  -1 with *st when it could not say. */
static int
jobrun_ask(SSL_CTX *ctx, const struct ipc_run *run,
    const struct netsend_target *tg, struct wire_msg *m,
    struct jobrun_held *h, enum run_result *st)
{
	const struct wire_list_reply *l = &m->u.list;
	uint32_t i;
	enum err_class cls;

	if (netsend_list(ctx, tg, run->job, m, &cls) == -1) {
		h->n = (size_t)-1;
		*st = err_class_result(cls);
		return -1;
	}
	h->n = l->nsnaps;
	h->uuids = xcalloc(h->n + 1, 16);
	for (i = 0; i < l->nsnaps; i++)
		memcpy(h->uuids[i], l->snaps[i].received.uuid, 16);
	for (i = 0; i < l->npartials; i++)
		if (jobrun_resumable(run, &l->partials[i]))
			jobrun_add(&h->full, &h->nfull,
			    l->partials[i].id.snap.uuid);
	return 0;
}

/*
 * Pin what the partials of planned snapshots need to resume: the
 * snapshot, its parent and clone sources.  A partial of anything else
 * is never resumed (the chain has moved past it) and pins nothing.
 */
static void
jobrun_pin_partials(const struct wire_list_reply *l,
    const struct snap_info *local, const size_t *order, size_t n,
    struct jobrun_held *h)
{
	const struct wire_partial *p;
	uint32_t i, c;
	size_t k;

	for (i = 0; i < l->npartials; i++) {
		p = &l->partials[i];
		for (k = 0; k < n; k++)
			if (memcmp(jobrun_key(&local[order[k]]), p->id.snap.uuid,
			    16) == 0)
				break;
		if (k == n)
			continue;
		jobrun_add(&h->inuse, &h->ninuse, p->id.snap.uuid);
		if (memcmp(p->id.parent.uuid, jobrun_zero, 16) != 0)
			jobrun_add(&h->inuse, &h->ninuse, p->id.parent.uuid);
		for (c = 0; c < p->id.nclones; c++)
			jobrun_add(&h->inuse, &h->ninuse, p->id.clones[c].uuid);
	}
}

static void
jobrun_target(const struct ipc_target *it, char *port, size_t portlen,
    struct netsend_target *tg)
{
	snprintf(port, portlen, "%u", it->port);
	memset(tg, 0, sizeof(*tg));
	tg->label = it->name;
	tg->host = it->host;
	tg->port = port;
	tg->timeout_ms = (int)it->timeout * 1000;
	tg->cert_name = it->cert_name[0] ? it->cert_name : it->host;
	tg->bandwidth = it->bandwidth;
	tg->zstd = it->zstd;
}

/* What jobrun_send_missing did. */
struct jobrun_sent {
	size_t		 n;		/* snapshots that arrived */
	char		 first_parent[256];	/* of the first send, "" full */
	uint64_t	 bytes;		/* stream bytes sent, all attempts */
	uint32_t	 resumes;	/* attempts that resumed a partial */
};

/*
 * Send local[order[0..n)] to the target, oldest first; each send asks
 * the target again (netsend_run), so each is incremental from the one
 * before.  The status of the last attempt.
 */
static enum run_result
jobrun_send_missing(int fd, SSL_CTX *ctx, const struct ipc_run *run,
    const struct netsend_target *tg, struct netsend_opts *o,
    const struct snap_info *local, const size_t *order, size_t n,
    struct jobrun_held *h, struct jobrun_sent *out)
{
	struct jobrun_meter *meter = o->progress_arg;
	struct netsend_result nr;
	const struct snap_info *si;
	char path[4096];
	size_t k;
	int rc;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < n; k++) {
		si = &local[order[k]];
		snprintf(path, sizeof(path), "%s/%s", run->snapshot_dir,
		    si->name);
		log_fields(run->job, tg->label, si->name, NULL);
		jobrun_progress(fd, "sending %s to %s (%zu of %zu)", si->name,
		    tg->label, k + 1, n);
		meter->snapshot = si->name;
		rc = netsend_run(ctx, tg, run->job, path, o, &nr);
		out->bytes += nr.sent;
		out->resumes += nr.resumes;
		if (rc == -1) {
			/* Its partial on the target resumes next run. */
			jobrun_add(&h->inuse, &h->ninuse, jobrun_key(si));
			netsend_result_free(&nr);
			return err_class_result(nr.cls);
		}
		if (nr.already)
			log_info("%s already holds %s: nothing sent", tg->label,
			    si->name);
		else
			log_info("sent %s to %s%s%s", si->name, tg->label,
			    nr.parent[0] ? ", incremental from " : ", full",
			    nr.parent);
		if (k == 0)
			snprintf(out->first_parent, sizeof(out->first_parent),
			    "%s", nr.parent);
		jobrun_add(&h->uuids, &h->n, jobrun_key(si));
		netsend_result_free(&nr);
		out->n++;
	}
	return RUN_OK;
}

/*
 * IPC_HELD: what the target listed and what it was sent since, and its
 * base now (the newest of ours it holds), kept by the parent for runs
 * that cannot reach it.
 */
static void
jobrun_report_held(int fd, const char *target, const struct wire_list_reply *l,
    const struct snap_info *local, size_t nlocal, const size_t *order,
    size_t nsent, const struct jobrun_held *h)
{
	char **names;
	size_t i, n = 0;

	names = xcalloc(l->nsnaps + nsent + 1, sizeof(*names));
	for (i = 0; i < l->nsnaps; i++)
		names[n++] = (char *)(uintptr_t)l->snaps[i].name;
	for (i = 0; i < nsent; i++)
		names[n++] = (char *)(uintptr_t)local[order[i]].name;
	jobrun_held_report(fd, target, names, n, snap_base_name(local, nlocal,
	    (const uint8_t (*)[16])h->uuids, h->n));
	free(names);
}

/*
 * After a prune on the target deleted some: ask again what it holds and
 * report that, so that `btrsendctl snapshots` and the metrics do not
 * list what was just deleted (PRUNE-REPLY gives counts, not names).
 * Pins stay as planned: a superset, and the target never deletes its
 * newest complete snapshot, the base.
 */
static void
jobrun_relist(int fd, SSL_CTX *ctx, const struct ipc_run *run,
    const struct netsend_target *tg, const struct snap_info *local,
    size_t nlocal)
{
	struct jobrun_held now;
	struct wire_msg m;
	enum run_result st;

	memset(&now, 0, sizeof(now));
	memset(&m, 0, sizeof(m));
	if (jobrun_ask(ctx, run, tg, &m, &now, &st) == 0)
		jobrun_report_held(fd, tg->label, &m.u.list, local, nlocal,
		    NULL, 0, &now);
	else
		log_warnx("job %s: target %s: could not list it after its "
		    "prune; what it holds is shown as before", run->job,
		    tg->label);
	free(now.uuids);
	free(now.full);
	wire_msg_free(&m);
}

/* What a run sent to one target, in one line. */
static void
jobrun_report(const char *job, const char *target,
    const struct snap_info *local, const size_t *order, size_t n,
    size_t nsent)
{
	if (n == 0)
		log_info("job %s: target %s: nothing missing", job, target);
	else if (nsent == 0)
		log_info("job %s: target %s: %zu missing, none sent", job,
		    target, n);
	else
		log_info("job %s: target %s: %zu missing, %zu sent: %s%s%s",
		    job, target, n, nsent, local[order[0]].name,
		    nsent > 1 ? " .. " : "",
		    nsent > 1 ? local[order[nsent - 1]].name : "");
}

/*
 * One target: ask what it holds, send every snapshot it misses (see
 * snap_plan), then PRUNE by keep-target.
 */
static enum run_result
jobrun_send_one(int fd, SSL_CTX *ctx, const struct ipc_run *run,
    const struct ipc_target *it, struct jobrun_held *h,
    struct ipc_target_result *tr)
{
	struct netsend_target tg;
	struct netsend_opts o;
	struct jobrun_meter meter = { fd, it->name, "" };
	struct jobrun_sent sent = { 0 };
	struct netsend_refused refused = { 0, "" };
	struct wire_msg m;
	struct snap_info *local = NULL;
	size_t *order = NULL, nlocal = 0, n, base;
	char port[8], err[512], note[WIRE_TEXT_MAX + 16] = "";
	enum run_result st;
	int pruned;

	jobrun_target(it, port, sizeof(port), &tg);
	memset(&o, 0, sizeof(o));
	o.proto = run->proto;
	o.compressed_data = run->compressed_data;
	o.retries = JOBRUN_SEND_RETRIES;
	o.on_progress = jobrun_xfer;
	o.progress_arg = &meter;
	o.estimate = 1;		/* beside the send: costs no time */
	o.prev_total = it->prev_bytes;
	log_fields(run->job, it->name, NULL, NULL);
	memset(&m, 0, sizeof(m));
	if (jobrun_ask(ctx, run, &tg, &m, h, &st) == -1) {
		frame_errf(err, sizeof(err), "could not ask it what it holds%s",
		    st == RUN_RETRY ? ", will retry (see log)" : " (see log)");
		goto done;
	}
	if (snapshot_list(run->snapshot_dir, run->job, &local, &nlocal, err,
	    sizeof(err)) == -1) {
		st = RUN_FAILED;
		goto done;
	}
	order = xcalloc(nlocal + 1, sizeof(*order));
	n = snap_plan(local, nlocal, (const uint8_t (*)[16])h->uuids, h->n,
	    (const uint8_t (*)[16])h->full, h->nfull, order, &base);
	if (base == nlocal && nlocal > 1)
		log_info("job %s: target %s holds none of this job's %zu "
		    "snapshots: starting it with %s (a full send)%s", run->job,
		    it->name, nlocal, local[order[0]].name,
		    h->nfull > 0 ? ", resuming its partial" : "");
	jobrun_pin_partials(&m.u.list, local, order, n, h);
	st = jobrun_send_missing(fd, ctx, run, &tg, &o, local, order, n, h,
	    &sent);
	log_fields(run->job, it->name, NULL, NULL);
	if (sent.n < n)
		frame_errf(err, sizeof(err), "sent %zu of the %zu snapshots it "
		    "misses; %s failed%s", sent.n, n, local[order[sent.n]].name,
		    st == RUN_RETRY ? ", will retry (see log)" : " (see log)");
	else
		err[0] = '\0';
	jobrun_report(run->job, it->name, local, order, n, sent.n);
	jobrun_report_held(fd, it->name, &m.u.list, local, nlocal, order,
	    sent.n, h);
	if (st != RUN_OK || !run->keep_target.set)
		goto done;
	if ((pruned = netsend_prune(ctx, &tg, run->job, &run->keep_target,
	    &refused)) == -1)
		log_warnx("job %s: target %s: pruning by keep-target "
		    "failed; will try after the next send", run->job,
		    it->name);
	else {
		if (refused.n != 0)	/* shown with the ok result, a note */
			frame_errf(note, sizeof(note), "prune: %s",
			    refused.reason);
		if (pruned > 0)
			jobrun_relist(fd, ctx, run, &tg, local, nlocal);
	}
done:
	jobrun_target_result(tr, it->name, st, sent.first_parent,
	    st == RUN_OK ? note : err);
	tr->bytes = sent.bytes;
	tr->prune_refused = refused.n;
	tr->resumes = sent.resumes;
	wire_msg_free(&m);
	free(order);
	free(local);
	return st;
}

/*
 * Replicate to every target.  The worst status; h[i].n is (size_t)-1
 * when target i could not say what it holds.
 */
static enum run_result
jobrun_replicate(int fd, const struct ipc_run *run, struct ipc_result *res,
    struct jobrun_held *h)
{
	struct tls_conf tc;
	SSL_CTX *ctx = NULL;
	char err[512];
	uint32_t i;
	enum run_result st, worst = RUN_OK;

	res->targets = xcalloc(run->ntargets + 1, sizeof(*res->targets));
	res->ntargets = run->ntargets;
	tc.certificate = run->tls_certificate;
	tc.key = run->tls_key;
	tc.ca = run->tls_ca;
	if (run->tls_certificate[0] == '\0')
		snprintf(err, sizeof(err), "the configuration has no tls block");
	else if ((ctx = tls_ctx_new(&tc, false, err, sizeof(err))) != NULL)
		err[0] = '\0';
	for (i = 0; i < run->ntargets; i++) {
		if (ctx == NULL) {
			log_warnx("job %s: target %s: %s", run->job,
			    run->targets[i].name, err);
			jobrun_target_result(&res->targets[i],
			    run->targets[i].name, RUN_FAILED, "", err);
			h[i].n = (size_t)-1;
			st = RUN_FAILED;
		} else
			st = jobrun_send_one(fd, ctx, run, &run->targets[i],
			    &h[i], &res->targets[i]);
		if (st > worst)
			worst = st;
	}
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return worst;
}

/* What keep-source must not delete, for prune_run. */
struct jobrun_pins {
	int		 fd;
	const struct ipc_run *run;
	const char	*made;
	const struct jobrun_held *h;
};

/*
 * Pinned: the snapshot just taken, the newest each target holds (the
 * base of its next incremental) and every snapshot a transfer uses (a
 * send that failed this run; the snapshot, parent and clone sources of a
 * partial of a snapshot still to send): its resume needs them unchanged.
 */
static void
jobrun_pin(const struct snap_info *snaps, size_t n, int *pinned, void *arg)
{
	const struct jobrun_pins *jp = arg;
	size_t i, t;

	for (t = 0; t < jp->run->ntargets; t++) {
		if (jp->h[t].n == (size_t)-1)	/* jobrun_prune checked known */
			(void)snap_pin_last_known(snaps, n,
			    jp->run->targets[t].known, jp->run->targets[t].base,
			    pinned);
		else
			snap_pin_held(snaps, n,
			    (const uint8_t (*)[16])jp->h[t].uuids, jp->h[t].n,
			    pinned);
		snap_pin_uuids(snaps, n, (const uint8_t (*)[16])jp->h[t].inuse,
		    jp->h[t].ninuse, pinned);
	}
	for (i = 0; i < n; i++)
		if (strcmp(snaps[i].name, jp->made) == 0)
			pinned[i] = 1;
}

/* A failed deletion fails the run's pruning. */
static int
jobrun_deleted(const char *name, const char *err, void *arg)
{
	const struct jobrun_pins *jp = arg;

	if (err != NULL)
		return -1;
	jobrun_progress(jp->fd, "deleted snapshot %s", name);
	return 0;
}

/* Delete what keep-source does not keep; the count deleted, or -1. */
static int
jobrun_prune(int fd, const struct ipc_run *run, const char *made,
    const struct jobrun_held *h, char *err, size_t errlen)
{
	struct jobrun_pins jp = { fd, run, made, h };
	struct prune_req rq;
	struct prune_result pr;
	const struct ipc_target *it;
	size_t t;

	if (!run->keep_source.set)
		return 0;
	for (t = 0; t < run->ntargets; t++) {
		it = &run->targets[t];
		if (h[t].n != (size_t)-1)
			continue;
		if (!it->known) {
			log_warnx("job %s: not pruning: target %s did not say "
			    "what it holds and nothing is known of what it held "
			    "(no record in the state dir)", run->job, it->name);
			return 0;
		}
		log_info("job %s: target %s did not say what it holds: "
		    "pruning by keep-source, keeping its last known base %s",
		    run->job, it->name, it->base[0] ? it->base : "(none)");
	}
	memset(&rq, 0, sizeof(rq));
	rq.dir = run->snapshot_dir;
	rq.job = run->job;
	rq.policy = &run->keep_source;
	rq.now = run->now;
	rq.pin = jobrun_pin;
	rq.deleted = jobrun_deleted;
	rq.arg = &jp;
	if (prune_run(&rq, &pr, err, errlen) == -1)
		return -1;
	return (int)pr.deleted;
}

/*
 * A retry re-sends the snapshot its run took (run->resend) when it is
 * still one of the job's: another would pile up with every backoff
 * retry against a dead target.  1 when it is, 0 when a new one is due.
 */
static int
jobrun_resend(int fd, const struct ipc_run *run, char *name, size_t len)
{
	struct snap_info *local = NULL;
	size_t i, n = 0;
	char err[512];
	int found = 0;

	if (run->resend == NULL || run->resend[0] == '\0')
		return 0;
	if (snapshot_list(run->snapshot_dir, run->job, &local, &n, err,
	    sizeof(err)) == -1)
		log_warnx("job %s: %s", run->job, err);
	for (i = 0; i < n && !found; i++)
		found = strcmp(local[i].name, run->resend) == 0;
	free(local);
	if (!found) {
		log_warnx("job %s: retry: snapshot %s of the first attempt is "
		    "gone from %s; taking a new one", run->job, run->resend,
		    run->snapshot_dir);
		return 0;
	}
	snprintf(name, len, "%s", run->resend);
	jobrun_progress(fd, "retry: sending snapshot %s again, no new "
	    "snapshot", name);
	return 1;
}

/*
 * snapshot-if-changed: is the source as the job's newest snapshot has
 * it?  Taking a snapshot commits the source's tree in that transaction,
 * so the source's generation equals the snapshot's otransid until the
 * source changes again (also by atime updates: then a snapshot is
 * taken, the safe side).  The newest must be a snapshot of this source
 * (its parent uuid), not one received or of an older source.  The
 * generation is the last committed one: a commit (syncfs, which the
 * snapshot would have made anyway) first, or a change of the last few
 * seconds goes unseen.  1 with its name in name when unchanged, else 0.
 */
static int
jobrun_unchanged(int fd, const struct ipc_run *run, char *name, size_t len)
{
	struct snap_info src, *local = NULL, *last;
	size_t n = 0;
	char err[512];
	int same = 0, sfd;

	if (!run->if_changed)
		return 0;
	if ((sfd = open(run->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || syncfs(sfd) == -1) {
		log_warn("job %s: snapshot-if-changed: committing %s; taking "
		    "a snapshot", run->job, run->source);
		if (sfd != -1)
			close(sfd);
		return 0;
	}
	close(sfd);
	if (snapshot_info(run->source, &src, err, sizeof(err)) == -1 ||
	    snapshot_list(run->snapshot_dir, run->job, &local, &n, err,
	    sizeof(err)) == -1) {
		log_warnx("job %s: snapshot-if-changed: %s; taking a snapshot",
		    run->job, err);
		free(local);
		return 0;
	}
	if (n > 0) {
		last = &local[n - 1];
		same = memcmp(last->parent_uuid, src.uuid, 16) == 0 &&
		    memcmp(last->received_uuid, jobrun_zero, 16) == 0 &&
		    src.generation == last->otransid;
		if (same) {
			snprintf(name, len, "%s", last->name);
			log_info("job %s: unchanged since %s: no snapshot",
			    run->job, name);
			jobrun_progress(fd, "unchanged since %s: no snapshot",
			    name);
		}
	}
	free(local);
	return same;
}

/* "80 MiB", "1 GiB", "1.5 GiB": powers of 1024, as min-free is read. */
static const char *
jobrun_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB",
	    "TiB", "PiB", "EiB" };
	double d = (double)v;
	size_t u = 0;

	while (d >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		d /= 1024;
		u++;
	}
	if (u == 0 || d >= 100 || d == (double)(uint64_t)d)
		snprintf(buf, len, "%.0f %s", d, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", d, unit[u]);
	return buf;
}

static int
jobrun_avail(const char *dir, uint64_t *avail, char *err, size_t errlen)
{
	struct statvfs sv;

	if (statvfs(dir, &sv) == -1) {
		snprintf(err, errlen, "disk space: cannot tell the free space "
		    "of %s: %s; not snapshotting", dir, strerror(errno));
		return -1;
	}
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

#define JOBRUN_SPACE_POLLS	20	/* of 250 ms: btrfs frees lazily */

/*
 * min-free: before the snapshot, the snapshot-dir's filesystem must have
 * that much free.  When it has not, prune by keep-source first (no target
 * is asked yet: each keeps its last known base, and one nothing is known
 * of prunes nothing, as in jobrun_prune), and wait a little for btrfs to
 * free the deleted snapshots' space.  0 to go on; -1 with err.
 */
static int
jobrun_space(int fd, const struct ipc_run *run, char *err, size_t errlen)
{
	const struct timespec poll = { 0, 250 * 1000 * 1000 };
	struct jobrun_held *h;
	char a[32], m[32];
	uint64_t avail;
	uint32_t t;
	int pruned, i;

	if (run->min_free == 0)
		return 0;
	if (jobrun_avail(run->snapshot_dir, &avail, err, errlen) == -1)
		return -1;
	if (avail >= run->min_free)
		return 0;
	log_warnx("job %s: disk space: %s free on %s, min-free is %s: pruning "
	    "by keep-source before snapshotting", run->job,
	    jobrun_bytes(avail, a, sizeof(a)), run->snapshot_dir,
	    jobrun_bytes(run->min_free, m, sizeof(m)));
	h = xcalloc(run->ntargets + 1, sizeof(*h));
	for (t = 0; t < run->ntargets; t++)
		h[t].n = (size_t)-1;	/* not asked: the last known base */
	pruned = jobrun_prune(fd, run, "", h, err, errlen);
	free(h);
	if (pruned == -1)
		return -1;
	for (i = 0; pruned > 0 && avail < run->min_free &&
	    i < JOBRUN_SPACE_POLLS; i++) {
		nanosleep(&poll, NULL);
		if (jobrun_avail(run->snapshot_dir, &avail, err, errlen) == -1)
			return -1;
	}
	if (avail >= run->min_free) {
		log_info("job %s: disk space: %s free on %s after pruning %d "
		    "snapshots", run->job, jobrun_bytes(avail, a, sizeof(a)),
		    run->snapshot_dir, pruned);
		return 0;
	}
	snprintf(err, errlen, "disk space: %s free on %s, min-free is %s; "
	    "pruning by keep-source freed %d snapshot%s; not snapshotting "
	    "(free space there, or lower min-free)",
	    jobrun_bytes(avail, a, sizeof(a)), run->snapshot_dir,
	    jobrun_bytes(run->min_free, m, sizeof(m)), pruned,
	    pruned == 1 ? "" : "s");
	return -1;
}

int
jobrun(int fd, const struct ipc_run *run, struct ipc_result *res)
{
	char name[SNAP_NAME_MAX + 1], err[1024];
	struct jobrun_held *h;
	uint32_t i;
	enum run_result st = RUN_OK;
	int pruned, made = 1;

	memset(res, 0, sizeof(*res));
	res->status = RUN_FAILED;
	if (jobrun_resend(fd, run, name, sizeof(name)))
		;
	else if (jobrun_unchanged(fd, run, name, sizeof(name)))
		made = 0;
	else if (jobrun_space(fd, run, err, sizeof(err)) == -1 ||
	    snapshot_create(run->source, run->snapshot_dir, run->job,
	    run->now, name, sizeof(name), err, sizeof(err)) == -1) {
		log_warnx("job %s: %s", run->job, err);
		res->snapshot = xstrdup("");
		res->error = xstrdup(err);
		return RUN_EXIT_FAILED;
	} else
		jobrun_progress(fd, "created snapshot %s", name);
	res->snapshot = xstrdup(made ? name : "");
	log_fields(run->job, NULL, name, NULL);
	h = xcalloc(run->ntargets + 1, sizeof(*h));
	if (run->ntargets > 0)
		st = jobrun_replicate(fd, run, res, h);
	log_fields(run->job, NULL, name, NULL);
	pruned = jobrun_prune(fd, run, name, h, err, sizeof(err));
	for (i = 0; i < run->ntargets; i++) {
		free(h[i].uuids);
		free(h[i].inuse);
		free(h[i].full);
	}
	free(h);
	if (pruned == -1) {
		log_warnx("job %s: pruning by keep-source: %s", run->job, err);
		res->error = xstrdup(err);
		return RUN_EXIT_FAILED;
	}
	res->pruned = (uint32_t)pruned;
	res->status = st;
	if (st == RUN_OK) {
		res->error = xstrdup("");
		return RUN_EXIT_OK;
	}
	for (i = 0; i < res->ntargets && res->targets[i].status == RUN_OK; i++)
		;
	frame_errf(err, sizeof(err), "target %s: %s", res->targets[i].name,
	    res->targets[i].error);
	res->error = xstrdup(err);
	return run_result_exit(st);
}
