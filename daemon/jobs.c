/*
 * The job table (see jobs.h): when each job runs next, the queue of due
 * jobs waiting for a transfer slot, starting a run in a worker, and what
 * a finished run means for the job: retry with backoff, state, history.
 */
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "daemon/children.h"
#include "daemon/hooks.h"
#include "daemon/jobs.h"
#include "proto/base/file.h"
#include "proto/base/log.h"
#include "daemon/notify.h"
#include "daemon/parent.h"
#include "daemon/peer.h"
#include "daemon/scheduler.h"
#include "daemon/state.h"
#include "daemon/stats.h"
#include "daemon/net/sandbox.h"
#include "daemon/worker/worker.h"

struct pjob {
	TAILQ_ENTRY(pjob) qentry;
	char		 name[SNAP_NAME_MAX + 1];
	struct event	*timer;
	int		 gone;			/* removed by a reload */
	int		 running;
	int		 queued;
	int		 paused;		/* no scheduled runs */
	unsigned	 attempt;		/* retries of the current run */
	char		 resend[SNAP_NAME_MAX + 1];	/* its snapshot, "" */
	int64_t		 retry_at;
	int64_t		 due;
};

static struct {
	struct pjob	**jobs;
	size_t		 njobs;
	TAILQ_HEAD(, pjob) queue;	/* due, waiting for a transfer slot */
	unsigned	 nrunning;
} J = { .queue = TAILQ_HEAD_INITIALIZER(J.queue) };

static void	job_schedule(struct pjob *);
static int	paused_has(const char *);

/* A job removed by a reload stays known (gone) while its run ends. */
static struct pjob *
job_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < J.njobs; i++)
		if (strcmp(J.jobs[i]->name, name) == 0)
			return J.jobs[i];
	return NULL;
}

void
jobs_status(void)
{
	const struct pjob *next = NULL;
	char when[32] = "";
	struct tm tm;
	time_t t;
	size_t i;

	for (i = 0; i < J.njobs; i++) {
		if (J.jobs[i]->gone || J.jobs[i]->running ||
		    J.jobs[i]->queued || J.jobs[i]->due == SCHED_NEVER)
			continue;
		if (next == NULL || J.jobs[i]->due < next->due)
			next = J.jobs[i];
	}
	if (next != NULL) {
		t = (time_t)next->due;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	}
	if (next != NULL)
		notify_status("%u running; next: %s at %s", J.nrunning,
		    next->name, when);
	else
		notify_status("%u running; nothing scheduled", J.nrunning);
}

/* Decide what a finished worker means for its job and record it. */
static enum run_result
job_outcome(struct child *c, int wstatus, char *why, size_t len)
{
	enum run_result o = worker_outcome(wstatus, c->killed);
	char how[128];

	worker_status_str(wstatus, how, sizeof(how));
	if (c->cancelled) {
		o = RUN_FAILED;
		snprintf(why, len, "cancelled by btrsendctl (worker %s)", how);
	} else if (c->bad) {
		o = RUN_FAILED;
		snprintf(why, len, "worker protocol error (%s)", how);
	} else if (o == RUN_OK && !c->have_result) {
		o = RUN_FAILED;
		snprintf(why, len, "worker exited without a result");
	} else if (c->have_result && c->res.error[0] != '\0') {
		snprintf(why, len, "%s", c->res.error);
	} else if (sandbox_killed(wstatus)) {
		snprintf(why, len, "worker killed by its seccomp filter "
		    "(SIGSYS): it made a system call outside its allow-list; "
		    "this is a bug, please report it with the kernel log's "
		    "audit line (type=1326) naming the call");
	} else if (o != RUN_OK) {
		snprintf(why, len, "worker %s%s", how, c->killed ?
		    (P.stopping ? " (daemon stopping)" : " (timed out)") : "");
	} else {
		why[0] = '\0';
	}
	return o;
}

static void
job_target_stats(const struct child *c, const struct ipc_target_result *tr,
    enum run_result result, int64_t now)
{
	struct stats_run r;

	memset(&r, 0, sizeof(r));
	snprintf(r.job, sizeof(r.job), "%s", c->job);
	snprintf(r.target, sizeof(r.target), "%s", tr->name);
	snprintf(r.snapshot, sizeof(r.snapshot), "%s", c->res.snapshot);
	snprintf(r.parent, sizeof(r.parent), "%s", tr->parent);
	snprintf(r.error, sizeof(r.error), "%s", tr->error);
	r.start = c->start;
	r.end = now;
	r.result = result;
	r.bytes = tr->bytes;
	r.resumes = tr->resumes;
	r.prune_refused = tr->prune_refused;
	stats_target_done(c->sid, &r);
	log_info("job %s: run %u: target %s: %llu bytes sent, %u resumes",
	    c->job, c->sid, tr->name, (unsigned long long)tr->bytes,
	    tr->resumes);
}

static void
job_run_stats(const struct child *c, const struct state_entry *e,
    const char *why, int64_t now)
{
	struct stats_run r;

	memset(&r, 0, sizeof(r));
	snprintf(r.job, sizeof(r.job), "%s", c->job);
	snprintf(r.snapshot, sizeof(r.snapshot), "%s", c->have_result ?
	    c->res.snapshot : "");
	snprintf(r.error, sizeof(r.error), "%s", why);
	r.start = c->start;
	r.end = now;
	r.result = e->result;
	stats_run_end(c->sid, &r);
}

/* Each target's outcome, in the state file under (job, target). */
static void
job_targets_finished(struct child *c, int64_t now)
{
	const struct ipc_target_result *tr;
	struct state_entry *te;
	uint32_t i;

	for (i = 0; i < c->res.ntargets; i++) {
		tr = &c->res.targets[i];
		te = state_get(&P.st, c->job, tr->name, 1);
		te->start = c->start;
		te->end = now;
		state_set_error(te, tr->error);
		te->result = tr->status;	/* ipc_get_result checked it */
		/* A cancelled send is not retried: it resumes next run. */
		if (c->cancelled && te->result == RUN_RETRY) {
			te->result = RUN_FAILED;
			state_set_error(te, "cancelled by btrsendctl");
		}
		job_target_stats(c, tr, te->result, now);
		log_fields(c->job, tr->name, NULL, NULL);
		if (tr->status == RUN_OK)
			log_info("job %s: target %s: ok%s%s%s%s", c->job,
			    tr->name, tr->parent[0] ? ", incremental from " :
			    ", full", tr->parent, tr->error[0] ? "; " : "",
			    tr->error);
		else
			log_warnx("job %s: target %s: %s: %s", c->job,
			    tr->name, tr->status == RUN_RETRY ? "will retry" :
			    "failed", tr->error);
	}
}

/*
 * A run ended (its worker, or its before-snapshot hook, c) with outcome
 * o: retry with backoff, record it, run on-success or on-failure.
 */
static void
job_end(struct child *c, enum run_result o, const char *why)
{
	const struct conf_job *cj = conf_job_find(P.conf, c->job);
	struct state_entry *e = state_get(&P.st, c->job, NULL, 1);
	struct pjob *pj = job_lookup(c->job);
	const char *snap = c->have_result ? c->res.snapshot : "";
	int64_t now = now_s();

	if (c->have_result) {
		job_targets_finished(c, now);
		e = state_get(&P.st, c->job, NULL, 1);	/* moved by realloc */
	}
	log_fields(c->job, NULL, snap[0] ? snap : NULL, NULL);
	e->end = now;
	state_set_error(e, why);
	if (o == RUN_RETRY && !P.stopping && pj != NULL &&
	    pj->attempt < SCHED_RETRIES_MAX) {
		pj->attempt++;
		pj->retry_at = now + sched_backoff(pj->attempt);
		/* The retry sends it again rather than take another. */
		if (snap[0] != '\0')
			snprintf(pj->resend, sizeof(pj->resend), "%s", snap);
		e->result = RUN_RETRY;
		log_warnx("job %s: run did not complete: %s; retry %u of %u "
		    "in %us", c->job, why, pj->attempt, SCHED_RETRIES_MAX,
		    sched_backoff(pj->attempt));
	} else if (o == RUN_RETRY && P.stopping) {
		e->result = RUN_RETRY;
		log_warnx("job %s: run interrupted: %s", c->job, why);
	} else if (o == RUN_OK) {
		e->result = RUN_OK;
		log_info("job %s: run ok: %s%s, %u pruned, %llds", c->job,
		    snap[0] ? "snapshot " : "no new snapshot", snap,
		    c->res.pruned, (long long)(now - c->start));
		if (cj != NULL)
			hook_run(c, "on-success hook", cj->on_success,
			    snap, "", 0);
	} else {
		e->result = RUN_FAILED;
		log_warnx("job %s: run failed: %s", c->job, why);
		if (cj != NULL && !c->cancelled)
			hook_run(c, "on-failure hook", cj->on_failure,
			    snap, why, 1);
	}
	if (pj != NULL && e->result != RUN_RETRY) {
		pj->attempt = 0;
		pj->resend[0] = '\0';
	}
	job_run_stats(c, e, why, now);
	log_fields(NULL, NULL, NULL, NULL);
	parent_state_store();
	if (pj != NULL) {
		pj->running = 0;
		job_schedule(pj);
	}
	J.nrunning--;
}

void
job_finished(struct child *c, int wstatus)
{
	enum run_result o;
	char why[STATE_ERR_MAX];

	o = job_outcome(c, wstatus, why, sizeof(why));
	job_end(c, o, why);
}

static int
job_send_run(struct child *c, const struct conf_job *cj, const char *resend,
    int64_t now)
{
	struct ipc_run run = {
		.job = cj->name, .source = cj->source,
		.snapshot_dir = cj->snapshot_dir, .now = now,
		.keep_source = cj->keep_source, .keep_target = cj->keep_target,
		.resend = (char *)(uintptr_t)resend,
		.min_free = cj->min_free,
	};
	struct ipc_target tg[IPC_TARGETS_MAX];
	const struct conf_target *ct;
	const char *base;
	struct msgbuf b = { 0 };
	size_t i;
	int r;

	run.tls_certificate = P.conf->tls_certificate;
	run.tls_key = P.conf->tls_key;
	run.tls_ca = P.conf->tls_ca;
	run.proto = (uint32_t)cj->protocol;
	run.compressed_data = cj->compressed_data != 0;
	run.if_changed = cj->snapshot_if_changed != 0;
	for (i = 0; i < cj->nsend_to && run.ntargets < IPC_TARGETS_MAX; i++) {
		if ((ct = conf_target_find(P.conf, cj->send_to[i])) == NULL)
			continue;
		tg[run.ntargets] = (struct ipc_target){
			.name = ct->name, .host = ct->address.host,
			.port = ct->address.port,
			.timeout = (uint32_t)ct->timeout,
			.cert_name = ct->cert_name != NULL ? ct->cert_name :
			    ct->address.host,
			.bandwidth = ct->bandwidth,
			.zstd = ct->compress == CONF_COMPRESS_ZSTD,
			.prev_bytes = stats_last_bytes(cj->name, ct->name),
		};
		base = stats_held_base(cj->name, ct->name);
		tg[run.ntargets].known = base != NULL;
		tg[run.ntargets].base = (char *)(uintptr_t)(base != NULL ?
		    base : "");
		run.ntargets++;
	}
	run.targets = tg;
#ifdef BTRSEND_TESTING
	if (P.crash_job != NULL && strcmp(P.crash_job, cj->name) == 0)
		run.flags |= IPC_RUN_TEST_CRASH;
	if (P.hang_job != NULL && strcmp(P.hang_job, cj->name) == 0)
		run.flags |= IPC_RUN_TEST_HANG;
	if (P.babble_job != NULL && strcmp(P.babble_job, cj->name) == 0)
		run.flags |= IPC_RUN_TEST_BABBLE;
#endif
	/* Refused only past the configuration's limits; the codec logs why. */
	if (ipc_put_hello(&b, (uint32_t)getpid()) == -1 ||
	    ipc_put_run(&b, (uint32_t)getpid(), &run) == -1) {
		msgbuf_free(&b);
		errno = EINVAL;
		return -1;
	}
	/* A fresh socketpair's buffer holds these few KiB: no EAGAIN. */
	r = ipc_write_all(peer_fd(c->peer), &b);
	msgbuf_free(&b);
	return r;
}

/* The run is on: in the state file, history and the job table. */
static void
job_run_begin(struct pjob *pj, struct child *c, int64_t now)
{
	struct state_entry *e;

	c->sid = stats_run_start(pj->name, now);
	pj->running = 1;
	J.nrunning++;
	e = state_get(&P.st, pj->name, NULL, 1);
	e->start = now;
	e->end = 0;
	e->result = RUN_RUNNING;
	state_set_error(e, "");
	parent_state_store();
}

/*
 * The run's worker; pre is its before-snapshot hook that just succeeded
 * (the run began with it), or NULL.  -1 when it could not be started.
 */
static int
job_start_worker(struct pjob *pj, struct child *pre, int64_t now)
{
	const struct conf_job *cj = conf_job_find(P.conf, pj->name);
	const char *resend = pj->attempt > 0 ? pj->resend : "";
	struct child *c;
	pid_t pid;
	int fd;

	if (cj == NULL ||
	    (pid = worker_spawn(P.self, P.foreground, P.verbose, &fd)) == -1)
		return -1;
	c = child_new(CHILD_JOB, pid, pj->name, "worker", P.worker_timeout);
	child_channel(c, fd);
	if (pre == NULL)
		job_run_begin(pj, c, now);
	else {
		c->sid = pre->sid;
		c->start = pre->start;
	}
	if (job_send_run(c, cj, resend, now) == -1) {
		log_warn("job %s: writing to worker %ld", pj->name, (long)pid);
		child_signal(c, SIGKILL);
	}
	log_fields(pj->name, NULL, NULL, NULL);
	log_info("job %s: run %s (id %u, worker %ld)%s%s%s", pj->name,
	    pre != NULL ? "goes on" : "started", c->sid, (long)pid,
	    pj->attempt ? ", a retry" : "", resend[0] ? " sending again " : "",
	    resend);
	log_fields(NULL, NULL, NULL, NULL);
	return 0;
}

/*
 * The before-snapshot hook runs first, unless this is a retry of a run
 * that already has its snapshot (the retry takes none).
 */
static int
job_wants_before(const struct pjob *pj, const struct conf_job *cj)
{
	return cj != NULL && cj->before_snapshot != NULL &&
	    (pj->attempt == 0 || pj->resend[0] == '\0');
}

static void
job_start(struct pjob *pj)
{
	const struct conf_job *cj = conf_job_find(P.conf, pj->name);
	struct child *c;
	int64_t now = now_s();

	if (job_wants_before(pj, cj)) {
		if ((c = hook_before(pj->name, cj->before_snapshot,
		    cj->send_to, cj->nsend_to)) != NULL) {
			job_run_begin(pj, c, now);
			log_fields(pj->name, NULL, NULL, NULL);
			log_info("job %s: run started (id %u, before-snapshot "
			    "hook %ld)%s", pj->name, c->sid, (long)c->pid,
			    pj->attempt ? ", a retry" : "");
			log_fields(NULL, NULL, NULL, NULL);
			return;
		}
	} else if (job_start_worker(pj, NULL, now) == 0)
		return;
	log_warn("job %s: starting a %s", pj->name,
	    job_wants_before(pj, cj) ? "before-snapshot hook" : "worker");
	pj->attempt++;
	pj->retry_at = now + sched_backoff(pj->attempt);
	job_schedule(pj);
}

/*
 * The before-snapshot hook c exited with wstatus: on success the run
 * goes on to its worker (which takes the snapshot); otherwise the run
 * fails without a snapshot and on-failure runs.
 */
void
job_before_done(struct child *c, int wstatus)
{
	const struct conf_job *cj = conf_job_find(P.conf, c->job);
	struct pjob *pj = job_lookup(c->job);
	const char *cmd = cj != NULL && cj->before_snapshot != NULL ?
	    cj->before_snapshot : "";
	char why[STATE_ERR_MAX], how[128];
	enum run_result o = RUN_FAILED;

	log_fields(c->job, NULL, NULL, NULL);
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && !c->killed &&
	    !c->cancelled && pj != NULL && !pj->gone && !P.stopping) {
		log_info("job %s: before-snapshot hook done", c->job);
		if (job_start_worker(pj, c, now_s()) == 0) {
			log_fields(NULL, NULL, NULL, NULL);
			return;
		}
		o = RUN_RETRY;
		snprintf(why, sizeof(why), "starting a worker: %s",
		    strerror(errno));
	} else if (c->cancelled) {
		snprintf(why, sizeof(why), "cancelled by btrsendctl "
		    "(before-snapshot hook)");
	} else if (P.stopping) {
		o = RUN_RETRY;
		snprintf(why, sizeof(why), "daemon stopping (before-snapshot "
		    "hook)");
	} else if (pj == NULL || pj->gone) {
		snprintf(why, sizeof(why), "job removed by a reload "
		    "(before-snapshot hook)");
	} else if (c->killed) {
		snprintf(why, sizeof(why), "before-snapshot hook '%s' timed "
		    "out after %d s: no snapshot taken", cmd, P.hook_timeout);
	} else if (WIFEXITED(wstatus)) {
		snprintf(why, sizeof(why), "before-snapshot hook '%s' exited "
		    "%d: no snapshot taken", cmd, WEXITSTATUS(wstatus));
	} else {
		worker_status_str(wstatus, how, sizeof(how));
		snprintf(why, sizeof(why), "before-snapshot hook '%s' %s: no "
		    "snapshot taken", cmd, how);
	}
	log_fields(NULL, NULL, NULL, NULL);
	job_end(c, o, why);
}

void
jobs_drain(void)
{
	struct pjob *pj;

	while (!P.stopping && (pj = TAILQ_FIRST(&J.queue)) != NULL &&
	    J.nrunning < P.conf->max_transfers) {
		TAILQ_REMOVE(&J.queue, pj, qentry);
		pj->queued = 0;
		job_start(pj);
	}
}

static void
job_due(evutil_socket_t fd, short ev, void *arg)
{
	struct pjob *pj = arg;

	(void)fd;
	(void)ev;
	if (P.stopping || pj->gone || pj->running || pj->queued || pj->paused)
		return;
	if (J.nrunning >= P.conf->max_transfers) {
		log_info("job %s: due, waiting for one of %u running jobs",
		    pj->name, J.nrunning);
		pj->queued = 1;
		TAILQ_INSERT_TAIL(&J.queue, pj, qentry);
		return;
	}
	job_start(pj);
	jobs_status();
}

/* A run begun but not finished when the daemon last stopped or died. */
int
job_interrupted(const struct state_entry *e)
{
	return e != NULL && (e->result == RUN_RUNNING ||
	    e->result == RUN_RETRY);
}

static void
job_schedule(struct pjob *pj)
{
	const struct conf_job *cj = conf_job_find(P.conf, pj->name);
	const struct state_entry *e = state_get(&P.st, pj->name, NULL, 0);
	struct timeval tv;
	int64_t now = now_s(), delay_ms;
	uint32_t jmax;

	evtimer_del(pj->timer);
	pj->due = SCHED_NEVER;
	if (P.stopping || pj->gone || pj->running || pj->queued ||
	    pj->paused || cj == NULL)
		return;
	if (pj->attempt > 0)
		pj->due = pj->retry_at > now ? pj->retry_at : now;
	else if (job_interrupted(e))
		pj->due = now;
	else
		pj->due = sched_next(&cj->schedule, P.conf->timezone,
		    e ? e->start : 0, now);
	if (pj->due == -1) {
		log_warnx("job %s: time zone %s unknown, not scheduled",
		    pj->name, P.conf->timezone);
		pj->due = SCHED_NEVER;
	}
	if (pj->due == SCHED_NEVER)
		return;
	jmax = pj->attempt > 0 ? 0 : sched_jitter_max_ms(&cj->schedule);
	delay_ms = (pj->due - now) * 1000 +
	    (jmax ? arc4random_uniform(jmax + 1) : 0);
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	evtimer_add(pj->timer, &tv);
	log_debug("job %s: next run in %lld.%03llds", pj->name,
	    (long long)(delay_ms / 1000), (long long)(delay_ms % 1000));
}

/* Match the runtime jobs to the config's after a (re)load. */
void
jobs_sync(void)
{
	struct pjob *pj;
	size_t i, j;

	for (i = 0; i < J.njobs; i++) {
		if (conf_job_find(P.conf, J.jobs[i]->name) == NULL)
			J.jobs[i]->gone = 1;
	}
	for (j = 0; j < P.conf->njobs; j++) {
		/* Back after a reload that removed it: never two runs at once. */
		if ((pj = job_lookup(P.conf->jobs[j].name)) != NULL) {
			pj->gone = 0;
			continue;
		}
		pj = xcalloc(1, sizeof(*pj));
		snprintf(pj->name, sizeof(pj->name), "%s",
		    P.conf->jobs[j].name);
		pj->paused = paused_has(pj->name);
		pj->timer = evtimer_new(P.base, job_due, pj);
		if (pj->timer == NULL)
			fatalx("evtimer_new");
		J.jobs = xrealloc(J.jobs, (J.njobs + 1) * sizeof(*J.jobs));
		J.jobs[J.njobs++] = pj;
	}
	for (i = 0; i < J.njobs; i++) {
		pj = J.jobs[i];
		if (pj->gone && pj->queued) {
			TAILQ_REMOVE(&J.queue, pj, qentry);
			pj->queued = 0;
		}
		job_schedule(pj);
	}
}

void
jobs_stop(void)
{
	size_t i;

	for (i = 0; i < J.njobs; i++)
		evtimer_del(J.jobs[i]->timer);
	TAILQ_INIT(&J.queue);
}

unsigned
jobs_running(void)
{
	return J.nrunning;
}

int
parent_job(const char *name, struct parent_job *out)
{
	const struct conf_job *cj = conf_job_find(P.conf, name);
	const struct pjob *pj = job_lookup(name);

	if (cj == NULL || pj == NULL)
		return -1;
	out->cj = cj;
	out->paused = pj->paused;
	out->running = pj->running;
	out->queued = pj->queued;
	out->due = pj->due;
	return 0;
}

static struct pjob *
control_job(const char *name, char *msg, size_t len)
{
	struct pjob *pj = job_lookup(name);

	if (pj == NULL || pj->gone || conf_job_find(P.conf, name) == NULL) {
		snprintf(msg, len, "no job '%s' in %s", name, P.conf_path);
		return NULL;
	}
	return pj;
}

int
parent_run(const char *job, char *msg, size_t len)
{
	struct pjob *pj;

	if ((pj = control_job(job, msg, len)) == NULL)
		return -1;
	if (P.stopping) {
		snprintf(msg, len, "the daemon is stopping");
		return -1;
	}
	if (pj->running || pj->queued) {
		snprintf(msg, len, "job %s is already %s", job,
		    pj->running ? "running" : "queued");
		return -1;
	}
	evtimer_del(pj->timer);
	pj->attempt = 0;
	pj->resend[0] = '\0';
	if (J.nrunning >= P.conf->max_transfers) {
		pj->queued = 1;
		TAILQ_INSERT_TAIL(&J.queue, pj, qentry);
		snprintf(msg, len, "job %s queued: %u of %u transfers running",
		    job, J.nrunning, P.conf->max_transfers);
	} else {
		job_start(pj);
		snprintf(msg, len, "job %s started", job);
	}
	jobs_status();
	return 0;
}

static int
paused_has(const char *job)
{
	char path[PATH_MAX], line[SNAP_NAME_MAX + 2];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", P.conf->state_dir,
	    PARENT_PAUSED_FILE);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		found = strcmp(line, job) == 0;
	}
	fclose(f);
	return found;
}

/* Rewritten whole and renamed into place: old or new, never a mix. */
static int
paused_save(char *msg, size_t len)
{
	char *buf = NULL;
	size_t i, n = 0;
	FILE *f;
	int rv = -1;

	if ((f = open_memstream(&buf, &n)) != NULL) {
		for (i = 0; i < J.njobs; i++)
			if (J.jobs[i]->paused)
				fprintf(f, "%s\n", J.jobs[i]->name);
		if (fclose(f) == 0)
			rv = file_replace(P.conf->state_dir, PARENT_PAUSED_FILE,
			    PARENT_PAUSED_FILE ".tmp", 0666, buf, n);
	}
	free(buf);
	if (rv == -1) {
		snprintf(msg, len, "saving %s/%s: %s", P.conf->state_dir,
		    PARENT_PAUSED_FILE, strerror(errno));
		log_warnx("%s", msg);
	}
	return rv;
}

int
parent_pause(const char *job, int pause, char *msg, size_t len)
{
	struct pjob *pj;

	if ((pj = control_job(job, msg, len)) == NULL)
		return -1;
	if (pj->paused == pause) {
		snprintf(msg, len, "job %s is already %s", job,
		    pause ? "paused" : "not paused");
		return 0;
	}
	pj->paused = pause;
	if (paused_save(msg, len) == -1) {
		pj->paused = !pause;
		return -1;
	}
	job_schedule(pj);
	jobs_status();
	log_info("job %s: %s", job, pause ? "paused" : "unpaused");
	snprintf(msg, len, "job %s %s%s", job, pause ? "paused" : "unpaused",
	    pause && pj->running ? "; the running run continues" : "");
	return 0;
}
