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
#include <sys/statfs.h>
#include <unistd.h>

#include "daemon/ctl/ctl.h"
#include "proto/base/fmt.h"
#include "proto/base/log.h"
#include "engine/apply.h"
#include "engine/apply_feed.h"

struct recv_state {
	const char *input;
	struct apply *a;
	struct apply_feed f;
	bool failed_cmd;        /* the engine refused a command */
};

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
	const struct stream_error *e = &rs->f.r.err;

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

/* Everything fd holds, applied.  0, or -1 (logged). */
static int
recv_fd(struct recv_state *rs, int fd)
{
	switch (apply_feed_fd(&rs->f, fd)) {
	case APPLY_FEED_DONE:
		return 0;
	case APPLY_FEED_ESTREAM:
		recv_report_reader(rs);
		return -1;
	case APPLY_FEED_EAPPLY:
		rs->failed_cmd = true;
		log_warnx("receive: %s: %s", rs->input, apply_error(rs->a));
		return -1;
	case APPLY_FEED_EREAD:
		log_warn("receive: read %s", rs->input);
		return -1;
	default:
		log_warn("receive: %s", rs->input);
		return -1;
	}
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
	int ch, fd = -1, dirfd = -1, rc = CTL_FAILED, r;

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
	apply_feed_init(&rs.f, rs.a);
	r = recv_fd(&rs, fd);
	if (r == 0 && apply_finish(rs.a) == 0 && apply_nfinished(rs.a) > 0)
		rc = CTL_OK;
	else if (r == 0 && apply_nfinished(rs.a) == 0)
		log_warnx("receive: %s: %s", rs.input, *apply_error(rs.a) ?
		    apply_error(rs.a) : "no subvolume in the input");
	else if (r == 0)
		log_warnx("receive: %s: %s", rs.input, apply_error(rs.a));
	else
		/* a cut or corrupt input keeps its partial for a resume */
		apply_abort(rs.a, !rs.failed_cmd);
	apply_feed_free(&rs.f);
out:
	apply_free(rs.a);
	if (fd > STDERR_FILENO)
		close(fd);
	close(dirfd);
	return rc;
}
