/*
 * The parent's children (see children.h): job workers and hook commands,
 * each with a timeout; a worker's frames on its channel; reaping on
 * SIGCHLD.
 */
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/children.h"
#include "daemon/daemon.h"
#include "daemon/hooks.h"
#include "daemon/recvstat.h"
#include "daemon/jobs.h"
#include "daemon/listener.h"
#include "proto/base/log.h"
#include "daemon/parent.h"
#include "daemon/peer.h"
#include "daemon/stats.h"

#define PROGRESS_LOG_SECS	30	/* a running transfer's log line */

/* A worker gets its run on the fd at once (jobs.c), nothing queued. */
#define CHILD_OUT_MAX		(1u << 20)

static TAILQ_HEAD(, child) children = TAILQ_HEAD_INITIALIZER(children);

static void
child_free(struct child *c)
{
	TAILQ_REMOVE(&children, c, entry);
	if (c->ev_timeout != NULL)
		event_free(c->ev_timeout);
	peer_free(c->peer);
	ipc_result_free(&c->res);
	free(c);
}

void
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

struct child *
child_new(enum child_kind kind, pid_t pid, const char *job, const char *what,
    int timeout)
{
	struct timeval tv = { timeout, 0 };
	struct child *c;

	c = xcalloc(1, sizeof(*c));
	c->kind = kind;
	c->pid = pid;
	c->start = now_s();
	snprintf(c->job, sizeof(c->job), "%s", job);
	snprintf(c->what, sizeof(c->what), "%s", what);
	c->ev_timeout = evtimer_new(P.base, child_timeout, c);
	if (c->ev_timeout == NULL)
		fatalx("evtimer_new");
	evtimer_add(c->ev_timeout, &tv);
	TAILQ_INSERT_TAIL(&children, c, entry);
	return c;
}

static void
child_protocol_error(struct child *c, const char *why)
{
	log_warnx("job %s: worker %ld: %s; killing it", c->job, (long)c->pid,
	    why);
	c->bad = 1;
	if (c->peer != NULL)
		peer_stop(c->peer);
	child_signal(c, SIGKILL);
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
		    l->total_src == TOTAL_ESTIMATE ? "estimate" :
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
	sp.total_src = x.total_src;	/* ipc_get_xfer checked it */
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
	stats_held_set_base(c->job, h.target, h.base);
	ipc_held_free(&h);
	return 0;
}

static void
child_message(struct peer *p, const struct frame_decoder *d, void *arg)
{
	const struct frame_hdr *h = &d->hdr;
	struct child *c = arg;
	char err[256], *what;

	(void)p;
	if (!c->hello && h->type != IPC_HELLO) {
		child_protocol_error(c, "message before hello");
		return;
	}
	switch (h->type) {
	case IPC_HELLO:
		if (c->hello || ipc_get_hello(d->payload, h->len, err,
		    sizeof(err)) == -1) {
			child_protocol_error(c, c->hello ? "second hello" : err);
			return;
		}
		c->hello = 1;
		break;
	case IPC_PROGRESS:
		if (ipc_get_progress(d->payload, h->len, &what, err,
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
		if (c->have_result || ipc_get_result(d->payload, h->len,
		    &c->res, err, sizeof(err)) == -1) {
			child_protocol_error(c, c->have_result ?
			    "second result" : err);
			return;
		}
		c->have_result = 1;
		break;
	case IPC_XFER:
		if (child_xfer(c, d->payload, h->len, err,
		    sizeof(err)) == -1) {
			child_protocol_error(c, err);
			return;
		}
		break;
	case IPC_HELD:
		if (child_held(c, d->payload, h->len, err,
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
child_bad(struct peer *p, const char *why, void *arg)
{
	(void)p;
	child_protocol_error(arg, why);
}

static void
child_closed(struct peer *p, int error, void *arg)
{
	struct child *c = arg;

	(void)p;
	if (error != 0) {
		errno = error;
		log_warn("job %s: worker %ld", c->job, (long)c->pid);
	}
	peer_free(c->peer);
	c->peer = NULL;
}

void
child_channel(struct child *c, int fd)
{
	static const struct peer_cb cb = {
		child_message, child_bad, child_closed
	};

	c->peer = peer_new(P.base, fd, &ipc_rules, CHILD_OUT_MAX, &cb, c);
}

void
child_reap(evutil_socket_t fd, short ev, void *arg)
{
	struct child *c;
	int wstatus;
	pid_t pid;

	(void)fd;
	(void)ev;
	(void)arg;
	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		TAILQ_FOREACH(c, &children, entry)
			if (c->pid == pid)
				break;
		if (c == NULL) {
			if (listener_reaped(pid, wstatus))
				recvstat_kick();
			continue;
		}
		if (c->kind == CHILD_HOOK) {
			hook_done(c, wstatus);
		} else if (c->kind == CHILD_BEFORE) {
			job_before_done(c, wstatus);
		} else {
			/* What it said before it exited. */
			if (c->peer != NULL)
				peer_drain(c->peer);
			job_finished(c, wstatus);
		}
		child_free(c);
	}
	if (P.stopping && TAILQ_EMPTY(&children))
		event_base_loopbreak(P.base);
	jobs_drain();
	jobs_status();
}

void
children_term(void)
{
	struct child *c;

	TAILQ_FOREACH(c, &children, entry)
		child_signal(c, SIGTERM);
}

void
children_kill(void)
{
	struct child *c;

	TAILQ_FOREACH(c, &children, entry) {
		log_warnx("job %s: %s %ld ignored SIGTERM, killing it", c->job,
		    c->what, (long)c->pid);
		child_signal(c, SIGKILL);
	}
}

int
children_none(void)
{
	return TAILQ_EMPTY(&children);
}

int
parent_cancel(uint32_t id, char *msg, size_t len)
{
	struct child *c;

	TAILQ_FOREACH(c, &children, entry)
		if ((c->kind == CHILD_JOB || c->kind == CHILD_BEFORE) &&
		    c->sid == id)
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
