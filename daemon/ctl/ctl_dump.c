/*
 * btrsendctl dump [-f FILE]: print a send stream one line per command,
 * byte-identical to `btrfs receive --dump` of btrfs-progs 6.2.
 *
 * Like progs it shows the first stream only: it stops at the first END,
 * so anything after it (a concatenated stream, trailing bytes) is not
 * even read.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/ctl/ctl.h"
#include "proto/base/log.h"
#include "proto/stream/dump.h"
#include "proto/stream/stream.h"

#define CTL_DUMP_OUTBUF (1u << 20)
#define CTL_DUMP_READ   (1u << 20)

static void
ctl_dump_usage(FILE *f)
{
	fprintf(f, "usage: btrsendctl dump [-f FILE]\n\n"
	    "Print the send stream in FILE (default: standard input) one line\n"
	    "per command, exactly as 'btrfs receive --dump' (btrfs-progs 6.2)\n"
	    "does.  Times are shown in the local time zone (TZ).\n\n"
	    "Exit status: 0 ok, 1 bad stream or I/O error, 2 usage error.\n");
}

static void
ctl_dump_stream_error(const char *name, const struct stream_reader *r)
{
	const struct stream_error *e = &r->err;

	if (e->in_header)
		log_warnx("%s: stream header at byte offset %" PRIu64 ": %s",
		    name, e->offset, e->msg);
	else if (e->cmd_type >= 0)
		log_warnx("%s: command %" PRIu64 " (%s) at byte offset %" PRIu64
		    ": %s", name, e->index, stream_cmd_name(e->cmd_type),
		    e->offset, e->msg);
	else
		log_warnx("%s: command %" PRIu64 " at byte offset %" PRIu64
		    ": %s", name, e->index, e->offset, e->msg);
}

/* Read more input into the reader; 0, or -1 on a read error. */
static int
ctl_dump_fill(struct stream_reader *r, int fd, const char *name)
{
	uint8_t *p;
	size_t avail;
	ssize_t n;

	if ((p = stream_reader_space(r, CTL_DUMP_READ, &avail)) == NULL) {
		log_warnx("%s: out of memory", name);
		return -1;
	}
	do
		n = read(fd, p, avail);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		fflush(stdout);
		log_warn("%s: read at byte offset %" PRIu64, name,
		    r->consumed);
		return -1;
	}
	if (n == 0)
		stream_reader_eof(r);
	else
		stream_reader_commit(r, (size_t)n);
	return 0;
}

/* Dump until the first END; 0 or -1 (the reason is logged). */
static int
ctl_dump_run(int fd, const char *name)
{
	struct stream_reader_opts opts = {
		.allow_unknown = true,
		.progs_compat = true,
	};
	struct stream_reader r;
	struct dump_state ds;
	struct stream_cmd c;
	int rc = -1;

	if (stream_reader_init(&r, &opts) == -1) {
		log_warnx("out of memory");
		return -1;
	}
	dump_init(&ds);
	for (;;) {
		switch (stream_reader_next(&r, &c)) {
		case STREAM_NEED_MORE:
			if (ctl_dump_fill(&r, fd, name) == -1)
				goto fail;
			continue;
		case STREAM_HEADER:
			continue;
		case STREAM_CMD:
			if (dump_cmd(&ds, &c, stdout) == -1) {
				fflush(stdout);
				log_warnx("%s: %s", name, ds.ds_err);
				goto fail;
			}
			if (c.type == SEND_C_END)
				goto done;
			continue;
		case STREAM_DONE:
			goto done;
		case STREAM_ERROR:
			fflush(stdout);
			ctl_dump_stream_error(name, &r);
			goto fail;
		}
	}
done:
	rc = 0;
fail:
	dump_free(&ds);
	stream_reader_free(&r);
	return rc;
}

int
ctl_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char outbuf[CTL_DUMP_OUTBUF];
	const char *path = NULL, *name;
	int ch, fd, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'h':
			ctl_dump_usage(stdout);
			return CTL_OK;
		default:
			ctl_dump_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		log_warnx("dump: unexpected argument '%s'", argv[optind]);
		ctl_dump_usage(stderr);
		return CTL_USAGE;
	}
	name = path == NULL || strcmp(path, "-") == 0 ? "stdin" : path;
	if ((fd = ctl_open_input(path)) == -1)
		return CTL_FAILED;
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	rc = ctl_dump_run(fd, name);
	if (fflush(stdout) == EOF) {
		log_warn("dump: writing standard output");
		rc = -1;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return rc == 0 ? CTL_OK : CTL_FAILED;
}
