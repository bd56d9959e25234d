/*
 * Next-run arithmetic (see scheduler.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/scheduler.h"

/* Offsets from UTC lie within -12 h .. +14 h; these bound the search. */
#define SCHED_OFF_WEST	(13 * 3600)
#define SCHED_OFF_EAST	(15 * 3600)

static int
sched_zone_exists(const char *tz)
{
	const char *dir = getenv("TZDIR");
	char path[4096];

	if (strstr(tz, "..") != NULL || tz[0] == '/')
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir :
	    "/usr/share/zoneinfo", tz);
	return access(path, R_OK) == 0;
}

/*
 * localtime_r follows TZ, which is process-wide: set it for the
 * computation and put the old value back, so that children (workers,
 * hooks) inherit the environment the daemon was started with.  Only the
 * parent's single thread calls this.
 */
static int
sched_zone_push(const char *tz, char **saved)
{
	const char *old = getenv("TZ");

	if (tz == NULL || strcmp(tz, "UTC") == 0)
		tz = "UTC0";
	else if (!sched_zone_exists(tz))
		return -1;
	*saved = old ? strdup(old) : NULL;
	if ((old != NULL && *saved == NULL) || setenv("TZ", tz, 1) == -1) {
		free(*saved);
		return -1;
	}
	tzset();
	return 0;
}

static void
sched_zone_pop(char *saved)
{
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	free(saved);
	tzset();
}

/* The zone's wall-clock time at t, as if that wall time were UTC. */
static int64_t
sched_wall(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	return (int64_t)timegm(&tm);
}

/*
 * The first instant whose wall time is at or past `target` (a wall time
 * as UTC seconds).  Zone changes fall on whole minutes, so a minute grid
 * finds the minute and a second scan the instant.
 */
static int64_t
sched_first_reaching(int64_t target)
{
	int64_t t, s;

	for (t = target - SCHED_OFF_EAST; t <= target + SCHED_OFF_WEST;
	    t += 60) {
		if (sched_wall(t) < target)
			continue;
		for (s = t - 59; s < t; s++)
			if (sched_wall(s) >= target)
				return s;
		return t;
	}
	return target;
}

int64_t
sched_at_next(const char *tz, int hour, int minute, int64_t after)
{
	time_t tt = (time_t)after;
	struct tm day, want;
	int64_t occ = -1;
	char *saved;
	int i;

	if (sched_zone_push(tz, &saved) == -1)
		return -1;
	localtime_r(&tt, &day);
	for (i = -1; i <= 2; i++) {
		memset(&want, 0, sizeof(want));
		want.tm_year = day.tm_year;
		want.tm_mon = day.tm_mon;
		want.tm_mday = day.tm_mday + i;
		want.tm_hour = hour;
		want.tm_min = minute;
		occ = sched_first_reaching((int64_t)timegm(&want));
		if (occ > after)
			break;
	}
	sched_zone_pop(saved);
	return occ;	/* some day ahead always has the time */
}

int64_t
sched_next(const struct conf_schedule *s, const char *tz, int64_t last,
    int64_t now)
{
	int64_t next;

	if (last > now)		/* the clock went back: count from now */
		last = now;
	switch (s->kind) {
	case CONF_SCHED_EVERY:
		if (last == 0 || s->every >= (uint64_t)(SCHED_NEVER - last))
			return last == 0 ? now : SCHED_NEVER;
		next = last + (int64_t)s->every;
		break;
	case CONF_SCHED_AT:
		next = sched_at_next(tz, s->hour, s->minute,
		    last == 0 ? now : last);
		if (next == -1)
			return -1;
		break;
	default:
		return SCHED_NEVER;
	}
	return next < now ? now : next;
}

uint32_t
sched_jitter_max_ms(const struct conf_schedule *s)
{
	switch (s->kind) {
	case CONF_SCHED_EVERY:
		if (s->every >= SCHED_JITTER_MAX_MS / 100)
			return SCHED_JITTER_MAX_MS;
		return (uint32_t)s->every * 100;
	case CONF_SCHED_AT:
		return SCHED_JITTER_MAX_MS;
	default:
		return 0;
	}
}

uint32_t
sched_backoff(unsigned attempt)
{
	uint32_t d = SCHED_BACKOFF_BASE;

	if (attempt == 0)
		return 0;
	while (--attempt > 0 && d < SCHED_BACKOFF_CAP)
		d *= 2;
	return d < SCHED_BACKOFF_CAP ? d : SCHED_BACKOFF_CAP;
}
