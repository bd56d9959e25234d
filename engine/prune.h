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

/*
 * The backup host's rules over a client's PRUNE (the receive block of
 * btrsend.conf): the client's retention picks, these veto.  All zero:
 * nothing is vetoed.
 */
struct prune_authority {
	uint64_t	 protect;	/* seconds: a younger otime is kept */
	uint32_t	 keep_min;	/* complete snapshots left at least */
	bool		 append_only;	/* nothing is deleted */
};

/* Why the authority kept a snapshot the retention would delete. */
enum prune_veto {
	PRUNE_VETO_NONE = 0,
	PRUNE_VETO_APPEND_ONLY,
	PRUNE_VETO_PROTECT,
	PRUNE_VETO_KEEP_MIN,
	PRUNE_VETO_N
};

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
	/* The backup host's rules (received only), or NULL. */
	const struct prune_authority *authority;
	/* Told of each snapshot the authority kept, or NULL. */
	void		(*vetoed)(const char *name, enum prune_veto why,
			    void *arg);
};

struct prune_result {
	uint32_t	 deleted, kept;	/* of the snapshots judged */
	uint32_t	 refused[PRUNE_VETO_N]; /* of kept, by veto */
};

/*
 * Which of snaps[0..n) the pass deletes: del[i].  pinned (NULL: none)
 * holds the caller's pins.  Pure; the count of snapshots judged.
 */
size_t	prune_decide(const struct prune_req *rq, const struct snap_info *snaps,
	    size_t n, const int *pinned, bool *del);

/*
 * The authority's vetoes over del[] (prune_decide's; judged of snaps[0..n)
 * complete): why[i] says why del[i] was turned off.  append-only keeps
 * all; protect keeps those whose otime is within it of now; keep-min
 * then keeps the newest of the rest until that many are left.  Pure; the
 * count vetoed.
 */
size_t	prune_veto(const struct prune_authority *a, int64_t now,
	    const struct snap_info *snaps, size_t n, size_t judged, bool *del,
	    enum prune_veto *why);

/*
 * The answer to the client about what the authority refused: "" when
 * nothing was, else for example "3 kept by the backup host: protect 30d
 * (2), keep-min 5 (1)".
 */
void	prune_refusal_text(const struct prune_authority *a,
	    const struct prune_result *res, char *buf, size_t len);

/* Canonical text of a duration in seconds ("30d", "90m", "0s"). */
const char *prune_fmt_duration(uint64_t secs, char *buf, size_t len);

/* List, decide, delete.  0, or -1 with a message in err. */
int	prune_run(const struct prune_req *rq, struct prune_result *res,
	    char *err, size_t errlen);

#endif
