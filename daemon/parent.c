/*
 * The btrsendd parent (see daemon.h).  It only decides and waits: every
 * snapshot, send or hook runs in a child, and whatever a child does --
 * crash, hang, talk nonsense -- costs that run, never the daemon.  This
 * file: start-up, signals, reload and the event loop; the job table is
 * in jobs.c, the children in children.c, on-success/on-failure commands
 * in hooks.c.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/stat.h>

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
#include "daemon/children.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/jobs.h"
#include "daemon/listener.h"
#include "proto/base/log.h"
#include "proto/base/testing.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/parent.h"
#include "daemon/recvstat.h"
#include "daemon/state.h"
#include "daemon/stats.h"

struct parent P;

void
parent_state_store(void)
{
	char err[512];

	if (state_save(P.conf->state_dir, &P.st, err, sizeof(err)) == -1)
		log_warnx("saving state: %s", err);
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
		jobs_status();
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
	jobs_drain();
	log_info("configuration reloaded: %zu job%s", conf->njobs,
	    conf->njobs == 1 ? "" : "s");
	if (msg != NULL)
		snprintf(msg, len, "configuration reloaded: %zu job%s",
		    conf->njobs, conf->njobs == 1 ? "" : "s");
	notify_ready();
	jobs_status();
	return 0;
}

static void
stop_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval tv = { 1, 0 };

	(void)fd;
	(void)ev;
	if (arg != NULL) {
		log_warnx("children did not exit; giving up on them");
		event_base_loopbreak(P.base);
		return;
	}
	children_kill();
	/* Reaping follows at once; this only bounds a wedged kernel. */
	event_free(P.ev_stop);
	P.ev_stop = evtimer_new(P.base, stop_timeout, &P);
	evtimer_add(P.ev_stop, &tv);
}

static void
stop(int sig)
{
	struct timeval tv = { DAEMON_KILL_GRACE, 0 };

	if (P.stopping)
		return;
	P.stopping = 1;
	notify_stopping();
	log_info("%s: stopping", strsignal(sig));
	listener_stop();
	recvstat_stop();
	control_stop();
	jobs_stop();
	/* SIGTERM asks a sender to checkpoint before it exits. */
	children_term();
	if (children_none()) {
		event_base_loopbreak(P.base);
		return;
	}
	notify_status("stopping: waiting for %u job run%s", jobs_running(),
	    jobs_running() == 1 ? "" : "s");
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

/*
 * Descriptors: the soft limit up to the hard one.  systemd and shells
 * leave the soft one at 1024 for select()'s sake; this daemon polls with
 * epoll and holds a descriptor per connection, worker and pipe.
 */
static void
daemon_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("raising the open files limit to %llu",
		    (unsigned long long)rl.rlim_max);
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
#ifdef BTRSEND_TESTING
	P.crash_job = getenv(DAEMON_TEST_CRASH_ENV);
	P.hang_job = getenv(DAEMON_TEST_HANG_ENV);
	P.babble_job = getenv(DAEMON_TEST_BABBLE_ENV);
#endif
	P.worker_timeout = DAEMON_WORKER_TIMEOUT;
	if ((s = TEST_HOOK_ENV(DAEMON_TEST_TIMEOUT_ENV)) != NULL && atoi(s) > 0)
		P.worker_timeout = atoi(s);
	P.hook_timeout = DAEMON_HOOK_TIMEOUT;
	if ((s = TEST_HOOK_ENV(DAEMON_TEST_HOOK_TIMEOUT_ENV)) != NULL &&
	    atoi(s) > 0)
		P.hook_timeout = atoi(s);
	signal(SIGPIPE, SIG_IGN);
	daemon_raise_nofile();
	if ((P.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev = evsignal_new(P.base, sigs[i], on_signal, NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("evsignal %d", sigs[i]);
	}
	if (P.conf->receive.set && listener_start(P.base, &P.conf) == -1)
		return 1;
	if (P.conf->receive.set)
		recvstat_start(P.base);
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
	jobs_status();
	if (event_base_dispatch(P.base) == -1)
		fatalx("event_base_dispatch");
	parent_state_store();
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
