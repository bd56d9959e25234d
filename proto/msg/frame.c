/*
 * Frame header codec and incremental decoder (see frame.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg/frame.h"

enum { FR_HEADER, FR_PAYLOAD, FR_READY, FR_ERROR };

void
frame_errf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void
frame_hdr_encode(uint8_t out[FRAME_HEADER_LEN], const struct frame_hdr *h)
{
	frame_put16(out, h->type);
	frame_put16(out + 2, h->flags);
	frame_put32(out + 4, h->len);
	frame_put32(out + 8, h->peer);
	frame_put32(out + 12, h->pid);
}

void
frame_hdr_decode(struct frame_hdr *h, const uint8_t in[FRAME_HEADER_LEN])
{
	h->type = frame_get16(in);
	h->flags = frame_get16(in + 2);
	h->len = frame_get32(in + 4);
	h->peer = frame_get32(in + 8);
	h->pid = frame_get32(in + 12);
}

int
frame_hdr_check(const struct frame_hdr *h, const struct frame_rules *r,
    char *err, size_t errlen)
{
	const char *why;
	uint32_t max;

	if (!r->known(h->type)) {
		frame_errf(err, errlen, "unknown message type %u", h->type);
		return -1;
	}
	if (r->refused != NULL && (why = r->refused(h->type)) != NULL) {
		frame_errf(err, errlen, "message type %u (%u payload bytes): %s",
		    h->type, h->len, why);
		return -1;
	}
	max = r->max_len(h->type);
	if (h->len > max) {
		frame_errf(err, errlen, "message type %u: payload of %u bytes "
		    "exceeds the limit of %u", h->type, h->len, max);
		return -1;
	}
	return 0;
}

void
frame_decoder_init(struct frame_decoder *d, const struct frame_rules *r)
{
	memset(d, 0, sizeof(*d));
	d->rules = *r;
	d->state = FR_HEADER;
}

void
frame_decoder_free(struct frame_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->payload = NULL;
	d->cap = 0;
}

bool
frame_decoder_idle(const struct frame_decoder *d)
{
	return (d->state == FR_HEADER && d->hhave == 0) ||
	    d->state == FR_READY;
}

static int
frame_decoder_reserve(struct frame_decoder *d, size_t n)
{
	uint8_t *p;

	d->payload = d->buf;
	if (n <= d->cap)
		return 0;
	if ((p = realloc(d->buf, n)) == NULL) {
		frame_errf(d->err, sizeof(d->err), "out of memory for a "
		    "payload of %zu bytes", n);
		return -1;
	}
	d->buf = p;
	d->payload = p;
	d->cap = n;
	return 0;
}

static enum frame_event
frame_decoder_fail(struct frame_decoder *d, const char *what)
{
	char msg[sizeof(d->err)];

	/* what may be d->err itself. */
	frame_errf(msg, sizeof(msg), "frame %llu at byte %llu: %s",
	    (unsigned long long)d->nframes, (unsigned long long)d->start,
	    what);
	memcpy(d->err, msg, sizeof(d->err));
	d->state = FR_ERROR;
	return FRAME_ERROR;
}

/* The header is complete: check it before any payload is taken. */
static enum frame_event
frame_decoder_header(struct frame_decoder *d)
{
	char why[160];

	frame_hdr_decode(&d->hdr, d->hbuf);
	if (frame_hdr_check(&d->hdr, &d->rules, why, sizeof(why)) == -1)
		return frame_decoder_fail(d, why);
	if (frame_decoder_reserve(d, d->hdr.len ? d->hdr.len : 1) == -1)
		return frame_decoder_fail(d, d->err);
	d->phave = 0;
	d->state = FR_PAYLOAD;
	return FRAME_NEED_MORE;
}

enum frame_event
frame_decoder_push(struct frame_decoder *d, const void *p, size_t len,
    size_t *used)
{
	const uint8_t *in = p;
	size_t n, off = 0;

	*used = 0;
	if (d->state == FR_ERROR)
		return FRAME_ERROR;
	if (d->state == FR_READY) {
		d->state = FR_HEADER;
		d->hhave = 0;
	}
	if (d->state == FR_HEADER) {
		if (d->hhave == 0)
			d->start = d->consumed;
		n = FRAME_HEADER_LEN - d->hhave;
		if (n > len)
			n = len;
		if (n > 0)
			memcpy(d->hbuf + d->hhave, in, n);
		d->hhave += n;
		off = n;
		d->consumed += n;
		*used = off;
		if (d->hhave < FRAME_HEADER_LEN)
			return FRAME_NEED_MORE;
		if (frame_decoder_header(d) == FRAME_ERROR)
			return FRAME_ERROR;
	}
	n = d->hdr.len - d->phave;
	if (n > len - off)
		n = len - off;
	if (n > 0)
		memcpy(d->buf + d->phave, in + off, n);
	*used = off + n;
	/* In FR_PAYLOAD with n within the payload: commit cannot refuse. */
	return frame_decoder_commit(d, n);
}

uint8_t *
frame_decoder_space(struct frame_decoder *d, size_t *len)
{
	if (d->state != FR_PAYLOAD || d->phave >= d->hdr.len)
		return NULL;
	*len = d->hdr.len - d->phave;
	return d->buf + d->phave;
}

enum frame_event
frame_decoder_adopt(struct frame_decoder *d, const uint8_t *p)
{
	if (d->state != FR_PAYLOAD || d->phave != 0)
		return frame_decoder_fail(d, "internal: payload adopted mid-way");
	d->payload = p;
	return frame_decoder_commit(d, d->hdr.len);
}

enum frame_event
frame_decoder_commit(struct frame_decoder *d, size_t n)
{
	if (d->state != FR_PAYLOAD || n > d->hdr.len - d->phave)
		return frame_decoder_fail(d, "internal: payload overrun");
	d->phave += n;
	d->consumed += n;
	if (d->phave < d->hdr.len)
		return FRAME_NEED_MORE;
	d->state = FR_READY;
	d->nframes++;
	return FRAME_READY;
}
