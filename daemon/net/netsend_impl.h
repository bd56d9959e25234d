/*
 * Private to daemon/net/: the state of one netsend_run (or of one
 * request), shared by the files of the sender.  Not to be included
 * outside daemon/net/.
 *
 *   netsend.c  the transfer: attempts and retries, BEGIN (resume or not),
 *              fast-forward, END; outcome lines (net_say)
 *   stream.c   the data path: DATA frames, throttle, ACKs, test hooks
 *   progress.c the progress callback and its total (the estimate thread)
 *   choose.c   the LIST answer and the parent and clones it implies
 *   dial.c     a connection to the receiver, and failing it
 *   request.c  LIST, PRUNE, CATALOG and LS, each on a connection of its
 *              own
 *
 * The same transfer code serves a restore on the backup host
 * (netsend_serve): there the connection is the receive worker's, n->sv
 * is set, and the peer is the client that asked.
 */
#ifndef BTRSEND_DAEMON_NET_NETSEND_IMPL_H
#define BTRSEND_DAEMON_NET_NETSEND_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <zstd.h>

#include "proto/base/log.h"
#include "daemon/net/netsend.h"
#include "daemon/net/tls.h"
#include "daemon/net/wireio.h"
#include "engine/send.h"

#define NET_MAX_CLONES  WIRE_CLONES_MAX
#define NET_FRAME       (128u << 10)      /* raw bytes per DATA frame */
#define NET_TIMEOUT_MS  60000

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
	const struct netsend_serve *sv; /* serving a restore, else NULL */
	const char *what;               /* a request's failures: "WHAT on HOST" */
	/* one attempt */
	struct tls_conn t;
	struct wireio *w;               /* &wown, or the server's */
	struct wireio wown;
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

/* netsend.c */
void	net_say(struct netsend *n, const char *fmt, ...) LOG_PRINTF(2, 3);

/*
 * dial.c: net_open dials the target, brings TLS up and exchanges hellos
 * offering caps.  The socket, or -1 (logged; n->permanent when trying
 * again will not help) with nothing left open.  A TLS failure is logged
 * as "send to HOST" for a transfer (what NULL), else as "WHAT on HOST".
 * net_close closes what net_open opened.
 */
int	net_open(struct netsend *n, SSL_CTX *ctx, uint32_t caps,
	    const char *what, struct wire_hello *peer);
void	net_close(struct netsend *n, int fd);
int	net_fail(struct netsend *n);
int	net_fail_send(struct netsend *n);

/*
 * request.c: net_list asks, on n's connection, what the receiver holds of
 * n->job.  0 with *m its LIST-REPLY (free it with wire_msg_free), or -1
 * (net_fail) with *m zeroed.
 */
int	net_list(struct netsend *n, struct wire_msg *m);

/* choose.c */
void	net_split(const char *path, char *dir, char *base);
int	net_choose(struct netsend *n, char *parent, size_t plen,
	    char clones[][4096], size_t *nclones);

/* progress.c; net_secs is b - a in seconds */
double	net_secs(const struct timespec *a, const struct timespec *b);
void	net_progress(struct netsend *n, bool force, bool final);
void	net_est_collect(struct netsend *n, bool wait);
void	net_total(struct netsend *n, const struct send_params *p);

/* stream.c */
int	net_stream(struct netsend *n, struct send *s);

#endif
