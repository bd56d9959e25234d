/*
 * The network sender: one snapshot of a job streamed to a btrsendd
 * receiver over TLS (docs/protocol.md).  Used by `btrsendctl send --to`
 * and by the daemon's job worker.  Without a parent it asks the receiver
 * what it holds (LIST) and lets snap_choose pick the parent and clone
 * sources; a partial on the receiver is resumed.  A lost connection is
 * retried with backoff up to opts->retries times.
 */
#ifndef BTRSEND_DAEMON_NETSEND_H
#define BTRSEND_DAEMON_NETSEND_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "proto/wire.h"

struct netsend_target {
	const char	*label;		/* in messages: what the user named */
	const char	*host, *port;
	const char	*cert_name;	/* expected peer certificate name */
	uint64_t	 bandwidth;	/* bytes per second, 0 = unlimited */
	int		 zstd;		/* compress DATA frames if the peer can */
	int		 timeout_ms;	/* silent or stalled peer; 0: 60 s */
};

struct netsend_opts {
	uint32_t	 proto;		/* SEND_PROTO_* or 1..3 */
	int		 compressed_data;
	int		 retries;
	const char	*parent;	/* NULL: choose from what the target holds */
	const char	**clones;
	size_t		 nclones;
	int		 progress;	/* a progress line on stderr */
	int		 print;		/* outcome lines on stdout, else log_info */
};

struct netsend_result {
	uint64_t	 ncmds, bytes;
	int		 permanent;	/* the last failure is not worth retrying */
	int		 listed;	/* held[] is what the target reported */
	uint8_t		 (*held)[16];	/* received uuids the target holds */
	size_t		 nheld;
	char		 parent[256];	/* name of the parent used, "" if full */
};

/*
 * Send snapshot (a path; its basename names it on the receiver) of job to
 * t.  ctx is a client context from tls_ctx_new.  0 when the receiver holds
 * it, -1 (logged) after the last attempt failed.  res->held is malloc'd:
 * free it with netsend_result_free.
 */
int	netsend_run(SSL_CTX *ctx, const struct netsend_target *t,
	    const char *job, const char *snapshot, const struct netsend_opts *,
	    struct netsend_result *res);
void	netsend_result_free(struct netsend_result *);

/*
 * Ask the receiver what it holds of job: *m becomes its LIST-REPLY (free
 * it with wire_msg_free).  0, or -1 (logged) when it could not be asked,
 * with *permanent set when asking again will not help.
 */
int	netsend_list(SSL_CTX *ctx, const struct netsend_target *t,
	    const char *job, struct wire_msg *m, int *permanent);

/*
 * Ask the receiver to prune job's snapshots by the keep-target policy.
 * The count it deleted, or -1 (logged).
 */
struct retention_policy;
int	netsend_prune(SSL_CTX *ctx, const struct netsend_target *t,
	    const char *job, const struct retention_policy *p);

#endif
