/*
 * Worker processes of btrsendd.  The parent forks and re-executes its
 * own binary in the hidden worker mode (`btrsendd -W`) with a socketpair
 * on IPC_WORKER_FD; everything the worker needs arrives as messages
 * (proto/ipc.h), so it never reads the config.  Workers run in their own
 * process group, so a terminal's ^C reaches only the parent, which stops
 * them in order.
 *
 * Exit statuses: WORKER_EXIT_OK, WORKER_EXIT_RETRY (temporary: retry
 * later with backoff), anything else failed.
 */
#ifndef BTRSEND_DAEMON_WORKER_H
#define BTRSEND_DAEMON_WORKER_H

#include <sys/types.h>

#include "proto/ipc.h"

#define WORKER_EXIT_OK		0
#define WORKER_EXIT_FAILED	1
#define WORKER_EXIT_RETRY	75	/* EX_TEMPFAIL */

enum worker_outcome {
	WORKER_OK,
	WORKER_RETRY,
	WORKER_FAILED,
};

/*
 * What a waitpid() status means.  killed_by_us: the parent sent the
 * signal (timeout or shutdown), which is a reason to retry.  A worker
 * killed by SIGTERM or SIGKILL from elsewhere (OOM killer, an admin) is
 * retried too; any other signal is a crash and fails the run.
 */
enum worker_outcome worker_outcome(int wstatus, int killed_by_us);
const char *worker_outcome_name(enum worker_outcome);
/* "exit 3", "killed by signal 11 (Segmentation fault)", ... */
void	worker_status_str(int wstatus, char *buf, size_t len);

/*
 * Fork and exec self in worker mode; *fd gets the parent's end of the
 * socketpair (non-blocking, close-on-exec); the worker logs at the
 * given verbosity, to stderr when foreground (-d), else like the parent.  The child's pid, or -1.
 */
pid_t	worker_spawn(const char *self, int foreground, int verbose, int *fd);

/*
 * Run a shell command line in its own process group with the given
 * environment additions ("NAME=value", NULL-terminated), stdin from
 * /dev/null.  The child's pid, or -1.
 */
pid_t	worker_spawn_command(const char *cmdline, char *const env[]);

/*
 * Replication (not in this build; the network sender is branch net).
 * The shape it is to take: after a job run succeeds, the parent starts
 * one send worker per target of the job, each counted against
 * max-transfers, each with an IPC_SEND message (job, target address and
 * certificate name, TLS files, snapshot-dir, protocol, compressed-data,
 * keep-target).  The worker calls the one sender function
 *
 *	int net_send_job(int fd, const struct ipc_send *, struct ipc_result *);
 *
 * which connects, asks what the target holds, sends the missing snapshots
 * incrementally (resuming a partial), asks the target to prune by
 * keep-target, and returns a WORKER_EXIT_* code; fd carries IPC_PROGRESS.
 * The parent records the outcome per job and target in the state file
 * (state_get(st, job, target, 1)) and passes the targets' newest held
 * snapshots to the next job run as retention pins.
 */

/* The worker side: btrsendd -W.  Returns the process exit status. */
int	worker_main(int foreground, int verbose);

/* A job run inside the worker: snapshot, then prune by keep-source. */
int	jobrun(int fd, const struct ipc_run *, struct ipc_result *);

#endif
