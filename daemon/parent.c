/*
 * The btrsendd parent (see daemon.h).  It only decides and waits: every
 * snapshot, send or hook runs in a child, and whatever a child does --
 * crash, hang, talk nonsense -- costs that run, never the daemon.
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/listener.h"
#include "proto/base/log.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/parent.h"
#include "daemon/scheduler.h"
#include "daemon/state.h"
#include "daemon/stats.h"
#include "daemon/worker/worker.h"

enum child_kind { CHILD_JOB, CHILD_HOOK };

struct child {
	TAILQ_ENTRY(child) entry;
	enum child_kind	 kind;
	pid_t		 pid;
	char		 job[STATE_NAME_MAX];
	char		 what[32];		/* "worker", "on-success hook" */
	int		 fd;			/* -1 for hooks, or after EOF */
	struct event	*ev_read;
	struct event	*ev_timeout;
	struct frame_decoder dec;
	int		 hello;
	int		 have_result;
	struct ipc_result res;
	int		 bad;			/* protocol error: failed */
	int		 killed;		/* we signalled it */
	int		 term_sent;
	int		 cancelled;		/* by btrsendctl cancel */
	int64_t		 start;
	uint32_t	 sid;			/* stats run id (jobs) */
	int64_t		 logged;		/* last progress log line */
	char		 logged_target[STATE_NAME_MAX];
	enum stats_total logged_src;
};

#define PROGRESS_LOG_SECS	30	/* a running transfer's log line */

struct pjob {
	TAILQ_ENTRY(pjob) qentry;
	char		 name[STATE_NAME_MAX];
	struct event	*timer;
	int		 gone;			/* removed by a reload */
	int		 running;
	int		 queued;
	int		 paused;		/* no scheduled runs */
	unsigned	 attempt;		/* retries of the current run */
	int64_t		 retry_at;
	int64_t		 due;
};

static struct {
	struct event_base *base;
	struct conf	*conf;
	const char	*conf_path;
	char		 self[PATH_MAX];
	int		 foreground;
	int		 verbose;
	struct state	 st;
	struct pjob	**jobs;
	size_t		 njobs;
	TAILQ_HEAD(, child) children;
	TAILQ_HEAD(, pjob) queue;
	unsigned	 nrunning;
	int		 stopping;
	struct event	*ev_watchdog, *ev_stop;
	const char	*crash_job;
	const char	*hang_job;
	const char	*babble_job;
	int		 worker_timeout;
} P;

static void	job_schedule(struct pjob *);
static int	paused_has(const char *);
static void	queue_drain(void);

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static void
state_store(void)
{
	char err[512];

	if (state_save(P.conf->state_dir, &P.st, err, sizeof(err)) == -1)
		log_warnx("saving state: %s", err);
}

/* A job removed by a reload stays known (gone) while its run ends. */
static struct pjob *
job_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < P.njobs; i++)
		if (strcmp(P.jobs[i]->name, name) == 0)
			return P.jobs[i];
	return NULL;
}


static void
status_update(void)
{
	const struct pjob *next = NULL;
	char when[32] = "";
	struct tm tm;
	time_t t;
	size_t i;

	for (i = 0; i < P.njobs; i++) {
		if (P.jobs[i]->gone || P.jobs[i]->running ||
		    P.jobs[i]->queued || P.jobs[i]->due == SCHED_NEVER)
			continue;
		if (next == NULL || P.jobs[i]->due < next->due)
			next = P.jobs[i];
	}
	if (next != NULL) {
		t = (time_t)next->due;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	}
	if (next != NULL)
		notify_status("%u running; next: %s at %s", P.nrunning,
		    next->name, when);
	else
		notify_status("%u running; nothing scheduled", P.nrunning);
}

static void
child_free(struct child *c)
{
	TAILQ_REMOVE(&P.children, c, entry);
	if (c->ev_read != NULL)
		event_free(c->ev_read);
	if (c->ev_timeout != NULL)
		event_free(c->ev_timeout);
	if (c->fd != -1)
		close(c->fd);
	frame_decoder_free(&c->dec);
	ipc_result_free(&c->res);
	free(c);
}

static void
child_signal(struct child *c, int sig)
{
	c->killed = 1;
	if (kill(-c->pid, sig) == -1 && errno == ESRCH)
		kill(c->pid, sig);
}

static void
child_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval tv = { DAEMON_KILL_GRACE, 0 };
	struct child *c = arg;

	(void)fd;
	(void)ev;
	if (c->term_sent) {
		log_warnx("job %s: %s %ld did not stop, killing it", c->job,
		    c->what, (long)c->pid);
		child_signal(c, SIGKILL);
		return;
	}
	log_warnx("job %s: %s %ld timed out after %llds, stopping it", c->job,
	    c->what, (long)c->pid, (long long)(now_s() - c->start));
	child_signal(c, SIGTERM);
	c->term_sent = 1;
	evtimer_add(c->ev_timeout, &tv);
}

static struct child *
child_new(enum child_kind kind, pid_t pid, const char *job, const char *what,
    int timeout)
{
	struct timeval tv = { timeout, 0 };
	struct child *c;

	c = xcalloc(1, sizeof(*c));
	c->kind = kind;
	c->pid = pid;
	c->fd = -1;
	c->start = now_s();
	snprintf(c->job, sizeof(c->job), "%s", job);
	snprintf(c->what, sizeof(c->what), "%s", what);
	frame_decoder_init(&c->dec, &ipc_rules);
	c->ev_timeout = evtimer_new(P.base, child_timeout, c);
	if (c->ev_timeout == NULL)
		fatalx("evtimer_new");
	evtimer_add(c->ev_timeout, &tv);
	TAILQ_INSERT_TAIL(&P.children, c, entry);
	return c;
}

static void
child_protocol_error(struct child *c, const char *why)
{
	log_warnx("job %s: worker %ld: %s; killing it", c->job, (long)c->pid,
	    why);
	c->bad = 1;
	child_signal(c, SIGKILL);
}

static enum stats_total
child_total_src(uint8_t src)
{
	switch (src) {
	case IPC_TOTAL_ESTIMATE:
		return STATS_TOTAL_ESTIMATE;
	case IPC_TOTAL_PREVIOUS:
		return STATS_TOTAL_PREVIOUS;
	default:
		return STATS_TOTAL_UNKNOWN;
	}
}

/*
 * A line when a target's transfer starts, when its total becomes known,
 * then every PROGRESS_LOG_SECS.
 */
static void
child_log_progress(struct child *c, const struct stats_live *l, int64_t now)
{
	char total[64] = "";

	if (strcmp(c->logged_target, l->target) == 0 &&
	    c->logged_src == l->total_src &&
	    now - c->logged < PROGRESS_LOG_SECS)
		return;
	c->logged = now;
	c->logged_src = l->total_src;
	snprintf(c->logged_target, sizeof(c->logged_target), "%s", l->target);
	if (l->total > 0)
		snprintf(total, sizeof(total), " of %llu (%s, %llu%%)",
		    (unsigned long long)l->total,
		    l->total_src == STATS_TOTAL_ESTIMATE ? "estimate" :
		    "previous run", (unsigned long long)(l->done >= l->total ?
		    99 : l->done * 100 / l->total));
	log_fields(c->job, l->target, l->snapshot, NULL);
	log_info("job %s: run %u: %s %s to %s: %llu bytes%s, %llu bytes/s%s",
	    c->job, c->sid, l->phase, l->snapshot, l->target,
	    (unsigned long long)l->done, total, (unsigned long long)l->rate,
	    l->resumed_at ? ", resumed" : "");
	log_fields(NULL, NULL, NULL, NULL);
}

static int
child_xfer(struct child *c, const uint8_t *p, size_t len, char *err,
    size_t errlen)
{
	struct stats_progress sp;
	struct ipc_xfer x;
	const struct stats_live *l;
	int64_t now = now_s();

	if (ipc_get_xfer(p, len, &x, err, errlen) == -1)
		return -1;
	sp.phase = x.phase;
	sp.target = x.target;
	sp.snapshot = x.snapshot;
	sp.done = x.done;
	sp.total = x.total;
	sp.total_src = child_total_src(x.total_src);
	sp.resumed_at = x.resumed_at;
	sp.resumes = x.resumes;
	stats_run_progress(c->sid, &sp, now);
	if ((l = stats_live_find(c->sid)) != NULL)
		child_log_progress(c, l, now);
	ipc_xfer_free(&x);
	return 0;
}

static int
child_held(struct child *c, const uint8_t *p, size_t len, char *err,
    size_t errlen)
{
	struct ipc_held h;

	if (ipc_get_held(p, len, &h, err, errlen) == -1)
		return -1;
	stats_held_set(c->job, h.target, h.names, h.n, now_s());
	ipc_held_free(&h);
	return 0;
}

static void
child_message(struct child *c)
{
	struct frame_hdr *h = &c->dec.hdr;
	char err[256], *what;

	if (!c->hello && h->type != IPC_HELLO) {
		child_protocol_error(c, "message before hello");
		return;
	}
	switch (h->type) {
	case IPC_HELLO:
		if (c->hello || ipc_get_hello(c->dec.payload, h->len, err,
		    sizeof(err)) == -1) {
			child_protocol_error(c, c->hello ? "second hello" : err);
			return;
		}
		c->hello = 1;
		break;
	case IPC_PROGRESS:
		if (ipc_get_progress(c->dec.payload, h->len, &what, err,
		    sizeof(err)) == -1) {
			child_protocol_error(c, err);
			return;
		}
		log_fields(c->job, NULL, NULL, NULL);
		log_info("job %s: %s", c->job, what);
		log_fields(NULL, NULL, NULL, NULL);
		free(what);
		break;
	case IPC_RESULT:
		if (c->have_result || ipc_get_result(c->dec.payload, h->len,
		    &c->res, err, sizeof(err)) == -1) {
			child_protocol_error(c, c->have_result ?
			    "second result" : err);
			return;
		}
		c->have_result = 1;
		break;
	case IPC_XFER:
		if (child_xfer(c, c->dec.payload, h->len, err,
		    sizeof(err)) == -1) {
			child_protocol_error(c, err);
			return;
		}
		break;
	case IPC_HELD:
		if (child_held(c, c->dec.payload, h->len, err,
		    sizeof(err)) == -1) {
			child_protocol_error(c, err);
			return;
		}
		break;
	default:
		snprintf(err, sizeof(err), "%s message is not for the parent",
		    ipc_type_name(h->type));
		child_protocol_error(c, err);
		return;
	}
}

static void
child_eof(struct child *c)
{
	event_del(c->ev_read);
	close(c->fd);
	c->fd = -1;
}

/* Everything there is to read now; also used to drain after exit. */
static void
child_read(evutil_socket_t fd, short ev, void *arg)
{
	struct child *c = arg;
	uint8_t buf[8192];
	size_t off, used;
	ssize_t n;

	(void)fd;
	(void)ev;
	while (c->fd != -1 && !c->bad) {
		n = read(c->fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (n == -1)
				log_warn("job %s: worker %ld", c->job,
				    (long)c->pid);
			child_eof(c);
			return;
		}
		for (off = 0; off < (size_t)n && !c->bad; off += used) {
			switch (frame_decoder_push(&c->dec, buf + off,
			    (size_t)n - off, &used)) {
			case FRAME_ERROR:
				child_protocol_error(c, c->dec.err);
				break;
			case FRAME_READY:
				child_message(c);
				break;
			case FRAME_NEED_MORE:
				break;
			}
		}
	}
}

/*
 * The targets a hook's outcome concerns, space-separated: on success all
 * the run sent to; on failure those that failed, or all of them when the
 * run failed before reaching any (then the result lists none).
 */
static void
hook_targets(const struct child *c, int failed, char *buf, size_t len)
{
	const struct ipc_target_result *tr;
	size_t off = 0;
	uint32_t i;
	int n;

	buf[0] = '\0';
	for (i = 0; c->have_result && i < c->res.ntargets; i++) {
		tr = &c->res.targets[i];
		if (failed && tr->status == IPC_OK)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? " " : "",
		    tr->name);
		if (n < 0 || (size_t)n >= len - off) {
			buf[off] = '\0';
			break;
		}
		off += (size_t)n;
	}
}

static void
hook_run(const struct child *c, const char *which, const char *cmd,
    const char *snapshot, const char *error, int failed)
{
	const char *job = c->job;
	char targets[1024];
	char *env[5];
	pid_t pid;

	if (cmd == NULL || P.stopping)
		return;
	hook_targets(c, failed, targets, sizeof(targets));
	if (asprintf(&env[0], "JOB=%s", job) == -1 ||
	    asprintf(&env[1], "TARGET=%s", targets) == -1 ||
	    asprintf(&env[2], "SNAPSHOT=%s", snapshot) == -1 ||
	    asprintf(&env[3], "ERROR=%s", error) == -1)
		fatalx("out of memory");
	env[4] = NULL;
	pid = worker_spawn_command(cmd, env);
	if (pid == -1)
		log_warn("job %s: %s hook: fork", job, which);
	else
		child_new(CHILD_HOOK, pid, job, which, DAEMON_HOOK_TIMEOUT);
	free(env[0]);
	free(env[1]);
	free(env[2]);
	free(env[3]);
}

static void
hook_done(struct child *c, int wstatus)
{
	char how[128];

	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
		log_info("job %s: %s done", c->job, c->what);
		return;
	}
	worker_status_str(wstatus, how, sizeof(how));
	log_warnx("job %s: %s failed: %s%s", c->job, c->what, how,
	    !c->killed ? "" : P.stopping ? " (daemon stopping)" :
	    " (timed out)");
}

/* Decide what a finished worker means for its job and record it. */
static enum worker_outcome
job_outcome(struct child *c, int wstatus, char *why, size_t len)
{
	enum worker_outcome o = worker_outcome(wstatus, c->killed);
	char how[128];

	worker_status_str(wstatus, how, sizeof(how));
	if (c->cancelled) {
		o = WORKER_FAILED;
		snprintf(why, len, "cancelled by btrsendctl (worker %s)", how);
	} else if (c->bad) {
		o = WORKER_FAILED;
		snprintf(why, len, "worker protocol error (%s)", how);
	} else if (o == WORKER_OK && !c->have_result) {
		o = WORKER_FAILED;
		snprintf(why, len, "worker exited without a result");
	} else if (c->have_result && c->res.error[0] != '\0') {
		snprintf(why, len, "%s", c->res.error);
	} else if (o != WORKER_OK) {
		snprintf(why, len, "worker %s%s", how, c->killed ?
		    (P.stopping ? " (daemon stopping)" : " (timed out)") : "");
	} else {
		why[0] = '\0';
	}
	return o;
}

static void
job_target_stats(const struct child *c, const struct ipc_target_result *tr,
    enum state_result result, int64_t now)
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
		te->result = tr->status == IPC_OK ? STATE_OK :
		    tr->status == IPC_RETRY ? STATE_RETRY : STATE_FAILED;
		/* A cancelled send is not retried: it resumes next run. */
		if (c->cancelled && te->result == STATE_RETRY) {
			te->result = STATE_FAILED;
			state_set_error(te, "cancelled by btrsendctl");
		}
		job_target_stats(c, tr, te->result, now);
		log_fields(c->job, tr->name, NULL, NULL);
		if (tr->status == IPC_OK)
			log_info("job %s: target %s: ok%s%s", c->job, tr->name,
			    tr->parent[0] ? ", incremental from " : ", full",
			    tr->parent);
		else
			log_warnx("job %s: target %s: %s: %s", c->job,
			    tr->name, tr->status == IPC_RETRY ? "will retry" :
			    "failed", tr->error);
	}
}

static void
job_finished(struct child *c, int wstatus)
{
	const struct conf_job *cj = conf_job_find(P.conf, c->job);
	struct state_entry *e = state_get(&P.st, c->job, NULL, 1);
	struct pjob *pj = job_lookup(c->job);
	const char *snap = c->have_result ? c->res.snapshot : "";
	enum worker_outcome o;
	char why[STATE_ERR_MAX];
	int64_t now = now_s();

	o = job_outcome(c, wstatus, why, sizeof(why));
	if (c->have_result) {
		job_targets_finished(c, now);
		e = state_get(&P.st, c->job, NULL, 1);	/* moved by realloc */
	}
	log_fields(c->job, NULL, snap[0] ? snap : NULL, NULL);
	e->end = now;
	state_set_error(e, why);
	if (o == WORKER_RETRY && !P.stopping && pj != NULL &&
	    pj->attempt < SCHED_RETRIES_MAX) {
		pj->attempt++;
		pj->retry_at = now + sched_backoff(pj->attempt);
		e->result = STATE_RETRY;
		log_warnx("job %s: run did not complete: %s; retry %u of %u "
		    "in %us", c->job, why, pj->attempt, SCHED_RETRIES_MAX,
		    sched_backoff(pj->attempt));
	} else if (o == WORKER_RETRY && P.stopping) {
		e->result = STATE_RETRY;
		log_warnx("job %s: run interrupted: %s", c->job, why);
	} else if (o == WORKER_OK) {
		e->result = STATE_OK;
		log_info("job %s: run ok: snapshot %s, %u pruned, %llds",
		    c->job, snap, c->res.pruned, (long long)(now - c->start));
		if (cj != NULL)
			hook_run(c, "on-success hook", cj->on_success,
			    snap, "", 0);
	} else {
		e->result = STATE_FAILED;
		log_warnx("job %s: run failed: %s", c->job, why);
		if (cj != NULL && !c->cancelled)
			hook_run(c, "on-failure hook", cj->on_failure,
			    snap, why, 1);
	}
	if (pj != NULL && e->result != STATE_RETRY)
		pj->attempt = 0;
	job_run_stats(c, e, why, now);
	log_fields(NULL, NULL, NULL, NULL);
	state_store();
	if (pj != NULL) {
		pj->running = 0;
		job_schedule(pj);
	}
	P.nrunning--;
}

static void
child_reap(evutil_socket_t fd, short ev, void *arg)
{
	struct child *c;
	int wstatus;
	pid_t pid;

	(void)fd;
	(void)ev;
	(void)arg;
	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		TAILQ_FOREACH(c, &P.children, entry)
			if (c->pid == pid)
				break;
		if (c == NULL) {
			listener_reaped(pid, wstatus);
			continue;
		}
		if (c->kind == CHILD_HOOK) {
			hook_done(c, wstatus);
		} else {
			child_read(-1, 0, c);
			job_finished(c, wstatus);
		}
		child_free(c);
	}
	if (P.stopping && TAILQ_EMPTY(&P.children))
		event_base_loopbreak(P.base);
	queue_drain();
	status_update();
}

static int
job_send_run(struct child *c, const struct conf_job *cj, int64_t now)
{
	struct ipc_run run = {
		.job = cj->name, .source = cj->source,
		.snapshot_dir = cj->snapshot_dir, .now = now,
		.keep_source = cj->keep_source, .keep_target = cj->keep_target,
	};
	struct ipc_target tg[IPC_TARGETS_MAX];
	const struct conf_target *ct;
	struct ipc_buf b = { 0 };
	size_t i;
	int r;

	run.tls_certificate = P.conf->tls_certificate;
	run.tls_key = P.conf->tls_key;
	run.tls_ca = P.conf->tls_ca;
	run.proto = (uint32_t)cj->protocol;
	run.compressed_data = cj->compressed_data != 0;
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
		run.ntargets++;
	}
	run.targets = tg;
	if (P.crash_job != NULL && strcmp(P.crash_job, cj->name) == 0)
		run.flags |= IPC_RUN_TEST_CRASH;
	if (P.hang_job != NULL && strcmp(P.hang_job, cj->name) == 0)
		run.flags |= IPC_RUN_TEST_HANG;
	if (P.babble_job != NULL && strcmp(P.babble_job, cj->name) == 0)
		run.flags |= IPC_RUN_TEST_BABBLE;
	ipc_put_hello(&b, (uint32_t)getpid());
	ipc_put_run(&b, (uint32_t)getpid(), &run);
	/* A fresh socketpair's buffer holds these few KiB: no EAGAIN. */
	r = ipc_write_all(c->fd, &b);
	ipc_buf_free(&b);
	return r;
}

static void
job_start(struct pjob *pj)
{
	const struct conf_job *cj = conf_job_find(P.conf, pj->name);
	struct state_entry *e;
	struct child *c;
	int64_t now = now_s();
	pid_t pid;
	int fd;

	if ((pid = worker_spawn(P.self, P.foreground, P.verbose, &fd)) == -1) {
		log_warn("job %s: starting a worker", pj->name);
		pj->attempt++;
		pj->retry_at = now + sched_backoff(pj->attempt);
		job_schedule(pj);
		return;
	}
	c = child_new(CHILD_JOB, pid, pj->name, "worker", P.worker_timeout);
	c->fd = fd;
	c->sid = stats_run_start(pj->name, now);
	c->ev_read = event_new(P.base, fd, EV_READ | EV_PERSIST, child_read, c);
	if (c->ev_read == NULL)
		fatalx("event_new");
	event_add(c->ev_read, NULL);
	pj->running = 1;
	P.nrunning++;
	if (job_send_run(c, cj, now) == -1) {
		log_warn("job %s: writing to worker %ld", pj->name, (long)pid);
		child_signal(c, SIGKILL);
	}
	e = state_get(&P.st, pj->name, NULL, 1);
	e->start = now;
	e->end = 0;
	e->result = STATE_RUNNING;
	state_set_error(e, "");
	state_store();
	log_fields(pj->name, NULL, NULL, NULL);
	log_info("job %s: run started (id %u, worker %ld)%s", pj->name,
	    c->sid, (long)pid, pj->attempt ? ", a retry" : "");
	log_fields(NULL, NULL, NULL, NULL);
}

static void
queue_drain(void)
{
	struct pjob *pj;

	while (!P.stopping && (pj = TAILQ_FIRST(&P.queue)) != NULL &&
	    P.nrunning < P.conf->max_transfers) {
		TAILQ_REMOVE(&P.queue, pj, qentry);
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
	if (P.nrunning >= P.conf->max_transfers) {
		log_info("job %s: due, waiting for one of %u running jobs",
		    pj->name, P.nrunning);
		pj->queued = 1;
		TAILQ_INSERT_TAIL(&P.queue, pj, qentry);
		return;
	}
	job_start(pj);
	status_update();
}

/* A run begun but not finished when the daemon last stopped or died. */
static int
job_interrupted(const struct state_entry *e)
{
	return e != NULL && (e->result == STATE_RUNNING ||
	    e->result == STATE_RETRY);
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
static void
jobs_sync(void)
{
	struct pjob *pj;
	size_t i, j;

	for (i = 0; i < P.njobs; i++) {
		if (conf_job_find(P.conf, P.jobs[i]->name) == NULL)
			P.jobs[i]->gone = 1;
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
		P.jobs = xrealloc(P.jobs, (P.njobs + 1) * sizeof(*P.jobs));
		P.jobs[P.njobs++] = pj;
	}
	for (i = 0; i < P.njobs; i++) {
		pj = P.jobs[i];
		if (pj->gone && pj->queued) {
			TAILQ_REMOVE(&P.queue, pj, qentry);
			pj->queued = 0;
		}
		job_schedule(pj);
	}
}

static void
conf_report(const struct conf_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		log_warnx("%s", errs->msg[i]);
	if (errs->dropped)
		log_warnx("... and %zu more errors", errs->dropped);
}

/* The messages of a failed parse, one a line, cut to fit. */
static void
conf_errors_join(const struct conf_errors *errs, char *msg, size_t len)
{
	size_t i, off;

	off = (size_t)snprintf(msg, len, "%s has errors; keeping the running "
	    "configuration", P.conf_path);
	for (i = 0; i < errs->n && off < len; i++)
		off += (size_t)snprintf(msg + off, len - off, "\n%s",
		    errs->msg[i]);
	if (errs->dropped && off < len)
		snprintf(msg + off, len - off, "\n... and %zu more errors",
		    errs->dropped);
}

int
parent_reload(char *msg, size_t len)
{
	struct conf_errors errs;
	struct conf *conf, *old;

	notify_reloading();
	log_info("reloading %s", P.conf_path);
	if ((conf = conf_load(P.conf_path, &errs)) == NULL) {
		conf_report(&errs);
		if (msg != NULL)
			conf_errors_join(&errs, msg, len);
		conf_errors_free(&errs);
		log_warnx("reload failed: %s has errors; keeping the "
		    "running configuration", P.conf_path);
		notify_ready();
		status_update();
		return -1;
	}
	if (mkdir(conf->state_dir, 0750) == -1 && errno != EEXIST)
		log_warn("state-dir %s", conf->state_dir);
	if (strcmp(P.conf->control_socket, conf->control_socket) != 0 ||
	    (P.conf->control_group == NULL) != (conf->control_group == NULL) ||
	    (conf->control_group != NULL &&
	    strcmp(P.conf->control_group, conf->control_group) != 0))
		log_warnx("reload: the control socket and its group change "
		    "only at restart");
	if (!conf_receive_bind_equal(&P.conf->receive, &conf->receive))
		log_warnx("reload: receive listen addresses and root change "
		    "only at restart; the client list applies now");
	old = P.conf;
	P.conf = conf;
	metrics_reload(old);
	jobs_sync();
	conf_free(old);
	queue_drain();
	log_info("configuration reloaded: %zu job%s", conf->njobs,
	    conf->njobs == 1 ? "" : "s");
	if (msg != NULL)
		snprintf(msg, len, "configuration reloaded: %zu job%s",
		    conf->njobs, conf->njobs == 1 ? "" : "s");
	notify_ready();
	status_update();
	return 0;
}

static void
stop_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval tv = { 1, 0 };
	struct child *c;

	(void)fd;
	(void)ev;
	if (arg != NULL) {
		log_warnx("children did not exit; giving up on them");
		event_base_loopbreak(P.base);
		return;
	}
	TAILQ_FOREACH(c, &P.children, entry) {
		log_warnx("job %s: %s %ld ignored SIGTERM, killing it", c->job,
		    c->what, (long)c->pid);
		child_signal(c, SIGKILL);
	}
	/* Reaping follows at once; this only bounds a wedged kernel. */
	event_free(P.ev_stop);
	P.ev_stop = evtimer_new(P.base, stop_timeout, &P);
	evtimer_add(P.ev_stop, &tv);
}

static void
stop(int sig)
{
	struct timeval tv = { DAEMON_KILL_GRACE, 0 };
	struct child *c;
	size_t i;

	if (P.stopping)
		return;
	P.stopping = 1;
	notify_stopping();
	log_info("%s: stopping", strsignal(sig));
	listener_stop();
	control_stop();
	for (i = 0; i < P.njobs; i++)
		evtimer_del(P.jobs[i]->timer);
	TAILQ_INIT(&P.queue);
	/* SIGTERM asks a sender to checkpoint before it exits. */
	TAILQ_FOREACH(c, &P.children, entry)
		child_signal(c, SIGTERM);
	if (TAILQ_EMPTY(&P.children)) {
		event_base_loopbreak(P.base);
		return;
	}
	notify_status("stopping: waiting for %u job run%s", P.nrunning,
	    P.nrunning == 1 ? "" : "s");
	P.ev_stop = evtimer_new(P.base, stop_timeout, NULL);
	evtimer_add(P.ev_stop, &tv);
}

static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	switch (sig) {
	case SIGHUP:
		if (!P.stopping)
			parent_reload(NULL, 0);
		break;
	case SIGCHLD:
		child_reap(-1, 0, NULL);
		break;
	default:
		stop(sig);
		break;
	}
}

static void
on_watchdog(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	notify_watchdog();
}

static void
watchdog_start(void)
{
	uint64_t usec = notify_watchdog_usec();
	struct timeval tv;

	if (usec == 0)
		return;
	usec /= 2;	/* as systemd advises: ping at half the interval */
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	P.ev_watchdog = event_new(P.base, -1, EV_PERSIST, on_watchdog, NULL);
	if (P.ev_watchdog == NULL)
		fatalx("event_new");
	event_add(P.ev_watchdog, &tv);
	notify_watchdog();
}

static int
daemon_state_open(void)
{
	char err[600], bad[4200];
	struct state_entry *e;
	size_t i;

	if (mkdir(P.conf->state_dir, 0750) == -1 && errno != EEXIST) {
		log_warn("state-dir %s", P.conf->state_dir);
		return -1;
	}
	if (state_load(P.conf->state_dir, &P.st, err, sizeof(err)) == -1) {
		snprintf(bad, sizeof(bad), "%s/%s.bad", P.conf->state_dir,
		    STATE_FILE);
		log_warnx("%s; set aside as %s, starting with no history",
		    err, bad);
		snprintf(err, sizeof(err), "%s/%s", P.conf->state_dir,
		    STATE_FILE);
		if (rename(err, bad) == -1)
			log_warn("rename %s", err);
	}
	for (i = 0; i < P.st.n; i++) {
		e = &P.st.e[i];
		if (e->target[0] == '\0' && job_interrupted(e))
			log_warnx("job %s: the run started at %lld did not "
			    "complete; running it again", e->job,
			    (long long)e->start);
	}
	return 0;
}

static int
daemon_init(const char *conf_path, int verbose)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD };
	struct conf_errors errs;
	struct event *ev;
	const char *s;
	char err[512];
	ssize_t n;
	size_t i;

	P.conf_path = conf_path;
	P.verbose = verbose;
	TAILQ_INIT(&P.children);
	TAILQ_INIT(&P.queue);
	if ((P.conf = conf_load(conf_path, &errs)) == NULL) {
		conf_report(&errs);
		conf_errors_free(&errs);
		log_warnx("%s has errors; not starting", conf_path);
		return 2;
	}
	n = readlink("/proc/self/exe", P.self, sizeof(P.self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(P.self) - 1) {
		log_warn("readlink /proc/self/exe");
		return 1;
	}
	P.self[n] = '\0';
	P.crash_job = getenv(DAEMON_TEST_CRASH_ENV);
	P.hang_job = getenv(DAEMON_TEST_HANG_ENV);
	P.babble_job = getenv(DAEMON_TEST_BABBLE_ENV);
	P.worker_timeout = DAEMON_WORKER_TIMEOUT;
	if ((s = getenv(DAEMON_TEST_TIMEOUT_ENV)) != NULL && atoi(s) > 0)
		P.worker_timeout = atoi(s);
	signal(SIGPIPE, SIG_IGN);
	if ((P.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev = evsignal_new(P.base, sigs[i], on_signal, NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("evsignal %d", sigs[i]);
	}
	if (P.conf->receive.set && listener_start(P.base, &P.conf) == -1)
		return 1;
	if (daemon_state_open() == -1)
		return 1;
	if (stats_open(P.conf->state_dir, err, sizeof(err)) == -1)
		log_warnx("history: %s; starting with an empty history", err);
	if (metrics_start(P.base, &P.conf, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	/* Replication goes on without it; the admin learns why. */
	if (control_start(P.base) == -1)
		log_warnx("control socket %s unavailable: btrsendctl cannot "
		    "reach this daemon", P.conf->control_socket);
	return 0;
}

int
daemon_main(const char *conf_path, int foreground, int verbose)
{
	int r;

	log_use_journal(foreground);
	P.foreground = foreground;
	if ((r = daemon_init(conf_path, verbose)) != 0)
		return r;
	jobs_sync();
	watchdog_start();
	log_info("started with %zu job%s, state in %s", P.conf->njobs,
	    P.conf->njobs == 1 ? "" : "s", P.conf->state_dir);
	notify_ready();
	status_update();
	if (event_base_dispatch(P.base) == -1)
		fatalx("event_base_dispatch");
	state_store();
	metrics_stop();
	stats_close();
	log_info("stopped");
	return 0;
}

/* Control socket actions and views (parent.h). */

const struct conf *
parent_conf(void)
{
	return P.conf;
}

const struct state_entry *
parent_state_entry(const char *job, const char *target)
{
	return state_get(&P.st, job, target, 0);
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
	if (P.nrunning >= P.conf->max_transfers) {
		pj->queued = 1;
		TAILQ_INSERT_TAIL(&P.queue, pj, qentry);
		snprintf(msg, len, "job %s queued: %u of %u transfers running",
		    job, P.nrunning, P.conf->max_transfers);
	} else {
		job_start(pj);
		snprintf(msg, len, "job %s started", job);
	}
	status_update();
	return 0;
}

int
parent_cancel(uint32_t id, char *msg, size_t len)
{
	struct child *c;

	TAILQ_FOREACH(c, &P.children, entry)
		if (c->kind == CHILD_JOB && c->sid == id)
			break;
	if (c == NULL) {
		snprintf(msg, len, "no running run %u (see btrsendctl status)",
		    id);
		return -1;
	}
	if (!c->cancelled) {
		/* SIGTERM: the sender checkpoints, a later run resumes. */
		c->cancelled = 1;
		child_signal(c, SIGTERM);
		log_info("job %s: run %u cancelled, stopping worker %ld",
		    c->job, id, (long)c->pid);
	}
	snprintf(msg, len, "run %u of job %s cancelled", id, c->job);
	return 0;
}

static int
paused_has(const char *job)
{
	char path[PATH_MAX], line[STATE_NAME_MAX + 2];
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
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", P.conf->state_dir,
	    PARENT_PAUSED_FILE);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", P.conf->state_dir,
	    PARENT_PAUSED_FILE);
	if ((f = fopen(tmp, "we")) == NULL)
		goto fail;
	for (i = 0; i < P.njobs; i++)
		if (P.jobs[i]->paused)
			fprintf(f, "%s\n", P.jobs[i]->name);
	if (fflush(f) == EOF || fsync(fileno(f)) == -1) {
		fclose(f);
		goto fail;
	}
	if (fclose(f) == EOF || rename(tmp, path) == -1)
		goto fail;
	return 0;
fail:
	snprintf(msg, len, "saving %s: %s", path, strerror(errno));
	log_warnx("%s", msg);
	unlink(tmp);
	return -1;
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
	status_update();
	log_info("job %s: %s", job, pause ? "paused" : "unpaused");
	snprintf(msg, len, "job %s %s%s", job, pause ? "paused" : "unpaused",
	    pause && pj->running ? "; the running run continues" : "");
	return 0;
}
