/*
 * What a receiver knows of its clients, per client and job: the last
 * snapshot received and when, how many, the partials and the oldest's
 * age.  The receive workers are forked children with no channel for
 * counters, so the filesystem is the source of truth: the parent scans
 * root/<client>/<job>/ every RECVSTAT_INTERVAL seconds, soon after a
 * receive worker exits (at most every RECVSTAT_KICK_GAP seconds), and
 * on `btrsendctl status` (at most every 2 seconds).  A scan is bounded
 * (RECVSTAT_JOBS_MAX jobs per client, RECVSTAT_MAX in all) so that it
 * never holds the event loop for long.
 *
 * stale-after (btrsend.conf(5)): a client job whose last snapshot is
 * older than that starts a stale episode, logged once, counted and
 * handed to on-stale; a new snapshot ends it.
 */
#ifndef BTRSEND_DAEMON_RECVSTAT_H
#define BTRSEND_DAEMON_RECVSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/types.h"

struct event_base;

#define RECVSTAT_INTERVAL	60	/* seconds between scans */
#define RECVSTAT_KICK_GAP	5	/* seconds between kicked scans */
#define RECVSTAT_JOBS_MAX	256	/* job directories per client */
#define RECVSTAT_MAX		4096	/* client jobs in all */

struct recvstat {
	char		 client[SNAP_NAME_MAX + 1];
	char		 job[SNAP_NAME_MAX + 1];
	char		 last[SNAP_NAME_MAX + 1]; /* "" none complete */
	int64_t		 last_time;	/* its otime on this host; 0 none */
	uint32_t	 snapshots;	/* complete received snapshots */
	uint32_t	 partials;
	int64_t		 partial_oldest; /* the oldest partial's otime */
	uint64_t	 stale_after;	/* seconds, 0 off (the config's) */
	int		 stale;		/* in a stale episode */
	uint64_t	 episodes;	/* stale episodes since start */
	int		 seen;		/* found by the current scan */
};

enum stale_event { STALE_NONE, STALE_BEGIN, STALE_END };

/*
 * The stale episode state machine, pure: *stale is the episode flag of
 * a client job whose newest snapshot has time last (0: none, so nothing
 * to be stale about), now and the stale-after in force (0: off).
 * STALE_BEGIN once when the age reaches after, STALE_END once when a
 * newer snapshot (or a larger after, or none) brings it back; else
 * STALE_NONE, whatever the number of calls.
 */
enum stale_event stale_step(int *stale, int64_t last, int64_t now,
	    uint64_t after);

/* Scan on a timer (receive set at start); the interval. */
void	recvstat_start(struct event_base *);
void	recvstat_stop(void);
/* Scan soon (a receive worker exited). */
void	recvstat_kick(void);
/* Scan now if the last is older than max_age seconds. */
void	recvstat_refresh(int64_t max_age);
/* The table of the last scan, ordered by client then job. */
const struct recvstat *recvstat_list(size_t *n);
/* When the last scan ran; 0 never. */
int64_t	recvstat_scanned(void);

#endif
