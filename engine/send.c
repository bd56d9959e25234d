#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/fileattr.h"
#include "engine/send.h"
#include "engine/send_plan.h"
#include "engine/walk.h"

#define SEND_PIPE_SIZE  (1u << 20)
#define SEND_READ_CHUNK (256u << 10)
#define SEND_SYSFS_PROTO "/sys/fs/btrfs/features/send_stream_version"

struct send {
	struct send_plan plan;
	struct walk *walk;              /* a subtree: walked, not the ioctl */
	int *subvol_fds;                /* one per plan item, opened up front */
	int rfd, wfd;                   /* pipe: we read rfd, the kernel writes wfd */
	pthread_t thread;
	int thread_running;
	atomic_int cancel;
	/* Set by the ioctl thread before it closes wfd; read after join. */
	int ioctl_err;                  /* errno of the failed ioctl, 0 if none */
	size_t ioctl_failed;            /* plan index of that ioctl */
	size_t ioctl_done;              /* ioctls that completed */

	struct stream_reader reader;
	struct stream_cmd cmd;
	/*
	 * The flag pass of a full send (engine/fileattr.h): running while
	 * fa is set, the stream's END waiting in cmd meanwhile.
	 */
	struct fileattr_walk *fa;
	int fa_rootfd;
	struct stream_cmd facmd;
	int no_flags;                   /* send_estimate: flags carry no data */
	struct stream_digest digest;
	struct send_stats stats;
	uint8_t header[STREAM_HEADER_LEN];
	int eof, finished;
};

uint32_t
send_kernel_proto(void)
{
	char buf[32];
	unsigned long v;
	ssize_t n;
	int fd;

	if ((fd = open(SEND_SYSFS_PROTO, O_RDONLY | O_CLOEXEC)) == -1)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	v = strtoul(buf, NULL, 10);
	return v >= 1 && v <= STREAM_VERSION_MAX ? (uint32_t)v :
	    (v > STREAM_VERSION_MAX ? STREAM_VERSION_MAX : 1);
}

enum err_class
send_classify(int errnum)
{
	switch (errnum) {
	case 0:
		return ERR_NONE;
	case EAGAIN:            /* a dedupe runs on one of the roots */
	case EINTR:
	case ENOMEM:
	case ENOBUFS:
	case EBUSY:
	case EPIPE:             /* the consumer went away */
	case ECANCELED:
	case ETIMEDOUT:
		return ERR_TEMPORARY;
	case EPERM:             /* not read-only, being deleted, no CAP_SYS_ADMIN */
	case EACCES:
	case ENOENT:            /* no such subvolume / root id */
	case ENOTDIR:
	case ENOTTY:            /* not btrfs */
	case EINVAL:
	case EPROTO:            /* protocol the kernel does not have */
	case EOPNOTSUPP:
	case EXDEV:
	case EROFS:
	case EIO:
	case EBADMSG:           /* the stream failed its checks */
		return ERR_PERMANENT;
	default:
		/* A send only reads: retrying something unknown does no harm. */
		return ERR_TEMPORARY;
	}
}

static void *
send_thread(void *arg)
{
	struct send *s = arg;
	struct btrfs_ioctl_send_args a;
	struct send_plan_item *it;
	sigset_t set;
	size_t i;

	/*
	 * A write to a pipe whose reader is gone raises SIGPIPE at this
	 * thread; blocked, it stays pending here and dies with the thread.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < s->plan.n && !atomic_load(&s->cancel); i++) {
		it = &s->plan.items[i];
		memset(&a, 0, sizeof(a));
		a.send_fd = s->wfd;
		a.clone_sources = (__u64 *)it->clones;
		a.clone_sources_count = it->nclones;
		a.parent_root = it->parent_root;
		a.flags = s->plan.flags;
		a.version = s->plan.version;
		if (ioctl(s->subvol_fds[i], BTRFS_IOC_SEND, &a) == -1) {
			s->ioctl_err = errno;
			s->ioctl_failed = i;
			break;
		}
		s->ioctl_done++;
	}
	if (atomic_load(&s->cancel) && s->ioctl_err == 0 && i < s->plan.n) {
		s->ioctl_err = ECANCELED;
		s->ioctl_failed = i;
	}
	close(s->wfd);
	s->wfd = -1;
	return NULL;
}

/* The walker in place of the ioctls: the same pipe, the same errors. */
static void *
walk_thread(void *arg)
{
	struct send *s = arg;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	s->ioctl_err = walk_run(s->walk, s->wfd, &s->cancel);
	if (s->ioctl_err == 0)
		s->ioctl_done = 1;
	close(s->wfd);
	s->wfd = -1;
	return NULL;
}

/* A subtree stream is version 1 or 2 whatever the kernel offers. */
static uint32_t
subtree_version(const struct send_params *p)
{
	return p->proto == SEND_PROTO_AUTO ? 2 : p->proto;
}

/* One plan item naming the subtree: what send_describe reports. */
static int
subtree_plan(struct send *s, const struct send_params *p,
    struct send_error *e)
{
	struct send_subtree *st = p->subtree;

	if (walk_open(&s->walk, st, subtree_version(p), p->no_data, e) == -1)
		return -1;
	s->plan.items = xcalloc(1, sizeof(*s->plan.items));
	s->plan.n = 1;
	s->plan.items[0].path = xstrdup(*st->path ? st->path : st->name);
	memcpy(s->plan.items[0].uuid, st->uuid, 16);
	s->plan.version = subtree_version(p);
	s->plan.flags = SEND_FLAG_VERSION |
	    (p->no_data ? SEND_FLAG_NO_FILE_DATA : 0);
	s->subvol_fds = xcalloc(1, sizeof(int));
	s->subvol_fds[0] = -1;
	return 0;
}

static int
send_open_subvols(struct send *s, struct send_error *e)
{
	size_t i;

	s->subvol_fds = xcalloc(s->plan.n, sizeof(int));
	for (i = 0; i < s->plan.n; i++)
		s->subvol_fds[i] = -1;
	for (i = 0; i < s->plan.n; i++) {
		s->subvol_fds[i] = open(s->plan.items[i].path,
		    O_RDONLY | O_NOATIME | O_CLOEXEC);
		if (s->subvol_fds[i] == -1) {
			send_seterr(e, errno, "open %s", s->plan.items[i].path);
			return -1;
		}
	}
	return 0;
}

int
send_start(struct send **sp, const struct send_params *p, struct send_error *e)
{
	struct send *s;
	int fds[2], rc;

	*sp = NULL;
	s = xcalloc(1, sizeof(*s));
	s->rfd = s->wfd = s->fa_rootfd = -1;
	stream_digest_init(&s->digest);
	if (stream_reader_init(&s->reader, NULL) == -1) {
		send_seterr(e, ENOMEM, "stream reader");
		free(s);
		return -1;
	}
	if (p->subtree != NULL) {
		if (subtree_plan(s, p, e) == -1)
			goto fail;
	} else if (send_plan_make(p, &s->plan, e) == -1 ||
	    send_open_subvols(s, e) == -1)
		goto fail;
	if (pipe2(fds, O_CLOEXEC) == -1) {
		send_seterr(e, errno, "pipe");
		goto fail;
	}
	s->rfd = fds[0];
	s->wfd = fds[1];
	/* A bigger pipe means fewer wakeups; failure only costs speed. */
	(void)fcntl(s->rfd, F_SETPIPE_SZ,
	    (int)(p->pipe_size ? p->pipe_size : SEND_PIPE_SIZE));
	rc = pthread_create(&s->thread, NULL, s->walk != NULL ? walk_thread :
	    send_thread, s);
	if (rc != 0) {
		send_seterr(e, rc, "cannot start the send thread");
		goto fail;
	}
	s->thread_running = 1;
	*sp = s;
	return 0;
fail:
	send_free(s);
	return -1;
}

static void
send_join(struct send *s)
{
	if (!s->thread_running)
		return;
	pthread_join(s->thread, NULL);
	s->thread_running = 0;
}

/* The pipe ran dry: a failed ioctl explains a short stream best. */
static int
send_ioctl_result(struct send *s, struct send_error *e)
{
	send_join(s);
	if (s->ioctl_err == 0)
		return 0;
	if (s->walk != NULL)
		send_seterr_named(e, s->ioctl_err, "subtree %s of the snapshot: "
		    "%s", s->plan.items[0].path, walk_errmsg(s->walk));
	else if (s->ioctl_err == EAGAIN)
		send_seterr(e, EAGAIN, "send of %s: a deduplication is running "
		    "on one of the subvolumes; retry when it has finished",
		    s->plan.items[s->ioctl_failed].path);
	else if (s->ioctl_err == EPERM)
		send_seterr(e, EPERM, "send of %s refused: the snapshot, parent "
		    "and clone sources must be read-only and not being deleted, "
		    "and sending needs CAP_SYS_ADMIN",
		    s->plan.items[s->ioctl_failed].path);
	else
		send_seterr(e, s->ioctl_err, "send ioctl for %s failed after "
		    "%llu bytes", s->plan.items[s->ioctl_failed].path,
		    (unsigned long long)s->stats.bytes);
	return -1;
}

static int
send_fill(struct send *s, struct send_error *e)
{
	uint8_t *buf;
	size_t avail;
	ssize_t n;

	if ((buf = stream_reader_space(&s->reader, SEND_READ_CHUNK, &avail)) == NULL) {
		send_seterr(e, ENOMEM, "stream buffer");
		return -1;
	}
	do
		n = read(s->rfd, buf, avail);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		send_seterr(e, errno, "reading the send pipe");
		return -1;
	}
	if (n == 0) {
		if (send_ioctl_result(s, e) == -1)
			return -1;
		stream_reader_eof(&s->reader);
		s->eof = 1;
		return 0;
	}
	stream_reader_commit(&s->reader, (size_t)n);
	s->stats.bytes += (uint64_t)n;
	return 0;
}

static void
send_count_data(struct send *s, const struct stream_cmd *c)
{
	const uint8_t *p;
	uint32_t len;
	uint64_t v;

	switch (c->type) {
	case SEND_C_WRITE:
		if (stream_get_bytes(c, SEND_A_DATA, &p, &len) == 0)
			s->stats.data_bytes += len;
		break;
	case SEND_C_CLONE:
		if (stream_get_u64(c, SEND_A_CLONE_LEN, &v) == 0)
			s->stats.data_bytes += v;
		break;
	case SEND_C_ENCODED_WRITE:
		if (stream_get_u64(c, SEND_A_UNENCODED_FILE_LEN, &v) == 0)
			s->stats.data_bytes += v;
		break;
	case SEND_C_UPDATE_EXTENT:
		if (stream_get_u64(c, SEND_A_SIZE, &v) == 0)
			s->stats.data_bytes += v;
		break;
	}
}

/* Hand out one command: digest and counts as for the kernel's. */
static int
send_hand(struct send *s, struct send_unit *u, const struct stream_cmd *c)
{
	stream_digest_add(&s->digest, c->raw, STREAM_CMD_HEADER_LEN);
	s->stats.ncmds++;
	send_count_data(s, c);
	u->is_header = 0;
	u->raw = c->raw;
	u->len = STREAM_CMD_HEADER_LEN + (size_t)c->len;
	u->cmd = c;
	return 1;
}

/*
 * The kernel sends inode flags only in incremental sends (spec row 24):
 * a full send of version 2 or more gets them from the flag pass.
 */
static int
send_wants_flags(const struct send *s)
{
	size_t i = s->stats.nstreams - 1;

	return !s->no_flags && s->walk == NULL && s->reader.version >= 2 &&
	    s->stats.nstreams > 0 && i < s->plan.n &&
	    s->plan.items[i].parent_root == 0;
}

static int
send_flags_start(struct send *s, struct send_error *e)
{
	size_t i = s->stats.nstreams - 1;

	s->fa_rootfd = openat(s->subvol_fds[i], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (s->fa_rootfd == -1 ||
	    fileattr_walk_open(&s->fa, s->fa_rootfd, s->reader.version) == -1) {
		send_seterr(e, errno, "open %s for its inode flags",
		    s->plan.items[i].path);
		return -1;
	}
	return 0;
}

static void
send_flags_stop(struct send *s)
{
	fileattr_walk_free(s->fa);
	s->fa = NULL;
	if (s->fa_rootfd != -1)
		close(s->fa_rootfd);
	s->fa_rootfd = -1;
}

/* The next FILEATTR of the flag pass, or the END that waited for it. */
static int
send_flags_next(struct send *s, struct send_unit *u, struct send_error *e)
{
	size_t i = s->stats.nstreams - 1;
	int rc;

	rc = fileattr_walk_next(s->fa, &s->facmd);
	if (rc == -1) {
		send_seterr(e, errno, "send of %s: %s", s->plan.items[i].path,
		    fileattr_walk_errmsg(s->fa));
		send_flags_stop(s);
		return -1;
	}
	if (rc == 0) {
		send_flags_stop(s);
		return send_hand(s, u, &s->cmd);
	}
	s->facmd.index = s->stats.ncmds;
	s->facmd.offset = s->stats.bytes;
	s->stats.bytes += STREAM_CMD_HEADER_LEN + (uint64_t)s->facmd.len;
	return send_hand(s, u, &s->facmd);
}

int
send_next(struct send *s, struct send_unit *u, struct send_error *e)
{
	enum stream_event ev;

	memset(e, 0, sizeof(*e));
	if (s->finished)
		return 0;
	if (s->fa != NULL)
		return send_flags_next(s, u, e);
	for (;;) {
		ev = stream_reader_next(&s->reader, &s->cmd);
		switch (ev) {
		case STREAM_CMD:
			if (s->cmd.type == SEND_C_END && send_wants_flags(s)) {
				if (send_flags_start(s, e) == -1)
					return -1;
				return send_flags_next(s, u, e);
			}
			return send_hand(s, u, &s->cmd);
		case STREAM_HEADER:
			stream_header_encode(s->header, s->reader.version);
			stream_digest_add(&s->digest, s->header, STREAM_HEADER_LEN);
			s->stats.nstreams++;
			s->stats.version = s->reader.version;
			u->is_header = 1;
			u->raw = s->header;
			u->len = STREAM_HEADER_LEN;
			u->cmd = NULL;
			return 1;
		case STREAM_DONE:
			s->finished = 1;
			return 0;
		case STREAM_NEED_MORE:
			if (s->eof) {
				send_seterr(e, EBADMSG, "send stream ended early "
				    "at byte %llu", (unsigned long long)s->stats.bytes);
				return -1;
			}
			if (send_fill(s, e) == -1)
				return -1;
			break;
		case STREAM_ERROR:
		default:
			send_seterr(e, EBADMSG, "bad send stream from the kernel: "
			    "command %llu at byte %llu: %s",
			    (unsigned long long)s->reader.err.index,
			    (unsigned long long)s->reader.err.offset,
			    s->reader.err.msg);
			return -1;
		}
	}
}

int
send_skip(struct send *s, uint64_t ncmds, const struct stream_digest *want,
    struct send_error *e)
{
	struct send_unit u;
	char a[STREAM_DIGEST_HEXLEN], b[STREAM_DIGEST_HEXLEN];
	int rc;

	while (s->stats.ncmds < ncmds) {
		rc = send_next(s, &u, e);
		if (rc == -1)
			return -1;
		if (rc == 0) {
			send_seterr(e, 0, "cannot resume at command %llu: the "
			    "regenerated stream has only %llu commands; the "
			    "partial does not belong to this send, start over",
			    (unsigned long long)ncmds,
			    (unsigned long long)s->stats.ncmds);
			e->cls = ERR_PERMANENT;
			return -1;
		}
	}
	if (memcmp(s->digest.d, want->d, STREAM_DIGEST_LEN) != 0) {
		stream_digest_hex(&s->digest, a);
		stream_digest_hex(want, b);
		send_seterr(e, 0, "cannot resume at command %llu: digest of the "
		    "regenerated prefix is %s, the receiver has %s; the stream "
		    "changed (other kernel, snapshot or parameters), start over",
		    (unsigned long long)ncmds, a, b);
		e->cls = ERR_PERMANENT;
		return -1;
	}
	return 0;
}

size_t
send_nitems(const struct send *s)
{
	return s->plan.n;
}

int
send_describe(const struct send *s, size_t i, struct send_item_desc *d)
{
	const struct send_plan_item *it;

	if (i >= s->plan.n)
		return -1;
	it = &s->plan.items[i];
	memset(d, 0, sizeof(*d));
	d->path = it->path;
	memcpy(d->uuid, it->uuid, 16);
	d->has_parent = it->parent_root != 0;
	memcpy(d->parent_uuid, it->parent_uuid, 16);
	d->nclones = it->nclones;
	d->clone_uuids = (const uint8_t (*)[16])it->clone_uuids;
	d->flags = s->plan.flags;
	d->version = s->plan.version;
	return 0;
}

void
send_get_digest(const struct send *s, struct stream_digest *d)
{
	*d = s->digest;
}

void
send_get_stats(const struct send *s, struct send_stats *st)
{
	*st = s->stats;
}

void
send_free(struct send *s)
{
	size_t i;

	if (s == NULL)
		return;
	atomic_store(&s->cancel, 1);
	/* The kernel blocked in pipe_write gets EPIPE once no reader is left. */
	if (s->rfd != -1)
		close(s->rfd);
	send_join(s);
	if (s->wfd != -1)
		close(s->wfd);
	if (s->subvol_fds != NULL)
		for (i = 0; i < s->plan.n; i++)
			if (s->subvol_fds[i] != -1)
				close(s->subvol_fds[i]);
	free(s->subvol_fds);
	send_flags_stop(s);
	send_plan_free(&s->plan);
	walk_free(s->walk);
	stream_reader_free(&s->reader);
	free(s);
}

/* The data regions' bytes, counted without reading them or a stream. */
static int
subtree_estimate(const struct send_params *p, uint64_t *total,
    struct send_error *e)
{
	struct walk *w;
	int rc;

	if (walk_open(&w, p->subtree, subtree_version(p), 1, e) == -1)
		return -1;
	rc = walk_estimate(w, total);
	if (rc == -1)
		send_seterr_named(e, EIO, "subtree %s of the snapshot: %s",
		    *p->subtree->path ? p->subtree->path : p->subtree->name,
		    walk_errmsg(w));
	walk_free(w);
	return rc;
}

int
send_estimate(const struct send_params *p, uint64_t *total,
    struct send_error *e)
{
	struct send_params q = *p;
	struct send_unit u;
	struct send *s;
	int rc;

	q.no_data = 1;
	*total = 0;
	if (p->subtree != NULL)
		return subtree_estimate(p, total, e);
	if (send_start(&s, &q, e) == -1)
		return -1;
	s->no_flags = 1;
	while ((rc = send_next(s, &u, e)) == 1)
		;
	if (rc == 0)
		*total = s->stats.data_bytes;
	send_free(s);
	return rc;
}
