/*
 * The parent's job table: one entry per configured job (kept while a
 * run of a job removed by a reload ends), its schedule, the queue of due
 * jobs waiting for one of max-transfers slots, and each run's start and
 * outcome (retries with backoff, state file, history).
 */
#ifndef BTRSEND_DAEMON_JOBS_H
#define BTRSEND_DAEMON_JOBS_H

#include <sys/queue.h>

#include <stdint.h>

#include <event2/event.h>

#include "daemon/state.h"

struct child;

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

/* A job removed by a reload stays known (gone) while its run ends. */
struct pjob *job_lookup(const char *name);
/* Match the runtime jobs to P.conf's after a (re)load; schedule them. */
void	jobs_sync(void);
/* (Re)arm the job's timer for its next run, if it has one. */
void	job_schedule(struct pjob *pj);
/* Start a run of the job in a worker now. */
void	job_start(struct pjob *pj);
/* Start queued jobs while transfer slots are free. */
void	queue_drain(void);
/* A worker c of a job exited with wstatus: record the run's outcome. */
void	job_finished(struct child *c, int wstatus);
/* A run begun but not finished when the daemon last stopped or died. */
int	job_interrupted(const struct state_entry *e);
/* The line systemd shows: runs going on, the next one due. */
void	status_update(void);
/* The job is in the paused file of the state dir. */
int	paused_has(const char *job);

#endif
