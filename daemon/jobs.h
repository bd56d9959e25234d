/*
 * The parent's job table: one entry per configured job (kept while a
 * run of a job removed by a reload ends), its schedule, the queue of due
 * jobs waiting for one of max-transfers slots, and each run's start and
 * outcome (retries with backoff, state file, history).
 */
#ifndef BTRSEND_DAEMON_JOBS_H
#define BTRSEND_DAEMON_JOBS_H

#include "daemon/state.h"

struct child;

/* Match the runtime jobs to P.conf's after a (re)load; schedule them. */
void	jobs_sync(void);
/* No more runs: the daemon stops. */
void	jobs_stop(void);
/* Runs going on. */
unsigned jobs_running(void);
/* Start queued jobs while transfer slots are free. */
void	jobs_drain(void);
/* A worker c of a job exited with wstatus: record the run's outcome. */
void	job_finished(struct child *c, int wstatus);
/* Its before-snapshot hook c exited: the run goes on, or fails. */
void	job_before_done(struct child *c, int wstatus);
/* A run begun but not finished when the daemon last stopped or died. */
int	job_interrupted(const struct state_entry *e);
/* The line systemd shows: runs going on, the next one due. */
void	jobs_status(void);

#endif
