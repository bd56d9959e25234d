/*
 * The network sender (daemon/netsend.h): one snapshot streamed to a
 * btrsendd receiver over TLS, per docs/protocol.md.
 */
#include <sys/socket.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>
#include <zstd.h>

#include "proto/base/log.h"
#include "proto/base/testing.h"
#include "daemon/net/netsend.h"
#include "daemon/net/tls.h"
#include "daemon/net/wireio.h"
#include "engine/send.h"
#include "engine/snapshot.h"

#define NET_MAX_CLONES  WIRE_CLONES_MAX
#define NET_FRAME       (128u << 10)      /* raw bytes per DATA frame */
#define NET_TIMEOUT_MS  60000
/* Data bytes per WRITE command the kernel emits: v1, and v2 and later. */
#define NET_EST_WRITE_V1        (48u << 10)
#define NET_EST_WRITE_V2        (128u << 10)

enum { NET_EST_RUNNING, NET_EST_DONE, NET_EST_FAILED };

struct net_est {
	pthread_t th;
	bool running;                   /* started, not joined */
	atomic_int state;               /* NET_EST_* */
	struct send_params p;
	struct send_error e;
	uint64_t total;
	double secs;
};

struct netsend {
	const struct netsend_target *tg;
	const struct netsend_opts *o;
	struct netsend_result *res;
	const char *to, *job, *snapshot;
	uint64_t limit;
	bool zstd;
	/* one attempt */
	struct tls_conn t;
	struct wireio w;
	bool use_zstd;
	bool permanent;                 /* do not retry */
	bool restart;                   /* next BEGIN asks for a fresh start */
	bool restarted;                 /* it did once already */
	int timeout_ms;
	ZSTD_CCtx *cctx;
	uint8_t *frame, *zbuf;
	size_t flen;
	uint64_t f_index, f_offset, ncmds, bytes, acked;
	uint32_t f_ncmds;
	struct wire_point resume;       /* from the receiver's BEGIN-REPLY */
	struct timespec start, reported;
	/* progress, across attempts */
	struct net_est est;
	bool estimated;
	uint64_t total, resumed_at;
	enum total_source total_src;
	uint64_t sent_to;               /* furthest stream byte sent */
};

static void
net_say(struct netsend *n, const char *fmt, ...) LOG_PRINTF(2, 3);

/* An outcome line: stdout for btrsendctl, the log for the daemon. */
static void
net_say(struct netsend *n, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n->o->print) {
		fputs(line, stdout);
		return;
	}
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[len - 1] = '\0';
	log_info("%s", line);
}

/* connect(2), bounded by the timeout (a black-holed SYN takes minutes). */
static int
net_connect(int fd, const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd p = { fd, POLLOUT, 0 };
	socklen_t len = sizeof(int);
	int r, e = 0;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	do
		r = poll(&p, 1, timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		return -1;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

static int
net_dial(struct netsend *n)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, e;

	n->timeout_ms = n->tg->timeout_ms > 0 ? n->tg->timeout_ms :
	    NET_TIMEOUT_MS;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(n->tg->host, n->tg->port, &hints, &res)) != 0) {
		log_warnx("send: %s:%s: %s", n->tg->host, n->tg->port, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1)
			continue;
		if (net_connect(fd, ai, n->timeout_ms) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (fd == -1)
		log_warn("send: connect to %s:%s", n->tg->host, n->tg->port);
	return fd;
}

/* Fail the attempt; an ERROR from the receiver may forbid retrying. */
static int
net_fail(struct netsend *n)
{
	if (n->w.cls == ERR_PERMANENT)
		n->permanent = true;
	log_warnx("send to %s: %s", n->to, n->w.err);
	return -1;
}

/*
 * Sending failed.  A receiver that refuses a command sends ERROR and then
 * closes; the ERROR may be waiting unread while our write failed.  Read
 * for a moment so that the log says why, not just "connection closed".
 */
static int
net_fail_send(struct netsend *n)
{
	struct wire_msg m;
	char err[sizeof(n->w.err)];
	enum err_class cls = n->w.cls;

	if (n->w.peer_error == 0 && !n->w.fsm.closed && n->t.ssl != NULL &&
	    !n->t.timed_out) {
		memcpy(err, n->w.err, sizeof(err));
		n->t.timeout_ms = 2000;
		while (wireio_recv(&n->w, &m) == 0)
			wire_msg_free(&m);      /* ACKs still in flight */
		if (n->w.peer_error == 0) {
			memcpy(n->w.err, err, sizeof(err));
			n->w.cls = cls;
		}
	}
	return net_fail(n);
}

/* What LIST found: the newest snapshot held and every partial. */
static void
net_listed(struct netsend *n, const struct wire_list_reply *l)
{
	const struct wire_partial *p;
	char u[37];
	uint32_t i;

	if (l->nsnaps > 0) {
		uuid_unparse(l->snaps[l->nsnaps - 1].received.uuid, u);
		net_say(n, "%s holds %u snapshot%s of job %s, the last %s "
		    "(received uuid %s, ctransid %" PRIu64 ")\n", n->to,
		    l->nsnaps, l->nsnaps == 1 ? "" : "s", n->job,
		    l->snaps[l->nsnaps - 1].name, u,
		    l->snaps[l->nsnaps - 1].received.ctransid);
	} else
		net_say(n, "%s holds no snapshot of job %s\n", n->to, n->job);
	for (i = 0; i < l->npartials; i++) {
		p = &l->partials[i];
		uuid_unparse(p->id.snap.uuid, u);
		net_say(n, "%s holds a partial of %s (uuid %s, ctransid %"
		    PRIu64 ", %s, stream v%u, flags 0x%x, %u clone source%s) "
		    "at command %" PRIu64 ", byte %" PRIu64 "\n", n->to,
		    p->name, u, p->id.snap.ctransid, memcmp(&p->id.parent,
		    &(struct wire_ref){ 0 }, sizeof(p->id.parent)) ?
		    "incremental" : "full", p->id.version, p->id.flags,
		    p->id.nclones, p->id.nclones == 1 ? "" : "s",
		    p->point.index, p->point.offset);
	}
}

/* dir and base (each PATH_MAX) of a path. */
static void
net_split(const char *path, char *dir, char *base)
{
	char a[4096], b[4096];

	snprintf(a, sizeof(a), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	snprintf(dir, 4096, "%s", dirname(a));
	snprintf(base, 4096, "%s", basename(b));
}

static void
net_held_free(struct netsend_result *res)
{
	size_t i;

	for (i = 0; res->held_names != NULL && i < res->nheld; i++)
		free(res->held_names[i]);
	free(res->held_names);
	free(res->held);
	res->held_names = NULL;
	res->held = NULL;
	res->nheld = 0;
}

/* Without -p: parent and clones among what the receiver holds. */
static int
net_choose(struct netsend *n, char *parent, size_t plen,
    char clones[][4096], size_t *nclones)
{
	struct snap_info *local = NULL;
	struct wire_msg m;
	uint8_t (*held)[16] = NULL;
	char dir[4096], base[4096], err[256];
	size_t nlocal = 0, i, idx, pidx, cidx[16], nc = 0;
	int rc = -1;

	n->res->parent[0] = '\0';

	memset(&m, 0, sizeof(m));
	m.type = WIRE_LIST;
	snprintf(m.u.job, sizeof(m.u.job), "%s", n->job);
	if (wireio_send(&n->w, &m) == -1 || wireio_recv(&n->w, &m) == -1)
		return net_fail(n);
	net_held_free(n->res);
	n->res->nheld = m.u.list.nsnaps;
	n->res->held = xcalloc(m.u.list.nsnaps + 1, 16);
	n->res->held_names = xcalloc(m.u.list.nsnaps + 1, sizeof(char *));
	for (i = 0; i < m.u.list.nsnaps; i++) {
		memcpy(n->res->held[i], m.u.list.snaps[i].received.uuid, 16);
		n->res->held_names[i] = xstrdup(m.u.list.snaps[i].name);
	}
	n->res->listed = 1;
	net_listed(n, &m.u.list);
	net_split(n->snapshot, dir, base);
	if (snapshot_list(dir, n->job, &local, &nlocal, err, sizeof(err)) == -1) {
		log_warnx("send: %s", err);
		n->permanent = true;
		goto done;
	}
	for (idx = 0; idx < nlocal && strcmp(local[idx].name, base); idx++)
		;
	rc = 0;
	*nclones = 0;
	parent[0] = '\0';
	if (idx == nlocal || m.u.list.nsnaps == 0)
		goto done;
	held = xcalloc(m.u.list.nsnaps, 16);
	for (i = 0; i < m.u.list.nsnaps; i++)
		memcpy(held[i], m.u.list.snaps[i].received.uuid, 16);
	if (snap_choose(local, nlocal, idx, (const uint8_t (*)[16])held,
	    m.u.list.nsnaps, &pidx, cidx, 16, &nc) == 1) {
		frame_errf(parent, plen, "%s/%s", dir, local[pidx].name);
		for (i = 0; i < nc; i++)
			frame_errf(clones[i], 4096, "%s/%s", dir,
			    local[cidx[i]].name);
		*nclones = nc;
		snprintf(n->res->parent, sizeof(n->res->parent), "%s",
		    local[pidx].name);
		net_say(n, "%s: incremental from %s\n", base, local[pidx].name);
	}
done:
	free(held);
	free(local);
	wire_msg_free(&m);
	return rc;
}

static double
net_secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void net_est_collect(struct netsend *, bool);

/* Report to the callback: always when forced, else at a bounded rate. */
static void
net_progress(struct netsend *n, bool force, bool final)
{
	struct netsend_progress p;
	struct timespec now;

	net_est_collect(n, final);
	if (n->o->on_progress == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && net_secs(&n->reported, &now) * 1000 < NETSEND_PROGRESS_MS)
		return;
	n->reported = now;
	memset(&p, 0, sizeof(p));
	p.phase = "send";
	p.done = n->f_offset;
	p.total = n->total;
	p.total_src = n->total_src;
	p.estimate_secs = n->res->estimate_secs;
	p.resumed_at = n->resumed_at;
	p.resumes = n->res->resumes;
	p.secs = net_secs(&n->start, &now);
	p.final = final;
	n->o->on_progress(&p, n->o->progress_arg);
}

/*
 * The size the real stream will have, from a metadata-only pass
 * (NO_FILE_DATA): the kernel sends UPDATE_EXTENT (path, offset, size)
 * where it would send WRITEs of that range.  Each becomes size bytes of
 * data in WRITEs of at most NET_EST_WRITE_* bytes, each WRITE carrying
 * about the UPDATE_EXTENT's own overhead less its 12-byte size attribute
 * plus a 4-byte data attribute header.  CLONEs are sent as they will be.
 * Compressed extents sent with --compressed-data travel smaller than
 * this counts.
 *
 * It runs in a thread beside the real send: on many small files it costs
 * seconds (docs/metrics.md), which would otherwise delay the transfer
 * and idle the connection.
 */
static void *
net_estimate_main(void *arg)
{
	struct net_est *est = arg;
	struct send_unit u;
	struct send *s = NULL;
	struct timespec t0, t1;
	uint64_t sum = 0, size, chunk, nw;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (send_start(&s, &est->p, &est->e) == -1) {
		atomic_store(&est->state, NET_EST_FAILED);
		stream_digest_thread_done();
		return NULL;
	}
	while ((r = send_next(s, &u, &est->e)) == 1) {
		sum += u.len;
		if (u.is_header || u.cmd->type != SEND_C_UPDATE_EXTENT ||
		    stream_get_u64(u.cmd, SEND_A_SIZE, &size) == -1)
			continue;
		chunk = u.cmd->version >= 2 ? NET_EST_WRITE_V2 :
		    NET_EST_WRITE_V1;
		nw = (size + chunk - 1) / chunk;
		sum += size + nw * (u.len - 8) - u.len;
	}
	send_free(s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	est->total = sum;
	est->secs = net_secs(&t0, &t1);
	atomic_store(&est->state, r == 0 ? NET_EST_DONE : NET_EST_FAILED);
	stream_digest_thread_done();
	return NULL;
}

/* Take the estimate once it is there (or, with wait, once it ends). */
static void
net_est_collect(struct netsend *n, bool wait)
{
	struct net_est *est = &n->est;
	int st;

	if (!est->running)
		return;
	st = atomic_load(&est->state);
	if (st == NET_EST_RUNNING && !wait)
		return;
	pthread_join(est->th, NULL);
	est->running = false;
	if (atomic_load(&est->state) == NET_EST_DONE) {
		n->total = est->total;
		n->total_src = TOTAL_ESTIMATE;
		n->res->estimate_secs = est->secs;
		log_debug("send: %s: estimated %" PRIu64 " stream bytes in "
		    "%.3f s", n->snapshot, est->total, est->secs);
	} else
		log_warnx("send: %s: estimate pass: %s; the progress total is "
		    "%s", n->snapshot, est->e.msg, n->total_src ==
		    TOTAL_PREVIOUS ? "the previous run's size" :
		    "unknown");
}

/*
 * Once per netsend_run: the previous size at once, replaced by the
 * estimate when it comes.  p and what it points to outlive the thread:
 * net_attempt collects it before returning.
 */
static void
net_total(struct netsend *n, const struct send_params *p)
{
	struct net_est *est = &n->est;

	if (n->estimated)
		return;
	n->estimated = true;
	if (n->o->prev_total > 0) {
		n->total = n->o->prev_total;
		n->total_src = TOTAL_PREVIOUS;
	}
	if (!n->o->estimate)
		return;
	memset(est, 0, sizeof(*est));
	est->p = *p;
	est->p.no_data = 1;
	atomic_store(&est->state, NET_EST_RUNNING);
	if (pthread_create(&est->th, NULL, net_estimate_main, est) != 0) {
		log_warnx("send: %s: cannot start the estimate pass",
		    n->snapshot);
		return;
	}
	est->running = true;
}

/* Keep the average rate at or below the limit. */
static void
net_throttle(struct netsend *n)
{
	struct timespec now, ts;
	double secs, due;

	if (n->limit == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - n->start.tv_sec) +
	    (double)(now.tv_nsec - n->start.tv_nsec) / 1e9;
	due = (double)n->bytes / (double)n->limit;
	if (due > secs) {
		ts.tv_sec = (time_t)(due - secs);
		ts.tv_nsec = (long)((due - secs - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* Take any ACKs that arrived, without waiting. */
static int
net_poll_acks(struct netsend *n)
{
	struct wire_msg m;
	int r;

	while ((r = wireio_poll(&n->w, &m)) == 1) {
		if (m.type == WIRE_ACK)
			n->acked = m.u.point.index;
		wire_msg_free(&m);
	}
	return r == -1 ? net_fail(n) : 0;
}

static int
net_flush(struct netsend *n)
{
	struct wire_msg m;
	long z = -1;

	if (n->flen == 0)
		return 0;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_DATA;
	m.u.data.index = n->f_index;
	m.u.data.offset = n->f_offset;
	m.u.data.ncmds = n->f_ncmds;
	m.u.data.raw_len = (uint32_t)n->flen;
	m.u.data.body = n->frame;
	m.u.data.body_len = (uint32_t)n->flen;
	if (n->use_zstd)
		z = wire_zstd_compress(n->cctx, n->frame, n->flen, n->zbuf,
		    ZSTD_compressBound(WIRE_DATA_RAW_MAX));
	if (z > 0) {
		m.u.data.zstd = true;
		m.u.data.body = n->zbuf;
		m.u.data.body_len = (uint32_t)z;
	}
	if (wireio_send(&n->w, &m) == -1)
		return net_fail_send(n);
	n->bytes += n->flen;
	n->f_index += n->f_ncmds;
	n->f_offset += n->flen;
	if (n->f_offset > n->sent_to)
		n->sent_to = n->f_offset;
	n->flen = 0;
	n->f_ncmds = 0;
	net_throttle(n);
	net_progress(n, false, false);
	return net_poll_acks(n);
}

/*
 * TEST ONLY: BTRSEND_TEST_FLIP_AT=N flips the last byte of the Nth stream
 * command (counted from 0 as the receiver's errors count, header
 * not counted) after the kernel produced it and
 * the sender checked its CRC, once per process, so that the receiver's
 * CRC check is exercised behind TLS (tests/integration/net_corrupt.sh).
 * Test build only (proto/base/testing.h); unset, it costs one getenv.
 */
static uint64_t
net_test_flip_at(void)
{
	static int read;
	static uint64_t at;
	const char *v;

	if (!read) {
		read = 1;
		at = UINT64_MAX;
		if ((v = TEST_HOOK_ENV("BTRSEND_TEST_FLIP_AT")) != NULL)
			at = strtoull(v, NULL, 10);
	}
	return at;
}

static void
net_test_flip(struct netsend *n)
{
	static int flipped;

	if (flipped)
		return;
	flipped = 1;
	n->frame[n->flen - 1] ^= 0x01;
	log_warnx("send: TEST: flipped the last byte of command %llu",
	    (unsigned long long)n->ncmds);
}

/*
 * TEST ONLY: BTRSEND_TEST_PAUSE_AT=N:SECS makes the sender, once per
 * process, flush what it holds and then send nothing for SECS seconds
 * before command N (counted like BTRSEND_TEST_FLIP_AT), as a slow kernel
 * or a long fast-forward would: keepalives must carry the connection
 * (tests/integration/net_keepalive.sh).  Test build only; unset, it
 * costs one getenv.
 */
static int
net_test_pause(struct netsend *n)
{
	static int read, done;
	static uint64_t at = UINT64_MAX;
	static unsigned secs;
	const char *v;
	char *end;

	if (!read) {
		read = 1;
		if ((v = TEST_HOOK_ENV("BTRSEND_TEST_PAUSE_AT")) != NULL) {
			at = strtoull(v, &end, 10);
			secs = *end == ':' ? (unsigned)atoi(end + 1) : 0;
		}
	}
	if (done || n->ncmds != at)
		return 0;
	done = 1;
	if (net_flush(n) == -1)
		return -1;
	log_warnx("send: TEST: pausing %u s before command %llu", secs,
	    (unsigned long long)n->ncmds);
	sleep(secs);
	return 0;
}

static int
net_stream(struct netsend *n, struct send *s)
{
	struct send_unit u;
	struct send_error e;
	int r;

	while ((r = send_next(s, &u, &e)) == 1) {
		if (TEST_HOOKS && !u.is_header && net_test_pause(n) == -1)
			return -1;
		if (n->flen + u.len > WIRE_DATA_RAW_MAX ||
		    (n->flen >= NET_FRAME && n->f_ncmds > 0))
			if (net_flush(n) == -1)
				return -1;
		memcpy(n->frame + n->flen, u.raw, u.len);
		n->flen += u.len;
		if (TEST_HOOKS && !u.is_header &&
		    n->ncmds == net_test_flip_at())
			net_test_flip(n);
		if (!u.is_header) {
			n->f_ncmds++;
			n->ncmds++;
		}
	}
	if (r == -1) {
		log_warnx("send: %s", e.msg);
		n->permanent = e.cls == ERR_PERMANENT;
		return -1;
	}
	return net_flush(n);
}

static int
net_finish(struct netsend *n, struct send *s)
{
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_END;
	m.u.point.index = n->f_index;
	m.u.point.offset = n->f_offset;
	send_get_digest(s, &m.u.point.digest);
	if (wireio_send(&n->w, &m) == -1)
		return net_fail_send(n);
	for (;;) {
		if (wireio_recv(&n->w, &m) == -1)
			return net_fail(n);
		if (m.type == WIRE_DONE)
			break;
		wire_msg_free(&m);
	}
	n->res->stream_bytes = n->f_offset;
	net_progress(n, true, true);
	net_say(n, "%s: sent to %s as %s (%" PRIu64 " commands, %" PRIu64
	    " bytes)\n", n->snapshot, n->to, m.u.done.path, n->ncmds, n->bytes);
	wire_msg_free(&m);
	return 0;
}

static int
net_begin(struct netsend *n, struct send *s, const struct send_params *p)
{
	struct send_item_desc d;
	struct snap_info si;
	struct wire_msg m;
	char err[256] = "", base[4096], dir[4096];
	size_t i;

	if (send_describe(s, 0, &d) == -1 ||
	    snapshot_info(n->snapshot, &si, err, sizeof(err)) == -1) {
		log_warnx("send: %s", err);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.type = WIRE_BEGIN;
	net_split(n->snapshot, dir, base);
	snprintf(m.u.begin.job, sizeof(m.u.begin.job), "%s", n->job);
	frame_errf(m.u.begin.name, sizeof(m.u.begin.name), "%s", base);
	memcpy(m.u.begin.id.snap.uuid, d.uuid, 16);
	m.u.begin.id.snap.ctransid = si.ctransid;
	if (d.has_parent)
		memcpy(m.u.begin.id.parent.uuid, d.parent_uuid, 16);
	m.u.begin.id.nclones = (uint32_t)d.nclones;
	m.u.begin.id.clones = xcalloc(d.nclones + 1, sizeof(struct wire_ref));
	for (i = 0; i < d.nclones; i++)
		memcpy(m.u.begin.id.clones[i].uuid, d.clone_uuids[i], 16);
	m.u.begin.id.version = d.version;
	m.u.begin.id.flags = p->compressed_data ? WIRE_BEGIN_COMPRESSED_DATA : 0;
	if (n->restart)
		m.u.begin.id.flags |= WIRE_BEGIN_RESTART;
	if (wireio_send(&n->w, &m) == -1) {
		free(m.u.begin.id.clones);
		return net_fail(n);
	}
	free(m.u.begin.id.clones);
	if (wireio_recv(&n->w, &m) == -1)
		return net_fail(n);
	if (m.u.begin_reply.reason[0] != '\0')
		log_warnx("send: RECEIVER: %s", m.u.begin_reply.reason);
	n->restart = false;
	n->resume = m.u.begin_reply.point;
	return (int)m.u.begin_reply.status;
}

/* Regenerate up to the receiver's checkpoint; the digests must agree. */
static int
net_skip(struct netsend *n, struct send *s)
{
	struct send_error e;

	if (send_skip(s, n->resume.index, &n->resume.digest, &e) == -1) {
		if (e.cls != ERR_PERMANENT) {
			log_warnx("send: fast-forward of %s: %s", n->snapshot,
			    e.msg);
			wireio_fail(&n->w, WIRE_E_INTERNAL, "sender: %s", e.msg);
			return -1;
		}
		/*
		 * The receiver's partial is not a prefix of this stream (a
		 * damaged checkpoint, another kernel): never build on it.
		 */
		log_warnx("send: CANNOT RESUME %s at command %" PRIu64 " (byte "
		    "%" PRIu64 "): %s; asking the receiver to DISCARD its "
		    "partial and starting over", n->snapshot, n->resume.index,
		    n->resume.offset, e.msg);
		wireio_fail(&n->w, WIRE_E_STREAM, "sender cannot resume at "
		    "command %" PRIu64 ": %s; it will ask for a fresh start",
		    n->resume.index, e.msg);
		n->restart = true;
		return -1;
	}
	/*
	 * The digest chains every header, and each command header carries
	 * its length: equal digests mean equal offsets too.
	 */
	n->f_index = n->ncmds = n->resume.index;
	n->f_offset = n->resumed_at = n->resume.offset;
	n->res->resumes++;
	net_say(n, "%s: resuming at command %" PRIu64 ", byte %" PRIu64 "\n",
	    n->snapshot, n->resume.index, n->resume.offset);
	/* What an earlier attempt sent past the checkpoint goes again. */
	if (n->sent_to > 0)
		net_say(n, "%s: %" PRIu64 " bytes sent before the cut go "
		    "again\n", n->snapshot, n->sent_to > n->resume.offset ?
		    n->sent_to - n->resume.offset : 0);
	fflush(stdout);
	return 0;
}

static int
net_attempt(struct netsend *n, SSL_CTX *ctx)
{
	struct send_params p;
	struct send_error e;
	struct wire_hello peer;
	struct send *s = NULL;
	char parent[4096], clones[16][4096], err[512];
	const char *snaps[1] = { n->snapshot }, *cl[NET_MAX_CLONES];
	size_t nc = 0, i;
	int fd, rc = -1, st;

	if ((fd = net_dial(n)) == -1)
		return -1;
	if (tls_connect(&n->t, ctx, fd, n->tg->cert_name, n->timeout_ms, err,
	    sizeof(err)) == -1) {
		log_warnx("send to %s: %s", n->to, err);
		n->permanent = n->t.cls == ERR_PERMANENT;
		goto done;
	}
	wireio_init(&n->w, &n->t, WIRE_CLIENT);
	if (wireio_hello(&n->w, WIRE_CAP_ZSTD | WIRE_CAP_COMPRESSED_DATA,
	    STREAM_VERSION_MAX, &peer) == -1) {
		net_fail(n);
		goto done;
	}
	if (wireio_keepalive_start(&n->w, n->timeout_ms / 3) == -1)
		log_warn("send: keepalive thread");
	n->use_zstd = n->zstd && (peer.caps & WIRE_CAP_ZSTD);
	memset(&p, 0, sizeof(p));
	p.snapshots = snaps;
	p.nsnapshots = 1;
	p.proto = n->o->proto;
	p.compressed_data = n->o->compressed_data;
	p.parent = n->o->parent;
	p.clones = n->o->clones;
	p.nclones = n->o->nclones;
	if (n->o->parent == NULL) {
		if (net_choose(n, parent, sizeof(parent), clones, &nc) == -1)
			goto done;
		if (parent[0] != '\0') {
			p.parent = parent;
			for (i = 0; i < nc; i++)
				cl[i] = clones[i];
			p.clones = cl;
			p.nclones = nc;
		}
	}
	if (send_start(&s, &p, &e) == -1) {
		log_warnx("send: %s", e.msg);
		n->permanent = e.cls == ERR_PERMANENT;
		goto done;
	}
	if ((st = net_begin(n, s, &p)) == -1)
		goto done;
	if (st == WIRE_BEGIN_COMPLETE) {
		net_say(n, "%s: the receiver already holds it\n", n->snapshot);
		rc = 0;
		goto done;
	}
	n->flen = n->f_ncmds = 0;
	n->f_index = n->f_offset = n->ncmds = n->bytes = n->resumed_at = 0;
	net_total(n, &p);
	if (st == WIRE_BEGIN_RESUME && net_skip(n, s) == -1)
		goto done;
	clock_gettime(CLOCK_MONOTONIC, &n->start);
	net_progress(n, true, false);
	if (net_stream(n, s) == 0 && net_finish(n, s) == 0)
		rc = 0;
done:
	net_est_collect(n, true);
	if (s != NULL)
		send_free(s);
	if (n->w.in != NULL)
		wireio_free(&n->w);
	tls_close(&n->t);
	close(fd);
	/* A fresh start after a digest mismatch is no failed try. */
	if (rc == -1 && n->restart && !n->restarted) {
		n->restarted = true;
		return net_attempt(n, ctx);
	}
	return rc;
}

int
netsend_run(SSL_CTX *ctx, const struct netsend_target *tg, const char *job,
    const char *snapshot, const struct netsend_opts *o,
    struct netsend_result *res)
{
	struct netsend *n;
	int attempt, delay = 1, rc = -1;

	memset(res, 0, sizeof(*res));
	n = xcalloc(1, sizeof(*n));
	n->tg = tg;
	n->o = o;
	n->res = res;
	n->to = tg->label;
	n->job = job;
	n->snapshot = snapshot;
	n->limit = tg->bandwidth;
	n->zstd = tg->zstd != 0;
	n->t.fd = -1;
	signal(SIGPIPE, SIG_IGN);
	n->cctx = ZSTD_createCCtx();
	n->frame = xmalloc(WIRE_DATA_RAW_MAX);
	n->zbuf = xmalloc(ZSTD_compressBound(WIRE_DATA_RAW_MAX));
	for (attempt = 0; ; attempt++) {
		n->permanent = false;
		n->bytes = 0;
		rc = net_attempt(n, ctx);
		res->sent += n->bytes;
		if (rc == 0)
			break;
		if (n->permanent || attempt >= o->retries) {
			rc = -1;
			log_warnx("send: giving up on %s after %d attempt%s",
			    snapshot, attempt + 1, attempt ? "s" : "");
			break;
		}
		log_warnx("send: retrying in %d s (%d of %d)", delay,
		    attempt + 1, o->retries);
		sleep((unsigned)delay);
		delay = delay < 30 ? delay * 2 : 60;
	}
	res->ncmds = n->ncmds;
	res->bytes = n->bytes;
	res->cls = rc == 0 ? ERR_NONE : n->permanent ? ERR_PERMANENT :
	    ERR_TEMPORARY;
	res->total = n->total;
	res->total_src = n->total_src;
	ZSTD_freeCCtx(n->cctx);
	free(n->frame);
	free(n->zbuf);
	free(n);
	return rc;
}

void
netsend_result_free(struct netsend_result *res)
{
	net_held_free(res);
}

/*
 * A connection for one request (LIST, PRUNE): dialled, TLS up, hellos
 * exchanged.  The socket, or -1 (logged); close with net_close_request.
 */
static int
net_open_request(struct netsend *n, SSL_CTX *ctx, const char *what)
{
	static const struct netsend_opts quiet = { 0 };
	struct wire_hello peer;
	char err[512];
	int fd;

	n->o = &quiet;
	n->to = n->tg->label;
	n->t.fd = -1;
	if ((fd = net_dial(n)) == -1)
		return -1;
	if (tls_connect(&n->t, ctx, fd, n->tg->cert_name, n->timeout_ms, err,
	    sizeof(err)) == -1) {
		log_warnx("%s on %s: %s", what, n->tg->label, err);
		n->permanent = n->t.cls == ERR_PERMANENT;
		goto fail;
	}
	wireio_init(&n->w, &n->t, WIRE_CLIENT);
	if (wireio_hello(&n->w, 0, STREAM_VERSION_MAX, &peer) == -1) {
		net_fail(n);
		goto fail;
	}
	return fd;
fail:
	if (n->w.in != NULL)
		wireio_free(&n->w);
	tls_close(&n->t);
	close(fd);
	return -1;
}

static void
net_close_request(struct netsend *n, int fd)
{
	if (n->w.in != NULL)
		wireio_free(&n->w);
	tls_close(&n->t);
	close(fd);
}

int
netsend_list(SSL_CTX *ctx, const struct netsend_target *tg, const char *job,
    struct wire_msg *m, enum err_class *cls)
{
	struct netsend_result res;
	struct netsend n;
	int fd, rc = -1;

	memset(m, 0, sizeof(*m));
	memset(&n, 0, sizeof(n));
	memset(&res, 0, sizeof(res));
	n.tg = tg;
	n.res = &res;
	n.job = job;
	*cls = ERR_NONE;
	if ((fd = net_open_request(&n, ctx, "list")) == -1) {
		*cls = n.permanent ? ERR_PERMANENT : ERR_TEMPORARY;
		return -1;
	}
	m->type = WIRE_LIST;
	snprintf(m->u.job, sizeof(m->u.job), "%s", job);
	if (wireio_send(&n.w, m) == -1 || wireio_recv(&n.w, m) == -1) {
		memset(m, 0, sizeof(*m));
		net_fail(&n);
		*cls = n.permanent ? ERR_PERMANENT : ERR_TEMPORARY;
	} else
		rc = 0;
	net_close_request(&n, fd);
	return rc;
}

int
netsend_prune(SSL_CTX *ctx, const struct netsend_target *tg, const char *job,
    const struct retention_policy *p)
{
	struct netsend_result res;
	struct netsend n;
	struct wire_msg m;
	int fd, rc = -1;

	memset(&n, 0, sizeof(n));
	memset(&res, 0, sizeof(res));
	n.tg = tg;
	n.res = &res;
	n.job = job;
	if ((fd = net_open_request(&n, ctx, "prune")) == -1)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_PRUNE;
	snprintf(m.u.prune.job, sizeof(m.u.prune.job), "%s", job);
	m.u.prune.keep = *p;
	if (wireio_send(&n.w, &m) == -1 || wireio_recv(&n.w, &m) == -1) {
		net_fail(&n);
		goto done;
	}
	log_info("prune on %s: job %s: %u deleted, %u kept", tg->label, job,
	    m.u.prune_reply.deleted, m.u.prune_reply.kept);
	rc = (int)m.u.prune_reply.deleted;
	wire_msg_free(&m);
done:
	net_close_request(&n, fd);
	return rc;
}
