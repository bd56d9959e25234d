/*
 * btrsendctl receive [-f FILE] [--force-decompress] DIR: read one or
 * more concatenated send streams and apply them into DIR (engine/apply.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "daemon/ctl/ctl.h"
#include "proto/base/fmt.h"
#include "proto/base/log.h"
#include "engine/apply.h"

#define RECV_READ_CHUNK (1u << 20)
#define RECV_DROP_CHUNK (4u << 20)      /* unmap consumed input in steps */
#define RECV_DROP_KEEP  (6u << 20)      /* > any command the reader takes */

struct recv_state {
	const char *input;
	struct apply *a;
	struct stream_reader r;
	bool failed_cmd;        /* the engine refused a command */
	uint8_t *map;           /* a regular file, parsed in place */
	size_t maplen, dropped;
};

/* Keep the mapping's resident size bounded: drop what was consumed. */
static void
recv_drop_consumed(struct recv_state *rs)
{
	size_t upto, pg = (size_t)sysconf(_SC_PAGESIZE);

	if (rs->map == NULL || rs->r.consumed < rs->dropped + RECV_DROP_CHUNK +
	    RECV_DROP_KEEP)
		return;
	upto = ((size_t)rs->r.consumed - RECV_DROP_KEEP) & ~(pg - 1);
	(void)madvise(rs->map + rs->dropped, upto - rs->dropped,
	    MADV_DONTNEED);
	rs->dropped = upto;
}

static void
recv_summary(const struct apply_summary *s, void *arg)
{
	char size[FMT_SIZE_LEN], rate[FMT_SIZE_LEN];

	(void)arg;
	if (s->already) {
		printf("%s: already received, nothing to do\n", s->name);
		return;
	}
	fmt_size(size, sizeof(size), s->bytes, 0);
	fmt_size(rate, sizeof(rate), s->seconds > 0 ?
	    (uint64_t)((double)s->bytes / s->seconds + 0.5) : 0, 0);
	printf("%s: %" PRIu64 " commands, %s in %.2f s (%s/s)%s\n",
	    s->name, s->ncmds, size, s->seconds, rate,
	    s->resumed ? ", resumed" : "");
	fflush(stdout);
}

static void
recv_report_reader(struct recv_state *rs)
{
	const struct stream_error *e = &rs->r.err;

	if (e->in_header)
		log_warnx("receive: %s: stream header at byte offset %" PRIu64
		    " (before command %" PRIu64 "): %s", rs->input, e->offset,
		    e->index, e->msg);
	else if (e->cmd_type >= 0)
		log_warnx("receive: %s: command %" PRIu64 " (%s) at byte "
		    "offset %" PRIu64 ": %s", rs->input, e->index,
		    stream_cmd_name(e->cmd_type), e->offset, e->msg);
	else
		log_warnx("receive: %s: command %" PRIu64 " at byte offset %"
		    PRIu64 ": %s", rs->input, e->index, e->offset, e->msg);
}

/* 1: more input wanted, 0: done, -1: failed. */
static int
recv_drain(struct recv_state *rs)
{
	struct stream_cmd c;
	uint8_t hdr[STREAM_HEADER_LEN];
	uint32_t v;

	for (;;) {
		switch (stream_reader_next(&rs->r, &c)) {
		case STREAM_NEED_MORE:
			return 1;
		case STREAM_DONE:
			return 0;
		case STREAM_ERROR:
			recv_report_reader(rs);
			return -1;
		case STREAM_HEADER:
			memcpy(hdr, STREAM_MAGIC, STREAM_MAGIC_LEN);
			v = rs->r.version;
			hdr[13] = v & 0xff;
			hdr[14] = (v >> 8) & 0xff;
			hdr[15] = (v >> 16) & 0xff;
			hdr[16] = (v >> 24) & 0xff;
			if (apply_header(rs->a, hdr, sizeof(hdr),
			    rs->r.consumed - STREAM_HEADER_LEN) == -1)
				goto fail;
			break;
		case STREAM_CMD:
			if (apply_cmd(rs->a, &c) == -1)
				goto fail;
			recv_drop_consumed(rs);
			break;
		}
	}
fail:
	rs->failed_cmd = true;
	log_warnx("receive: %s: %s", rs->input, apply_error(rs->a));
	return -1;
}

/* A regular file is mapped and parsed in place: one copy less. */
static int
recv_map(struct recv_state *rs, int fd)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > SIZE_MAX)
		return 1;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	(void)madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	if (stream_reader_attach(&rs->r, p, (size_t)st.st_size) == -1) {
		munmap(p, (size_t)st.st_size);
		return 1;
	}
	rs->map = p;
	rs->maplen = (size_t)st.st_size;
	return recv_drain(rs);
}

static int
recv_fd(struct recv_state *rs, int fd)
{
	uint8_t *p;
	size_t avail;
	ssize_t n;
	int more;

	if ((more = recv_map(rs, fd)) != 1)
		return more;

	while (more == 1) {
		if ((p = stream_reader_space(&rs->r, RECV_READ_CHUNK,
		    &avail)) == NULL) {
			log_warn("receive: %s", rs->input);
			return -1;
		}
		n = read(fd, p, avail);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("receive: read %s", rs->input);
			return -1;
		}
		if (n == 0)
			stream_reader_eof(&rs->r);
		stream_reader_commit(&rs->r, (size_t)n);
		more = recv_drain(rs);
	}
	return more;
}

static int
recv_open_dir(const char *dir)
{
	struct statfs sfs;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		log_warn("receive: %s", dir);
		return -1;
	}
	if (fstatfs(fd, &sfs) == -1 || sfs.f_type != BTRFS_SUPER_MAGIC) {
		log_warnx("receive: %s is not on btrfs", dir);
		close(fd);
		return -1;
	}
	return fd;
}

static int
recv_usage(void)
{
	fprintf(stderr, "usage: btrsendctl receive [-q] [-f FILE] "
	    "[--force-decompress] [--checkpoint-bytes N] "
	    "[--checkpoint-ms N] DIR\n");
	return CTL_USAGE;
}

int
ctl_receive(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "force-decompress", no_argument, NULL, 'D' },
		{ "checkpoint-bytes", required_argument, NULL, 'B' },
		{ "checkpoint-ms", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct recv_state rs;
	struct apply_opts o;
	const char *path = NULL;
	char *end;
	int ch, fd = -1, dirfd = -1, rc = CTL_FAILED, more;

	memset(&rs, 0, sizeof(rs));
	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'D':
			o.force_decompress = true;
			break;
		case 'B':
		case 'T':
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || *end != '\0' || v == 0)
				return recv_usage();
			if (ch == 'B')
				o.ckpt_bytes = v;
			else
				o.ckpt_msecs = v > UINT32_MAX ? UINT32_MAX :
				    (uint32_t)v;
			break;
		case 'q':
			o.quiet = true;
			break;
		default:
			return recv_usage();
		}
	}
	if (argc - optind != 1)
		return recv_usage();
	rs.input = path == NULL ? "stdin" : path;
	if ((dirfd = recv_open_dir(argv[optind])) == -1)
		return CTL_FAILED;
	if ((fd = ctl_open_input(path)) == -1)
		goto out;
	if ((rs.a = apply_new(dirfd, &o)) == NULL) {
		log_warn("receive");
		goto out;
	}
	if (!o.quiet)
		apply_set_summary_cb(rs.a, recv_summary, NULL);
	stream_reader_init(&rs.r, NULL);
	more = recv_fd(&rs, fd);
	if (more == 0 && apply_finish(rs.a) == 0 && apply_nfinished(rs.a) > 0)
		rc = CTL_OK;
	else if (more == 0 && apply_nfinished(rs.a) == 0)
		log_warnx("receive: %s: %s", rs.input, *apply_error(rs.a) ?
		    apply_error(rs.a) : "no subvolume in the input");
	else if (more == 0)
		log_warnx("receive: %s: %s", rs.input, apply_error(rs.a));
	else
		/* a cut or corrupt input keeps its partial for a resume */
		apply_abort(rs.a, !rs.failed_cmd);
	stream_reader_free(&rs.r);
	if (rs.map != NULL)
		munmap(rs.map, rs.maplen);
out:
	apply_free(rs.a);
	if (fd > STDERR_FILENO)
		close(fd);
	close(dirfd);
	return rc;
}
