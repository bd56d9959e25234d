/*
 * Progress (netsend_impl.h): reports to the caller's callback at a
 * bounded rate, and their total, the previous run's size or the estimate
 * of a metadata-only send that runs in a thread beside the transfer.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "proto/base/log.h"
#include "daemon/net/netsend_impl.h"

/* Data bytes per WRITE command the kernel emits: v1, and v2 and later. */
#define NET_EST_WRITE_V1        (48u << 10)
#define NET_EST_WRITE_V2        (128u << 10)

double
net_secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Report to the callback: always when forced, else at a bounded rate. */
void
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
void
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
void
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
