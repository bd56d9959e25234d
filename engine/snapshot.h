/*
 * A job's read-only snapshots: <snapshot-dir>/<job>.<YYYYMMDDTHHMMSSZ>
 * (UTC).  A second snapshot in the same second gets the suffix ".2",
 * then ".3", ...; an existing name is never overwritten.
 */
#ifndef BTRSEND_ENGINE_SNAPSHOT_H
#define BTRSEND_ENGINE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "proto/base/types.h"

#define SNAP_TS_LEN   16            /* YYYYMMDDTHHMMSSZ */

struct snap_info {
	char name[SNAP_NAME_MAX + 1];
	int64_t time;                   /* from the name, UTC */
	unsigned seq;                   /* 1 without suffix, else the suffix */
	uint64_t id;                    /* subvolume (root) id */
	uint8_t uuid[16];
	uint8_t parent_uuid[16];
	uint8_t received_uuid[16];
	uint64_t ctransid, otransid;
	uint64_t generation;             /* last transaction that changed it */
	uint64_t stransid;              /* received: the source's ctransid */
	uint64_t rtransid;              /* received: when it was received */
	struct timespec otime;          /* creation time as btrfs recorded it */
	int read_only;
};

/* "<job>.<ts>" or "<job>.<ts>.<seq>" for seq > 1.  -1 if it does not fit. */
int  snap_name_format(char *buf, size_t len, const char *job, int64_t t,
    unsigned seq);
/* 0 and *t, *seq when name is a snapshot name of job; else -1. */
int  snap_name_parse(const char *name, const char *job, int64_t *t,
    unsigned *seq);
/* Order by time, then seq (the creation order). */
int  snap_info_cmp(const struct snap_info *a, const struct snap_info *b);

/*
 * Make a read-only snapshot of source in dir named for job and time now;
 * the chosen name goes to name_out.  0, or -1 with a message in err.
 */
int  snapshot_create(const char *source, const char *dir, const char *job,
    int64_t now, char *name_out, size_t name_len, char *err, size_t errlen);
/* The job's snapshots in dir, oldest first (*out is malloc'd). */
int  snapshot_list(const char *dir, const char *job, struct snap_info **out,
    size_t *n, char *err, size_t errlen);
/* Fill info from the subvolume at path (name fields left empty). */
int  snapshot_info(const char *path, struct snap_info *info, char *err,
    size_t errlen);
/* Delete dir/name; with wait, also wait until the deletion is committed. */
int  snapshot_delete(const char *dir, const char *name, int wait, char *err,
    size_t errlen);

/*
 * Whether a subvolume still holds what it held at transid since (its
 * rtransid when received, else its otransid): read-only and ctransid not
 * above since.  A read-only snapshot is created with ctransid equal to
 * otransid, a receive commits before recording rtransid, and every later
 * change commits in a later transaction, raising ctransid.  The one rule
 * (docs/architecture.md, "Parents and clone sources") for the receiver's
 * parents and clone sources and the sender's own.
 */
int  snap_unchanged_since(int read_only, uint64_t ctransid, uint64_t since);

/*
 * Parent and clone choice for sending local[send_idx] to a target that
 * holds the snapshots whose received uuids are in held.  A local snapshot
 * is "held" when held contains its received uuid (if set, since the kernel
 * sends that instead of its own) or else its uuid, and it is unchanged
 * since received, or else since created (snap_unchanged_since).  The parent is the
 * newest held snapshot older than the one being sent; the clone sources
 * are the other held older ones, newest first, at most max_clones.
 * Returns 1 with *parent set, 0 when nothing is common (full send).
 */
int  snap_choose(const struct snap_info *local, size_t nlocal,
    size_t send_idx, const uint8_t (*held)[16], size_t nheld,
    size_t *parent, size_t *clones, size_t max_clones, size_t *nclones);

/*
 * Retention pins: set pinned[i] for the newest snapshot a target holds
 * (the base of its next incremental send).  Call once per target.
 */
void snap_pin_held(const struct snap_info *local, size_t nlocal,
    const uint8_t (*held)[16], size_t nheld, int *pinned);

/*
 * The newest local snapshot a target holds (the base of its next
 * incremental): its name, or NULL when it holds none of them.
 */
const char *snap_base_name(const struct snap_info *local, size_t nlocal,
    const uint8_t (*held)[16], size_t nheld);

/*
 * Retention pins for a target that could not be asked what it holds:
 * set pinned[i] for its last known base (base, the name it had at the
 * last contact; "" when it held none of ours, which pins nothing).
 * known 0 (never heard of, or its record was refused): -1, nothing
 * may be pruned, as any snapshot may be the base it needs.  Else 0.
 */
int  snap_pin_last_known(const struct snap_info *local, size_t nlocal,
    int known, const char *base, int *pinned);

/*
 * Set pinned[i] for every local snapshot that uuids names (its received
 * uuid if set, else its uuid): the snapshots a transfer uses.
 */
void snap_pin_uuids(const struct snap_info *local, size_t nlocal,
    const uint8_t (*uuids)[16], size_t nuuids, int *pinned);

/*
 * What a job run sends to one target, given what it holds (held, as for
 * snap_choose) and the snapshots of its full-send partials (partial):
 * the indices of local go to order (room for nlocal), oldest first, each
 * to be sent incrementally from the one before it.  *base is the newest
 * snapshot the target holds, the parent of order[0], or nlocal when
 * nothing is common; then order[0] is the newest full partial, resumed,
 * followed by everything newer, or else only the newest snapshot (one
 * full send, not a full send of an older one plus every delta after it).
 * Returns the count.
 */
size_t snap_plan(const struct snap_info *local, size_t nlocal,
    const uint8_t (*held)[16], size_t nheld, const uint8_t (*partial)[16],
    size_t npartial, size_t *order, size_t *base);

#endif
