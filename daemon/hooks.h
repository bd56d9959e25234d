/*
 * A job's on-success and on-failure commands: a child of the parent
 * (children.h) with JOB, TARGET, SNAPSHOT and ERROR in its environment,
 * bounded by DAEMON_HOOK_TIMEOUT.
 */
#ifndef BTRSEND_DAEMON_HOOKS_H
#define BTRSEND_DAEMON_HOOKS_H

struct child;

/*
 * Run cmd (NULL: nothing) for the run of worker c; which names it in
 * logs ("on-success hook"), failed says whose targets to list.
 */
void	hook_run(const struct child *c, const char *which, const char *cmd,
	    const char *snapshot, const char *error, int failed);
/*
 * Run cmd with env (NULL-terminated "NAME=value" strings) as a hook
 * child named for job and which in logs; nothing while stopping.
 */
void	hook_run_env(const char *job, const char *which, const char *cmd,
	    char *const env[]);
/* The hook c exited with wstatus: log how. */
void	hook_done(struct child *c, int wstatus);

#endif
