/*
 * When jobs run: arithmetic on seconds since the epoch (UTC) that never
 * reads the clock, so that DST and missed runs can be tested.  For `at`
 * in a named zone it checks that the zone's file exists and sets TZ
 * around localtime_r (putting the old value back): the only I/O.
 *
 * - every D: the first run is at start-up; then D after the previous
 *   run started.
 * - at HH:MM: the first occurrence of HH:MM in the zone after the
 *   previous run (or, if the job never ran, after now).  A wall time
 *   skipped by a DST change runs at the first moment after it; a wall
 *   time that occurs twice runs only the first time.
 * - manual: never.
 *
 * A run whose time passed while the daemon was down runs once, at
 * start-up: sched_next() never returns a time before now.
 *
 * Jitter: each scheduled start is delayed by a random 0 .. min(D/10,
 * 30 s) for `every D` and 0 .. 30 s for `at`, so that many hosts or jobs
 * with the same schedule do not all start in the same second.  The run's
 * recorded start (and so the next due time) is when it really began.
 */
#ifndef BTRSEND_DAEMON_SCHEDULER_H
#define BTRSEND_DAEMON_SCHEDULER_H

#include <stdint.h>

#include "conf/conf.h"

#define SCHED_NEVER		INT64_MAX
#define SCHED_JITTER_MAX_MS	30000

/* Retries after a temporary failure: BASE, 2*BASE, ... capped at CAP. */
#define SCHED_BACKOFF_BASE	10
#define SCHED_BACKOFF_CAP	3600
#define SCHED_RETRIES_MAX	6

/*
 * The next start of a job whose previous run started at last (0: never
 * ran).  tz is an IANA zone name for `at` (NULL or "UTC": UTC).  Returns
 * a time >= now, or SCHED_NEVER for manual schedules; -1 if tz is unknown.
 */
int64_t	sched_next(const struct conf_schedule *s, const char *tz,
	    int64_t last, int64_t now);

/*
 * The first instant after `after` whose wall-clock time in tz is
 * hour:minute, by the DST rules above; -1 if tz is unknown.
 */
int64_t	sched_at_next(const char *tz, int hour, int minute, int64_t after);

/* Largest jitter for s, in milliseconds. */
uint32_t sched_jitter_max_ms(const struct conf_schedule *s);

/* Delay before retry number attempt (1 = first retry), in seconds. */
uint32_t sched_backoff(unsigned attempt);

#endif
