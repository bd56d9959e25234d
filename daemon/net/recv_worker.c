/*
 * Receive worker (see recv_worker.h).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "proto/base/log.h"
#include "proto/base/testing.h"
#include "daemon/net/recv_check.h"
#include "daemon/net/recv_worker.h"
#include "daemon/net/recv_xfer.h"
#include "daemon/net/sandbox.h"
#include "daemon/net/serve.h"
#include "proto/msg/frame.h"
#include "daemon/net/tls.h"
#include "daemon/net/wireio.h"
#include "engine/apply.h"
#include "engine/apply_feed.h"
#include "engine/partial.h"
#include "engine/prune.h"
#include "engine/snapshot.h"
#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

struct recv {
	const struct recv_params *p;
	struct tls_conn tls;
	struct wireio w;
	int rootfd, areafd;             /* root, root/<client> */
	/* the open transfer: its job directory, and its receiving half */
	int jobfd;
	struct recv_xfer x;
};

/* Who PRUNE's deletions are reported for; the names it refused. */
struct recv_pruning {
	struct recv	*rv;
	const char	*job;
	char		 refused[PRUNE_VETO_N][512];
};

/* Open (making it if needed) directory name beneath dirfd, no symlinks. */
static int
recv_subdir(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0700) == -1 && errno != EEXIST)
		return -1;
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
}

/*
 * The area (job NULL) or a job directory could not be made or opened
 * (errno).  A full or over-quota filesystem is the same temporary
 * resource error as one met while applying: the sender retries.
 */
static void
recv_subdir_failed(struct recv *rv, const char *job)
{
	int e = errno;

	if (e == ENOSPC || e == EDQUOT)
		wireio_fail(&rv->w, WIRE_E_RESOURCE, "the backup host is out "
		    "of space on %s/%s%s%s (cannot make the %s directory: %s); "
		    "the transfer resumes once space is freed there",
		    rv->p->root, rv->tls.peer, job != NULL ? "/" : "",
		    job != NULL ? job : "", job != NULL ? "job" : "client's",
		    strerror(e));
	else if (job != NULL)
		wireio_fail(&rv->w, WIRE_E_APPLY, "cannot open job directory "
		    "%s/%s/%s: %s", rv->p->root, rv->tls.peer, job,
		    strerror(e));
	else
		wireio_fail(&rv->w, WIRE_E_INTERNAL, "receiver area %s/%s "
		    "unusable: %s", rv->p->root, rv->tls.peer, strerror(e));
	if (job == NULL)        /* no transfer to log it at its end */
		log_warnx("%s: %s", rv->tls.peer, rv->w.err);
}

void
recv_partial_describe(const struct checkpoint *ck, struct wire_partial *p)
{
	uint32_t i;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", ck->id.name);
	memcpy(p->id.snap.uuid, ck->id.uuid, 16);
	p->id.snap.ctransid = ck->id.ctransid;
	if (ck->id.has_parent) {
		memcpy(p->id.parent.uuid, ck->id.parent_uuid, 16);
		p->id.parent.ctransid = ck->id.parent_ctransid;
	}
	p->id.version = ck->id.version;
	p->id.flags = (uint32_t)(ck->id.flags & WIRE_BEGIN_FLAGS_KNOWN);
	p->id.nclones = ck->id.nclones > CKPT_MAX_CLONES ? 0 : ck->id.nclones;
	p->id.clones = xcalloc(p->id.nclones + 1, sizeof(*p->id.clones));
	for (i = 0; i < p->id.nclones; i++)
		memcpy(p->id.clones[i].uuid, ck->id.clone_uuids[i], 16);
	p->point.index = ck->ncmds;
	p->point.offset = ck->offset;
	p->point.digest = ck->digest;
}

/* Partials of the job: those with a state file (their checkpoint). */
static void
recv_list_partials(struct recv *rv, int jobfd, struct wire_list_reply *l)
{
	struct checkpoint ck;
	struct dirent *de;
	char name[NAME_MAX + 1], err[256];
	DIR *d;
	int fd;

	l->partials = xcalloc(WIRE_PARTIALS_MAX, sizeof(*l->partials));
	if ((fd = dup(jobfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL && l->npartials < WIRE_PARTIALS_MAX) {
		if (partial_owner(de->d_name, name) != PARTIAL_STATE ||
		    !wire_name_valid(name))
			continue;
		if (apply_find_checkpoint(jobfd, name, &ck, err,
		    sizeof(err)) != 0) {
			log_warnx("%s: list: partial %s: %s", rv->tls.peer, name,
			    err);
			continue;
		}
		recv_partial_describe(&ck, &l->partials[l->npartials++]);
	}
	closedir(d);
}

/*
 * Whether a complete snapshot may be offered as a base: one changed
 * after it was received no longer holds what its received uuid names,
 * and BEGIN would refuse it as a parent or clone source (not-found,
 * recv_check_sources), every run.  Withheld, the sender sends from an
 * older base or in full; a resend of it is answered complete (recv_held).
 */
static int
recv_list_offers(struct recv *rv, const char *job, const struct snap_info *s)
{
	if (snap_unchanged_since(s->read_only, s->ctransid, s->rtransid))
		return 1;
	log_warnx("%s: list %s: not offering %s/%s/%s/%s as a base: it was "
	    "changed after it was received (ctransid %" PRIu64 ", received at "
	    "transid %" PRIu64 "), so it no longer holds what its sender's "
	    "snapshot holds; the sender sends from an older base or in full",
	    rv->tls.peer, job, rv->p->root, rv->tls.peer, job, s->name,
	    s->ctransid, s->rtransid);
	return 0;
}

static int
recv_list(struct recv *rv, const char *job)
{
	struct wire_msg m;
	struct snap_info *snaps = NULL;
	char path[64], err[256];
	size_t n = 0, i;
	int rc, jobfd;
	static const uint8_t zero[16];

	memset(&m, 0, sizeof(m));
	m.type = WIRE_LIST_REPLY;
	jobfd = openat(rv->areafd, job, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", jobfd);
	if (jobfd != -1 && snapshot_list(path, job, &snaps, &n, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: list %s: %s", rv->tls.peer, job, err);
		n = 0;
	}
	m.u.list.snaps = xcalloc(n ? n : 1, sizeof(*m.u.list.snaps));
	for (i = 0; i < n; i++) {
		if (!snaps[i].read_only ||
		    memcmp(snaps[i].received_uuid, zero, 16) == 0 ||
		    !wire_name_valid(snaps[i].name) ||
		    !recv_list_offers(rv, job, &snaps[i]))
			continue;
		struct wire_snapshot *s = &m.u.list.snaps[m.u.list.nsnaps++];
		snprintf(s->name, sizeof(s->name), "%s", snaps[i].name);
		memcpy(s->received.uuid, snaps[i].received_uuid, 16);
		s->received.ctransid = snaps[i].stransid;
	}
	if (jobfd != -1)
		recv_list_partials(rv, jobfd, &m.u.list);
	log_info("%s: list %s: %u snapshot%s, %u partial%s", rv->tls.peer,
	    job, m.u.list.nsnaps, m.u.list.nsnaps == 1 ? "" : "s",
	    m.u.list.npartials, m.u.list.npartials == 1 ? "" : "s");
	rc = wireio_send(&rv->w, &m);
	for (i = 0; i < m.u.list.npartials; i++)
		free(m.u.list.partials[i].id.clones);
	free(m.u.list.partials);
	free(m.u.list.snaps);
	free(snaps);
	if (jobfd != -1)
		close(jobfd);
	return rc;
}

/* PRUNE's report of each deletion; a failure leaves the snapshot kept. */
static int
recv_pruned(const char *name, const char *err, void *arg)
{
	const struct recv_pruning *rp = arg;

	if (err != NULL)
		log_warnx("%s: prune %s: %s", rp->rv->tls.peer, rp->job, err);
	else
		log_info("%s: pruned %s/%s by keep-target", rp->rv->tls.peer,
		    rp->job, name);
	return 0;
}

/* A snapshot the backup host's rules kept: its name for the log line. */
static void
recv_vetoed(const char *name, enum prune_veto why, void *arg)
{
	struct recv_pruning *rp = arg;
	char *l = rp->refused[why];
	size_t len = strlen(l), sz = sizeof(rp->refused[why]);

	if (len + 4 >= sz)		/* already cut short */
		return;
	if (len + strlen(name) + 2 + 4 >= sz)
		snprintf(l + len, sz - len, "%s...", len ? ", " : "");
	else
		snprintf(l + len, sz - len, "%s%s", len ? ", " : "", name);
}

/*
 * The log line of what the backup host kept: "kept 3 that the client
 * asked to delete (protect 30d: a, b; keep-min 5: c)".
 */
static void
recv_log_refused(const struct recv_pruning *rp,
    const struct prune_authority *a, const struct prune_result *res)
{
	char d[32], line[2048];
	uint32_t total = 0;
	int i, w = 0;

	for (i = 1; i < PRUNE_VETO_N; i++)
		total += res->refused[i];
	if (total == 0)
		return;
	line[0] = '\0';
	for (i = 1; i < PRUNE_VETO_N && w >= 0 && (size_t)w < sizeof(line);
	    i++) {
		if (res->refused[i] == 0)
			continue;
		if (i == PRUNE_VETO_APPEND_ONLY)
			snprintf(d, sizeof(d), "append-only");
		else if (i == PRUNE_VETO_PROTECT) {
			memcpy(d, "protect ", 8);
			prune_fmt_duration(a->protect, d + 8, sizeof(d) - 8);
		} else
			snprintf(d, sizeof(d), "keep-min %u", a->keep_min);
		w += snprintf(line + w, sizeof(line) - (size_t)w, "%s%s: %s",
		    w ? "; " : "", d, rp->refused[i]);
	}
	log_info("%s: prune %s: kept %u that the client asked to delete (%s)",
	    rp->rv->tls.peer, rp->job, total, line);
}

/*
 * PRUNE: keep-target retention over the job's complete snapshots in the
 * client's own area, root/<client>/<job>/ (prune_run: partials are never
 * candidates, the newest complete snapshot is pinned).  The directory is
 * reached through an fd opened without following symlinks, so nothing
 * outside the area can be named.  The backup host's rules (recv_params
 * authority) then veto deletions; what they kept is answered in
 * PRUNE-REPLY, not an error: the client's run is still a success.
 */
static int
recv_prune(struct recv *rv, const struct wire_prune *pr)
{
	struct recv_pruning rp;
	struct prune_req rq;
	struct prune_result res;
	struct wire_msg m;
	char path[64], err[256];
	int jobfd, rc;

	memset(&rp, 0, sizeof(rp));
	rp.rv = rv;
	rp.job = pr->job;
	memset(&res, 0, sizeof(res));
	if ((jobfd = openat(rv->areafd, pr->job, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno != ENOENT) {
			log_warn("%s: prune %s", rv->tls.peer, pr->job);
			wireio_fail(&rv->w, WIRE_E_INTERNAL, "prune %s: %s",
			    pr->job, strerror(errno));
			return -1;
		}
		goto reply;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", jobfd);
	memset(&rq, 0, sizeof(rq));
	rq.dir = path;
	rq.job = pr->job;
	rq.policy = &pr->keep;
	rq.now = time(NULL);
	rq.received = true;
	rq.deleted = recv_pruned;
	rq.arg = &rp;
	rq.authority = &rv->p->authority;
	rq.vetoed = recv_vetoed;
	rc = prune_run(&rq, &res, err, sizeof(err));
	close(jobfd);
	recv_log_refused(&rp, &rv->p->authority, &res);
	if (rc == -1) {
		log_warnx("%s: prune %s: %s", rv->tls.peer, pr->job, err);
		wireio_fail(&rv->w, WIRE_E_INTERNAL, "prune %s: %s", pr->job,
		    err);
		return -1;
	}
reply:
	memset(&m, 0, sizeof(m));
	m.type = WIRE_PRUNE_REPLY;
	m.u.prune_reply.deleted = res.deleted;
	m.u.prune_reply.kept = res.kept;
	m.u.prune_reply.refused = res.refused[PRUNE_VETO_APPEND_ONLY] +
	    res.refused[PRUNE_VETO_PROTECT] + res.refused[PRUNE_VETO_KEEP_MIN];
	prune_refusal_text(&rv->p->authority, &res, m.u.prune_reply.reason,
	    sizeof(m.u.prune_reply.reason));
	return wireio_send(&rv->w, &m);
}

/* Whether a subvolume beneath dirfd may stand for uuid: 1, 0, or -1. */
static int
recv_source_under(int dirfd, const uint8_t (*uuid)[16], uint64_t ctransid)
{
	struct apply *a;
	size_t missing;
	char why[400];
	int r;

	if ((a = apply_new(dirfd, NULL)) == NULL)
		return -1;
	r = apply_holds_subvols(a, uuid, &ctransid, 1, &missing, why,
	    sizeof(why));
	apply_free(a);
	return r;
}

/*
 * The parent and every clone source must be found in root/<client>/<job>/
 * by received uuid (or uuid), docs/protocol.md §5, by the rule apply
 * uses (apply_holds_subvols, docs/architecture.md).  Checked at BEGIN, so
 * that a stream relative to another client's snapshot is refused as
 * such (denied), one relative to a snapshot not held as not-found, both
 * before a byte is applied; apply_find_subvol checks again at apply time.
 */
static int
recv_check_sources(struct recv_xfer *x, void *arg)
{
	static const uint8_t zero[16];
	struct recv *rv = arg;
	const struct wire_stream_id *id = &x->begin.id;
	bool has_parent = memcmp(id->parent.uuid, zero, 16) != 0;
	uint8_t (*u)[16];
	uint64_t *t;
	const uint8_t (*m)[16];
	size_t n = 0, i, miss = 0;
	const char *what;
	char us[37], why[400];
	int r, rc = -1;

	u = xcalloc(id->nclones + 1, 16);
	t = xcalloc(id->nclones + 1, sizeof(*t));
	if (has_parent) {
		t[n] = id->parent.ctransid;
		memcpy(u[n++], id->parent.uuid, 16);
	}
	for (i = 0; i < id->nclones; i++) {
		t[n] = id->clones[i].ctransid;
		memcpy(u[n++], id->clones[i].uuid, 16);
	}
	if ((r = apply_holds_subvols(x->a, (const uint8_t (*)[16])u, t, n,
	    &miss, why, sizeof(why))) == 1) {
		rc = 0;
		goto done;
	}
	if (r == -1) {
		wireio_fail(&rv->w, WIRE_E_INTERNAL, "begin %s/%s: %s",
		    x->begin.job, x->begin.name, apply_error(x->a));
		goto done;
	}
	what = has_parent && miss == 0 ? "parent" : "clone source";
	m = (const uint8_t (*)[16])&u[miss];
	uuid_unparse_lower(*m, us);
	if (recv_source_under(rv->rootfd, m, t[miss]) == 1 &&
	    recv_source_under(rv->areafd, m, t[miss]) == 0)
		wireio_fail(&rv->w, WIRE_E_DENIED, "begin %s/%s: the %s %s "
		    "lies in another client's area; a client sends only "
		    "relative to its own snapshots (send in full, or relative "
		    "to one this client sent)", x->begin.job, x->begin.name, what,
		    us);
	else
		wireio_fail(&rv->w, WIRE_E_NOTFOUND, "begin %s/%s: the %s %s "
		    "is not held in this client's %s/ (%s); send it first, or "
		    "send in full", x->begin.job, x->begin.name, what, us,
		    x->begin.job, why);
done:
	free(t);
	free(u);
	return rc;
}

static void
recv_end_transfer(struct recv *rv)
{
	recv_xfer_reset(&rv->x);
	if (rv->jobfd != -1)
		close(rv->jobfd);
	rv->jobfd = rv->x.dirfd = -1;
}

/*
 * BEGIN: the snapshot lands in root/<client>/<job>/.  One held complete
 * there is answered complete (nothing to send); anything else under its
 * name is refused; else the shared receiving half takes over.
 */
static int
recv_begin(struct recv *rv, struct wire_msg *req)
{
	struct recv_xfer *x = &rv->x;
	struct wire_msg m;

	x->begin = req->u.begin;
	req->u.begin.id.clones = NULL;  /* now ours */
	if ((rv->jobfd = recv_subdir(rv->areafd, x->begin.job)) == -1) {
		recv_subdir_failed(rv, x->begin.job);
		return -1;
	}
	x->dirfd = rv->jobfd;
	snprintf(x->where, sizeof(x->where), "%s/%s/%s", rv->p->root,
	    rv->tls.peer, x->begin.job);
	switch (recv_xfer_held(x)) {
	case -1:
		return -1;
	case 1:
		memset(&m, 0, sizeof(m));
		m.type = WIRE_BEGIN_REPLY;
		m.u.begin_reply.status = WIRE_BEGIN_COMPLETE;
		log_info("%s: %s/%s is already held complete; nothing to "
		    "receive", rv->tls.peer, x->begin.job, x->begin.name);
		recv_end_transfer(rv);
		return wireio_send(&rv->w, &m);
	}
	return recv_xfer_begin(x);
}

/*
 * Discard one stale partial, unless a worker holds its lock (the apply
 * engine's progress file): then it is being written and is not ours.
 * The lock is taken, creating the file if need be, and held across the
 * discard, so a worker that starts on this name meanwhile waits for it
 * (recv_wait_partial) or is refused (apply_progress_open), never finds
 * half a partial.
 */
static void
recv_discard_stale(struct recv *rv, struct apply *a, const char *name)
{
	char lock[NAME_MAX + 1];
	int fd;

	if (partial_name(name, PARTIAL_PROGRESS, lock) == -1)
		return;
	fd = openat(rv->jobfd, lock, O_RDONLY | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("%s: stale partial %s/%s: lock %s", rv->tls.peer,
		    rv->x.begin.job, name, lock);
		return;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		log_info("%s: stale partial %s/%s kept: another transfer is "
		    "writing it", rv->tls.peer, rv->x.begin.job, name);
		close(fd);
		return;
	}
	log_warnx("%s: DISCARDING stale partial %s/%s (staging subvolume, "
	    "checkpoint snapshots, state): %s was just received complete and "
	    "is newer, so no job run will send %s again", rv->tls.peer,
	    rv->x.begin.job, name, rv->x.begin.name, name);
	if (apply_discard_partial(a, name) == -1)
		log_warnx("%s: discard stale partial %s/%s: %s", rv->tls.peer,
		    rv->x.begin.job, name, apply_error(a));
	close(fd);
}

/*
 * A job run sends only snapshots newer than the newest one the target
 * holds (snap_plan), so once begin.name is complete, a partial of an
 * older snapshot of the same job will never be resumed: discard it.
 * Only names of this job (<job>.<UTC time>[.seq]) older than the one
 * received are candidates, only in this client's job directory; any
 * other entry is left alone.  Failures are logged, never fatal.
 */
static void
recv_sweep_stale(struct recv *rv)
{
	struct apply_opts o;
	struct apply *a = NULL;
	char (*names)[NAME_MAX + 1] = NULL;
	size_t n = 0, i;

	if (partial_list_stale(rv->jobfd, rv->x.begin.job, rv->x.begin.name,
	    &names, &n) == -1) {
		log_warn("%s: stale partials of %s", rv->tls.peer, rv->x.begin.job);
		return;
	}
	if (n == 0)
		goto done;
	memset(&o, 0, sizeof(o));
	o.quiet = true;
	if ((a = apply_new(rv->jobfd, &o)) == NULL) {
		log_warn("%s: stale partials of %s", rv->tls.peer, rv->x.begin.job);
		goto done;
	}
	for (i = 0; i < n; i++)
		recv_discard_stale(rv, a, names[i]);
	apply_free(a);
done:
	free(names);
}

static int
recv_end(struct recv *rv, const struct wire_point *pt)
{
	char path[sizeof(((struct wire_done *)0)->path)];

	if (recv_xfer_end(&rv->x, pt) == -1)
		return -1;
	recv_sweep_stale(rv);
	snprintf(path, sizeof(path), "%s/%s/%s", rv->tls.peer,
	    rv->x.begin.job, rv->x.begin.name);
	log_info("%s: received %s (%" PRIu64 " commands, %" PRIu64 " bytes)",
	    rv->tls.peer, path, pt->index, pt->offset);
	if (recv_xfer_done(&rv->x, pt, path) == -1)
		return -1;
	recv_end_transfer(rv);
	return 0;
}

static int
recv_serve(struct recv *rv)
{
	struct wire_hello peer;
	struct wire_msg m;
	struct serve_ctx sc;
	int rc;

	if (wireio_hello(&rv->w, WIRE_CAP_ZSTD | WIRE_CAP_COMPRESSED_DATA,
	    STREAM_VERSION_MAX, &peer) == -1)
		return -1;
	/* Reads of the client's own area (serve.h). */
	sc = (struct serve_ctx){ &rv->w, rv->areafd, rv->tls.peer, rv->p->root,
	    peer.caps, peer.stream_version_max };
	if (wireio_keepalive_start(&rv->w, rv->p->timeout_ms / 3) == -1)
		log_warn("%s: keepalive thread", rv->tls.peer);
	/* Receive and decrypt beside the apply. */
	else if (tls_reader_start(&rv->tls) == -1)
		log_warn("%s: read-ahead thread", rv->tls.peer);
	for (;;) {
		if (wireio_recv(&rv->w, &m) == -1) {
			if (!rv->w.fsm.xfer && rv->w.cls == ERR_CLOSED &&
			    !recv_xfer_open(&rv->x))
				return 0;       /* a clean goodbye */
			return -1;
		}
		switch (m.type) {
		case WIRE_LIST:
			rc = recv_list(rv, m.u.job);
			break;
		case WIRE_PRUNE:
			rc = recv_prune(rv, &m.u.prune);
			break;
		case WIRE_BEGIN:
			rc = recv_begin(rv, &m);
			break;
		case WIRE_DATA:
			rc = recv_xfer_data(&rv->x, &m.u.data);
			break;
		case WIRE_END:
			rc = recv_end(rv, &m.u.point);
			break;
		case WIRE_CATALOG:
			rc = serve_catalog(&sc, m.u.catalog_job);
			break;
		case WIRE_LS:
			rc = serve_ls(&sc, &m.u.ls);
			break;
		case WIRE_RESTORE:
			rc = serve_restore(&sc, &m.u.restore);
			break;
		default:
			wireio_fail(&rv->w, WIRE_E_PROTOCOL, "%s is not "
			    "supported by this receiver", wire_type_name(m.type));
			rc = -1;
		}
		wire_msg_free(&m);
		if (rc == -1)
			return -1;
	}
}

/*
 * Once the client is known and its area open, before a byte of it is
 * parsed: the worker keeps only the capabilities applying needs, full
 * access beneath root/<client>/ and the engine's progress directory, and
 * the system calls applying makes (daemon/net/sandbox.h).  A barrier that
 * cannot be put up refuses the transfer.
 */
static int
recv_confine(struct recv *rv)
{
	/* boot_id: partials; send_stream_version: a restore's stream */
	static const char *const ro[] = { "/proc/sys/kernel/random/boot_id",
	    "/sys/fs/btrfs/features/send_stream_version" };
	struct sandbox sb;
	char err[256];
	int dirs[2], r;

	memset(&sb, 0, sizeof(sb));
	sb.role = SANDBOX_RECEIVE;
	dirs[0] = rv->areafd;
	dirs[1] = apply_progress_dir_fd();
	sb.rw_dirs = dirs;
	sb.nrw_dirs = dirs[1] == -1 ? 1 : 2;
	sb.ro_files = ro;
	sb.nro_files = sizeof(ro) / sizeof(ro[0]);
	sb.landlock = sb.seccomp = true;
	r = sandbox_apply(&sb, err, sizeof(err));
	if (dirs[1] != -1)
		close(dirs[1]);
	if (r == -1) {
		log_warnx("%s: cannot sandbox the receive worker: %s; "
		    "transfer refused", rv->tls.peer, err);
		wireio_fail(&rv->w, WIRE_E_INTERNAL, "receiver sandbox failed");
		return -1;
	}
	if (TEST_HOOKS)
		sandbox_test_probe();
	return 0;
}

int
recv_worker_run(struct tls_conn *t, const struct recv_params *p)
{
	struct recv rv;
	int fd = t->fd, rc = 1;

	memset(&rv, 0, sizeof(rv));
	rv.p = p;
	rv.rootfd = rv.areafd = rv.jobfd = -1;
	rv.tls = *t;            /* authenticated by the parent; ours now */
	t->ssl = NULL;
	wireio_init(&rv.w, &rv.tls, WIRE_SERVER);
	if (recv_xfer_init(&rv.x, &rv.w, rv.tls.peer, "the backup host") ==
	    -1) {
		log_warn("%s: receiver", rv.tls.peer);
		goto done;
	}
	rv.x.ckpt_bytes = p->ckpt_bytes;
	rv.x.held_hint = "rename or delete it on the backup host";
	rv.x.sources = recv_check_sources;
	rv.x.sources_arg = &rv;
	if ((rv.rootfd = open(p->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (rv.areafd = recv_subdir(rv.rootfd, rv.tls.peer)) == -1) {
		recv_subdir_failed(&rv, NULL);
		goto done;
	}
	if (recv_confine(&rv) == -1)
		goto done;
	if (recv_serve(&rv) == 0)
		rc = 0;
	else if (wireio_timed_out(&rv.w))
		log_warnx("%s: timeout: %s; dropping the connection",
		    rv.tls.peer, rv.w.err);
	else
		log_warnx("%s: %s", rv.tls.peer, rv.w.err);
	recv_xfer_keep_partial(&rv.x);
done:
	recv_end_transfer(&rv);
	recv_xfer_free(&rv.x);
	if (rv.w.in != NULL)
		wireio_free(&rv.w);
	tls_close(&rv.tls);
	if (rv.areafd != -1)
		close(rv.areafd);
	if (rv.rootfd != -1)
		close(rv.rootfd);
	close(fd);
	return rc;
}
