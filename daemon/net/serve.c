/*
 * The backup host's reads (serve.h): CATALOG, LS and RESTORE, confined
 * to the client's own area and never changing it.
 *
 * Every name comes from the network.  A job and a snapshot are single
 * components (wire_name_valid) opened with O_NOFOLLOW beneath the area's
 * fd; a path inside a snapshot is walked one component at a time, each
 * looked at with fstatat(AT_SYMLINK_NOFOLLOW) before it is opened, so a
 * symbolic link on the way is refused by name instead of followed, and
 * nothing on another filesystem or subvolume is entered.  Only complete
 * snapshots exist here: read-only subvolumes with a received uuid, whose
 * name is a job snapshot name; partials and staging entries are never
 * listed nor served.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "daemon/net/netsend.h"
#include "daemon/net/serve.h"
#include "engine/send.h"
#include "engine/snapshot.h"

/* The complete snapshots of an open job directory, oldest first. */
struct serve_job {
	int jobfd;
	struct snap_info *snaps;
	size_t n;
};

static const uint8_t serve_zero[16];

static void
serve_job_free(struct serve_job *j)
{
	if (j->jobfd != -1)
		close(j->jobfd);
	free(j->snaps);
	j->snaps = NULL;
	j->n = 0;
	j->jobfd = -1;
}

static bool
serve_complete(const struct snap_info *s)
{
	return s->read_only && memcmp(s->received_uuid, serve_zero, 16) != 0 &&
	    wire_name_valid(s->name);
}

/*
 * Open job beneath the area and list its complete snapshots.  A job that
 * does not exist (or is no directory, or a symlink) has none: 0 with
 * none.  -1 (logged) only when the area cannot be read.
 */
static int
serve_job_open(const struct serve_ctx *c, const char *job, struct serve_job *j)
{
	char path[64], err[256];
	size_t i, k = 0;

	memset(j, 0, sizeof(*j));
	j->jobfd = -1;
	if (!wire_name_valid(job))
		return 0;
	if ((j->jobfd = openat(c->areafd, job, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return 0;
		log_warn("%s: read %s/%s/%s", c->client, c->root, c->client,
		    job);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", j->jobfd);
	if (snapshot_list(path, job, &j->snaps, &j->n, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: read %s/%s/%s: %s", c->client, c->root,
		    c->client, job, err);
		serve_job_free(j);
		return -1;
	}
	for (i = 0; i < j->n; i++)
		if (serve_complete(&j->snaps[i]))
			j->snaps[k++] = j->snaps[i];
	j->n = k;
	return 0;
}

/* The one answer for a snapshot that is not there, whoever holds it. */
static int
serve_not_found(const struct serve_ctx *c, const char *what, const char *job,
    const char *name)
{
	log_info("%s: %s %s/%s: no such snapshot", c->client, what, job, name);
	wireio_fail(c->w, WIRE_E_NOTFOUND, "no snapshot %s of job %s on this "
	    "backup host (btrsendctl ls --job %s lists what it holds)", name,
	    job, job);
	return -1;
}

static int
serve_read_failed(const struct serve_ctx *c, const char *what)
{
	wireio_fail(c->w, WIRE_E_INTERNAL, "the backup host cannot read %s; "
	    "see its log", what);
	return -1;
}

/*
 * The snapshot name of job: its index in j->snaps and its root opened
 * (*snapfd), checked to be the subvolume that was listed (not replaced
 * in between).  -1 when it is not there (not told to the peer).
 */
static int
serve_snap_open(const struct serve_ctx *c, const struct serve_job *j,
    const char *name, size_t *idx, int *snapfd)
{
	struct snap_info si;
	char path[64], err[256];
	size_t i;

	for (i = 0; i < j->n; i++)
		if (strcmp(j->snaps[i].name, name) == 0)
			break;
	if (i == j->n || (*snapfd = openat(j->jobfd, name, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *snapfd);
	if (snapshot_info(path, &si, err, sizeof(err)) == -1 ||
	    memcmp(si.uuid, j->snaps[i].uuid, 16) != 0 || !si.read_only) {
		log_warnx("%s: %s changed while it was opened%s%s", c->client,
		    name, err[0] != '\0' ? ": " : "", err);
		close(*snapfd);
		return -1;
	}
	*idx = i;
	return 0;
}

int
serve_catalog(const struct serve_ctx *c, const char *job)
{
	struct serve_job j;
	struct wire_msg m;
	size_t i, first;
	int rc;

	if (serve_job_open(c, job, &j) == -1)
		return serve_read_failed(c, "the job's directory");
	memset(&m, 0, sizeof(m));
	m.type = WIRE_CATALOG_REPLY;
	/* Past the bound the oldest go unlisted: the newest are restored. */
	first = j.n > WIRE_CATALOG_MAX ? j.n - WIRE_CATALOG_MAX : 0;
	if (first > 0)
		log_warnx("%s: catalog %s: %zu snapshots, listing the newest "
		    "%u", c->client, job, j.n, WIRE_CATALOG_MAX);
	m.u.catalog.snaps = xcalloc(j.n - first + 1,
	    sizeof(*m.u.catalog.snaps));
	for (i = first; i < j.n; i++) {
		struct wire_catalog_entry *e =
		    &m.u.catalog.snaps[m.u.catalog.n++];
		const struct snap_info *s = &j.snaps[i];

		snprintf(e->name, sizeof(e->name), "%s", s->name);
		memcpy(e->self.uuid, s->uuid, 16);
		e->self.ctransid = s->ctransid;
		memcpy(e->received.uuid, s->received_uuid, 16);
		e->received.ctransid = s->stransid;
		e->otime = s->otime.tv_sec > 0 ? (uint64_t)s->otime.tv_sec : 0;
		e->size = 0;    /* a stream's size is not recorded */
	}
	log_info("%s: catalog %s: %u snapshot%s", c->client, job,
	    m.u.catalog.n, m.u.catalog.n == 1 ? "" : "s");
	rc = wireio_send(c->w, &m);
	free(m.u.catalog.snaps);
	serve_job_free(&j);
	return rc;
}

/*
 * Walk path ("" the root) beneath the snapshot root snapfd.  Every
 * component but the last must be a directory on the snapshot's own
 * filesystem and subvolume, and is never a symlink (refused by name, not
 * followed).  Then *dirfd is the directory holding the last component
 * (or the root itself for ""), *last its name ("" for the root), *st its
 * lstat.  -1 when the peer was told why (a missing component is
 * not-found, a symlink or another filesystem denied).
 */
static int
serve_walk(const struct serve_ctx *c, int snapfd, const char *label,
    const char *path, int *dirfd, char *last, struct stat *st)
{
	struct stat root;
	const char *p = path, *slash;
	size_t len;
	int cur, nfd;
	char comp[256];

	*dirfd = -1;
	if ((cur = dup(snapfd)) == -1 || fstat(cur, &root) == -1) {
		if (cur != -1)
			close(cur);
		log_warn("%s: read %s", c->client, label);
		return serve_read_failed(c, label);
	}
	*st = root;
	last[0] = '\0';
	while (*p != '\0') {
		slash = strchr(p, '/');
		len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || len >= sizeof(comp))
			goto notfound;
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (fstatat(cur, comp, st, AT_SYMLINK_NOFOLLOW) == -1)
			goto notfound;
		if (slash == NULL) {
			memcpy(last, comp, len + 1);
			if (S_ISDIR(st->st_mode) && st->st_dev != root.st_dev) {
				wireio_fail(c->w, WIRE_E_DENIED, "%s: %s is on "
				    "another filesystem or subvolume; not "
				    "entered", label, path);
				goto fail;
			}
			break;
		}
		if (S_ISLNK(st->st_mode)) {
			log_warnx("%s: %s: %.*s is a symbolic link; not "
			    "followed", c->client, label, (int)(slash - path),
			    path);
			wireio_fail(c->w, WIRE_E_DENIED, "%s: %.*s is a symbolic "
			    "link on the backup host; it is not followed (list "
			    "it to see its target)", label, (int)(slash - path),
			    path);
			goto fail;
		}
		if (!S_ISDIR(st->st_mode))
			goto notfound;
		if (st->st_dev != root.st_dev) {
			wireio_fail(c->w, WIRE_E_DENIED, "%s: %.*s is on "
			    "another filesystem or subvolume; not entered",
			    label, (int)(slash - path), path);
			goto fail;
		}
		if ((nfd = openat(cur, comp, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			goto notfound;
		close(cur);
		cur = nfd;
		p = slash + 1;
	}
	*dirfd = cur;
	return 0;
notfound:
	log_info("%s: %s: %s not found", c->client, label, path);
	wireio_fail(c->w, WIRE_E_NOTFOUND, "%s: no %s in it", label, path);
fail:
	close(cur);
	return -1;
}

/* One entry of a listing from its lstat; a symlink's target read too. */
static void
serve_entry(int dirfd, const char *name, const struct stat *st,
    struct wire_ls_entry *e)
{
	ssize_t len;

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->mode = st->st_mode;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->nlink = (uint32_t)st->st_nlink;
	e->size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
	e->rdev = (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) ?
	    (uint64_t)st->st_rdev : 0;
	e->mtime_sec = st->st_mtim.tv_sec;
	e->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	if (S_ISLNK(st->st_mode) && (len = readlinkat(dirfd, name, e->target,
	    sizeof(e->target) - 1)) > 0)
		e->target[len] = '\0';
}

/* What one entry adds to a page's payload, about. */
static size_t
serve_entry_bytes(const struct wire_ls_entry *e)
{
	return 64 + strlen(e->name) + strlen(e->target);
}

/*
 * A page of the directory dirfd from entry start (readdir order, "." and
 * ".." not counted): it stops at SERVE_LS_PAGE_BYTES of payload or
 * SERVE_LS_PAGE_ENTRIES entries, and says MORE and next when an entry
 * is left.  A snapshot is read-only: the order holds from page to page.
 */
static int
serve_ls_dir(const struct serve_ctx *c, int dirfd, const char *label,
    uint64_t start, struct wire_ls_reply *r)
{
	struct dirent *de;
	struct stat st;
	size_t bytes = 0, cap = 0;
	uint64_t idx = 0;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		log_warn("%s: ls %s", c->client, label);
		return serve_read_failed(c, label);
	}
	r->entries = NULL;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (idx++ < start)
			continue;
		if (r->n >= SERVE_LS_PAGE_ENTRIES ||
		    bytes >= SERVE_LS_PAGE_BYTES) {
			r->flags |= WIRE_LS_MORE;
			r->next = idx - 1;
			break;
		}
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			log_warn("%s: ls %s: %s", c->client, label, de->d_name);
			continue;
		}
		if (r->n == cap) {
			cap = cap ? 2 * cap : 64;
			r->entries = xrealloc(r->entries, cap *
			    sizeof(*r->entries));
		}
		serve_entry(dirfd, de->d_name, &st, &r->entries[r->n]);
		bytes += serve_entry_bytes(&r->entries[r->n++]);
	}
	closedir(d);
	if (r->entries == NULL)
		r->entries = xcalloc(1, sizeof(*r->entries));
	return 0;
}

int
serve_ls(const struct serve_ctx *c, const struct wire_ls *ls)
{
	struct serve_job j;
	struct wire_msg m;
	struct stat st;
	char label[2 * WIRE_NAME_MAX + 2], last[256];
	size_t idx;
	int snapfd = -1, dirfd = -1, fd = -1, rc = -1;

	if (!wire_path_valid(ls->path)) {
		wireio_fail(c->w, WIRE_E_PROTOCOL, "ls: the path is not a "
		    "relative path of plain components");
		return -1;
	}
	if (serve_job_open(c, ls->job, &j) == -1)
		return serve_read_failed(c, "the job's directory");
	if (serve_snap_open(c, &j, ls->snapshot, &idx, &snapfd) == -1) {
		serve_job_free(&j);
		return serve_not_found(c, "ls", ls->job, ls->snapshot);
	}
	snprintf(label, sizeof(label), "%s/%s", ls->job, ls->snapshot);
	if (ls->start == 0)
		log_info("%s: ls %s%s%s", c->client, label,
		    ls->path[0] != '\0' ? " path " : "", ls->path);
	if (serve_walk(c, snapfd, label, ls->path, &dirfd, last, &st) == -1)
		goto done;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_LS_REPLY;
	if (S_ISDIR(st.st_mode) && last[0] != '\0' && (fd = openat(dirfd, last, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		wireio_fail(c->w, WIRE_E_NOTFOUND, "%s: no %s in it", label,
		    ls->path);
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		if (serve_ls_dir(c, fd != -1 ? fd : dirfd, label, ls->start,
		    &m.u.ls_reply) == -1)
			goto done;
	} else {
		/* A file, symlink or special file: itself, one entry. */
		m.u.ls_reply.entries = xcalloc(1, sizeof(*m.u.ls_reply.entries));
		if (ls->start == 0) {
			serve_entry(dirfd, last, &st, &m.u.ls_reply.entries[0]);
			m.u.ls_reply.n = 1;
		}
	}
	rc = wireio_send(c->w, &m);
	free(m.u.ls_reply.entries);
done:
	if (fd != -1)
		close(fd);
	if (dirfd != -1)
		close(dirfd);
	close(snapfd);
	serve_job_free(&j);
	return rc;
}

static bool
serve_has(const struct wire_ref *have, size_t nhave, const uint8_t uuid[16])
{
	size_t i;

	if (memcmp(uuid, serve_zero, 16) == 0)
		return false;
	for (i = 0; i < nhave; i++)
		if (memcmp(have[i].uuid, uuid, 16) == 0)
			return true;
	return false;
}

size_t
serve_choose_base(const struct snap_info *snaps, size_t n, size_t idx,
    const struct wire_ref *have, size_t nhave)
{
	size_t i;

	for (i = idx < n ? idx : n; i-- > 0; ) {
		const struct snap_info *p = &snaps[i];

		/*
		 * Changed after it was received, it no longer holds what the
		 * client's copy holds (snap_unchanged_since): the same rule
		 * as for the bases a LIST offers.
		 */
		if (!snap_unchanged_since(p->read_only, p->ctransid,
		    p->rtransid))
			continue;
		if (serve_has(have, nhave, p->received_uuid) ||
		    serve_has(have, nhave, p->uuid))
			return i;
	}
	return n;
}

/* The send-stream version: the highest both this kernel and the client take. */
static uint32_t
serve_proto(const struct serve_ctx *c, uint32_t most)
{
	uint32_t v = send_kernel_proto();

	if (v > most)
		v = most;
	if (c->peer_stream_max > 0 && v > c->peer_stream_max)
		v = c->peer_stream_max;
	return v > 0 ? v : 1;
}

static void
serve_done(const struct serve_ctx *c, const char *label, int rc,
    const struct netsend_result *res)
{
	if (rc == -1)
		log_warnx("%s: restore %s failed after %" PRIu64 " bytes: %s",
		    c->client, label, res->bytes, c->w->err);
	else if (res->already)
		log_info("%s: restore %s: the client holds it already",
		    c->client, label);
	else
		log_info("%s: restore %s done: %" PRIu64 " commands, %" PRIu64
		    " bytes sent%s", c->client, label, res->ncmds, res->bytes,
		    res->resumes > 0 ? " (resumed)" : "");
}

/* A whole snapshot: the kernel's send, from a base the client has. */
static int
serve_whole(const struct serve_ctx *c, const struct wire_restore *r,
    const struct serve_job *j, size_t idx, int snapfd, const char *label)
{
	struct netsend_serve sv;
	struct netsend_result res;
	struct send_params p;
	const struct snap_info *s = &j->snaps[idx];
	const char *snaps[1];
	char spath[64], ppath[64];
	size_t base;
	int pfd = -1, rc;

	/*
	 * Served all the same (a restore is when it is needed), but the
	 * stream will name the snapshot its sender sent while holding
	 * what it holds now: say so where the admin looks.
	 */
	if (!snap_unchanged_since(s->read_only, s->ctransid, s->rtransid))
		log_warnx("%s: restore %s: it was changed on this backup host "
		    "after it was received (ctransid %" PRIu64 ", received at "
		    "transid %" PRIu64 "); the client gets it as it is now",
		    c->client, label, s->ctransid, s->rtransid);
	base = serve_choose_base(j->snaps, j->n, idx, r->have, r->nhave);
	memset(&p, 0, sizeof(p));
	snprintf(spath, sizeof(spath), "/proc/self/fd/%d", snapfd);
	snaps[0] = spath;
	p.snapshots = snaps;
	p.nsnapshots = 1;
	p.proto = serve_proto(c, STREAM_VERSION_MAX);
	p.compressed_data = p.proto >= 2 &&
	    (c->peer_caps & WIRE_CAP_COMPRESSED_DATA) != 0;
	if (base < j->n && (pfd = openat(j->jobfd, j->snaps[base].name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_warn("%s: restore %s: base %s; sending in full", c->client,
		    label, j->snaps[base].name);
		base = j->n;
	}
	if (pfd != -1) {
		snprintf(ppath, sizeof(ppath), "/proc/self/fd/%d", pfd);
		p.parent = ppath;
		log_info("%s: restore %s from %s (stream v%u)", c->client,
		    label, j->snaps[base].name, p.proto);
	} else
		log_info("%s: restore %s full (stream v%u)", c->client, label,
		    p.proto);
	memset(&sv, 0, sizeof(sv));
	sv.client = c->client;
	sv.job = r->job;
	sv.name = s->name;
	sv.label = label;
	sv.p = &p;
	/*
	 * The stream's snapshot ref as the kernel writes it (spec §6.5): a
	 * received subvolume goes out under its received uuid, with its
	 * own ctransid.  The client's check compares BEGIN with the
	 * stream's first command.
	 */
	sv.ctransid = s->ctransid;
	sv.zstd = (c->peer_caps & WIRE_CAP_ZSTD) != 0;
	sv.estimate_ms = SERVE_ESTIMATE_MS;
	rc = netsend_serve(c->w, &sv, &res);
	serve_done(c, label, rc, &res);
	if (pfd != -1)
		close(pfd);
	return rc;
}

/*
 * A subtree: the walker's stream (send_params.subtree), applied by the
 * client into a plain directory.  Its identity is the subtree's uuid,
 * wire_subtree_uuid of the snapshot uuid the whole snapshot's stream
 * carries (the received uuid) and the path, with the snapshot's
 * ctransid: a second subtree of the same snapshot, or the same path of
 * another snapshot, is another stream, and never resumes this one's
 * partial.
 */
static int
serve_subtree(const struct serve_ctx *c, const struct wire_restore *r,
    const struct serve_job *j, size_t idx, int snapfd, const char *label)
{
	struct netsend_serve sv;
	struct netsend_result res;
	struct send_subtree st;
	struct send_params p;
	struct stat sb;
	const struct snap_info *s = &j->snaps[idx];
	char last[256];
	int dirfd, rc;

	/* The same walk as LS: no symlink on the way, nothing outside. */
	if (serve_walk(c, snapfd, label, r->path, &dirfd, last, &sb) == -1)
		return -1;
	close(dirfd);
	if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)) {
		wireio_fail(c->w, WIRE_E_NOTFOUND, "%s: %s is neither a "
		    "directory nor a regular file; restore the directory "
		    "holding it", label, r->path);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	st.snapfd = snapfd;
	st.path = r->path;
	st.name = last;
	wire_subtree_uuid(s->received_uuid, r->path, st.uuid);
	st.ctransid = s->ctransid;
	memset(&p, 0, sizeof(p));
	p.proto = serve_proto(c, 2);
	p.subtree = &st;
	log_info("%s: restore %s path %s (%s, stream v%u)", c->client, label,
	    r->path, S_ISDIR(sb.st_mode) ? "directory" : "file", p.proto);
	memset(&sv, 0, sizeof(sv));
	sv.client = c->client;
	sv.job = r->job;
	sv.name = last;
	sv.label = label;
	sv.p = &p;
	sv.flags = WIRE_BEGIN_SUBTREE;
	memcpy(sv.uuid, st.uuid, 16);
	sv.set_uuid = 1;
	sv.ctransid = s->ctransid;
	sv.zstd = (c->peer_caps & WIRE_CAP_ZSTD) != 0;
	/* A file's size is at hand; a directory's would take a walk. */
	sv.size_hint = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	rc = netsend_serve(c->w, &sv, &res);
	serve_done(c, label, rc, &res);
	return rc;
}

int
serve_restore(const struct serve_ctx *c, const struct wire_restore *r)
{
	struct serve_job j;
	char label[2 * WIRE_NAME_MAX + 2];
	size_t idx;
	int snapfd, rc;

	if (!wire_path_valid(r->path)) {
		wireio_fail(c->w, WIRE_E_PROTOCOL, "restore: the path is not "
		    "a relative path of plain components");
		return -1;
	}
	if (serve_job_open(c, r->job, &j) == -1)
		return serve_read_failed(c, "the job's directory");
	if (serve_snap_open(c, &j, r->snapshot, &idx, &snapfd) == -1) {
		serve_job_free(&j);
		return serve_not_found(c, "restore", r->job, r->snapshot);
	}
	snprintf(label, sizeof(label), "%s/%s", r->job, r->snapshot);
	if (r->path[0] == '\0')
		rc = serve_whole(c, r, &j, idx, snapfd, label);
	else
		rc = serve_subtree(c, r, &j, idx, snapfd, label);
	close(snapfd);
	serve_job_free(&j);
	return rc;
}
