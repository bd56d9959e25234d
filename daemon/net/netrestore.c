/*
 * The client side of a restore (netrestore.h): attempts and their retries,
 * the catalog, the RESTORE request, BEGIN checked against what was asked,
 * then the receiving half shared with the receive worker (recv_xfer.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <btrfsutil.h>
#include <uuid/uuid.h>

#include "proto/base/log.h"
#include "daemon/net/netrestore.h"
#include "daemon/net/netsend_impl.h"
#include "daemon/net/recv_xfer.h"
#include "engine/partial.h"
#include "engine/snapshot.h"

struct restore {
	const struct netrestore_opts *o;
	struct netrestore_result *res;
	struct netsend n;               /* the connection (dial.c) */
	struct recv_xfer x;
	struct wire_catalog_entry entry;        /* what is restored */
	bool resolved;                  /* entry holds it */
	bool fresh_asked;               /* the partial was discarded once */
	bool resumed_reply;             /* this attempt's BEGIN-REPLY resumed */
	bool subtree;                   /* BEGIN announced a subtree */
	uint64_t ndata;                 /* DATA frames in this attempt */
	uint64_t resumed_at;
	struct timespec start, reported;
};

/* ---- base offers ---- */

#define NR_RDONLY	(1ULL << 0)	/* BTRFS_ROOT_SUBVOL_RDONLY */

static int
have_cmp(const void *a, const void *b)
{
	const struct netrestore_have *x = a, *y = b;

	if (x->since != y->since)
		return x->since > y->since ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A subvolume that may stand as a base: read-only, unchanged since. */
static bool
have_entry(const char *rel, const struct btrfs_util_subvolume_info *in,
    struct netrestore_have *h)
{
	static const uint8_t zero[16];
	bool received, ro = (in->flags & NR_RDONLY) != 0;
	const char *base = strrchr(rel, '/');

	base = base != NULL ? base + 1 : rel;
	if (!ro || strlen(rel) >= sizeof(h->name) || strncmp(base,
	    PARTIAL_RESERVED_PREFIX, strlen(PARTIAL_RESERVED_PREFIX)) == 0)
		return false;
	received = memcmp(in->received_uuid, zero, 16) != 0;
	if (!snap_unchanged_since(ro, in->ctransid, received ? in->rtransid :
	    in->otransid))
		return false;
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", rel);
	memcpy(h->self.uuid, in->uuid, 16);
	h->self.ctransid = in->ctransid;
	if (received) {
		memcpy(h->received.uuid, in->received_uuid, 16);
		h->received.ctransid = in->stransid;
	}
	h->since = received ? in->rtransid : in->otransid;
	return true;
}

int
netrestore_offers(int fsfd, struct netrestore_have **out, size_t *n,
    char *err, size_t errlen)
{
	struct btrfs_util_subvolume_iterator *it = NULL;
	struct btrfs_util_subvolume_info info;
	struct netrestore_have *h = NULL;
	enum btrfs_util_error e;
	size_t cap = 0, refs = 0, i;
	char *path;

	*out = NULL;
	*n = 0;
	e = btrfs_util_create_subvolume_iterator_fd(fsfd, 0, 0, &it);
	while (e == BTRFS_UTIL_OK) {
		if ((e = btrfs_util_subvolume_iterator_next_info(it, &path,
		    &info)) != BTRFS_UTIL_OK)
			break;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			h = xrealloc(h, cap * sizeof(*h));
		}
		if (have_entry(path, &info, &h[*n]))
			(*n)++;
		free(path);
	}
	if (it != NULL)
		btrfs_util_destroy_subvolume_iterator(it);
	if (e != BTRFS_UTIL_ERROR_STOP_ITERATION) {
		snprintf(err, errlen, "list its filesystem's subvolumes: %s",
		    btrfs_util_strerror(e));
		free(h);
		*n = 0;
		return -1;
	}
	if (*n > 1)
		qsort(h, *n, sizeof(*h), have_cmp);
	/* newest first, as many as the request carries */
	for (i = 0; i < *n; i++) {
		refs += h[i].received.ctransid || h[i].received.uuid[0] ? 2 : 1;
		if (refs > WIRE_HAVE_MAX) {
			*n = i;
			break;
		}
	}
	*out = h;
	return 0;
}

/* The refs RESTORE offers: each subvolume by uuid, and received uuid. */
static uint32_t
have_refs(const struct netrestore_opts *o, struct wire_ref **out)
{
	static const uint8_t zero[16];
	struct wire_ref *r;
	uint32_t n = 0;
	size_t i;

	r = xcalloc(2 * o->nhave + 1, sizeof(*r));
	for (i = 0; i < o->nhave && n + 2 <= WIRE_HAVE_MAX; i++) {
		r[n++] = o->have[i].self;
		if (memcmp(o->have[i].received.uuid, zero, 16) != 0)
			r[n++] = o->have[i].received;
	}
	*out = r;
	return n;
}

/*
 * The offered subvolume that ref names (by uuid or received uuid; its
 * ctransid, when told, must be the one offered), or NULL.
 */
static const struct netrestore_have *
have_find(const struct netrestore_opts *o, const struct wire_ref *ref)
{
	const struct wire_ref *c;
	size_t i;
	int k;

	for (i = 0; i < o->nhave; i++)
		for (k = 0; k < 2; k++) {
			c = k == 0 ? &o->have[i].self : &o->have[i].received;
			if (memcmp(c->uuid, ref->uuid, 16) == 0 &&
			    (ref->ctransid == 0 || ref->ctransid == c->ctransid))
				return &o->have[i];
		}
	return NULL;
}

/* ---- one attempt ---- */

/*
 * Fail the attempt.  The backup host's ERROR may forbid asking again; a
 * refusal of ours (what it sent broke the protocol, the stream, BEGIN,
 * or DEST refused it) is not asked again either: a broken or hostile
 * host sends the same again.  A cut or a timeout is retried.
 */
static int
rs_fail(struct restore *r)
{
	struct wireio *w = r->n.w;

	if (w->peer_error != 0 ? w->cls == ERR_PERMANENT :
	    w->fsm.closed && !wireio_timed_out(w))
		r->n.permanent = true;
	log_warnx("restore from %s: %s", r->n.to, w->err);
	if (r->x.a != NULL && apply_errno(r->x.a) == EPERM)
		log_warnx("restore: the kernel refused a change in %s "
		    "(Operation not permitted): %s", r->o->dest, r->subtree ?
		    "the files' owners, modes or flags need root; restore as "
		    "root, or into a directory you own" : "a whole snapshot "
		    "is restored as a subvolume, which needs root (with "
		    "CAP_SYS_ADMIN)");
	return -1;
}

/* Refuse the backup host's answer: nothing of it is written. */
static int
rs_refuse(struct restore *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
rs_refuse(struct restore *r, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	wireio_fail(r->n.w, WIRE_E_DENIED, "restore refused: %s", what);
	log_warnx("restore: the backup host %s answered with %s; nothing "
	    "written", r->n.to, what);
	r->n.permanent = true;
	return -1;
}

static void
rs_progress(struct restore *r, bool force, bool final)
{
	const struct netrestore_opts *o = r->o;
	struct netsend_progress p;
	struct timespec now;

	if (o->on_progress == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && net_secs(&r->reported, &now) * 1000 <
	    NETSEND_PROGRESS_MS)
		return;
	r->reported = now;
	memset(&p, 0, sizeof(p));
	p.phase = "restore";
	p.done = r->x.a != NULL ? apply_feed_offset(&r->x.f) : r->res->bytes;
	if (p.done < r->resumed_at)
		p.done = r->resumed_at;
	p.total = r->x.begin.size_hint;
	if (final && p.total < p.done)
		p.total = p.done;
	p.total_src = p.total ? TOTAL_ESTIMATE : TOTAL_UNKNOWN;
	p.resumed_at = r->resumed_at;
	p.resumes = r->res->resumes;
	p.secs = net_secs(&r->start, &now);
	p.final = final;
	o->on_progress(&p, o->progress_arg);
}

/* CATALOG: the snapshot asked for (or the newest), its refs. */
static int
rs_catalog(struct restore *r)
{
	static const uint8_t zero[16];
	const char *want = r->resolved ? r->entry.name : r->o->snapshot;
	struct wire_msg m;
	uint32_t i;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_CATALOG;
	snprintf(m.u.catalog_job, sizeof(m.u.catalog_job), "%s", r->o->job);
	if (wireio_send(r->n.w, &m) == -1 || wireio_recv(r->n.w, &m) == -1)
		return rs_fail(r);
	if (m.type != WIRE_CATALOG_REPLY) {
		wireio_fail(r->n.w, WIRE_E_PROTOCOL, "%s instead of "
		    "CATALOG-REPLY", wire_type_name(m.type));
		wire_msg_free(&m);
		return rs_fail(r);
	}
	for (i = m.u.catalog.n; i-- > 0; ) {
		if (strcmp(want, "latest") == 0 ||
		    strcmp(want, m.u.catalog.snaps[i].name) == 0) {
			if (r->resolved && memcmp(&r->entry.received,
			    &m.u.catalog.snaps[i].received,
			    sizeof(r->entry.received)) != 0)
				break;
			r->entry = m.u.catalog.snaps[i];
			r->resolved = true;
			rc = 0;
			break;
		}
	}
	if (rc == 0 && memcmp(r->entry.received.uuid, zero, 16) == 0) {
		log_warnx("restore: the backup host %s lists %s of job %s as "
		    "received from no snapshot (no received uuid); nothing "
		    "written", r->n.to, r->entry.name, r->o->job);
		r->n.permanent = true;
		rc = -1;
	} else if (rc == -1) {
		log_warnx("restore: the backup host %s holds no snapshot %s of "
		    "job %s%s (btrsendctl ls --from %s --job %s lists them)",
		    r->n.to, want, r->o->job, r->resolved ?
		    " any more, or another one under that name" : "",
		    r->n.to, r->o->job);
		r->n.permanent = true;
	}
	wire_msg_free(&m);
	return rc;
}

/* The name the snapshot or subtree lands under in DEST. */
static void
rs_landed(struct restore *r, char *out, size_t len)
{
	const char *p = r->o->path, *slash;

	if (p == NULL || *p == '\0') {
		snprintf(out, len, "%s", r->entry.name);
		return;
	}
	slash = strrchr(p, '/');
	snprintf(out, len, "%s", slash ? slash + 1 : p);
}

/*
 * DEST/<name> already there: the same restored snapshot (read-only,
 * received from the same one) is done, 1; anything else is never
 * overwritten, -1; free, 0.
 */
static int
rs_exists(struct restore *r)
{
	struct snap_info si;
	struct stat st;
	char path[64 + WIRE_NAME_MAX], err[256];
	bool whole = r->o->path == NULL || r->o->path[0] == '\0';

	if (fstatat(r->o->destfd, r->res->landed, &st, AT_SYMLINK_NOFOLLOW) ==
	    -1)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", r->o->destfd,
	    r->res->landed);
	if (whole && S_ISDIR(st.st_mode) && st.st_ino == 256 &&
	    snapshot_info(path, &si, err, sizeof(err)) == 0 && si.read_only &&
	    memcmp(si.received_uuid, r->entry.received.uuid, 16) == 0)
		return 1;
	log_warnx("restore: %s/%s already exists; nothing is ever "
	    "overwritten: rename or delete it, or restore into another "
	    "directory", r->o->dest, r->res->landed);
	r->n.permanent = true;
	return -1;
}

static int
rs_request(struct restore *r)
{
	struct wire_msg m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_RESTORE;
	snprintf(m.u.restore.job, sizeof(m.u.restore.job), "%s", r->o->job);
	snprintf(m.u.restore.snapshot, sizeof(m.u.restore.snapshot), "%s",
	    r->entry.name);
	snprintf(m.u.restore.path, sizeof(m.u.restore.path), "%s",
	    r->o->path ? r->o->path : "");
	m.u.restore.nhave = have_refs(r->o, &m.u.restore.have);
	rc = wireio_send(r->n.w, &m);
	free(m.u.restore.have);
	return rc == -1 ? rs_fail(r) : 0;
}

static void
rs_uuid(const struct wire_ref *ref, char *buf)
{
	uuid_unparse_lower(ref->uuid, buf);
}

/*
 * Whether ref is the subtree's identity: wire_subtree_uuid of the uuid
 * the whole snapshot's stream carries (its received uuid) and the path,
 * with the backup host's ctransid.
 */
static bool
rs_subtree_ref(const struct restore *r, const struct wire_ref *ref)
{
	uint8_t u[16];

	wire_subtree_uuid(r->entry.received.uuid, r->o->path, u);
	return memcmp(u, ref->uuid, 16) == 0 &&
	    ref->ctransid == r->entry.self.ctransid;
}

/*
 * BEGIN against what was asked: the job, the name DEST gets, a subtree
 * exactly when a path was asked, the snapshot's identity (whole: the
 * kernel names a received subvolume by its received uuid, with the
 * backup host's own ctransid, spec §6.5), and a parent and clone sources
 * only among the subvolumes offered.
 */
static int
rs_check_begin(struct restore *r, const struct wire_begin *b)
{
	static const uint8_t zero[16];
	const struct wire_stream_id *id = &b->id;
	bool subtree = r->o->path != NULL && r->o->path[0] != '\0';
	char u[37], w[37];
	uint32_t i;

	if (strcmp(b->job, r->o->job) != 0 || strcmp(b->name,
	    r->res->landed) != 0)
		return rs_refuse(r, "%s/%s instead of %s/%s", b->job, b->name,
		    r->o->job, r->res->landed);
	if (!!(id->flags & WIRE_BEGIN_SUBTREE) != subtree ||
	    ((id->flags & WIRE_BEGIN_SUBTREE_FILE) &&
	    !(id->flags & WIRE_BEGIN_SUBTREE)) || (id->flags &
	    WIRE_BEGIN_RESTART))
		return rs_refuse(r, "stream flags %#x instead of %s", id->flags,
		    subtree ? "a subtree" : "a whole snapshot");
	rs_uuid(&id->snap, u);
	if (subtree) {
		if (!rs_subtree_ref(r, &id->snap))
			return rs_refuse(r, "subvolume %s (ctransid %" PRIu64
			    ") instead of %s of %s", u, id->snap.ctransid,
			    r->o->path, r->entry.name);
		if (memcmp(id->parent.uuid, zero, 16) != 0 || id->nclones)
			return rs_refuse(r, "a subtree relative to another "
			    "subvolume instead of a subtree in full");
	} else if (memcmp(id->snap.uuid, r->entry.received.uuid, 16) != 0 ||
	    id->snap.ctransid != r->entry.self.ctransid) {
		rs_uuid(&r->entry.received, w);
		return rs_refuse(r, "subvolume %s (ctransid %" PRIu64 ") "
		    "instead of %s's %s", u, id->snap.ctransid,
		    r->entry.name, w);
	}
	if (memcmp(id->parent.uuid, zero, 16) != 0 &&
	    have_find(r->o, &id->parent) == NULL) {
		rs_uuid(&id->parent, u);
		return rs_refuse(r, "a stream relative to %s instead of one "
		    "of the subvolumes offered", u);
	}
	for (i = 0; i < id->nclones; i++)
		if (have_find(r->o, &id->clones[i]) == NULL) {
			rs_uuid(&id->clones[i], u);
			return rs_refuse(r, "clone source %s instead of one "
			    "of the subvolumes offered", u);
		}
	return 0;
}

/*
 * The client's policy for parent and clone sources: offered (checked at
 * BEGIN) and found beneath DEST by the apply engine's rule (read-only and
 * unchanged since received or created).
 */
static int
rs_sources(struct recv_xfer *x, void *arg)
{
	static const uint8_t zero[16];
	struct restore *r = arg;
	const struct wire_stream_id *id = &x->begin.id;
	uint8_t (*u)[16];
	uint64_t *t;
	size_t n = 0, i, miss = 0;
	char us[37], why[400];
	int rc;

	u = xcalloc(id->nclones + 1, 16);
	t = xcalloc(id->nclones + 1, sizeof(*t));
	if (memcmp(id->parent.uuid, zero, 16) != 0) {
		t[n] = id->parent.ctransid;
		memcpy(u[n++], id->parent.uuid, 16);
	}
	for (i = 0; i < id->nclones; i++) {
		t[n] = id->clones[i].ctransid;
		memcpy(u[n++], id->clones[i].uuid, 16);
	}
	rc = apply_holds_subvols(x->a, (const uint8_t (*)[16])u, t, n, &miss,
	    why, sizeof(why));
	if (rc == -1)
		wireio_fail(x->w, WIRE_E_INTERNAL, "restore %s: %s",
		    x->begin.name, apply_error(x->a));
	else if (rc == 0) {
		uuid_unparse_lower(u[miss], us);
		wireio_fail(x->w, WIRE_E_NOTFOUND, "restore %s: the base %s "
		    "offered is no longer usable on %s's filesystem (%s)",
		    x->begin.name, us, r->o->dest, why);
		r->n.permanent = false;
	}
	free(t);
	free(u);
	return rc == 1 ? 0 : -1;
}

static int rs_begin_open(struct restore *);

/* BEGIN taken: held already, or the transfer opened (BEGIN-REPLY sent). */
static int
rs_begin(struct restore *r, struct wire_msg *m)
{
	static const uint8_t zero[16];
	struct wire_msg rep;
	const struct netrestore_have *h = NULL;

	if (rs_check_begin(r, &m->u.begin) == -1)
		return -1;
	r->x.begin = m->u.begin;
	m->u.begin.id.clones = NULL;    /* now ours */
	r->x.dirfd = r->o->destfd;
	r->x.opts = r->o->apply;
	if (r->o->fsfd != -1) {
		/* the offers lie anywhere on DEST's filesystem */
		r->x.opts.parents_elsewhere = true;
		r->x.opts.parents_fd = r->o->fsfd;
	}
	if (r->x.begin.id.flags & WIRE_BEGIN_SUBTREE) {
		r->x.opts.plain_dir = true;
		r->x.opts.single_file = (r->x.begin.id.flags &
		    WIRE_BEGIN_SUBTREE_FILE) != 0;
		r->x.opts.dest_label = r->o->dest;
		r->subtree = true;
	}
	if (r->subtree)         /* a plain directory or file: no snapshot */
		return rs_begin_open(r);
	switch (recv_xfer_held(&r->x)) {
	case -1:
		r->n.permanent = true;
		return rs_fail(r);
	case 1:
		memset(&rep, 0, sizeof(rep));
		rep.type = WIRE_BEGIN_REPLY;
		rep.u.begin_reply.status = WIRE_BEGIN_COMPLETE;
		r->res->already = 1;
		return wireio_send(r->n.w, &rep) == -1 ? rs_fail(r) : 1;
	}
	if (memcmp(r->x.begin.id.parent.uuid, zero, 16) != 0)
		h = have_find(r->o, &r->x.begin.id.parent);
	snprintf(r->res->base, sizeof(r->res->base), "%s", h ? h->name : "");
	return rs_begin_open(r);
}

/* The transfer opened: a partial resumed or discarded, BEGIN-REPLY sent. */
static int
rs_begin_open(struct restore *r)
{
	if (recv_xfer_begin(&r->x) == -1)
		return rs_fail(r);
	r->resumed_reply = r->x.f.resumed;
	r->resumed_at = r->resumed_reply ? r->x.last_ckpt : 0;
	if (r->resumed_reply) {
		r->res->resumes++;
		log_info("restore: %s: resuming at byte %" PRIu64, r->o->dest,
		    r->resumed_at);
	}
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	rs_progress(r, true, false);
	return 0;
}

/* DATA until END; DONE once the snapshot is finished. */
static int
rs_receive(struct restore *r)
{
	struct wire_msg m;
	char path[WIRE_TEXT_MAX + 1];

	for (;;) {
		if (wireio_recv(r->n.w, &m) == -1)
			return rs_fail(r);
		if (m.type == WIRE_DATA) {
			r->ndata++;
			r->res->received += m.u.data.raw_len;
			if (recv_xfer_data(&r->x, &m.u.data) == -1) {
				wire_msg_free(&m);
				return rs_fail(r);
			}
			wire_msg_free(&m);
			rs_progress(r, false, false);
			continue;
		}
		if (m.type != WIRE_END) {
			wireio_fail(r->n.w, WIRE_E_PROTOCOL, "%s during a "
			    "transfer", wire_type_name(m.type));
			wire_msg_free(&m);
			return rs_fail(r);
		}
		break;
	}
	if (recv_xfer_end(&r->x, &m.u.point) == -1)
		return rs_fail(r);
	r->res->bytes = m.u.point.offset;
	if (r->subtree && apply_nwarnings(r->x.a) > 0)
		snprintf(r->res->warnings, sizeof(r->res->warnings), "%s",
		    apply_warnings(r->x.a));
	frame_errf(path, sizeof(path), "%s/%s", r->o->dest, r->res->landed);
	rs_progress(r, true, true);
	if (recv_xfer_done(&r->x, &m.u.point, path) == -1)
		log_warnx("restore from %s: %s (the restore is complete)",
		    r->n.to, r->n.w->err);
	return 0;
}

/*
 * The backup host could not fast-forward to the partial's checkpoint
 * (ERROR stream right after a resume, before any DATA): the partial is
 * not a prefix of what it sends now.  Discard it and ask once, fresh.
 */
static bool
rs_cannot_resume(struct restore *r)
{
	struct apply_opts ao;
	struct apply *a;

	if (!r->resumed_reply || r->ndata > 0 || r->fresh_asked ||
	    r->n.w->peer_error != WIRE_E_STREAM)
		return false;
	r->fresh_asked = true;
	recv_xfer_reset(&r->x);
	log_warnx("restore: CANNOT RESUME %s/%s: the backup host %s cannot "
	    "send from the partial's checkpoint; DISCARDING the partial and "
	    "asking again from the start", r->o->dest, r->res->landed,
	    r->n.to);
	ao = r->o->apply;
	ao.quiet = true;
	if ((a = apply_new(r->o->destfd, &ao)) == NULL ||
	    apply_discard_partial(a, r->res->landed) == -1) {
		log_warnx("restore: discard the partial of %s in %s: %s",
		    r->res->landed, r->o->dest, a ? apply_error(a) :
		    strerror(errno));
		if (a != NULL)
			apply_free(a);
		return false;
	}
	apply_free(a);
	return true;
}

static int
rs_attempt(struct restore *r, SSL_CTX *ctx)
{
	struct wire_hello peer;
	struct wire_msg m;
	int fd, rc = -1, st;

	r->resumed_reply = false;
	r->ndata = 0;
	if ((fd = net_open(&r->n, ctx, (r->o->zstd ? WIRE_CAP_ZSTD : 0) |
	    WIRE_CAP_COMPRESSED_DATA, "restore", &peer)) == -1)
		return -1;
	r->x.w = r->n.w;
	if (wireio_keepalive_start(r->n.w, r->n.timeout_ms / 3) == -1)
		log_warn("restore: keepalive thread");
	else if (tls_reader_start(&r->n.t) == -1)
		log_warn("restore: read-ahead thread");
	if (rs_catalog(r) == -1)
		goto done;
	rs_landed(r, r->res->landed, sizeof(r->res->landed));
	snprintf(r->res->name, sizeof(r->res->name), "%s", r->entry.name);
	if ((st = rs_exists(r)) != 0) {
		r->res->already = st == 1;
		rc = st == 1 ? 0 : -1;
		goto done;
	}
	if (rs_request(r) == -1)
		goto done;
	if (wireio_recv(r->n.w, &m) == -1) {
		rs_fail(r);
		goto done;
	}
	if (m.type != WIRE_BEGIN) {
		wireio_fail(r->n.w, WIRE_E_PROTOCOL, "%s instead of BEGIN",
		    wire_type_name(m.type));
		wire_msg_free(&m);
		rs_fail(r);
		goto done;
	}
	st = rs_begin(r, &m);
	wire_msg_free(&m);
	if (st != 0) {
		rc = st == 1 ? 0 : -1;
		goto done;
	}
	rc = rs_receive(r);
done:
	if (rc == -1)
		recv_xfer_keep_partial(&r->x);
	recv_xfer_reset(&r->x);
	net_close(&r->n, fd);
	if (rc == -1 && rs_cannot_resume(r)) {
		r->n.permanent = false;
		return rs_attempt(r, ctx);
	}
	return rc;
}

int
netrestore_run(SSL_CTX *ctx, const struct netsend_target *tg,
    const struct netrestore_opts *o, struct netrestore_result *res)
{
	static const struct netsend_opts quiet = { 0 };
	struct restore *r;
	int attempt, delay = 1, rc = -1;

	memset(res, 0, sizeof(*res));
	r = xcalloc(1, sizeof(*r));
	r->o = o;
	r->res = res;
	r->n.tg = tg;
	r->n.o = &quiet;
	r->n.to = tg->label;
	r->n.job = o->job;
	r->n.t.fd = -1;
	signal(SIGPIPE, SIG_IGN);
	if (recv_xfer_init(&r->x, NULL, tg->label, "this host") == -1) {
		log_warn("restore");
		free(r);
		return -1;
	}
	r->x.host = "this host";
	r->x.held_hint = "nothing is ever overwritten: rename or delete it, "
	    "or restore into another directory";
	snprintf(r->x.where, sizeof(r->x.where), "%s", o->dest);
	r->x.opts = o->apply;
	if (o->ckpt_bytes)
		r->x.ckpt_bytes = o->ckpt_bytes;
	r->x.sources = rs_sources;
	r->x.sources_arg = r;
	for (attempt = 0; ; attempt++) {
		r->n.permanent = false;
		if ((rc = rs_attempt(r, ctx)) == 0)
			break;
		if (r->n.permanent || attempt >= o->retries) {
			log_warnx("restore: giving up on %s after %d attempt%s",
			    r->resolved ? r->entry.name : o->snapshot,
			    attempt + 1, attempt ? "s" : "");
			break;
		}
		log_warnx("restore: retrying in %d s (%d of %d); the partial "
		    "in %s resumes", delay, attempt + 1, o->retries, o->dest);
		sleep((unsigned)delay);
		delay = delay < 30 ? delay * 2 : 60;
	}
	res->cls = rc == 0 ? ERR_NONE : r->n.permanent ? ERR_PERMANENT :
	    ERR_TEMPORARY;
	recv_xfer_free(&r->x);
	free(r);
	return rc;
}
