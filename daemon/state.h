/*
 * What the daemon remembers across restarts: per job, and per job and
 * target, when the last run started and ended and how it went.  One text
 * file, <state-dir>/state, replaced atomically (temporary file, fsync,
 * rename, fsync of the directory) so that a crash leaves the old or the
 * new version, never a mix.
 *
 *   btrsend-state 1
 *   JOB TARGET START END RESULT ERROR...
 *
 * TARGET is "-" for the job itself; START/END are seconds since the epoch
 * (END 0 while running); RESULT is ok, retry, failed or running
 * (run_result_name); ERROR is
 * the rest of the line.  A run still "running" when the file is read was
 * interrupted by a crash or a kill of the daemon.
 */
#ifndef BTRSEND_DAEMON_STATE_H
#define BTRSEND_DAEMON_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/types.h"

#define STATE_FILE	"state"
#define STATE_ERR_MAX	512

struct state_entry {
	char		 job[SNAP_NAME_MAX + 1];
	char		 target[SNAP_NAME_MAX + 1];	/* "" for the job */
	int64_t		 start, end;
	enum run_result result;
	char		 error[STATE_ERR_MAX];
};

struct state {
	struct state_entry *e;
	size_t		 n;
};

/* A missing file is an empty state.  -1 with a message in err. */
int	 state_load(const char *dir, struct state *, char *err, size_t errlen);
int	 state_save(const char *dir, const struct state *, char *err,
	    size_t errlen);
/* The entry for job (and target, or NULL); created empty when asked. */
struct state_entry *state_get(struct state *, const char *job,
	    const char *target, int create);
void	 state_set_error(struct state_entry *, const char *error);
void	 state_free(struct state *);

#endif
