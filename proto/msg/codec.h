/*
 * The one message codec of the three channels over frame.h: parent <->
 * worker (ipc.h), network (wire.h), control socket (ctl.h).
 *
 * A message's payload is declared once, as a function that calls the
 * msg_* field functions below in order.  The same function runs in three
 * modes: ENCODE appends the fields to a msgbuf, DECODE fills them from a
 * received payload (every length checked against the bytes left and the
 * field's bound), MEASURE sums the largest payload the declaration can
 * produce, which is the bound a channel checks frame headers against.
 *
 * Integers are big-endian.  A string is a u16 length and that many bytes,
 * no NUL inside.  One rule for a string longer than its bound: it is
 * refused, by the encoder as by the decoder; nothing is ever cut.  The
 * first problem stops a codec run: later field calls do nothing.
 */
#ifndef BTRSEND_PROTO_MSG_CODEC_H
#define BTRSEND_PROTO_MSG_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg/frame.h"

/* A growing output buffer of whole frames; { 0 } is an empty one. */
struct msgbuf {
	uint8_t		*p;
	size_t		 len, cap;
};

/* n more bytes at the end of b, to be written by the caller. */
uint8_t	*msgbuf_grow(struct msgbuf *b, size_t n);
void	 msgbuf_free(struct msgbuf *b);
/* Drop the first n bytes (written out). */
void	 msgbuf_consume(struct msgbuf *b, size_t n);

enum msg_mode { MSG_ENCODE, MSG_DECODE, MSG_MEASURE };

struct msgc {
	enum msg_mode	 mode;
	struct msgbuf	*b;		/* encode */
	size_t		 start;		/* encode: the frame's header in b */
	bool		 omit_tail;	/* encode: msg_tail bytes not copied */
	size_t		 omitted;	/* encode: bytes the caller sends after */
	const uint8_t	*p;		/* decode */
	size_t		 len, off;	/* decode: payload, bytes taken;
					   measure: largest, least payload */
	bool		 bad;
	char		 why[192];	/* the first problem, with its field */
};

typedef void msg_fields_fn(struct msgc *, void *elem);

/* Start a frame of type in b; the msg_* calls append its payload. */
void	msg_encode_begin(struct msgc *, struct msgbuf *b, uint16_t type,
	    uint16_t flags, uint32_t pid);
/*
 * Finish the frame: 0, or -1 when a field was refused or the payload is
 * over r's bound for the type; then b is as before and c->why says why.
 */
int	msg_encode_end(struct msgc *, const struct frame_rules *r);
void	msg_decode_begin(struct msgc *, const uint8_t *p, size_t len);
/* 0, or -1 with "<what> message: <problem>" in err (trailing bytes too). */
int	msg_decode_end(struct msgc *, const char *what, char *err,
	    size_t errlen);
void	msg_measure_begin(struct msgc *);

void	msg_u8(struct msgc *, const char *field, uint8_t *v);
void	msg_u16(struct msgc *, const char *field, uint16_t *v);
void	msg_u32(struct msgc *, const char *field, uint32_t *v);
void	msg_u64(struct msgc *, const char *field, uint64_t *v);
void	msg_i64(struct msgc *, const char *field, int64_t *v);
/* Exactly n raw bytes (uuids, digests). */
void	msg_bytes(struct msgc *, const char *field, void *p, size_t n);
/* A string of at most max bytes in s, which has room for max + 1. */
void	msg_str(struct msgc *, const char *field, char *s, size_t max);
/* The same in a malloc'd *s (decode); NULL encodes as "". */
void	msg_strdup(struct msgc *, const char *field, char **s, size_t max);
/*
 * The rest of the payload, at most max bytes, left where it lies (decode)
 * or copied unless omit_tail (encode: then counted in omitted).
 */
void	msg_tail(struct msgc *, const char *field, const uint8_t **p,
	    uint32_t *n, size_t max);
/*
 * A u32 count and that many elements of size bytes, each declared by fn:
 * more than max is refused both ways.  Decoding allocates *arr (n + 1
 * zeroed elements, set with *n before the elements are decoded so that a
 * free function can run on a failure) once the count is known to fit the
 * bytes left; msg_array_in decodes into the caller's arr[max] instead.
 */
void	msg_array(struct msgc *, const char *field, uint32_t *n, uint32_t max,
	    void *arr, size_t size, msg_fields_fn *fn);
void	msg_array_in(struct msgc *, const char *field, uint32_t *n,
	    uint32_t max, void *arr, size_t size, msg_fields_fn *fn);

/* Refuse the message, in any mode but measure. */
void	msg_fail(struct msgc *, const char *field, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Decoding only: refuse the message unless ok (a value out of range). */
void	msg_check(struct msgc *, bool ok, const char *field, const char *why);

/*
 * The largest payload fn declares over a message of size bytes, measured
 * once and kept in *cache (0: not yet; safe to share between threads).
 */
uint32_t msg_bound(uint32_t *cache, msg_fields_fn *fn, size_t size);

#endif
