/*
 * A job's before-snapshot, on-success and on-failure commands: a child of
 * the parent (children.h) with JOB, TARGET, SNAPSHOT and ERROR in its
 * environment, bounded by DAEMON_HOOK_TIMEOUT.
 */
#ifndef BTRSEND_DAEMON_HOOKS_H
#define BTRSEND_DAEMON_HOOKS_H

#include <stddef.h>

struct child;

/*
 * Run cmd (NULL: nothing) for the run of worker c; which names it in
 * logs ("on-success hook"), failed says whose targets to list.
 */
void	hook_run(const struct child *c, const char *which, const char *cmd,
	    const char *snapshot, const char *error, int failed);
/*
 * Start the before-snapshot command cmd of a run of job: a CHILD_BEFORE
 * whose exit jobs.c awaits (job_before_done); TARGET lists send_to,
 * SNAPSHOT and ERROR are empty.  NULL when it could not be started.
 */
struct child *hook_before(const char *job, const char *cmd,
	    char *const *send_to, size_t nsend_to);
/*
 * Run cmd with env (NULL-terminated "NAME=value" strings) as a hook
 * child named for job and which in logs; nothing while stopping.
 */
void	hook_run_env(const char *job, const char *which, const char *cmd,
	    char *const env[]);
/* The hook c exited with wstatus: log how. */
void	hook_done(struct child *c, int wstatus);

#endif
