/*
 * btrfs send stream writer: encodes commands into a caller-owned buffer.
 * Errors are sticky per command and reported once by stream_wr_end, so
 * callers can write a whole command without checking every attribute.
 */
#include <string.h>

#include "proto/stream/stream.h"

static void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Room for n more bytes, or NULL (and the command fails at _end). */
static uint8_t *
wr_reserve(struct stream_writer *w, size_t n)
{
	uint8_t *p;

	if (w->overflow || w->cap - w->pos < n) {
		w->overflow = true;
		return NULL;
	}
	p = w->buf + w->pos;
	w->pos += n;
	return p;
}

void
stream_writer_init(struct stream_writer *w, void *buf, size_t cap,
    uint32_t version)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	w->version = version;
}

void
stream_header_encode(uint8_t out[STREAM_HEADER_LEN], uint32_t version)
{
	memcpy(out, STREAM_MAGIC, STREAM_MAGIC_LEN);
	put_le32(out + STREAM_MAGIC_LEN, version);
}

int
stream_wr_header(struct stream_writer *w)
{
	if (w->cap - w->pos < STREAM_HEADER_LEN)
		return -1;
	stream_header_encode(w->buf + w->pos, w->version);
	w->pos += STREAM_HEADER_LEN;
	return 0;
}

void
stream_wr_begin(struct stream_writer *w, int cmd)
{
	uint8_t *p;

	w->cmd_start = w->pos;
	w->overflow = w->data_written = w->misuse = false;
	if ((p = wr_reserve(w, STREAM_CMD_HEADER_LEN)) == NULL)
		return;
	memset(p, 0, STREAM_CMD_HEADER_LEN);
	put_le16(p + 4, (uint16_t)cmd);
}

/* A TLV header plus room for len value bytes; NULL on error. */
static uint8_t *
wr_tlv(struct stream_writer *w, int attr, size_t len)
{
	uint8_t *p;

	if (w->data_written && w->version >= 2) {
		w->misuse = true;
		return NULL;
	}
	if (len > UINT16_MAX) {
		w->misuse = true;
		return NULL;
	}
	if ((p = wr_reserve(w, STREAM_TLV_HEADER_LEN + len)) == NULL)
		return NULL;
	put_le16(p, (uint16_t)attr);
	put_le16(p + 2, (uint16_t)len);
	return p + STREAM_TLV_HEADER_LEN;
}

void
stream_wr_u64(struct stream_writer *w, int attr, uint64_t v)
{
	uint8_t *p;

	if ((p = wr_tlv(w, attr, 8)) != NULL)
		put_le64(p, v);
}

void
stream_wr_u32(struct stream_writer *w, int attr, uint32_t v)
{
	uint8_t *p;

	if ((p = wr_tlv(w, attr, 4)) != NULL)
		put_le32(p, v);
}

void
stream_wr_u8(struct stream_writer *w, int attr, uint8_t v)
{
	uint8_t *p;

	if ((p = wr_tlv(w, attr, 1)) != NULL)
		*p = v;
}

void
stream_wr_uuid(struct stream_writer *w, int attr, const uint8_t uuid[16])
{
	stream_wr_bytes(w, attr, uuid, 16);
}

void
stream_wr_time(struct stream_writer *w, int attr, const struct stream_timespec *t)
{
	uint8_t *p;

	if ((p = wr_tlv(w, attr, 12)) == NULL)
		return;
	put_le64(p, t->sec);
	put_le32(p + 8, t->nsec);
}

void
stream_wr_bytes(struct stream_writer *w, int attr, const void *src, size_t len)
{
	uint8_t *p;

	if ((p = wr_tlv(w, attr, len)) != NULL && len > 0)
		memcpy(p, src, len);
}

void
stream_wr_str(struct stream_writer *w, int attr, const char *s)
{
	stream_wr_bytes(w, attr, s, strlen(s));
}

void
stream_wr_data(struct stream_writer *w, const void *src, size_t len)
{
	uint8_t *p;

	if (w->version < 2) {
		stream_wr_bytes(w, SEND_A_DATA, src, len);
		w->data_written = true;
		return;
	}
	if (w->data_written) {
		w->misuse = true;
		return;
	}
	w->data_written = true;
	/* v2+: a bare 2-byte type, the length is implied by the command's. */
	if ((p = wr_reserve(w, 2 + len)) == NULL)
		return;
	put_le16(p, SEND_A_DATA);
	if (len > 0)
		memcpy(p + 2, src, len);
}

long
stream_wr_end(struct stream_writer *w)
{
	uint8_t *p = w->buf + w->cmd_start;
	size_t len = w->pos - w->cmd_start - STREAM_CMD_HEADER_LEN;
	bool bad = w->overflow || w->misuse || len > UINT32_MAX;

	w->overflow = w->data_written = w->misuse = false;
	if (bad) {
		w->pos = w->cmd_start;
		return -1;
	}
	put_le32(p, (uint32_t)len);
	put_le32(p + 6, 0);
	put_le32(p + 6, stream_crc32c(0, p, STREAM_CMD_HEADER_LEN + len));
	return (long)(STREAM_CMD_HEADER_LEN + len);
}
