/*
 * Running digest of a stream prefix.  It proves that a regenerated stream
 * matches the prefix a receiver already applied (resume).
 *
 * d(0) = 32 zero bytes; d(n) = SHA-256(d(n-1) || h(n)), where h(n) is the
 * n-th framing unit exactly as on the wire: a 17-byte stream header or a
 * 10-byte command header.  A command header carries the CRC32C of the whole
 * command, so every payload byte is covered, yet hashing costs one SHA-256
 * block per command instead of one pass over the data; and the state is 32
 * bytes, so a checkpoint can store it and carry on after a restart.
 */
#ifndef BTRSEND_PROTO_STREAM_DIGEST_H
#define BTRSEND_PROTO_STREAM_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/types.h"

void stream_digest_init(struct stream_digest *d);
/* Fold one framing unit (stream header or command header) into d. */
void stream_digest_add(struct stream_digest *d, const void *unit, size_t len);
/* Free the calling thread's digest context: before a thread exits. */
void stream_digest_thread_done(void);
void stream_digest_hex(const struct stream_digest *d, char out[STREAM_DIGEST_HEXLEN]);
/* 0 on success, -1 when hex is not 64 hex digits. */
int  stream_digest_parse(struct stream_digest *d, const char *hex);

#endif
