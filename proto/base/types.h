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

#endif
