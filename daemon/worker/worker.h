/*
 * Worker processes of btrsendd.  The parent forks and re-executes its
 * own binary in the hidden worker mode (`btrsendd -W`) with a socketpair
 * on IPC_WORKER_FD; everything the worker needs arrives as messages
 * (proto/msg/ipc.h), so it never reads the config.  Workers run in their own
 * process group, so a terminal's ^C reaches only the parent, which stops
 * them in order.
 *
 * Exit statuses: run_result_exit() of the run's result (RUN_EXIT_OK,
 * RUN_EXIT_RETRY: temporary, retry later with backoff), anything else
 * failed.
 */
#ifndef BTRSEND_DAEMON_WORKER_WORKER_H
#define BTRSEND_DAEMON_WORKER_WORKER_H

#include <sys/types.h>

#include "proto/msg/ipc.h"

/*
 * What a waitpid() status means.  killed_by_us: the parent sent the
 * signal (timeout or shutdown), which is a reason to retry.  A worker
 * killed by SIGTERM or SIGKILL from elsewhere (OOM killer, an admin) is
 * retried too; any other signal is a crash and fails the run.
 */
enum run_result worker_outcome(int wstatus, int killed_by_us);
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
 * Replication happens inside the job run: IPC_RUN carries the job's
 * targets (resolved by the parent), the tls block and keep-target;
 * jobrun() sends each target every snapshot it misses with netsend_run()
 * (daemon/net/netsend.h), asks each to prune, and reports per target in
 * IPC_RESULT, which the parent records under (job, target) in the state
 * file.  Any target failing temporarily makes the run RUN_RETRY.
 */

/* The worker side: btrsendd -W.  Returns the process exit status. */
int	worker_main(int foreground, int verbose);

/* A job run inside the worker: snapshot, replicate, prune by keep-source. */
int	jobrun(int fd, const struct ipc_run *, struct ipc_result *);

#endif
