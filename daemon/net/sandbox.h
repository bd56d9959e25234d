/*
 * The barriers a worker puts up around itself once it holds what it
 * needs (docs/architecture.md, "Processes"), in this order:
 *
 *  1. capabilities: only those listed stay, in the effective and
 *     permitted sets; inheritable, ambient and the bounding set are
 *     emptied of the rest, so nothing dropped comes back;
 *  2. no_new_privs: no exec can grant privileges again;
 *  3. Landlock: every filesystem right the running kernel knows is
 *     handled; full access only beneath the directories given (as open
 *     fds), reading only beneath the directories and of the files named,
 *     reading and mapping code beneath the library directories named;
 *     TCP bind refused, TCP connect only to the ports given (none for a
 *     receive worker); signals and abstract unix sockets scoped to the
 *     process;
 *  4. seccomp: an allow-list of system calls for the role; any other
 *     call kills the process (SIGSYS), which its parent reports.
 *
 * A kernel without Landlock is logged once and tolerated; every other
 * failure is returned, and the caller must not go on.
 */
#ifndef BTRSEND_DAEMON_NET_SANDBOX_H
#define BTRSEND_DAEMON_NET_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum sandbox_role {
	SANDBOX_RECEIVE,	/* a receive worker: parses a client's bytes */
	SANDBOX_JOB,		/* a job worker: snapshots and sends */
	/*
	 * btrsendctl restore: parses the backup host's bytes and applies
	 * them into DEST; dials the target again after a cut.  The
	 * receive worker's capabilities when run as root, none otherwise.
	 */
	SANDBOX_RESTORE,
};

/*
 * The names of ro_dirs, ro_files and lib_dirs are opened when the
 * domain is put up; a missing one is skipped (its rights are then not
 * granted).
 */
struct sandbox {
	enum sandbox_role role;
	const int *rw_dirs;		/* full access beneath each (fds) */
	size_t nrw_dirs;
	const char *const *ro_dirs;	/* reading files and listing beneath */
	size_t nro_dirs;
	const char *const *ro_files;	/* reading only */
	size_t nro_files;
	const char *const *lib_dirs;	/* reading and running beneath */
	size_t nlib_dirs;
	const unsigned short *ports;	/* TCP connect allowed to (ABI 4) */
	size_t nports;
	bool landlock;			/* put up the Landlock domain */
	bool seccomp;			/* and the system call filter */
};

/* Apply every barrier of sb; -1 and err (what failed, why) otherwise. */
int	sandbox_apply(const struct sandbox *sb, char *err, size_t errlen);

/* The capabilities a role keeps, as a bit mask (1 << CAP_x). */
unsigned long long sandbox_caps(enum sandbox_role role);

/* The running kernel's Landlock ABI version, 0 without Landlock. */
int	sandbox_landlock_abi(void);

/*
 * For a parent that reaped a worker: its wait status means the seccomp
 * filter killed it (SIGSYS), so a line saying so is logged.
 */
bool	sandbox_killed(int wstatus);

/* Test build: the probes of BTRSEND_TEST_SANDBOX_PROBE; else nothing. */
void	sandbox_test_probe(void);

#endif
