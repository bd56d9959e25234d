/*
 * The client side of a restore (docs/protocol.md, "Restore"): a snapshot
 * of a job, or a subtree of one, brought back from the backup host that
 * holds it, over the turned transfer: the client asks (CATALOG, then
 * RESTORE with the subvolumes it offers as bases), the backup host sends
 * (BEGIN, DATA, END) and the client receives as a receive worker does
 * (recv_xfer.h): checked against BEGIN, checkpointed, acked, resumed after
 * a cut.  Used by btrsendctl restore (daemon/ctl/ctl_restore.c), which
 * checks DEST and confines the process first.
 */
#ifndef BTRSEND_DAEMON_NET_NETRESTORE_H
#define BTRSEND_DAEMON_NET_NETRESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "daemon/net/netsend.h"
#include "engine/apply.h"
#include "proto/msg/wire.h"

/* A subvolume beneath DEST offered as a base: its refs, its name. */
struct netrestore_have {
	char name[4096];                /* beneath the top of DEST's fs */
	struct wire_ref self;           /* uuid, ctransid */
	struct wire_ref received;       /* all zero when not received */
	uint64_t since;                 /* rtransid or otransid: recency */
};

struct netrestore_opts {
	const char *job;
	const char *snapshot;           /* a name, or "latest" */
	const char *path;               /* "" or NULL: the whole snapshot */
	int destfd;                     /* DEST, open */
	int fsfd;                       /* the top of its filesystem, or -1 */
	const char *dest;               /* DEST as the user gave it */
	const struct netrestore_have *have;     /* newest first */
	size_t nhave;
	int retries;
	int zstd;                       /* take zstd DATA (the target's compress) */
	uint64_t ckpt_bytes;            /* 0: the default */
	struct apply_opts apply;        /* plain_dir for a subtree */
	netsend_progress_fn *on_progress;
	void *progress_arg;
};

struct netrestore_result {
	char name[WIRE_NAME_MAX + 1];   /* the snapshot restored */
	char landed[WIRE_NAME_MAX + 1]; /* DEST/<landed> */
	char base[4096];                /* the have entry used as parent, "" */
	uint64_t bytes;                 /* the whole stream */
	uint64_t received;              /* stream bytes received, all attempts */
	uint32_t resumes;
	int already;                    /* DEST held it already: nothing sent */
	/* a subtree: what the destination could not hold (apply_warnings) */
	char warnings[4096];
	enum err_class cls;
};

/*
 * The read-only subvolumes beneath fsfd (the top of DEST's filesystem)
 * that may serve as bases (unchanged since received or created), newest
 * first, at most as many as give WIRE_HAVE_MAX refs; names relative to
 * fsfd.  *out is malloc'd.  0, or -1 with err.
 */
int	netrestore_offers(int fsfd, struct netrestore_have **out, size_t *n,
	    char *err, size_t errlen);

/*
 * Restore per o from t.  ctx is a client context from tls_ctx_new.  0 when
 * DEST holds it (res->already when it did before), -1 (logged) after the
 * last attempt failed.
 */
int	netrestore_run(SSL_CTX *ctx, const struct netsend_target *t,
	    const struct netrestore_opts *o, struct netrestore_result *res);

#endif
