#include <btrfsutil.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/btrfs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/send_plan.h"
#include "engine/snapshot.h"

#define PLAN_CHAIN_MAX 64       /* parent_uuid hops followed for relation */
#define PLAN_FS_TREE 5         /* the top-level subvolume */

/* What we know of one subvolume of the filesystem. */
struct plan_subvol {
	uint64_t id;
	uint8_t uuid[16];
	uint8_t parent_uuid[16];
	uint8_t received_uuid[16];
	uint64_t ctransid;
};

struct plan_ctx {
	const struct send_params *p;
	struct plan_subvol *all;        /* every subvolume of the filesystem */
	size_t nall;
	uint8_t fsid[16];
	uint64_t *clones;               /* growing clone source list */
	size_t nclones;
};

static const uint8_t plan_zero[16];

static void
send_vseterr(struct send_error *e, int errnum, bool named, const char *fmt,
    va_list ap)
{
	size_t n;

	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->errnum = errnum;
	/* No errno: a refusal of ours, which a retry would not change. */
	e->cls = errnum ? send_classify(errnum) : ERR_PERMANENT;
	n = strlen(e->msg);
	if (errnum != 0 && !named)
		snprintf(e->msg + n, sizeof(e->msg) - n, " (%s)", strerror(errnum));
}

void
send_seterr(struct send_error *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_vseterr(e, errnum, false, fmt, ap);
	va_end(ap);
}

void
send_seterr_named(struct send_error *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_vseterr(e, errnum, true, fmt, ap);
	va_end(ap);
}

static const struct plan_subvol *
plan_by_uuid(const struct plan_ctx *c, const uint8_t uuid[16])
{
	size_t i;

	if (memcmp(uuid, plan_zero, 16) == 0)
		return NULL;
	for (i = 0; i < c->nall; i++)
		if (memcmp(c->all[i].uuid, uuid, 16) == 0)
			return &c->all[i];
	return NULL;
}

static const struct plan_subvol *
plan_by_id(const struct plan_ctx *c, uint64_t id)
{
	size_t i;

	for (i = 0; i < c->nall; i++)
		if (c->all[i].id == id)
			return &c->all[i];
	return NULL;
}

static int
plan_fsid(const char *path, uint8_t fsid[16])
{
	struct btrfs_ioctl_fs_info_args fi;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	memset(&fi, 0, sizeof(fi));
	rc = ioctl(fd, BTRFS_IOC_FS_INFO, &fi);
	close(fd);
	if (rc == -1)
		return -1;
	memcpy(fsid, fi.fsid, 16);
	return 0;
}

/* Every subvolume of the filesystem holding path (needs CAP_SYS_ADMIN). */
static int
plan_load_all(struct plan_ctx *c, const char *path, struct send_error *e)
{
	struct btrfs_util_subvolume_iterator *it;
	struct btrfs_util_subvolume_info si;
	enum btrfs_util_error be;
	struct plan_subvol *v;
	size_t cap = 0;
	char *sub;

	be = btrfs_util_create_subvolume_iterator(path, PLAN_FS_TREE,
	    0, &it);
	if (be != BTRFS_UTIL_OK) {
		send_seterr(e, errno, "cannot list the subvolumes of %s: %s",
		    path, btrfs_util_strerror(be));
		return -1;
	}
	for (;;) {
		be = btrfs_util_subvolume_iterator_next_info(it, &sub, &si);
		if (be == BTRFS_UTIL_ERROR_STOP_ITERATION)
			break;
		if (be != BTRFS_UTIL_OK) {
			send_seterr(e, errno, "listing the subvolumes of %s: %s",
			    path, btrfs_util_strerror(be));
			btrfs_util_destroy_subvolume_iterator(it);
			return -1;
		}
		free(sub);
		if (c->nall == cap) {
			cap = cap ? 2 * cap : 64;
			c->all = xrealloc(c->all, cap * sizeof(*c->all));
		}
		v = &c->all[c->nall++];
		v->id = si.id;
		memcpy(v->uuid, si.uuid, 16);
		memcpy(v->parent_uuid, si.parent_uuid, 16);
		memcpy(v->received_uuid, si.received_uuid, 16);
		v->ctransid = si.ctransid;
	}
	btrfs_util_destroy_subvolume_iterator(it);
	return 0;
}

static int
plan_exists(const char *path, const char *role, struct send_error *e)
{
	if (access(path, F_OK) == 0)
		return 0;
	send_seterr(e, errno, "%s %s does not exist: check the path", role,
	    path);
	if (errno == ENOENT || errno == ENOTDIR)
		e->cls = ERR_PERMANENT;
	return -1;
}

static int
plan_resolve_first(struct plan_ctx *c, const char *path, struct send_error *e)
{
	if (plan_exists(path, "snapshot", e) == -1)
		return -1;
	if (btrfs_util_is_subvolume(path) != BTRFS_UTIL_OK ||
	    plan_fsid(path, c->fsid) == -1) {
		send_seterr(e, 0, "snapshot %s is not a btrfs subvolume: "
		    "give the path of a read-only snapshot", path);
		e->cls = ERR_PERMANENT;
		return -1;
	}
	return 0;
}

/*
 * A parent or clone source must still hold what the receiver's copy
 * holds (snap_unchanged_since): unchanged since it was received, or,
 * not received, since it was created.  The receiver checks the same of
 * its copy but cannot tell a stale origin from a round trip's parent.
 * A change shows in ctransid only once committed: commit first.
 */
static int
plan_unchanged_check(const char *path, const char *role,
    struct send_error *e)
{
	struct btrfs_util_subvolume_info si;
	enum btrfs_util_error be;
	bool received;

	if ((be = btrfs_util_sync(path)) == BTRFS_UTIL_OK)
		be = btrfs_util_subvolume_info(path, 0, &si);
	if (be != BTRFS_UTIL_OK) {
		send_seterr(e, errno, "%s %s: %s", role, path,
		    btrfs_util_strerror(be));
		return -1;
	}
	received = memcmp(si.received_uuid, plan_zero, 16) != 0;
	if (snap_unchanged_since(1 /* plan_resolve checked */, si.ctransid,
	    received ? si.rtransid : si.otransid))
		return 0;
	send_seterr(e, 0, "%s %s was changed after it was %s (ctransid %llu, "
	    "%s at transid %llu): a receiver's copy of it may hold other "
	    "content; send in full or from a snapshot never changed", role,
	    path, received ? "received" : "created",
	    (unsigned long long)si.ctransid, received ? "received" : "created",
	    (unsigned long long)(received ? si.rtransid : si.otransid));
	e->cls = ERR_PERMANENT;
	return -1;
}

/*
 * A subvolume to send from: must be a subvolume, read-only and on the
 * same filesystem as the first snapshot.  role names it in messages.
 */
static int
plan_resolve(struct plan_ctx *c, const char *path, const char *role,
    uint64_t *id, struct send_error *e)
{
	enum btrfs_util_error be;
	uint8_t fsid[16];
	bool ro;

	if (plan_exists(path, role, e) == -1)
		return -1;
	be = btrfs_util_is_subvolume(path);
	if (be == BTRFS_UTIL_ERROR_NOT_SUBVOLUME ||
	    be == BTRFS_UTIL_ERROR_NOT_BTRFS) {
		send_seterr(e, ENOTDIR, "%s %s is not a btrfs subvolume: "
		    "give the path of a read-only snapshot", role, path);
		e->cls = ERR_PERMANENT;
		return -1;
	}
	if (be != BTRFS_UTIL_OK) {
		send_seterr(e, errno, "%s %s: %s", role, path,
		    btrfs_util_strerror(be));
		return -1;
	}
	be = btrfs_util_get_subvolume_read_only(path, &ro);
	if (be == BTRFS_UTIL_OK)
		be = btrfs_util_subvolume_id(path, id);
	if (be != BTRFS_UTIL_OK) {
		send_seterr(e, errno, "%s %s: %s", role, path,
		    btrfs_util_strerror(be));
		return -1;
	}
	if (!ro) {
		send_seterr(e, 0, "%s %s is not read-only: the kernel sends "
		    "only read-only snapshots; make one with 'btrfs subvolume "
		    "snapshot -r %s SNAPSHOT' and send that", role, path, path);
		e->cls = ERR_PERMANENT;
		return -1;
	}
	if (strcmp(role, "snapshot") != 0 && plan_unchanged_check(path, role,
	    e) == -1)
		return -1;
	if (plan_fsid(path, fsid) == -1) {
		send_seterr(e, errno, "%s %s: filesystem info", role, path);
		return -1;
	}
	if (memcmp(fsid, c->fsid, 16) != 0) {
		send_seterr(e, EXDEV, "%s %s is on another filesystem than %s: "
		    "all subvolumes of one send must be on the same filesystem",
		    role, path, c->p->snapshots[0]);
		e->cls = ERR_PERMANENT;
		return -1;
	}
	return 0;
}

/* Uuids of s and its ancestors (parent_uuid chain, dangling end included). */
static size_t
plan_ancestry(const struct plan_ctx *c, const struct plan_subvol *s,
    uint8_t out[PLAN_CHAIN_MAX][16])
{
	size_t n = 0;

	memcpy(out[n++], s->uuid, 16);
	while (n < PLAN_CHAIN_MAX && memcmp(s->parent_uuid, plan_zero, 16) != 0) {
		memcpy(out[n++], s->parent_uuid, 16);
		if ((s = plan_by_uuid(c, s->parent_uuid)) == NULL)
			break;
	}
	return n;
}

/* Related: one descends from the other, or both from a common subvolume. */
static int
plan_related(const struct plan_ctx *c, uint64_t a, uint64_t b)
{
	uint8_t ca[PLAN_CHAIN_MAX][16], cb[PLAN_CHAIN_MAX][16];
	const struct plan_subvol *sa = plan_by_id(c, a), *sb = plan_by_id(c, b);
	size_t na, nb, i, j;

	if (sa == NULL || sb == NULL)
		return 1;       /* cannot tell; let the kernel decide */
	na = plan_ancestry(c, sa, ca);
	nb = plan_ancestry(c, sb, cb);
	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (memcmp(ca[i], cb[j], 16) == 0)
				return 1;
	return 0;
}

/*
 * -c without -p (`btrfs send` find_good_parent): the snapshot's origin if
 * it is a clone source; else the clone source that is a snapshot of the
 * same origin with ctransid closest to the origin's (first one on a tie).
 */
static int
plan_good_parent(const struct plan_ctx *c, uint64_t root, uint64_t *found)
{
	const struct plan_subvol *s, *origin, *cs, *best = NULL;
	uint64_t diff, best_diff = UINT64_MAX;
	size_t i;

	if ((s = plan_by_id(c, root)) == NULL ||
	    (origin = plan_by_uuid(c, s->parent_uuid)) == NULL)
		return -1;
	for (i = 0; i < c->nclones; i++)
		if (c->clones[i] == origin->id) {
			*found = origin->id;
			return 0;
		}
	for (i = 0; i < c->nclones; i++) {
		if ((cs = plan_by_id(c, c->clones[i])) == NULL ||
		    memcmp(cs->parent_uuid, origin->uuid, 16) != 0)
			continue;
		diff = cs->ctransid > origin->ctransid ?
		    cs->ctransid - origin->ctransid : origin->ctransid - cs->ctransid;
		if (diff < best_diff) {
			best = cs;
			best_diff = diff;
		}
	}
	if (best == NULL)
		return -1;
	*found = best->id;
	return 0;
}

/* The uuid a stream carries for root id: its received uuid if it has one. */
static void
plan_stream_uuid(const struct plan_ctx *c, uint64_t id, uint8_t out[16])
{
	const struct plan_subvol *v = plan_by_id(c, id);

	memset(out, 0, 16);
	if (v == NULL)
		return;
	memcpy(out, memcmp(v->received_uuid, plan_zero, 16) != 0 ?
	    v->received_uuid : v->uuid, 16);
}

static void
plan_describe(const struct plan_ctx *c, struct send_plan_item *it)
{
	size_t i;

	plan_stream_uuid(c, it->root, it->uuid);
	if (it->parent_root != 0)
		plan_stream_uuid(c, it->parent_root, it->parent_uuid);
	if (it->nclones > 0)
		it->clone_uuids = xcalloc(it->nclones, 16);
	for (i = 0; i < it->nclones; i++)
		plan_stream_uuid(c, it->clones[i], it->clone_uuids[i]);
}

static void
plan_add_clone(struct plan_ctx *c, uint64_t id)
{
	c->clones = xrealloc(c->clones, (c->nclones + 1) * sizeof(*c->clones));
	c->clones[c->nclones++] = id;
}

static int
plan_flags(const struct send_params *p, struct send_plan *plan,
    struct send_error *e)
{
	uint32_t have = send_kernel_proto();

	plan->flags = 0;
	if (p->no_data)
		plan->flags |= SEND_FLAG_NO_FILE_DATA;
	if (p->compressed_data) {
		if (p->proto == 1 || (p->proto == SEND_PROTO_AUTO && have < 2)) {
			send_seterr(e, EINVAL, "--compressed-data needs protocol "
			    "2 or later (%s)", p->proto == 1 ? "--proto 1 given" :
			    "the kernel offers only 1");
			e->cls = ERR_PERMANENT;
			return -1;
		}
		plan->flags |= SEND_FLAG_COMPRESSED;
	}
	/* Like `btrfs send`: no VERSION flag on a v1-only kernel. */
	if (have > 1) {
		plan->flags |= SEND_FLAG_VERSION;
		plan->version = p->proto == SEND_PROTO_AUTO ? have : p->proto;
	} else if (p->proto > 1) {
		send_seterr(e, EPROTO, "protocol %u requested but the kernel "
		    "supports only 1: use --proto 1 or auto", p->proto);
		e->cls = ERR_PERMANENT;
		return -1;
	}
	return 0;
}

static int
plan_items(struct plan_ctx *c, struct send_plan *plan, struct send_error *e)
{
	const struct send_params *p = c->p;
	struct send_plan_item *it;
	uint64_t parent = 0, id;
	size_t i;
	int full = p->parent == NULL && p->nclones == 0;

	for (i = 0; i < p->nclones; i++) {
		if (plan_resolve(c, p->clones[i], "clone source", &id, e) == -1)
			return -1;
		plan_add_clone(c, id);
	}
	if (p->parent != NULL) {
		if (plan_resolve(c, p->parent, "parent", &parent, e) == -1)
			return -1;
		plan_add_clone(c, parent);
	}
	plan->items = xcalloc(p->nsnapshots, sizeof(*plan->items));
	for (i = 0; i < p->nsnapshots; i++) {
		it = &plan->items[plan->n++];
		it->path = xstrdup(p->snapshots[i]);
		if (plan_resolve(c, it->path, "snapshot", &it->root, e) == -1)
			return -1;
		if (p->parent != NULL && !plan_related(c, parent, it->root)) {
			send_seterr(e, 0, "parent %s is not related to %s (no "
			    "common origin): pick a parent that is an earlier "
			    "snapshot of the same subvolume, or send in full",
			    p->parent, it->path);
			e->cls = ERR_PERMANENT;
			return -1;
		}
		it->parent_root = parent;
		if (!full && p->parent == NULL &&
		    plan_good_parent(c, it->root, &it->parent_root) == -1) {
			send_seterr(e, ENOENT, "no parent for %s among the clone "
			    "sources (none is a snapshot of the same subvolume): "
			    "add one with -c or -p, or send in full", it->path);
			e->cls = ERR_PERMANENT;
			return -1;
		}
		it->nclones = c->nclones;
		if (c->nclones > 0) {
			it->clones = xcalloc(c->nclones, sizeof(*it->clones));
			memcpy(it->clones, c->clones, c->nclones * sizeof(*c->clones));
		}
		plan_describe(c, it);
		if (!full && p->parent == NULL)
			plan_add_clone(c, it->root);
	}
	return 0;
}

int
send_plan_make(const struct send_params *p, struct send_plan *plan,
    struct send_error *e)
{
	struct plan_ctx c;
	int rc = -1;

	memset(plan, 0, sizeof(*plan));
	memset(&c, 0, sizeof(c));
	memset(e, 0, sizeof(*e));
	c.p = p;
	if (p->nsnapshots == 0) {
		send_seterr(e, EINVAL, "nothing to send: no snapshot given");
		return -1;
	}
	if (plan_flags(p, plan, e) == -1)
		return -1;
	if (plan_resolve_first(&c, p->snapshots[0], e) == -1 ||
	    plan_load_all(&c, p->snapshots[0], e) == -1 ||
	    plan_items(&c, plan, e) == -1)
		goto fail;
	rc = 0;
fail:
	free(c.all);
	free(c.clones);
	if (rc == -1)
		send_plan_free(plan);
	return rc;
}

void
send_plan_free(struct send_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		free(plan->items[i].path);
		free(plan->items[i].clones);
		free(plan->items[i].clone_uuids);
	}
	free(plan->items);
	memset(plan, 0, sizeof(*plan));
}
