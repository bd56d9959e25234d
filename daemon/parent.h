/*
 * What the parent offers its control socket (daemon/control.c): read
 * access to its tables and the admin actions.  Actions return 0 with a
 * line for the admin in msg, or -1 with the reason in msg.
 */
#ifndef BTRSEND_DAEMON_PARENT_H
#define BTRSEND_DAEMON_PARENT_H

#include <stddef.h>
#include <stdint.h>

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

#endif
