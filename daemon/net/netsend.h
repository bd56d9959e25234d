/*
 * The network sender: one snapshot of a job streamed to a btrsendd
 * receiver over TLS (docs/protocol.md).  Used by `btrsendctl send --to`
 * and by the daemon's job worker.  Without a parent it asks the receiver
 * what it holds (LIST) and lets snap_choose pick the parent and clone
 * sources; a partial on the receiver is resumed.  A lost connection is
 * retried with backoff up to opts->retries times.
 */
#ifndef BTRSEND_DAEMON_NET_NETSEND_H
#define BTRSEND_DAEMON_NET_NETSEND_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "proto/msg/wire.h"

struct wireio;

struct netsend_target {
	const char	*label;		/* in messages: what the user named */
	const char	*host, *port;
	const char	*cert_name;	/* expected peer certificate name */
	uint64_t	 bandwidth;	/* bytes per second, 0 = unlimited */
	int		 zstd;		/* compress DATA frames if the peer can */
	int		 timeout_ms;	/* silent or stalled peer; 0: 60 s */
};

/* What a progress callback sees; bytes are stream bytes. */
struct netsend_progress {
	const char	*phase;		/* "estimate", "send" */
	uint64_t	 done;		/* from the start of the stream */
	uint64_t	 total;		/* 0 unknown */
	enum total_source total_src;
	double		 estimate_secs;	/* what the estimate pass cost */
	uint64_t	 resumed_at;	/* where this attempt started */
	uint32_t	 resumes;	/* attempts that resumed, so far */
	double		 secs;		/* since this attempt began streaming */
	int		 final;		/* the receiver has it all */
};

typedef void netsend_progress_fn(const struct netsend_progress *, void *);

#define NETSEND_PROGRESS_MS	250	/* at most 4 reports a second */

struct netsend_opts {
	uint32_t	 proto;		/* SEND_PROTO_* or 1..3 */
	int		 compressed_data;
	int		 retries;
	const char	*parent;	/* NULL: choose from what the target holds */
	const char	**clones;
	size_t		 nclones;
	int		 print;		/* outcome lines on stdout, else log_info */
	/*
	 * Progress: on_progress (if set) is called at the start of each
	 * attempt's streaming, at most every NETSEND_PROGRESS_MS, and when
	 * done.  The total is the estimate pass's when estimate is set and
	 * it succeeds, else prev_total when not 0, else unknown.
	 */
	netsend_progress_fn *on_progress;
	void		*progress_arg;
	int		 estimate;
	uint64_t	 prev_total;
};

struct netsend_result {
	uint64_t	 ncmds, bytes;	/* of the last attempt */
	uint64_t	 sent;		/* stream bytes sent, all attempts */
	uint64_t	 stream_bytes;	/* the whole stream, once sent */
	uint32_t	 resumes;	/* attempts that resumed a partial */
	uint64_t	 total;		/* the progress total, 0 unknown */
	enum total_source total_src;
	double		 estimate_secs;	/* the estimate pass took */
	enum err_class	 cls;		/* ERR_NONE, else ERR_PERMANENT when the
					   last failure is not worth retrying,
					   else ERR_TEMPORARY */
	int		 already;	/* the target held it complete: nothing
					   sent (BEGIN-REPLY complete) */
	int		 listed;	/* held[] is what the target reported */
	uint8_t		 (*held)[16];	/* received uuids the target holds */
	char		**held_names;	/* their names, nheld of them */
	size_t		 nheld;
	char		 parent[SNAP_NAME_MAX + 1];	/* the parent used, "" if full */
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
 * with *cls ERR_PERMANENT when asking again will not help, else
 * ERR_TEMPORARY.
 */
int	netsend_list(SSL_CTX *ctx, const struct netsend_target *t,
	    const char *job, struct wire_msg *m, enum err_class *cls);

/* What the backup host refused to delete of a PRUNE, and why. */
struct netsend_refused {
	uint32_t	 n;
	char		 reason[WIRE_TEXT_MAX + 1];
};

/*
 * Ask the receiver to prune job's snapshots by the keep-target policy.
 * The count it deleted, or -1 (logged).  refused (or NULL) gets what the
 * backup host's rules kept (logged, information, not a failure).
 */
int	netsend_prune(SSL_CTX *ctx, const struct netsend_target *t,
	    const char *job, const struct retention_policy *p,
	    struct netsend_refused *refused);

/*
 * Ask the backup host for the complete snapshots of job it holds for us
 * (CATALOG): *m becomes its CATALOG-REPLY, oldest first (free it with
 * wire_msg_free).  0, or -1 (logged) with *cls as for netsend_list.  An
 * unknown job is an empty catalog, not an error.
 */
int	netsend_catalog(SSL_CTX *ctx, const struct netsend_target *t,
	    const char *job, struct wire_msg *m, enum err_class *cls);

/*
 * The entries of path ("" the root) in snapshot of job on the backup
 * host (LS), page by page on one connection: fn gets each page's
 * entries, checked (a name of 1 to 255 bytes without '/', not "." or
 * ".."; a page that does not advance or a total past NETSEND_LS_TOTAL_MAX
 * ends it), and returns 0 to go on, -1 to stop (then netsend_ls returns
 * -1, *cls ERR_PERMANENT, nothing logged).  A path naming a file, a
 * symlink or a special file is one entry for itself.  0, or -1 (logged)
 * with *cls as for netsend_list: the backup host's ERROR, such as "no
 * snapshot ..." (not found, also for what another client holds) or a
 * symlink in the path (denied), is ERR_PERMANENT.
 */
#define NETSEND_LS_TOTAL_MAX	(16u << 20)	/* entries in one listing */

typedef int netsend_ls_fn(const struct wire_ls_entry *e, size_t n, void *arg);
int	netsend_ls(SSL_CTX *ctx, const struct netsend_target *t,
	    const char *job, const char *snapshot, const char *path,
	    netsend_ls_fn *fn, void *arg, enum err_class *cls);

/*
 * The backup host's side of a restore (daemon/net/serve.c): the sending
 * half of a transfer, over the receive worker's own connection, whose
 * roles have turned (docs/protocol.md, "Restore").  BEGIN is made from
 * what follows and the stream's own description; then the client's
 * BEGIN-REPLY (fresh, resume at a checkpoint after fast-forwarding to
 * it, or complete), DATA with its ACKs, END, and DONE.
 */
struct send_params;
struct netsend_serve {
	const char	*client;	/* the peer's name, in messages */
	const char	*job, *name;	/* BEGIN's job and snapshot name */
	const char	*label;		/* the snapshot in messages */
	const struct send_params *p;	/* what to send */
	uint32_t	 flags;		/* more WIRE_BEGIN_* (SUBTREE...) */
	uint8_t		 uuid[16];	/* BEGIN's snapshot ref: uuid, */
	uint64_t	 ctransid;	/* ctransid */
	int		 set_uuid;	/* uuid is given, else the stream's */
	int		 zstd;		/* the peer takes zstd DATA frames */
	uint64_t	 size_hint;	/* BEGIN's, when estimate_ms is 0 */
	/*
	 * > 0: run the metadata-only estimate pass beside the send and
	 * wait up to this long for it before BEGIN, for the size hint.
	 */
	int		 estimate_ms;
};

/*
 * 0 once the client holds it (DONE, or BEGIN-REPLY complete: then
 * res->already), -1 (logged; the peer told with ERROR when it is still
 * there) otherwise.  res->resumes, ->bytes, ->ncmds, ->stream_bytes say
 * what went.
 */
int	netsend_serve(struct wireio *w, const struct netsend_serve *sv,
	    struct netsend_result *res);

#endif
