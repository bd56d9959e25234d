/*
 * Value types more than one layer speaks of, declared once here so that
 * the stream format, the messages, the engine and the daemon share them
 * instead of keeping copies in step.
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
