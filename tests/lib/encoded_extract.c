/*
 * encoded_extract STREAM ROOT: decompress the DATA of every ENCODED_WRITE
 * in a send stream with decompress_extent() and compare the file range it
 * describes with the bytes of ROOT/PATH at FILE_OFFSET (ROOT being the
 * sent snapshot, so its files hold what the stream must reproduce).
 * Prints one summary line; exits 1 naming the first command that differs.
 * With -b it also times decompress_extent alone (every extent decompressed
 * EXTRACT_BENCH_ROUNDS times) and reports unencoded MiB/s.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/decompress.h"
#include "proto/stream/stream.h"

#define EXTRACT_MAX_UNENCODED (128 * 1024)
#define EXTRACT_BENCH_ROUNDS 20

static int extract_bench;

struct extract_stats {
	uint64_t nwrites;
	uint64_t ncomp[ENC_COMPRESSION_TYPES];
	uint64_t bytes;
	uint64_t nonzero_uoff;  /* writes starting inside their extent */
	uint64_t partial;       /* writes covering less than the extent */
	uint64_t lzo_pad;       /* LZO segment headers moved to a sector start */
	uint64_t bench_bytes;   /* -b: unencoded bytes produced while timed */
	double bench_secs;
};

struct encw {
	char path[PATH_MAX];
	uint64_t off, file_len, ulen, uoff;
	uint32_t comp, enc;
	const uint8_t *data;
	uint32_t dlen;
};

static int
extract_attrs(const struct stream_cmd *c, struct encw *w)
{
	const uint8_t *p;
	uint32_t len;

	if (stream_get_bytes(c, SEND_A_PATH, &p, &len) == -1 ||
	    len >= sizeof(w->path) ||
	    stream_get_u64(c, SEND_A_FILE_OFFSET, &w->off) == -1 ||
	    stream_get_u64(c, SEND_A_UNENCODED_FILE_LEN, &w->file_len) == -1 ||
	    stream_get_u64(c, SEND_A_UNENCODED_LEN, &w->ulen) == -1 ||
	    stream_get_u64(c, SEND_A_UNENCODED_OFFSET, &w->uoff) == -1 ||
	    stream_get_bytes(c, SEND_A_DATA, &w->data, &w->dlen) == -1)
		return -1;
	memcpy(w->path, p, len);
	w->path[len] = '\0';
	w->comp = w->enc = 0;
	if (stream_has(c, SEND_A_COMPRESSION) &&
	    stream_get_u32(c, SEND_A_COMPRESSION, &w->comp) == -1)
		return -1;
	if (stream_has(c, SEND_A_ENCRYPTION) &&
	    stream_get_u32(c, SEND_A_ENCRYPTION, &w->enc) == -1)
		return -1;
	if (w->enc != 0 || w->ulen > EXTRACT_MAX_UNENCODED ||
	    w->uoff > w->ulen || w->file_len > w->ulen - w->uoff)
		return -1;
	return 0;
}

/*
 * Counts, independently of the decoder, how often the LZO container skips
 * to a sector boundary because a segment header would straddle it.
 */
static uint64_t
extract_lzo_pads(const struct encw *w)
{
	size_t sector = (size_t)1 << (12 + w->comp - ENC_COMPRESSION_LZO_4K);
	size_t pos = 4, total;
	uint64_t pads = 0;

	if (w->dlen < 4)
		return 0;
	total = w->data[0] | w->data[1] << 8 | w->data[2] << 16 |
	    (size_t)w->data[3] << 24;
	while (pos < total && total <= w->dlen) {
		if (sector - pos % sector < 4) {
			pads++;
			pos += sector - pos % sector;
			continue;
		}
		if (total - pos < 4)
			break;
		pos += 4 + (w->data[pos] | w->data[pos + 1] << 8 |
		    w->data[pos + 2] << 16 | (size_t)w->data[pos + 3] << 24);
	}
	return pads;
}

static double
extract_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
extract_time(const struct encw *w, uint8_t *out, struct extract_stats *st)
{
	char err[256];
	double t0;
	int i;

	t0 = extract_now();
	for (i = 0; i < EXTRACT_BENCH_ROUNDS; i++)
		(void)decompress_extent(w->comp, w->data, w->dlen, out, w->ulen,
		    err, sizeof(err));
	st->bench_secs += extract_now() - t0;
	st->bench_bytes += EXTRACT_BENCH_ROUNDS * w->ulen;
}

static int
extract_check(int rootfd, const struct stream_cmd *c, struct extract_stats *st)
{
	static uint8_t out[EXTRACT_MAX_UNENCODED], want[EXTRACT_MAX_UNENCODED];
	struct encw w;
	char err[256];
	ssize_t n;
	int fd;

	if (extract_attrs(c, &w) == -1) {
		fprintf(stderr, "command %" PRIu64 " at byte %" PRIu64 ": bad "
		    "encoded_write attributes\n", c->index, c->offset);
		return -1;
	}
	if (decompress_extent(w.comp, w.data, w.dlen, out, w.ulen, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "command %" PRIu64 " at byte %" PRIu64 " (%s): "
		    "%s\n", c->index, c->offset, w.path, err);
		return -1;
	}
	if (extract_bench)
		extract_time(&w, out, st);
	if ((fd = openat(rootfd, w.path, O_RDONLY | O_NOFOLLOW)) == -1) {
		fprintf(stderr, "%s: %s\n", w.path, strerror(errno));
		return -1;
	}
	n = pread(fd, want, w.file_len, (off_t)w.off);
	close(fd);
	if (n != (ssize_t)w.file_len ||
	    memcmp(out + w.uoff, want, w.file_len) != 0) {
		fprintf(stderr, "command %" PRIu64 " at byte %" PRIu64 ": %s "
		    "[%" PRIu64 ", +%" PRIu64 ") differs from the decompressed "
		    "extent (compression %u)\n", c->index, c->offset, w.path,
		    w.off, w.file_len, w.comp);
		return -1;
	}
	st->nwrites++;
	st->ncomp[w.comp]++;
	st->bytes += w.file_len;
	st->nonzero_uoff += w.uoff != 0;
	st->partial += w.file_len < w.ulen;
	if (w.comp >= ENC_COMPRESSION_LZO_4K)
		st->lzo_pad += extract_lzo_pads(&w);
	return 0;
}

static int
extract_run(int in, int rootfd, struct extract_stats *st)
{
	struct stream_reader r;
	struct stream_cmd c;
	enum stream_event ev;
	uint8_t *p;
	size_t avail;
	ssize_t n;
	int rv = -1;

	if (stream_reader_init(&r, NULL) == -1)
		return -1;
	for (;;) {
		ev = stream_reader_next(&r, &c);
		if (ev == STREAM_ERROR) {
			fprintf(stderr, "stream: command %" PRIu64 " at byte %"
			    PRIu64 ": %s\n", r.err.index, r.err.offset, r.err.msg);
			break;
		}
		if (ev == STREAM_DONE) {
			rv = 0;
			break;
		}
		if (ev == STREAM_CMD && c.type == SEND_C_ENCODED_WRITE &&
		    extract_check(rootfd, &c, st) == -1)
			break;
		if (ev != STREAM_NEED_MORE)
			continue;
		if ((p = stream_reader_space(&r, 0, &avail)) == NULL)
			break;
		if ((n = read(in, p, avail)) == -1) {
			perror("read");
			break;
		}
		if (n == 0)
			stream_reader_eof(&r);
		else
			stream_reader_commit(&r, (size_t)n);
	}
	stream_reader_free(&r);
	return rv;
}

int
main(int argc, char **argv)
{
	struct extract_stats st;
	int in, rootfd;

	if (argc == 4 && strcmp(argv[1], "-b") == 0) {
		extract_bench = 1;
		argc--;
		argv++;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: encoded_extract [-b] STREAM ROOT\n");
		return 2;
	}
	if ((in = open(argv[1], O_RDONLY)) == -1 ||
	    (rootfd = open(argv[2], O_RDONLY | O_DIRECTORY)) == -1) {
		perror("open");
		return 1;
	}
	memset(&st, 0, sizeof(st));
	if (extract_run(in, rootfd, &st) == -1)
		return 1;
	printf("encoded_writes %" PRIu64 " zlib %" PRIu64 " zstd %" PRIu64
	    " lzo %" PRIu64 " bytes %" PRIu64 " inside_extent %" PRIu64
	    " partial %" PRIu64 " lzo_pad %" PRIu64 "\n", st.nwrites,
	    st.ncomp[1], st.ncomp[2],
	    st.ncomp[3] + st.ncomp[4] + st.ncomp[5] + st.ncomp[6] + st.ncomp[7],
	    st.bytes, st.nonzero_uoff, st.partial, st.lzo_pad);
	if (extract_bench && st.bench_secs > 0)
		printf("decompress %.0f MiB/s (%" PRIu64 " MiB in %.3f s)\n",
		    st.bench_bytes / st.bench_secs / (1 << 20),
		    st.bench_bytes >> 20, st.bench_secs);
	return 0;
}
