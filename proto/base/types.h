/*
 * Value types more than one layer speaks of, declared once here so that
 * the stream format, the messages, the engine and the daemon share them
 * instead of keeping copies in step.  Where a value leaves the process
 * (control protocol, IPC, state and history files, exit statuses) its
 * number or name is pinned below or in types.c: they must not change.
 */
#ifndef BTRSEND_PROTO_BASE_TYPES_H
#define BTRSEND_PROTO_BASE_TYPES_H

#include <stdint.h>

/*
 * The running digest of a stream prefix (proto/stream/digest.h computes
 * it); checkpoints store it and the wire protocol carries it.
 */
#define STREAM_DIGEST_LEN 32
#define STREAM_DIGEST_HEXLEN (2 * STREAM_DIGEST_LEN + 1)

struct stream_digest {
	uint8_t d[STREAM_DIGEST_LEN];
};

/*
 * Name limits, in bytes without the NUL.  JOB_NAME_MAX bounds job and
 * target names (btrsend.conf(5) refuses longer ones; they become parts of
 * snapshot names, receive directories, state and history entries).
 * SNAP_NAME_MAX bounds a snapshot or subvolume name, one path component:
 * the wire, IPC and control fields that carry names hold this many.
 */
#define JOB_NAME_MAX	64
#define SNAP_NAME_MAX	255

/*
 * How a job run, or one target of it, went; RUN_NEVER and RUN_RUNNING
 * only describe where a job stands.  The numbers are the control
 * protocol's and the IPC's result bytes; run_result_name() is the word of
 * the state and history files and of --json.  A worker's exit status
 * says ok, retry or failed (run_result_exit).
 */
enum run_result {
	RUN_NEVER = 0,
	RUN_OK = 1,
	RUN_RETRY = 2,		/* temporary: try again later, with backoff */
	RUN_FAILED = 3,
	RUN_RUNNING = 4,
	RUN_RESULT_END
};

/* Exit statuses of a worker for RUN_OK, RUN_FAILED and RUN_RETRY. */
#define RUN_EXIT_OK	0
#define RUN_EXIT_FAILED	1
#define RUN_EXIT_RETRY	75	/* EX_TEMPFAIL */

/* "never", "ok", "retry", "failed", "running"; "unknown" out of range. */
const char	*run_result_name(enum run_result);
/* The result a name stands for; -1 when it names none. */
int		 run_result_parse(const char *, enum run_result *);
/* RUN_OK, RUN_RETRY or RUN_FAILED: how a finished run can end. */
int		 run_result_final(enum run_result);
int		 run_result_exit(enum run_result);

/*
 * Where a transfer's progress total comes from.  The numbers are the IPC
 * and control protocol's bytes; total_source_name() is --json's word.
 */
enum total_source {
	TOTAL_UNKNOWN = 0,
	TOTAL_ESTIMATE = 1,	/* a metadata-only estimate pass */
	TOTAL_PREVIOUS = 2,	/* the previous good send's size */
	TOTAL_SOURCE_END
};

/* "unknown", "estimate", "previous". */
const char	*total_source_name(enum total_source);

/*
 * What kind of failure an error is, decided where it arises and carried
 * beside its message, so that no decision reads the message.
 */
enum err_class {
	ERR_NONE = 0,
	ERR_TEMPORARY,		/* the same request may succeed later */
	ERR_PERMANENT,		/* fix something first: a retry would fail */
	ERR_CLOSED,		/* the peer closed the connection */
};

/* "ok", "temporary", "permanent", "closed". */
const char	*err_class_name(enum err_class);
/* What a run that failed so ends as: RUN_RETRY or RUN_FAILED. */
enum run_result	 err_class_result(enum err_class);

/*
 * A retention policy (keep-source, keep-target; docs/retention.md): keep
 * the newest snapshot of each of the last `hourly` hours, `daily` days,
 * `weekly` ISO weeks, `monthly` months and `yearly` years that hold one,
 * and every snapshot younger than min_age.  The configuration, the job
 * run (IPC_RUN), the PRUNE request and the retention arithmetic
 * (engine/retention.h) all speak of this one value.
 *
 * set: the block was given.  An unset policy prunes nothing; a set one
 * has at least one count or min_age non-zero.  PRUNE does not carry it
 * (only a given keep-target is sent), so there it is 0.
 */
struct retention_policy {
	uint8_t		 set;
	uint32_t	 hourly, daily, weekly, monthly, yearly;
	uint64_t	 min_age;	/* seconds, 0 = none */
};

#endif
