/*
 * The parent's children: job workers, with a frame channel, and hook
 * commands.  Each is bounded by a timeout (then SIGTERM, then after
 * DAEMON_KILL_GRACE SIGKILL) and reaped on SIGCHLD, where a worker's
 * outcome goes to jobs.c and a hook's to hooks.c.
 */
#ifndef BTRSEND_DAEMON_CHILDREN_H
#define BTRSEND_DAEMON_CHILDREN_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>

#include <event2/event.h>

#include "daemon/state.h"
#include "daemon/stats.h"
#include "proto/msg/ipc.h"

/* CHILD_BEFORE: a run's before-snapshot hook, before its worker. */
enum child_kind { CHILD_JOB, CHILD_HOOK, CHILD_BEFORE };

struct child {
	TAILQ_ENTRY(child) entry;
	enum child_kind	 kind;
	pid_t		 pid;
	char		 job[SNAP_NAME_MAX + 1];
	char		 what[32];		/* "worker", "on-success hook" */
	struct peer	*peer;			/* NULL for hooks, or after EOF */
	struct event	*ev_timeout;
	int		 hello;
	int		 have_result;
	struct ipc_result res;
	int		 bad;			/* protocol error: failed */
	int		 killed;		/* we signalled it */
	int		 term_sent;
	int		 cancelled;		/* by btrsendctl cancel */
	int64_t		 start;
	uint32_t	 sid;			/* stats run id (jobs) */
	int64_t		 logged;		/* last progress log line */
	char		 logged_target[SNAP_NAME_MAX + 1];
	enum total_source logged_src;
};

/* A new child, in the table, to be stopped after timeout seconds. */
struct child *child_new(enum child_kind kind, pid_t pid, const char *job,
	    const char *what, int timeout);
/* sig to the child's process group (or to it alone); marks it killed. */
void	child_signal(struct child *c, int sig);
/* Read and handle worker c's frames on fd, its end of the channel. */
void	child_channel(struct child *c, int fd);
/* SIGCHLD: reap every child that exited. */
void	child_reap(evutil_socket_t fd, short ev, void *arg);
/* The daemon stops: SIGTERM to every child (senders checkpoint). */
void	children_term(void);
/* Those that ignored it: SIGKILL, logged. */
void	children_kill(void);
/* No child is left. */
int	children_none(void);

#endif
