/*
 * The receiver's view of its clients (see recvstat.h), rebuilt from
 * root/<client>/<job>/ by each scan: complete snapshots are the job's
 * read-only subvolumes with a received uuid, their time the otime this
 * host gave them; partials are the staging subvolumes engine/partial.h
 * names.  The stale episodes live in the table between scans.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "conf/value.h"
#include "daemon/hooks.h"
#include "daemon/parent.h"
#include "daemon/recvstat.h"
#include "engine/partial.h"
#include "engine/snapshot.h"
#include "proto/base/log.h"
#include "proto/base/testing.h"

static struct {
	struct event	*ev;
	struct recvstat	*v;
	size_t		 n;
	int64_t		 scanned;	/* last scan; 0 never */
	int		 warned_max;
	int		 kicked;	/* the timer is set for a kick */
} R;

enum stale_event
stale_step(int *stale, int64_t last, int64_t now, uint64_t after)
{
	int late;

	/* A future time (clock set back) is fresh. */
	late = after != 0 && last != 0 && now > last &&
	    (uint64_t)(now - last) >= after;
	if (late == *stale)
		return STALE_NONE;
	*stale = late;
	return late ? STALE_BEGIN : STALE_END;
}

static int
recvstat_interval(void)
{
	const char *s;

	if (TEST_HOOKS && (s = TEST_HOOK_ENV("BTRSEND_TEST_RECVSTAT_SECONDS"))
	    != NULL && atoi(s) > 0)
		return atoi(s);
	return RECVSTAT_INTERVAL;
}

static void
fmt_time(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "never");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* An age as an admin reads it: its largest whole unit. */
static void
fmt_age(char *buf, size_t len, uint64_t s)
{
	if (s >= 86400)
		snprintf(buf, len, "%llud", (unsigned long long)(s / 86400));
	else if (s >= 3600)
		snprintf(buf, len, "%lluh", (unsigned long long)(s / 3600));
	else if (s >= 60)
		snprintf(buf, len, "%llum", (unsigned long long)(s / 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
}

static struct recvstat *
recvstat_find(const char *client, const char *job)
{
	size_t i;

	for (i = 0; i < R.n; i++)
		if (strcmp(R.v[i].client, client) == 0 &&
		    strcmp(R.v[i].job, job) == 0)
			return &R.v[i];
	return NULL;
}

/* The complete snapshots of the job in dir. */
static void
scan_snapshots(struct recvstat *s, const char *dir)
{
	static const uint8_t zero[16];
	struct snap_info *si = NULL;
	char err[512];
	size_t i, n = 0;

	s->snapshots = 0;
	s->last[0] = '\0';
	s->last_time = 0;
	if (snapshot_list(dir, s->job, &si, &n, err, sizeof(err)) == -1) {
		log_debug("receive status: %s", err);
		return;
	}
	/* Oldest first: the last complete one is the newest. */
	for (i = 0; i < n; i++) {
		if (!si[i].read_only ||
		    memcmp(si[i].received_uuid, zero, 16) == 0)
			continue;
		s->snapshots++;
		snprintf(s->last, sizeof(s->last), "%s", si[i].name);
		s->last_time = si[i].otime.tv_sec;
	}
	free(si);
}

/* The partials in dir (their staging subvolumes) and the oldest's age. */
static void
scan_partials(struct recvstat *s, const char *dir)
{
	char name[NAME_MAX + 1], path[PATH_MAX], err[512];
	struct snap_info si;
	struct dirent *de;
	DIR *d;

	s->partials = 0;
	s->partial_oldest = 0;
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (partial_owner(de->d_name, name) != PARTIAL_STAGING)
			continue;
		s->partials++;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path) ||
		    snapshot_info(path, &si, err, sizeof(err)) == -1)
			continue;
		if (s->partial_oldest == 0 ||
		    si.otime.tv_sec < s->partial_oldest)
			s->partial_oldest = si.otime.tv_sec;
	}
	closedir(d);
}

static struct recvstat *
recvstat_add(const char *client, const char *job)
{
	struct recvstat *s;

	if ((s = recvstat_find(client, job)) != NULL)
		return s;
	R.v = xrealloc(R.v, (R.n + 1) * sizeof(*R.v));
	s = &R.v[R.n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->client, sizeof(s->client), "%s", client);
	snprintf(s->job, sizeof(s->job), "%s", job);
	return s;
}

/* Each job directory of client's area, at most RECVSTAT_JOBS_MAX. */
static void
scan_client(const char *root, const char *client, uint64_t stale_after)
{
	char area[PATH_MAX], dir[PATH_MAX];
	struct recvstat *s;
	struct dirent *de;
	unsigned njobs = 0;
	DIR *d;

	if (snprintf(area, sizeof(area), "%s/%s", root, client) >=
	    (int)sizeof(area) || (d = opendir(area)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR &&
		    de->d_type != DT_UNKNOWN) || strlen(de->d_name) >
		    SNAP_NAME_MAX)
			continue;
		if (njobs >= RECVSTAT_JOBS_MAX || R.n >= RECVSTAT_MAX) {
			if (!R.warned_max)
				log_warnx("receive status: more than %d jobs "
				    "in %s (or %d in all): the rest is not "
				    "shown nor watched for stale-after", njobs,
				    area, RECVSTAT_MAX);
			R.warned_max = 1;
			break;
		}
		if (snprintf(dir, sizeof(dir), "%s/%s", area, de->d_name) >=
		    (int)sizeof(dir))
			continue;
		njobs++;
		s = recvstat_add(client, de->d_name);
		s->seen = 1;
		s->stale_after = stale_after;
		scan_snapshots(s, dir);
		scan_partials(s, dir);
	}
	closedir(d);
}

static void
stale_hook(const struct conf_receive *r, const struct recvstat *s)
{
	char when[32], *env[6];
	size_t i;

	if (r->on_stale == NULL)
		return;
	fmt_time(when, sizeof(when), s->last_time);
	if (asprintf(&env[0], "CLIENT=%s", s->client) == -1 ||
	    asprintf(&env[1], "JOB=%s", s->job) == -1 ||
	    asprintf(&env[2], "LAST=%s", s->last) == -1 ||
	    asprintf(&env[3], "LAST_TIME=%s", s->last_time ? when : "") ==
	    -1 || asprintf(&env[4], "STALE_AFTER=%llu",
	    (unsigned long long)s->stale_after) == -1)
		fatalx("out of memory");
	env[5] = NULL;
	hook_run_env(s->job, "on-stale hook", r->on_stale, env);
	for (i = 0; i < 5; i++)
		free(env[i]);
}

static void
stale_check(const struct conf_receive *r, struct recvstat *s, int64_t now)
{
	char age[32], after[32], when[32];

	switch (stale_step(&s->stale, s->last_time, now, s->stale_after)) {
	case STALE_BEGIN:
		s->episodes++;
		fmt_age(age, sizeof(age), (uint64_t)(now - s->last_time));
		conf_fmt_duration(s->stale_after, after, sizeof(after));
		fmt_time(when, sizeof(when), s->last_time);
		log_warnx("client %s job %s: nothing received for %s (last: %s "
		    "at %s); stale-after is %s", s->client, s->job, age,
		    s->last, when, after);
		stale_hook(r, s);
		break;
	case STALE_END:
		fmt_time(when, sizeof(when), s->last_time);
		log_info("client %s job %s: %s again (last: %s at %s)",
		    s->client, s->job, s->stale_after == 0 ? "not watched" :
		    "receiving", s->last, when);
		break;
	case STALE_NONE:
		break;
	}
}

static int
recvstat_cmp(const void *a, const void *b)
{
	const struct recvstat *x = a, *y = b;
	int c;

	if ((c = strcmp(x->client, y->client)) != 0)
		return c;
	return strcmp(x->job, y->job);
}

static void
recvstat_scan(void)
{
	const struct conf_receive *r = &parent_conf()->receive;
	const struct conf_authority *a;
	int64_t now = now_s();
	size_t i, k;

	for (i = 0; i < R.n; i++)
		R.v[i].seen = 0;
	for (i = 0; r->set && i < r->nclients; i++) {
		a = conf_receive_authority(r, r->clients[i]);
		scan_client(r->root, r->clients[i], a->stale_after);
	}
	/* Gone (job deleted, client no longer listed): forgotten. */
	for (i = k = 0; i < R.n; i++)
		if (R.v[i].seen)
			R.v[k++] = R.v[i];
	R.n = k;
	if (R.n > 1)
		qsort(R.v, R.n, sizeof(*R.v), recvstat_cmp);
	for (i = 0; i < R.n && !P.stopping; i++)
		stale_check(r, &R.v[i], now);
	R.scanned = now;
}

static void
recvstat_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval tv = { recvstat_interval(), 0 };

	(void)fd;
	(void)ev;
	(void)arg;
	R.kicked = 0;
	recvstat_scan();
	evtimer_add(R.ev, &tv);
}

void
recvstat_start(struct event_base *base)
{
	struct timeval tv = { 0, 0 };

	if ((R.ev = evtimer_new(base, recvstat_timer, NULL)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(R.ev, &tv);
}

void
recvstat_stop(void)
{
	if (R.ev != NULL)
		event_free(R.ev);
	R.ev = NULL;
}

/*
 * A little later, once: a burst of exits makes one scan, and however
 * fast connections come and go (anyone can open one) a kicked scan runs
 * at most every RECVSTAT_KICK_GAP seconds and never delays the timer's.
 */
void
recvstat_kick(void)
{
	struct timeval tv = { 1, 0 };
	int64_t now, wait;

	if (R.ev == NULL || R.kicked)
		return;
	now = now_s();
	wait = R.scanned + RECVSTAT_KICK_GAP - now;
	if (wait > tv.tv_sec)
		tv.tv_sec = wait;
	/* The timer's own scan comes first. */
	if (now + tv.tv_sec >= R.scanned + recvstat_interval())
		return;
	R.kicked = 1;
	evtimer_del(R.ev);
	evtimer_add(R.ev, &tv);
}

void
recvstat_refresh(int64_t max_age)
{
	if (R.ev != NULL && now_s() - R.scanned >= max_age)
		recvstat_scan();
}

const struct recvstat *
recvstat_list(size_t *n)
{
	*n = R.n;
	return R.v;
}

int64_t
recvstat_scanned(void)
{
	return R.scanned;
}
