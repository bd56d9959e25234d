/*
 * Feeding a stream into the apply engine (see apply_feed.h).
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "engine/apply.h"
#include "engine/apply_feed.h"

#define FEED_READ_CHUNK (1u << 20)
#define FEED_DROP_CHUNK (4u << 20)      /* unmap consumed input in steps */
#define FEED_DROP_KEEP  (6u << 20)      /* > any command the reader takes */

int
apply_feed_init(struct apply_feed *f, struct apply *a)
{
	memset(f, 0, sizeof(*f));
	f->a = a;
	stream_digest_init(&f->digest);
	return stream_reader_init(&f->r, NULL);
}

void
apply_feed_free(struct apply_feed *f)
{
	stream_reader_free(&f->r);
	if (f->map != NULL)
		munmap(f->map, f->maplen);
	f->map = NULL;
}

enum apply_feed_status
apply_feed_resume(struct apply_feed *f, const struct checkpoint *ck)
{
	uint8_t hdr[STREAM_HEADER_LEN];

	if (apply_resume(f->a, ck) == -1)
		return APPLY_FEED_EAPPLY;
	stream_header_encode(hdr, ck->id.version);
	if (stream_reader_feed(&f->r, hdr, sizeof(hdr)) == -1)
		return APPLY_FEED_ENOMEM;
	f->resumed = f->first_seen = true;
	f->idx_base = ck->ncmds;
	f->off_base = ck->offset - STREAM_HEADER_LEN;
	f->digest = ck->digest;
	return APPLY_FEED_MORE;
}

/* Keep a mapping's resident size bounded: drop what was consumed. */
static void
feed_drop_consumed(struct apply_feed *f)
{
	size_t upto, pg;

	if (f->map == NULL || f->r.consumed < f->dropped + FEED_DROP_CHUNK +
	    FEED_DROP_KEEP)
		return;
	pg = (size_t)sysconf(_SC_PAGESIZE);
	upto = ((size_t)f->r.consumed - FEED_DROP_KEEP) & ~(pg - 1);
	(void)madvise(f->map + f->dropped, upto - f->dropped, MADV_DONTNEED);
	f->dropped = upto;
}

static int
feed_header(struct apply_feed *f)
{
	uint8_t hdr[STREAM_HEADER_LEN];

	if (f->resumed && f->r.nstreams == 1)
		return 0;       /* the synthetic one */
	stream_header_encode(hdr, f->r.version);
	if (f->keep_digest)
		stream_digest_add(&f->digest, hdr, sizeof(hdr));
	return apply_header(f->a, hdr, sizeof(hdr), f->off_base +
	    f->r.consumed - STREAM_HEADER_LEN);
}

enum apply_feed_status
apply_feed_drain(struct apply_feed *f)
{
	struct stream_cmd c;

	for (;;) {
		switch (stream_reader_next(&f->r, &c)) {
		case STREAM_NEED_MORE:
			return APPLY_FEED_MORE;
		case STREAM_DONE:
			return APPLY_FEED_DONE;
		case STREAM_ERROR:
			return APPLY_FEED_ESTREAM;
		case STREAM_HEADER:
			if (feed_header(f) == -1)
				return APPLY_FEED_EAPPLY;
			break;
		case STREAM_CMD:
			c.index += f->idx_base;
			c.offset += f->off_base;
			if (!f->first_seen && f->first != NULL &&
			    f->first(&c, f->arg) == -1)
				return APPLY_FEED_ESTOP;
			f->first_seen = true;
			if (f->each != NULL && f->each(&c, f->arg) == -1)
				return APPLY_FEED_ESTOP;
			if (f->keep_digest)
				stream_digest_add(&f->digest, c.raw,
				    STREAM_CMD_HEADER_LEN);
			if (apply_cmd(f->a, &c) == -1)
				return APPLY_FEED_EAPPLY;
			feed_drop_consumed(f);
			break;
		}
	}
}

enum apply_feed_status
apply_feed_lend(struct apply_feed *f, const void *p, size_t len)
{
	enum apply_feed_status st;

	if (stream_reader_lend(&f->r, p, len) == -1)
		return APPLY_FEED_ENOMEM;
	st = apply_feed_drain(f);
	if (st != APPLY_FEED_MORE && st != APPLY_FEED_DONE)
		return st;
	if (stream_reader_keep(&f->r) == -1)
		return APPLY_FEED_ENOMEM;
	return st;
}

enum apply_feed_status
apply_feed_eof(struct apply_feed *f)
{
	stream_reader_eof(&f->r);
	return apply_feed_drain(f);
}

/* A regular file is mapped and parsed in place: one copy less. */
static enum apply_feed_status
feed_map(struct apply_feed *f, int fd)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > SIZE_MAX)
		return APPLY_FEED_MORE;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return APPLY_FEED_MORE;
	(void)madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	if (stream_reader_attach(&f->r, p, (size_t)st.st_size) == -1) {
		munmap(p, (size_t)st.st_size);
		return APPLY_FEED_MORE;
	}
	f->map = p;
	f->maplen = (size_t)st.st_size;
	return apply_feed_drain(f);
}

enum apply_feed_status
apply_feed_fd(struct apply_feed *f, int fd)
{
	enum apply_feed_status st;
	uint8_t *p;
	size_t avail;
	ssize_t n;

	if ((st = feed_map(f, fd)) != APPLY_FEED_MORE)
		return st;
	while (st == APPLY_FEED_MORE) {
		if ((p = stream_reader_space(&f->r, FEED_READ_CHUNK,
		    &avail)) == NULL)
			return APPLY_FEED_ENOMEM;
		n = read(fd, p, avail);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return APPLY_FEED_EREAD;
		if (n == 0)
			stream_reader_eof(&f->r);
		stream_reader_commit(&f->r, (size_t)n);
		st = apply_feed_drain(f);
	}
	return st;
}

uint64_t
apply_feed_ncmds(const struct apply_feed *f)
{
	return f->idx_base + f->r.ncmds;
}

uint64_t
apply_feed_offset(const struct apply_feed *f)
{
	return f->off_base + f->r.consumed;
}
