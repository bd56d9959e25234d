/*
 * A job run inside a worker: take the snapshot, then prune the job's
 * snapshots by keep-source.
 *
 * Replication to the job's targets is not done here: the per-target send
 * worker calls the network sender (branch net), which is not part of this
 * build yet.  Pruning therefore pins only what it can know locally: the
 * newest snapshot (retention keeps it anyway) and the one just taken.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"
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

/* Delete what keep-source does not keep; the count deleted, or -1. */
static int
jobrun_prune(int fd, const struct ipc_run *run, const char *made,
    char *err, size_t errlen)
{
	struct retention_policy pol = { 0 };
	struct retention_item *items = NULL;
	struct snap_info *snaps = NULL;
	size_t i, n = 0;
	int deleted = 0;

	if (!run->keep_set)
		return 0;
	jobrun_policy(run, &pol);
	if (snapshot_list(run->snapshot_dir, run->job, &snaps, &n, err,
	    errlen) == -1)
		return -1;
	items = xcalloc(n, sizeof(*items));
	for (i = 0; i < n; i++) {
		items[i].time = snaps[i].time;
		items[i].pinned = strcmp(snaps[i].name, made) == 0;
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
	free(items);
	free(snaps);
	return deleted;
}

int
jobrun(int fd, const struct ipc_run *run, struct ipc_result *res)
{
	char name[SNAP_NAME_MAX + 1], err[1024];
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
	pruned = jobrun_prune(fd, run, name, err, sizeof(err));
	if (pruned == -1) {
		log_warnx("job %s: pruning by keep-source: %s", run->job, err);
		res->error = xstrdup(err);
		return WORKER_EXIT_FAILED;
	}
	res->pruned = (uint32_t)pruned;
	res->status = IPC_OK;
	res->error = xstrdup("");
	return WORKER_EXIT_OK;
}
