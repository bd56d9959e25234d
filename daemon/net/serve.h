/*
 * The backup host serves reads of a client's own area (docs/protocol.md,
 * "How the backup host serves reads"): CATALOG lists the complete
 * snapshots of a job, LS the entries of a directory in one, RESTORE sends
 * one back, whole (a kernel send, incremental from a base the client
 * holds) or a subtree of it.  Everything is reached beneath the client's
 * area, root/<client>/, one component at a time without following
 * symbolic links; nothing is created, written or locked there.  What
 * another client holds does not exist for this one: the answers are
 * those for a name that does not exist.
 *
 * Each function answers one request on the receive worker's connection:
 * 0 to go on serving, -1 when the connection must end (the peer was told
 * with ERROR when it is still there; w->err says why).
 */
#ifndef BTRSEND_DAEMON_NET_SERVE_H
#define BTRSEND_DAEMON_NET_SERVE_H

#include <stdint.h>

#include "daemon/net/wireio.h"
#include "proto/msg/wire.h"

#define SERVE_LS_PAGE_BYTES     (1u << 20)      /* payload of one LS page */
#define SERVE_LS_PAGE_ENTRIES   4096            /* entries of one LS page */
#define SERVE_ESTIMATE_MS       2000    /* BEGIN waits this for its size hint */

struct serve_ctx {
	struct wireio *w;
	int areafd;                     /* root/<client>, the only way in */
	const char *client;             /* the peer's certificate name */
	const char *root;               /* the receive root, for messages */
	uint32_t peer_caps;             /* its HELLO's */
	uint32_t peer_stream_max;
};

int serve_catalog(const struct serve_ctx *c, const char *job);
int serve_ls(const struct serve_ctx *c, const struct wire_ls *ls);
int serve_restore(const struct serve_ctx *c, const struct wire_restore *r);

/*
 * Pure parts, for tests: the base of a whole restore of snaps[idx] (the
 * job's complete snapshots, oldest first): the newest older one that is
 * unchanged since received and whose received uuid or own uuid the
 * client has.  Its index, or n when there is none (a full send).
 */
struct snap_info;
size_t serve_choose_base(const struct snap_info *snaps, size_t n, size_t idx,
    const struct wire_ref *have, size_t nhave);

#endif
