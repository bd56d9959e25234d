/*
 * Typed, length-prefixed frames: the one framing used on the network
 * (proto/msg/wire.h), between the daemon's parent and its workers, and on the
 * control socket.  In the manner of imsg: a small fixed header, a payload
 * whose size is checked against the caller's bound and the type against
 * the caller's table BEFORE a single payload byte is accepted.
 *
 * Header, 16 bytes, integers big-endian:
 *   0  u16 type     message type (the channel's own enum)
 *   2  u16 flags    per-type flags (e.g. payload compressed)
 *   4  u32 len      payload bytes following the header
 *   8  u32 peer     peer/transfer id (0 on the network)
 *  12  u32 pid      sender's pid (0 on the network)
 */
#ifndef BTRSEND_PROTO_MSG_FRAME_H
#define BTRSEND_PROTO_MSG_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_LEN 16

struct frame_hdr {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint32_t peer;
	uint32_t pid;
};

/*
 * Per channel: is a type known, and the largest payload it may carry.
 * refused, if set, names why a known type is not accepted on this end
 * (a message only this end sends): NULL when it is accepted.
 */
struct frame_rules {
	bool (*known)(uint16_t type);
	uint32_t (*max_len)(uint16_t type);
	const char *(*refused)(uint16_t type);
};

void frame_hdr_encode(uint8_t out[FRAME_HEADER_LEN], const struct frame_hdr *h);
void frame_hdr_decode(struct frame_hdr *h, const uint8_t in[FRAME_HEADER_LEN]);
/*
 * 0, or -1 with a message in err: unknown type, refused type or payload
 * over bound.
 */
int  frame_hdr_check(const struct frame_hdr *h, const struct frame_rules *r,
    char *err, size_t errlen);

enum frame_event {
	FRAME_ERROR = -1,       /* see decoder err; the decoder is stuck */
	FRAME_NEED_MORE = 0,
	FRAME_READY = 1,        /* hdr and payload hold one frame */
};

/*
 * Incremental decoder over arbitrary chunks.  The payload buffer grows
 * only up to the bound of the frame being read, so a peer can make us
 * hold at most one maximal frame.
 */
struct frame_decoder {
	/* public, read-only after FRAME_READY */
	struct frame_hdr hdr;
	const uint8_t *payload; /* hdr.len bytes; valid until the next push,
				   space or adopt */
	uint64_t nframes;       /* frames decoded */
	uint64_t consumed;      /* bytes taken so far */
	uint64_t start;         /* offset of the current frame's header */
	char err[192];
	/* private */
	struct frame_rules rules;
	uint8_t hbuf[FRAME_HEADER_LEN];
	uint8_t *buf;           /* ours, cap bytes; payload unless adopted */
	size_t hhave, phave, cap;
	int state;
};

void frame_decoder_init(struct frame_decoder *d, const struct frame_rules *r);
void frame_decoder_free(struct frame_decoder *d);
/*
 * Take bytes from p[0..len): *used says how many were consumed.  Returns
 * FRAME_READY as soon as a frame is complete (the rest of the input stays
 * unconsumed), FRAME_NEED_MORE when all was consumed, FRAME_ERROR on an
 * unknown type or oversize length, detected on the header alone; the
 * decoder then stays in error.
 */
enum frame_event frame_decoder_push(struct frame_decoder *d, const void *p,
    size_t len, size_t *used);
/*
 * Reading straight into the payload, without a copy through push: where
 * the rest of the current payload goes and how long it is (NULL when no
 * payload is under way), then commit the n bytes put there (as push,
 * but n past the space is an error).
 */
uint8_t *frame_decoder_space(struct frame_decoder *d, size_t *len);
enum frame_event frame_decoder_commit(struct frame_decoder *d, size_t n);
/*
 * The whole payload of the current frame (none of it taken yet) lies at
 * p: use it there, without a copy.  The caller keeps p valid as long as
 * payload must be (above).  FRAME_READY, or FRAME_ERROR when no payload
 * is under way or part of it was taken.
 */
enum frame_event frame_decoder_adopt(struct frame_decoder *d, const uint8_t *p);
/* True when no partial frame is buffered (a clean place to stop). */
bool frame_decoder_idle(const struct frame_decoder *d);

/* snprintf for error messages, where truncation is acceptable. */
void frame_errf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Big-endian helpers shared by the message codecs. */
static inline void
frame_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void
frame_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline void
frame_put64(uint8_t *p, uint64_t v)
{
	frame_put32(p, v >> 32);
	frame_put32(p + 4, (uint32_t)v);
}

static inline uint16_t
frame_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
frame_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
frame_get64(const uint8_t *p)
{
	return (uint64_t)frame_get32(p) << 32 | frame_get32(p + 4);
}

#endif
