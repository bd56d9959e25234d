/*
 * A job run inside a worker: take the snapshot, send it to each target
 * of send-to (incremental from the newest snapshot the target holds,
 * resuming a partial; daemon/netsend.c), ask each target to prune by
 * keep-target, then prune the job's snapshots by keep-source.
 *
 * Pruning never deletes the newest snapshot a target holds (the parent
 * of its next incremental) nor the one just taken.  When a target could
 * not say what it holds (unreachable), nothing is pruned this run: any
 * snapshot may be the base it needs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/netsend.h"
#include "daemon/tls.h"
#include "daemon/worker.h"
#include "engine/retention.h"
#include "engine/snapshot.h"

static void
jobrun_progress(int fd, const char *fmt, ...) LOG_PRINTF(2, 3);

static void
jobrun_progress(int fd, const char *fmt, ...)
{
	struct ipc_buf b = { 0 };
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ipc_put_progress(&b, (uint32_t)getpid(), what);
	if (ipc_write_all(fd, &b) == -1)
		log_warn("worker: progress to parent");
	ipc_buf_free(&b);
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
	struct ipc_buf b = { 0 };
	struct ipc_xfer x;

	memset(&x, 0, sizeof(x));
	x.phase = (char *)(uintptr_t)p->phase;
	x.target = (char *)(uintptr_t)m->target;
	x.snapshot = (char *)(uintptr_t)m->snapshot;
	x.done = p->done;
	x.total = p->total;
	x.total_src = p->total_src == NETSEND_TOTAL_ESTIMATE ?
	    IPC_TOTAL_ESTIMATE : p->total_src == NETSEND_TOTAL_PREVIOUS ?
	    IPC_TOTAL_PREVIOUS : IPC_TOTAL_UNKNOWN;
	x.resumed_at = p->resumed_at;
	x.resumes = p->resumes;
	ipc_put_xfer(&b, (uint32_t)getpid(), &x);
	if (ipc_write_all(m->fd, &b) == -1)
		log_warn("worker: progress to parent");
	ipc_buf_free(&b);
}

/* What the target reported holding, and the snapshot just sent. */
static void
jobrun_held_report(int fd, const char *target, const struct netsend_result *nr)
{
	struct ipc_buf b = { 0 };
	struct ipc_held h;

	h.target = (char *)(uintptr_t)target;
	h.n = nr->nheld > IPC_HELD_MAX ? IPC_HELD_MAX : (uint32_t)nr->nheld;
	h.names = nr->held_names;
	ipc_put_held(&b, (uint32_t)getpid(), &h);
	if (ipc_write_all(fd, &b) == -1)
		log_warn("worker: held snapshots to parent");
	ipc_buf_free(&b);
}

static void
jobrun_policy(const struct ipc_run *run, struct retention_policy *p)
{
	p->hourly = run->hourly;
	p->daily = run->daily;
	p->weekly = run->weekly;
	p->monthly = run->monthly;
	p->yearly = run->yearly;
	p->min_age = run->min_age;
}

/* What each target holds, for pinning. */
struct jobrun_held {
	uint8_t		(*uuids)[16];
	size_t		 n;
};

#define JOBRUN_SEND_RETRIES	2	/* within a run; the parent backs off */

static void
jobrun_target_result(struct ipc_target_result *tr, const char *name,
    uint8_t status, const char *parent, const char *error)
{
	tr->name = xstrdup(name);
	tr->status = status;
	tr->parent = xstrdup(parent);
	tr->error = xstrdup(error);
}

/* One target: send the new snapshot, then PRUNE by keep-target. */
static uint8_t
jobrun_send_one(int fd, SSL_CTX *ctx, const struct ipc_run *run,
    const struct ipc_target *it, const char *made, struct jobrun_held *h,
    struct ipc_target_result *tr)
{
	struct retention_policy tp = { 0 };
	struct netsend_target tg;
	struct netsend_opts o;
	struct netsend_result nr;
	struct jobrun_meter m = { fd, it->name, made };
	struct snap_info si;
	char port[8], path[4096], err[512];
	uint8_t st;

	snprintf(port, sizeof(port), "%u", it->port);
	memset(&tg, 0, sizeof(tg));
	tg.label = it->name;
	tg.host = it->host;
	tg.port = port;
	tg.timeout_ms = (int)it->timeout * 1000;
	tg.cert_name = it->cert_name[0] ? it->cert_name : it->host;
	tg.bandwidth = it->bandwidth;
	tg.zstd = it->zstd;
	memset(&o, 0, sizeof(o));
	o.proto = run->proto;
	o.compressed_data = run->compressed_data;
	o.retries = JOBRUN_SEND_RETRIES;
	o.on_progress = jobrun_xfer;
	o.progress_arg = &m;
	o.estimate = 1;		/* beside the send: costs no time */
	o.prev_total = it->prev_bytes;
	snprintf(path, sizeof(path), "%s/%s", run->snapshot_dir, made);
	log_fields(run->job, it->name, made, NULL);
	jobrun_progress(fd, "sending %s to %s", made, it->name);
	if (netsend_run(ctx, &tg, run->job, path, &o, &nr) == -1) {
		st = nr.permanent ? IPC_FAILED : IPC_RETRY;
		jobrun_target_result(tr, it->name, st, "",
		    nr.permanent ? "send failed (see log)" :
		    "send failed, will retry (see log)");
		goto done;
	}
	st = IPC_OK;
	/* The target now holds the new snapshot too. */
	if (snapshot_info(path, &si, err, sizeof(err)) == 0) {
		nr.held = xrealloc(nr.held, (nr.nheld + 1) * 16);
		nr.held_names = xrealloc(nr.held_names, (nr.nheld + 1) *
		    sizeof(*nr.held_names));
		memcpy(nr.held[nr.nheld], si.uuid, 16);
		nr.held_names[nr.nheld++] = xstrdup(made);
		nr.listed = 1;
	}
	log_info("sent %s to %s%s%s", made, it->name,
	    nr.parent[0] ? ", incremental from " : ", full", nr.parent);
	jobrun_target_result(tr, it->name, st, nr.parent, "");
	if (run->tkeep_set) {
		tp.hourly = run->thourly;
		tp.daily = run->tdaily;
		tp.weekly = run->tweekly;
		tp.monthly = run->tmonthly;
		tp.min_age = run->tmin_age;
		if (netsend_prune(ctx, &tg, run->job, &tp) == -1)
			log_warnx("job %s: target %s: pruning by keep-target "
			    "failed; will try after the next send", run->job,
			    it->name);
	}
done:
	tr->bytes = nr.sent;
	tr->resumes = nr.resumes;
	if (nr.listed)
		jobrun_held_report(fd, it->name, &nr);
	if (nr.listed) {
		h->uuids = nr.held;
		h->n = nr.nheld;
		nr.held = NULL;
	} else
		h->n = (size_t)-1;
	netsend_result_free(&nr);
	return st;
}

/*
 * Replicate to every target.  The worst status; h[i].n is (size_t)-1
 * when target i could not say what it holds.
 */
static uint8_t
jobrun_replicate(int fd, const struct ipc_run *run, const char *made,
    struct ipc_result *res, struct jobrun_held *h)
{
	struct tls_conf tc;
	SSL_CTX *ctx = NULL;
	char err[512];
	uint32_t i;
	uint8_t st, worst = IPC_OK;

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
			    run->targets[i].name, IPC_FAILED, "", err);
			h[i].n = (size_t)-1;
			st = IPC_FAILED;
		} else
			st = jobrun_send_one(fd, ctx, run, &run->targets[i],
			    made, &h[i], &res->targets[i]);
		if (st > worst)
			worst = st;
	}
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return worst;
}

/* Delete what keep-source does not keep; the count deleted, or -1. */
static int
jobrun_prune(int fd, const struct ipc_run *run, const char *made,
    const struct jobrun_held *h, char *err, size_t errlen)
{
	int *pinned = NULL;
	size_t t;

	struct retention_policy pol = { 0 };
	struct retention_item *items = NULL;
	struct snap_info *snaps = NULL;
	size_t i, n = 0;
	int deleted = 0;

	if (!run->keep_set)
		return 0;
	for (t = 0; t < run->ntargets; t++)
		if (h[t].n == (size_t)-1) {
			log_info("job %s: not pruning: target %s did not say "
			    "what it holds", run->job, run->targets[t].name);
			return 0;
		}
	jobrun_policy(run, &pol);
	if (snapshot_list(run->snapshot_dir, run->job, &snaps, &n, err,
	    errlen) == -1)
		return -1;
	items = xcalloc(n + 1, sizeof(*items));
	pinned = xcalloc(n + 1, sizeof(*pinned));
	for (t = 0; t < run->ntargets; t++)
		snap_pin_held(snaps, n, (const uint8_t (*)[16])h[t].uuids,
		    h[t].n, pinned);
	for (i = 0; i < n; i++) {
		items[i].time = snaps[i].time;
		items[i].pinned = pinned[i] || strcmp(snaps[i].name, made) == 0;
	}
	retention_apply(&pol, run->now, items, n);
	for (i = 0; i < n; i++) {
		if (items[i].keep != 0)
			continue;
		if (snapshot_delete(run->snapshot_dir, snaps[i].name, 0, err,
		    errlen) == -1) {
			deleted = -1;
			break;
		}
		jobrun_progress(fd, "deleted snapshot %s", snaps[i].name);
		deleted++;
	}
	free(pinned);
	free(items);
	free(snaps);
	return deleted;
}

int
jobrun(int fd, const struct ipc_run *run, struct ipc_result *res)
{
	char name[SNAP_NAME_MAX + 1], err[1024];
	struct jobrun_held *h;
	uint32_t i;
	uint8_t st = IPC_OK;
	int pruned;

	memset(res, 0, sizeof(*res));
	res->status = IPC_FAILED;
	if (snapshot_create(run->source, run->snapshot_dir, run->job,
	    run->now, name, sizeof(name), err, sizeof(err)) == -1) {
		log_warnx("job %s: %s", run->job, err);
		res->snapshot = xstrdup("");
		res->error = xstrdup(err);
		return WORKER_EXIT_FAILED;
	}
	res->snapshot = xstrdup(name);
	log_fields(run->job, NULL, name, NULL);
	jobrun_progress(fd, "created snapshot %s", name);
	h = xcalloc(run->ntargets + 1, sizeof(*h));
	if (run->ntargets > 0)
		st = jobrun_replicate(fd, run, name, res, h);
	log_fields(run->job, NULL, name, NULL);
	pruned = jobrun_prune(fd, run, name, h, err, sizeof(err));
	for (i = 0; i < run->ntargets; i++)
		free(h[i].uuids);
	free(h);
	if (pruned == -1) {
		log_warnx("job %s: pruning by keep-source: %s", run->job, err);
		res->error = xstrdup(err);
		return WORKER_EXIT_FAILED;
	}
	res->pruned = (uint32_t)pruned;
	res->status = st;
	if (st == IPC_OK) {
		res->error = xstrdup("");
		return WORKER_EXIT_OK;
	}
	for (i = 0; i < res->ntargets && res->targets[i].status == IPC_OK; i++)
		;
	frame_errf(err, sizeof(err), "target %s: %s", res->targets[i].name,
	    res->targets[i].error);
	res->error = xstrdup(err);
	return st == IPC_RETRY ? WORKER_EXIT_RETRY : WORKER_EXIT_FAILED;
}
