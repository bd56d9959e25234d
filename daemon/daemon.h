/*
 * The btrsendd parent: event loop, scheduling, children, signals.
 */
#ifndef BTRSEND_DAEMON_DAEMON_H
#define BTRSEND_DAEMON_DAEMON_H

/* Bounds on waiting for children, in seconds. */
#define DAEMON_WORKER_TIMEOUT	(6 * 3600)	/* one job run */
#define DAEMON_HOOK_TIMEOUT	60		/* one on-success/failure */
#define DAEMON_KILL_GRACE	10		/* SIGTERM .. SIGKILL */

/*
 * Test hook, for tests/integration only: when this environment variable
 * names a job, that job's workers die of SIGSEGV right after the
 * handshake.
 */
#define DAEMON_TEST_CRASH_ENV	"BTRSENDD_TEST_CRASH_JOB"

/*
 * Run the daemon until SIGTERM/SIGINT.  foreground: log to stderr even
 * under journald.  Returns the exit status (0, 1, or 2 for a bad config).
 */
int	daemon_main(const char *conf_path, int foreground, int verbose);

#endif
