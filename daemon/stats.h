/*
 * What the parent knows about job runs beyond the state file: the live
 * progress of each running run, counters since the daemon started, what
 * each target held at its last contact, and a bounded history of
 * finished runs kept in <state-dir>/history across restarts.
 *
 * It is fed by children.c and jobs.c (from worker messages and exit
 * statuses) and read by control.c (status, history, snapshots, monitor)
 * and metrics.c (/metrics).  No I/O except the history file; no clock: callers pass
 * times (seconds since the epoch).
 *
 * A run has an id, unique for the daemon's lifetime and shown by
 * `btrsendctl status`; `btrsendctl cancel ID` names it.  One run of a job
 * sends to each of its targets in turn; its live record says which target
 * it is on.
 */
#ifndef BTRSEND_DAEMON_STATS_H
#define BTRSEND_DAEMON_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/state.h"

#define STATS_HISTORY_MAX	1000	/* finished (run, target) records */
#define STATS_HISTORY_FILE	"history"
#define STATS_HELD_MAX		4096	/* snapshot names held, per target */

/* A running job run (one worker). */
struct stats_live {
	uint32_t	 id;
	char		 job[SNAP_NAME_MAX + 1];
	char		 phase[64];		/* "snapshot", "send", "prune" */
	char		 target[SNAP_NAME_MAX + 1];	/* "" when not sending */
	char		 snapshot[SNAP_NAME_MAX + 1];	/* "" before made */
	int64_t		 start;
	uint64_t	 done, total;		/* stream bytes; total 0: unknown */
	enum total_source total_src;
	uint64_t	 resumed_at;		/* offset this send resumed at */
	uint64_t	 rate;			/* bytes per second, recent */
	uint32_t	 resumes;		/* this run, this target */
};

/* One finished (run, target); target "" for a run that sent nowhere. */
struct stats_run {
	uint32_t	 id;
	char		 job[SNAP_NAME_MAX + 1];
	char		 target[SNAP_NAME_MAX + 1];
	char		 snapshot[SNAP_NAME_MAX + 1];
	char		 parent[SNAP_NAME_MAX + 1];	/* "" full or not sent */
	int64_t		 start, end;
	enum run_result result;		/* RUN_OK, RUN_RETRY, RUN_FAILED */
	uint64_t	 bytes;			/* stream bytes sent this run */
	uint32_t	 resumes;
	char		 error[STATE_ERR_MAX];
	uint32_t	 prune_refused;		/* live only, not in history */
};

/* A progress report from a worker (see proto/msg/ipc.h IPC_XFER). */
struct stats_progress {
	const char	*phase;
	const char	*target;
	const char	*snapshot;
	uint64_t	 done, total;
	enum total_source total_src;
	uint64_t	 resumed_at;
	uint32_t	 resumes;
};

/* Monitor events: what happened, with the record it concerns. */
enum stats_event_kind {
	STATS_EV_RUN_START,		/* live */
	STATS_EV_PROGRESS,		/* live */
	STATS_EV_TARGET_DONE,		/* run: one target finished */
	STATS_EV_RUN_END,		/* run: target "" is the job's outcome */
};

struct stats_event {
	enum stats_event_kind	 kind;
	int64_t			 when;
	const struct stats_live	*live;	/* RUN_START, PROGRESS */
	const struct stats_run	*run;	/* TARGET_DONE, RUN_END */
};

typedef void stats_listener_fn(const struct stats_event *, void *arg);

/*
 * Load the history from state_dir (a missing file is an empty history).
 * -1 with a message in err; the daemon then runs with an empty history.
 */
int	 stats_open(const char *state_dir, char *err, size_t errlen);
void	 stats_close(void);

/* A run starts: its id.  Progress updates the live record and rate. */
uint32_t stats_run_start(const char *job, int64_t now);
void	 stats_run_progress(uint32_t id, const struct stats_progress *,
	    int64_t now);
/* One target of the run finished: appended to history and counters. */
void	 stats_target_done(uint32_t id, const struct stats_run *r);
/*
 * The run ended (r->target ""): live record dropped, history appended
 * when the run sent to no target, last-success times updated.
 */
void	 stats_run_end(uint32_t id, const struct stats_run *r);

/* What a target reported holding (snapshot names of the job). */
void	 stats_held_set(const char *job, const char *target,
	    char *const *names, size_t n, int64_t now);
/*
 * Its base then (the newest snapshot of ours it held, "" none); with
 * the names, saved to <state-dir>/held and loaded by stats_open, so that
 * runs prune by it while the target is unreachable, across restarts.
 */
void	 stats_held_set_base(const char *job, const char *target,
	    const char *base);
/* NULL when nothing is known of what the target held. */
const char *stats_held_base(const char *job, const char *target);
/* NULL when never reported; *n and *when set otherwise. */
char *const *stats_held(const char *job, const char *target, size_t *n,
	    int64_t *when);

/* Running runs, oldest first (valid until a run starts or ends); the one
 * with id, or NULL. */
const struct stats_live *stats_live_list(size_t *n);
const struct stats_live *stats_live_find(uint32_t id);

/* Finished records, oldest first (at most STATS_HISTORY_MAX). */
const struct stats_run *stats_history(size_t *n);

/* Counters since start (for /metrics). */
struct stats_counters {
	uint64_t	 bytes;			/* stream bytes sent */
	uint64_t	 resumes;
	uint64_t	 ok, retry, failed;	/* (run, target) outcomes */
};
void	 stats_counters(struct stats_counters *);
/* Last successful end for (job, target), 0 if none since history began. */
int64_t	 stats_last_success(const char *job, const char *target);

/*
 * Per (job, target) aggregates; target "" is the job itself.  The
 * counters are since the daemon started; last_success and last_bytes
 * (stream bytes of the last successful send that did not resume, 0 if
 * none) also come from the history loaded at start.
 */
struct stats_jt {
	char		 job[SNAP_NAME_MAX + 1];
	char		 target[SNAP_NAME_MAX + 1];
	uint64_t	 bytes, resumes;
	uint64_t	 ok, retry, failed;
	uint64_t	 prune_refused;	/* snapshots the target kept */
	int64_t		 last_success;
	uint64_t	 last_bytes;
};
const struct stats_jt *stats_jt_list(size_t *n);
uint64_t stats_last_bytes(const char *job, const char *target);

/* Monitor subscription; remove with the same fn and arg. */
void	 stats_listen(stats_listener_fn *fn, void *arg);
void	 stats_unlisten(stats_listener_fn *fn, void *arg);

#endif
