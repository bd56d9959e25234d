/*
 * The btrsendd parent: event loop, scheduling, children, signals.
 */
#ifndef BTRSEND_DAEMON_DAEMON_H
#define BTRSEND_DAEMON_DAEMON_H

/* Bounds on waiting for children, in seconds. */
#define DAEMON_WORKER_TIMEOUT	(6 * 3600)	/* one job run */
#define DAEMON_HOOK_TIMEOUT	60		/* one hook command */
#define DAEMON_KILL_GRACE	10		/* SIGTERM .. SIGKILL */

/*
 * Test hooks, for tests/integration only, read by the test build alone
 * (proto/base/testing.h).  When the first three environment variables
 * name a job, that job's workers die of SIGSEGV, hang until killed, or
 * send a message of an unknown type and then hang, right after the
 * handshake; the last two set the worker and the hook timeouts in
 * seconds.
 */
#define DAEMON_TEST_CRASH_ENV	"BTRSENDD_TEST_CRASH_JOB"
#define DAEMON_TEST_HANG_ENV	"BTRSENDD_TEST_HANG_JOB"
#define DAEMON_TEST_BABBLE_ENV	"BTRSENDD_TEST_BABBLE_JOB"
#define DAEMON_TEST_TIMEOUT_ENV	"BTRSENDD_TEST_WORKER_TIMEOUT"
#define DAEMON_TEST_HOOK_TIMEOUT_ENV	"BTRSENDD_TEST_HOOK_TIMEOUT"

/*
 * Run the daemon until SIGTERM/SIGINT.  foreground: log to stderr even
 * under journald.  Returns the exit status (0, 1, or 2 for a bad config).
 */
int	daemon_main(const char *conf_path, int foreground, int verbose);

#endif
