/*
 * Messages between btrsendd's parent and its workers, on the socketpair
 * the worker finds at IPC_WORKER_FD.  Framing is proto/msg/frame.h (header
 * type/len/peer/pid, payload bound checked before it is read).
 *
 * A conversation: both sides send IPC_HELLO with IPC_VERSION first and
 * refuse any other version; the parent sends one IPC_RUN; the worker
 * sends any number of IPC_PROGRESS, IPC_XFER and IPC_HELD and at most
 * one IPC_RESULT, then exits.  The exit status is authoritative for ok /
 * retry / failed; the result carries what happened (snapshot, error
 * text, per-target bytes and resumes) for logs, hooks and stats.
 *
 * Payload fields (proto/msg/codec.h), big-endian: u8/u32/u64 integers,
 * strings as u16 length and bytes (no NUL inside).
 */
#ifndef BTRSEND_PROTO_MSG_IPC_H
#define BTRSEND_PROTO_MSG_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/types.h"
#include "proto/msg/codec.h"
#include "proto/msg/frame.h"

#define IPC_VERSION	6	/* 3: XFER, HELD, timeout and sizes in RUN,
				   sizes in RESULT; 4: tyearly in RUN;
				   5: results are enum run_result;
				   6: last known base in RUN and HELD,
				   min-free in RUN */
#define IPC_WORKER_FD	3
#define IPC_STR_MAX	4096

enum ipc_type {
	IPC_HELLO = 1,		/* both ways: u32 version */
	/* parent -> worker */
	IPC_RUN,		/* struct ipc_run */
	/* worker -> parent */
	IPC_PROGRESS,		/* str: what the worker is doing */
	IPC_RESULT,		/* struct ipc_result */
	IPC_XFER,		/* struct ipc_xfer: numeric progress */
	IPC_HELD,		/* struct ipc_held: what a target holds */
	IPC_TYPE_END
};

#define IPC_TARGETS_MAX	16

/* A target of the job (conf_target resolved by the parent). */
struct ipc_target {
	char		*name;
	char		*host;
	uint32_t	 port;
	char		*cert_name;	/* expected peer certificate name */
	uint32_t	 timeout;	/* seconds, 0 = the default */
	uint64_t	 bandwidth;	/* bytes per second, 0 = unlimited */
	uint8_t		 zstd;
	uint64_t	 prev_bytes;	/* last good send's size, 0 unknown */
	/*
	 * What the target held at its last contact, for pruning while it
	 * cannot be asked: known 0 when nothing is known of it; else base,
	 * the newest snapshot of ours it held ("" none).
	 */
	uint8_t		 known;
	char		*base;
};

/* What a job run needs; only the parent reads the config. */
struct ipc_run {
	char		*job;
	char		*source;
	char		*snapshot_dir;
	int64_t		 now;		/* the run's time, names the snapshot */
	struct retention_policy keep_source;
	uint64_t	 min_free;	/* bytes before snapshotting, 0 off */
	uint32_t	 flags;		/* IPC_RUN_* */
	/* replication: send-to, with the tls block and keep-target */
	char		*tls_certificate, *tls_key, *tls_ca;	/* "" none */
	uint32_t	 proto;		/* 0 auto, else send-stream version */
	uint8_t		 compressed_data;
	struct retention_policy keep_target;
	uint32_t	 ntargets;	/* <= IPC_TARGETS_MAX */
	struct ipc_target *targets;
	/*
	 * A retry of a run that took this snapshot: send it again instead
	 * of taking another ("" none, or a name of the job's snapshot-dir).
	 */
	char		*resend;
	uint8_t		 if_changed;	/* snapshot-if-changed */
};
#define IPC_RUN_TEST_CRASH	0x1	/* test hook: die of SIGSEGV */
#define IPC_RUN_TEST_HANG	0x2	/* test hook: wait to be killed */
#define IPC_RUN_TEST_BABBLE	0x4	/* test hook: send an unknown type */

/* How replication to one target went. */
struct ipc_target_result {
	char		*name;
	uint8_t		 status;	/* RUN_OK, RUN_RETRY, RUN_FAILED */
	char		*parent;	/* incremental from, "" full or not sent */
	char		*error;		/* "" on success */
	uint64_t	 bytes;		/* stream bytes sent, all attempts */
	uint32_t	 resumes;	/* attempts that resumed a partial */
	uint32_t	 prune_refused;	/* the target's rules kept these */
};

struct ipc_result {
	uint8_t		 status;	/* RUN_OK, RUN_RETRY, RUN_FAILED */
	uint32_t	 pruned;	/* snapshots deleted */
	char		*snapshot;	/* name created, "" if none */
	char		*error;		/* "" on success */
	uint32_t	 ntargets;	/* <= IPC_TARGETS_MAX */
	struct ipc_target_result *targets;
};

/* Where a transfer stands; a worker sends a few per second at most. */
struct ipc_xfer {
	char		*phase;		/* "estimate", "send" */
	char		*target;
	char		*snapshot;
	uint64_t	 done;		/* stream bytes, from its start */
	uint64_t	 total;		/* 0 unknown */
	uint8_t		 total_src;	/* enum total_source */
	uint64_t	 resumed_at;	/* where this attempt resumed */
	uint32_t	 resumes;
};

#define IPC_HELD_MAX	4096		/* names per IPC_HELD */

/* The snapshots of the job a target reported holding (names). */
struct ipc_held {
	char		*target;
	uint32_t	 n;		/* <= IPC_HELD_MAX */
	char		**names;	/* each <= SNAP_NAME_MAX bytes */
	char		*base;		/* newest local one it holds, "" none */
};

/* Bounds derived from the message declarations in ipc.c. */
extern const struct frame_rules ipc_rules;
const char	*ipc_type_name(uint16_t type);

/*
 * Append a whole frame to b (which the caller frees with msgbuf_free).
 * 0, or -1, logged, with b as before: a string over IPC_STR_MAX or more
 * than IPC_TARGETS_MAX targets (the configuration's limits keep both
 * from happening).  ipc_put_held leaves out names longer than
 * SNAP_NAME_MAX, which cannot be snapshots.
 */
int	ipc_put_hello(struct msgbuf *b, uint32_t pid);
int	ipc_put_run(struct msgbuf *b, uint32_t pid, const struct ipc_run *);
int	ipc_put_progress(struct msgbuf *b, uint32_t pid, const char *what);
int	ipc_put_result(struct msgbuf *b, uint32_t pid,
	    const struct ipc_result *);
int	ipc_put_xfer(struct msgbuf *b, uint32_t pid, const struct ipc_xfer *);
int	ipc_put_held(struct msgbuf *b, uint32_t pid, const struct ipc_held *);

/*
 * Decode one payload of the given type.  0, or -1 with a message in err
 * (truncated, trailing bytes, bad string, wrong version).  Strings are
 * malloc'd; the *_free functions release them.
 */
int	ipc_get_hello(const uint8_t *p, size_t len, char *err, size_t errlen);
int	ipc_get_run(const uint8_t *p, size_t len, struct ipc_run *,
	    char *err, size_t errlen);
int	ipc_get_progress(const uint8_t *p, size_t len, char **what,
	    char *err, size_t errlen);
int	ipc_get_result(const uint8_t *p, size_t len, struct ipc_result *,
	    char *err, size_t errlen);
int	ipc_get_xfer(const uint8_t *p, size_t len, struct ipc_xfer *,
	    char *err, size_t errlen);
int	ipc_get_held(const uint8_t *p, size_t len, struct ipc_held *,
	    char *err, size_t errlen);
void	ipc_run_free(struct ipc_run *);
void	ipc_xfer_free(struct ipc_xfer *);
void	ipc_held_free(struct ipc_held *);
void	ipc_result_free(struct ipc_result *);

/* Blocking helpers for the worker side: write all of b; read one frame. */
int	ipc_write_all(int fd, const struct msgbuf *b);
int	ipc_read_frame(int fd, struct frame_decoder *d, char *err,
	    size_t errlen);

#endif
