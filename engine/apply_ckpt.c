/*
 * Checkpoint snapshots: at every durable checkpoint a read-only snapshot
 * of the staging subvolume, so that a resume after a machine crash can
 * start from exactly the state the checkpoint describes instead of
 * replaying tolerantly over whatever reached the disk after it.
 *
 * Two slots, .btrsend-ckpt.0.NAME and .btrsend-ckpt.1.NAME, used in
 * turn.  The state file names the slot it describes (in its `staging`
 * field), and is written only after that snapshot exists; the other slot
 * is deleted only after the state file no longer names it.  So the state
 * file always names an existing snapshot whose content is exactly its
 * position: creating a snapshot flushes the source's data and commits.
 *
 * Only when DIR is on btrfs (the engine's unit tests run on tmpfs).
 */
#include <btrfsutil.h>
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/apply_impl.h"

bool
apply_ckpt_enabled(struct apply *a)
{
	struct statfs sf;

	if (a->o.plain_dir)
		return false;   /* the staging is a directory: no snapshots */
	if (a->ck_snaps == 0)
		a->ck_snaps = fstatfs(a->dirfd, &sf) == 0 &&
		    sf.f_type == BTRFS_SUPER_MAGIC ? 1 : -1;
	return a->ck_snaps == 1;
}

int
apply_ckpt_name(const char *name, int slot, char out[NAME_MAX + 1])
{
	return partial_name(name, slot ? PARTIAL_CKPT1 : PARTIAL_CKPT0, out);
}

/* Which slot a state file's `staging` field names: 0, 1, or -1 (none). */
int
apply_ckpt_slot(const struct apply *a, const char *field)
{
	char s[NAME_MAX + 1];
	int i;

	for (i = 0; i < 2; i++)
		if (apply_ckpt_name(a->name, i, s) == 0 &&
		    strcmp(s, field) == 0)
			return i;
	return -1;
}

static int
ckpt_delete(struct apply *a, const char *s)
{
	if (apply_subvol_delete(a, s) == -1 && errno != ENOENT) {
		log_warn("delete checkpoint snapshot %s", s);
		return -1;
	}
	return 0;
}

void
apply_ckpt_drop(struct apply *a, int slot)
{
	char s[NAME_MAX + 1];

	if (slot != -1 && apply_ckpt_name(a->name, slot, s) == 0)
		(void)ckpt_delete(a, s);
}

void
apply_ckpt_drop_all(struct apply *a)
{
	if (!apply_ckpt_enabled(a))
		return;
	apply_ckpt_drop(a, 0);
	apply_ckpt_drop(a, 1);
	a->ck_snap = -1;
}

/*
 * Snapshot the staging subvolume into the slot the state file does not
 * name; its name into out.  Everything applied must be flushed already.
 * 0, or -1 with the error set.
 */
int
apply_ckpt_take(struct apply *a, char out[NAME_MAX + 1], int *slot)
{
	enum btrfs_util_error e;

	*slot = a->ck_snap == 0 ? 1 : 0;
	if (apply_ckpt_name(a->name, *slot, out) == -1)
		return apply_fail(a, 0, "checkpoint snapshot name too long");
	/* left by a crash between the snapshot and the state file */
	if (ckpt_delete(a, out) == -1)
		return apply_fail(a, errno, "remove stale %s", out);
	e = btrfs_util_create_snapshot_fd2(a->subfd, a->dirfd, out,
	    BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY, NULL, NULL);
	if (e != BTRFS_UTIL_OK)
		return apply_fail(a, errno, "checkpoint snapshot %s: %s", out,
		    btrfs_util_strerror(e));
	return 0;
}

/*
 * Replace the staging subvolume by a writable snapshot of checkpoint
 * snapshot `slot`.  The staging may be gone already (a crash in here).
 */
int
apply_ckpt_restore(struct apply *a, int slot)
{
	enum btrfs_util_error e;
	char s[NAME_MAX + 1];
	int fd;

	if (apply_ckpt_name(a->name, slot, s) == -1)
		return apply_fail(a, 0, "checkpoint snapshot name too long");
	fd = apply_open_beneath(a->dirfd, s, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -1)
		return apply_fail(a, errno, "open checkpoint snapshot %s", s);
	if (a->subfd != -1)
		close(a->subfd);
	a->subfd = -1;
	if (apply_subvol_delete(a, a->staging) == -1 && errno != ENOENT) {
		close(fd);
		return apply_fail(a, errno, "delete %s", a->staging);
	}
	e = btrfs_util_create_snapshot_fd2(fd, a->dirfd, a->staging, 0,
	    NULL, NULL);
	close(fd);
	if (e != BTRFS_UTIL_OK)
		return apply_fail(a, errno, "restore %s from %s: %s",
		    a->staging, s, btrfs_util_strerror(e));
	a->ck_snap = slot;
	return 0;
}
