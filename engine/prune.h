/*
 * Pruning: the one pass that deletes what a retention policy does not
 * keep of a job's snapshots, for keep-source (the job worker, in the
 * job's snapshot directory) and for keep-target (the receive worker, in
 * a client's job directory, on PRUNE).
 *
 * Never deleted: a snapshot the caller pins (the newest one a target
 * holds, one a transfer uses, the one just taken), the newest snapshot
 * of the job (retention_apply), and in a receive area every partial and
 * the newest complete snapshot (the parent of the next incremental).
 */
#ifndef BTRSEND_ENGINE_PRUNE_H
#define BTRSEND_ENGINE_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/types.h"

struct snap_info;

struct prune_req {
	const char	*dir;		/* where the job's snapshots are */
	const char	*job;
	const struct retention_policy *policy;
	int64_t		 now;
	/*
	 * A receive area: only complete received snapshots (read-only, with
	 * a received uuid) are judged and counted; the newest is pinned.
	 */
	bool		 received;
	/* The caller's pins, or NULL: set pinned[i] to keep snaps[i]. */
	void		(*pin)(const struct snap_info *snaps, size_t n,
			    int *pinned, void *arg);
	/*
	 * Told after each deletion, err NULL when it succeeded.  Returning
	 * -1 stops the pass (prune_run fails with err); otherwise a failed
	 * deletion counts as kept.
	 */
	int		(*deleted)(const char *name, const char *err, void *arg);
	void		*arg;
};

struct prune_result {
	uint32_t	 deleted, kept;	/* of the snapshots judged */
};

/*
 * Which of snaps[0..n) the pass deletes: del[i].  pinned (NULL: none)
 * holds the caller's pins.  Pure; the count of snapshots judged.
 */
size_t	prune_decide(const struct prune_req *rq, const struct snap_info *snaps,
	    size_t n, const int *pinned, bool *del);

/* List, decide, delete.  0, or -1 with a message in err. */
int	prune_run(const struct prune_req *rq, struct prune_result *res,
	    char *err, size_t errlen);

#endif
