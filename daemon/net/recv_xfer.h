/*
 * The receiving half of one transfer (docs/protocol.md §5), shared by the
 * two ends that receive: the backup host's receive worker (a client sends
 * a snapshot, daemon/net/recv_worker.c) and btrsendctl restore (the backup
 * host sends one back, daemon/ctl/ctl_restore.c, the roles turned).
 *
 * From BEGIN on, both do the same: a partial of the same stream is
 * resumed from its checkpoint, every command is checked against BEGIN
 * (recv_check.h) before the apply engine sees it, checkpoints are made
 * durable beside the apply and acked, END's totals and digest are checked
 * before the snapshot is finished, and a cut leaves an exact checkpoint.
 * What differs is given by the caller: the directory the snapshot lands
 * in, how it is named in messages, the apply options, and the policy for
 * parent and clone sources.
 */
#ifndef BTRSEND_DAEMON_NET_RECV_XFER_H
#define BTRSEND_DAEMON_NET_RECV_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include <zstd.h>

#include "daemon/net/recv_check.h"
#include "daemon/net/wireio.h"
#include "engine/apply.h"
#include "engine/apply_feed.h"
#include "proto/msg/wire.h"

struct checkpoint;
struct recv_xfer;

/*
 * Whether BEGIN's parent and clone sources may be used: 0, or -1 after
 * wireio_fail (denied, not-found).  Called once the engine is up
 * (x->a), before the BEGIN-REPLY.
 */
typedef int recv_xfer_sources_fn(struct recv_xfer *x, void *arg);

struct recv_xfer {
	struct wireio *w;
	const char *label;      /* who the peer is, first in log lines */
	const char *host;       /* "the backup host", "this host": who is full */
	/*
	 * The open transfer: its directory (the caller's fd, not closed
	 * here), that directory as the admin knows it, and where to rename
	 * or delete what blocks the snapshot's name.
	 */
	int dirfd;
	char where[4096];
	const char *held_hint;
	struct apply_opts opts;         /* besides what the transfer needs */
	uint64_t ckpt_bytes;            /* acknowledge every this many bytes */
	recv_xfer_sources_fn *sources;
	void *sources_arg;
	/* state */
	struct wire_begin begin;
	struct apply *a;
	struct apply_feed f;
	struct recv_check chk;
	uint64_t last_ckpt;             /* offset of the last checkpoint asked */
	uint64_t durable;               /* offset of the last one acked */
	uint64_t acked;                 /* ACKs sent, all transfers */
	bool ack_lost;                  /* an ACK could not be sent: cut */
	uint8_t *raw;                   /* decompressed DATA */
	ZSTD_DCtx *dctx;
};

/* Zeroed apart from what is given; -1 (ENOMEM) or 0. */
int  recv_xfer_init(struct recv_xfer *x, struct wireio *w, const char *label,
    const char *host);
void recv_xfer_free(struct recv_xfer *x);
/* Drop the open transfer, if any (the engine, BEGIN); not x->dirfd. */
void recv_xfer_reset(struct recv_xfer *x);
/* A transfer is open (BEGIN answered fresh or resume). */
bool recv_xfer_open(const struct recv_xfer *x);

/*
 * Whether x->dirfd holds BEGIN's snapshot complete: 1 when begin.name
 * there is a read-only subvolume received from the same snapshot
 * (received uuid and the source's ctransid), 0 when the name is free,
 * -1 (wireio_fail, naming what is there and x->held_hint) otherwise.
 */
int  recv_xfer_held(struct recv_xfer *x);

/*
 * BEGIN (x->begin set by the caller, x->dirfd its directory): the engine
 * up, the sources checked, a partial of the same stream resumed or one of
 * another discarded, and the BEGIN-REPLY (fresh or resume) sent.  The
 * caller has answered complete itself when recv_xfer_held said so.
 * 0, or -1 after wireio_fail.
 */
int  recv_xfer_begin(struct recv_xfer *x);
/* DATA: applied, a checkpoint started when due, ACKs for the durable. */
int  recv_xfer_data(struct recv_xfer *x, const struct wire_data *d);
/*
 * END: the rest applied, the totals and digest checked against what was
 * applied, the snapshot finished.  The caller then answers DONE
 * (recv_xfer_done).  0, or -1 after wireio_fail.
 */
int  recv_xfer_end(struct recv_xfer *x, const struct wire_point *pt);
/* DONE with pt and path; the transfer is reset.  0 or -1. */
int  recv_xfer_done(struct recv_xfer *x, const struct wire_point *pt,
    const char *path);
/*
 * Cut or failed mid-transfer: an exact checkpoint at the last command
 * applied, logged with the position a resume will start from.
 */
void recv_xfer_keep_partial(struct recv_xfer *x);

/*
 * Does the partial of checkpoint ck hold the stream BEGIN b announces?
 * Every stream parameter must agree: name, snapshot uuid and ctransid,
 * parent, send-stream version, flags, clone sources.
 */
bool recv_stream_matches(const struct wire_begin *b, const struct checkpoint *ck);

#endif
