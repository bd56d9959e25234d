/*
 * The receive worker: one TLS connection from one client, in a process of
 * its own, started once the client is authenticated (the parent ran the
 * handshake, daemon/handshake.h).  It confines the client to
 * root/<client>/, answers LIST and PRUNE, and receives transfers with the
 * receiving half it shares with btrsendctl restore (recv_xfer.h):
 * snapshots land in root/<client>/<job>/<snapshot-name>; at each
 * checkpoint the state is made durable first, then acknowledged.
 */
#ifndef BTRSEND_DAEMON_NET_RECV_WORKER_H
#define BTRSEND_DAEMON_NET_RECV_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/net/tls.h"
#include "engine/prune.h"

#define RECV_TIMEOUT_MS_DEFAULT 60000
#define RECV_CKPT_BYTES_DEFAULT (64ull << 20)
#define RECV_LOCK_WAIT_MS       30000   /* for an earlier worker to finish */

struct recv_params {
	const char *root;               /* the receive block's root */
	int timeout_ms;
	uint64_t ckpt_bytes;            /* acknowledge every this many bytes */
	struct prune_authority authority; /* this client's, over its PRUNE */
};

struct checkpoint;
struct wire_begin;
struct wire_partial;

/* recv_stream_matches: daemon/net/recv_xfer.h, the receiving half. */
bool recv_stream_matches(const struct wire_begin *b, const struct checkpoint *ck);
/* The partial of ck as LIST-REPLY carries it; free p->id.clones. */
void recv_partial_describe(const struct checkpoint *ck, struct wire_partial *p);

/*
 * Serve one authenticated connection (tls_accepted done, the client's
 * name in t->peer), which is the worker's from here on: closed at the
 * end, fd and all.  The exit status for the worker.
 */
int recv_worker_run(struct tls_conn *t, const struct recv_params *p);

#endif
