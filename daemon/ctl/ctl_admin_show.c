/*
 * btrsendctl status, snapshots, history and monitor: what the daemon
 * knows, for a person (80 columns) or, with --json, for a program in the
 * stable schemas of docs/control.md.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/ctl_admin.h"
#include "proto/base/fmt.h"
#include "proto/base/log.h"

/* Everything a reply carried, in order. */
struct reply {
	struct ctl_job	*jobs;
	size_t		 njobs;
	struct ctl_target *tgs;
	size_t		 ntgs;
	struct ctl_live	*live;
	size_t		 nlive;
	struct ctl_run	*runs;
	size_t		 nruns;
	struct ctl_snap	*snaps;
	size_t		 nsnaps;
	struct ctl_recv	*recv;
	size_t		 nrecv;
};

#define REPLY_ADD(arr, n, T, getter) do {				\
	T v;								\
	if (getter(p, h->len, &v, err, sizeof(err)) == -1)		\
		goto bad;						\
	r->arr = xrealloc(r->arr, (r->n + 1) * sizeof(T));		\
	r->arr[r->n++] = v;						\
} while (0)

static int
reply_add(const struct frame_hdr *h, const uint8_t *p, void *arg)
{
	struct reply *r = arg;
	char err[256];

	switch (h->type) {
	case CTL_JOB:
		REPLY_ADD(jobs, njobs, struct ctl_job, ctl_get_job);
		return 0;
	case CTL_TARGET:
		REPLY_ADD(tgs, ntgs, struct ctl_target, ctl_get_target);
		return 0;
	case CTL_LIVE:
		REPLY_ADD(live, nlive, struct ctl_live, ctl_get_live);
		return 0;
	case CTL_RUN:
		REPLY_ADD(runs, nruns, struct ctl_run, ctl_get_run);
		return 0;
	case CTL_SNAP:
		REPLY_ADD(snaps, nsnaps, struct ctl_snap, ctl_get_snap);
		return 0;
	case CTL_RECV:
		REPLY_ADD(recv, nrecv, struct ctl_recv, ctl_get_recv);
		return 0;
	}
	return -1;
bad:
	log_warnx("%s", err);
	return -1;
}

static void
reply_free(struct reply *r)
{
	free(r->jobs);
	free(r->tgs);
	free(r->live);
	free(r->runs);
	free(r->snaps);
	free(r->recv);
}

/* Connect, ask, collect. */
static int
reply_get(const struct admin_opts *o, uint8_t cmd, const char *arg,
    uint32_t num, struct reply *r)
{
	struct admin_conn c;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = admin_connect(o, &c)) == CTL_OK)
		rc = admin_call(&c, cmd, arg, num, reply_add, r, NULL, 0);
	admin_close(&c);
	return rc;
}

/* The reset after a colour from admin_result_colour, if any. */
static const char *
off(const char *colour)
{
	return colour[0] != '\0' ? "\033[0m" : "";
}

static void
status_job_line(const struct ctl_job *j)
{
	char last[32], next[32];
	const char *col;
	const char *res = j->running ? "running" : j->start == 0 ? "-" :
	    run_result_name(j->result);

	admin_time(last, sizeof(last), j->start);
	if (j->paused)
		snprintf(next, sizeof(next), "paused");
	else if (j->running || j->queued)
		snprintf(next, sizeof(next), "%s", j->running ? "running" :
		    "queued");
	else
		admin_time(next, sizeof(next), j->next);
	col = admin_result_colour(j->running ? RUN_RUNNING : j->result);
	admin_line("%-11.11s %-11.11s %-19s %s%-7s%s %s", j->name, j->schedule,
	    last, col, res, off(col), next);
	if (j->error[0] != '\0' && !j->running)
		admin_line("  error: %.70s", j->error);
}

static void
status_target_line(const struct ctl_target *t)
{
	char last[32];

	const char *col = admin_result_colour(t->result);

	admin_time(last, sizeof(last), t->end ? t->end : t->start);
	admin_line("  -> %-19.19s %-19s %s%-7s%s %.28s", t->target, last, col,
	    t->start == 0 ? "-" : run_result_name(t->result), off(col),
	    t->error);
}

/* A receiver's clients: what each job last delivered. */
static void
status_received(const struct reply *r)
{
	const struct ctl_recv *v;
	char last[32], age[32];
	size_t i;

	if (r->nrecv == 0)
		return;
	admin_line("%s", "");
	admin_line("%-19s %-19s %-19s %5s %8s", "CLIENT", "JOB",
	    "LAST RECEIVED", "SNAPS", "PARTIALS");
	for (i = 0; i < r->nrecv; i++) {
		v = &r->recv[i];
		admin_time(last, sizeof(last), v->last_time);
		admin_line("%-19.19s %-19.19s %-19s %5u %8u", v->client,
		    v->job, last, v->snapshots, v->partials);
		if (v->last[0] != '\0')
			admin_line("  last: %s", v->last);
		if (v->stale) {
			admin_duration(age, sizeof(age),
			    v->scanned - v->last_time);
			admin_line("  stale: nothing received for %s", age);
		}
		if (v->partial_oldest != 0 && v->scanned >= v->partial_oldest) {
			admin_duration(age, sizeof(age),
			    v->scanned - v->partial_oldest);
			admin_line("  oldest partial: %s old", age);
		}
	}
}

static void
status_human(const struct reply *r)
{
	size_t i, k;

	admin_line("%-11s %-11s %-19s %-7s %s", "JOB", "SCHEDULE", "LAST RUN",
	    "RESULT", "NEXT RUN");
	for (i = 0; i < r->njobs; i++) {
		status_job_line(&r->jobs[i]);
		for (k = 0; k < r->ntgs; k++)
			if (strcmp(r->tgs[k].job, r->jobs[i].name) == 0)
				status_target_line(&r->tgs[k]);
	}
	if (r->nlive > 0) {
		admin_line("%s", "");
		admin_line("RUNNING");
	}
	for (i = 0; i < r->nlive; i++) {
		admin_line("  #%u %.24s%s%.24s: %s %.30s", r->live[i].id,
		    r->live[i].job, r->live[i].target[0] ? " -> " : "",
		    r->live[i].target, r->live[i].phase, r->live[i].snapshot);
		admin_progress(stdout, &r->live[i]);
	}
	status_received(r);
}

static int
status_json(const struct reply *r)
{
	const struct ctl_job *j;
	struct json js;
	size_t i, k;

	json_start(&js, stdout);
	json_object(&js, NULL);
	json_int(&js, "version", ADMIN_JSON_VERSION);
	json_array(&js, "jobs");
	for (i = 0; i < r->njobs; i++) {
		j = &r->jobs[i];
		json_object(&js, NULL);
		json_string(&js, "name", j->name);
		json_string(&js, "schedule", j->schedule);
		json_bool(&js, "paused", j->paused);
		json_bool(&js, "running", j->running);
		json_bool(&js, "queued", j->queued);
		json_object(&js, "last_run");
		admin_json_time(&js, "start", j->start);
		admin_json_time(&js, "end", j->end);
		json_string(&js, "result", run_result_name(j->result));
		json_string(&js, "error", j->error);
		json_end(&js);
		admin_json_time(&js, "next_run", j->next);
		json_array(&js, "targets");
		for (k = 0; k < r->ntgs; k++)
			if (strcmp(r->tgs[k].job, j->name) == 0)
				admin_json_target(&js, &r->tgs[k]);
		json_end(&js);
		json_end(&js);
	}
	json_end(&js);
	json_array(&js, "running");
	for (i = 0; i < r->nlive; i++)
		admin_json_live(&js, NULL, &r->live[i]);
	json_end(&js);
	json_array(&js, "received");
	for (i = 0; i < r->nrecv; i++)
		admin_json_recv(&js, &r->recv[i]);
	json_end(&js);
	json_end(&js);
	return admin_json_finish(&js);
}

int
ctl_status(int argc, char **argv)
{
	struct admin_opts o;
	struct reply r;
	int rc;

	if ((rc = admin_getopt(argc, argv, "j", 0,
	    "[-f CONF|-s SOCK] [--json]", &o)) != CTL_OK)
		return rc;
	if ((rc = reply_get(&o, CTL_CMD_STATUS, NULL, 0, &r)) == CTL_OK) {
		if (o.json)
			rc = status_json(&r);
		else
			status_human(&r);
	}
	reply_free(&r);
	return rc;
}

static void
snapshots_human(const struct reply *r)
{
	char when[32], held[64];
	const struct ctl_snap *s;
	size_t i, k, off;

	for (i = 0; i < r->ntgs; i++) {
		admin_time(when, sizeof(when), r->tgs[i].held_when);
		if (r->tgs[i].held_when == 0)
			admin_line("target %.40s: never reported what it holds",
			    r->tgs[i].target);
		else
			admin_line("target %.40s: %u snapshots at %s",
			    r->tgs[i].target, r->tgs[i].nheld, when);
	}
	admin_line("%-40s %-19s %s", "SNAPSHOT", "CREATED", "HELD BY");
	for (i = 0; i < r->nsnaps; i++) {
		s = &r->snaps[i];
		admin_time(when, sizeof(when), s->time);
		held[0] = '\0';
		for (k = 0, off = 0; k < s->nheld && off < sizeof(held); k++)
			off += (size_t)snprintf(held + off, sizeof(held) - off,
			    "%s%s", k ? "," : "", s->held[k]);
		admin_line("%-40.40s %-19s %.19s", s->name, when,
		    s->nheld ? held : "-");
	}
}

static int
snapshots_json(const struct reply *r, const char *job)
{
	const struct ctl_snap *s;
	struct json js;
	size_t i, k;

	json_start(&js, stdout);
	json_object(&js, NULL);
	json_int(&js, "version", ADMIN_JSON_VERSION);
	json_string(&js, "job", job);
	json_array(&js, "targets");
	for (i = 0; i < r->ntgs; i++)
		admin_json_target(&js, &r->tgs[i]);
	json_end(&js);
	json_array(&js, "snapshots");
	for (i = 0; i < r->nsnaps; i++) {
		s = &r->snaps[i];
		json_object(&js, NULL);
		json_string(&js, "name", s->name);
		admin_json_time(&js, "time", s->time);
		json_array(&js, "held_by");
		for (k = 0; k < s->nheld; k++)
			json_string(&js, NULL, s->held[k]);
		json_end(&js);
		json_end(&js);
	}
	json_end(&js);
	json_end(&js);
	return admin_json_finish(&js);
}

int
ctl_snapshots(int argc, char **argv)
{
	struct admin_opts o;
	struct reply r;
	int rc;

	if ((rc = admin_getopt(argc, argv, "j", 1,
	    "[-f CONF|-s SOCK] [--json] JOB", &o)) != CTL_OK)
		return rc;
	rc = reply_get(&o, CTL_CMD_SNAPSHOTS, o.argv[0], 0, &r);
	if (rc == CTL_OK && o.json)
		rc = snapshots_json(&r, o.argv[0]);
	else if (rc == CTL_OK)
		snapshots_human(&r);
	reply_free(&r);
	return rc;
}

static void
history_line(const struct ctl_run *r)
{
	const char *col = admin_result_colour(r->result);
	char start[32], dur[16], bytes[16];

	admin_time(start, sizeof(start), r->start);
	admin_duration(dur, sizeof(dur), r->end - r->start);
	fmt_size(bytes, sizeof(bytes), r->bytes, FMT_SIZE_SHORT);
	admin_line("%-5u %-10.10s %-10.10s %-19s %7s %7s %3u %s%s%s", r->id,
	    r->job, r->target[0] ? r->target : "-", start, dur, bytes,
	    r->resumes, col, run_result_name(r->result), off(col));
	/* On an ok run it is a note (what the backup host kept). */
	if (r->error[0] != '\0')
		admin_line("      %s: %.67s", r->result == RUN_OK ? "note" :
		    "error", r->error);
}

static int
history_json(const struct reply *r)
{
	struct json js;
	size_t i;

	json_start(&js, stdout);
	json_object(&js, NULL);
	json_int(&js, "version", ADMIN_JSON_VERSION);
	json_array(&js, "runs");
	for (i = 0; i < r->nruns; i++)
		admin_json_run(&js, NULL, &r->runs[i]);
	json_end(&js);
	json_end(&js);
	return admin_json_finish(&js);
}

int
ctl_history(int argc, char **argv)
{
	struct admin_opts o;
	struct reply r;
	size_t i;
	int rc;

	if ((rc = admin_getopt(argc, argv, "jn", 0,
	    "[-f CONF|-s SOCK] [--json] [-n N]", &o)) != CTL_OK)
		return rc;
	rc = reply_get(&o, CTL_CMD_HISTORY, NULL,
	    o.n > UINT32_MAX ? UINT32_MAX : (uint32_t)o.n, &r);
	if (rc == CTL_OK && o.json)
		rc = history_json(&r);
	else if (rc == CTL_OK) {
		admin_line("%-5s %-10s %-10s %-19s %7s %7s %3s %s", "ID", "JOB",
		    "TARGET", "START", "TIME", "BYTES", "RES", "RESULT");
		for (i = 0; i < r.nruns; i++)
			history_line(&r.runs[i]);
	}
	reply_free(&r);
	return rc;
}

static void
monitor_human(const struct ctl_event *e)
{
	char when[32], a[16], b[16], pcts[16];
	const char *col;
	time_t t = (time_t)e->when;
	struct tm tm;
	int pct;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	switch (e->kind) {
	case CTL_EV_RUN_START:
		admin_line("%s run-start   #%u %.40s", when, e->live.id,
		    e->live.job);
		break;
	case CTL_EV_PROGRESS:
		fmt_size(a, sizeof(a), e->live.done, FMT_SIZE_SHORT);
		fmt_size(b, sizeof(b), e->live.rate, FMT_SIZE_SHORT);
		pct = admin_percent(&e->live);
		if (pct < 0)
			snprintf(pcts, sizeof(pcts), "?%%");
		else
			snprintf(pcts, sizeof(pcts), "%d%%", pct);
		admin_line("%s progress    #%u %.16s%s%.16s: %s %s %s %s/s",
		    when, e->live.id, e->live.job, e->live.target[0] ?
		    " -> " : "", e->live.target, e->live.phase, a, pcts, b);
		break;
	case CTL_EV_TARGET_DONE:
	case CTL_EV_RUN_END:
		/* A target: bytes sent; the run: the snapshot it made. */
		fmt_size(a, sizeof(a), e->run.bytes, FMT_SIZE_SHORT);
		col = admin_result_colour(e->run.result);
		admin_line("%s %-11s #%u %.16s%s%.16s: %s%s%s %s %s", when,
		    ctl_event_name(e->kind), e->run.id, e->run.job,
		    e->run.target[0] ? " -> " : "", e->run.target, col,
		    run_result_name(e->run.result), off(col),
		    e->kind == CTL_EV_TARGET_DONE ? a : e->run.snapshot,
		    e->run.error);
		break;
	}
}

static int
monitor_json(const struct ctl_event *e)
{
	struct json js;

	json_start(&js, stdout);
	json_object(&js, NULL);
	json_int(&js, "version", ADMIN_JSON_VERSION);
	json_string(&js, "event", ctl_event_name(e->kind));
	json_int(&js, "time", e->when);
	if (e->kind == CTL_EV_RUN_START || e->kind == CTL_EV_PROGRESS)
		admin_json_live(&js, "live", &e->live);
	else
		admin_json_run(&js, "run", &e->run);
	json_end(&js);
	return admin_json_finish(&js);
}

static void
monitor_stop(int sig)
{
	(void)sig;
	admin_interrupted = 1;
}

/* Interrupted is the normal end: exit 0, not killed by the signal. */
static void
monitor_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = monitor_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int
ctl_monitor(int argc, char **argv)
{
	const struct frame_hdr *h;
	struct admin_opts o;
	struct admin_conn c;
	struct ctl_event *e;
	const uint8_t *p;
	char err[256];
	int rc;

	if ((rc = admin_getopt(argc, argv, "j", 0,
	    "[-f CONF|-s SOCK] [--json]", &o)) != CTL_OK)
		return rc;
	if ((rc = admin_connect(&o, &c)) != CTL_OK ||
	    (rc = admin_call(&c, CTL_CMD_MONITOR, NULL, 0, NULL, NULL, NULL,
	    0)) != CTL_OK) {
		admin_close(&c);
		return rc;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	monitor_signals();
	e = xmalloc(sizeof(*e));
	while (admin_next(&c, &h, &p) == 0) {
		if (h->type != CTL_EVENT ||
		    ctl_get_event(p, h->len, e, err, sizeof(err)) == -1) {
			log_warnx("%s: unexpected %s message while monitoring",
			    o.socket, ctl_type_name(h->type));
			break;
		}
		if (o.json && monitor_json(e) != CTL_OK) {
			rc = CTL_FAILED;
			break;
		}
		if (!o.json)
			monitor_human(e);
	}
	free(e);
	admin_close(&c);
	if (rc != CTL_OK)
		return rc;
	return admin_interrupted ? CTL_OK : CTL_FAILED;
}
