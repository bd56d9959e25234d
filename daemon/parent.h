/*
 * What the parent offers its control socket (daemon/control.c): read
 * access to its tables and the admin actions.  Actions return 0 with a
 * line for the admin in msg, or -1 with the reason in msg.
 */
#ifndef BTRSEND_DAEMON_PARENT_H
#define BTRSEND_DAEMON_PARENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf/conf.h"
#include "daemon/state.h"

/* A paused job's name is a line of this file in the state dir. */
#define PARENT_PAUSED_FILE	"paused"

struct parent_job {
	const struct conf_job	*cj;
	int			 paused, running, queued;
	int64_t			 due;		/* SCHED_NEVER: not scheduled */
};

const struct conf	*parent_conf(void);
/* The state file's entry for job (and target, or NULL), or NULL. */
const struct state_entry *parent_state_entry(const char *job,
	    const char *target);
/* The job's runtime view; -1 if the configuration has no such job. */
int	parent_job(const char *name, struct parent_job *);

int	parent_run(const char *job, char *msg, size_t len);
int	parent_cancel(uint32_t run_id, char *msg, size_t len);
int	parent_pause(const char *job, int pause, char *msg, size_t len);
/* Like SIGHUP; on errors msg holds the configuration's messages. */
int	parent_reload(char *msg, size_t len);

/*
 * Between the parent's own files (parent.c, jobs.c, children.c,
 * hooks.c): its context, owned by parent.c, and the state file.
 */
struct event;
struct event_base;

struct parent {
	struct event_base *base;
	struct conf	*conf;
	const char	*conf_path;
	char		 self[PATH_MAX];
	int		 foreground;
	int		 verbose;
	struct state	 st;
	int		 stopping;
	struct event	*ev_watchdog, *ev_stop;
#ifdef BTRSEND_TESTING
	const char	*crash_job;
	const char	*hang_job;
	const char	*babble_job;
#endif
	int		 worker_timeout;
	int		 hook_timeout;	/* seconds, DAEMON_HOOK_TIMEOUT */
};

extern struct parent P;

static inline int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* Write P.st to the state dir; a failure is logged, not fatal. */
void	parent_state_store(void);

#endif
