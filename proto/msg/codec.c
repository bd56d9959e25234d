/*
 * The message codec of every channel (see codec.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/msg/codec.h"

uint8_t *
msgbuf_grow(struct msgbuf *b, size_t n)
{
	size_t cap;

	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	b->len += n;
	return b->p + b->len - n;
}

void
msgbuf_free(struct msgbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
msgbuf_consume(struct msgbuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void
msg_fail(struct msgc *c, const char *field, const char *fmt, ...)
{
	char why[sizeof(c->why)];
	va_list ap;

	if (c->bad || c->mode == MSG_MEASURE)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->mode == MSG_DECODE)
		frame_errf(c->why, sizeof(c->why), "at payload byte %zu, %s: %s",
		    c->off, field, why);
	else
		frame_errf(c->why, sizeof(c->why), "%s: %s", field, why);
	c->bad = true;
}

void
msg_check(struct msgc *c, bool ok, const char *field, const char *why)
{
	if (!ok && c->mode == MSG_DECODE)
		msg_fail(c, field, "%s", why);
}

void
msg_encode_begin(struct msgc *c, struct msgbuf *b, uint16_t type,
    uint16_t flags, uint32_t pid)
{
	struct frame_hdr h = { .type = type, .flags = flags, .pid = pid };

	memset(c, 0, sizeof(*c));
	c->mode = MSG_ENCODE;
	c->b = b;
	c->start = b->len;
	frame_hdr_encode(msgbuf_grow(b, FRAME_HEADER_LEN), &h);
}

int
msg_encode_end(struct msgc *c, const struct frame_rules *r)
{
	uint8_t *h = c->b->p + c->start;
	size_t len = c->b->len - c->start - FRAME_HEADER_LEN + c->omitted;
	uint16_t type = frame_get16(h);

	if (!c->bad && len > r->max_len(type))
		msg_fail(c, "payload", "%zu bytes over the bound of its type, "
		    "%u", len, r->max_len(type));
	if (c->bad) {
		c->b->len = c->start;
		return -1;
	}
	frame_put32(h + 4, (uint32_t)len);
	return 0;
}

void
msg_decode_begin(struct msgc *c, const uint8_t *p, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->mode = MSG_DECODE;
	c->p = p;
	c->len = len;
}

int
msg_decode_end(struct msgc *c, const char *what, char *err, size_t errlen)
{
	if (!c->bad && c->off != c->len)
		frame_errf(err, errlen, "%s message: %zu trailing bytes", what,
		    c->len - c->off);
	else if (c->bad)
		frame_errf(err, errlen, "%s message: %s", what, c->why);
	else
		return 0;
	return -1;
}

void
msg_measure_begin(struct msgc *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = MSG_MEASURE;
}

uint32_t
msg_bound(uint32_t *cache, msg_fields_fn *fn, size_t size)
{
	uint32_t v = __atomic_load_n(cache, __ATOMIC_RELAXED);
	struct msgc c;
	void *tmp;

	if (v != 0)
		return v - 1;
	tmp = xcalloc(1, size);
	msg_measure_begin(&c);
	fn(&c, tmp);
	free(tmp);
	v = c.len >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)c.len;
	__atomic_store_n(cache, v + 1, __ATOMIC_RELAXED);
	return v;
}

/* Decode: n bytes of the payload, or NULL once anything is wrong. */
static const uint8_t *
msg_take(struct msgc *c, const char *field, size_t n)
{
	if (c->bad)
		return NULL;
	if (n > c->len - c->off) {
		msg_fail(c, field, "truncated (need %zu bytes, %zu left)", n,
		    c->len - c->off);
		return NULL;
	}
	c->off += n;
	return c->p + c->off - n;
}

/*
 * Where a fixed-size field's bytes go (encode) or come from (decode);
 * NULL when there is nothing to do (measured, or a problem before).
 */
static uint8_t *
msg_fixed(struct msgc *c, const char *field, size_t n)
{
	if (c->bad)
		return NULL;
	switch (c->mode) {
	case MSG_MEASURE:
		c->len += n;
		c->off += n;
		return NULL;
	case MSG_ENCODE:
		return msgbuf_grow(c->b, n);
	case MSG_DECODE:
		/* Read-only in decode mode: callers only read through it. */
		return (uint8_t *)(uintptr_t)msg_take(c, field, n);
	}
	return NULL;
}

void
msg_u8(struct msgc *c, const char *field, uint8_t *v)
{
	uint8_t *p = msg_fixed(c, field, 1);

	if (p != NULL && c->mode == MSG_ENCODE)
		p[0] = *v;
	else if (p != NULL)
		*v = p[0];
}

void
msg_u16(struct msgc *c, const char *field, uint16_t *v)
{
	uint8_t *p = msg_fixed(c, field, 2);

	if (p != NULL && c->mode == MSG_ENCODE)
		frame_put16(p, *v);
	else if (p != NULL)
		*v = frame_get16(p);
}

void
msg_u32(struct msgc *c, const char *field, uint32_t *v)
{
	uint8_t *p = msg_fixed(c, field, 4);

	if (p != NULL && c->mode == MSG_ENCODE)
		frame_put32(p, *v);
	else if (p != NULL)
		*v = frame_get32(p);
}

void
msg_u64(struct msgc *c, const char *field, uint64_t *v)
{
	uint8_t *p = msg_fixed(c, field, 8);

	if (p != NULL && c->mode == MSG_ENCODE)
		frame_put64(p, *v);
	else if (p != NULL)
		*v = frame_get64(p);
}

void
msg_i64(struct msgc *c, const char *field, int64_t *v)
{
	uint64_t x = (uint64_t)*v;

	msg_u64(c, field, &x);
	*v = (int64_t)x;
}

void
msg_bytes(struct msgc *c, const char *field, void *v, size_t n)
{
	uint8_t *p = msg_fixed(c, field, n);

	if (p != NULL && c->mode == MSG_ENCODE)
		memcpy(p, v, n);
	else if (p != NULL)
		memcpy(v, p, n);
}

/* Encode: s, refused when over max.  Decode: where the n bytes lie. */
static const uint8_t *
msg_strbytes(struct msgc *c, const char *field, const char *s, size_t max,
    uint16_t *n)
{
	const uint8_t *p;
	size_t len;

	if (c->bad)
		return NULL;
	switch (c->mode) {
	case MSG_MEASURE:
		c->len += 2 + max;
		c->off += 2;
		return NULL;
	case MSG_ENCODE:
		len = s == NULL ? 0 : strnlen(s, max + 1);
		if (len > max) {
			msg_fail(c, field, "string too long (over %zu bytes)",
			    max);
			return NULL;
		}
		frame_put16(msgbuf_grow(c->b, 2), (uint16_t)len);
		if (len > 0)
			memcpy(msgbuf_grow(c->b, len), s, len);
		return NULL;
	case MSG_DECODE:
		if ((p = msg_take(c, field, 2)) == NULL)
			return NULL;
		*n = frame_get16(p);
		if (*n > max) {
			c->off -= 2;
			msg_fail(c, field, "string too long: %u bytes exceeds "
			    "%zu", *n, max);
			return NULL;
		}
		if ((p = msg_take(c, field, *n)) == NULL)
			return NULL;
		if (memchr(p, '\0', *n) != NULL) {
			msg_fail(c, field, "string contains a NUL byte");
			return NULL;
		}
		return p;
	}
	return NULL;
}

void
msg_str(struct msgc *c, const char *field, char *s, size_t max)
{
	const uint8_t *p;
	uint16_t n;

	if (c->mode == MSG_DECODE)
		s[0] = '\0';
	if ((p = msg_strbytes(c, field, s, max, &n)) == NULL)
		return;
	memcpy(s, p, n);
	s[n] = '\0';
}

void
msg_strdup(struct msgc *c, const char *field, char **s, size_t max)
{
	const uint8_t *p;
	uint16_t n;

	if ((p = msg_strbytes(c, field, *s, max, &n)) == NULL)
		return;
	*s = xmalloc((size_t)n + 1);
	memcpy(*s, p, n);
	(*s)[n] = '\0';
}

void
msg_tail(struct msgc *c, const char *field, const uint8_t **p, uint32_t *n,
    size_t max)
{
	if (c->bad)
		return;
	switch (c->mode) {
	case MSG_MEASURE:
		c->len += max;
		return;
	case MSG_ENCODE:
		if (*n > max)
			msg_fail(c, field, "%u bytes over the bound of %zu", *n,
			    max);
		else if (c->omit_tail)
			c->omitted += *n;
		else if (*n > 0)
			memcpy(msgbuf_grow(c->b, *n), *p, *n);
		return;
	case MSG_DECODE:
		if (c->len - c->off > max) {
			msg_fail(c, field, "%zu bytes over the bound of %zu",
			    c->len - c->off, max);
			return;
		}
		*n = (uint32_t)(c->len - c->off);
		*p = msg_take(c, field, *n);
		return;
	}
}

/* Largest and least encoded size of one element. */
static void
msg_elem_size(msg_fields_fn *fn, size_t size, size_t *most, size_t *least)
{
	struct msgc m;
	void *tmp = xcalloc(1, size);

	msg_measure_begin(&m);
	fn(&m, tmp);
	free(tmp);
	*most = m.len;
	*least = m.off;
}

static void
msg_elems(struct msgc *c, uint32_t n, uint8_t *arr, size_t size,
    msg_fields_fn *fn)
{
	uint32_t i;

	for (i = 0; i < n && !c->bad; i++)
		fn(c, arr + (size_t)i * size);
}

/*
 * The count, checked; in measure mode the bound is added for max
 * elements.  Returns false when there are no elements to run over.
 */
static bool
msg_count(struct msgc *c, const char *field, uint32_t *n, uint32_t max,
    size_t size, msg_fields_fn *fn)
{
	size_t most, least;
	uint32_t v;

	if (c->bad)
		return false;
	if (c->mode == MSG_MEASURE) {
		msg_elem_size(fn, size, &most, &least);
		c->len += 4 + (size_t)max * most;
		c->off += 4;
		return false;
	}
	v = *n;
	if (c->mode == MSG_ENCODE && v > max) {
		msg_fail(c, field, "%u exceed the limit of %u", v, max);
		return false;
	}
	msg_u32(c, field, &v);
	if (c->mode == MSG_ENCODE || c->bad)
		return !c->bad;
	if (v > max) {
		msg_fail(c, field, "%u exceed the limit of %u", v, max);
		return false;
	}
	msg_elem_size(fn, size, &most, &least);
	if ((uint64_t)v * least > c->len - c->off) {
		msg_fail(c, field, "%u cannot fit in the %zu bytes left", v,
		    c->len - c->off);
		return false;
	}
	*n = v;
	return true;
}

void
msg_array(struct msgc *c, const char *field, uint32_t *n, uint32_t max,
    void *arr, size_t size, msg_fields_fn *fn)
{
	void **a = arr;

	if (!msg_count(c, field, n, max, size, fn))
		return;
	if (c->mode == MSG_DECODE)
		*a = xcalloc((size_t)*n + 1, size);
	msg_elems(c, *n, *a, size, fn);
}

void
msg_array_in(struct msgc *c, const char *field, uint32_t *n, uint32_t max,
    void *arr, size_t size, msg_fields_fn *fn)
{
	if (msg_count(c, field, n, max, size, fn))
		msg_elems(c, *n, arr, size, fn);
}
