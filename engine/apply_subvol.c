/*
 * Subvolume life cycle of a receive: staging, resume from a checkpoint,
 * finding parents and clone sources beneath DIR, and the final
 * received + read-only + rename step.
 */
#include <btrfsutil.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "proto/base/log.h"
#include "engine/apply_impl.h"
#include "engine/snapshot.h"

/* Root item flag of a read-only subvolume (BTRFS_ROOT_SUBVOL_RDONLY). */
#define ROOT_ITEM_RDONLY	(1ULL << 0)

static int
staging_names(const char *name, char staging[NAME_MAX + 1],
    char statefile[NAME_MAX + 1])
{
	if (partial_name(name, PARTIAL_STAGING, staging) == -1)
		return -1;
	return partial_name(name, PARTIAL_STATE, statefile);
}

/* DIR's path inside the subvolume that contains it, "" at its root. */
static int
dir_prefix(int dirfd, char **out)
{
	struct btrfs_ioctl_ino_lookup_args args;
	struct stat st;
	size_t n;

	if (fstat(dirfd, &st) == -1)
		return -1;
	if (st.st_ino == 256) {	/* BTRFS_FIRST_FREE_OBJECTID: subvolume root */
		*out = xstrdup("");
		return 0;
	}
	memset(&args, 0, sizeof(args));
	args.objectid = st.st_ino;
	if (ioctl(dirfd, BTRFS_IOC_INO_LOOKUP, &args) == -1)
		return -1;
	args.name[sizeof(args.name) - 1] = '\0';
	n = strlen(args.name);
	if (n > 0 && args.name[n - 1] == '/')
		args.name[n - 1] = '\0';
	*out = xstrdup(args.name);
	return 0;
}

static void
subvs_clear(struct apply *a)
{
	size_t i;

	for (i = 0; i < a->nsubvs; i++)
		free(a->subvs[i].rel);
	free(a->subvs);
	a->subvs = NULL;
	a->nsubvs = 0;
}

/* Partials and checkpoint snapshots: never parents or clone sources. */
static bool
is_reserved(const char *rel)
{
	const char *base = strrchr(rel, '/');

	base = base != NULL ? base + 1 : rel;
	return strncmp(rel, PARTIAL_RESERVED_PREFIX,
	    strlen(PARTIAL_RESERVED_PREFIX)) == 0 ||
	    strncmp(base, PARTIAL_RESERVED_PREFIX,
	    strlen(PARTIAL_RESERVED_PREFIX)) == 0;
}

static void
subv_from_info(struct apply_subv *s,
    const struct btrfs_util_subvolume_info *info)
{
	memcpy(s->uuid, info->uuid, 16);
	memcpy(s->received_uuid, info->received_uuid, 16);
	s->ctransid = info->ctransid;
	s->otransid = info->otransid;
	s->stransid = info->stransid;
	s->rtransid = info->rtransid;
	s->read_only = (info->flags & ROOT_ITEM_RDONLY) != 0;
}

/* Where parents and clone sources are looked up: DIR, or as told. */
static int
subvs_dirfd(const struct apply *a)
{
	return a->o.parents_elsewhere ? a->o.parents_fd : a->dirfd;
}

/* Every subvolume beneath DIR (not the one DIR is in, nor ours). */
static int
subvs_load(struct apply *a)
{
	struct btrfs_util_subvolume_iterator *it = NULL;
	struct btrfs_util_subvolume_info info;
	enum btrfs_util_error e;
	char *prefix = NULL, *path;
	const char *rel;
	size_t plen;
	uint64_t top;

	subvs_clear(a);
	if (dir_prefix(subvs_dirfd(a), &prefix) == -1)
		return apply_fail(a, errno, "find DIR inside its subvolume");
	plen = strlen(prefix);
	e = btrfs_util_subvolume_id_fd(subvs_dirfd(a), &top);
	if (e == BTRFS_UTIL_OK)
		e = btrfs_util_create_subvolume_iterator_fd(subvs_dirfd(a),
		    top, 0, &it);
	while (e == BTRFS_UTIL_OK) {
		e = btrfs_util_subvolume_iterator_next_info(it, &path, &info);
		if (e != BTRFS_UTIL_OK)
			break;
		rel = path;
		if (plen > 0 && (strncmp(path, prefix, plen) != 0 ||
		    path[plen] != '/'))
			rel = NULL;
		else if (plen > 0)
			rel += plen + 1;
		if (rel != NULL && !is_reserved(rel)) {
			struct apply_subv *s;

			a->subvs = xrealloc(a->subvs,
			    (a->nsubvs + 1) * sizeof(*a->subvs));
			s = &a->subvs[a->nsubvs++];
			subv_from_info(s, &info);
			s->rel = xstrdup(rel);
		}
		free(path);
	}
	if (it != NULL)
		btrfs_util_destroy_subvolume_iterator(it);
	free(prefix);
	if (e != BTRFS_UTIL_ERROR_STOP_ITERATION)
		return apply_fail(a, errno, "list subvolumes beneath DIR: %s",
		    btrfs_util_strerror(e));
	return 0;
}

enum subv_fit { FIT_OK, FIT_UNNAMED, FIT_WRITABLE, FIT_CHANGED, FIT_TRANSID };

/*
 * The parent and clone source rule (docs/architecture.md, "Parents and
 * clone sources"): whether s may stand for what a stream names as uuid
 * and ctransid (0: not told, at BEGIN).  A sender whose own parent is a
 * received copy sends that copy's received uuid with the copy's local
 * ctransid, which no field here need equal.  So a match by received uuid
 * must be read-only and unchanged since it was received, and a match by
 * its own uuid (the origin) must have that very ctransid (the parent was
 * the origin itself) or else be read-only and unchanged since created
 * (the parent was an unchanged copy of it: the same content).
 */
static enum subv_fit
subv_fits(const struct apply_subv *s, const uint8_t uuid[16],
    uint64_t ctransid, bool received)
{
	static const uint8_t zero[16];

	if (memcmp(uuid, zero, 16) == 0)
		return FIT_UNNAMED;
	if (received) {
		if (memcmp(s->received_uuid, uuid, 16) != 0)
			return FIT_UNNAMED;
		if (!s->read_only)
			return FIT_WRITABLE;
		if (!snap_unchanged_since(s->read_only, s->ctransid,
		    s->rtransid))
			return FIT_CHANGED;
		return FIT_OK;
	}
	if (memcmp(s->uuid, uuid, 16) != 0)
		return FIT_UNNAMED;
	if (ctransid == 0 || s->ctransid == ctransid ||
	    snap_unchanged_since(s->read_only, s->ctransid, s->otransid))
		return FIT_OK;
	return FIT_TRANSID;
}

/* Received uuid first, then uuid; *seen and *fit of the first misfit. */
static const struct apply_subv *
subvs_match(const struct apply *a, const uint8_t uuid[16], uint64_t ctransid,
    const struct apply_subv **seen, enum subv_fit *fit)
{
	enum subv_fit f;
	size_t i;
	int pass;

	*seen = NULL;
	*fit = FIT_UNNAMED;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < a->nsubvs; i++) {
			f = subv_fits(&a->subvs[i], uuid, ctransid, pass == 0);
			if (f == FIT_OK)
				return &a->subvs[i];
			if (f != FIT_UNNAMED && *seen == NULL) {
				*seen = &a->subvs[i];
				*fit = f;
			}
		}
	return NULL;
}

/* Why seen (subvs_match) does not do for ctransid, into buf. */
static void
subvs_misfit(const struct apply_subv *seen, enum subv_fit fit,
    uint64_t ctransid, char *buf, size_t len)
{
	if (fit == FIT_TRANSID)
		snprintf(buf, len, "found beneath DIR as %s but with transid "
		    "%llu, the stream wants %llu, and %s, so it may not hold "
		    "what the sender's parent holds: send in full or from "
		    "another snapshot", seen->rel,
		    (unsigned long long)seen->ctransid,
		    (unsigned long long)ctransid, seen->read_only ?
		    "it was changed after it was created" : "it is writable");
	else
		snprintf(buf, len, "found beneath DIR as %s but %s (ctransid "
		    "%llu, received at transid %llu), so it no longer holds "
		    "what its received uuid names: send in full or from "
		    "another snapshot", seen->rel, fit == FIT_WRITABLE ?
		    "it is writable" : "it was changed after it was received",
		    (unsigned long long)seen->ctransid,
		    (unsigned long long)seen->rtransid);
}

/* Whether uuid/ctransid names a fitting subvolume; why not into buf. */
static bool
subvs_holds(const struct apply *a, const uint8_t uuid[16], uint64_t ctransid,
    char *buf, size_t len)
{
	const struct apply_subv *s, *seen;
	enum subv_fit fit;

	s = subvs_match(a, uuid, ctransid, &seen, &fit);
	if (s == NULL && seen != NULL)
		subvs_misfit(seen, fit, ctransid, buf, len);
	else if (s == NULL)
		snprintf(buf, len, "not found beneath DIR");
	return s != NULL;
}

int
apply_holds_subvols(struct apply *a, const uint8_t (*uuids)[16],
    const uint64_t *ctransids, size_t n, size_t *missing, char *why,
    size_t whylen)
{
	size_t i;

	if (n == 0)
		return 1;
	if (subvs_load(a) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (!subvs_holds(a, uuids[i], ctransids[i], why, whylen)) {
			*missing = i;
			return 0;
		}
	return 1;
}

/*
 * The listing may be stale: check the rule again on the open fd.  A
 * change not yet committed shows in ctransid only after the commit, so
 * commit first, once per subvolume the stream builds (a change made
 * while that is being received is the admin racing the receive).
 */
static int
subv_recheck(struct apply *a, int fd, const struct apply_subv *s,
    const uint8_t uuid[16], uint64_t ctransid, const char *what)
{
	struct btrfs_util_subvolume_info info;
	struct apply_subv now;
	bool received = memcmp(s->received_uuid, uuid, 16) == 0;
	enum subv_fit fit;
	char ustr[37], buf[400];

	if (!a->rule_synced && btrfs_util_sync_fd(fd) != BTRFS_UTIL_OK)
		return apply_fail(a, errno, "commit before checking %s %s",
		    what, s->rel);
	a->rule_synced = true;
	if (btrfs_util_subvolume_info_fd(fd, 0, &info) != BTRFS_UTIL_OK)
		return apply_fail(a, errno, "read %s %s", what, s->rel);
	subv_from_info(&now, &info);
	now.rel = s->rel;
	fit = subv_fits(&now, uuid, ctransid, received);
	if (fit == FIT_OK)
		return 0;
	if (fit == FIT_UNNAMED)
		return apply_fail(a, 0, "%s %s changed while being opened",
		    what, s->rel);
	uuid_unparse_lower(uuid, ustr);
	subvs_misfit(&now, fit, ctransid, buf, sizeof(buf));
	return apply_fail(a, 0, "%s %s %s", what, ustr, buf);
}

/*
 * Find the subvolume a stream names by uuid (received uuid first, then
 * uuid) beneath DIR and leave it open in a->clone_fd.
 */
int
apply_find_subvol(struct apply *a, const uint8_t uuid[16], uint64_t ctransid,
    const char *what)
{
	const struct apply_subv *s, *seen;
	enum subv_fit fit;
	char ustr[37], buf[400];
	int fd;

	uuid_unparse_lower(uuid, ustr);
	if (subvs_load(a) == -1)
		return -1;
	s = subvs_match(a, uuid, ctransid, &seen, &fit);
	if (s == NULL && seen != NULL) {
		subvs_misfit(seen, fit, ctransid, buf, sizeof(buf));
		return apply_fail(a, 0, "%s %s %s", what, ustr, buf);
	}
	if (s == NULL)
		return apply_fail(a, 0, "%s %s (transid %llu) not found "
		    "beneath DIR", what, ustr, (unsigned long long)ctransid);
	fd = apply_open_beneath(subvs_dirfd(a), s->rel, O_RDONLY | O_DIRECTORY,
	    0);
	if (fd == -1)
		return apply_fail(a, errno, "open %s %s", what, s->rel);
	if (subv_recheck(a, fd, s, uuid, ctransid, what) == -1) {
		close(fd);
		return -1;
	}
	if (a->clone_fd != -1)
		close(a->clone_fd);
	a->clone_fd = fd;
	memcpy(a->clone_uuid, uuid, 16);
	a->clone_ctransid = ctransid;
	return 0;
}

static int
subvol_identity(struct apply *a, const struct stream_cmd *c)
{
	const uint8_t *p;
	uint32_t len;
	const char *why;

	memset(&a->id, 0, sizeof(a->id));
	if (stream_get_bytes(c, SEND_A_PATH, &p, &len) == -1 ||
	    stream_get_uuid(c, SEND_A_UUID, a->id.uuid) == -1 ||
	    stream_get_u64(c, SEND_A_CTRANSID, &a->id.ctransid) == -1)
		return apply_fail(a, 0, "missing PATH, UUID or CTRANSID");
	if (apply_name_check(p, len, &why) == -1)
		return apply_fail(a, 0, "subvolume name '%.*s': %s",
		    (int)(len > 200 ? 200 : len), (const char *)p, why);
	memcpy(a->id.name, p, len);
	a->id.name[len] = '\0';
	if (c->type == SEND_C_SNAPSHOT) {
		a->id.has_parent = true;
		if (stream_get_uuid(c, SEND_A_CLONE_UUID, a->id.parent_uuid) == -1 ||
		    stream_get_u64(c, SEND_A_CLONE_CTRANSID,
		    &a->id.parent_ctransid) == -1)
			return apply_fail(a, 0, "missing CLONE_UUID or "
			    "CLONE_CTRANSID");
	}
	a->id.version = a->version;
	if (a->told) {
		a->id.flags = a->told_flags;
		a->id.nclones = a->told_nclones;
		memcpy(a->id.clone_uuids, a->told_clones,
		    (size_t)a->told_nclones * 16);
	}
	memcpy(a->name, a->id.name, len + 1);
	if (staging_names(a->name, a->staging, a->statefile) == -1)
		return apply_fail(a, 0, "subvolume name '%s' too long for a "
		    "staging name", a->name);
	return 0;
}

static int
subvol_read_only(struct apply *a, const char *name)
{
	enum btrfs_util_error e;

	e = btrfs_util_set_subvolume_read_only_fd(a->subfd, true);
	if (e != BTRFS_UTIL_OK)
		return apply_fail(a, errno, "make %s read-only: %s", name,
		    btrfs_util_strerror(e));
	return 0;
}

/*
 * A crash after the rename at END but before read-only (which waits for
 * the root's immutable/append-only flags, apply_subvol_end) left NAME
 * received but writable, and the partial's state file beside it: finish.
 */
static int
subvol_refinish(struct apply *a, int fd)
{
	int rc;

	log_warnx("%s: a receive stopped between its rename and read-only; "
	    "setting its flags and read-only now", a->name);
	a->subfd = fd;
	rc = apply_defer_resume(a, 0, UINT64_MAX);
	if (rc == 0)
		rc = apply_set_deferred_flags(a);
	if (rc == 0)
		rc = apply_set_root_flags(a);
	if (rc == 0)
		rc = subvol_read_only(a, a->name);
	close(fd);
	a->subfd = -1;
	if (rc == -1)
		return -1;
	if (unlinkat(a->dirfd, a->statefile, 0) == -1 && errno != ENOENT)
		log_warn("remove %s", a->statefile);
	apply_ckpt_drop_all(a);
	if (apply_progress_open(a) == 0)
		apply_progress_close(a, true);
	apply_defer_remove(a);
	return 0;
}

/* Is DIR/name already this stream's finished subvolume? */
static int
subvol_already(struct apply *a, bool *already)
{
	struct btrfs_util_subvolume_info info;
	struct stat st;
	bool ro = false;
	int fd;

	*already = false;
	if (fstatat(a->dirfd, a->name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : apply_fail(a, errno, "%s", a->name);
	if (a->o.plain_dir)
		return apply_fail(a, EEXIST, "%s already exists in %s: a "
		    "restore never overwrites; move it away or restore into "
		    "another directory", a->name, a->o.dest_label != NULL ?
		    a->o.dest_label : "DIR");
	fd = apply_open_beneath(a->dirfd, a->name, O_RDONLY | O_DIRECTORY, 0);
	if (fd != -1 && btrfs_util_subvolume_info_fd(fd, 0, &info) ==
	    BTRFS_UTIL_OK && memcmp(info.received_uuid, a->id.uuid, 16) == 0 &&
	    info.stransid == a->id.ctransid &&
	    btrfs_util_get_subvolume_read_only_fd(fd, &ro) == BTRFS_UTIL_OK) {
		*already = ro;
		if (ro) {
			close(fd);
			return 0;
		}
		if (fstatat(a->dirfd, a->statefile, &st,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			*already = true;
			return subvol_refinish(a, fd);
		}
	}
	if (fd != -1)
		close(fd);
	return apply_fail(a, EEXIST, "%s already exists in DIR and is not "
	    "this stream's received subvolume", a->name);
}

void
apply_drop_partial(struct apply *a)
{
	(void)apply_sync_wait(a);
	apply_close_caches(a);
	if (a->subfd != -1)
		close(a->subfd);
	a->subfd = -1;
	if (apply_subvol_delete(a, a->staging) == -1 && errno != ENOENT)
		log_warn("delete partial %s", a->staging);
	if (unlinkat(a->dirfd, a->statefile, 0) == -1 && errno != ENOENT)
		log_warn("remove %s", a->statefile);
	apply_ckpt_drop_all(a);
	apply_progress_close(a, true);
	apply_defer_remove(a);
	a->sub = SUB_NONE;
}

int
apply_set_stream_params(struct apply *a, uint64_t flags, uint32_t nclones,
    const uint8_t (*clones)[16])
{
	if (nclones > CKPT_MAX_CLONES)
		return apply_fail(a, 0, "%u clone sources: a checkpoint records "
		    "at most %d", nclones, CKPT_MAX_CLONES);
	a->told = true;
	a->told_flags = flags;
	a->told_nclones = nclones;
	if (nclones > 0)
		memcpy(a->told_clones, clones, (size_t)nclones * 16);
	return 0;
}

int
apply_discard_partial(struct apply *a, const char *name)
{
	if (a->sub != SUB_NONE)
		return apply_fail(a, 0, "discard %s while a subvolume is open",
		    name);
	snprintf(a->name, sizeof(a->name), "%s", name);
	if (staging_names(a->name, a->staging, a->statefile) == -1)
		return apply_fail(a, 0, "name too long");
	apply_drop_partial(a);
	a->name[0] = '\0';
	return 0;
}

static int
staging_open(struct apply *a)
{
	a->subfd = apply_open_beneath(a->dirfd, a->staging,
	    O_RDONLY | O_DIRECTORY, 0);
	if (a->subfd == -1)
		return apply_fail(a, errno, "open staging subvolume %s",
		    a->staging);
	return 0;
}

static int
staging_create(struct apply *a)
{
	enum btrfs_util_error e;

	apply_defer_remove(a);          /* left by a partial deleted by hand */
	apply_ckpt_drop_all(a);
	if (a->o.plain_dir) {
		if (apply_plain_create(a) == -1)
			return -1;
		goto made;
	}
	if (a->id.has_parent) {
		if (apply_find_subvol(a, a->id.parent_uuid,
		    a->id.parent_ctransid, "parent subvolume") == -1)
			return -1;
		e = btrfs_util_create_snapshot_fd2(a->clone_fd, a->dirfd,
		    a->staging, 0, NULL, NULL);
	} else
		e = btrfs_util_create_subvolume_fd(a->dirfd, a->staging, 0,
		    NULL, NULL);
	if (e != BTRFS_UTIL_OK)
		return apply_fail(a, errno, "create %s: %s", a->staging,
		    btrfs_util_strerror(e));
made:
	if (staging_open(a) == -1)
		return -1;
	a->sub = SUB_ACTIVE;
	if (apply_progress_open(a) == -1)
		return -1;
	/* creating a subvolume commits: the checkpoint can say so now */
	return apply_write_checkpoint(a, false, true);
}

enum reopen_how {
	REOPEN_REFINE,          /* apply the progress record if it is valid */
	REOPEN_EXACT,           /* the caller resumes exactly at ck */
	REOPEN_REFINED,         /* the caller applied the record */
};

/*
 * Open the staging subvolume of checkpoint ck for a resume.  The progress
 * record (apply_progress.c) may move ck further: then the staging is used
 * as it is and what follows is replayed tolerantly.  Otherwise, unless the
 * staging is sealed (complete), it is replaced by the checkpoint's
 * snapshot and the resume is exact.  A state file without a snapshot
 * (written before snapshots, or not on btrfs) is replayed tolerantly.
 * 0, 1 when there is neither staging nor snapshot, -1 on error.
 */

static int
staging_reopen(struct apply *a, struct checkpoint *ck, enum reopen_how how)
{
	struct stat st;
	bool ro = false, refined = how == REOPEN_REFINED;
	int slot;

	if (how == REOPEN_REFINE)
		refined = apply_progress_refine(a->dirfd, a->name, ck) == 1;
	slot = apply_ckpt_enabled(a) ? apply_ckpt_slot(a, ck->staging) : -1;
	a->ck_snap = slot;
	if (fstatat(a->dirfd, a->staging, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (staging_open(a) == -1)
			return -1;
		if (!a->o.plain_dir)
			(void)btrfs_util_get_subvolume_read_only_fd(a->subfd,
			    &ro);
	} else if (slot == -1)
		return 1;
	a->sealed = ro;
	a->tolerant = true;
	if (!ro && !refined && slot != -1) {
		if (apply_ckpt_restore(a, slot) == -1 || staging_open(a) == -1)
			return -1;
		/* worth a warning: it means the machine went down */
		log_warnx("%s: no progress record of this boot; restored %s "
		    "from checkpoint snapshot at command %llu", a->name,
		    a->staging, (unsigned long long)ck->ncmds);
		a->tolerant = false;
	}
	return apply_progress_open(a);
}

/* A partial exists: resume it if it is this stream's, else discard. */
static int
staging_resume(struct apply *a, bool *resumed)
{
	struct checkpoint ck;
	char why[700];
	int rc, orc;

	*resumed = false;
	rc = checkpoint_read(a->dirfd, a->statefile, &ck, why, sizeof(why));
	if (rc == 1)
		snprintf(why, sizeof(why), "no checkpoint");
	else if (rc == 0 && !ckpt_identity_equal(&ck.id, &a->id))
		snprintf(why, sizeof(why), "checkpoint of a different stream");
	else if (rc == 0 && ck.ncmds <= a->cur->index)
		snprintf(why, sizeof(why), "checkpoint before this stream");
	else if (rc == 0 && (orc = staging_reopen(a, &ck, REOPEN_REFINE)) == 0 &&
	    apply_defer_resume(a, ck.flags_bytes, ck.ncmds) == -1)
		snprintf(why, sizeof(why), "%s", a->err);
	else if (rc == 0 && orc == 0) {
		a->sub = SUB_ACTIVE;
		a->resuming = true;
		a->resumed = true;
		a->resume_index = ck.ncmds;
		a->resume_digest = ck.digest;
		*resumed = true;
		return 0;
	} else if (rc == 0 && orc == -1)
		return -1;
	else if (rc == 0)
		snprintf(why, sizeof(why), "no staging subvolume");
	log_warnx("%s: discarding partial %s (%s); starting over", a->name,
	    a->staging, why);
	apply_drop_partial(a);
	return 0;
}

int
apply_subvol_begin(struct apply *a, const struct stream_cmd *c)
{
	struct stat st;
	bool already, resumed = false;

	if (subvol_identity(a, c) == -1)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &a->s_start);
	a->ck_time = a->s_start;
	a->s_ncmds = a->s_bytes = a->s_data = 0;
	if (subvol_already(a, &already) == -1)
		return -1;
	if (already) {
		apply_ckpt_drop_all(a);         /* left by a crash at the end */
		log_info("%s: already received, skipping its commands", a->name);
		a->sub = SUB_SKIP;
		return 0;
	}
	if (apply_progress_open(a) == -1)
		return -1;
	if ((fstatat(a->dirfd, a->staging, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    fstatat(a->dirfd, a->statefile, &st, AT_SYMLINK_NOFOLLOW) == 0) &&
	    staging_resume(a, &resumed) == -1)
		return -1;
	if (resumed)
		return 0;
	if (staging_create(a) == -1) {
		if (a->sub == SUB_ACTIVE)
			apply_drop_partial(a);
		else
			apply_progress_close(a, true);
		return -1;
	}
	return 0;
}

static void
apply_summarize(struct apply *a, bool already)
{
	struct apply_summary s;
	struct timespec now;

	if (a->cb == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	memset(&s, 0, sizeof(s));
	s.name = a->name;
	s.ncmds = a->s_ncmds;
	s.bytes = a->s_bytes;
	s.seconds = (double)(now.tv_sec - a->s_start.tv_sec) +
	    (double)(now.tv_nsec - a->s_start.tv_nsec) / 1e9;
	s.resumed = a->resumed;
	s.already = already;
	a->cb(&s, a->cbarg);
}

/*
 * The received uuid, and rtransid: the transid a parent or clone source
 * must not have changed after (snap_unchanged_since).  It commits.
 */
static int
subvol_set_received(struct apply *a, const char *name)
{
	struct btrfs_ioctl_received_subvol_args rs;

	memset(&rs, 0, sizeof(rs));
	memcpy(rs.uuid, a->id.uuid, 16);
	rs.stransid = a->id.ctransid;
	if (ioctl(a->subfd, BTRFS_IOC_SET_RECEIVED_SUBVOL, &rs) == -1)
		return apply_fail(a, errno, "set received uuid on %s", name);
	return 0;
}

static int
subvol_seal(struct apply *a)
{
	if (apply_flush(a) == -1 || apply_set_deferred_flags(a) == -1)
		return -1;
	apply_close_caches(a);
	/* resume after a crash from here on only renames */
	if (apply_write_checkpoint(a, true, false) == -1)
		return -1;
	if (a->o.plain_dir)
		return 0;
	if (subvol_set_received(a, a->staging) == -1)
		return -1;
	/* a root that blocks its own rename gets its flags after it */
	if ((a->root_flags & FS_BLOCKING_FL) != 0)
		return 0;
	return subvol_read_only(a, a->staging);
}

int
apply_subvol_end(struct apply *a)
{
	if (a->sub == SUB_SKIP) {
		apply_summarize(a, true);
		a->nfinished++;
		apply_clear_subvol(a);
		return 0;
	}
	if (!a->sealed && subvol_seal(a) == -1)
		return -1;
	if (a->o.plain_dir) {
		if (apply_plain_finish(a) == -1)
			return -1;
	} else if (renameat2(a->dirfd, a->staging, a->dirfd, a->name,
	    RENAME_NOREPLACE) == -1)
		return apply_fail(a, errno, "rename %s to %s", a->staging,
		    a->name);
	/* the root's flags raise ctransid: received again after them */
	if (!a->sealed && !a->o.plain_dir &&
	    (a->root_flags & FS_BLOCKING_FL) != 0 &&
	    (apply_set_root_flags(a) == -1 ||
	    subvol_set_received(a, a->name) == -1 ||
	    subvol_read_only(a, a->name) == -1))
		return -1;
	if (unlinkat(a->dirfd, a->statefile, 0) == -1 && errno != ENOENT)
		log_warn("remove %s", a->statefile);
	apply_ckpt_drop_all(a);
	apply_progress_close(a, true);
	apply_defer_remove(a);
	apply_summarize(a, false);
	a->nfinished++;
	apply_clear_subvol(a);
	return 0;
}

static void
ckpt_fill(struct apply *a, struct checkpoint *ck, bool include_cur)
{
	memset(ck, 0, sizeof(*ck));
	ck->id = a->id;
	ck->ncmds = a->next_index;
	ck->offset = a->pos;
	ck->digest = a->digest;
	ck->data_bytes = a->s_data;
	ck->flags_bytes = a->defer_len;
	snprintf(ck->staging, sizeof(ck->staging), "%s", a->staging);
	if (a->pinned) {
		/* the root's held attributes are sent again on resume */
		ck->ncmds = a->pin_index;
		ck->offset = a->pin_pos;
		ck->digest = a->pin_digest;
		return;
	}
	if (include_cur && a->cur != NULL && a->cur->offset == a->pos) {
		/* the current command is applied but not yet folded in */
		ck->ncmds = a->cur->index + 1;
		ck->offset = a->pos + STREAM_CMD_HEADER_LEN + a->cur->len;
		stream_digest_add(&ck->digest, a->cur->raw,
		    STREAM_CMD_HEADER_LEN);
	}
}

/* The last durable checkpoint (or the progress record) stands. */
static int
apply_ckpt_refuse(struct apply *a)
{
	a->errnum = 0;
	snprintf(a->err, sizeof(a->err), "no checkpoint of %s after a failed "
	    "write: the last durable one stands", a->staging);
	return -1;
}

int
apply_write_checkpoint(struct apply *a, bool sync, bool include_cur)
{
	struct checkpoint ck;
	char snap[NAME_MAX + 1];
	int slot = -1;

	a->ck_pending = false;
	if (a->lost)
		return apply_ckpt_refuse(a);
	if (apply_sync_wait(a) == -1)
		return apply_fail(a, errno, "background checkpoint %s",
		    a->statefile);
	if (apply_flush(a) == -1)
		return -1;
	if (sync && syncfs(a->subfd) == -1)
		return apply_fail(a, errno, "syncfs");
	if (apply_ckpt_enabled(a) && apply_ckpt_take(a, snap, &slot) == -1)
		return -1;
	ckpt_fill(a, &ck, include_cur);
	if (slot != -1)
		snprintf(ck.staging, sizeof(ck.staging), "%s", snap);
	if (checkpoint_write(a->dirfd, a->statefile, &ck) == -1)
		return apply_fail(a, errno, "write checkpoint %s",
		    a->statefile);
	if (slot != -1) {
		apply_ckpt_drop(a, a->ck_snap);
		a->ck_snap = slot;
	}
	a->ck_pos = a->flush_pos = ck.offset;
	clock_gettime(CLOCK_MONOTONIC, &a->ck_time);
	return 0;
}

/*
 * Due by size or time: hand it to the background thread, once the one
 * running there is done (so the durable state lags by one at most).
 */
int
apply_checkpoint_async(struct apply *a)
{
	struct checkpoint ck;
	char snap[NAME_MAX + 1], old[NAME_MAX + 1];
	int slot = -1;

	a->ck_pending = false;
	if (apply_flush(a) == -1)
		return -1;
	if (a->lost)
		return apply_ckpt_refuse(a);
	if (apply_sync_idle(a) == -1)
		return apply_write_checkpoint(a, true, false);
	if (apply_sync_wait(a) == -1)
		return apply_fail(a, errno, "background checkpoint %s",
		    a->statefile);
	ckpt_fill(a, &ck, false);
	old[0] = '\0';
	if (apply_ckpt_enabled(a)) {
		if (apply_ckpt_take(a, snap, &slot) == -1)
			return -1;
		snprintf(ck.staging, sizeof(ck.staging), "%s", snap);
		if (a->ck_snap != -1)
			(void)apply_ckpt_name(a->name, a->ck_snap, old);
	}
	if (apply_sync_request(a, &ck, old) == -1)
		return -1;
	if (slot != -1)
		a->ck_snap = slot;
	a->ck_pos = a->flush_pos = ck.offset;
	clock_gettime(CLOCK_MONOTONIC, &a->ck_time);
	return 0;
}

int
apply_find_checkpoint(int dirfd, const char *name, struct checkpoint *c,
    char *err, size_t errlen)
{
	char staging[NAME_MAX + 1], statefile[NAME_MAX + 1];
	int rc;

	if (staging_names(name, staging, statefile) == -1) {
		snprintf(err, errlen, "name too long");
		return -1;
	}
	rc = checkpoint_read(dirfd, statefile, c, err, errlen);
	if (rc == 0)
		(void)apply_progress_refine(dirfd, name, c);
	if (rc == 0 && apply_defer_verify(dirfd, name, c, err, errlen) == -1)
		return -1;
	return rc;
}

/*
 * c came from apply_find_checkpoint: further than the state file only if
 * the progress record moved it.  The resume is exact only at the state
 * file's position, from its snapshot.
 */
static int
apply_resume_open(struct apply *a, const struct checkpoint *c)
{
	struct checkpoint st;
	char why[200];
	int rc;

	rc = checkpoint_read(a->dirfd, a->statefile, &st, why, sizeof(why));
	if (rc == 0 && ckpt_identity_equal(&st.id, &c->id) &&
	    st.ncmds == c->ncmds)
		rc = staging_reopen(a, &st, REOPEN_EXACT);
	else {
		st = *c;
		rc = staging_reopen(a, &st, REOPEN_REFINED);
	}
	if (rc == 1)
		return apply_fail(a, ENOENT, "open staging subvolume %s",
		    a->staging);
	return rc;
}

int
apply_resume(struct apply *a, const struct checkpoint *c)
{
	a->cur = NULL;
	if (a->sub != SUB_NONE)
		return apply_fail(a, 0, "resume while a subvolume is open");
	a->id = c->id;
	snprintf(a->name, sizeof(a->name), "%s", c->id.name);
	if (staging_names(a->name, a->staging, a->statefile) == -1)
		return apply_fail(a, 0, "name too long");
	if (apply_resume_open(a, c) == -1)
		return -1;
	a->version = c->id.version;
	a->digest = c->digest;
	a->pos = c->offset;
	a->next_index = c->ncmds;
	a->ck_pos = a->flush_pos = c->offset;
	a->sub = SUB_ACTIVE;
	if (apply_defer_resume(a, c->flags_bytes, c->ncmds) == -1)
		return -1;
	a->resumed = true;
	clock_gettime(CLOCK_MONOTONIC, &a->s_start);
	a->ck_time = a->s_start;
	return 0;
}

