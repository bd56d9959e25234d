/*
 * The names of a partial: what the apply engine keeps in DIR while the
 * subvolume NAME is being received, and which of DIR's entries belong to
 * which partial.  The engine owns these names (an on-disk format: a
 * partial left by one version is resumed by the next); everyone else asks
 * here instead of parsing them.
 *
 *	.btrsend-partial.NAME		the staging subvolume
 *	.btrsend-partial.NAME.state	its checkpoint (engine/checkpoint.h)
 *	.btrsend-partial.NAME.progress	its lock and progress record
 *	.btrsend-partial.NAME.flags	inode flags set at the end
 *	.btrsend-ckpt.{0,1}.NAME	the checkpoint snapshots
 *
 * Every name starts with ".btrsend-": such a subvolume is never a parent
 * or clone source.
 */
#ifndef BTRSEND_ENGINE_PARTIAL_H
#define BTRSEND_ENGINE_PARTIAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define PARTIAL_RESERVED_PREFIX	".btrsend-"

enum partial_part {
	PARTIAL_STAGING,
	PARTIAL_STATE,
	PARTIAL_PROGRESS,
	PARTIAL_FLAGS,
	PARTIAL_CKPT0,
	PARTIAL_CKPT1,
};

/* The name of part of the partial of NAME.  0, or -1: too long. */
int	partial_name(const char *name, enum partial_part part,
	    char out[NAME_MAX + 1]);

/*
 * Which partial the directory entry ent is part of: its NAME in name and
 * the part, or -1 when ent is none of the names above.
 */
int	partial_owner(const char *ent, char name[NAME_MAX + 1]);

/*
 * Is ent part of the partial of a snapshot of job older than done, one
 * no job run resumes once done is complete?  Then true, with that
 * snapshot's name in name.
 */
bool	partial_stale(const char *ent, const char *job, const char *done,
	    char name[NAME_MAX + 1]);

/*
 * The snapshots with a stale partial (as partial_stale) in the directory
 * dirfd, each once: *names (malloc'd, *n of them).  0, or -1 with errno.
 */
int	partial_list_stale(int dirfd, const char *job, const char *done,
	    char (**names)[NAME_MAX + 1], size_t *n);

#endif
